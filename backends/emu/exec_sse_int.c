/* exec_sse_int.c - SSE2 integer instructions on XMM registers (66 0F xx):
 * add/sub (wrapping, signed and unsigned saturating), multiplies, compares,
 * min/max, average, logic, pack/unpack, shifts (by XMM count and by
 * immediate, including whole-register byte shifts), PSHUFD/HW/LW,
 * PMOVMSKB, PINSRW/PEXTRW, PSADBW, PMADDWD. Element loops in plain C. */
#include <stdlib.h>

#include "backends/emu/exec_tab.h"
#include "backends/emu/sse.h"

static int8_t sat8(int v) { return (int8_t)(v > 127 ? 127 : v < -128 ? -128 : v); }
static uint8_t satu8(int v) { return (uint8_t)(v > 255 ? 255 : v < 0 ? 0 : v); }
static int16_t sat16(int v) { return (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v); }
static uint16_t satu16(int v) { return (uint16_t)(v > 65535 ? 65535 : v < 0 ? 0 : v); }

static void add_sub(unsigned op, emu_xmm *d, const emu_xmm *s)
{
	for (unsigned i = 0; i < 16; i++) {
		int a = (int8_t)d->b[i], b = (int8_t)s->b[i], ua = d->b[i], ub = s->b[i];

		switch (op) {
		case 0xfc: d->b[i] = (uint8_t)(ua + ub); break;
		case 0xf8: d->b[i] = (uint8_t)(ua - ub); break;
		case 0xec: d->b[i] = (uint8_t)sat8(a + b); break;
		case 0xe8: d->b[i] = (uint8_t)sat8(a - b); break;
		case 0xdc: d->b[i] = satu8(ua + ub); break;
		case 0xd8: d->b[i] = satu8(ua - ub); break;
		}
	}
	for (unsigned i = 0; i < 8; i++) {
		int a = (int16_t)d->w[i], b = (int16_t)s->w[i], ua = d->w[i], ub = s->w[i];

		switch (op) {
		case 0xfd: d->w[i] = (uint16_t)(ua + ub); break;
		case 0xf9: d->w[i] = (uint16_t)(ua - ub); break;
		case 0xed: d->w[i] = (uint16_t)sat16(a + b); break;
		case 0xe9: d->w[i] = (uint16_t)sat16(a - b); break;
		case 0xdd: d->w[i] = satu16(ua + ub); break;
		case 0xd9: d->w[i] = satu16(ua - ub); break;
		}
	}
	for (unsigned i = 0; i < 4; i++) {
		if (op == 0xfe) d->d[i] += s->d[i];
		if (op == 0xfa) d->d[i] -= s->d[i];
	}
	for (unsigned i = 0; i < 2; i++) {
		if (op == 0xd4) d->q[i] += s->q[i];
		if (op == 0xfb) d->q[i] -= s->q[i];
	}
}

