/* exec_seg.c - segmentation: descriptor reads from the GDT/LDT, segment
 * register loads with the protected-mode checks, MOV/PUSH/POP Sreg, LDS &co,
 * LTR/LLDT/STR/SLDT. Real mode loads base = selector * 16. */
#include "arch/x86/desc.h"
#include "backends/emu/exec.h"
#include "backends/emu/intr.h"
#include "backends/emu/exec_tab.h"

int emu_sys_read(emu_cpu *cpu, uint64_t la, void *buf, unsigned n)
{
	memset(buf, 0, n);
	return emu_mem_read_slow(cpu, la & cpu->linmask, buf, n, EMU_ACC_SYS);
}

int emu_sys_write(emu_cpu *cpu, uint64_t la, const void *buf, unsigned n)
{
	return emu_mem_write_slow(cpu, la & cpu->linmask, buf, n, EMU_ACC_SYS);
}

static int protected_mode(const emu_cpu *cpu)
{
	return (cpu->cr0 & X86_CR0_PE) && !(cpu->rflags & X86_FL_VM);
}

/* Reads the (8- or, with wide, 16-byte) descriptor for sel; #GP(sel) when
 * it lies outside the table. */
int emu_read_desc(emu_cpu *cpu, uint16_t sel, int wide, uint64_t *lo, uint64_t *hi)
{
	uint64_t base = cpu->gdt.base, limit = cpu->gdt.limit, off = sel & 0xfff8u;
	uint64_t d[2] = { 0, 0 };
	int rc;

	if (sel & 4) {
		if (cpu->ldt.unusable || !cpu->ldt.present)
			return emu_gp(cpu, sel & 0xfffc);
		base = cpu->ldt.base;
		limit = cpu->ldt.limit;
	}
	if (off + (wide ? 15 : 7) > limit)
		return emu_gp(cpu, sel & 0xfffc);
	rc = emu_sys_read(cpu, base + off, d, wide ? 16 : 8);
	*lo = d[0];
	*hi = d[1];
	return rc;
}

static void null_seg(vmm_segment *s, uint16_t sel)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->unusable = 1;
	s->dpl = sel & 3;
}

static int check_ss(emu_cpu *cpu, const vmm_segment *d, uint16_t sel, unsigned cpl)
{
	if ((sel & 3) != cpl || d->dpl != cpl || !d->s || (d->type & 8) || !(d->type & 2))
		return emu_gp(cpu, sel & 0xfffc);
	if (!d->present)
		return emu_fault(cpu, X86_EXC_SS, 1, sel & 0xfffc);
	return EMU_OK;
}

static int check_data(emu_cpu *cpu, const vmm_segment *d, uint16_t sel)
{
	int code = d->type & 8, conforming = code && (d->type & 4);

	if (!d->s || (code && !(d->type & 2)))
		return emu_gp(cpu, sel & 0xfffc);
	if (!conforming && ((sel & 3) > d->dpl || cpu->cpl > d->dpl))
		return emu_gp(cpu, sel & 0xfffc);
	if (!d->present)
		return emu_fault(cpu, X86_EXC_NP, 1, sel & 0xfffc);
	return EMU_OK;
}

/* The descriptor for SS at privilege cpl (far returns, IRET, gates). A
 * null selector is allowed when allow_null (64-bit code below CPL 3). */
int emu_ss_for_cpl(emu_cpu *cpu, uint16_t sel, unsigned cpl, int allow_null,
		   vmm_segment *out)
{
	uint64_t lo, hi;
	int rc;

	if ((sel & 0xfffc) == 0) {
		if (!allow_null || cpl == 3)
			return emu_gp(cpu, 0);
		null_seg(out, sel);
		out->dpl = (uint8_t)cpl;
		return EMU_OK;
	}
	rc = emu_read_desc(cpu, sel, 0, &lo, &hi);
	if (rc)
		return rc;
	vmm__x86_desc_decode(lo, 0, sel, out);
	return check_ss(cpu, out, sel, cpl);
}

/* Loads a data segment register (ES SS DS FS GS). */
int emu_load_seg(emu_cpu *cpu, unsigned seg, uint16_t sel)
{
	vmm_segment d;
	uint64_t lo, hi;
	int rc;

	if (seg == X86_SEG_SS) {
		/* MOV SS / POP SS: interrupts and #DB wait an instruction
		 * (LSS too: a harmless delay) */
		emu_shadow_start(cpu);
		cpu->shadow_ss = 1;
	}
	if (!protected_mode(cpu)) {
		cpu->seg[seg].selector = sel;
		cpu->seg[seg].base = (uint64_t)sel << 4;
		emu_update_mode(cpu);
		return EMU_OK;
	}
	if ((sel & 0xfffc) == 0) {
		if (seg == X86_SEG_SS && !(cpu->code_sz == EMU_SZ64 && cpu->cpl < 3 &&
					   (sel & 3) == cpu->cpl))
			return emu_gp(cpu, 0);
		null_seg(&cpu->seg[seg], sel);
		emu_update_mode(cpu);
		return EMU_OK;
	}
	rc = emu_read_desc(cpu, sel, 0, &lo, &hi);
	if (rc)
		return rc;
	vmm__x86_desc_decode(lo, 0, sel, &d);
	rc = seg == X86_SEG_SS ? check_ss(cpu, &d, sel, cpu->cpl) : check_data(cpu, &d, sel);
	if (rc)
		return rc;
	if (seg == X86_SEG_FS || seg == X86_SEG_GS)
		d.base &= 0xffffffffull;
	cpu->seg[seg] = d;
	emu_update_mode(cpu);
	return EMU_OK;
}

