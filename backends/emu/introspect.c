/* introspect.c - the emu backend's side of lib/introspect: events raised
 * from the executor, and the actions of their handlers.
 *
 * Cost model: nothing here runs unless vm->ix_flags says hooks of a kind
 * exist. Breakpoints are found when a block is decoded (a block never runs
 * past one: a breakpoint address starts its own block, whose only
 * instruction is emu_h_ix_break). Watched and permission-removed pages
 * never enter the software TLB, so only their accesses reach the slow
 * path's check. An event is raised like a fault (cpu->ix.fault, rip = the
 * instruction, nothing committed); the run loop then calls emu_ix_fault,
 * which calls the hooks. "Continue" runs that one instruction uncached with
 * the event allowed (emu_ix_step); single-step runs every instruction so. */
#include <stdio.h>

#include "backends/emu/exec.h"
#include "lib/introspect/ix.h"

static void ev_init(emu_cpu *cpu, uint32_t type, uint64_t addr)
{
	memset(&cpu->ix.ev, 0, sizeof(cpu->ix.ev));
	cpu->ix.ev.type = type;
	cpu->ix.ev.rip = cpu->rip;
	cpu->ix.ev.addr = addr;
}

static int raise_event(emu_cpu *cpu, unsigned allow)
{
	cpu->ix.fault = 1;
	cpu->ix.kind = (uint8_t)allow;
	return EMU_FAULT;
}

/* ---- Raising events --------------------------------------------------------- */

int emu_h_ix_break(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t la = (cpu->segbase[X86_SEG_CS] + cpu->rip) & cpu->linmask;

	if (ins->aux == EMU_IX_BREAK_PAGE) {
		ev_init(cpu, VMM_EV_PAGE, cpu->blk->gpa);
		cpu->ix.ev.access = VMM_MEM_EXEC;
		cpu->ix.ev.value = la;
	} else {
		ev_init(cpu, VMM_EV_BREAK, la);
	}
	return raise_event(cpu, EMU_IX_ALLOW_BREAK);
}

unsigned emu_ix_break_here(emu_cpu *cpu, uint64_t la, uint64_t gpa)
{
	if (cpu->ix.allow & EMU_IX_ALLOW_BREAK)
		return 0;
	if (vmm__ix_break_at(cpu->vm, cpu->vcpu->index, la))
		return EMU_IX_BREAK_ADDR;
	if (vmm__ix_page_access(cpu->vm, cpu->vcpu->index, gpa) & VMM_MEM_EXEC)
		return EMU_IX_BREAK_PAGE;
	return 0;
}

int emu_ix_insn(emu_cpu *cpu, const emu_insn *ins, unsigned type, uint32_t index,
		uint64_t value)
{
	if ((cpu->ix.allow & EMU_IX_ALLOW_INSN) ||
	    ((type == VMM_EV_CR_WRITE || type == VMM_EV_MSR_WRITE ||
	      type == VMM_EV_EXCEPTION) &&
	     !vmm__ix_index_hooked(cpu->vm, type, cpu->vcpu->index, index)))
		return EMU_OK;
	cpu->rip = emu_this_rip(cpu, ins);
	ev_init(cpu, type, cpu->rip);
	cpu->ix.ev.index = index;
	cpu->ix.ev.value = value;
	return raise_event(cpu, EMU_IX_ALLOW_INSN);
}

static int page_check(emu_cpu *cpu, uint64_t la, uint64_t gpa, unsigned acc)
{
	uint32_t kind = (acc & EMU_ACC_W) ? VMM_MEM_WRITE : VMM_MEM_READ;

	if (!(atomic_load_explicit(&cpu->vm->ix_flags, memory_order_relaxed) &
	      VMM__IX_BIT(VMM_EV_PAGE)) ||
	    !(vmm__ix_page_access(cpu->vm, cpu->vcpu->index, gpa) & kind))
		return EMU_OK;
	ev_init(cpu, VMM_EV_PAGE, gpa);
	cpu->ix.ev.access = kind;
	cpu->ix.ev.value = la;
	return raise_event(cpu, EMU_IX_ALLOW_MEM);
}

