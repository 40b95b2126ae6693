/* memory.c - memory operands: every addressing form (base, index*scale,
 * disp8/disp32, no base, RIP-relative, absolute, moffs, rsp/rbp/r12/r13
 * bases, r8-r15 indexes), 8/16/32/64-bit loads and stores, movzx/movsx,
 * accesses that straddle a page, push/pop/xchg with memory, FS/GS bases set
 * through MSRs and used with segment overrides, swapgs, and the loader's
 * contract (zeroed .bss, initialised .data, the stack near the top of RAM).
 * Expected end: debug exit 0; a failed CHECK exits 1. */
#include "common.h"

#define MSR_FS_BASE 0xc0000100u
#define MSR_GS_BASE 0xc0000101u
#define MSR_KERNEL_GS_BASE 0xc0000102u

static uint64_t table[64] __attribute__((aligned(64), used));
static uint8_t two_pages[8192] __attribute__((aligned(4096)));
static uint8_t zeroes[100000];
static volatile uint64_t data_word = 0x0123456789abcdefull;
static uint64_t rip_target __attribute__((used)) = 0x5555aaaa5555aaaaull;

static void fill_table(void)
{
	for (int i = 0; i < 64; i++)
		table[i] = 0x1000000000000000ull * (uint64_t)(i & 15) + (uint64_t)i;
}

static void test_modes(void)
{
	uint64_t v, base = (uint64_t)table, idx = 3;

	fill_table();
	__asm__ volatile("mov (%1), %0" : "=r"(v) : "r"(base) : "memory");
	CHECK_EQ(v, table[0]);
	__asm__ volatile("mov 8(%1), %0" : "=r"(v) : "r"(base) : "memory");
	CHECK_EQ(v, table[1]);
	__asm__ volatile("mov 0x100(%1), %0" : "=r"(v) : "r"(base) : "memory");
	CHECK_EQ(v, table[32]);
	__asm__ volatile("mov -8(%1), %0" : "=r"(v) : "r"(base + 16) : "memory");
	CHECK_EQ(v, table[1]);
	__asm__ volatile("mov (%1,%2,1), %0" : "=r"(v) : "r"(base), "r"(idx * 8) : "memory");
	CHECK_EQ(v, table[3]);
	__asm__ volatile("mov 4(%1,%2,2), %0" : "=r"(v) : "r"(base), "r"(idx * 4 - 2) : "memory");
	CHECK_EQ(v, table[3]);
	__asm__ volatile("mov 0x10(%1,%2,4), %0" : "=r"(v) : "r"(base), "r"(idx * 2) : "memory");
	CHECK_EQ(v, table[5]);
	__asm__ volatile("mov 0x180(%1,%2,8), %0" : "=r"(v) : "r"(base), "r"(idx) : "memory");
	CHECK_EQ(v, table[51]);
	__asm__ volatile("mov -0x20(%1,%2,8), %0" : "=r"(v) : "r"(base), "r"(idx + 10) : "memory");
	CHECK_EQ(v, table[9]);
	/* no base: index*8 + disp32 */
	__asm__ volatile("mov table(,%1,8), %0" : "=r"(v) : "r"(idx + 7) : "memory");
	CHECK_EQ(v, table[10]);
	/* absolute disp32 (SIB without base or index) and RIP-relative */
	__asm__ volatile("mov table+0x58, %0" : "=r"(v): : "memory");
	CHECK_EQ(v, table[11]);
	__asm__ volatile("mov rip_target(%%rip), %0" : "=r"(v): : "memory");
	CHECK_EQ(v, 0x5555aaaa5555aaaaull);
	__asm__ volatile("movabs table+0x60, %%rax" : "=a"(v): : "memory");
	CHECK_EQ(v, table[12]);
	printf("memory: addressing modes ok\n");
}

