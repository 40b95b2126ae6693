/* exec_string.c - MOVS STOS LODS CMPS SCAS INS OUTS, with REP/REPE/REPNE,
 * DF, 16/32/64-bit address sizes and segment overrides (the source only).
 * REP loops commit registers after every element (so faults and device
 * exits resume exactly) and yield after a bounded number of elements so a
 * kick is noticed. Forward REP MOVS/STOS on RAM copy a page-sized chunk at
 * a time through host pointers. */
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

/* ---- Chunked forward REP MOVS / STOS on RAM --------------------------------- */

static uint8_t *tlb_host(emu_cpu *cpu, uint64_t la, int write, uint64_t *room)
{
	const emu_tlb_entry *e = &cpu->tlb[(la >> 12) & (EMU_TLB_SIZE - 1)];

	if ((write ? e->tag_w : e->tag_r) != (la & ~0xfffull))
		return NULL;
	*room = 4096 - (la & 0xfff);
	return (uint8_t *)(uintptr_t)(la + e->addend);
}

/* Elements that can be done in one go: within the pages and without the
 * offsets wrapping around the address size. */
static uint64_t chunk_elems(const emu_cpu *cpu, const emu_insn *ins, uint64_t room,
			    unsigned reg)
{
	uint64_t cnt = emu_reg_get(cpu, R_CX * 8, ins->asz), n = room >> ins->osz;
	uint64_t left = emu_sz_mask(ins->asz) - (cpu->r[reg] & emu_sz_mask(ins->asz));

	if (ins->asz != EMU_SZ64 && (left >> ins->osz) < n)
		n = left >> ins->osz;
	return n < cnt ? n : cnt;
}

static int fast_stos(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned sz = ins->osz, size = 1u << sz;
	uint64_t room, n, v = cpu->r[R_AX];
	uint8_t *p = tlb_host(cpu, str_lin(cpu, X86_SEG_ES, cpu->r[R_DI], ins->asz), 1, &room);

	if (!p || (n = chunk_elems(cpu, ins, room, R_DI)) == 0)
		return 0;
	if (sz == EMU_SZ8)
		memset(p, (int)(v & 0xff), n);
	else
		for (uint64_t i = 0; i < n; i++)
			memcpy(p + i * size, &v, size);
	advance(cpu, R_DI, ins->asz, (int64_t)(n * size));
	emu_reg_set(cpu, R_CX * 8, ins->asz, emu_reg_get(cpu, R_CX * 8, ins->asz) - n);
	return 1;
}

static int fast_movs(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned size = 1u << ins->osz;
	uint64_t rs = 0, rd = 0, n, ns;
	uint8_t *s = tlb_host(cpu, str_lin(cpu, ins->seg, cpu->r[R_SI], ins->asz), 0, &rs);
	uint8_t *d = tlb_host(cpu, str_lin(cpu, X86_SEG_ES, cpu->r[R_DI], ins->asz), 1, &rd);

	if (!s || !d)
		return 0;
	n = chunk_elems(cpu, ins, rd, R_DI);
	ns = chunk_elems(cpu, ins, rs, R_SI);
	n = ns < n ? ns : n;
	if (n == 0)
		return 0;
	if (d > s && d < s + n * size) {
		for (uint64_t i = 0; i < n * size; i++)   /* overlapping: forward */
			d[i] = s[i];
	} else {
		memmove(d, s, n * size);
	}
	advance(cpu, R_SI, ins->asz, (int64_t)(n * size));
	advance(cpu, R_DI, ins->asz, (int64_t)(n * size));
	emu_reg_set(cpu, R_CX * 8, ins->asz, emu_reg_get(cpu, R_CX * 8, ins->asz) - n);
	return 1;
}

typedef int (*fast_fn)(emu_cpu *cpu, const emu_insn *ins);

/* REP with DF=0: page-sized chunks through host pointers while the TLB has
 * both pages; one element through the slow path (which fills the TLB)
 * otherwise. */
static int repeat_fast(emu_cpu *cpu, const emu_insn *ins, str_fn one, fast_fn fast)
{
	int stop = 0, rc;

	if (!(ins->pfx & EMU_PFX_REP) || (cpu->rflags & X86_FL_DF))
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
