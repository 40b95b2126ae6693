/* cpuid.c - the CPUID table each kvm vCPU gets (KVM_SET_CPUID2).
 *
 * The kvm CPU model is the shared, documented emu model (arch/x86/cpuid.c,
 * docs/emu.md) with its feature words ANDed with KVM_GET_SUPPORTED_CPUID, so
 * a guest sees the same CPU on both backends, minus what this host's KVM
 * cannot give. Where the model cannot be followed, KVM's answer is kept:
 *  - the vendor string (leaf 0 and 0x80000000 EBX/ECX/EDX): KVM emulates
 *    SYSCALL/SYSENTER and some MSRs by the vendor it is told, and a foreign
 *    vendor on real hardware breaks those paths;
 *  - leaves the model does not describe but still lies within its ranges
 *    (caches, topology below the model's maximum), as KVM reports them;
 *  - KVM's own hypervisor leaves (0x40000000...), so kvmclock keeps working.
 * Leaves above the model's maximum are dropped.
 *
 * A VM with the in-kernel irqchip also offers the local APIC (leaf 1 EDX
 * bit 9), x2APIC (ECX 21) and the TSC-deadline timer (ECX 24) where KVM
 * supports them; KVM may leave TSC-deadline out of its supported list and
 * announce it with KVM_CAP_TSC_DEADLINE_TIMER instead. */
#include <stdlib.h>
#include <string.h>

#include "arch/x86/cpuid.h"
#include "backends/kvm/kvm_priv.h"

#define CPUID_1_ECX_X2APIC (1u << 21)
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)

static const struct kvm_cpuid_entry2 *find(const struct kvm_cpuid2 *c, uint32_t leaf,
					   uint32_t subleaf)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == leaf &&
		    (!(c->entries[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ||
		     c->entries[i].index == subleaf))
			return &c->entries[i];
	return NULL;
}

static void host_leaf(void *opaque, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
	const struct kvm_cpuid_entry2 *e = find(opaque, leaf, subleaf);

	out[0] = e ? e->eax : 0;
	out[1] = e ? e->ebx : 0;
	out[2] = e ? e->ecx : 0;
	out[3] = e ? e->edx : 0;
}

static bool model_defines(uint32_t leaf)
{
	return leaf == 0 || leaf == 1 || leaf == 7 || leaf == 0xd ||
	       (leaf >= 0x80000000 && leaf <= 0x80000008);
}

/* 1: keep the entry as the model says, 0: keep KVM's, -1: drop it. */
static int rewrite(const vmm__x86_cpu_model *m, struct kvm_cpuid_entry2 *e,
		   uint32_t vcpu_index, uint32_t vcpu_count)
{
	uint32_t r[4], leaf = e->function;

	if (leaf >= 0x40000000 && leaf < 0x80000000)
		return 0;
	if (leaf >= 0x80000000 ? leaf > m->max_ext_leaf : leaf > m->max_leaf)
		return -1;
	if (leaf == 7 && e->index != 0)
		return -1;      /* leaf 7 subleaves the model does not offer */
	if (!model_defines(leaf))
		return 0;
	vmm__x86_cpuid(m, vcpu_index, vcpu_count, leaf, e->index, r);
	e->eax = r[0];
	if (leaf != 0 && leaf != 0x80000000)   /* there EBX..EDX: KVM's vendor */
		e->ebx = r[1], e->ecx = r[2], e->edx = r[3];
	return 1;
}

/* The model's leaf-1 APIC bits for an irqchip VM, after the host filter. */
static void apic_features(vmm__x86_cpu_model *m, const kvm__host *host)
{
	uint32_t r[4];

	host_leaf(host->supported, 1, 0, r);
	if (r[3] & X86_CPUID_1_EDX_APIC)
		m->leaf1_edx |= X86_CPUID_1_EDX_APIC;
	if (r[2] & CPUID_1_ECX_X2APIC)
		m->leaf1_ecx |= CPUID_1_ECX_X2APIC;
	if ((r[2] & CPUID_1_ECX_TSC_DEADLINE) || host->has_tsc_deadline)
		m->leaf1_ecx |= CPUID_1_ECX_TSC_DEADLINE;
}

struct kvm_cpuid2 *kvm__cpuid_build(const kvm__host *host, uint32_t vcpu_index,
				    uint32_t vcpu_count, int irqchip, uint64_t hidden)
{
	const struct kvm_cpuid2 *sup = host->supported;
	size_t bytes = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);
	vmm__x86_cpu_model model = vmm__x86_emu_model;
	struct kvm_cpuid2 *c = malloc(bytes);
	uint32_t n = 0;

	if (!c) {
		vmm__err(VMM_ENOMEM, "kvm: out of memory for the CPUID table");
		return NULL;
	}
	vmm__x86_cpu_model_filter(&model, host_leaf, (void *)sup);
	vmm__x86_cpu_model_hide(&model, hidden);   /* KVM enforces the table */
	if (irqchip)
		apic_features(&model, host);
	memcpy(c, sup, sizeof(*sup));
	for (uint32_t i = 0; i < sup->nent; i++) {
		struct kvm_cpuid_entry2 e = sup->entries[i];

		if (rewrite(&model, &e, vcpu_index, vcpu_count) >= 0)
			c->entries[n++] = e;
	}
	c->nent = n;
	return c;
}
