/* irqchip.c - the in-kernel interrupt controllers of a kvm VM (VMM_VM_IRQCHIP).
 *
 * KVM_CREATE_IRQCHIP gives the VM an 8259A pair, a 24-pin IOAPIC and a local
 * APIC per vCPU; KVM_CREATE_PIT2 an 8254 PIT (with the port 0x61 speaker
 * gate, "speaker dummy") that raises GSI 0. All of them, HLT and the APIC
 * timer run inside the kernel: their port and MMIO accesses never reach
 * user space.
 *
 * GSI routing follows include/vmm/irq.h: GSIs 0..15 are the ISA IRQs and go
 * to the PIC (master 0..7, slave 8..15) and to the IOAPIC pin of the same
 * number, except GSI 0, which goes to IOAPIC pin 2 as ACPI's interrupt
 * source override says. GSI 2 (the PIC cascade, no ISA IRQ) goes nowhere:
 * a second GSI on pin 2 would take over KVM's pin -> GSI map, and the
 * in-kernel PIT (GSI 0, re-injecting only after an acknowledge) would stop
 * after its first tick. 16..23 go to IOAPIC pins 16..23 only. KVM's
 * default table sends GSI 0 to pin 0, so the table is always set here. The
 * table is QEMU's for its PC machines.
 *
 * KVM starts every vCPU but the BSP in wait-for-SIPI (MP state
 * UNINITIALIZED). The library's convention is vcpu->runnable: before a
 * vCPU's first KVM_RUN its MP state is set from it, so the ELF64 loader's
 * "every vCPU starts at the entry" still holds and the Multiboot loader's
 * APs wait for INIT/SIPI in the kernel. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "backends/kvm/kvm_priv.h"

#define NR_GSI 24

uint32_t kvm__caps(vmm_vm *vm)
{
	(void)vm;
	return kvm__host_get()->has_irqchip ? VMM__CAP_IRQCHIP : 0;
}

static int vm_ioctl_err(const char *name)
{
	int e = errno;

	return vmm__err(e == ENOMEM ? VMM_ENOMEM : e == EINVAL ? VMM_EINVAL :
			e == EEXIST ? VMM_EEXIST : e == ENOENT ? VMM_ENOENT : VMM_EINTERNAL,
			"kvm: %s: %s", name, strerror(e));
}

static void add_route(struct kvm_irq_routing *r, uint32_t gsi, uint32_t chip, uint32_t pin)
{
	struct kvm_irq_routing_entry *e = &r->entries[r->nr++];

	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

static int set_routing(int fd)
{
	struct kvm_irq_routing *r = calloc(1, sizeof(*r) + 48 * sizeof(r->entries[0]));
	int rc = 0;

	if (!r)
		return vmm__err(VMM_ENOMEM, "kvm: out of memory for the GSI routing table");
	for (uint32_t gsi = 0; gsi < NR_GSI; gsi++) {
		if (gsi == 2)
			continue;
		if (gsi < 16)
			add_route(r, gsi, gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
				  gsi % 8);
		add_route(r, gsi, KVM_IRQCHIP_IOAPIC, gsi == 0 ? 2 : gsi);
	}
	if (ioctl(fd, KVM_SET_GSI_ROUTING, r) < 0)
		rc = vm_ioctl_err("KVM_SET_GSI_ROUTING");
	free(r);
	return rc;
}

/* 32-bit x2APIC IDs in MSIs and the LAPIC state, and no broadcast quirk
 * (x2APIC destination 0xff is an ID, not broadcast, as on hardware). */
static int enable_x2apic_api(int fd)
{
	struct kvm_enable_cap cap;

	memset(&cap, 0, sizeof(cap));
	cap.cap = KVM_CAP_X2APIC_API;
	cap.args[0] = KVM_X2APIC_API_USE_32BIT_IDS | KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK;
	if (ioctl(fd, KVM_ENABLE_CAP, &cap) < 0)
		return vm_ioctl_err("KVM_ENABLE_CAP(KVM_CAP_X2APIC_API)");
	return 0;
}