int emu_ix_access(emu_cpu *cpu, uint64_t la, unsigned n, unsigned acc, uint64_t gpa0,
		  uint64_t gpa1, unsigned first)
{
	uint32_t kind = (acc & EMU_ACC_W) ? VMM_MEM_WRITE : VMM_MEM_READ;
	int rc;

	if (cpu->ix.allow & EMU_IX_ALLOW_MEM)
		return EMU_OK;
	rc = page_check(cpu, la, gpa0, acc);
	if (!rc && first < n)
		rc = page_check(cpu, (la + first) & cpu->linmask, gpa1, acc);
	if (rc || !(atomic_load_explicit(&cpu->vm->ix_flags, memory_order_relaxed) &
		    VMM__IX_BIT(VMM_EV_WATCH)))
		return rc;
	if (!vmm__ix_watch_hit(cpu->vm, cpu->vcpu->index, la, n, kind))
		return EMU_OK;
	ev_init(cpu, VMM_EV_WATCH, la);
	cpu->ix.ev.access = kind;
	cpu->ix.ev.value = n;
	cpu->ix.watch = 1;     /* reported after the instruction */
	return raise_event(cpu, EMU_IX_ALLOW_MEM);
}

int emu_ix_no_tlb(emu_cpu *cpu, uint64_t la, uint64_t gpa)
{
	uint32_t f = atomic_load_explicit(&cpu->vm->ix_flags, memory_order_relaxed);

	return ((f & VMM__IX_BIT(VMM_EV_PAGE)) &&
		vmm__ix_page_access(cpu->vm, cpu->vcpu->index, gpa)) ||
	       ((f & VMM__IX_BIT(VMM_EV_WATCH)) &&
		vmm__ix_watch_page(cpu->vm, cpu->vcpu->index, la));
}

/* ---- Actions ------------------------------------------------------------------ */

static int stop(emu_cpu *cpu)
{
	vmm_exit *exit = &cpu->vcpu->exit;

	exit->reason = VMM_EXIT_STOPPED;
	return EMU_EXIT_JUMP;
}

static void skip_insn(emu_cpu *cpu)
{
	emu_one_block one;
	uint8_t allow = cpu->ix.allow;

	cpu->ix.allow = EMU_IX_ALLOW_BREAK;
	if (emu_block_single(cpu, &one.b) == EMU_OK && one.b.ninsns == 1) {
		uint64_t rip = cpu->rip + one.b.ins[0].len;

		cpu->rip = cpu->code_sz == EMU_SZ64 ? rip : rip & 0xffffffffull;
	}
	cpu->ix.allow = allow;
}

static int inject(emu_cpu *cpu, const vmm_event *ev)
{
	cpu->exc_vec = (uint8_t)ev->inject_vector;
	cpu->exc_has_err = ev->inject_has_error ? 1 : 0;
	cpu->exc_err = ev->inject_error_code;
	return emu_deliver(cpu, cpu->rip);
}

void emu_ix_sync(emu_cpu *cpu)
{
	cpu->ix.slow = cpu->ix.allow || cpu->ix.stepped || cpu->ix.watch ||
		       cpu->ix.watch_fire || vmm__ix_stepping(cpu->vm, cpu->vcpu->index);
}

/* Applies a handler's action for an event raised before an instruction. */
static int apply(emu_cpu *cpu, uint32_t act, uint64_t rip_before, unsigned allow)
{
	if (act != VMM_ACT_CONTINUE || cpu->rip != rip_before)
		cpu->ix.allow = 0;   /* the instruction will not be rerun */
	switch (act) {
	case VMM_ACT_STOP:
		return stop(cpu);
	case VMM_ACT_SKIP:
		if (cpu->rip == rip_before)
			skip_insn(cpu);
		break;
	case VMM_ACT_INJECT:
		return inject(cpu, &cpu->ix.ev);
	default:
		if (cpu->rip == rip_before)
			cpu->ix.allow |= (uint8_t)allow;
		break;
	}
	emu_ix_sync(cpu);
	return EMU_OK;
}

