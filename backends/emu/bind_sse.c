/* bind_sse.c - handler selection for SSE/SSE2 in the 0F map, by opcode and
 * mandatory prefix (none, 66, F3, F2). XMM register numbers go to ins->reg
 * and ins->rm; general registers as byte offsets where a handler says so. */
#include "backends/emu/bind.h"
#include "backends/emu/sse.h"

enum { PS, PD, SS, SD };
enum { P_NONE, P_66, P_F3, P_F2 };

static unsigned prefix(const emu_dec *d)
{
	if (d->rep == 0xf3)
		return P_F3;
	if (d->rep == 0xf2)
		return P_F2;
	return d->opsize_pfx ? P_66 : P_NONE;
}

static unsigned set(emu_insn *ins, emu_fn fn, unsigned op, unsigned aux, unsigned align)
{
	ins->fn = fn;
	ins->op = (uint8_t)op;
	ins->aux = (uint8_t)aux;
	ins->xflags = align ? SSE_ALIGN : 0;
	return 0;
}

/* 0F 10..17, 28, 29, 2B: moves and unpacks. */
static unsigned moves(const emu_dec *d, unsigned p, emu_insn *ins)
{
	static const uint8_t scalar_n[4] = { 16, 16, 4, 8 };
	int mem = d->has_mem;

	switch (d->opcode) {
	case 0x10: return set(ins, emu_h_sse_load, 0, scalar_n[p], 0);
	case 0x11: return set(ins, emu_h_sse_store, 0, scalar_n[p], 0);
	case 0x12:
		if (p >= P_F3 || (p == P_66 && !mem))
			return emu_bind_ud(ins);
		return mem ? set(ins, emu_h_sse_load, 3, 8, 0) : set(ins, emu_h_sse_movhl, 0, 0, 0);
	case 0x16:
		if (p >= P_F3 || (p == P_66 && !mem))
			return emu_bind_ud(ins);
		return mem ? set(ins, emu_h_sse_load, 2, 8, 0) : set(ins, emu_h_sse_movhl, 1, 0, 0);
	case 0x13: case 0x17:
		if (p >= P_F3 || !mem)
			return emu_bind_ud(ins);
		return set(ins, emu_h_sse_store, d->opcode == 0x17 ? 2 : 0, 8, 0);
	case 0x14: case 0x15:
		if (p >= P_F3)
			return emu_bind_ud(ins);
		return set(ins, emu_h_sse_unpck, (d->opcode & 1) + (p == P_66 ? 2 : 0), 0, 1);
	case 0x28: case 0x29:
		if (p >= P_F3)
			return emu_bind_ud(ins);
		return set(ins, d->opcode == 0x28 ? emu_h_sse_load : emu_h_sse_store, 0, 16, 1);
	default:                                                  /* 2B MOVNTPS/PD */
		if (p >= P_F3 || !mem)
			return emu_bind_ud(ins);
		return set(ins, emu_h_sse_store, 0, 16, 1);
	}
}

/* 0F 2A 2C 2D 2E 2F 50 51..5F C2 C6. */
static unsigned floats(const emu_dec *d, const uint8_t *b, unsigned p, emu_insn *ins)
{
	static const uint8_t type[4] = { PS, PD, SS, SD };
	unsigned op = d->opcode;

	switch (op) {
	case 0x2a:
		if (p < P_F3)
			return emu_bind_unsupported(b, d->len, ins);      /* MMX source */
		ins->rm = emu_gpr_off(d, d->rm, d->osz);
		return set(ins, emu_h_sse_cvtsi2f, 0, type[p], 0);
	case 0x2c: case 0x2d:
		if (p < P_F3)
			return emu_bind_unsupported(b, d->len, ins);
		ins->reg = emu_gpr_off(d, d->reg, EMU_SZ64);
		return set(ins, emu_h_sse_cvtf2si, op == 0x2c, type[p], 0);
	case 0x2e: case 0x2f:
		if (p >= P_F3)
			return emu_bind_ud(ins);
		return set(ins, emu_h_sse_comis, op == 0x2f, p == P_66 ? 8 : 4, 0);
	case 0x50:
		if (p >= P_F3 || d->has_mem)
			return emu_bind_ud(ins);
		return set(ins, emu_h_sse_movmsk, d->reg, p == P_66 ? 8 : 4, 0);
	case 0x52: case 0x53:
		return emu_bind_unsupported(b, d->len, ins);          /* RSQRT, RCP */
	case 0x54: case 0x55: case 0x56: case 0x57:
		if (p >= P_F3)
			return emu_bind_ud(ins);
		return set(ins, emu_h_sse_logic, op, 0, 1);
	case 0x5a: return set(ins, emu_h_sse_cvt, p == P_NONE ? 0 : p == P_66 ? 1 : p == P_F3 ? 2 : 3, 0, p < P_F3 && p != P_NONE);
	case 0x5b:
		if (p == P_F2)
			return emu_bind_ud(ins);
		return set(ins, emu_h_sse_cvt, p == P_NONE ? 4 : p == P_66 ? 5 : 6, 0, 1);
	case 0xc2: return set(ins, emu_h_sse_cmp, 0, type[p], p < P_F3);
	case 0xc6:
		if (p >= P_F3)
			return emu_bind_ud(ins);
		return set(ins, emu_h_sse_shuf, 0, p == P_66 ? 8 : 4, 1);
	}
	return set(ins, emu_h_sse_arith, op, type[p], p < P_F3);      /* 51 58..5F */
}

