/* emu_fuzz_hostile.h - hostile system state for test_emu_fuzz.c: page
 * tables (entries past RAM, in MMIO and ROM, self-referencing, reserved
 * bits, large pages straddling the end of RAM) with code that walks them,
 * descriptor tables (random descriptors, bases past RAM / in MMIO /
 * non-canonical, huge limits) with code that loads selectors, far
 * transfers, IRETs and LGDT/LIDT, and IDTs (none, resuming stubs, garbage,
 * hostile bases). */
#ifndef EMU_FUZZ_HOSTILE_H
#define EMU_FUZZ_HOSTILE_H

#include "tests/unit/emu_fuzz_gen.h"

/* Sets U/S on the identity map (for CPL 3 code). */
static inline void user_tables(fz_vm *f)
{
	fz_w64(f, FZ_PML4, FZ_PDPT | 7);
	for (uint64_t i = 0; i < 4; i++)
		fz_w64(f, FZ_PDPT + i * 8, (FZ_PD + i * 0x1000) | 7);
	for (uint64_t i = 0; i < 4 * 512; i++)
		fz_w64(f, FZ_PD + i * 8, (i << 21) | 0x87);
}

/* A random descriptor (for garbage GDT/LDT/IDT entries). */
static inline uint64_t rand_desc(fz_rng *r)
{
	uint64_t base = fz_value(r) & 0xffffffffull, limit = fz_next(r) & 0xfffff;
	uint64_t acc = fz_below(r, 256) | (fz_below(r, 10) ? 0x80 : 0);
	uint64_t flags = fz_below(r, 16);

	if (fz_below(r, 3) == 0)
		return fz_next(r);
	return (limit & 0xffff) | ((base & 0xffffff) << 16) | (acc << 40) |
	       ((limit >> 16) << 48) | (flags << 52) | ((base >> 24) << 56);
}

/* IDT: none (boot.md), stubs that resume, garbage, or a hostile base. */
static inline void random_idt(fz_vm *f, fz_rng *r, vmm_sregs *s)
{
	static const uint64_t bases[] = { FZ_RAM - 8, FZ_RAM, FZ_RAM + 0x1000, FZ_ROM,
					  0xfee00000ull, 0x0000800000000000ull,
					  FZ_XTRA + FZ_XTRA_SIZE - 16, ~0ull - 7 };

	switch (fz_below(r, 8)) {
	case 0: case 1: case 2:
		break;
	case 3: case 4: case 5:
		fz_idt(f, f->mode, &s->idt);
		break;
	case 6:
		for (unsigned i = 0; i < 512; i++)
			fz_w64(f, FZ_IDT + i * 8, rand_desc(r));
		s->idt.base = FZ_IDT;
		s->idt.limit = (uint16_t)fz_next(r);
		break;
	default:
		s->idt.base = bases[fz_below(r, 8)];
		s->idt.limit = (uint16_t)(fz_below(r, 2) ? 0xffff : fz_next(r));
	}
}

/* A hostile paging-structure entry. */
static inline uint64_t hostile_entry(fz_rng *r, uint64_t self)
{
	static const uint64_t tables[] = { FZ_RAM, FZ_RAM - 0x1000, FZ_RAM + 0x1000, FZ_ROM,
					   0xfee00000ull, FZ_XTRA + FZ_XTRA_SIZE - 0x1000,
					   FZ_PML4, FZ_PT, 0xfffffff000ull, FZ_XTRA };
	uint64_t e = tables[fz_below(r, 10)] | (fz_next(r) & 0x67) | 1;

	switch (fz_below(r, 8)) {
	case 0: return self | 3;                                 /* self-reference */
	case 1: return e | (1ull << (40 + fz_below(r, 12)));     /* reserved bit */
	case 2: return (fz_below(r, 2) ? 0x400000ull : 0) | 0x83 | (fz_next(r) & 4);
	case 3: return (fz_below(r, 2) ? FZ_XTRA : 0) | 0x83;   /* 1 GiB if a PDPTE */
	case 4: return fz_next(r);
	case 5: return e | (1ull << 63);                         /* NX */
	default: return e;
	}
}

