/* bench_kvm.c - what libvmm's kvm backend costs over bare KVM ioctls.
 *
 * (a) one port-I/O exit: a real-mode guest loops on `out %al, $0x80`; each
 *     exit is handed to the embedder, through vmm_vcpu_run vs a bare
 *     KVM_RUN loop on the same guest code. Goal: within 5%.
 * (b) a VM's life: create VM + vCPU + memory, run to the first exit, destroy,
 *     through libvmm vs the bare ioctl sequence. Goal: within 20%.
 * Short rounds alternate libvmm and bare; the medians of each side and of
 * the per-round ratios are reported (see report()).
 * Prints "FLAVOUR: what: libvmm X us, bare Y us, ratio R (goal <= G: ...)".
 * Exit status: 0, or 1 with --strict when a goal is missed, 2 on errors. A
 * host without a usable /dev/kvm prints why and exits 0. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vmm.h"

#define CODE_GPA 0x1000u
#define MEM_SIZE (2u << 20)
#define PORT 0x80

/* 1: out %al, $0x80; jmp 1b */
static const uint8_t guest_code[] = { 0xe6, PORT, 0xeb, 0xfc };

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void die(const char *what, const char *why)
{
	fprintf(stderr, "bench_kvm: %s: %s\n", what, why);
	exit(2);
}

/* ---- libvmm side ----------------------------------------------------------- */

static vmm_vcpu *lib_setup(vmm_vm **vm_out)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	vmm_vcpu *vcpu;
	vmm_sregs s;
	vmm_regs r;

	cfg.backend = "kvm";
	cfg.mem_size = MEM_SIZE;
	if (vmm_vm_create(&cfg, vm_out) || vmm_vcpu_create(*vm_out, 0, &vcpu) ||
	    vmm_mem_write(*vm_out, CODE_GPA, guest_code, sizeof(guest_code)) ||
	    vmm_vcpu_get_sregs(vcpu, &s))
		die("libvmm setup", vmm_last_error());
	s.cs.base = 0;
	s.cs.selector = 0;
	memset(&r, 0, sizeof(r));
	r.rip = CODE_GPA;
	r.rflags = 2;
	if (vmm_vcpu_set_sregs(vcpu, &s) || vmm_vcpu_set_regs(vcpu, &r))
		die("libvmm registers", vmm_last_error());
	return vcpu;
}

static void lib_exit(vmm_vcpu *vcpu, uint64_t *sum)
{
	vmm_exit *exit;

	if (vmm_vcpu_run(vcpu, &exit) != 0)
		die("vmm_vcpu_run", vmm_last_error());
	if (exit->reason != VMM_EXIT_IO || exit->io.port != PORT)
		die("vmm_vcpu_run", "unexpected exit");
	*sum += exit->io.data;
}

static double lib_pio_round(vmm_vcpu *vcpu, unsigned n, uint64_t *sum)
{
	double t0 = now_us();

	for (unsigned i = 0; i < n; i++)
		lib_exit(vcpu, sum);
	return (now_us() - t0) / n;
}

static double lib_lifecycle(uint64_t *sum)
{
	double t0 = now_us();
	vmm_vm *vm;
	vmm_vcpu *vcpu = lib_setup(&vm);

	lib_exit(vcpu, sum);
	vmm_vm_destroy(vm);
	return now_us() - t0;
}

/* ---- bare side ------------------------------------------------------------------ */

/* KVM_GET_SUPPORTED_CPUID, fetched once (libvmm caches it in its probe). */
static struct kvm_cpuid2 *supported_cpuid(int kvm)
{
	static struct kvm_cpuid2 *c;

	if (!c) {
		c = calloc(1, sizeof(*c) + 1024 * sizeof(c->entries[0]));
		if (!c)
			die("calloc", "out of memory");
		c->nent = 1024;
		if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c) < 0)
			die("KVM_GET_SUPPORTED_CPUID", strerror(errno));
	}
	return c;
}

typedef struct bare {
	int vm, vcpu;
	struct kvm_run *run;
	size_t run_size;
	uint8_t *mem;
} bare;

static void bare_setup(bare *b, int kvm)
{
	struct kvm_userspace_memory_region region = { 0 };
	struct kvm_sregs s;
	struct kvm_regs r = { .rip = CODE_GPA, .rflags = 2 };

	b->vm = ioctl(kvm, KVM_CREATE_VM, 0);
	b->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (b->vm < 0 || b->mem == MAP_FAILED)
		die("bare KVM_CREATE_VM/mmap", strerror(errno));
	memcpy(b->mem + CODE_GPA, guest_code, sizeof(guest_code));
	region.memory_size = MEM_SIZE;
	region.userspace_addr = (uint64_t)(uintptr_t)b->mem;
	b->run_size = (size_t)ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (ioctl(b->vm, KVM_SET_USER_MEMORY_REGION, &region) < 0 ||
	    (b->vcpu = ioctl(b->vm, KVM_CREATE_VCPU, 0)) < 0)
		die("bare memory/vCPU", strerror(errno));
	b->run = mmap(NULL, b->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, b->vcpu, 0);
	if (b->run == MAP_FAILED || (getenv("BARE_NO_CPUID") == NULL &&
	    ioctl(b->vcpu, KVM_SET_CPUID2, supported_cpuid(kvm)) < 0) ||
	    ioctl(b->vcpu, KVM_GET_SREGS, &s) < 0)
		die("bare mmap/KVM_SET_CPUID2/KVM_GET_SREGS", strerror(errno));
	s.cs.base = 0;
	s.cs.selector = 0;
	if (ioctl(b->vcpu, KVM_SET_SREGS, &s) < 0 || ioctl(b->vcpu, KVM_SET_REGS, &r) < 0)
		die("bare KVM_SET_SREGS/REGS", strerror(errno));
}

