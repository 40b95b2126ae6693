/* test_emu_edge.c - the emu backend at its edges, with exact results:
 * string instructions running off the end of RAM (element-exact MMIO
 * exits and register state), REPs with a count of 2^63 over an aliased
 * 128 TiB mapping that only a kick can stop (and that keep their
 * registers consistent across kicks), self-modifying code (same block,
 * cached loops, across a page boundary, through a second virtual alias,
 * by REP MOVS, XCHG and LOCK CMPXCHG, host writes between runs, in 32-bit
 * mode), and a vCPU rewriting the code another vCPU is executing. */
#define _GNU_SOURCE
#include <stdatomic.h>

#include "tests/unit/emu_fuzz_gen.h"

#define NO_DEV (VMM_VM_NO_UART | VMM_VM_NO_DEBUG_EXIT)
#define BIG (1ull << 63)

static void setup_mode(fz_vm *f, int mode, uint32_t vcpus, uint32_t flags, const void *code,
		       size_t len)
{
	fz_create(f, mode, vcpus, flags);
	fz_write(f, FZ_CODE, code, len);
}

static void expect_mmio(const vmm_exit *e, uint64_t addr, unsigned size, unsigned write)
{
	assert_int_equal(e->mmio.addr, addr);
	assert_int_equal(e->mmio.size, size);
	assert_int_equal(e->mmio.is_write, write);
}

/* ---- Strings at the end of RAM ------------------------------------------------------------ */

static void test_rep_stosq_off_end_of_ram(void **state)
{
	static const uint8_t code[] = { 0xf3, 0x48, 0xab, 0xf4 };   /* rep stosq; hlt */
	const uint64_t v = 0x1122334455667788ull;
	fz_vm f;
	vmm_exit *e;
	uint64_t m[2];

	setup_mode(&f, FZ_LONG, 1, NO_DEV, code, sizeof(code));
	FZ_SET_REG(f.vcpu[0], rdi, FZ_RAM - 16);
	FZ_SET_REG(f.vcpu[0], rcx, BIG);
	FZ_SET_REG(f.vcpu[0], rax, v);
	for (unsigned i = 0; i < 4; i++) {
		e = fz_expect(&f, VMM_EXIT_MMIO, "rep stosq");
		expect_mmio(e, FZ_RAM + i * 8, 8, 1);
		assert_int_equal(e->mmio.data, v);
		assert_int_equal(e->rip, FZ_CODE);
		assert_int_equal(fz_regs(f.vcpu[0]).rcx, BIG - 2 - i);
		assert_int_equal(fz_regs(f.vcpu[0]).rdi, FZ_RAM + i * 8);
	}
	assert_int_equal(vmm_mem_read(f.vm, FZ_RAM - 16, m, 16), 0);
	assert_int_equal(m[0], v);
	assert_int_equal(m[1], v);
	fz_destroy(&f);
}

static void test_rep_movsb_from_end_of_ram(void **state)
{
	static const uint8_t code[] = { 0xf3, 0xa4, 0xf4 };          /* rep movsb; hlt */
	static const uint8_t tail[3] = { 0xa1, 0xa2, 0xa3 };
	fz_vm f;
	vmm_exit *e;
	uint8_t got[5];

	setup_mode(&f, FZ_LONG, 1, NO_DEV, code, sizeof(code));
	fz_write(&f, FZ_RAM - 3, tail, 3);
	FZ_SET_REG(f.vcpu[0], rsi, FZ_RAM - 3);
	FZ_SET_REG(f.vcpu[0], rdi, FZ_DATA);
	FZ_SET_REG(f.vcpu[0], rcx, BIG);
	for (unsigned i = 0; i < 3; i++) {
		e = fz_expect(&f, VMM_EXIT_MMIO, "rep movsb");
		expect_mmio(e, FZ_RAM + i, 1, 0);
		assert_int_equal(fz_regs(f.vcpu[0]).rcx, BIG - 3 - i);
		e->mmio.data = 0x5a + i;
	}
	assert_int_equal(vmm_mem_read(f.vm, FZ_DATA, got, 5), 0);
	assert_memory_equal(got, ((const uint8_t[]){ 0xa1, 0xa2, 0xa3, 0x5a, 0x5b }), 5);
	fz_destroy(&f);
}

