/* exec_far.c - transfers that load CS: far JMP/CALL/RET (direct and
 * indirect), IRET in every mode, SYSCALL/SYSRET, SYSENTER/SYSEXIT. Call
 * gates: exec_gate.c; task switches: exec_task.c. */
#include "arch/x86/desc.h"
#include "arch/x86/msr.h"
#include "backends/emu/exec.h"
#include "backends/emu/intr.h"
#include "backends/emu/exec_tab.h"

static int protected_mode(const emu_cpu *cpu)
{
	return (cpu->cr0 & X86_CR0_PE) && !(cpu->rflags & X86_FL_VM);
}

void emu_set_cs(emu_cpu *cpu, const vmm_segment *cs, unsigned cpl)
{
	cpu->seg[X86_SEG_CS] = *cs;
	cpu->cpl = (uint8_t)cpl;
	emu_update_mode(cpu);
}

void emu_null_outer_segs(emu_cpu *cpu)
{
	static const unsigned segs[] = { X86_SEG_ES, X86_SEG_DS, X86_SEG_FS, X86_SEG_GS };

	for (unsigned i = 0; i < 4; i++) {
		vmm_segment *s = &cpu->seg[segs[i]];
		int conforming_code = (s->type & 0xc) == 0xc;

		if (!s->unusable && s->s && !conforming_code && s->dpl < cpu->cpl) {
			uint64_t base = s->base;

			/* only the selector becomes null (SDM IRET): the
			 * hidden FS/GS bases still count in 64-bit mode */
			memset(s, 0, sizeof(*s));
			s->unusable = 1;
			if (cpu->long_mode)
				s->base = base;
		}
	}
	emu_update_mode(cpu);
}

static void real_cs(const emu_cpu *cpu, uint16_t sel, vmm_segment *out)
{
	*out = cpu->seg[X86_SEG_CS];
	out->selector = sel;
	out->base = (uint64_t)sel << 4;
}

/* The code segment for a far JMP/CALL at the current privilege; *gate set
 * (status EMU_OK) if sel names a system descriptor (exec_gate.c). */
static int jump_target(emu_cpu *cpu, uint16_t sel, vmm_segment *d, int *gate)
{
	uint64_t lo, hi;
	int rc;

	*gate = 0;
	if (!protected_mode(cpu)) {
		real_cs(cpu, sel, d);
		return EMU_OK;
	}
	if ((sel & 0xfffc) == 0)
		return emu_gp(cpu, 0);
	rc = emu_read_desc(cpu, sel, 0, &lo, &hi);
	if (rc)
		return rc;
	vmm__x86_desc_decode(lo, 0, sel, d);
	if (!d->s) {
		*gate = 1;
		return EMU_OK;
	}
	if (!(d->type & 8))
		return emu_gp(cpu, sel & 0xfffc);
	if ((d->type & 4) ? d->dpl > cpu->cpl : ((sel & 3) > cpu->cpl || d->dpl != cpu->cpl))
		return emu_gp(cpu, sel & 0xfffc);
	if (!d->present)
		return emu_fault(cpu, X86_EXC_NP, 1, sel & 0xfffc);
	if (cpu->long_mode && d->l && d->db)
		return emu_gp(cpu, sel & 0xfffc);
	d->selector = (uint16_t)((sel & 0xfffc) | cpu->cpl);
	return EMU_OK;
}

/* The code segment for a far RET / IRET: new CPL = RPL >= CPL. */
static int return_target(emu_cpu *cpu, uint16_t sel, vmm_segment *d)
{
	uint64_t lo, hi;
	unsigned rpl = sel & 3;
	int rc;

	if ((sel & 0xfffc) == 0)
		return emu_gp(cpu, 0);
	if (rpl < cpu->cpl)
		return emu_gp(cpu, sel & 0xfffc);
	rc = emu_read_desc(cpu, sel, 0, &lo, &hi);
	if (rc)
		return rc;
	vmm__x86_desc_decode(lo, 0, sel, d);
	if (!d->s || !(d->type & 8))
		return emu_gp(cpu, sel & 0xfffc);
	if ((d->type & 4) ? d->dpl > rpl : d->dpl != rpl)
		return emu_gp(cpu, sel & 0xfffc);
	if (!d->present)
		return emu_fault(cpu, X86_EXC_NP, 1, sel & 0xfffc);
	if (cpu->long_mode && d->l && d->db)
		return emu_gp(cpu, sel & 0xfffc);
	return EMU_OK;
}

static uint64_t trunc_ip(const vmm_segment *cs, int long_mode, unsigned osz, uint64_t ip)
{
	if (long_mode && cs->l)
		return ip;
	return ip & (osz == EMU_SZ16 ? 0xffffull : 0xffffffffull);
}

