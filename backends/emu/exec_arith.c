/* exec_arith.c - INC/DEC/NOT/NEG, multiplication and division, shifts and
 * rotates (including through carry and double-precision SHLD/SHRD), and the
 * generic read-modify-write helper with its LOCK (host CAS) path. */
#include "backends/emu/exec.h"
#include "backends/emu/exec_tab.h"

#define CAS_LOOP(T)                                                              \
	do {                                                                     \
		T *q = p, o = __atomic_load_n(q, __ATOMIC_RELAXED);              \
		for (;;) {                                                       \
			T n = (T)op(cpu, ins, o, &cc);                           \
			if (__atomic_compare_exchange_n(q, &o, n, 0, __ATOMIC_SEQ_CST, \
							__ATOMIC_SEQ_CST))        \
				break;                                           \
		}                                                                \
	} while (0)

static int rmw_atomic(emu_cpu *cpu, const emu_insn *ins, unsigned sz, emu_rmw_fn op,
		      void *p)
{
	emu_ccv cc = { 0 };

	switch (sz) {
	case EMU_SZ8: CAS_LOOP(uint8_t); break;
	case EMU_SZ16: CAS_LOOP(uint16_t); break;
	case EMU_SZ32: CAS_LOOP(uint32_t); break;
	default: CAS_LOOP(uint64_t); break;
	}
	emu_ccv_apply(cpu, &cc);
	return EMU_OK;
}

int emu_rmw_at(emu_cpu *cpu, const emu_insn *ins, uint64_t la, unsigned sz, emu_rmw_fn op)
{
	emu_ccv cc = { 0 };
	uint64_t old, nv;
	void *p;
	int rc;

	if (ins->pfx & EMU_PFX_LOCK) {
		rc = emu_mem_rmw_ptr(cpu, la, 1u << sz, &p);
		if (rc)
			return rc;
		if (p)
			return rmw_atomic(cpu, ins, sz, op, p);
	}
	rc = emu_read(cpu, la, sz, &old);
	if (rc)
		return rc;
	nv = op(cpu, ins, old, &cc);
	rc = emu_write(cpu, la, sz, nv);
	if (rc)
		return rc;
	emu_ccv_apply(cpu, &cc);
	return EMU_OK;
}

int emu_rmw(emu_cpu *cpu, const emu_insn *ins, unsigned sz, emu_rmw_fn op)
{
	emu_ccv cc = { 0 };
	uint64_t old, nv;

	if (ins->mem)
		return emu_rmw_at(cpu, ins, emu_ea(cpu, ins), sz, op);
	old = emu_reg_get(cpu, ins->rm, sz);
	nv = op(cpu, ins, old, &cc);
	emu_reg_set(cpu, ins->rm, sz, nv);
	emu_ccv_apply(cpu, &cc);
	return EMU_OK;
}

/* ---- INC DEC NOT NEG ------------------------------------------------------- */

static uint64_t incdec_op(emu_cpu *cpu, const emu_insn *ins, uint64_t old, emu_ccv *cc)
{
	unsigned sz = ins->osz;
	uint64_t r = (ins->op ? old - 1 : old + 1) & emu_sz_mask(sz);

	*cc = (emu_ccv){ EMU_CC(ins->op ? EMU_CC_DEC : EMU_CC_INC, sz), 1, r, old,
			 (uint64_t)emu_cf(cpu) };
	return r;
}

static uint64_t not_op(emu_cpu *cpu, const emu_insn *ins, uint64_t old, emu_ccv *cc)
{
	return ~old & emu_sz_mask(ins->osz);
}

static uint64_t neg_op(emu_cpu *cpu, const emu_insn *ins, uint64_t old, emu_ccv *cc)
{
	uint64_t r = (0 - old) & emu_sz_mask(ins->osz);

	*cc = (emu_ccv){ EMU_CC(EMU_CC_SUB, ins->osz), 1, r, 0, old };
	return r;
}

int emu_h_incdec(emu_cpu *cpu, const emu_insn *ins) { return emu_rmw(cpu, ins, ins->osz, incdec_op); }

