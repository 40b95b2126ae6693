/* cpufeat.c - instructions behind CPUID feature bits: POPCNT, LZCNT (ABM),
 * BMI1 (andn bextr blsi blsr blsmsk tzcnt), BMI2 (bzhi pdep pext shlx sarx
 * shrx rorx mulx), MOVBE, ADX (adcx adox), CMPXCHG16B and RDTSC/RDTSCP.
 * Each group runs only if CPUID offers it; a group that is not offered is
 * reported as a runner note, so the transcript is the same whatever the
 * CPUID model offers. Expected values checked on a real CPU (make
 * guests-native). Expected end: debug exit 0; a failed CHECK exits 1. */
#include "common.h"

#define CF 0x1ull

struct features {
	uint32_t l1_ecx, l1_edx, l7_ebx, e1_ecx, e1_edx;
};

static void read_features(struct features *f)
{
	uint32_t r[4];

	cpuid(0, 0, r);
	uint32_t max = r[0];
	cpuid(1, 0, r);
	f->l1_ecx = r[2];
	f->l1_edx = r[3];
	f->l7_ebx = 0;
	if (max >= 7) {
		cpuid(7, 0, r);
		f->l7_ebx = r[1];
	}
	cpuid(0x80000001, 0, r);
	f->e1_ecx = r[2];
	f->e1_edx = r[3];
}

static void test_popcnt(void)
{
	uint64_t n;

	__asm__("popcntq %1, %0" : "=r"(n) : "r"(0xf0f0f0f0f0f0f0f1ull));
	CHECK_EQ(n, 33);
	__asm__("popcntl %k1, %k0" : "=r"(n) : "r"(0xffffffff00000003ull));
	CHECK_EQ(n, 2);
	__asm__("popcntw %w1, %w0" : "=r"(n) : "r"(0xffffull), "0"(0xaaaa0000ull));
	CHECK_EQ(n, 0xaaaa0010ull);
}

static void test_lzcnt(void)
{
	uint64_t n, f;

	__asm__("lzcntq %1, %0" : "=r"(n) : "r"(1ull));
	CHECK_EQ(n, 63);
	__asm__("lzcntl %k1, %k0" : "=r"(n) : "r"(0x00010000ull));
	CHECK_EQ(n, 15);
	__asm__("lzcntq %2, %0; pushfq; pop %1" : "=&r"(n), "=r"(f) : "r"(0ull));
	CHECK_EQ(n, 64);
	CHECK_EQ(f & CF, CF);
}

static void test_bmi1(void)
{
	uint64_t n, f;

	__asm__("tzcntq %2, %0; pushfq; pop %1" : "=&r"(n), "=r"(f) : "r"(0ull));
	CHECK_EQ(n, 64);
	CHECK_EQ(f & CF, CF);
	__asm__("tzcntq %1, %0" : "=r"(n) : "r"(0x80ull));
	CHECK_EQ(n, 7);
	__asm__("andnq %2, %1, %0" : "=r"(n) : "r"(0xff00ull), "r"(0x0ff0ull));
	CHECK_EQ(n, 0x00f0);
	__asm__("bextrq %2, %1, %0" : "=r"(n) : "r"(0x12345678ull), "r"(0x0804ull));
	CHECK_EQ(n, 0x67);
	__asm__("blsiq %1, %0" : "=r"(n) : "r"(0x28ull));
	CHECK_EQ(n, 0x8);
	__asm__("blsrq %1, %0" : "=r"(n) : "r"(0x28ull));
	CHECK_EQ(n, 0x20);
	__asm__("blsmskq %1, %0" : "=r"(n) : "r"(0x28ull));
	CHECK_EQ(n, 0xf);
}

static void test_bmi2(void)
{
	uint64_t n, hi;

	__asm__("bzhiq %2, %1, %0" : "=r"(n) : "r"(0xffffull), "r"(4ull));
	CHECK_EQ(n, 0xf);
	__asm__("pdepq %2, %1, %0" : "=r"(n) : "r"(0x5ull), "r"(0x1aull));
	CHECK_EQ(n, 0x12);
	__asm__("pextq %2, %1, %0" : "=r"(n) : "r"(0x16ull), "r"(0x1aull));
	CHECK_EQ(n, 0x5);
	__asm__("shlxq %2, %1, %0" : "=r"(n) : "r"(1ull), "r"(63ull));
	CHECK_EQ(n, 0x8000000000000000ull);
	__asm__("sarxq %2, %1, %0" : "=r"(n) : "r"(-16ull), "r"(2ull));
	CHECK_EQ(n, -4ull);
	__asm__("shrxq %2, %1, %0" : "=r"(n) : "r"(-16ull), "r"(60ull));
	CHECK_EQ(n, 0xf);
	__asm__("rorxq $1, %1, %0" : "=r"(n) : "r"(1ull));
	CHECK_EQ(n, 0x8000000000000000ull);
	__asm__("mulxq %2, %1, %0" : "=r"(hi), "=r"(n) : "r"(~0ull), "d"(~0ull));
	CHECK_EQ(hi, 0xfffffffffffffffeull);
	CHECK_EQ(n, 1);
}

