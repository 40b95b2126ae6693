/* emu_fuzz_gen.h - guest generators for test_emu_fuzz.c: interesting
 * register values (pointers at the end of RAM, into MMIO and ROM,
 * non-canonical, huge counts), code made of random bytes or of
 * valid-looking instructions (prefixes, REX, opcodes of the one- and
 * two-byte maps, ModRM/SIB/displacements/immediates, and templates of the
 * system and string instructions), IDTs with handler stubs that resume
 * after the faulting byte, and a tiny emitter for hand-made sequences. */
#ifndef EMU_FUZZ_GEN_H
#define EMU_FUZZ_GEN_H

#include "tests/unit/emu_fuzz.h"

/* ---- Values ------------------------------------------------------------------------ */
static inline uint64_t fz_value(fz_rng *r)
{
	static const uint64_t fixed[] = {
		0, ~0ull, 1ull << 63, 0x00007fffffffffffull, 0x0000800000000000ull,
		0xffff800000000000ull, 0xfffffffful, 0x100000000ull, 0xfee00000ull,
		0x7fffffffffffffffull, 0x80000000ull, 0xffffffff80000000ull,
		0xc0000080, 0xc0000081, 0xc0000082, 0xc0000100, 0xc0000101, 0xc0000102,
		0xc0000103, 0x10, 0x1b, 0x174, 0x176, 0x277, 0x3f8, 0xf4,
	};

	switch (fz_below(r, 12)) {
	case 0: return fixed[fz_below(r, sizeof(fixed) / 8)];
	case 1: return fz_below(r, 256);
	case 2: return fz_below(r, (uint32_t)FZ_RAM);                 /* in RAM */
	case 3: return FZ_RAM - fz_below(r, 64);                      /* end of RAM */
	case 4: return FZ_RAM + fz_below(r, 0x20000);                 /* MMIO after RAM */
	case 5: return FZ_ROM + fz_below(r, (uint32_t)FZ_ROM_SIZE + 64) - 32;
	case 6: return FZ_XTRA + FZ_XTRA_SIZE - fz_below(r, 64);
	case 7: return 0x0000800000000000ull + fz_next(r) % 0xffff000000000000ull;
	case 8: return FZ_DATA + fz_below(r, 0x1000);
	case 9: return fz_below(r, 2) ? fz_next(r) & 0xffffffffull : 0x500 + fz_below(r, 256);
	case 10: return fz_below(r, 2) ? (fz_next(r) & 0xffff) - 0x8000
				       : 0xfe000000ull + fz_below(r, 0x100000);
	default: return fz_next(r);
	}
}

static inline void fz_random_regs(fz_rng *r, vmm_regs *g, int mode)
{
	uint64_t *v = &g->rax;

	for (unsigned i = 0; i < 16; i++)
		v[i] = fz_below(r, 4) ? fz_value(r) : v[i];
	if (fz_below(r, 3) == 0)
		g->rsp = FZ_RAM - 8 - fz_below(r, 64) * 8;
	if (fz_below(r, 4) == 0)
		g->rcx = fz_below(r, 2) ? 1ull << 63 : 0xffffffffull - fz_below(r, 2);
	g->rflags = 2;
	if (fz_below(r, 4) == 0)
		g->rflags |= 1u << 10;                        /* DF */
	if (fz_below(r, 16) == 0)
		g->rflags |= (fz_next(r) & 0x3f7fd5) | 2;    /* anything, even VM/TF/NT */
	if (mode == FZ_REAL)
		g->rip &= 0xffff;
}

/* Segment and system registers as a hostile caller might set them. */
static inline void fz_random_seg(fz_rng *r, vmm_segment *g)
{
	uint64_t v = fz_next(r);

	if (fz_below(r, 2))
		return;                       /* keep this one */
	g->selector = (uint16_t)v;
	g->base = fz_below(r, 2) ? 0 : fz_value(r);
	g->limit = fz_below(r, 2) ? 0xffffffffu : (uint32_t)fz_next(r);
	g->type = (uint8_t)(v >> 16 & 15);
	g->present = (uint8_t)(v >> 20 & 1);
	g->dpl = (uint8_t)(v >> 21 & 3);
	g->db = (uint8_t)(v >> 23 & 1);
	g->s = (uint8_t)(v >> 24 & 1);
	g->l = (uint8_t)(v >> 25 & 1);
	g->g = (uint8_t)(v >> 26 & 1);
	g->avl = (uint8_t)(v >> 27 & 1);
	g->unusable = (uint8_t)(v >> 28 & 1);
}

