/* flags.c - arithmetic flags. Runs add/sub/adc/sbb/and/or/xor/cmp/test/
 * inc/dec/neg/not and shifts/rotates in 8, 16, 32 and 64 bits over a grid of
 * edge values with both carry-in states, and compares the result and the
 * defined flags (CF PF AF ZF SF OF) with a software model written from the
 * architecture manual. Then setcc/cmov for all 16 conditions, lahf/sahf,
 * adc/sbb chains and flag instructions (clc stc cmc cld std).
 * Expected end: debug exit 0; a mismatch prints the case and exits 1. */
#include "common.h"

#define CF 0x001ull
#define PF 0x004ull
#define AF 0x010ull
#define ZF 0x040ull
#define SF 0x080ull
#define DF 0x400ull
#define OF 0x800ull
#define STATUS (CF | PF | AF | ZF | SF | OF)

enum op { ADD, SUB, ADC, SBB, AND, OR, XOR, CMP, TEST, INC, DEC, NEG, NOT,
	  SHL, SHR, SAR, ROL, ROR, NOPS };
static const char *const op_names[NOPS] = {
	"add", "sub", "adc", "sbb", "and", "or", "xor", "cmp", "test", "inc",
	"dec", "neg", "not", "shl", "shr", "sar", "rol", "ror"
};

/* ---- the instructions ----------------------------------------------------
 * Each runs with RFLAGS = *fl on entry and stores RFLAGS after it. */
typedef uint64_t (*op_fn)(uint64_t a, uint64_t b, uint64_t *fl);

#define BIN(op, sz, m)                                                        \
	static uint64_t op##_##sz(uint64_t a, uint64_t b, uint64_t *fl)      \
	{                                                                     \
		uint64_t f = *fl;                                             \
		__asm__("push %[f]\n\tpopfq\n\t" #op " %" m "[b], %" m "[a]\n\t" \
			"pushfq\n\tpop %[f]"                                  \
			: [a] "+r"(a), [f] "+r"(f) : [b] "r"(b));             \
		*fl = f;                                                      \
		return a;                                                     \
	}
#define UN(op, sz, m)                                                         \
	static uint64_t op##_##sz(uint64_t a, uint64_t b, uint64_t *fl)      \
	{                                                                     \
		uint64_t f = *fl;                                             \
		(void)b;                                                      \
		__asm__("push %[f]\n\tpopfq\n\t" #op " %" m "[a]\n\t"         \
			"pushfq\n\tpop %[f]"                                  \
			: [a] "+r"(a), [f] "+r"(f));                          \
		*fl = f;                                                      \
		return a;                                                     \
	}
#define SH(op, sz, m)                                                         \
	static uint64_t op##_##sz(uint64_t a, uint64_t b, uint64_t *fl)      \
	{                                                                     \
		uint64_t f = *fl;                                             \
		__asm__("push %[f]\n\tpopfq\n\t" #op " %%cl, %" m "[a]\n\t"   \
			"pushfq\n\tpop %[f]"                                  \
			: [a] "+r"(a), [f] "+r"(f) : "c"(b));                 \
		*fl = f;                                                      \
		return a;                                                     \
	}
#define ALL_WIDTHS(X, op) X(op, 8, "b") X(op, 16, "w") X(op, 32, "k") X(op, 64, "q")
ALL_WIDTHS(BIN, add) ALL_WIDTHS(BIN, sub) ALL_WIDTHS(BIN, adc)
ALL_WIDTHS(BIN, sbb) ALL_WIDTHS(BIN, and) ALL_WIDTHS(BIN, or)
ALL_WIDTHS(BIN, xor) ALL_WIDTHS(BIN, cmp) ALL_WIDTHS(BIN, test)
ALL_WIDTHS(UN, inc) ALL_WIDTHS(UN, dec) ALL_WIDTHS(UN, neg) ALL_WIDTHS(UN, not)
ALL_WIDTHS(SH, shl) ALL_WIDTHS(SH, shr) ALL_WIDTHS(SH, sar)
ALL_WIDTHS(SH, rol) ALL_WIDTHS(SH, ror)

