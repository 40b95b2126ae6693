/* hypertest.c - host test "hypercall": the hypercall guest's VMCALLs reach
 * vmm_vcpu_run as VMM_EXIT_HYPERCALL with nr and arguments from RAX, RBX,
 * RCX, RDX, RSI, and the value stored in exit->hypercall.ret is the
 * guest's RAX when it resumes. */
#include <stdio.h>
#include <string.h>

#include "tests/conformance/src/conform.h"
#include "tests/guests/hypercall.h"

static int check_call(const vmm_exit *e, uint32_t n, outcome *out)
{
	uint64_t nr = HYPERCALL_NR + n, a = 0x1111111111111111ull * (n + 1);

	if (n >= HYPERCALL_CALLS || e->hypercall.nr != nr || e->hypercall.args[0] != a ||
	    e->hypercall.args[1] != a + 1 || e->hypercall.args[2] != a + 2 ||
	    e->hypercall.args[3] != ~a)
		return outcome_fail(out, "hypercall %u: nr 0x%llx args 0x%llx 0x%llx 0x%llx "
				    "0x%llx, expected nr 0x%llx args 0x%llx ...", n,
				    (unsigned long long)e->hypercall.nr,
				    (unsigned long long)e->hypercall.args[0],
				    (unsigned long long)e->hypercall.args[1],
				    (unsigned long long)e->hypercall.args[2],
				    (unsigned long long)e->hypercall.args[3],
				    (unsigned long long)nr, (unsigned long long)a);
	return OUTCOME_PASS;
}

#define HYPERCALL_DEADLINE_MS 10000u

/* The watchdog stopped a guest that never left its VMCALL. On PVM that is
 * the host's KVM (VMCALL never leaves KVM_RUN there): reported as not run. */
static void stuck(vmm_vm *vm, uint32_t calls, uint64_t rip, outcome *out)
{
	outcome_fail(out, "no exit within %u s after %u hypercalls (the guest is "
		     "stuck at rip 0x%llx)", HYPERCALL_DEADLINE_MS / 1000, calls,
		     (unsigned long long)rip);
	if (strcmp(vmm_vm_flavour(vm), "kvm_pvm") == 0 && calls == 0) {
		out->kind = OUTCOME_SKIP;
		snprintf(out->text, sizeof(out->text), "known kvm_pvm limitation: the "
			 "PVM host's KVM never returns from KVM_RUN for a VMCALL (the "
			 "guest stays at rip 0x%llx)", (unsigned long long)rip);
	}
}

/* On VT-x and SVM, KVM answers a guest's VMCALL/VMMCALL itself with
 * -KVM_ENOSYS (-1000, which the guest prints as a=0xfffffffffffffc18) and
 * forwards only KVM_HC_MAP_GPA_RANGE to user space: a documented limit of
 * the kvm backend (include/vmm.h, VMM_EXIT_HYPERCALL), reported as not run. */
static int kvm_answered(vmm_vm *vm, uint32_t calls, const capture *cap, outcome *out)
{
	if (strcmp(vmm_vm_backend(vm), "kvm") != 0 || calls != 0 || !cap->data ||
	    !strstr(cap->data, "a=0xfffffffffffffc18"))
		return 0;
	out->kind = OUTCOME_SKIP;
	snprintf(out->text, sizeof(out->text), "known %s limitation: KVM answers "
		 "VMCALL/VMMCALL in the kernel with -KVM_ENOSYS (-1000) and forwards "
		 "only KVM_HC_MAP_GPA_RANGE; general hypercall exits are emu-only",
		 vmm_vm_flavour(vm));
	return 1;
}

/* Drives vCPU 0 to its debug exit, answering each hypercall. */
static void drive(vmm_vm *vm, capture *cap, outcome *out)
{
	vmm_vcpu *vcpu = vmm_vcpu_get(vm, 0);
	uint32_t calls = 0;
	vmm_exit *e;

	for (uint32_t steps = 0; steps < 100; steps++) {
		if (vmm_vcpu_run(vcpu, &e)) {
			outcome_fail(out, "vmm_vcpu_run: %s", vmm_last_error());
			return;
		}
		if (e->reason == VMM_EXIT_DEBUG_EXIT) {
			if (kvm_answered(vm, calls, cap, out))
				return;
			if (e->debug_exit.code != 0 || calls != HYPERCALL_CALLS)
				outcome_fail(out, "guest exit 0x%x after %u of %u hypercalls; "
					     "guest said: %s", e->debug_exit.code, calls,
					     HYPERCALL_CALLS, cap->data ? cap->data : "");
			return;
		}
		if (e->reason == VMM_EXIT_CANCELLED) {
			stuck(vm, calls, e->rip, out);
			return;
		}
		if (e->reason != VMM_EXIT_HYPERCALL) {
			outcome_fail(out, "exit %u (rip 0x%llx) after %u hypercalls, expected "
				     "VMM_EXIT_HYPERCALL", e->reason,
				     (unsigned long long)e->rip, calls);
			return;
		}
		if (check_call(e, calls, out) != OUTCOME_PASS)
			return;
		e->hypercall.ret = hypercall_answer(e->hypercall.nr, e->hypercall.args[0],
						    e->hypercall.args[1],
						    e->hypercall.args[2],
						    e->hypercall.args[3]);
		calls++;
	}
	outcome_fail(out, "no end after 100 exits");
}

void host_test_hypercall(const conform_opts *o, const conform_manifest *m,
			 const char *backend, outcome *out)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	vmm_vm *vm = NULL;
	capture cap;
	watchdog w;
	char path[4096];

	capture_init(&cap);
	cfg.backend = backend;
	if (vmm_vm_create(&cfg, &vm) || capture_attach(&cap, vm))
		outcome_fail(out, "vmm_vm_create: %s", vmm_last_error());
	else if (vmm_load_elf(vm, guest_path(o, "hypercall", path, sizeof(path)), NULL))
		outcome_fail(out, "vmm_load_elf %s: %s", path, vmm_last_error());
	else if (watchdog_start(&w, vmm_vcpu_get(vm, 0), HYPERCALL_DEADLINE_MS))
		outcome_fail(out, "cannot start the watchdog thread");
	else {
		drive(vm, &cap, out);
		watchdog_stop(&w);
	}
	vmm_vm_destroy(vm);
	capture_fini(&cap);
}
