/* fpsig.c - the floating-point exceptions a kernel delivers as SIGFPE
 * (Intel SDM vol. 1, 11.5 "SSE, SSE2 and SSE3 exceptions" and 8.6-8.7
 * "x87 FPU exception handling"; vol. 3, 6.15):
 * - #XM: an SSE operation with an unmasked exception (MXCSR mask bit clear)
 *   raises #XM with CR4.OSXMMEXCPT, #UD without; the destination keeps its
 *   value and MXCSR records the flags, only the pre-computation ones (IE,
 *   DE, ZE) when one of those is unmasked, all of them when only a
 *   post-computation one (OE, UE, PE) is; masked exceptions, and the upper
 *   lanes of a scalar operation, raise nothing;
 * - #MF: an unmasked x87 exception sets FSW.ES and B; with CR0.NE, the next
 *   waiting x87 instruction, WAIT/FWAIT or MMX instruction raises #MF
 *   (saved RIP = that instruction), the non-waiting FNSTSW does not, FNCLEX
 *   ends it; FLDCW unmasking a flag already set makes it pending.
 * The values were checked on the host CPU (SIGFPE with the MXCSR of the
 * signal frame). Expected end: debug exit 0; a failed CHECK exits 1. */
#include "common.h"
#include "idt.h"

#define CR0_NE (1ull << 5)
#define CR4_OSXMMEXCPT (1ull << 10)

static uint32_t one_to_four[4] __attribute__((aligned(16))) = {
	0x3f800000, 0x40000000, 0x40400000, 0x40800000 };          /* 1 2 3 4 */
static uint32_t zero_three[4] __attribute__((aligned(16))) = {
	0, 0x40400000, 0x3f800000, 0x3f800000 };                   /* 0 3 1 1 */
static uint32_t one_zeros[4] __attribute__((aligned(16))) = { 0x3f800000, 0, 0, 0 };
static uint32_t tiny[4] __attribute__((aligned(16))) = {
	0x0d800000, 0x3f800000, 0x3f800000, 0x3f800000 };          /* 2^-100 1 1 1 */
static uint32_t huge[4] __attribute__((aligned(16))) = { 0x7149f2ca, 0, 0, 0 }; /* 1e30 */
static uint32_t out[4] __attribute__((aligned(16)));
static volatile uint32_t mxcsr_v;
static volatile uint16_t fsw_v, cw_v;
static volatile uint64_t gpr_v;
extern char xm_div[], xm_post[], ud_div[], xm_cvt[], mf_wait[], mf_fld[], mf_mmx[],
	mf_fldcw[];

