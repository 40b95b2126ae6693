/* msr.h - the model-specific registers libvmm's x86 CPUs implement, and the
 * architectural checks on writes to them (a failed check is #GP). */
#ifndef VMM_ARCH_X86_MSR_H
#define VMM_ARCH_X86_MSR_H

#include <stdint.h>

/* Every MSR a vCPU has (for save/restore and for RDMSR/WRMSR): arch/x86/msr.c. */
enum {
	VMM__MSR_CPU = 0,      /* kept in the backend's own CPU state */
	VMM__MSR_STORED = 1,   /* per-vCPU value in slot 'slot' */
	VMM__MSR_CONST = 2,    /* reads 'reset'; writes #GP */
	VMM__MSR_IGNORE = 3,   /* reads 'reset'; writes are dropped */
	VMM__MSR_WONLY = 4     /* a command: reads #GP; writes with 'rsvd' bits
				  #GP, others are done (nothing to do here) */
};
#define VMM__X86_MSR_SLOTS 30

typedef struct vmm__x86_msr_desc {
	uint32_t msr;
	uint8_t kind;          /* VMM__MSR_* */
	uint8_t slot;          /* VMM__MSR_STORED: 0..VMM__X86_MSR_SLOTS-1 */
	uint64_t reset;        /* value at reset / the constant read */
	uint64_t rsvd;         /* VMM__MSR_STORED, _WONLY: bits a write must leave 0 */
	const char *name;
} vmm__x86_msr_desc;

extern const vmm__x86_msr_desc vmm__x86_msrs[];
extern const uint32_t vmm__x86_msr_count;

const vmm__x86_msr_desc *vmm__x86_msr_find(uint32_t msr);
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
