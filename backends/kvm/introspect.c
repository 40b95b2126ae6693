/* introspect.c - the kvm backend's side of lib/introspect: breakpoints,
 * watchpoints and single-step through KVM_SET_GUEST_DEBUG, the
 * KVM_EXIT_DEBUG exits they cause, and MSR, FPU and debug-register reads.
 *
 * BREAK, HWBREAK and WATCH hooks share the four debug registers that KVM
 * loads for the monitor (KVM_GUESTDBG_USE_HW_BP): guest memory is never
 * patched, and the guest still reads its own DR0-DR7. The hook set is
 * turned into a kvm_guest_debug template (ix_changed, any thread); each
 * vCPU applies it on its own thread before entering the guest when the
 * template's generation moved (running vCPUs are nudged out of KVM_RUN by
 * the kick signal without a cancelled exit). Continuing from a breakpoint
 * single-steps the instruction with that breakpoint disabled (RFLAGS.RF is
 * not honoured everywhere: PVM ignores it), then restores it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "backends/emu/decode.h"
#include "backends/kvm/kvm_priv.h"
#include "lib/introspect/ix.h"

#define DR6_BS (1u << 14)
#define STALLED_MAX 8   /* as run.c's exec_window */

void kvm__ix_caps(vmm_vm *vm, vmm_hook_caps *caps)
{
	caps->events = VMM__IX_BIT(VMM_EV_BREAK) | VMM__IX_BIT(VMM_EV_HWBREAK) |
		       VMM__IX_BIT(VMM_EV_STEP) | VMM__IX_BIT(VMM_EV_WATCH) |
		       VMM__IX_BIT(VMM_EV_MSR_WRITE) | VMM__IX_BIT(VMM_EV_PAGE) |
		       VMM__IX_BIT(VMM_EV_EXCEPTION);   /* vector 3 only (the notes) */
	if (!(vm->config.flags & VMM_VM_IRQCHIP))
		caps->events |= VMM__IX_BIT(VMM_EV_HLT);   /* HLT exits to user space */
	caps->flags = VMM_ICAP_INVISIBLE_BREAK | VMM_ICAP_DR_VIRTUAL;
	caps->hw_slots = 4;
	snprintf(caps->notes, sizeof(caps->notes),
		 "kvm: BREAK, HWBREAK and WATCH share the 4 debug registers "
		 "(KVM_SET_GUEST_DEBUG); MSR_WRITE: KVM's MSR filter, at most %d MSRs; "
		 "HLT is reported after it ran, only without VMM_VM_IRQCHIP; PAGE splits "
		 "memory slots (EXEC: each fetch from the page is an event, the "
		 "instruction then runs single-stepped); EXCEPTION: only vector 3, the "
		 "guest's INT3 (KVM_GUESTDBG_USE_SW_BP); CR writes, CPUID and other "
		 "exceptions are handled inside KVM without an exit to user space",
		 KVM_MSR_FILTER_MAX_RANGES);
}

/* DR7 bits for slot i: enable (G), R/W and LEN. */
static uint64_t dr7_slot(unsigned i, const vmm_hook_config *c)
{
	static const uint8_t len_bits[9] = { 0, 0, 1, 0, 3, 0, 0, 0, 2 };
	uint64_t rw = 0, len = 0;

	if (c->type == VMM_EV_WATCH) {
		rw = (c->access & VMM_MEM_READ) ? 3 : 1;
		len = len_bits[c->len];
	}
	return (2ull << (2 * i)) | (rw << (16 + 4 * i)) | (len << (18 + 4 * i));
}

/* MSR_WRITE hooks: writes to those MSRs exit to user space (the filter
 * denies them; KVM_CAP_X86_USER_SPACE_MSR turns the denial into an exit). */
