/* exec_simd_misc.c - the MMX and SSE integer instructions outside the
 * element-wise table, in MMX and XMM forms alike: shifts by immediate
 * (including the whole-register byte shifts), PSHUFW/D/HW/LW, PMOVMSKB,
 * PINSRW/PEXTRW, MOVD/MOVQ to and from MMX registers, MOVQ2DQ/MOVDQ2Q,
 * MASKMOVQ/MASKMOVDQU, EMMS and the MMX <-> float conversions. */
#include "backends/emu/exec_tab.h"
#include "backends/emu/simd.h"

void emu_simd_shift(emu_xmm *d, unsigned n, unsigned es, unsigned kind, uint64_t count)
{
	unsigned bits = es * 8;

	for (unsigned i = 0; i < n / es; i++) {
		uint64_t v = simd_lane(d, es, i);

		if (kind == 1)
			v = (uint64_t)(simd_slane(d, es, i) >> (count >= bits ? bits - 1 : count));
		else if (count >= bits)
			v = 0;
		else
			v = kind == 0 ? v >> count : v << count;
		simd_set_lane(d, es, i, v);
	}
}

/* 0F 71/72/73 ib: op = opcode, xflags = ModRM.reg, aux = n; register in rm. */
int emu_h_simd_shift_imm(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned n = ins->aux, cnt = ins->imm & 0xff, r = ins->xflags;
	emu_xmm d, v;
	int rc = simd_available(cpu, n);

	if (rc)
		return rc;
	simd_get_reg(cpu, ins->rm, n, &d);
	if (ins->op == 0x73 && (r == 3 || r == 7)) {                 /* PSRLDQ / PSLLDQ */
		memset(&v, 0, sizeof(v));
		for (unsigned i = 0; i < 16; i++) {
			unsigned from = r == 3 ? i + cnt : i - cnt;

			if (from < 16)
				v.b[i] = d.b[from];
		}
		d = v;
	} else {
		emu_simd_shift(&d, n, 2u << (ins->op - 0x71), r == 2 ? 0 : r == 4 ? 1 : 2, cnt);
	}
	simd_put_reg(cpu, ins->rm, n, &d);
	return EMU_OK;
}

/* PSHUFD (op 0), PSHUFHW (1), PSHUFLW (2), PSHUFW mm (3), with imm. */
int emu_h_simd_pshuf(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned imm = ins->imm & 0xff, n = ins->op == 3 ? 8 : 16;
	emu_xmm s, r;
	int rc = simd_available(cpu, n);

	if (!rc)
		rc = simd_src(cpu, ins, n, &s);
	if (rc)
		return rc;
	r = s;
	for (unsigned i = 0; i < 4; i++) {
		unsigned sel = (imm >> (2 * i)) & 3;

		if (ins->op == 0)
			r.d[i] = s.d[sel];
		else if (ins->op == 1)
			r.w[4 + i] = s.w[4 + sel];
		else
			r.w[i] = s.w[sel];
	}
	simd_put_reg(cpu, ins->reg, n, &r);
	return EMU_OK;
}

/* PMOVMSKB r32, mm/xmm: op = GPR number, aux = n. */
int emu_h_simd_pmovmskb(emu_cpu *cpu, const emu_insn *ins)
{
	emu_xmm s;
	uint64_t m = 0;
	int rc = simd_available(cpu, ins->aux);

	if (rc)
		return rc;
	simd_get_reg(cpu, ins->rm, ins->aux, &s);
	for (unsigned i = 0; i < ins->aux; i++)
		m |= (uint64_t)(s.b[i] >> 7) << i;
	cpu->r[ins->op] = m;
	return EMU_OK;
}

/* PINSRW mm/xmm, r32/m16, imm (op 0) / PEXTRW r32, mm/xmm, imm (op 1, GPR
 * offset in xflags); aux = n. */
int emu_h_simd_pinsrw(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned n = ins->aux, sel = ins->imm & (n / 2 - 1);
	emu_xmm v;
	uint64_t x;
	int rc = simd_available(cpu, n);

	if (rc)
		return rc;
	if (ins->op == 1) {
		simd_get_reg(cpu, ins->rm, n, &v);
		cpu->r[ins->xflags >> 3] = v.w[sel];
		return EMU_OK;
	}
	rc = emu_rm_read(cpu, ins, EMU_SZ16, &x);
	if (rc)
		return rc;
	simd_get_reg(cpu, ins->reg, n, &v);
	v.w[sel] = (uint16_t)x;
	simd_put_reg(cpu, ins->reg, n, &v);
	return EMU_OK;
}

/* MOVD/MOVQ mm <- r/m32/64 (op 0), r/m32/64 <- mm (op 1). rm is a GPR
 * byte offset. */
int emu_h_mmx_movd(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned sz = ins->osz == EMU_SZ64 ? EMU_SZ64 : EMU_SZ32;
	uint64_t v;
	int rc = mmx_enter(cpu);

	if (rc)
		return rc;
	if (ins->op == 1) {
		v = mmx_get(cpu, ins->reg);
		return emu_rm_write(cpu, ins, sz, sz == EMU_SZ64 ? v : (uint32_t)v);
	}
	rc = emu_rm_read(cpu, ins, sz, &v);
	if (!rc)
		mmx_set(cpu, ins->reg, v);
	return rc;
}

