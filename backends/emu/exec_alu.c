/* exec_alu.c - the eight ALU operations (ADD OR ADC SBB AND SUB XOR CMP),
 * TEST, MOV and MOVZX/MOVSX, as handlers specialised per operation, operand size and
 * form (reg-reg, reg-mem, mem-reg, reg-imm, mem-imm): these are the bulk of
 * compiled integer code, so they avoid every run-time switch. */
#include "backends/emu/exec.h"
#include "backends/emu/exec_tab.h"

enum { ADD, OR, ADC, SBB, AND, SUB, XOR, CMP, TEST };

/* Computes op; stores the flag update in *cc (applied after the write). */
static inline __attribute__((always_inline)) uint64_t
alu(emu_cpu *cpu, unsigned op, unsigned sz, uint64_t a, uint64_t b, emu_ccv *cc)
{
	uint64_t m = emu_sz_mask(sz), r, c;

	cc->set = 1;
	cc->a = a;
	cc->b = b;
	switch (op) {
	case ADD: r = (a + b) & m; cc->op = EMU_CC(EMU_CC_ADD, sz); break;
	case ADC:
		c = (uint64_t)emu_cf(cpu);
		r = (a + b + c) & m;
		cc->op = EMU_CC(c ? EMU_CC_ADC : EMU_CC_ADD, sz);
		break;
	case SBB:
		c = (uint64_t)emu_cf(cpu);
		r = (a - b - c) & m;
		cc->op = EMU_CC(c ? EMU_CC_SBB : EMU_CC_SUB, sz);
		break;
	case SUB: case CMP: r = (a - b) & m; cc->op = EMU_CC(EMU_CC_SUB, sz); break;
	case OR: r = a | b; cc->op = EMU_CC(EMU_CC_LOGIC, sz); break;
	case XOR: r = a ^ b; cc->op = EMU_CC(EMU_CC_LOGIC, sz); break;
	default: r = a & b; cc->op = EMU_CC(EMU_CC_LOGIC, sz); break;
	}
	cc->res = r;
	return r;
}

static inline __attribute__((always_inline)) void
cc_commit(emu_cpu *cpu, const emu_ccv *cc)
{
	emu_cc_set(cpu, cc->op, cc->res, cc->a, cc->b);
}

#define WRITES(op) ((op) != CMP && (op) != TEST)

#define DEF_ALU(op, sz)                                                          \
static int alu_rr_##op##_##sz(emu_cpu *cpu, const emu_insn *ins)                 \
{                                                                                \
	emu_ccv cc;                                                              \
	uint64_t r = alu(cpu, op, sz, emu_reg_get(cpu, ins->rm, sz),             \
			 emu_reg_get(cpu, ins->reg, sz), &cc);                   \
	if (WRITES(op))                                                          \
		emu_reg_set(cpu, ins->rm, sz, r);                                \
	cc_commit(cpu, &cc);                                                     \
	EMU_CONTINUE(cpu, ins);                                                  \
}                                                                                \
static int alu_ri_##op##_##sz(emu_cpu *cpu, const emu_insn *ins)                 \
{                                                                                \
	emu_ccv cc;                                                              \
	uint64_t r = alu(cpu, op, sz, emu_reg_get(cpu, ins->rm, sz),             \
			 ins->imm & emu_sz_mask(sz), &cc);                       \
	if (WRITES(op))                                                          \
		emu_reg_set(cpu, ins->rm, sz, r);                                \
	cc_commit(cpu, &cc);                                                     \
	EMU_CONTINUE(cpu, ins);                                                  \
}                                                                                \
static int alu_rm_##op##_##sz(emu_cpu *cpu, const emu_insn *ins)                 \
{                                                                                \
	emu_ccv cc;                                                              \
	uint64_t v, r;                                                           \
	int rc = emu_read(cpu, emu_ea(cpu, ins), sz, &v);                        \
	if (rc)                                                                  \
		return rc;                                                       \
	r = alu(cpu, op, sz, emu_reg_get(cpu, ins->reg, sz), v, &cc);            \
	if (WRITES(op))                                                          \
		emu_reg_set(cpu, ins->reg, sz, r);                               \
	cc_commit(cpu, &cc);                                                     \
	EMU_CONTINUE(cpu, ins);                                                  \
}                                                                                \
static int alu_mr_##op##_##sz(emu_cpu *cpu, const emu_insn *ins)                 \
{                                                                                \
	emu_ccv cc;                                                              \
	uint64_t la = emu_ea(cpu, ins), v, r;                                    \
	int rc = emu_read(cpu, la, sz, &v);                                      \
	if (rc)                                                                  \
		return rc;                                                       \
	r = alu(cpu, op, sz, v, emu_reg_get(cpu, ins->reg, sz), &cc);            \
	if (WRITES(op) && (rc = emu_write(cpu, la, sz, r)))                      \
		return rc;                                                       \
	cc_commit(cpu, &cc);                                                     \
	EMU_CONTINUE(cpu, ins);                                                  \
}                                                                                \
static int alu_mi_##op##_##sz(emu_cpu *cpu, const emu_insn *ins)                 \
{                                                                                \
	emu_ccv cc;                                                              \
	uint64_t la = emu_ea(cpu, ins), v, r;                                    \
	int rc = emu_read(cpu, la, sz, &v);                                      \
	if (rc)                                                                  \
		return rc;                                                       \
	r = alu(cpu, op, sz, v, ins->imm & emu_sz_mask(sz), &cc);                \
	if (WRITES(op) && (rc = emu_write(cpu, la, sz, r)))                      \
		return rc;                                                       \
	cc_commit(cpu, &cc);                                                     \
	EMU_CONTINUE(cpu, ins);                                                  \
}

