/* cpuid.c - the CPUID table each kvm vCPU gets (KVM_SET_CPUID2).
 *
 * The kvm CPU model is "the host as KVM offers it": every leaf of
 * KVM_GET_SUPPORTED_CPUID (vendor, family, features, caches, topology,
 * XSAVE, KVM's own hypervisor leaves) with each vCPU's APIC ID filled in.
 * It deliberately is not the shared vmm__x86_emu_model of arch/x86/cpuid.c:
 * that model advertises only what emu executes (no x87, SSE, FXSR), which
 * on hardware that runs them would mislead guests (64-bit Linux requires
 * them), and its GenuineIntel identity on an AMD host changes how KVM
 * emulates SYSCALL/SYSENTER. KVM's hypervisor leaves stay so that guests get
 * kvmclock, which KVM serves without help from user space. The guests
 * (tests/guests/cpuid.c) treat the vendor as host-dependent on kvm. */
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
