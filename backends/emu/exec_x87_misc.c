/* exec_x87_misc.c - the D9 E0..FF group: FCHS FABS FTST FXAM, constants,
 * FSQRT FRNDINT FSCALE FPREM(1) FXTRACT and the transcendental instructions,
 * FINCSTP/FDECSTP/FNOP. Each runs as the same instruction on the host x87
 * with the guest's control word loaded. */
#include "backends/emu/exec_tab.h"
#include "backends/emu/x87.h"

/* FXAM from the register's 80-bit pattern: unsupported formats (integer
 * bit clear with a nonzero exponent: unnormals, pseudo-NaNs/infinities)
 * give C3 C2 C0 = 000; pseudo-denormals count as denormals. */
static int fxam(emu_cpu *cpu)
{
	emu_fpu *f = &cpu->fpu;
	uint8_t b[16];
	uint64_t mant;
	unsigned exp;
	uint16_t cc;

	memcpy(b, &f->st[x87_phys(f, 0)], 16);
	memcpy(&mant, b, 8);
	exp = (unsigned)(b[8] | (b[9] << 8)) & 0x7fff;
	if (x87_empty(f, 0))
		cc = FSW_C3 | FSW_C0;
	else if (exp == 0)
		cc = mant ? FSW_C3 | FSW_C2 : FSW_C3;
	else if (!(mant >> 63))
		cc = 0;
	else if (exp == 0x7fff)
		cc = (mant << 1) ? FSW_C0 : FSW_C2 | FSW_C0;
	else
		cc = FSW_C2;
	if (b[9] & 0x80)
		cc |= FSW_C1;
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
#define U(insn) __asm__ __volatile__(insn "\n\tfnstsw %1" : "+t"(t), "=m"(sw))
	case 0xe0: U("fchs"); break;
	case 0xe1: U("fabs"); break;
	case 0xf0: U("f2xm1"); break;
	case 0xfa: U("fsqrt"); break;
	case 0xfc: U("frndint"); break;
	case 0xfe: U("fsin"); break;
	default: U("fcos"); break;
#undef U
	}
	out = t;
	x87_leave(cpu, host);
	x87_set(&cpu->fpu, 0, out);
	/* the condition codes as the operation left them (the host started
	 * from the guest's, see x87_enter) */
	cpu->fpu.fsw = (uint16_t)((cpu->fpu.fsw & ~FSW_CC) | (sw & FSW_CC));
}

/* ST1 op ST0, result in ST1, pop (FYL2X, FYL2XP1, FPATAN); or result in ST0
 * without pop (FSCALE, FPREM, FPREM1). */
static void binary(emu_cpu *cpu, unsigned which)
{
	volatile long double x = x87_get(cpu, 0), y = x87_get(cpu, 1), out;
	long double a, b, r;
	uint16_t host = x87_enter(cpu), sw;
	int pops = 1;

	a = x;
	b = y;

	switch (which) {
#define B2(insn, pop) __asm__ __volatile__(insn "\n\tfnstsw %1" : "=t"(r), "=m"(sw)   \
						 : "0"(a), "u"(b) : pop)
	case 0xf1: B2("fyl2x", "st(1)"); break;
	case 0xf9: B2("fyl2xp1", "st(1)"); break;
	case 0xf3: B2("fpatan", "st(1)"); break;
	case 0xfd: B2("fscale", "memory"); pops = 0; break;
	case 0xf8: B2("fprem", "memory"); pops = 0; break;
	default: B2("fprem1", "memory"); pops = 0; break;
#undef B2
	}
	out = r;
	x87_leave(cpu, host);
	cpu->fpu.fsw = (uint16_t)((cpu->fpu.fsw & ~FSW_CC) | (sw & FSW_CC));
	if (pops) {
		x87_set(&cpu->fpu, 1, out);
		x87_pop(&cpu->fpu);
		return;
	}
	x87_set(&cpu->fpu, 0, out);
}

/* FPTAN, FSINCOS, FXTRACT: ST0 replaced, then a second value pushed. */
static void two_results(emu_cpu *cpu, unsigned which)
{
	int under = x87_empty(&cpu->fpu, 0);
	uint16_t fsw0 = cpu->fpu.fsw;
	volatile long double in = x87_get(cpu, 0), lo, hi;
	long double a, top, below;
	uint16_t host = x87_enter(cpu), sw;

	a = in;
	switch (which) {
	/* out of range (C2), FPTAN/FSINCOS push nothing: push a copy so the
	 * stack has the two values the compiler expects */
#define T2(insn) __asm__ __volatile__(insn "\n\tfnstsw %2\n\ttestw $0x400, %2\n\t"         \
				      "jz 1f\n\tfld %%st(0)\n1:"                           \
				      : "=t"(top), "=u"(below), "=m"(sw) : "0"(a))
	case 0xf2: T2("fptan"); break;
	case 0xfb: T2("fsincos"); break;
#undef T2
	default:     /* FXTRACT always pushes; C2 is the guest's (e.g. from FXAM) */
		__asm__ __volatile__("fxtract\n\tfnstsw %2" : "=t"(top), "=u"(below), "=m"(sw)
				     : "0"(a));
		break;
	}
	lo = below;
	hi = top;
	x87_leave(cpu, host);
	cpu->fpu.fsw = (uint16_t)((cpu->fpu.fsw & ~FSW_CC) | (sw & FSW_CC));
	if (!under && !x87_empty(&cpu->fpu, 7)) {     /* push overflow first: no result */
		cpu->fpu.fsw = (uint16_t)(fsw0 & ~FSW_C2);
		lo = hi = x87_indefinite();
	} else if (which != 0xf4 && (sw & FSW_C2)) {  /* out of range: unchanged */
		return;
	}
	x87_set(&cpu->fpu, 0, lo);
	x87_push(&cpu->fpu, hi);
	if (under)                       /* one stack fault: the underflow (C1 = 0) */
		cpu->fpu.fsw &= (uint16_t)~FSW_C1;
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
