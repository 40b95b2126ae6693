/* exec_sse_cvt.c - SSE/SSE2 conversions (integer <-> float, single <->
 * double, packed and scalar; rounding from MXCSR or truncating), SHUFPS/PD
 * and UNPCKLPS/HPS/LPD/HPD. */
#include "backends/emu/exec_tab.h"
#include "backends/emu/sse.h"

enum { PS, PD, SS, SD };

/* CVTSI2SS / CVTSI2SD: xmm(reg) low element from r/m32/64 (aux: SS/SD). */
int emu_h_sse_cvtsi2f(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned sz = ins->osz == EMU_SZ64 ? EMU_SZ64 : EMU_SZ32, host;
	emu_xmm *d = emu_xmm_reg(cpu, ins->reg);
	volatile int64_t in;
	volatile float f;
	volatile double g;
	uint64_t v;
	int rc = sse_available(cpu);

	if (!rc)
		rc = emu_rm_read(cpu, ins, sz, &v);
	if (rc)
		return rc;
	in = sz == EMU_SZ64 ? (int64_t)v : (int64_t)(int32_t)v;
	host = sse_enter(cpu);
	if (ins->aux == SS)
		f = (float)in;
	else
		g = (double)in;
	if ((rc = sse_leave(cpu, host)) != 0)
		return rc;
	if (ins->aux == SS)
		d->f[0] = f;
	else
		d->df[0] = g;
	return EMU_OK;
}

/* CVT(T)SS2SI / CVT(T)SD2SI: general register = low element; op 1
 * truncates; aux SS/SD. */
int emu_h_sse_cvtf2si(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned n = ins->aux == SS ? 4 : 8, host;
	int is64 = ins->osz == EMU_SZ64;
	volatile emu_xmm in;
	volatile int64_t out;
	emu_xmm s;
	int rc = sse_available(cpu);

	if (!rc)
		rc = sse_src(cpu, ins, n, &s);
	if (rc)
		return rc;
	in = s;
	host = sse_enter(cpu);
	if (ins->aux == SS) {
		__m128 x = _mm_set_ss(in.f[0]);

		out = is64 ? (ins->op ? _mm_cvttss_si64(x) : _mm_cvtss_si64(x))
			   : (ins->op ? _mm_cvttss_si32(x) : _mm_cvtss_si32(x));
	} else {
		__m128d x = _mm_set_sd(in.df[0]);

		out = is64 ? (ins->op ? _mm_cvttsd_si64(x) : _mm_cvtsd_si64(x))
			   : (ins->op ? _mm_cvttsd_si32(x) : _mm_cvtsd_si32(x));
	}
	if ((rc = sse_leave(cpu, host)) != 0)
		return rc;
	emu_reg_set(cpu, ins->reg, is64 ? EMU_SZ64 : EMU_SZ32, (uint64_t)out);
	return EMU_OK;
}

/* The 5A/5B/E6 conversions; op selects: 0 ps2pd, 1 pd2ps, 2 ss2sd, 3 sd2ss,
 * 4 dq2ps, 5 ps2dq, 6 tps2dq, 7 dq2pd, 8 pd2dq, 9 tpd2dq. */
static const uint8_t cvt_src_bytes[] = { 8, 16, 4, 8, 16, 16, 16, 8, 16, 16 };

static __m128i cvt(unsigned op, __m128i a, __m128i s)
{
	switch (op) {
	case 0: return _mm_castpd_si128(_mm_cvtps_pd(_mm_castsi128_ps(s)));
	case 1: return _mm_castps_si128(_mm_cvtpd_ps(_mm_castsi128_pd(s)));
	case 2: return _mm_castpd_si128(_mm_cvtss_sd(_mm_castsi128_pd(a), _mm_castsi128_ps(s)));
	case 3: return _mm_castps_si128(_mm_cvtsd_ss(_mm_castsi128_ps(a), _mm_castsi128_pd(s)));
	case 4: return _mm_castps_si128(_mm_cvtepi32_ps(s));
	case 5: return _mm_cvtps_epi32(_mm_castsi128_ps(s));
	case 6: return _mm_cvttps_epi32(_mm_castsi128_ps(s));
	case 7: return _mm_castpd_si128(_mm_cvtepi32_pd(s));
	case 8: return _mm_cvtpd_epi32(_mm_castsi128_pd(s));
	default: return _mm_cvttpd_epi32(_mm_castsi128_pd(s));
	}
}

int emu_h_sse_cvt(emu_cpu *cpu, const emu_insn *ins)
{
	emu_xmm *d = emu_xmm_reg(cpu, ins->reg), s;
	volatile emu_xmm a, b, r;
	unsigned host;
	int rc = sse_available(cpu);

	if (!rc)
		rc = sse_src(cpu, ins, cvt_src_bytes[ins->op], &s);
	if (rc)
		return rc;
	a = *d;
	b = s;
	host = sse_enter(cpu);
	_mm_storeu_si128((__m128i *)r.b, cvt(ins->op, _mm_loadu_si128((const __m128i *)a.b),
					     _mm_loadu_si128((const __m128i *)b.b)));
	if ((rc = sse_leave(cpu, host)) != 0)
		return rc;
	*d = r;
	return EMU_OK;
}

/* SHUFPS (aux 4) / SHUFPD (aux 8) with imm. */
int emu_h_sse_shuf(emu_cpu *cpu, const emu_insn *ins)
{
	emu_xmm *d = emu_xmm_reg(cpu, ins->reg), s, r;
	unsigned imm = ins->imm & 0xff;
	int rc = sse_available(cpu);

	if (!rc)
		rc = sse_src(cpu, ins, 16, &s);
	if (rc)
		return rc;
	if (ins->aux == 4) {
		r.d[0] = d->d[imm & 3];
		r.d[1] = d->d[(imm >> 2) & 3];
		r.d[2] = s.d[(imm >> 4) & 3];
		r.d[3] = s.d[(imm >> 6) & 3];
	} else {
		r.q[0] = d->q[imm & 1];
		r.q[1] = s.q[(imm >> 1) & 1];
	}
	*d = r;
	return EMU_OK;
}

/* UNPCKLPS (op 0), UNPCKHPS (1), UNPCKLPD (2), UNPCKHPD (3). */
int emu_h_sse_unpck(emu_cpu *cpu, const emu_insn *ins)
{
	emu_xmm *d = emu_xmm_reg(cpu, ins->reg), s, r;
	unsigned hi = ins->op & 1;
	int rc = sse_available(cpu);

	if (!rc)
		rc = sse_src(cpu, ins, 16, &s);
	if (rc)
		return rc;
	if (ins->op < 2) {
		r.d[0] = d->d[2 * hi];
		r.d[1] = s.d[2 * hi];
		r.d[2] = d->d[2 * hi + 1];
		r.d[3] = s.d[2 * hi + 1];
	} else {
		r.q[0] = d->q[hi];
		r.q[1] = s.q[hi];
	}
	*d = r;
	return EMU_OK;
}
