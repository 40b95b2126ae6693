/* cpuid.c - the CPUID table each kvm vCPU gets (KVM_SET_CPUID2).
 *
 * Today: what KVM_GET_SUPPORTED_CPUID offers (like QEMU's "-cpu host"),
 * with the per-vCPU topology fields (APIC IDs) filled in. When the shared
 * model in arch/x86/cpuid.c lands, kvm__cpuid_build becomes "the model's
 * leaves, each feature word ANDed with what KVM supports"; nothing else in
 * the backend depends on how the table is made. */
#include <stdlib.h>
#include <string.h>

#include "backends/kvm/kvm_priv.h"

static void set_topology(struct kvm_cpuid_entry2 *e, uint32_t index, uint32_t count)
{
	switch (e->function) {
	case 1:
		/* EBX[31:24] initial APIC ID, EBX[23:16] logical processors. */
		e->ebx = (e->ebx & 0x0000ffffu) | (index << 24) |
			 ((count > 255 ? 255 : count) << 16);
		break;
	case 0xb:
	case 0x1f:
		e->edx = index;  /* x2APIC ID */
		break;
	default:
		break;
	}
}

struct kvm_cpuid2 *kvm__cpuid_build(const kvm__host *host, uint32_t vcpu_index,
				    uint32_t vcpu_count)
{
	const struct kvm_cpuid2 *sup = host->supported;
	size_t bytes = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);
	struct kvm_cpuid2 *c = malloc(bytes);

	if (!c) {
		vmm__err(VMM_ENOMEM, "kvm: out of memory for the CPUID table");
		return NULL;
	}
	memcpy(c, sup, bytes);
	for (uint32_t i = 0; i < c->nent; i++)
		set_topology(&c->entries[i], vcpu_index, vcpu_count);
	return c;
}
