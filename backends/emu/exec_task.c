/* exec_task.c - hardware task switches (Intel SDM vol. 3, 7.3 "Task
 * Switching") between 32-bit TSSs (type 9/11) and 16-bit ones (type 1/3,
 * 7.6 "16-bit TSS"), in any mix: JMP or CALL to a TSS or task gate, IRET
 * with RFLAGS.NT (back to the previous task), and interrupts and
 * exceptions through task gates (except.c). The current state goes to the
 * current TSS in its format, the new one comes from the new TSS (CR3 and
 * EIP, EFLAGS, the general registers, LDTR and the segment registers from a
 * 32-bit one; IP, FLAGS, the low words of the general registers (the upper
 * words become 0xffff, as on Intel CPUs and in QEMU/Bochs), ES CS SS DS and
 * LDTR from a 16-bit one, which has no CR3, FS or GS: CR3 stays, FS and GS
 * become null); busy bits, the back link and NT as the SDM's table 7-2
 * says; CR0.TS is set. Long mode has no task switches. */
#include "arch/x86/desc.h"
#include "backends/emu/exec.h"


/* The 8-byte GDT descriptor of a TSS selector, and its address. */
static int tss_desc(emu_cpu *cpu, uint16_t sel, uint64_t *raw, uint64_t *addr)
{
	uint64_t hi;

	if (sel & 4)
		return emu_fault(cpu, X86_EXC_GP, 1, sel & 0xfffc);   /* not in the LDT */
	*addr = cpu->gdt.base + (sel & 0xfff8u);
	return emu_read_desc(cpu, sel, 0, raw, &hi);
}

static int set_busy(emu_cpu *cpu, uint16_t sel, int busy)
{
	uint64_t raw, addr;
	int rc = tss_desc(cpu, sel, &raw, &addr);

	if (rc)
		return rc;
	raw = busy ? raw | (2ull << 40) : raw & ~(2ull << 40);
	return emu_sys_write(cpu, addr, &raw, 8);
}

static int is_tss16(unsigned type)
{
	return type == X86_DESC_TSS16_AVAIL || type == X86_DESC_TSS16_BUSY;
}

/* 16-bit TSS: IP at 14, FLAGS, AX CX DX BX SP BP SI DI, ES CS SS DS, LDT at 42. */
static int save_state16(emu_cpu *cpu, uint64_t eip, uint64_t eflags)
{
	uint16_t v[14];

	v[0] = (uint16_t)eip;
	v[1] = (uint16_t)eflags;
	for (unsigned i = 0; i < 8; i++)
		v[2 + i] = (uint16_t)cpu->r[i];
	for (unsigned s = 0; s < 4; s++)
		v[10 + s] = cpu->seg[s].selector;     /* ES CS SS DS */
	return emu_sys_write(cpu, cpu->tr.base + 14, v, sizeof(v));
}

/* Saves the outgoing state into the current TSS. */
static int save_state(emu_cpu *cpu, uint64_t eip, uint64_t eflags)
{
	uint32_t v[18];
	int rc;

	if (is_tss16(cpu->tr.type))
		return save_state16(cpu, eip, eflags);
	v[0] = (uint32_t)eip;
	v[1] = (uint32_t)eflags;
	for (unsigned i = 0; i < 8; i++)
		v[2 + i] = (uint32_t)cpu->r[i];
	for (unsigned s = 0; s < 6; s++)
		v[10 + s] = cpu->seg[s].selector;
	rc = emu_sys_write(cpu, cpu->tr.base + 32, v, 16 * 4);
	return rc;
}

static int load_cs(emu_cpu *cpu, uint16_t sel)
{
	vmm_segment cs;
	uint64_t lo, hi;
	int rc;

	if ((sel & 0xfffc) == 0)
		return emu_fault(cpu, X86_EXC_TS, 1, 0);
	rc = emu_read_desc(cpu, sel, 0, &lo, &hi);
	if (rc)
		return rc;
	vmm__x86_desc_decode(lo, 0, sel, &cs);
	if (!cs.s || !(cs.type & 8) || ((cs.type & 4) ? cs.dpl > (sel & 3) : cs.dpl != (sel & 3)))
		return emu_fault(cpu, X86_EXC_TS, 1, sel & 0xfffc);
	if (!cs.present)
		return emu_fault(cpu, X86_EXC_NP, 1, sel & 0xfffc);
	emu_set_cs(cpu, &cs, sel & 3);
	return EMU_OK;
}

static int load_ldt(emu_cpu *cpu, uint16_t sel)
{
	uint64_t lo, hi;

	if ((sel & 0xfffc) == 0) {
		memset(&cpu->ldt, 0, sizeof(cpu->ldt));
		cpu->ldt.selector = sel;
		cpu->ldt.unusable = 1;
		return EMU_OK;
	}
	if (sel & 4 || emu_read_desc(cpu, sel, 0, &lo, &hi))
		return emu_fault(cpu, X86_EXC_TS, 1, sel & 0xfffc);
	vmm__x86_desc_decode(lo, 0, sel, &cpu->ldt);
	if (cpu->ldt.s || cpu->ldt.type != X86_DESC_LDT || !cpu->ldt.present)
		return emu_fault(cpu, X86_EXC_TS, 1, sel & 0xfffc);
	return EMU_OK;
}

