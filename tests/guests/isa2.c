/* isa2.c - the x86-64-v2 instruction groups beyond SSE2, each run only if
 * CPUID offers it (else a runner note): MMX (arithmetic, pack/shuffle,
 * PINSRW/PEXTRW/PMOVMSKB, and its aliasing of the x87 registers: an MMX
 * write sets the register's exponent to all ones, TOP to 0 and every tag
 * valid; EMMS empties the tags), SSE3, SSSE3 (MMX and XMM forms), SSE4.1,
 * SSE4.2 (PCMPxSTRx, CRC32, PCMPGTQ), RDRAND/RDSEED and the RCPPS/RSQRTPS
 * error bound. Every result is
 * compared with a constant computed on the host CPU (make guests-native,
 * which runs this file as a Linux program; -DISA2_DUMP prints the values
 * instead, to regenerate the table). Expected end: debug exit 0. */
#include "common.h"

typedef struct { uint64_t lo, hi; } __attribute__((aligned(16))) v128;

static const v128 A = { 0x8001ff7f00807fffull, 0x0123456789abcdefull };
static const uint8_t U[32] __attribute__((aligned(16))) = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20 };
static const v128 B = { 0x7f80017fff018000ull, 0xfedcba9876543210ull };
static const v128 F = { 0x40400000bf800000ull, 0x3e800000c1200000ull };   /* -1 3 -10 .25 */
static const v128 G = { 0x3fc0000040a00000ull, 0x4120000042c80000ull };   /* 5 1.5 100 10 */
static const v128 D1 = { 0x3ff8000000000000ull, 0xc004000000000000ull };  /* 1.5 -2.5 */
static const v128 D2 = { 0x4000000000000000ull, 0x3fd0000000000000ull };  /* 2 .25 */

static unsigned n_checked __attribute__((unused));

#ifdef ISA2_DUMP
#define R(v) printf("\t0x%llxull,\n", (unsigned long long)(v))
#else
static const uint64_t expected[];
#define R(v) CHECK_EQ((v), expected[n_checked++])
#endif
#define RV(x) do { R((x).lo); R((x).hi); } while (0)

/* XMM op: x = a; OP x, b (memory). Vector registers cannot be named as
 * clobbers with -mgeneral-regs-only; compiled code uses none. */
#define XOP(insn, a, b) ({ v128 r_; __asm__("movdqa %1, %%xmm1\n\t" insn " %2, %%xmm1\n\t" \
	"movdqa %%xmm1, %0" : "=m"(r_) : "m"(a), "m"(b)); r_; })
#define XOPI(insn, imm, a, b) ({ v128 r_; __asm__("movdqa %1, %%xmm1\n\t" insn " $" #imm \
	", %2, %%xmm1\n\tmovdqa %%xmm1, %0" : "=m"(r_) : "m"(a), "m"(b)); r_; })
/* MMX op on the low halves (MMX registers cannot be named as clobbers with
 * -mgeneral-regs-only; compiled code uses none). */
#define MOP(insn, a, b) ({ uint64_t r_; __asm__("movq %1, %%mm1\n\t" insn " %2, %%mm1\n\t"  \
	"movq %%mm1, %0" : "=m"(r_) : "m"((a).lo), "m"((b).lo) ); r_; })

struct features { uint32_t ecx1, edx1, ebx7; };

static void test_mmx(void)
{
	uint8_t fx[512] __attribute__((aligned(16)));
	uint64_t r;
	uint32_t m;
	uint16_t sw;

	R(MOP("paddsw", A, B));
	R(MOP("psubusb", A, B));
	R(MOP("pmaddwd", A, B));
	R(MOP("pmulhw", A, B));
	R(MOP("psadbw", A, B));
	R(MOP("packuswb", A, B));
	R(MOP("punpckhbw", A, B));
	R(MOP("pcmpgtw", A, B));
	R(MOP("pavgb", A, B));
	R(MOP("psrlq", A, G));
	__asm__("movq %1, %%mm2\n\tpshufw $0x1b, %%mm2, %%mm3\n\tpsllw $3, %%mm3\n\t"
		"pinsrw $2, %2, %%mm3\n\tpmovmskb %%mm3, %k0\n\tmovq %%mm3, %1"
		: "=r"(m), "+m"(r) : "r"(0x8765u), "m"(A.lo) );
	R(m);
	R(r);
	__asm__("movq %2, %%mm0\n\tpextrw $3, %%mm0, %k0\n\tmovd %%mm0, %k1"
		: "=r"(m), "=r"(r) : "m"(B.lo));
	R(m);
	R(r);
	/* aliasing: fld1 then an MMX write; TOP 0, tags valid, exponent ones */
	__asm__("fninit\n\tfld1\n\tmovq %2, %%mm5\n\tfnstsw %0\n\tfxsave %1"
		: "=m"(sw), "=m"(fx) : "m"(A.hi));
	R(sw & 0x3800);
	R(fx[4]);
	R(*(uint64_t *)(fx + 32 + 16 * 5));
	R(*(uint16_t *)(fx + 40 + 16 * 5));
	__asm__("emms\n\tfxsave %0" : "=m"(fx));
	R(fx[4]);
	__asm__("fninit");
}

