/* exec_ctl.c - control transfers (Jcc, JMP, CALL, RET, LOOP, JrCXZ) and
 * stack instructions (PUSH, POP, PUSHF, POPF, ENTER, LEAVE, PUSHA, POPA).
 * Branch targets of relative forms are resolved when a block is decoded:
 * ins->imm is the target, ins->disp the fall-through RIP. */
#include "backends/emu/exec.h"
#include "backends/emu/exec_tab.h"

#define DEF_JCC(cc)                                                              \
static int jcc_##cc(emu_cpu *cpu, const emu_insn *ins)                           \
{                                                                                \
	cpu->rip = emu_cond(cpu, cc) ? ins->imm : (uint64_t)ins->disp;           \
	return emu_chain(cpu);                                                   \
}
DEF_JCC(0) DEF_JCC(1) DEF_JCC(2) DEF_JCC(3) DEF_JCC(4) DEF_JCC(5) DEF_JCC(6)
DEF_JCC(7) DEF_JCC(8) DEF_JCC(9) DEF_JCC(10) DEF_JCC(11) DEF_JCC(12) DEF_JCC(13)
DEF_JCC(14) DEF_JCC(15)

const emu_fn emu_jcc_tab[16] = {
	jcc_0, jcc_1, jcc_2, jcc_3, jcc_4, jcc_5, jcc_6, jcc_7,
	jcc_8, jcc_9, jcc_10, jcc_11, jcc_12, jcc_13, jcc_14, jcc_15
};

int emu_h_jmp(emu_cpu *cpu, const emu_insn *ins)
{
	cpu->rip = ins->imm;
	return emu_chain(cpu);
}

int emu_h_call(emu_cpu *cpu, const emu_insn *ins)
{
	int rc = emu_push(cpu, ins->osz, (uint64_t)ins->disp);

	if (rc)
		return rc;
	cpu->rip = ins->imm;
	return emu_chain(cpu);
}

int emu_h_jmp_ind(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t t;
	int rc = emu_rm_read(cpu, ins, ins->osz, &t);

	if (rc)
		return rc;
	rc = emu_jump(cpu, t);
	return rc == EMU_JUMP ? emu_chain(cpu) : rc;
}

int emu_h_call_ind(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t t;
	int rc = emu_rm_read(cpu, ins, ins->osz, &t);

	if (rc)
		return rc;
	if (cpu->code_sz == EMU_SZ64 && (uint64_t)((int64_t)(t << 16) >> 16) != t)
		return emu_gp(cpu, 0);
	rc = emu_push(cpu, ins->osz, emu_next_rip(cpu, ins));
	if (rc)
		return rc;
	cpu->rip = t;
	return EMU_JUMP;
}

int emu_h_ret(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t t;
	int rc = emu_stack_read(cpu, ins->osz, 0, &t);

	if (rc)
		return rc;
	if (cpu->code_sz == EMU_SZ64 && (uint64_t)((int64_t)(t << 16) >> 16) != t)
		return emu_gp(cpu, 0);
	emu_set_sp(cpu, cpu->r[R_SP] + (1u << ins->osz) + (ins->imm & 0xffff));
	cpu->rip = t;
	return emu_chain(cpu);
}

/* LOOPNE (op 0), LOOPE (1), LOOP (2): the counter is CX/ECX/RCX by
 * address size. */
int emu_h_loop(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t cnt = (emu_reg_get(cpu, R_CX * 8, ins->asz) - 1) & emu_sz_mask(ins->asz);
	int taken = cnt != 0;

	emu_reg_set(cpu, R_CX * 8, ins->asz, cnt);
	if (ins->op == 0)
		taken = taken && !emu_cond(cpu, 4);
	else if (ins->op == 1)
		taken = taken && emu_cond(cpu, 4);
	cpu->rip = taken ? ins->imm : (uint64_t)ins->disp;
	return EMU_JUMP;
}

int emu_h_jcxz(emu_cpu *cpu, const emu_insn *ins)
{
	cpu->rip = emu_reg_get(cpu, R_CX * 8, ins->asz) == 0 ? ins->imm : (uint64_t)ins->disp;
	return EMU_JUMP;
}

/* ---- PUSH / POP ----------------------------------------------------------------- */

/* PUSH r and POP r: exec_fast.c */

int emu_h_push_i(emu_cpu *cpu, const emu_insn *ins)
{
	return emu_push(cpu, ins->osz, ins->imm & emu_sz_mask(ins->osz));
}

int emu_h_push_rm(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t v;
	int rc = emu_rm_read(cpu, ins, ins->osz, &v);

	if (rc)
		return rc;
	return emu_push(cpu, ins->osz, v);
}

