/* sandbox.c - run untrusted functions in throw-away VMs (see README.md).
 *
 * Each run creates a VM with a RAM cap and no devices (VMM_VM_NO_UART),
 * loads the function's ELF image from memory, runs its one vCPU on the
 * calling thread and destroys the VM. The function reaches the host only
 * through the host-call port (sandbox_abi.h) and the exit port; any other
 * port, any access outside its RAM and any overrun of the time limit ends
 * the run as a violation. One watchdog thread serves the time limits of all
 * runs: it kicks the vCPU whose deadline passed. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <vmm.h>

#include "sandbox_abi.h"

/* ---- the watchdog --------------------------------------------------------- */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	vmm_vcpu *vcpu;          /* the vCPU being timed, or NULL */
	struct timespec deadline;
	int stop;
} dog = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, { 0, 0 }, 0 };

static void *watchdog(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&dog.lock);
	while (!dog.stop) {
		if (!dog.vcpu)
			pthread_cond_wait(&dog.cond, &dog.lock);
		else if (pthread_cond_timedwait(&dog.cond, &dog.lock, &dog.deadline) == ETIMEDOUT &&
			 dog.vcpu) {
			vmm_vcpu_kick(dog.vcpu);  /* under the lock: disarm waits for it */
			dog.vcpu = NULL;
		}
	}
	pthread_mutex_unlock(&dog.lock);
	return NULL;
}

static void dog_arm(vmm_vcpu *vcpu, unsigned ms)
{
	pthread_mutex_lock(&dog.lock);
	clock_gettime(CLOCK_REALTIME, &dog.deadline);
	dog.deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
	dog.deadline.tv_sec += ms / 1000 + dog.deadline.tv_nsec / 1000000000L;
	dog.deadline.tv_nsec %= 1000000000L;
	dog.vcpu = vcpu;
	pthread_cond_signal(&dog.cond);
	pthread_mutex_unlock(&dog.lock);
}

static void dog_disarm(void)
{
	pthread_mutex_lock(&dog.lock);
	dog.vcpu = NULL;
	pthread_mutex_unlock(&dog.lock);
}

/* ---- one sandboxed run ---------------------------------------------------- */
typedef struct sbx_limits {
	const char *backend;
	uint64_t mem_size;   /* the RAM cap */
	unsigned time_ms;    /* the time limit */
} sbx_limits;

enum { SBX_OK, SBX_TIMEOUT, SBX_VIOLATION, SBX_HOST_ERROR };
static const char *const outcome_names[] = { "ok", "time limit", "violation", "host error" };

typedef struct sbx_result {
	int outcome;
	uint32_t code;       /* the function's exit code (SBX_OK) */
	char output[SBX_MAX_IO + 1];
	size_t output_len;
	char why[256];
} sbx_result;

typedef struct sbx_job {
	const void *image;
	size_t image_len;
	const char *input;
	size_t input_len;
} sbx_job;

/* Performs one host call; returns 0, or -1 if the call itself is hostile. */
static int host_call(vmm_vm *vm, const sbx_job *job, uint32_t gpa, sbx_result *r)
{
	struct sbx_call c;

	if (vmm_mem_read(vm, gpa, &c, sizeof(c)))
		return snprintf(r->why, sizeof(r->why), "host call block at 0x%x is outside "
				"its memory", gpa), -1;
	if (c.len > SBX_MAX_IO)
		return snprintf(r->why, sizeof(r->why), "host call length %u", c.len), -1;
	if (c.op == SBX_GET_INPUT) {
		size_t n = job->input_len < c.len ? job->input_len : c.len;

		if (vmm_mem_write(vm, c.buf, job->input, n))
			return snprintf(r->why, sizeof(r->why), "input buffer 0x%llx+%u outside "
					"its memory", (unsigned long long)c.buf, c.len), -1;
		c.ret = (int64_t)n;
	} else if (c.op == SBX_PUT_OUTPUT) {
		if (r->output_len + c.len > SBX_MAX_IO)
			return snprintf(r->why, sizeof(r->why), "output over %d bytes", SBX_MAX_IO), -1;
		if (vmm_mem_read(vm, c.buf, r->output + r->output_len, c.len))
			return snprintf(r->why, sizeof(r->why), "output buffer 0x%llx+%u outside "
					"its memory", (unsigned long long)c.buf, c.len), -1;
		r->output_len += c.len;
		r->output[r->output_len] = 0;
		c.ret = 0;
	} else {
		c.ret = -1;  /* unknown call: an error for the function, not a violation */
	}
	return vmm_mem_write(vm, gpa + offsetof(struct sbx_call, ret), &c.ret, sizeof(c.ret));
}