/* ---- MOV / PUSH / POP Sreg, LDS & co ------------------------------------------ */

int emu_h_mov_from_sreg(emu_cpu *cpu, const emu_insn *ins)
{
	if (ins->op > 5)
		return emu_ud(cpu);
	if (ins->mem)
		return emu_rm_write(cpu, ins, EMU_SZ16, cpu->seg[ins->op].selector);
	return emu_rm_write(cpu, ins, ins->osz, cpu->seg[ins->op].selector);
}

int emu_h_mov_to_sreg(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t v;
	int rc;

	if (ins->op > 5 || ins->op == X86_SEG_CS)
		return emu_ud(cpu);
	rc = emu_rm_read(cpu, ins, EMU_SZ16, &v);
	if (rc)
		return rc;
	return emu_load_seg(cpu, ins->op, (uint16_t)v);
}

int emu_h_push_sreg(emu_cpu *cpu, const emu_insn *ins)
{
	return emu_push(cpu, ins->osz, cpu->seg[ins->op].selector);
}

int emu_h_pop_sreg(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t v;
	int rc = emu_stack_read(cpu, ins->osz, 0, &v);

	if (rc)
		return rc;
	rc = emu_load_seg(cpu, ins->op, (uint16_t)v);
	if (rc)
		return rc;
	emu_set_sp(cpu, cpu->r[R_SP] + (1u << ins->osz));
	return EMU_OK;
}

/* LDS LES LSS LFS LGS: offset then selector from memory. */
int emu_h_lxs(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t la = emu_ea(cpu, ins), off, sel;
	int rc;

	if (!ins->mem)
		return emu_ud(cpu);
	rc = emu_read(cpu, la, ins->osz, &off);
	if (!rc)
		rc = emu_read(cpu, (la + (1u << ins->osz)) & cpu->linmask, EMU_SZ16, &sel);
	if (!rc)
		rc = emu_load_seg(cpu, ins->op, (uint16_t)sel);
	if (rc)
		return rc;
	emu_reg_set(cpu, ins->reg, ins->osz, off);
	return EMU_OK;
}

/* ---- Task register and LDT -------------------------------------------------------- */

static int load_system_seg(emu_cpu *cpu, uint16_t sel, int want_tss, vmm_segment *out)
{
	uint64_t lo, hi;
	int wide = cpu->long_mode, rc;

	if (sel & 4)
		return emu_gp(cpu, sel & 0xfffc);
	rc = emu_read_desc(cpu, sel, wide, &lo, &hi);
	if (rc)
		return rc;
	vmm__x86_desc_decode(lo, wide ? hi : 0, sel, out);
	if (out->s || (want_tss ? !(out->type == X86_DESC_TSS_AVAIL ||
				    (!wide && out->type == X86_DESC_TSS16_AVAIL))
				: out->type != X86_DESC_LDT))
		return emu_gp(cpu, sel & 0xfffc);
	if (!out->present)
		return emu_fault(cpu, X86_EXC_NP, 1, sel & 0xfffc);
	if (wide && !vmm__x86_canonical(out->base))     /* LTR, LLDT: #GP(sel) */
		return emu_gp(cpu, sel & 0xfffc);
	return EMU_OK;
}

int emu_h_ltr(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t v;
	uint8_t type_byte;
	vmm_segment tr;
	int rc;

	if (!protected_mode(cpu))
		return emu_ud(cpu);
	if (cpu->cpl)
		return emu_gp(cpu, 0);
	rc = emu_rm_read(cpu, ins, EMU_SZ16, &v);
	if (rc)
		return rc;
	if ((v & 0xfffc) == 0)
		return emu_gp(cpu, 0);
	rc = load_system_seg(cpu, (uint16_t)v, 1, &tr);
	if (rc)
		return rc;
	type_byte = (uint8_t)(0x80 | (tr.dpl << 5) | (tr.type | 2));    /* busy */
	rc = emu_sys_write(cpu, cpu->gdt.base + (v & 0xfff8) + 5, &type_byte, 1);
	if (rc)
		return rc;
	tr.type |= 2;
	cpu->tr = tr;
	return EMU_OK;
}

int emu_h_lldt(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t v;
	vmm_segment ldt;
	int rc;

	if (!protected_mode(cpu))
		return emu_ud(cpu);
	if (cpu->cpl)
		return emu_gp(cpu, 0);
	rc = emu_rm_read(cpu, ins, EMU_SZ16, &v);
	if (rc)
		return rc;
	if ((v & 0xfffc) == 0) {
		null_seg(&cpu->ldt, (uint16_t)v);
		return EMU_OK;
	}
	rc = load_system_seg(cpu, (uint16_t)v, 0, &ldt);
	if (rc)
		return rc;
	cpu->ldt = ldt;
	return EMU_OK;
}

static int store_sel(emu_cpu *cpu, const emu_insn *ins, uint16_t sel)
{
	if (!protected_mode(cpu))
		return emu_ud(cpu);
	return emu_rm_write(cpu, ins, ins->mem ? EMU_SZ16 : ins->osz, sel);
}

int emu_h_str(emu_cpu *cpu, const emu_insn *ins) { return store_sel(cpu, ins, cpu->tr.selector); }
int emu_h_sldt(emu_cpu *cpu, const emu_insn *ins) { return store_sel(cpu, ins, cpu->ldt.selector); }
