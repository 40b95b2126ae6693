/* mmio.c - memory-mapped I/O against the runner's test device (testdev.h)
 * at 0xd0000000: 8/16/32/64-bit loads and stores, movzx/movsx loads,
 * read-modify-write instructions with a memory destination (add, or, and,
 * sub, inc, not, xchg, xadd) that must reach the device as exactly one read
 * and one write of the right size, and the XOR window that tells a real
 * device access from a cached copy. Needs: the mmio test device.
 * Expected end: debug exit 0. */
#include "common.h"
#include "testdev.h"

#define DEV(off) (TESTDEV_MMIO_BASE + (off))

static volatile uint8_t *const dev8 = (volatile uint8_t *)TESTDEV_MMIO_BASE;

static uint64_t rd64(uint64_t off)
{
	return *(volatile uint64_t *)DEV(off);
}

static uint64_t count(void)
{
	return rd64(TESTDEV_MMIO_COUNT);
}

static void test_initial_and_id(void)
{
	uint64_t expect = 0;

	CHECK_EQ(dev8[0], testdev_mmio_init(0));
	CHECK_EQ(dev8[0x123], testdev_mmio_init(0x123));
	for (int i = 7; i >= 0; i--)
		expect = expect << 8 | testdev_mmio_init(0x40 + (uint32_t)i);
	CHECK_EQ(rd64(0x40), expect);
	CHECK_EQ(rd64(TESTDEV_MMIO_ID), TESTDEV_MMIO_ID_VALUE);
	printf("mmio: initial contents and ID ok\n");
}

static void test_widths(void)
{
	uint64_t c0 = count(), v;

	*(volatile uint64_t *)DEV(0x100) = 0x0102030405060708ull;
	*(volatile uint32_t *)DEV(0x108) = 0x11223344;
	*(volatile uint16_t *)DEV(0x10c) = 0x5566;
	*(volatile uint8_t *)DEV(0x10e) = 0x77;
	CHECK_EQ(count() - c0, 4);
	CHECK_EQ(rd64(TESTDEV_MMIO_LAST), 0x10e << 16 | 1 << 8 | 1);
	CHECK_EQ(rd64(0x100), 0x0102030405060708ull);
	CHECK_EQ(*(volatile uint32_t *)DEV(0x104), 0x01020304);
	CHECK_EQ(*(volatile uint16_t *)DEV(0x10a), 0x1122);
	CHECK_EQ(*(volatile uint8_t *)DEV(0x10d), 0x55);
	CHECK_EQ(rd64(0x108) & 0x00ffffffffffffffull, 0x0077556611223344ull);
	CHECK_EQ(rd64(TESTDEV_MMIO_LAST), 0x108 << 16 | 8 << 8 | 0);
	__asm__ volatile("movsbq (%1), %0" : "=r"(v) : "r"(DEV(0x100)) : "memory");
	CHECK_EQ(v, 8);
	__asm__ volatile("movswq (%1), %0" : "=r"(v) : "r"(DEV(0x102)) : "memory");
	CHECK_EQ(v, 0x0506);
	*(volatile uint16_t *)DEV(0x110) = 0x8000;
	__asm__ volatile("movswq (%1), %0" : "=r"(v) : "r"(DEV(0x110)) : "memory");
	CHECK_EQ(v, 0xffffffffffff8000ull);
	__asm__ volatile("movzwl (%1), %k0" : "=r"(v) : "r"(DEV(0x110)) : "memory");
	CHECK_EQ(v, 0x8000);
	__asm__ volatile("movl $0xfedcba98, (%0)" : : "r"(DEV(0x118)) : "memory");
	CHECK_EQ(*(volatile uint32_t *)DEV(0x118), 0xfedcba98);
	printf("mmio: widths ok\n");
}

/* Each RMW must be one read and one write of the instruction's size. */
static void check_rmw(uint64_t c0, uint32_t off, uint32_t size)
{
	CHECK_EQ(count() - c0, 2);
	CHECK_EQ(rd64(TESTDEV_MMIO_LAST), (uint64_t)off << 16 | size << 8 | 1);
}