static int msr_filter(vmm_vm *vm, const vmm__ix *ix)
{
	kvm__vm *kvm = kvm__vm_of(vm);
	static const uint8_t deny = 0;
	struct kvm_msr_filter f;
	unsigned n = 0;

	memset(&f, 0, sizeof(f));
	f.flags = KVM_MSR_FILTER_DEFAULT_ALLOW;
	for (unsigned i = 0; ix && i < VMM_HOOK_MAX; i++) {
		const vmm_hook_config *c = &ix->hooks[i].cfg;

		if (!ix->hooks[i].id || c->type != VMM_EV_MSR_WRITE)
			continue;
		if (n == KVM_MSR_FILTER_MAX_RANGES)
			return vmm__err(VMM_EBUSY, "kvm: MSR_WRITE hooks on more than %d MSRs",
					KVM_MSR_FILTER_MAX_RANGES);
		f.ranges[n++] = (struct kvm_msr_filter_range){ KVM_MSR_FILTER_WRITE, 1, c->index,
							       (uint8_t *)&deny };
	}
	if (!n && !kvm->msr_filter_on)
		return 0;
	if (!kvm->msr_filter_on) {
		struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_USER_SPACE_MSR,
					      .args = { KVM_MSR_EXIT_REASON_FILTER } };

		if (ioctl(kvm->fd, KVM_ENABLE_CAP, &cap) < 0)
			return vmm__err(VMM_ENOTSUP, "kvm: KVM_CAP_X86_USER_SPACE_MSR: %s",
					strerror(errno));
		kvm->msr_filter_on = 1;
	}
	if (ioctl(kvm->fd, KVM_X86_SET_MSR_FILTER, &f) < 0)
		return vmm__err(VMM_ENOTSUP, "kvm: KVM_X86_SET_MSR_FILTER: %s", strerror(errno));
	return 0;
}

/* EXCEPTION hooks: KVM hands user space only the #BP of the guest's INT3
 * (KVM_GUESTDBG_USE_SW_BP). */
static int exc_refused(uint32_t vector)
{
	return vmm__err(VMM_ENOTSUP, "kvm: EXCEPTION hooks take only vector 3 (#BP, the "
			"guest's INT3, through KVM_GUESTDBG_USE_SW_BP), not %u: KVM delivers "
			"other exceptions to the guest inside the kernel without an exit to "
			"user space (#DB exits only while KVM single-steps or uses the debug "
			"registers for the monitor, and the guest's own DR0-DR7 breakpoints "
			"are then not armed)", vector);
}

int kvm__ix_changed(vmm_vm *vm)
{
	kvm__vm *kvm = kvm__vm_of(vm);
	vmm__ix *ix = atomic_load(&vm->ix);
	struct kvm_guest_debug d;
	uint64_t step = 0;
	uint32_t sw_bp = 0;
	unsigned n = 0;

	int rc = msr_filter(vm, ix);

	if (!rc)
		rc = kvm__pages_changed(vm, ix);
	if (rc)
		return rc;
	memset(&d, 0, sizeof(d));
	for (unsigned i = 0; ix && i < VMM_HOOK_MAX; i++) {
		const vmm_hook_config *c = &ix->hooks[i].cfg;

		if (!ix->hooks[i].id)
			continue;
		if (c->type == VMM_EV_STEP)
			step |= 1ull << c->vcpu;
		if (c->type == VMM_EV_EXCEPTION && c->index != 3)
			return exc_refused(c->index);
		if (c->type == VMM_EV_EXCEPTION)
			sw_bp = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP;
		if (c->type != VMM_EV_BREAK && c->type != VMM_EV_HWBREAK &&
		    c->type != VMM_EV_WATCH)
			continue;
		if (n == 4)
			return vmm__err(VMM_EBUSY, "kvm: the 4 debug registers are in use "
					"(BREAK, HWBREAK and WATCH hooks share them)");
		d.arch.debugreg[n] = c->addr;
		d.arch.debugreg[7] |= dr7_slot(n, c);
		n++;
	}
	if (n)
		d.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP;
	d.control |= sw_bp;   /* the guest's INT3 exits (EXCEPTION 3) */
	pthread_mutex_lock(&kvm->lock);
	kvm->dbg = d;
	kvm->dbg_step = step;
	atomic_fetch_add(&kvm->dbg_gen, 1);
	pthread_mutex_unlock(&kvm->lock);
	for (uint32_t i = 0; i < VMM_MAX_VCPUS; i++)
		if (vm->vcpus[i])
			kvm__kick(vm->vcpus[i]);   /* out of KVM_RUN: apply it */
	return 0;
}

