/* exec_verw.c - VERR and VERW (0F 00 /4, /5): may the current privilege
 * level read / write through this selector? They set ZF and never fault on
 * the selector itself (only on reading the operand). Linux runs VERW on
 * every return to user space as its MDS buffer clearing. */
#include "backends/emu/exec.h"

static int accessible(emu_cpu *cpu, uint16_t sel, int write)
{
	uint64_t base = cpu->gdt.base, limit = cpu->gdt.limit, d = 0;
	unsigned type, dpl, rpl = sel & 3;

	if ((sel & 0xfffc) == 0)
		return 0;
	if (sel & 4) {
		if (cpu->ldt.unusable || !cpu->ldt.present)
			return 0;
		base = cpu->ldt.base;
		limit = cpu->ldt.limit;
	}
	if ((uint64_t)(sel & 0xfff8u) + 7 > limit)
		return 0;
	if (emu_sys_read(cpu, base + (sel & 0xfff8u), &d, 8) != EMU_OK)
		return -1;
	type = (unsigned)(d >> 40) & 0xf;
	dpl = (unsigned)(d >> 45) & 3;
	if (!((d >> 44) & 1))                       /* system descriptor */
		return 0;
	if (type & 8) {                             /* code */
		if (write || !(type & 2))
			return 0;
		if (type & 4)                       /* conforming: no DPL check */
			return 1;
	} else if (write && !(type & 2)) {
		return 0;
	}
	return dpl >= cpu->cpl && dpl >= rpl;
}

int emu_h_verrw(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t sel;
	int ok, rc;

	if (!(cpu->cr0 & X86_CR0_PE) || (cpu->rflags & X86_FL_VM))
		return emu_ud(cpu);
	rc = emu_rm_read(cpu, ins, EMU_SZ16, &sel);
	if (rc)
		return rc;
	ok = accessible(cpu, (uint16_t)sel, ins->aux);
	if (ok < 0)
		return EMU_FAULT;                   /* the descriptor read faulted */
	emu_set_rflags(cpu, (emu_get_rflags(cpu) & ~X86_FL_ZF) | (ok ? X86_FL_ZF : 0));
	return EMU_OK;
}
