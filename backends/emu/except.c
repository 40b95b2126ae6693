/* except.c - exception and interrupt delivery through the guest's IDT:
 * real-mode IVT, 32-bit protected-mode gates (16/32-bit interrupt and trap
 * gates, stack switch from the TSS), 64-bit gates (IST, RSP0..2, 16-byte
 * frames). A fault during delivery is handled as the SDM's double-fault
 * table says; a fault while delivering #DF is a triple fault (shutdown). */
#include "arch/x86/desc.h"
#include "backends/emu/exec.h"
#include "backends/emu/intr.h"

typedef struct event {
	unsigned vec;
	int has_err;
	uint32_t err;
	uint64_t ret_rip;
	int soft;            /* INT n / INT3 / INTO: gate DPL checked */
	uint32_t ext;        /* EXT bit of error codes raised while delivering */
	uint64_t rf;         /* X86_FL_RF for a fault: set in the pushed RFLAGS */
} event;

static uint32_t idt_err(const event *ev)
{
	return (ev->vec << 3) | 2 | ev->ext;
}

/* Writes vals[0..n) below sp (vals[0] at the highest address). */
static int push_frame(emu_cpu *cpu, uint64_t base, uint64_t *sp, uint64_t spmask,
		      unsigned sz, const uint64_t *vals, unsigned n)
{
	uint64_t p = *sp;

	for (unsigned i = 0; i < n; i++) {
		int rc;

		p = (p - (1u << sz)) & spmask;
		rc = emu_sys_write(cpu, base + p, &vals[i], 1u << sz);
		if (rc)
			return rc;
	}
	*sp = p;
	return EMU_OK;
}

static void enter_handler(emu_cpu *cpu, const vmm_segment *cs, unsigned cpl, uint64_t rip,
			  int clear_if)
{
	uint64_t f = emu_get_rflags(cpu) & ~(X86_FL_TF | X86_FL_NT | X86_FL_RF | X86_FL_VM);

	if (clear_if)
		f &= ~X86_FL_IF;
	emu_set_rflags(cpu, f);
	emu_set_cs(cpu, cs, cpl);
	cpu->rip = rip;
}

static int deliver_real(emu_cpu *cpu, const event *ev)
{
	uint32_t ivt = 0;
	uint64_t sp = cpu->r[4] & 0xffff, vals[3];
	vmm_segment cs = cpu->seg[X86_SEG_CS];
	int rc;

	if (ev->vec * 4 + 3 > cpu->idt.limit)
		return emu_gp(cpu, idt_err(ev));
	rc = emu_sys_read(cpu, cpu->idt.base + ev->vec * 4, &ivt, 4);
	if (rc)
		return rc;
	vals[0] = emu_get_rflags(cpu) & 0xffff;
	vals[1] = cs.selector;
	vals[2] = ev->ret_rip & 0xffff;
	rc = push_frame(cpu, cpu->seg[X86_SEG_SS].base, &sp, 0xffff, EMU_SZ16, vals, 3);
	if (rc)
		return rc;
	emu_reg_set(cpu, 4 * 8, EMU_SZ16, sp);
	cs.selector = (uint16_t)(ivt >> 16);
	cs.base = (uint64_t)cs.selector << 4;
	emu_set_rflags(cpu, emu_get_rflags(cpu) & ~(X86_FL_IF | X86_FL_TF | X86_FL_AC));
	emu_set_cs(cpu, &cs, 0);
	cpu->rip = ivt & 0xffff;
	return EMU_JUMP;
}

/* Reads and checks the gate; fills the target code segment. */
static int gate_target(emu_cpu *cpu, const event *ev, vmm__x86_gate *g, vmm_segment *cs,
		       int *task)
{
	unsigned size = cpu->long_mode ? 16 : 8;
	uint64_t raw[2] = { 0, 0 }, lo, hi;
	int rc, ok_type;

	if (ev->vec * size + size - 1 > cpu->idt.limit)
		return emu_gp(cpu, idt_err(ev));
	rc = emu_sys_read(cpu, cpu->idt.base + ev->vec * size, raw, size);
	if (rc)
		return rc;
	vmm__x86_gate_decode(raw[0], raw[1], cpu->long_mode, g);
	*task = 0;
	if (g->type == X86_DESC_TASK_GATE && !cpu->long_mode) {
		if (ev->soft && g->dpl < cpu->cpl)
			return emu_gp(cpu, idt_err(ev));
		if (!g->present)
			return emu_fault(cpu, X86_EXC_NP, 1, idt_err(ev));
		*task = 1;
		return EMU_OK;
	}
	ok_type = g->type == X86_DESC_INT_GATE || g->type == X86_DESC_TRAP_GATE ||
		  (!cpu->long_mode && (g->type == X86_DESC_INT_GATE16 ||
				       g->type == X86_DESC_TRAP_GATE16));
	if (!ok_type || (ev->soft && g->dpl < cpu->cpl))
		return emu_gp(cpu, idt_err(ev));
	if (!g->present)
		return emu_fault(cpu, X86_EXC_NP, 1, idt_err(ev));
	if ((g->selector & 0xfffc) == 0)
		return emu_gp(cpu, ev->ext);
	rc = emu_read_desc(cpu, g->selector, 0, &lo, &hi);
	if (rc)
		return rc;
	vmm__x86_desc_decode(lo, 0, g->selector, cs);
	if (!cs->s || !(cs->type & 8) || cs->dpl > cpu->cpl ||
	    (cpu->long_mode && (!cs->l || cs->db)))
		return emu_gp(cpu, (g->selector & 0xfffc) | ev->ext);
	if (!cs->present)
		return emu_fault(cpu, X86_EXC_NP, 1, (g->selector & 0xfffc) | ev->ext);
	return EMU_OK;
}

