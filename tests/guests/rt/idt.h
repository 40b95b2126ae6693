/* idt.h - a minimal 64-bit IDT for guests that test exception delivery.
 * idt_install() points vectors 0-31 and 0x40 at stubs that record what the
 * CPU pushed in exc_* and resume at exc_resume. */
#ifndef GUEST_IDT_H
#define GUEST_IDT_H

#include <stdint.h>

#define IDT_SOFT_VECTOR 0x40

extern volatile uint64_t exc_vector, exc_error, exc_rip, exc_cs, exc_rflags;
extern volatile uint64_t exc_cr2, exc_count, exc_resume;

/* Installs the IDT with interrupt gates for the current CS; returns CS. */
uint16_t idt_install(void);

/* EXC_TRIGGER(label, setup, insn, inputs...): runs setup, then insn at the
 * global label, with exc_resume = the point after insn. The label names
 * must be unique in the guest. */
#define EXC_TRIGGER(label, setup, insn, ...)                                   \
	__asm__ volatile("lea 1f(%%rip), %%rax\n\t"                           \
			 "mov %%rax, exc_resume(%%rip)\n\t" setup "\n"        \
			 ".globl " label "\n" label ":\n\t" insn "\n1:"       \
			 : : __VA_ARGS__ : "rax", "rcx", "rdx", "memory")

#endif /* GUEST_IDT_H */
