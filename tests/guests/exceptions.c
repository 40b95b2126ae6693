/* exceptions.c - exception and interrupt delivery through a guest IDT of
 * 64-bit interrupt gates: #DE (div by zero), #UD (ud2), #BP (int3, a trap),
 * a software interrupt (int $0x40), #GP (non-canonical address, error code
 * 0) and #PF on a not-present page for a read and a write (error codes 0
 * and 2, CR2 = the address). The handler records vector, error code, the
 * saved RIP and CS, then resumes at a label the test chose.
 * Expected end: debug exit 0; a failed CHECK exits 1. */
#include "common.h"

#define NOT_PRESENT_VA 0x0000100000000000ull /* above the boot map (4 GiB) */
#define NON_CANONICAL 0x8000000000000000ull

struct gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
} __attribute__((packed));

static struct gate idt[0x41] __attribute__((aligned(16)));

/* What the handler saw; exc_resume is where it sends the CPU back to. */
volatile uint64_t exc_vector, exc_error, exc_rip, exc_cs, exc_cr2, exc_count;
volatile uint64_t exc_resume;

/* Stubs push a zero error code where the CPU pushes none, then the vector. */
__asm__(".text\n"
	".macro STUB name, vec, has_error\n"
	".globl \\name\n"
	"\\name:\n"
	".if \\has_error == 0\n"
	"	pushq $0\n"
	".endif\n"
	"	pushq $\\vec\n"
	"	jmp isr_common\n"
	".endm\n"
	"STUB isr_de, 0, 0\n"
	"STUB isr_bp, 3, 0\n"
	"STUB isr_ud, 6, 0\n"
	"STUB isr_gp, 13, 1\n"
	"STUB isr_pf, 14, 1\n"
	"STUB isr_sw, 0x40, 0\n"
	"isr_common:\n"
	"	push %rax\n"
	"	mov 8(%rsp), %rax\n"
	"	mov %rax, exc_vector(%rip)\n"
	"	mov 16(%rsp), %rax\n"
	"	mov %rax, exc_error(%rip)\n"
	"	mov 24(%rsp), %rax\n"
	"	mov %rax, exc_rip(%rip)\n"
	"	mov 32(%rsp), %rax\n"
	"	mov %rax, exc_cs(%rip)\n"
	"	mov %cr2, %rax\n"
	"	mov %rax, exc_cr2(%rip)\n"
	"	mov exc_resume(%rip), %rax\n"
	"	mov %rax, 24(%rsp)\n"
	"	incq exc_count(%rip)\n"
	"	pop %rax\n"
	"	add $16, %rsp\n"
	"	iretq\n");
extern char isr_de[], isr_bp[], isr_ud[], isr_gp[], isr_pf[], isr_sw[];
extern char at_de[], at_ud[], at_bp[], at_sw[], at_gp[], at_pf_r[], at_pf_w[];

static void set_gate(int vec, void *handler, uint16_t cs)
{
	uint64_t a = (uint64_t)handler;

	idt[vec].off_lo = (uint16_t)a;
	idt[vec].sel = cs;
	idt[vec].ist = 0;
	idt[vec].type = 0x8e; /* present, DPL 0, 64-bit interrupt gate */
	idt[vec].off_mid = (uint16_t)(a >> 16);
	idt[vec].off_hi = (uint32_t)(a >> 32);
	idt[vec].zero = 0;
}

static uint16_t install_idt(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint64_t)idt };
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	set_gate(0, isr_de, cs);
	set_gate(3, isr_bp, cs);
	set_gate(6, isr_ud, cs);
	set_gate(13, isr_gp, cs);
	set_gate(14, isr_pf, cs);
	set_gate(0x40, isr_sw, cs);
	__asm__ volatile("lidt %0" : : "m"(idtr) : "memory");
	return cs;
}

/* Each trigger runs setup, then the faulting insn at label, and sets
 * exc_resume to the point after it. */
#define TRIGGER(label, setup, insn, ...)                                       \
	__asm__ volatile("lea 1f(%%rip), %%rax\n\t"                           \
			 "mov %%rax, exc_resume(%%rip)\n\t" setup "\n"        \
			 ".globl " label "\n" label ":\n\t" insn "\n1:"       \
			 : : __VA_ARGS__ : "rax", "rcx", "rdx", "memory")

static void expect(uint64_t vector, uint64_t error, void *rip, uint16_t cs,
		   uint64_t count)
{
	CHECK_EQ(exc_count, count);
	CHECK_EQ(exc_vector, vector);
	CHECK_EQ(exc_error, error);
	CHECK_EQ(exc_rip, (uint64_t)rip);
	CHECK_EQ(exc_cs, cs);
	printf("exceptions: vector %llu error %llu ok\n",
	       (unsigned long long)vector, (unsigned long long)error);
}

__attribute__((noinline)) static void run_tests(uint16_t cs)
{
	TRIGGER("at_de", "xor %%ecx, %%ecx\n\txor %%edx, %%edx\n\tmov $7, %%eax",
		"divq %%rcx", "i"(0));
	expect(0, 0, at_de, cs, 1);
	TRIGGER("at_ud", "", "ud2", "i"(0));
	expect(6, 0, at_ud, cs, 2);
	TRIGGER("at_bp", "", "int3", "i"(0));
	expect(3, 0, at_bp + 1, cs, 3); /* a trap: RIP is after int3 */
	TRIGGER("at_sw", "", "int $0x40", "i"(0));
	expect(0x40, 0, at_sw + 2, cs, 4);
	TRIGGER("at_gp", "", "mov (%0), %%rax", "r"(NON_CANONICAL));
	expect(13, 0, at_gp, cs, 5);
	TRIGGER("at_pf_r", "", "mov (%0), %%rax", "r"(NOT_PRESENT_VA + 0x123));
	expect(14, 0, at_pf_r, cs, 6);
	CHECK_EQ(exc_cr2, NOT_PRESENT_VA + 0x123);
	TRIGGER("at_pf_w", "", "movl $1, (%0)", "r"(NOT_PRESENT_VA + 0x458));
	expect(14, 2, at_pf_w, cs, 7);
	CHECK_EQ(exc_cr2, NOT_PRESENT_VA + 0x458);
}

int guest_main(uint32_t index, uint32_t count)
{
	uint16_t cs;

	(void)index;
	(void)count;
	printf("exceptions: start\n");
	cs = install_idt();
	run_tests(cs);
	guest_pass("exceptions");
}
