/* exec_gate.c - far CALL/JMP through call gates (Intel SDM vol. 3, 5.8.3):
 * 16- and 32-bit gates in protected mode, 64-bit gates in long mode. A JMP
 * keeps the privilege; a CALL to a more privileged non-conforming segment
 * switches to the stack the TSS holds for the new CPL and pushes the old
 * SS:SP, (16/32-bit gates) the gate's parameter count of words or dwords
 * copied from the old stack, and the return CS:IP. Task gates and TSS
 * selectors switch tasks (exec_task.c). */
#include "arch/x86/desc.h"
#include "backends/emu/exec.h"

typedef struct gate_call {
	vmm__x86_gate g;
	vmm_segment cs;
	unsigned sz;          /* EMU_SZ16/32/64: the gate's size */
	unsigned params;      /* 16/32-bit gates: values to copy */
	unsigned cpl;         /* new CPL */
	int task;             /* a TSS or task gate: switch to TSS task_sel */
	uint16_t task_sel;
} gate_call;

/* Reads and checks the gate at sel and its target code segment. */
static int read_gate(emu_cpu *cpu, uint16_t sel, gate_call *gc)
{
	int lm = cpu->long_mode, rc;
	uint16_t t;
	uint64_t lo, hi, gate_lo;

	rc = emu_read_desc(cpu, sel, lm, &lo, &hi);
	if (rc)
		return rc;
	gate_lo = lo;
	vmm__x86_gate_decode(lo, hi, lm, &gc->g);
	gc->task = 0;
	if (!lm && (gc->g.type == X86_DESC_TASK_GATE || gc->g.type == X86_DESC_TSS_AVAIL ||
		    gc->g.type == X86_DESC_TSS_BUSY || gc->g.type == X86_DESC_TSS16_AVAIL ||
		    gc->g.type == X86_DESC_TSS16_BUSY)) {
		if (gc->g.dpl < cpu->cpl || gc->g.dpl < (sel & 3))
			return emu_gp(cpu, sel & 0xfffc);
		if (!gc->g.present)
			return emu_fault(cpu, X86_EXC_NP, 1, sel & 0xfffc);
		gc->task = 1;
		gc->task_sel = gc->g.type == X86_DESC_TASK_GATE ? gc->g.selector : sel;
		return EMU_OK;
	}
	if (gc->g.type != X86_DESC_CALL_GATE && (lm || gc->g.type != 0x4))
		return emu_gp(cpu, sel & 0xfffc);
	if (gc->g.dpl < cpu->cpl || gc->g.dpl < (sel & 3))
		return emu_gp(cpu, sel & 0xfffc);
	if (!gc->g.present)
		return emu_fault(cpu, X86_EXC_NP, 1, sel & 0xfffc);
	t = gc->g.selector;
	if ((t & 0xfffc) == 0)
		return emu_gp(cpu, 0);
	rc = emu_read_desc(cpu, t, 0, &lo, &hi);
	if (rc)
		return rc;
	vmm__x86_desc_decode(lo, 0, t, &gc->cs);
	if (!gc->cs.s || !(gc->cs.type & 8) || gc->cs.dpl > cpu->cpl ||
	    (lm && (!gc->cs.l || gc->cs.db)))
		return emu_gp(cpu, t & 0xfffc);
	if (!gc->cs.present)
		return emu_fault(cpu, X86_EXC_NP, 1, t & 0xfffc);
	gc->sz = lm ? EMU_SZ64 : gc->g.type == X86_DESC_CALL_GATE ? EMU_SZ32 : EMU_SZ16;
	gc->params = lm ? 0 : (unsigned)(gate_lo >> 32) & 0x1f;
	return EMU_OK;
}

static uint64_t gate_ip(const gate_call *gc, uint64_t lo_offset)
{
	return gc->sz == EMU_SZ16 ? lo_offset & 0xffff : lo_offset;
}

/* The new stack for an inner call: SS and SP from the TSS. */
static int inner_stack(emu_cpu *cpu, const gate_call *gc, vmm_segment *ss, uint64_t *sp)
{
	int tss32 = cpu->long_mode || (cpu->tr.type & 8);
	unsigned off = cpu->long_mode ? 4 + gc->cpl * 8 : tss32 ? 4 + gc->cpl * 8 : 2 + gc->cpl * 4;
	unsigned n = cpu->long_mode ? 8 : tss32 ? 4 : 2;
	uint64_t ss_sel = 0;
	int rc;

	*sp = 0;
	if (cpu->tr.unusable || off + n * (cpu->long_mode ? 1 : 2) - 1 > cpu->tr.limit)
		return emu_fault(cpu, X86_EXC_TS, 1, cpu->tr.selector & 0xfffc);
	rc = emu_sys_read(cpu, cpu->tr.base + off, sp, n);
	if (rc)
		return rc;
	if (cpu->long_mode) {
		memset(ss, 0, sizeof(*ss));
		ss->selector = (uint16_t)gc->cpl;
		ss->unusable = 1;
		ss->dpl = (uint8_t)gc->cpl;
		return vmm__x86_canonical(*sp) ? EMU_OK : emu_fault(cpu, X86_EXC_SS, 1, 0);
	}
	rc = emu_sys_read(cpu, cpu->tr.base + off + n, &ss_sel, 2);
	if (rc)
		return rc;
	return emu_ss_for_cpl(cpu, (uint16_t)ss_sel, gc->cpl, 0, ss);
}

