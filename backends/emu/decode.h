/* decode.h - the x86 instruction decoder: prefixes, REX/VEX/EVEX, opcode
 * maps, ModRM/SIB/displacement and immediates, for 16-, 32- and 64-bit code.
 * It decodes every instruction's length and operands (including SSE/AVX
 * forms it does not execute); emu_bind() decides what can be executed. */
#ifndef VMM_EMU_DECODE_H
#define VMM_EMU_DECODE_H

#include <stdint.h>

/* Opcode table attributes */
enum {
	EMU_D_MODRM = 1u << 0,     /* has a ModRM byte */
	EMU_D_BYTE = 1u << 1,      /* byte operands */
	EMU_D_DEF64 = 1u << 2,     /* 64-bit operand size by default in long mode */
	EMU_D_FORCE64 = 1u << 3,   /* always 64-bit in long mode (near branches) */
	EMU_D_INV64 = 1u << 4,     /* invalid in 64-bit mode */
	EMU_D_PREFIX = 1u << 5,    /* a legacy prefix byte */
	EMU_D_INVALID = 1u << 6,   /* undefined opcode */
	EMU_D_IMM_SHIFT = 8        /* immediate kind, EMU_I_* */
};

enum {
	EMU_I_NONE = 0,
	EMU_I_B,       /* 8-bit */
	EMU_I_W,       /* 16-bit */
	EMU_I_Z,       /* 16 or 32 by operand size (sign-extended to 64) */
	EMU_I_V,       /* 16, 32 or 64 by operand size (MOV r, imm) */
	EMU_I_A,       /* moffs: address size */
	EMU_I_WB,      /* 16-bit then 8-bit (ENTER) */
	EMU_I_P,       /* far pointer: offset (16/32) then selector */
	EMU_I_JB,      /* rel8 */
	EMU_I_JZ,      /* rel16/32 */
	EMU_I_GRP3     /* F6/F7: imm only for /0 and /1 */
};

/* Opcode maps */
enum { EMU_MAP_1 = 0, EMU_MAP_0F = 1, EMU_MAP_0F38 = 2, EMU_MAP_0F3A = 3 };

typedef struct emu_dec {
	uint8_t len;
	uint8_t map;          /* EMU_MAP_* */
	uint8_t opcode;
	uint8_t code_sz;      /* EMU_SZ16/32/64 of the code segment */
	uint8_t osz;          /* operand size EMU_SZ* */
	uint8_t asz;          /* address size EMU_SZ16/32/64 */
	uint8_t has_modrm;
	uint8_t modrm;
	uint8_t mod, reg, rm; /* reg/rm include REX.R / REX.B */
	uint8_t rex;          /* 0 or 0x40..0x4f */
	uint8_t seg;          /* segment override X86_SEG_*, or 0xff */
	uint8_t rep;          /* 0, 0xf2 or 0xf3 (last one seen) */
	uint8_t lock;
	uint8_t opsize_pfx;   /* 0x66 seen */
	uint8_t vex;          /* 0, 2 (VEX), 4 (EVEX), 3 (XOP) */
	uint8_t base, index, scale;   /* memory operand; 16 = none */
	uint8_t riprel;
	uint8_t has_mem;      /* ModRM selects memory */
	uint8_t seg_default_ss;  /* default segment is SS (BP/SP based) */
	uint16_t attr;        /* table attributes EMU_D_* */
	int64_t disp;
	uint64_t imm, imm2;   /* imm2: ENTER's level, far pointer's selector */
} emu_dec;

enum {
	EMU_DEC_MORE = -1,     /* needs more bytes than available */
	EMU_DEC_UD = -2,       /* undefined opcode: #UD */
	EMU_DEC_TOOLONG = -3   /* longer than 15 bytes: #GP */
};

/* Decodes the instruction in buf[0..avail) for code of size code_sz
 * (EMU_SZ16/32/64). Returns its length, or EMU_DEC_*. */
int emu_decode(const uint8_t *buf, unsigned avail, unsigned code_sz, emu_dec *d);

extern const uint16_t emu_dec_map1[256];
extern const uint16_t emu_dec_map0f[256];

#endif
