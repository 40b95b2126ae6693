/* exceptions.c - exception delivery through a guest IDT of 64-bit
 * interrupt gates (rt/idt64.c): #DE (div by zero), #UD (ud2), #GP (a
 * non-canonical address, error code 0) and #PF on a not-present page for a
 * read, a write and an instruction fetch (error codes 0, 2 and 0x10, CR2 =
 * the address). For each, the
 * handler's record of vector, error code, saved RIP (the faulting
 * instruction), CS and RFLAGS is checked. Software interrupts: softint.c.
 * Expected end: debug exit 0; a failed CHECK exits 1. */
#include "common.h"
#include "idt.h"

#define NOT_PRESENT_VA 0x0000100000000000ull /* above the boot map */
#define NON_CANONICAL 0x8000000000000000ull

extern char at_de[], at_ud[], at_gp[], at_pf_r[], at_pf_w[];

static void expect(uint64_t vector, uint64_t error, void *rip, uint16_t cs,
		   uint64_t count)
{
	CHECK_EQ(exc_count, count);
	CHECK_EQ(exc_vector, vector);
	CHECK_EQ(exc_error, error);
	CHECK_EQ(exc_rip, (uint64_t)rip);
	CHECK_EQ(exc_cs, cs);
	CHECK_EQ(exc_rflags & 0x200, 0); /* IF stays clear */
	printf("exceptions: vector %llu error %llu ok\n",
	       (unsigned long long)vector, (unsigned long long)error);
}

__attribute__((noinline)) static void run_tests(uint16_t cs)
{
	EXC_TRIGGER("at_de", "xor %%ecx, %%ecx\n\txor %%edx, %%edx\n\tmov $7, %%eax",
		    "divq %%rcx", "i"(0));
	expect(0, 0, at_de, cs, 1);
	EXC_TRIGGER("at_ud", "", "ud2", "i"(0));
	expect(6, 0, at_ud, cs, 2);
	EXC_TRIGGER("at_gp", "", "mov (%0), %%rax", "r"(NON_CANONICAL));
	expect(13, 0, at_gp, cs, 3);
	EXC_TRIGGER("at_pf_r", "", "mov (%0), %%rax", "r"(NOT_PRESENT_VA + 0x123));
	expect(14, 0, at_pf_r, cs, 4);
	CHECK_EQ(exc_cr2, NOT_PRESENT_VA + 0x123);
	EXC_TRIGGER("at_pf_w", "", "movl $1, (%0)", "r"(NOT_PRESENT_VA + 0x458));
	expect(14, 2, at_pf_w, cs, 5);
	CHECK_EQ(exc_cr2, NOT_PRESENT_VA + 0x458);
	/* instruction fetch: I/D (0x10) is reported because EFER.NXE is on */
	EXC_TRIGGER("at_pf_x", "", "jmp *%0", "r"(NOT_PRESENT_VA + 0x800));
	expect(14, 0x10, (void *)(NOT_PRESENT_VA + 0x800), cs, 6);
	CHECK_EQ(exc_cr2, NOT_PRESENT_VA + 0x800);
}

int guest_main(uint32_t index, uint32_t count)
{
	(void)index;
	(void)count;
	printf("exceptions: start\n");
	run_tests(idt_install());
	guest_pass("exceptions");
}
