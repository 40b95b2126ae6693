/* exec_xchg.c - XCHG, CMPXCHG, XADD, CMPXCHG8B/16B (atomic on guest RAM
 * through host atomics, so LOCKed updates are atomic across vCPU threads),
 * flag-register instructions, XLAT, SETcc and CMOVcc. */
#include "backends/emu/exec.h"
#include "backends/emu/exec_tab.h"

/* ---- XCHG -------------------------------------------------------------------- */

static uint64_t atomic_xchg(void *p, unsigned sz, uint64_t v)
{
	switch (sz) {
	case EMU_SZ8: return __atomic_exchange_n((uint8_t *)p, (uint8_t)v, __ATOMIC_SEQ_CST);
	case EMU_SZ16: return __atomic_exchange_n((uint16_t *)p, (uint16_t)v, __ATOMIC_SEQ_CST);
	case EMU_SZ32: return __atomic_exchange_n((uint32_t *)p, (uint32_t)v, __ATOMIC_SEQ_CST);
	default: return __atomic_exchange_n((uint64_t *)p, v, __ATOMIC_SEQ_CST);
	}
}

int emu_h_xchg(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned sz = ins->osz;
	uint64_t src = emu_reg_get(cpu, ins->reg, sz), old, la;
	void *p;
	int rc;

	if (!ins->mem) {
		old = emu_reg_get(cpu, ins->rm, sz);
		emu_reg_set(cpu, ins->rm, sz, src);
		emu_reg_set(cpu, ins->reg, sz, old);
		return EMU_OK;
	}
	la = emu_ea(cpu, ins);
	rc = emu_mem_rmw_ptr(cpu, la, 1u << sz, &p);
	if (rc)
		return rc;
	if (p) {
		old = atomic_xchg(p, sz, src);
	} else {
		rc = emu_read(cpu, la, sz, &old);
		if (!rc)
			rc = emu_write(cpu, la, sz, src);
		if (rc)
			return rc;
	}
	emu_reg_set(cpu, ins->reg, sz, old);
	return EMU_OK;
}

/* ---- CMPXCHG ------------------------------------------------------------------- */

/* Atomic compare-exchange of size sz: *expected updated with the old value;
 * returns 1 if it matched. */
static int atomic_cas(void *p, unsigned sz, uint64_t *expected, uint64_t desired)
{
	int ok;

#define CAS(T) do { T e = (T)*expected; \
		ok = __atomic_compare_exchange_n((T *)p, &e, (T)desired, 0, \
						 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); \
		*expected = e; } while (0)
	switch (sz) {
	case EMU_SZ8: CAS(uint8_t); break;
	case EMU_SZ16: CAS(uint16_t); break;
	case EMU_SZ32: CAS(uint32_t); break;
	default: CAS(uint64_t); break;
	}
#undef CAS
	return ok;
}

/* Reads the destination and writes acc==dest ? src : dest (the processor
 * always writes), atomically when the destination is guest RAM. */
static int cmpxchg_mem(emu_cpu *cpu, const emu_insn *ins, uint64_t acc, uint64_t src,
		       uint64_t *old)
{
	unsigned sz = ins->osz;
	uint64_t la = emu_ea(cpu, ins);
	void *p;
	int rc = emu_mem_rmw_ptr(cpu, la, 1u << sz, &p);

	if (rc)
		return rc;
	if (p) {
		*old = acc;
		atomic_cas(p, sz, old, src);
		return EMU_OK;
	}
	rc = emu_read(cpu, la, sz, old);
	if (rc)
		return rc;
	return emu_write(cpu, la, sz, *old == acc ? src : *old);
}

int emu_h_cmpxchg(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned sz = ins->osz;
	uint64_t acc = emu_reg_get(cpu, R_AX * 8, sz), src = emu_reg_get(cpu, ins->reg, sz);
	uint64_t old;
	int rc;

	if (ins->mem) {
		rc = cmpxchg_mem(cpu, ins, acc, src, &old);
		if (rc)
			return rc;
	} else {
		/* A register destination is not written when the compare fails
		 * (a 32-bit one keeps bits 63:32), as on Intel CPUs. */
		old = emu_reg_get(cpu, ins->rm, sz);
		if (old == acc)
			emu_reg_set(cpu, ins->rm, sz, src);
	}
	if (old != acc)
		emu_reg_set(cpu, R_AX * 8, sz, old);
	emu_cc_set(cpu, EMU_CC(EMU_CC_SUB, sz), (acc - old) & emu_sz_mask(sz), acc, old);
	return EMU_OK;
}

/* ---- XADD ---------------------------------------------------------------------- */