static void test_special_regs(void)
{
	uint64_t v, base = (uint64_t)table;

	/* rbp and r13 as base need a disp8 of 0; rsp and r12 need a SIB */
	__asm__ volatile("mov %1, %%rbp\n\tmov (%%rbp), %0"
		: "=r"(v) : "r"(base + 8 * 13) : "rbp", "memory");
	CHECK_EQ(v, table[13]);
	__asm__ volatile("mov %1, %%r13\n\tmov (%%r13), %0" : "=r"(v) : "r"(base + 8 * 14) : "r13", "memory");
	CHECK_EQ(v, table[14]);
	__asm__ volatile("mov %1, %%r12\n\tmov 8(%%r12), %0" : "=r"(v) : "r"(base + 8 * 14) : "r12", "memory");
	CHECK_EQ(v, table[15]);
	__asm__ volatile("push %1\n\tmov (%%rsp), %0\n\tadd $8, %%rsp" : "=r"(v) : "r"(0xfeedull) : "memory");
	CHECK_EQ(v, 0xfeed);
	__asm__ volatile("mov %1, %%r9\n\tmov $5, %%r14\n\tmov 8(%%r9,%%r14,8), %0"
		: "=r"(v) : "r"(base) : "r9", "r14", "memory");
	CHECK_EQ(v, table[6]);
	__asm__ volatile("mov $7, %%r8d\n\tmov (%1,%%r8,8), %0" : "=r"(v) : "r"(base) : "r8", "memory");
	CHECK_EQ(v, table[7]);
	/* lea: address arithmetic without memory access, 32-bit wraps */
	__asm__ volatile("lea 0x7fffffff(%1,%2,8), %0" : "=r"(v) : "r"(1ull), "r"(2ull) : "memory");
	CHECK_EQ(v, 0x80000010ull);
	__asm__ volatile("lea -1(%k1), %k0" : "=r"(v) : "r"(0ull) : "memory");
	CHECK_EQ(v, 0xffffffffull);
	printf("memory: special bases ok\n");
}

static void test_widths(void)
{
	uint64_t *p = &table[20], v;

	*p = 0x1111111111111111ull;
	__asm__ volatile("movb $0xab, 3(%0)" : : "r"(p) : "memory");
	CHECK_EQ(*p, 0x11111111ab111111ull);
	__asm__ volatile("movw $0xcdef, 6(%0)" : : "r"(p) : "memory");
	CHECK_EQ(*p, 0xcdef1111ab111111ull);
	__asm__ volatile("movl $0x89abcdef, (%0)" : : "r"(p) : "memory");
	CHECK_EQ(*p, 0xcdef111189abcdefull);
	__asm__ volatile("movq $-2, (%0)" : : "r"(p) : "memory");
	CHECK_EQ(*p, 0xfffffffffffffffeull);
	*p = 0x8182838485868788ull;
	v = ~0ull;
	__asm__ volatile("movb (%1), %b0" : "+r"(v) : "r"(p) : "memory");
	CHECK_EQ(v, 0xffffffffffffff88ull);
	__asm__ volatile("movw 2(%1), %w0" : "+r"(v) : "r"(p) : "memory");
	CHECK_EQ(v, 0xffffffffffff8586ull);
	__asm__ volatile("movl 4(%1), %k0" : "+r"(v) : "r"(p) : "memory");
	CHECK_EQ(v, 0x81828384ull);
	__asm__ volatile("movzbq 1(%1), %0" : "=r"(v) : "r"(p) : "memory");
	CHECK_EQ(v, 0x87);
	__asm__ volatile("movzwl 6(%1), %k0" : "=r"(v) : "r"(p) : "memory");
	CHECK_EQ(v, 0x8182);
	__asm__ volatile("movsbw 1(%1), %w0" : "=r"(v) : "r"(p), "0"(0ull) : "memory");
	CHECK_EQ(v, 0xff87);
	__asm__ volatile("movswq 6(%1), %0" : "=r"(v) : "r"(p) : "memory");
	CHECK_EQ(v, 0xffffffffffff8182ull);
	__asm__ volatile("movslq 4(%1), %0" : "=r"(v) : "r"(p) : "memory");
	CHECK_EQ(v, 0xffffffff81828384ull);
	printf("memory: widths ok\n");
}

static void test_straddle(void)
{
	uint8_t *edge = two_pages + 4096;
	uint64_t v;
	uint32_t w;

	for (int i = 0; i < 16; i++)
		edge[i - 8] = (uint8_t)(0x10 + i);
	__asm__ volatile("mov -3(%1), %0" : "=r"(v) : "r"(edge) : "memory");
	CHECK_EQ(v, 0x1c1b1a1918171615ull);
	__asm__ volatile("movl -1(%1), %0" : "=r"(w) : "r"(edge) : "memory");
	CHECK_EQ(w, 0x1a191817);
	__asm__ volatile("movq %1, -5(%0)" : : "r"(edge), "r"(0xa1a2a3a4a5a6a7a8ull) : "memory");
	CHECK_EQ(edge[-5], 0xa8);
	CHECK_EQ(edge[-1], 0xa4);
	CHECK_EQ(edge[0], 0xa3);
	CHECK_EQ(edge[2], 0xa1);
	CHECK_EQ(edge[3], 0x1b);
	CHECK_EQ(edge[-6], 0x12);
	printf("memory: page-straddling accesses ok\n");
}

