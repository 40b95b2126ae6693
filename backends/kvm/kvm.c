/* kvm.c - placeholder for the Linux KVM backend (being written). */
#include <stdio.h>

#include "lib/internal.h"

static void kvm_probe(vmm_backend_info *info)
{
	info->usable = 0;
	snprintf(info->flavour, sizeof(info->flavour), "none");
	snprintf(info->reason, sizeof(info->reason), "kvm: not built yet");
}

static int kvm_vm_create(vmm_vm *vm)
{
	return vmm__err(VMM_EBACKEND, "kvm: not built yet");
}

const vmm__backend_ops vmm__kvm_ops = {
	.version = VMM__BACKEND_OPS_VERSION,
	.name = "kvm",
	.probe = kvm_probe,
	.vm_create = kvm_vm_create,
};
