/* capture.c - collects a VM's serial output through vmm_uart_output. The
 * callback runs on vCPU threads, so appends take a lock. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/conformance/src/conform.h"

#define CAPTURE_MAX (16u << 20)

void capture_init(capture *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
}

void capture_fini(capture *c)
{
	free(c->data);
	pthread_mutex_destroy(&c->lock);
}

static void on_output(void *opaque, const char *buf, size_t len)
{
	capture *c = opaque;

	pthread_mutex_lock(&c->lock);
	if (c->len + len + 1 > c->cap && c->len + len < CAPTURE_MAX) {
		size_t cap = c->cap ? c->cap : 4096;
		char *p;

		while (cap < c->len + len + 1)
			cap *= 2;
		p = realloc(c->data, cap);
		if (p) {
			c->data = p;
			c->cap = cap;
		}
	}
	if (c->len + len + 1 <= c->cap) {
		memcpy(c->data + c->len, buf, len);
		c->len += len;
		c->data[c->len] = 0;
	}
	pthread_mutex_unlock(&c->lock);
}

int capture_attach(capture *c, vmm_vm *vm)
{
	return vmm_uart_output(vm, -1, on_output, c);
}

int capture_wait_for(capture *c, const char *text, unsigned ms)
{
	struct timespec step = { 0, 1000000 };

	for (unsigned waited = 0; waited <= ms; waited++) {
		int found;

		pthread_mutex_lock(&c->lock);
		found = c->data && strstr(c->data, text) != NULL;
		pthread_mutex_unlock(&c->lock);
		if (found)
			return 1;
		nanosleep(&step, NULL);
	}
	return 0;
}
