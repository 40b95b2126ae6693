/* control.c - control flow: deep recursion, calls through pointers and
 * through memory, a dense switch (jump table), ret imm16, enter/leave,
 * loop/loope/loopne/jrcxz, all 16 jcc conditions, xlat and push/pop of
 * FS/GS, plus self-modifying code: an instruction buffer rewritten and run
 * again, and a store into the very next instruction of the running code.
 * Expected end: debug exit 0; a failed CHECK exits 1. */
#include "common.h"

static uint64_t fib(uint64_t n)
{
	return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

static uint64_t ackermann(uint64_t m, uint64_t n)
{
	if (m == 0)
		return n + 1;
	if (n == 0)
		return ackermann(m - 1, 1);
	return ackermann(m - 1, ackermann(m, n - 1));
}

__attribute__((noinline)) static uint64_t dense_switch(uint64_t x)
{
	switch (x) {
	case 0: return 11;
	case 1: return 23;
	case 2: return 37;
	case 3: return 41;
	case 4: return 59;
	case 5: return 67;
	case 6: return 73;
	case 7: return 89;
	case 8: return 97;
	default: return 0;
	}
}

static uint64_t twice(uint64_t x) { return 2 * x; }
static uint64_t square(uint64_t x) { return x * x; }
static uint64_t (*volatile const table[2])(uint64_t) = { twice, square };

static void test_calls(void)
{
	uint64_t sum = 0, v, arg = 9;

	CHECK_EQ(fib(24), 46368);
	CHECK_EQ(ackermann(2, 300), 603);
	for (uint64_t i = 0; i < 10; i++)
		sum = sum * 7 + dense_switch(i);
	CHECK_EQ(sum, 612957359);
	CHECK_EQ(table[0](21) + table[1](5), 67);
	__asm__ volatile("call *%2" : "=a"(v), "+D"(arg) : "m"(table[1])
			 : "rcx", "rdx", "rsi", "r8", "r9", "r10", "r11", "memory");
	CHECK_EQ(v, 81);
	/* ret $16 drops two pushed arguments */
	__asm__ volatile("push $1\n\tpush $2\n\tcall 1f\n\tjmp 2f\n"
			 "1:\tmov 8(%%rsp), %0\n\tadd 16(%%rsp), %0\n\tret $16\n"
			 "2:" : "=&r"(v) : : "memory");
	CHECK_EQ(v, 3);
	/* enter $32, $0 / leave */
	__asm__ volatile("mov %%rsp, %%rcx\n\tenter $32, $0\n\tmov %%rsp, %0\n\t"
			 "leave\n\tsub %%rsp, %0\n\tneg %0\n\tcmp %%rsp, %%rcx\n\t"
			 "jne 1f\n\tjmp 2f\n1:\tmov $-1, %0\n2:"
			 : "=&r"(v) : : "rcx", "memory");
	CHECK_EQ(v, 40);
	printf("control: calls ok (fib 46368, switch %llu)\n", (unsigned long long)sum);
}

static void test_loops(void)
{
	uint64_t n, c;
	static const uint8_t xlat_table[256] = { [0x41] = 0x99, [0xff] = 0x77 };

	__asm__ volatile("xor %0, %0\n\tmov $10, %%ecx\n1:\tadd %%rcx, %0\n\tloop 1b"
			 : "=&r"(n) : : "rcx");
	CHECK_EQ(n, 55);
	/* loope stops at the first non-zero byte */
	static const uint8_t zeros[9] = { 0xff, 0, 0, 0, 5, 0, 0, 0, 0 };
	const uint8_t *p = zeros;
	__asm__ volatile("mov $8, %%ecx\n1:\tinc %0\n\tcmpb $0, (%0)\n\tloope 1b"
			 : "+r"(p), "=&c"(c) : : "memory");
	CHECK_EQ(p - zeros, 4);
	CHECK_EQ(c, 4);
	__asm__ volatile("mov $3, %%ecx\n1:\tdec %0\n\tloopne 1b" : "=&r"(n), "=&c"(c)
			 : "0"(5ull));
	CHECK_EQ(n, 2);
	CHECK_EQ(c, 0);
	__asm__ volatile("xor %%ecx, %%ecx\n\tmov $1, %0\n\tjrcxz 1f\n\tmov $2, %0\n1:"
			 : "=&r"(n) : : "rcx");
	CHECK_EQ(n, 1);
	n = 0x41;
	__asm__ volatile("xlat" : "+a"(n) : "b"(xlat_table) : "memory");
	CHECK_EQ(n, 0x99);
	printf("control: loops ok\n");
}

#define JCC(cc, bit) "j" #cc " 1f\n\tjmp 2f\n1:\tor $" #bit ", %0\n2:\n\t"

/* Bit i is set if condition i holds after cmp b, a (same order as setcc). */
static uint64_t jcc_mask(uint64_t a, uint64_t b)
{
	uint64_t m = 0;

	/* each jcc reads the flags of the cmp: or is only run when taken,
	 * and the flags it sets are not read again before the next cmp */
#define JCC1(cc, bit) "cmp %2, %1\n\t" JCC(cc, bit)
	__asm__ volatile(JCC1(o, 0x1) JCC1(no, 0x2) JCC1(b, 0x4) JCC1(ae, 0x8)
			 JCC1(e, 0x10) JCC1(ne, 0x20) JCC1(be, 0x40) JCC1(a, 0x80)
			 JCC1(s, 0x100) JCC1(ns, 0x200) JCC1(p, 0x400) JCC1(np, 0x800)
			 JCC1(l, 0x1000) JCC1(ge, 0x2000) JCC1(le, 0x4000) JCC1(g, 0x8000)
			 : "+r"(m) : "r"(a), "r"(b));
	return m;
}

static void test_jcc(void)
{
	CHECK_EQ(jcc_mask(1, 2), 0x4 | 0x20 | 0x40 | 0x100 | 0x400 | 0x1000 | 0x4000 | 0x2);
	CHECK_EQ(jcc_mask(5, 5), 0x2 | 0x8 | 0x10 | 0x40 | 0x200 | 0x400 | 0x2000 | 0x4000);
	CHECK_EQ(jcc_mask(0x8000000000000000ull, 1),
		 0x1 | 0x8 | 0x20 | 0x80 | 0x200 | 0x400 | 0x1000 | 0x4000);
	printf("control: jcc ok\n");
}

static void test_segment_push(void)
{
	uint64_t fs, gs, v;

	__asm__ volatile("mov %%fs, %0\n\tmov %%gs, %1" : "=r"(fs), "=r"(gs));
	__asm__ volatile("push %%fs\n\tpop %0" : "=r"(v) : : "memory");
	CHECK_EQ(v & 0xffff, fs & 0xffff);
	__asm__ volatile("push %%gs\n\tpop %0" : "=r"(v) : : "memory");
	CHECK_EQ(v & 0xffff, gs & 0xffff);
	printf("control: push/pop fs/gs ok\n");
}

#ifdef GUEST_NATIVE
long native_syscall3(long nr, long a, long b, long c);
#endif

/* A page of code written at run time. */
static uint8_t code[4096] __attribute__((aligned(4096)));

static void make_executable(void)
{
#ifdef GUEST_NATIVE
	native_syscall3(10, (long)code, sizeof(code), 7); /* mprotect RWX */
#endif
}

static void test_smc(void)
{
	uint64_t (*fn)(void) = (uint64_t (*)(void))(uintptr_t)code;
	uint64_t v;

	make_executable();
	/* mov $imm32, %eax; ret */
	code[0] = 0xb8;
	*(volatile uint32_t *)(code + 1) = 0x11111111;
	code[5] = 0xc3;
	CHECK_EQ(fn(), 0x11111111);
	*(volatile uint32_t *)(code + 1) = 0x22222222;   /* rewrite, run again */
	CHECK_EQ(fn(), 0x22222222);
	/* the running code stores into its own next instruction:
	 *   movb $0x33, 8(%rip)   (c6 05 disp32=1 imm8)  patches the imm8 of
	 *   mov $0x00, %al        (b0 00) ... ; movzbl %al, %eax; ret */
	static const uint8_t prog[] = {
		0x31, 0xc0,                               /* xor %eax, %eax */
		0xc6, 0x05, 0x01, 0x00, 0x00, 0x00, 0x33, /* movb $0x33, 1(%rip) */
		0xb0, 0x00,                               /* mov $0x00, %al */
		0x0f, 0xb6, 0xc0,                         /* movzbl %al, %eax */
		0xc3,                                     /* ret */
	};
	memcpy(code, prog, sizeof(prog));
	v = fn();
	CHECK_EQ(v, 0x33);
	printf("control: self-modifying code ok\n");
}

int guest_main(uint32_t index, uint32_t count)
{
	(void)index;
	(void)count;
	printf("control: start\n");
	test_calls();
	test_loops();
	test_jcc();
	test_segment_push();
	test_smc();
	guest_pass("control");
}
