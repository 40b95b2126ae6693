/* arith.c - integer arithmetic: add/sub with carries into and out of
 * partial registers, mul/imul/div/idiv in every width, 128-bit products,
 * shifts, rotates, double shifts, bit operations and bit scans, sign
 * extension, and a mixed-operation hash. Baseline x86-64 only: instructions
 * behind CPUID bits (popcnt, BMI, ...) are in cpufeat.c. Every expected value was computed
 * independently (Python, and checked on a real CPU with make guests-native).
 * Expected end: debug exit 0 (GUEST_PASS); a failed CHECK exits 1. */
#include "common.h"

/* Hides a value from the optimiser so the operation runs in the guest. */
static inline uint64_t opq(uint64_t x)
{
	__asm__ volatile("" : "+r"(x));
	return x;
}

static void test_add_sub(void)
{
	uint64_t r;

	CHECK_EQ(opq(~0ull) + opq(1), 0);
	CHECK_EQ(opq(0x8000000000000000ull) - opq(1), 0x7fffffffffffffffull);
	CHECK_EQ(opq(0x123456789abcdef0ull) + opq(0x0fedcba987654321ull),
		 0x2222222222222211ull);
	/* 32-bit ops zero the upper half; 16/8-bit ops keep it */
	r = 0xffffffffffffffffull;
	__asm__("addl $1, %k0" : "+r"(r));
	CHECK_EQ(r, 0);
	r = 0x1122334455667788ull;
	__asm__("addw $0x9000, %w0" : "+r"(r));
	CHECK_EQ(r, 0x1122334455660788ull);
	r = 0x11223344556677ffull;
	__asm__("addb $2, %b0" : "+r"(r));
	CHECK_EQ(r, 0x1122334455667701ull);
	/* high-byte registers: AH += BH, CH -= DL */
	uint64_t a = 0xaaaaaaaaaaaa7f01ull, b = 0xbbbbbbbbbbbb0203ull;
	uint64_t c = 0xcccccccccccc1005ull, d = 0xdddddddddddd0111ull;
	__asm__("addb %%bh, %%ah\n\tsubb %%dl, %%ch"
		: "+a"(a), "+b"(b), "+c"(c), "+d"(d));
	CHECK_EQ(a, 0xaaaaaaaaaaaa8101ull);
	CHECK_EQ(c, 0xccccccccccccff05ull);
	CHECK_EQ(b, 0xbbbbbbbbbbbb0203ull);
	/* neg, not, inc, dec */
	CHECK_EQ(-opq(5), 0xfffffffffffffffbull);
	CHECK_EQ(~opq(0x00ff00ff00ff00ffull), 0xff00ff00ff00ff00ull);
	r = 0xffffffffull;
	__asm__("incq %0" : "+r"(r));
	CHECK_EQ(r, 0x100000000ull);
	__asm__("decl %k0" : "+r"(r));
	CHECK_EQ(r, 0xffffffffull);
	printf("arith: add/sub ok\n");
}

static void test_mul(void)
{
	uint64_t lo, hi;
	unsigned __int128 p;

	__asm__("mulq %3" : "=a"(lo), "=d"(hi) : "0"(~0ull), "r"(~0ull));
	CHECK_EQ(hi, 0xfffffffffffffffeull);
	CHECK_EQ(lo, 1);
	__asm__("imulq %3" : "=a"(lo), "=d"(hi)
		: "0"(0x7fffffffffffffffull), "r"(-2ull));
	CHECK_EQ(hi, ~0ull);
	CHECK_EQ(lo, 2);
	__asm__("imulq %3" : "=a"(lo), "=d"(hi)
		: "0"(0xdeadbeefcafebabeull), "r"(0x8badf00d12345678ull));
	CHECK_EQ(hi, 0x0f23f3e79fbaaabdull);
	CHECK_EQ(lo, 0xdef8cf1e04bb5d10ull);
	p = (unsigned __int128)opq(0x0123456789abcdefull) * opq(0xfedcba9876543210ull);
	CHECK_EQ((uint64_t)(p >> 64), 0x0121fa00ad77d742ull);
	CHECK_EQ((uint64_t)p, 0x2236d88fe5618cf0ull);
	/* 32-bit mul: EDX:EAX, upper halves of RAX/RDX cleared */
	__asm__("mull %k3" : "=a"(lo), "=d"(hi)
		: "0"(0xffffffff80000000ull), "r"(0x10ull));
	CHECK_EQ(lo, 0);
	CHECK_EQ(hi, 8);
	/* 8-bit mul writes AX only */
	lo = 0x55555555555555ffull;
	__asm__("mulb %1" : "+a"(lo) : "q"((uint8_t)0xff));
	CHECK_EQ(lo, 0x555555555555fe01ull);
	/* 3-operand imul, 16-bit, truncating */
	uint64_t w = 0x9999999999990000ull;
	__asm__("imulw $-3, %w1, %w0" : "+r"(w) : "r"(0x1234ull));
	CHECK_EQ(w, 0x999999999999c964ull);
	CHECK_EQ(opq(0x100000001ull) * opq(0xffffffffull), 0xffffffffffffffffull);
	printf("arith: mul ok (0x%016llx%016llx)\n", (unsigned long long)(p >> 64),
	       (unsigned long long)p);
}

