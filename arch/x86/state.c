/* state.c - the architectural x86 reset state (Intel SDM vol. 3, 9.1.1),
 * shared by every backend so that all start a vCPU identically. */
#include <string.h>

#include "arch/x86/x86.h"
#include "lib/internal.h"

static void data_seg(vmm_segment *seg, uint8_t type)
{
	memset(seg, 0, sizeof(*seg));
	seg->limit = 0xffff;
	seg->type = type;
	seg->present = 1;
	seg->s = 1;
}

void vmm__x86_reset_state(vmm_regs *regs, vmm_sregs *sregs)
{
	memset(regs, 0, sizeof(*regs));
	memset(sregs, 0, sizeof(*sregs));
	regs->rip = 0xfff0;
	regs->rflags = X86_FL_RSV1;
	regs->rdx = 0x600;          /* family 6 processor signature */

	data_seg(&sregs->cs, 0xb);  /* execute/read, accessed */
	sregs->cs.selector = 0xf000;
	sregs->cs.base = 0xffff0000ull;
	data_seg(&sregs->ds, 0x3);  /* read/write, accessed */
	sregs->es = sregs->ss = sregs->fs = sregs->gs = sregs->ds;

	sregs->ldt.limit = 0xffff;
	sregs->ldt.type = X86_DESC_LDT;
	sregs->ldt.present = 1;
	sregs->tr.limit = 0xffff;
	sregs->tr.type = X86_DESC_TSS16_BUSY;
	sregs->tr.present = 1;
	sregs->gdt.limit = 0xffff;
	sregs->idt.limit = 0xffff;

	sregs->cr0 = X86_CR0_ET | X86_CR0_NW | X86_CR0_CD;
	sregs->apic_base = 0xfee00000ull | (1ull << 11) | (1ull << 8);
}