#define ROW(op) { op##_8, op##_16, op##_32, op##_64 }
static const op_fn op_table[NOPS][4] = {
	ROW(add), ROW(sub), ROW(adc), ROW(sbb), ROW(and), ROW(or), ROW(xor),
	ROW(cmp), ROW(test), ROW(inc), ROW(dec), ROW(neg), ROW(not),
	ROW(shl), ROW(shr), ROW(sar), ROW(rol), ROW(ror)
};

/* ---- the model ------------------------------------------------------------ */
struct model {
	uint64_t res;    /* value of the destination afterwards */
	uint64_t flags;  /* status flags afterwards */
	uint64_t defined;/* which status flags the manual defines */
};

static uint64_t szp(uint64_t r, unsigned w)
{
	uint64_t f = 0;
	uint8_t lo = (uint8_t)r;

	if (!r)
		f |= ZF;
	if ((r >> (w - 1)) & 1)
		f |= SF;
	lo ^= lo >> 4;
	lo ^= lo >> 2;
	lo ^= lo >> 1;
	if (!(lo & 1))
		f |= PF;
	return f;
}

static uint64_t bit(uint64_t cond, uint64_t flag)
{
	return cond ? flag : 0;
}

/* add/sub family: a + b + c or a - b - c in w bits */
static void model_addsub(struct model *m, uint64_t a, uint64_t b, uint64_t c,
			 int sub, unsigned w, uint64_t mask)
{
	unsigned __int128 full;
	uint64_t r;

	if (!sub)
		full = (unsigned __int128)a + b + c;
	else
		full = (unsigned __int128)a - b - c;
	r = (uint64_t)full & mask;
	m->res = r;
	m->flags = szp(r, w) | bit(((a ^ b ^ r) >> 4) & 1, AF);
	if (!sub) {
		m->flags |= bit(full > mask, CF);
		m->flags |= bit((((a ^ r) & (b ^ r)) >> (w - 1)) & 1, OF);
	} else {
		m->flags |= bit((unsigned __int128)b + c > a, CF);
		m->flags |= bit((((a ^ b) & (a ^ r)) >> (w - 1)) & 1, OF);
	}
	m->defined = STATUS;
}

static void model_shift(struct model *m, enum op op, uint64_t a, uint64_t n,
			unsigned w, uint64_t mask, uint64_t fin)
{
	uint64_t cnt = n & (w == 64 ? 63 : 31), r, cf, msb = 1ull << (w - 1);
	uint64_t sa = (a & msb) ? a | ~mask : a; /* sign-extended a */

	m->res = a;
	m->flags = fin & STATUS;
	m->defined = STATUS;
	if (!cnt)
		return;
	if (op == SHL) {
		r = cnt >= w ? 0 : (a << cnt) & mask;
		cf = cnt > w ? 0 : (a >> (w - cnt)) & 1;
		m->flags = szp(r, w) | bit(cf, CF) | bit(((r & msb) != 0) != cf, OF);
	} else if (op == SHR || op == SAR) {
		if (op == SHR)
			r = cnt >= w ? 0 : a >> cnt;
		else
			r = (cnt >= w ? (uint64_t)((int64_t)sa >> 63) :
			     (uint64_t)((int64_t)sa >> cnt)) & mask;
		if (op == SAR)
			cf = (sa >> (cnt - 1)) & 1;
		else
			cf = cnt > w ? 0 : (a >> (cnt - 1)) & 1;
		m->flags = szp(r, w) | bit(cf, CF) |
			   bit(op == SHR && (a & msb), OF);
	} else {
		unsigned k = (unsigned)(cnt % w);
		if (op == ROL)
			r = k ? ((a << k) | (a >> (w - k))) & mask : a;
		else
			r = k ? ((a >> k) | (a << (w - k))) & mask : a;
		cf = op == ROL ? (r & 1) : ((r & msb) != 0);
		m->flags = (fin & (PF | AF | ZF | SF)) | bit(cf, CF);
		if (op == ROL)
			m->flags |= bit(((r & msb) != 0) != cf, OF);
		else
			m->flags |= bit(((r >> (w - 1)) ^ (r >> (w - 2))) & 1, OF);
		m->defined = CF | (cnt == 1 ? OF : 0) | PF | AF | ZF | SF;
		m->res = r;
		return;
	}
	m->res = r;
	m->defined = (STATUS & ~AF) & ~(cnt == 1 ? 0 : OF);
	if (cnt >= w && w < 32 && op != SAR)
		m->defined &= ~CF;
}

