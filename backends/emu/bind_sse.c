/* bind_sse.c - handler selection for MMX, SSE, SSE2 and SSE3 in the 0F map,
 * by opcode and mandatory prefix (none, 66, F3, F2). XMM/MMX register
 * numbers go to ins->reg and ins->rm; general registers as byte offsets
 * where a handler says so. The packed-integer operations come from the
 * simd_ops.h table (bind_simd.c). */
#include "backends/emu/bind.h"
#include "backends/emu/simd.h"

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

#define set emu_bind_set

/* 0F 10..17, 28, 29, 2B: moves and unpacks. */
static unsigned moves(const emu_dec *d, unsigned p, emu_insn *ins)
{
	static const uint8_t scalar_n[4] = { 16, 16, 4, 8 };
	int mem = d->has_mem;

	switch (d->opcode) {
	case 0x10: return set(ins, emu_h_sse_load, 0, scalar_n[p], 0);
	case 0x11: return set(ins, emu_h_sse_store, 0, scalar_n[p], 0);
	case 0x12:
		if (p == P_F3 || p == P_F2)                   /* MOVSLDUP, MOVDDUP */
			return set(ins, emu_h_sse3_dup, p == P_F3 ? 0 : 2, 0, p == P_F3);
		if (p == P_66 && !mem)
			return emu_bind_ud(ins);
		return mem ? set(ins, emu_h_sse_load, 3, 8, 0) : set(ins, emu_h_sse_movhl, 0, 0, 0);
	case 0x16:
		if (p == P_F3)                                /* MOVSHDUP */
			return set(ins, emu_h_sse3_dup, 1, 0, 1);
		if (p == P_F2 || (p == P_66 && !mem))
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
		if (p < P_F3)                                     /* CVTPI2PS/PD */
			return set(ins, emu_h_mmx_cvt, p == P_66, 8, 0);
		ins->rm = emu_gpr_off(d, d->rm, d->osz);
		return set(ins, emu_h_sse_cvtsi2f, 0, type[p], 0);
	case 0x2c: case 0x2d:
		if (p < P_F3)                                     /* CVT(T)PS/PD2PI */
			return set(ins, emu_h_mmx_cvt, 2 + 2 * (p == P_66) + (op == 0x2c), 16,
				   p == P_66);
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
	case 0x52: case 0x53:                                     /* RSQRT, RCP */
		if (p == P_66 || p == P_F2)
			return emu_bind_ud(ins);
		return set(ins, emu_h_sse_rcp, op == 0x53, p == P_F3, p == P_NONE);
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

/* 0F 71/72/73 ib (MMX and XMM): ModRM.reg selects the shift. */
static unsigned shift_imm(const emu_dec *d, unsigned p, emu_insn *ins)
{
	unsigned r = d->reg & 7, op = d->opcode;
	int ok = r == 2 || r == 6 || (r == 4 && op != 0x73) ||
		 (op == 0x73 && (r == 3 || r == 7) && p == P_66);

	if (d->has_mem || p > P_66 || !ok)
		return emu_bind_ud(ins);
	set(ins, emu_h_simd_shift_imm, op, p == P_66 ? 16 : 8, 0);
	ins->xflags = (uint8_t)r;
	return 0;
}

/* MMX-only forms (no prefix) outside the table. */
static unsigned mmx(const emu_dec *d, emu_insn *ins)
{
	switch (d->opcode) {
	case 0x6e: case 0x7e:
		ins->rm = emu_gpr_off(d, d->rm, EMU_SZ64);
		return set(ins, emu_h_mmx_movd, d->opcode == 0x7e, 0, 0);
	case 0x6f: return set(ins, emu_h_mmx_movq, 0, 8, 0);
	case 0x7f: return set(ins, emu_h_mmx_movq, 1, 8, 0);
	case 0xe7: return d->has_mem ? set(ins, emu_h_mmx_movq, 1, 8, 0) : emu_bind_ud(ins);
	case 0x70: return set(ins, emu_h_simd_pshuf, 3, 8, 0);
	case 0x77: return set(ins, emu_h_mmx_emms, 0, 0, 0);
	}
	return emu_bind_ud(ins);
}

/* SSE3 in the 0F map: ADDSUB, HADD, HSUB (66: pd, F2: ps), LDDQU. */
static unsigned sse3(const emu_dec *d, unsigned p, emu_insn *ins)
{
	unsigned op = d->opcode, dbl = p == P_66;

	if (op == 0xf0)
		return d->has_mem ? set(ins, emu_h_sse_load, 0, 16, 0) : emu_bind_ud(ins);
	return set(ins, emu_h_sse3_fp, (op == 0xd0 ? 0 : op == 0x7c ? 2 : 4) + dbl, 0, 1);
}

/* Integer instructions (MMX and XMM forms) and their moves. */
static unsigned integers(const emu_dec *d, const uint8_t *b, unsigned p, emu_insn *ins)
{
	unsigned op = d->opcode, id = emu_simd_index[0][op], n = p == P_66 ? 16 : 8;

	if (id && p <= P_66)
		return emu_bind_simd_op(d, ins, id);
	if (op >= 0x71 && op <= 0x73)
		return shift_imm(d, p, ins);
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
	case 0x70 * 4 + P_66: return set(ins, emu_h_simd_pshuf, 0, 0, 1);
	case 0x70 * 4 + P_F3: return set(ins, emu_h_simd_pshuf, 1, 0, 1);
	case 0x70 * 4 + P_F2: return set(ins, emu_h_simd_pshuf, 2, 0, 1);
	case 0xd7 * 4 + P_NONE: case 0xd7 * 4 + P_66:
		return d->has_mem ? emu_bind_ud(ins) : set(ins, emu_h_simd_pmovmskb, d->reg, n, 0);
	case 0xc4 * 4 + P_NONE: case 0xc4 * 4 + P_66:
		ins->rm = d->has_mem ? ins->rm : emu_gpr_off(d, d->rm, EMU_SZ16);
		return set(ins, emu_h_simd_pinsrw, 0, n, 0);
	case 0xc5 * 4 + P_NONE: case 0xc5 * 4 + P_66:
		if (d->has_mem)
			return emu_bind_ud(ins);
		set(ins, emu_h_simd_pinsrw, 1, n, 0);
		ins->xflags = emu_gpr_off(d, d->reg, EMU_SZ64);
		return 0;
	case 0xd6 * 4 + P_F3: case 0xd6 * 4 + P_F2:                 /* MOVQ2DQ, MOVDQ2Q */
		return d->has_mem ? emu_bind_ud(ins) : set(ins, emu_h_mmx_movq2dq, p == P_F2, 0, 0);
	case 0xf7 * 4 + P_NONE: case 0xf7 * 4 + P_66:               /* MASKMOVQ/DQU */
		return d->has_mem ? emu_bind_ud(ins) : set(ins, emu_h_simd_maskmov, 0, n, 0);
	case 0xd0 * 4 + P_66: case 0xd0 * 4 + P_F2: case 0x7c * 4 + P_66:
	case 0x7c * 4 + P_F2: case 0x7d * 4 + P_66: case 0x7d * 4 + P_F2:
	case 0xf0 * 4 + P_F2:
		return sse3(d, p, ins);
	case 0xe6 * 4 + P_F3: return set(ins, emu_h_sse_cvt, 7, 0, 0);
	case 0xe6 * 4 + P_F2: return set(ins, emu_h_sse_cvt, 8, 0, 1);
	case 0xe6 * 4 + P_66: return set(ins, emu_h_sse_cvt, 9, 0, 1);
	}
	if (p == P_NONE)
		return mmx(d, ins);
	return emu_bind_ud(ins);
}

/* 0F AE with memory: FXSAVE FXRSTOR LDMXCSR STMXCSR XSAVE XRSTOR XSAVEOPT,
 * 66 0F AE /7 CLFLUSHOPT. */
static unsigned group15(const emu_dec *d, const uint8_t *b, emu_insn *ins)
{
	unsigned r = d->reg & 7;

	if (d->opsize_pfx && !d->rep && r == 7) {
		ins->fn = emu_h_nop;
		return 0;
	}
	if (d->rep || d->opsize_pfx)
		return emu_bind_ud(ins);
	if (r < 2)
		return set(ins, emu_h_fxsave, r, 0, 0);
	if (r >= 4)
		return set(ins, emu_h_xsave, r == 5, 0, 0);
	return set(ins, emu_h_sse_mxcsr, r, 0, 0);
}

/* Returns 1 and fills ins if the 0F opcode is an SSE/SSE2 one. */
int emu_bind_sse(const emu_dec *d, const uint8_t *b, emu_insn *ins, unsigned *flags)
{
	unsigned op = d->opcode, p = prefix(d);
	int fxs = op == 0xae && d->has_mem && ((d->reg & 7) < 7 || d->opsize_pfx);
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
