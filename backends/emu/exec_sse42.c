/* exec_sse42.c - SSE4.2 string compares (PCMPESTRI/PCMPESTRM/PCMPISTRI/
 * PCMPISTRM: the SDM's BoolRes matrix, aggregation, polarity and output
 * selection), CRC32 (Castagnoli polynomial, as the instruction), and MOVBE. */
#include "backends/emu/exec_tab.h"
#include "backends/emu/simd.h"

typedef struct strcmp_in {
	const emu_xmm *a, *b;        /* xmm1 (reg), xmm2/m128 */
	unsigned n, len_a, len_b;    /* elements, valid elements */
	unsigned imm;
} strcmp_in;

static int64_t elem(const emu_xmm *v, unsigned imm, unsigned i)
{
	unsigned es = (imm & 1) ? 2 : 1;

	return imm & 2 ? simd_slane(v, es, i) : (int64_t)simd_lane(v, es, i);
}

/* BoolRes[i][j] for a[i] against b[j], with the invalid-element rules. */
static int boolres(const strcmp_in *c, unsigned i, unsigned j)
{
	unsigned agg = (c->imm >> 2) & 3;
	int va = i < c->len_a, vb = j < c->len_b;
	int64_t x = elem(c->a, c->imm, i), y = elem(c->b, c->imm, j);

	if (!va || !vb) {
		if (agg == 2)
			return !va && !vb;
		if (agg == 3)
			return !va;
		return 0;
	}
	if (agg == 1)
		return (i & 1) ? y <= x : y >= x;
	return x == y;
}

static unsigned intres(const strcmp_in *c)
{
	unsigned agg = (c->imm >> 2) & 3, pol = (c->imm >> 4) & 3, res = 0, n = c->n;

	for (unsigned j = 0; j < n; j++) {
		int r = agg == 2 ? boolres(c, j, j) : agg == 3;

		for (unsigned i = 0; i < n && agg != 2; i++) {
			if (agg == 0)
				r |= boolres(c, i, j);
			else if (agg == 1 && !(i & 1))
				r |= boolres(c, i, j) && boolres(c, i + 1, j);
			else if (agg == 3 && i + j < n)
				r &= boolres(c, i, i + j);
		}
		res |= (unsigned)r << j;
	}
	if (pol == 1)
		res ^= (1u << n) - 1;
	else if (pol == 3)
		res ^= (1u << c->len_b) - 1;
	return res & ((1u << n) - 1);
}

/* Explicit length: |value| saturated to n. */
static unsigned exp_len(uint64_t v, int wide, unsigned n)
{
	int64_t s = wide ? (int64_t)v : (int32_t)v;
	uint64_t m = s < 0 ? -(uint64_t)s : (uint64_t)s;

	return m > n ? n : (unsigned)m;
}

static unsigned imp_len(const emu_xmm *v, unsigned imm, unsigned n)
{
	unsigned i = 0;

	while (i < n && elem(v, imm, i) != 0)
		i++;
	return i;
}

/* 66 0F 3A 60..63: op = opcode & 3 (bit 0 index, bit 1 implicit). */
int emu_h_sse_pcmpstr(emu_cpu *cpu, const emu_insn *ins)
{
	emu_xmm s;
	strcmp_in c;
	unsigned res, imm = ins->imm & 0xff, f = 0;
	int rc = sse_available(cpu);

	if (!rc)
		rc = sse_src(cpu, ins, 16, &s);   /* unaligned allowed (no SSE_ALIGN) */
	if (rc)
		return rc;
	c.a = emu_xmm_reg(cpu, ins->reg);
	c.b = &s;
	c.imm = imm;
	c.n = imm & 1 ? 8 : 16;
	if (ins->op & 2) {
		c.len_a = imp_len(c.a, imm, c.n);
		c.len_b = imp_len(c.b, imm, c.n);
	} else {
		c.len_a = exp_len(cpu->r[R_AX], ins->osz == EMU_SZ64, c.n);
		c.len_b = exp_len(cpu->r[R_DX], ins->osz == EMU_SZ64, c.n);
	}
	res = intres(&c);
	if (ins->op & 1) {
		cpu->r[R_CX] = !res ? c.n : imm & 0x40 ? 31u - (unsigned)__builtin_clz(res)
						      : (unsigned)__builtin_ctz(res);
	} else {
		emu_xmm *x0 = emu_xmm_reg(cpu, 0);

		memset(x0, 0, sizeof(*x0));
		for (unsigned j = 0; j < c.n; j++)
			if (imm & 0x40)
				simd_set_lane(x0, imm & 1 ? 2 : 1, j, (res >> j) & 1 ? ~0ull : 0);
		if (!(imm & 0x40))
			x0->w[0] = (uint16_t)res;
	}
	f |= res ? X86_FL_CF : 0;
	f |= c.len_b < c.n ? X86_FL_ZF : 0;
	f |= c.len_a < c.n ? X86_FL_SF : 0;
	f |= (res & 1) ? X86_FL_OF : 0;
	emu_set_rflags(cpu, (emu_get_rflags(cpu) & ~X86_FL_ARITH) | f);
	return EMU_OK;
}

/* CRC32 r32/r64, r/m8 (aux 0) or r/m16/32/64 (aux 1, size osz). */
int emu_h_crc32(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned sz = ins->aux ? ins->osz : EMU_SZ8;
	uint32_t crc = (uint32_t)cpu->r[ins->reg >> 3];
	uint64_t v;
	int rc = emu_rm_read(cpu, ins, sz, &v);

	if (rc)
		return rc;
	for (unsigned i = 0; i < (8u << sz); i++) {
		crc ^= (uint32_t)(v >> i) & 1;
		crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
	}
	cpu->r[ins->reg >> 3] = crc;
	return EMU_OK;
}

/* MOVBE r, m (op 0) / m, r (op 1). */
int emu_h_movbe(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned sz = ins->osz;
	uint64_t v;
	int rc;

	if (ins->op == 1) {
		v = emu_reg_get(cpu, ins->reg, sz);
		v = sz == EMU_SZ64 ? __builtin_bswap64(v) : sz == EMU_SZ32 ? __builtin_bswap32((uint32_t)v)
									  : __builtin_bswap16((uint16_t)v);
		return emu_rm_write(cpu, ins, sz, v);
	}
	rc = emu_rm_read(cpu, ins, sz, &v);
	if (rc)
		return rc;
	v = sz == EMU_SZ64 ? __builtin_bswap64(v) : sz == EMU_SZ32 ? __builtin_bswap32((uint32_t)v)
								  : __builtin_bswap16((uint16_t)v);
	emu_reg_set(cpu, ins->reg, sz, v);
	return EMU_OK;
}
