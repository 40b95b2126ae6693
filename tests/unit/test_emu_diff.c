/* test_emu_diff.c - differential test of emu against Unicorn 2 (QEMU's
 * x86-64 translator, Haswell model): a table of instructions (every ALU op,
 * shift, rotate, multiply, divide, bit and exchange instruction in 8/16/32/
 * 64-bit forms, register and memory operands) each run with many random and
 * edge-case register values and carry flags on both; all general registers
 * and the flags each instruction defines must match. Unicorn is loaded with
 * dlopen, so the test is skipped (not failed) where libunicorn is missing.
 * Where Unicorn and real CPUs differ, emu follows the CPU and the case avoids
 * the difference: a 32-bit BSF/BSR with a zero source leaves the whole
 * 64-bit destination unchanged on Intel hardware (Unicorn clears bits 63:32),
 * so the 32-bit case uses a nonzero source. Unicorn 2.0 has no POPCNT,
 * LZCNT or TZCNT: test_emu_alu checks those. */
#include <dlfcn.h>
#include <unicorn/unicorn.h>

#include "tests/unit/emu_test.h"

#define A FL_ARITH
#define L (FL_CF | FL_PF | FL_ZF | FL_SF | FL_OF)
#define SC (FL_CF | FL_PF | FL_ZF | FL_SF)
#define R1 (FL_CF | FL_OF)
#define M (FL_CF | FL_OF)
#define N 0
#define C FL_CF
#define Z FL_ZF
#define FPC (1ull << 62)   /* floating point: inputs that are NaNs are skipped */