static void test_rmw(void)
{
	volatile uint64_t *q = (volatile uint64_t *)DEV(0x200);
	uint64_t c0, v;

	*q = 100;
	c0 = count();
	__asm__ volatile("addq %1, (%0)" : : "r"(q), "r"(23ull) : "memory");
	check_rmw(c0, 0x200, 8);
	CHECK_EQ(*q, 123);
	c0 = count();
	__asm__ volatile("orl $0x80000000, (%0)" : : "r"(q) : "memory");
	check_rmw(c0, 0x200, 4);
	c0 = count();
	__asm__ volatile("andw $0xff0f, (%0)" : : "r"(q) : "memory");
	check_rmw(c0, 0x200, 2);
	CHECK_EQ(*q, 0x8000000b);
	c0 = count();
	__asm__ volatile("subb $0x0b, (%0)" : : "r"(q) : "memory");
	check_rmw(c0, 0x200, 1);
	c0 = count();
	__asm__ volatile("incq (%0)" : : "r"(q) : "memory");
	check_rmw(c0, 0x200, 8);
	CHECK_EQ(*q, 0x80000001ull);
	c0 = count();
	__asm__ volatile("notl 4(%0)" : : "r"(q) : "memory");
	check_rmw(c0, 0x204, 4);
	CHECK_EQ(*q, 0xffffffff80000001ull);
	v = 0x5555;
	c0 = count();
	__asm__ volatile("xchgq %0, (%1)" : "+r"(v) : "r"(q) : "memory");
	check_rmw(c0, 0x200, 8);
	CHECK_EQ(v, 0xffffffff80000001ull);
	v = 5;
	c0 = count();
	__asm__ volatile("lock xaddq %0, (%1)" : "+r"(v) : "r"(q) : "memory");
	check_rmw(c0, 0x200, 8);
	CHECK_EQ(v, 0x5555);
	CHECK_EQ(*q, 0x555a);
	printf("mmio: read-modify-write ok\n");
}

static void test_xor_window(void)
{
	volatile uint64_t *x = (volatile uint64_t *)DEV(TESTDEV_MMIO_XOR_AREA);
	uint64_t c0;

	CHECK_EQ(x[0], 0xa5a5a5a5a5a5a5a5ull);
	x[0] = 0x1122334455667788ull;
	CHECK_EQ(x[0], 0x1122334455667788ull ^ 0xa5a5a5a5a5a5a5a5ull);
	/* RMW sees the device's value: stored 0 reads 0xa5.., +1 is stored */
	c0 = count();
	__asm__ volatile("addq $1, 8(%0)" : : "r"(x) : "memory");
	check_rmw(c0, TESTDEV_MMIO_XOR_AREA + 8, 8);
	CHECK_EQ(x[1], 0x0000000000000003ull);
	CHECK_EQ(*(volatile uint8_t *)DEV(TESTDEV_MMIO_XOR_AREA + 15), 0);
	printf("mmio: XOR window ok\n");
}

static void test_string_copy(void)
{
	static uint8_t buf[16];
	volatile uint8_t *src = dev8 + 0x300;
	void *d = buf;
	const volatile void *s = src;
	uint64_t n = 16, c0;

	for (uint32_t i = 0; i < 16; i++)
		src[i] = (uint8_t)(0xc0 + i);
	c0 = count();
	__asm__ volatile("cld; rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	CHECK_EQ(count() - c0, 16);
	for (uint32_t i = 0; i < 16; i++)
		CHECK_EQ(buf[i], 0xc0 + i);
	printf("mmio: rep movsb from the device ok\n");
}

int guest_main(uint32_t index, uint32_t count_)
{
	(void)index;
	(void)count_;
	printf("mmio: start\n");
	test_initial_and_id();
	test_widths();
	test_rmw();
	test_xor_window();
	test_string_copy();
	guest_pass("mmio");
}
