/* exec_string.c - MOVS STOS LODS CMPS SCAS INS OUTS, with REP/REPE/REPNE,
 * DF, 16/32/64-bit address sizes and segment overrides (the source only).
 * REP loops commit registers after every element (so faults and device
 * exits resume exactly) and yield after a bounded number of elements so a
 * kick is noticed. REP MOVS/STOS on RAM copy a page-sized chunk at a time
 * through host pointers, in either direction. */
#include "backends/emu/exec.h"
#include "backends/emu/exec_tab.h"

#define REP_CHUNK 65536u      /* elements per handler call */

static uint64_t str_lin(const emu_cpu *cpu, unsigned seg, uint64_t off, unsigned asz)
{
	return ((off & emu_sz_mask(asz)) + cpu->segbase[seg]) & cpu->linmask;
}

static int64_t str_step(const emu_cpu *cpu, unsigned sz)
{
	return (cpu->rflags & X86_FL_DF) ? -(int64_t)(1u << sz) : (int64_t)(1u << sz);
}

static void advance(emu_cpu *cpu, unsigned reg, unsigned asz, int64_t delta)
{
	emu_reg_set(cpu, reg * 8, asz, cpu->r[reg] + (uint64_t)delta);
}

static int io_allowed(const emu_cpu *cpu)
{
	unsigned iopl = (unsigned)(cpu->rflags >> 12) & 3;

	return !(cpu->cr0 & X86_CR0_PE) || cpu->cpl <= iopl;
}

/* One element; *stop set when REPE/REPNE should end (CMPS/SCAS). */
typedef int (*str_fn)(emu_cpu *cpu, const emu_insn *ins, int *stop);

static int repeat(emu_cpu *cpu, const emu_insn *ins, str_fn one)
{
	unsigned asz = ins->asz;
	int stop = 0, rc;

	if (!(ins->pfx & (EMU_PFX_REP | EMU_PFX_REPNE)))
		return one(cpu, ins, &stop);
	for (unsigned n = 0;; n++) {
		uint64_t cnt = emu_reg_get(cpu, R_CX * 8, asz);

		if (cnt == 0)
			return EMU_OK;
		if (n == REP_CHUNK)
			return EMU_RESTART;
		rc = one(cpu, ins, &stop);
		if (rc)
			return rc;
		emu_reg_set(cpu, R_CX * 8, asz, cnt - 1);
		emu_io_commit(cpu);
		if (stop)
			return EMU_OK;
	}
}

/* ---- Chunked REP MOVS / STOS on RAM -----------------------------------------
 * A chunk is the run of elements that stays within the current page of each
 * operand (walking up with DF=0, down with DF=1) and does not wrap the
 * address size; it is done through host pointers. An element that crosses
 * a page, MMIO or a page the TLB may not hold goes one at a time through
 * the slow path. */

/* Elements from the one at register reg onwards that stay in its page. */
static uint64_t chunk_elems(const emu_cpu *cpu, const emu_insn *ins, uint64_t la,
			    unsigned reg, int down)
{
	unsigned size = 1u << ins->osz, pofs = (unsigned)(la & 0xfff);
	uint64_t cnt = emu_reg_get(cpu, R_CX * 8, ins->asz), n, wrap;
	uint64_t off = cpu->r[reg] & emu_sz_mask(ins->asz);

	if (pofs + size > 4096)
		return 0;                      /* this element crosses the page */
	n = down ? pofs / size + 1 : (4096 - pofs) / size;
	if (ins->asz != EMU_SZ64) {            /* offsets must not wrap */
		uint64_t mask = emu_sz_mask(ins->asz);

		if (off + size - 1 > mask)
			return 0;
		wrap = down ? off / size + 1 : (mask - off + 1) / size;
		n = wrap < n ? wrap : n;
	}
	return n < cnt ? n : cnt;
}

/* The host address of the lowest byte of n elements whose first (in
 * the direction of travel) is at p. */
static uint8_t *chunk_low(uint8_t *p, uint64_t n, unsigned size, int down)
{
	return down ? p - (n - 1) * size : p;
}

static void chunk_done(emu_cpu *cpu, const emu_insn *ins, uint64_t n, int movs)
{
	int64_t delta = str_step(cpu, ins->osz) * (int64_t)n;

	if (movs)
		advance(cpu, R_SI, ins->asz, delta);
	advance(cpu, R_DI, ins->asz, delta);
	emu_reg_set(cpu, R_CX * 8, ins->asz, emu_reg_get(cpu, R_CX * 8, ins->asz) - n);
}

