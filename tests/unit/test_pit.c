/* test_pit.c - the 8254 through ports 0x40-0x43 and 0x61 as a guest drives
 * it; counts and outputs against the host clock (1.193182 MHz), counter 0's
 * interrupts seen in the PIC's IRR. Timing tolerances allow for a loaded
 * host. */
#include <stdlib.h>

#include "platform_fixture.h"

#define HZ 1193182.0

static uint64_t now_ns(void)
{
	return vmm__now_ns();
}

static unsigned read16(uint16_t port)
{
	unsigned lo = inb(port);

	return lo | inb(port) << 8;
}

static unsigned latch_read(unsigned ch)
{
	outb(0x43, ch << 6);
	return read16((uint16_t)(0x40 + ch));
}

/* Counter 2, gate on: counts down at the host's rate. */
static void test_count_rate(void **state)
{
	uint64_t t0, t1;
	unsigned c0, c1;
	double ticks, want;

	outb(0x61, 0x01);
	outb(0x43, 0xb4);                    /* ch2, LSB/MSB, mode 2 */
	outb(0x42, 0xff);
	outb(0x42, 0xff);                    /* 65535: 54.9 ms period */
	t0 = now_ns();
	c0 = latch_read(2);
	sleep_ns(20000000);
	c1 = latch_read(2);
	t1 = now_ns();
	ticks = (double)((c0 - c1 + 65535) % 65535);
	want = (double)(t1 - t0) * HZ / 1e9;
	assert_true(c0 <= 65535 && c0 >= 1 && c1 <= 65535 && c1 >= 1);
	/* the readings bracket the sleep: at most the whole interval */
	assert_true(ticks <= want + 2);
	assert_true(ticks >= 20e-3 * HZ - 2);
}

static void test_mode0_gate_and_out(void **state)
{
	uint64_t t0, t;

	outb(0x61, 0x00);                    /* gate 2 low */
	outb(0x43, 0xb0);                    /* ch2 mode 0 */
	outb(0x42, 0x9c);
	outb(0x42, 0x2e);                    /* 11932: 10 ms */
	assert_int_equal(inb(0x61) & 0x20, 0);   /* out low after the count */
	sleep_ns(5000000);
	assert_int_equal(latch_read(2), 11932);  /* gate low: not counting */
	t0 = now_ns();
	outb(0x61, 0x01);
	while (!(inb(0x61) & 0x20))
		assert_true(now_ns() - t0 < 2000000000ull);
	t = now_ns() - t0;
	assert_true(t >= 9900000 && t < 60000000);   /* 10 ms, loaded host */
	assert_int_equal(inb(0x61) & 0x21, 0x21);
	sleep_ns(1000000);
	assert_int_equal(inb(0x61) & 0x20, 0x20);    /* stays high */
	/* the first byte of a new LSB/MSB count stops mode 0: out low */
	outb(0x42, 0x10);
	assert_int_equal(inb(0x61) & 0x20, 0);
	outb(0x61, 0x00);
	outb(0x42, 0x00);
	assert_int_equal(latch_read(2), 0x10);       /* gate low: holds */
}

static void test_status_readback(void **state)
{
	outb(0x43, 0x36);                    /* ch0 LSB/MSB mode 3 binary */
	outb(0x43, 0xe2);                    /* read-back: status of ch0 */
	assert_int_equal(inb(0x40), 0xf6);   /* out 1, null count, rw 3, mode 3 */
	outb(0x40, 0x00);
	outb(0x40, 0x00);                    /* 65536 */
	outb(0x43, 0xe2);
	assert_int_equal(inb(0x40) & 0x7f, 0x36);    /* count loaded */
	/* status and count latched together: status first */
	outb(0x43, 0xb0);                    /* ch2 mode 0 */
	outb(0x42, 0x34);
	outb(0x42, 0xd2);                    /* gate 2 is low: holds 0xd234 */
	outb(0x43, 0xc8);                    /* count and status of ch2 */
	assert_int_equal(inb(0x42), 0x30);   /* out 0, loaded, rw 3, mode 0 */
	assert_int_equal(read16(0x42), 0xd234);
	/* a second latch before the first is read is ignored */
	outb(0x43, 0x80);
	outb(0x61, 0x01);
	sleep_ns(2000000);
	outb(0x43, 0x80);
	outb(0x61, 0x00);
	assert_int_equal(read16(0x42), 0xd234);
	assert_true(read16(0x42) < 0xd234);  /* the live count moved on */
	/* modes 6, 7 act as 2, 3; the status shows the bits as written */
	outb(0x43, 0x3c);
	outb(0x43, 0xe2);
	assert_int_equal(inb(0x40) & 0x0e, 0x0c);
	assert_int_equal(inb(0x43), 0xff);   /* control port: write-only */
}