/* name, compared flags, code (an HLT is appended) */
#define DIFF_CASES(X) \
	X(add64, A, "add %rbx, %rax") X(add32, A, "add %ebx, %eax") \
	X(add16, A, "add %bx, %ax") X(add8, A, "add %bl, %al") \
	X(add8h, A, "add %ah, %bh") X(add8rex, A, "add %sil, %dil") \
	X(adc64, A, "adc %rcx, %rdx") X(adc32, A, "adc %ecx, %edx") \
	X(adc16, A, "adc %cx, %dx") X(adc8, A, "adc %cl, %dl") \
	X(sub64, A, "sub %rsi, %rdi") X(sub32, A, "sub %esi, %edi") \
	X(sub16, A, "sub %si, %di") X(sub8, A, "sub %ch, %dl") \
	X(sbb64, A, "sbb %r8, %r9") X(sbb32, A, "sbb %r8d, %r9d") \
	X(sbb16, A, "sbb %r8w, %r9w") X(sbb8, A, "sbb %r8b, %r9b") \
	X(cmp64, A, "cmp %r10, %r11") X(cmp32, A, "cmp %r10d, %r11d") \
	X(cmp16, A, "cmp %r10w, %r11w") X(cmp8, A, "cmp %r10b, %r11b") \
	X(and64, L, "and %r12, %r13") X(and8, L, "and %r12b, %r13b") \
	X(or32, L, "or %r14d, %r15d") X(or16, L, "or %r14w, %r15w") \
	X(xor64, L, "xor %rbx, %rdx") X(xor8, L, "xor %bh, %dh") \
	X(test64, L, "test %rax, %rcx") X(test16, L, "test %ax, %cx") \
	X(addi8, A, "add $0x7f, %rax") X(subi8, A, "sub $-128, %ecx") \
	X(adci32, A, "adc $0x12345678, %rdx") X(sbbi16, A, "sbb $1, %si") \
	X(andi, L, "and $0x0f0f0f0f, %r8") X(xori, L, "xor $-1, %r9d") \
	X(ori8, L, "or $0x80, %r10b") X(cmpi, A, "cmp $0x7fffffff, %r11") \
	X(cmpi16, A, "cmp $0x8000, %r12w") X(testi, L, "test $0x80000001, %r13d") \
	X(inc64, A, "inc %rax") X(inc32, A, "inc %ebx") X(inc16, A, "inc %cx") \
	X(inc8, A, "inc %dl") X(dec64, A, "dec %rsi") X(dec32, A, "dec %edi") \
	X(dec16, A, "dec %r8w") X(dec8, A, "dec %r9b") \
	X(neg64, A, "neg %rax") X(neg32, A, "neg %ebx") X(neg16, A, "neg %cx") \
	X(neg8, A, "neg %dh") X(not64, N, "not %rsi") X(not8, N, "not %dil") \
	X(shl1, L, "shl $1, %rax") X(shr1, L, "shr $1, %ebx") X(sar1, L, "sar $1, %cx") \
	X(sar1b, L, "sar $1, %dl") X(shl5, SC, "shl $5, %rsi") X(shr7, SC, "shr $7, %di") \
	X(sar13, SC, "sar $13, %r8d") X(sar3b, SC, "sar $3, %r9b") \
	X(shlcl64, SC, "and $63, %cl\n shl %cl, %rax") \
	X(shrcl32, SC, "and $31, %cl\n shr %cl, %ebx") \
	X(sarcl16, SC, "and $15, %cl\n sar %cl, %dx") \
	X(shlcl8, SC, "and $7, %cl\n shl %cl, %sil") \
	X(rol1, R1, "rol $1, %rax") X(ror1, R1, "ror $1, %ebx") \
	X(rol1b, R1, "rol $1, %dl") X(ror1w, R1, "ror $1, %si") \
	X(rolcl, C, "rol %cl, %rdi") X(rorcl, C, "ror %cl, %r8d") \
	X(rolcl8, C, "and $7, %cl\n rol %cl, %r9b") X(rol4, C, "rol $4, %r10w") \
	X(rcl1, R1, "rcl $1, %rax") X(rcr1, R1, "rcr $1, %ebx") \
	X(rcl1b, R1, "rcl $1, %dh") X(rcr1w, R1, "rcr $1, %si") \
	X(rclcl, C, "rcl %cl, %rdi") X(rcrcl, C, "rcr %cl, %r8d") \
	X(rcl3b, C, "rcl $3, %r9b") X(rcr9w, C, "rcr $9, %r10w") \
	X(shld64, SC, "shld $13, %rbx, %rax") X(shld32, SC, "shld $1, %ebx, %eax") \
	X(shrd64, SC, "shrd $7, %rcx, %rdx") X(shrd32, SC, "shrd $31, %ecx, %edx") \
	X(shld16, SC, "shld $9, %si, %di") X(shrdcl, SC, "and $31, %cl\n shrd %cl, %r8d, %r9d") \
	X(shldcl, SC, "and $63, %cl\n shld %cl, %r10, %r11") \
	X(mul64, M, "mul %rbx") X(mul32, M, "mul %ecx") X(mul16, M, "mul %dx") \
	X(mul8, M, "mul %bl") X(imul64, M, "imul %rbx") X(imul32, M, "imul %ecx") \
	X(imul16, M, "imul %si") X(imul8, M, "imul %dh") \
	X(imul2, M, "imul %rsi, %rdi") X(imul2d, M, "imul %r8d, %r9d") \
	X(imul2w, M, "imul %r10w, %r11w") X(imul3, M, "imul $-7, %r12, %r13") \
	X(imul3d, M, "imul $100000, %r14d, %r15d") \
	X(div64, N, "xor %edx, %edx\n or $1, %rbx\n div %rbx") \
	X(div32, N, "shr $1, %edx\n mov %edx, %ecx\n or $0x80000000, %ecx\n div %ecx") \
	X(div8, N, "or $0x80, %bl\n movzbl %ah, %eax\n div %bl") \
	X(idiv64, N, "shr $2, %rax\n cqo\n or $1, %rbx\n idiv %rbx") \
	X(idiv32, N, "sar $2, %eax\n cltd\n or $3, %ecx\n idiv %ecx") \
	X(idiv16, N, "sar $3, %ax\n cwtd\n or $0x4001, %si\n idiv %si") \
	X(movzb, N, "movzbl %bh, %eax") X(movzw, N, "movzwq %cx, %rdx") \
	X(movsb, N, "movsbq %sil, %rdi") X(movsw, N, "movswl %r8w, %r9d") \
	X(movsxd, N, "movslq %r10d, %r11") X(cbw, N, "cbtw") X(cwde, N, "cwtl") \
	X(cdqe, N, "cltq") X(cwd, N, "cwtd") X(cdq, N, "cltd") X(cqo, N, "cqto") \
	X(bswap64, N, "bswap %rax") X(bswap32, N, "bswap %r12d") \
	X(xchg64, N, "xchg %rax, %rbx") X(xchg8, N, "xchg %ah, %cl") \
	X(xadd64, A, "xadd %rcx, %rdx") X(xadd16, A, "xadd %si, %di") \
	X(cmpxchg64, A, "cmpxchg %rbx, %rcx") X(cmpxchg8, A, "cmpxchg %dl, %dh") \
	X(cmpxchgeq, A, "mov %rcx, %rax\n cmpxchg %rbx, %rcx") \
	X(bt64, C, "bt %rbx, %rax") X(bts32, C, "bts %ecx, %edx") \
	X(btr16, C, "btr %si, %di") X(btc64, C, "btc %r8, %r9") \
	X(bti, C, "bt $45, %r10") X(btsi, C, "bts $7, %r11d") \
	X(bsf64, Z, "bsf %rax, %rbx") X(bsr32, Z, "or $0x10, %ecx\n bsr %ecx, %edx") \
	X(bsfz, Z, "xor %esi, %esi\n bsf %rsi, %rdi") \
	X(setcc, N, "cmp %rbx, %rax\n seto %r8b\n setb %r9b\n sete %r10b\n setbe %r11b\n" \
		    "sets %r12b\n setp %r13b\n setl %r14b\n setle %r15b") \
	X(setcc2, N, "sub %ecx, %edx\n setno %r8b\n setae %r9b\n setne %r10b\n seta %r11b\n" \
		     "setns %r12b\n setnp %r13b\n setge %r14b\n setg %r15b") \
	X(cmov, N, "cmp %rbx, %rax\n cmovo %rcx, %r8\n cmovb %rcx, %r9\n cmove %rcx, %r10\n" \
		   "cmovbe %rcx, %r11\n cmovs %rcx, %r12\n cmovl %ecx, %r13d\n" \
		   "cmovle %cx, %r14w\n cmovg %rcx, %r15") \
	X(adcchain, A, "add %rbx, %rax\n adc %rdx, %rcx\n adc $0, %rsi") \
	X(sbbchain, A, "sub %rbx, %rax\n sbb %edx, %ecx\n sbb %r8b, %r9b") \
	X(lea1, N, "lea 0x12(%rax,%rbx,4), %rcx") X(lea2, N, "lea -8(%rsi,%rdi), %edx") \
	X(lea3, N, "lea (,%r8,8), %r9w") X(lea4, N, "lea 0x7fffffff(%r10), %r11") \
	X(lahf, N, "lahf") X(sahf, A, "sahf") X(cmc, A, "cmc") X(stc, A, "stc") \
	X(clc, A, "clc") \
	X(memadd, A, "mov $0x200000, %esi\n mov %rax, (%rsi)\n add %rbx, (%rsi)\n mov (%rsi), %rsi") \
	X(memsub8, A, "mov $0x200000, %esi\n mov %rax, (%rsi)\n subb $3, 1(%rsi)\n mov (%rsi), %rsi") \
	X(memneg, A, "mov $0x200000, %esi\n mov %rax, (%rsi)\n negw 2(%rsi)\n mov (%rsi), %rsi") \
	X(memshl, SC, "mov $0x200000, %esi\n mov %rax, (%rsi)\n shll $3, (%rsi)\n mov (%rsi), %rsi") \
	X(memxadd, A, "mov $0x200000, %esi\n mov %rax, (%rsi)\n lock xadd %rbx, (%rsi)\n mov (%rsi), %rsi") \
	X(memcmpx, A, "mov $0x200000, %esi\n mov %rcx, (%rsi)\n lock cmpxchg %rbx, (%rsi)\n mov (%rsi), %rsi") \
	X(memor, L, "mov $0x200000, %esi\n mov %rax, (%rsi)\n lock orl %ebx, 4(%rsi)\n mov (%rsi), %rsi") \
	X(membts, C, "mov $0x200000, %esi\n mov %rax, (%rsi)\n and $255, %rbx\n bts %rbx, (%rsi)\n mov (%rsi), %rsi") \
	X(membtneg, C, "mov $0x200040, %esi\n mov %rax, -8(%rsi)\n mov $-3, %rbx\n btc %rbx, (%rsi)\n mov -8(%rsi), %rsi") \
	X(memimul, M, "mov $0x200000, %esi\n mov %rax, (%rsi)\n imul (%rsi), %rbx") \
	FP_CASES(X)

