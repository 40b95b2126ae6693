/* run.c - the KVM_RUN loop, port I/O and MMIO exits, exit completion.
 *
 * Each KVM exit goes to the bus first; only accesses no device claims (and
 * exits a device asks to stop at) reach the caller. Results the caller
 * supplies (IN data, MMIO read data, hypercall result) are copied into the
 * kvm_run area at the start of the next run, before KVM_RUN completes the
 * instruction. String port I/O (rep ins/outs: io.count > 1) is handled one
 * element at a time; KVM_RUN is re-entered only when all are done. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "backends/kvm/kvm_priv.h"

static uint64_t all_ones(uint32_t size)
{
	return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

/* Fixed-size copies of one port element (1, 2 or 4 bytes; checked). */
static uint32_t load_element(const uint8_t *p, uint32_t size)
{
	uint16_t w;
	uint32_t d;

	switch (size) {
	case 1: return *p;
	case 2: memcpy(&w, p, 2); return w;
	default: memcpy(&d, p, 4); return d;
	}
}

static void store_element(uint8_t *p, uint32_t size, uint32_t value)
{
	uint16_t w = (uint16_t)value;

	switch (size) {
	case 1: *p = (uint8_t)value; break;
	case 2: memcpy(p, &w, 2); break;
	default: memcpy(p, &value, 4); break;
	}
}

static uint8_t *pio_element(const kvm__vcpu *kv, uint32_t i)
{
	return (uint8_t *)kv->run + kv->run->io.data_offset + (size_t)i * kv->run->io.size;
}

/* Out of line: keeps the 144-byte kvm_regs off the hot path's frame. */
static __attribute__((noinline)) uint64_t exact_rip(const kvm__vcpu *kv)
{
	struct kvm_regs regs;

	return ioctl(kv->fd, KVM_GET_REGS, &regs) == 0 ? regs.rip : 0;
}

/* RIP of the exit: free with sync regs, else only fetched where it matters. */
static void fill_rip(kvm__vcpu *kv, vmm_exit *exit, int precise)
{
	if (precise)
		exit->rip = exact_rip(kv);
	else if (kv->run->kvm_valid_regs & KVM_SYNC_X86_REGS)
		exit->rip = kv->run->s.regs.regs.rip;
	else
		exit->rip = 0;
}

/* ---- Port I/O ------------------------------------------------------------------------ */

static int pio_next(vmm_vcpu *vcpu, kvm__vcpu *kv, vmm_exit *exit);

static int pio_start(vmm_vcpu *vcpu, kvm__vcpu *kv, vmm_exit *exit)
{
	const struct kvm_run *run = kv->run;
	uint64_t end = run->io.data_offset + (uint64_t)run->io.count * run->io.size;

	if ((run->io.size != 1 && run->io.size != 2 && run->io.size != 4) ||
	    run->io.count == 0 || run->io.data_offset < sizeof(*run) || end > kv->run_size) {
		exit->reason = VMM_EXIT_INTERNAL_ERROR;
		exit->internal.suberror = 0;
		snprintf(exit->internal.message, sizeof(exit->internal.message),
			 "kvm: malformed KVM_EXIT_IO (port 0x%x size %u count %u offset "
			 "0x%llx)", run->io.port, run->io.size, run->io.count,
			 (unsigned long long)run->io.data_offset);
		return KVM__EXIT_RETURN;
	}
	kv->pending = KVM__PENDING_PIO;
	kv->pio.next = 0;
	kv->pio.count = run->io.count;
	kv->pio.awaiting = -1;
	return pio_next(vcpu, kv, exit);
}

static void pio_unclaimed(kvm__vcpu *kv, vmm_exit *exit, uint32_t data, int is_write)
{
	exit->reason = VMM_EXIT_IO;
	exit->io.port = kv->run->io.port;
	exit->io.size = kv->run->io.size;
	exit->io.direction = is_write ? VMM_IO_OUT : VMM_IO_IN;
	exit->io.data = is_write ? data : (uint32_t)all_ones(kv->run->io.size);
	kv->pio.awaiting = (int32_t)kv->pio.next;
}