static inline void fz_random_sregs(fz_rng *r, vmm_sregs *s)
{
	vmm_segment *segs[] = { &s->cs, &s->ds, &s->es, &s->fs, &s->gs, &s->ss, &s->tr, &s->ldt };

	for (unsigned i = 0; i < 8; i++)
		fz_random_seg(r, segs[i]);
	if (fz_below(r, 2))
		s->cr0 = fz_below(r, 4) ? (fz_next(r) & 0xe005003full) | 0x10 : fz_next(r);
	if (fz_below(r, 2))
		s->cr4 = fz_below(r, 4) ? fz_next(r) & 0x3f07ffull : fz_next(r);
	if (fz_below(r, 2))
		s->efer = fz_below(r, 4) ? fz_next(r) & 0xd01ull : fz_next(r);
	if (fz_below(r, 3) == 0)
		s->cr3 = fz_value(r);
	if (fz_below(r, 3) == 0)
		s->cr8 = fz_next(r);
	if (fz_below(r, 3) == 0)
		s->apic_base = fz_next(r);
}

/* ---- Code -------------------------------------------------------------------------- */
typedef struct fz_buf {
	uint8_t *p;
	size_t n, cap;
} fz_buf;

static inline void fz_b(fz_buf *b, uint8_t v)
{
	if (b->n < b->cap)
		b->p[b->n++] = v;
}

static inline void fz_bytes(fz_buf *b, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fz_b(b, ((const uint8_t *)p)[i]);
}

static inline void fz_le(fz_buf *b, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		fz_b(b, (uint8_t)(v >> (8 * i)));
}

/* MOV reg, imm (64-bit: REX.W B8+r imm64; else B8+r imm32). */
static inline void fz_mov_imm(fz_buf *b, int mode, unsigned reg, uint64_t v)
{
	if (mode == FZ_LONG) {
		fz_b(b, (uint8_t)(0x48 | (reg >> 3)));
		fz_b(b, (uint8_t)(0xb8 + (reg & 7)));
		fz_le(b, v, 8);
	} else {
		if (mode == FZ_REAL)
			fz_b(b, 0x66);
		fz_b(b, (uint8_t)(0xb8 + (reg & 7)));
		fz_le(b, v, 4);
	}
}

typedef struct fz_tmpl {
	uint8_t n, b[15];
} fz_tmpl;

/* Opcodes worth hitting more often than chance would: strings, I/O, system,
 * far transfers, segment loads, atomics, bit tests, x87/SSE/VEX. The
 * generator follows each with random ModRM/SIB/displacement/immediate. */
