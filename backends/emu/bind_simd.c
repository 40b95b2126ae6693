/* bind_simd.c - handler selection for the packed-integer table (simd_ops.h)
 * in the 0F, 0F 38 and 0F 3A maps, and for the rest of the 0F 38 / 0F 3A
 * maps: SSSE3, SSE4.1, SSE4.2 (string compares, CRC32), MOVBE and INVPCID.
 * Anything else in these maps is #UD: the CPU model advertises nothing more. */
#include "backends/emu/bind.h"
#include "backends/emu/simd.h"

#define set emu_bind_set

/* A table operation: MMX form without a prefix, XMM form with 66. */
unsigned emu_bind_simd_op(const emu_dec *d, emu_insn *ins, unsigned id)
{
	const simd_op *o = &emu_simd_ops[id];
	int xmm = d->opsize_pfx;

	if (d->rep || !(o->forms & (xmm ? SIMD_X : SIMD_M)))
		return emu_bind_ud(ins);
	ins->reg = d->reg;
	ins->rm = d->rm;
	return set(ins, emu_h_simd, id, xmm ? 16 : 8, xmm && o->srcn == 16);
}

/* F2 0F 38 F0/F1 CRC32, 0F 38 F0/F1 MOVBE. */
static unsigned crc_movbe(const emu_dec *d, emu_insn *ins)
{
	unsigned op = d->opcode & 1;

	if (d->rep == 0xf2) {
		ins->reg = emu_gpr_off(d, d->reg, EMU_SZ64);
		ins->rm = emu_gpr_off(d, d->rm, op ? d->osz : EMU_SZ8);
		return set(ins, emu_h_crc32, 0, op, 0);
	}
	if (d->rep || !d->has_mem)
		return emu_bind_ud(ins);
	return set(ins, emu_h_movbe, op, 0, 0);
}

/* 66 0F 3A 14..22: element extracts and inserts. */
static unsigned elements(const emu_dec *d, emu_insn *ins)
{
	unsigned w = d->osz == EMU_SZ64;

	ins->reg = d->reg;
	ins->rm = d->has_mem ? ins->rm : emu_gpr_off(d, d->rm, EMU_SZ64);
	switch (d->opcode) {
	case 0x14: return set(ins, emu_h_sse_pextr, 0, 1, 0);
	case 0x15: return set(ins, emu_h_sse_pextr, 0, 2, 0);
	case 0x16: return set(ins, emu_h_sse_pextr, 0, w ? 8 : 4, 0);
	case 0x17: return set(ins, emu_h_sse_pextr, 0, 4, 0);
	case 0x20: return set(ins, emu_h_sse_pinsr, 0, 1, 0);
	case 0x22: return set(ins, emu_h_sse_pinsr, 0, w ? 8 : 4, 0);
	}
	ins->rm = d->rm;
	return set(ins, emu_h_sse_insertps, 0, 0, 0);             /* 21 */
}

static unsigned map0f38(const emu_dec *d, emu_insn *ins)
{
	switch (d->opcode) {
	case 0x17: return set(ins, emu_h_sse_ptest, 0, 0, 1);
	case 0x2a: return d->has_mem ? set(ins, emu_h_sse_load, 0, 16, 1) : emu_bind_ud(ins);
	case 0x82:                                          /* INVPCID */
		if (!d->has_mem)
			return emu_bind_ud(ins);
		ins->reg = emu_gpr_off(d, d->reg, EMU_SZ64);
		ins->fn = emu_h_invpcid;
		return EMU_BIND_END;
	}
	return emu_bind_ud(ins);
}

static unsigned map0f3a(const emu_dec *d, emu_insn *ins)
{
	unsigned op = d->opcode;

	if (op >= 0x08 && op <= 0x0b)
		return set(ins, emu_h_sse_round, op - 8, 0, op < 0x0a);
	if (op >= 0x14 && op <= 0x22 && (op < 0x18 || op >= 0x20))
		return elements(d, ins);
	if (op == 0x40 || op == 0x41)
		return set(ins, emu_h_sse_dp, op & 1, 0, 1);
	if (op >= 0x60 && op <= 0x63)
		return set(ins, emu_h_sse_pcmpstr, op & 3, 0, 0);
	return emu_bind_ud(ins);
}

unsigned emu_bind_map38(const emu_dec *d, const uint8_t *b, emu_insn *ins)
{
	unsigned id = emu_simd_index[d->map - 1][d->opcode];

	if (d->map == EMU_MAP_0F38 && (d->opcode == 0xf0 || d->opcode == 0xf1))
		return crc_movbe(d, ins);
	if (id)
		return emu_bind_simd_op(d, ins, id);
	if (d->rep || !d->opsize_pfx)
		return emu_bind_ud(ins);
	ins->reg = d->reg;
	ins->rm = d->rm;
	return d->map == EMU_MAP_0F38 ? map0f38(d, ins) : map0f3a(d, ins);
}
