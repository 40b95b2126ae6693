/* exec_sse.c - SSE/SSE2 moves and floating point: MOVUPS/APS/DQA/DQU,
 * MOVSS/SD, MOVLPS/HPS/LHPS/HLPS, MOVD/MOVQ, MOVMSKPS/PD; ADD SUB MUL DIV
 * MIN MAX SQRT in ps/pd/ss/sd forms, AND/ANDN/OR/XOR, CMPcc, (U)COMIS,
 * conversions, SHUFPS/PD, UNPCK; LDMXCSR/STMXCSR, FXSAVE/FXRSTOR. Arithmetic
 * runs on the host's SSE unit with the guest's MXCSR. */
#include "backends/emu/exec_tab.h"
#include "backends/emu/sse.h"
#include "backends/emu/x87.h"

/* ---- Moves ------------------------------------------------------------------------ */

/* xmm(reg) = r/m: n bytes (aux); op 0: zero the rest when the source is
 * memory, keep it for a register (MOVSS/SD); op 1: always zero the rest
 * (MOVQ); op 2: into the high half (MOVHPS load); op 3: merge low (MOVLPS). */
int emu_h_sse_load(emu_cpu *cpu, const emu_insn *ins)
{
	emu_xmm v, *d = emu_xmm_reg(cpu, ins->reg);
	unsigned n = ins->aux;
	int rc = sse_available(cpu);

	if (!rc)
		rc = sse_src(cpu, ins, n, &v);
	if (rc)
		return rc;
	switch (ins->op) {
	case 0:
		if (!ins->mem && n < 16)
			memcpy(d->b, v.b, n);
		else
			*d = v;
		break;
	case 1: *d = v; break;
	case 2: memcpy(d->b + 8, v.b, 8); break;
	default: memcpy(d->b, v.b, 8); break;
	}
	return EMU_OK;
}

/* r/m = xmm(reg): n bytes (aux); op 0 low part (a register destination
 * keeps its other bytes for n < 16), op 1 MOVQ (register: zero the rest),
 * op 2 the high half (MOVHPS store). */
int emu_h_sse_store(emu_cpu *cpu, const emu_insn *ins)
{
	emu_xmm v = *emu_xmm_reg(cpu, ins->reg);
	unsigned n = ins->aux;
	int rc = sse_available(cpu);

	if (rc)
		return rc;
	if (ins->op == 2)
		memmove(v.b, v.b + 8, 8);
	if (!ins->mem && n < 16) {
		emu_xmm *d = emu_xmm_reg(cpu, ins->rm);

		if (ins->op == 1)
			memset(d, 0, sizeof(*d));
		memcpy(d->b, v.b, n);
		return EMU_OK;
	}
	return sse_dst(cpu, ins, n, &v);
}

/* MOVHLPS (op 0: low = src high) and MOVLHPS (op 1: high = src low). */
int emu_h_sse_movhl(emu_cpu *cpu, const emu_insn *ins)
{
	emu_xmm *d = emu_xmm_reg(cpu, ins->reg), s = *emu_xmm_reg(cpu, ins->rm);
	int rc = sse_available(cpu);

	if (rc)
		return rc;
	if (ins->op == 0)
		d->q[0] = s.q[1];
	else
		d->q[1] = s.q[0];
	return EMU_OK;
}

/* MOVD/MOVQ xmm <- r/m32/64 (op 0), r/m32/64 <- xmm (op 1). */
int emu_h_sse_movd(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned sz = ins->osz == EMU_SZ64 ? EMU_SZ64 : EMU_SZ32;
	emu_xmm *x = emu_xmm_reg(cpu, ins->reg);
	uint64_t v;
	int rc = sse_available(cpu);

	if (rc)
		return rc;
	if (ins->op == 1)
		return emu_rm_write(cpu, ins, sz, sz == EMU_SZ64 ? x->q[0] : x->d[0]);
	rc = emu_rm_read(cpu, ins, sz, &v);
	if (rc)
		return rc;
	memset(x, 0, sizeof(*x));
	x->q[0] = v;
	return EMU_OK;
}