static void mul_cmp(unsigned op, emu_xmm *d, const emu_xmm *s)
{
	emu_xmm r = *d;

	for (unsigned i = 0; i < 8; i++) {
		int32_t p = (int16_t)d->w[i] * (int16_t)s->w[i];
		uint32_t up = (uint32_t)d->w[i] * s->w[i];

		switch (op) {
		case 0xd5: r.w[i] = (uint16_t)p; break;
		case 0xe5: r.w[i] = (uint16_t)((uint32_t)p >> 16); break;
		case 0xe4: r.w[i] = (uint16_t)(up >> 16); break;
		case 0x65: r.w[i] = (int16_t)d->w[i] > (int16_t)s->w[i] ? 0xffff : 0; break;
		case 0x75: r.w[i] = d->w[i] == s->w[i] ? 0xffff : 0; break;
		case 0xea: r.w[i] = (int16_t)d->w[i] < (int16_t)s->w[i] ? d->w[i] : s->w[i]; break;
		case 0xee: r.w[i] = (int16_t)d->w[i] > (int16_t)s->w[i] ? d->w[i] : s->w[i]; break;
		case 0xe3: r.w[i] = (uint16_t)((d->w[i] + s->w[i] + 1u) >> 1); break;
		}
	}
	for (unsigned i = 0; i < 16; i++) {
		switch (op) {
		case 0x64: r.b[i] = (int8_t)d->b[i] > (int8_t)s->b[i] ? 0xff : 0; break;
		case 0x74: r.b[i] = d->b[i] == s->b[i] ? 0xff : 0; break;
		case 0xda: r.b[i] = d->b[i] < s->b[i] ? d->b[i] : s->b[i]; break;
		case 0xde: r.b[i] = d->b[i] > s->b[i] ? d->b[i] : s->b[i]; break;
		case 0xe0: r.b[i] = (uint8_t)((d->b[i] + s->b[i] + 1u) >> 1); break;
		}
	}
	for (unsigned i = 0; i < 4; i++) {
		if (op == 0x66) r.d[i] = (int32_t)d->d[i] > (int32_t)s->d[i] ? ~0u : 0;
		if (op == 0x76) r.d[i] = d->d[i] == s->d[i] ? ~0u : 0;
		if (op == 0xf5)
			r.d[i] = (uint32_t)((int16_t)d->w[2 * i] * (int16_t)s->w[2 * i] +
					    (int16_t)d->w[2 * i + 1] * (int16_t)s->w[2 * i + 1]);
	}
	if (op == 0xf4) {
		r.q[0] = (uint64_t)d->d[0] * s->d[0];
		r.q[1] = (uint64_t)d->d[2] * s->d[2];
	}
	if (op == 0xf6) {
		for (unsigned h = 0; h < 2; h++) {
			unsigned sum = 0;

			for (unsigned i = 0; i < 8; i++)
				sum += (unsigned)abs((int)d->b[8 * h + i] - (int)s->b[8 * h + i]);
			r.q[h] = sum;
		}
	}
	*d = r;
}