/* Floating point: operands come from GPRs, results (and the x87 condition
 * codes where defined) go back to GPRs. */
#define SD2(op) "movq %rax, %xmm0\n movq %rbx, %xmm1\n " op " %xmm1, %xmm0\n" \
		"movq %xmm0, %rax\n" MXCSR_TO_RCX
#define SS2(op) "movd %eax, %xmm0\n movd %ebx, %xmm1\n " op " %xmm1, %xmm0\n" \
		"movd %xmm0, %eax\n" MXCSR_TO_RCX
#define PD2(op) "movq %rax, %xmm0\n pinsrw $4, %edx, %xmm0\n movq %rbx, %xmm1\n" \
		"punpcklqdq %xmm1, %xmm1\n " op " %xmm1, %xmm0\n movq %xmm0, %rax\n" \
		"punpckhqdq %xmm0, %xmm0\n movq %xmm0, %rdx\n" MXCSR_TO_RCX
#define MXCSR_TO_RCX ""      /* Unicorn keeps no MXCSR flags (it resets it to 0) */
#define X87_2(op) "mov %rax, 0x200000\n mov %rbx, 0x200008\n fninit\n fldl 0x200008\n" \
		  "fldl 0x200000\n " op "\n fstpl 0x200010\n fstpl 0x200018\n" \
		  "fnstsw %ax\n movzwl %ax, %ecx\n and $0x4500, %ecx\n mov 0x200010, %rax\n"\
		  "mov 0x200018, %rbx\n fninit"
