/* desc.c - x86 segment descriptor and gate encoding/decoding. */
#include "arch/x86/desc.h"
#include "arch/x86/x86.h"

void vmm__x86_desc_decode(uint64_t lo, uint64_t hi, uint16_t selector,
			  vmm_segment *seg)
{
	uint32_t limit = (uint32_t)(lo & 0xffff) | (uint32_t)((lo >> 32) & 0xf0000);

	seg->selector = selector;
	seg->base = ((lo >> 16) & 0xffffff) | ((lo >> 32) & 0xff000000ull);
	seg->type = (lo >> 40) & 0xf;
	seg->s = (lo >> 44) & 1;
	seg->dpl = (lo >> 45) & 3;
	seg->present = (lo >> 47) & 1;
	seg->avl = (lo >> 52) & 1;
	seg->l = (lo >> 53) & 1;
	seg->db = (lo >> 54) & 1;
	seg->g = (lo >> 55) & 1;
	seg->limit = seg->g ? (limit << 12) | 0xfff : limit;
	seg->unusable = 0;
	if (!seg->s)
		seg->base |= (hi & 0xffffffffull) << 32;
}

uint64_t vmm__x86_desc_encode(const vmm_segment *seg)
{
	uint32_t limit = seg->g ? seg->limit >> 12 : seg->limit;
	uint64_t d = 0;

	d |= limit & 0xffff;
	d |= (seg->base & 0xffffffull) << 16;
	d |= (uint64_t)(seg->type & 0xf) << 40;
	d |= (uint64_t)(seg->s & 1) << 44;
	d |= (uint64_t)(seg->dpl & 3) << 45;
	d |= (uint64_t)(seg->present & 1) << 47;
	d |= (uint64_t)((limit >> 16) & 0xf) << 48;
	d |= (uint64_t)(seg->avl & 1) << 52;
	d |= (uint64_t)(seg->l & 1) << 53;
	d |= (uint64_t)(seg->db & 1) << 54;
	d |= (uint64_t)(seg->g & 1) << 55;
	d |= ((seg->base >> 24) & 0xffull) << 56;
	return d;
}

void vmm__x86_gate_decode(uint64_t lo, uint64_t hi, int long_mode,
			  vmm__x86_gate *gate)
{
	gate->offset = (lo & 0xffff) | ((lo >> 32) & 0xffff0000ull);
	if (long_mode)
		gate->offset |= (hi & 0xffffffffull) << 32;
	gate->selector = (lo >> 16) & 0xffff;
	gate->ist = long_mode ? (lo >> 32) & 7 : 0;
	gate->type = (lo >> 40) & 0x1f;   /* includes S (bit 4): must be 0 */
	gate->dpl = (lo >> 45) & 3;
	gate->present = (lo >> 47) & 1;
}