static int exception(emu_cpu *cpu)
{
	uint64_t rip = cpu->rip;
	uint32_t act;

	if (!vmm__ix_index_hooked(cpu->vm, VMM_EV_EXCEPTION, cpu->vcpu->index, cpu->exc_vec))
		return emu_deliver(cpu, cpu->rip);
	ev_init(cpu, VMM_EV_EXCEPTION, rip);
	cpu->ix.ev.index = cpu->exc_vec;
	cpu->ix.ev.has_error_code = cpu->exc_has_err;
	cpu->ix.ev.error_code = cpu->exc_err;
	act = vmm__ix_fire(cpu->vcpu, &cpu->ix.ev);
	if (act == VMM_ACT_STOP)
		return stop(cpu);
	if (act == VMM_ACT_INJECT)
		return inject(cpu, &cpu->ix.ev);
	if (act == VMM_ACT_SKIP) {
		if (cpu->rip == rip)
			skip_insn(cpu);
		return EMU_OK;
	}
	return cpu->rip == rip ? emu_deliver(cpu, cpu->rip) : EMU_OK;
}

int emu_ix_fault(emu_cpu *cpu)
{
	unsigned allow = cpu->ix.kind;

	if (!cpu->ix.fault)
		return exception(cpu);
	cpu->ix.fault = 0;
	cpu->ix.ev.rip = cpu->rip;   /* raised mid-block: now exact */
	if (cpu->ix.watch && cpu->ix.ev.type == VMM_EV_WATCH) {
		cpu->ix.allow |= EMU_IX_ALLOW_MEM;   /* run the instruction, then report */
		emu_ix_sync(cpu);
		return EMU_OK;
	}
	cpu->ix.watch = 0;        /* another event replaced a pending watch hit */
	return apply(cpu, vmm__ix_fire(cpu->vcpu, &cpu->ix.ev), cpu->rip, allow);
}

/* An event reported after an instruction (WATCH, STEP). */
static int after(emu_cpu *cpu, vmm_event *ev)
{
	uint32_t act;

	ev->rip = cpu->rip;
	act = vmm__ix_fire(cpu->vcpu, ev);
	if (act == VMM_ACT_STOP)
		return stop(cpu);
	if (act == VMM_ACT_INJECT)
		return inject(cpu, ev);
	return EMU_OK;
}

int emu_ix_step(emu_cpu *cpu)
{
	int st, stepping;

	if (cpu->ix.watch_fire) {
		cpu->ix.watch_fire = 0;
		cpu->ix.stepped = 0;
		st = after(cpu, &cpu->ix.ev);
		emu_ix_sync(cpu);
		return st;
	}
	if (cpu->ix.stepped) {
		vmm_event ev;

		memset(&ev, 0, sizeof(ev));
		ev.type = VMM_EV_STEP;
		ev.addr = (cpu->segbase[X86_SEG_CS] + cpu->rip) & cpu->linmask;
		cpu->ix.stepped = 0;
		st = after(cpu, &ev);
		emu_ix_sync(cpu);
		return st;
	}
	emu_ix_sync(cpu);
	if (!cpu->ix.slow)
		return EMU_OK;
	stepping = vmm__ix_stepping(cpu->vm, cpu->vcpu->index);
	st = emu_run_one(cpu);
	if (!cpu->ix.fault) {     /* done (or a real fault): allowances end */
		cpu->ix.allow = 0;
		cpu->ix.stepped = (uint8_t)stepping;
	}                         /* else another event: keep them for the rerun */
	if (cpu->ix.watch && !cpu->ix.fault) {
		cpu->ix.watch = 0;
		cpu->ix.watch_fire = 1;
	}
	emu_ix_sync(cpu);
	return st;
}

/* ---- Backend ops -------------------------------------------------------------- */

void emu_ix_caps(vmm_vm *vm, vmm_hook_caps *caps)
{
	for (unsigned t = VMM_EV_BREAK; t <= VMM_EV_MAX; t++)
		caps->events |= VMM__IX_BIT(t);
	caps->flags = VMM_ICAP_INVISIBLE_BREAK | VMM_ICAP_DR_VIRTUAL;
	caps->hw_slots = 0;
	snprintf(caps->notes, sizeof(caps->notes), "emu: every event; breakpoints and "
		 "watchpoints are the monitor's own, separate from the guest's DR0-DR7");
}

int emu_ix_changed(vmm_vm *vm)
{
	emu_vm *evm = vm->backend_priv;

	/* Every vCPU drops its blocks and TLB (check_epochs) and re-reads
	 * which events it must raise (emu_ix_sync). */
	atomic_fetch_add(&evm->map_epoch, 1);
	atomic_fetch_add(&evm->code_epoch, 1);
	return 0;
}