static int fast_stos(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned sz = ins->osz, size = 1u << sz;
	int down = !!(cpu->rflags & X86_FL_DF);
	uint64_t la = str_lin(cpu, X86_SEG_ES, cpu->r[R_DI], ins->asz), n, v = cpu->r[R_AX];
	uint8_t *p;

	if ((n = chunk_elems(cpu, ins, la, R_DI, down)) == 0 ||
	    !(p = emu_tlb_host(cpu, la, EMU_ACC_W)))
		return 0;
	p = chunk_low(p, n, size, down);
	if (sz == EMU_SZ8)
		memset(p, (int)(v & 0xff), n);
	else
		for (uint64_t i = 0; i < n; i++)
			memcpy(p + i * size, &v, size);
	chunk_done(cpu, ins, n, 0);
	return 1;
}

/* Element by element in the direction of travel, as the CPU does: for
 * overlapping operands where that differs from memmove. */
static void copy_elems(uint8_t *d, const uint8_t *s, uint64_t n, unsigned size, int down)
{
	uint8_t tmp[8];

	for (uint64_t i = 0; i < n; i++) {
		uint64_t k = down ? n - 1 - i : i;

		memcpy(tmp, s + k * size, size);
		memcpy(d + k * size, tmp, size);
	}
}

static int fast_movs(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned size = 1u << ins->osz;
	int down = !!(cpu->rflags & X86_FL_DF);
	uint64_t ls = str_lin(cpu, ins->seg, cpu->r[R_SI], ins->asz);
	uint64_t ld = str_lin(cpu, X86_SEG_ES, cpu->r[R_DI], ins->asz);
	uint64_t n = chunk_elems(cpu, ins, ld, R_DI, down), ns = chunk_elems(cpu, ins, ls, R_SI, down);
	uint8_t *s, *d;

	n = ns < n ? ns : n;
	if (n == 0 || !(s = emu_tlb_host(cpu, ls, EMU_ACC_R)) ||
	    !(d = emu_tlb_host(cpu, ld, EMU_ACC_W)))
		return 0;
	s = chunk_low(s, n, size, down);
	d = chunk_low(d, n, size, down);
	/* memmove equals the CPU's order unless the destination is ahead of
	 * the source in the direction of travel and they overlap */
	if (d != s && (down ? d < s && d + n * size > s : d > s && d < s + n * size))
		copy_elems(d, s, n, size, down);
	else
		memmove(d, s, n * size);
	chunk_done(cpu, ins, n, 1);
	return 1;
}

typedef int (*fast_fn)(emu_cpu *cpu, const emu_insn *ins);

/* REP: page-sized chunks through host pointers while the TLB has
 * both pages; one element through the slow path (which fills the TLB)
 * otherwise. */
static int repeat_fast(emu_cpu *cpu, const emu_insn *ins, str_fn one, fast_fn fast)
{
	int stop = 0, rc;

	if (!(ins->pfx & EMU_PFX_REP))
		return repeat(cpu, ins, one);
	for (unsigned i = 0; i < 4096; i++) {
		uint64_t cnt = emu_reg_get(cpu, R_CX * 8, ins->asz);

		if (cnt == 0)
			return EMU_OK;
		if (fast(cpu, ins))
			continue;
		rc = one(cpu, ins, &stop);
		if (rc)
			return rc;
		emu_reg_set(cpu, R_CX * 8, ins->asz, cnt - 1);
		emu_io_commit(cpu);
	}
	return EMU_RESTART;
}

/* ---- The instructions ------------------------------------------------------------ */

static int movs_one(emu_cpu *cpu, const emu_insn *ins, int *stop)
{
	unsigned sz = ins->osz, asz = ins->asz;
	uint64_t v;
	int rc = emu_read(cpu, str_lin(cpu, ins->seg, cpu->r[R_SI], asz), sz, &v);

	if (!rc)
		rc = emu_write(cpu, str_lin(cpu, X86_SEG_ES, cpu->r[R_DI], asz), sz, v);
	if (rc)
		return rc;
	advance(cpu, R_SI, asz, str_step(cpu, sz));
	advance(cpu, R_DI, asz, str_step(cpu, sz));
	return EMU_OK;
}

static int stos_one(emu_cpu *cpu, const emu_insn *ins, int *stop)
{
	int rc = emu_write(cpu, str_lin(cpu, X86_SEG_ES, cpu->r[R_DI], ins->asz), ins->osz,
			   emu_reg_get(cpu, R_AX * 8, ins->osz));

	if (rc)
		return rc;
	advance(cpu, R_DI, ins->asz, str_step(cpu, ins->osz));
	return EMU_OK;
}