static inline void hostile_tables(fz_vm *f, fz_rng *r)
{
	for (unsigned k = fz_below(r, 12); k; k--) {
		uint64_t t, idx;

		switch (fz_below(r, 6)) {
		case 0: t = FZ_PML4; idx = 1 + fz_below(r, 511); break;
		case 1: t = FZ_PDPT; idx = 1 + fz_below(r, 511); break;
		case 2: t = FZ_PD; idx = 3 + fz_below(r, 509); break;
		case 3: t = FZ_PD + 0x1000 * (1 + fz_below(r, 3)); idx = fz_below(r, 512); break;
		case 4: t = FZ_PT; idx = fz_below(r, 512); break;
		default: t = FZ_PDPT_PAE; idx = 1 + fz_below(r, 3); break;
		}
		fz_w64(f, t + idx * 8, hostile_entry(r, t));
	}
	if (fz_below(r, 2))
		fz_w64(f, FZ_PD + 3 * 8, FZ_PT | 3);            /* 6 MiB: 4 KiB pages */
	for (unsigned k = fz_below(r, 6); k; k--)
		fz_w32(f, FZ_PD32 + (2 + fz_below(r, 1022)) * 4, (uint32_t)hostile_entry(r, FZ_PD32));
}

/* A linear address that walks through the hostile entries. */
static inline uint64_t hostile_va(fz_rng *r, int mode)
{
	uint64_t va;

	switch (fz_below(r, 5)) {
	case 0: va = (uint64_t)fz_below(r, 512) << 39; break;
	case 1: va = (uint64_t)fz_below(r, 512) << 30; break;
	case 2: va = (uint64_t)fz_below(r, 2048) << 21; break;
	case 3: va = 0x600000ull + ((uint64_t)fz_below(r, 512) << 12); break;
	default: va = fz_value(r); break;
	}
	va += fz_below(r, 2) ? fz_below(r, 4096) : 4096 - fz_below(r, 8);
	if (mode != FZ_LONG)
		return va & 0xffffffffull;
	return (uint64_t)((int64_t)(va << 16) >> 16);
}

static inline void rexw(fz_buf *b, int mode)
{
	if (mode == FZ_LONG)
		fz_b(b, 0x48);
}

/* Memory accesses through rAX (loaded with a hostile address) and CR3
 * switches, then HLT. */
static inline void hostile_mem_code(fz_rng *r, fz_buf *b, int mode, int cr3_writes)
{
	static const fz_tmpl ops[] = {
		{2, {0x8b, 0x18}}, {2, {0x89, 0x18}}, {3, {0x0f, 0xc1, 0x18}},
		{3, {0x0f, 0x01, 0x38}}, {2, {0x87, 0x18}}, {2, {0xff, 0x00}},
		{2, {0xff, 0xe0}}, {2, {0xff, 0xd0}}, {3, {0x0f, 0xab, 0x18}},
		{2, {0x8b, 0x58}}, {3, {0x0f, 0xb1, 0x18}},
	};

	for (unsigned k = 0; k < 12; k++) {
		unsigned which = fz_below(r, 12);

		fz_mov_imm(b, mode, 0, hostile_va(r, mode));
		if (which < 11) {
			if (fz_below(r, 4) == 0)
				fz_b(b, 0xf0);
			rexw(b, mode);
			fz_bytes(b, ops[which].b, ops[which].n);
			if (which == 9)
				fz_b(b, (uint8_t)fz_next(r));
			continue;
		}
		if (cr3_writes && fz_below(r, 2)) {
			fz_mov_imm(b, mode, 0, fz_below(r, 2) ? hostile_va(r, mode) & ~0xfffull
						   : FZ_PML4);
			fz_bytes(b, (const uint8_t[]){ 0x0f, 0x22, 0xd8 }, 3);
		} else {                            /* REP MOVSB rAX -> rAX+... */
			rexw(b, mode);
			fz_bytes(b, (const uint8_t[]){ 0x89, 0xc6 }, 2);
			fz_mov_imm(b, mode, 7, hostile_va(r, mode));
			fz_mov_imm(b, mode, 1, fz_value(r));
			fz_bytes(b, (const uint8_t[]){ 0xf3, 0xa4 }, 2);
		}
	}
	fz_b(b, 0xf4);
}

static const uint64_t fz_table_bases[] = {
	FZ_RAM - 8, FZ_RAM - 0x10, FZ_RAM, 0xfee00000ull, FZ_ROM + FZ_ROM_SIZE - 8,
	0x0000800000000000ull, 0xfffffffffffffff8ull, FZ_XTRA + FZ_XTRA_SIZE - 0x20,
	0xfffffff8ull, FZ_GDT,
};

/* Selector, descriptor-table and far-transfer instructions with random
 * selectors; rAX holds the selector. */
