/* pio.c - port I/O against the runner's test device (testdev.h) at
 * 0x500-0x507: 8/16/32-bit OUT and IN at every offset of DATA, IN from the
 * SEQ port in every size, rep insb/insw and rep outsb/outsw with the
 * checksum the device computes, and reads of an unclaimed port (all ones,
 * through both the DX and the imm8 encodings).
 * Needs: the pio test device. Expected end: debug exit 0. */
#include "common.h"
#include "testdev.h"

#define UNCLAIMED_PORT 0x510
#define UNCLAIMED_PORT8 0xe0

static void reset_device(void)
{
	outb(TESTDEV_PIO_SUM, 0);
}

static void test_data_register(void)
{
	outl(TESTDEV_PIO_DATA, 0x11223344);
	CHECK_EQ(inl(TESTDEV_PIO_DATA), 0x11223344 ^ TESTDEV_PIO_XOR);
	CHECK_EQ(inw(TESTDEV_PIO_DATA), 0x3344 ^ 0x5a5a);
	CHECK_EQ(inw(TESTDEV_PIO_DATA + 2), 0x1122 ^ 0x5a5a);
	CHECK_EQ(inb(TESTDEV_PIO_DATA + 1), 0x33 ^ 0x5a);
	CHECK_EQ(inb(TESTDEV_PIO_DATA + 3), 0x11 ^ 0x5a);
	outb(TESTDEV_PIO_DATA + 2, 0xab);
	CHECK_EQ(inl(TESTDEV_PIO_DATA), 0x11ab3344 ^ TESTDEV_PIO_XOR);
	outw(TESTDEV_PIO_DATA + 1, 0xcdef);
	CHECK_EQ(inl(TESTDEV_PIO_DATA), 0x11cdef44 ^ TESTDEV_PIO_XOR);
	/* the 8-bit form must not disturb the rest of EAX */
	uint32_t v = 0xdead0000;
	__asm__ volatile("inb %%dx, %%al" : "+a"(v) : "d"(TESTDEV_PIO_DATA));
	CHECK_EQ(v, 0xdead0000 | (0x44 ^ 0x5a));
	printf("pio: DATA register ok (0x%08x)\n", inl(TESTDEV_PIO_DATA));
}

static void test_seq(void)
{
	uint32_t n = 0;

	reset_device();
	CHECK_EQ(inb(TESTDEV_PIO_SEQ), testdev_seq(n++) & 0xff);
	CHECK_EQ(inw(TESTDEV_PIO_SEQ), testdev_seq(n++) & 0xffff);
	CHECK_EQ(inl(TESTDEV_PIO_SEQ), testdev_seq(n++));
	printf("pio: SEQ ok\n");
}

static void test_rep_ins(void)
{
	static uint8_t bytes[100];
	static uint16_t words[40];
	void *p = bytes;
	uint64_t n = sizeof(bytes);

	reset_device();
	__asm__ volatile("cld; rep insb" : "+D"(p), "+c"(n) : "d"(TESTDEV_PIO_SEQ) : "memory");
	CHECK_EQ(n, 0);
	CHECK_EQ(p, bytes + sizeof(bytes));
	for (uint32_t i = 0; i < sizeof(bytes); i++)
		CHECK_EQ(bytes[i], testdev_seq(i) & 0xff);
	p = words;
	n = 40;
	__asm__ volatile("rep insw" : "+D"(p), "+c"(n) : "d"(TESTDEV_PIO_SEQ) : "memory");
	for (uint32_t i = 0; i < 40; i++)
		CHECK_EQ(words[i], testdev_seq(100 + i) & 0xffff);
	printf("pio: rep insb/insw ok\n");
}

static void test_rep_outs(void)
{
	static const char text[] = "rep outsb sends these bytes one by one";
	static const uint16_t words[5] = { 0x1234, 0xffff, 0, 0x8001, 0x4242 };
	const void *p = text;
	uint64_t n = sizeof(text) - 1;
	uint32_t sum = 0;

	reset_device();
	__asm__ volatile("cld; rep outsb" : "+S"(p), "+c"(n) : "d"(TESTDEV_PIO_SEQ) : "memory");
	CHECK_EQ(p, text + sizeof(text) - 1);
	for (uint32_t i = 0; i < sizeof(text) - 1; i++)
		sum = testdev_sum(sum, (uint8_t)text[i]);
	p = words;
	n = 5;
	__asm__ volatile("rep outsw" : "+S"(p), "+c"(n) : "d"(TESTDEV_PIO_SEQ) : "memory");
	for (uint32_t i = 0; i < 5; i++)
		sum = testdev_sum(sum, words[i]);
	outl(TESTDEV_PIO_SEQ, 0x89abcdef);
	sum = testdev_sum(sum, 0x89abcdef);
	CHECK_EQ(inw(TESTDEV_PIO_SUM), sum);
	CHECK_EQ(inb(TESTDEV_PIO_COUNT), sizeof(text) - 1 + 5 + 1);
	printf("pio: rep outsb/outsw ok (sum 0x%04x)\n", sum);
}

static void test_unclaimed(void)
{
	CHECK_EQ(inb(UNCLAIMED_PORT), 0xff);
	CHECK_EQ(inw(UNCLAIMED_PORT), 0xffff);
	CHECK_EQ(inl(UNCLAIMED_PORT), 0xffffffff);
	CHECK_EQ(inb(UNCLAIMED_PORT8), 0xff);
	outl(UNCLAIMED_PORT, 0x12345678); /* dropped */
	printf("pio: unclaimed ports read all ones\n");
}

int guest_main(uint32_t index, uint32_t count)
{
	(void)index;
	(void)count;
	printf("pio: start\n");
	test_data_register();
	test_seq();
	test_rep_ins();
	test_rep_outs();
	test_unclaimed();
	guest_pass("pio");
}