static int far_jump(emu_cpu *cpu, const emu_insn *ins, uint16_t sel, uint64_t off,
		    unsigned osz)
{
	vmm_segment cs;
	int gate, rc = jump_target(cpu, sel, &cs, &gate);

	if (rc)
		return rc;
	if (gate)
		return emu_gate_transfer(cpu, ins, sel, 0);
	off = trunc_ip(&cs, cpu->long_mode, osz, off);
	if (cpu->long_mode && cs.l && !vmm__x86_canonical(off))
		return emu_gp(cpu, 0);
	emu_set_cs(cpu, &cs, cpu->cpl);
	cpu->rip = off;
	return EMU_JUMP;
}

static int far_call(emu_cpu *cpu, const emu_insn *ins, uint16_t sel, uint64_t off)
{
	unsigned sz = ins->osz, n = 1u << sz;
	uint64_t sp = cpu->r[R_SP], ret = emu_next_rip(cpu, ins);
	vmm_segment cs;
	int gate, rc = jump_target(cpu, sel, &cs, &gate);

	if (!rc && gate)
		return emu_gate_transfer(cpu, ins, sel, 1);
	if (!rc)
		rc = emu_write(cpu, emu_stack_lin(cpu, sp - n), sz, cpu->seg[X86_SEG_CS].selector);
	if (!rc)
		rc = emu_write(cpu, emu_stack_lin(cpu, sp - 2 * n), sz, ret);
	if (rc)
		return rc;
	off = trunc_ip(&cs, cpu->long_mode, sz, off);
	emu_set_sp(cpu, sp - 2 * n);
	emu_set_cs(cpu, &cs, cpu->cpl);
	cpu->rip = off;
	return EMU_JUMP;
}

int emu_h_jmp_far(emu_cpu *cpu, const emu_insn *ins)
{
	return far_jump(cpu, ins, (uint16_t)ins->disp, ins->imm, ins->osz);
}

int emu_h_call_far(emu_cpu *cpu, const emu_insn *ins)
{
	return far_call(cpu, ins, (uint16_t)ins->disp, ins->imm);
}

static int read_farptr(emu_cpu *cpu, const emu_insn *ins, uint64_t *off, uint64_t *sel)
{
	uint64_t la = emu_ea(cpu, ins);
	int rc;

	if (!ins->mem)
		return emu_ud(cpu);
	rc = emu_read(cpu, la, ins->osz, off);
	if (!rc)
		rc = emu_read(cpu, (la + (1u << ins->osz)) & cpu->linmask, EMU_SZ16, sel);
	return rc;
}

int emu_h_jmp_far_ind(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t off, sel;
	int rc = read_farptr(cpu, ins, &off, &sel);

	return rc ? rc : far_jump(cpu, ins, (uint16_t)sel, off, ins->osz);
}

int emu_h_call_far_ind(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t off, sel;
	int rc = read_farptr(cpu, ins, &off, &sel);

	return rc ? rc : far_call(cpu, ins, (uint16_t)sel, off);
}

/* Pops n values of size sz from the stack (without moving it). */
static int stack_vals(emu_cpu *cpu, unsigned sz, uint64_t first, unsigned n, uint64_t *v)
{
	for (unsigned i = 0; i < n; i++) {
		int rc = emu_stack_read(cpu, sz, first + ((uint64_t)i << sz), &v[i]);

		if (rc)
			return rc;
	}
	return EMU_OK;
}

/* Completes a return to cs:ip at CPL rpl, with ss:sp when outer. */
static int finish_return(emu_cpu *cpu, const vmm_segment *cs, uint64_t ip, int outer,
			 uint16_t ss_sel, uint64_t sp, unsigned osz)
{
	unsigned cpl = cs->selector & 3;
	vmm_segment ss;
	int rc;

	ip = trunc_ip(cs, cpu->long_mode, osz, ip);
	if (cpu->long_mode && cs->l && !vmm__x86_canonical(ip))
		return emu_gp(cpu, 0);
	if (outer) {
		rc = emu_ss_for_cpl(cpu, ss_sel, cpl, cpu->long_mode && cs->l, &ss);
		if (rc)
			return rc;
		cpu->seg[X86_SEG_SS] = ss;
		emu_set_cs(cpu, cs, cpl);
		emu_set_sp(cpu, sp);
		if (cpl > 0)
			emu_null_outer_segs(cpu);
	} else {
		emu_set_cs(cpu, cs, cpl);
	}
	cpu->rip = ip;
	return EMU_JUMP;
}