/* POP r/m: an RSP-based destination address uses the incremented RSP. */
int emu_h_pop_rm(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t v, old_sp = cpu->r[R_SP];
	int rc = emu_stack_read(cpu, ins->osz, 0, &v);

	if (rc)
		return rc;
	emu_set_sp(cpu, old_sp + (1u << ins->osz));
	rc = emu_rm_write(cpu, ins, ins->osz, v);
	if (rc)
		cpu->r[R_SP] = old_sp;
	return rc;
}

int emu_h_pushf(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t f = emu_get_rflags(cpu) & ~(X86_FL_RF | X86_FL_VM);

	return emu_push(cpu, ins->osz, f & emu_sz_mask(ins->osz));
}

int emu_h_popf(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t v, cur = emu_get_rflags(cpu), mask;
	unsigned iopl = (unsigned)(cur >> 12) & 3;
	int rc = emu_pop(cpu, ins->osz, &v);

	if (rc)
		return rc;
	mask = X86_FL_ARITH | X86_FL_TF | X86_FL_IF | X86_FL_DF | X86_FL_IOPL |
	       X86_FL_NT | X86_FL_AC | X86_FL_ID;
	if (cpu->cpl > 0)
		mask &= ~X86_FL_IOPL;
	if (cpu->cpl > iopl)
		mask &= ~X86_FL_IF;
	mask &= emu_sz_mask(ins->osz);
	emu_set_rflags(cpu, ((cur & ~mask) | (v & mask)) & ~X86_FL_RF);
	return (cpu->rflags & ~cur & X86_FL_TF) ? EMU_NEXT : EMU_OK;   /* TF: step.c */
}

int emu_h_enter(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned sz = ins->osz, n = 1u << sz, level = (unsigned)ins->aux & 31;
	uint64_t spm = emu_sp_mask(cpu), sp = cpu->r[R_SP], bp = cpu->r[R_BP], frame, v;
	int rc;

	sp = (sp - n) & spm;
	rc = emu_write(cpu, emu_stack_lin(cpu, sp), sz, emu_reg_get(cpu, R_BP * 8, sz));
	frame = sp;
	for (unsigned i = 1; !rc && i < level; i++) {
		bp = (bp - n) & spm;
		rc = emu_read(cpu, emu_stack_lin(cpu, bp), sz, &v);
		sp = (sp - n) & spm;
		if (!rc)
			rc = emu_write(cpu, emu_stack_lin(cpu, sp), sz, v);
	}
	if (!rc && level > 0) {
		sp = (sp - n) & spm;
		rc = emu_write(cpu, emu_stack_lin(cpu, sp), sz, frame);
	}
	if (rc)
		return rc;
	emu_reg_set(cpu, R_BP * 8, cpu->stack_sz == EMU_SZ16 ? EMU_SZ16 : sz, frame);
	emu_set_sp(cpu, sp - (ins->imm & 0xffff));
	return EMU_OK;
}

int emu_h_leave(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t bp = cpu->r[R_BP] & emu_sp_mask(cpu), v;
	int rc = emu_read(cpu, emu_stack_lin(cpu, bp), ins->osz, &v);

	if (rc)
		return rc;
	emu_set_sp(cpu, bp + (1u << ins->osz));
	emu_reg_set(cpu, R_BP * 8, ins->osz, v);
	return EMU_OK;
}

int emu_h_pusha(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned sz = ins->osz, n = 1u << sz;
	uint64_t sp = cpu->r[R_SP];
	int rc = EMU_OK;

	for (unsigned i = 0; i < 8 && !rc; i++)
		rc = emu_write(cpu, emu_stack_lin(cpu, sp - (i + 1) * n), sz,
			       emu_reg_get(cpu, i * 8, sz) & emu_sz_mask(sz));
	if (rc)
		return rc;
	emu_set_sp(cpu, sp - 8 * n);
	return EMU_OK;
}

int emu_h_popa(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned sz = ins->osz, n = 1u << sz;
	uint64_t v[8];
	int rc = EMU_OK;

	for (unsigned i = 0; i < 8 && !rc; i++)
		rc = emu_stack_read(cpu, sz, (7 - i) * n, &v[i]);
	if (rc)
		return rc;
	for (unsigned i = 0; i < 8; i++)
		if (i != R_SP)
			emu_reg_set(cpu, i * 8, sz, v[i]);
	emu_set_sp(cpu, cpu->r[R_SP] + 8 * n);
	return EMU_OK;
}

int emu_h_nop(emu_cpu *cpu, const emu_insn *ins)
{
	return EMU_OK;
}
