/* decode.c - x86 instruction decoding: legacy prefixes, REX, VEX/EVEX,
 * opcode maps, ModRM/SIB (16-, 32- and 64-bit addressing, RIP-relative),
 * displacements and immediates. Pure function of the bytes and the mode. */
#include <string.h>

#include "backends/emu/decode.h"
#include "backends/emu/emu.h"

typedef struct cursor {
	const uint8_t *buf;
	unsigned avail, pos;
	int err;
} cursor;

static uint8_t next_byte(cursor *c)
{
	if (c->pos >= 15) {
		c->err = EMU_DEC_TOOLONG;
		return 0;
	}
	if (c->pos >= c->avail) {
		c->err = EMU_DEC_MORE;
		return 0;
	}
	return c->buf[c->pos++];
}

static uint64_t next_le(cursor *c, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)next_byte(c) << (8 * i);
	return v;
}

static int64_t next_sle(cursor *c, unsigned n)
{
	uint64_t v = next_le(c, n);
	unsigned sh = 64 - 8 * n;

	return (int64_t)(v << sh) >> sh;
}

static int peek(const cursor *c, uint8_t *b)
{
	if (c->pos >= c->avail)
		return 0;
	*b = c->buf[c->pos];
	return 1;
}

static void legacy_prefix(emu_dec *d, uint8_t b)
{
	static const uint8_t segs[] = { [0x26] = X86_SEG_ES, [0x2e] = X86_SEG_CS,
		[0x36] = X86_SEG_SS, [0x3e] = X86_SEG_DS, [0x64] = X86_SEG_FS,
		[0x65] = X86_SEG_GS };

	switch (b) {
	case 0x66: d->opsize_pfx = 1; break;
	case 0x67: d->asz = 0xff; break;      /* resolved after the loop */
	case 0xf0: d->lock = 1; break;
	case 0xf2: case 0xf3: d->rep = b; break;
	default: d->seg = segs[b]; break;
	}
}

/* Parses prefixes; returns the first opcode byte. */
static uint8_t prefixes(cursor *c, emu_dec *d)
{
	for (;;) {
		uint8_t b = next_byte(c);

		if (c->err)
			return 0;
		if (emu_dec_map1[b] & EMU_D_PREFIX) {
			legacy_prefix(d, b);
			d->rex = 0;   /* REX must come last */
			continue;
		}
		if (d->code_sz == EMU_SZ64 && (b & 0xf0) == 0x40) {
			d->rex = b;
			continue;
		}
		return b;
	}
}

static void set_address_size(emu_dec *d)
{
	int flip = d->asz == 0xff;

	switch (d->code_sz) {
	case EMU_SZ64: d->asz = flip ? EMU_SZ32 : EMU_SZ64; break;
	case EMU_SZ32: d->asz = flip ? EMU_SZ16 : EMU_SZ32; break;
	default: d->asz = flip ? EMU_SZ32 : EMU_SZ16; break;
	}
}

static void set_operand_size(emu_dec *d)
{
	unsigned a = d->attr;

	if (a & EMU_D_BYTE)
		d->osz = EMU_SZ8;
	else if (d->code_sz == EMU_SZ64) {
		if (d->rex & 8)
			d->osz = EMU_SZ64;
		else if (a & EMU_D_FORCE64)
			d->osz = EMU_SZ64;
		else if (a & EMU_D_DEF64)
			d->osz = d->opsize_pfx ? EMU_SZ16 : EMU_SZ64;
		else
			d->osz = d->opsize_pfx ? EMU_SZ16 : EMU_SZ32;
	} else {
		int is32 = d->code_sz == EMU_SZ32;

		d->osz = (is32 ^ d->opsize_pfx) ? EMU_SZ32 : EMU_SZ16;
	}
}