static void bare_exit(bare *b, uint64_t *sum)
{
	if (ioctl(b->vcpu, KVM_RUN, 0) < 0)
		die("bare KVM_RUN", strerror(errno));
	if (b->run->exit_reason != KVM_EXIT_IO || b->run->io.port != PORT)
		die("bare KVM_RUN", "unexpected exit");
	*sum += *((uint8_t *)b->run + b->run->io.data_offset);
}

static void bare_destroy(bare *b)
{
	munmap(b->run, b->run_size);
	close(b->vcpu);
	close(b->vm);
	munmap(b->mem, MEM_SIZE);
}

static double bare_pio_round(bare *b, unsigned n, uint64_t *sum)
{
	double t0 = now_us();

	for (unsigned i = 0; i < n; i++)
		bare_exit(b, sum);
	return (now_us() - t0) / n;
}

/* The bare side opens /dev/kvm each time too, as libvmm does per VM. */
static double bare_lifecycle(uint64_t *sum)
{
	double t0 = now_us();
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	bare b;

	if (kvm < 0)
		die("/dev/kvm", strerror(errno));
	bare_setup(&b, kvm);
	close(kvm);
	bare_exit(&b, sum);
	bare_destroy(&b);
	return now_us() - t0;
}

/* ---- driver ----------------------------------------------------------------------- */

#define MAX_ROUNDS 400

/* Paired samples: libvmm and bare measured back to back, so that load from
 * other processes hits both alike. Reported: each side's median, and the
 * median of the per-pair ratios (robust to load that changes over time). */
typedef struct samples {
	double lib[MAX_ROUNDS], bare[MAX_ROUNDS], ratio[MAX_ROUNDS];
	unsigned n;
} samples;

static void add(samples *s, double lib, double bare)
{
	s->lib[s->n] = lib;
	s->bare[s->n] = bare;
	s->ratio[s->n++] = lib / bare;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(v[0]), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int report(const char *flavour, const char *what, samples *s, double goal)
{
	double lib = median(s->lib, s->n), bare = median(s->bare, s->n);
	double ratio = median(s->ratio, s->n);

	printf("%s: %s: libvmm %.1f us, bare %.1f us, ratio %.2f (goal <= %.2f: %s)\n",
	       flavour, what, lib, bare, ratio, goal, ratio <= goal ? "met" : "MISSED");
	return ratio <= goal;
}

static int kvm_flavour(char *flavour, size_t len)
{
	vmm_backend_info info = VMM_BACKEND_INFO_INIT;

	for (uint32_t i = 0; vmm_backends(i, &info) == 0; i++) {
		if (strcmp(info.name, "kvm") != 0)
			continue;
		if (!info.usable) {
			printf("kvm: not usable here, nothing to measure: %s\n", info.reason);
			return 0;
		}
		snprintf(flavour, len, "%s", info.flavour);
		return 1;
	}
	printf("kvm: no kvm backend in this build\n");
	return 0;
}

static void measure_pio(samples *s, unsigned rounds, unsigned exits)
{
	uint64_t sum = 0;
	vmm_vm *vm;
	vmm_vcpu *vcpu = lib_setup(&vm);
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	bare b;

	if (kvm < 0)
		die("/dev/kvm", strerror(errno));
	bare_setup(&b, kvm);
	lib_pio_round(vcpu, exits / 10, &sum);   /* warm up both */
	bare_pio_round(&b, exits / 10, &sum);
	for (unsigned r = 0; r < rounds; r++) {
		double lib = lib_pio_round(vcpu, exits, &sum);

		add(s, lib, bare_pio_round(&b, exits, &sum));
	}
	vmm_vm_destroy(vm);
	bare_destroy(&b);
	close(kvm);
}

static void measure_lifecycle(samples *s, unsigned rounds)
{
	uint64_t sum = 0;

	lib_lifecycle(&sum);   /* warm up both */
	bare_lifecycle(&sum);
	for (unsigned r = 0; r < rounds; r++) {
		double lib = lib_lifecycle(&sum);

		add(s, lib, bare_lifecycle(&sum));
	}
}

int main(int argc, char **argv)
{
	int strict = argc > 1 && strcmp(argv[1], "--strict") == 0, ok = 1;
	int quick = getenv("BENCH_KVM_QUICK") != NULL;
	static samples pio, life;
	char flavour[32];

	if (!kvm_flavour(flavour, sizeof(flavour)))
		return 0;
	measure_pio(&pio, quick ? 5 : 100, quick ? 500 : 1000);
	measure_lifecycle(&life, quick ? 10 : 300);
	ok &= report(flavour, "pio exit", &pio, 1.05);
	ok &= report(flavour, "vm lifecycle", &life, 1.20);
	return strict && !ok ? 1 : 0;
}
