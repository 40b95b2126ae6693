/* desc.h - x86 segment descriptors and gates: decode to and from vmm_segment. */
#ifndef VMM_ARCH_X86_DESC_H
#define VMM_ARCH_X86_DESC_H

#include <stdint.h>

#include "vmm.h"

/* Decodes an 8-byte code/data/system descriptor into *seg (limit scaled by
 * G, present/type/dpl/... split out). For a 16-byte long-mode system
 * descriptor, pass the high 8 bytes as hi (else 0): base bits 63:32. */
void vmm__x86_desc_decode(uint64_t lo, uint64_t hi, uint16_t selector,
			  vmm_segment *seg);
/* Encodes the low 8 bytes of a descriptor for seg (base bits 31:0). */
uint64_t vmm__x86_desc_encode(const vmm_segment *seg);

/* A decoded interrupt/trap/call gate (8 bytes in 32-bit mode, 16 in 64). */
typedef struct vmm__x86_gate {
	uint64_t offset;
	uint16_t selector;
	uint8_t type;        /* X86_DESC_*_GATE */
	uint8_t dpl;
	uint8_t present;
	uint8_t ist;         /* 64-bit gates only */
} vmm__x86_gate;
void vmm__x86_gate_decode(uint64_t lo, uint64_t hi, int long_mode,
			  vmm__x86_gate *gate);

/* A code segment descriptor type (S=1, bit 3 set). */
static inline int vmm__x86_seg_is_code(const vmm_segment *seg)
{
	return seg->s && (seg->type & 8);
}

#endif
