/* bind.c - from a decoded instruction (decode.h) to an executable emu_insn:
 * picks the handler and pre-resolves operands (register byte offsets,
 * memory base/index/scale/displacement/segment, absolute branch targets).
 * This file covers the one-byte map; bind_0f.c the 0F map. */
#include <capstone/capstone.h>
#include <stdio.h>

#include "backends/emu/bind.h"

int emu_h_ud(emu_cpu *cpu, const emu_insn *ins)
{
	return emu_ud(cpu);
}

int emu_h_restart(emu_cpu *cpu, const emu_insn *ins)
{
	return EMU_RESTART;
}

int emu_h_next(emu_cpu *cpu, const emu_insn *ins)
{
	return EMU_NEXT;
}

/* "mnemonic operands" of the instruction (capstone), or "" if unknown. */
static void disassemble(const uint8_t *bytes, unsigned n, unsigned code_sz, char *out,
			size_t size)
{
	cs_mode mode = code_sz == EMU_SZ64 ? CS_MODE_64 : code_sz == EMU_SZ32 ? CS_MODE_32
									     : CS_MODE_16;
	cs_insn *insn = NULL;
	csh handle;

	out[0] = '\0';
	if (cs_open(CS_ARCH_X86, mode, &handle) != CS_ERR_OK)
		return;
	if (cs_disasm(handle, bytes, n, 0, 1, &insn) == 1) {
		snprintf(out, size, " (%.31s%s%.100s)", insn->mnemonic, insn->op_str[0] ? " " : "",
			 insn->op_str);
		cs_free(insn, 1);
	}
	cs_close(&handle);
}

/* Unsupported instructions keep their bytes in imm and disp. */
int emu_h_unsupported(emu_cpu *cpu, const emu_insn *ins)
{
	uint8_t bytes[16];
	char hex[16 * 3 + 1], text[160];
	unsigned n = ins->len ? ins->len : 1;

	memcpy(bytes, &ins->imm, 8);
	memcpy(bytes + 8, &ins->disp, 8);
	if (n > 15)
		n = 15;
	for (unsigned i = 0; i < n; i++)
		snprintf(hex + 3 * i, 4, "%02x ", bytes[i]);
	hex[3 * n - 1] = '\0';
	disassemble(bytes, n, cpu->code_sz, text, sizeof(text));
	return emu_internal_error(cpu, "emu: unsupported instruction at rip 0x%llx: %s%s",
				  (unsigned long long)emu_this_rip(cpu, ins), hex, text);
}

unsigned emu_bind_unsupported(const uint8_t *bytes, unsigned len, emu_insn *ins)
{
	ins->fn = emu_h_unsupported;
	memcpy(&ins->imm, bytes, 8);
	memcpy(&ins->disp, bytes + 8, len > 8 ? len - 8 : 0);
	return EMU_BIND_END;
}

unsigned emu_bind_ud(emu_insn *ins)
{
	ins->fn = emu_h_ud;
	return EMU_BIND_END;
}

/* Byte offset of general register r in r[] for operand size sz: without
 * REX, byte registers 4..7 are AH CH DH BH. */
uint8_t emu_gpr_off(const emu_dec *d, unsigned r, unsigned sz)
{
	if (sz == EMU_SZ8 && !d->rex && r >= 4 && r < 8)
		return (uint8_t)((r - 4) * 8 + 1);
	return (uint8_t)(r * 8);
}

static uint64_t ip_mask(const emu_dec *d)
{
	if (d->code_sz == EMU_SZ64)
		return ~0ull;
	return d->osz == EMU_SZ16 ? 0xffffull : 0xffffffffull;
}

/* Relative branch: imm = target, disp = fall-through. */
unsigned emu_bind_branch(const emu_dec *d, uint64_t rip, emu_insn *ins, emu_fn fn)
{
	uint64_t next = rip + d->len;

	ins->fn = fn;
	ins->imm = (next + d->imm) & ip_mask(d);
	ins->disp = (int64_t)(next & (d->code_sz == EMU_SZ64 ? ~0ull : 0xffffffffull));
	return EMU_BIND_END;
}

static void common(const emu_dec *d, uint64_t rip, emu_insn *ins)
{
	memset(ins, 0, sizeof(*ins));
	ins->osz = d->osz;
	ins->asz = d->asz;
	ins->reg = emu_gpr_off(d, d->reg, d->osz);
	ins->rm = emu_gpr_off(d, d->rm, d->osz);
	ins->base = ins->index = EMU_REG_NONE;
	ins->imm = d->imm;
	ins->pfx = (d->rep == 0xf3 ? EMU_PFX_REP : 0) | (d->rep == 0xf2 ? EMU_PFX_REPNE : 0) |
		   (d->lock ? EMU_PFX_LOCK : 0);
	ins->seg = d->seg != 0xff ? d->seg : d->seg_default_ss ? X86_SEG_SS : X86_SEG_DS;
	if (!d->has_mem)
		return;
	ins->mem = 1;
	ins->base = d->base;
	ins->index = d->index;
	ins->scale = d->scale;
	ins->disp = d->disp;
	if (d->riprel)
		ins->disp = (int64_t)(rip + d->len + (uint64_t)d->disp);
}

static int lockable(const emu_dec *d)
{
	unsigned op = d->opcode, r = d->reg & 7;

	if (!d->has_mem)
		return 0;
	if (d->map == EMU_MAP_1) {
		if (op < 0x40 && (op & 7) < 2 && (op >> 3) != 7)
			return 1;
		return (op >= 0x80 && op <= 0x83 && r != 7) || op == 0x86 || op == 0x87 ||
		       ((op == 0xf6 || op == 0xf7) && (r == 2 || r == 3)) ||
		       ((op == 0xfe || op == 0xff) && r < 2);
	}
	if (d->map == EMU_MAP_0F)
		return op == 0xab || op == 0xb3 || op == 0xbb || op == 0xb0 || op == 0xb1 ||
		       op == 0xc0 || op == 0xc1 || (op == 0xba && r >= 5) ||
		       (op == 0xc7 && r == 1);
	return 0;
}

unsigned emu_bind(const struct emu_dec *d, const uint8_t *bytes, uint64_t rip, emu_insn *ins)
{
	unsigned flags;

	common(d, rip, ins);
	if (d->lock && !lockable(d))
		return emu_bind_ud(ins);
	if (d->vex)                           /* AVX/AVX-512/XOP: not advertised */
		return emu_bind_ud(ins);
	switch (d->map) {
	case EMU_MAP_1: flags = emu_bind_map1(d, bytes, rip, ins); break;
	case EMU_MAP_0F: flags = emu_bind_map0f(d, bytes, rip, ins); break;
	case EMU_MAP_0F38: case EMU_MAP_0F3A: flags = emu_bind_map38(d, bytes, ins); break;
	default: flags = emu_bind_unsupported(bytes, d->len, ins); break;
	}
	return flags;
}
