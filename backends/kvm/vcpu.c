/* vcpu.c - kvm vCPUs: creation, the kvm_run area, registers and MSRs.
 *
 * A new KVM vCPU is already in the x86 reset state (CS:IP f000:fff0, CS base
 * 0xffff0000, real mode), which is the state the contract asks for. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backends/kvm/kvm_priv.h"

static int vcpu_ioctl_err(const vmm_vcpu *vcpu, const char *name, int code)
{
	return vmm__err(code, "kvm: %s on vCPU %u: %s", name, vcpu->index, strerror(errno));
}

static int set_cpuid(vmm_vcpu *vcpu, kvm__vcpu *kv, const kvm__host *h)
{
	struct kvm_cpuid2 *cpuid = kvm__cpuid_build(h, vcpu->index, vcpu->vm->config.vcpus,
							kvm__vm_of(vcpu->vm)->irqchip,
							vcpu->vm->cpu_hidden);
	int rc = 0;

	if (!cpuid)
		return VMM_ENOMEM;
	if (ioctl(kv->fd, KVM_SET_CPUID2, cpuid) < 0)
		rc = vcpu_ioctl_err(vcpu, "KVM_SET_CPUID2", VMM_EINTERNAL);
	free(cpuid);
	return rc;
}

static int vcpu_setup(vmm_vcpu *vcpu, kvm__vcpu *kv, const kvm__host *h)
{
	kv->fd = ioctl(kvm__vm_of(vcpu->vm)->fd, KVM_CREATE_VCPU, (unsigned long)vcpu->index);
	if (kv->fd < 0)
		return vcpu_ioctl_err(vcpu, "KVM_CREATE_VCPU", errno == ENOMEM ||
				      errno == EMFILE ? VMM_ENOMEM : VMM_EINTERNAL);
	kv->run_size = (size_t)h->vcpu_mmap_size;
	kv->run = mmap(NULL, kv->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, kv->fd, 0);
	if (kv->run == MAP_FAILED) {
		kv->run = NULL;
		return vcpu_ioctl_err(vcpu, "mmap of the kvm_run area", VMM_ENOMEM);
	}
	/* With sync regs KVM stores the GPRs into kvm_run at every exit, which
	 * gives each exit its RIP without a KVM_GET_REGS. */
	if (h->has_sync_regs)
		kv->run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	return set_cpuid(vcpu, kv, h);
}

static void vcpu_free(kvm__vcpu *kv)
{
	if (kv->run)
		munmap(kv->run, kv->run_size);
	if (kv->fd >= 0)
		close(kv->fd);
	free(kv);
}

int kvm__vcpu_create(vmm_vcpu *vcpu)
{
	const kvm__host *h = kvm__host_get();
	kvm__vcpu *kv = calloc(1, sizeof(*kv));
	int rc;

	if (!kv)
		return vmm__err(VMM_ENOMEM, "kvm: out of memory for vCPU %u", vcpu->index);
	kv->fd = -1;
	kv->pio.awaiting = -1;
	rc = vcpu_setup(vcpu, kv, h);
	if (rc) {
		vcpu_free(kv);
		return rc;
	}
	vcpu->backend_priv = kv;
	return 0;
}

void kvm__vcpu_destroy(vmm_vcpu *vcpu)
{
	kvm__vcpu *kv = kvm__vcpu_of(vcpu);

	if (!kv)
		return;
	vcpu->backend_priv = NULL;
	vcpu_free(kv);
}

/* ---- General registers -------------------------------------------------------- */

int kvm__get_regs(vmm_vcpu *vcpu, vmm_regs *regs)
{
	struct kvm_regs k;

	if (ioctl(kvm__vcpu_of(vcpu)->fd, KVM_GET_REGS, &k) < 0)
		return vcpu_ioctl_err(vcpu, "KVM_GET_REGS", VMM_EINTERNAL);
	regs->rax = k.rax; regs->rbx = k.rbx; regs->rcx = k.rcx; regs->rdx = k.rdx;
	regs->rsi = k.rsi; regs->rdi = k.rdi; regs->rsp = k.rsp; regs->rbp = k.rbp;
	regs->r8 = k.r8; regs->r9 = k.r9; regs->r10 = k.r10; regs->r11 = k.r11;
	regs->r12 = k.r12; regs->r13 = k.r13; regs->r14 = k.r14; regs->r15 = k.r15;
	regs->rip = k.rip; regs->rflags = k.rflags;
	return 0;
}

int kvm__set_regs(vmm_vcpu *vcpu, const vmm_regs *regs)
{
	struct kvm_regs k = {
		.rax = regs->rax, .rbx = regs->rbx, .rcx = regs->rcx, .rdx = regs->rdx,
		.rsi = regs->rsi, .rdi = regs->rdi, .rsp = regs->rsp, .rbp = regs->rbp,
		.r8 = regs->r8, .r9 = regs->r9, .r10 = regs->r10, .r11 = regs->r11,
		.r12 = regs->r12, .r13 = regs->r13, .r14 = regs->r14, .r15 = regs->r15,
		.rip = regs->rip, .rflags = regs->rflags,
	};

	if (ioctl(kvm__vcpu_of(vcpu)->fd, KVM_SET_REGS, &k) < 0)
		return vcpu_ioctl_err(vcpu, "KVM_SET_REGS", errno == EINVAL ?
				      VMM_EINVAL : VMM_EINTERNAL);
	return 0;
}

