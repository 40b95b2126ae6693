/* exec_tab.h - handler tables and handlers that bind.c selects. */
#ifndef VMM_EMU_EXEC_TAB_H
#define VMM_EMU_EXEC_TAB_H

#include "backends/emu/emu.h"

/* Operand forms of the specialised ALU/MOV handlers. rr: dst = rm register,
 * src = reg register; rm: dst = reg, src = memory; mr: dst = memory, src =
 * reg; ri: dst = rm register, src = imm; mi: dst = memory, src = imm. */
enum { EMU_RR, EMU_RM, EMU_MR, EMU_RI, EMU_MI, EMU_FORMS };

extern const emu_fn emu_alu_tab[9][EMU_FORMS][4];
extern const emu_fn emu_mov_tab[EMU_FORMS][4];
extern const emu_fn emu_jcc_tab[16];
extern const emu_fn emu_setcc_tab[16];
extern const emu_fn emu_cmovcc_tab[16];
extern const emu_fn emu_incdec_tab[2][4];   /* [dec][size], register forms */
/* [movsx][memory source][source: byte, word][destination size; 0 unused] */
extern const emu_fn emu_movx_tab[2][2][2][4];

/* exec_fast.c: the specialised register form, or NULL for the generic one */
emu_fn emu_fast_shift(unsigned op, unsigned sz, int mem);
emu_fn emu_fast_imul(int three, unsigned sz, int mem);

/* The register forms without their flag update, for live.c:
 * [op][rr, ri][size]; shifts [with flags, without][SHL SHR SAR][size];
 * IMUL [two operands, three][with flags, without][size]. */
extern const emu_fn emu_alu_nf_tab[9][2][4];
extern const emu_fn emu_shift_nf_tab[2][3][4];
extern const emu_fn emu_imul_nf_tab[2][2][4];
/* live.c: rebinds the n instructions of a block whose flags are dead. */
void emu_live_flags(emu_insn *ins, unsigned n);

#define H(name) int emu_h_##name(emu_cpu *cpu, const emu_insn *ins)
/* exec_alu.c */
H(alu_lock); H(lea); H(lea64);
/* exec_arith.c */
H(incdec); H(not); H(neg); H(mul1); H(imul1); H(div); H(idiv); H(imul2); H(imul3);
H(shift); H(shld); H(shrd);
/* exec_bit.c */
H(bt); H(bsf); H(bsr); H(tzcnt); H(lzcnt); H(popcnt); H(bswap); H(movzx); H(movsx);
H(movsxd); H(movsxd_r64); H(cbw); H(cwd); H(xchg); H(xchg_ax); H(cmpxchg); H(xadd); H(cmpxchg8b);
H(lahf); H(sahf); H(cmc); H(clc); H(stc); H(cld); H(std); H(xlat);
/* exec_ctl.c */
H(jmp); H(jmp_ind); H(call); H(call_ind); H(ret); H(loop); H(jcxz);
H(push_r); H(pop_r); H(push_i); H(push_rm); H(pop_rm); H(pushf); H(popf);
H(enter); H(leave); H(pusha); H(popa); H(nop);
/* exec_string.c */
H(movs); H(stos); H(lods); H(cmps); H(scas); H(ins); H(outs);
/* exec_sys.c */
H(hlt); H(cpuid); H(rdtsc); H(rdtscp); H(rdmsr); H(wrmsr); H(in); H(out);
H(cli); H(sti); H(vmcall); H(int3); H(intn); H(into); H(int1); H(iret);
H(mov_from_cr); H(mov_to_cr); H(mov_from_dr); H(mov_to_dr); H(clts); H(invlpg);
H(invpcid);
H(lgdt); H(lidt); H(sgdt); H(sidt); H(smsw); H(lmsw); H(wbinvd);
H(swapgs); H(syscall); H(sysret); H(sysenter); H(sysexit); H(ltr); H(lldt); H(str); H(sldt); H(verrw); H(fence);
H(grp7_reg);
/* exec_seg.c */
H(mov_from_sreg); H(mov_to_sreg); H(push_sreg); H(pop_sreg); H(jmp_far);
H(call_far); H(ret_far); H(jmp_far_ind); H(call_far_ind); H(lxs);
/* exec_x87.c, exec_x87_misc.c */
H(x87_arith_m); H(x87_arith_st0); H(x87_arith_sti); H(x87_fld_m); H(x87_fld_st);
H(x87_fst_m); H(x87_fst_st); H(x87_fxch); H(x87_compare); H(x87_fcmov);
H(x87_control); H(x87_misc); H(fwait);
/* exec_sse.c, exec_sse_cvt.c, exec_sse_int.c */
H(sse_load); H(sse_store); H(sse_movhl); H(sse_movd); H(sse_movmsk); H(sse_arith);
H(sse_logic); H(sse_cmp); H(sse_comis); H(sse_mxcsr); H(fxsave); H(sse_cvtsi2f);
H(sse_cvtf2si); H(sse_cvt); H(sse_shuf); H(sse_unpck);
/* exec_simd.c, exec_simd_misc.c: MMX and packed integers */
H(simd); H(simd_shift_imm); H(simd_pshuf); H(simd_pmovmskb); H(simd_pinsrw);
H(simd_maskmov); H(mmx_movd); H(mmx_movq); H(mmx_movq2dq); H(mmx_emms); H(mmx_cvt);
/* exec_sse4.c, exec_sse42.c: SSE3, SSE4.1, SSE4.2, MOVBE */
H(sse3_fp); H(sse3_dup); H(sse_round); H(sse_dp); H(sse_insertps); H(sse_pextr);
H(sse_pinsr); H(sse_ptest); H(sse_pcmpstr); H(crc32); H(movbe); H(sse_rcp);
/* exec_bcd.c */
H(daa); H(aaa); H(aam); H(aad); H(salc);
/* exec_xsave.c */
H(xgetbv); H(xsave); H(rdrand);
#undef H

#endif