int kvm__irqchip_create(vmm_vm *vm)
{
	const kvm__host *h = kvm__host_get();
	kvm__vm *kvm = kvm__vm_of(vm);
	struct kvm_pit_config pit;
	int rc;

	if (!h->has_irqchip)
		return vmm__err(VMM_ENOTSUP, "kvm: no in-kernel irqchip on this host "
				"(lacks %s)", h->irqchip_missing);
	if (kvm->irqchip)
		return vmm__err(VMM_EEXIST, "kvm: the VM already has its irqchip");
	for (uint32_t i = 0; i < VMM_MAX_VCPUS; i++)
		if (vm->vcpus[i])
			return vmm__err(VMM_ESTATE, "kvm: the irqchip must be created "
					"before the first vCPU");
	if (ioctl(kvm->fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return vm_ioctl_err("KVM_CREATE_IRQCHIP");
	memset(&pit, 0, sizeof(pit));
	pit.flags = KVM_PIT_SPEAKER_DUMMY;
	if (ioctl(kvm->fd, KVM_CREATE_PIT2, &pit) < 0)
		return vm_ioctl_err("KVM_CREATE_PIT2");
	rc = set_routing(kvm->fd);
	if (rc == 0 && h->has_x2apic_api)
		rc = enable_x2apic_api(kvm->fd);
	if (rc == 0)
		kvm->irqchip = 1;
	return rc;
}

static int need_irqchip(const vmm_vm *vm, const char *what)
{
	if (kvm__vm_of(vm)->irqchip)
		return 0;
	return vmm__err(VMM_ESTATE, "kvm: %s: the VM has no in-kernel irqchip", what);
}

int kvm__irq_line(vmm_vm *vm, uint32_t gsi, int level)
{
	struct kvm_irq_level l;
	int rc = need_irqchip(vm, "KVM_IRQ_LINE");

	if (rc)
		return rc;
	if (gsi >= NR_GSI)
		return vmm__err(VMM_ERANGE, "kvm: GSI %u is past the last IOAPIC pin", gsi);
	memset(&l, 0, sizeof(l));
	l.irq = gsi;
	l.level = level ? 1 : 0;
	if (ioctl(kvm__vm_of(vm)->fd, KVM_IRQ_LINE, &l) < 0)
		return vm_ioctl_err("KVM_IRQ_LINE");
	return 0;
}

/* KVM_SIGNAL_MSI returns 0 when the destination's local APIC dropped the
 * message (software-disabled, masked) and fails with EPERM (its -1) when no
 * local APIC matched the destination: as on hardware, neither is an error. */
int kvm__msi(vmm_vm *vm, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi;
	int rc = need_irqchip(vm, "KVM_SIGNAL_MSI");

	if (rc)
		return rc;
	memset(&msi, 0, sizeof(msi));
	msi.address_lo = (uint32_t)addr;
	msi.address_hi = (uint32_t)(addr >> 32);
	msi.data = data;
	if (ioctl(kvm__vm_of(vm)->fd, KVM_SIGNAL_MSI, &msi) < 0 && errno != EPERM)
		return vm_ioctl_err("KVM_SIGNAL_MSI");
	return 0;
}

/* An eventfd write pulses gsi (edge). */
int kvm__irqfd(vmm_vm *vm, int fd, uint32_t gsi, int assign)
{
	struct kvm_irqfd irqfd;
	int rc = need_irqchip(vm, "KVM_IRQFD");

	if (rc)
		return rc;
	if (gsi >= NR_GSI)
		return vmm__err(VMM_ERANGE, "kvm: irqfd GSI %u is past the last IOAPIC pin",
				gsi);
	memset(&irqfd, 0, sizeof(irqfd));
	irqfd.fd = (uint32_t)fd;
	irqfd.gsi = gsi;
	irqfd.flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN;
	if (ioctl(kvm__vm_of(vm)->fd, KVM_IRQFD, &irqfd) < 0)
		return vm_ioctl_err(assign ? "KVM_IRQFD" : "KVM_IRQFD (deassign)");
	return 0;
}

/* A guest write of len bytes to addr (matching datamatch if asked) signals
 * fd inside the kernel; the vCPU does not exit. */
int kvm__ioeventfd(vmm_vm *vm, uint64_t addr, uint32_t len, int is_pio,
		   uint64_t datamatch, int has_datamatch, int fd, int assign)
{
	struct kvm_ioeventfd io;

	if (len != 0 && len != 1 && len != 2 && len != 4 && len != 8)
		return vmm__err(VMM_EINVAL, "kvm: ioeventfd length %u (expected 0, 1, 2, "
				"4 or 8)", len);
	if (is_pio && (addr > 0xffff || addr + len > 0x10000))
		return vmm__err(VMM_ERANGE, "kvm: ioeventfd port 0x%llx is past 0xffff",
				(unsigned long long)addr);
	memset(&io, 0, sizeof(io));
	io.addr = addr;
	io.len = len;
	io.fd = fd;
	io.datamatch = datamatch;
	io.flags = (is_pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
		   (has_datamatch ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) |
		   (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN);
	if (ioctl(kvm__vm_of(vm)->fd, KVM_IOEVENTFD, &io) < 0)
		return vm_ioctl_err(assign ? "KVM_IOEVENTFD" : "KVM_IOEVENTFD (deassign)");
	return 0;
}

/* RUNNABLE, or waiting (state, named name) if the vCPU is not runnable. */
static int set_mp_state(vmm_vcpu *vcpu, kvm__vcpu *kv, uint32_t waiting, const char *name)
{
	struct kvm_mp_state mp = { .mp_state = vcpu->runnable ? KVM_MP_STATE_RUNNABLE : waiting };

	if (ioctl(kv->fd, KVM_SET_MP_STATE, &mp) < 0)
		return vmm__err(VMM_EINTERNAL, "kvm: KVM_SET_MP_STATE %s on vCPU %u: %s",
				vcpu->runnable ? "RUNNABLE" : name, vcpu->index, strerror(errno));
	kv->mp_state_set = 1;
	return 0;
}

int kvm__vcpu_start_state(vmm_vcpu *vcpu, kvm__vcpu *kv)
{
	if (kv->mp_state_set || !kvm__vm_of(vcpu->vm)->irqchip)
		return 0;
	return set_mp_state(vcpu, kv, KVM_MP_STATE_UNINITIALIZED, "UNINITIALIZED");
}

static void lapic_put(struct kvm_lapic_state *s, unsigned off, uint32_t v)
{
	memcpy(s->regs + off, &v, 4);
}

/* The in-kernel local APIC's power-on registers (SDM 10.4.7.1, as the
 * core's lapic.c): xAPIC ID = vCPU index, DFR all ones, SVR 0xff, every
 * LVT masked but vCPU 0's LINT0 (ExtINT, as KVM's reset), the rest 0; the
 * version register stays. KVM_SET_LAPIC takes them in the xAPIC format,
 * so APIC_BASE (xAPIC) was set first. */
static int lapic_power_on(vmm_vcpu *vcpu, kvm__vcpu *kv)
{
	struct kvm_lapic_state s;
	uint32_t version;

	if (ioctl(kv->fd, KVM_GET_LAPIC, &s) < 0)
		return vmm__err(VMM_EINTERNAL, "kvm: KVM_GET_LAPIC on vCPU %u: %s",
				vcpu->index, strerror(errno));
	memcpy(&version, s.regs + 0x30, 4);
	memset(&s, 0, sizeof(s));
	lapic_put(&s, 0x20, vcpu->index << 24);
	lapic_put(&s, 0x30, version);
	lapic_put(&s, 0xe0, 0xffffffffu);
	lapic_put(&s, 0xf0, 0xff);
	for (unsigned off = 0x320; off <= 0x370; off += 0x10)
		lapic_put(&s, off, 0x10000);            /* masked */
	lapic_put(&s, 0x2f0, 0x10000);                  /* CMCI */
	if (vcpu->index == 0)
		lapic_put(&s, 0x350, 0x700);            /* LINT0: ExtINT */
	if (ioctl(kv->fd, KVM_SET_LAPIC, &s) < 0)
		return vmm__err(VMM_EINTERNAL, "kvm: KVM_SET_LAPIC on vCPU %u: %s",
				vcpu->index, strerror(errno));
	return 0;
}

/* Power-on (S3 resume): the registers (APIC_BASE to xAPIC), the in-kernel
 * local APIC's power-on registers, then the MP state, so an AP waits for
 * INIT/SIPI in the kernel. */
int kvm__vcpu_power_on(vmm_vcpu *vcpu, const vmm_regs *regs, const vmm_sregs *sregs)
{
	kvm__vcpu *kv = kvm__vcpu_of(vcpu);
	int rc = kvm__set_regs(vcpu, regs);

	if (rc == 0)
		rc = kvm__set_sregs(vcpu, sregs);
	if (rc || !kvm__vm_of(vcpu->vm)->irqchip)
		return rc;
	rc = lapic_power_on(vcpu, kv);
	return rc ? rc : set_mp_state(vcpu, kv, KVM_MP_STATE_INIT_RECEIVED, "INIT_RECEIVED");
}
