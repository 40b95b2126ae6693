/* exec_x87.c - x87 loads, stores, arithmetic and compares. The numbers are
 * computed by the host's x87 unit under the guest's control word (x87.h).
 * Unmasked exceptions are recorded in the status word (ES) but #MF is not
 * delivered. */
#include <math.h>

#include "backends/emu/exec_tab.h"
#include "backends/emu/x87.h"

enum { M32FP, M64FP, M80FP, M16INT, M32INT, M64INT };

long double x87_indefinite(void)
{
	static const uint8_t bytes[16] = { 0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0xff };
	long double v;

	memcpy(&v, bytes, sizeof(v));
	return v;
}

/* op: 0 add, 1 mul, 4 a-b, 5 b-a, 6 a/b, 7 b/a */
long double x87_arith(emu_cpu *cpu, unsigned op, long double a, long double b)
{
	long double r;
	uint16_t sw, host = x87_enter(cpu);

	/* ST0 = a, ST1 = b; the status word is read right after the operation
	 * (C1 tells the rounding direction; a later store would clear it). */
	switch (op) {
#define X87_OP(insn) __asm__ __volatile__(insn " %%st(1), %%st\n\tfnstsw %1"            \
					  : "=t"(r), "=m"(sw) : "0"(a), "u"(b))
	case 0: X87_OP("fadd"); break;
	case 1: X87_OP("fmul"); break;
	case 4: X87_OP("fsub"); break;
	case 5: X87_OP("fsubr"); break;
	case 6: X87_OP("fdiv"); break;
	default: X87_OP("fdivr"); break;
#undef X87_OP
	}
	x87_leave(cpu, host);
	cpu->fpu.fsw = (uint16_t)((cpu->fpu.fsw & ~FSW_CC) | (sw & FSW_CC));
	return r;
}

static int is_snan(long double v)
{
	uint8_t b[16];

	memcpy(b, &v, sizeof(b));
	return __builtin_isnan(v) && !(b[7] & 0x40);
}

/* C3 C2 C0 (or ZF PF CF) for a compare of a with b. */
void x87_compare(emu_cpu *cpu, long double a, long double b, int quiet, int to_eflags)
{
	uint64_t c3 = 0, c2 = 0, c0 = 0;

	if (__builtin_isnan(a) || __builtin_isnan(b)) {
		if (!quiet || is_snan(a) || is_snan(b))
			cpu->fpu.fsw |= FSW_IE;
		c3 = c2 = c0 = 1;
	} else if (a < b) {
		c0 = 1;
	} else if (a == b) {
		c3 = 1;
	}
	if (to_eflags) {
		cpu->fpu.fsw &= (uint16_t)~FSW_C1;
		emu_set_rflags(cpu, (emu_get_rflags(cpu) & ~X86_FL_ARITH) |
			       (c3 ? X86_FL_ZF : 0) | (c2 ? X86_FL_PF : 0) | (c0 ? X86_FL_CF : 0));
		return;
	}
	cpu->fpu.fsw = (uint16_t)((cpu->fpu.fsw & ~FSW_CC) | (c3 ? FSW_C3 : 0) |   /* C1 = 0 */
				  (c2 ? FSW_C2 : 0) | (c0 ? FSW_C0 : 0));
}

/* ---- Memory operands -------------------------------------------------------------- */

static const unsigned mem_bytes[] = { 4, 8, 10, 2, 4, 8 };

int x87_load_mem(emu_cpu *cpu, const emu_insn *ins, unsigned kind, long double *v)
{
	uint8_t buf[16] = { 0 };
	int rc = emu_mem_read_slow(cpu, emu_ea(cpu, ins), buf, mem_bytes[kind], EMU_ACC_R);
	volatile float f;
	volatile double d;
	volatile long double r = 0;
	uint16_t host;
	int16_t i16;
	int32_t i32;
	int64_t i64;

	if (rc)
		return rc;
	host = x87_enter(cpu);
	switch (kind) {
	case M32FP: memcpy((void *)&f, buf, 4); r = f; break;
	case M64FP: memcpy((void *)&d, buf, 8); r = d; break;
	case M80FP: memcpy((void *)&r, buf, 10); break;
	case M16INT: memcpy(&i16, buf, 2); r = i16; break;
	case M32INT: memcpy(&i32, buf, 4); r = i32; break;
	default: memcpy(&i64, buf, 8); r = (long double)i64; break;
	}
	x87_leave(cpu, host);
	*v = r;
	return EMU_OK;
}