int kvm__debug_apply(vmm_vcpu *vcpu, kvm__vcpu *kv)
{
	kvm__vm *kvm = kvm__vm_of(vcpu->vm);
	struct kvm_guest_debug d;

	pthread_mutex_lock(&kvm->lock);
	d = kvm->dbg;
	kv->dbg_gen = atomic_load(&kvm->dbg_gen);
	if (kvm->dbg_step & (1ull << vcpu->index))
		d.control |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
	pthread_mutex_unlock(&kvm->lock);
	if (kv->step_over) {
		for (unsigned i = 0; i < 4; i++)
			if (d.arch.debugreg[i] == kv->step_over_addr &&
			    !((d.arch.debugreg[7] >> (16 + 4 * i)) & 3))
				d.arch.debugreg[7] &= ~(3ull << (2 * i));
		d.control |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
	}
	if (kv->exec_step)   /* page.c's EXEC window */
		d.control |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
	if ((d.control & KVM_GUESTDBG_SINGLESTEP) && !kv->stepping && !kv->exec_step)
		kv->step_check = kvm__get_regs(vcpu, &kv->step_regs) ? 0 : STALLED_MAX;
	kv->stepping = !!(d.control & KVM_GUESTDBG_SINGLESTEP);
	if (ioctl(kv->fd, KVM_SET_GUEST_DEBUG, &d) < 0)
		return vmm__err(VMM_EINTERNAL, "kvm: KVM_SET_GUEST_DEBUG on vCPU %u: %s",
				vcpu->index, strerror(errno));
	return 0;
}

/* The event a KVM_EXIT_DEBUG reports: STEP, or the slot in DR6. */
static int debug_event(vmm_vm *vm, const struct kvm_debug_exit_arch *a, vmm_event *ev)
{
	kvm__vm *kvm = kvm__vm_of(vm);
	vmm__ix *ix = atomic_load(&vm->ix);
	unsigned slot = 4;

	memset(ev, 0, sizeof(*ev));
	ev->rip = ev->addr = a->pc;
	for (unsigned i = 0; i < 4; i++)
		if (a->dr6 & (1u << i))
			slot = i;
	if (slot == 4) {
		ev->type = VMM_EV_STEP;
		return (a->dr6 & DR6_BS) || a->exception == 1 ? 0 : -1;
	}
	pthread_mutex_lock(&kvm->lock);
	ev->addr = kvm->dbg.arch.debugreg[slot];
	ev->type = ((kvm->dbg.arch.debugreg[7] >> (16 + 4 * slot)) & 3) ? VMM_EV_WATCH
									 : VMM_EV_HWBREAK;
	pthread_mutex_unlock(&kvm->lock);
	if (ev->type == VMM_EV_WATCH) {
		ev->access = VMM_MEM_WRITE;
		ev->value = 1;
	} else if (ix) {
		pthread_mutex_lock(&ix->lock);   /* report the kind gdb asked for */
		for (unsigned i = 0; i < VMM_HOOK_MAX; i++)
			if (ix->hooks[i].id && ix->hooks[i].cfg.type == VMM_EV_BREAK &&
			    ix->hooks[i].cfg.addr == ev->addr)
				ev->type = VMM_EV_BREAK;
		pthread_mutex_unlock(&ix->lock);
	}
	return 0;
}

/* Instruction length at RIP, by the emu decoder (for SKIP). */
int kvm__insn_len(vmm_vcpu *vcpu, const vmm_regs *r)
{
	vmm_sregs s;
	uint8_t bytes[15];
	emu_dec d;
	unsigned sz;
	int len;

	if (kvm__get_sregs(vcpu, &s) || vmm_virt_read(vcpu, s.cs.base + r->rip, bytes, 15))
		return -1;
	sz = s.cs.l ? 3 : s.cs.db ? 2 : 1;
	len = emu_decode(bytes, 15, sz, &d);
	return len > 0 ? len : -1;
}

/* VMM_ACT_INJECT: ev->inject_vector is delivered before the next
 * instruction (an exception below 32, with its error code if asked; an
 * interrupt otherwise), as KVM_SET_VCPU_EVENTS queues it. */