static void model_logic(struct model *m, uint64_t r, unsigned w)
{
	m->res = r;
	m->flags = szp(r, w);
	m->defined = STATUS & ~AF;
}

static void model(struct model *m, enum op op, uint64_t a, uint64_t b,
		  uint64_t fin, unsigned w)
{
	uint64_t mask = w == 64 ? ~0ull : (1ull << w) - 1, c = fin & CF;

	switch (op) {
	case ADD: model_addsub(m, a, b, 0, 0, w, mask); break;
	case ADC: model_addsub(m, a, b, c, 0, w, mask); break;
	case SUB: model_addsub(m, a, b, 0, 1, w, mask); break;
	case SBB: model_addsub(m, a, b, c, 1, w, mask); break;
	case CMP: model_addsub(m, a, b, 0, 1, w, mask); m->res = a; break;
	case AND: model_logic(m, a & b, w); break;
	case OR: model_logic(m, a | b, w); break;
	case XOR: model_logic(m, a ^ b, w); break;
	case TEST: model_logic(m, a & b, w); m->res = a; break;
	case INC: case DEC:
		model_addsub(m, a, 1, 0, op == DEC, w, mask);
		m->flags = (m->flags & ~CF) | c;
		break;
	case NEG:
		model_addsub(m, 0, a, 0, 1, w, mask);
		break;
	case NOT:
		m->res = ~a & mask;
		m->flags = fin & STATUS;
		m->defined = STATUS;
		break;
	default:
		model_shift(m, op, a, b, w, mask, fin);
		break;
	}
}

/* ---- the grid ------------------------------------------------------------- */
static const uint64_t values[] = {
	0, 1, 2, 0x0f, 0x10, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff,
	0x7fffffff, 0x80000000, 0xffffffff, 0x7fffffffffffffff,
	0x8000000000000000, 0xffffffffffffffff, 0x123456789abcdef0,
	0xfedcba9876543219
};
#define NVALUES (sizeof(values) / sizeof(values[0]))
static const uint64_t counts[] = { 0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65 };
#define NCOUNTS (sizeof(counts) / sizeof(counts[0]))

static uint64_t hash_step(uint64_t h, uint64_t v)
{
	return (h ^ v) * 0x100000001b3ull;
}

/* Runs one case; returns the updated hash, fails the guest on a mismatch. */
static uint64_t run_case(enum op op, unsigned wi, uint64_t a, uint64_t b,
			 uint64_t fin, uint64_t h)
{
	static const unsigned widths[4] = { 8, 16, 32, 64 };
	unsigned w = widths[wi];
	uint64_t mask = w == 64 ? ~0ull : (1ull << w) - 1;
	uint64_t fl = fin, res;
	struct model m;

	a &= mask;
	if (op < SHL)
		b &= mask;
	res = op_table[op][wi](a, b, &fl) & mask;
	model(&m, op, a, b, fin, w);
	if (res != m.res || ((fl ^ m.flags) & m.defined)) {
		printf("FAIL flags: %s%u a=0x%llx b=0x%llx flags-in=0x%llx: "
		       "got 0x%llx flags 0x%llx, expected 0x%llx flags 0x%llx "
		       "(defined 0x%llx)\n", op_names[op], w,
		       (unsigned long long)a, (unsigned long long)b,
		       (unsigned long long)(fin & STATUS), (unsigned long long)res,
		       (unsigned long long)(fl & STATUS), (unsigned long long)m.res,
		       (unsigned long long)m.flags, (unsigned long long)m.defined);
		guest_exit(GUEST_FAIL);
	}
	return hash_step(hash_step(h, res), fl & m.defined);
}

static void test_grid(void)
{
	/* flags-in: all clear, and all status flags set */
	static const uint64_t fins[2] = { 0x2, 0x2 | STATUS };
	uint64_t h = 0xcbf29ce484222325ull, n = 0;

	for (unsigned op = 0; op < NOPS; op++) {
		unsigned nb = op >= SHL ? NCOUNTS : NVALUES;
		for (unsigned wi = 0; wi < 4; wi++)
			for (unsigned i = 0; i < NVALUES; i++)
				for (unsigned j = 0; j < nb; j++)
					for (unsigned k = 0; k < 2; k++, n++)
						h = run_case(op, wi, values[i],
							     op >= SHL ? counts[j] : values[j],
							     fins[k], h);
	}
	printf("flags: %llu alu cases ok, hash 0x%016llx\n",
	       (unsigned long long)n, (unsigned long long)h);
}