int emu_h_ret_far(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned sz = ins->osz, n = 1u << sz;
	uint64_t v[4], imm = ins->imm & 0xffff;
	vmm_segment cs;
	int rc = stack_vals(cpu, sz, 0, 2, v), outer;

	if (rc)
		return rc;
	if (!protected_mode(cpu)) {
		real_cs(cpu, (uint16_t)v[1], &cs);
		emu_set_sp(cpu, cpu->r[R_SP] + 2 * n + imm);
		emu_set_cs(cpu, &cs, 0);
		cpu->rip = v[0] & emu_sz_mask(sz);
		return EMU_JUMP;
	}
	rc = return_target(cpu, (uint16_t)v[1], &cs);
	if (rc)
		return rc;
	outer = (v[1] & 3) > cpu->cpl;
	if (outer && (rc = stack_vals(cpu, sz, 2 * n + imm, 2, v + 2)))
		return rc;
	if (!outer) {
		emu_set_sp(cpu, cpu->r[R_SP] + 2 * n + imm);
		return finish_return(cpu, &cs, v[0], 0, 0, 0, sz);
	}
	return finish_return(cpu, &cs, v[0], 1, (uint16_t)v[3], v[2] + imm, sz);
}

/* ---- IRET ------------------------------------------------------------------------ */

static uint64_t iret_flags(const emu_cpu *cpu, uint64_t cur, uint64_t v, unsigned sz)
{
	unsigned iopl = (unsigned)(cur >> 12) & 3;
	uint64_t mask = X86_FL_ARITH | X86_FL_TF | X86_FL_DF | X86_FL_NT | X86_FL_RF |
			X86_FL_AC | X86_FL_ID | X86_FL_IF | X86_FL_IOPL;

	if (cpu->cpl > 0)
		mask &= ~X86_FL_IOPL;
	if (cpu->cpl > iopl)
		mask &= ~X86_FL_IF;
	if (cpu->cpl == 0 && protected_mode(cpu))
		mask |= X86_FL_VIF | X86_FL_VIP;
	mask &= emu_sz_mask(sz);
	return (cur & ~mask) | (v & mask);
}

static int iret_real(emu_cpu *cpu, unsigned sz)
{
	uint64_t v[3];
	vmm_segment cs;
	int rc = stack_vals(cpu, sz, 0, 3, v);

	if (rc)
		return rc;
	real_cs(cpu, (uint16_t)v[1], &cs);
	emu_set_sp(cpu, cpu->r[R_SP] + 3 * (1u << sz));
	emu_set_rflags(cpu, iret_flags(cpu, emu_get_rflags(cpu), v[2], sz));
	emu_set_cs(cpu, &cs, 0);
	cpu->rip = v[0] & emu_sz_mask(sz);
	return EMU_JUMP;
}

int emu_h_iret(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned sz = ins->osz;
	uint64_t v[5], flags;
	vmm_segment cs;
	int rc, outer, pop5;

	if (EMU_UNLIKELY(cpu->nmi_blocked)) {
		cpu->nmi_blocked = 0;   /* IRET ends NMI blocking */
		emu_intr_look(cpu);
	}
	if (!protected_mode(cpu))
		return iret_real(cpu, sz);
	if (cpu->rflags & X86_FL_NT) {      /* return to the previous task */
		uint64_t link = 0;

		if (cpu->long_mode)
			return emu_gp(cpu, 0);
		rc = emu_sys_read(cpu, cpu->tr.base, &link, 2);
		return rc ? rc : emu_task_switch(cpu, (uint16_t)link, EMU_TASK_IRET,
						 emu_next_rip(cpu, ins));
	}
	rc = stack_vals(cpu, sz, 0, 3, v);
	if (rc)
		return rc;
	if (!cpu->long_mode && (v[2] & X86_FL_VM) && cpu->cpl == 0 && sz == EMU_SZ32)
		return emu_internal_error(cpu, "emu: IRET to virtual-8086 mode is not supported");
	rc = return_target(cpu, (uint16_t)v[1], &cs);
	if (rc)
		return rc;
	outer = (v[1] & 3) > cpu->cpl;
	pop5 = outer || cpu->code_sz == EMU_SZ64;
	if (pop5 && (rc = stack_vals(cpu, sz, 3u << sz, 2, v + 3)))
		return rc;
	flags = iret_flags(cpu, emu_get_rflags(cpu), v[2], sz);
	if (!pop5)
		emu_set_sp(cpu, cpu->r[R_SP] + (3u << sz));
	rc = finish_return(cpu, &cs, v[0], pop5, (uint16_t)v[4], v[3], sz);
	if (rc == EMU_JUMP)
		emu_set_rflags(cpu, flags);
	return rc;
}

/* ---- SYSCALL / SYSRET (64-bit mode, Intel semantics) ------------------------------ */

