/* exec_bcd.c - the legacy decimal-arithmetic instructions DAA, DAS, AAA,
 * AAS, AAM, AAD and the undocumented SALC (Intel SDM vol. 2; all #UD in
 * 64-bit mode, which the decoder checks). Flags the SDM leaves undefined are
 * as QEMU sets them: OF clear after DAA/DAS, CF/OF/AF clear after AAM/AAD,
 * the others kept after AAA/AAS. */
#include "backends/emu/exec.h"
#include "backends/emu/exec_tab.h"

#define SZP (X86_FL_SF | X86_FL_ZF | X86_FL_PF)

/* SF, ZF and PF of the byte v. */
static uint64_t szp(uint8_t v)
{
	uint64_t f = 0;

	if (v & 0x80)
		f |= X86_FL_SF;
	if (!v)
		f |= X86_FL_ZF;
	if (!__builtin_parity(v))
		f |= X86_FL_PF;
	return f;
}

static void set_al(emu_cpu *cpu, uint8_t al)
{
	cpu->r[R_AX] = (cpu->r[R_AX] & ~0xffull) | al;
}

static void set_ax(emu_cpu *cpu, uint16_t ax)
{
	cpu->r[R_AX] = (cpu->r[R_AX] & ~0xffffull) | ax;
}

/* DAA (27) and DAS (2F): ins->op 1 for DAS. */
int emu_h_daa(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t fl = emu_get_rflags(cpu), out = 0;
	uint8_t al = (uint8_t)cpu->r[R_AX], old = al;
	int cf = !!(fl & X86_FL_CF), sub = ins->op;

	if ((al & 0x0f) > 9 || (fl & X86_FL_AF)) {
		out |= X86_FL_AF;
		/* DAS: the borrow of AL - 6; DAA: a carry of AL + 6 only
		 * happens when AL > 0x99, where the next step sets CF anyway */
		if (sub && (al < 6 || cf))
			out |= X86_FL_CF;
		al = (uint8_t)(sub ? al - 6 : al + 6);
	}
	if (old > 0x99 || cf) {
		al = (uint8_t)(sub ? al - 0x60 : al + 0x60);
		out |= X86_FL_CF;
	}
	set_al(cpu, al);
	fl &= ~(SZP | X86_FL_AF | X86_FL_CF | X86_FL_OF);
	emu_set_rflags(cpu, fl | out | szp(al));
	return EMU_OK;
}

/* AAA (37) and AAS (3F): ins->op 1 for AAS. */
int emu_h_aaa(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t fl = emu_get_rflags(cpu);
	uint16_t ax = (uint16_t)cpu->r[R_AX];

	if ((ax & 0x0f) > 9 || (fl & X86_FL_AF)) {
		ax = (uint16_t)(ins->op ? ax - 0x106 : ax + 0x106);
		fl |= X86_FL_AF | X86_FL_CF;
	} else {
		fl &= ~(X86_FL_AF | X86_FL_CF);
	}
	set_ax(cpu, ax & 0xff0f);
	emu_set_rflags(cpu, fl);
	return EMU_OK;
}

static int aam_aad_flags(emu_cpu *cpu, uint8_t al)
{
	uint64_t fl = emu_get_rflags(cpu);

	fl &= ~(SZP | X86_FL_AF | X86_FL_CF | X86_FL_OF);
	emu_set_rflags(cpu, fl | szp(al));
	return EMU_OK;
}

/* AAM imm8 (D4): AH = AL / imm, AL = AL % imm; #DE for imm 0. */
int emu_h_aam(emu_cpu *cpu, const emu_insn *ins)
{
	uint8_t base = (uint8_t)ins->imm, al = (uint8_t)cpu->r[R_AX];

	if (!base)
		return emu_fault(cpu, X86_EXC_DE, 0, 0);
	set_ax(cpu, (uint16_t)((al / base) << 8 | al % base));
	return aam_aad_flags(cpu, al % base);
}

/* AAD imm8 (D5): AL = AL + AH * imm, AH = 0. */
int emu_h_aad(emu_cpu *cpu, const emu_insn *ins)
{
	uint16_t ax = (uint16_t)cpu->r[R_AX];
	uint8_t al = (uint8_t)((ax & 0xff) + (ax >> 8) * (uint8_t)ins->imm);

	set_ax(cpu, al);
	return aam_aad_flags(cpu, al);
}

/* SALC (D6): AL = CF ? 0xff : 0, flags unchanged. */
int emu_h_salc(emu_cpu *cpu, const emu_insn *ins)
{
	set_al(cpu, (emu_get_rflags(cpu) & X86_FL_CF) ? 0xff : 0);
	return EMU_OK;
}