/* INC/DEC of a register, specialised by size: CF is kept. */
#define DEF_INCDEC(sz)                                                           \
static int inc_r_##sz(emu_cpu *cpu, const emu_insn *ins)                         \
{                                                                                \
	uint64_t a = emu_reg_get(cpu, ins->rm, sz), r = (a + 1) & emu_sz_mask(sz); \
	uint64_t cf = (uint64_t)emu_cf(cpu);                                     \
	emu_reg_set(cpu, ins->rm, sz, r);                                        \
	emu_cc_set(cpu, EMU_CC(EMU_CC_INC, sz), r, a, cf);                       \
	EMU_CONTINUE(cpu, ins);                                                  \
}                                                                                \
static int dec_r_##sz(emu_cpu *cpu, const emu_insn *ins)                         \
{                                                                                \
	uint64_t a = emu_reg_get(cpu, ins->rm, sz), r = (a - 1) & emu_sz_mask(sz); \
	uint64_t cf = (uint64_t)emu_cf(cpu);                                     \
	emu_reg_set(cpu, ins->rm, sz, r);                                        \
	emu_cc_set(cpu, EMU_CC(EMU_CC_DEC, sz), r, a, cf);                       \
	EMU_CONTINUE(cpu, ins);                                                  \
}
DEF_INCDEC(0) DEF_INCDEC(1) DEF_INCDEC(2) DEF_INCDEC(3)

const emu_fn emu_incdec_tab[2][4] = {
	{ inc_r_0, inc_r_1, inc_r_2, inc_r_3 }, { dec_r_0, dec_r_1, dec_r_2, dec_r_3 }
};
int emu_h_not(emu_cpu *cpu, const emu_insn *ins) { return emu_rmw(cpu, ins, ins->osz, not_op); }
int emu_h_neg(emu_cpu *cpu, const emu_insn *ins) { return emu_rmw(cpu, ins, ins->osz, neg_op); }

/* ---- MUL / IMUL / DIV / IDIV ------------------------------------------------ */

/* Writes the double-width result lo/hi of a one-operand MUL/IMUL/DIV. */
static void set_pair(emu_cpu *cpu, unsigned sz, uint64_t lo, uint64_t hi)
{
	if (sz == EMU_SZ8) {
		emu_reg_set(cpu, R_AX * 8, EMU_SZ16, (lo & 0xff) | ((hi & 0xff) << 8));
		return;
	}
	emu_reg_set(cpu, R_AX * 8, sz, lo);
	emu_reg_set(cpu, R_DX * 8, sz, hi);
}

/* The double-width dividend / multiplicand: AX, DX:AX, EDX:EAX, RDX:RAX. */
static unsigned __int128 get_pair(const emu_cpu *cpu, unsigned sz)
{
	unsigned bits = 8u << sz;

	if (sz == EMU_SZ8)
		return emu_reg_get(cpu, R_AX * 8, EMU_SZ16);
	return ((unsigned __int128)emu_reg_get(cpu, R_DX * 8, sz) << bits) |
	       emu_reg_get(cpu, R_AX * 8, sz);
}

int emu_h_mul1(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned sz = ins->osz, bits = 8u << sz;
	uint64_t src, m = emu_sz_mask(sz), lo, hi;
	unsigned __int128 p;
	int rc = emu_rm_read(cpu, ins, sz, &src);

	if (rc)
		return rc;
	p = (unsigned __int128)emu_reg_get(cpu, R_AX * 8, sz) * src;
	lo = (uint64_t)p & m;
	hi = (uint64_t)(p >> bits) & m;
	set_pair(cpu, sz, lo, hi);
	emu_cc_set(cpu, EMU_CC(EMU_CC_MUL, sz), lo, hi != 0, 0);
	return EMU_OK;
}

int emu_h_imul1(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned sz = ins->osz, bits = 8u << sz;
	uint64_t src, m = emu_sz_mask(sz), lo, hi;
	__int128 p;
	int rc = emu_rm_read(cpu, ins, sz, &src);

	if (rc)
		return rc;
	p = (__int128)(int64_t)emu_sext(emu_reg_get(cpu, R_AX * 8, sz), sz) *
	    (int64_t)emu_sext(src, sz);
	lo = (uint64_t)p & m;
	hi = (uint64_t)((unsigned __int128)p >> bits) & m;
	set_pair(cpu, sz, lo, hi);
	emu_cc_set(cpu, EMU_CC(EMU_CC_MUL, sz), lo, (__int128)(int64_t)emu_sext(lo, sz) != p, 0);
	return EMU_OK;
}