int kvm__inject(vmm_vcpu *vcpu, const vmm_event *ev)
{
	kvm__vcpu *kv = kvm__vcpu_of(vcpu);
	struct kvm_vcpu_events e;

	if (ioctl(kv->fd, KVM_GET_VCPU_EVENTS, &e) < 0)
		return vmm__err(VMM_EINTERNAL, "kvm: KVM_GET_VCPU_EVENTS: %s", strerror(errno));
	e.flags = 0;
	if (ev->inject_vector < 32) {
		e.exception.injected = 1;
		e.exception.nr = (uint8_t)ev->inject_vector;
		e.exception.has_error_code = ev->inject_has_error ? 1 : 0;
		e.exception.error_code = ev->inject_error_code;
	} else {
		e.interrupt.injected = 1;
		e.interrupt.nr = (uint8_t)ev->inject_vector;
		e.interrupt.soft = 0;
	}
	if (ioctl(kv->fd, KVM_SET_VCPU_EVENTS, &e) < 0)
		return vmm__err(VMM_EINVAL, "kvm: KVM_SET_VCPU_EVENTS (vector %u): %s",
				ev->inject_vector, strerror(errno));
	return 0;
}

/* The guest's INT3 (KVM_GUESTDBG_USE_SW_BP; RIP at the INT3): the EXCEPTION
 * 3 hooks decide, as on emu. CONTINUE delivers the #BP (KVM_SET_VCPU_EVENTS;
 * KVM keeps the INT3's length, so the guest's frame points past it), SKIP
 * drops it (RIP past the INT3), INJECT delivers inject_vector instead, STOP
 * leaves RIP at the INT3 (it runs again on the next run). */
static int exit_bp(vmm_vcpu *vcpu, const struct kvm_debug_exit_arch *a, vmm_exit *exit)
{
	vmm_event ev;
	vmm_regs r;
	uint32_t act;
	int len;

	if (kvm__get_regs(vcpu, &r))
		return VMM_EINTERNAL;
	memset(&ev, 0, sizeof(ev));
	ev.type = VMM_EV_EXCEPTION;
	ev.index = 3;
	ev.rip = ev.addr = r.rip;
	act = vmm__ix_index_hooked(vcpu->vm, VMM_EV_EXCEPTION, vcpu->index, 3)
		      ? vmm__ix_fire(vcpu, &ev)
		      : VMM_ACT_CONTINUE;   /* the hook went meanwhile */
	(void)a;
	if (act == VMM_ACT_STOP) {
		exit->reason = VMM_EXIT_STOPPED;
		return KVM__EXIT_RETURN;
	}
	if (kvm__get_regs(vcpu, &r))
		return VMM_EINTERNAL;
	if (r.rip != ev.rip)
		return KVM__EXIT_CONTINUE;   /* the handler moved RIP: resume there */
	if (act == VMM_ACT_SKIP) {
		if ((len = kvm__insn_len(vcpu, &r)) > 0) {
			r.rip += (uint64_t)len;
			return kvm__set_regs(vcpu, &r) ? VMM_EINTERNAL : KVM__EXIT_CONTINUE;
		}
		return KVM__EXIT_CONTINUE;
	}
	if (act != VMM_ACT_INJECT) {
		ev.inject_vector = 3;
		ev.inject_has_error = 0;
	}
	return kvm__inject(vcpu, &ev) ? VMM_EINTERNAL : KVM__EXIT_CONTINUE;
}

/* A single-step exit soon after stepping was turned on, with every
 * register as it was then: nothing ran. Bochs's VT-x traps at VM entry,
 * before the instruction, up to 4 times in a row (measured); such exits
 * are no STEP event, up to STALLED_MAX of them (a guest's `jmp .` then only
 * takes that many more entries per step: its state is the same). */
static int stalled_step(vmm_vcpu *vcpu, kvm__vcpu *kv)
{
	vmm_regs r;

	if (!kv->step_check)
		return 0;
	if (!kvm__get_regs(vcpu, &r) && !memcmp(&r, &kv->step_regs, sizeof(r))) {
		kv->step_check--;
		return 1;
	}
	kv->step_check = 0;
	return 0;
}