static void test_div(void)
{
	uint64_t q, r;

	__asm__("divq %4" : "=a"(q), "=d"(r)
		: "0"(0xfedcba9876543210ull), "1"(0x0123456789abcdefull),
		  "r"(0xfedcba9876543211ull));
	CHECK_EQ(q, 0x0124924924924924ull);
	CHECK_EQ(r, 0x7d11b781de844eacull);
	__asm__("divq %4" : "=a"(q), "=d"(r) : "0"(0ull), "1"(1ull), "r"(3ull));
	CHECK_EQ(q, 0x5555555555555555ull);
	CHECK_EQ(r, 1);
	__asm__("cqo; idivq %3" : "=a"(q), "=&d"(r) : "0"(-7ull), "r"(2ull));
	CHECK_EQ(q, -3ull);
	CHECK_EQ(r, -1ull);
	__asm__("cqo; idivq %3" : "=a"(q), "=&d"(r)
		: "0"(0x8000000000000000ull), "r"(3ull));
	CHECK_EQ(q, 0xd555555555555556ull);
	CHECK_EQ(r, 0xfffffffffffffffeull);
	__asm__("divl %k4" : "=a"(q), "=d"(r) : "0"(0ull), "1"(1ull), "r"(0x10ull));
	CHECK_EQ(q, 0x10000000);
	CHECK_EQ(r, 0);
	q = 0xaaaaaaaaaaaa5678ull;
	r = 0xbbbbbbbbbbbb1234ull;
	__asm__("divw %w2" : "+a"(q), "+d"(r) : "r"(0x9abcull));
	CHECK_EQ(q, 0xaaaaaaaaaaaa1e1eull);
	CHECK_EQ(r, 0xbbbbbbbbbbbb2c70ull);
	q = 0xcccccccccccc1234ull;
	__asm__("divb %b1" : "+a"(q) : "q"(0x56ull));
	CHECK_EQ(q, 0xcccccccccccc1036ull);
	q = (uint16_t)-100;
	__asm__("idivb %b1" : "+a"(q) : "q"(7ull));
	CHECK_EQ(q, 0xfef2);
	printf("arith: div ok\n");
}

static void test_shift(void)
{
	uint64_t v;

	CHECK_EQ(opq(1) << opq(63), 0x8000000000000000ull);
	CHECK_EQ((int64_t)opq(0x8000000000000000ull) >> opq(62), -2ull);
	CHECK_EQ(opq(0x8000000000000000ull) >> opq(62), 2);
	/* counts are masked to 6 bits (64-bit) and 5 bits (others) */
	v = 0x1234;
	__asm__("shlq %%cl, %0" : "+r"(v) : "c"(64));
	CHECK_EQ(v, 0x1234);
	v = 0xffffffff00000001ull;
	__asm__("shll %%cl, %k0" : "+r"(v) : "c"(33));
	CHECK_EQ(v, 2);
	v = 0x77770081ull;
	__asm__("shrb %%cl, %b0" : "+r"(v) : "c"(9));
	CHECK_EQ(v, 0x77770000ull);
	v = 0x8000000000000001ull;
	__asm__("rolq $1, %0" : "+r"(v));
	CHECK_EQ(v, 3);
	__asm__("rorq $4, %0" : "+r"(v));
	CHECK_EQ(v, 0x3000000000000000ull);
	v = 0x81;
	__asm__("stc; rclb $1, %b0" : "+r"(v));
	CHECK_EQ(v, 0x03);
	__asm__("clc; rcrb $2, %b0" : "+r"(v));
	CHECK_EQ(v, 0x80);
	v = 0x0123456789abcdefull;
	__asm__("shldq $12, %1, %0" : "+r"(v) : "r"(0xfedcba9876543210ull));
	CHECK_EQ(v, 0x3456789abcdeffedull);
	__asm__("shrdq %%cl, %1, %0" : "+r"(v) : "r"(0x1111ull), "c"(8));
	CHECK_EQ(v, 0x113456789abcdeffull);
	printf("arith: shifts ok\n");
}

