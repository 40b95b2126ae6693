/* bind_map1.c - handler selection for the one-byte opcode map. */
#include "backends/emu/bind.h"

#define END EMU_BIND_END

/* ALU op (0..7, or 8 = TEST) in the encoding's form. low: opcode & 7 for
 * the 00..3F rows (0/1: E,G  2/3: G,E  4/5: acc,imm). */
static unsigned alu_row(const emu_dec *d, emu_insn *ins, unsigned op, unsigned low)
{
	unsigned form;

	if (low >= 4) {
		ins->rm = 0;
		form = EMU_RI;
	} else if (d->mod == 3) {
		if (low >= 2) {
			ins->rm = emu_gpr_off(d, d->reg, d->osz);
			ins->reg = emu_gpr_off(d, d->rm, d->osz);
		}
		form = EMU_RR;
	} else {
		form = low < 2 ? EMU_MR : EMU_RM;
	}
	ins->op = (uint8_t)op;
	ins->fn = (d->lock && form == EMU_MR) ? emu_h_alu_lock : emu_alu_tab[op][form][d->osz];
	return 0;
}

static unsigned alu_imm(const emu_dec *d, emu_insn *ins, unsigned op)
{
	unsigned form = d->mod == 3 ? EMU_RI : EMU_MI;

	ins->op = (uint8_t)op;
	ins->aux = 1;
	ins->fn = (d->lock && form == EMU_MI) ? emu_h_alu_lock : emu_alu_tab[op][form][d->osz];
	return 0;
}

static unsigned mov_row(const emu_dec *d, emu_insn *ins, unsigned low)
{
	unsigned form;

	if (d->mod == 3) {
		if (low >= 2) {
			ins->rm = emu_gpr_off(d, d->reg, d->osz);
			ins->reg = emu_gpr_off(d, d->rm, d->osz);
		}
		form = EMU_RR;
	} else {
		form = low < 2 ? EMU_MR : EMU_RM;
	}
	ins->fn = emu_mov_tab[form][d->osz];
	return 0;
}

/* Operand register encoded in the opcode's low three bits (+ REX.B). */
static void opcode_reg(const emu_dec *d, emu_insn *ins, unsigned sz)
{
	ins->rm = emu_gpr_off(d, (d->opcode & 7) | ((d->rex & 1) << 3), sz);
}

static unsigned moffs(const emu_dec *d, emu_insn *ins, int store)
{
	ins->mem = 1;
	ins->base = ins->index = EMU_REG_NONE;
	ins->disp = (int64_t)d->imm;
	ins->reg = 0;
	ins->fn = emu_mov_tab[store ? EMU_MR : EMU_RM][d->osz];
	return 0;
}

static unsigned group3(const emu_dec *d, const uint8_t *b, emu_insn *ins)
{
	switch (d->reg & 7) {
	case 0: case 1: return alu_imm(d, ins, 8);
	case 2: ins->fn = emu_h_not; return 0;
	case 3: ins->fn = emu_h_neg; return 0;
	case 4: ins->fn = emu_h_mul1; return 0;
	case 5: ins->fn = emu_h_imul1; return 0;
	case 6: ins->fn = emu_h_div; return 0;
	default: ins->fn = emu_h_idiv; return 0;
	}
}

static unsigned group5(const emu_dec *d, const uint8_t *b, emu_insn *ins)
{
	unsigned r = d->reg & 7;

	if ((r == 2 || r == 4) && d->code_sz == EMU_SZ64)
		ins->osz = EMU_SZ64;
	if (r == 6 && d->code_sz == EMU_SZ64 && d->osz == EMU_SZ32)
		ins->osz = EMU_SZ64;
	switch (r) {
	case 0: case 1:
		ins->op = (uint8_t)r;
		ins->fn = d->mod == 3 ? emu_incdec_tab[r][ins->osz] : emu_h_incdec;
		return 0;
	case 2: ins->fn = emu_h_call_ind; return END;
	case 3: ins->fn = emu_h_call_far_ind; return END;
	case 4: ins->fn = emu_h_jmp_ind; return END;
	case 5: ins->fn = emu_h_jmp_far_ind; return END;
	case 6: ins->fn = emu_h_push_rm; return 0;
	}
	return emu_bind_ud(ins);
}