/* An 8-byte store half in RAM, half past it: the RAM half is written, the
 * other half is one 4-byte MMIO write. */
static void test_stosq_straddles_end_of_ram(void **state)
{
	static const uint8_t code[] = { 0x48, 0xab, 0xf4 };          /* stosq; hlt */
	fz_vm f;
	vmm_exit *e;
	uint32_t lo = 0;

	setup_mode(&f, FZ_LONG, 1, NO_DEV, code, sizeof(code));
	FZ_SET_REG(f.vcpu[0], rdi, FZ_RAM - 4);
	FZ_SET_REG(f.vcpu[0], rax, 0x1122334455667788ull);
	e = fz_expect(&f, VMM_EXIT_MMIO, "stosq straddling");
	expect_mmio(e, FZ_RAM, 4, 1);
	assert_int_equal(e->mmio.data, 0x11223344);
	assert_int_equal(vmm_mem_read(f.vm, FZ_RAM - 4, &lo, 4), 0);
	assert_int_equal(lo, 0x55667788);
	fz_expect(&f, VMM_EXIT_HLT, "stosq straddling, resumed");
	assert_int_equal(fz_regs(f.vcpu[0]).rdi, FZ_RAM + 4);
	fz_destroy(&f);
}

/* ---- Endless REPs: only a kick ends them ---------------------------------------------------
 * The upper half of the address space (128 TiB) maps onto one 2 MiB page
 * at 0x200000: PML4[256..511] -> 0xc000 (every entry -> 0xd000), 0xd000
 * (every entry -> 2 MiB page 0x200000). */
#define HIGH 0xffff800000000000ull

static void alias_high_half(fz_vm *f)
{
	for (uint64_t i = 0; i < 512; i++) {
		fz_w64(f, 0xc000 + i * 8, 0xd000 | 3);
		fz_w64(f, 0xd000 + i * 8, 0x200000 | 0x83);
	}
	for (uint64_t i = 256; i < 512; i++)
		fz_w64(f, FZ_PML4 + i * 8, 0xc000 | 3);
}

typedef struct endless {
	const char *name;
	uint8_t code[4];
	unsigned size;          /* element bytes */
	int si, di;             /* which pointers move */
	int down;               /* DF = 1 */
} endless;

static const endless endless_cases[] = {
	{ "rep stosq", { 0xf3, 0x48, 0xab }, 8, 0, 1, 0 },
	{ "rep stosb down", { 0xf3, 0xaa }, 1, 0, 1, 1 },
	{ "rep movsq", { 0xf3, 0x48, 0xa5 }, 8, 1, 1, 0 },
	{ "rep movsb down", { 0xf3, 0xa4 }, 1, 1, 1, 1 },
	{ "rep lodsq", { 0xf3, 0x48, 0xad }, 8, 1, 0, 0 },
	{ "repe cmpsd", { 0xf3, 0xa7 }, 4, 1, 1, 0 },
	{ "repe scasw", { 0x66, 0xf3, 0xaf }, 2, 0, 1, 0 },
	{ "rep outsb (UART)", { 0xf3, 0x6e }, 1, 1, 0, 0 },
	{ "rep insb (UART)", { 0xf3, 0x6c }, 1, 0, 1, 0 },
};

/* Registers after a kick: RCX counts the elements done, the pointers
 * moved by exactly that many elements, RIP still at the REP. */