#define DEF_ALU_SIZES(op) DEF_ALU(op, 0) DEF_ALU(op, 1) DEF_ALU(op, 2) DEF_ALU(op, 3)
DEF_ALU_SIZES(ADD) DEF_ALU_SIZES(OR) DEF_ALU_SIZES(ADC) DEF_ALU_SIZES(SBB)
DEF_ALU_SIZES(AND) DEF_ALU_SIZES(SUB) DEF_ALU_SIZES(XOR) DEF_ALU_SIZES(CMP)
DEF_ALU_SIZES(TEST)

#define ROW(op, form) { alu_##form##_##op##_0, alu_##form##_##op##_1, \
			alu_##form##_##op##_2, alu_##form##_##op##_3 }
#define FORMS(op) { ROW(op, rr), ROW(op, rm), ROW(op, mr), ROW(op, ri), ROW(op, mi) }

const emu_fn emu_alu_tab[9][EMU_FORMS][4] = {
	FORMS(ADD), FORMS(OR), FORMS(ADC), FORMS(SBB), FORMS(AND),
	FORMS(SUB), FORMS(XOR), FORMS(CMP), FORMS(TEST)
};

/* The register forms again without the flag update, for instructions whose
 * flags a later one overwrites before anything can read them (live.c). */
static inline __attribute__((always_inline)) uint64_t
alu_nf(emu_cpu *cpu, unsigned op, unsigned sz, uint64_t a, uint64_t b)
{
	switch (op) {
	case ADD: return (a + b) & emu_sz_mask(sz);
	case ADC: return (a + b + (uint64_t)emu_cf(cpu)) & emu_sz_mask(sz);
	case SBB: return (a - b - (uint64_t)emu_cf(cpu)) & emu_sz_mask(sz);
	case SUB: return (a - b) & emu_sz_mask(sz);
	case OR: return a | b;
	case XOR: return a ^ b;
	default: return a & b;
	}
}

#define DEF_ALU_NF(op, sz)                                                       \
static int alu_rr_nf_##op##_##sz(emu_cpu *cpu, const emu_insn *ins)              \
{                                                                                \
	if (WRITES(op))                                                          \
		emu_reg_set(cpu, ins->rm, sz,                                    \
			    alu_nf(cpu, op, sz, emu_reg_get(cpu, ins->rm, sz),   \
				   emu_reg_get(cpu, ins->reg, sz)));             \
	EMU_CONTINUE(cpu, ins);                                                  \
}                                                                                \
static int alu_ri_nf_##op##_##sz(emu_cpu *cpu, const emu_insn *ins)              \
{                                                                                \
	if (WRITES(op))                                                          \
		emu_reg_set(cpu, ins->rm, sz,                                    \
			    alu_nf(cpu, op, sz, emu_reg_get(cpu, ins->rm, sz),   \
				   ins->imm & emu_sz_mask(sz)));                 \
	EMU_CONTINUE(cpu, ins);                                                  \
}
#define DEF_ALU_NF_SIZES(op) DEF_ALU_NF(op, 0) DEF_ALU_NF(op, 1) DEF_ALU_NF(op, 2) \
			     DEF_ALU_NF(op, 3)