static int tss_read(emu_cpu *cpu, unsigned off, unsigned n, uint64_t *v)
{
	*v = 0;
	if (off + n - 1 > cpu->tr.limit || cpu->tr.unusable)
		return emu_fault(cpu, X86_EXC_TS, 1, cpu->tr.selector & 0xfffc);
	return emu_sys_read(cpu, cpu->tr.base + off, v, n);
}

static int deliver_long(emu_cpu *cpu, const event *ev)
{
	vmm__x86_gate g;
	vmm_segment cs, ss = cpu->seg[X86_SEG_SS];
	uint64_t sp = cpu->r[4], vals[6];
	unsigned cpl;
	int task, rc = gate_target(cpu, ev, &g, &cs, &task), n = 5;

	if (rc)
		return rc;
	cpl = (cs.type & 4) ? cpu->cpl : cs.dpl;
	if (cpl < cpu->cpl || g.ist) {
		rc = tss_read(cpu, g.ist ? 36u + (g.ist - 1u) * 8u : 4u + cpl * 8u, 8, &sp);
		if (rc)
			return rc;
	}
	if (cpl < cpu->cpl) {
		memset(&ss, 0, sizeof(ss));
		ss.selector = (uint16_t)cpl;
		ss.unusable = 1;
		ss.dpl = (uint8_t)cpl;
	}
	sp &= ~15ull;
	vals[0] = cpu->seg[X86_SEG_SS].selector;
	vals[1] = cpu->r[4];
	vals[2] = emu_get_rflags(cpu) | ev->rf;
	vals[3] = cpu->seg[X86_SEG_CS].selector;
	vals[4] = ev->ret_rip;
	vals[5] = ev->err;
	if (ev->has_err)
		n = 6;
	rc = push_frame(cpu, 0, &sp, ~0ull, EMU_SZ64, vals, (unsigned)n);
	if (rc)
		return rc;
	cpu->seg[X86_SEG_SS] = ss;
	cpu->r[4] = sp;
	cs.selector = (uint16_t)((g.selector & 0xfffc) | cpl);
	enter_handler(cpu, &cs, cpl, g.offset, g.type == X86_DESC_INT_GATE);
	return EMU_JUMP;
}

/* Through a task gate: a task switch, then the error code (if any) on the
 * new task's stack: 4 bytes for a 32-bit TSS, 2 for a 16-bit one. */
static int deliver_task(emu_cpu *cpu, const event *ev, uint16_t tss_sel)
{
	const vmm_segment *ss;
	uint64_t sp;
	uint32_t err = ev->err;
	unsigned n;
	int rc = emu_task_switch(cpu, tss_sel, EMU_TASK_INT, ev->ret_rip);

	if (rc != EMU_JUMP || !ev->has_err)
		return rc;
	ss = &cpu->seg[X86_SEG_SS];
	n = (cpu->tr.type & 8) ? 4 : 2;
	sp = (cpu->r[4] - n) & (ss->db ? 0xffffffffull : 0xffff);
	rc = emu_sys_write(cpu, ss->base + sp, &err, n);
	if (rc)
		return rc;
	cpu->r[4] = ss->db ? sp : (cpu->r[4] & ~0xffffull) | sp;
	return EMU_JUMP;
}