/* ---- conditions ------------------------------------------------------------- */
#define SETCC(cc, i) "set" #cc " " #i "(%[buf])\n\t"

/* Bit i (0..15) of the result is condition code i after cmp b, a. SETcc to
 * memory leaves the flags alone, so all 16 read the same flags. */
static uint32_t conditions(uint64_t a, uint64_t b)
{
	uint8_t buf[16];
	uint32_t out = 0;

	__asm__("cmp %[b], %[a]\n\t"
		SETCC(o, 0) SETCC(no, 1) SETCC(b, 2) SETCC(ae, 3) SETCC(e, 4)
		SETCC(ne, 5) SETCC(be, 6) SETCC(a, 7) SETCC(s, 8) SETCC(ns, 9)
		SETCC(p, 10) SETCC(np, 11) SETCC(l, 12) SETCC(ge, 13)
		SETCC(le, 14) SETCC(g, 15)
		: : [a] "r"(a), [b] "r"(b), [buf] "r"(buf) : "memory");
	for (int i = 0; i < 16; i++)
		out |= (uint32_t)(buf[i] & 0xff) << i;
	return out;
}

static uint32_t expected_conditions(uint64_t a, uint64_t b)
{
	int64_t sa = (int64_t)a, sb = (int64_t)b;
	uint64_t d = a - b;
	int of = (((a ^ b) & (a ^ d)) >> 63) & 1, sf = (int)(d >> 63);
	uint8_t lo = (uint8_t)d;
	int pf;

	lo ^= lo >> 4;
	lo ^= lo >> 2;
	lo ^= lo >> 1;
	pf = !(lo & 1);
	return (uint32_t)of << 0 | (uint32_t)!of << 1 | (uint32_t)(a < b) << 2 |
	       (uint32_t)(a >= b) << 3 | (uint32_t)(a == b) << 4 |
	       (uint32_t)(a != b) << 5 | (uint32_t)(a <= b) << 6 |
	       (uint32_t)(a > b) << 7 | (uint32_t)sf << 8 | (uint32_t)!sf << 9 |
	       (uint32_t)pf << 10 | (uint32_t)!pf << 11 | (uint32_t)(sa < sb) << 12 |
	       (uint32_t)(sa >= sb) << 13 | (uint32_t)(sa <= sb) << 14 |
	       (uint32_t)(sa > sb) << 15;
}

static void test_conditions(void)
{
	for (unsigned i = 0; i < NVALUES; i++)
		for (unsigned j = 0; j < NVALUES; j++)
			CHECK_EQ(conditions(values[i], values[j]),
				 expected_conditions(values[i], values[j]));
	printf("flags: setcc ok\n");
}

static void test_cmov(void)
{
	uint64_t d;

	d = 0x1111111111111111ull;
	__asm__("cmp %2, %1\n\tcmovlq %3, %0" : "+r"(d) : "r"(1ull), "r"(2ull),
		"r"(0x2222222222222222ull));
	CHECK_EQ(d, 0x2222222222222222ull);
	d = 0x1111111111111111ull;
	__asm__("cmp %2, %1\n\tcmovgq %3, %0" : "+r"(d) : "r"(1ull), "r"(2ull),
		"r"(0x2222222222222222ull));
	CHECK_EQ(d, 0x1111111111111111ull);
	/* 32-bit cmov writes (zero-extends) the destination even if false */
	d = 0x1111111111111111ull;
	__asm__("cmp %2, %1\n\tcmovgl %k3, %k0" : "+r"(d) : "r"(1ull), "r"(2ull),
		"r"(0x2222222222222222ull));
	CHECK_EQ(d, 0x11111111ull);
	d = 5;
	__asm__("cmp %2, %1\n\tcmovbw %w3, %w0" : "+r"(d) : "r"(1ull),
		"r"(0xffffffffffffffffull), "r"(0xabcdull));
	CHECK_EQ(d, 0xabcd);
	printf("flags: cmov ok\n");
}