int emu_h_div(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned sz = ins->osz;
	uint64_t src;
	unsigned __int128 n, q;
	int rc = emu_rm_read(cpu, ins, sz, &src);

	if (rc)
		return rc;
	if (src == 0)
		return emu_fault(cpu, X86_EXC_DE, 0, 0);
	n = get_pair(cpu, sz);
	q = n / src;
	if (q > emu_sz_mask(sz))
		return emu_fault(cpu, X86_EXC_DE, 0, 0);
	set_pair(cpu, sz, (uint64_t)q, (uint64_t)(n % src));
	return EMU_OK;
}

int emu_h_idiv(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned sz = ins->osz, bits = 8u << sz;
	uint64_t src;
	__int128 n, q, r, d;
	unsigned __int128 un;
	int rc = emu_rm_read(cpu, ins, sz, &src);

	if (rc)
		return rc;
	if (src == 0)
		return emu_fault(cpu, X86_EXC_DE, 0, 0);
	un = get_pair(cpu, sz) << (128 - 2 * bits);
	n = (__int128)un >> (128 - 2 * bits);            /* sign-extend 2*bits */
	d = (int64_t)emu_sext(src, sz);
	if (d == -1) {
		if ((unsigned __int128)n == (unsigned __int128)1 << 127)
			return emu_fault(cpu, X86_EXC_DE, 0, 0);
		q = -n;
		r = 0;
	} else {
		q = n / d;
		r = n % d;
	}
	if (q > (__int128)(emu_sz_mask(sz) >> 1) || q < -(__int128)(emu_sz_mask(sz) >> 1) - 1)
		return emu_fault(cpu, X86_EXC_DE, 0, 0);
	set_pair(cpu, sz, (uint64_t)q & emu_sz_mask(sz), (uint64_t)r & emu_sz_mask(sz));
	return EMU_OK;
}

static int imul_common(emu_cpu *cpu, const emu_insn *ins, uint64_t a, uint64_t b)
{
	unsigned sz = ins->osz;
	__int128 p = (__int128)(int64_t)emu_sext(a, sz) * (int64_t)emu_sext(b, sz);
	uint64_t lo = (uint64_t)p & emu_sz_mask(sz);

	emu_reg_set(cpu, ins->reg, sz, lo);
	emu_cc_set(cpu, EMU_CC(EMU_CC_MUL, sz), lo, (__int128)(int64_t)emu_sext(lo, sz) != p, 0);
	return EMU_OK;
}

int emu_h_imul2(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t src;
	int rc = emu_rm_read(cpu, ins, ins->osz, &src);

	if (rc)
		return rc;
	return imul_common(cpu, ins, emu_reg_get(cpu, ins->reg, ins->osz), src);
}

int emu_h_imul3(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t src;
	int rc = emu_rm_read(cpu, ins, ins->osz, &src);

	if (rc)
		return rc;
	return imul_common(cpu, ins, src, ins->imm);
}

/* ---- Shifts and rotates ---------------------------------------------------- */

static unsigned shift_count(const emu_cpu *cpu, const emu_insn *ins)
{
	unsigned c = ins->aux == 1 ? (unsigned)cpu->r[R_CX] & 0xff :
		     ins->aux == 2 ? (unsigned)ins->imm & 0xff : 1;

	return c & (ins->osz == EMU_SZ64 ? 63 : 31);
}

static uint64_t rotate(emu_cpu *cpu, const emu_insn *ins, uint64_t old, unsigned cnt,
		       emu_ccv *cc)
{
	unsigned sz = ins->osz, bits = 8u << sz, c = cnt & (bits - 1);
	uint64_t m = emu_sz_mask(sz), r = old, cf, of;

	if (ins->op == 0) {
		if (c)
			r = ((old << c) | (old >> (bits - c))) & m;
		cf = r & 1;
		of = ((r >> (bits - 1)) & 1) ^ cf;
	} else {
		if (c)
			r = ((old >> c) | (old << (bits - c))) & m;
		cf = (r >> (bits - 1)) & 1;
		of = cf ^ ((r >> (bits - 2)) & 1);
	}
	emu_ccv_rflags(cpu, cc, X86_FL_CF | X86_FL_OF,
		       (cf ? X86_FL_CF : 0) | (of ? X86_FL_OF : 0));
	return r;
}