static uint64_t atomic_add(void *p, unsigned sz, uint64_t v)
{
	switch (sz) {
	case EMU_SZ8: return __atomic_fetch_add((uint8_t *)p, (uint8_t)v, __ATOMIC_SEQ_CST);
	case EMU_SZ16: return __atomic_fetch_add((uint16_t *)p, (uint16_t)v, __ATOMIC_SEQ_CST);
	case EMU_SZ32: return __atomic_fetch_add((uint32_t *)p, (uint32_t)v, __ATOMIC_SEQ_CST);
	default: return __atomic_fetch_add((uint64_t *)p, v, __ATOMIC_SEQ_CST);
	}
}

int emu_h_xadd(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned sz = ins->osz;
	uint64_t m = emu_sz_mask(sz), src = emu_reg_get(cpu, ins->reg, sz), old, la;
	void *p = NULL;
	int rc;

	if (!ins->mem) {
		old = emu_reg_get(cpu, ins->rm, sz);
		emu_reg_set(cpu, ins->reg, sz, old);
		emu_reg_set(cpu, ins->rm, sz, (old + src) & m);
	} else {
		la = emu_ea(cpu, ins);
		rc = emu_mem_rmw_ptr(cpu, la, 1u << sz, &p);
		if (rc)
			return rc;
		if (p) {
			old = atomic_add(p, sz, src);
		} else {
			rc = emu_read(cpu, la, sz, &old);
			if (!rc)
				rc = emu_write(cpu, la, sz, (old + src) & m);
			if (rc)
				return rc;
		}
		emu_reg_set(cpu, ins->reg, sz, old);
	}
	emu_cc_set(cpu, EMU_CC(EMU_CC_ADD, sz), (old + src) & m, old, src);
	return EMU_OK;
}

/* ---- CMPXCHG8B / CMPXCHG16B ------------------------------------------------------ */

static int cas16(void *p, uint64_t *lo, uint64_t *hi, uint64_t nlo, uint64_t nhi)
{
#if defined(__x86_64__)
	unsigned char ok;

	__asm__ __volatile__("lock cmpxchg16b %1"
			     : "=@ccz"(ok), "+m"(*(unsigned __int128 *)p), "+a"(*lo), "+d"(*hi)
			     : "b"(nlo), "c"(nhi)
			     : "memory");
	return ok;
#else
#error "CMPXCHG16B emulation needs an x86-64 host"
#endif
}

static int cmpxchg16b(emu_cpu *cpu, uint64_t la, uint64_t *lo, uint64_t *hi, int *ok)
{
	uint64_t cur[2], nlo = cpu->r[R_BX], nhi = cpu->r[R_CX];
	void *p;
	int rc;

	if (la & 15)
		return emu_gp(cpu, 0);
	rc = emu_mem_rmw_ptr(cpu, la, 16, &p);
	if (rc)
		return rc;
	if (p) {
		*ok = cas16(p, lo, hi, nlo, nhi);
		return EMU_OK;
	}
	rc = emu_mem_read_slow(cpu, la, cur, 16, 0);
	if (rc)
		return rc;
	*ok = cur[0] == *lo && cur[1] == *hi;
	rc = emu_mem_write_slow(cpu, la, *ok ? (uint64_t[2]){ nlo, nhi } : cur, 16, 0);
	*lo = cur[0];
	*hi = cur[1];
	return rc;
}

static int cmpxchg8b(emu_cpu *cpu, uint64_t la, uint64_t *lo, uint64_t *hi, int *ok)
{
	uint64_t exp = (*lo & 0xffffffffull) | (*hi << 32), old = exp;
	uint64_t des = (cpu->r[R_BX] & 0xffffffffull) | (cpu->r[R_CX] << 32);
	void *p;
	int rc = emu_mem_rmw_ptr(cpu, la, 8, &p);

	if (rc)
		return rc;
	if (p) {
		*ok = atomic_cas(p, EMU_SZ64, &old, des);
	} else {
		rc = emu_read(cpu, la, EMU_SZ64, &old);
		if (!rc)
			rc = emu_write(cpu, la, EMU_SZ64, old == exp ? des : old);
		if (rc)
			return rc;
		*ok = old == exp;
	}
	*lo = old & 0xffffffffull;
	*hi = old >> 32;
	return EMU_OK;
}