#define FP_CASES(X) \
	X(addsd, FPC, SD2("addsd")) X(subsd, FPC, SD2("subsd")) X(mulsd, FPC, SD2("mulsd")) \
	X(divsd, FPC, SD2("divsd")) X(minsd, FPC, SD2("minsd")) X(maxsd, FPC, SD2("maxsd")) \
	X(sqrtsd, FPC, SD2("sqrtsd")) X(addss, FPC, SS2("addss")) X(mulss, FPC, SS2("mulss")) \
	X(divss, FPC, SS2("divss")) X(subss, FPC, SS2("subss")) X(sqrtss, FPC, SS2("sqrtss")) \
	X(addpd, FPC, PD2("addpd")) X(mulpd, FPC, PD2("mulpd")) X(divpd, FPC, PD2("divpd")) \
	X(cmpltsd, FPC, SD2("cmpltsd")) X(cmpunordsd, FPC, SD2("cmpunordsd")) \
	X(cmpnlepd, FPC, PD2("cmpnlepd")) X(andpd, FPC, PD2("andpd")) X(xorps, FPC, PD2("xorps")) \
	X(cvtsd2ss, FPC, SD2("cvtsd2ss")) X(cvtss2sd, FPC, SS2("cvtss2sd")) \
	X(ucomisd, FPC | L, "movq %rax, %xmm0\n movq %rbx, %xmm1\n ucomisd %xmm1, %xmm0") \
	X(comiss, FPC | L, "movd %eax, %xmm0\n movd %ebx, %xmm1\n comiss %xmm1, %xmm0") \
	X(cvtsi2sd, FPC, "cvtsi2sd %rbx, %xmm2\n movq %xmm2, %rax\n" MXCSR_TO_RCX) \
	X(cvtsi2ss, FPC, "cvtsi2ssl %ebx, %xmm2\n movd %xmm2, %eax\n" MXCSR_TO_RCX) \
	X(cvtsd2si, FPC, "movq %rax, %xmm0\n cvtsd2si %xmm0, %rbx\n" MXCSR_TO_RCX) \
	X(cvttsd2si, FPC, "movq %rax, %xmm0\n cvttsd2si %xmm0, %ebx\n" MXCSR_TO_RCX) \
	X(cvtss2si, FPC, "movd %eax, %xmm0\n cvtss2si %xmm0, %rbx\n" MXCSR_TO_RCX) \
	X(paddb, FPC, PD2("paddb")) X(paddsw, FPC, PD2("paddsw")) X(psubusb, FPC, PD2("psubusb")) \
	X(pmullw, FPC, PD2("pmullw")) X(pmulhw, FPC, PD2("pmulhw")) X(pmuludq, FPC, PD2("pmuludq")) \
	X(pmaddwd, FPC, PD2("pmaddwd")) X(pcmpgtd, FPC, PD2("pcmpgtd")) X(pcmpeqb, FPC, PD2("pcmpeqb")) \
	X(packsswb, FPC, PD2("packsswb")) X(packuswb, FPC, PD2("packuswb")) \
	X(packssdw, FPC, PD2("packssdw")) X(punpckhbw, FPC, PD2("punpckhbw")) \
	X(pminub, FPC, PD2("pminub")) X(pmaxsw, FPC, PD2("pmaxsw")) X(pavgb, FPC, PD2("pavgb")) \
	X(psadbw, FPC, PD2("psadbw")) X(psllw, FPC, PD2("psllw")) X(psrad, FPC, PD2("psrad")) \
	X(psrlq, FPC, PD2("psrlq")) X(pshufd, FPC, "movq %rax, %xmm0\n pinsrw $5, %ebx, %xmm0\n" \
		"pshufd $0x1b, %xmm0, %xmm1\n movq %xmm1, %rax\n pshuflw $0x9c, %xmm0, %xmm1\n" \
		"movq %xmm1, %rbx\n pmovmskb %xmm1, %ecx\n psrldq $3, %xmm0\n movq %xmm0, %rdx") \
	X(shufps, FPC, PD2("shufps $0x4e,")) X(unpcklps, FPC, PD2("unpcklps")) \
	X(fadd, FPC, X87_2("fadd %st(1), %st")) X(fmul, FPC, X87_2("fmul %st(1), %st")) \
	X(fdiv, FPC, X87_2("fdiv %st(1), %st")) X(fdivr, FPC, X87_2("fdivr %st(1), %st")) \
	X(fsub, FPC, X87_2("fsub %st(1), %st")) X(fsqrt, FPC, X87_2("fsqrt") "\n xor %ecx, %ecx") \
	X(fcom, FPC, X87_2("fcom %st(1)")) X(fxch, FPC, X87_2("fxch %st(1)")) \
	X(fistp, FPC, "mov %rax, 0x200000\n fninit\n fldl 0x200000\n fistpll 0x200008\n" \
		    "fnstsw %ax\n movzwl %ax, %ecx\n and $0x4500, %ecx\n mov 0x200008, %rax\n fninit") \
	X(fild, FPC, "mov %rax, 0x200000\n fninit\n fildll 0x200000\n fstps 0x200008\n" \
		   "mov 0x200008, %eax\n fninit")

