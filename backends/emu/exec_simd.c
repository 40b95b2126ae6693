/* exec_simd.c - the packed-integer operations of simd_ops.h, for MMX and
 * XMM vectors alike, and emu_h_simd which runs them. Each operation is one
 * generator line: LANE (element-wise d = f(d, s)), SHIFT, UNPACK, PACK,
 * HORIZ (pairwise within each operand), PMOVX (widening), or a short
 * function for the few irregular ones. */
#include <stdlib.h>

#include "backends/emu/exec_tab.h"
#include "backends/emu/simd.h"

#define SIMD_ARGS emu_xmm *d, const emu_xmm *s, unsigned n, unsigned imm, const emu_xmm *x0

/* d[i] = expr over a = d[i], b = s[i] (unsigned) and sa, sb (signed). */
#define LANE(name, es, expr)                                                     \
	static void name(SIMD_ARGS)                                              \
	{                                                                        \
		for (unsigned i = 0; i < n / (es); i++) {                        \
			uint64_t a = simd_lane(d, es, i), b = simd_lane(s, es, i);  \
			int64_t sa = simd_slane(d, es, i), sb = simd_slane(s, es, i); \
			(void)a; (void)b; (void)sa; (void)sb;                    \
			simd_set_lane(d, es, i, (uint64_t)(expr));               \
		}                                                                \
	}
#define ONES (~0ull)

LANE(paddb, 1, a + b) LANE(paddw, 2, a + b) LANE(paddd, 4, a + b) LANE(paddq, 8, a + b)
LANE(psubb, 1, a - b) LANE(psubw, 2, a - b) LANE(psubd, 4, a - b) LANE(psubq, 8, a - b)
LANE(paddsb, 1, simd_sat_s(sa + sb, 1)) LANE(paddsw, 2, simd_sat_s(sa + sb, 2))
LANE(psubsb, 1, simd_sat_s(sa - sb, 1)) LANE(psubsw, 2, simd_sat_s(sa - sb, 2))
LANE(paddusb, 1, simd_sat_u((int64_t)(a + b), 1))
LANE(paddusw, 2, simd_sat_u((int64_t)(a + b), 2))
LANE(psubusb, 1, simd_sat_u((int64_t)a - (int64_t)b, 1))
LANE(psubusw, 2, simd_sat_u((int64_t)a - (int64_t)b, 2))
LANE(pcmpeqb, 1, a == b ? ONES : 0) LANE(pcmpeqw, 2, a == b ? ONES : 0)
LANE(pcmpeqd, 4, a == b ? ONES : 0) LANE(pcmpeqq, 8, a == b ? ONES : 0)
LANE(pcmpgtb, 1, sa > sb ? ONES : 0) LANE(pcmpgtw, 2, sa > sb ? ONES : 0)
LANE(pcmpgtd, 4, sa > sb ? ONES : 0) LANE(pcmpgtq, 8, sa > sb ? ONES : 0)
LANE(pminub, 1, a < b ? a : b) LANE(pminuw, 2, a < b ? a : b) LANE(pminud, 4, a < b ? a : b)
LANE(pmaxub, 1, a > b ? a : b) LANE(pmaxuw, 2, a > b ? a : b) LANE(pmaxud, 4, a > b ? a : b)
LANE(pminsb, 1, sa < sb ? a : b) LANE(pminsw, 2, sa < sb ? a : b)
LANE(pminsd, 4, sa < sb ? a : b)
LANE(pmaxsb, 1, sa > sb ? a : b) LANE(pmaxsw, 2, sa > sb ? a : b)
LANE(pmaxsd, 4, sa > sb ? a : b)
LANE(pavgb, 1, (a + b + 1) >> 1) LANE(pavgw, 2, (a + b + 1) >> 1)
LANE(pmullw, 2, a * b) LANE(pmulld, 4, a * b)
LANE(pmulhw, 2, (uint64_t)(sa * sb) >> 16) LANE(pmulhuw, 2, (a * b) >> 16)
LANE(pmulhrsw, 2, (uint64_t)((((sa * sb) >> 14) + 1) >> 1))
LANE(pmuludq, 8, (a & 0xffffffffu) * (b & 0xffffffffu))
LANE(pmuldq, 8, (uint64_t)((int64_t)(int32_t)a * (int32_t)b))
LANE(pand, 8, a & b) LANE(pandn, 8, ~a & b) LANE(por, 8, a | b) LANE(pxor, 8, a ^ b)
LANE(psignb, 1, sb < 0 ? -a : sb ? a : 0) LANE(psignw, 2, sb < 0 ? -a : sb ? a : 0)
LANE(psignd, 4, sb < 0 ? -a : sb ? a : 0)
LANE(pabsb, 1, sb < 0 ? -sb : sb) LANE(pabsw, 2, sb < 0 ? -sb : sb)
LANE(pabsd, 4, sb < 0 ? -sb : sb)