/* Converts v for a store of the given kind, rounding under the guest CW. */
static void convert_store(emu_cpu *cpu, unsigned kind, long double v, uint8_t *buf)
{
	volatile long double in = v;
	volatile float f;
	volatile double d;
	int16_t i16;
	int32_t i32;
	int64_t i64;
	uint16_t host = x87_enter(cpu);

	switch (kind) {
	case M32FP: f = (float)in; memcpy(buf, (const void *)&f, 4); break;
	case M64FP: d = (double)in; memcpy(buf, (const void *)&d, 8); break;
	case M80FP: memcpy(buf, (const void *)&in, 10); break;
	case M16INT:
		__asm__ __volatile__("fistps %0" : "=m"(i16) : "t"(in) : "st");
		memcpy(buf, &i16, 2);
		break;
	case M32INT:
		__asm__ __volatile__("fistpl %0" : "=m"(i32) : "t"(in) : "st");
		memcpy(buf, &i32, 4);
		break;
	default:
		__asm__ __volatile__("fistpll %0" : "=m"(i64) : "t"(in) : "st");
		memcpy(buf, &i64, 8);
		break;
	}
	x87_leave(cpu, host);
}

/* ---- Handlers ----------------------------------------------------------------------- */

/* D8/DC/DA/DE with memory: ST0 = ST0 op m; op 2/3 compare (3 pops). */
int emu_h_x87_arith_m(emu_cpu *cpu, const emu_insn *ins)
{
	long double m, a;
	uint16_t fsw = cpu->fpu.fsw;
	int rc = x87_available(cpu);

	if (!rc)
		rc = x87_load_mem(cpu, ins, ins->aux, &m);
	if (rc)
		return rc;
	if (x87_empty(&cpu->fpu, 0))      /* underflow: the operand raises nothing */
		cpu->fpu.fsw = fsw;
	a = x87_get(cpu, 0);
	if (ins->op == 2 || ins->op == 3) {
		x87_compare(cpu, a, m, 0, 0);
		if (ins->op == 3)
			x87_pop(&cpu->fpu);
	} else {
		x87_set(&cpu->fpu, 0, x87_arith(cpu, ins->op, a, m));
	}
	/* An invalid operation or a NaN operand takes precedence over the
	 * denormal the load of m reported. */
	if (!(fsw & FSW_DE) && ((cpu->fpu.fsw & ~fsw & FSW_IE) || __builtin_isnan(a) ||
				__builtin_isnan(m)))
		cpu->fpu.fsw &= (uint16_t)~FSW_DE;
	return EMU_OK;
}

/* D8 with a register: ST0 = ST0 op ST(i); FCOM/FCOMP ST(i). */
int emu_h_x87_arith_st0(emu_cpu *cpu, const emu_insn *ins)
{
	long double a, b;
	int rc = x87_available(cpu);

	if (rc)
		return rc;
	a = x87_get(cpu, 0);
	b = x87_get(cpu, ins->aux);
	if (ins->op == 2 || ins->op == 3) {
		x87_compare(cpu, a, b, 0, 0);
		if (ins->op == 3)
			x87_pop(&cpu->fpu);
		return EMU_OK;
	}
	x87_set(&cpu->fpu, 0, x87_arith(cpu, ins->op, a, b));
	return EMU_OK;
}

/* DC/DE with a register: ST(i) = ST(i) op ST0 (the encoding swaps SUB/SUBR
 * and DIV/DIVR; bind passes the effective op); DE pops (ins->scale). */
int emu_h_x87_arith_sti(emu_cpu *cpu, const emu_insn *ins)
{
	long double a, b;
	int rc = x87_available(cpu);

	if (rc)
		return rc;
	a = x87_get(cpu, ins->aux);
	b = x87_get(cpu, 0);
	x87_set(&cpu->fpu, ins->aux, x87_arith(cpu, ins->op, a, b));
	if (ins->scale)
		x87_pop(&cpu->fpu);
	return EMU_OK;
}

int emu_h_x87_fld_m(emu_cpu *cpu, const emu_insn *ins)
{
	long double v;
	int rc = x87_available(cpu);

	if (!rc)
		rc = x87_load_mem(cpu, ins, ins->aux, &v);
	if (rc)
		return rc;
	x87_push(&cpu->fpu, v);
	return EMU_OK;
}

int emu_h_x87_fld_st(emu_cpu *cpu, const emu_insn *ins)
{
	long double v;
	int rc = x87_available(cpu);

	if (rc)
		return rc;
	v = x87_get(cpu, ins->aux);
	x87_push(&cpu->fpu, v);
	return EMU_OK;
}

/* FST/FSTP/FIST/FISTP to memory: kind in aux, pop in op. */
int emu_h_x87_fst_m(emu_cpu *cpu, const emu_insn *ins)
{
	uint8_t buf[16] = { 0 };
	uint64_t la = emu_ea(cpu, ins);
	uint16_t fsw = cpu->fpu.fsw;
	int rc = x87_available(cpu);

	if (rc)
		return rc;
	if (ins->xflags) {                          /* FISTTP: round toward zero */
		uint16_t fcw = cpu->fpu.fcw;

		cpu->fpu.fcw |= 0x0c00;
		convert_store(cpu, ins->aux, x87_get(cpu, 0), buf);
		cpu->fpu.fcw = fcw;
	} else {
		convert_store(cpu, ins->aux, x87_get(cpu, 0), buf);
	}
	rc = emu_mem_write_slow(cpu, la, buf, mem_bytes[ins->aux], EMU_ACC_W);
	if (rc) {
		cpu->fpu.fsw = fsw;
		return rc;
	}
	if (ins->op)
		x87_pop(&cpu->fpu);
	return EMU_OK;
}