static unsigned shift_group(const emu_dec *d, emu_insn *ins, unsigned count_src)
{
	emu_fn fast = emu_fast_shift(d->reg & 7, d->osz, ins->mem);

	ins->op = d->reg & 7;
	ins->aux = (uint8_t)count_src;
	ins->fn = fast ? fast : emu_h_shift;
	return 0;
}

static unsigned strings(const emu_dec *d, emu_insn *ins)
{
	switch (d->opcode & ~1u) {
	case 0xa4: ins->fn = emu_h_movs; break;
	case 0xa6: ins->fn = emu_h_cmps; break;
	case 0xaa: ins->fn = emu_h_stos; break;
	case 0xac: ins->fn = emu_h_lods; break;
	case 0xae: ins->fn = emu_h_scas; break;
	case 0x6c: ins->fn = emu_h_ins; break;
	default: ins->fn = emu_h_outs; break;
	}
	if (d->opcode >= 0x6c && d->opcode <= 0x6f && ins->osz == EMU_SZ64)
		ins->osz = EMU_SZ32;
	return 0;
}

static unsigned port_io(const emu_dec *d, emu_insn *ins)
{
	unsigned op = d->opcode;

	ins->aux = op < 0xec;          /* imm8 port */
	if (ins->osz == EMU_SZ64)
		ins->osz = EMU_SZ32;
	ins->fn = (op & 2) ? emu_h_out : emu_h_in;
	return 0;
}

static unsigned seg_push_pop(const emu_dec *d, emu_insn *ins)
{
	ins->op = (d->opcode >> 3) & 3;       /* ES CS SS DS */
	ins->fn = (d->opcode & 1) ? emu_h_pop_sreg : emu_h_push_sreg;
	return 0;
}

static unsigned row_40_7f(const emu_dec *d, const uint8_t *b, uint64_t rip, emu_insn *ins)
{
	unsigned op = d->opcode;

	if (op < 0x50) {                     /* INC/DEC r (16/32-bit code) */
		opcode_reg(d, ins, d->osz);
		ins->op = (op >> 3) & 1;
		ins->fn = emu_incdec_tab[ins->op][d->osz];
		return 0;
	}
	if (op < 0x60) {
		opcode_reg(d, ins, d->osz);
		ins->fn = op < 0x58 ? emu_h_push_r : emu_h_pop_r;
		return 0;
	}
	if (op >= 0x70)
		return emu_bind_branch(d, rip, ins, emu_jcc_tab[op & 15]);
	switch (op) {
	case 0x60: ins->fn = emu_h_pusha; return 0;
	case 0x61: ins->fn = emu_h_popa; return 0;
	case 0x63:
		if (d->code_sz != EMU_SZ64)
			return emu_bind_unsupported(b, d->len, ins);
		ins->rm = emu_gpr_off(d, d->rm, EMU_SZ32);
		ins->fn = d->osz == EMU_SZ64 && !ins->mem ? emu_h_movsxd_r64 : emu_h_movsxd;
		return 0;
	case 0x68: case 0x6a: ins->fn = emu_h_push_i; return 0;
	case 0x69: case 0x6b:
		ins->fn = emu_fast_imul(1, d->osz, ins->mem);
		if (!ins->fn)
			ins->fn = emu_h_imul3;
		return 0;
	case 0x6c: case 0x6d: case 0x6e: case 0x6f: return strings(d, ins);
	}
	return emu_bind_unsupported(b, d->len, ins);
}