int kvm__exit_debug(vmm_vcpu *vcpu, struct kvm_run *run, vmm_exit *exit)
{
	kvm__vcpu *kv = kvm__vcpu_of(vcpu);
	kvm__vm *kvm = kvm__vm_of(vcpu->vm);
	vmm_event ev;
	vmm_regs r;
	uint32_t act;
	int len;

	if (run->debug.arch.exception == 3)
		return exit_bp(vcpu, &run->debug.arch, exit);
	if (debug_event(vcpu->vm, &run->debug.arch, &ev))
		return KVM__EXIT_CONTINUE;
	if (ev.type == VMM_EV_STEP && stalled_step(vcpu, kv))
		return KVM__EXIT_CONTINUE;
	if (kv->step_over && ev.type == VMM_EV_STEP) {
		kv->step_over = 0;     /* past the breakpoint: restore it */
		kv->dbg_gen--;
		if (!(kvm->dbg_step & (1ull << vcpu->index)))
			return KVM__EXIT_CONTINUE;
	}
	act = vmm__ix_fire(vcpu, &ev);
	if (kvm__get_regs(vcpu, &r))
		return KVM__EXIT_CONTINUE;
	if (act == VMM_ACT_STOP) {
		exit->reason = VMM_EXIT_STOPPED;
		return KVM__EXIT_RETURN;
	}
	if ((ev.type == VMM_EV_HWBREAK || ev.type == VMM_EV_BREAK) && r.rip == ev.rip) {
		if (act == VMM_ACT_SKIP && (len = kvm__insn_len(vcpu, &r)) > 0) {
			r.rip += (uint64_t)len;
			kvm__set_regs(vcpu, &r);
		} else {
			kv->step_over = 1;     /* run it once past the breakpoint */
			kv->step_over_addr = ev.addr;
			kv->dbg_gen--;
		}
	}
	return KVM__EXIT_CONTINUE;
}

/* A write to a filtered MSR (KVM_EXIT_X86_WRMSR): the MSR_WRITE hooks
 * decide; CONTINUE makes the write (KVM_SET_MSRS), SKIP drops it, INJECT
 * has KVM raise #GP. */
int kvm__exit_wrmsr(vmm_vcpu *vcpu, struct kvm_run *run, vmm_exit *exit)
{
	vmm_event ev;
	uint32_t act;

	memset(&ev, 0, sizeof(ev));
	ev.type = VMM_EV_MSR_WRITE;
	ev.index = run->msr.index;
	ev.value = run->msr.data;
	{
		vmm_regs r;

		if (kvm__get_regs(vcpu, &r) == 0)
			ev.rip = ev.addr = r.rip;
	}
	act = vmm__ix_fire(vcpu, &ev);
	run->msr.error = 0;
	if (act == VMM_ACT_STOP) {
		exit->reason = VMM_EXIT_STOPPED;
		return KVM__EXIT_RETURN;
	}
	if (act == VMM_ACT_INJECT)
		run->msr.error = 1;
	else if (act == VMM_ACT_CONTINUE && kvm__set_msr(vcpu, run->msr.index, run->msr.data))
		run->msr.error = 1;   /* the MSR does not take it: #GP as KVM would */
	return KVM__EXIT_CONTINUE;
}

/* KVM_EXIT_HLT with HLT hooks: KVM already ran the HLT (RIP is past it).
 * CONTINUE: the HLT exit as usual; SKIP: the guest goes on as if it had
 * been woken; STOP: VMM_EXIT_STOPPED. */
int kvm__exit_hlt(vmm_vcpu *vcpu, vmm_exit *exit)
{
	vmm_event ev;
	vmm_regs r;
	uint32_t act;

	memset(&ev, 0, sizeof(ev));
	ev.type = VMM_EV_HLT;
	if (kvm__get_regs(vcpu, &r) == 0)
		ev.rip = ev.addr = r.rip;
	act = vmm__ix_fire(vcpu, &ev);
	if (act == VMM_ACT_SKIP)
		return KVM__EXIT_CONTINUE;
	exit->reason = act == VMM_ACT_STOP ? VMM_EXIT_STOPPED : VMM_EXIT_HLT;
	return KVM__EXIT_RETURN;
}

/* ---- Register families ---------------------------------------------------- */

