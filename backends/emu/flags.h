/* flags.h - lazy arithmetic flags: recording an operation and evaluating a
 * condition code quickly for the common cases (compare, logic). */
#ifndef VMM_EMU_FLAGS_H
#define VMM_EMU_FLAGS_H

#include "backends/emu/emu.h"

/* Four plain stores. The volatile accesses keep gcc's SLP vectorizer from
 * merging them into GPR -> XMM moves and a 16-byte store: the moves cost
 * latency in every flag-setting handler, and the 8-byte loads of cc_a / cc_b
 * that follow in the next Jcc/SETcc/CMOVcc/ADC forward badly from the wide
 * store (measured: the CMP/ADD handlers' hottest instructions). */
static inline void emu_cc_set(emu_cpu *cpu, uint32_t op, uint64_t res, uint64_t a,
			      uint64_t b)
{
	*(volatile uint32_t *)&cpu->cc_op = op;
	*(volatile uint64_t *)&cpu->cc_res = res;
	*(volatile uint64_t *)&cpu->cc_a = a;
	*(volatile uint64_t *)&cpu->cc_b = b;
}

/* CF, with the common cases inline. */
static inline int emu_cf(const emu_cpu *cpu)
{
	unsigned kind = cpu->cc_op >> 2;

	if (kind == EMU_CC_LOGIC)
		return 0;
	if (kind == EMU_CC_SUB)
		return cpu->cc_a < cpu->cc_b;
	if (kind == EMU_CC_INC || kind == EMU_CC_DEC)
		return (int)cpu->cc_b;
	return emu_get_cf(cpu);
}

/* Condition codes in instruction encoding order: O NO B NB Z NZ BE NBE S NS
 * P NP L NL LE NLE. */
static inline int emu_cond(const emu_cpu *cpu, unsigned cc)
{
	unsigned kind = cpu->cc_op >> 2, sz = cpu->cc_op & 3;
	int r;

	if (EMU_LIKELY(kind == EMU_CC_SUB)) {
		uint64_t a = cpu->cc_a, b = cpu->cc_b;

		switch (cc >> 1) {
		case 1: r = a < b; break;
		case 2: r = a == b; break;
		case 3: r = a <= b; break;
		case 6: r = (int64_t)emu_sext(a, sz) < (int64_t)emu_sext(b, sz); break;
		case 7: r = (int64_t)emu_sext(a, sz) <= (int64_t)emu_sext(b, sz); break;
		default: return emu_cond_slow(cpu, cc);
		}
		return r ^ (cc & 1);
	}
	if (kind == EMU_CC_LOGIC || kind == EMU_CC_ADD || kind == EMU_CC_INC ||
	    kind == EMU_CC_DEC) {
		uint64_t res = cpu->cc_res;

		switch (cc >> 1) {
		case 2: r = res == 0; break;
		case 4: r = (emu_sext(res, sz) >> 63) & 1; break;
		default: return emu_cond_slow(cpu, cc);
		}
		return r ^ (cc & 1);
	}
	return emu_cond_slow(cpu, cc);
}

#endif
