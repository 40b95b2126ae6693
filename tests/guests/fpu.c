/* fpu.c - the x87 and SSE state the loader enables (CR0.MP/NE, CR4.OSFXSR
 * and OSXMMEXCPT): default FCW and MXCSR, x87 arithmetic with fnstsw,
 * SSE2 integer ops (paddd psubq pxor pcmpeqb pmovmskb pshufd punpcklbw
 * psllq), scalar and packed float ops, conversions under two rounding
 * modes, comisd/ucomisd flags (NaN: unordered) and fxsave/fxrstor.
 * The guests are built with -mgeneral-regs-only, so no compiled code uses
 * x87 or XMM registers and the asm below may use them freely (GCC refuses
 * XMM clobbers in that mode). Expected end: debug exit 0. */
#include "common.h"

#define ZF 0x40ull
#define PF 0x04ull
#define CF 0x01ull

static uint8_t buf[64] __attribute__((aligned(16)));
static uint8_t fxarea[512] __attribute__((aligned(16)));

static void put64(int i, uint64_t v)
{
	memcpy(buf + 8 * i, &v, 8);
}

static uint64_t get64(int i)
{
	uint64_t v;

	memcpy(&v, buf + 8 * i, 8);
	return v;
}

static void test_defaults(void)
{
	uint32_t mxcsr = 0;
	uint16_t fcw = 0;

	__asm__ volatile("fninit\n\tfnstcw %0\n\tstmxcsr %1" : "=m"(fcw), "=m"(mxcsr));
	CHECK_EQ(fcw, 0x037f);
	CHECK_EQ(mxcsr & 0xffc0, 0x1f80);
	printf("fpu: FCW 0x%04x, MXCSR 0x%04x\n", fcw, mxcsr & 0xffc0);
}

static void test_x87(void)
{
	int64_t r;
	uint16_t sw;

	/* (1 + pi) * 1000, rounded to nearest: 4141.59... -> 4142 */
	__asm__ volatile("fninit\n\tfld1\n\tfldpi\n\tfaddp\n\tpushq $1000\n\t"
			 "fimull (%%rsp)\n\taddq $8, %%rsp\n\tfistpll %0"
			 : "=m"(r) : : "memory");
	CHECK_EQ(r, 4142);
	/* sqrt(2) * 2^20, truncated by setting RC = toward zero */
	uint16_t cw = 0x0f7f;
	__asm__ volatile("fldcw %1\n\tpushq $2\n\tfildll (%%rsp)\n\tfsqrt\n\t"
			 "movq $0x100000, (%%rsp)\n\tfimull (%%rsp)\n\taddq $8, %%rsp\n\t"
			 "fistpll %0\n\tfninit" : "=m"(r) : "m"(cw) : "memory");
	CHECK_EQ(r, 1482910);
	/* compare 1 with 2: C0 set (ST0 < source) */
	__asm__ volatile("fninit\n\tpushq $2\n\tfildll (%%rsp)\n\tfld1\n\t"
			 "fcomp %%st(1)\n\tfnstsw %%ax\n\taddq $8, %%rsp\n\tfninit"
			 : "=a"(sw) : : "memory");
	CHECK_EQ(sw & 0x4500, 0x0100);
	printf("fpu: x87 ok\n");
}

static void test_sse_int(void)
{
	put64(0, 0x0000000100000002ull);
	put64(1, 0xffffffff7fffffffull);
	put64(2, 0x0000000300000004ull);
	put64(3, 0x0000000000000001ull);
	__asm__ volatile("movdqa (%0), %%xmm0\n\tmovdqa 16(%0), %%xmm1\n\t"
			 "paddd %%xmm1, %%xmm0\n\tmovdqa %%xmm0, 32(%0)" : : "r"(buf) : "memory");
	CHECK_EQ(get64(4), 0x0000000400000006ull);
	CHECK_EQ(get64(5), 0xffffffff80000000ull);
	__asm__ volatile("movdqa 16(%0), %%xmm0\n\tpsubq (%0), %%xmm0\n\t"
			 "psllq $4, %%xmm0\n\tmovdqa %%xmm0, 32(%0)" : : "r"(buf) : "memory");
	CHECK_EQ(get64(4), 0x0000002000000020ull);
	CHECK_EQ(get64(5), 0x0000000800000020ull);
	__asm__ volatile("movdqa (%0), %%xmm0\n\tpshufd $0x1b, %%xmm0, %%xmm1\n\t"
			 "movdqa %%xmm1, 32(%0)" : : "r"(buf) : "memory");
	CHECK_EQ(get64(4), 0x7fffffffffffffffull);
	CHECK_EQ(get64(5), 0x0000000200000001ull);
	__asm__ volatile("movdqa (%0), %%xmm0\n\tpcmpeqb 16(%0), %%xmm0\n\t"
			 "pmovmskb %%xmm0, %%eax\n\tmov %%eax, 32(%0)\n\t"
			 "pxor %%xmm2, %%xmm2\n\tmovq (%0), %%xmm3\n\t"
			 "punpcklbw %%xmm2, %%xmm3\n\tmovdqa %%xmm3, 48(%0)"
			 : : "r"(buf) : "rax", "memory");
	CHECK_EQ(*(uint32_t *)(buf + 32), 0x00ee);
	CHECK_EQ(get64(6), 0x0000000000000002ull);
	CHECK_EQ(get64(7), 0x0000000000000001ull);
	printf("fpu: SSE2 integer ok\n");
}