DEF_ALU_NF_SIZES(ADD) DEF_ALU_NF_SIZES(OR) DEF_ALU_NF_SIZES(ADC) DEF_ALU_NF_SIZES(SBB)
DEF_ALU_NF_SIZES(AND) DEF_ALU_NF_SIZES(SUB) DEF_ALU_NF_SIZES(XOR) DEF_ALU_NF_SIZES(CMP)
DEF_ALU_NF_SIZES(TEST)

#define NROW(op, form) { alu_##form##_nf_##op##_0, alu_##form##_nf_##op##_1, \
			 alu_##form##_nf_##op##_2, alu_##form##_nf_##op##_3 }
#define NFORMS(op) { NROW(op, rr), NROW(op, ri) }

const emu_fn emu_alu_nf_tab[9][2][4] = {
	NFORMS(ADD), NFORMS(OR), NFORMS(ADC), NFORMS(SBB), NFORMS(AND),
	NFORMS(SUB), NFORMS(XOR), NFORMS(CMP), NFORMS(TEST)
};

/* LOCK ADD/OR/ADC/SBB/AND/SUB/XOR to memory: compare-and-swap loop. */
static uint64_t alu_rmw_op(emu_cpu *cpu, const emu_insn *ins, uint64_t old, emu_ccv *cc)
{
	uint64_t src = ins->aux ? ins->imm : emu_reg_get(cpu, ins->reg, ins->osz);

	return alu(cpu, ins->op, ins->osz, old, src & emu_sz_mask(ins->osz), cc);
}

int emu_h_alu_lock(emu_cpu *cpu, const emu_insn *ins)
{
	return emu_rmw(cpu, ins, ins->osz, alu_rmw_op);
}

/* ---- MOV ------------------------------------------------------------------- */

#define DEF_MOV(sz)                                                              \
static int mov_rr_##sz(emu_cpu *cpu, const emu_insn *ins)                        \
{                                                                                \
	emu_reg_set(cpu, ins->rm, sz, emu_reg_get(cpu, ins->reg, sz));           \
	EMU_CONTINUE(cpu, ins);                                                  \
}                                                                                \
static __attribute__((noinline)) int mov_rm_slow_##sz(emu_cpu *cpu, const emu_insn *ins) \
{                                                                                \
	uint64_t v;                                                              \
	int rc = emu_read(cpu, emu_ea(cpu, ins), sz, &v);                        \
	if (rc)                                                                  \
		return rc;                                                       \
	emu_reg_set(cpu, ins->reg, sz, v);                                       \
	EMU_CONTINUE(cpu, ins);                                                  \
}                                                                                \
static int mov_rm_##sz(emu_cpu *cpu, const emu_insn *ins)                        \
{                                                                                \
	const uint8_t *p = emu_tlb_rptr(cpu, emu_ea(cpu, ins), 1u << sz);        \
	if (EMU_UNLIKELY(!p))                                                    \
		return mov_rm_slow_##sz(cpu, ins);                               \
	emu_reg_set(cpu, ins->reg, sz, emu_load_sz(p, sz));                      \
	EMU_CONTINUE(cpu, ins);                                                  \
}                                                                                \
static __attribute__((noinline)) int mov_mr_slow_##sz(emu_cpu *cpu, const emu_insn *ins) \
{                                                                                \
	int rc = emu_write(cpu, emu_ea(cpu, ins), sz, emu_reg_get(cpu, ins->reg, sz)); \
	if (rc)                                                                  \
		return rc;                                                       \
	EMU_CONTINUE(cpu, ins);                                                  \
}                                                                                \
static int mov_mr_##sz(emu_cpu *cpu, const emu_insn *ins)                        \
{                                                                                \
	uint8_t *p = emu_tlb_wptr(cpu, emu_ea(cpu, ins), 1u << sz);              \
	if (EMU_UNLIKELY(!p))                                                    \
		return mov_mr_slow_##sz(cpu, ins);                               \
	emu_store_sz(p, sz, emu_reg_get(cpu, ins->reg, sz));                     \
	EMU_CONTINUE(cpu, ins);                                                  \
}                                                                                \
static int mov_ri_##sz(emu_cpu *cpu, const emu_insn *ins)                        \
{                                                                                \
	emu_reg_set(cpu, ins->rm, sz, ins->imm);                                 \
	EMU_CONTINUE(cpu, ins);                                                  \
}                                                                                \
static int mov_mi_##sz(emu_cpu *cpu, const emu_insn *ins)                        \
{                                                                                \
	int rc = emu_write(cpu, emu_ea(cpu, ins), sz, ins->imm & emu_sz_mask(sz)); \
	if (rc)                                                                  \
		return rc;                                                       \
	EMU_CONTINUE(cpu, ins);                                                  \
}

