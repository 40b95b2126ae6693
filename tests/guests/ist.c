/* ist.c - 64-bit IDT delivery on Interrupt Stack Table stacks (CPL 0 to
 * CPL 0): gates with IST 1, 2 and 3 for #UD, #GP and #DE switch RSP to
 * TSS.IST1..3 even without a privilege change, aligned down to 16 bytes
 * (IST3 is 8 off), and push the full frame there: SS (0x10 as it was), the
 * interrupted RSP, RFLAGS, CS, RIP and, for #GP, the error code. A gate
 * with IST 0 keeps the current stack. The SDM, vol. 3, 6.14.5 "Interrupt
 * Stack Table" and 6.14.2 "64-Bit Mode Stack Frame".
 * Expected end: debug exit 0; a failed CHECK exits 1. */
#include "common.h"
#include "idt.h"
#include "ring.h"

static uint8_t ist_stack[3][1024] __attribute__((aligned(16)));
volatile uint64_t h_rsp, h_frame[6], h_resume;

/* Records RSP and the frame (6 quadwords from RSP), resumes at h_resume. */
__asm__(".text\n"
	"ist_handler:\n"
	"	mov %rsp, h_rsp(%rip)\n"
	"	push %rax\n	push %rcx\n	push %rdx\n"
	"	lea 24(%rsp), %rax\n"
	"	lea h_frame(%rip), %rdx\n"
	"	xor %ecx, %ecx\n"
	"1:	mov (%rax,%rcx,8), %rax\n"
	"	mov %rax, (%rdx,%rcx,8)\n"
	"	lea 24(%rsp), %rax\n"
	"	inc %ecx\n"
	"	cmp $6, %ecx\n"
	"	jb 1b\n"
	"	pop %rdx\n	pop %rcx\n	pop %rax\n"
	"	cmpq $13, h_vec(%rip)\n"
	"	jne 2f\n"
	"	add $8, %rsp\n"                  /* #GP: drop the error code */
	"2:	push %rax\n"
	"	mov h_resume(%rip), %rax\n"
	"	mov %rax, 8(%rsp)\n"
	"	pop %rax\n"
	"	iretq\n");
extern char ist_handler[], ud_at[], gp_at[], de_at[], ud0_at[];
volatile uint64_t h_vec;

static uint64_t top(int i)
{
	return (uint64_t)(ist_stack[i] + sizeof(ist_stack[i]));
}

#define TRIGGER(label, setup, insn, ...)                                             \
	__asm__ volatile("lea 1f(%%rip), %%rax\n\tmov %%rax, h_resume(%%rip)\n\t"     \
			 setup "\n\t.globl " label "\n" label ": " insn "\n1:"        \
			 : : __VA_ARGS__ : "rax", "rcx", "rdx", "memory")

static void check_frame(uint64_t rsp, void *rip, uint16_t cs, uint64_t cur_rsp, int err)
{
	unsigned o = err ? 1 : 0;

	CHECK_EQ(h_rsp, rsp);
	if (err)
		CHECK_EQ(h_frame[0], 0);                 /* #GP(0) */
	CHECK_EQ(h_frame[o + 0], (uint64_t)rip);
	CHECK_EQ(h_frame[o + 1], cs);
	CHECK_EQ(h_frame[o + 3], cur_rsp);
	CHECK_EQ(h_frame[o + 4], SEL_KDATA);
}

int guest_main(uint32_t index, uint32_t count)
{
	uint16_t cs;
	uint64_t sp;

	(void)index;
	(void)count;
	cs = idt_install();
	ring_setup();
	ring_tss.ist[0] = top(0);
	ring_tss.ist[1] = top(1);
	ring_tss.ist[2] = top(2) - 8;                   /* misaligned on purpose */
	ring_set_gate(6, ist_handler, 0, 1);
	ring_set_gate(13, ist_handler, 0, 2);
	ring_set_gate(0, ist_handler, 0, 3);

	h_vec = 6;
	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
	TRIGGER("ud_at", "", "ud2", "i"(0));
	check_frame(top(0) - 40, ud_at, cs, sp, 0);
	printf("ist: #UD on IST1 ok\n");

	h_vec = 13;
	TRIGGER("gp_at", "movabs $0x8000000000000000, %%rcx", "mov (%%rcx), %%rax", "i"(0));
	check_frame(top(1) - 48, gp_at, cs, sp, 1);
	printf("ist: #GP on IST2 with error code ok\n");

	h_vec = 0;
	TRIGGER("de_at", "xor %%ecx, %%ecx\n\txor %%edx, %%edx\n\tmov $1, %%eax", "div %%ecx",
		"i"(0));
	check_frame(top(2) - 16 - 40, de_at, cs, sp, 0);
	printf("ist: #DE on IST3 aligned to 16 ok\n");

	h_vec = 6;
	ring_set_gate(6, ist_handler, 0, 0);
	TRIGGER("ud0_at", "", "ud2", "i"(0));
	check_frame((sp & ~15ull) - 40, ud0_at, cs, sp, 0);
	printf("ist: IST 0 keeps the stack ok\n");
	guest_pass("ist");
}