/* Dispatches the next element of the pending KVM_EXIT_IO. */
static int pio_next(vmm_vcpu *vcpu, kvm__vcpu *kv, vmm_exit *exit)
{
	const struct kvm_run *run = kv->run;
	uint8_t *elem = pio_element(kv, kv->pio.next);
	int is_write = run->io.direction == KVM_EXIT_IO_OUT;
	uint32_t data = 0;
	int r;

	if (is_write)
		data = load_element(elem, run->io.size);
	r = vmm__bus_pio(vcpu, run->io.port, run->io.size, (uint8_t)is_write, &data);
	if (r == VMM__BUS_UNCLAIMED)
		pio_unclaimed(kv, exit, data, is_write);
	else if (r < 0)
		kvm__exit_device_failed(exit, "port", run->io.port, r);
	else if (!is_write)
		store_element(elem, run->io.size, data);
	if (++kv->pio.next == kv->pio.count && kv->pio.awaiting < 0)
		kv->pending = KVM__PENDING_NONE;
	return r == VMM__BUS_DONE ? KVM__EXIT_CONTINUE : KVM__EXIT_RETURN;
}

/* ---- MMIO ------------------------------------------------------------------------------ */

static int handle_mmio(vmm_vcpu *vcpu, kvm__vcpu *kv, vmm_exit *exit)
{
	struct kvm_run *run = kv->run;
	uint32_t len = run->mmio.len;
	int ret;
	uint64_t data = 0;
	int r;

	if (len == 0 || len > 8) {
		exit->reason = VMM_EXIT_INTERNAL_ERROR;
		exit->internal.suberror = 0;
		snprintf(exit->internal.message, sizeof(exit->internal.message),
			 "kvm: malformed KVM_EXIT_MMIO at 0x%llx (length %u)",
			 (unsigned long long)run->mmio.phys_addr, len);
		return KVM__EXIT_RETURN;
	}
	if (__builtin_expect(atomic_load_explicit(&kvm__vm_of(vcpu->vm)->prot_on,
						  memory_order_relaxed), 0) &&
	    kvm__pages_mmio(vcpu, run, exit, &ret))
		return ret;   /* RAM with a PAGE hook's permission taken away */
	if (run->mmio.is_write)
		memcpy(&data, run->mmio.data, len);
	r = vmm__bus_mmio(vcpu, run->mmio.phys_addr, (uint8_t)len, run->mmio.is_write, &data);
	if (r == VMM__BUS_UNCLAIMED) {
		exit->reason = VMM_EXIT_MMIO;
		exit->mmio.addr = run->mmio.phys_addr;
		exit->mmio.size = (uint8_t)len;
		exit->mmio.is_write = run->mmio.is_write;
		exit->mmio.data = run->mmio.is_write ? data : all_ones(len);
		if (!run->mmio.is_write)
			kv->pending = KVM__PENDING_MMIO_READ;
	} else if (r < 0) {
		kvm__exit_device_failed(exit, "MMIO address", run->mmio.phys_addr, r);
	} else if (!run->mmio.is_write) {
		memcpy(run->mmio.data, &data, len);
	}
	return r == VMM__BUS_DONE ? KVM__EXIT_CONTINUE : KVM__EXIT_RETURN;
}

/* ---- Completion and the loop ---------------------------------------------------------- */

/* Stores what the caller supplied for the exit returned last time. */
static void absorb_result(kvm__vcpu *kv, const vmm_exit *exit)
{
	struct kvm_run *run = kv->run;

	switch (kv->pending) {
	case KVM__PENDING_PIO:
		if (kv->pio.awaiting >= 0 && run->io.direction == KVM_EXIT_IO_IN)
			store_element(pio_element(kv, (uint32_t)kv->pio.awaiting),
				      run->io.size, exit->io.data);
		kv->pio.awaiting = -1;
		if (kv->pio.next >= kv->pio.count)
			kv->pending = KVM__PENDING_NONE;
		break;
	case KVM__PENDING_MMIO_READ:
		memcpy(run->mmio.data, &exit->mmio.data, run->mmio.len);
		kv->pending = KVM__PENDING_NONE;
		break;
	case KVM__PENDING_HYPERCALL:
		run->hypercall.ret = exit->hypercall.ret;
		kv->pending = KVM__PENDING_NONE;
		break;
	default:
		break;
	}
}

/* page.c's gate: in_guest is seq-cst against the gate, so a changer either
 * sees this vCPU in the guest (and kicks it out) or the vCPU sees the gate
 * closed and waits. */
static int gate_enter(vmm_vcpu *vcpu, kvm__vcpu *kv)
{
	kvm__vm *kvm = kvm__vm_of(vcpu->vm);

	atomic_store(&kv->in_guest, 1);
	if (__builtin_expect(!atomic_load(&kvm->gate), 1))
		return 0;
	atomic_store(&kv->in_guest, 0);
	kvm__gate_wait(kvm);
	return 1;
}