static void test_movbe(void)
{
	static const uint8_t be[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	static uint8_t out[8];
	uint64_t n;

	__asm__("movbeq %1, %0" : "=r"(n) : "m"(*(const uint64_t *)be));
	CHECK_EQ(n, 0x0102030405060708ull);
	__asm__("movbel %1, %k0" : "=r"(n) : "m"(*(const uint32_t *)be));
	CHECK_EQ(n, 0x01020304);
	__asm__("movbew %w1, %0" : "=m"(*(uint16_t *)out) : "r"(0xaabbull));
	CHECK_EQ(out[0], 0xaa);
	CHECK_EQ(out[1], 0xbb);
}

static void test_adx(void)
{
	uint64_t a = ~0ull, b = ~0ull, c = 5, d = 7;

	/* adcx chains through CF, adox through OF, independently */
	__asm__("xor %%eax, %%eax\n\t"          /* clears CF and OF */
		"stc\n\tadcxq %2, %0\n\t"        /* a = ~0 + 5 + CF(1) = 5, CF=1 */
		"adoxq %3, %1\n\t"               /* b = ~0 + 7 + OF(0) = 6, OF=1 */
		"adcxq %3, %2\n\t"               /* c = 5 + 7 + CF(1) = 13 */
		: "+r"(a), "+r"(b), "+r"(c), "+r"(d) : : "rax");
	(void)d;
	CHECK_EQ(a, ~0ull + 5 + 1);
	CHECK_EQ(b, 6);
	CHECK_EQ(c, 13);
}

static void test_cx16(void)
{
	static volatile uint64_t pair[2] __attribute__((aligned(16))) = { 1, 2 };
	uint64_t rax = 1, rdx = 2;

	__asm__ volatile("lock cmpxchg16b %2" : "+a"(rax), "+d"(rdx), "+m"(*pair)
			 : "b"(0x5555ull), "c"(0x6666ull) : "memory");
	CHECK_EQ(pair[0], 0x5555);
	CHECK_EQ(pair[1], 0x6666);
	rax = 0;
	rdx = 0;
	__asm__ volatile("lock cmpxchg16b %2" : "+a"(rax), "+d"(rdx), "+m"(*pair)
			 : "b"(0ull), "c"(0ull) : "memory");
	CHECK_EQ(rax, 0x5555);   /* failed: RDX:RAX = the memory */
	CHECK_EQ(rdx, 0x6666);
}

static void test_tsc(int rdtscp)
{
	uint32_t lo, hi, aux;
	uint64_t t0, t1;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	t0 = (uint64_t)hi << 32 | lo;
	if (rdtscp)
		__asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
	else
		__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	t1 = (uint64_t)hi << 32 | lo;
	CHECK(t1 >= t0);
	(void)aux;
}

/* Runs test if the CPUID bit is set, else leaves a runner note. */
static void group(const char *name, uint32_t word, int bit, void (*test)(void))
{
	char note[64];

	if ((word >> bit) & 1) {
		test();
		return;
	}
	snprintf(note, sizeof(note), "%s not offered", name);
	guest_note(note);
}

static void test_tsc_plain(void)
{
	test_tsc(0);
}

static void test_tsc_p(void)
{
	test_tsc(1);
}

int guest_main(uint32_t index, uint32_t count)
{
	struct features f;

	(void)index;
	(void)count;
	printf("cpufeat: start\n");
	read_features(&f);
	group("popcnt", f.l1_ecx, 23, test_popcnt);
	group("lzcnt", f.e1_ecx, 5, test_lzcnt);
	group("bmi1", f.l7_ebx, 3, test_bmi1);
	group("bmi2", f.l7_ebx, 8, test_bmi2);
	group("movbe", f.l1_ecx, 22, test_movbe);
	group("adx", f.l7_ebx, 19, test_adx);
	group("cmpxchg16b", f.l1_ecx, 13, test_cx16);
	group("rdtsc", f.l1_edx, 4, test_tsc_plain);
	group("rdtscp", f.e1_edx, 27, test_tsc_p);
	printf("cpufeat: offered instructions ok\n");
	guest_pass("cpufeat");
}
