/* string.c - string instructions: rep movs/stos in every width, counts of
 * 0, 1 and across pages, the final RSI/RDI/RCX, DF=1 backward copies,
 * overlapping copies (rep movsb is byte by byte: a forward overlap
 * replicates), repe/repne cmps and scas with the stop position and flags,
 * lods, and the 32-bit address-size form (addr32 rep movsb uses ECX).
 * Expected end: debug exit 0; a failed CHECK exits 1. */
#include "common.h"

#define ZF 0x40ull
#define CF 0x01ull

static uint8_t src[3 * 4096] __attribute__((aligned(4096)));
static uint8_t dst[3 * 4096] __attribute__((aligned(4096)));

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 8));
}

static int same(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

static void test_movs(void)
{
	uint8_t *d = dst + 5, *s = src + 3;
	uint64_t n = 4096 + 1000;

	fill(src, sizeof(src), 1);
	memset(dst, 0xee, sizeof(dst));
	__asm__ volatile("cld; rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	CHECK_EQ(n, 0);
	CHECK_EQ(d, dst + 5 + 5096);
	CHECK_EQ(s, src + 3 + 5096);
	CHECK(same(dst + 5, src + 3, 5096));
	CHECK_EQ(dst[4], 0xee);
	CHECK_EQ(dst[5 + 5096], 0xee);
	/* rep movsq, 64-bit elements */
	d = dst + 8;
	s = src + 16;
	n = 700;
	__asm__ volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	CHECK_EQ(d, dst + 8 + 5600);
	CHECK(same(dst + 8, src + 16, 5600));
	/* count 0 moves nothing; movsw/movsd without rep move one element */
	n = 0;
	d = dst;
	s = src;
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	CHECK_EQ(d, dst);
	CHECK_EQ(dst[0], 0xee);
	__asm__ volatile("movsw; movsl" : "+D"(d), "+S"(s) : : "memory");
	CHECK_EQ(d, dst + 6);
	CHECK(same(dst, src, 6));
	printf("string: movs ok\n");
}

static void test_stos(void)
{
	uint8_t *d = dst + 1;
	uint64_t n = 8191;

	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(0x5a) : "memory");
	CHECK_EQ(d, dst + 8192);
	CHECK_EQ(dst[1], 0x5a);
	CHECK_EQ(dst[8191], 0x5a);
	d = dst;
	n = 3;
	__asm__ volatile("rep stosq" : "+D"(d), "+c"(n) : "a"(0x1122334455667788ull) : "memory");
	CHECK_EQ(*(uint64_t *)(dst + 16), 0x1122334455667788ull);
	CHECK_EQ(dst[24], 0x5a);
	n = 2;
	__asm__ volatile("rep stosl" : "+D"(d), "+c"(n) : "a"(0xaabbccddeeff0011ull) : "memory");
	CHECK_EQ(*(uint64_t *)(dst + 24), 0xeeff0011eeff0011ull);
	n = 1;
	__asm__ volatile("rep stosw" : "+D"(d), "+c"(n) : "a"(0x9876) : "memory");
	CHECK_EQ(*(uint32_t *)(dst + 32), 0x5a5a9876);
	printf("string: stos ok\n");
}

static void test_backwards(void)
{
	uint8_t *d, *s;
	uint64_t n;

	fill(src, 64, 9);
	memset(dst, 0, 64);
	d = dst + 39;
	s = src + 39;
	n = 30;
	__asm__ volatile("std; rep movsb; cld" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	CHECK_EQ(d, dst + 9);
	CHECK_EQ(s, src + 9);
	CHECK(same(dst + 10, src + 10, 30));
	CHECK_EQ(dst[9], 0);
	CHECK_EQ(dst[40], 0);
	/* backward rep movsq: elements still move whole, RDI goes down by 8 */
	memset(dst, 0, 64);
	d = dst + 24;
	s = src + 24;
	n = 3;
	__asm__ volatile("std; rep movsq; cld" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	CHECK_EQ(d, dst);
	CHECK(same(dst + 8, src + 8, 24));
	CHECK_EQ(*(uint64_t *)dst, 0);
	/* backward stos */
	d = dst + 63;
	n = 4;
	__asm__ volatile("std; rep stosb; cld" : "+D"(d), "+c"(n) : "a"(0x77) : "memory");
	CHECK_EQ(d, dst + 59);
	CHECK_EQ(*(uint32_t *)(dst + 60), 0x77777777);
	printf("string: DF=1 ok\n");
}

static void test_overlap(void)
{
	uint8_t *d, *s;
	uint64_t n;

	/* forward rep movsb onto itself one byte up replicates byte 0 */
	for (int i = 0; i < 32; i++)
		dst[i] = (uint8_t)i;
	d = dst + 1;
	s = dst;
	n = 20;
	__asm__ volatile("cld; rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	for (int i = 0; i <= 20; i++)
		CHECK_EQ(dst[i], 0);
	CHECK_EQ(dst[21], 21);
	/* forward with a 3-byte period */
	for (int i = 0; i < 32; i++)
		dst[i] = (uint8_t)i;
	d = dst + 3;
	s = dst;
	n = 12;
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	for (int i = 0; i < 15; i++)
		CHECK_EQ(dst[i], i % 3);
	/* memmove by hand: overlapping, dst above src, copied backwards */
	for (int i = 0; i < 32; i++)
		dst[i] = (uint8_t)i;
	d = dst + 5 + 15;
	s = dst + 15;
	n = 16;
	__asm__ volatile("std; rep movsb; cld" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	for (int i = 0; i < 16; i++)
		CHECK_EQ(dst[5 + i], i);
	memmove(dst + 1, dst + 4, 10);
	CHECK_EQ(dst[1], 4);
	CHECK_EQ(dst[10], 8);
	printf("string: overlapping copies ok\n");
}

static uint64_t flags_after_cmps(const char *a, const char *b, uint64_t *n,
				 const char **pa, const char **pb)
{
	uint64_t f;

	__asm__ volatile("cld; repe cmpsb; pushfq; pop %[f]"
			 : [f] "=r"(f), "+S"(a), "+D"(b), "+c"(*n) : : "memory");
	*pa = a;
	*pb = b;
	return f;
}

static void test_compare(void)
{
	static const char a[] = "libvmm compares strings";
	static const char b[] = "libvmm compared strings";
	const char *pa, *pb, *p;
	uint64_t n = sizeof(a), f;

	f = flags_after_cmps(a, b, &n, &pa, &pb);
	CHECK_EQ(pa - a, 15);           /* stops just after 's' vs 'd' */
	CHECK_EQ(n, sizeof(a) - 15);
	CHECK_EQ(f & (ZF | CF), 0);     /* 's' > 'd': not equal, no borrow */
	n = 6;
	f = flags_after_cmps(a, b, &n, &pa, &pb);
	CHECK_EQ(n, 0);
	CHECK_EQ(f & ZF, ZF);
	/* repne scasb: find the space */
	p = a;
	n = 100;
	__asm__ volatile("repne scasb" : "+D"(p), "+c"(n) : "a"(' ') : "memory");
	CHECK_EQ(p - a, 7);
	CHECK_EQ(n, 93);
	/* repe scasb: skip leading 'x's */
	static const char xs[] = "xxxxxy";
	p = xs;
	n = 6;
	__asm__ volatile("repe scasb; pushfq; pop %[f]" : [f] "=r"(f), "+D"(p), "+c"(n)
			 : "a"('x') : "memory");
	CHECK_EQ(p - xs, 6);
	CHECK_EQ(n, 0);
	CHECK_EQ(f & ZF, 0);
	/* lodsb/lodsq */
	uint64_t v = ~0ull;
	p = a;
	__asm__ volatile("lodsb" : "+a"(v), "+S"(p) : : "memory");
	CHECK_EQ(v, 0xffffffffffffff00ull | 'l');
	__asm__ volatile("lodsq" : "+a"(v), "+S"(p) : : "memory");
	CHECK_EQ(v, 0x6f63206d6d766269ull); /* "ibvmm co" */
	CHECK_EQ(p - a, 9);
	printf("string: cmps/scas/lods ok\n");
}

static void test_addr32(void)
{
	uint64_t d = (uint64_t)dst, s = (uint64_t)src, n = 0x100000003ull;

	fill(src, 16, 0x40);
	memset(dst, 0, 16);
	/* ECX = 3 is the count; RCX's upper half is ignored and then cleared */
	__asm__ volatile("addr32 rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	CHECK_EQ(n, 0);
	CHECK_EQ(d, (uint64_t)dst + 3);
	CHECK(same(dst, src, 3));
	CHECK_EQ(dst[3], 0);
	printf("string: addr32 ok\n");
}

int guest_main(uint32_t index, uint32_t count)
{
	(void)index;
	(void)count;
	printf("string: start\n");
	test_movs();
	test_stos();
	test_backwards();
	test_overlap();
	test_compare();
	test_addr32();
	guest_pass("string");
}