/* RCPPS/RSQRTPS: the SDM bounds the relative error by 1.5 * 2^-12: 3072
 * units in the last place above these exact powers-of-two-or-more values,
 * 6144 below (where the binade's units are half as large). */
static void test_rcp(void)
{
	static const v128 x = { 0x4040000040800000ull, 0x3f80000040000000ull }; /* 4 3 2 1 */
	static const uint32_t rcp[4] = { 0x3e800000, 0x3eaaaaab, 0x3f000000, 0x3f800000 };
	static const uint32_t rsq[4] = { 0x3f000000, 0x3f13cd3a, 0x3f3504f3, 0x3f800000 };
	v128 r, q;

	__asm__("rcpps %2, %%xmm1\n\tmovdqa %%xmm1, %0\n\trsqrtps %2, %%xmm1\n\t"
		"movdqa %%xmm1, %1" : "=m"(r), "=m"(q) : "m"(x));
	for (unsigned i = 0; i < 4; i++) {
		int32_t a = (int32_t)((const uint32_t *)&r)[i], b = (int32_t)((const uint32_t *)&q)[i];

		CHECK(a - (int32_t)rcp[i] <= 3072 && (int32_t)rcp[i] - a <= 6144);
		CHECK(b - (int32_t)rsq[i] <= 3072 && (int32_t)rsq[i] - b <= 6144);
	}
}

static void test_sse3(void)
{
	v128 r;

	RV(XOP("addsubps", F, G));
	RV(XOP("haddps", F, G));
	RV(XOP("hsubpd", D1, D2));
	RV(XOP("addsubpd", D1, D2));
	RV(XOP("movshdup", A, G));
	RV(XOP("movsldup", A, G));
	__asm__("movddup %1, %%xmm2\n\tmovdqa %%xmm2, %0" : "=m"(r) : "m"(B.hi));
	RV(r);
	__asm__("lddqu %1, %%xmm2\n\tmovdqa %%xmm2, %0" : "=m"(r)
		: "m"(*(const v128 *)(U + 3)));
	RV(r);
}

static void test_ssse3(void)
{
	RV(XOP("pshufb", A, B));
	R(MOP("pshufb", A, B));
	RV(XOP("phaddw", A, B));
	RV(XOP("phsubsw", A, B));
	R(MOP("phaddd", A, B));
	RV(XOP("pmaddubsw", A, B));
	RV(XOP("pmulhrsw", A, B));
	R(MOP("pmulhrsw", A, B));
	RV(XOP("psignw", A, B));
	RV(XOP("pabsb", A, B));
	RV(XOP("pabsd", A, B));
	RV(XOPI("palignr", 5, A, B));
	RV(XOPI("palignr", 20, A, B));
	{
		uint64_t r;

		__asm__("movq %1, %%mm1\n\tpalignr $3, %2, %%mm1\n\tmovq %%mm1, %0"
			: "=m"(r) : "m"(A.lo), "m"(B.lo));
		R(r);
	}
	__asm__("emms");
}

static void test_sse41(void)
{
	v128 r;
	uint64_t f, e;

	__asm__("movdqa %1, %%xmm0\n\tmovdqa %2, %%xmm1\n\tpblendvb %3, %%xmm1\n\t"
		"movdqa %%xmm1, %0" : "=m"(r) : "m"(B), "m"(A), "m"(G));
	RV(r);
	RV(XOPI("blendps", 5, A, B));
	RV(XOPI("pblendw", 0x96, A, B));
	RV(XOP("pmovsxbd", A, B));
	RV(XOP("pmovzxwq", A, B));
	RV(XOP("pmuldq", A, B));
	RV(XOP("pmulld", A, B));
	RV(XOP("pminsb", A, B));
	RV(XOP("pmaxud", A, B));
	RV(XOP("packusdw", A, B));
	RV(XOP("pcmpeqq", A, A));
	RV(XOP("phminposuw", A, B));
	RV(XOPI("mpsadbw", 5, A, B));
	RV(XOPI("roundps", 1, F, F));
	RV(XOPI("roundpd", 2, D1, D1));
	RV(XOPI("roundps", 0, G, G));
	RV(XOPI("dpps", 0xf1, F, G));
	RV(XOPI("dppd", 0x32, D1, D2));
	RV(XOPI("insertps", 0x9a, F, G));
	__asm__("movdqa %2, %%xmm3\n\tpextrb $13, %%xmm3, %k0\n\tpextrq $1, %%xmm3, %1"
		: "=r"(e), "=r"(f) : "m"(A));
	R(e);
	R(f);
	__asm__("movdqa %3, %%xmm3\n\textractps $2, %%xmm3, %k0\n\tpinsrb $7, %k2, %%xmm3\n\t"
		"pinsrd $2, %k2, %%xmm3\n\tmovdqa %%xmm3, %1"
		: "=r"(e), "=m"(r) : "r"(0x1234abcdu), "m"(F));
	R(e);
	RV(r);
	__asm__("movdqa %2, %%xmm3\n\tptest %3, %%xmm3\n\tpushfq\n\tpopq %0\n\t"
		"ptest %4, %%xmm3\n\tpushfq\n\tpopq %1"
		: "=r"(f), "=r"(e) : "m"(A), "m"(A), "m"(B));
	R(f & 0x8d5);
	R(e & 0x8d5);
}