static inline void seg_code(fz_rng *r, fz_buf *b, int mode)
{
	unsigned lm = mode == FZ_LONG;

	for (unsigned k = 0; k < 10; k++) {
		uint16_t sel = (uint16_t)(fz_below(r, 2) ? fz_next(r) : fz_below(r, 128));
		uint64_t tbl = fz_table_bases[fz_below(r, 10)];

		fz_mov_imm(b, mode, 0, sel);
		switch (fz_below(r, 12)) {
		case 0: fz_b(b, 0x8e); fz_b(b, (uint8_t)(0xc0 | (fz_below(r, 6) << 3))); break;
		case 1: fz_bytes(b, (const uint8_t[]){ 0x0f, 0x00, 0xd8 }, 3); break;  /* LTR */
		case 2: fz_bytes(b, (const uint8_t[]){ 0x0f, 0x00, 0xd0 }, 3); break;  /* LLDT */
		case 3: case 4: {                                 /* JMP/CALL FAR [DATA] */
			fz_mov_imm(b, mode, 3, FZ_DATA);
			fz_bytes(b, (const uint8_t[]){ 0x89, 0x43, lm ? 8 : 4 }, 3);
			fz_mov_imm(b, mode, 2, FZ_CODE + fz_below(r, 4096));
			rexw(b, mode);
			fz_bytes(b, (const uint8_t[]){ 0x89, 0x13 }, 2);
			rexw(b, mode);
			fz_bytes(b, (const uint8_t[]){ 0xff, fz_below(r, 2) ? 0x2b : 0x1b }, 2);
			break;
		}
		case 5:                                           /* PUSH sel, off; RETF */
			fz_b(b, 0x50);
			fz_b(b, 0x68);
			fz_le(b, FZ_CODE + fz_below(r, 4096), 4);
			rexw(b, mode);
			fz_b(b, 0xcb);
			break;
		case 6:                                           /* IRET frame */
			if (lm) {
				fz_b(b, 0x50);
				fz_b(b, 0x54);
			}
			fz_b(b, 0x68);
			fz_le(b, fz_next(r) & 0x3f7fd7, 4);
			fz_b(b, 0x50);
			fz_b(b, 0x68);
			fz_le(b, FZ_CODE + fz_below(r, 4096), 4);
			rexw(b, mode);
			fz_b(b, 0xcf);
			break;
		case 7: case 8:                                   /* LGDT/LIDT [pointer] */
			fz_mov_imm(b, mode, 3, fz_below(r, 3) ? FZ_DATA + 0x100 : tbl);
			fz_mov_imm(b, mode, 2, tbl);
			rexw(b, mode);
			fz_bytes(b, (const uint8_t[]){ 0x89, 0x53, 0x02, 0x66, 0x89, 0x03 }, 6);
			fz_bytes(b, (const uint8_t[]){ 0x0f, 0x01, fz_below(r, 2) ? 0x13 : 0x1b }, 3);
			break;
		case 9: fz_b(b, 0xcd); fz_b(b, (uint8_t)fz_next(r)); break;
		case 10: fz_bytes(b, (const uint8_t[]){ 0x0f, 0x0b }, 2); break;
		default:                                          /* LAR/LSL/VERR/VERW */
			fz_bytes(b, (const uint8_t[][3]){ { 0x0f, 0x02, 0xd8 }, { 0x0f, 0x03, 0xd8 },
				  { 0x0f, 0x00, 0xe0 }, { 0x0f, 0x00, 0xe8 } }[fz_below(r, 4)], 3);
		}
	}
	fz_b(b, 0xf4);
}

static inline void hostile_descriptors(fz_vm *f, fz_rng *r, vmm_sregs *s)
{
	for (unsigned i = 9; i < 64; i++)
		fz_w64(f, FZ_GDT + i * 8, rand_desc(r));
	if (fz_below(r, 2))
		s->gdt.limit = (uint16_t)(fz_below(r, 2) ? 0xffff : fz_next(r));
	if (fz_below(r, 5) == 0)
		s->gdt.base = fz_table_bases[fz_below(r, 10)];
	random_idt(f, r, s);
	if (fz_below(r, 3) == 0) {
		s->ldt.unusable = 0;
		s->ldt.present = 1;
		s->ldt.type = 2;
		s->ldt.selector = 0x50;
		s->ldt.base = fz_below(r, 2) ? FZ_GDT : fz_table_bases[fz_below(r, 10)];
		s->ldt.limit = fz_below(r, 2) ? 0xffff : (uint32_t)fz_next(r);
	}
	if (fz_below(r, 4) == 0) {
		s->tr.base = fz_table_bases[fz_below(r, 10)];
		s->tr.limit = (uint32_t)fz_next(r);
		s->tr.type = (uint8_t)fz_below(r, 16);
	}
}

#endif
