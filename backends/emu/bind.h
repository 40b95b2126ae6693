/* bind.h - internal interface between the binder files. */
#ifndef VMM_EMU_BIND_H
#define VMM_EMU_BIND_H

#include "backends/emu/decode.h"
#include "backends/emu/exec_tab.h"
#include "backends/emu/sse.h"

/* SSE/MMX handlers: fn with op, aux and SSE_ALIGN when align. */
static inline unsigned emu_bind_set(emu_insn *ins, emu_fn fn, unsigned op, unsigned aux,
				    unsigned align)
{
	ins->fn = fn;
	ins->op = (uint8_t)op;
	ins->aux = (uint8_t)aux;
	ins->xflags = align ? SSE_ALIGN : 0;
	return 0;
}

unsigned emu_bind_map1(const emu_dec *d, const uint8_t *bytes, uint64_t rip, emu_insn *ins);
unsigned emu_bind_map0f(const emu_dec *d, const uint8_t *bytes, uint64_t rip, emu_insn *ins);
unsigned emu_bind_unsupported(const uint8_t *bytes, unsigned len, emu_insn *ins);
unsigned emu_bind_ud(emu_insn *ins);
unsigned emu_bind_branch(const emu_dec *d, uint64_t rip, emu_insn *ins, emu_fn fn);
uint8_t emu_gpr_off(const emu_dec *d, unsigned r, unsigned sz);
unsigned emu_bind_x87(const emu_dec *d, const uint8_t *bytes, emu_insn *ins);
int emu_bind_sse(const emu_dec *d, const uint8_t *bytes, emu_insn *ins, unsigned *flags);
/* bind_simd.c */
unsigned emu_bind_simd_op(const emu_dec *d, emu_insn *ins, unsigned id);
unsigned emu_bind_map38(const emu_dec *d, const uint8_t *bytes, emu_insn *ins);

#endif