/* Shift by the count in the source's low 64 bits. */
#define SHIFT(name, es, kind) \
	static void name(SIMD_ARGS) { emu_simd_shift(d, n, es, kind, s->q[0]); }
SHIFT(psrlw, 2, 0) SHIFT(psrld, 4, 0) SHIFT(psrlq, 8, 0)
SHIFT(psraw, 2, 1) SHIFT(psrad, 4, 1)
SHIFT(psllw, 2, 2) SHIFT(pslld, 4, 2) SHIFT(psllq, 8, 2)

/* Interleave the low (hi = 0) or high halves of d and s. */
#define UNPACK(name, es, hi)                                                     \
	static void name(SIMD_ARGS)                                              \
	{                                                                        \
		emu_xmm r;                                                       \
		unsigned h = n / 2 / (es);                                       \
		for (unsigned i = 0; i < h; i++) {                               \
			simd_set_lane(&r, es, 2 * i, simd_lane(d, es, (hi) * h + i)); \
			simd_set_lane(&r, es, 2 * i + 1, simd_lane(s, es, (hi) * h + i)); \
		}                                                                \
		*d = r;                                                          \
	}
UNPACK(punpcklbw, 1, 0) UNPACK(punpcklwd, 2, 0) UNPACK(punpckldq, 4, 0)
UNPACK(punpcklqdq, 8, 0) UNPACK(punpckhbw, 1, 1) UNPACK(punpckhwd, 2, 1)
UNPACK(punpckhdq, 4, 1) UNPACK(punpckhqdq, 8, 1)

/* Narrow elements of size es of d then s to es/2 with (un)signed saturation. */
#define PACK(name, es, sat)                                                      \
	static void name(SIMD_ARGS)                                              \
	{                                                                        \
		emu_xmm r;                                                       \
		unsigned k = n / (es);                                           \
		for (unsigned i = 0; i < 2 * k; i++) {                           \
			const emu_xmm *v = i < k ? d : s;                        \
			simd_set_lane(&r, (es) / 2, i,                           \
				      (uint64_t)sat(simd_slane(v, es, i % k), (es) / 2)); \
		}                                                                \
		*d = r;                                                          \
	}
PACK(packsswb, 2, simd_sat_s) PACK(packuswb, 2, simd_sat_u)
PACK(packssdw, 4, simd_sat_s) PACK(packusdw, 4, simd_sat_u)

/* Pairwise: the low half from d's pairs, the high half from s's pairs. */
#define HORIZ(name, es, expr)                                                    \
	static void name(SIMD_ARGS)                                              \
	{                                                                        \
		emu_xmm r;                                                       \
		unsigned k = n / (es) / 2;                                       \
		for (unsigned i = 0; i < 2 * k; i++) {                           \
			const emu_xmm *v = i < k ? d : s;                        \
			int64_t a = simd_slane(v, es, 2 * (i % k));              \
			int64_t b = simd_slane(v, es, 2 * (i % k) + 1);          \
			simd_set_lane(&r, es, i, (uint64_t)(expr));              \
		}                                                                \
		*d = r;                                                          \
	}
HORIZ(phaddw, 2, a + b) HORIZ(phaddd, 4, a + b) HORIZ(phaddsw, 2, simd_sat_s(a + b, 2))
HORIZ(phsubw, 2, a - b) HORIZ(phsubd, 4, a - b) HORIZ(phsubsw, 2, simd_sat_s(a - b, 2))

/* Widen the low elements of s (size from) to size to, signed or not. */
#define PMOVX(name, from, to, sgn)                                               \
	static void name(SIMD_ARGS)                                              \
	{                                                                        \
		emu_xmm r;                                                       \
		for (unsigned i = 0; i < 16 / (to); i++)                         \
			simd_set_lane(&r, to, i, sgn ? (uint64_t)simd_slane(s, from, i) \
						     : simd_lane(s, from, i));   \
		*d = r;                                                          \
	}
PMOVX(pmovsxbw, 1, 2, 1) PMOVX(pmovsxbd, 1, 4, 1) PMOVX(pmovsxbq, 1, 8, 1)
PMOVX(pmovsxwd, 2, 4, 1) PMOVX(pmovsxwq, 2, 8, 1) PMOVX(pmovsxdq, 4, 8, 1)
PMOVX(pmovzxbw, 1, 2, 0) PMOVX(pmovzxbd, 1, 4, 0) PMOVX(pmovzxbq, 1, 8, 0)
PMOVX(pmovzxwd, 2, 4, 0) PMOVX(pmovzxwq, 2, 8, 0) PMOVX(pmovzxdq, 4, 8, 0)