/* MOVMSKPS (aux 4) / MOVMSKPD (aux 8): sign bits to a general register. */
int emu_h_sse_movmsk(emu_cpu *cpu, const emu_insn *ins)
{
	const emu_xmm *s = emu_xmm_reg(cpu, ins->rm);
	uint64_t m = 0;
	int rc = sse_available(cpu);

	if (rc)
		return rc;
	if (ins->aux == 4)
		for (unsigned i = 0; i < 4; i++)
			m |= (uint64_t)(s->d[i] >> 31) << i;
	else
		m = (s->q[0] >> 63) | ((s->q[1] >> 63) << 1);
	cpu->r[ins->op] = m;
	return EMU_OK;
}

/* ---- Arithmetic ---------------------------------------------------------------------- */

enum { PS, PD, SS, SD };

/* Inline asm, not intrinsics: the compiler may swap the operands of an
 * addition or multiplication intrinsic, which changes which NaN SSE
 * returns. */
#define SSE_OP(insn, a, b) __asm__ __volatile__(insn " %1, %0" : "+x"(a) : "x"(b))

static __m128 ps_op(unsigned op, __m128 a, __m128 b, int scalar)
{
	switch (op * 2 + !!scalar) {
	case 0x51 * 2: SSE_OP("sqrtps", a, b); break;
	case 0x51 * 2 + 1: SSE_OP("sqrtss", a, b); break;
	case 0x58 * 2: SSE_OP("addps", a, b); break;
	case 0x58 * 2 + 1: SSE_OP("addss", a, b); break;
	case 0x59 * 2: SSE_OP("mulps", a, b); break;
	case 0x59 * 2 + 1: SSE_OP("mulss", a, b); break;
	case 0x5c * 2: SSE_OP("subps", a, b); break;
	case 0x5c * 2 + 1: SSE_OP("subss", a, b); break;
	case 0x5d * 2: SSE_OP("minps", a, b); break;
	case 0x5d * 2 + 1: SSE_OP("minss", a, b); break;
	case 0x5e * 2: SSE_OP("divps", a, b); break;
	case 0x5e * 2 + 1: SSE_OP("divss", a, b); break;
	case 0x5f * 2: SSE_OP("maxps", a, b); break;
	default: SSE_OP("maxss", a, b); break;
	}
	return a;
}

static __m128d pd_op(unsigned op, __m128d a, __m128d b, int scalar)
{
	switch (op * 2 + !!scalar) {
	case 0x51 * 2: SSE_OP("sqrtpd", a, b); break;
	case 0x51 * 2 + 1: SSE_OP("sqrtsd", a, b); break;
	case 0x58 * 2: SSE_OP("addpd", a, b); break;
	case 0x58 * 2 + 1: SSE_OP("addsd", a, b); break;
	case 0x59 * 2: SSE_OP("mulpd", a, b); break;
	case 0x59 * 2 + 1: SSE_OP("mulsd", a, b); break;
	case 0x5c * 2: SSE_OP("subpd", a, b); break;
	case 0x5c * 2 + 1: SSE_OP("subsd", a, b); break;
	case 0x5d * 2: SSE_OP("minpd", a, b); break;
	case 0x5d * 2 + 1: SSE_OP("minsd", a, b); break;
	case 0x5e * 2: SSE_OP("divpd", a, b); break;
	case 0x5e * 2 + 1: SSE_OP("divsd", a, b); break;
	case 0x5f * 2: SSE_OP("maxpd", a, b); break;
	default: SSE_OP("maxsd", a, b); break;
	}
	return a;
}