typedef struct diff_case {
	const char *name;
	const uint8_t *code, *end;
	uint64_t flags;
} diff_case;

#define X_GUEST(n, f, t) EMU_GUEST64(d_##n, t "\n hlt");
DIFF_CASES(X_GUEST)
#define X_ENTRY(n, f, t) { #n, d_##n, d_##n##_end, f },
static const diff_case cases[] = { DIFF_CASES(X_ENTRY) };

#define INPUTS 300

/* ---- Unicorn through dlopen ------------------------------------------------------ */

typedef struct unicorn {
	void *lib;
	uc_err (*open)(uc_arch, uc_mode, uc_engine **);
	uc_err (*close)(uc_engine *);
	uc_err (*ctl)(uc_engine *, uc_control_type, ...);
	uc_err (*mem_map)(uc_engine *, uint64_t, size_t, uint32_t);
	uc_err (*mem_write)(uc_engine *, uint64_t, const void *, size_t);
	uc_err (*reg_write)(uc_engine *, int, const void *);
	uc_err (*reg_read)(uc_engine *, int, void *);
	uc_err (*emu_start)(uc_engine *, uint64_t, uint64_t, uint64_t, size_t);
	uc_engine *uc;
} unicorn;

static int unicorn_load(unicorn *u)
{
	u->lib = dlopen("libunicorn.so.2", RTLD_NOW);
	if (!u->lib)
		return -1;
	*(void **)&u->open = dlsym(u->lib, "uc_open");
	*(void **)&u->close = dlsym(u->lib, "uc_close");
	*(void **)&u->ctl = dlsym(u->lib, "uc_ctl");
	*(void **)&u->mem_map = dlsym(u->lib, "uc_mem_map");
	*(void **)&u->mem_write = dlsym(u->lib, "uc_mem_write");
	*(void **)&u->reg_write = dlsym(u->lib, "uc_reg_write");
	*(void **)&u->reg_read = dlsym(u->lib, "uc_reg_read");
	*(void **)&u->emu_start = dlsym(u->lib, "uc_emu_start");
	if (!u->open || !u->close || !u->ctl || !u->mem_map || !u->mem_write ||
	    !u->reg_write || !u->reg_read || !u->emu_start)
		return -1;
	if (u->open(UC_ARCH_X86, UC_MODE_64, &u->uc) ||
	    u->ctl(u->uc, UC_CTL_WRITE(UC_CTL_CPU_MODEL, 1), UC_CPU_X86_HASWELL) ||
	    u->mem_map(u->uc, 0, 4u << 20, UC_PROT_ALL))
		return -1;
	return 0;
}