static void test_access_modes_and_bcd(void **state)
{
	outb(0x61, 0x00);
	outb(0x43, 0x90);                    /* ch2 LSB only, mode 0 */
	outb(0x42, 0x80);
	assert_int_equal(inb(0x42), 0x80);
	assert_int_equal(inb(0x42), 0x80);
	outb(0x43, 0xa0);                    /* MSB only */
	outb(0x42, 0x02);
	assert_int_equal(inb(0x42), 0x02);
	outb(0x43, 0x80);                    /* latch in MSB mode: one byte */
	assert_int_equal(inb(0x42), 0x02);
	outb(0x43, 0xb1);                    /* LSB/MSB, mode 0, BCD */
	outb(0x42, 0x00);
	outb(0x42, 0x10);                    /* BCD 1000 */
	assert_int_equal(latch_read(2), 0x1000);
	outb(0x61, 0x01);
	sleep_ns(300000);
	unsigned v = latch_read(2);
	outb(0x61, 0x00);
	for (unsigned d = 0; d < 4; d++)
		assert_true(((v >> (4 * d)) & 0xf) <= 9);
	assert_int_not_equal(v, 0x1000);     /* counted (maybe wrapped) */
	outb(0x43, 0xb1);
	outb(0x42, 0x00);
	outb(0x42, 0x00);                    /* BCD 0 = 10000 */
	assert_int_equal(latch_read(2), 0x0000);
}

static void test_port61(void **state)
{
	unsigned seen = 0, high = 0, low = 0;

	outb(0x61, 0xff);
	assert_int_equal(inb(0x61) & 0xcf, 0x0f);    /* 0-3 kept, 6-7 zero */
	outb(0x61, 0x02);
	for (int i = 0; i < 20000 && seen != 3; i++)
		seen |= 1u << ((inb(0x61) >> 4) & 1);
	assert_int_equal(seen, 3);           /* the refresh bit toggles */
	outb(0x43, 0xb6);                    /* ch2 square wave, 2 ms */
	outb(0x42, 0x3a);
	outb(0x42, 0x09);                    /* 2362 */
	outb(0x61, 0x03);
	for (uint64_t t0 = now_ns(); now_ns() - t0 < 20000000;) {
		if (inb(0x61) & 0x20)
			high++;
		else
			low++;
	}
	assert_true(high > 0 && low > 0);
	outb(0x61, 0x00);                    /* mode 3 with gate low: out high */
	assert_int_equal(inb(0x61) & 0x20, 0x20);
}

/* Mode 1 on counter 2: the gate's rising edge starts a one-shot. */
static void test_mode1_trigger(void **state)
{
	uint64_t t0;

	outb(0x61, 0x00);
	outb(0x43, 0xb2);
	outb(0x42, 0x9c);
	outb(0x42, 0x2e);                    /* 10 ms */
	assert_int_equal(inb(0x61) & 0x20, 0x20);    /* high until triggered */
	sleep_ns(2000000);
	assert_int_equal(inb(0x61) & 0x20, 0x20);
	outb(0x61, 0x01);
	t0 = now_ns();
	assert_int_equal(inb(0x61) & 0x20, 0);
	while (!(inb(0x61) & 0x20))
		assert_true(now_ns() - t0 < 2000000000ull);
	assert_true(now_ns() - t0 >= 9900000);
	/* a rising edge during the count retriggers it */
	outb(0x61, 0x00);
	outb(0x61, 0x01);
	assert_int_equal(inb(0x61) & 0x20, 0);
	assert_true(latch_read(2) > 11000);
	/* mode 5: waits for the edge, then one strobe at terminal count */
	outb(0x61, 0x00);
	outb(0x43, 0xba);
	outb(0x42, 0xe8);
	outb(0x42, 0x03);                    /* 1000 */
	outb(0x43, 0xe8);
	assert_int_equal(inb(0x42), 0xfa);   /* out 1, null count, rw 3, mode 5 */
	sleep_ns(2000000);
	assert_int_equal(latch_read(2), 1000);   /* not triggered: holds */
	outb(0x61, 0x01);
	outb(0x43, 0xe8);
	assert_int_equal(inb(0x42) & 0x40, 0);   /* loaded at the edge */
	assert_int_equal(inb(0x61) & 0x20, 0x20);
}

