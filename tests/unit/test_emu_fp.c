/* test_emu_fp.c - x87 and SSE on emu against the host CPU itself: each
 * snippet runs natively (through a trampoline that loads and saves every
 * general register, RFLAGS and MXCSR) and on emu, with random operands
 * including NaNs, infinities and denormals; all registers, MXCSR exception
 * flags and the x87 status word must match exactly. Scratch memory is at
 * 0x200000 in both. Skipped when that address cannot be mapped here. */
#include <sys/mman.h>

#include "tests/unit/emu_test.h"

#define SCRATCH 0x200000ull
#define RUNS 400

/* ---- Native trampoline ------------------------------------------------------------ */

typedef struct nat_regs {
	uint64_t r[16];        /* encoding order: rax rcx rdx rbx rsp rbp rsi rdi r8..r15 */
	uint64_t rflags;
	uint64_t mxcsr;
} nat_regs;

nat_regs *nat_state;
void *nat_code;
void nat_run(void);

__asm__(".text\n.globl nat_run\nnat_run:\n"
	"push %rbp\n push %rbx\n push %r12\n push %r13\n push %r14\n push %r15\n"
	"sub $8, %rsp\n stmxcsr (%rsp)\n"
	"mov nat_state(%rip), %rsi\n push 128(%rsi)\n popfq\n ldmxcsr 136(%rsi)\n"
	"mov 0(%rsi), %rax\n mov 8(%rsi), %rcx\n mov 16(%rsi), %rdx\n mov 24(%rsi), %rbx\n"
	"mov 40(%rsi), %rbp\n mov 56(%rsi), %rdi\n mov 64(%rsi), %r8\n mov 72(%rsi), %r9\n"
	"mov 80(%rsi), %r10\n mov 88(%rsi), %r11\n mov 96(%rsi), %r12\n mov 104(%rsi), %r13\n"
	"mov 112(%rsi), %r14\n mov 120(%rsi), %r15\n mov 48(%rsi), %rsi\n"
	"call *nat_code(%rip)\n"
	"push %rsi\n mov nat_state(%rip), %rsi\n pop 48(%rsi)\n"
	"mov %rax, 0(%rsi)\n mov %rcx, 8(%rsi)\n mov %rdx, 16(%rsi)\n mov %rbx, 24(%rsi)\n"
	"mov %rbp, 40(%rsi)\n mov %rdi, 56(%rsi)\n mov %r8, 64(%rsi)\n mov %r9, 72(%rsi)\n"
	"mov %r10, 80(%rsi)\n mov %r11, 88(%rsi)\n mov %r12, 96(%rsi)\n mov %r13, 104(%rsi)\n"
	"mov %r14, 112(%rsi)\n mov %r15, 120(%rsi)\n pushfq\n pop 128(%rsi)\n stmxcsr 136(%rsi)\n"
	"fninit\n ldmxcsr (%rsp)\n add $8, %rsp\n"
	"pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbx\n pop %rbp\n ret\n");

/* ---- Cases ---------------------------------------------------------------------------- */

/* Operands in RAX/RBX (RDX for a second lane); MXCSR flags end up in RCX,
 * the x87 status word in RDI. */
#define MX "stmxcsr 0x200100\n mov 0x200100, %ecx\n"
#define SD(op) "movq %rax, %xmm0\n movq %rbx, %xmm1\n " op " %xmm1, %xmm0\n movq %xmm0, %rax\n" MX
#define SS(op) "movd %eax, %xmm0\n movd %ebx, %xmm1\n " op " %xmm1, %xmm0\n movd %xmm0, %eax\n" MX
#define PD(op) "movq %rax, %xmm0\n movq %rdx, %xmm2\n punpcklqdq %xmm2, %xmm0\n" \
	       "movq %rbx, %xmm1\n punpcklqdq %xmm1, %xmm1\n " op " %xmm1, %xmm0\n" \
	       "movq %xmm0, %rax\n punpckhqdq %xmm0, %xmm0\n movq %xmm0, %rdx\n" MX
#define X87(op) "mov %rax, 0x200000\n mov %rbx, 0x200008\n fninit\n fldl 0x200008\n" \
		"fldl 0x200000\n " op "\n fstpl 0x200010\n fstpl 0x200018\n fnstsw %ax\n" \
		"movzwl %ax, %edi\n mov 0x200010, %rax\n mov 0x200018, %rbx\n fninit"

