/* msr.h - the model-specific registers libvmm's x86 CPUs implement, and the
 * architectural checks on writes to them (a failed check is #GP). */
#ifndef VMM_ARCH_X86_MSR_H
#define VMM_ARCH_X86_MSR_H

#include <stdint.h>

/* Every MSR a vCPU has (for save/restore and for RDMSR/WRMSR). */
extern const uint32_t vmm__x86_msr_list[];
extern const uint32_t vmm__x86_msr_count;

int vmm__x86_msr_known(uint32_t msr);

/* 1 if 'value' may be written to msr, 0 if WRMSR must raise #GP.
 * efer/cr0 are the current values (EFER.LME may not change while paging
 * is on); nx says whether the CPU model has NX. */
int vmm__x86_msr_write_ok(uint32_t msr, uint64_t value, uint64_t efer, uint64_t cr0,
			  int nx);

/* Canonical 48-bit linear address. */
static inline int vmm__x86_canonical(uint64_t va)
{
	return (uint64_t)(((int64_t)(va << 16) >> 16)) == va;
}

#endif
