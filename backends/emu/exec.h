/* exec.h - helpers shared by the instruction handlers: r/m operand access,
 * stack pushes and pops, deferred flag updates for read-modify-write. */
#ifndef VMM_EMU_EXEC_H
#define VMM_EMU_EXEC_H

#include "backends/emu/flags.h"
#include "backends/emu/mmu.h"

#define R_AX 0
#define R_CX 1
#define R_DX 2
#define R_BX 3
#define R_SP 4
#define R_BP 5
#define R_SI 6
#define R_DI 7

static inline int emu_rm_read(emu_cpu *cpu, const emu_insn *ins, unsigned sz, uint64_t *v)
{
	if (!ins->mem) {
		*v = emu_reg_get(cpu, ins->rm, sz);
		return EMU_OK;
	}
	return emu_read(cpu, emu_ea(cpu, ins), sz, v);
}

static inline int emu_rm_write(emu_cpu *cpu, const emu_insn *ins, unsigned sz, uint64_t v)
{
	if (!ins->mem) {
		emu_reg_set(cpu, ins->rm, sz, v);
		return EMU_OK;
	}
	return emu_write(cpu, emu_ea(cpu, ins), sz, v);
}

/* Flag update computed before a memory write and applied after it. */
typedef struct emu_ccv {
	uint32_t op;         /* EMU_CC_*; NONE: 'a' is the new RFLAGS */
	uint8_t set;         /* 0: leave the flags alone */
	uint64_t res, a, b;
} emu_ccv;

static inline void emu_ccv_apply(emu_cpu *cpu, const emu_ccv *v)
{
	if (!v->set)
		return;
	if (v->op == EMU_CC_NONE)
		emu_set_rflags(cpu, v->a);
	else
		emu_cc_set(cpu, v->op, v->res, v->a, v->b);
}

static inline void emu_ccv_rflags(const emu_cpu *cpu, emu_ccv *v, uint64_t clear,
				  uint64_t set)
{
	v->op = EMU_CC_NONE;
	v->set = 1;
	v->a = (emu_get_rflags(cpu) & ~clear) | set;
}

/* Read-modify-write of the r/m operand: op computes the new value from the
 * old one (and a flag update); the write happens before the flags change,
 * so a faulting write leaves the CPU state unchanged. LOCK uses a host
 * compare-and-swap loop on guest RAM. */
typedef uint64_t (*emu_rmw_fn)(emu_cpu *cpu, const emu_insn *ins, uint64_t old,
			       emu_ccv *cc);
int emu_rmw(emu_cpu *cpu, const emu_insn *ins, unsigned sz, emu_rmw_fn op);
int emu_rmw_at(emu_cpu *cpu, const emu_insn *ins, uint64_t la, unsigned sz,
	       emu_rmw_fn op);

/* ---- Stack --------------------------------------------------------------- */
static inline uint64_t emu_sp_mask(const emu_cpu *cpu)
{
	return emu_sz_mask(cpu->stack_sz);
}

static inline void emu_set_sp(emu_cpu *cpu, uint64_t sp)
{
	if (cpu->stack_sz == EMU_SZ16)
		emu_reg_set(cpu, R_SP * 8, EMU_SZ16, sp);
	else
		cpu->r[R_SP] = sp & emu_sp_mask(cpu);
}

static inline uint64_t emu_stack_lin(const emu_cpu *cpu, uint64_t sp)
{
	return ((sp & emu_sp_mask(cpu)) + cpu->segbase[X86_SEG_SS]) & cpu->linmask;
}

/* Writes v below the stack pointer without moving it; *new_sp set. */
static inline int emu_push_at(emu_cpu *cpu, unsigned sz, uint64_t v, uint64_t *new_sp)
{
	uint64_t sp = (cpu->r[R_SP] - (1u << sz)) & emu_sp_mask(cpu);

	*new_sp = sp;
	return emu_write(cpu, emu_stack_lin(cpu, sp), sz, v);
}

static inline int emu_push(emu_cpu *cpu, unsigned sz, uint64_t v)
{
	uint64_t sp;
	int rc = emu_push_at(cpu, sz, v, &sp);

	if (rc)
		return rc;
	emu_set_sp(cpu, sp);
	return EMU_OK;
}

/* Reads the value at offset bytes above the stack pointer. */
static inline int emu_stack_read(emu_cpu *cpu, unsigned sz, uint64_t offset, uint64_t *v)
{
	return emu_read(cpu, emu_stack_lin(cpu, cpu->r[R_SP] + offset), sz, v);
}

static inline int emu_pop(emu_cpu *cpu, unsigned sz, uint64_t *v)
{
	int rc = emu_stack_read(cpu, sz, 0, v);

	if (rc)
		return rc;
	emu_set_sp(cpu, cpu->r[R_SP] + (1u << sz));
	return EMU_OK;
}

/* Branch target check: non-canonical in 64-bit mode is #GP(0). */
static inline int emu_jump(emu_cpu *cpu, uint64_t target)
{
	if (cpu->code_sz == EMU_SZ64) {
		if (EMU_UNLIKELY((uint64_t)((int64_t)(target << 16) >> 16) != target))
			return emu_gp(cpu, 0);
	}
	cpu->rip = target;
	return EMU_JUMP;
}

#endif