static void test_sse42(void)
{
	static const char hay[17] __attribute__((aligned(16))) = "find the needle!";
	static const char ndl[17] __attribute__((aligned(16))) = "need";
	static const char rng[17] __attribute__((aligned(16))) = "az";
	uint64_t c, f, crc;
	v128 r;

	__asm__("movdqa %2, %%xmm1\n\tpcmpistri $0x0c, %3, %%xmm1\n\tpushfq\n\tpopq %1"
		: "=c"(c), "=r"(f) : "m"(*(const v128 *)ndl), "m"(*(const v128 *)hay));
	R(c);
	R(f & 0x8d5);
	__asm__("movdqa %3, %%xmm1\n\tpcmpestrm $0x44, %4, %%xmm1\n\tpushfq\n\tpopq %1\n\t"
		"movdqa %%xmm0, %0" : "=m"(r), "=r"(f) : "a"(2), "m"(*(const v128 *)rng),
		"m"(*(const v128 *)hay), "d"(16));
	RV(r);
	R(f & 0x8d5);
	__asm__("movdqa %2, %%xmm1\n\tpcmpistrm $0x00, %3, %%xmm1\n\tmovdqa %%xmm0, %0"
		: "=m"(r), "=r"(f) : "m"(*(const v128 *)ndl), "m"(*(const v128 *)hay));
	RV(r);
	__asm__("movdqa %2, %%xmm1\n\tpcmpestri $0x59, %3, %%xmm1"
		: "=c"(c), "=r"(f) : "m"(A), "m"(B), "a"(-5), "d"(7));
	R(c);
	RV(XOP("pcmpgtq", A, B));
	crc = 0xffffffff;
	__asm__("crc32b %b1, %k0\n\tcrc32w %w1, %k0\n\tcrc32l %k1, %k0\n\tcrc32q %1, %0"
		: "+r"(crc) : "r"(0x0123456789abcdefull));
	R(crc);
}

static void test_rdrand(struct features *ft)
{
	uint64_t a = 0, b = 0, fa, fb;

	if (ft->ecx1 & (1u << 30)) {
		__asm__ volatile("rdrand %0\n\tpushfq\n\tpopq %1\n\trdrand %2\n\tpushfq\n\tpopq %3"
				 : "=r"(a), "=r"(fa), "=r"(b), "=r"(fb));
		CHECK_EQ(fa & 1, 1);
		CHECK_EQ(fb & 1, 1);
		CHECK(a != b);
	} else {
		guest_note("rdrand not offered");
	}
	if (ft->ebx7 & (1u << 18)) {
		__asm__ volatile("rdseed %k0\n\tpushfq\n\tpopq %1" : "=r"(a), "=r"(fa));
		CHECK_EQ(fa & 0x8d4, 0);           /* OF SF ZF AF PF clear; CF may be 0 */
		CHECK(a >> 32 == 0);
	} else {
		guest_note("rdseed not offered");
	}
}

int guest_main(uint32_t index, uint32_t count)
{
	struct features ft;
	uint32_t r[4];

	(void)index;
	(void)count;
	printf("isa2: start\n");
	cpuid(1, 0, r);
	ft.ecx1 = r[2];
	ft.edx1 = r[3];
	cpuid(7, 0, r);
	ft.ebx7 = r[1];
	if (!(ft.edx1 & (1u << 23)) || !(ft.ecx1 & 1) || !(ft.ecx1 & (1u << 9)) ||
	    !(ft.ecx1 & (1u << 19)) || !(ft.ecx1 & (1u << 20))) {
		guest_note("mmx/sse3/ssse3/sse4.1/sse4.2 not all offered");
	} else {
		test_mmx();
		test_rcp();
		test_sse3();
		test_ssse3();
		test_sse41();
		test_sse42();
	}
	test_rdrand(&ft);
	guest_pass("isa2");
}

#ifndef ISA2_DUMP
static const uint64_t expected[] = {
#include "isa2_expected.h"
};
#endif
