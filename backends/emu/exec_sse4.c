/* exec_sse4.c - SSE3 and SSE4.1 floating point and element moves:
 * ADDSUBPS/PD, HADDPS/PD, HSUBPS/PD, MOVSLDUP/MOVSHDUP/MOVDDUP, ROUNDPS/PD/
 * SS/SD, DPPS/DPPD, INSERTPS, EXTRACTPS, PEXTRB/W/D/Q, PINSRB/D/Q, PTEST.
 * Every floating-point operation runs as the scalar host SSE instruction on
 * the elements it combines, under the guest's MXCSR, so rounding, NaN
 * choice and exception flags are the hardware's. */
#include "backends/emu/exec_tab.h"
#include "backends/emu/simd.h"

#define SOP(insn, a, b) __asm__ __volatile__(insn " %1, %0" : "+x"(a) : "x"(b))

/* Scalar a op b for single (dbl 0) or double elements: op 0 add, 1 sub,
 * 2 mul. Values travel as bit patterns. */
static uint64_t fop(unsigned op, int dbl, uint64_t a, uint64_t b)
{
	__m128i x = _mm_cvtsi64_si128((long long)a), y = _mm_cvtsi64_si128((long long)b);

	switch (op * 2 + dbl) {
	case 0: SOP("addss", x, y); break;
	case 1: SOP("addsd", x, y); break;
	case 2: SOP("subss", x, y); break;
	case 3: SOP("subsd", x, y); break;
	case 4: SOP("mulss", x, y); break;
	default: SOP("mulsd", x, y); break;
	}
	return dbl ? (uint64_t)_mm_cvtsi128_si64(x) : (uint32_t)_mm_cvtsi128_si32(x);
}

/* op: 0 ADDSUBPS, 1 ADDSUBPD, 2 HADDPS, 3 HADDPD, 4 HSUBPS, 5 HSUBPD. */
int emu_h_sse3_fp(emu_cpu *cpu, const emu_insn *ins)
{
	emu_xmm *d = emu_xmm_reg(cpu, ins->reg), s, r;
	int dbl = ins->op & 1, rc = sse_available(cpu);
	unsigned es = dbl ? 8 : 4, k = 16 / es, host;

	if (!rc)
		rc = sse_src(cpu, ins, 16, &s);
	if (rc)
		return rc;
	host = sse_enter(cpu);
	for (unsigned i = 0; i < k; i++) {
		const emu_xmm *v = i < k / 2 ? d : &s;
		unsigned j = 2 * (i % (k / 2));

		if (ins->op < 2)
			simd_set_lane(&r, es, i, fop(!(i & 1), dbl, simd_lane(d, es, i),
						     simd_lane(&s, es, i)));
		else
			simd_set_lane(&r, es, i, fop(ins->op >= 4, dbl, simd_lane(v, es, j),
						     simd_lane(v, es, j + 1)));
	}
	if ((rc = sse_leave(cpu, host)) != 0)
		return rc;
	*d = r;
	return EMU_OK;
}

/* MOVSLDUP (op 0), MOVSHDUP (1), MOVDDUP (2: m64 source). */
int emu_h_sse3_dup(emu_cpu *cpu, const emu_insn *ins)
{
	emu_xmm s, r;
	int rc = sse_available(cpu);

	if (!rc)
		rc = sse_src(cpu, ins, ins->op == 2 ? 8 : 16, &s);
	if (rc)
		return rc;
	if (ins->op == 2) {
		r.q[0] = r.q[1] = s.q[0];
	} else {
		for (unsigned i = 0; i < 4; i++)
			r.d[i] = s.d[(i & ~1u) + ins->op];
	}
	*emu_xmm_reg(cpu, ins->reg) = r;
	return EMU_OK;
}

/* v rounded to an integer: mode 0 nearest even, 1 down, 2 up, 3 toward
 * zero; the sign of a zero result is v's. Plain C (no libm). */
static double round_mode(double v, unsigned mode)
{
	double t, diff;

	if (!(v < 4503599627370496.0 && v > -4503599627370496.0))      /* 2^52 */
		return v;
	t = (double)(int64_t)v;                           /* toward zero, exact */
	diff = v - t;                                     /* exact, |diff| < 1 */
	if (mode == 1 && diff < 0)
		t -= 1.0;
	else if (mode == 2 && diff > 0)
		t += 1.0;
	else if (mode == 0 && (diff > 0.5 || (diff == 0.5 && ((int64_t)t & 1))))
		t += 1.0;
	else if (mode == 0 && (diff < -0.5 || (diff == -0.5 && ((int64_t)t & 1))))
		t -= 1.0;
	return t == 0 ? __builtin_copysign(0.0, v) : t;
}

