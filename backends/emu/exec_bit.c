/* exec_bit.c - bit tests and scans, byte swaps, extensions, exchanges and
 * compare-exchanges (atomic on guest RAM), flag-register moves, SETcc and
 * CMOVcc. */
#include "backends/emu/exec.h"
#include "backends/emu/exec_tab.h"

/* ---- BT BTS BTR BTC ---------------------------------------------------------- */

static unsigned bit_index(const emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t off = ins->aux ? ins->imm : emu_reg_get(cpu, ins->reg, ins->osz);

	return (unsigned)off & ((8u << ins->osz) - 1);
}

static uint64_t bt_op(emu_cpu *cpu, const emu_insn *ins, uint64_t old, emu_ccv *cc)
{
	unsigned bit = bit_index(cpu, ins);
	uint64_t mask = 1ull << bit;

	emu_ccv_rflags(cpu, cc, X86_FL_CF, (old & mask) ? X86_FL_CF : 0);
	switch (ins->op) {
	case 1: return old | mask;
	case 2: return old & ~mask;
	case 3: return old ^ mask;
	}
	return old;
}

int emu_h_bt(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned sz = ins->osz;
	uint64_t off, la, v;
	emu_ccv cc;
	int rc;

	if (!ins->mem || ins->aux) {
		if (ins->op == 0) {    /* BT: no write */
			rc = emu_rm_read(cpu, ins, sz, &v);
			if (rc)
				return rc;
			bt_op(cpu, ins, v, &cc);
			emu_ccv_apply(cpu, &cc);
			return EMU_OK;
		}
		return emu_rmw(cpu, ins, sz, bt_op);
	}
	/* Register bit offset into memory: a signed offset that may address
	 * far beyond the operand. */
	off = emu_sext(emu_reg_get(cpu, ins->reg, sz), sz);
	la = emu_ea_off(cpu, ins) + ((uint64_t)((int64_t)off >> (3 + sz)) << sz);
	if (ins->asz != EMU_SZ64)
		la &= emu_sz_mask(ins->asz);
	la = (la + cpu->segbase[ins->seg]) & cpu->linmask;
	if (ins->op == 0) {
		rc = emu_read(cpu, la, sz, &v);
		if (rc)
			return rc;
		bt_op(cpu, ins, v, &cc);
		emu_ccv_apply(cpu, &cc);
		return EMU_OK;
	}
	return emu_rmw_at(cpu, ins, la, sz, bt_op);
}

/* ---- Bit scans and counts ---------------------------------------------------- */

static void set_arith(emu_cpu *cpu, uint64_t clear, uint64_t set)
{
	emu_set_rflags(cpu, (emu_get_rflags(cpu) & ~clear) | set);
}

int emu_h_bsf(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t v;
	int rc = emu_rm_read(cpu, ins, ins->osz, &v);

	if (rc)
		return rc;
	if (v == 0) {
		set_arith(cpu, X86_FL_ZF, X86_FL_ZF);
		return EMU_OK;
	}
	emu_reg_set(cpu, ins->reg, ins->osz, (uint64_t)__builtin_ctzll(v));
	set_arith(cpu, X86_FL_ZF, 0);
	EMU_CONTINUE(cpu, ins);
}

int emu_h_bsr(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t v;
	int rc = emu_rm_read(cpu, ins, ins->osz, &v);

	if (rc)
		return rc;
	if (v == 0) {
		set_arith(cpu, X86_FL_ZF, X86_FL_ZF);
		return EMU_OK;
	}
	emu_reg_set(cpu, ins->reg, ins->osz, 63 - (uint64_t)__builtin_clzll(v));
	set_arith(cpu, X86_FL_ZF, 0);
	EMU_CONTINUE(cpu, ins);
}

