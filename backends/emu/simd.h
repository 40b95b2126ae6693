/* simd.h - the packed-integer engine shared by MMX (0F xx, 8-byte vectors in
 * the x87 registers) and SSE2..SSE4.2 (66 0F xx, 66 0F 38 xx, 66 0F 3A xx,
 * 16-byte XMM vectors). One table (simd_ops.h, an X-macro list) names every
 * operation once with its opcode, the forms it has (MMX, XMM) and the
 * function that computes it for either vector length; the binder and the
 * executor are generated from that list. */
#ifndef VMM_EMU_SIMD_H
#define VMM_EMU_SIMD_H

#include "backends/emu/sse.h"
#include "backends/emu/x87.h"

/* Computes d = op(d, s) over n (8 or 16) bytes; imm is the instruction's
 * imm8, x0 is XMM0 (the implicit mask of the BLENDV family). */
typedef void simd_fn(emu_xmm *d, const emu_xmm *s, unsigned n, unsigned imm,
		     const emu_xmm *x0);

/* Forms an operation has: MMX (no prefix) and/or XMM (66 prefix). */
enum { SIMD_M = 1, SIMD_X = 2, SIMD_MX = 3 };

/* Operation ids, from the list. */
#define SIMD_OP(map, opc, forms, name, srcn) SIMD_ID_##name,
enum {
	SIMD_ID_NONE,
#include "backends/emu/simd_ops.h"
	SIMD_ID_COUNT
};
#undef SIMD_OP

typedef struct simd_op {
	simd_fn *fn;
	uint8_t forms;      /* SIMD_M / SIMD_X */
	uint8_t srcn;       /* XMM memory source bytes (16, or 8/4/2 for PMOVSX/ZX) */
} simd_op;

extern const simd_op emu_simd_ops[SIMD_ID_COUNT];
/* By map (0F, 0F38, 0F3A) and opcode: operation id or 0. */
extern const uint8_t emu_simd_index[3][256];

/* ---- MMX registers: MMi is the mantissa of physical x87 register Ri -------- */
static inline uint64_t mmx_get(const emu_cpu *cpu, unsigned i)
{
	uint64_t v;

	memcpy(&v, &cpu->fpu.st[i & 7], 8);
	return v;
}

/* An MMX write sets the register's exponent and sign to all ones. */
static inline void mmx_set(emu_cpu *cpu, unsigned i, uint64_t v)
{
	uint8_t *p = (uint8_t *)&cpu->fpu.st[i & 7];

	memcpy(p, &v, 8);
	p[8] = p[9] = 0xff;
}

/* Every MMX instruction (but EMMS): #UD with CR0.EM, #NM with CR0.TS, #MF
 * for a pending x87 exception; then TOP = 0 and all tags valid. */
static inline int mmx_enter(emu_cpu *cpu)
{
	if (cpu->cr0 & X86_CR0_EM)
		return emu_ud(cpu);
	if (cpu->cr0 & X86_CR0_TS)
		return emu_fault(cpu, X86_EXC_NM, 0, 0);
	if (emu_x87_pending(cpu))
		return EMU_FAULT;
	cpu->fpu.top = 0;
	cpu->fpu.empty = 0;
	return EMU_OK;
}

/* Availability check for a vector of n bytes (8: MMX, 16: SSE). */
static inline int simd_available(emu_cpu *cpu, unsigned n)
{
	return n == 8 ? mmx_enter(cpu) : sse_available(cpu);
}

/* Reads the r/m source: n bytes (MMX register / XMM register / memory). */
static inline int simd_src(emu_cpu *cpu, const emu_insn *ins, unsigned n, emu_xmm *v)
{
	if (ins->aux == 8 && !ins->mem) {
		memset(v, 0, sizeof(*v));
		v->q[0] = mmx_get(cpu, ins->rm);
		return EMU_OK;
	}
	return sse_src(cpu, ins, n, v);
}

/* The ModRM.reg operand of vector length n. */
static inline void simd_get_reg(const emu_cpu *cpu, unsigned r, unsigned n, emu_xmm *v)
{
	if (n == 8) {
		memset(v, 0, sizeof(*v));
		v->q[0] = mmx_get(cpu, r);
	} else {
		*v = cpu->fpu.xmm[r & 15];
	}
}

static inline void simd_put_reg(emu_cpu *cpu, unsigned r, unsigned n, const emu_xmm *v)
{
	if (n == 8)
		mmx_set(cpu, r, v->q[0]);
	else
		cpu->fpu.xmm[r & 15] = *v;
}

/* Lane access for element size es (1, 2, 4, 8). */
static inline uint64_t simd_lane(const emu_xmm *v, unsigned es, unsigned i)
{
	switch (es) {
	case 1: return v->b[i];
	case 2: return v->w[i];
	case 4: return v->d[i];
	default: return v->q[i];
	}
}

static inline void simd_set_lane(emu_xmm *v, unsigned es, unsigned i, uint64_t x)
{
	switch (es) {
	case 1: v->b[i] = (uint8_t)x; break;
	case 2: v->w[i] = (uint16_t)x; break;
	case 4: v->d[i] = (uint32_t)x; break;
	default: v->q[i] = x; break;
	}
}

static inline int64_t simd_slane(const emu_xmm *v, unsigned es, unsigned i)
{
	uint64_t x = simd_lane(v, es, i);
	unsigned sh = 64 - 8 * es;

	return (int64_t)(x << sh) >> sh;
}

static inline int64_t simd_sat_s(int64_t v, unsigned es)
{
	int64_t hi = (int64_t)((1ull << (8 * es - 1)) - 1), lo = -hi - 1;

	return v > hi ? hi : v < lo ? lo : v;
}

static inline int64_t simd_sat_u(int64_t v, unsigned es)
{
	int64_t hi = (int64_t)((1ull << (8 * es)) - 1);

	return v > hi ? hi : v < 0 ? 0 : v;
}

/* exec_simd_misc.c: shifts every element of size es by count (kind 0
 * logical right, 1 arithmetic right, 2 left). */
void emu_simd_shift(emu_xmm *d, unsigned n, unsigned es, unsigned kind, uint64_t count);

#endif