static void modrm16(cursor *c, emu_dec *d)
{
	static const uint8_t base[8] = { 3, 3, 5, 5, 6, 7, 5, 3 };   /* BX BX BP BP SI DI BP BX */
	static const uint8_t index[8] = { 6, 7, 6, 7, 16, 16, 16, 16 };

	d->base = base[d->rm & 7];
	d->index = index[d->rm & 7];
	d->scale = 0;
	if (d->mod == 0 && (d->rm & 7) == 6) {
		d->base = EMU_REG_NONE;
		d->disp = (int64_t)next_le(c, 2);
	} else if (d->mod == 1) {
		d->disp = next_sle(c, 1);
	} else if (d->mod == 2) {
		d->disp = (int64_t)next_le(c, 2);
	}
	if (d->base == 5 || (d->mod != 0 && (d->rm & 7) == 6))
		d->seg_default_ss = 1;
}

static void modrm32(cursor *c, emu_dec *d)
{
	unsigned rm = d->modrm & 7;

	d->index = EMU_REG_NONE;
	d->scale = 0;
	if (rm == 4) {
		uint8_t sib = next_byte(c);
		unsigned idx = ((sib >> 3) & 7) | ((d->rex & 2) << 2);

		d->scale = sib >> 6;
		d->index = idx == 4 ? EMU_REG_NONE : idx;
		d->base = (sib & 7) | ((d->rex & 1) << 3);
		if ((sib & 7) == 5 && d->mod == 0) {
			d->base = EMU_REG_NONE;
			d->disp = next_sle(c, 4);
		}
	} else if (rm == 5 && d->mod == 0) {
		d->base = EMU_REG_NONE;
		d->riprel = d->code_sz == EMU_SZ64;
		d->disp = next_sle(c, 4);
	} else {
		d->base = rm | ((d->rex & 1) << 3);
	}
	if (d->mod == 1)
		d->disp = next_sle(c, 1);
	else if (d->mod == 2)
		d->disp = next_sle(c, 4);
	if (d->base == 4 || d->base == 5)
		d->seg_default_ss = 1;
}

static void modrm(cursor *c, emu_dec *d)
{
	d->has_modrm = 1;
	d->modrm = next_byte(c);
	d->mod = d->modrm >> 6;
	d->reg = ((d->modrm >> 3) & 7) | ((d->rex & 4) << 1);
	d->rm = (d->modrm & 7) | ((d->rex & 1) << 3);
	/* MOV to/from CRn/DRn ignore mod: always a register operand. */
	if (d->map == EMU_MAP_0F && d->opcode >= 0x20 && d->opcode <= 0x23)
		d->mod = 3;
	if (d->mod == 3 || c->err)
		return;
	d->has_mem = 1;
	if (d->asz == EMU_SZ16)
		modrm16(c, d);
	else
		modrm32(c, d);
}

static void immediate(cursor *c, emu_dec *d, unsigned kind)
{
	unsigned zbytes = d->osz == EMU_SZ16 ? 2 : 4;

	switch (kind) {
	case EMU_I_B: d->imm = (uint64_t)next_sle(c, 1); break;
	case EMU_I_W: d->imm = next_le(c, 2); break;
	case EMU_I_Z: d->imm = (uint64_t)next_sle(c, zbytes); break;
	case EMU_I_V: d->imm = next_le(c, 1u << d->osz); break;
	case EMU_I_A: d->imm = next_le(c, 1u << d->asz); break;
	case EMU_I_WB: d->imm = next_le(c, 2); d->imm2 = next_le(c, 1); break;
	case EMU_I_P: d->imm = next_le(c, zbytes); d->imm2 = next_le(c, 2); break;
	case EMU_I_JB: d->imm = (uint64_t)next_sle(c, 1); break;
	case EMU_I_JZ:
		d->imm = (uint64_t)next_sle(c, d->code_sz == EMU_SZ64 ? 4 : zbytes);
		break;
	case EMU_I_GRP3:
		if (((d->modrm >> 3) & 7) < 2)
			d->imm = d->osz == EMU_SZ8 ? (uint64_t)next_sle(c, 1)
						   : (uint64_t)next_sle(c, zbytes);
		break;
	}
}