static void check_endless(fz_vm *f, const endless *c, uint64_t si0, uint64_t di0, uint64_t *done)
{
	vmm_regs g = fz_regs(f->vcpu[0]);
	uint64_t n = BIG - g.rcx, d = n * c->size;

	if (n <= *done)
		fail_msg("%s: no progress between kicks (rcx 0x%llx)", c->name,
			 (unsigned long long)g.rcx);
	*done = n;
	assert_int_equal(g.rip, FZ_CODE);
	if (c->di)
		assert_int_equal(g.rdi, c->down ? di0 - d : di0 + d);
	if (c->si)
		assert_int_equal(g.rsi, c->down ? si0 - d : si0 + d);
}

static void test_endless_rep_is_kickable(void **state)
{
	for (size_t k = 0; k < sizeof(endless_cases) / sizeof(endless_cases[0]); k++) {
		const endless *c = &endless_cases[k];
		uint64_t si0 = c->down ? ~0ull - 0xfff : HIGH, done = 0;
		uint64_t di0 = c->down ? si0 - 0x100000 : si0 + 0x100000;
		fz_vm f;

		setup_mode(&f, FZ_LONG, 1, 0, c->code, sizeof(c->code));
		alias_high_half(&f);
		FZ_SET_REG(f.vcpu[0], rsi, si0);
		FZ_SET_REG(f.vcpu[0], rdi, di0);
		FZ_SET_REG(f.vcpu[0], rcx, BIG);
		FZ_SET_REG(f.vcpu[0], rdx, 0x3f8);
		FZ_SET_REG(f.vcpu[0], rflags, c->down ? 0x402 : 2);
		for (unsigned i = 0; i < 3; i++) {
			vmm_exit *e = fz_run_once(f.vcpu[0], 20, c->name);

			if (e->reason != VMM_EXIT_CANCELLED)
				fail_msg("%s: exit %u, expected CANCELLED", c->name, e->reason);
			check_endless(&f, c, si0, di0, &done);
		}
		fz_destroy(&f);
	}
}

/* ---- Self-modifying code ------------------------------------------------------------------- */

/* Runs to HLT; returns RAX. */
static uint64_t run_rax(fz_vm *f, const char *what)
{
	fz_expect(f, VMM_EXIT_HLT, what);
	return fz_regs(f->vcpu[0]).rax;
}

static uint64_t smc_run(int mode, const void *code, size_t len, const char *what)
{
	fz_vm f;
	uint64_t rax;

	setup_mode(&f, mode, 1, NO_DEV, code, len);
	rax = run_rax(&f, what);
	fz_destroy(&f);
	return rax;
}

static void test_smc_same_block(void **state)
{
	/* movb $2, 1f+1(%rip); 1: mov $1, %eax; hlt */
	static const uint8_t code[] = { 0xc6, 0x05, 0x01, 0, 0, 0, 0x02,
					0xb8, 0x01, 0, 0, 0, 0xf4 };

	assert_int_equal(smc_run(FZ_LONG, code, sizeof(code), "smc same block"), 2);
}

/* xor ecx,ecx; L: mov eax,1; test ecx,ecx; jnz done; inc ecx;
 * mov byte [patch], 7; jmp L; done: hlt - the block of L runs (and is
 * cached) once, then its immediate is patched through [patch]. */
static void smc_loop_code(uint8_t *c, uint32_t patch)
{
	static const uint8_t tmpl[] = {
		0x31, 0xc9, 0xb8, 0x01, 0, 0, 0, 0x85, 0xc9, 0x75, 0x0f, 0xff, 0xc1,
		0xc6, 0x04, 0x25, 0, 0, 0, 0, 0x07, 0xe9, 0xe8, 0xff, 0xff, 0xff, 0xf4 };

	memcpy(c, tmpl, sizeof(tmpl));
	memcpy(c + 16, &patch, 4);
}

static void test_smc_cached_loop(void **state)
{
	uint8_t code[27];

	smc_loop_code(code, (uint32_t)FZ_CODE + 3);
	assert_int_equal(smc_run(FZ_LONG, code, sizeof(code), "smc loop"), 7);
}

/* The patched instruction straddles a page boundary (0x10ffe..0x11002);
 * the patch hits its second page, then its first. */
