/* intr.h - emu's side of the interrupt platform (VMM_VM_IRQCHIP): the hooks
 * instructions call, and the run loop's interrupt step (intr.c). Without a
 * core local APIC (vcpu->lapic == NULL) every hook does nothing. */
#ifndef VMM_EMU_INTR_H
#define VMM_EMU_INTR_H

#include "backends/emu/emu.h"

/* Something may be deliverable: the run loop looks at the next boundary. */
static inline void emu_intr_look(emu_cpu *cpu)
{
	atomic_store_explicit(&cpu->vcpu->intr_attention, 1, memory_order_relaxed);
}

/* STI (IF 0 -> 1), MOV SS, POP SS: no interrupt before the next
 * instruction. The shadow holds while no block ran since and RIP is still
 * the next instruction's (a false hold only delays by one block). */
static inline void emu_shadow_start(emu_cpu *cpu)
{
	if (!cpu->blk || !cpu->cur)
		return;
	cpu->shadow_seq = cpu->exec_seq;
	cpu->shadow_rip = emu_next_rip(cpu, cpu->cur);
}

static inline int emu_shadow_active(const emu_cpu *cpu)
{
	return cpu->shadow_seq == cpu->exec_seq && cpu->shadow_rip == cpu->rip;
}

/* The run loop must take the interrupt step before the next block. */
static inline int emu_intr_pending(const emu_cpu *cpu)
{
	const vmm_vcpu *vcpu = cpu->vcpu;

	return vcpu->lapic && !cpu->log.replay &&
	       (atomic_load_explicit(&vcpu->intr_attention, memory_order_relaxed) ||
		cpu->halted || !vcpu->runnable);
}

/* Polls and delivers, sleeps in HLT or wait-for-SIPI. EMU_OK: go on (the
 * caller re-checks kicked); else a status ending the run (shutdown exit,
 * internal error). */
int emu_intr_step(emu_cpu *cpu);

/* emu.c: INIT (the SDM's INIT state; x87/SSE, PAT, TSC and the APIC stay)
 * and SIPI (real mode at vector << 12). */
void emu_init_reset(emu_cpu *cpu);
void emu_sipi(emu_cpu *cpu, uint8_t vector);

/* except.c: an external interrupt or NMI at cpu->rip, through the IDT as an
 * exception without error code or DPL check. */
int emu_deliver_intr(emu_cpu *cpu, unsigned vec);

/* cpu.c hooks: the local APIC's MSRs (0x1b, 0x6e0, 0x800-0x8ff). */
int emu_lapic_msr_read(emu_cpu *cpu, uint32_t msr, uint64_t *v);
int emu_lapic_msr_write(emu_cpu *cpu, uint32_t msr, uint64_t v);

#endif /* VMM_EMU_INTR_H */