static unsigned row_90_af(const emu_dec *d, const uint8_t *b, emu_insn *ins)
{
	unsigned op = d->opcode;

	if (op >= 0x91 && op <= 0x97) {
		opcode_reg(d, ins, d->osz);
		ins->reg = 0;
		ins->fn = emu_h_xchg;
		return 0;
	}
	if (op >= 0xa4 && op <= 0xaf && op != 0xa8 && op != 0xa9)
		return strings(d, ins);
	switch (op) {
	case 0x90:                 /* F3 90 is PAUSE even with REX.B (Intel) */
		if ((d->rex & 1) && d->rep != 0xf3) {
			opcode_reg(d, ins, d->osz);
			ins->reg = 0;
			ins->fn = emu_h_xchg;
			return 0;
		}
		ins->fn = emu_h_nop;
		return 0;
	case 0x98: ins->fn = emu_h_cbw; return 0;
	case 0x99: ins->fn = emu_h_cwd; return 0;
	case 0x9a:
		ins->disp = (int64_t)d->imm2;
		ins->fn = emu_h_call_far;
		return END;
	case 0x9b: ins->fn = emu_h_fwait; return 0;
	case 0x9c: ins->fn = emu_h_pushf; return 0;
	case 0x9d: ins->fn = emu_h_popf; return 0;
	case 0x9e: ins->fn = emu_h_sahf; return 0;
	case 0x9f: ins->fn = emu_h_lahf; return 0;
	case 0xa0: case 0xa1: return moffs(d, ins, 0);
	case 0xa2: case 0xa3: return moffs(d, ins, 1);
	default:                                /* A8/A9: TEST acc, imm */
		ins->rm = 0;
		ins->op = 8;
		ins->fn = emu_alu_tab[8][EMU_RI][d->osz];
		return 0;
	}
}

static unsigned row_80_bf(const emu_dec *d, const uint8_t *b, emu_insn *ins)
{
	unsigned op = d->opcode;

	if (op >= 0xb0) {
		opcode_reg(d, ins, d->osz);
		ins->fn = emu_mov_tab[EMU_RI][d->osz];
		return 0;
	}
	if (op >= 0x90)
		return row_90_af(d, b, ins);
	switch (op) {
	case 0x80: case 0x81: case 0x82: case 0x83: return alu_imm(d, ins, d->reg & 7);
	case 0x84: case 0x85:
		ins->op = 8;
		ins->fn = emu_alu_tab[8][d->mod == 3 ? EMU_RR : EMU_MR][d->osz];
		return 0;
	case 0x86: case 0x87: ins->fn = emu_h_xchg; return 0;
	case 0x88: case 0x89: case 0x8a: case 0x8b: return mov_row(d, ins, op & 3);
	case 0x8c:
		ins->op = d->reg & 7;
		ins->fn = emu_h_mov_from_sreg;
		return 0;
	case 0x8d:
		if (d->mod == 3)
			return emu_bind_ud(ins);
		ins->fn = (d->osz == EMU_SZ64 && d->asz == EMU_SZ64) ? emu_h_lea64 : emu_h_lea;
		return 0;
	case 0x8e:
		ins->op = d->reg & 7;
		ins->fn = emu_h_mov_to_sreg;
		return 0;
	default:                                /* 8F /0: POP r/m */
		if (d->reg & 7)            /* XOP (AMD) or undefined */
			return emu_bind_ud(ins);
		ins->fn = emu_h_pop_rm;
		return 0;
	}
}

static unsigned row_c0_cf(const emu_dec *d, const uint8_t *b, emu_insn *ins)
{
	switch (d->opcode) {
	case 0xc0: case 0xc1: return shift_group(d, ins, 2);
	case 0xc2: case 0xc3: ins->fn = emu_h_ret; return END;
	case 0xc4: case 0xc5:
		ins->op = d->opcode == 0xc4 ? X86_SEG_ES : X86_SEG_DS;
		ins->fn = emu_h_lxs;
		return 0;
	case 0xc6: case 0xc7:
		if (d->reg & 7)            /* XABORT/XBEGIN (no RTM) or undefined */
			return emu_bind_ud(ins);
		ins->fn = emu_mov_tab[d->mod == 3 ? EMU_RI : EMU_MI][d->osz];
		return 0;
	case 0xc8: ins->aux = (uint8_t)d->imm2; ins->fn = emu_h_enter; return 0;
	case 0xc9: ins->fn = emu_h_leave; return 0;
	case 0xca: case 0xcb: ins->fn = emu_h_ret_far; return END;
	case 0xcc: ins->fn = emu_h_int3; return END;
	case 0xcd: ins->fn = emu_h_intn; return END;
	case 0xce: ins->fn = emu_h_into; return END;
	default: ins->fn = emu_h_iret; return END;
	}
}

