/* decode_tab.c - opcode attribute tables for the one-byte and 0F maps
 * (Intel SDM vol. 2, appendix A). Each entry says whether a ModRM byte and
 * which immediate follow, and the operand-size rules; the 0F38 map always
 * has a ModRM and no immediate, the 0F3A map a ModRM and an imm8. */
#include "backends/emu/decode.h"

#define M  EMU_D_MODRM
#define B  EMU_D_BYTE
#define D64 EMU_D_DEF64
#define F64 EMU_D_FORCE64
#define X64 EMU_D_INV64
#define PF EMU_D_PREFIX
#define BAD EMU_D_INVALID
#define I(k) (EMU_I_##k << EMU_D_IMM_SHIFT)

#define ALU_ROW(x) \
	[x + 0] = M | B, [x + 1] = M, [x + 2] = M | B, [x + 3] = M, \
	[x + 4] = B | I(B), [x + 5] = I(Z)

#define R8(x, v) [x] = v, [x + 1] = v, [x + 2] = v, [x + 3] = v, \
	[x + 4] = v, [x + 5] = v, [x + 6] = v, [x + 7] = v
#define R16(x, v) R8(x, v), R8(x + 8, v)

const uint16_t emu_dec_map1[256] = {
	ALU_ROW(0x00), [0x06] = X64, [0x07] = X64,
	ALU_ROW(0x08), [0x0e] = X64, [0x0f] = 0,
	ALU_ROW(0x10), [0x16] = X64, [0x17] = X64,
	ALU_ROW(0x18), [0x1e] = X64, [0x1f] = X64,
	ALU_ROW(0x20), [0x26] = PF, [0x27] = X64,
	ALU_ROW(0x28), [0x2e] = PF, [0x2f] = X64,
	ALU_ROW(0x30), [0x36] = PF, [0x37] = X64,
	ALU_ROW(0x38), [0x3e] = PF, [0x3f] = X64,
	R16(0x40, 0),                           /* INC/DEC r, or REX */
	R8(0x50, D64), R8(0x58, D64),           /* PUSH/POP r */
	[0x60] = X64, [0x61] = X64, [0x62] = M | X64, [0x63] = M,
	[0x64] = PF, [0x65] = PF, [0x66] = PF, [0x67] = PF,
	[0x68] = D64 | I(Z), [0x69] = M | I(Z), [0x6a] = D64 | I(B), [0x6b] = M | I(B),
	[0x6c] = B, [0x6d] = 0, [0x6e] = B, [0x6f] = 0,
	R16(0x70, F64 | I(JB)),                 /* Jcc rel8 */
	[0x80] = M | B | I(B), [0x81] = M | I(Z), [0x82] = M | B | I(B) | X64,
	[0x83] = M | I(B),
	[0x84] = M | B, [0x85] = M, [0x86] = M | B, [0x87] = M,
	[0x88] = M | B, [0x89] = M, [0x8a] = M | B, [0x8b] = M,
	[0x8c] = M, [0x8d] = M, [0x8e] = M, [0x8f] = M | D64,
	R8(0x90, 0),                            /* NOP, XCHG r, eAX */
	[0x98] = 0, [0x99] = 0, [0x9a] = I(P) | X64, [0x9b] = 0,
	[0x9c] = D64, [0x9d] = D64, [0x9e] = 0, [0x9f] = 0,
	[0xa0] = B | I(A), [0xa1] = I(A), [0xa2] = B | I(A), [0xa3] = I(A),
	[0xa4] = B, [0xa5] = 0, [0xa6] = B, [0xa7] = 0,
	[0xa8] = B | I(B), [0xa9] = I(Z),
	[0xaa] = B, [0xab] = 0, [0xac] = B, [0xad] = 0, [0xae] = B, [0xaf] = 0,
	R8(0xb0, B | I(B)), R8(0xb8, I(V)),     /* MOV r, imm */
	[0xc0] = M | B | I(B), [0xc1] = M | I(B), [0xc2] = F64 | I(W), [0xc3] = F64,
	[0xc4] = M | X64, [0xc5] = M | X64,     /* LES/LDS; VEX in 64-bit mode */
	[0xc6] = M | B | I(B), [0xc7] = M | I(Z),
	[0xc8] = D64 | I(WB), [0xc9] = D64, [0xca] = I(W), [0xcb] = 0,
	[0xcc] = 0, [0xcd] = I(B), [0xce] = X64, [0xcf] = 0,
	[0xd0] = M | B, [0xd1] = M, [0xd2] = M | B, [0xd3] = M,
	[0xd4] = I(B) | X64, [0xd5] = I(B) | X64, [0xd6] = X64, [0xd7] = 0,
	R8(0xd8, M),                            /* x87 */
	[0xe0] = F64 | I(JB), [0xe1] = F64 | I(JB), [0xe2] = F64 | I(JB),
	[0xe3] = F64 | I(JB),
	[0xe4] = B | I(B), [0xe5] = I(B), [0xe6] = B | I(B), [0xe7] = I(B),
	[0xe8] = F64 | I(JZ), [0xe9] = F64 | I(JZ), [0xea] = I(P) | X64,
	[0xeb] = F64 | I(JB),
	[0xec] = B, [0xed] = 0, [0xee] = B, [0xef] = 0,
	[0xf0] = PF, [0xf1] = 0, [0xf2] = PF, [0xf3] = PF,
	[0xf4] = 0, [0xf5] = 0, [0xf6] = M | B | I(GRP3), [0xf7] = M | I(GRP3),
	[0xf8] = 0, [0xf9] = 0, [0xfa] = 0, [0xfb] = 0, [0xfc] = 0, [0xfd] = 0,
	[0xfe] = M | B, [0xff] = M,
};

