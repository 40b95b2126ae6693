/* exec_x87_misc.c - the D9 E0..FF group: FCHS FABS FTST FXAM, constants,
 * FSQRT FRNDINT FSCALE FPREM(1) FXTRACT and the transcendental instructions,
 * FINCSTP/FDECSTP/FNOP. Each runs as the same instruction on the host x87
 * with the guest's control word loaded. */
#include "backends/emu/exec_tab.h"
#include "backends/emu/x87.h"

static int fxam(emu_cpu *cpu)
{
	emu_fpu *f = &cpu->fpu;
	long double v = f->st[x87_phys(f, 0)];
	uint16_t cc;

	if (x87_empty(f, 0)) {
		cc = FSW_C3 | FSW_C0;
	} else {
		int cls = __builtin_fpclassify(1, 2, 3, 4, 5, v);   /* nan inf normal sub zero */

		cc = cls == 1 ? FSW_C0 : cls == 2 ? FSW_C2 | FSW_C0 : cls == 3 ? FSW_C2 :
		     cls == 4 ? FSW_C3 | FSW_C2 : FSW_C3;
		if (__builtin_signbit(v))
			cc |= FSW_C1;
	}
	f->fsw = (uint16_t)((f->fsw & ~FSW_CC) | cc);
	return EMU_OK;
}

static long double constant(emu_cpu *cpu, unsigned which)
{
	volatile long double r;
	long double t;
	uint16_t host = x87_enter(cpu);

	switch (which) {
	case 0xe8: __asm__ __volatile__("fld1" : "=t"(t)); break;
	case 0xe9: __asm__ __volatile__("fldl2t" : "=t"(t)); break;
	case 0xea: __asm__ __volatile__("fldl2e" : "=t"(t)); break;
	case 0xeb: __asm__ __volatile__("fldpi" : "=t"(t)); break;
	case 0xec: __asm__ __volatile__("fldlg2" : "=t"(t)); break;
	case 0xed: __asm__ __volatile__("fldln2" : "=t"(t)); break;
	default: __asm__ __volatile__("fldz" : "=t"(t)); break;
	}
	r = t;
	x87_leave(cpu, host);
	return r;
}

/* One-operand instructions on ST0. */
static void unary(emu_cpu *cpu, unsigned which)
{
	volatile long double in = x87_get(cpu, 0), out;
	long double t = 0;
	uint16_t host = x87_enter(cpu), sw;

	t = in;
	switch (which) {
	case 0xe0: __asm__ __volatile__("fchs" : "+t"(t)); break;
	case 0xe1: __asm__ __volatile__("fabs" : "+t"(t)); break;
	case 0xf0: __asm__ __volatile__("f2xm1" : "+t"(t)); break;
	case 0xfa: __asm__ __volatile__("fsqrt" : "+t"(t)); break;
	case 0xfc: __asm__ __volatile__("frndint" : "+t"(t)); break;
	case 0xfe: __asm__ __volatile__("fsin" : "+t"(t)); break;
	default: __asm__ __volatile__("fcos" : "+t"(t)); break;
	}
	out = t;
	sw = x87_leave(cpu, host);
	x87_set(&cpu->fpu, 0, out);
	cpu->fpu.fsw = (uint16_t)((cpu->fpu.fsw & ~FSW_C2) | (sw & FSW_C2));
}

/* ST1 op ST0, result in ST1, pop (FYL2X, FYL2XP1, FPATAN); or result in ST0
 * without pop (FSCALE, FPREM, FPREM1). */
static void binary(emu_cpu *cpu, unsigned which)
{
	volatile long double x = x87_get(cpu, 0), y = x87_get(cpu, 1), out;
	long double a = x, b = y, r;
	uint16_t host = x87_enter(cpu), sw;
	int pops = 1;

	switch (which) {
	case 0xf1: __asm__ __volatile__("fyl2x" : "=t"(r) : "0"(a), "u"(b) : "st(1)"); break;
	case 0xf9: __asm__ __volatile__("fyl2xp1" : "=t"(r) : "0"(a), "u"(b) : "st(1)"); break;
	case 0xf3: __asm__ __volatile__("fpatan" : "=t"(r) : "0"(a), "u"(b) : "st(1)"); break;
	case 0xfd: __asm__ __volatile__("fscale" : "=t"(r) : "0"(a), "u"(b)); pops = 0; break;
	case 0xf8: __asm__ __volatile__("fprem" : "=t"(r) : "0"(a), "u"(b)); pops = 0; break;
	default: __asm__ __volatile__("fprem1" : "=t"(r) : "0"(a), "u"(b)); pops = 0; break;
	}
	out = r;
	sw = x87_leave(cpu, host);
	if (pops) {
		x87_set(&cpu->fpu, 1, out);
		x87_pop(&cpu->fpu);
		return;
	}
	x87_set(&cpu->fpu, 0, out);
	if (which == 0xf8 || which == 0xf5)
		cpu->fpu.fsw = (uint16_t)((cpu->fpu.fsw & ~FSW_CC) | (sw & FSW_CC));
}

/* FPTAN, FSINCOS, FXTRACT: ST0 replaced, then a second value pushed. */
static void two_results(emu_cpu *cpu, unsigned which)
{
	volatile long double in = x87_get(cpu, 0), lo, hi;
	long double a = in, top, below;
	uint16_t host = x87_enter(cpu), sw;

	switch (which) {
	case 0xf2: __asm__ __volatile__("fptan" : "=t"(top), "=u"(below) : "0"(a)); break;
	case 0xfb: __asm__ __volatile__("fsincos" : "=t"(top), "=u"(below) : "0"(a)); break;
	default: __asm__ __volatile__("fxtract" : "=t"(top), "=u"(below) : "0"(a)); break;
	}
	lo = below;
	hi = top;
	sw = x87_leave(cpu, host);
	if (which != 0xf4 && (sw & FSW_C2)) {        /* out of range: unchanged */
		cpu->fpu.fsw |= FSW_C2;
		return;
	}
	cpu->fpu.fsw &= (uint16_t)~FSW_C2;
	x87_set(&cpu->fpu, 0, lo);
	x87_push(&cpu->fpu, hi);
}

/* D9 E0..FF, the byte in ins->aux. */
int emu_h_x87_misc(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned b = ins->aux;
	int rc = x87_available(cpu);

	if (rc)
		return rc;
	switch (b) {
	case 0xe4: x87_compare(cpu, x87_get(cpu, 0), 0.0L, 0, 0); break;
	case 0xe5: return fxam(cpu);
	case 0xe8: case 0xe9: case 0xea: case 0xeb: case 0xec: case 0xed: case 0xee:
		x87_push(&cpu->fpu, constant(cpu, b));
		break;
	case 0xf6: cpu->fpu.top = (cpu->fpu.top - 1) & 7; break;
	case 0xf7: cpu->fpu.top = (cpu->fpu.top + 1) & 7; break;
	case 0xf1: case 0xf3: case 0xf5: case 0xf8: case 0xf9: case 0xfd: binary(cpu, b); break;
	case 0xf2: case 0xf4: case 0xfb: two_results(cpu, b); break;
	case 0xe0: case 0xe1: case 0xf0: case 0xfa: case 0xfc: case 0xfe: case 0xff:
		unary(cpu, b);
		break;
	case 0xd0: break;                                 /* FNOP */
	default: return emu_ud(cpu);
	}
	return EMU_OK;
}