static const fz_tmpl fz_tmpls[] = {
	{2, {0xf3, 0xa4}}, {2, {0xf3, 0xa5}}, {2, {0xf3, 0xaa}}, {2, {0xf3, 0xab}},
	{2, {0xf3, 0xa6}}, {2, {0xf2, 0xae}}, {2, {0xf3, 0x6c}}, {2, {0xf3, 0x6f}},
	{2, {0xf3, 0xad}}, {3, {0xf3, 0x48, 0xab}}, {3, {0xf3, 0x67, 0xa4}},
	{1, {0xa4}}, {1, {0x6d}}, {1, {0xe4}}, {1, {0xe7}}, {1, {0xec}}, {1, {0xef}},
	{1, {0xf4}}, {1, {0xcd}}, {1, {0xcc}}, {1, {0xce}}, {1, {0xf1}}, {1, {0xcf}},
	{2, {0x48, 0xcf}}, {1, {0xea}}, {1, {0x9a}}, {1, {0xca}}, {1, {0xcb}},
	{2, {0x48, 0xcb}}, {2, {0x0f, 0x01}}, {2, {0x0f, 0x00}}, {1, {0x8e}}, {1, {0x8c}},
	{2, {0x0f, 0x22}}, {2, {0x0f, 0x20}}, {2, {0x0f, 0x23}}, {2, {0x0f, 0x21}},
	{2, {0x0f, 0x30}}, {2, {0x0f, 0x32}}, {2, {0x0f, 0x05}}, {2, {0x0f, 0x07}},
	{3, {0x48, 0x0f, 0x07}}, {2, {0x0f, 0x34}}, {2, {0x0f, 0x35}},
	{3, {0xf0, 0x0f, 0xb1}}, {3, {0xf0, 0x0f, 0xc7}}, {2, {0xf0, 0x87}},
	{2, {0x0f, 0xab}}, {2, {0x0f, 0xa3}}, {2, {0x0f, 0xbb}}, {2, {0x0f, 0xba}},
	{3, {0xf0, 0x0f, 0xb3}}, {1, {0x9c}}, {1, {0x9d}}, {1, {0xc8}}, {1, {0xc9}},
	{1, {0xe2}}, {1, {0xe3}}, {1, {0xff}}, {1, {0xf7}}, {1, {0xf6}}, {1, {0xd4}},
	{1, {0xd5}}, {1, {0x8f}}, {2, {0x0f, 0xb2}}, {1, {0xc4}}, {1, {0xc5}},
	{2, {0x0f, 0xa1}}, {1, {0x1f}}, {1, {0x17}}, {2, {0x0f, 0x0b}}, {2, {0x0f, 0xa2}},
	{2, {0x0f, 0x31}}, {1, {0xd7}}, {1, {0x62}}, {1, {0x63}}, {1, {0x27}},
	{2, {0x0f, 0xc8}}, {1, {0xd9}}, {1, {0xdf}}, {2, {0x0f, 0xae}},
	{3, {0x66, 0x0f, 0x6f}}, {1, {0xc2}}, {1, {0x0e}}, {2, {0x0f, 0xa5}},
	{2, {0x0f, 0xad}}, {1, {0xd3}}, {1, {0xc1}}, {2, {0x0f, 0xaf}}, {1, {0x69}},
	{2, {0x0f, 0xb0}}, {2, {0x0f, 0xc0}}, {1, {0x86}}, {2, {0x0f, 0x09}},
	{2, {0x0f, 0x08}}, {1, {0xfa}}, {1, {0xfb}}, {2, {0x0f, 0x06}}, {1, {0x07}},
	{2, {0x0f, 0x03}}, {2, {0x0f, 0x02}}, {2, {0x0f, 0xa8}}, {2, {0x0f, 0xa9}},
	{3, {0x0f, 0x01, 0xc1}}, {3, {0x0f, 0x01, 0xd9}}, {3, {0x0f, 0x01, 0xf8}},
	{3, {0x0f, 0x01, 0xf9}}, {2, {0x0f, 0xbc}}, {2, {0x0f, 0xbd}}, {3, {0xf3, 0x0f, 0xb8}},
	{3, {0xf3, 0x0f, 0xbc}}, {3, {0xf3, 0x0f, 0xbd}}, {4, {0xf0, 0x48, 0x0f, 0xc7}},
	{3, {0x66, 0x0f, 0xc1}}, {3, {0x66, 0x0f, 0xb1}}, {2, {0x0f, 0x06}}, {2, {0x0f, 0x09}},
	{3, {0x0f, 0x01, 0xf0}}, {3, {0x0f, 0x01, 0xe0}}, {3, {0x0f, 0x20, 0xe0}},
	{3, {0x0f, 0x22, 0xe0}}, {4, {0x44, 0x0f, 0x22, 0xc0}}, {2, {0x0f, 0x1f}},
	/* x87, SSE/SSE2, FXSAVE/FXRSTOR/LDMXCSR/STMXCSR (random memory) */
	{1, {0xd8}}, {1, {0xd9}}, {1, {0xda}}, {1, {0xdb}}, {1, {0xdc}}, {1, {0xdd}},
	{1, {0xde}}, {1, {0xdf}}, {2, {0xdb, 0xe3}}, {2, {0xd9, 0x2b}}, {2, {0xdf, 0x3b}},
	{3, {0x0f, 0xae, 0x03}}, {3, {0x0f, 0xae, 0x0b}}, {3, {0x0f, 0xae, 0x13}},
	{3, {0x0f, 0xae, 0x1b}}, {4, {0x48, 0x0f, 0xae, 0x0b}}, {2, {0x0f, 0x28}},
	{2, {0x0f, 0x29}}, {3, {0x66, 0x0f, 0x7f}}, {3, {0xf3, 0x0f, 0x6f}},
	{2, {0x0f, 0x58}}, {3, {0xf2, 0x0f, 0x5e}}, {3, {0xf3, 0x0f, 0x51}},
	{3, {0x66, 0x0f, 0xc2}}, {2, {0x0f, 0xc6}}, {3, {0x66, 0x0f, 0x2f}},
	{3, {0xf2, 0x0f, 0x2d}}, {4, {0xf2, 0x48, 0x0f, 0x2c}}, {3, {0x66, 0x0f, 0x5a}},
	{3, {0x66, 0x0f, 0xd6}}, {3, {0x66, 0x0f, 0x73}}, {3, {0x66, 0x0f, 0xfe}},
	{3, {0x66, 0x0f, 0xef}}, {3, {0x66, 0x0f, 0x70}}, {3, {0x66, 0x0f, 0xd7}},
	{3, {0x66, 0x0f, 0x6e}}, {4, {0x66, 0x48, 0x0f, 0x7e}}, {3, {0x66, 0x0f, 0xf4}},
};

