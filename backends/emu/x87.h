/* x87.h - the x87 register stack and the host-FPU bridge shared by the x87
 * handler files. Arithmetic runs on the host's own x87 unit with the
 * guest's control word loaded (exceptions masked), so rounding, precision
 * control and exception flags match real hardware bit for bit; the flags the
 * host raised are merged into the guest's status word. */
#ifndef VMM_EMU_X87_H
#define VMM_EMU_X87_H

#include "backends/emu/exec.h"

#define FSW_IE 0x0001u
#define FSW_DE 0x0002u
#define FSW_ZE 0x0004u
#define FSW_OE 0x0008u
#define FSW_UE 0x0010u
#define FSW_PE 0x0020u
#define FSW_SF 0x0040u
#define FSW_ES 0x0080u
#define FSW_C0 0x0100u
#define FSW_C1 0x0200u
#define FSW_C2 0x0400u
#define FSW_C3 0x4000u
#define FSW_CC (FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3)

/* Loads the guest's control word (all exceptions masked) and condition
 * codes into the host x87 (no exception flags, empty stack, as the ABI
 * has it), so an instruction that leaves C0..C3 alone leaves the guest's;
 * returns the host's control word. */
static inline uint16_t x87_enter(const emu_cpu *cpu)
{
	struct {
		uint16_t cw, r0, sw, r1, tw, r2;
		uint32_t ip;
		uint16_t cs, op;
		uint32_t dp;
		uint16_t ds, r3;
	} env = { (uint16_t)(cpu->fpu.fcw | 0x3f), 0, (uint16_t)(cpu->fpu.fsw & FSW_CC), 0,
		  0xffff, 0, 0, 0, 0, 0, 0, 0 };
	uint16_t host;

	__asm__ __volatile__("fnstcw %0" : "=m"(host));
	/* the clobbers keep the compiler from holding values in x87 registers
	 * across the load (it empties the stack) */
	__asm__ __volatile__("fldenv %0" : : "m"(env)
			     : "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)",
			       "st(7)");
	return host;
}

/* Merges the host's exception flags into the guest FSW, restores the host
 * control word; returns the host status word (for C0..C3). */
static inline uint16_t x87_leave(emu_cpu *cpu, uint16_t host)
{
	uint16_t sw;

	__asm__ __volatile__("fnstsw %0\n\tfnclex\n\tfldcw %1" : "=m"(sw) : "m"(host));
	cpu->fpu.fsw = (uint16_t)((cpu->fpu.fsw & ~FSW_C1) | (sw & (0x3f | FSW_C1)));
	if (cpu->fpu.fsw & ~cpu->fpu.fcw & 0x3f)
		cpu->fpu.fsw |= FSW_ES;
	return sw;
}

static inline unsigned x87_phys(const emu_fpu *f, unsigned i)
{
	return (f->top + i) & 7;
}

static inline int x87_empty(const emu_fpu *f, unsigned i)
{
	return (f->empty >> x87_phys(f, i)) & 1;
}

long double x87_indefinite(void);

/* ST(i); an empty register is a stack underflow (IE|SF) and reads as the
 * indefinite NaN. */
static inline long double x87_get(emu_cpu *cpu, unsigned i)
{
	emu_fpu *f = &cpu->fpu;

	if (EMU_UNLIKELY(x87_empty(f, i))) {
		f->fsw = (uint16_t)((f->fsw | FSW_IE | FSW_SF) & ~FSW_C1);
		return x87_indefinite();
	}
	return f->st[x87_phys(f, i)];
}

static inline void x87_set(emu_fpu *f, unsigned i, long double v)
{
	unsigned p = x87_phys(f, i);

	f->st[p] = v;
	f->empty &= (uint8_t)~(1u << p);
}

/* Push; a full stack is an overflow (IE|SF|C1), the indefinite is pushed. */
static inline void x87_push(emu_fpu *f, long double v)
{
	f->top = (f->top - 1) & 7;
	if (!((f->empty >> f->top) & 1)) {
		f->fsw |= FSW_IE | FSW_SF | FSW_C1;
		v = x87_indefinite();
	}
	x87_set(f, 0, v);
}

static inline void x87_pop(emu_fpu *f)
{
	f->empty |= (uint8_t)(1u << f->top);
	f->top = (f->top + 1) & 7;
}

/* #NM when CR0.EM or CR0.TS: the non-waiting control instructions
 * (FNSTCW, FNSTSW, FNCLEX, FNINIT). */
static inline int x87_available_nowait(emu_cpu *cpu)
{
	if (cpu->cr0 & (X86_CR0_EM | X86_CR0_TS))
		return emu_fault(cpu, X86_EXC_NM, 0, 0);
	return EMU_OK;
}

/* Every other x87 instruction: #NM, then #MF for a pending exception. */
static inline int x87_available(emu_cpu *cpu)
{
	int rc = x87_available_nowait(cpu);

	return rc ? rc : emu_x87_pending(cpu);
}

/* exec_x87.c */
long double x87_arith(emu_cpu *cpu, unsigned op, long double a, long double b);
void x87_compare(emu_cpu *cpu, long double a, long double b, int quiet, int to_eflags);
int x87_load_mem(emu_cpu *cpu, const emu_insn *ins, unsigned kind, long double *v);

#endif
