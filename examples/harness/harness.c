/* harness.c - run a directory of test guests in parallel VMs inside this one
 * process and report TAP (see README.md).
 *
 * Every DIR/NAME.elf is a test. It passes when the guest writes 0 to the
 * debug exit port and, if DIR/NAME.expected exists, its serial output is
 * exactly that file. Each test gets a fresh VM, a time limit and its own
 * serial buffer; a failing test's output is shown as TAP diagnostics. -j
 * worker threads take tests from a shared queue; results are printed in
 * directory order as soon as every earlier test has finished. */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <vmm.h>

#define MAX_TESTS 1024
#define MAX_OUTPUT (64 * 1024)

typedef struct test {
	char name[256];
	int done, ok;
	char why[512];
	char *out;          /* serial output */
	size_t out_len;
} test;

static struct {
	const char *dir, *backend;
	unsigned timeout_ms, vcpus, mem_mib;
	test tests[MAX_TESTS];
	unsigned n, next, printed, failed;
	pthread_mutex_t lock;
} h = { .backend = "emu", .timeout_ms = 10000, .vcpus = 1, .mem_mib = 64,
	.lock = PTHREAD_MUTEX_INITIALIZER };

static void on_serial(void *opaque, const char *buf, size_t len)
{
	test *t = opaque;
	size_t room = MAX_OUTPUT - t->out_len;

	if (len > room)
		len = room;  /* a chatty guest is cut, not the host's memory */
	memcpy(t->out + t->out_len, buf, len);
	t->out_len += len;
}

/* Compares t's output with DIR/NAME.expected if there is one. */
static int output_matches(test *t)
{
	char path[4096], buf[MAX_OUTPUT];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%.*s.expected", h.dir,
		 (int)(strlen(t->name) - 4), t->name);
	f = fopen(path, "rb");
	if (!f)
		return 1;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (n == t->out_len && memcmp(buf, t->out, n) == 0)
		return 1;
	snprintf(t->why, sizeof(t->why), "serial output differs from %.400s", path);
	return 0;
}

static void run_test(test *t)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	vmm_run_options opt = VMM_RUN_OPTIONS_INIT;
	vmm_run_result res = VMM_RUN_RESULT_INIT;
	vmm_vm *vm = NULL;
	char path[4096];

	cfg.backend = h.backend;
	cfg.vcpus = h.vcpus;
	cfg.mem_size = (uint64_t)h.mem_mib << 20;
	opt.timeout_ms = h.timeout_ms;
	snprintf(path, sizeof(path), "%s/%s", h.dir, t->name);
	t->out = malloc(MAX_OUTPUT);
	if (!t->out || vmm_vm_create(&cfg, &vm) || vmm_uart_output(vm, -1, on_serial, t) ||
	    vmm_load_elf(vm, path, NULL) || vmm_vm_run(vm, &opt, &res)) {
		snprintf(t->why, sizeof(t->why), "%s", t->out ? vmm_last_error() : "out of memory");
	} else if (res.end != VMM_END_DEBUG_EXIT || res.code != 0) {
		snprintf(t->why, sizeof(t->why), "%s", res.message);
	} else {
		t->ok = output_matches(t);
	}
	vmm_vm_destroy(vm);
}

static void print_diagnostics(const test *t)
{
	const char *p = t->out, *end = t->out + t->out_len;

	printf("# %s\n", t->why);
	while (p && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		int len = (int)((nl ? nl : end) - p);

		printf("#   | %.*s\n", len, p);
		p += len + 1;
	}
}

/* Prints every finished test whose predecessors are printed (lock held). */
static void print_ready(void)
{
	while (h.printed < h.n && h.tests[h.printed].done) {
		test *t = &h.tests[h.printed++];

		printf("%sok %u - %.*s\n", t->ok ? "" : "not ", h.printed,
		       (int)(strlen(t->name) - 4), t->name);
		if (!t->ok)
			print_diagnostics(t);
		h.failed += !t->ok;
		free(t->out);
		t->out = NULL;
	}
	fflush(stdout);
}

static void *worker(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&h.lock);
		test *t = h.next < h.n ? &h.tests[h.next++] : NULL;
		pthread_mutex_unlock(&h.lock);
		if (!t)
			return NULL;
		run_test(t);
		pthread_mutex_lock(&h.lock);
		t->done = 1;
		print_ready();
		pthread_mutex_unlock(&h.lock);
	}
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const test *)a)->name, ((const test *)b)->name);
}

static int scan(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return -1;
	while ((e = readdir(d)) && h.n < MAX_TESTS) {
		size_t len = strlen(e->d_name);

		if (len > 4 && len < sizeof(h.tests[0].name) && !strcmp(e->d_name + len - 4, ".elf"))
			memcpy(h.tests[h.n++].name, e->d_name, len + 1);
	}
	closedir(d);
	qsort(h.tests, h.n, sizeof(h.tests[0]), by_name);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned jobs = 4;
	pthread_t threads[64];
	int opt;

	while ((opt = getopt(argc, argv, "b:j:t:c:m:")) != -1) {
		unsigned v = (unsigned)strtoul(optarg, NULL, 0);

		if (opt == 'b')
			h.backend = optarg;
		else if (opt == 'j')
			jobs = v < 1 ? 1 : v > 64 ? 64 : v;
		else if (opt == 't')
			h.timeout_ms = v;
		else if (opt == 'c')
			h.vcpus = v;
		else if (opt == 'm')
			h.mem_mib = v;
		else
			return fprintf(stderr, "usage: harness [-b emu|kvm] [-j JOBS] [-t TIMEOUT_MS] "
				       "[-c VCPUS] [-m RAM_MIB] DIR\n"), 2;
	}
	if (optind != argc - 1 || scan(argv[optind]) < 0)
		return fprintf(stderr, "harness: give a readable directory of NAME.elf tests\n"), 2;
	h.dir = argv[optind];
	printf("TAP version 13\n1..%u\n", h.n);
	for (unsigned i = 0; i < jobs; i++)
		if (pthread_create(&threads[i], NULL, worker, NULL))
			jobs = i;
	if (jobs == 0)
		return fprintf(stderr, "harness: cannot start a worker thread\n"), 1;
	for (unsigned i = 0; i < jobs; i++)
		pthread_join(threads[i], NULL);
	printf("# %u tests, %u failed\n", h.n, h.failed);
	return h.failed ? 1 : 0;
}