static void smc_cross(uint32_t patch, uint64_t expect)
{
	uint8_t code[0x1014];
	static const uint8_t at[] = {
		0xb8, 0x11, 0x22, 0x33, 0x44,              /* 0x10ffe: mov eax, 0x44332211 */
		0x85, 0xc9, 0x75, 0x0c, 0xff, 0xc1,        /* test; jnz done; inc ecx */
		0xc6, 0x04, 0x25, 0, 0, 0, 0, 0x99,        /* mov byte [patch], 0x99 */
		0xeb, 0xeb, 0xf4 };                        /* jmp 0x10ffe; done: hlt */

	memset(code, 0xcc, sizeof(code));
	memcpy(code, ((const uint8_t[]){ 0x31, 0xc9, 0xe9, 0xf7, 0x0f, 0, 0 }), 7);
	memcpy(code + 0xffe, at, sizeof(at));
	memcpy(code + 0xffe + 14, &patch, 4);
	assert_int_equal(smc_run(FZ_LONG, code, sizeof(code), "smc across pages"), expect);
}

static void test_smc_across_page_boundary(void **state)
{
	smc_cross(0x11001, 0x44992211);
	smc_cross(0x10fff, 0x44332299);
}

/* Code executed at one virtual address and written through another:
 * VA 0x600000 (PD[3] -> page table at 0xc000, entry 0) maps FZ_CODE. */
static void smc_alias(uint32_t patch, uint64_t rip)
{
	uint8_t code[27];
	fz_vm f;

	smc_loop_code(code, patch);
	setup_mode(&f, FZ_LONG, 1, NO_DEV, code, sizeof(code));
	fz_w64(&f, FZ_PD + 3 * 8, FZ_PT | 3);
	fz_w64(&f, FZ_PT, FZ_CODE | 3);
	FZ_SET_REG(f.vcpu[0], rip, rip);
	assert_int_equal(run_rax(&f, "smc alias"), 7);
	assert_int_equal(fz_regs(f.vcpu[0]).rip, rip + sizeof(code));
	fz_destroy(&f);
}

static void test_smc_through_alias(void **state)
{
	smc_alias(0x600003, FZ_CODE);            /* run at the identity address */
	smc_alias((uint32_t)FZ_CODE + 3, 0x600000);   /* run at the alias */
}

/* mov eax, 1; hlt; jmp back - the host patches the immediate between runs. */
static void test_smc_host_write_between_runs(void **state)
{
	static const uint8_t code[] = { 0xb8, 0x01, 0, 0, 0, 0xf4, 0xeb, 0xf8 };
	fz_vm f;

	setup_mode(&f, FZ_LONG, 1, NO_DEV, code, sizeof(code));
	assert_int_equal(run_rax(&f, "host patch 1"), 1);
	fz_write(&f, FZ_CODE + 1, (const uint8_t[]){ 9 }, 1);
	assert_int_equal(run_rax(&f, "host patch 2"), 9);
	fz_write(&f, FZ_CODE + 1, (const uint8_t[]){ 4 }, 1);
	assert_int_equal(run_rax(&f, "host patch 3"), 4);
	fz_destroy(&f);
}