/* 0F 51 58 59 5C 5D 5E 5F: opcode in op, type (PS PD SS SD) in aux. */
int emu_h_sse_arith(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned type = ins->aux, n = type == SS ? 4 : type == SD ? 8 : 16;
	emu_xmm *d = emu_xmm_reg(cpu, ins->reg);
	volatile emu_xmm a, b, r;
	emu_xmm s;
	unsigned host;
	int rc = sse_available(cpu);

	if (!rc)
		rc = sse_src(cpu, ins, n, &s);
	if (rc)
		return rc;
	a = *d;
	b = s;
	host = sse_enter(cpu);
	if (type == PS || type == SS) {
		__m128 x = _mm_loadu_ps((const float *)a.f), y = _mm_loadu_ps((const float *)b.f);

		_mm_storeu_ps((float *)r.f, ps_op(ins->op, x, y, type == SS));
	} else {
		__m128d x = _mm_loadu_pd((const double *)a.df), y = _mm_loadu_pd((const double *)b.df);

		_mm_storeu_pd((double *)r.df, pd_op(ins->op, x, y, type == SD));
	}
	if ((rc = sse_leave(cpu, host)) != 0)
		return rc;
	*d = r;
	return EMU_OK;
}

/* ANDPS ANDNPS ORPS XORPS (and the PD forms): op = opcode. */
int emu_h_sse_logic(emu_cpu *cpu, const emu_insn *ins)
{
	emu_xmm *d = emu_xmm_reg(cpu, ins->reg), s;
	int rc = sse_available(cpu);

	if (!rc)
		rc = sse_src(cpu, ins, 16, &s);
	if (rc)
		return rc;
	for (unsigned i = 0; i < 2; i++) {
		switch (ins->op) {
		case 0x54: d->q[i] &= s.q[i]; break;
		case 0x55: d->q[i] = ~d->q[i] & s.q[i]; break;
		case 0x56: d->q[i] |= s.q[i]; break;
		default: d->q[i] ^= s.q[i]; break;
		}
	}
	return EMU_OK;
}

static __m128 cmp_ps(unsigned pred, __m128 a, __m128 b, int scalar)
{
	switch (pred & 7) {
	case 0: return scalar ? _mm_cmpeq_ss(a, b) : _mm_cmpeq_ps(a, b);
	case 1: return scalar ? _mm_cmplt_ss(a, b) : _mm_cmplt_ps(a, b);
	case 2: return scalar ? _mm_cmple_ss(a, b) : _mm_cmple_ps(a, b);
	case 3: return scalar ? _mm_cmpunord_ss(a, b) : _mm_cmpunord_ps(a, b);
	case 4: return scalar ? _mm_cmpneq_ss(a, b) : _mm_cmpneq_ps(a, b);
	case 5: return scalar ? _mm_cmpnlt_ss(a, b) : _mm_cmpnlt_ps(a, b);
	case 6: return scalar ? _mm_cmpnle_ss(a, b) : _mm_cmpnle_ps(a, b);
	default: return scalar ? _mm_cmpord_ss(a, b) : _mm_cmpord_ps(a, b);
	}
}

static __m128d cmp_pd(unsigned pred, __m128d a, __m128d b, int scalar)
{
	switch (pred & 7) {
	case 0: return scalar ? _mm_cmpeq_sd(a, b) : _mm_cmpeq_pd(a, b);
	case 1: return scalar ? _mm_cmplt_sd(a, b) : _mm_cmplt_pd(a, b);
	case 2: return scalar ? _mm_cmple_sd(a, b) : _mm_cmple_pd(a, b);
	case 3: return scalar ? _mm_cmpunord_sd(a, b) : _mm_cmpunord_pd(a, b);
	case 4: return scalar ? _mm_cmpneq_sd(a, b) : _mm_cmpneq_pd(a, b);
	case 5: return scalar ? _mm_cmpnlt_sd(a, b) : _mm_cmpnlt_pd(a, b);
	case 6: return scalar ? _mm_cmpnle_sd(a, b) : _mm_cmpnle_pd(a, b);
	default: return scalar ? _mm_cmpord_sd(a, b) : _mm_cmpord_pd(a, b);
	}
}

