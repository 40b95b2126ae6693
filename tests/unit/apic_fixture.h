/* apic_fixture.h - an emu VM with VMM_VM_IRQCHIP and the core's local APICs
 * and IOAPIC, reached the way a vCPU reaches them: MMIO through the bus as
 * the accessing vCPU, MSRs through the lapic hooks emu's RDMSR/WRMSR call,
 * and vmm__intr_poll as emu's run loop calls it. */
#ifndef APIC_FIXTURE_H
#define APIC_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "lib/platform/platform.h"

#define LAPIC 0xfee00000ull
#define IOAPIC 0xfec00000ull

typedef struct apic_fx {
	vmm_vm *vm;
	vmm_vcpu *cpu[4];
	uint32_t n;
} apic_fx;

static inline void afx_create(apic_fx *fx, uint32_t n)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;

	memset(fx, 0, sizeof(*fx));
	cfg.backend = "emu";
	cfg.vcpus = n;
	cfg.flags = VMM_VM_IRQCHIP | VMM_VM_NO_UART | VMM_VM_NO_DEBUG_EXIT;
	assert_int_equal(vmm_vm_create(&cfg, &fx->vm), 0);
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(vmm_vcpu_create(fx->vm, i, &fx->cpu[i]), 0);
		assert_non_null(fx->cpu[i]->lapic);
	}
	fx->n = n;
}

static inline void afx_destroy(apic_fx *fx)
{
	vmm_vm_destroy(fx->vm);
}

static inline uint32_t mmio_rd(vmm_vcpu *v, uint64_t addr)
{
	uint64_t d = 0;

	assert_int_equal(vmm__bus_mmio(v, addr, 4, 0, &d), VMM__BUS_DONE);
	return (uint32_t)d;
}

static inline void mmio_wr(vmm_vcpu *v, uint64_t addr, uint32_t val)
{
	uint64_t d = val;

	assert_int_equal(vmm__bus_mmio(v, addr, 4, 1, &d), VMM__BUS_DONE);
}

static inline uint32_t ar(vmm_vcpu *v, uint32_t reg) { return mmio_rd(v, LAPIC + reg); }
static inline void aw(vmm_vcpu *v, uint32_t reg, uint32_t val) { mmio_wr(v, LAPIC + reg, val); }

/* Software-enables the APIC of v (SVR 0x1ff). */
static inline void apic_on(vmm_vcpu *v)
{
	aw(v, 0xf0, 0x1ff);
}

/* vector is set in IRR / ISR / TMR (base 0x200 / 0x100 / 0x180). */
static inline int vec_bit(vmm_vcpu *v, uint32_t base, uint8_t vector)
{
	return (ar(v, base + (vector >> 5) * 0x10) >> (vector & 31)) & 1;
}

/* What emu's run loop would take now with IF set. */
static inline int take(vmm_vcpu *v, uint8_t *vector)
{
	*vector = 0;
	return vmm__intr_poll(v, true, false, vector);
}

static inline void sleep_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

#endif /* APIC_FIXTURE_H */