/* MOVQ mm, mm/m64 (op 0) / mm/m64, mm (op 1: 0F 7F, MOVNTQ). */
int emu_h_mmx_movq(emu_cpu *cpu, const emu_insn *ins)
{
	emu_xmm v;
	int rc = mmx_enter(cpu);

	if (rc)
		return rc;
	if (ins->op == 0) {
		rc = simd_src(cpu, ins, 8, &v);
		if (!rc)
			mmx_set(cpu, ins->reg, v.q[0]);
		return rc;
	}
	v.q[0] = mmx_get(cpu, ins->reg);
	if (!ins->mem) {
		mmx_set(cpu, ins->rm, v.q[0]);
		return EMU_OK;
	}
	return emu_mem_write_slow(cpu, emu_ea(cpu, ins), v.b, 8, EMU_ACC_W);
}

/* MOVQ2DQ xmm, mm (op 0) / MOVDQ2Q mm, xmm (op 1). */
int emu_h_mmx_movq2dq(emu_cpu *cpu, const emu_insn *ins)
{
	int rc = sse_available(cpu);

	if (!rc)
		rc = mmx_enter(cpu);
	if (rc)
		return rc;
	if (ins->op == 0) {
		emu_xmm *x = emu_xmm_reg(cpu, ins->reg);

		x->q[0] = mmx_get(cpu, ins->rm);
		x->q[1] = 0;
	} else {
		mmx_set(cpu, ins->reg, emu_xmm_reg(cpu, ins->rm)->q[0]);
	}
	return EMU_OK;
}

/* MASKMOVQ / MASKMOVDQU: bytes of reg whose mask byte (rm) has bit 7 set go
 * to DS:rDI (segment overridable); aux = n. */
int emu_h_simd_maskmov(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned n = ins->aux;
	uint64_t di = cpu->r[R_DI] & emu_sz_mask(ins->asz);
	emu_xmm v, m;
	int rc = simd_available(cpu, n);

	if (rc)
		return rc;
	simd_get_reg(cpu, ins->reg, n, &v);
	simd_get_reg(cpu, ins->rm, n, &m);
	for (unsigned i = 0; i < n; i++) {
		uint64_t la = (cpu->segbase[ins->seg] + ((di + i) & emu_sz_mask(ins->asz))) &
			      cpu->linmask;

		if (!(m.b[i] & 0x80))
			continue;
		rc = emu_mem_write_slow(cpu, la, &v.b[i], 1, EMU_ACC_W);
		if (rc)
			return rc;
	}
	return EMU_OK;
}

/* EMMS: all x87 tags empty. */
int emu_h_mmx_emms(emu_cpu *cpu, const emu_insn *ins)
{
	if (cpu->cr0 & X86_CR0_EM)
		return emu_ud(cpu);
	if (cpu->cr0 & X86_CR0_TS)
		return emu_fault(cpu, X86_EXC_NM, 0, 0);
	if (emu_x87_pending(cpu))
		return EMU_FAULT;
	cpu->fpu.empty = 0xff;
	cpu->fpu.top = 0;          /* an MMX instruction: TOP = 0 (Intel and AMD) */
	return EMU_OK;
}

/* 0F/66 0F 2A 2C 2D with an MMX side: op 0 CVTPI2PS, 1 CVTPI2PD, 2 CVTPS2PI,
 * 3 CVTTPS2PI, 4 CVTPD2PI, 5 CVTTPD2PI. */
int emu_h_mmx_cvt(emu_cpu *cpu, const emu_insn *ins)
{
	emu_xmm s, *x = emu_xmm_reg(cpu, ins->reg);
	volatile emu_xmm in, out;
	unsigned op = ins->op, host;
	int rc = sse_available(cpu);

	if (!rc && (op > 1 || !ins->mem))       /* an MMX register is involved */
		rc = mmx_enter(cpu);
	if (!rc)
		rc = simd_src(cpu, ins, op >= 4 ? 16 : 8, &s);
	if (rc)
		return rc;
	in = s;
	host = sse_enter(cpu);
	__m128i v = _mm_loadu_si128((const __m128i *)in.b), r;
	switch (op) {
	case 0: r = _mm_castps_si128(_mm_cvtepi32_ps(v)); break;
	case 1: r = _mm_castpd_si128(_mm_cvtepi32_pd(v)); break;
	case 2: r = _mm_cvtps_epi32(_mm_castsi128_ps(v)); break;
	case 3: r = _mm_cvttps_epi32(_mm_castsi128_ps(v)); break;
	case 4: r = _mm_cvtpd_epi32(_mm_castsi128_pd(v)); break;
	default: r = _mm_cvttpd_epi32(_mm_castsi128_pd(v)); break;
	}
	_mm_storeu_si128((__m128i *)out.b, r);
	if ((rc = sse_leave(cpu, host)) != 0)
		return rc;
	if (op == 0)
		x->q[0] = out.q[0];
	else if (op == 1)
		*x = out;
	else
		mmx_set(cpu, ins->reg, out.q[0]);
	return EMU_OK;
}