const uint16_t emu_dec_map0f[256] = {
	[0x00] = M, [0x01] = M, [0x02] = M, [0x03] = M, [0x04] = BAD,
	[0x05] = 0, [0x06] = 0, [0x07] = 0, [0x08] = 0, [0x09] = 0, [0x0a] = BAD,
	[0x0b] = 0, [0x0c] = BAD, [0x0d] = M, [0x0e] = 0, [0x0f] = M | I(B),
	R16(0x10, M),                           /* SSE moves, hint NOPs */
	[0x20] = M, [0x21] = M, [0x22] = M, [0x23] = M,
	[0x24] = BAD, [0x25] = BAD, [0x26] = BAD, [0x27] = BAD,
	R8(0x28, M),
	[0x30] = 0, [0x31] = 0, [0x32] = 0, [0x33] = 0, [0x34] = 0, [0x35] = 0,
	[0x36] = BAD, [0x37] = 0, [0x38] = 0, [0x39] = BAD, [0x3a] = 0,
	[0x3b] = BAD, [0x3c] = BAD, [0x3d] = BAD, [0x3e] = BAD, [0x3f] = BAD,
	R16(0x40, M),                           /* CMOVcc */
	R16(0x50, M), R16(0x60, M),             /* SSE/MMX */
	[0x70] = M | I(B), [0x71] = M | I(B), [0x72] = M | I(B), [0x73] = M | I(B),
	[0x74] = M, [0x75] = M, [0x76] = M, [0x77] = 0,
	[0x78] = M, [0x79] = M, [0x7a] = BAD, [0x7b] = BAD,
	[0x7c] = M, [0x7d] = M, [0x7e] = M, [0x7f] = M,
	R16(0x80, F64 | I(JZ)),                 /* Jcc rel16/32 */
	R16(0x90, M | B),                       /* SETcc */
	[0xa0] = D64, [0xa1] = D64, [0xa2] = 0, [0xa3] = M, [0xa4] = M | I(B),
	[0xa5] = M, [0xa6] = BAD, [0xa7] = BAD,
	[0xa8] = D64, [0xa9] = D64, [0xaa] = 0, [0xab] = M, [0xac] = M | I(B),
	[0xad] = M, [0xae] = M, [0xaf] = M,
	[0xb0] = M | B, [0xb1] = M, [0xb2] = M, [0xb3] = M, [0xb4] = M, [0xb5] = M,
	[0xb6] = M, [0xb7] = M, [0xb8] = M, [0xb9] = M, [0xba] = M | I(B),
	[0xbb] = M, [0xbc] = M, [0xbd] = M, [0xbe] = M, [0xbf] = M,
	[0xc0] = M | B, [0xc1] = M, [0xc2] = M | I(B), [0xc3] = M,
	[0xc4] = M | I(B), [0xc5] = M | I(B), [0xc6] = M | I(B), [0xc7] = M,
	R8(0xc8, 0),                            /* BSWAP */
	R16(0xd0, M), R16(0xe0, M), R16(0xf0, M),
};
