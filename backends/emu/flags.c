/* flags.c - materialising the lazily kept arithmetic flags. The last
 * flag-setting operation is kept as (kind, size, result, a, b); a flag is
 * computed only when something reads it. */
#include "backends/emu/flags.h"
#include "backends/emu/intr.h"

static uint64_t parity(uint64_t res)
{
	return __builtin_parity((unsigned)(res & 0xff)) ? 0 : X86_FL_PF;
}

/* CF and OF of the recorded operation, as flag bits. */
static uint64_t cf_of(unsigned kind, unsigned sz, uint64_t res, uint64_t a, uint64_t b)
{
	unsigned bits = 8u << sz;
	uint64_t sign = 1ull << (bits - 1), cf = 0, of = 0;

	switch (kind) {
	case EMU_CC_ADD: cf = res < a; of = (a ^ res) & (b ^ res) & sign; break;
	case EMU_CC_ADC: cf = res <= a; of = (a ^ res) & (b ^ res) & sign; break;
	case EMU_CC_SUB: cf = a < b; of = (a ^ b) & (a ^ res) & sign; break;
	case EMU_CC_SBB: cf = a <= b; of = (a ^ b) & (a ^ res) & sign; break;
	case EMU_CC_INC: cf = b; of = res == sign; break;
	case EMU_CC_DEC: cf = b; of = res == sign - 1; break;
	case EMU_CC_SHL:
		cf = b <= bits ? (a >> (bits - b)) & 1 : 0;
		of = ((res >> (bits - 1)) & 1) ^ cf;
		break;
	case EMU_CC_SHR:
		cf = (a >> (b - 1)) & 1;
		of = (a ^ res) & sign;
		break;
	case EMU_CC_SAR:
		cf = b > 63 ? (emu_sext(a, sz) >> 63) & 1 : (emu_sext(a, sz) >> (b - 1)) & 1;
		break;
	case EMU_CC_MUL: cf = of = a; break;
	}
	return (cf ? X86_FL_CF : 0) | (of ? X86_FL_OF : 0);
}

static uint64_t aux_flag(unsigned kind, uint64_t res, uint64_t a, uint64_t b)
{
	switch (kind) {
	case EMU_CC_ADD: case EMU_CC_ADC: case EMU_CC_SUB: case EMU_CC_SBB:
		return (a ^ b ^ res) & X86_FL_AF;
	case EMU_CC_INC:
		return (res & 0xf) == 0 ? X86_FL_AF : 0;
	case EMU_CC_DEC:
		return (res & 0xf) == 0xf ? X86_FL_AF : 0;
	}
	return 0;
}

uint64_t emu_flags_arith(const emu_cpu *cpu)
{
	unsigned kind = cpu->cc_op >> 2, sz = cpu->cc_op & 3;
	uint64_t res = cpu->cc_res & emu_sz_mask(sz), f;

	if (kind == EMU_CC_NONE)
		return cpu->rflags & X86_FL_ARITH;
	f = cf_of(kind, sz, res, cpu->cc_a, cpu->cc_b);
	f |= aux_flag(kind, res, cpu->cc_a, cpu->cc_b);
	f |= parity(res);
	if (res == 0)
		f |= X86_FL_ZF;
	if ((res >> ((8u << sz) - 1)) & 1)
		f |= X86_FL_SF;
	return f;
}

int emu_get_cf(const emu_cpu *cpu)
{
	unsigned kind = cpu->cc_op >> 2, sz = cpu->cc_op & 3;

	switch (kind) {
	case EMU_CC_NONE: return !!(cpu->rflags & X86_FL_CF);
	case EMU_CC_LOGIC: return 0;
	case EMU_CC_SUB: return cpu->cc_a < cpu->cc_b;
	case EMU_CC_ADD: return (cpu->cc_res & emu_sz_mask(sz)) < cpu->cc_a;
	}
	return !!(cf_of(kind, sz, cpu->cc_res & emu_sz_mask(sz), cpu->cc_a, cpu->cc_b) &
		  X86_FL_CF);
}

uint64_t emu_get_rflags(const emu_cpu *cpu)
{
	return (cpu->rflags & ~X86_FL_ARITH) | emu_flags_arith(cpu) | X86_FL_RSV1;
}

void emu_set_rflags(emu_cpu *cpu, uint64_t v)
{
	uint64_t changed = v ^ cpu->rflags;

	if (EMU_UNLIKELY(v & changed & X86_FL_TF))
		emu_jc_flush(cpu);    /* single-step: no chaining into cached blocks */
	/* IF 0 -> 1 (POPF, IRET): a pending interrupt may be deliverable. */
	if (EMU_UNLIKELY((v & ~cpu->rflags & X86_FL_IF) && cpu->vcpu && cpu->vcpu->lapic))
		emu_intr_look(cpu);
	cpu->rflags = v | X86_FL_RSV1;
	cpu->cc_op = EMU_CC_NONE;
	if (EMU_UNLIKELY(changed & X86_FL_AC))
		emu_ac_update(cpu);
}

int emu_cond_slow(const emu_cpu *cpu, unsigned cc)
{
	uint64_t f = emu_flags_arith(cpu);
	int of = !!(f & X86_FL_OF), sf = !!(f & X86_FL_SF), zf = !!(f & X86_FL_ZF);
	int cf = !!(f & X86_FL_CF), r;

	switch (cc >> 1) {
	case 0: r = of; break;
	case 1: r = cf; break;
	case 2: r = zf; break;
	case 3: r = cf | zf; break;
	case 4: r = sf; break;
	case 5: r = !!(f & X86_FL_PF); break;
	case 6: r = sf != of; break;
	default: r = zf | (sf != of); break;
	}
	return r ^ (cc & 1);
}