/* Runs the vCPU until the function ends; fills r. */
static void run_vcpu(vmm_vm *vm, vmm_vcpu *vcpu, const sbx_job *job, sbx_result *r)
{
	for (;;) {
		vmm_exit *x;

		if (vmm_vcpu_run(vcpu, &x)) {
			r->outcome = SBX_HOST_ERROR;
			snprintf(r->why, sizeof(r->why), "%s", vmm_last_error());
			return;
		}
		if (x->reason == VMM_EXIT_IO && x->io.port == SBX_PORT && x->io.size == 4 &&
		    x->io.direction == VMM_IO_OUT) {
			if (host_call(vm, job, x->io.data, r) == 0)
				continue;
			r->outcome = SBX_VIOLATION;
			return;
		}
		r->outcome = SBX_VIOLATION;
		switch (x->reason) {
		case VMM_EXIT_DEBUG_EXIT:
			r->outcome = SBX_OK;
			r->code = x->debug_exit.code;
			return;
		case VMM_EXIT_CANCELLED:
			r->outcome = SBX_TIMEOUT;
			snprintf(r->why, sizeof(r->why), "still running at the time limit");
			return;
		case VMM_EXIT_IO:
			snprintf(r->why, sizeof(r->why), "port 0x%x is not reachable", x->io.port);
			return;
		case VMM_EXIT_MMIO:
			snprintf(r->why, sizeof(r->why), "access at 0x%llx outside its memory",
				 (unsigned long long)x->mmio.addr);
			return;
		default:
			snprintf(r->why, sizeof(r->why), "exit %u at rip 0x%llx", x->reason,
				 (unsigned long long)x->rip);
			return;
		}
	}
}

/* Creates a sandbox, runs job in it and destroys it. If keep is not NULL the
 * VM is left alive there instead (for measuring its memory). */
static void sbx_run(const sbx_limits *lim, const sbx_job *job, sbx_result *r, vmm_vm **keep)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	vmm_vm *vm = NULL;

	r->outcome = SBX_OK;
	r->code = 0;
	r->output[0] = r->why[0] = 0;
	r->output_len = 0;
	cfg.mem_size = lim->mem_size;
	cfg.backend = lim->backend;
	cfg.flags = VMM_VM_NO_UART;
	if (vmm_vm_create(&cfg, &vm) ||
	    vmm_load_elf_buffer(vm, job->image, job->image_len, NULL)) {
		r->outcome = SBX_HOST_ERROR;
		snprintf(r->why, sizeof(r->why), "%s", vmm_last_error());
		vmm_vm_destroy(vm);
		return;
	}
	dog_arm(vmm_vcpu_get(vm, 0), lim->time_ms);
	run_vcpu(vm, vmm_vcpu_get(vm, 0), job, r);
	dog_disarm();
	if (keep)
		*keep = vm;
	else
		vmm_vm_destroy(vm);
}