static uint64_t get_cr(int n)
{
	uint64_t v;

	if (n == 0)
		__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	else
		__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static void set_cr(int n, uint64_t v)
{
	if (n == 0)
		__asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory");
	else
		__asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}

static void expect(uint64_t count, uint64_t vector, void *rip)
{
	CHECK_EQ(exc_count, count);
	CHECK_EQ(exc_vector, vector);
	CHECK_EQ(exc_rip, (uint64_t)rip);
}

/* insn at the global label, resuming after it after an exception. */
#define TRIG(label, insn)                                                        \
	__asm__ volatile("lea 1f(%%rip), %%rax\n\tmov %%rax, exc_resume(%%rip)\n"  \
			 ".globl " label "\n" label ":\n\t" insn "\n1:"           \
			 : : : "rax", "rcx", "rdx", "r8", "memory")

/* xmm1 = a, xmm2 = b, MXCSR = mx, insn; then out = xmm1, mx_after = MXCSR
 * (and MXCSR back to 0x1f80). The compiled code uses no XMM register
 * (-mgeneral-regs-only), so xmm1/xmm2 live across the statements. */
#define SSE_CASE(label, insn, a, b, mx)                                          \
	do {                                                                     \
		mxcsr_v = (mx);                                                  \
		__asm__ volatile("movaps %0, %%xmm1\n\tmovaps %1, %%xmm2\n\t"   \
				 "ldmxcsr %2" : : "m"(a), "m"(b), "m"(mxcsr_v));  \
		TRIG(label, insn);                                               \
		__asm__ volatile("movaps %%xmm1, %0\n\tstmxcsr %1" : "=m"(out),   \
				 "=m"(mxcsr_v));                                 \
		mx_after = mxcsr_v;                                              \
		mxcsr_v = 0x1f80;                                                \
		__asm__ volatile("ldmxcsr %0" : : "m"(mxcsr_v));                 \
	} while (0)

static int out_is(const uint32_t *v)
{
	return out[0] == v[0] && out[1] == v[1] && out[2] == v[2] && out[3] == v[3];
}

static void simd_exceptions(void)
{
	uint64_t cr4 = get_cr(4);
	uint32_t mx_after;

	exc_count = 0;
	set_cr(4, cr4 | CR4_OSXMMEXCPT);
	/* ZE unmasked: 1/0 is #XM, xmm1 unchanged; only ZE recorded, not the
	 * PE of 2/3 (a post-computation flag) */
	SSE_CASE("xm_div", "divps %%xmm2, %%xmm1", one_to_four, zero_three, 0x1d80);
	expect(1, 19, xm_div);
	CHECK_EQ(mx_after, 0x1d84);
	CHECK(out_is(one_to_four));
	/* masked: the quotients (1/0 = inf, 2/3 rounded) and ZE PE */
	SSE_CASE("ok_div", "divps %%xmm2, %%xmm1", one_to_four, zero_three, 0x1f80);
	CHECK_EQ(exc_count, 1);
	CHECK_EQ(mx_after, 0x1fa4);
	CHECK(out[0] == 0x7f800000 && out[1] == 0x3f2aaaab && out[2] == 0x40400000 &&
	      out[3] == 0x40800000);
	/* a scalar divide: the zero upper lanes are not divided */
	SSE_CASE("ok_divss", "divss %%xmm2, %%xmm1", one_to_four, one_zeros, 0x1d80);
	CHECK_EQ(exc_count, 1);
	CHECK_EQ(mx_after, 0x1d80);
	CHECK(out_is(one_to_four));
	printf("fpsig: #XM for an unmasked divide by zero (ZE only), none masked or in upper lanes ok\n");
	/* UE unmasked: 2^-200 is #XM with UE and PE both recorded */
	SSE_CASE("xm_post", "mulps %%xmm2, %%xmm1", tiny, tiny, 0x1780);
	expect(2, 19, xm_post);
	CHECK_EQ(mx_after, 0x17b0);
	CHECK(out_is(tiny));
	/* IE unmasked: CVTTSS2SI of 1e30 is #XM, the destination unchanged */
	mxcsr_v = 0x1f00;
	__asm__ volatile("movaps %1, %%xmm1\n\tldmxcsr %2\n\t"
			 "lea 1f(%%rip), %%rax\n\tmov %%rax, exc_resume(%%rip)\n\t"
			 "mov $0x1234, %%r8\n"
			 ".globl xm_cvt\nxm_cvt:\n\tcvttss2si %%xmm1, %%r8\n"
			 "1:\tmov %%r8, %0\n\tstmxcsr %2"
			 : "=m"(gpr_v) : "m"(huge), "m"(mxcsr_v) : "rax", "r8", "memory");
	mx_after = mxcsr_v;
	mxcsr_v = 0x1f80;
	__asm__ volatile("ldmxcsr %0" : : "m"(mxcsr_v));
	expect(3, 19, xm_cvt);
	CHECK_EQ(gpr_v, 0x1234);
	CHECK_EQ(mx_after, 0x1f01);
	printf("fpsig: #XM: post-computation flags, conversions ok\n");
	/* without CR4.OSXMMEXCPT the same exception is #UD */
	set_cr(4, cr4 & ~CR4_OSXMMEXCPT);
	SSE_CASE("ud_div", "divps %%xmm2, %%xmm1", one_to_four, zero_three, 0x1d80);
	expect(4, 6, ud_div);
	CHECK_EQ(mx_after, 0x1d84);
	CHECK(out_is(one_to_four));
	set_cr(4, cr4);
	printf("fpsig: without CR4.OSXMMEXCPT: #UD ok\n");
}

/* fninit, FCW = cw, then 1/0 (FDIV ST(1) with ST0 = 1, ST1 = 0): ZE,
 * unmasked when cw says */
#define X87_DIV0(cw)                                                             \
	do {                                                                     \
		cw_v = (cw);                                                     \
		__asm__ volatile("fninit\n\tfldcw %0\n\tfldz\n\tfld1\n\t"     \
				 "fdiv %%st(1), %%st"                              \
				 : : "m"(cw_v) : "memory");                      \
	} while (0)

static uint16_t fnstsw(void)
{
	uint16_t sw;

	__asm__ volatile("fnstsw %0" : "=m"(sw));
	return sw;
}

static void x87_exceptions(void)
{
	uint64_t cr0 = get_cr(0);
	uint16_t sw;

	exc_count = 0;
	set_cr(0, cr0 | CR0_NE);
	X87_DIV0(0x37b);                   /* ZE unmasked */
	sw = fnstsw();                     /* non-waiting: no #MF */
	CHECK_EQ(exc_count, 0);
	CHECK_EQ(sw & 0x80bf, 0x8084);     /* B, ES, ZE */
	TRIG("mf_wait", "fwait");
	expect(1, 16, mf_wait);
	sw = fnstsw();
	CHECK_EQ(sw & 0x80bf, 0x8084);     /* still pending: the handler clears it */
	TRIG("mf_fld", "fld1");            /* a waiting x87 instruction */
	expect(2, 16, mf_fld);
	TRIG("mf_mmx", "paddb %%mm0, %%mm0");   /* and an MMX one */
	expect(3, 16, mf_mmx);
	__asm__ volatile("fnclex\n\tfwait" : : : "memory");
	CHECK_EQ(exc_count, 3);
	CHECK_EQ(fnstsw() & 0x80bf, 0);
	printf("fpsig: #MF at the next waiting x87, FWAIT or MMX instruction; not FNSTSW; FNCLEX ends it ok\n");
	X87_DIV0(0x37f);                   /* masked: ZE set, nothing pending */
	__asm__ volatile("fwait" : : : "memory");
	CHECK_EQ(exc_count, 3);
	CHECK_EQ(fnstsw() & 0x80bf, 0x04);
	cw_v = 0x37b;                      /* unmasking the ZE already set */
	__asm__ volatile("fldcw %0" : : "m"(cw_v) : "memory");
	CHECK_EQ(exc_count, 3);
	CHECK_EQ(fnstsw() & 0x80bf, 0x8084);
	TRIG("mf_fldcw", "fwait");
	expect(4, 16, mf_fldcw);
	__asm__ volatile("fninit" : : : "memory");
	set_cr(0, cr0);
	printf("fpsig: FLDCW unmasking a set flag makes it pending ok\n");
}

int guest_main(uint32_t index, uint32_t count)
{
	(void)index;
	(void)count;
	idt_install();
	simd_exceptions();
	x87_exceptions();
	guest_pass("fpsig");
}