static const int uc_regs[16] = {
	UC_X86_REG_RAX, UC_X86_REG_RBX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RSI,
	UC_X86_REG_RDI, UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_R8, UC_X86_REG_R9,
	UC_X86_REG_R10, UC_X86_REG_R11, UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14,
	UC_X86_REG_R15
};

/* vmm_regs as an array of 16 GPRs in vmm_regs order, then rip, rflags. */
static uint64_t *gpr(vmm_regs *r, int i)
{
	return &r->rax + i;
}

static void unicorn_run(unicorn *u, const diff_case *c, const vmm_regs *in, vmm_regs *out)
{
	size_t len = (size_t)(c->end - c->code);
	uint64_t rip = FX_CODE + len - 1;
	vmm_regs r = *in;
	uc_err err;

	assert_int_equal(u->mem_write(u->uc, FX_CODE, c->code, len), 0);
	for (int i = 0; i < 16; i++)
		assert_int_equal(u->reg_write(u->uc, uc_regs[i], gpr(&r, i)), 0);
	assert_int_equal(u->reg_write(u->uc, UC_X86_REG_EFLAGS, &r.rflags), 0);
	err = u->emu_start(u->uc, FX_CODE, rip, 0, 0);
	if (err)
		fail_msg("%s: unicorn failed (%d)", c->name, err);
	for (int i = 0; i < 16; i++)
		u->reg_read(u->uc, uc_regs[i], gpr(out, i));
	u->reg_read(u->uc, UC_X86_REG_EFLAGS, &out->rflags);
	u->reg_read(u->uc, UC_X86_REG_RIP, &out->rip);
	assert_int_equal(out->rip, rip);
}

static void emu_run_case(emu_fx *fx, const vmm_regs *in, vmm_regs *out)
{
	vmm_regs r = *in;
	vmm_exit *e = NULL;

	r.rip = FX_CODE;
	assert_int_equal(vmm_vcpu_set_regs(fx->vcpu, &r), 0);
	assert_int_equal(vmm_vcpu_run(fx->vcpu, &e), 0);
	if (e->reason != VMM_EXIT_HLT)
		fail_msg("emu ended with exit %u at rip 0x%llx: %s", e->reason,
			 (unsigned long long)e->rip, e->internal.message);
	assert_int_equal(vmm_vcpu_get_regs(fx->vcpu, out), 0);
	out->rip -= 1;     /* emu reports RIP after the HLT */
}

