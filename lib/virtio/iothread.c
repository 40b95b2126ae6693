/* iothread.c - the I/O thread a device runs its requests on (iothread.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/internal.h"
#include "lib/virtio/iothread.h"

static void drain(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
}

static void *loop(void *arg)
{
	vmm__iothread *t = arg;
	struct pollfd fds[2] = { { t->kick_fd, POLLIN, 0 }, { t->stop_fd, POLLIN, 0 } };

	for (;;) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[1].revents)
			break;
		if (fds[0].revents & POLLIN) {
			drain(t->kick_fd);
			t->work(t->opaque);
		}
	}
	return NULL;
}

int vmm__iothread_start(vmm__iothread *t, const char *name, void (*work)(void *),
			void *opaque)
{
	sigset_t all, old;
	int rc;

	memset(t, 0, sizeof(*t));
	t->work = work;
	t->opaque = opaque;
	t->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	t->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->kick_fd < 0 || t->stop_fd < 0) {
		rc = vmm__err(VMM_ENOMEM, "%s: eventfd: %s", name, strerror(errno));
		goto fail;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&t->thread, NULL, loop, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		rc = vmm__err(VMM_ENOMEM, "%s: cannot start its I/O thread: %s", name,
			      strerror(rc));
		goto fail;
	}
	pthread_setname_np(t->thread, name);
	t->started = true;
	return 0;
fail:
	if (t->kick_fd >= 0)
		close(t->kick_fd);
	if (t->stop_fd >= 0)
		close(t->stop_fd);
	t->kick_fd = t->stop_fd = -1;
	return rc;
}

void vmm__iothread_kick(vmm__iothread *t)
{
	uint64_t one = 1;

	if (t->started)
		while (write(t->kick_fd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
}

void vmm__iothread_stop(vmm__iothread *t)
{
	uint64_t one = 1;

	if (!t->started)
		return;
	while (write(t->stop_fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
	pthread_join(t->thread, NULL);
	close(t->kick_fd);
	close(t->stop_fd);
	t->started = false;
}