static int lods_one(emu_cpu *cpu, const emu_insn *ins, int *stop)
{
	uint64_t v;
	int rc = emu_read(cpu, str_lin(cpu, ins->seg, cpu->r[R_SI], ins->asz), ins->osz, &v);

	if (rc)
		return rc;
	emu_reg_set(cpu, R_AX * 8, ins->osz, v);
	advance(cpu, R_SI, ins->asz, str_step(cpu, ins->osz));
	return EMU_OK;
}

static void compare(emu_cpu *cpu, const emu_insn *ins, uint64_t a, uint64_t b, int *stop)
{
	unsigned sz = ins->osz;

	emu_cc_set(cpu, EMU_CC(EMU_CC_SUB, sz), (a - b) & emu_sz_mask(sz), a, b);
	if (ins->pfx & EMU_PFX_REP)
		*stop = a != b;       /* REPE: stop when not equal */
	else if (ins->pfx & EMU_PFX_REPNE)
		*stop = a == b;
}

static int cmps_one(emu_cpu *cpu, const emu_insn *ins, int *stop)
{
	unsigned sz = ins->osz, asz = ins->asz;
	uint64_t a, b;
	int rc = emu_read(cpu, str_lin(cpu, ins->seg, cpu->r[R_SI], asz), sz, &a);

	if (!rc)
		rc = emu_read(cpu, str_lin(cpu, X86_SEG_ES, cpu->r[R_DI], asz), sz, &b);
	if (rc)
		return rc;
	advance(cpu, R_SI, asz, str_step(cpu, sz));
	advance(cpu, R_DI, asz, str_step(cpu, sz));
	compare(cpu, ins, a, b, stop);
	return EMU_OK;
}

static int scas_one(emu_cpu *cpu, const emu_insn *ins, int *stop)
{
	uint64_t b;
	int rc = emu_read(cpu, str_lin(cpu, X86_SEG_ES, cpu->r[R_DI], ins->asz), ins->osz, &b);

	if (rc)
		return rc;
	advance(cpu, R_DI, ins->asz, str_step(cpu, ins->osz));
	compare(cpu, ins, emu_reg_get(cpu, R_AX * 8, ins->osz), b, stop);
	return EMU_OK;
}

static int ins_one(emu_cpu *cpu, const emu_insn *ins, int *stop)
{
	uint64_t la = str_lin(cpu, X86_SEG_ES, cpu->r[R_DI], ins->asz);
	uint32_t v = 0;
	int rc = emu_probe_write(cpu, la, ins->osz);

	if (!rc)
		rc = emu_pio(cpu, (uint16_t)cpu->r[R_DX], 1u << ins->osz, 0, &v);
	if (!rc)
		rc = emu_write(cpu, la, ins->osz, v);
	if (rc)
		return rc;
	advance(cpu, R_DI, ins->asz, str_step(cpu, ins->osz));
	return EMU_OK;
}

static int outs_one(emu_cpu *cpu, const emu_insn *ins, int *stop)
{
	uint64_t v;
	uint32_t d;
	int rc = emu_read(cpu, str_lin(cpu, ins->seg, cpu->r[R_SI], ins->asz), ins->osz, &v);

	if (rc)
		return rc;
	d = (uint32_t)v;
	rc = emu_pio(cpu, (uint16_t)cpu->r[R_DX], 1u << ins->osz, 1, &d);
	if (rc)
		return rc;
	advance(cpu, R_SI, ins->asz, str_step(cpu, ins->osz));
	return EMU_OK;
}

int emu_h_movs(emu_cpu *cpu, const emu_insn *ins) { return repeat_fast(cpu, ins, movs_one, fast_movs); }
int emu_h_stos(emu_cpu *cpu, const emu_insn *ins) { return repeat_fast(cpu, ins, stos_one, fast_stos); }
int emu_h_lods(emu_cpu *cpu, const emu_insn *ins) { return repeat(cpu, ins, lods_one); }
int emu_h_cmps(emu_cpu *cpu, const emu_insn *ins) { return repeat(cpu, ins, cmps_one); }
int emu_h_scas(emu_cpu *cpu, const emu_insn *ins) { return repeat(cpu, ins, scas_one); }

int emu_h_ins(emu_cpu *cpu, const emu_insn *ins)
{
	if (!io_allowed(cpu))
		return emu_gp(cpu, 0);
	return repeat(cpu, ins, ins_one);
}

int emu_h_outs(emu_cpu *cpu, const emu_insn *ins)
{
	if (!io_allowed(cpu))
		return emu_gp(cpu, 0);
	return repeat(cpu, ins, outs_one);
}
