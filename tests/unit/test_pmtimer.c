/* test_pmtimer.c - the ACPI PM timer at VMM__PMTIMER_PORT: 24 bits at
 * 3.579545 MHz against the host clock, byte and word reads, read-only. */
#include "platform_fixture.h"

static void test_rate(void **state)
{
	uint64_t t0 = vmm__now_ns();
	uint32_t a = inl(VMM__PMTIMER_PORT), b;
	uint64_t t1 = vmm__now_ns(), t2, t3;
	double lo, hi, got;

	sleep_ns(50000000);
	t2 = vmm__now_ns();
	b = inl(VMM__PMTIMER_PORT);
	t3 = vmm__now_ns();
	assert_int_equal(a >> 24, 0);
	assert_int_equal(b >> 24, 0);
	got = (double)((b - a) & 0xffffff);
	/* the reads bracket the interval [t2 - t1, t3 - t0] */
	lo = (double)(t2 - t1) * 3.579545e-3 - 2;
	hi = (double)(t3 - t0) * 3.579545e-3 + 2;
	print_message("50 ms: %.0f ticks (window %.0f..%.0f)\n", got, lo, hi);
	assert_true(got >= lo && got <= hi);
}

static void test_monotonic_and_wrap(void **state)
{
	uint32_t prev = inl(VMM__PMTIMER_PORT);

	for (int i = 0; i < 100000; i++) {
		uint32_t v = inl(VMM__PMTIMER_PORT);

		assert_true(((v - prev) & 0xffffff) < 0x800000);   /* forward */
		prev = v;
	}
}

static void test_narrow_reads_and_writes(void **state)
{
	uint32_t v = 0x12345678, w, b2;

	assert_int_equal(vmm__bus_pio(pf.vcpu, VMM__PMTIMER_PORT, 4, 1, &v), VMM__BUS_DONE);
	v = inl(VMM__PMTIMER_PORT);
	w = 0;
	assert_int_equal(vmm__bus_pio(pf.vcpu, VMM__PMTIMER_PORT, 2, 0, &w), VMM__BUS_DONE);
	assert_true(w <= 0xffff);
	b2 = inb(VMM__PMTIMER_PORT + 2);     /* bits 23-16: moves slowly */
	assert_true(b2 == ((v >> 16) & 0xff) || b2 == (((v >> 16) + 1) & 0xff));
	assert_int_equal(inb(VMM__PMTIMER_PORT + 3), 0);
	w = 0;
	assert_int_equal(vmm__bus_pio(pf.vcpu, VMM__PMTIMER_PORT + 2, 2, 0, &w),
			 VMM__BUS_DONE);
	assert_int_equal(w >> 8, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rate, pf_setup, pf_teardown),
		cmocka_unit_test_setup_teardown(test_monotonic_and_wrap, pf_setup, pf_teardown),
		cmocka_unit_test_setup_teardown(test_narrow_reads_and_writes, pf_setup, pf_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