#define FP_CASES(X) \
	X(addsd, SD("addsd")) X(subsd, SD("subsd")) X(mulsd, SD("mulsd")) \
	X(divsd, SD("divsd")) X(minsd, SD("minsd")) X(maxsd, SD("maxsd")) \
	X(sqrtsd, SD("sqrtsd")) X(addss, SS("addss")) X(mulss, SS("mulss")) \
	X(divss, SS("divss")) X(maxss, SS("maxss")) X(sqrtss, SS("sqrtss")) \
	X(addpd, PD("addpd")) X(mulps, PD("mulps")) X(subps, PD("subps")) \
	X(cmpltsd, SD("cmpltsd")) X(cmpunordps, PD("cmpunordps")) X(cmplepd, PD("cmplepd")) \
	X(cvtsd2ss, SD("cvtsd2ss")) X(cvtss2sd, SS("cvtss2sd")) X(cvtpd2ps, PD("cvtpd2ps")) \
	X(cvtps2pd, PD("cvtps2pd")) X(cvtdq2ps, PD("cvtdq2ps")) X(cvtps2dq, PD("cvtps2dq")) \
	X(cvttpd2dq, PD("cvttpd2dq")) X(cvtpd2dq, PD("cvtpd2dq")) X(cvtdq2pd, PD("cvtdq2pd")) \
	X(ucomisd, "movq %rax, %xmm0\n movq %rbx, %xmm1\n ucomisd %xmm1, %xmm0\n" \
		   "pushfq\n pop %rdx\n and $0x8d5, %edx\n" MX) \
	X(comiss, "movd %eax, %xmm0\n movd %ebx, %xmm1\n comiss %xmm1, %xmm0\n" \
		  "pushfq\n pop %rdx\n and $0x8d5, %edx\n" MX) \
	X(cvtsd2si, "movq %rax, %xmm0\n cvtsd2si %xmm0, %rbx\n cvttsd2si %xmm0, %edx\n" MX) \
	X(cvtss2si, "movd %eax, %xmm0\n cvtss2si %xmm0, %ebx\n cvttss2si %xmm0, %rdx\n" MX) \
	X(cvtsi2sd, "cvtsi2sd %rbx, %xmm2\n movq %xmm2, %rax\n cvtsi2ss %rdx, %xmm3\n" \
		    "movd %xmm3, %edx\n" MX) \
	X(roundup, "movl $0x5f80, 0x200104\n ldmxcsr 0x200104\n" SD("divsd")) \
	X(ftz_daz, "movl $0x9fc0, 0x200104\n ldmxcsr 0x200104\n" SD("mulsd")) \
	X(fadd, X87("fadd %st(1), %st")) X(fsub, X87("fsubr %st(1), %st")) \
	X(fmul, X87("fmul %st(1), %st")) X(fdiv, X87("fdiv %st(1), %st")) \
	X(fsqrt, X87("fsqrt")) X(fcom, X87("fcom %st(1)")) X(fucomi, X87("fucomi %st(1), %st\n" \
		 "pushfq\n pop %rsi\n and $0x45, %esi")) \
	X(fprem, X87("fprem")) X(fscale, X87("fscale")) X(frndint, X87("frndint")) \
	X(fpatan, X87("fpatan\n fldz")) X(fxtract, X87("fstp %st(1)\n fxtract")) \
	X(fsin, X87("fsin")) X(f2xm1, X87("f2xm1")) X(fyl2x, X87("fyl2x\n fld1")) \
	X(fxam, X87("fxam")) X(fchs, X87("fchs\n fabs")) X(ftst, X87("ftst")) \
	X(fistp, "mov %rax, 0x200000\n fninit\n fldl 0x200000\n fistl 0x200008\n" \
		 "fistpll 0x200010\n fnstsw %ax\n movzwl %ax, %edi\n mov 0x200008, %eax\n" \
		 "mov 0x200010, %rbx\n fninit") \
	X(fld32, "mov %eax, 0x200000\n fninit\n flds 0x200000\n fld1\n fdivp\n fstps 0x200008\n" \
		 "fnstsw %ax\n movzwl %ax, %edi\n mov 0x200008, %eax\n fninit") \
	X(frc, "mov %rax, 0x200000\n movw $0x0f7f, 0x200008\n fninit\n fldcw 0x200008\n" \
	       "fldl 0x200000\n fistpll 0x200010\n mov 0x200010, %rax\n fninit") \
	X(fconst, "fninit\n fldpi\n fldl2e\n fmulp\n fldln2\n faddp\n fstpl 0x200000\n" \
		  "mov 0x200000, %rax\n fnstsw %ax\n movzwl %ax, %edi\n fninit")

#define X_GUEST(n, t) EMU_GUEST64(f_##n, "ldmxcsr 0x200104\n fninit\n" t "\n hlt");
FP_CASES(X_GUEST)
#define X_ENTRY(n, t) { #n, f_##n, f_##n##_end },
static const struct { const char *name; const uint8_t *code, *end; } cases[] = {
	FP_CASES(X_ENTRY)
};

/* ---- Inputs --------------------------------------------------------------------------- */

