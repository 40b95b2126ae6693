/* test_emu_native.c - differential test of emu against the host CPU.
 *
 * Random user-level sequences (emu_native_gen.h: integer, flags, x87, MMX,
 * SSE..SSE4.2) are wrapped in a prologue that loads every GPR, RFLAGS and
 * the x87/MMX/XMM state (FXRSTOR) from an input block and an epilogue that
 * stores them (and FXSAVE) to an output block, then HLT. The same bytes at
 * the same addresses run
 *  - natively, in a forked child with the code at 0x100000 and the data at
 *    0x200000 (MAP_FIXED), SIGSEGV/SIGILL/SIGFPE/SIGBUS/SIGTRAP caught on an
 *    alternate stack (the final HLT is a SIGSEGV at the known end address);
 *  - on emu at CPL 3 in long mode with the same memory, where every
 *    exception goes through an IDT (IST stack) to a stub that records the
 *    vector, the faulting RIP and the GPRs.
 * Compared: all GPRs, RFLAGS minus the flags the sequence left undefined,
 * FCW/FSW/FTW/MXCSR, ST0-7/MM0-7, XMM0-15, the scratch and stack memory;
 * after an exception: the signal/vector class, the faulting RIP, the GPRs
 * (but RSP) and memory. A divergence prints the bytes, the disassembly, the
 * inputs and both results.
 *
 * EMU_NATIVE_INSNS: generated instructions to execute (default 1,000,000,
 * under ASan 200,000; `make check-long` 10,000,000); EMU_NATIVE_SEED (default 1);
 * EMU_NATIVE_SHOW: divergences printed in full (default 5); EMU_NATIVE_DEBUG:
 * also the input x87 and XMM registers. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/unit/emu_fixture.h"
#include "tests/unit/emu_native_gen.h"

#define N_CODE 0x100000ull
#define N_CODE_SIZE 0x10000ull
#define N_STUBS 0x110000ull
#define N_DATA 0x200000ull
#define N_SCRATCH 0x200000ull        /* 4 KiB, RBX = +0x800 */
#define N_STACK 0x201000ull          /* 4 KiB, RSP = +0x800 */
#define N_IN 0x202000ull             /* GPRs, RFLAGS at +0x80, FXSAVE at +0x100 */
#define N_OUT 0x203000ull
#define N_IMG 0x3400ull              /* compared/initialised: scratch..out */
#define N_FAULT 0x204000ull          /* emu: GPRs, vector +0x80, RIP +0x88 */
#define N_GDT 0x206000ull
#define N_TSS 0x206100ull
#define N_IDT 0x207000ull
#define N_IST 0x20a000ull
#define N_DATA_SIZE 0x10000ull

#define MAX_INSNS 32
#define BATCH 1024

typedef struct seq {
	uint8_t code[MAX_INSNS * 15 + 512];
	unsigned len, ninsn, start, end;      /* start/end: offsets of the sequence */
	uint16_t off[MAX_INSNS + 1];          /* instruction offsets from start */
	nat_undef undef;
	uint8_t img[N_IMG];
} seq;

typedef struct result {
	int signo;                            /* 0: completed (HLT at end) */
	int vec;                              /* emu: vector; -1 internal error */
	uint64_t rip;
	uint64_t gpr[16];
	char msg[300];
	uint8_t img[N_IMG];
} result;

static const char *const gpr_name[16] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15" };

/* ---- Code emission ------------------------------------------------------------ */
static unsigned emit_abs(uint8_t *p, unsigned w, unsigned opc, unsigned reg, uint64_t addr)
{
	unsigned n = 0;
	uint32_t a = (uint32_t)addr;

	if (w || reg >= 8)
		p[n++] = (uint8_t)(0x40 | (w ? 8 : 0) | (reg >= 8 ? 4 : 0));
	if (opc > 0xff)
		p[n++] = (uint8_t)(opc >> 8);
	p[n++] = (uint8_t)opc;
	p[n++] = (uint8_t)(((reg & 7) << 3) | 4);
	p[n++] = 0x25;
	memcpy(p + n, &a, 4);
	return n + 4;
}