/* Interrupts counted in the PIC's IRR: acknowledged and EOIed each time. */
static unsigned count_irq0(uint64_t ns)
{
	unsigned n = 0;

	for (uint64_t t0 = now_ns(); now_ns() - t0 < ns;) {
		if (pic_irr(0x20) & 1) {
			assert_int_equal(vmm__pic_inta(pf.vm), 0x20);
			outb(0x20, 0x20);
			n++;
		}
		sleep_ns(200000);
	}
	return n;
}

static void test_irq_periodic(void **state)
{
	unsigned n;

	pic_init_pc(0x01);
	outb(0x43, 0x34);                    /* ch0 mode 2 */
	outb(0x40, 0x9c);
	outb(0x40, 0x2e);                    /* 11932: 100 Hz */
	n = count_irq0(500000000);
	print_message("mode 2, 100 Hz: %u interrupts in 500 ms\n", n);
	assert_true(n >= 40 && n <= 51);   /* a stalled poller loses some */
	outb(0x43, 0x36);                    /* mode 3 at 200 Hz */
	outb(0x40, 0xce);
	outb(0x40, 0x17);                    /* 5966 */
	n = count_irq0(300000000);
	print_message("mode 3, 200 Hz: %u interrupts in 300 ms\n", n);
	assert_true(n >= 45 && n <= 61);
}

static void test_irq_oneshot(void **state)
{
	pic_init_pc(0x01);
	outb(0x43, 0x30);                    /* ch0 mode 0 */
	outb(0x40, 0x38);
	outb(0x40, 0x5d);                    /* 23864: 20 ms */
	assert_int_equal(pic_irr(0x20) & 1, 0);
	sleep_ns(60000000);
	assert_int_equal(pic_irr(0x20) & 1, 1);
	assert_int_equal(vmm__pic_inta(pf.vm), 0x20);
	outb(0x20, 0x20);
	sleep_ns(40000000);
	assert_int_equal(pic_irr(0x20) & 1, 0);      /* one terminal count */
	outb(0x40, 0xa9);
	outb(0x40, 0x04);                    /* rearm: the line went low */
	sleep_ns(40000000);
	assert_int_equal(pic_irr(0x20) & 1, 1);
	assert_int_equal(vmm__pic_inta(pf.vm), 0x20);
	outb(0x20, 0x20);
	outb(0x43, 0x38);                    /* mode 4: one strobe */
	outb(0x40, 0xa9);
	outb(0x40, 0x04);
	assert_int_equal(count_irq0(30000000), 1);
}

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Count 1 in mode 2 (illegal on the 8254) and 2 (596 kHz): interrupts are
 * clamped to 10 kHz, so the timer thread stays mostly idle. */
static void test_hostile_rates(void **state)
{
	double c0;
	unsigned seed = 7;

	pic_init_pc(0x01);
	outb(0x21, 0x01);
	outb(0x43, 0x14);                    /* LSB only, mode 2 */
	outb(0x40, 0x01);
	c0 = cpu_seconds();
	sleep_ns(200000000);
	print_message("count 1, mode 2: %.3f s CPU in 0.2 s\n", cpu_seconds() - c0);
	assert_true(cpu_seconds() - c0 < 0.15);
	outb(0x43, 0x00);
	assert_true(inb(0x40) <= 2);         /* counts as 2 (LSB mode) */
	outb(0x43, 0x16);
	outb(0x40, 0x01);
	for (int i = 0; i < 100000; i++) {
		unsigned r = rand_r(&seed);
		uint16_t port = (uint16_t)(r % 5 == 4 ? 0x61 : 0x40 + r % 4);

		if ((r >> 3) & 1)
			outb(port, (r >> 8) & 0xff);
		else
			(void)inb(port);
	}
	outb(0x43, 0x30);                    /* quiet again */
	outb(0x40, 0xff);
	outb(0x40, 0xff);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_count_rate, pf_setup, pf_teardown),
		cmocka_unit_test_setup_teardown(test_mode0_gate_and_out, pf_setup, pf_teardown),
		cmocka_unit_test_setup_teardown(test_status_readback, pf_setup, pf_teardown),
		cmocka_unit_test_setup_teardown(test_access_modes_and_bcd, pf_setup, pf_teardown),
		cmocka_unit_test_setup_teardown(test_port61, pf_setup, pf_teardown),
		cmocka_unit_test_setup_teardown(test_mode1_trigger, pf_setup, pf_teardown),
		cmocka_unit_test_setup_teardown(test_irq_periodic, pf_setup, pf_teardown),
		cmocka_unit_test_setup_teardown(test_irq_oneshot, pf_setup, pf_teardown),
		cmocka_unit_test_setup_teardown(test_hostile_rates, pf_setup, pf_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
