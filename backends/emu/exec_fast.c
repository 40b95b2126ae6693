/* exec_fast.c - register forms of the shift, multiply and stack
 * instructions that compiled kernels run in their inner loops (the
 * multi-precision arithmetic of signature checks, hashing, checksums),
 * specialised per operation and operand size like exec_alu.c's, so they
 * skip the generic read-modify-write path (exec_arith.c) and continue to
 * the next instruction directly. The generic handlers keep the memory,
 * LOCK and rotate forms. */
#include "backends/emu/exec.h"
#include "backends/emu/exec_tab.h"

enum { SHL, SHR, SAR };

/* The count as exec_arith.c's shift_count: 1, CL or imm8 (ins->aux 0, 1,
 * 2), masked to 5 bits (6 for 64-bit operands). */
static inline __attribute__((always_inline)) unsigned
count_of(const emu_cpu *cpu, const emu_insn *ins, unsigned sz)
{
	unsigned c = ins->aux == 1 ? (unsigned)cpu->r[R_CX] : ins->aux == 2 ? (unsigned)ins->imm : 1;

	return c & (sz == EMU_SZ64 ? 63 : 31);
}

#define DEF_SHIFT(kind, sz)                                                      \
static int shift_r_##kind##_##sz(emu_cpu *cpu, const emu_insn *ins)              \
{                                                                                \
	unsigned cnt = count_of(cpu, ins, sz);                                   \
	uint64_t old = emu_reg_get(cpu, ins->rm, sz), r;                         \
	if (cnt) {      /* a zero count changes neither the operand nor flags */ \
		if (kind == SHL)                                                 \
			r = (old << cnt) & emu_sz_mask(sz);                      \
		else if (kind == SHR)                                            \
			r = old >> cnt;                                          \
		else                                                             \
			r = (uint64_t)((int64_t)emu_sext(old, sz) >> cnt) &     \
			    emu_sz_mask(sz);                                     \
		emu_reg_set(cpu, ins->rm, sz, r);                                \
		emu_cc_set(cpu, EMU_CC(kind == SHL ? EMU_CC_SHL : kind == SHR ?  \
				       EMU_CC_SHR : EMU_CC_SAR, sz), r, old, cnt); \
	} else if (sz == EMU_SZ32) {                                             \
		emu_reg_set(cpu, ins->rm, sz, old);   /* still zero-extends */   \
	}                                                                        \
	EMU_CONTINUE(cpu, ins);                                                  \
}
/* ... and without the flag update (live.c: flags a later instruction
 * overwrites before anything can read them). */
#define DEF_SHIFT_NF(kind, sz)                                                   \
static int shift_r_nf_##kind##_##sz(emu_cpu *cpu, const emu_insn *ins)           \
{                                                                                \
	unsigned cnt = count_of(cpu, ins, sz);                                   \
	uint64_t old = emu_reg_get(cpu, ins->rm, sz), r = old;                   \
	if (kind == SHL)                                                         \
		r = (old << cnt) & emu_sz_mask(sz);                              \
	else if (kind == SHR)                                                    \
		r = old >> cnt;                                                  \
	else                                                                     \
		r = (uint64_t)((int64_t)emu_sext(old, sz) >> cnt) & emu_sz_mask(sz); \
	if (cnt || sz == EMU_SZ32)                                               \
		emu_reg_set(cpu, ins->rm, sz, r);                                \
	EMU_CONTINUE(cpu, ins);                                                  \
}
#define DEF_SHIFT_SIZES(kind) DEF_SHIFT(kind, 0) DEF_SHIFT(kind, 1) DEF_SHIFT(kind, 2) \
			      DEF_SHIFT(kind, 3) DEF_SHIFT_NF(kind, 0) DEF_SHIFT_NF(kind, 1) \
			      DEF_SHIFT_NF(kind, 2) DEF_SHIFT_NF(kind, 3)
DEF_SHIFT_SIZES(SHL) DEF_SHIFT_SIZES(SHR) DEF_SHIFT_SIZES(SAR)

#define SROW(kind) { shift_r_##kind##_0, shift_r_##kind##_1, shift_r_##kind##_2, \
		     shift_r_##kind##_3 }
#define SNROW(kind) { shift_r_nf_##kind##_0, shift_r_nf_##kind##_1, shift_r_nf_##kind##_2, \
		      shift_r_nf_##kind##_3 }
static const emu_fn shift_tab[3][4] = { SROW(SHL), SROW(SHR), SROW(SAR) };
const emu_fn emu_shift_nf_tab[2][3][4] = {
	{ SROW(SHL), SROW(SHR), SROW(SAR) }, { SNROW(SHL), SNROW(SHR), SNROW(SAR) }
};