static void test_lahf_sahf(void)
{
	uint32_t r[4];
	uint64_t v, f;

	cpuid(0x80000001, 0, r);
	CHECK(r[2] & 1); /* LAHF/SAHF in 64-bit mode */
	__asm__("xor %%eax, %%eax\n\tpush %1\n\tpopfq\n\tlahf" : "=&a"(v)
		: "r"(0x2 | CF | ZF | SF | OF));
	CHECK_EQ(v, 0xc300);
	__asm__("mov $0xd5, %%ah\n\tsahf\n\tpushfq\n\tpop %0" : "=r"(f) : :
		"rax");
	CHECK_EQ(f & STATUS, CF | PF | AF | ZF | SF);
	printf("flags: lahf/sahf ok\n");
}

static void test_chains(void)
{
	/* 256-bit a + b and a - b with adc/sbb chains */
	uint64_t a[4] = { ~0ull, ~0ull, 0x0123456789abcdefull, 0x7fffffffffffffffull };
	uint64_t b[4] = { 1, 0, 0xfedcba9876543210ull, 0 };
	uint64_t s[4], d[4], carry, borrow;

	__asm__("mov 0(%[a]), %%rax; add 0(%[b]), %%rax; mov %%rax, 0(%[s])\n\t"
		"mov 8(%[a]), %%rax; adc 8(%[b]), %%rax; mov %%rax, 8(%[s])\n\t"
		"mov 16(%[a]), %%rax; adc 16(%[b]), %%rax; mov %%rax, 16(%[s])\n\t"
		"mov 24(%[a]), %%rax; adc 24(%[b]), %%rax; mov %%rax, 24(%[s])\n\t"
		"setc %b[c]"
		: [c] "=r"(carry) : [a] "r"(a), [b] "r"(b), [s] "r"(s) : "rax", "memory");
	CHECK_EQ(s[0], 0);
	CHECK_EQ(s[1], 0);
	CHECK_EQ(s[2], 0);
	CHECK_EQ(s[3], 0x8000000000000000ull);
	CHECK_EQ(carry & 0xff, 0);
	__asm__("mov 0(%[b]), %%rax; sub 0(%[a]), %%rax; mov %%rax, 0(%[d])\n\t"
		"mov 8(%[b]), %%rax; sbb 8(%[a]), %%rax; mov %%rax, 8(%[d])\n\t"
		"mov 16(%[b]), %%rax; sbb 16(%[a]), %%rax; mov %%rax, 16(%[d])\n\t"
		"mov 24(%[b]), %%rax; sbb 24(%[a]), %%rax; mov %%rax, 24(%[d])\n\t"
		"setc %b[c]"
		: [c] "=r"(borrow) : [a] "r"(a), [b] "r"(b), [d] "r"(d) : "rax", "memory");
	CHECK_EQ(d[0], 2);
	CHECK_EQ(d[1], 0);
	CHECK_EQ(d[2], 0xfdb97530eca86420ull);
	CHECK_EQ(d[3], 0x8000000000000001ull);
	CHECK_EQ(borrow & 0xff, 1);
	printf("flags: adc/sbb chains ok\n");
}

static void test_flag_insns(void)
{
	uint64_t f;

	__asm__("push %1\n\tpopfq\n\tstc\n\tcmc\n\tcmc\n\tstd\n\tpushfq\n\tpop %0\n\tcld"
		: "=r"(f) : "r"(0x2ull));
	CHECK_EQ(f & (STATUS | DF), CF | DF);
	__asm__("push %1\n\tpopfq\n\tclc\n\tpushfq\n\tpop %0" : "=r"(f)
		: "r"(0x2 | STATUS));
	CHECK_EQ(f & STATUS, STATUS & ~CF);
	/* bt sets CF from the bit; bsf sets ZF for a zero source */
	__asm__("push %1\n\tpopfq\n\tbtq $3, %2\n\tpushfq\n\tpop %0" : "=r"(f)
		: "r"(0x2ull), "r"(8ull));
	CHECK_EQ(f & CF, CF);
	__asm__("bsfq %1, %0\n\tpushfq\n\tpop %0" : "=&r"(f) : "r"(0ull));
	CHECK_EQ(f & ZF, ZF);
	printf("flags: flag instructions ok\n");
}

int guest_main(uint32_t index, uint32_t count)
{
	(void)index;
	(void)count;
	printf("flags: start\n");
	test_grid();
	test_conditions();
	test_cmov();
	test_lahf_sahf();
	test_chains();
	test_flag_insns();
	guest_pass("flags");
}
