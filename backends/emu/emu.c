/* emu.c - placeholder for the software x86-64 backend (being written). */
#include <stdio.h>

#include "lib/internal.h"

static void emu_probe(vmm_backend_info *info)
{
	info->usable = 0;
	snprintf(info->flavour, sizeof(info->flavour), "x86-64");
	snprintf(info->reason, sizeof(info->reason), "emu: not built yet");
}

static int emu_vm_create(vmm_vm *vm)
{
	return vmm__err(VMM_EBACKEND, "emu: not built yet");
}

const vmm__backend_ops vmm__emu_ops = {
	.version = VMM__BACKEND_OPS_VERSION,
	.name = "emu",
	.probe = emu_probe,
	.vm_create = emu_vm_create,
};