static unsigned row_d0_ff(const emu_dec *d, const uint8_t *b, uint64_t rip, emu_insn *ins)
{
	unsigned op = d->opcode;

	if (op <= 0xd3)
		return shift_group(d, ins, op >= 0xd2 ? 1 : 0);
	if (op >= 0xd8 && op <= 0xdf)
		return emu_bind_x87(d, b, ins);
	if (op >= 0xe0 && op <= 0xe2) {
		ins->op = op & 3;
		return emu_bind_branch(d, rip, ins, emu_h_loop);
	}
	if ((op >= 0xe4 && op <= 0xe7) || (op >= 0xec && op <= 0xef))
		return port_io(d, ins);
	switch (op) {
	case 0xd4: ins->fn = emu_h_aam; return 0;
	case 0xd5: ins->fn = emu_h_aad; return 0;
	case 0xd6: ins->fn = emu_h_salc; return 0;
	case 0xd7: ins->fn = emu_h_xlat; return 0;
	case 0xe3: return emu_bind_branch(d, rip, ins, emu_h_jcxz);
	case 0xe8: return emu_bind_branch(d, rip, ins, emu_h_call);
	case 0xe9: case 0xeb: return emu_bind_branch(d, rip, ins, emu_h_jmp);
	case 0xea: ins->disp = (int64_t)d->imm2; ins->fn = emu_h_jmp_far; return END;
	case 0xf1: ins->fn = emu_h_int1; return END;
	case 0xf4: ins->fn = emu_h_hlt; return END;
	case 0xf5: ins->fn = emu_h_cmc; return 0;
	case 0xf6: case 0xf7: return group3(d, b, ins);
	case 0xf8: ins->fn = emu_h_clc; return 0;
	case 0xf9: ins->fn = emu_h_stc; return 0;
	case 0xfa: ins->fn = emu_h_cli; return 0;
	case 0xfb: ins->fn = emu_h_sti; return 0;
	case 0xfc: ins->fn = emu_h_cld; return 0;
	case 0xfd: ins->fn = emu_h_std; return 0;
	case 0xfe:
		if ((d->reg & 7) > 1)
			return emu_bind_ud(ins);
		ins->op = d->reg & 7;
		ins->fn = d->mod == 3 ? emu_incdec_tab[ins->op][EMU_SZ8] : emu_h_incdec;
		return 0;
	case 0xff: return group5(d, b, ins);
	}
	return emu_bind_unsupported(b, d->len, ins);
}

unsigned emu_bind_map1(const emu_dec *d, const uint8_t *b, uint64_t rip, emu_insn *ins)
{
	unsigned op = d->opcode;

	if (op < 0x40) {
		if ((op & 7) < 6)
			return alu_row(d, ins, op >> 3, op & 7);
		if (op >= 0x20) {        /* DAA DAS AAA AAS (exec_bcd.c) */
			ins->op = (op >> 3) & 1;
			ins->fn = op < 0x30 ? emu_h_daa : emu_h_aaa;
			return 0;
		}
		return seg_push_pop(d, ins);
	}
	if (op < 0x80)
		return row_40_7f(d, b, rip, ins);
	if (op < 0xc0)
		return row_80_bf(d, b, ins);
	if (op < 0xd0)
		return row_c0_cf(d, b, ins);
	return row_d0_ff(d, b, rip, ins);
}