static uint32_t soft_popcount(uint64_t x)
{
	uint32_t n = 0;

	for (; x; x &= x - 1)
		n++;
	return n;
}

static void test_bits(void)
{
	uint64_t v, idx;
	uint8_t cf;

	CHECK_EQ(__builtin_ctzll(opq(0x8000000000000000ull)), 63);
	CHECK_EQ(__builtin_ctzll(opq(0x50)), 4);
	CHECK_EQ(__builtin_clzll(opq(1)), 63);
	CHECK_EQ(__builtin_clzll(opq(0x00f0000000000000ull)), 8);
	__asm__("bsrq %1, %0" : "=r"(idx) : "r"(0x0000100000000000ull));
	CHECK_EQ(idx, 44);
	__asm__("bsfl %k1, %k0" : "=r"(idx) : "r"(0x80000000ull));
	CHECK_EQ(idx, 31);
	CHECK_EQ(soft_popcount(opq(0xf0f0f0f0f0f0f0f1ull)), 33);
	v = 0x0123456789abcdefull;
	__asm__("bswapq %0" : "+r"(v));
	CHECK_EQ(v, 0xefcdab8967452301ull);
	__asm__("bswapl %k0" : "+r"(v));
	CHECK_EQ(v, 0x01234567ull);
	v = 0;
	__asm__("btsq $63, %0; btsq %2, %0; setc %1" : "+r"(v), "=q"(cf) : "r"(5ull));
	CHECK_EQ(v, 0x8000000000000020ull);
	CHECK_EQ(cf, 0);
	__asm__("btrq $5, %0; setc %1" : "+r"(v), "=q"(cf));
	CHECK_EQ(v, 0x8000000000000000ull);
	CHECK_EQ(cf, 1);
	__asm__("btcq %2, %0; setc %1" : "+r"(v), "=q"(cf) : "r"(127ull));
	CHECK_EQ(v, 0);
	CHECK_EQ(cf, 1);
	CHECK_EQ(opq(0xf0f0f0f0ull) & opq(0x3c3c3c3cull), 0x30303030ull);
	CHECK_EQ(opq(0xf0f0f0f0ull) | opq(0x3c3c3c3cull), 0xfcfcfcfcull);
	CHECK_EQ(opq(0xf0f0f0f0ull) ^ opq(0x3c3c3c3cull), 0xccccccccull);
	printf("arith: bits ok\n");
}

static void test_extend(void)
{
	uint64_t v;

	v = 0x1111111111111180ull;
	__asm__("cbw" : "+a"(v));
	CHECK_EQ(v, 0x111111111111ff80ull);
	__asm__("cwde" : "+a"(v));
	CHECK_EQ(v, 0xffffff80ull);
	__asm__("cdqe" : "+a"(v));
	CHECK_EQ(v, 0xffffffffffffff80ull);
	__asm__("movsbq %b1, %0" : "=r"(v) : "q"(0x7full));
	CHECK_EQ(v, 0x7f);
	__asm__("movswl %w1, %k0" : "=r"(v) : "r"(0x8000ull));
	CHECK_EQ(v, 0xffff8000ull);
	__asm__("movslq %k1, %0" : "=r"(v) : "r"(0x80000000ull));
	CHECK_EQ(v, 0xffffffff80000000ull);
	__asm__("movzbl %b1, %k0" : "=r"(v) : "q"(0xffffull));
	CHECK_EQ(v, 0xff);
	printf("arith: extend ok\n");
}

/* xorshift64 driving a mix of operations; the final value was computed on
 * a real CPU (make guests-native). */
static uint64_t mixed_hash(uint32_t rounds)
{
	uint64_t x = 0x9e3779b97f4a7c15ull, h = 0;

	for (uint32_t i = 0; i < rounds; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		unsigned __int128 p = (unsigned __int128)x * (h | 1);
		h = (h ^ (uint64_t)(p >> 64)) + (uint64_t)p;
		h = (h << (x & 63)) | (h >> (-x & 63));
		h += (uint64_t)((int64_t)x / (int64_t)((x >> 40) | 1));
		h ^= (uint32_t)x % ((uint32_t)(h >> 32) | 1);
	}
	return h;
}

int guest_main(uint32_t index, uint32_t count)
{
	uint64_t h;

	(void)index;
	(void)count;
	printf("arith: start\n");
	test_add_sub();
	test_mul();
	test_div();
	test_shift();
	test_bits();
	test_extend();
	h = mixed_hash(opq(10000));
	printf("arith: hash 0x%016llx\n", (unsigned long long)h);
	CHECK_EQ(h, 0x9d0d29d472171805ull);
	guest_pass("arith");
}
