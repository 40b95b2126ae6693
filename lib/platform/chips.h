/* chips.h - lifecycle and internal entry points of the core's interrupt
 * controllers (lapic.c, ioapic.c), for platform.c and irq.c. Private to
 * lib/platform/. */
#ifndef VMM_PLATFORM_CHIPS_H
#define VMM_PLATFORM_CHIPS_H

#include "lib/platform/platform.h"

/* Per vCPU (vcpu->lapic) and the xAPIC MMIO page shared by all vCPUs. */
int vmm__lapic_create(vmm_vcpu *vcpu);
void vmm__lapic_destroy(vmm_vcpu *vcpu);
int vmm__lapic_device_init(vmm_vm *vm);
void vmm__lapic_device_fini(vmm_vm *vm);

/* The IOAPIC (vm->platform->ioapic) and its input pins. */
int vmm__ioapic_init(vmm_vm *vm);
void vmm__ioapic_fini(vmm_vm *vm);
void vmm__ioapic_set_irq(vmm_vm *vm, unsigned pin, int level);

#endif /* VMM_PLATFORM_CHIPS_H */
