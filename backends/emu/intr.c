/* intr.c - interrupts into the emu CPU with VMM_VM_IRQCHIP: at a block
 * boundary the run loop asks the core's local APIC (vmm__intr_poll) for
 * what is deliverable under IF, the interrupt shadow and NMI blocking, and
 * delivers it through the IDT. HLT sleeps in vmm__vcpu_wait until an
 * interrupt (or a kick); a vCPU in wait-for-SIPI (vcpu->runnable false)
 * sleeps until INIT/SIPI. */
#include <x86intrin.h>

#include "backends/emu/exec.h"
#include "backends/emu/intr.h"
#include "lib/platform/platform.h"

static int deliver(emu_cpu *cpu, unsigned vec)
{
	int st;

	cpu->halted = 0;
	st = emu_deliver_intr(cpu, vec);
	return st == EMU_OK || st == EMU_JUMP ? EMU_OK : st;
}

/* INIT: an AP then waits for a SIPI; the BSP (APIC_BASE.BSP) runs from the
 * reset vector, as on hardware (and KVM). */
static void do_init(emu_cpu *cpu)
{
	emu_init_reset(cpu);
	cpu->vcpu->runnable = (cpu->apic_base & (1ull << 8)) != 0;
}

/* wait-for-SIPI: only INIT and SIPI matter. */
static void wait_sipi(emu_cpu *cpu)
{
	vmm_vcpu *vcpu = cpu->vcpu;
	uint8_t vec = 0;

	switch (vmm__intr_poll(vcpu, false, true, &vec)) {
	case VMM__INTR_INIT:
		do_init(cpu);
		break;
	case VMM__INTR_SIPI:
		emu_sipi(cpu, vec);
		vcpu->runnable = true;
		break;
	default:
		emu_quiet_begin(cpu);     /* cache.c: others need not wait for us */
		vmm__vcpu_wait(vcpu, 0);
		emu_quiet_end(cpu);
		break;
	}
}

int emu_intr_step(emu_cpu *cpu)
{
	vmm_vcpu *vcpu = cpu->vcpu;

	while (!atomic_load_explicit(&vcpu->kicked, memory_order_relaxed)) {
		uint8_t vec = 0;
		bool if_on;

		if (!vcpu->runnable) {
			wait_sipi(cpu);
			continue;
		}
		if (emu_shadow_active(cpu))
			return EMU_OK;   /* attention stays set: the next boundary */
		if_on = (cpu->rflags & X86_FL_IF) != 0;
		switch (vmm__intr_poll(vcpu, if_on, cpu->nmi_blocked, &vec)) {
		case VMM__INTR_EXT:
			return deliver(cpu, vec);
		case VMM__INTR_NMI:
			cpu->nmi_blocked = 1;
			return deliver(cpu, X86_EXC_NMI);
		case VMM__INTR_INIT:
			do_init(cpu);
			continue;
		default:
			break;
		}
		if (!cpu->halted)
			return EMU_OK;
		emu_quiet_begin(cpu);         /* cache.c: others need not wait for us */
		vmm__vcpu_wait(vcpu, 0);
		emu_quiet_end(cpu);
	}
	return EMU_OK;
}

/* ---- MSR hooks ----------------------------------------------------------------- */

#define MSR_TSC_DEADLINE 0x6e0u

/* TSC_DEADLINE crosses to the APIC in host TSC units (guest TSC minus the
 * TSC offset); 0 stays 0 (disarmed). */
int emu_lapic_msr_read(emu_cpu *cpu, uint32_t msr, uint64_t *v)
{
	if (vmm__lapic_msr_read(cpu->vcpu, msr, v))
		return -1;
	if (msr == MSR_TSC_DEADLINE && *v)
		*v += (uint64_t)cpu->tsc_offset;
	else if (msr == 0x1b)
		cpu->apic_base = *v;
	return 0;
}

int emu_lapic_msr_write(emu_cpu *cpu, uint32_t msr, uint64_t v)
{
	int rc;

	if (msr == MSR_TSC_DEADLINE && v) {
		v -= (uint64_t)cpu->tsc_offset;
		v = v ? v : 1;
	}
	rc = vmm__lapic_msr_write(cpu->vcpu, msr, v);
	if (!rc && msr == 0x1b)
		cpu->apic_base = v;
	return rc;
}