/* The exit of a KVM_RUN that returned r. */
static int dispatch(vmm_vcpu *vcpu, kvm__vcpu *kv, vmm_exit *exit, int r)
{
	if (r < 0) {
		if (errno != EINTR && errno != EAGAIN)
			return vmm__err(VMM_EINTERNAL, "kvm: KVM_RUN on vCPU %u: %s",
					vcpu->index, strerror(errno));
		/* Kicked or another signal: seq-cst so that a kick racing with this
		 * reset is still seen by the kicked check before the next KVM_RUN. */
		__atomic_store_n(&kv->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
		return KVM__EXIT_CONTINUE;
	}
	switch (kv->run->exit_reason) {
	case KVM_EXIT_IO:
		return pio_start(vcpu, kv, exit);
	case KVM_EXIT_MMIO:
		return handle_mmio(vcpu, kv, exit);
	case KVM_EXIT_HYPERCALL:
		kv->pending = KVM__PENDING_HYPERCALL;
		return kvm__exit_other(vcpu, kv->run, exit);
	default:
		return kvm__exit_other(vcpu, kv->run, exit);
	}
}

/* page.c's EXEC window: one KVM_RUN with the hooked page mapped. */
static __attribute__((noinline)) int exec_window(vmm_vcpu *vcpu, kvm__vcpu *kv,
						 vmm_exit *exit)
{
	int r = kvm__exec_open(vcpu, kv), err;

	if (r == 2)
		return kvm__exit_other(vcpu, kv->run, exit);   /* a HLT */
	if (r)
		return r < 0 ? r : KVM__EXIT_CONTINUE;
	/* Enters again (at most 8 times) while nothing ran: a host that traps
	 * before the instruction; a guest's `jmp .` only loses events. */
	for (unsigned n = 0;; n++) {
		r = ioctl(kv->fd, KVM_RUN, 0);
		err = errno;
		if (r < 0 || n == 8 || !kvm__exec_stalled(vcpu, kv))
			break;
	}
	if (kvm__exec_close(vcpu, kv))
		return KVM__EXIT_CONTINUE;   /* the instruction ran: nothing to report */
	errno = err;
	return dispatch(vcpu, kv, exit, r);
}

static int enter_guest(vmm_vcpu *vcpu, kvm__vcpu *kv, vmm_exit *exit)
{
	int r;

	if (__builtin_expect(kv->exec_pending, 0))
		return exec_window(vcpu, kv, exit);
	if (gate_enter(vcpu, kv))
		return KVM__EXIT_CONTINUE;
	r = ioctl(kv->fd, KVM_RUN, 0);
	atomic_store_explicit(&kv->in_guest, 0, memory_order_release);
	return dispatch(vcpu, kv, exit, r);
}

static int cancelled(kvm__vcpu *kv, vmm_exit *exit)
{
	__atomic_store_n(&kv->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	exit->reason = VMM_EXIT_CANCELLED;
	return KVM__EXIT_RETURN;
}

#define KVM_DBG_MOVED(vcpu, kv)                                                  \
	__builtin_expect(atomic_load_explicit(&kvm__vm_of((vcpu)->vm)->dbg_gen,     \
					      memory_order_relaxed) != (kv)->dbg_gen, 0)

static int run_loop(vmm_vcpu *vcpu, kvm__vcpu *kv, vmm_exit *exit)
{
	int r;

	absorb_result(kv, exit);
	for (;;) {
		if (atomic_load(&vcpu->kicked))
			r = cancelled(kv, exit);
		else if (kv->pending == KVM__PENDING_PIO)
			r = pio_next(vcpu, kv, exit);
		else if (KVM_DBG_MOVED(vcpu, kv))
			r = kvm__debug_apply(vcpu, kv);   /* hooks changed */
		else
			r = enter_guest(vcpu, kv, exit);
		if (r != KVM__EXIT_CONTINUE)
			return r;
	}
}

static int precise_rip(uint32_t reason)
{
	return reason == VMM_EXIT_CANCELLED || reason == VMM_EXIT_INTERNAL_ERROR ||
	       reason == VMM_EXIT_FAIL_ENTRY || reason == VMM_EXIT_SHUTDOWN;
}

int kvm__run(vmm_vcpu *vcpu, vmm_exit *exit)
{
	kvm__vcpu *kv = kvm__vcpu_of(vcpu);
	int r;

	r = kvm__vm_flush_removed(kvm__vm_of(vcpu->vm));
	if (r == 0)
		r = kvm__vcpu_start_state(vcpu, kv);
	if (r < 0)
		return r;
	kv->thread = pthread_self();
	atomic_store(&kv->running, 1);
	r = run_loop(vcpu, kv, exit);
	kvm__run_leave(kv);
	if (r < 0)
		return r;
	exit->vcpu_index = vcpu->index;
	fill_rip(kv, exit, precise_rip(exit->reason));
	return 0;
}
