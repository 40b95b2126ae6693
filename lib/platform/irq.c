/* irq.c - interrupt routing: lines and MSIs from devices go to the backend's
 * in-kernel controllers or to the core's PIC, IOAPIC and local APICs. */
#include "lib/platform/platform.h"

VMM_API int vmm_irq_line(vmm_vm *vm, uint32_t gsi, uint32_t level)
{
	if (!vm)
		return vmm__err(VMM_EINVAL, "vmm_irq_line: vm is NULL");
	if (!(vm->config.flags & VMM_VM_IRQCHIP))
		return vmm__err(VMM_ESTATE, "vmm_irq_line: the VM was created without "
				"VMM_VM_IRQCHIP, so it has no interrupt controller");
	if (gsi >= VMM__NR_GSI)
		return vmm__err(VMM_ERANGE, "vmm_irq_line: gsi %u is past the last "
				"IOAPIC pin (%u)", gsi, VMM__NR_GSI - 1);
	if (level > 1)
		return vmm__err(VMM_EINVAL, "vmm_irq_line: level is %u; expected 0 or 1",
				level);
	return vmm__irq_set(vm, gsi, (int)level);
}

VMM_API int vmm_msi_send(vmm_vm *vm, uint64_t addr, uint32_t data)
{
	if (!vm)
		return vmm__err(VMM_EINVAL, "vmm_msi_send: vm is NULL");
	if (!(vm->config.flags & VMM_VM_IRQCHIP))
		return vmm__err(VMM_ESTATE, "vmm_msi_send: the VM was created without "
				"VMM_VM_IRQCHIP, so it has no interrupt controller");
	if ((addr >> 20) != 0xfee)
		return vmm__err(VMM_EINVAL, "vmm_msi_send: address 0x%llx is outside the "
				"MSI window 0xfee00000-0xfeefffff",
				(unsigned long long)addr);
	return vmm__msi_send(vm, addr, data);
}

/* Placeholder routing until the platform lands: in-kernel chips, or the
 * core's PIC for ISA lines (legacy branch; irqcore replaces this with the
 * full GSI -> PIC + IOAPIC routing). */
int vmm__irq_set(vmm_vm *vm, uint32_t gsi, int level)
{
	if ((vm->caps & VMM__CAP_IRQCHIP) && vm->ops->irq_line)
		return vm->ops->irq_line(vm, gsi, level);
	if (vm->platform && vm->platform->pic && gsi < 16 && gsi != 2) {
		vmm__pic_set_irq(vm, gsi, level);
		return 0;
	}
	return vmm__err(VMM_ENOTSUP, "vmm_irq_line: backend %s has no interrupt "
			"controller yet", vm->backend_name);
}

int vmm__msi_send(vmm_vm *vm, uint64_t addr, uint32_t data)
{
	if ((vm->caps & VMM__CAP_IRQCHIP) && vm->ops->msi)
		return vm->ops->msi(vm, addr, data);
	return vmm__err(VMM_ENOTSUP, "vmm_msi_send: backend %s has no interrupt "
			"controller yet", vm->backend_name);
}

/* Placeholder until irqcore's local APIC takes the PIC's output (LINT0). */
void vmm__pic_output_changed(vmm_vm *vm)
{
	(void)vm;
}