/* Pushes vals[0..n) onto the stack ss:*sp (vals[0] at the highest address). */
static int push_vals(emu_cpu *cpu, const vmm_segment *ss, uint64_t *sp, unsigned sz,
		     const uint64_t *vals, unsigned n)
{
	uint64_t mask = cpu->long_mode ? ~0ull : ss->db ? 0xffffffffull : 0xffff, p = *sp;

	for (unsigned i = 0; i < n; i++) {
		int rc;

		p = (p - (1u << sz)) & mask;
		rc = emu_sys_write(cpu, ss->base + p, &vals[i], 1u << sz);
		if (rc)
			return rc;
	}
	*sp = p;
	return EMU_OK;
}

static int inner_call(emu_cpu *cpu, const gate_call *gc, uint64_t ret, uint64_t ip)
{
	vmm_segment ss, old_ss = cpu->seg[X86_SEG_SS];
	uint64_t sp, vals[36], old_sp = cpu->r[R_SP];
	unsigned n = 0;
	int rc = inner_stack(cpu, gc, &ss, &sp);

	if (rc)
		return rc;
	vals[n++] = old_ss.selector;
	vals[n++] = old_sp;
	for (unsigned i = gc->params; i-- > 0;) {    /* the last parameter first */
		rc = emu_stack_read(cpu, gc->sz, (uint64_t)i << gc->sz, &vals[n]);
		if (rc)
			return rc;
		n++;
	}
	vals[n++] = cpu->seg[X86_SEG_CS].selector;
	vals[n++] = ret;
	rc = push_vals(cpu, &ss, &sp, gc->sz, vals, n);
	if (rc)
		return rc;
	cpu->seg[X86_SEG_SS] = ss;
	emu_set_cs(cpu, &gc->cs, gc->cpl);
	cpu->r[R_SP] = cpu->long_mode || ss.db ? sp : (cpu->r[R_SP] & ~0xffffull) | sp;
	cpu->rip = ip;
	return EMU_JUMP;
}

int emu_gate_transfer(emu_cpu *cpu, const emu_insn *ins, uint16_t sel, int is_call)
{
	gate_call gc;
	uint64_t ip, ret = emu_next_rip(cpu, ins), v[2], sp;
	int conforming, rc = read_gate(cpu, sel, &gc);

	if (rc)
		return rc;
	if (gc.task)
		return emu_task_switch(cpu, gc.task_sel, is_call ? EMU_TASK_CALL : EMU_TASK_JMP, ret);
	ip = gate_ip(&gc, gc.g.offset);
	if (cpu->long_mode && !vmm__x86_canonical(ip))
		return emu_gp(cpu, 0);
	conforming = !!(gc.cs.type & 4);
	gc.cpl = conforming ? cpu->cpl : gc.cs.dpl;
	if (!is_call && !conforming && gc.cs.dpl != cpu->cpl)
		return emu_gp(cpu, gc.g.selector & 0xfffc);
	if (!is_call)
		gc.cpl = cpu->cpl;
	gc.cs.selector = (uint16_t)((gc.g.selector & 0xfffc) | gc.cpl);
	if (is_call && gc.cpl < cpu->cpl)
		return inner_call(cpu, &gc, ret, ip);
	if (is_call) {
		sp = cpu->r[R_SP];
		v[0] = cpu->seg[X86_SEG_CS].selector;
		v[1] = ret;
		rc = emu_write(cpu, emu_stack_lin(cpu, sp - (1u << gc.sz)), gc.sz, v[0]);
		if (!rc)
			rc = emu_write(cpu, emu_stack_lin(cpu, sp - (2u << gc.sz)), gc.sz, v[1]);
		if (rc)
			return rc;
		emu_set_sp(cpu, sp - (2u << gc.sz));
	}
	emu_set_cs(cpu, &gc.cs, gc.cpl);
	cpu->rip = ip;
	return EMU_JUMP;
}