static void test_stack_ops(void)
{
	uint64_t *p = &table[40], v;

	p[0] = 0x4242424242424242ull;
	p[1] = 0x00ff00ff00ff00ffull;
	__asm__ volatile("pushq (%1)\n\tpop %0" : "=r"(v) : "r"(p) : "memory");
	CHECK_EQ(v, 0x4242424242424242ull);
	__asm__ volatile("push %1\n\tpopq (%0)" : : "r"(p), "r"(0x1234ull) : "memory");
	CHECK_EQ(*p, 0x1234);
	v = 0x9999;
	__asm__ volatile("xchg %0, (%1)" : "+r"(v) : "r"(p) : "memory");
	CHECK_EQ(v, 0x1234);
	CHECK_EQ(*p, 0x9999);
	__asm__ volatile("addq $0x10, (%0)\n\tnotq 8(%0)\n\tincw (%0)" : : "r"(p) : "memory");
	CHECK_EQ(p[0], 0x99aa);
	CHECK_EQ(p[1], 0xff00ff00ff00ff00ull);
	printf("memory: stack and read-modify-write ok\n");
}

static void test_loader_contract(uint32_t index, uint32_t count)
{
	uint64_t sp;
	uint32_t nonzero = 0;

	for (uint32_t i = 0; i < sizeof(zeroes); i++)
		nonzero |= zeroes[i];
	CHECK_EQ(nonzero, 0);
	CHECK_EQ(data_word, 0x0123456789abcdefull);
	CHECK_EQ(index, 0);
	CHECK_EQ(count, 1);
#ifndef GUEST_NATIVE
	/* 64 MiB of RAM: vCPU 0's 64 KiB stack ends at 0x4000000 */
	__asm__ volatile("mov %%rsp, %0" : "=r"(sp): : "memory");
	CHECK(sp < 0x4000000ull && sp >= 0x4000000ull - 0x10000);
#else
	(void)sp;
#endif
	printf("memory: loader contract ok\n");
}

#ifndef GUEST_NATIVE
static void test_segment_bases(void)
{
	uint64_t v, idx = 2;

	fill_table();
	wrmsr(MSR_FS_BASE, (uint64_t)&table[16]);
	wrmsr(MSR_GS_BASE, (uint64_t)&table[32]);
	CHECK_EQ(rdmsr(MSR_FS_BASE), (uint64_t)&table[16]);
	__asm__ volatile("mov %%fs:0, %0" : "=r"(v): : "memory");
	CHECK_EQ(v, table[16]);
	__asm__ volatile("mov %%fs:0x18, %0" : "=r"(v): : "memory");
	CHECK_EQ(v, table[19]);
	__asm__ volatile("mov %%gs:(,%1,8), %0" : "=r"(v) : "r"(idx) : "memory");
	CHECK_EQ(v, table[34]);
	__asm__ volatile("mov %%fs:8(%1,%2,8), %0" : "=r"(v) : "r"(8ull), "r"(idx) : "memory");
	CHECK_EQ(v, table[20]);
	__asm__ volatile("movl $0xdeadbeef, %%gs:4" : : : "memory");
	CHECK_EQ(table[32], 0xdeadbeef00000000ull | (uint32_t)table[32]);
	/* swapgs exchanges GS base with KERNEL_GS_BASE */
	wrmsr(MSR_KERNEL_GS_BASE, (uint64_t)&table[48]);
	__asm__ volatile("swapgs" ::: "memory");
	__asm__ volatile("mov %%gs:8, %0" : "=r"(v): : "memory");
	CHECK_EQ(v, table[49]);
	CHECK_EQ(rdmsr(MSR_KERNEL_GS_BASE), (uint64_t)&table[32]);
	__asm__ volatile("swapgs" ::: "memory");
	CHECK_EQ(rdmsr(MSR_GS_BASE), (uint64_t)&table[32]);
	wrmsr(MSR_FS_BASE, 0);
	wrmsr(MSR_GS_BASE, 0);
	printf("memory: fs/gs bases ok\n");
}
#endif

int guest_main(uint32_t index, uint32_t count)
{
	printf("memory: start\n");
	test_loader_contract(index, count);
	test_modes();
	test_special_regs();
	test_widths();
	test_straddle();
	test_stack_ops();
#ifndef GUEST_NATIVE
	test_segment_bases();
#endif
	guest_pass("memory");
}