/* The LDT, CS, then the other segment registers (sel[] in ES CS SS DS FS
 * GS order). */
static int load_segs(emu_cpu *cpu, uint16_t ldt, const uint16_t sel[6])
{
	int rc = load_ldt(cpu, ldt);

	if (!rc)
		rc = load_cs(cpu, sel[X86_SEG_CS]);
	for (unsigned s = 0; s < 6 && !rc; s++)
		if (s != X86_SEG_CS)
			rc = emu_load_seg(cpu, s, sel[s]);
	return rc;
}

static int load_state16(emu_cpu *cpu, int nest)
{
	uint16_t v[15], sel[6] = { 0 };
	int rc = emu_sys_read(cpu, cpu->tr.base + 14, v, sizeof(v));

	if (rc)
		return rc;
	cpu->rip = v[0];
	emu_set_rflags(cpu, v[1] | (nest ? X86_FL_NT : 0));
	for (unsigned i = 0; i < 8; i++)
		cpu->r[i] = 0xffff0000u | v[2 + i];
	for (unsigned s = 0; s < 4; s++)
		sel[s] = v[10 + s];
	return load_segs(cpu, v[14], sel);
}

/* Loads the incoming task's state from the (new) current TSS. */
static int load_state(emu_cpu *cpu, int nest)
{
	uint32_t v[18], cr3 = 0, ldt = 0;
	uint16_t sel[6];
	int rc;

	if (is_tss16(cpu->tr.type))
		return load_state16(cpu, nest);
	rc = emu_sys_read(cpu, cpu->tr.base + 28, &cr3, 4);
	if (!rc)
		rc = emu_sys_read(cpu, cpu->tr.base + 32, v, 16 * 4);
	if (!rc)
		rc = emu_sys_read(cpu, cpu->tr.base + 96, &ldt, 2);
	if (rc)
		return rc;
	if ((cpu->cr0 & X86_CR0_PG) && (rc = emu_set_cr3(cpu, cr3)))
		return rc;
	cpu->rip = v[0];
	emu_set_rflags(cpu, (v[1] & ~(uint64_t)X86_FL_VM) | (nest ? X86_FL_NT : 0));
	for (unsigned i = 0; i < 8; i++)
		cpu->r[i] = v[2 + i];
	for (unsigned s = 0; s < 6; s++)
		sel[s] = (uint16_t)v[10 + s];
	return load_segs(cpu, (uint16_t)ldt, sel);
}

/* The minimum limit of a TSS of this type: 0x2b (16-bit), 0x67 (32-bit). */
static uint32_t tss_min_limit(unsigned type)
{
	return is_tss16(type) ? 0x2b : 0x67;
}

int emu_task_switch(emu_cpu *cpu, uint16_t sel, unsigned reason, uint64_t eip)
{
	uint64_t raw, addr, eflags = emu_get_rflags(cpu);
	uint16_t old = cpu->tr.selector;
	vmm_segment tss;
	int rc = tss_desc(cpu, sel, &raw, &addr), busy;

	if (rc)
		return rc;
	vmm__x86_desc_decode(raw, 0, sel, &tss);
	busy = !!(tss.type & 2);
	if (tss.s || (tss.type != X86_DESC_TSS_AVAIL && tss.type != X86_DESC_TSS_BUSY &&
		      !is_tss16(tss.type)))
		return emu_gp(cpu, sel & 0xfffc);
	if (reason == EMU_TASK_IRET ? !busy : busy)
		return reason == EMU_TASK_IRET ? emu_fault(cpu, X86_EXC_TS, 1, sel & 0xfffc)
					       : emu_gp(cpu, sel & 0xfffc);
	if (!tss.present)
		return emu_fault(cpu, X86_EXC_NP, 1, sel & 0xfffc);
	if (tss.limit < tss_min_limit(tss.type))
		return emu_fault(cpu, X86_EXC_TS, 1, sel & 0xfffc);
	if ((cpu->tr.type != X86_DESC_TSS_BUSY && cpu->tr.type != X86_DESC_TSS16_BUSY) ||
	    cpu->tr.limit < tss_min_limit(cpu->tr.type))
		return emu_internal_error(cpu, "emu: task switch from a task without a "
					  "busy TSS (TR 0x%x)", old);
	if (reason == EMU_TASK_IRET)
		eflags &= ~X86_FL_NT;
	rc = save_state(cpu, eip, eflags);
	if (!rc && (reason == EMU_TASK_JMP || reason == EMU_TASK_IRET))
		rc = set_busy(cpu, old, 0);
	if (!rc && reason != EMU_TASK_IRET)
		rc = set_busy(cpu, sel, 1);
	if (!rc && (reason == EMU_TASK_CALL || reason == EMU_TASK_INT))
		rc = emu_sys_write(cpu, tss.base, &old, 2);          /* back link */
	if (rc)
		return rc;
	tss.type |= 2;                       /* busy, of its kind */
	cpu->tr = tss;
	cpu->cr0 |= X86_CR0_TS;
	emu_update_mode(cpu);
	rc = load_state(cpu, reason == EMU_TASK_CALL || reason == EMU_TASK_INT);
	return rc ? rc : EMU_JUMP;
}