/* Valid sequences for 64-bit code that reach deeper system states. */
static const fz_tmpl fz_snippets64[] = {
	/* EFER.SCE on; STAR, LSTAR; SYSCALL; SYSRET */
	{12, {0xb9, 0x80, 0, 0, 0xc0, 0x0f, 0x32, 0x83, 0xc8, 0x01, 0x0f, 0x30}},
	{14, {0xb9, 0x82, 0, 0, 0xc0, 0xb8, 0x00, 0x08, 0x01, 0x00, 0x31, 0xd2, 0x0f, 0x30}},
	{14, {0xb9, 0x81, 0, 0, 0xc0, 0x31, 0xc0, 0xba, 0x08, 0, 0x28, 0, 0x0f, 0x30}},
	{2, {0x0f, 0x05}}, {3, {0x48, 0x0f, 0x07}}, {2, {0x0f, 0x07}},
	/* EFER.NXE toggle; CR4.PGE, CR0.WP toggles; CR3 reload */
	{14, {0xb9, 0x80, 0, 0, 0xc0, 0x0f, 0x32, 0x35, 0x00, 0x08, 0, 0, 0x0f, 0x30}},
	{12, {0x0f, 0x20, 0xe0, 0x48, 0x35, 0x80, 0, 0, 0, 0x0f, 0x22, 0xe0}},
	{12, {0x0f, 0x20, 0xc0, 0x48, 0x35, 0, 0, 0x01, 0, 0x0f, 0x22, 0xc0}},
	{6, {0x0f, 0x20, 0xd8, 0x0f, 0x22, 0xd8}},
	/* to compatibility mode and to 64-bit code: PUSH sel; PUSH target; RETFQ */
	{9, {0x6a, 0x18, 0x68, 0x00, 0x04, 0x01, 0x00, 0x48, 0xcb}},
	{9, {0x6a, 0x08, 0x68, 0x00, 0x06, 0x01, 0x00, 0x48, 0xcb}},
	/* to CPL 3 by IRETQ: SS 0x43, RSP, RFLAGS, CS 0x3b, RIP */
	{13, {0x6a, 0x43, 0x54, 0x9c, 0x6a, 0x3b, 0x68, 0x00, 0x02, 0x01, 0x00, 0x48, 0xcf}},
	/* FS/GS base, SWAPGS */
	{12, {0xb9, 0x01, 0x01, 0, 0xc0, 0x31, 0xd2, 0xb8, 0, 0, 0x20, 0}},
	{5, {0x0f, 0x30, 0x0f, 0x01, 0xf8}},
	/* CR0.PG off from 64-bit code (#GP), CR4.PAE off (#GP) */
	{11, {0x0f, 0x20, 0xc0, 0x48, 0x0f, 0xba, 0xf0, 0x1f, 0x0f, 0x22, 0xc0}},
	{10, {0x0f, 0x20, 0xe0, 0x48, 0x83, 0xf0, 0x20, 0x0f, 0x22, 0xe0}},
};

static const uint8_t fz_prefixes[] = { 0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x2e, 0x3e, 0x26,
				       0x64, 0x65, 0x36 };

