/* cmos.h - MC146818 access for the rtc and pmtimer guests (ports 0x70,
 * 0x71), and the ACPI PM timer port the VMM puts at PMBASE 0x600 + 8. */
#ifndef GUEST_CMOS_H
#define GUEST_CMOS_H

#include "common.h"

#define PMTIMER_PORT 0x608
#define PMTIMER_HZ 3579545u

static inline uint8_t cmos_read(uint8_t index)
{
	outb(0x70, index);
	return inb(0x71);
}

static inline void cmos_write(uint8_t index, uint8_t v)
{
	outb(0x70, index);
	outb(0x71, v);
}

static inline unsigned from_bcd(uint8_t v)
{
	return (v >> 4) * 10u + (v & 0xf);
}

static inline uint32_t pmtimer(void)
{
	return inl(PMTIMER_PORT) & 0xffffff;
}

/* Spins until the seconds register changes (at most ~2 s of PM timer
 * ticks); returns 0, or -1 if it never did. */
static inline int wait_second_change(void)
{
	uint8_t s = cmos_read(0x00);
	uint32_t t0 = pmtimer(), waited = 0;

	while (cmos_read(0x00) == s) {
		uint32_t t = pmtimer();

		waited += (t - t0) & 0xffffff;
		t0 = t;
		if (waited > 2 * PMTIMER_HZ)
			return -1;
	}
	return 0;
}

#endif /* GUEST_CMOS_H */
