/* bind_fp.c - handler selection for x87 (D8..DF) and SSE/SSE2 (0F map with
 * the 66/F3/F2 mandatory prefixes). MMX forms, SSE3 and later are not
 * executed (internal error). */
#include "backends/emu/bind.h"

enum { M32FP, M64FP, M80FP, M16INT, M32INT, M64INT };
enum { PS, PD, SS, SD };

static unsigned x87_mem(const emu_dec *d, const uint8_t *b, emu_insn *ins)
{
	static const uint8_t arith_kind[8] = { M32FP, 0, M32INT, 0, M64FP, 0, M16INT, 0 };
	static const uint8_t ld_kind[8] = { M32FP, M32INT, M64FP, M16INT };
	unsigned r = d->reg & 7, row = d->opcode - 0xd8;

	ins->op = (uint8_t)r;
	if (!(row & 1)) {                       /* D8 DA DC DE: arithmetic */
		ins->aux = arith_kind[row];
		ins->fn = emu_h_x87_arith_m;
		return 0;
	}
	ins->aux = ld_kind[row >> 1];
	switch (r) {
	case 0: ins->fn = emu_h_x87_fld_m; return 0;
	case 2: case 3: ins->op = r == 3; ins->fn = emu_h_x87_fst_m; return 0;
	}
	switch (d->opcode * 8 + r) {
	case 0xd9 * 8 + 5: ins->op = 0; ins->fn = emu_h_x87_control; return 0;   /* FLDCW */
	case 0xd9 * 8 + 7: ins->op = 1; ins->fn = emu_h_x87_control; return 0;   /* FNSTCW */
	case 0xdd * 8 + 7: ins->op = 2; ins->fn = emu_h_x87_control; return 0;   /* FNSTSW */
	case 0xdb * 8 + 5: ins->aux = M80FP; ins->fn = emu_h_x87_fld_m; return 0;
	case 0xdb * 8 + 7: ins->aux = M80FP; ins->op = 1; ins->fn = emu_h_x87_fst_m; return 0;
	case 0xdf * 8 + 5: ins->aux = M64INT; ins->fn = emu_h_x87_fld_m; return 0;
	case 0xdf * 8 + 7: ins->aux = M64INT; ins->op = 1; ins->fn = emu_h_x87_fst_m; return 0;
	case 0xdf * 8 + 1: case 0xdb * 8 + 1: case 0xdd * 8 + 1:   /* FISTTP (SSE3) */
		ins->aux = d->opcode == 0xdf ? M16INT : d->opcode == 0xdb ? M32INT : M64INT;
		ins->op = 1;
		ins->xflags = 1;                  /* truncate whatever FCW.RC says */
		ins->fn = emu_h_x87_fst_m;
		return 0;
	case 0xd9 * 8 + 1: case 0xdb * 8 + 4: case 0xdb * 8 + 6: case 0xdd * 8 + 5:
		return emu_bind_ud(ins);         /* undefined */
	}
	return emu_bind_unsupported(b, d->len, ins);  /* FLDENV FNSTENV FRSTOR FNSAVE FBLD FBSTP */
}

static unsigned compare(emu_insn *ins, unsigned i, int quiet, int eflags, int pops)
{
	ins->aux = (uint8_t)i;
	ins->op = (uint8_t)quiet;
	ins->base = (uint8_t)eflags;
	ins->scale = (uint8_t)pops;
	ins->fn = emu_h_x87_compare;
	return 0;
}

static unsigned x87_reg(const emu_dec *d, emu_insn *ins)
{
	static const uint8_t rev[8] = { 0, 1, 2, 3, 5, 4, 7, 6 };
	static const uint8_t fcmov_cc[8] = { 2, 4, 6, 10, 3, 5, 7, 11 };
	unsigned r = d->reg & 7, i = d->modrm & 7, op = d->opcode;

	ins->aux = (uint8_t)i;
	ins->op = (uint8_t)r;
	ins->base = ins->index = ins->scale = 0;
	switch (op) {
	case 0xd8: ins->fn = emu_h_x87_arith_st0; return 0;
	case 0xdc: case 0xde:
		if (r == 2 || r == 3) {
			if (op == 0xde && r == 3 && i != 1)
				return emu_bind_ud(ins);
			return op == 0xde && r == 3 ? compare(ins, 1, 0, 0, 2) :
			       (ins->fn = emu_h_x87_arith_st0, 0);
		}
		ins->op = rev[r];
		ins->scale = op == 0xde;
		ins->fn = emu_h_x87_arith_sti;
		return 0;
	case 0xd9:
		if (r == 0) { ins->fn = emu_h_x87_fld_st; return 0; }
		if (r == 1) { ins->fn = emu_h_x87_fxch; return 0; }
		if (r == 2 && i != 0)
			return emu_bind_ud(ins);
		ins->aux = d->modrm;
		ins->fn = r == 3 ? emu_h_ud : emu_h_x87_misc;
		return 0;
	case 0xda: case 0xdb:
		if (r < 4) {
			ins->op = fcmov_cc[r + (op == 0xdb ? 4 : 0)];
			ins->fn = emu_h_x87_fcmov;
			return 0;
		}
		if (op == 0xda)
			return r == 5 && i == 1 ? compare(ins, 1, 1, 0, 2) : emu_bind_ud(ins);
		if (r == 4) {
			ins->op = d->modrm == 0xe2 ? 4 : 5;
			ins->fn = (d->modrm == 0xe2 || d->modrm == 0xe3) ? emu_h_x87_control : emu_h_nop;
			return i < 5 ? 0 : emu_bind_ud(ins);
		}
		return r == 7 ? emu_bind_ud(ins) : compare(ins, i, r == 5, 1, 0);
	case 0xdd:
		if (r == 4 || r == 5)
			return compare(ins, i, 1, 0, r == 5);
		if (r == 1) { ins->fn = emu_h_x87_fxch; return 0; }
		if (r > 5)
			return emu_bind_ud(ins);
		ins->op = r == 0 ? 2 : r == 3;
		ins->fn = emu_h_x87_fst_st;
		return 0;
	default:                                                       /* DF */
		if (d->modrm == 0xe0) { ins->op = 3; ins->fn = emu_h_x87_control; return 0; }
		if (r == 5 || r == 6)
			return compare(ins, i, r == 5, 1, 1);
		return emu_bind_ud(ins);
	}
}

unsigned emu_bind_x87(const emu_dec *d, const uint8_t *b, emu_insn *ins)
{
	return d->mod == 3 ? x87_reg(d, ins) : x87_mem(d, b, ins);
}