static uint64_t rng = 0x853c49e6748fea9bull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint64_t fp_value(void)
{
	static const uint64_t special[] = {
		0, 0x8000000000000000ull, 0x7ff0000000000000ull, 0xfff0000000000000ull,
		0x7ff8000000000000ull, 0x7ff4000000000000ull, 0xfff8000000000001ull,
		0x0000000000000001ull, 0x000fffffffffffffull, 0x3ff0000000000000ull,
		0x4000000000000000ull, 0xc000000000000000ull, 0x7fefffffffffffffull,
		0x7f800000ull, 0xff800001ull, 0x7fc00000ull, 0x00000001ull, 0x3f800000ull,
		0x4f000000ull, 0x43e0000000000000ull, 0xc3e0000000000001ull,
	};
	uint64_t r = rnd();

	switch (r % 5) {
	case 0: return special[(r >> 8) % (sizeof(special) / sizeof(special[0]))];
	case 1: return rnd() >> (rnd() % 64);
	case 2: return (rnd() & 0x800fffffffffffffull) | (((rnd() % 200) + 924) << 52);
	default: return rnd();
	}
}

/* ---- Running ---------------------------------------------------------------------------- */

static const int to_vmm[16] = { 0, 2, 3, 1, 6, 7, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15 };

static void run_emu(emu_fx *fx, const nat_regs *in, nat_regs *out)
{
	vmm_regs r;
	vmm_exit *e = NULL;
	uint64_t *g = &r.rax;

	memset(&r, 0, sizeof(r));
	for (int i = 0; i < 16; i++)
		g[to_vmm[i]] = in->r[i];
	r.rsp = fx->mem_size;
	r.rip = FX_CODE;
	r.rflags = in->rflags;
	assert_int_equal(vmm_vcpu_set_regs(fx->vcpu, &r), 0);
	assert_int_equal(vmm_mem_write(fx->vm, SCRATCH + 0x100, "\x80\x1f\0\0\x80\x1f\0\0", 8), 0);
	assert_int_equal(vmm_vcpu_run(fx->vcpu, &e), 0);
	if (e->reason != VMM_EXIT_HLT)
		fail_msg("emu exit %u: %s", e->reason, e->internal.message);
	assert_int_equal(vmm_vcpu_get_regs(fx->vcpu, &r), 0);
	for (int i = 0; i < 16; i++)
		out->r[i] = g[to_vmm[i]];
	out->rflags = r.rflags;
}

static void run_native(uint8_t *page, const uint8_t *code, size_t len, nat_regs *io)
{
	memcpy(page, code, len);
	page[len - 1] = 0xc3;                         /* the HLT becomes RET */
	memcpy((void *)(uintptr_t)(SCRATCH + 0x100), "\x80\x1f\0\0\x80\x1f\0\0", 8);
	io->mxcsr = 0x1f80;
	nat_state = io;
	nat_code = page;
	nat_run();
}

static void test_fp_against_host(void **state)
{
	void *scratch = mmap((void *)(uintptr_t)SCRATCH, 0x1000, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	uint8_t *page = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE | PROT_EXEC,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	emu_fx fx;
	unsigned runs = 0;

	if (scratch != (void *)(uintptr_t)SCRATCH || page == MAP_FAILED) {
		print_message("cannot map the scratch page at 0x200000 or a code page here\n");
		skip();
	}
	et_setup(&fx, (const uint8_t *)"\xf4", 1);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		size_t len = (size_t)(cases[c].end - cases[c].code);

		assert_int_equal(fx_code(&fx, cases[c].code, len), 0);
		for (int k = 0; k < RUNS; k++, runs++) {
			nat_regs in = { { 0 }, 0, 0 }, nat, emu;

			for (int i = 0; i < 16; i++)
				in.r[i] = fp_value();
			in.r[4] = 0;
			in.rflags = 0x202;
			nat = in;
			run_native(page, cases[c].code, len, &nat);
			run_emu(&fx, &in, &emu);
			for (int i = 0; i < 16; i++)
				if (i != 4 && nat.r[i] != emu.r[i])
					fail_msg("%s: register %d: host 0x%llx, emu 0x%llx (rax 0x%llx "
						 "rbx 0x%llx rdx 0x%llx)", cases[c].name, i,
						 (unsigned long long)nat.r[i],
						 (unsigned long long)emu.r[i],
						 (unsigned long long)in.r[0],
						 (unsigned long long)in.r[3],
						 (unsigned long long)in.r[2]);
		}
	}
	print_message("%zu x87/SSE snippets, %u runs agree with the host CPU\n",
		      sizeof(cases) / sizeof(cases[0]), runs);
	fx_destroy(&fx);
	munmap(page, 0x1000);
	munmap(scratch, 0x1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fp_against_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