static uint64_t dbl(double d)
{
	uint64_t v;

	memcpy(&v, &d, 8);
	return v;
}

static void test_sse_float(void)
{
	int64_t t, n;
	uint64_t f;

	put64(0, dbl(2.5));
	put64(1, dbl(-1.75));
	/* cvtsd2si rounds to nearest even (2.5 -> 2), cvttsd2si truncates */
	__asm__ volatile("cvtsd2si (%2), %0\n\tcvttsd2si 8(%2), %1" : "=r"(n), "=r"(t)
			 : "r"(buf) : "memory");
	CHECK_EQ(n, 2);
	CHECK_EQ(t, -1);
	/* round up (RC=10b): 2.5 -> 3 */
	uint32_t up = 0x1f80 | (2u << 13), normal = 0x1f80;
	__asm__ volatile("ldmxcsr %2\n\tcvtsd2si (%3), %0\n\tldmxcsr %1" : "=&r"(n)
			 : "m"(normal), "m"(up), "r"(buf) : "memory");
	CHECK_EQ(n, 3);
	/* sqrt(2.5 * 2.5 + 1) = sqrt(7.25) bits, and (float)7 / 2 */
	__asm__ volatile("movsd (%0), %%xmm0\n\tmulsd %%xmm0, %%xmm0\n\tmov $1, %%eax\n\t"
			 "cvtsi2sd %%eax, %%xmm1\n\taddsd %%xmm1, %%xmm0\n\t"
			 "sqrtsd %%xmm0, %%xmm0\n\tmovsd %%xmm0, 16(%0)\n\t"
			 "mov $7, %%eax\n\tcvtsi2ss %%eax, %%xmm2\n\tmov $2, %%eax\n\t"
			 "cvtsi2ss %%eax, %%xmm3\n\tdivss %%xmm3, %%xmm2\n\t"
			 "movss %%xmm2, 24(%0)" : : "r"(buf) : "rax", "memory");
	CHECK_EQ(get64(2), 0x40058a68a4a8d9f3ull);
	CHECK_EQ(*(uint32_t *)(buf + 24), 0x40600000);   /* 3.5f */
	/* comisd 2.5 vs -1.75: greater (ZF PF CF clear); ucomisd NaN: all set */
	__asm__ volatile("movsd (%1), %%xmm0\n\tcomisd 8(%1), %%xmm0\n\tpushfq\n\tpop %0"
			 : "=r"(f) : "r"(buf) : "memory");
	CHECK_EQ(f & (ZF | PF | CF), 0);
	put64(1, 0x7ff8000000000000ull);                 /* quiet NaN */
	__asm__ volatile("movsd (%1), %%xmm0\n\tucomisd 8(%1), %%xmm0\n\tpushfq\n\tpop %0"
			 : "=r"(f) : "r"(buf) : "memory");
	CHECK_EQ(f & (ZF | PF | CF), ZF | PF | CF);
	printf("fpu: SSE float ok\n");
}

static void test_fxsave(void)
{
	put64(0, 0x1122334455667788ull);
	put64(1, 0x99aabbccddeeff00ull);
	__asm__ volatile("fninit\n\tmovdqa (%0), %%xmm5\n\tfxsave (%1)\n\t"
			 "pxor %%xmm5, %%xmm5\n\tfxrstor (%1)\n\tmovdqa %%xmm5, 16(%0)"
			 : : "r"(buf), "r"(fxarea) : "memory");
	CHECK_EQ(get64(2), 0x1122334455667788ull);
	CHECK_EQ(get64(3), 0x99aabbccddeeff00ull);
	CHECK_EQ(*(uint16_t *)fxarea, 0x037f);            /* FCW */
	CHECK_EQ(*(uint32_t *)(fxarea + 24) & 0xffc0, 0x1f80); /* MXCSR */
	CHECK_EQ(*(uint64_t *)(fxarea + 160 + 5 * 16), 0x1122334455667788ull);
	printf("fpu: fxsave/fxrstor ok\n");
}

int guest_main(uint32_t index, uint32_t count)
{
	(void)index;
	(void)count;
	printf("fpu: start\n");
	test_defaults();
	test_x87();
	test_sse_int();
	test_sse_float();
	test_fxsave();
	guest_pass("fpu");
}