/* ModRM.reg of C0/C1/D0-D3: 4 SHL, 5 SHR, 6 SAL (= SHL), 7 SAR; NULL for
 * the rotates and memory operands (the generic handler). */
emu_fn emu_fast_shift(unsigned op, unsigned sz, int mem)
{
	if (mem || op < 4)
		return NULL;
	return shift_tab[op == 5 ? SHR : op == 7 ? SAR : SHL][sz];
}

/* ---- IMUL r, r/m and IMUL r, r/m, imm ---------------------------------------- */

static inline __attribute__((always_inline)) void
imul_to(emu_cpu *cpu, const emu_insn *ins, unsigned sz, uint64_t a, uint64_t b)
{
	__int128 p = (__int128)(int64_t)emu_sext(a, sz) * (int64_t)emu_sext(b, sz);
	uint64_t lo = (uint64_t)p & emu_sz_mask(sz);

	emu_reg_set(cpu, ins->reg, sz, lo);
	emu_cc_set(cpu, EMU_CC(EMU_CC_MUL, sz), lo,
		   (__int128)(int64_t)emu_sext(lo, sz) != p, 0);
}

#define DEF_IMUL(sz)                                                             \
static int imul2_r_##sz(emu_cpu *cpu, const emu_insn *ins)                       \
{                                                                                \
	imul_to(cpu, ins, sz, emu_reg_get(cpu, ins->reg, sz),                    \
		emu_reg_get(cpu, ins->rm, sz));                                  \
	EMU_CONTINUE(cpu, ins);                                                  \
}                                                                                \
static int imul3_r_##sz(emu_cpu *cpu, const emu_insn *ins)                       \
{                                                                                \
	imul_to(cpu, ins, sz, emu_reg_get(cpu, ins->rm, sz), ins->imm);          \
	EMU_CONTINUE(cpu, ins);                                                  \
}
DEF_IMUL(1) DEF_IMUL(2) DEF_IMUL(3)

/* ... and without the flag update (live.c) */
#define DEF_IMUL_NF(sz)                                                          \
static int imul2_r_nf_##sz(emu_cpu *cpu, const emu_insn *ins)                    \
{                                                                                \
	emu_reg_set(cpu, ins->reg, sz, emu_reg_get(cpu, ins->reg, sz) *          \
		    emu_reg_get(cpu, ins->rm, sz));                              \
	EMU_CONTINUE(cpu, ins);                                                  \
}                                                                                \
static int imul3_r_nf_##sz(emu_cpu *cpu, const emu_insn *ins)                    \
{                                                                                \
	emu_reg_set(cpu, ins->reg, sz, emu_reg_get(cpu, ins->rm, sz) * ins->imm); \
	EMU_CONTINUE(cpu, ins);                                                  \
}
DEF_IMUL_NF(1) DEF_IMUL_NF(2) DEF_IMUL_NF(3)

static const emu_fn imul2_tab[4] = { NULL, imul2_r_1, imul2_r_2, imul2_r_3 };
static const emu_fn imul3_tab[4] = { NULL, imul3_r_1, imul3_r_2, imul3_r_3 };
/* [three operands][with flags, without][size] */
const emu_fn emu_imul_nf_tab[2][2][4] = {
	{ { NULL, imul2_r_1, imul2_r_2, imul2_r_3 }, { NULL, imul2_r_nf_1, imul2_r_nf_2, imul2_r_nf_3 } },
	{ { NULL, imul3_r_1, imul3_r_2, imul3_r_3 }, { NULL, imul3_r_nf_1, imul3_r_nf_2, imul3_r_nf_3 } }
};

emu_fn emu_fast_imul(int three, unsigned sz, int mem)
{
	return mem ? NULL : three ? imul3_tab[sz] : imul2_tab[sz];
}

/* ---- PUSH r / POP r ------------------------------------------------------------ */

int emu_h_push_r(emu_cpu *cpu, const emu_insn *ins)
{
	int rc = emu_push(cpu, ins->osz, emu_reg_get(cpu, ins->rm, ins->osz));

	if (EMU_UNLIKELY(rc))
		return rc;
	EMU_CONTINUE(cpu, ins);
}

int emu_h_pop_r(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t v;
	int rc = emu_pop(cpu, ins->osz, &v);

	if (EMU_UNLIKELY(rc))
		return rc;
	emu_reg_set(cpu, ins->rm, ins->osz, v);
	EMU_CONTINUE(cpu, ins);
}