static void pack_unpack(unsigned op, emu_xmm *d, const emu_xmm *s)
{
	emu_xmm r;
	const emu_xmm *src[2] = { d, s };
	unsigned hi = (op >= 0x68 && op <= 0x6a) || op == 0x6d;

	memset(&r, 0, sizeof(r));
	switch (op) {
	case 0x60: case 0x68:
		for (unsigned i = 0; i < 8; i++)
			r.b[2 * i] = d->b[8 * hi + i], r.b[2 * i + 1] = s->b[8 * hi + i];
		break;
	case 0x61: case 0x69:
		for (unsigned i = 0; i < 4; i++)
			r.w[2 * i] = d->w[4 * hi + i], r.w[2 * i + 1] = s->w[4 * hi + i];
		break;
	case 0x62: case 0x6a:
		for (unsigned i = 0; i < 2; i++)
			r.d[2 * i] = d->d[2 * hi + i], r.d[2 * i + 1] = s->d[2 * hi + i];
		break;
	case 0x6c: case 0x6d: r.q[0] = d->q[hi]; r.q[1] = s->q[hi]; break;
	case 0x63: case 0x67:
		for (unsigned i = 0; i < 16; i++) {
			int v = (int16_t)src[i / 8]->w[i % 8];

			r.b[i] = op == 0x63 ? (uint8_t)sat8(v) : satu8(v);
		}
		break;
	default:                                                    /* 6B PACKSSDW */
		for (unsigned i = 0; i < 8; i++) {
			int32_t v = (int32_t)src[i / 4]->d[i % 4];

			r.w[i] = (uint16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
		}
		break;
	}
	*d = r;
}

/* Shift every element of size es (2, 4, 8) by count: kind 0 logical right,
 * 1 arithmetic right, 2 left. */
static void shift(emu_xmm *d, unsigned es, unsigned kind, uint64_t count)
{
	unsigned bits = es * 8, n = 16 / es;

	for (unsigned i = 0; i < n; i++) {
		uint64_t v = es == 2 ? d->w[i] : es == 4 ? d->d[i] : d->q[i];

		if (kind == 1) {
			int64_t sv = es == 2 ? (int16_t)v : es == 4 ? (int32_t)v : (int64_t)v;

			v = (uint64_t)(sv >> (count >= bits ? bits - 1 : count));
		} else if (count >= bits) {
			v = 0;
		} else {
			v = kind == 0 ? v >> count : v << count;
		}
		if (es == 2) d->w[i] = (uint16_t)v;
		else if (es == 4) d->d[i] = (uint32_t)v;
		else d->q[i] = v;
	}
}

/* Integer ops with an XMM/m128 source: op = opcode. */
int emu_h_sse_int(emu_cpu *cpu, const emu_insn *ins)
{
	emu_xmm *d = emu_xmm_reg(cpu, ins->reg), s;
	unsigned op = ins->op;
	int rc = sse_available(cpu);

	if (!rc)
		rc = sse_src(cpu, ins, 16, &s);
	if (rc)
		return rc;
	if ((op >= 0x60 && op <= 0x6d) && op != 0x64 && op != 0x65 && op != 0x66)
		pack_unpack(op, d, &s);
	else if (op == 0xdb || op == 0xdf || op == 0xeb || op == 0xef)
		for (unsigned i = 0; i < 2; i++)
			d->q[i] = op == 0xdb ? d->q[i] & s.q[i] : op == 0xdf ? ~d->q[i] & s.q[i] :
				  op == 0xeb ? d->q[i] | s.q[i] : d->q[i] ^ s.q[i];
	else if ((op >= 0xd1 && op <= 0xd3) || op == 0xe1 || op == 0xe2 ||
		 (op >= 0xf1 && op <= 0xf3))
		shift(d, 1u << ((op & 3)), op >= 0xf0 ? 2 : op >= 0xe0 ? 1 : 0, s.q[0]);
	else if (op == 0xfc || op == 0xfd || op == 0xfe || op == 0xd4 || op == 0xf8 ||
		 op == 0xf9 || op == 0xfa || op == 0xfb || op == 0xec || op == 0xed ||
		 op == 0xe8 || op == 0xe9 || op == 0xdc || op == 0xdd || op == 0xd8 || op == 0xd9)
		add_sub(op, d, &s);
	else
		mul_cmp(op, d, &s);
	return EMU_OK;
}

/* 66 0F 71/72/73 with imm: op = opcode, aux = ModRM.reg; xmm in rm. */
int emu_h_sse_shift_imm(emu_cpu *cpu, const emu_insn *ins)
{
	emu_xmm *d = emu_xmm_reg(cpu, ins->rm), r;
	unsigned es = ins->op == 0x71 ? 2 : ins->op == 0x72 ? 4 : 8, cnt = ins->imm & 0xff;
	int rc = sse_available(cpu);

	if (rc)
		return rc;
	if (ins->op == 0x73 && (ins->aux == 3 || ins->aux == 7)) {   /* PSRLDQ / PSLLDQ */
		memset(&r, 0, sizeof(r));
		for (unsigned i = 0; i < 16; i++) {
			int from = ins->aux == 3 ? (int)(i + cnt) : (int)i - (int)cnt;

			if (from >= 0 && from < 16)
				r.b[i] = d->b[from];
		}
		*d = r;
		return EMU_OK;
	}
	shift(d, es, ins->aux == 2 ? 0 : ins->aux == 4 ? 1 : 2, cnt);
	return EMU_OK;
}

/* PSHUFD (op 0), PSHUFHW (1), PSHUFLW (2) with imm. */
int emu_h_sse_pshuf(emu_cpu *cpu, const emu_insn *ins)
{
	emu_xmm *d = emu_xmm_reg(cpu, ins->reg), s, r;
	unsigned imm = ins->imm & 0xff;
	int rc = sse_available(cpu);

	if (!rc)
		rc = sse_src(cpu, ins, 16, &s);
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
	*d = r;
	return EMU_OK;
}

/* PMOVMSKB r32, xmm. */
int emu_h_sse_pmovmskb(emu_cpu *cpu, const emu_insn *ins)
{
	const emu_xmm *s = emu_xmm_reg(cpu, ins->rm);
	uint64_t m = 0;
	int rc = sse_available(cpu);

	if (rc)
		return rc;
	for (unsigned i = 0; i < 16; i++)
		m |= (uint64_t)(s->b[i] >> 7) << i;
	cpu->r[ins->op] = m;
	return EMU_OK;
}

/* PINSRW xmm, r32/m16, imm (op 0) / PEXTRW r32, xmm, imm (op 1). */
int emu_h_sse_pinsrw(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned sel = ins->imm & 7;
	uint64_t v;
	int rc = sse_available(cpu);

	if (rc)
		return rc;
	if (ins->op == 1) {
		cpu->r[ins->aux] = emu_xmm_reg(cpu, ins->rm)->w[sel];
		return EMU_OK;
	}
	rc = emu_rm_read(cpu, ins, EMU_SZ16, &v);
	if (rc)
		return rc;
	emu_xmm_reg(cpu, ins->reg)->w[sel] = (uint16_t)v;
	return EMU_OK;
}