static int is_int_op(unsigned op)
{
	return (op >= 0x60 && op <= 0x6d) || (op >= 0x74 && op <= 0x76) ||
	       (op >= 0xd1 && op <= 0xd5) || (op >= 0xd8 && op <= 0xe5) ||
	       (op >= 0xe8 && op <= 0xef) || (op >= 0xf1 && op <= 0xf6) ||
	       (op >= 0xf8 && op <= 0xfe);
}

/* 66-prefixed integer instructions and their moves. */
static unsigned integers(const emu_dec *d, const uint8_t *b, unsigned p, emu_insn *ins)
{
	unsigned op = d->opcode;

	if (p == P_66 && is_int_op(op) && op != 0xe6)
		return set(ins, emu_h_sse_int, op, 0, 1);
	switch (op * 4 + p) {
	case 0x6e * 4 + P_66: case 0x7e * 4 + P_66:
		ins->rm = emu_gpr_off(d, d->rm, EMU_SZ64);
		return set(ins, emu_h_sse_movd, op == 0x7e, 0, 0);
	case 0x7e * 4 + P_F3: return set(ins, emu_h_sse_load, 1, 8, 0);
	case 0xd6 * 4 + P_66: return set(ins, emu_h_sse_store, 1, 8, 0);
	case 0x6f * 4 + P_66: return set(ins, emu_h_sse_load, 0, 16, 1);
	case 0x6f * 4 + P_F3: return set(ins, emu_h_sse_load, 0, 16, 0);
	case 0x7f * 4 + P_66: return set(ins, emu_h_sse_store, 0, 16, 1);
	case 0x7f * 4 + P_F3: return set(ins, emu_h_sse_store, 0, 16, 0);
	case 0xe7 * 4 + P_66: return d->has_mem ? set(ins, emu_h_sse_store, 0, 16, 1) : emu_bind_ud(ins);
	case 0x70 * 4 + P_66: return set(ins, emu_h_sse_pshuf, 0, 0, 1);
	case 0x70 * 4 + P_F3: return set(ins, emu_h_sse_pshuf, 1, 0, 1);
	case 0x70 * 4 + P_F2: return set(ins, emu_h_sse_pshuf, 2, 0, 1);
	case 0xd7 * 4 + P_66:
		return d->has_mem ? emu_bind_ud(ins) : set(ins, emu_h_sse_pmovmskb, d->reg, 0, 0);
	case 0xc4 * 4 + P_66:
		ins->rm = d->has_mem ? ins->rm : emu_gpr_off(d, d->rm, EMU_SZ16);
		return set(ins, emu_h_sse_pinsrw, 0, 0, 0);
	case 0xc5 * 4 + P_66:
		return d->has_mem ? emu_bind_ud(ins) : set(ins, emu_h_sse_pinsrw, 1, d->reg, 0);
	case 0xe6 * 4 + P_F3: return set(ins, emu_h_sse_cvt, 7, 0, 0);
	case 0xe6 * 4 + P_F2: return set(ins, emu_h_sse_cvt, 8, 0, 1);
	case 0xe6 * 4 + P_66: return set(ins, emu_h_sse_cvt, 9, 0, 1);
	}
	if (p == P_66 && op >= 0x71 && op <= 0x73 && !d->has_mem) {
		unsigned r = d->reg & 7;

		if (r == 2 || r == 4 || r == 6 || (op == 0x73 && (r == 3 || r == 7)))
			if (!(op == 0x73 && r == 4))
				return set(ins, emu_h_sse_shift_imm, op, r, 0);
		return emu_bind_ud(ins);
	}
	return emu_bind_unsupported(b, d->len, ins);           /* MMX forms, SSE3+ */
}

static unsigned group15(const emu_dec *d, const uint8_t *b, emu_insn *ins)
{
	unsigned r = d->reg & 7;

	if (d->rep || d->opsize_pfx || r > 3)
		return emu_bind_unsupported(b, d->len, ins);
	if (r < 2)
		return set(ins, emu_h_fxsave, r, 0, 0);
	return set(ins, emu_h_sse_mxcsr, r, 0, 0);
}

/* Returns 1 and fills ins if the 0F opcode is an SSE/SSE2 one. */
int emu_bind_sse(const emu_dec *d, const uint8_t *b, emu_insn *ins, unsigned *flags)
{
	unsigned op = d->opcode, p = prefix(d);
	int fxs = op == 0xae && d->has_mem && (d->reg & 7) < 4;
	int mov = (op >= 0x10 && op <= 0x17) || op == 0x28 || op == 0x29 || op == 0x2b;
	int flt = op == 0x2a || (op >= 0x2c && op <= 0x2f) || (op >= 0x50 && op <= 0x5f) ||
		  op == 0xc2 || op == 0xc6;
	int intg = (op >= 0x60 && op <= 0x7f) || op == 0xc4 || op == 0xc5 ||
		   (op >= 0xd0 && op < 0xff);

	if (!fxs && !mov && !flt && !intg)
		return 0;
	ins->reg = d->reg;
	ins->rm = d->rm;
	if (fxs)
		*flags = group15(d, b, ins);
	else if (mov)
		*flags = moves(d, p, ins);
	else if (flt)
		*flags = floats(d, b, p, ins);
	else
		*flags = integers(d, b, p, ins);
	return 1;
}
