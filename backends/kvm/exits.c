/* exits.c - translating KVM exits other than port I/O and MMIO into vmm_exit.
 * A table indexed by the KVM exit number; numbers without a handler become an
 * internal-error exit naming the exit. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "backends/kvm/kvm_priv.h"

typedef int (*exit_fn)(vmm_vcpu *vcpu, struct kvm_run *run, vmm_exit *exit);

static const char *const exit_names[] = {
	[KVM_EXIT_UNKNOWN] = "KVM_EXIT_UNKNOWN",
	[KVM_EXIT_EXCEPTION] = "KVM_EXIT_EXCEPTION",
	[KVM_EXIT_IO] = "KVM_EXIT_IO",
	[KVM_EXIT_HYPERCALL] = "KVM_EXIT_HYPERCALL",
	[KVM_EXIT_DEBUG] = "KVM_EXIT_DEBUG",
	[KVM_EXIT_HLT] = "KVM_EXIT_HLT",
	[KVM_EXIT_MMIO] = "KVM_EXIT_MMIO",
	[KVM_EXIT_IRQ_WINDOW_OPEN] = "KVM_EXIT_IRQ_WINDOW_OPEN",
	[KVM_EXIT_SHUTDOWN] = "KVM_EXIT_SHUTDOWN",
	[KVM_EXIT_FAIL_ENTRY] = "KVM_EXIT_FAIL_ENTRY",
	[KVM_EXIT_INTR] = "KVM_EXIT_INTR",
	[KVM_EXIT_SET_TPR] = "KVM_EXIT_SET_TPR",
	[KVM_EXIT_TPR_ACCESS] = "KVM_EXIT_TPR_ACCESS",
	[KVM_EXIT_NMI] = "KVM_EXIT_NMI",
	[KVM_EXIT_INTERNAL_ERROR] = "KVM_EXIT_INTERNAL_ERROR",
	[KVM_EXIT_WATCHDOG] = "KVM_EXIT_WATCHDOG",
	[KVM_EXIT_EPR] = "KVM_EXIT_EPR",
	[KVM_EXIT_SYSTEM_EVENT] = "KVM_EXIT_SYSTEM_EVENT",
	[KVM_EXIT_IOAPIC_EOI] = "KVM_EXIT_IOAPIC_EOI",
	[KVM_EXIT_HYPERV] = "KVM_EXIT_HYPERV",
	[KVM_EXIT_X86_RDMSR] = "KVM_EXIT_X86_RDMSR",
	[KVM_EXIT_X86_WRMSR] = "KVM_EXIT_X86_WRMSR",
	[KVM_EXIT_DIRTY_RING_FULL] = "KVM_EXIT_DIRTY_RING_FULL",
	[KVM_EXIT_AP_RESET_HOLD] = "KVM_EXIT_AP_RESET_HOLD",
	[KVM_EXIT_X86_BUS_LOCK] = "KVM_EXIT_X86_BUS_LOCK",
	[KVM_EXIT_XEN] = "KVM_EXIT_XEN",
	[KVM_EXIT_NOTIFY] = "KVM_EXIT_NOTIFY",
};
#define NEXIT_NAMES (sizeof(exit_names) / sizeof(exit_names[0]))

const char *kvm__exit_name(uint32_t reason)
{
	return reason < NEXIT_NAMES && exit_names[reason] ? exit_names[reason] : "unknown";
}

__attribute__((format(printf, 3, 4)))
static int internal(vmm_exit *exit, uint32_t suberror, const char *fmt, ...)
{
	va_list ap;

	exit->reason = VMM_EXIT_INTERNAL_ERROR;
	exit->internal.suberror = suberror;
	va_start(ap, fmt);
	vsnprintf(exit->internal.message, sizeof(exit->internal.message), fmt, ap);
	va_end(ap);
	return KVM__EXIT_RETURN;
}

/* The bus already put "device at port 0x.. failed: why" in the last error. */
void kvm__exit_device_failed(vmm_exit *exit, const char *what, uint64_t where, int code)
{
	const char *msg = vmm_last_error();

	if (msg && msg[0])
		internal(exit, 0, "%s", msg);
	else
		internal(exit, 0, "device at %s 0x%llx failed: %s", what,
			 (unsigned long long)where, vmm_strerror(code));
}

static int simple(vmm_exit *exit, uint32_t reason)
{
	exit->reason = reason;
	return KVM__EXIT_RETURN;
}

static int on_hlt(vmm_vcpu *vcpu, struct kvm_run *run, vmm_exit *exit)
{
	if (atomic_load_explicit(&vcpu->vm->ix_flags, memory_order_relaxed))
		return kvm__exit_hlt(vcpu, exit);   /* HLT hooks (introspect.c) */
	return simple(exit, VMM_EXIT_HLT);
}

static int on_shutdown(vmm_vcpu *vcpu, struct kvm_run *run, vmm_exit *exit)
{
	return simple(exit, VMM_EXIT_SHUTDOWN);
}

/* Signals and requested windows: re-enter (the loop checks for kicks). */
static int on_continue(vmm_vcpu *vcpu, struct kvm_run *run, vmm_exit *exit)
{
	return KVM__EXIT_CONTINUE;
}

