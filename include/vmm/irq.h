/* vmm/irq.h - interrupts for embedders' devices (included by vmm.h).
 *
 * A VM created with VMM_VM_IRQCHIP has the interrupt controllers and timers
 * of a PC: a PIC pair (8259A), an IOAPIC with 24 pins at 0xfec00000, a
 * local APIC per vCPU at 0xfee00000 (xAPIC and x2APIC), an 8254 PIT, an
 * MC146818 RTC/CMOS and the ACPI PM timer. Where the backend can, they live
 * in its kernel (kvm); elsewhere (emu) in libvmm. Application processors wait
 * for INIT/SIPI as on real hardware.
 *
 * Thread safety: vmm_irq_line and vmm_msi_send may be called from any
 * thread at any time, including from device callbacks, while vCPUs run. A
 * halted vCPU wakes when an interrupt arrives for it.
 */
#ifndef VMM_IRQ_H
#define VMM_IRQ_H

#ifndef VMM_H
#error "include <vmm.h>, not <vmm/irq.h>"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Sets interrupt line gsi (0..23) to level (1 asserted, 0 deasserted). GSIs
 * 0..15 are also the PIC's inputs (ISA IRQs; 0 is wired to IOAPIC pin 2, as
 * ACPI's interrupt override says). For an edge-triggered line, raise then
 * lower it. VMM_ESTATE without VMM_VM_IRQCHIP, VMM_ERANGE past 23. */
VMM_API int vmm_irq_line(vmm_vm *vm, uint32_t gsi, uint32_t level);

/* Sends a message-signalled interrupt as a PCI device would write it:
 * addr in 0xfee00000..0xfeefffff (destination), data (vector, delivery
 * mode, trigger). VMM_EINVAL for an address outside that window. */
VMM_API int vmm_msi_send(vmm_vm *vm, uint64_t addr, uint32_t data);

#ifdef __cplusplus
}
#endif
#endif /* VMM_IRQ_H */