/* One element of ROUNDxx: mode 0 nearest even, 1 down, 2 up, 3 truncate. */
static uint64_t round_elem(emu_cpu *cpu, int dbl, uint64_t x, unsigned mode, int no_pe)
{
	unsigned mant = dbl ? 52 : 23, ebits = dbl ? 11 : 8;
	uint64_t emax = (1ull << ebits) - 1, e = (x >> mant) & emax;
	uint64_t frac = x & ((1ull << mant) - 1), sign = x & (1ull << (mant + ebits));
	double v, r;
	float f;

	if (e == emax) {                                  /* Inf, NaN */
		if (frac && !(frac >> (mant - 1)))
			cpu->fpu.mxcsr |= 1;                  /* SNaN: IE, quieted */
		return frac ? x | (1ull << (mant - 1)) : x;
	}
	if (e == 0 && (cpu->fpu.mxcsr & 0x40))            /* DAZ */
		return sign;
	if (dbl) {
		memcpy(&v, &x, 8);
	} else {
		uint32_t x32 = (uint32_t)x;

		memcpy(&f, &x32, 4);
		v = f;
	}
	r = round_mode(v, mode);
	if (r != v && !no_pe)
		cpu->fpu.mxcsr |= 0x20;
	if (dbl) {
		memcpy(&x, &r, 8);
		return x;
	}
	f = (float)r;
	uint32_t y;
	memcpy(&y, &f, 4);
	return y;
}

/* ROUNDPS (op 0), ROUNDPD (1), ROUNDSS (2), ROUNDSD (3), imm8 mode. */
int emu_h_sse_round(emu_cpu *cpu, const emu_insn *ins)
{
	emu_xmm *d = emu_xmm_reg(cpu, ins->reg), s, r;
	unsigned imm = ins->imm & 0xff, dbl = ins->op & 1, es = dbl ? 8 : 4;
	unsigned mode = imm & 4 ? (cpu->fpu.mxcsr >> 13) & 3 : imm & 3;
	unsigned k = ins->op >= 2 ? 1 : 16 / es, old, fl;
	int rc = sse_available(cpu);

	if (!rc)
		rc = sse_src(cpu, ins, ins->op >= 2 ? es : 16, &s);
	if (rc)
		return rc;
	r = ins->op >= 2 ? *d : s;
	old = cpu->fpu.mxcsr;
	cpu->fpu.mxcsr &= ~0x3fu;         /* round_elem records this one's flags */
	for (unsigned i = 0; i < k; i++)
		simd_set_lane(&r, es, i, round_elem(cpu, (int)dbl, simd_lane(&s, es, i), mode,
						    imm & 8));
	fl = cpu->fpu.mxcsr & 0x3f;
	cpu->fpu.mxcsr = old;
	if ((rc = sse_flags(cpu, fl)) != 0)
		return rc;
	*d = r;
	return EMU_OK;
}

/* DPPS (op 0) / DPPD (op 1): products of the lanes imm[7:4] selects, summed
 * pairwise, into the lanes imm[3:0] selects. The operand order of each
 * multiply and add is Intel's (measured on the host): it only decides
 * which NaN comes out, and differs per destination lane. Products are
 * dest * src; DPPS sums, for lane i, (t[i^1] + t[i]) + (t[i^3] + t[i^2]),
 * DPPD t[i] + t[i^1]. Every lane's sum is formed (the same additions, so
 * the same MXCSR flags). */
int emu_h_sse_dp(emu_cpu *cpu, const emu_insn *ins)
{
	emu_xmm *d = emu_xmm_reg(cpu, ins->reg), s, r;
	unsigned imm = ins->imm & 0xff, dbl = ins->op, es = dbl ? 8 : 4, k = 16 / es, host;
	uint64_t t[4], sum;
	int rc = sse_available(cpu);

	if (!rc)
		rc = sse_src(cpu, ins, 16, &s);
	if (rc)
		return rc;
	host = sse_enter(cpu);
	for (unsigned i = 0; i < k; i++) {
		uint64_t a = simd_lane(d, es, i), b = simd_lane(&s, es, i);

		t[i] = (imm >> (4 + i)) & 1 ? fop(2, (int)dbl, a, b) : 0;
	}
	for (unsigned i = 0; i < k; i++) {
		if (dbl)
			sum = fop(0, 1, t[i], t[i ^ 1]);
		else
			sum = fop(0, 0, fop(0, 0, t[i ^ 1], t[i]), fop(0, 0, t[i ^ 3], t[i ^ 2]));
		simd_set_lane(&r, es, i, (imm >> i) & 1 ? sum : 0);
	}
	if ((rc = sse_leave(cpu, host)) != 0)
		return rc;
	*d = r;
	return EMU_OK;
}

/* 1/x (op 1) or 1/sqrt(x) (op 0) of a float, correctly rounded (the SDM
 * only bounds the error of RCPPS/RSQRTPS at 1.5 * 2^-12, so the exact value
 * is a valid answer); no MXCSR flags. Denormal inputs count as zero and
 * results below the normal range flush to zero, as the hardware does. */
