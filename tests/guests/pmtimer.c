/* pmtimer.c - the ACPI PM timer at 0x608: 24 bits, moving forward, and
 * 3.579545 MHz within 5% over one second of the RTC (both follow the
 * host's clock); the guest TSC over the same second goes to the note.
 * Needs: irqchip. Expected end: debug exit 0. */
#include "cmos.h"

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

int guest_main(uint32_t index __attribute__((unused)), uint32_t count __attribute__((unused)))
{
	uint32_t prev, p0, p1, ticks;
	uint64_t t0, t1;
	char note[96];

	printf("pmtimer: start\n");
	CHECK_EQ(inl(PMTIMER_PORT) >> 24, 0);
	prev = pmtimer();
	for (int i = 0; i < 1000; i++) {
		uint32_t v = pmtimer();

		CHECK(((v - prev) & 0xffffff) < 0x800000);
		prev = v;
	}
	printf("pmtimer: 24 bits, counting up\n");
	CHECK_EQ(wait_second_change(), 0);
	p0 = pmtimer();
	t0 = rdtsc();
	CHECK_EQ(wait_second_change(), 0);
	p1 = pmtimer();
	t1 = rdtsc();
	ticks = (p1 - p0) & 0xffffff;
	snprintf(note, sizeof(note), "%u PM ticks, %llu TSC ticks in one RTC second",
		 ticks, (unsigned long long)(t1 - t0));
	guest_note(note);
	CHECK(ticks >= PMTIMER_HZ / 100 * 95 && ticks <= PMTIMER_HZ / 100 * 105);
	printf("pmtimer: 3.579545 MHz against the RTC\n");
	guest_pass("pmtimer");
}