/* FST/FSTP ST(i); FFREE ST(i) (op 2). */
int emu_h_x87_fst_st(emu_cpu *cpu, const emu_insn *ins)
{
	int rc = x87_available(cpu);

	if (rc)
		return rc;
	if (ins->op == 2) {
		cpu->fpu.empty |= (uint8_t)(1u << x87_phys(&cpu->fpu, ins->aux));
		return EMU_OK;
	}
	x87_set(&cpu->fpu, ins->aux, x87_get(cpu, 0));
	if (ins->op)
		x87_pop(&cpu->fpu);
	return EMU_OK;
}

int emu_h_x87_fxch(emu_cpu *cpu, const emu_insn *ins)
{
	long double a, b;
	int rc = x87_available(cpu);

	if (rc)
		return rc;
	a = x87_get(cpu, 0);
	b = x87_get(cpu, ins->aux);
	x87_set(&cpu->fpu, 0, b);
	x87_set(&cpu->fpu, ins->aux, a);
	cpu->fpu.fsw &= (uint16_t)~FSW_C1;
	return EMU_OK;
}

/* FCOMI/FUCOMI(P) (to EFLAGS) and FUCOM(P)(P): quiet in op bit 0, pops in
 * scale, EFLAGS in base. */
int emu_h_x87_compare(emu_cpu *cpu, const emu_insn *ins)
{
	int rc = x87_available(cpu);

	if (rc)
		return rc;
	x87_compare(cpu, x87_get(cpu, 0), x87_get(cpu, ins->aux), ins->op & 1, ins->base == 1);
	for (unsigned i = 0; i < ins->scale; i++)
		x87_pop(&cpu->fpu);
	return EMU_OK;
}

/* FCMOVcc: op = the EFLAGS condition code. */
int emu_h_x87_fcmov(emu_cpu *cpu, const emu_insn *ins)
{
	int rc = x87_available(cpu);

	if (rc)
		return rc;
	if (emu_cond(cpu, ins->op))
		x87_set(&cpu->fpu, 0, x87_get(cpu, ins->aux));
	return EMU_OK;
}

/* ---- Control and status ------------------------------------------------------------ */

/* The status word with TOP, and B (bit 15) a copy of ES as on every CPU
 * since the 80387. */
uint16_t emu_x87_fsw(const emu_cpu *cpu)
{
	uint16_t sw = (uint16_t)((cpu->fpu.fsw & ~0xb800u) | ((unsigned)cpu->fpu.top << 11));

	if (sw & ~cpu->fpu.fcw & 0x3f)
		sw |= FSW_ES;
	return (uint16_t)(sw | ((sw & FSW_ES) ? 0x8000u : 0));
}

/* WAIT/FWAIT (9B): #NM with CR0.TS and MP (bound by the block cache), #MF
 * for a pending unmasked x87 exception. */
int emu_h_fwait(emu_cpu *cpu, const emu_insn *ins)
{
	return emu_x87_pending(cpu) ? EMU_FAULT : EMU_OK;
}

void emu_x87_init(emu_cpu *cpu)
{
	cpu->fpu.fcw = 0x037f;
	cpu->fpu.fsw = 0;
	cpu->fpu.top = 0;
	cpu->fpu.empty = 0xff;
	cpu->fpu.fop = 0;
}

/* FLDCW (op 0), FNSTCW (1), FNSTSW m16 (2), FNSTSW AX (3), FNCLEX (4),
 * FNINIT (5). */
int emu_h_x87_control(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t v;
	int rc = ins->op ? x87_available_nowait(cpu) : x87_available(cpu);

	if (rc)
		return rc;
	switch (ins->op) {
	case 0:                 /* ES follows the flags the new masks leave unmasked */
		rc = emu_rm_read(cpu, ins, EMU_SZ16, &v);
		if (rc)
			return rc;
		cpu->fpu.fcw = (uint16_t)(v | 0x40);
		cpu->fpu.fsw &= (uint16_t)~FSW_ES;
		if (cpu->fpu.fsw & ~cpu->fpu.fcw & 0x3f)
			cpu->fpu.fsw |= FSW_ES;
		return EMU_OK;
	case 1: return emu_rm_write(cpu, ins, EMU_SZ16, cpu->fpu.fcw);
	case 2: return emu_rm_write(cpu, ins, EMU_SZ16, emu_x87_fsw(cpu));
	case 3: emu_reg_set(cpu, 0, EMU_SZ16, emu_x87_fsw(cpu)); return EMU_OK;
	case 4: cpu->fpu.fsw &= (uint16_t)~(0x00ffu); return EMU_OK;
	default: emu_x87_init(cpu); return EMU_OK;
	}
}