static int deliver_prot(emu_cpu *cpu, const event *ev)
{
	vmm__x86_gate g;
	vmm_segment cs, ss = cpu->seg[X86_SEG_SS];
	uint64_t sp = cpu->r[4], vals[6], ss_sel;
	unsigned cpl, sz;
	int task, rc = gate_target(cpu, ev, &g, &cs, &task), n = 0;

	if (rc)
		return rc;
	if (task)
		return deliver_task(cpu, ev, g.selector);
	sz = (g.type & 8) ? EMU_SZ32 : EMU_SZ16;
	cpl = (cs.type & 4) ? cpu->cpl : cs.dpl;
	if (cpl < cpu->cpl) {
		int t32 = !!(cpu->tr.type & 8);  /* 32-bit TSS: ESPn at 4+8n, else SPn at 2+4n */

		rc = tss_read(cpu, t32 ? 4 + cpl * 8 : 2 + cpl * 4, t32 ? 4 : 2, &sp);
		if (!rc)
			rc = tss_read(cpu, t32 ? 8 + cpl * 8 : 4 + cpl * 4, 2, &ss_sel);
		if (!rc)
			rc = emu_ss_for_cpl(cpu, (uint16_t)ss_sel, cpl, 0, &ss);
		if (rc)
			return rc;
		vals[n++] = cpu->seg[X86_SEG_SS].selector;
		vals[n++] = cpu->r[4];
	}
	vals[n++] = emu_get_rflags(cpu) | ev->rf;
	vals[n++] = cpu->seg[X86_SEG_CS].selector;
	vals[n++] = ev->ret_rip;
	if (ev->has_err)
		vals[n++] = ev->err;
	rc = push_frame(cpu, ss.base, &sp, ss.db ? 0xffffffffull : 0xffff, sz, vals,
			(unsigned)n);
	if (rc)
		return rc;
	cpu->seg[X86_SEG_SS] = ss;
	cpu->r[4] = ss.db ? sp : ((cpu->r[4] & ~0xffffull) | sp);
	cs.selector = (uint16_t)((g.selector & 0xfffc) | cpl);
	enter_handler(cpu, &cs, cpl, sz == EMU_SZ16 ? g.offset & 0xffff : g.offset,
		      (g.type & 7) == 6);
	return EMU_JUMP;
}

static int deliver_one(emu_cpu *cpu, const event *ev)
{
	if (!(cpu->cr0 & X86_CR0_PE))
		return deliver_real(cpu, ev);
	if (cpu->rflags & X86_FL_VM)
		return emu_internal_error(cpu, "emu: virtual-8086 mode is not supported");
	return cpu->long_mode ? deliver_long(cpu, ev) : deliver_prot(cpu, ev);
}

static int contributory(unsigned v)
{
	return v == X86_EXC_DE || (v >= X86_EXC_TS && v <= X86_EXC_GP);
}

static int shutdown(emu_cpu *cpu)
{
	cpu->vcpu->exit.reason = VMM_EXIT_SHUTDOWN;
	return EMU_EXIT_JUMP;
}

/* Delivery made a device access nobody claimed (IDT, GDT, TSS or stack
 * outside RAM): it cannot be replayed after the exit, so it ends the run. */
static int delivery_io(emu_cpu *cpu, const event *ev)
{
	cpu->log.replay = 0;
	cpu->log.count = cpu->log.pos = 0;
	return emu_internal_error(cpu, "emu: delivering vector %u needs a device access "
				  "(IDT, GDT, TSS or stack outside RAM): not supported", ev->vec);
}

/* Delivers ev; a fault on the way follows the SDM's double-fault table. An
 * external interrupt or NMI (benign) never combines into #DF itself. */
static int deliver_event(emu_cpu *cpu, event ev, int benign)
{
	for (int tries = 0; tries < 4; tries++) {
		unsigned nv;
		int rc;

		/* The faulting instruction is over (it is re-executed, not
		 * replayed): its device accesses leave the replay log. */
		cpu->log.count = cpu->log.pos = 0;
		/* SDM 18.3.1.1: the frame of a fault-class exception has RF
		 * set, so that IRET does not re-trigger an instruction
		 * breakpoint; not for #DB (a trap, or the breakpoint itself)
		 * nor for interrupts */
		ev.rf = !benign && ev.vec != X86_EXC_DB ? X86_FL_RF : 0;
		rc = deliver_one(cpu, &ev);

		if (rc == EMU_EXIT_RESTART)
			return delivery_io(cpu, &ev);
		if (rc == EMU_JUMP)
			cpu->halted = 0;   /* e.g. the single-step trap of a HLT */
		if (rc != EMU_FAULT)
			return rc == EMU_JUMP ? EMU_OK : rc;
		nv = cpu->exc_vec;
		if (!benign && ev.vec == X86_EXC_DF)
			return shutdown(cpu);
		if (!benign && ((contributory(ev.vec) && contributory(nv)) ||
				(ev.vec == X86_EXC_PF && (nv == X86_EXC_PF || contributory(nv))))) {
			ev.vec = X86_EXC_DF;
			ev.has_err = 1;
			ev.err = 0;
		} else {
			ev.vec = nv;
			ev.has_err = cpu->exc_has_err;
			ev.err = cpu->exc_err;
		}
		benign = 0;
	}
	return shutdown(cpu);
}

int emu_deliver(emu_cpu *cpu, uint64_t rip)
{
	event ev = { cpu->exc_vec, cpu->exc_has_err, cpu->exc_err, rip, 0, 1, 0 };

	if (ev.vec == X86_EXC_DF)
		ev.err = 0;
	return deliver_event(cpu, ev, 0);
}

int emu_deliver_intr(emu_cpu *cpu, unsigned vec)
{
	event ev = { vec & 0xff, 0, 0, cpu->rip, 0, 1, 0 };

	return deliver_event(cpu, ev, 1);
}

int emu_soft_int(emu_cpu *cpu, unsigned vec, uint64_t next_rip, int check_dpl)
{
	event ev = { vec, 0, 0, next_rip, check_dpl, 0, 0 };

	return deliver_one(cpu, &ev);
}