/* ---- the demonstration ---------------------------------------------------- */
static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *read_file(const char *dir, const char *name, size_t *len)
{
	char path[4096];
	FILE *f;
	void *buf = NULL;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) ||
	    !(buf = malloc((size_t)n)) || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "sandbox: cannot read %s\n", path);
		exit(2);
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* What wordstat must answer, computed here on the host. */
static void expected_wordstat(const char *in, size_t n, char *out, size_t size)
{
	unsigned long long words = 0, lines = 0, hash = 0xcbf29ce484222325ull;
	int in_word = 0;

	for (size_t i = 0; i < n; i++) {
		int space = in[i] == ' ' || in[i] == '\n' || in[i] == '\t';

		hash = (hash ^ (unsigned char)in[i]) * 0x100000001b3ull;
		lines += in[i] == '\n';
		words += !space && !in_word;
		in_word = !space;
	}
	snprintf(out, size, "bytes=%zu words=%llu lines=%llu fnv=%llx", n, words, lines, hash);
}

static long rss_bytes(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f && fscanf(f, "%ld %ld", &pages, &resident) != 2)
		resident = 0;
	if (f)
		fclose(f);
	return resident * sysconf(_SC_PAGESIZE);
}

/* Bytes of guest RAM [0, size) that are resident in the host. */
static long guest_resident(vmm_vm *vm, uint64_t size)
{
	long page = sysconf(_SC_PAGESIZE), n = 0;
	size_t pages = (size_t)(size / (uint64_t)page);
	unsigned char *vec = malloc(pages);
	void *p;

	if (!vec || vmm_mem_host_ptr(vm, 0, size, &p) || mincore(p, size, vec)) {
		free(vec);
		return -1;
	}
	for (size_t i = 0; i < pages; i++)
		n += vec[i] & 1;
	free(vec);
	return n * page;
}

static int failures;

static void expect(int ok, const char *what, const sbx_result *r)
{
	printf("%s %s: %s%s%s (exit code %u)\n", ok ? "ok  " : "FAIL", what,
	       outcome_names[r->outcome], r->why[0] ? ": " : "", r->why, r->code);
	failures += !ok;
}

/* Runs `runs` sandboxes back to back on this thread; prints the rate. */
static void measure_rate(const sbx_limits *lim, const sbx_job *job, const char *want,
			 unsigned runs)
{
	sbx_result r;
	unsigned bad = 0, late = 0;
	double t0 = now(), t;

	for (unsigned i = 0; i < runs; i++) {
		sbx_run(lim, job, &r, NULL);
		if (r.outcome == SBX_TIMEOUT)
			late++;   /* a loaded machine (ASan, other jobs): not an answer */
		else
			bad += r.outcome != SBX_OK || strcmp(r.output, want) != 0;
	}
	t = now() - t0;
	printf("rate: %u sandboxes created, run and destroyed in %.3f s on one thread: "
	       "%.0f runs/s, %.1f us per run%s\n", runs, t, runs / t, t / runs * 1e6,
	       runs / t >= 1000 ? "" : " (goal: 1000 runs/s)");
	if (late)
		printf("note rate: %u of %u runs hit the %u ms time limit (machine loaded?)\n",
		       late, runs, lim->time_ms);
	if (bad || late == runs)
		printf("FAIL rate: %u of %u runs gave a wrong answer%s\n", bad, runs,
		       late == runs ? ", and none finished in time" : "");
	failures += bad != 0 || late == runs;
}

/* Keeps `n` finished sandboxes alive; prints host memory per VM beyond the
 * guest RAM it has touched. */
static void measure_overhead(const sbx_limits *lim, const sbx_job *job, unsigned n)
{
	vmm_vm **vms = calloc(n, sizeof(*vms));
	long before, after, guest = 0;
	sbx_result r;
	unsigned made = 0;

	if (!vms)
		return;
	before = rss_bytes();
	for (; made < n; made++) {
		vms[made] = NULL;
		sbx_run(lim, job, &r, &vms[made]);
		if (!vms[made])
			break;
		guest += guest_resident(vms[made], lim->mem_size);
	}
	after = rss_bytes();
	for (unsigned i = 0; i < made; i++)
		vmm_vm_destroy(vms[i]);
	free(vms);
	if (made == 0)
		return;
	double per = (double)(after - before - guest) / made;
	printf("memory: %u live sandboxes: RSS +%.1f KiB each, of which guest RAM touched "
	       "%.1f KiB: overhead %.1f KiB per VM beyond guest RAM%s\n", made,
	       (after - before) / 1024.0 / made, guest / 1024.0 / made, per / 1024.0,
	       per < 1024 * 1024 ? "" : " (goal: < 1 MiB)");
	failures += per >= 1024 * 1024;
}