/* Select s's element i where sel says so (BLENDV: x0's sign bits; BLEND:
 * imm bit i). */
#define BLEND(name, es, sel)                                                     \
	static void name(SIMD_ARGS)                                              \
	{                                                                        \
		for (unsigned i = 0; i < 16 / (es); i++)                         \
			if (sel)                                                 \
				simd_set_lane(d, es, i, simd_lane(s, es, i));    \
	}
BLEND(pblendvb, 1, x0->b[i] >> 7) BLEND(blendvps, 4, x0->d[i] >> 31)
BLEND(blendvpd, 8, x0->q[i] >> 63) BLEND(blendps, 4, (imm >> i) & 1)
BLEND(blendpd, 8, (imm >> i) & 1) BLEND(pblendw, 2, (imm >> i) & 1)

static void pmaddwd(SIMD_ARGS)
{
	for (unsigned i = 0; i < n / 4; i++)
		d->d[i] = (uint32_t)((int16_t)d->w[2 * i] * (int16_t)s->w[2 * i] +
				     (int16_t)d->w[2 * i + 1] * (int16_t)s->w[2 * i + 1]);
}

static void pmaddubsw(SIMD_ARGS)
{
	for (unsigned i = 0; i < n / 2; i++)
		d->w[i] = (uint16_t)simd_sat_s(d->b[2 * i] * (int8_t)s->b[2 * i] +
					       d->b[2 * i + 1] * (int8_t)s->b[2 * i + 1], 2);
}

static void psadbw(SIMD_ARGS)
{
	for (unsigned h = 0; h < n / 8; h++) {
		unsigned sum = 0;

		for (unsigned i = 0; i < 8; i++)
			sum += (unsigned)abs((int)d->b[8 * h + i] - (int)s->b[8 * h + i]);
		d->q[h] = sum;
	}
}

static void pshufb(SIMD_ARGS)
{
	emu_xmm r;

	for (unsigned i = 0; i < n; i++)
		r.b[i] = s->b[i] & 0x80 ? 0 : d->b[s->b[i] & (n - 1)];
	*d = r;
}

/* (d:s) >> 8 * imm, the low n bytes. */
static void palignr(SIMD_ARGS)
{
	uint8_t cat[32];
	emu_xmm r;

	memcpy(cat, s->b, n);
	memcpy(cat + n, d->b, n);
	for (unsigned i = 0; i < n; i++)
		r.b[i] = i + imm < 2 * n ? cat[i + imm] : 0;
	*d = r;
}

static void phminposuw(SIMD_ARGS)
{
	unsigned best = 0;

	for (unsigned i = 1; i < 8; i++)
		if (s->w[i] < s->w[best])
			best = i;
	memset(d, 0, sizeof(*d));
	d->w[0] = s->w[best];
	d->w[1] = (uint16_t)best;
}

static void mpsadbw(SIMD_ARGS)
{
	unsigned so = (imm & 3) * 4, dof = (imm & 4);
	emu_xmm r;

	for (unsigned i = 0; i < 8; i++) {
		unsigned sum = 0;

		for (unsigned j = 0; j < 4; j++)
			sum += (unsigned)abs((int)d->b[dof + i + j] - (int)s->b[so + j]);
		r.w[i] = (uint16_t)sum;
	}
	*d = r;
}

#define SIMD_OP(map, opc, forms, name, srcn) [SIMD_ID_##name] = { name, forms, srcn },
const simd_op emu_simd_ops[SIMD_ID_COUNT] = {
#include "backends/emu/simd_ops.h"
};
#undef SIMD_OP

#define SIMD_OP(map, opc, forms, name, srcn) [map][opc] = SIMD_ID_##name,
const uint8_t emu_simd_index[3][256] = {
#include "backends/emu/simd_ops.h"
};
#undef SIMD_OP

/* op = operation id, aux = vector bytes (8 MMX, 16 XMM); reg/rm register
 * numbers. */
int emu_h_simd(emu_cpu *cpu, const emu_insn *ins)
{
	const simd_op *op = &emu_simd_ops[ins->op];
	unsigned n = ins->aux;
	emu_xmm d, s;
	int rc = simd_available(cpu, n);

	if (!rc)
		rc = simd_src(cpu, ins, n == 8 ? 8 : op->srcn, &s);
	if (rc)
		return rc;
	simd_get_reg(cpu, ins->reg, n, &d);
	op->fn(&d, &s, n, (unsigned)(ins->imm & 0xff), &cpu->fpu.xmm[0]);
	simd_put_reg(cpu, ins->reg, n, &d);
	return EMU_OK;
}