static void test_smc_by_string_and_atomics(void **state)
{
	/* lea rsi,[rip+src]; lea rdi,[rip+dst]; mov ecx,5; rep movsb;
	 * dst: mov eax,1; hlt; src: mov eax,3 */
	static const uint8_t movs[] = { 0x48, 0x8d, 0x35, 0x14, 0, 0, 0, 0x48, 0x8d, 0x3d,
					0x07, 0, 0, 0, 0xb9, 0x05, 0, 0, 0, 0xf3, 0xa4,
					0xb8, 0x01, 0, 0, 0, 0xf4, 0xb8, 0x03, 0, 0, 0 };
	/* mov al, 9; xchg [rip+1], al; mov eax, 1; hlt */
	static const uint8_t xchg[] = { 0xb0, 0x09, 0x86, 0x05, 0x01, 0, 0, 0,
					0xb8, 0x01, 0, 0, 0, 0xf4 };
	/* mov eax,1; mov edx,5; lock cmpxchg [rip+1], edx; mov ebx,1 -> 5;
	 * mov eax, ebx; hlt */
	static const uint8_t cas[] = { 0xb8, 0x01, 0, 0, 0, 0xba, 0x05, 0, 0, 0,
				       0xf0, 0x0f, 0xb1, 0x15, 0x01, 0, 0, 0,
				       0xbb, 0x01, 0, 0, 0, 0x89, 0xd8, 0xf4 };

	assert_int_equal(smc_run(FZ_LONG, movs, sizeof(movs), "smc rep movsb"), 3);
	assert_int_equal(smc_run(FZ_LONG, xchg, sizeof(xchg), "smc xchg"), 9);
	assert_int_equal(smc_run(FZ_LONG, cas, sizeof(cas), "smc lock cmpxchg"), 5);
}

/* REP STOSB overwrites itself and the UD2s after it with NOPs: the REP
 * completes, then the NOPs run to the HLT. */
static void test_smc_rep_overwrites_itself(void **state)
{
	uint8_t code[0x21];
	fz_vm f;

	code[0] = 0xf3;
	code[1] = 0xaa;
	for (unsigned i = 2; i < 0x20; i += 2) {
		code[i] = 0x0f;
		code[i + 1] = 0x0b;
	}
	code[0x20] = 0xf4;
	setup_mode(&f, FZ_LONG, 1, NO_DEV, code, sizeof(code));
	FZ_SET_REG(f.vcpu[0], rdi, FZ_CODE);
	FZ_SET_REG(f.vcpu[0], rcx, 0x20);
	FZ_SET_REG(f.vcpu[0], rax, 0x90);
	fz_expect(&f, VMM_EXIT_HLT, "rep stosb over itself");
	assert_int_equal(fz_regs(f.vcpu[0]).rip, FZ_CODE + 0x21);
	assert_int_equal(fz_regs(f.vcpu[0]).rcx, 0);
	fz_destroy(&f);
}

static void test_smc_protected_mode(void **state)
{
	/* the cached loop in 32-bit code without paging: mov byte [abs], 7 */
	static const uint8_t code[] = { 0x31, 0xc9, 0xb8, 0x01, 0, 0, 0, 0x85, 0xc9, 0x75, 0x0b,
					0xff, 0xc1, 0xc6, 0x05, 0x03, 0x00, 0x01, 0x00, 0x07,
					0xeb, 0xec, 0xf4 };

	assert_int_equal(smc_run(FZ_PROT32, code, sizeof(code), "smc 32-bit"), 7);
	assert_int_equal(smc_run(FZ_PROT32_PAE, code, sizeof(code), "smc PAE"), 7);
}

/* ---- Two vCPUs ------------------------------------------------------------------------------- */

typedef struct runner {
	vmm_vcpu *vcpu;
	fz_rng r;
	int restart;            /* after a final exit: start again at restart_rip */
	uint64_t restart_rip;
	atomic_int stop;
	uint32_t last;          /* last exit reason */
	unsigned exits;
	char err[400];
} runner;

/* Runs the vCPU until CANCELLED (or, without restart, a final exit),
 * answering I/O; records the first bad exit. No cmocka in threads. */
static void *runner_main(void *arg)
{
	runner *t = arg;
	vmm_exit *e;

	for (;;) {
		if (vmm_vcpu_run(t->vcpu, &e)) {
			snprintf(t->err, sizeof(t->err), "run failed: %s", vmm_last_error());
			return NULL;
		}
		t->exits++;
		t->last = e->reason;
		if (!t->err[0])
			fz_exit_problem(e, vmm_vcpu_index(t->vcpu), t->err, sizeof(t->err));
		if (e->reason == VMM_EXIT_CANCELLED || atomic_load(&t->stop))
			return NULL;
		e->io.data = (uint32_t)fz_next(&t->r);
		e->mmio.data = fz_next(&t->r);
		if (e->reason == VMM_EXIT_IO || e->reason == VMM_EXIT_MMIO)
			continue;
		if (!t->restart)
			return NULL;
		FZ_SET_REG(t->vcpu, rip, t->restart_rip + fz_below(&t->r, 64));
		FZ_SET_REG(t->vcpu, rsp, FZ_RAM - 0x1000);
	}
}