/* ---- Segment and control registers ----------------------------------------------- */

static void seg_from_kvm(vmm_segment *s, const struct kvm_segment *k)
{
	memset(s, 0, sizeof(*s));
	s->base = k->base; s->limit = k->limit; s->selector = k->selector;
	s->type = k->type; s->present = k->present; s->dpl = k->dpl; s->db = k->db;
	s->s = k->s; s->l = k->l; s->g = k->g; s->avl = k->avl; s->unusable = k->unusable;
}

static void seg_to_kvm(struct kvm_segment *k, const vmm_segment *s)
{
	memset(k, 0, sizeof(*k));
	k->base = s->base; k->limit = s->limit; k->selector = s->selector;
	k->type = s->type; k->present = s->present; k->dpl = s->dpl; k->db = s->db;
	k->s = s->s; k->l = s->l; k->g = s->g; k->avl = s->avl; k->unusable = s->unusable;
}

int kvm__get_sregs(vmm_vcpu *vcpu, vmm_sregs *sregs)
{
	struct kvm_sregs k;

	if (ioctl(kvm__vcpu_of(vcpu)->fd, KVM_GET_SREGS, &k) < 0)
		return vcpu_ioctl_err(vcpu, "KVM_GET_SREGS", VMM_EINTERNAL);
	memset(sregs, 0, sizeof(*sregs));
	seg_from_kvm(&sregs->cs, &k.cs); seg_from_kvm(&sregs->ds, &k.ds);
	seg_from_kvm(&sregs->es, &k.es); seg_from_kvm(&sregs->fs, &k.fs);
	seg_from_kvm(&sregs->gs, &k.gs); seg_from_kvm(&sregs->ss, &k.ss);
	seg_from_kvm(&sregs->tr, &k.tr); seg_from_kvm(&sregs->ldt, &k.ldt);
	sregs->gdt.base = k.gdt.base; sregs->gdt.limit = k.gdt.limit;
	sregs->idt.base = k.idt.base; sregs->idt.limit = k.idt.limit;
	sregs->cr0 = k.cr0; sregs->cr2 = k.cr2; sregs->cr3 = k.cr3; sregs->cr4 = k.cr4;
	sregs->cr8 = k.cr8; sregs->efer = k.efer; sregs->apic_base = k.apic_base;
	return 0;
}

/* kvm_sregs also carries interrupt_bitmap; KVM only queues an interrupt for
 * a set bit and never clears one for a zero bitmap, so an empty bitmap
 * leaves pending interrupts as they are (no KVM_GET_SREGS needed first). */
int kvm__set_sregs(vmm_vcpu *vcpu, const vmm_sregs *sregs)
{
	kvm__vcpu *kv = kvm__vcpu_of(vcpu);
	struct kvm_sregs k;

	memset(&k, 0, sizeof(k));
	seg_to_kvm(&k.cs, &sregs->cs); seg_to_kvm(&k.ds, &sregs->ds);
	seg_to_kvm(&k.es, &sregs->es); seg_to_kvm(&k.fs, &sregs->fs);
	seg_to_kvm(&k.gs, &sregs->gs); seg_to_kvm(&k.ss, &sregs->ss);
	seg_to_kvm(&k.tr, &sregs->tr); seg_to_kvm(&k.ldt, &sregs->ldt);
	k.gdt.base = sregs->gdt.base; k.gdt.limit = sregs->gdt.limit;
	k.idt.base = sregs->idt.base; k.idt.limit = sregs->idt.limit;
	k.cr0 = sregs->cr0; k.cr2 = sregs->cr2; k.cr3 = sregs->cr3; k.cr4 = sregs->cr4;
	k.cr8 = sregs->cr8; k.efer = sregs->efer; k.apic_base = sregs->apic_base;
	if (ioctl(kv->fd, KVM_SET_SREGS, &k) < 0)
		return vmm__err(errno == EINVAL ? VMM_EINVAL : VMM_EINTERNAL,
				"kvm: KVM_SET_SREGS on vCPU %u: %s (cr0=0x%llx cr4=0x%llx "
				"efer=0x%llx)", vcpu->index, strerror(errno),
				(unsigned long long)sregs->cr0, (unsigned long long)sregs->cr4,
				(unsigned long long)sregs->efer);
	return 0;
}

/* ---- MSRs -------------------------------------------------------------------------- */

int kvm__set_msr(vmm_vcpu *vcpu, uint32_t msr, uint64_t value)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entry;
	} m;
	int n;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 1;
	m.entry.index = msr;
	m.entry.data = value;
	n = ioctl(kvm__vcpu_of(vcpu)->fd, KVM_SET_MSRS, &m);
	if (n < 0)
		return vcpu_ioctl_err(vcpu, "KVM_SET_MSRS", VMM_EINTERNAL);
	if (n != 1)
		return vmm__err(VMM_EINVAL, "kvm: KVM_SET_MSRS on vCPU %u: MSR 0x%x = 0x%llx "
				"was refused", vcpu->index, msr, (unsigned long long)value);
	return 0;
}
