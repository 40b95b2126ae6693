/* emu_native_gen.h - random user-level instruction sequences for
 * test_emu_native.c, the same bytes run on the host CPU and on emu.
 *
 * Candidates are built from structured random bytes (legacy prefixes, REX,
 * opcode map, opcode, ModRM with a register or [rbx + disp8] operand,
 * random immediates) and kept only when capstone says they are safe to
 * compare: no control flow, no privileged/system or nondeterministic
 * instruction, no extension emu does not advertise (AVX, AES, SHA, BMI,
 * SSE4a, ...), every memory operand [rbx + disp8] inside the scratch block,
 * no write to RBX or RSP (but PUSH/POP). Flags: capstone's per-instruction
 * eflags table says which flags an instruction leaves undefined; those are
 * "poisoned" until an instruction defines them again, instructions that read
 * a poisoned flag are not chosen, and poisoned flags are masked at the end
 * (with nat_undef_fix() correcting capstone where it is wrong). */
#ifndef EMU_NATIVE_GEN_H
#define EMU_NATIVE_GEN_H

#include <stdint.h>
#include <string.h>

#include <capstone/capstone.h>

typedef struct nat_rng {
	uint64_t s;
} nat_rng;

static inline uint64_t nat_next(nat_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline unsigned nat_below(nat_rng *r, unsigned n)
{
	return (unsigned)(nat_next(r) % n);
}

/* An interesting 64-bit value: small, boundary, float-like or random. */
static inline uint64_t nat_value(nat_rng *r)
{
	static const uint64_t fixed[] = {
		0, 1, ~0ull, 0x80, 0x7f, 0xff, 0x8000, 0x7fff, 0xffff, 0x80000000ull,
		0x7fffffffull, 0xffffffffull, 1ull << 63, (1ull << 63) - 1, 0x3ff0000000000000ull,
		0x7ff0000000000000ull, 0x7ff8000000000000ull, 0x7ff4000000000000ull,
		0x000fffffffffffffull, 0x3f8000007fc00000ull, 0x7f8000007fa00000ull,
		0x0000000100000001ull, 0x0080000000400000ull,
	};
	uint64_t v = nat_next(r);

	switch (nat_below(r, 8)) {
	case 0: return fixed[nat_below(r, sizeof(fixed) / 8)];
	case 1: return nat_below(r, 64);
	case 2: return v & 0xff00ff00ff00ff00ull;
	case 3: return (uint64_t)(int64_t)(int8_t)v;
	case 4: return v & 0x800fffff807fffffull;                  /* denormals */
	case 5: return (v & 0x80ff00ff80ff00ffull) | 0x3f0000003f000000ull;
	default: return v;
	}
}

#define NAT_FL_ARITH 0x8d5ull    /* CF PF AF ZF SF OF */

/* Capstone eflags bits -> RFLAGS bits. */
static inline uint64_t nat_cs_flags(uint64_t e, unsigned kind)
{
	static const uint64_t undef[6] = {
		X86_EFLAGS_UNDEFINED_CF, X86_EFLAGS_UNDEFINED_PF, X86_EFLAGS_UNDEFINED_AF,
		X86_EFLAGS_UNDEFINED_ZF, X86_EFLAGS_UNDEFINED_SF, X86_EFLAGS_UNDEFINED_OF };
	static const uint64_t test[6] = {
		X86_EFLAGS_TEST_CF, X86_EFLAGS_TEST_PF, X86_EFLAGS_TEST_AF,
		X86_EFLAGS_TEST_ZF, X86_EFLAGS_TEST_SF, X86_EFLAGS_TEST_OF };
	static const uint64_t wr[6] = {
		X86_EFLAGS_MODIFY_CF | X86_EFLAGS_RESET_CF | X86_EFLAGS_SET_CF,
		X86_EFLAGS_MODIFY_PF | X86_EFLAGS_RESET_PF,
		X86_EFLAGS_MODIFY_AF | X86_EFLAGS_RESET_AF | X86_EFLAGS_SET_AF,
		X86_EFLAGS_MODIFY_ZF | X86_EFLAGS_RESET_ZF | X86_EFLAGS_SET_ZF,
		X86_EFLAGS_MODIFY_SF | X86_EFLAGS_RESET_SF | X86_EFLAGS_SET_SF,
		X86_EFLAGS_MODIFY_OF | X86_EFLAGS_RESET_OF | X86_EFLAGS_SET_OF };
	static const uint64_t bit[6] = { 0x1, 0x4, 0x10, 0x40, 0x80, 0x800 };
	const uint64_t *t = kind == 0 ? undef : kind == 1 ? test : wr;
	uint64_t f = 0;

	for (unsigned i = 0; i < 6; i++)
		if (e & t[i])
			f |= bit[i];
	return f;
}

static inline int nat_in(unsigned id, const unsigned *list, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (list[i] == id)
			return 1;
	return 0;
}

/* Instructions never generated: nondeterministic, system state, state the
 * two sides hold differently (x87 pointers, XCR0), implicit memory through
 * RSI/RDI, unmasking exceptions emu does not deliver, results the SDM
 * leaves implementation-specific. */
static const unsigned nat_banned[] = {
	X86_INS_CPUID, X86_INS_RDTSC, X86_INS_RDTSCP, X86_INS_RDRAND, X86_INS_RDSEED,
	X86_INS_RDPMC, X86_INS_XGETBV, X86_INS_XSETBV, X86_INS_XSAVE, X86_INS_XSAVE64,
	X86_INS_XSAVEOPT, X86_INS_XSAVEOPT64, X86_INS_XSAVEC, X86_INS_XSAVEC64, X86_INS_XSAVES,
	X86_INS_XSAVES64, X86_INS_XRSTOR, X86_INS_XRSTOR64, X86_INS_XRSTORS, X86_INS_XRSTORS64,
	X86_INS_FXSAVE, X86_INS_FXSAVE64, X86_INS_FXRSTOR, X86_INS_FXRSTOR64, X86_INS_LDMXCSR,
	X86_INS_FLDCW, X86_INS_FLDENV, X86_INS_FRSTOR, X86_INS_FNSAVE, X86_INS_FNSTENV,
	X86_INS_FBLD, X86_INS_FBSTP, X86_INS_POPF, X86_INS_POPFQ, X86_INS_PUSHF, X86_INS_PUSHFQ,
	X86_INS_MASKMOVQ, X86_INS_MASKMOVDQU, X86_INS_SYSCALL, X86_INS_SYSENTER,
	X86_INS_LAR, X86_INS_LSL, X86_INS_VERR, X86_INS_VERW, X86_INS_SLDT, X86_INS_STR,
	X86_INS_SGDT, X86_INS_SIDT, X86_INS_SMSW, X86_INS_RSQRTPS, X86_INS_RSQRTSS,
	X86_INS_RCPPS, X86_INS_RCPSS, X86_INS_LEAVE, X86_INS_ENTER, X86_INS_MONITOR,
	X86_INS_MWAIT, X86_INS_CLFLUSHOPT, X86_INS_UD0, X86_INS_LFS, X86_INS_LGS, X86_INS_LSS,
	X86_INS_CLWB, X86_INS_IN, X86_INS_OUT, X86_INS_CLTS, X86_INS_WBINVD, X86_INS_INVD,
	X86_INS_RDMSR, X86_INS_WRMSR, X86_INS_HLT, X86_INS_CLI, X86_INS_STI,
	X86_INS_ENCLS, X86_INS_ENCLU,    /* SGX: #UD or #GP by host configuration */
};

static const unsigned nat_banned_groups[] = {
	X86_GRP_JUMP, X86_GRP_CALL, X86_GRP_RET, X86_GRP_INT, X86_GRP_IRET, X86_GRP_PRIVILEGE,
	X86_GRP_BRANCH_RELATIVE, X86_GRP_VM, X86_GRP_3DNOW, X86_GRP_AES, X86_GRP_ADX,
	X86_GRP_AVX, X86_GRP_AVX2, X86_GRP_AVX512, X86_GRP_BMI, X86_GRP_BMI2, X86_GRP_F16C,
	X86_GRP_FMA, X86_GRP_FMA4, X86_GRP_FSGSBASE, X86_GRP_HLE, X86_GRP_RTM, X86_GRP_SHA,
	X86_GRP_SSE4A, X86_GRP_PCLMUL, X86_GRP_XOP, X86_GRP_TBM, X86_GRP_SGX, X86_GRP_CDI,
	X86_GRP_ERI, X86_GRP_DQI, X86_GRP_BWI, X86_GRP_PFI, X86_GRP_VLX, X86_GRP_SMAP,
	X86_GRP_NOT64BITMODE,
};

static inline int nat_reg_is(unsigned r, unsigned r64)
{
	switch (r64) {
	case X86_REG_RBX:
		return r == X86_REG_RBX || r == X86_REG_EBX || r == X86_REG_BX ||
		       r == X86_REG_BL || r == X86_REG_BH;
	case X86_REG_RSP:
		return r == X86_REG_RSP || r == X86_REG_ESP || r == X86_REG_SP ||
		       r == X86_REG_SPL;
	case X86_REG_RSI:
		return r == X86_REG_RSI || r == X86_REG_ESI || r == X86_REG_SI ||
		       r == X86_REG_SIL;
	default:
		return r == X86_REG_RDI || r == X86_REG_EDI || r == X86_REG_DI ||
		       r == X86_REG_DIL;
	}
}

/* Registers: writes to RBX/RSP (but PUSH/POP's RSP), implicit RSI/RDI
 * (string instructions), segment registers and RIP are not allowed. */
static inline int nat_regs_ok(csh cs, const cs_insn *in)
{
	cs_regs rd, wr;
	uint8_t nrd = 0, nwr = 0;
	int stack = in->id == X86_INS_PUSH || in->id == X86_INS_POP;

	if (cs_regs_access(cs, in, rd, &nrd, wr, &nwr) != CS_ERR_OK)
		return 0;
	for (unsigned i = 0; i < nwr; i++) {
		unsigned r = wr[i];

		if (nat_reg_is(r, X86_REG_RBX) || (!stack && nat_reg_is(r, X86_REG_RSP)) ||
		    r == X86_REG_RIP || (r >= X86_REG_CS && r <= X86_REG_SS) ||
		    r == X86_REG_DS || r == X86_REG_ES || r == X86_REG_FS || r == X86_REG_GS)
			return 0;
	}
	for (unsigned i = 0; i < nrd; i++) {                 /* selectors differ */
		unsigned r = rd[i];

		if (r == X86_REG_CS || r == X86_REG_SS || r == X86_REG_DS || r == X86_REG_ES ||
		    r == X86_REG_FS || r == X86_REG_GS)
			return 0;
	}
	for (unsigned i = 0; i < in->detail->regs_read_count; i++) {
		unsigned r = in->detail->regs_read[i];

		if (nat_reg_is(r, X86_REG_RSI) || nat_reg_is(r, X86_REG_RDI))
			return 0;
	}
	for (unsigned i = 0; i < in->detail->regs_write_count; i++) {
		unsigned r = in->detail->regs_write[i];

		if (nat_reg_is(r, X86_REG_RSI) || nat_reg_is(r, X86_REG_RDI))
			return 0;
	}
	return 1;
}

static inline int nat_host_amd(void)
{
	static int amd = -1;

	if (amd < 0) {
		unsigned a = 0, b, c, d;

		__asm__("cpuid" : "+a"(a), "=b"(b), "=c"(c), "=d"(d));
		amd = b == 0x68747541;                           /* "Auth" */
	}
	return amd;
}

static inline int nat_ops_ok(const cs_insn *in)
{
	const cs_x86 *x = &in->detail->x86;

	if (x->prefix[1])                          /* segment override: FS/GS bases differ */
		return 0;
	for (unsigned i = 0; i < x->op_count; i++) {
		const cs_x86_op *o = &x->operands[i];

		if (o->type == X86_OP_REG &&
		    (o->reg == X86_REG_CS || o->reg == X86_REG_SS || o->reg == X86_REG_DS ||
		     o->reg == X86_REG_ES || o->reg == X86_REG_FS || o->reg == X86_REG_GS))
			return 0;                              /* selectors differ */
		if (o->type != X86_OP_MEM)
			continue;
		if (o->mem.base != X86_REG_RBX || o->mem.index != X86_REG_INVALID ||
		    o->mem.segment != X86_REG_INVALID || o->mem.disp < -0x200 ||
		    o->mem.disp > 0x200)
			return 0;
	}
	/* DPPS/DPPD: AMD's results differ from the SDM's algorithm, which emu
	 * (an Intel model) follows, and AMD raises MXCSR exceptions for lanes
	 * the mask leaves out (measured on an AMD EPYC host: 169 divergences
	 * in 1M instructions, every one in a sequence with DPPS or DPPD). */
	if ((in->id == X86_INS_DPPS || in->id == X86_INS_DPPD) && nat_host_amd())
		return 0;
	/* F3 REX.B 90: PAUSE on Intel (measured, commit 28bc53e), XCHG r8, rAX
	 * on AMD (measured on an AMD EPYC host) */
	if (in->id == X86_INS_PAUSE && nat_host_amd() && (x->rex & 1))
		return 0;
	/* CMPXCHG r32 that fails: Intel writes the destination back (zero-
	 * extending it), AMD leaves it; emu is an Intel model. */
	if (in->id == X86_INS_CMPXCHG && nat_host_amd() && x->op_count &&
	    x->operands[0].type == X86_OP_REG && x->operands[0].size == 4)
		return 0;
	/* capstone 4 decodes F2 (66) 0F 38 F0/F1 as MOVBE; it is CRC32 */
	if (in->id == X86_INS_MOVBE)
		for (unsigned i = 0; i < in->size && in->bytes[i] != 0x0f; i++)
			if (in->bytes[i] == 0xf2 || in->bytes[i] == 0xf3)
				return 0;
	/* 16-bit SHLD/SHRD with counts above 16 and 16-bit BSWAP: undefined */
	if ((in->id == X86_INS_SHLD || in->id == X86_INS_SHRD || in->id == X86_INS_BSWAP) &&
	    x->op_count && x->operands[0].size == 2)
		return 0;
	return 1;
}

/* Capstone's flag table, corrected where it disagrees with the SDM. */
static inline void nat_undef_fix(const cs_insn *in, uint64_t *undef, uint64_t *reads,
				 uint64_t *writes)
{
	switch (in->id) {
	case X86_INS_LAHF: *reads |= NAT_FL_ARITH; break;
	case X86_INS_SHL: case X86_INS_SAL: case X86_INS_SHR: case X86_INS_SAR:
	case X86_INS_ROL: case X86_INS_ROR: case X86_INS_RCL: case X86_INS_RCR:
	case X86_INS_SHLD: case X86_INS_SHRD:
		/* count-dependent: OF (count != 1), AF, CF (count >= width) */
		*undef |= 0x811;
		*writes &= ~(uint64_t)0x811;
		break;
	case X86_INS_BSF: case X86_INS_BSR: *undef |= 0x895; break;
	case X86_INS_BT: case X86_INS_BTS: case X86_INS_BTR: case X86_INS_BTC:
		*undef |= 0x894; break;
	case X86_INS_MUL: case X86_INS_IMUL: *undef |= 0xd4; break;
	case X86_INS_DIV: case X86_INS_IDIV: *undef |= NAT_FL_ARITH; break;
	case X86_INS_AND: case X86_INS_OR: case X86_INS_XOR: case X86_INS_TEST:
		*undef |= 0x10; break;
	case X86_INS_LZCNT: case X86_INS_TZCNT: *undef |= 0x894; break;
	}
	*writes &= ~*undef;
}

/* A VEX/EVEX escape right after the legacy prefixes and REX. */
static inline int nat_vex(const uint8_t *b, unsigned n)
{
	unsigned j = 0;

	while (j < n && (b[j] == 0x66 || b[j] == 0x67 || b[j] == 0xf2 || b[j] == 0xf3 ||
			 b[j] == 0xf0 || b[j] == 0x26 || b[j] == 0x2e || b[j] == 0x36 ||
			 b[j] == 0x3e || b[j] == 0x64 || b[j] == 0x65 || (b[j] & 0xf0) == 0x40))
		j++;
	return j < n && (b[j] == 0xc4 || b[j] == 0xc5 || b[j] == 0x62);
}

typedef struct nat_insn {
	uint8_t bytes[15];
	uint8_t len;
} nat_insn;

/* Structured random candidate bytes. */
static inline unsigned nat_candidate(nat_rng *r, uint8_t *b)
{
	unsigned n = 0, map = nat_below(r, 20), mem = nat_below(r, 5) < 2;
	unsigned rex = nat_below(r, 2) ? 0x40 | nat_below(r, 16) : 0;
	unsigned pf = nat_below(r, 20);

	if (nat_below(r, 40) == 0)
		b[n++] = 0xf0;                                     /* LOCK */
	if (pf < 4)
		b[n++] = 0x66;
	else if (pf == 4)
		b[n++] = nat_below(r, 2) ? 0xf3 : 0xf2;
	if (mem)
		rex &= ~1u;                                        /* base stays RBX */
	rex &= ~2u;                                                /* no index */
	if (map >= 16 && nat_below(r, 4) && !(pf < 4))
		b[n++] = 0x66;                     /* SSE4 in 0F 38 / 0F 3A wants 66 */
	if (rex)
		b[n++] = (uint8_t)rex;
	if (map >= 6) {
		b[n++] = 0x0f;
		if (map >= 16)
			b[n++] = map >= 18 ? 0x3a : 0x38;
	}
	if (map >= 16 && nat_below(r, 2)) {      /* a defined opcode of the map */
		static const uint8_t op38[] = {
			0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x10, 0x14, 0x15, 0x17, 0x1c, 0x1d,
			0x1e, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x28, 0x29, 0x2a, 0x2b, 0x30,
			0x31, 0x32, 0x33, 0x34, 0x35, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d,
			0x3e, 0x3f, 0x40, 0x41, 0xf0, 0xf1 };
		static const uint8_t op3a[] = {
			8, 9, 10, 11, 12, 13, 14, 15, 0x14, 0x15, 0x16, 0x17, 0x20, 0x21, 0x22,
			0x40, 0x41, 0x42, 0x60, 0x61, 0x62, 0x63 };

		b[n++] = map >= 18 ? op3a[nat_below(r, sizeof(op3a))] : op38[nat_below(r, sizeof(op38))];
		if (map < 18 && b[n - 1] >= 0xf0 && nat_below(r, 2)) {   /* CRC32 */
			memmove(b + 1, b, n);
			b[0] = 0xf2;
			n++;
		}
	} else {
		b[n++] = (uint8_t)nat_next(r);
	}
	if (mem) {
		unsigned d = nat_below(r, 8) ? (nat_below(r, 16) * 16 - 128) : nat_below(r, 256);

		b[n++] = (uint8_t)(0x40 | (nat_below(r, 8) << 3) | 3);   /* [rbx + disp8] */
		b[n++] = (uint8_t)d;
	} else {
		b[n++] = (uint8_t)(0xc0 | (nat_below(r, 8) << 3) | nat_below(r, 8));
	}
	for (unsigned i = 0; i < 8; i++)
		b[n++] = (uint8_t)nat_next(r);
	return n;
}

/* What the sequence generated so far leaves undefined. */
typedef struct nat_undef {
	uint64_t flags;          /* RFLAGS bits */
	int top;                 /* x87 TOP (EMMS on AMD clears it, on Intel not) */
	int mmx;                 /* MMX state live: no x87 arithmetic on it */
} nat_undef;

static inline int nat_has_mmx_reg(const cs_insn *in)
{
	const cs_x86 *x = &in->detail->x86;

	for (unsigned i = 0; i < x->op_count; i++)
		if (x->operands[i].type == X86_OP_REG && x->operands[i].reg >= X86_REG_MM0 &&
		    x->operands[i].reg <= X86_REG_MM7)
			return 1;
	return 0;
}

static inline int nat_is_fpu(const cs_insn *in)
{
	for (unsigned i = 0; i < in->detail->groups_count; i++)
		if (in->detail->groups[i] == X86_GRP_FPU)
			return 1;
	return 0;
}

/* One instruction that passes the filter; updates *u. */
static inline void nat_gen_insn(csh cs, cs_insn *in, nat_rng *r, nat_insn *out,
				nat_undef *u)
{
	for (;;) {
		uint8_t b[32];
		unsigned n = nat_candidate(r, b);
		const uint8_t *code = b;
		size_t size = n;
		uint64_t addr = 0x100000, undef, reads, writes;
		int ok;

		if (!cs_disasm_iter(cs, &code, &size, &addr, in))
			continue;
		ok = in->size <= 15 && !nat_vex(b, in->size);
		ok = ok && !nat_in(in->id, nat_banned, sizeof(nat_banned) / sizeof(nat_banned[0]));
		for (unsigned i = 0; ok && i < in->detail->groups_count; i++)
			ok = !nat_in(in->detail->groups[i], nat_banned_groups,
				     sizeof(nat_banned_groups) / sizeof(nat_banned_groups[0]));
		ok = ok && nat_ops_ok(in) && nat_regs_ok(cs, in) && !((u->top || u->mmx) && nat_is_fpu(in));
		/* F2/F3/LOCK on most opcodes is #UD, which ends the sequence:
		 * keep a quarter of them */
		if (ok && (in->detail->x86.prefix[0] || in->detail->x86.prefix[2] == 0x66) &&
		    nat_has_mmx_reg(in))
			ok = nat_below(r, 4) == 0;
		if (ok && (in->detail->x86.prefix[0] == 0xf0 || in->id == X86_INS_UD2 ||
			   in->id == X86_INS_UD2B))
			ok = nat_below(r, 4) == 0;
		if (!ok)
			continue;
		undef = nat_cs_flags(in->detail->x86.eflags, 0);
		reads = nat_cs_flags(in->detail->x86.eflags, 1);
		writes = nat_cs_flags(in->detail->x86.eflags, 2);
		nat_undef_fix(in, &undef, &reads, &writes);
		if (reads & u->flags)
			continue;
		u->flags = (u->flags & ~writes) | undef;
		if (in->id == X86_INS_EMMS) {
			u->top = nat_host_amd();
			u->mmx = 0;
		} else if (nat_has_mmx_reg(in)) {
			u->top = 0;               /* TOP = 0 on both */
			u->mmx = 1;
		}
		memcpy(out->bytes, b, in->size);
		out->len = (uint8_t)in->size;
		return;
	}
}

#endif