static void start(runner *t, pthread_t *th, vmm_vcpu *vcpu, int restart, uint64_t rip)
{
	memset(t, 0, sizeof(*t));
	t->vcpu = vcpu;
	t->r.s = 0x1234567 + vmm_vcpu_index(vcpu);
	t->restart = restart;
	t->restart_rip = rip;
	assert_int_equal(pthread_create(th, NULL, runner_main, t), 0);
}

/* Waits up to ms for the thread; kicks and fails if it is still running. */
static void finish(runner *t, pthread_t th, unsigned ms, const char *what)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	fz_ts_add_ms(&until, ms);
	if (pthread_timedjoin_np(th, NULL, &until)) {
		vmm_vcpu_kick(t->vcpu);
		pthread_join(th, NULL);
		fail_msg("%s: vCPU %u still running after %u ms", what, vmm_vcpu_index(t->vcpu), ms);
	}
	if (t->err[0])
		fail_msg("%s: vCPU %u: %s", what, vmm_vcpu_index(t->vcpu), t->err);
}

static void stop_both(runner *t, pthread_t *th, unsigned ms, const char *what)
{
	usleep(ms * 1000);
	for (int i = 0; i < 2; i++) {
		atomic_store(&t[i].stop, 1);
		vmm_vcpu_kick(t[i].vcpu);
	}
	for (int i = 0; i < 2; i++)
		finish(&t[i], th[i], 5000, what);
}

/* vCPU 1 spins until its own MOV immediate becomes 2; vCPU 0 (started
 * once vCPU 1 runs from its cached block) writes it once with patch. */
static void patch_spinning_code(const uint8_t *patch, size_t len)
{
	static const uint8_t spin[] = { 0xb8, 0x01, 0, 0, 0, 0x83, 0xf8, 0x02, 0x75, 0xf6, 0xf4 };
	runner t;
	pthread_t th;
	fz_vm f;
	vmm_exit *e;

	setup_mode(&f, FZ_LONG, 2, NO_DEV, patch, len);
	fz_write(&f, 0x11000, spin, sizeof(spin));
	FZ_SET_REG(f.vcpu[1], rip, 0x11000);
	start(&t, &th, f.vcpu[1], 0, 0);
	usleep(20000);
	assert_int_equal(vmm_vcpu_run(f.vcpu[0], &e), 0);
	assert_int_equal(e->reason, VMM_EXIT_HLT);
	finish(&t, th, 5000, "patch spinning code");
	assert_int_equal(t.last, VMM_EXIT_HLT);
	assert_int_equal(fz_regs(f.vcpu[1]).rax, 2);
	assert_int_equal(fz_regs(f.vcpu[1]).rip, 0x1100b);
	fz_destroy(&f);
}

/* Found: about 1 run in 14 vCPU 1 spun forever on the old code: vCPU 0
 * invalidated the page before its store, and vCPU 1 decoded the old bytes
 * in between. Fixed in "emu: fix another vCPU caching code decoded between
 * a write's invalidation and its store". */
static void test_two_vcpus_patch_spinning_code(void **state)
{
	/* mov byte [0x11001], 2; hlt */
	static const uint8_t mov[] = { 0xc6, 0x04, 0x25, 0x01, 0x10, 0x01, 0x00, 0x02, 0xf4 };

	patch_spinning_code(mov, sizeof(mov));
}

/* The same patch by an atomic exchange (XCHG m8, r8: a host atomic on a
 * pointer obtained after the invalidation). */
