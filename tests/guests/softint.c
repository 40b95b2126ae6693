/* softint.c - software interrupts through a guest IDT (rt/idt64.c): int3
 * (#BP, a trap: the saved RIP is after the 1-byte int3), int $0x40 (saved
 * RIP after the 2-byte instruction), and the 2-byte form cd 03, which is
 * also vector 3. Expected end: debug exit 0; a failed CHECK exits 1. */
#include "common.h"
#include "idt.h"

extern char at_int3[], at_int40[], at_int_03[];

static void expect(uint64_t vector, void *rip, uint16_t cs, uint64_t count)
{
	CHECK_EQ(exc_count, count);
	CHECK_EQ(exc_vector, vector);
	CHECK_EQ(exc_error, 0);
	CHECK_EQ(exc_rip, (uint64_t)rip);
	CHECK_EQ(exc_cs, cs);
	printf("softint: vector %llu ok\n", (unsigned long long)vector);
}

__attribute__((noinline)) static void run_tests(uint16_t cs)
{
	EXC_TRIGGER("at_int3", "", "int3", "i"(0));
	expect(3, at_int3 + 1, cs, 1);
	EXC_TRIGGER("at_int40", "", "int $0x40", "i"(0));
	expect(IDT_SOFT_VECTOR, at_int40 + 2, cs, 2);
	EXC_TRIGGER("at_int_03", "", ".byte 0xcd, 0x03", "i"(0));
	expect(3, at_int_03 + 2, cs, 3);
}

int guest_main(uint32_t index, uint32_t count)
{
	(void)index;
	(void)count;
	printf("softint: start\n");
	run_tests(idt_install());
	guest_pass("softint");
}