/* One valid-looking instruction. */
static inline void fz_gen_insn(fz_rng *r, fz_buf *b, int mode)
{
	unsigned k = fz_below(r, 8) < 5 ? 0 : fz_below(r, 4), tail;

	for (unsigned i = 0; i < k; i++)
		fz_b(b, fz_prefixes[fz_below(r, sizeof(fz_prefixes))]);
	if (fz_below(r, 7) == 0) {
		fz_mov_imm(b, mode, fz_below(r, mode == FZ_LONG ? 16 : 8), fz_value(r));
		return;
	}
	if ((mode == FZ_LONG || mode == FZ_COMPAT) && fz_below(r, 3) == 0)
		fz_b(b, (uint8_t)(0x40 | fz_below(r, 16)));
	if (mode == FZ_LONG && fz_below(r, 12) == 0) {
		const fz_tmpl *t = &fz_snippets64[fz_below(r, sizeof(fz_snippets64) /
						    sizeof(fz_snippets64[0]))];

		fz_bytes(b, t->b, t->n);
		return;
	}
	switch (fz_below(r, 10)) {
	case 0: case 1: case 2: case 3: {
		const fz_tmpl *t = &fz_tmpls[fz_below(r, sizeof(fz_tmpls) / sizeof(fz_tmpls[0]))];

		fz_bytes(b, t->b, t->n);
		break;
	}
	case 4: case 5: case 6:
		fz_b(b, (uint8_t)fz_next(r));
		break;
	case 7: case 8:
		fz_b(b, 0x0f);
		fz_b(b, (uint8_t)fz_next(r));
		break;
	default:
		fz_b(b, 0x0f);
		fz_b(b, fz_below(r, 2) ? 0x38 : 0x3a);
		fz_b(b, (uint8_t)fz_next(r));
	}
	/* ModRM (memory forms more often), SIB, displacement, immediate. */
	{
		uint8_t modrm = (uint8_t)fz_next(r);

		if (fz_below(r, 3) == 0)
			modrm = (uint8_t)((modrm & 0x38) | 0x04);  /* [SIB] */
		fz_b(b, modrm);
	}
	tail = fz_below(r, 10);
	for (unsigned i = 0; i < tail; i++)
		fz_b(b, fz_below(r, 4) ? (uint8_t)fz_next(r) : 0);
}

static inline void fz_gen_insns(fz_rng *r, uint8_t *p, size_t n, int mode)
{
	fz_buf b = { p, 0, n };

	while (b.n < n)
		fz_gen_insn(r, &b, mode);
}

static inline void fz_gen_bytes(fz_rng *r, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = fz_next(r);

		memcpy(p + i, &v, n - i < 8 ? n - i : 8);
	}
}

/* ---- Exception handlers --------------------------------------------------------------
 * Each vector's gate leads to a stub that adds 1 to the saved RIP (popping
 * the error code first where the CPU pushes one) and returns: random code
 * goes on after the faulting byte. */
static inline int fz_has_err(unsigned vec)
{
	return vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 ||
	       vec == 29 || vec == 30;
}

static inline void fz_stubs(fz_vm *f, int mode)
{
	static const uint8_t s64[] = { 0x48, 0x83, 0x04, 0x24, 0x01, 0x48, 0xcf,
				       0x48, 0x83, 0xc4, 0x08, 0x48, 0x83, 0x04, 0x24, 0x01,
				       0x48, 0xcf };
	static const uint8_t s32[] = { 0x83, 0x04, 0x24, 0x01, 0xcf,
				       0x83, 0xc4, 0x04, 0x83, 0x04, 0x24, 0x01, 0xcf };
	static const uint8_t s16[] = { 0x67, 0x83, 0x04, 0x24, 0x01, 0xcf };

	if (mode == FZ_LONG)
		fz_write(f, FZ_STUBS, s64, sizeof(s64));
	else if (mode == FZ_REAL)
		fz_write(f, FZ_STUBS, s16, sizeof(s16));
	else
		fz_write(f, FZ_STUBS, s32, sizeof(s32));
}

/* The IDT (IVT in real mode) with every vector going to its stub. */
static inline void fz_idt(fz_vm *f, int mode, vmm_dtable *idt)
{
	int lm = mode == FZ_LONG || mode == FZ_COMPAT;

	fz_stubs(f, lm ? FZ_LONG : mode);
	for (unsigned v = 0; v < 256; v++) {
		uint64_t lo, t;

		if (mode == FZ_REAL) {
			fz_w32(f, FZ_IDT + v * 4, (uint32_t)(FZ_STUBS >> 4) << 16);
			continue;
		}
		t = FZ_STUBS + (fz_has_err(v) ? (lm ? 7 : 5) : 0);
		lo = (t & 0xffff) | ((uint64_t)(lm ? 0x08 : 0x18) << 16) |
		     (0xeeull << 40) | ((t >> 16 & 0xffff) << 48);   /* P, DPL 3, int gate */
		if (lm) {
			fz_w64(f, FZ_IDT + v * 16, lo);
			fz_w64(f, FZ_IDT + v * 16 + 8, t >> 32);
		} else {
			fz_w64(f, FZ_IDT + v * 8, lo);
		}
	}
	idt->base = FZ_IDT;
	idt->limit = mode == FZ_REAL ? 0x3ff : lm ? 0xfff : 0x7ff;
}

#endif
