/* test_rtc.c - the MC146818 through ports 0x70/0x71 as a guest drives it:
 * the time against the host's UTC clock, formats, setting the time, the
 * periodic, alarm and update interrupts (seen in the slave PIC's IRR, IRQ8)
 * at the host clock's rate, UIP, register C/D, NMI mask, CMOS RAM size
 * bytes, hostile writes. */
#include <stdlib.h>
#include <time.h>

#include "platform_fixture.h"

static uint8_t cmos(uint8_t i)
{
	outb(0x70, i);
	return (uint8_t)inb(0x71);
}

static void cmos_set(uint8_t i, uint8_t v)
{
	outb(0x70, i);
	outb(0x71, v);
}

static unsigned bcd(uint8_t v)
{
	return (v >> 4) * 10u + (v & 0xf);
}

static void wait_no_uip(void)
{
	while (cmos(0x0a) & 0x80)
		;
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

/* The registers (BCD, 24 h) as seconds since 1970. */
static int64_t rtc_epoch(void)
{
	struct tm tm = { 0 };

	wait_no_uip();
	tm.tm_sec = (int)bcd(cmos(0));
	tm.tm_min = (int)bcd(cmos(2));
	tm.tm_hour = (int)bcd(cmos(4));
	tm.tm_mday = (int)bcd(cmos(7));
	tm.tm_mon = (int)bcd(cmos(8)) - 1;
	tm.tm_year = (int)(bcd(cmos(0x32)) * 100 + bcd(cmos(9))) - 1900;
	return (int64_t)timegm(&tm);
}

static void test_time_is_host_utc(void **state)
{
	int64_t host = now_s(), rtc = rtc_epoch();
	time_t t = (time_t)host;
	struct tm tm;

	assert_true(rtc >= host - 1 && rtc <= host + 2);
	gmtime_r(&t, &tm);
	assert_int_equal(bcd(cmos(6)), tm.tm_wday + 1);  /* Sunday = 1 */
	assert_int_equal(cmos(0x0a), 0x26);  /* power-on A (UIP clear here) */
	assert_int_equal(cmos(0x0b), 0x02);  /* BCD, 24 h */
	assert_int_equal(cmos(0x0d), 0x80);  /* VRT */
	/* binary, 12 hours */
	cmos_set(0x0b, 0x04);
	wait_no_uip();
	uint8_t h = cmos(4), s = cmos(0);
	t = (time_t)now_s();
	gmtime_r(&t, &tm);
	assert_true(s < 60);
	assert_int_equal(h & 0x7f, tm.tm_hour % 12 ? tm.tm_hour % 12 : 12);
	assert_int_equal(!!(h & 0x80), tm.tm_hour >= 12);
}

static void test_set_time_keeps_offset(void **state)
{
	cmos_set(0x0b, 0x82);                /* SET */
	cmos_set(0x00, 0x56);
	cmos_set(0x02, 0x34);
	cmos_set(0x04, 0x12);
	cmos_set(0x07, 0x28);
	cmos_set(0x08, 0x02);
	cmos_set(0x09, 0x99);
	cmos_set(0x32, 0x19);                /* 1999-02-28 12:34:56 */
	sleep_ns(1200000000);
	assert_int_equal(cmos(0x00), 0x56);  /* SET: no updates */
	cmos_set(0x0b, 0x02);
	sleep_ns(2100000000);
	int64_t t = rtc_epoch();
	assert_true(t >= 920205298 && t <= 920205300);   /* +2..3 s */
	/* one field written while running moves the clock by that much */
	cmos_set(0x04, 0x23);                /* 23:34:5x */
	sleep_ns(1100000000);                /* crosses into Mar 1 at 24:00? no */
	t = rtc_epoch();
	assert_true(t >= 920244899 && t <= 920244901);
	/* 12 h format round trip: 11 PM */
	cmos_set(0x0b, 0x80);
	cmos_set(0x04, 0x91);                /* 11 | PM in BCD 12 h */
	cmos_set(0x0b, 0x00);
	cmos_set(0x0b, 0x02);
	wait_no_uip();
	assert_int_equal(cmos(0x04), 0x23);
}

/* Counts IRQ8 interrupts for ns: each one acknowledged at the PIC, its
 * cause read from register C (which lowers the line) and EOIed. */
static unsigned count_irq8(uint64_t ns, uint8_t flag)
{
	unsigned n = 0;

	for (uint64_t t0 = vmm__now_ns(); vmm__now_ns() - t0 < ns;) {
		if (pic_irr(0xa0) & 1) {
			assert_int_equal(vmm__pic_inta(pf.vm), 0x28);
			uint8_t c = cmos(0x0c);
			assert_true(c & 0x80);
			n += (c & flag) != 0;
			outb(0xa0, 0x20);
			outb(0x20, 0x20);
		}
		sleep_ns(200000);
	}
	return n;
}

static void test_periodic_rate(void **state)
{
	unsigned n;

	pic_init_pc(0x01);
	(void)cmos(0x0c);
	cmos_set(0x0a, 0x2b);                /* rate 11: 32 Hz */
	cmos_set(0x0b, 0x42);                /* PIE */
	n = count_irq8(1000000000, 0x40);
	print_message("periodic 32 Hz: %u in 1 s\n", n);
	/* a poller that is not scheduled loses flags, never adds them; the
	 * neighbouring rates (16, 64 Hz) stay far outside */
	assert_true(n >= 28 && n <= 33);
	cmos_set(0x0a, 0x21);                /* rate 1 acts as 8: 256 Hz */
	n = count_irq8(500000000, 0x40);
	print_message("periodic rate 1 (256 Hz): %u in 0.5 s\n", n);
	assert_true(n >= 100 && n <= 129);   /* 128 Hz would give 64 */
	cmos_set(0x0b, 0x02);
	(void)cmos(0x0c);
	if (pic_irr(0xa0) & 1) {             /* raised just before PIE went off */
		assert_int_equal(vmm__pic_inta(pf.vm), 0x28);
		outb(0xa0, 0x20);
		outb(0x20, 0x20);
	}
	sleep_ns(20000000);
	assert_int_equal(pic_irr(0xa0) & 1, 0);  /* PIE off: no interrupts */
	/* the flag is still set by the divider */
	assert_int_equal(cmos(0x0c) & 0xe0, 0x40);
	/* without reading C, the line stays high: no second edge */
	cmos_set(0x0a, 0x2b);
	cmos_set(0x0b, 0x42);
	sleep_ns(50000000);
	assert_int_equal(pic_irr(0xa0) & 1, 1);
	assert_int_equal(vmm__pic_inta(pf.vm), 0x28);
	outb(0xa0, 0x20);
	outb(0x20, 0x20);
	sleep_ns(100000000);
	assert_int_equal(pic_irr(0xa0) & 1, 0);
	assert_int_equal(cmos(0x0c) & 0xe0, 0xc0);  /* IRQF, PF (UF may be set) */
	sleep_ns(100000000);
	assert_int_equal(pic_irr(0xa0) & 1, 1);  /* lowered: a new edge */
}

static void test_update_and_alarm(void **state)
{
	unsigned n;
	uint8_t s;

	pic_init_pc(0x01);
	(void)cmos(0x0c);
	cmos_set(0x0b, 0x12);                /* UIE */
	n = count_irq8(2500000000ull, 0x10);
	print_message("update interrupts: %u in 2.5 s\n", n);
	assert_true(n >= 2 && n <= 3);
	wait_no_uip();
	s = (uint8_t)bcd(cmos(0));
	s = (uint8_t)((s + 2) % 60);
	cmos_set(0x01, (uint8_t)((s / 10) << 4 | s % 10));
	cmos_set(0x03, 0xc0);                /* don't care */
	cmos_set(0x05, 0xff);
	cmos_set(0x0b, 0x22);                /* AIE only */
	(void)cmos(0x0c);
	n = count_irq8(3100000000ull, 0x20);
	assert_int_equal(n, 1);
	cmos_set(0x0b, 0x02);
	/* SET clears UIE */
	cmos_set(0x0b, 0x92);
	assert_int_equal(cmos(0x0b), 0x82);
	cmos_set(0x0b, 0x02);
	/* lazily accounted flags: UF and AF without their enables */
	cmos_set(0x01, 0xc0);                /* alarm every second */
	(void)cmos(0x0c);
	sleep_ns(1100000000);
	assert_int_equal(cmos(0x0c) & 0xb0, 0x30);
}

/* One UIP window: seen rising, the second read during it, then falling
 * with the new second. A poller descheduled across the 244 us window
 * misses it or straddles it: then it tries the next update. */
static bool uip_window(uint64_t *high_ns)
{
	uint64_t rise = 0;
	uint8_t before = 0;

	for (uint64_t t0 = vmm__now_ns(); vmm__now_ns() - t0 < 1500000000ull;) {
		uint8_t a = cmos(0x0a);

		if ((a & 0x80) && !rise) {
			rise = vmm__now_ns();
			outb(0x70, 0x00);    /* the old second */
			before = (uint8_t)inb(0x71);
		} else if (!(a & 0x80) && rise) {
			*high_ns = vmm__now_ns() - rise;
			return *high_ns < 2000000 && cmos(0x00) != before;
		}
	}
	return false;
}

static void test_uip_and_divider(void **state)
{
	uint64_t t0, high = 0;
	int tries = 0;

	while (!uip_window(&high) && ++tries < 10)
		;
	assert_true(tries < 10);
	print_message("UIP high for %llu us (%d missed windows)\n",
		      (unsigned long long)high / 1000, tries);
	/* divider reset, then release: the first update 500 ms later */
	cmos_set(0x0a, 0x76);
	cmos_set(0x00, 0x00);
	sleep_ns(300000000);
	assert_int_equal(cmos(0x00), 0x00);  /* held */
	t0 = vmm__now_ns();
	cmos_set(0x0a, 0x26);
	while (cmos(0x00) == 0x00)
		assert_true(vmm__now_ns() - t0 < 2000000000ull);
	uint64_t dt = vmm__now_ns() - t0;
	print_message("first update after divider release: %llu ms\n",
		      (unsigned long long)dt / 1000000);
	assert_true(dt >= 490000000 && dt < 600000000);
}

static void test_nmi_mask_and_ram(void **state)
{
	assert_false(vmm__rtc_nmi_masked(pf.vm));
	outb(0x70, 0x8d);
	assert_true(vmm__rtc_nmi_masked(pf.vm));
	assert_int_equal(inb(0x71), 0x80);   /* index 0x0d with NMI masked */
	outb(0x70, 0x0d);
	assert_false(vmm__rtc_nmi_masked(pf.vm));
	assert_int_equal(inb(0x70), 0xff);   /* the index is write-only */
	/* 64 MiB: 640 KiB base, 63 MiB extended, 48 MiB over 16 MiB */
	assert_int_equal(cmos(0x15), 0x80);
	assert_int_equal(cmos(0x16), 0x02);
	assert_int_equal(cmos(0x17) | cmos(0x18) << 8, 64512);
	assert_int_equal(cmos(0x30) | cmos(0x31) << 8, 64512);
	assert_int_equal(cmos(0x34) | cmos(0x35) << 8, 768);
	assert_int_equal(cmos(0x5b) | cmos(0x5c) << 8 | cmos(0x5d) << 16, 0);
	assert_int_equal(cmos(0x5f), 0);     /* 1 vCPU */
	unsigned sum = 0;
	for (uint8_t i = 0x10; i <= 0x2d; i++)
		sum += cmos(i);
	assert_int_equal(cmos(0x2e) << 8 | cmos(0x2f), sum);
	cmos_set(0x40, 0x5a);
	assert_int_equal(cmos(0x40), 0x5a);
	cmos_set(0x7f, 0xa5);
	assert_int_equal(cmos(0x7f), 0xa5);
	cmos_set(0x17, 0x11);                /* a guest's own value stays */
	assert_int_equal(cmos(0x17), 0x11);
	/* 2-byte write at 0x70: index then data */
	uint32_t v = 0x6641;
	assert_int_equal(vmm__bus_pio(pf.vcpu, 0x70, 2, 1, &v), VMM__BUS_DONE);
	assert_int_equal(cmos(0x41), 0x66);
}

static int setup_big(void **state)
{
	return pf_setup_mem(state, 6ull << 30, 2);
}

static void test_ram_above_4g(void **state)
{
	vmm_vcpu *v1;

	assert_int_equal(vmm_vcpu_create(pf.vm, 1, &v1), 0);
	assert_int_equal(cmos(0x17) | cmos(0x18) << 8, 0xffff);
	/* a VMM_VM_IRQCHIP VM has RAM to 3 GiB, the rest from 4 GiB */
	assert_int_equal(cmos(0x34) | cmos(0x35) << 8, 0xbf00);   /* (3G - 16M) / 64K */
	/* 3 GiB above 4 GiB in 64 KiB units */
	assert_int_equal(cmos(0x5b) | cmos(0x5c) << 8 | cmos(0x5d) << 16, 0xc000);
	assert_int_equal(cmos(0x5f), 1);
}

static void test_hostile(void **state)
{
	unsigned seed = 99;

	pic_init_pc(0x01);
	for (int i = 0; i < 100000; i++) {
		unsigned r = rand_r(&seed);

		if (r & 1)
			outb((uint16_t)(0x70 + ((r >> 1) & 1)), (r >> 8) & 0xff);
		else
			(void)inb((uint16_t)(0x70 + ((r >> 1) & 1)));
	}
	/* a time past what 64-bit guest ns hold: clamped to 2242 */
	cmos_set(0x0a, 0x26);
	cmos_set(0x0b, 0x82);
	cmos_set(0x32, 0x99);
	cmos_set(0x09, 0x99);
	cmos_set(0x08, 0x12);
	cmos_set(0x07, 0x31);
	cmos_set(0x0b, 0x02);
	wait_no_uip();
	assert_int_equal(cmos(0x32), 0x22);
	assert_int_equal(cmos(0x09), 0x42);
	/* the fastest rate with every interrupt on, for a while */
	cmos_set(0x0a, 0x23);
	cmos_set(0x0b, 0x72);
	sleep_ns(100000000);
	cmos_set(0x0b, 0x02);
	cmos_set(0x0a, 0x26);
	(void)cmos(0x0c);
	assert_int_equal(cmos(0x0d), 0x80);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_time_is_host_utc, pf_setup, pf_teardown),
		cmocka_unit_test_setup_teardown(test_set_time_keeps_offset, pf_setup, pf_teardown),
		cmocka_unit_test_setup_teardown(test_periodic_rate, pf_setup, pf_teardown),
		cmocka_unit_test_setup_teardown(test_update_and_alarm, pf_setup, pf_teardown),
		cmocka_unit_test_setup_teardown(test_uip_and_divider, pf_setup, pf_teardown),
		cmocka_unit_test_setup_teardown(test_nmi_mask_and_ram, pf_setup, pf_teardown),
		cmocka_unit_test_setup_teardown(test_ram_above_4g, setup_big, pf_teardown),
		cmocka_unit_test_setup_teardown(test_hostile, pf_setup, pf_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