int main(int argc, char **argv)
{
	static const char text[] = "the quick brown fox\njumps over\tthe lazy dog\n";
	sbx_limits lim = { "emu", 2u << 20, 100 };
	unsigned runs = 2000;
	const char *dir;
	char want[128];
	sbx_result r;
	pthread_t dog_thread;
	int opt;

	while ((opt = getopt(argc, argv, "b:n:m:t:")) != -1) {
		if (opt == 'b')
			lim.backend = optarg;
		else if (opt == 'n')
			runs = (unsigned)strtoul(optarg, NULL, 0);
		else if (opt == 'm')
			lim.mem_size = strtoull(optarg, NULL, 0) << 10;
		else if (opt == 't')
			lim.time_ms = (unsigned)strtoul(optarg, NULL, 0);
		else
			return fprintf(stderr, "usage: sandbox [-b emu|kvm] [-n RUNS] [-m RAM_KIB] "
				       "[-t LIMIT_MS] GUEST_DIR\n"), 2;
	}
	if (optind != argc - 1)
		return fprintf(stderr, "usage: sandbox [options] GUEST_DIR\n"), 2;
	dir = argv[optind];
	sbx_job fn = { NULL, 0, text, sizeof(text) - 1 }, spin = fn, esc = fn;
	fn.image = read_file(dir, "wordstat.elf", &fn.image_len);
	spin.image = read_file(dir, "spin.elf", &spin.image_len);
	esc.image = read_file(dir, "escape.elf", &esc.image_len);
	if (pthread_create(&dog_thread, NULL, watchdog, NULL))
		return fprintf(stderr, "sandbox: cannot start the watchdog\n"), 1;

	printf("sandbox: backend %s, RAM cap %llu KiB, time limit %u ms\n", lim.backend,
	       (unsigned long long)(lim.mem_size >> 10), lim.time_ms);
	expected_wordstat(text, sizeof(text) - 1, want, sizeof(want));
	sbx_run(&lim, &fn, &r, NULL);
	expect(r.outcome == SBX_OK && r.code == 0 && strcmp(r.output, want) == 0, "wordstat", &r);
	printf("     output \"%s\"\n", r.output);
	double t0 = now();
	sbx_run(&lim, &spin, &r, NULL);
	double spun = now() - t0;
	expect(r.outcome == SBX_TIMEOUT && spun < lim.time_ms / 1000.0 + 5, "spin (stopped by the time limit)", &r);
	static const char *const modes[][2] = {
		{ "m", "escape: write past the RAM cap" }, { "p", "escape: another port" },
		{ "c", "escape: host call with a foreign buffer" },
	};
	for (int i = 0; i < 3; i++) {
		esc.input = modes[i][0];
		esc.input_len = 1;
		sbx_run(&lim, &esc, &r, NULL);
		expect(r.outcome == SBX_VIOLATION, modes[i][1], &r);
	}
	if (runs) {
		measure_rate(&lim, &fn, want, runs);
		measure_overhead(&lim, &fn, 200);
	}
	pthread_mutex_lock(&dog.lock);
	dog.stop = 1;
	pthread_cond_signal(&dog.cond);
	pthread_mutex_unlock(&dog.lock);
	pthread_join(dog_thread, NULL);
	free((void *)fn.image);
	free((void *)spin.image);
	free((void *)esc.image);
	printf("sandbox: %s\n", failures ? "FAILED" : "all expectations met");
	return failures ? 1 : 0;
}
