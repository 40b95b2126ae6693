/* bind_0f.c - handler selection for the two-byte (0F) opcode map. SSE, MMX
 * and x87-state instructions are not executed (internal error). */
#include "backends/emu/bind.h"

#define END EMU_BIND_END

static unsigned group6(const emu_dec *d, const uint8_t *b, emu_insn *ins)
{
	switch (d->reg & 7) {
	case 0: ins->fn = emu_h_sldt; return 0;
	case 1: ins->fn = emu_h_str; return 0;
	case 2: ins->fn = emu_h_lldt; return 0;
	case 3: ins->fn = emu_h_ltr; return 0;
	case 4: case 5: ins->fn = emu_h_verrw; ins->aux = (d->reg & 7) == 5; return 0;
	}
	return emu_bind_unsupported(b, d->len, ins);
}

static unsigned group7(const emu_dec *d, const uint8_t *b, emu_insn *ins)
{
	unsigned r = d->reg & 7;

	if (d->mod == 3) {
		if (r == 4) { ins->fn = emu_h_smsw; return 0; }
		if (r == 6) { ins->fn = emu_h_lmsw; return END; }
		switch (d->modrm) {
		case 0xc1: case 0xd9: case 0xf8: case 0xf9:
		case 0xca: case 0xcb: case 0xee: case 0xef:  /* CLAC STAC RDPKRU WRPKRU */
			ins->aux = d->modrm;
			ins->fn = emu_h_grp7_reg;
			return END;
		case 0xd0: case 0xd1:                   /* XGETBV, XSETBV */
			ins->op = d->modrm & 1;
			ins->fn = emu_h_xgetbv;
			return d->modrm == 0xd1 ? END : 0;
		}
		return emu_bind_ud(ins);       /* VMX, SVM, SGX, MONITOR, CLAC ...: not advertised */
	}
	switch (r) {
	case 0: ins->fn = emu_h_sgdt; return 0;
	case 1: ins->fn = emu_h_sidt; return 0;
	case 2: ins->fn = emu_h_lgdt; return END;
	case 3: ins->fn = emu_h_lidt; return END;
	case 4: ins->fn = emu_h_smsw; return 0;
	case 6: ins->fn = emu_h_lmsw; return END;
	case 7: ins->fn = emu_h_invlpg; return END;
	}
	return emu_bind_ud(ins);
}

/* MOV to/from CRn/DRn: the register operand is always 64-bit in 64-bit
 * mode, 32-bit otherwise; ins->op = n. */
static unsigned mov_cr_dr(const emu_dec *d, emu_insn *ins)
{
	ins->op = d->reg;
	ins->rm = (uint8_t)(d->rm * 8);
	switch (d->opcode) {
	case 0x20: ins->fn = emu_h_mov_from_cr; return 0;
	case 0x21: ins->fn = emu_h_mov_from_dr; return 0;
	case 0x22: ins->fn = emu_h_mov_to_cr; return END;
	default: ins->fn = emu_h_mov_to_dr; return END;
	}
}

static unsigned bit_ops(const emu_dec *d, const uint8_t *b, emu_insn *ins)
{
	switch (d->opcode) {
	case 0xa3: ins->op = 0; break;
	case 0xab: ins->op = 1; break;
	case 0xb3: ins->op = 2; break;
	case 0xbb: ins->op = 3; break;
	default:                               /* 0F BA group 8, imm8 */
		if ((d->reg & 7) < 4)
			return emu_bind_ud(ins);
		ins->op = (d->reg & 7) - 4;
		ins->aux = 1;
		break;
	}
	ins->fn = emu_h_bt;
	return 0;
}

static unsigned group15(const emu_dec *d, const uint8_t *b, emu_insn *ins)
{
	unsigned r = d->reg & 7;

	if (d->mod == 3 && !d->rep && !d->opsize_pfx && r >= 5) {
		ins->fn = emu_h_fence;
		return 0;
	}
	if (d->mod != 3 && r == 7 && !d->rep && !d->opsize_pfx) {   /* CLFLUSH */
		ins->fn = emu_h_nop;
		return 0;
	}
	return emu_bind_ud(ins);       /* RD/WRFSBASE, PCOMMIT, ...: not advertised */
}

static unsigned ext_moves(const emu_dec *d, emu_insn *ins)
{
	ins->aux = d->opcode & 1;             /* source: byte or word */
	ins->rm = emu_gpr_off(d, d->rm, ins->aux);
	ins->fn = emu_movx_tab[d->opcode >= 0xbe][ins->mem][ins->aux][ins->osz];
	if (!ins->fn)
		ins->fn = d->opcode >= 0xbe ? emu_h_movsx : emu_h_movzx;
	return 0;
}

