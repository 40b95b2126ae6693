/* cpuid.c - CPUID basics that every backend shares: a vendor string of 12
 * printable characters, a maximum basic leaf of at least 1, an extended
 * range reaching 0x80000001 and the long-mode bit there. The vendor itself
 * follows the host on kvm (GenuineIntel, AuthenticAMD), so it is only a
 * runner note, not part of the transcript.
 * Expected end: debug exit 0; a failed CHECK exits 1. */
#include "common.h"

int guest_main(uint32_t index, uint32_t count)
{
	uint32_t r[4];
	char vendor[13], note[32];

	(void)index;
	(void)count;
	cpuid(0, 0, r);
	memcpy(vendor, &r[1], 4);      /* EBX, EDX, ECX */
	memcpy(vendor + 4, &r[3], 4);
	memcpy(vendor + 8, &r[2], 4);
	vendor[12] = 0;
	for (int i = 0; i < 12; i++)
		CHECK(vendor[i] >= 0x20 && vendor[i] < 0x7f);
	snprintf(note, sizeof(note), "vendor %s", vendor);
	guest_note(note);
	CHECK(r[0] >= 1);
	printf("cpuid: vendor string ok, max basic leaf >= 1\n");
	cpuid(0x80000000, 0, r);
	CHECK(r[0] >= 0x80000001);
	cpuid(0x80000001, 0, r);
	printf("cpuid: long mode %s\n", (r[3] >> 29) & 1 ? "yes" : "no");
	CHECK((r[3] >> 29) & 1);
	guest_pass("cpuid");
}
