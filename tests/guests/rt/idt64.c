/* idt64.c - IDT stubs and installation for the exception tests (idt.h).
 * Each stub pushes a zero error code where the CPU pushes none, then its
 * vector; the common part records vector, error code, the saved RIP, CS and
 * RFLAGS and CR2, points the saved RIP at exc_resume and returns with iretq. */
#include "common.h"
#include "idt.h"

struct gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
} __attribute__((packed));

static struct gate idt[IDT_SOFT_VECTOR + 1] __attribute__((aligned(16)));

volatile uint64_t exc_vector, exc_error, exc_rip, exc_cs, exc_rflags;
volatile uint64_t exc_cr2, exc_count, exc_resume;

__asm__(".text\n"
	".macro IDT_STUB vec\n"
	"idt_stub_\\vec:\n"
	/* vectors 8, 10-14, 17, 21, 29, 30 push an error code */
	".if (\\vec == 8) || (\\vec >= 10 && \\vec <= 14) || (\\vec == 17) || "
	"(\\vec == 21) || (\\vec == 29) || (\\vec == 30)\n"
	".else\n"
	"	pushq $0\n"
	".endif\n"
	"	pushq $\\vec\n"
	"	jmp idt_common\n"
	".endm\n"
	".irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,"
	"24,25,26,27,28,29,30,31,64\n"
	"IDT_STUB \\v\n"
	".endr\n"
	"idt_common:\n"
	"	push %rax\n"
	"	mov 8(%rsp), %rax\n"
	"	mov %rax, exc_vector(%rip)\n"
	"	mov 16(%rsp), %rax\n"
	"	mov %rax, exc_error(%rip)\n"
	"	mov 24(%rsp), %rax\n"
	"	mov %rax, exc_rip(%rip)\n"
	"	mov 32(%rsp), %rax\n"
	"	mov %rax, exc_cs(%rip)\n"
	"	mov 40(%rsp), %rax\n"
	"	mov %rax, exc_rflags(%rip)\n"
	"	mov %cr2, %rax\n"
	"	mov %rax, exc_cr2(%rip)\n"
	"	mov exc_resume(%rip), %rax\n"
	"	mov %rax, 24(%rsp)\n"
	"	lock incq exc_count(%rip)\n"
	"	pop %rax\n"
	"	add $16, %rsp\n"
	"	iretq\n"
	".section .rodata\n"
	".balign 8\n"
	"idt_stub_table:\n"
	".irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,"
	"24,25,26,27,28,29,30,31,64\n"
	"	.quad idt_stub_\\v\n"
	".endr\n"
	".text\n");
extern const uint64_t idt_stub_table[33];

static void set_gate(int vec, uint64_t handler, uint16_t cs)
{
	idt[vec].off_lo = (uint16_t)handler;
	idt[vec].sel = cs;
	idt[vec].ist = 0;
	idt[vec].type = 0x8e; /* present, DPL 0, 64-bit interrupt gate */
	idt[vec].off_mid = (uint16_t)(handler >> 16);
	idt[vec].off_hi = (uint32_t)(handler >> 32);
	idt[vec].zero = 0;
}

uint16_t idt_install(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint64_t)idt };
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	for (int v = 0; v < 32; v++)
		set_gate(v, idt_stub_table[v], cs);
	set_gate(IDT_SOFT_VECTOR, idt_stub_table[32], cs);
	__asm__ volatile("lidt %0" : : "m"(idtr) : "memory");
	return cs;
}