int emu_h_cmpxchg8b(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t la = emu_ea(cpu, ins), lo = cpu->r[R_AX], hi = cpu->r[R_DX];
	int ok = 0, rc;

	if (!ins->mem)
		return emu_ud(cpu);
	rc = ins->osz == EMU_SZ64 ? cmpxchg16b(cpu, la, &lo, &hi, &ok)
				  : cmpxchg8b(cpu, la, &lo, &hi, &ok);
	if (rc)
		return rc;
	if (!ok) {
		cpu->r[R_AX] = lo;
		cpu->r[R_DX] = hi;
	}
	emu_set_rflags(cpu, (emu_get_rflags(cpu) & ~X86_FL_ZF) | (ok ? X86_FL_ZF : 0));
	return EMU_OK;
}

/* ---- Flags ------------------------------------------------------------------------- */

#define AH_OFF (R_AX * 8 + 1)
#define SAHF_BITS (X86_FL_SF | X86_FL_ZF | X86_FL_AF | X86_FL_PF | X86_FL_CF)

int emu_h_lahf(emu_cpu *cpu, const emu_insn *ins)
{
	emu_reg_set(cpu, AH_OFF, EMU_SZ8, (emu_get_rflags(cpu) & 0xff) | X86_FL_RSV1);
	return EMU_OK;
}

int emu_h_sahf(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t ah = emu_reg_get(cpu, AH_OFF, EMU_SZ8);

	emu_set_rflags(cpu, (emu_get_rflags(cpu) & ~SAHF_BITS) | (ah & SAHF_BITS));
	return EMU_OK;
}

static int flag_op(emu_cpu *cpu, uint64_t clear, uint64_t set, uint64_t flip)
{
	emu_set_rflags(cpu, ((emu_get_rflags(cpu) & ~clear) | set) ^ flip);
	return EMU_OK;
}

int emu_h_cmc(emu_cpu *cpu, const emu_insn *ins) { return flag_op(cpu, 0, 0, X86_FL_CF); }
int emu_h_clc(emu_cpu *cpu, const emu_insn *ins) { return flag_op(cpu, X86_FL_CF, 0, 0); }
int emu_h_stc(emu_cpu *cpu, const emu_insn *ins) { return flag_op(cpu, 0, X86_FL_CF, 0); }

int emu_h_cld(emu_cpu *cpu, const emu_insn *ins)
{
	cpu->rflags &= ~X86_FL_DF;
	return EMU_OK;
}

int emu_h_std(emu_cpu *cpu, const emu_insn *ins)
{
	cpu->rflags |= X86_FL_DF;
	return EMU_OK;
}

int emu_h_xlat(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t off = cpu->r[R_BX] + (cpu->r[R_AX] & 0xff), v;
	int rc;

	if (ins->asz != EMU_SZ64)
		off &= emu_sz_mask(ins->asz);
	rc = emu_read(cpu, (off + cpu->segbase[ins->seg]) & cpu->linmask, EMU_SZ8, &v);
	if (rc)
		return rc;
	emu_reg_set(cpu, R_AX * 8, EMU_SZ8, v);
	return EMU_OK;
}

/* ---- SETcc / CMOVcc ------------------------------------------------------------- */

#define DEF_CC(cc)                                                               \
static int setcc_##cc(emu_cpu *cpu, const emu_insn *ins)                         \
{                                                                                \
	int rc = emu_rm_write(cpu, ins, EMU_SZ8, (uint64_t)emu_cond(cpu, cc));   \
	if (rc)                                                                  \
		return rc;                                                       \
	EMU_CONTINUE(cpu, ins);                                                  \
}                                                                                \
static int cmovcc_##cc(emu_cpu *cpu, const emu_insn *ins)                        \
{                                                                                \
	uint64_t v;                                                              \
	int rc = emu_rm_read(cpu, ins, ins->osz, &v);                            \
	if (rc)                                                                  \
		return rc;                                                       \
	if (!emu_cond(cpu, cc))                                                  \
		v = emu_reg_get(cpu, ins->reg, ins->osz);                        \
	emu_reg_set(cpu, ins->reg, ins->osz, v);                                 \
	EMU_CONTINUE(cpu, ins);                                                  \
}
DEF_CC(0) DEF_CC(1) DEF_CC(2) DEF_CC(3) DEF_CC(4) DEF_CC(5) DEF_CC(6) DEF_CC(7)
DEF_CC(8) DEF_CC(9) DEF_CC(10) DEF_CC(11) DEF_CC(12) DEF_CC(13) DEF_CC(14) DEF_CC(15)

#define CC16(p) { p##0, p##1, p##2, p##3, p##4, p##5, p##6, p##7, p##8, p##9, \
		  p##10, p##11, p##12, p##13, p##14, p##15 }
const emu_fn emu_setcc_tab[16] = CC16(setcc_);
const emu_fn emu_cmovcc_tab[16] = CC16(cmovcc_);
