/* sse.h - helpers shared by the SSE/SSE2 handler files: availability checks,
 * XMM and memory operands, and running host SSE code under the guest's
 * MXCSR (exceptions masked on the host; the flags raised are merged back,
 * and one the guest left unmasked is #XM or #UD before the result is
 * written). ins->reg and
 * ins->rm hold XMM register numbers (0..15) for these handlers. */
#ifndef VMM_EMU_SSE_H
#define VMM_EMU_SSE_H

#include <emmintrin.h>

#include "backends/emu/exec.h"

/* ins->xflags bits for SSE handlers */
#define SSE_ALIGN 1u       /* a 16-byte memory operand must be aligned */

static inline emu_xmm *emu_xmm_reg(emu_cpu *cpu, unsigned i)
{
	return &cpu->fpu.xmm[i & 15];
}

/* #UD without CR4.OSFXSR or with CR0.EM, #NM with CR0.TS. */
static inline int sse_available(emu_cpu *cpu)
{
	if ((cpu->cr0 & X86_CR0_EM) || !(cpu->cr4 & X86_CR4_OSFXSR))
		return emu_ud(cpu);
	if (cpu->cr0 & X86_CR0_TS)
		return emu_fault(cpu, X86_EXC_NM, 0, 0);
	return EMU_OK;
}

/* Reads n (4, 8 or 16) bytes of the r/m operand into *v (rest zero). */
static inline int sse_src(emu_cpu *cpu, const emu_insn *ins, unsigned n, emu_xmm *v)
{
	uint64_t la;

	if (!ins->mem) {
		*v = *emu_xmm_reg(cpu, ins->rm);
		if (n < 16)
			memset(v->b + n, 0, 16 - n);
		return EMU_OK;
	}
	la = emu_ea(cpu, ins);
	if (n == 16 && (ins->xflags & SSE_ALIGN) && (la & 15))
		return emu_gp(cpu, 0);
	memset(v, 0, sizeof(*v));
	return emu_mem_read_slow(cpu, la, v->b, n, 0);
}

/* Writes the low n bytes of v to the r/m operand (a register gets all 16
 * bytes of v). */
static inline int sse_dst(emu_cpu *cpu, const emu_insn *ins, unsigned n, const emu_xmm *v)
{
	uint64_t la;

	if (!ins->mem) {
		*emu_xmm_reg(cpu, ins->rm) = *v;
		return EMU_OK;
	}
	la = emu_ea(cpu, ins);
	if (n == 16 && (ins->xflags & SSE_ALIGN) && (la & 15))
		return emu_gp(cpu, 0);
	return emu_mem_write_slow(cpu, la, v->b, n, EMU_ACC_W);
}

static inline unsigned sse_enter(const emu_cpu *cpu)
{
	unsigned host = _mm_getcsr();

	_mm_setcsr((cpu->fpu.mxcsr | 0x1f80u) & ~0x3fu);
	return host;
}

/* exec_sse.c: the exception flags fl (MXCSR bits 5:0) of an operation
 * include one whose mask bit is clear: the flags are recorded (only the
 * pre-computation ones, IE DE ZE, when one of those is unmasked) and #XM
 * is raised with CR4.OSXMMEXCPT, #UD without. The caller leaves the
 * destination alone. */
int emu_sse_unmasked(emu_cpu *cpu, unsigned fl);

/* Merges the exception flags fl (bits 5:0) into MXCSR: EMU_OK, or the
 * fault of an unmasked one (emu_sse_unmasked). Callers write their result
 * only on EMU_OK. */
static inline int sse_flags(emu_cpu *cpu, unsigned fl)
{
	if (EMU_LIKELY(!(fl & ~(cpu->fpu.mxcsr >> 7) & 0x3f))) {
		cpu->fpu.mxcsr |= fl;
		return EMU_OK;
	}
	return emu_sse_unmasked(cpu, fl);
}

static inline int sse_leave(emu_cpu *cpu, unsigned host)
{
	unsigned fl = _mm_getcsr() & 0x3f;

	_mm_setcsr(host);
	return sse_flags(cpu, fl);
}

/* exec_sse.c: the FXSAVE image of the x87/SSE state, and loading the parts
 * of one (#GP for reserved MXCSR bits). */
enum { EMU_FX_X87 = 1, EMU_FX_XMM = 2, EMU_FX_MXCSR = 4, EMU_FX_ALL = 7 };
void emu_fx_image(const emu_cpu *cpu, uint8_t img[512], int xmm_count);
int emu_fx_load(emu_cpu *cpu, const uint8_t img[512], int nxmm, unsigned parts);

#endif
