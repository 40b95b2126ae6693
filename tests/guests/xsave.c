/* xsave.c - the XSAVE feature set as the manual defines it, run if CPUID
 * offers XSAVE (else a runner note): XGETBV/XSAVE are #UD while CR4.OSXSAVE
 * is clear; CPUID.1:ECX.OSXSAVE follows CR4.OSXSAVE; XCR0 starts as x87
 * only; XSETBV raises #GP for ECX != 0, a clear bit 0, AVX without SSE and
 * any component CPUID.0xD.0 does not offer, and accepts x87|SSE; XSAVE of
 * x87+SSE writes the legacy region as FXSAVE does and sets XSTATE_BV;
 * XRSTOR restores it, puts a component whose XSTATE_BV bit is clear into
 * its initial state, and raises #GP for reserved header bytes or a
 * misaligned area. Expected end: debug exit 0. */
#include "common.h"
#include "idt.h"

#define CR4_OSXSAVE (1ull << 18)

static uint8_t area[4096] __attribute__((aligned(64)));
static uint8_t fxa[512] __attribute__((aligned(16)));

static void write_cr4(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}

static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return lo | ((uint64_t)hi << 32);
}

/* Runs XSETBV(ecx, v); returns the vector it raised, or -1. */
static uint64_t try_xsetbv(uint32_t ecx, uint64_t v)
{
	uint64_t before = exc_count;

	__asm__ volatile("lea 1f(%%rip), %%r8\n\tmov %%r8, exc_resume(%%rip)\n\t"
			 "xsetbv\n1:" : : "c"(ecx), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			 : "r8", "memory");
	return exc_count != before ? exc_vector : (uint64_t)-1;
}

/* Runs XSAVE (op 0) / XRSTOR (1) on p with RFBM = 3; the vector or -1. */
static uint64_t try_x(int op, void *p)
{
	uint64_t before = exc_count;

	if (op)
		__asm__ volatile("lea 1f(%%rip), %%r8\n\tmov %%r8, exc_resume(%%rip)\n\t"
				 "xrstor64 (%0)\n1:" : : "r"(p), "a"(3), "d"(0) : "r8", "memory");
	else
		__asm__ volatile("lea 1f(%%rip), %%r8\n\tmov %%r8, exc_resume(%%rip)\n\t"
				 "xsave64 (%0)\n1:" : : "r"(p), "a"(3), "d"(0) : "r8", "memory");
	return exc_count != before ? exc_vector : (uint64_t)-1;
}

static uint64_t try_xgetbv(void)
{
	uint64_t before = exc_count;

	__asm__ volatile("lea 1f(%%rip), %%r8\n\tmov %%r8, exc_resume(%%rip)\n\t"
			 "xgetbv\n1:" : : "c"(0) : "rax", "rdx", "r8", "memory");
	return exc_count != before ? exc_vector : (uint64_t)-1;
}

static void set_xmm3(uint64_t v)
{
	static uint64_t buf[2] __attribute__((aligned(16)));

	buf[0] = v;
	buf[1] = ~v;
	__asm__ volatile("movdqa %0, %%xmm3" : : "m"(buf));
}

/* XMM3's low half; *hi its high half. */
static uint64_t get_xmm3(uint64_t *hi)
{
	static uint64_t buf[2] __attribute__((aligned(16)));

	__asm__ volatile("movdqa %%xmm3, %0" : "=m"(buf));
	*hi = buf[1];
	return buf[0];
}

static void run(void)
{
	uint32_t r[4];
	uint64_t cr4 = read_cr4(), bv, hi;

	write_cr4(cr4 & ~CR4_OSXSAVE);
	cpuid(1, 0, r);
	CHECK_EQ(r[2] & (1u << 27), 0);
	CHECK_EQ(try_xgetbv(), 6);
	CHECK_EQ(try_x(0, area), 6);
	write_cr4(cr4 | CR4_OSXSAVE);
	cpuid(1, 0, r);
	CHECK_EQ(r[2] & (1u << 27), 1u << 27);
	cpuid(0xd, 0, r);
	CHECK_EQ(r[0] & 3, 3);
	CHECK(r[2] >= 576);
	CHECK_EQ(xgetbv0(), 1);
	CHECK_EQ(try_xsetbv(1, 1), 13);
	CHECK_EQ(try_xsetbv(0, 2), 13);                 /* x87 bit clear */
	CHECK_EQ(try_xsetbv(0, 5), 13);                 /* AVX without SSE */
	CHECK_EQ(try_xsetbv(0, 1ull << 62), 13);        /* never offered */
	CHECK_EQ(xgetbv0(), 1);
	CHECK_EQ(try_xsetbv(0, 3), (uint64_t)-1);
	CHECK_EQ(xgetbv0(), 3);

	set_xmm3(0x1122334455667788ull);
	memset(area, 0, sizeof(area));
	CHECK_EQ(try_x(0, area), (uint64_t)-1);
	__asm__ volatile("fxsave64 %0" : "=m"(fxa));
	CHECK_EQ(memcmp(area + 160, fxa + 160, 256), 0);   /* XMM0-15 */
	CHECK_EQ(memcmp(area + 24, fxa + 24, 4), 0);       /* MXCSR */
	CHECK_EQ(memcmp(area, fxa, 2), 0);                 /* FCW */
	memcpy(&bv, area + 512, 8);
	CHECK_EQ(bv & 2, 2);
	set_xmm3(0);
	CHECK_EQ(try_x(1, area), (uint64_t)-1);
	CHECK_EQ(get_xmm3(&hi), 0x1122334455667788ull);
	CHECK_EQ(hi, ~0x1122334455667788ull);
	bv &= ~2ull;                                        /* SSE: initial state */
	memcpy(area + 512, &bv, 8);
	CHECK_EQ(try_x(1, area), (uint64_t)-1);
	CHECK_EQ(get_xmm3(&hi), 0);
	CHECK_EQ(hi, 0);
	area[512 + 20] = 1;                                 /* reserved header byte */
	CHECK_EQ(try_x(1, area), 13);
	CHECK_EQ(try_x(0, area + 16), 13);                  /* not 64-byte aligned */
	CHECK_EQ(try_xsetbv(0, 1), (uint64_t)-1);
}

int guest_main(uint32_t index, uint32_t count)
{
	uint32_t r[4];

	(void)index;
	(void)count;
	printf("xsave: start\n");
	idt_install();
	cpuid(1, 0, r);
	if (r[2] & (1u << 26))
		run();
	else
		guest_note("xsave not offered");
	guest_pass("xsave");
}