/* CMPPS/PD/SS/SD: type in aux, predicate in imm; on the host SSE unit. */
int emu_h_sse_cmp(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned type = ins->aux, n = type == SS ? 4 : type == SD ? 8 : 16, host;
	emu_xmm *d = emu_xmm_reg(cpu, ins->reg), s;
	volatile emu_xmm a, b, r;
	int rc = sse_available(cpu);

	if (!rc)
		rc = sse_src(cpu, ins, n, &s);
	if (rc)
		return rc;
	a = *d;
	b = s;
	host = sse_enter(cpu);
	if (type == PS || type == SS)
		_mm_storeu_ps((float *)r.f, cmp_ps((unsigned)ins->imm,
						   _mm_loadu_ps((const float *)a.f),
						   _mm_loadu_ps((const float *)b.f), type == SS));
	else
		_mm_storeu_pd((double *)r.df, cmp_pd((unsigned)ins->imm,
						     _mm_loadu_pd((const double *)a.df),
						     _mm_loadu_pd((const double *)b.df), type == SD));
	if ((rc = sse_leave(cpu, host)) != 0)
		return rc;
	*d = r;
	return EMU_OK;
}

/* COMISS/COMISD (op 1) and UCOMISS/UCOMISD (op 0): ZF PF CF; aux 4 or 8.
 * The host instruction runs for its exception flags. */
int emu_h_sse_comis(emu_cpu *cpu, const emu_insn *ins)
{
	const emu_xmm *d = emu_xmm_reg(cpu, ins->reg);
	volatile emu_xmm a, b;
	volatile int sink;
	emu_xmm s;
	double x, y;
	uint64_t f = 0;
	unsigned host;
	int rc = sse_available(cpu);

	if (!rc)
		rc = sse_src(cpu, ins, ins->aux, &s);
	if (rc)
		return rc;
	a = *d;
	b = s;
	host = sse_enter(cpu);
	if (ins->aux == 4)
		sink = ins->op ? _mm_comieq_ss(_mm_set_ss(a.f[0]), _mm_set_ss(b.f[0]))
			       : _mm_ucomieq_ss(_mm_set_ss(a.f[0]), _mm_set_ss(b.f[0]));
	else
		sink = ins->op ? _mm_comieq_sd(_mm_set_sd(a.df[0]), _mm_set_sd(b.df[0]))
			       : _mm_ucomieq_sd(_mm_set_sd(a.df[0]), _mm_set_sd(b.df[0]));
	if ((rc = sse_leave(cpu, host)) != 0)
		return rc;
	(void)sink;
	x = ins->aux == 4 ? d->f[0] : d->df[0];
	y = ins->aux == 4 ? s.f[0] : s.df[0];
	if (__builtin_isnan(x) || __builtin_isnan(y))
		f = X86_FL_ZF | X86_FL_PF | X86_FL_CF;
	else if (x < y)
		f = X86_FL_CF;
	else if (x == y)
		f = X86_FL_ZF;
	emu_set_rflags(cpu, (emu_get_rflags(cpu) & ~X86_FL_ARITH) | f);
	return EMU_OK;
}

/* ---- MXCSR, FXSAVE, FXRSTOR ------------------------------------------------------------ */

#define MXCSR_MASK 0xffffu

int emu_sse_unmasked(emu_cpu *cpu, unsigned fl)
{
	unsigned unmasked = fl & ~(cpu->fpu.mxcsr >> 7) & 0x3f;

	if (unmasked & 7)            /* IE DE ZE: the computation is not done */
		fl &= 7;
	cpu->fpu.mxcsr |= fl & 0x3f;
	if (!(cpu->cr4 & X86_CR4_OSXMMEXCPT))
		return emu_ud(cpu);
	return emu_fault(cpu, X86_EXC_XM, 0, 0);
}