static void test_two_vcpus_patch_spinning_code_atomic(void **state)
{
	/* mov al, 2; xchg [0x11001], al; hlt */
	static const uint8_t xchg[] = { 0xb0, 0x02, 0x86, 0x04, 0x25, 0x01, 0x10, 0x01, 0x00, 0xf4 };

	patch_spinning_code(xchg, sizeof(xchg));
}

/* vCPU 0 flips one byte of vCPU 1's loop between INC RBX and INC RDX;
 * vCPU 1 must run both versions (any mix of the two is one of them). */
static void test_two_vcpus_flip_code(void **state)
{
	static const uint8_t loop[] = { 0x48, 0xff, 0xc3, 0xeb, 0xfb };
	static const uint8_t flip[] = {
		0xc6, 0x04, 0x25, 0x02, 0x10, 0x01, 0x00, 0xc2, 0xb9, 0x20, 0x4e, 0, 0, 0xe2, 0xfe,
		0xc6, 0x04, 0x25, 0x02, 0x10, 0x01, 0x00, 0xc3, 0xb9, 0x20, 0x4e, 0, 0, 0xe2, 0xfe,
		0xeb, 0xe0 };
	runner t[2];
	pthread_t th[2];
	fz_vm f;
	vmm_regs g;

	setup_mode(&f, FZ_LONG, 2, NO_DEV, flip, sizeof(flip));
	fz_write(&f, 0x11000, loop, sizeof(loop));
	FZ_SET_REG(f.vcpu[1], rip, 0x11000);
	start(&t[1], &th[1], f.vcpu[1], 0, 0);
	start(&t[0], &th[0], f.vcpu[0], 0, 0);
	stop_both(t, th, 300, "flip code");
	g = fz_regs(f.vcpu[1]);
	if (!g.rbx || !g.rdx)
		fail_msg("vCPU 1 ran INC RBX %llu times and INC RDX %llu times: stale code",
			 (unsigned long long)g.rbx, (unsigned long long)g.rdx);
	fz_destroy(&f);
}

/* vCPU 0 keeps writing pseudo-random words over the page vCPU 1 executes
 * (and the host writes random bytes there too); vCPU 1 restarts after
 * every final exit. Only legal exits, no host crash. */
static void test_two_vcpus_random_rewrite(void **state)
{
	/* mov edi,0x11000; L: rdtsc; imul eax,eax,0x9e3779b1; mov [rdi],eax;
	 * add edi,4; cmp edi,0x12000; jb L; jmp to mov edi */
	static const uint8_t writer[] = {
		0xbf, 0x00, 0x10, 0x01, 0x00, 0x0f, 0x31, 0x69, 0xc0, 0xb1, 0x79, 0x37, 0x9e,
		0x89, 0x07, 0x83, 0xc7, 0x04, 0x81, 0xff, 0x00, 0x20, 0x01, 0x00, 0x72, 0xeb,
		0xeb, 0xe4 };
	runner t[2];
	pthread_t th[2];
	fz_vm f;
	vmm_sregs s;
	fz_rng r = { 99 };

	setup_mode(&f, FZ_LONG, 2, 0, writer, sizeof(writer));
	assert_int_equal(vmm_vcpu_get_sregs(f.vcpu[1], &s), 0);
	fz_idt(&f, FZ_LONG, &s.idt);
	assert_int_equal(vmm_vcpu_set_sregs(f.vcpu[1], &s), 0);
	FZ_SET_REG(f.vcpu[1], rip, 0x11000);
	start(&t[1], &th[1], f.vcpu[1], 1, 0x11000);
	start(&t[0], &th[0], f.vcpu[0], 0, 0);
	for (unsigned i = 0; i < 200; i++) {
		uint8_t junk[64];

		fz_gen_bytes(&r, junk, sizeof(junk));
		fz_write(&f, 0x11000 + fz_below(&r, 4096 - 64), junk, sizeof(junk));
		usleep(1000);
	}
	stop_both(t, th, 0, "random rewrite");
	fz_destroy(&f);
}

