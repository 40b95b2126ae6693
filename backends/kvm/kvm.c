/* kvm.c - the Linux KVM backend's ops table (VT-x, SVM or PVM hosts).
 * The pieces live next door: see backends/kvm/kvm_priv.h for the map. */
#include "backends/kvm/kvm_priv.h"

const vmm__backend_ops vmm__kvm_ops = {
	.version = VMM__BACKEND_OPS_VERSION,
	.name = "kvm",
	.probe = kvm__probe,
	.vm_create = kvm__vm_create,
	.vm_destroy = kvm__vm_destroy,
	.mem_map = kvm__mem_map,
	.mem_unmap = kvm__mem_unmap,
	.mem_written = NULL,  /* KVM reads guest memory directly: nothing cached */
	.vcpu_create = kvm__vcpu_create,
	.vcpu_destroy = kvm__vcpu_destroy,
	.get_regs = kvm__get_regs,
	.set_regs = kvm__set_regs,
	.get_sregs = kvm__get_sregs,
	.set_sregs = kvm__set_sregs,
	.run = kvm__run,
	.kick = kvm__kick,
	.set_msr = kvm__set_msr,
	.caps = kvm__caps,
	.irqchip_create = kvm__irqchip_create,
	.irq_line = kvm__irq_line,
	.msi = kvm__msi,
	.irqfd = kvm__irqfd,
	.ioeventfd = kvm__ioeventfd,
	.ix_caps = kvm__ix_caps,
	.ix_changed = kvm__ix_changed,
	.get_msr = kvm__get_msr,
	.get_fpu = kvm__get_fpu,
	.set_fpu = kvm__set_fpu,
	.get_dregs = kvm__get_dregs,
	.state_add = kvm__state_add,
	.vcpu_power_on = kvm__vcpu_power_on,
};