static uint64_t rotate_carry(emu_cpu *cpu, const emu_insn *ins, uint64_t old,
			     unsigned cnt, emu_ccv *cc)
{
	unsigned sz = ins->osz, bits = 8u << sz, c = sz < EMU_SZ32 ? cnt % (bits + 1) : cnt;
	unsigned __int128 wide = ((unsigned __int128)1 << (bits + 1)) - 1;
	unsigned __int128 v = ((unsigned __int128)emu_get_cf(cpu) << bits) | old;
	uint64_t r, cf, of;

	if (c == 0)
		return old;
	if (ins->op == 2)
		v = ((v << c) | (v >> (bits + 1 - c))) & wide;
	else
		v = ((v >> c) | (v << (bits + 1 - c))) & wide;
	r = (uint64_t)v & emu_sz_mask(sz);
	cf = (uint64_t)(v >> bits) & 1;
	if (ins->op == 2)
		of = ((r >> (bits - 1)) & 1) ^ cf;
	else
		of = ((r >> (bits - 1)) ^ (r >> (bits - 2))) & 1;
	emu_ccv_rflags(cpu, cc, X86_FL_CF | X86_FL_OF,
		       (cf ? X86_FL_CF : 0) | (of ? X86_FL_OF : 0));
	return r;
}

static uint64_t shift_op(emu_cpu *cpu, const emu_insn *ins, uint64_t old, emu_ccv *cc)
{
	unsigned sz = ins->osz, cnt = shift_count(cpu, ins);
	uint64_t m = emu_sz_mask(sz), r;
	uint32_t kind;

	if (cnt == 0)
		return old;
	switch (ins->op) {
	case 0: case 1: return rotate(cpu, ins, old, cnt, cc);
	case 2: case 3: return rotate_carry(cpu, ins, old, cnt, cc);
	case 5: r = old >> cnt; kind = EMU_CC_SHR; break;
	case 7: r = (uint64_t)((int64_t)emu_sext(old, sz) >> cnt) & m; kind = EMU_CC_SAR; break;
	default: r = (old << cnt) & m; kind = EMU_CC_SHL; break;
	}
	*cc = (emu_ccv){ EMU_CC(kind, sz), 1, r, old, cnt };
	return r;
}

int emu_h_shift(emu_cpu *cpu, const emu_insn *ins)
{
	return emu_rmw(cpu, ins, ins->osz, shift_op);
}

/* 16-bit SHLD/SHRD with counts above 16 shift through a 48-bit pattern of
 * dst:src:dst, as real CPUs do for these undefined cases. */
static uint64_t shld_op(emu_cpu *cpu, const emu_insn *ins, uint64_t old, emu_ccv *cc)
{
	unsigned sz = ins->osz, bits = 8u << sz, cnt = shift_count(cpu, ins);
	uint64_t src = emu_reg_get(cpu, ins->reg, sz), r;

	if (cnt == 0)
		return old;
	if (sz == EMU_SZ16)
		r = ((((old << 32) | (src << 16) | old) << cnt) >> 32) & 0xffff;
	else
		r = ((old << cnt) | (src >> (bits - cnt))) & emu_sz_mask(sz);
	*cc = (emu_ccv){ EMU_CC(EMU_CC_SHL, sz), 1, r, old, cnt };
	return r;
}

static uint64_t shrd_op(emu_cpu *cpu, const emu_insn *ins, uint64_t old, emu_ccv *cc)
{
	unsigned sz = ins->osz, bits = 8u << sz, cnt = shift_count(cpu, ins);
	uint64_t src = emu_reg_get(cpu, ins->reg, sz), r;

	if (cnt == 0)
		return old;
	if (sz == EMU_SZ16)
		r = ((old | (src << 16) | (old << 32)) >> cnt) & 0xffff;
	else
		r = ((old >> cnt) | (src << (bits - cnt))) & emu_sz_mask(sz);
	*cc = (emu_ccv){ EMU_CC(EMU_CC_SHR, sz), 1, r, old, cnt };
	return r;
}

int emu_h_shld(emu_cpu *cpu, const emu_insn *ins) { return emu_rmw(cpu, ins, ins->osz, shld_op); }
int emu_h_shrd(emu_cpu *cpu, const emu_insn *ins) { return emu_rmw(cpu, ins, ins->osz, shrd_op); }