static unsigned emit_prologue(uint8_t *p)
{
	unsigned n = emit_abs(p, 1, 0x0fae, 1, N_IN + 0x100);      /* fxrstor64 */
	uint32_t a = (uint32_t)(N_IN + 0x80);

	p[n++] = 0x48; p[n++] = 0xc7; p[n++] = 0xc4;                /* mov $IN+0x80, %rsp */
	memcpy(p + n, &a, 4);
	n += 4;
	p[n++] = 0x9d;                                               /* popfq */
	for (unsigned r = 0; r < 16; r++)
		if (r != 4)
			n += emit_abs(p + n, 1, 0x8b, r, N_IN + 8 * r);
	return n + emit_abs(p + n, 1, 0x8b, 4, N_IN + 32);
}

static unsigned emit_epilogue(uint8_t *p)
{
	unsigned n = 0;
	uint32_t a = (uint32_t)(N_OUT + 0x88);

	for (unsigned r = 0; r < 16; r++)
		n += emit_abs(p + n, 1, 0x89, r, N_OUT + 8 * r);
	p[n++] = 0x48; p[n++] = 0xc7; p[n++] = 0xc4;
	memcpy(p + n, &a, 4);
	n += 4;
	p[n++] = 0x9c;                                               /* pushfq */
	return n + emit_abs(p + n, 1, 0x0fae, 0, N_OUT + 0x100);   /* fxsave64 */
}

/* ---- Sequences ---------------------------------------------------------------- */
static void gen_state(nat_rng *r, uint8_t *img)
{
	uint64_t *g = (uint64_t *)(img + (N_IN - N_DATA)), v;
	uint8_t *fx = img + (N_IN - N_DATA) + 0x100;
	uint16_t fcw = (uint16_t)(0x7f | (nat_below(r, 16) << 8));
	uint32_t mxcsr = 0x1f80 | (nat_below(r, 4) << 13) | (nat_below(r, 2) << 15) |
			 (nat_below(r, 2) << 6) | nat_below(r, 64);

	memset(img, 0, N_IMG);
	for (unsigned i = 0; i < (N_IN - N_DATA) / 8; i++) {
		v = nat_value(r);
		memcpy(img + 8 * i, &v, 8);
	}
	for (unsigned i = 0; i < 16; i++)
		g[i] = nat_value(r);
	g[3] = N_SCRATCH + 0x800;
	g[4] = N_STACK + 0x800;
	g[16] = 0x202 | (nat_next(r) & NAT_FL_ARITH) | (nat_below(r, 4) ? 0 : 0x400);
	memset(fx, 0, 512);
	memcpy(fx, &fcw, 2);
	fx[4] = (uint8_t)nat_next(r);                                /* abridged tags */
	memcpy(fx + 24, &mxcsr, 4);
	for (unsigned i = 0; i < 8; i++) {
		v = nat_value(r);
		memcpy(fx + 32 + 16 * i, &v, 8);
		v = nat_below(r, 2) ? 0x3fff + nat_below(r, 64) - 32 : nat_next(r);
		memcpy(fx + 40 + 16 * i, &v, 2);
	}
	for (unsigned i = 0; i < 32; i++) {
		v = nat_value(r);
		memcpy(fx + 160 + 8 * i, &v, 8);
	}
}

static void gen_seq(csh cs, cs_insn *ci, nat_rng *r, seq *s)
{
	nat_insn in;
	unsigned n;

	memset(s, 0, offsetof(seq, img));
	s->ninsn = 1 + nat_below(r, MAX_INSNS);
	n = emit_prologue(s->code);
	s->start = n;
	for (unsigned i = 0; i < s->ninsn; i++) {
		nat_gen_insn(cs, ci, r, &in, &s->undef);
		s->off[i] = (uint16_t)(n - s->start);
		memcpy(s->code + n, in.bytes, in.len);
		n += in.len;
	}
	s->off[s->ninsn] = (uint16_t)(n - s->start);
	n += emit_epilogue(s->code + n);
	s->end = n;
	s->code[n++] = 0xf4;                                          /* hlt */
	s->len = n;
	gen_state(r, s->img);
}

