/* irq.c - interrupt routing: lines and MSIs from devices go to the backend's
 * in-kernel controllers or to the core's PIC, IOAPIC and local APICs. */
#include "lib/platform/chips.h"

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

/* GSI n: PIC input n (n < 16) and IOAPIC pin n, except that ISA IRQ 0 (the
 * PIT) is IOAPIC pin 2, as the ACPI MADT's interrupt source override says
 * (and as QEMU wires it). GSI 2 is the PIC's cascade and pin 2 is IRQ 0's,
 * so a line on GSI 2 reaches neither. */
int vmm__irq_set(vmm_vm *vm, uint32_t gsi, int level)
{
	if ((vm->caps & VMM__CAP_IRQCHIP) && vm->ops->irq_line)
		return vm->ops->irq_line(vm, gsi, level);
	if (!vm->platform || gsi >= VMM__NR_GSI)
		return vmm__err(VMM_ERANGE, "irq: no GSI %u on this VM", gsi);
	if (gsi == 2)
		return 0;
	if (gsi < 16 && vm->platform->pic)
		vmm__pic_set_irq(vm, gsi, level);
	vmm__ioapic_set_irq(vm, gsi == 0 ? 2 : gsi, level);
	return 0;
}

/* Address: bits 19:12 destination ID, bit 3 redirection hint, bit 2
 * destination mode. Data: bits 7:0 vector, 10:8 delivery mode, 15 trigger
 * (MSIs are edge in effect: no IOAPIC pin waits for their EOI). With the
 * redirection hint, fixed delivery becomes lowest priority. */
int vmm__msi_send(vmm_vm *vm, uint64_t addr, uint32_t data)
{
	vmm__apic_msg msg = {
		.dest = (uint32_t)(addr >> 12) & 0xff,
		.vector = (uint8_t)data,
		.delivery = (uint8_t)((data >> 8) & 7),
		.logical = (uint8_t)((addr >> 2) & 1),
	};

	if ((vm->caps & VMM__CAP_IRQCHIP) && vm->ops->msi)
		return vm->ops->msi(vm, addr, data);
	if (!vm->platform)
		return vmm__err(VMM_ESTATE, "vmm_msi_send: the VM has no interrupt controller");
	if (((addr >> 3) & 1) && msg.logical && msg.delivery == VMM__DM_FIXED)
		msg.delivery = VMM__DM_LOWEST;
	if ((msg.delivery == VMM__DM_FIXED || msg.delivery == VMM__DM_LOWEST) && msg.vector < 16)
		msg.delivery = VMM__DM_FIXED;   /* the receivers log the illegal vector */
	vmm__apic_bus_deliver(vm, &msg);
	return 0;
}