static unsigned row_a0_cf(const emu_dec *d, const uint8_t *b, emu_insn *ins)
{
	unsigned op = d->opcode;

	if (op >= 0xc8) {
		ins->rm = (uint8_t)(((op & 7) | ((d->rex & 1) << 3)) * 8);
		ins->fn = emu_h_bswap;
		return 0;
	}
	switch (op) {
	case 0xa0: case 0xa8: ins->op = op == 0xa0 ? X86_SEG_FS : X86_SEG_GS;
		ins->fn = emu_h_push_sreg; return 0;
	case 0xa1: case 0xa9: ins->op = op == 0xa1 ? X86_SEG_FS : X86_SEG_GS;
		ins->fn = emu_h_pop_sreg; return 0;
	case 0xa2: ins->fn = emu_h_cpuid; return 0;
	case 0xa3: case 0xab: case 0xb3: case 0xbb: case 0xba: return bit_ops(d, b, ins);
	case 0xa4: case 0xa5: ins->aux = op == 0xa4 ? 2 : 1; ins->fn = emu_h_shld; return 0;
	case 0xac: case 0xad: ins->aux = op == 0xac ? 2 : 1; ins->fn = emu_h_shrd; return 0;
	case 0xae: return group15(d, b, ins);
	case 0xaf:
		ins->fn = emu_fast_imul(0, d->osz, ins->mem);
		if (!ins->fn)
			ins->fn = emu_h_imul2;
		return 0;
	case 0xb0: case 0xb1: ins->fn = emu_h_cmpxchg; return 0;
	case 0xb2: case 0xb4: case 0xb5:
		ins->op = op == 0xb2 ? X86_SEG_SS : op == 0xb4 ? X86_SEG_FS : X86_SEG_GS;
		ins->fn = emu_h_lxs;
		return 0;
	case 0xb6: case 0xb7: case 0xbe: case 0xbf: return ext_moves(d, ins);
	case 0xb8:
		if (d->rep != 0xf3)
			return emu_bind_ud(ins);
		ins->fn = emu_h_popcnt;
		return 0;
	case 0xb9: return emu_bind_ud(ins);
	case 0xbc: ins->fn = d->rep == 0xf3 ? emu_h_tzcnt : emu_h_bsf; return 0;
	case 0xbd: ins->fn = d->rep == 0xf3 ? emu_h_lzcnt : emu_h_bsr; return 0;
	case 0xc0: case 0xc1: ins->fn = emu_h_xadd; return 0;
	case 0xc3:                                               /* MOVNTI */
		if (!d->has_mem || d->rep || d->opsize_pfx)
			return emu_bind_ud(ins);
		ins->fn = emu_mov_tab[EMU_MR][d->osz];
		return 0;
	case 0xc7:
		if (d->mod == 3 && (d->reg & 7) >= 6 && !d->rep) {     /* RDRAND, RDSEED */
			ins->op = (d->reg & 7) == 7;
			ins->fn = emu_h_rdrand;
			return 0;
		}
		if ((d->reg & 7) != 1 || d->mod == 3)
			return emu_bind_ud(ins);
		ins->fn = emu_h_cmpxchg8b;
		return 0;
	}
	return emu_bind_unsupported(b, d->len, ins);
}

static unsigned row_00_3f(const emu_dec *d, const uint8_t *b, emu_insn *ins)
{
	unsigned op = d->opcode;

	if (op >= 0x18 && op <= 0x1f) {       /* prefetch hints, NOP Ev, ENDBR */
		ins->fn = emu_h_nop;
		return 0;
	}
	if (op >= 0x20 && op <= 0x23)
		return mov_cr_dr(d, ins);
	switch (op) {
	case 0x00: return group6(d, b, ins);
	case 0x01: return group7(d, b, ins);
	case 0x05: ins->fn = emu_h_syscall; return END;
	case 0x06: ins->fn = emu_h_clts; return 0;
	case 0x07: ins->fn = emu_h_sysret; return END;
	case 0x08: case 0x09: ins->fn = emu_h_wbinvd; return 0;
	case 0x0b: return emu_bind_ud(ins);
	case 0x0d: ins->fn = emu_h_nop; return 0;
	case 0x30: ins->fn = emu_h_wrmsr; return END;
	case 0x31: ins->fn = emu_h_rdtsc; return 0;
	case 0x32: ins->fn = emu_h_rdmsr; return 0;
	case 0x34: ins->fn = emu_h_sysenter; return END;
	case 0x35: ins->fn = emu_h_sysexit; return END;
	}
	return emu_bind_unsupported(b, d->len, ins);
}

unsigned emu_bind_map0f(const emu_dec *d, const uint8_t *b, uint64_t rip, emu_insn *ins)
{
	unsigned op = d->opcode, flags;

	if (emu_bind_sse(d, b, ins, &flags))
		return flags;

	if (op < 0x40)
		return row_00_3f(d, b, ins);
	if (op < 0x50) {
		ins->fn = emu_cmovcc_tab[op & 15];
		return 0;
	}
	if (op >= 0x80 && op < 0x90)
		return emu_bind_branch(d, rip, ins, emu_jcc_tab[op & 15]);
	if (op >= 0x90 && op < 0xa0) {
		ins->fn = emu_setcc_tab[op & 15];
		return 0;
	}
	if (op >= 0xa0 && op < 0xd0)
		return row_a0_cf(d, b, ins);
	if (op == 0xff)
		return emu_bind_ud(ins);
	return emu_bind_unsupported(b, d->len, ins);
}