DEF_MOV(0) DEF_MOV(1) DEF_MOV(2) DEF_MOV(3)

#define MROW(form) { mov_##form##_0, mov_##form##_1, mov_##form##_2, mov_##form##_3 }
const emu_fn emu_mov_tab[EMU_FORMS][4] = {
	MROW(rr), MROW(rm), MROW(mr), MROW(ri), MROW(mi)
};

/* ---- MOVZX / MOVSX ----------------------------------------------------------- */

/* Specialised per extension, source form and size, destination size (16,
 * 32, 64); the generic emu_h_movzx/movsx (exec_bit.c) stay for the rest. */
#define MOVX_EXT(sx, v, ssz) ((sx) ? emu_sext((v), (ssz)) : (v))
#define DEF_MOVX(nm, sx, ssz, dsz)                                               \
static int nm##_r_##ssz##_##dsz(emu_cpu *cpu, const emu_insn *ins)               \
{                                                                                \
	uint64_t v = emu_reg_get(cpu, ins->rm, ssz);                             \
	emu_reg_set(cpu, ins->reg, dsz, MOVX_EXT(sx, v, ssz));                   \
	EMU_CONTINUE(cpu, ins);                                                  \
}                                                                                \
static __attribute__((noinline)) int nm##_ms_##ssz##_##dsz(emu_cpu *cpu,           \
							    const emu_insn *ins) \
{                                                                                \
	uint64_t v;                                                              \
	int rc = emu_read(cpu, emu_ea(cpu, ins), ssz, &v);                       \
	if (rc)                                                                  \
		return rc;                                                       \
	emu_reg_set(cpu, ins->reg, dsz, MOVX_EXT(sx, v, ssz));                   \
	EMU_CONTINUE(cpu, ins);                                                  \
}                                                                                \
static int nm##_m_##ssz##_##dsz(emu_cpu *cpu, const emu_insn *ins)               \
{                                                                                \
	const uint8_t *p = emu_tlb_rptr(cpu, emu_ea(cpu, ins), 1u << ssz);       \
	if (EMU_UNLIKELY(!p))                                                    \
		return nm##_ms_##ssz##_##dsz(cpu, ins);                          \
	emu_reg_set(cpu, ins->reg, dsz, MOVX_EXT(sx, emu_load_sz(p, ssz), ssz)); \
	EMU_CONTINUE(cpu, ins);                                                  \
}
#define DEF_MOVX_ALL(nm, sx)                                                     \
	DEF_MOVX(nm, sx, 0, 1) DEF_MOVX(nm, sx, 0, 2) DEF_MOVX(nm, sx, 0, 3)     \
	DEF_MOVX(nm, sx, 1, 1) DEF_MOVX(nm, sx, 1, 2) DEF_MOVX(nm, sx, 1, 3)
DEF_MOVX_ALL(movzx, 0)
DEF_MOVX_ALL(movsx, 1)

#define XROW(nm, f, ssz) { NULL, nm##_##f##_##ssz##_1, nm##_##f##_##ssz##_2, nm##_##f##_##ssz##_3 }
#define XTAB(nm) { { XROW(nm, r, 0), XROW(nm, r, 1) }, { XROW(nm, m, 0), XROW(nm, m, 1) } }
const emu_fn emu_movx_tab[2][2][2][4] = { XTAB(movzx), XTAB(movsx) };

/* LEA: the offset, truncated to the operand size. */
int emu_h_lea(emu_cpu *cpu, const emu_insn *ins)
{
	emu_reg_set(cpu, ins->reg, ins->osz, emu_ea_off(cpu, ins));
	EMU_CONTINUE(cpu, ins);
}

int emu_h_lea64(emu_cpu *cpu, const emu_insn *ins)
{
	cpu->r[ins->reg >> 3] = cpu->r[ins->base] + (cpu->r[ins->index] << ins->scale) +
				(uint64_t)ins->disp;
	EMU_CONTINUE(cpu, ins);
}