static void flat_seg(vmm_segment *s, uint16_t sel, uint8_t type, unsigned dpl, int l)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffffu;
	s->type = type;
	s->s = 1;
	s->present = 1;
	s->dpl = (uint8_t)dpl;
	s->g = 1;
	s->l = (uint8_t)l;
	s->db = !l;
}

int emu_h_syscall(emu_cpu *cpu, const emu_insn *ins)
{
	uint16_t sel = (uint16_t)(cpu->star >> 32) & 0xfffc;
	vmm_segment cs, ss;

	if (!(cpu->efer & X86_EFER_SCE) || cpu->code_sz != EMU_SZ64)
		return emu_ud(cpu);
	cpu->r[R_CX] = emu_next_rip(cpu, ins);
	cpu->r[11] = emu_get_rflags(cpu) & ~X86_FL_RF;
	flat_seg(&cs, sel, 0xb, 0, 1);
	flat_seg(&ss, (uint16_t)(sel + 8), 0x3, 0, 0);
	cpu->seg[X86_SEG_SS] = ss;
	emu_set_rflags(cpu, emu_get_rflags(cpu) & ~(cpu->sfmask | X86_FL_RF));
	emu_set_cs(cpu, &cs, 0);
	cpu->rip = cpu->lstar;
	return EMU_JUMP;
}

/* ---- SYSENTER / SYSEXIT (Intel: protected mode, also in long mode) ------------- */

int emu_h_sysenter(emu_cpu *cpu, const emu_insn *ins)
{
	uint16_t sel = (uint16_t)cpu->sysenter_cs & 0xfffc;
	int lm = cpu->long_mode;
	vmm_segment cs, ss;

	if (!(cpu->cr0 & X86_CR0_PE) || sel == 0)
		return emu_gp(cpu, 0);
	flat_seg(&cs, sel, 0xb, 0, lm);
	flat_seg(&ss, (uint16_t)(sel + 8), 0x3, 0, 0);
	cpu->seg[X86_SEG_SS] = ss;
	emu_set_rflags(cpu, emu_get_rflags(cpu) & ~(X86_FL_VM | X86_FL_IF | X86_FL_RF));
	emu_set_cs(cpu, &cs, 0);
	cpu->r[R_SP] = lm ? cpu->sysenter_esp : cpu->sysenter_esp & 0xffffffffull;
	cpu->rip = lm ? cpu->sysenter_eip : cpu->sysenter_eip & 0xffffffffull;
	return EMU_JUMP;
}

int emu_h_sysexit(emu_cpu *cpu, const emu_insn *ins)
{
	uint16_t sel = (uint16_t)cpu->sysenter_cs & 0xfffc;
	int to64 = ins->osz == EMU_SZ64;
	uint64_t rip = cpu->r[R_DX], rsp = cpu->r[R_CX];
	vmm_segment cs, ss;

	if (!(cpu->cr0 & X86_CR0_PE) || sel == 0 || cpu->cpl != 0)
		return emu_gp(cpu, 0);
	if (to64 && (!vmm__x86_canonical(rip) || !vmm__x86_canonical(rsp)))
		return emu_gp(cpu, 0);
	if (!to64) {
		rip &= 0xffffffffull;
		rsp &= 0xffffffffull;
	}
	flat_seg(&cs, (uint16_t)((sel + (to64 ? 32 : 16)) | 3), 0xb, 3, to64);
	flat_seg(&ss, (uint16_t)((sel + (to64 ? 40 : 24)) | 3), 0x3, 3, 0);
	cpu->seg[X86_SEG_SS] = ss;
	emu_set_cs(cpu, &cs, 3);
	cpu->r[R_SP] = rsp;
	cpu->rip = rip;
	return EMU_JUMP;
}

int emu_h_sysret(emu_cpu *cpu, const emu_insn *ins)
{
	uint16_t base = (uint16_t)(cpu->star >> 48);
	int to64 = ins->osz == EMU_SZ64;
	vmm_segment cs, ss;
	uint64_t rip = to64 ? cpu->r[R_CX] : cpu->r[R_CX] & 0xffffffffull;

	if (!(cpu->efer & X86_EFER_SCE) || cpu->code_sz != EMU_SZ64)
		return emu_ud(cpu);
	if (cpu->cpl != 0 || !vmm__x86_canonical(rip))
		return emu_gp(cpu, 0);
	flat_seg(&cs, (uint16_t)((to64 ? base + 16 : base) | 3), 0xb, 3, to64);
	flat_seg(&ss, (uint16_t)((base + 8) | 3), 0x3, 3, 0);
	cpu->seg[X86_SEG_SS] = ss;
	emu_set_rflags(cpu, (cpu->r[11] & 0x3c7fd7ull) | X86_FL_RSV1);
	emu_set_cs(cpu, &cs, 3);
	cpu->rip = rip;
	return EMU_JUMP;
}
