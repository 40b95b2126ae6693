/* eventfd.c - irqfd and ioeventfd: eventfd bindings a backend serves inside
 * its kernel (kvm). Backends without them (emu) answer VMM_ENOTSUP, and the
 * caller falls back to vmm__irq_set() and bus callbacks. */
#include "lib/platform/platform.h"

static int no_irqchip(const vmm_vm *vm, const char *what)
{
	if (!(vm->config.flags & VMM_VM_IRQCHIP))
		return vmm__err(VMM_ESTATE, "%s: the VM was created without "
				"VMM_VM_IRQCHIP", what);
	return 0;
}

int vmm__irqfd_add(vmm_vm *vm, int fd, uint32_t gsi)
{
	int rc = no_irqchip(vm, "irqfd");

	if (rc)
		return rc;
	if (gsi >= VMM__NR_GSI)
		return vmm__err(VMM_ERANGE, "irqfd: gsi %u is past the last IOAPIC pin "
				"(%u)", gsi, VMM__NR_GSI - 1);
	if (!(vm->caps & VMM__CAP_IRQCHIP) || !vm->ops->irqfd)
		return vmm__err(VMM_ENOTSUP, "irqfd: backend %s has none",
				vm->backend_name);
	return vm->ops->irqfd(vm, fd, gsi, 1);
}

int vmm__irqfd_remove(vmm_vm *vm, int fd, uint32_t gsi)
{
	if (!(vm->caps & VMM__CAP_IRQCHIP) || !vm->ops->irqfd)
		return vmm__err(VMM_ENOTSUP, "irqfd: backend %s has none",
				vm->backend_name);
	return vm->ops->irqfd(vm, fd, gsi, 0);
}

static int ioeventfd(vmm_vm *vm, const vmm__ioeventfd *e, int assign)
{
	if (!vm->ops->ioeventfd)
		return vmm__err(VMM_ENOTSUP, "ioeventfd: backend %s has none",
				vm->backend_name);
	return vm->ops->ioeventfd(vm, e->addr, e->len, e->is_pio, e->datamatch,
				  e->has_datamatch, e->fd, assign);
}

int vmm__ioeventfd_add(vmm_vm *vm, const vmm__ioeventfd *e)
{
	return ioeventfd(vm, e, 1);
}

int vmm__ioeventfd_remove(vmm_vm *vm, const vmm__ioeventfd *e)
{
	return ioeventfd(vm, e, 0);
}
