/* romem.c - runner-only guest (host test "readonly-memory"): the runner maps
 * one page at ROMEM_GPA with VMM_MEM_RO, byte i = i ^ 0x3c, and writes
 * "host" at +0x100 through vmm_mem_write. The guest checks the page, then
 * writes a dword at +0x10 and a byte at +0xfff: each must reach the runner
 * as an MMIO exit and leave the memory unchanged.
 * Expected end: debug exit 0 (driven with vmm_vcpu_run). */
#include "common.h"

#define ROMEM_GPA 0x20000000ull

static uint8_t expected_byte(uint32_t i)
{
	return i >= 0x100 && i < 0x104 ? (uint8_t)"host"[i - 0x100] : (uint8_t)(i ^ 0x3c);
}

static void check_page(void)
{
	volatile uint8_t *p = (volatile uint8_t *)ROMEM_GPA;

	for (uint32_t i = 0; i < 4096; i++)
		CHECK_EQ(p[i], expected_byte(i));
}

int guest_main(uint32_t index, uint32_t count)
{
	(void)index;
	(void)count;
	check_page();
	printf("romem: page contents ok\n");
	*(volatile uint32_t *)(ROMEM_GPA + 0x10) = 0x12345678;
	*(volatile uint8_t *)(ROMEM_GPA + 0xfff) = 0xaa;
	check_page();
	printf("romem: writes left read-only memory unchanged\n");
	guest_pass("romem");
}