/* ---- Inputs ---------------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static uint64_t interesting(void)
{
	static const uint64_t v[] = {
		0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000,
		0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ull, 0x7fffffffffffffffull,
		0x8000000000000000ull, 0xffffffffffffffffull, 0xfffffffffffffffeull, 0x8001,
	};
	uint64_t r = rnd();

	switch (r % 4) {
	case 0: return v[(r >> 8) % (sizeof(v) / sizeof(v[0]))];
	case 1: return rnd() & 0xff;
	default: return rnd();
	}
}

static void make_inputs(vmm_regs *r)
{
	memset(r, 0, sizeof(*r));
	for (int i = 0; i < 16; i++)
		*gpr(r, i) = interesting();
	r->rsp = 0x3ff000;
	r->rflags = 2 | (rnd() & (FL_ARITH));
}

static int nan_bits(uint64_t v)
{
	uint32_t lo = (uint32_t)v, hi = (uint32_t)(v >> 32);

	return ((v >> 52) & 0x7ff) == 0x7ff || ((lo >> 23) & 0xff) == 0xff ||
	       ((hi >> 23) & 0xff) == 0xff;
}

/* Unicorn (QEMU 5 softfloat) propagates NaNs the x87 way in SSE code and
 * differs from real CPUs there; FP cases skip inputs holding NaN patterns. */
static int skip_input(const diff_case *c, const vmm_regs *in)
{
	return (c->flags & FPC) && (nan_bits(in->rax) || nan_bits(in->rbx) ||
				    nan_bits(in->rdx));
}

static void compare(const diff_case *c, const vmm_regs *in, const vmm_regs *e, vmm_regs *u)
{
	for (int i = 0; i < 16; i++)
		if (*gpr((vmm_regs *)e, i) != *gpr(u, i))
			fail_msg("%s: register %d: emu 0x%llx, unicorn 0x%llx (input rax 0x%llx "
				 "rbx 0x%llx rcx 0x%llx rdx 0x%llx flags 0x%llx)", c->name, i,
				 (unsigned long long)*gpr((vmm_regs *)e, i),
				 (unsigned long long)*gpr(u, i), (unsigned long long)in->rax,
				 (unsigned long long)in->rbx, (unsigned long long)in->rcx,
				 (unsigned long long)in->rdx, (unsigned long long)in->rflags);
	if ((e->rflags ^ u->rflags) & c->flags & FL_ARITH)
		fail_msg("%s: flags emu 0x%llx unicorn 0x%llx (compared 0x%llx; input rax "
			 "0x%llx rbx 0x%llx rcx 0x%llx rdx 0x%llx flags 0x%llx)", c->name,
			 (unsigned long long)e->rflags, (unsigned long long)u->rflags,
			 (unsigned long long)c->flags, (unsigned long long)in->rax,
			 (unsigned long long)in->rbx, (unsigned long long)in->rcx,
			 (unsigned long long)in->rdx, (unsigned long long)in->rflags);
}

static void test_against_unicorn(void **state)
{
	unicorn u;
	emu_fx fx;
	unsigned runs = 0;

	memset(&u, 0, sizeof(u));
	if (unicorn_load(&u)) {
		print_message("libunicorn.so.2 not usable here: %s\n", dlerror());
		skip();
	}
	et_setup(&fx, (const uint8_t *)"\xf4", 1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const diff_case *c = &cases[i];

		assert_int_equal(fx_code(&fx, c->code, (size_t)(c->end - c->code)), 0);
		for (int k = 0; k < INPUTS; k++) {
			vmm_regs in, e, un;

			make_inputs(&in);
			if (skip_input(c, &in))
				continue;
			emu_run_case(&fx, &in, &e);
			unicorn_run(&u, c, &in, &un);
			compare(c, &in, &e, &un);
			runs++;
		}
	}
	print_message("%zu instructions, %u runs agree\n", sizeof(cases) / sizeof(cases[0]), runs);
	fx_destroy(&fx);
	u.close(u.uc);
	dlclose(u.lib);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_against_unicorn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