static uint32_t rcp_elem(unsigned op, uint32_t x)
{
	uint32_t sign = x & 0x80000000u, ex = (x >> 23) & 0xff, r;
	double v, q;
	float f;

	if (ex == 0xff)                                      /* NaN, Inf */
		return (x & 0x7fffffu) ? x | 0x400000u : op ? sign : (sign ? 0xffc00000u : 0);
	if (ex == 0)                                         /* +-0, denormals */
		return sign | 0x7f800000u;
	if (!op && sign)
		return 0xffc00000u;                          /* sqrt of a negative */
	memcpy(&f, &x, 4);
	v = f;
	q = v;
	if (!op)
		__asm__("sqrtsd %1, %0" : "=x"(q) : "x"(v));
	q = 1.0 / q;
	f = (float)q;
	memcpy(&r, &f, 4);
	if (((r >> 23) & 0xff) == 0)
		r &= 0x80000000u;
	return r;
}

/* RSQRTPS/SS (op 0), RCPPS/SS (op 1); aux 1: scalar. */
int emu_h_sse_rcp(emu_cpu *cpu, const emu_insn *ins)
{
	emu_xmm *d = emu_xmm_reg(cpu, ins->reg), s;
	int rc = sse_available(cpu);

	if (!rc)
		rc = sse_src(cpu, ins, ins->aux ? 4 : 16, &s);
	if (rc)
		return rc;
	for (unsigned i = 0; i < (ins->aux ? 1u : 4u); i++)
		d->d[i] = rcp_elem(ins->op, s.d[i]);
	return EMU_OK;
}

/* INSERTPS xmm, xmm/m32, imm. */
int emu_h_sse_insertps(emu_cpu *cpu, const emu_insn *ins)
{
	emu_xmm *d = emu_xmm_reg(cpu, ins->reg), s;
	unsigned imm = ins->imm & 0xff;
	int rc = sse_available(cpu);

	if (!rc)
		rc = sse_src(cpu, ins, ins->mem ? 4 : 16, &s);
	if (rc)
		return rc;
	d->d[(imm >> 4) & 3] = s.d[ins->mem ? 0 : imm >> 6];
	for (unsigned i = 0; i < 4; i++)
		if (imm & (1u << i))
			d->d[i] = 0;
	return EMU_OK;
}

/* PEXTRB/W/D/Q and EXTRACTPS r/m, xmm, imm: aux = element bytes. A register
 * destination (rm, GPR offset) gets the element zero-extended to 32 or 64
 * bits. */
int emu_h_sse_pextr(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned es = ins->aux, sel = (unsigned)ins->imm & (16 / es - 1);
	const emu_xmm *x = emu_xmm_reg(cpu, ins->reg);
	uint64_t v;
	int rc = sse_available(cpu);

	if (rc)
		return rc;
	v = simd_lane(x, es, sel);
	if (!ins->mem)
		return emu_rm_write(cpu, ins, ins->osz == EMU_SZ64 ? EMU_SZ64 : EMU_SZ32, v);
	return emu_mem_write_slow(cpu, emu_ea(cpu, ins), &v, es, EMU_ACC_W);
}

/* PINSRB/D/Q xmm, r/m, imm: aux = element bytes. */
int emu_h_sse_pinsr(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned es = ins->aux, sel = (unsigned)ins->imm & (16 / es - 1);
	uint64_t v = 0;
	int rc = sse_available(cpu);

	if (rc)
		return rc;
	if (ins->mem)
		rc = emu_mem_read_slow(cpu, emu_ea(cpu, ins), &v, es, 0);
	else
		v = emu_reg_get(cpu, ins->rm, es == 8 ? EMU_SZ64 : EMU_SZ32);
	if (rc)
		return rc;
	simd_set_lane(emu_xmm_reg(cpu, ins->reg), es, sel, v);
	return EMU_OK;
}

/* PTEST: ZF = (d AND s) == 0, CF = (NOT d AND s) == 0, others clear. */
int emu_h_sse_ptest(emu_cpu *cpu, const emu_insn *ins)
{
	const emu_xmm *d = emu_xmm_reg(cpu, ins->reg);
	emu_xmm s;
	uint64_t f = 0;
	int rc = sse_available(cpu);

	if (!rc)
		rc = sse_src(cpu, ins, 16, &s);
	if (rc)
		return rc;
	if (!((d->q[0] & s.q[0]) | (d->q[1] & s.q[1])))
		f |= X86_FL_ZF;
	if (!((~d->q[0] & s.q[0]) | (~d->q[1] & s.q[1])))
		f |= X86_FL_CF;
	emu_set_rflags(cpu, (emu_get_rflags(cpu) & ~X86_FL_ARITH) | f);
	return EMU_OK;
}