/* VEX (C4/C5), EVEX (62): prefix bytes, then opcode and ModRM. */
static int vex(cursor *c, emu_dec *d, uint8_t first)
{
	uint8_t p0 = next_byte(c), p1, map;

	if (d->rex || d->opsize_pfx || d->rep || d->lock)
		return EMU_DEC_UD;
	if (first == 0xc5) {
		map = 1;
		d->vex = 2;
		d->rex = 0x40 | ((~p0 >> 5) & 4);
	} else {
		p1 = next_byte(c);
		map = p0 & (first == 0x62 ? 3 : 0x1f);
		d->vex = first == 0x62 ? 4 : 2;
		if (first == 0x62)
			next_byte(c);
		d->rex = 0x40 | ((~p0 >> 5) & 7) | ((p1 >> 4) & 8);
	}
	if (c->err)
		return c->err;
	if (map < 1 || map > 3)
		return EMU_DEC_UD;
	d->map = map;
	d->opcode = next_byte(c);
	d->attr = map == 1 ? emu_dec_map0f[d->opcode] : EMU_D_MODRM;
	if (map == 1 && d->opcode == 0x77) {
		d->attr = 0;
		return 0;
	}
	d->attr |= EMU_D_MODRM;
	if (map == 3)
		d->attr = (d->attr & 0xff) | (EMU_I_B << EMU_D_IMM_SHIFT);
	return 0;
}

/* C4/C5/62 are VEX/EVEX in 64-bit mode or when the next byte has mod 11. */
static int is_vex(const cursor *c, const emu_dec *d, uint8_t b)
{
	uint8_t nb;

	if (b != 0xc4 && b != 0xc5 && b != 0x62)
		return 0;
	if (d->code_sz == EMU_SZ64)
		return 1;
	return peek(c, &nb) && (nb >> 6) == 3;
}

static int opcode(cursor *c, emu_dec *d, uint8_t b)
{
	if (is_vex(c, d, b))
		return vex(c, d, b);
	d->opcode = b;
	d->attr = emu_dec_map1[b];
	if (b != 0x0f)
		return 0;
	b = next_byte(c);
	if (b == 0x38 || b == 0x3a) {
		d->map = b == 0x38 ? EMU_MAP_0F38 : EMU_MAP_0F3A;
		d->opcode = next_byte(c);
		d->attr = EMU_D_MODRM;
		if (d->map == EMU_MAP_0F3A)
			d->attr |= EMU_I_B << EMU_D_IMM_SHIFT;
		return 0;
	}
	d->map = EMU_MAP_0F;
	d->opcode = b;
	d->attr = emu_dec_map0f[b];
	return 0;
}

int emu_decode(const uint8_t *buf, unsigned avail, unsigned code_sz, emu_dec *d)
{
	cursor c = { buf, avail, 0, 0 };
	int rc;

	memset(d, 0, sizeof(*d));
	d->code_sz = (uint8_t)code_sz;
	d->seg = 0xff;
	d->base = d->index = EMU_REG_NONE;
	rc = opcode(&c, d, prefixes(&c, d));
	if (c.err)
		return c.err;
	if (rc)
		return rc;
	set_address_size(d);
	set_operand_size(d);
	if (d->attr & EMU_D_MODRM)
		modrm(&c, d);
	immediate(&c, d, (d->attr >> EMU_D_IMM_SHIFT) & 0xf);
	if (c.err)
		return c.err;
	if ((d->attr & EMU_D_INVALID) ||
	    (code_sz == EMU_SZ64 && (d->attr & EMU_D_INV64) && !d->vex))
		return EMU_DEC_UD;
	d->len = (uint8_t)c.pos;
	return d->len;
}
