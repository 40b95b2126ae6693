/* highmem.c - RAM above 4 GiB (run with 6 GiB): the boot identity map must
 * cover all of RAM. The guest finds the end of RAM from its stack (vCPU 0's
 * stack ends at the top of RAM), checks it is 6 GiB, then writes a pattern
 * word every 64 MiB from 3 GiB up to below its stack and reads all back.
 * Expected end: debug exit 0; a failed CHECK exits 1. */
#include "common.h"

#define GIB (1ull << 30)
#define STEP (64ull << 20)

static uint64_t pattern(uint64_t addr)
{
	return addr * 0x9e3779b97f4a7c15ull ^ 0xa5a5a5a5a5a5a5a5ull;
}

int guest_main(uint32_t index, uint32_t count)
{
	uint64_t sp, ram_end, n = 0;

	(void)index;
	(void)count;
	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
	ram_end = (sp + 0xffff) & ~0xffffull;
	printf("highmem: RAM ends at 0x%llx\n", (unsigned long long)ram_end);
	CHECK_EQ(ram_end, 6 * GIB);
	for (uint64_t a = 3 * GIB; a < ram_end - GIB / 2; a += STEP, n++)
		*(volatile uint64_t *)(a + 8 * n) = pattern(a);
	n = 0;
	for (uint64_t a = 3 * GIB; a < ram_end - GIB / 2; a += STEP, n++)
		CHECK_EQ(*(volatile uint64_t *)(a + 8 * n), pattern(a));
	printf("highmem: %llu words between 3 GiB and 5.5 GiB ok\n", (unsigned long long)n);
	guest_pass("highmem");
}