static int on_fail_entry(vmm_vcpu *vcpu, struct kvm_run *run, vmm_exit *exit)
{
	exit->reason = VMM_EXIT_FAIL_ENTRY;
	exit->fail_entry.hardware_reason = run->fail_entry.hardware_entry_failure_reason;
	return KVM__EXIT_RETURN;
}

static const char *internal_suberror_name(uint32_t suberror)
{
	switch (suberror) {
	case KVM_INTERNAL_ERROR_EMULATION: return "emulation failure";
	case KVM_INTERNAL_ERROR_SIMUL_EX: return "exception while delivering an exception";
	case KVM_INTERNAL_ERROR_DELIVERY_EV: return "event delivery failed";
	case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON: return "unexpected exit reason";
	default: return "unknown suberror";
	}
}

static int on_internal_error(vmm_vcpu *vcpu, struct kvm_run *run, vmm_exit *exit)
{
	uint32_t n = run->internal.ndata, sub = run->internal.suberror;
	int used, ret;

	if (atomic_load_explicit(&kvm__vm_of(vcpu->vm)->prot_on, memory_order_relaxed) &&
	    kvm__pages_exec_fault(vcpu, run, exit, &ret))
		return ret;   /* a fetch from a page hooked for EXEC (page.c) */
	internal(exit, sub, "kvm: KVM_EXIT_INTERNAL_ERROR suberror %u (%s), data:", sub,
		 internal_suberror_name(sub));
	if (n > sizeof(run->internal.data) / sizeof(run->internal.data[0]))
		n = sizeof(run->internal.data) / sizeof(run->internal.data[0]);
	used = (int)strlen(exit->internal.message);
	for (uint32_t i = 0; i < n && used < (int)sizeof(exit->internal.message); i++)
		used += snprintf(exit->internal.message + used,
				 sizeof(exit->internal.message) - (size_t)used, " 0x%llx",
				 (unsigned long long)run->internal.data[i]);
	if (n == 0)
		snprintf(exit->internal.message + used,
			 sizeof(exit->internal.message) - (size_t)used, " none");
	return KVM__EXIT_RETURN;
}

static int on_system_event(vmm_vcpu *vcpu, struct kvm_run *run, vmm_exit *exit)
{
	uint32_t type;

	switch (run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN: type = VMM_EVENT_POWEROFF; break;
	case KVM_SYSTEM_EVENT_RESET: type = VMM_EVENT_RESET; break;
	case KVM_SYSTEM_EVENT_CRASH: type = VMM_EVENT_CRASH; break;
	default:
		return internal(exit, 0, "kvm: KVM_EXIT_SYSTEM_EVENT of unknown type %u",
				run->system_event.type);
	}
	exit->reason = VMM_EXIT_SYSTEM_EVENT;
	exit->system_event.type = type;
	exit->system_event.data = run->system_event.ndata ? run->system_event.data[0] : 0;
	return KVM__EXIT_RETURN;
}

static int on_hypercall(vmm_vcpu *vcpu, struct kvm_run *run, vmm_exit *exit)
{
	exit->reason = VMM_EXIT_HYPERCALL;
	exit->hypercall.nr = run->hypercall.nr;
	for (int i = 0; i < 4; i++)
		exit->hypercall.args[i] = run->hypercall.args[i];
	exit->hypercall.ret = 0;
	return KVM__EXIT_RETURN;
}

static const exit_fn handlers[] = {
	[KVM_EXIT_HYPERCALL] = on_hypercall,
	[KVM_EXIT_HLT] = on_hlt,
	[KVM_EXIT_DEBUG] = kvm__exit_debug,
	[KVM_EXIT_X86_WRMSR] = kvm__exit_wrmsr,
	[KVM_EXIT_IRQ_WINDOW_OPEN] = on_continue,
	[KVM_EXIT_SHUTDOWN] = on_shutdown,
	[KVM_EXIT_FAIL_ENTRY] = on_fail_entry,
	[KVM_EXIT_INTR] = on_continue,
	[KVM_EXIT_INTERNAL_ERROR] = on_internal_error,
	[KVM_EXIT_SYSTEM_EVENT] = on_system_event,
	/* Split irqchip only (not used); the full in-kernel IOAPIC keeps EOIs
	 * inside the kernel, so re-entering is right if one ever arrives. */
	[KVM_EXIT_IOAPIC_EOI] = on_continue,
};
#define NHANDLERS (sizeof(handlers) / sizeof(handlers[0]))

int kvm__exit_other(vmm_vcpu *vcpu, struct kvm_run *run, vmm_exit *exit)
{
	uint32_t reason = run->exit_reason;

	if (reason < NHANDLERS && handlers[reason])
		return handlers[reason](vcpu, run, exit);
	if (reason == KVM_EXIT_UNKNOWN)
		return internal(exit, 0, "kvm: KVM_EXIT_UNKNOWN (hardware exit reason 0x%llx)",
				(unsigned long long)run->hw.hardware_exit_reason);
	return internal(exit, 0, "kvm: unexpected KVM exit %u (%s)", reason,
			kvm__exit_name(reason));
}