static void count_result(emu_cpu *cpu, const emu_insn *ins, uint64_t src, uint64_t r)
{
	emu_reg_set(cpu, ins->reg, ins->osz, r);
	set_arith(cpu, X86_FL_CF | X86_FL_ZF, (src == 0 ? X86_FL_CF : 0) |
		  (r == 0 ? X86_FL_ZF : 0));
}

int emu_h_tzcnt(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t v;
	int rc = emu_rm_read(cpu, ins, ins->osz, &v);

	if (rc)
		return rc;
	count_result(cpu, ins, v, v ? (uint64_t)__builtin_ctzll(v) : 8u << ins->osz);
	EMU_CONTINUE(cpu, ins);
}

int emu_h_lzcnt(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned bits = 8u << ins->osz;
	uint64_t v;
	int rc = emu_rm_read(cpu, ins, ins->osz, &v);

	if (rc)
		return rc;
	count_result(cpu, ins, v, v ? (uint64_t)__builtin_clzll(v) - (64 - bits) : bits);
	EMU_CONTINUE(cpu, ins);
}

int emu_h_popcnt(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t v;
	int rc = emu_rm_read(cpu, ins, ins->osz, &v);

	if (rc)
		return rc;
	emu_reg_set(cpu, ins->reg, ins->osz, (uint64_t)__builtin_popcountll(v));
	set_arith(cpu, X86_FL_ARITH, v == 0 ? X86_FL_ZF : 0);
	EMU_CONTINUE(cpu, ins);
}

int emu_h_bswap(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t v = cpu->r[ins->rm >> 3];

	switch (ins->osz) {
	case EMU_SZ64: cpu->r[ins->rm >> 3] = __builtin_bswap64(v); break;
	case EMU_SZ32: cpu->r[ins->rm >> 3] = __builtin_bswap32((uint32_t)v); break;
	default: emu_reg_set(cpu, ins->rm, EMU_SZ16, 0); break;  /* undefined: 0 */
	}
	EMU_CONTINUE(cpu, ins);
}

/* ---- Extensions ---------------------------------------------------------------- */

int emu_h_movzx(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t v;
	int rc = emu_rm_read(cpu, ins, ins->aux, &v);

	if (rc)
		return rc;
	emu_reg_set(cpu, ins->reg, ins->osz, v);
	EMU_CONTINUE(cpu, ins);
}

int emu_h_movsx(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t v;
	int rc = emu_rm_read(cpu, ins, ins->aux, &v);

	if (rc)
		return rc;
	emu_reg_set(cpu, ins->reg, ins->osz, emu_sext(v, ins->aux));
	EMU_CONTINUE(cpu, ins);
}

int emu_h_movsxd(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t v;
	int rc = emu_rm_read(cpu, ins, ins->osz == EMU_SZ16 ? EMU_SZ16 : EMU_SZ32, &v);

	if (rc)
		return rc;
	emu_reg_set(cpu, ins->reg, ins->osz, emu_sext(v, EMU_SZ32));
	EMU_CONTINUE(cpu, ins);
}

/* MOVSXD r64, r32: what compiled code uses to widen an int index. */
int emu_h_movsxd_r64(emu_cpu *cpu, const emu_insn *ins)
{
	cpu->r[ins->reg >> 3] = emu_sext((uint32_t)cpu->r[ins->rm >> 3], EMU_SZ32);
	EMU_CONTINUE(cpu, ins);
}

int emu_h_cbw(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned sz = ins->osz;

	emu_reg_set(cpu, R_AX * 8, sz, emu_sext(emu_reg_get(cpu, R_AX * 8, sz - 1), sz - 1));
	EMU_CONTINUE(cpu, ins);
}

int emu_h_cwd(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned sz = ins->osz;
	uint64_t sign = (emu_reg_get(cpu, R_AX * 8, sz) >> ((8u << sz) - 1)) & 1;

	emu_reg_set(cpu, R_DX * 8, sz, sign ? ~0ull : 0);
	EMU_CONTINUE(cpu, ins);
}