int kvm__get_msr(vmm_vcpu *vcpu, uint32_t msr, uint64_t *value)
{
	struct { struct kvm_msrs h; struct kvm_msr_entry e; } m;

	memset(&m, 0, sizeof(m));
	m.h.nmsrs = 1;
	m.e.index = msr;
	if (ioctl(kvm__vcpu_of(vcpu)->fd, KVM_GET_MSRS, &m) != 1)
		return vmm__err(VMM_EINVAL, "kvm: MSR 0x%x cannot be read (KVM_GET_MSRS)", msr);
	*value = m.e.data;
	return 0;
}

/* x87/SSE state through KVM_GET/SET_XSAVE: its first 512 bytes are the
 * FXSAVE layout (KVM_GET_FPU/KVM_SET_FPU leave MXCSR out, and KVM_SET_FPU
 * does not mark the state present in XSTATE_BV, byte 512). */
typedef struct fxsave_area {
	uint16_t fcw, fsw;
	uint8_t ftw, pad0;
	uint16_t fop;
	uint64_t fip, fdp;
	uint32_t mxcsr, mxcsr_mask;
	uint8_t st[8][16];
	uint8_t xmm[16][16];
} fxsave_area;

static int get_xsave(vmm_vcpu *vcpu, struct kvm_xsave *x)
{
	if (ioctl(kvm__vcpu_of(vcpu)->fd, KVM_GET_XSAVE, x) < 0)
		return vmm__err(VMM_EINTERNAL, "kvm: KVM_GET_XSAVE: %s", strerror(errno));
	return 0;
}

int kvm__get_fpu(vmm_vcpu *vcpu, vmm_fpu *f)
{
	struct kvm_xsave x;
	fxsave_area a;

	if (get_xsave(vcpu, &x))
		return VMM_EINTERNAL;
	memcpy(&a, x.region, sizeof(a));
	memset(f, 0, sizeof(*f));
	memcpy(f->st, a.st, sizeof(f->st));
	f->fcw = a.fcw;
	f->fsw = a.fsw;
	for (unsigned r = 0; r < 8; r++)   /* abridged tag: 1 = not empty */
		f->ftw |= (uint16_t)((a.ftw >> r & 1 ? 0u : 3u) << (2 * r));
	f->fop = a.fop;
	f->fip = a.fip;
	f->fdp = a.fdp;
	f->mxcsr = a.mxcsr;
	memcpy(f->xmm, a.xmm, sizeof(f->xmm));
	return 0;
}

int kvm__set_fpu(vmm_vcpu *vcpu, const vmm_fpu *f)
{
	struct kvm_xsave x;
	fxsave_area a;

	if (get_xsave(vcpu, &x))
		return VMM_EINTERNAL;
	memcpy(&a, x.region, sizeof(a));
	memcpy(a.st, f->st, sizeof(a.st));
	a.fcw = f->fcw;
	a.fsw = f->fsw;
	a.ftw = 0;
	for (unsigned r = 0; r < 8; r++)
		if (((f->ftw >> (2 * r)) & 3) != 3)
			a.ftw |= (uint8_t)(1u << r);
	a.fop = f->fop;
	a.fip = f->fip;
	a.fdp = f->fdp;
	a.mxcsr = f->mxcsr;
	memcpy(a.xmm, f->xmm, sizeof(a.xmm));
	memcpy(x.region, &a, sizeof(a));
	x.region[128] |= 3;   /* XSTATE_BV: x87 and SSE state present */
	if (ioctl(kvm__vcpu_of(vcpu)->fd, KVM_SET_XSAVE, &x) < 0)
		return vmm__err(VMM_EINVAL, "kvm: KVM_SET_XSAVE: %s (MXCSR 0x%x)",
				strerror(errno), f->mxcsr);
	return 0;
}

int kvm__get_dregs(vmm_vcpu *vcpu, vmm_dregs *d)
{
	struct kvm_debugregs k;

	if (ioctl(kvm__vcpu_of(vcpu)->fd, KVM_GET_DEBUGREGS, &k) < 0)
		return vmm__err(VMM_EINTERNAL, "kvm: KVM_GET_DEBUGREGS: %s", strerror(errno));
	memset(d, 0, sizeof(*d));
	memcpy(d->dr, k.db, sizeof(k.db));
	d->dr[6] = k.dr6;
	d->dr[7] = k.dr7;
	return 0;
}