/* A write-TLB entry filled while a page was data must not outlive the page
 * becoming code on another vCPU (cache.c: make_code waits until the writer
 * dropped it). vCPU 0, in one block: writes
 * [P] (TLB entry filled, P is data), a 65000-byte REP OUTSB to the UART,
 * then patches vCPU 1's "jmp $" at P+0x800 into HLT. vCPU 1 jumps to
 * P+0x800 as soon as it sees the first write, so it decodes P during the
 * REP; the patch must invalidate that block, or vCPU 1 spins on the old
 * code forever. */
static void test_stale_write_tlb_across_vcpus(void **state)
{
	static const uint8_t writer[] = {
		0xc6, 0x04, 0x25, 0x00, 0xf0, 0x1f, 0x00, 0xeb,    /* mov byte [P], 0xeb */
		0xf3, 0x6e,                                        /* rep outsb */
		0xc6, 0x04, 0x25, 0x00, 0xf8, 0x1f, 0x00, 0xf4,    /* mov byte [P+0x800], hlt */
		0xf4 };
	static const uint8_t waiter[] = {
		0x80, 0x3c, 0x25, 0x00, 0xf0, 0x1f, 0x00, 0xeb,    /* L: cmp byte [P], 0xeb */
		0x75, 0xf6, 0xe9, 0xf1, 0xe7, 0x1e, 0x00 };        /* jne L; jmp P+0x800 */
	runner t;
	pthread_t th;
	fz_vm f;
	vmm_exit *e;

	setup_mode(&f, FZ_LONG, 2, 0, writer, sizeof(writer));
	fz_write(&f, 0x11000, waiter, sizeof(waiter));
	fz_write(&f, 0x1ff800, (const uint8_t[]){ 0xeb, 0xfe }, 2);   /* jmp $ */
	FZ_SET_REG(f.vcpu[0], rsi, FZ_DATA);
	FZ_SET_REG(f.vcpu[0], rcx, 65000);
	FZ_SET_REG(f.vcpu[0], rdx, 0x3f8);
	FZ_SET_REG(f.vcpu[1], rip, 0x11000);
	start(&t, &th, f.vcpu[1], 0, 0);
	usleep(10000);
	assert_int_equal(vmm_vcpu_run(f.vcpu[0], &e), 0);
	assert_int_equal(e->reason, VMM_EXIT_HLT);
	finish(&t, th, 2000, "patch through a stale write-TLB entry");
	assert_int_equal(t.last, VMM_EXIT_HLT);
	fz_destroy(&f);
}

static int setup(void **state)
{
	fz_wd_start();
	return 0;
}

static int teardown(void **state)
{
	fz_wd_stop();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rep_stosq_off_end_of_ram),
		cmocka_unit_test(test_rep_movsb_from_end_of_ram),
		cmocka_unit_test(test_stosq_straddles_end_of_ram),
		cmocka_unit_test(test_endless_rep_is_kickable),
		cmocka_unit_test(test_smc_same_block),
		cmocka_unit_test(test_smc_cached_loop),
		cmocka_unit_test(test_smc_across_page_boundary),
		cmocka_unit_test(test_smc_through_alias),
		cmocka_unit_test(test_smc_host_write_between_runs),
		cmocka_unit_test(test_smc_by_string_and_atomics),
		cmocka_unit_test(test_smc_rep_overwrites_itself),
		cmocka_unit_test(test_smc_protected_mode),
		cmocka_unit_test(test_two_vcpus_patch_spinning_code),
		cmocka_unit_test(test_two_vcpus_patch_spinning_code_atomic),
		cmocka_unit_test(test_two_vcpus_flip_code),
		cmocka_unit_test(test_two_vcpus_random_rewrite),
		cmocka_unit_test(test_stale_write_tlb_across_vcpus),
	};
	const char *filter = getenv("VMM_FUZZ_TEST");

	if (filter)
		cmocka_set_test_filter(filter);
	return cmocka_run_group_tests(tests, setup, teardown);
}