/* ---- Native ------------------------------------------------------------------- */
static sigjmp_buf nat_jb;
static result *volatile nat_res;

static void nat_signal(int sig, siginfo_t *si, void *ctx)
{
	const greg_t *g = ((ucontext_t *)ctx)->uc_mcontext.gregs;
	static const int map[16] = { REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP,
				     REG_RSI, REG_RDI, REG_R8, REG_R9, REG_R10, REG_R11,
				     REG_R12, REG_R13, REG_R14, REG_R15 };

	nat_res->signo = sig;
	nat_res->rip = (uint64_t)g[REG_RIP];
	for (unsigned i = 0; i < 16; i++)
		nat_res->gpr[i] = (uint64_t)g[map[i]];
	siglongjmp(nat_jb, 1);
}

static void nat_child(const seq *sq, result *res, unsigned n)
{
	static uint8_t altstack[65536];
	static uint8_t host_fx[512] __attribute__((aligned(64)));
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct sigaction sa;
	static const int sigs[] = { SIGSEGV, SIGILL, SIGFPE, SIGBUS, SIGTRAP };
	static volatile unsigned i;

	if (mmap((void *)N_CODE, N_CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != (void *)N_CODE ||
	    mmap((void *)N_DATA, N_DATA_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != (void *)N_DATA)
		_exit(3);
	sigaltstack(&ss, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = nat_signal;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	for (unsigned k = 0; k < sizeof(sigs) / sizeof(sigs[0]); k++)
		sigaction(sigs[k], &sa, NULL);
	__asm__ __volatile__("fxsave64 %0" : "=m"(host_fx));
	for (i = 0; i < n; i++) {
		memcpy((void *)N_CODE, sq[i].code, sq[i].len);
		memcpy((void *)N_DATA, sq[i].img, N_IMG);
		memset(&res[i], 0, offsetof(result, img));
		nat_res = &res[i];
		if (sigsetjmp(nat_jb, 0) == 0)
			__asm__ __volatile__("jmp *%0" : : "r"(N_CODE) : "memory");
		__asm__ __volatile__("fxrstor64 %0" : : "m"(host_fx));
		if (res[i].signo == SIGSEGV && res[i].rip == N_CODE + sq[i].end)
			res[i].signo = 0;
		memcpy(res[i].img, (void *)N_DATA, N_IMG);
	}
	_exit(0);
}

/* ---- emu ---------------------------------------------------------------------- */
static void w64(emu_fx *fx, uint64_t gpa, uint64_t v)
{
	assert_int_equal(vmm_mem_write(fx->vm, gpa, &v, 8), 0);
}

/* Exception stubs: record the vector, the GPRs and the faulting RIP, HLT. */
static void emu_stubs(emu_fx *fx)
{
	uint8_t c[4096];
	unsigned n = 32 * 32, common[2];

	memset(c, 0xcc, sizeof(c));
	for (unsigned k = 0; k < 2; k++) {
		common[k] = n;
		for (unsigned r = 0; r < 16; r++)
			n += emit_abs(c + n, 1, 0x89, r, N_FAULT + 8 * r);
		c[n++] = 0x48; c[n++] = 0x8b; c[n++] = 0x44; c[n++] = 0x24;   /* mov k*8(%rsp), %rax */
		c[n++] = (uint8_t)(8 * k);
		n += emit_abs(c + n, 1, 0x89, 0, N_FAULT + 0x88);
		c[n++] = 0xf4;
	}
	for (unsigned v = 0; v < 32; v++) {
		uint8_t *p = c + 32 * v;
		uint32_t a = (uint32_t)(N_FAULT + 0x80);
		int err = v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30;
		int32_t rel;
		uint64_t t = N_STUBS + 32 * v;

		p[0] = 0x48; p[1] = 0xc7; p[2] = 0x04; p[3] = 0x25;           /* movq $v, abs */
		memcpy(p + 4, &a, 4);
		a = v;
		memcpy(p + 8, &a, 4);
		p[12] = 0xe9;
		rel = (int32_t)(common[err] - (32 * v + 17));
		memcpy(p + 13, &rel, 4);
		w64(fx, N_IDT + 16 * v, (t & 0xffff) | (0x08ull << 16) | (1ull << 32) |
					   (0xeull << 40) | (1ull << 47) | ((t >> 16 & 0xffff) << 48));
		w64(fx, N_IDT + 16 * v + 8, t >> 32);
	}
	assert_int_equal(vmm_mem_write(fx->vm, N_STUBS, c, n), 0);
}

static void emu_setup(emu_fx *fx)
{
	static const uint64_t gdt[] = {
		0, 0x00af9b000000ffffull, 0x00cf93000000ffffull, 0x00cff3000000ffffull,
		0x00affb000000ffffull,
		0x0000890000000067ull | ((N_TSS & 0xffffff) << 16), 0 };

	assert_int_equal(fx_create(fx, 64 << 20, 1), 0);
	assert_int_equal(vmm_mem_write(fx->vm, N_GDT, gdt, sizeof(gdt)), 0);
	w64(fx, N_TSS + 4, N_IST);
	w64(fx, N_TSS + 0x24, N_IST);
	emu_stubs(fx);
}

static void emu_sregs(emu_fx *fx)
{
	vmm_sregs s;

	assert_int_equal(vmm_vcpu_get_sregs(fx->vcpu, &s), 0);
	fx_flat_seg(&s.cs, 0x23, 0xb, 1);
	s.cs.dpl = 3;
	fx_flat_seg(&s.ds, 0x1b, 0x3, 0);
	s.ds.dpl = 3;
	s.es = s.ss = s.fs = s.gs = s.ds;
	s.gdt.base = N_GDT;
	s.gdt.limit = 7 * 8 - 1;
	s.idt.base = N_IDT;
	s.idt.limit = 32 * 16 - 1;
	memset(&s.tr, 0, sizeof(s.tr));
	s.tr.base = N_TSS;
	s.tr.limit = 0x67;
	s.tr.selector = 0x28;
	s.tr.type = 0xb;
	s.tr.present = 1;
	assert_int_equal(vmm_vcpu_set_sregs(fx->vcpu, &s), 0);
}

static void emu_one(emu_fx *fx, const seq *s, result *res)
{
	static const uint8_t zero[0x100];
	vmm_regs r;
	vmm_exit *e;
	uint64_t vec;

	memset(res, 0, offsetof(result, img));
	assert_int_equal(vmm_mem_write(fx->vm, N_CODE, s->code, s->len), 0);
	assert_int_equal(vmm_mem_write(fx->vm, N_DATA, s->img, N_IMG), 0);
	assert_int_equal(vmm_mem_write(fx->vm, N_FAULT, zero, sizeof(zero)), 0);
	emu_sregs(fx);
	memset(&r, 0, sizeof(r));
	r.rip = N_CODE;
	r.rflags = 0x202;
	assert_int_equal(vmm_vcpu_set_regs(fx->vcpu, &r), 0);
	e = fx_run(fx);
	assert_non_null(e);
	if (e->reason != VMM_EXIT_HLT) {
		res->vec = -1;
		res->signo = -1;
		snprintf(res->msg, sizeof(res->msg), "exit %u %s", e->reason,
			 e->reason == VMM_EXIT_INTERNAL_ERROR ? e->internal.message : "");
		return;
	}
	assert_int_equal(vmm_mem_read(fx->vm, N_FAULT, res->gpr, sizeof(res->gpr)), 0);
	assert_int_equal(vmm_mem_read(fx->vm, N_FAULT + 0x80, &vec, 8), 0);
	assert_int_equal(vmm_mem_read(fx->vm, N_FAULT + 0x88, &res->rip, 8), 0);
	assert_int_equal(vmm_mem_read(fx->vm, N_DATA, res->img, N_IMG), 0);
	res->vec = (int)vec;
	switch (vec) {
	case 0: case 16: case 19: res->signo = SIGFPE; break;
	case 6: res->signo = SIGILL; break;
	case 1: case 3: res->signo = SIGTRAP; break;
	case 12: case 17: res->signo = SIGBUS; break;
	case 13: case 14: res->signo = SIGSEGV; break;
	default: res->signo = 1000 + (int)vec; break;
	}
	if (vec == 13 && res->rip == N_CODE + s->end)
		res->signo = 0;
}

#include "tests/unit/emu_native_cmp.h"

static unsigned env_u(const char *name, unsigned def)
{
	const char *v = getenv(name);

	return v && *v ? (unsigned)strtoul(v, NULL, 0) : def;
}

#if defined(__SANITIZE_ADDRESS__)
/* Under ASan the forked native child (shadow memory, intercepted signals)
 * is about 10x slower: make check's ASan pass runs 200,000. */
#define DEFAULT_INSNS 200000u
#else
#define DEFAULT_INSNS 1000000u
#endif

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void test_emu_against_host(void **state)
{
	double t_gen = 0, t_emu = 0, t_wait = 0;
	unsigned target = env_u("EMU_NATIVE_INSNS", DEFAULT_INSNS);
	nat_rng rng = { env_u("EMU_NATIVE_SEED", 1) };
	nat_stats st = { .show = env_u("EMU_NATIVE_SHOW", 5) };
	seq *sq = malloc(sizeof(seq) * BATCH);
	result *nres = mmap(NULL, sizeof(result) * BATCH, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	result *eres = malloc(sizeof(result) * BATCH);
	emu_fx fx;
	cs_insn *ci;
	csh cs;

	assert_non_null(sq);
	assert_non_null(eres);
	assert_true(nres != MAP_FAILED);
	assert_int_equal(cs_open(CS_ARCH_X86, CS_MODE_64, &cs), CS_ERR_OK);
	cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
	st.cs = cs;
	ci = cs_malloc(cs);
	assert_non_null(ci);
	emu_setup(&fx);
	while (st.insns < target) {
		pid_t pid;
		int status;
		double t0 = now();

		for (unsigned i = 0; i < BATCH; i++)
			gen_seq(cs, ci, &rng, &sq[i]);
		t_gen += now() - t0;
		t0 = now();
		fflush(stdout);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			nat_child(sq, nres, BATCH);
		for (unsigned i = 0; i < BATCH; i++)
			emu_one(&fx, &sq[i], &eres[i]);
		t_emu += now() - t0;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		t_wait += now() - t0;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail_msg("native child failed (status 0x%x)", status);
		for (unsigned i = 0; i < BATCH; i++)
			nat_compare(&st, &sq[i], &nres[i], &eres[i]);
	}
	printf("# exceptions: SIGILL %llu, SIGSEGV %llu, SIGFPE %llu, SIGBUS %llu, SIGTRAP %llu\n",
	       (unsigned long long)st.by_signal[SIGILL], (unsigned long long)st.by_signal[SIGSEGV],
	       (unsigned long long)st.by_signal[SIGFPE], (unsigned long long)st.by_signal[SIGBUS],
	       (unsigned long long)st.by_signal[SIGTRAP]);
	printf("# time: generate %.1fs, emu %.1fs, emu+native %.1fs\n", t_gen, t_emu, t_wait);
	printf("# emu vs host CPU: %llu instructions in %llu sequences (%llu ended by an exception), "
	       "%llu divergences (seed %llu)\n", (unsigned long long)st.insns,
	       (unsigned long long)st.seqs, (unsigned long long)st.faults,
	       (unsigned long long)st.diverged, (unsigned long long)env_u("EMU_NATIVE_SEED", 1));
	fx_destroy(&fx);
	cs_free(ci, 1);
	cs_close(&cs);
	munmap(nres, sizeof(result) * BATCH);
	free(eres);
	free(sq);
	assert_int_equal(st.diverged, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_emu_against_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