/* LDMXCSR (op 2) / STMXCSR (op 3). */
int emu_h_sse_mxcsr(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t v;
	int rc = sse_available(cpu);

	if (rc)
		return rc;
	if (ins->op == 3)
		return emu_write(cpu, emu_ea(cpu, ins), EMU_SZ32, cpu->fpu.mxcsr);
	rc = emu_read(cpu, emu_ea(cpu, ins), EMU_SZ32, &v);
	if (rc)
		return rc;
	if (v & ~(uint64_t)MXCSR_MASK)
		return emu_gp(cpu, 0);
	cpu->fpu.mxcsr = (uint32_t)v;
	return EMU_OK;
}

uint16_t emu_x87_fsw(const emu_cpu *cpu);

void emu_fx_image(const emu_cpu *cpu, uint8_t img[512], int xmm_count)
{
	const emu_fpu *f = &cpu->fpu;
	uint16_t fsw = emu_x87_fsw(cpu), mask = MXCSR_MASK;
	uint8_t ftw = (uint8_t)~f->empty;

	memset(img, 0, 512);
	memcpy(img + 0, &f->fcw, 2);
	memcpy(img + 2, &fsw, 2);
	img[4] = ftw;
	memcpy(img + 6, &f->fop, 2);
	memcpy(img + 24, &f->mxcsr, 4);
	memcpy(img + 28, &mask, 2);
	for (unsigned i = 0; i < 8; i++)          /* ST(i), in stack order */
		memcpy(img + 32 + 16 * i, &f->st[(f->top + i) & 7], 10);
	for (int i = 0; i < xmm_count; i++)
		memcpy(img + 160 + 16 * i, f->xmm[i].b, 16);
}

int emu_fx_load(emu_cpu *cpu, const uint8_t img[512], int nxmm, unsigned parts)
{
	emu_fpu *f = &cpu->fpu;
	uint32_t mxcsr;
	uint16_t fsw;

	memcpy(&mxcsr, img + 24, 4);
	if ((parts & EMU_FX_MXCSR) && (mxcsr & ~MXCSR_MASK))
		return emu_gp(cpu, 0);
	if (parts & EMU_FX_MXCSR)
		f->mxcsr = mxcsr;
	if (parts & EMU_FX_X87) {
		memcpy(&f->fcw, img, 2);
		memcpy(&fsw, img + 2, 2);
		f->top = (fsw >> 11) & 7;
		f->fsw = fsw & (uint16_t)~0x3800u;
		f->empty = (uint8_t)~img[4];
		memcpy(&f->fop, img + 6, 2);
		for (unsigned i = 0; i < 8; i++)
			memcpy(&f->st[(f->top + i) & 7], img + 32 + 16 * i, 10);
	}
	for (int i = 0; (parts & EMU_FX_XMM) && i < nxmm; i++)
		memcpy(f->xmm[i].b, img + 160 + 16 * i, 16);
	return EMU_OK;
}

/* FXSAVE (op 0) / FXRSTOR (op 1): the 512-byte 64-bit-mode layout (8 XMM
 * registers outside 64-bit mode). */
int emu_h_fxsave(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t la = emu_ea(cpu, ins);
	int nxmm = cpu->code_sz == EMU_SZ64 ? 16 : 8;
	uint8_t img[512];
	int rc = sse_available(cpu);

	if (rc)
		return rc;
	if (la & 15)
		return emu_gp(cpu, 0);
	if (ins->op == 1) {
		rc = emu_mem_read_slow(cpu, la, img, 512, EMU_ACC_R);
		return rc ? rc : emu_fx_load(cpu, img, nxmm, EMU_FX_ALL);
	}
	emu_fx_image(cpu, img, nxmm);
	return emu_mem_write_slow(cpu, la, img, 512, EMU_ACC_W);
}
