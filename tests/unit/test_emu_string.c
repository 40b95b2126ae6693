/* test_emu_string.c - REP MOVS and REP STOS against an element-by-element
 * reference: every element size, both directions (DF), operands that
 * overlap by less than, exactly and more than an element in either
 * order, runs that cross several pages, source and destination pages that
 * share a software-TLB slot (1 MiB apart), and 32-bit address sizes whose
 * offsets wrap at 4 GiB. emu copies page-sized chunks through host pointers
 * where it can; the memory and RSI/RDI/RCX must be exactly what the CPU
 * gives one element at a time. */
#define _GNU_SOURCE

#include "tests/unit/emu_fuzz_gen.h"

#define NO_DEV (VMM_VM_NO_UART | VMM_VM_NO_DEBUG_EXIT)
#define WIN_LO 0x100000ull          /* the window compared: [1 MiB, 3 MiB) */
#define WIN_SIZE 0x200000ull

typedef struct str_case {
	int movs;                   /* 0: STOS */
	unsigned sz;                /* element size log2 */
	int down;                   /* DF */
	int64_t delta;              /* destination - source (MOVS) */
	uint64_t src, count;
} str_case;

/* What the CPU does, one element at a time, on a copy of the window. */
static void reference(uint8_t *m, const str_case *c, uint64_t src, uint64_t dst, uint64_t rax)
{
	unsigned size = 1u << c->sz;
	int64_t step = c->down ? -(int64_t)size : (int64_t)size;
	uint8_t tmp[8];

	for (uint64_t i = 0; i < c->count; i++) {
		if (c->movs)
			memcpy(tmp, m + (src - WIN_LO), size);
		else
			memcpy(tmp, &rax, size);
		memcpy(m + (dst - WIN_LO), tmp, size);
		src += (uint64_t)step;
		dst += (uint64_t)step;
	}
}

static void fill_pattern(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + (i >> 8) * 13 + 1);
}

static void run_case(const str_case *c)
{
	static uint8_t code[8];
	static uint8_t want[WIN_SIZE], got[WIN_SIZE];
	const uint64_t rax = 0x8877665544332211ull;
	uint64_t dst = c->movs ? c->src + (uint64_t)c->delta : c->src;
	uint64_t step = (uint64_t)(c->count << c->sz);
	unsigned n = 0;
	fz_vm f;

	code[n++] = 0xf3;                           /* REP */
	if (c->sz == 1)
		code[n++] = 0x66;
	if (c->sz == 3)
		code[n++] = 0x48;
	code[n++] = (uint8_t)((c->movs ? 0xa4 : 0xaa) + (c->sz != 0));
	code[n++] = 0xf4;                           /* HLT */
	fz_create(&f, FZ_LONG, 1, NO_DEV);
	fz_write(&f, FZ_CODE, code, n);
	fill_pattern(want, sizeof(want));
	fz_write(&f, WIN_LO, want, sizeof(want));
	FZ_SET_REG(f.vcpu[0], rsi, c->src);
	FZ_SET_REG(f.vcpu[0], rdi, dst);
	FZ_SET_REG(f.vcpu[0], rcx, c->count);
	FZ_SET_REG(f.vcpu[0], rax, rax);
	FZ_SET_REG(f.vcpu[0], rflags, 0x2 | (c->down ? 0x400 : 0));
	fz_expect(&f, VMM_EXIT_HLT, "rep string");
	reference(want, c, c->src, dst, rax);
	assert_int_equal(vmm_mem_read(f.vm, WIN_LO, got, sizeof(got)), 0);
	for (size_t i = 0; i < sizeof(got); i++)
		if (got[i] != want[i])
			fail_msg("%s sz %u df %d delta %lld count %llu: byte at 0x%llx is 0x%02x, "
				 "want 0x%02x", c->movs ? "movs" : "stos", 1u << c->sz, c->down,
				 (long long)c->delta, (unsigned long long)c->count,
				 (unsigned long long)(WIN_LO + i), got[i], want[i]);
	assert_int_equal(fz_regs(f.vcpu[0]).rcx, 0);
	assert_int_equal(fz_regs(f.vcpu[0]).rdi, c->down ? dst - step : dst + step);
	if (c->movs)
		assert_int_equal(fz_regs(f.vcpu[0]).rsi, c->down ? c->src - step : c->src + step);
	fz_destroy(&f);
}

static void test_movs_and_stos(void **state)
{
	static const int64_t deltas[] = { 0x100000, -0x100000, 1, -1, 3, -3, 4, -4, 8, -8,
					  0x1005, -0x1005, 0 };
	/* about three pages of elements from just below a page boundary */
	const uint64_t src_up = 0x180ffcull, src_down = 0x183004ull;

	for (unsigned sz = 0; sz < 4; sz++)
		for (int down = 0; down < 2; down++) {
			uint64_t count = (3 * 4096 + 100) >> sz;
			str_case s = { 0, sz, down, 0, down ? src_down : src_up, count };

			run_case(&s);
			for (unsigned d = 0; d < sizeof(deltas) / sizeof(deltas[0]); d++) {
				str_case m = { 1, sz, down, deltas[d], s.src, count };

				run_case(&m);
			}
		}
}

/* 32-bit address size (67 prefix) in long mode, going down: EDI wraps
 * from 0 to 0xffffffff (not RAM: an MMIO exit there), which a chunk must
 * not run past. */
static void test_addr32_wraps(void **state)
{
	static const uint8_t code[] = { 0xf3, 0x67, 0xaa, 0xf4 };   /* rep stosb (a32) */
	fz_vm f;
	vmm_exit *e;
	uint8_t m[8], want[8] = { 0xab, 0xab, 0xab, 0xab };

	fz_create(&f, FZ_LONG, 1, NO_DEV);
	fz_write(&f, FZ_CODE, code, sizeof(code));
	FZ_SET_REG(f.vcpu[0], rdi, 0xffffffff00000003ull);   /* upper half ignored */
	FZ_SET_REG(f.vcpu[0], rcx, 5);
	FZ_SET_REG(f.vcpu[0], rax, 0xab);
	FZ_SET_REG(f.vcpu[0], rflags, 0x402);                 /* down */
	e = fz_expect(&f, VMM_EXIT_MMIO, "rep stosb a32 down, wrapped");
	assert_int_equal(e->mmio.addr, 0xffffffffull);
	assert_int_equal(e->mmio.is_write, 1);
	assert_int_equal(fz_regs(f.vcpu[0]).rdi, 0xffffffffull);   /* zero-extended */
	assert_int_equal(fz_regs(f.vcpu[0]).rcx, 1);
	assert_int_equal(vmm_mem_read(f.vm, 0, m, 8), 0);
	assert_memory_equal(m, want, 8);
	fz_destroy(&f);
}

/* Kernel code copying to user memory under SMAP (copy_to_user): with
 * RFLAGS.AC set the supervisor may write user pages, which never enter the
 * TLB, and REP MOVSQ still copies them in page chunks, exactly; with AC
 * clear the first store is a #PF (write, protection) at the user page. */
static void smap_copy(fz_vm *f, int ac)
{
	static const uint8_t code[] = { 0xf3, 0x48, 0xa5, 0xf4 };   /* rep movsq; hlt */
	static const uint8_t hlt[] = { 0xf4 };
	vmm_sregs s;

	fz_create(f, FZ_LONG, 1, NO_DEV);
	fz_write(f, FZ_CODE, code, sizeof(code));
	fz_w64(f, FZ_PML4, FZ_PDPT | 7);                    /* U/S on every level */
	fz_w64(f, FZ_PDPT, FZ_PD | 7);
	fz_w64(f, FZ_PD + 8, (1ull << 21) | 0x87);          /* [2 MiB, 4 MiB): user */
	assert_int_equal(vmm_vcpu_get_sregs(f->vcpu[0], &s), 0);
	fz_idt(f, FZ_LONG, &s.idt);
	fz_write(f, FZ_STUBS + 7, hlt, 1);                  /* #PF: error-code stub */
	s.cr4 |= 1ull << 21;                                /* SMAP */
	assert_int_equal(vmm_vcpu_set_sregs(f->vcpu[0], &s), 0);
	FZ_SET_REG(f->vcpu[0], rsi, 0x100000);
	FZ_SET_REG(f->vcpu[0], rdi, 0x200ff8);
	FZ_SET_REG(f->vcpu[0], rcx, 1500);                  /* 3 pages and a bit */
	FZ_SET_REG(f->vcpu[0], rflags, 0x2 | (ac ? 0x40000 : 0));
}

static void test_smap_copy_to_user(void **state)
{
	static uint8_t src[1500 * 8], got[sizeof(src)];
	fz_vm f;
	vmm_exit *e;
	vmm_sregs s;

	fill_pattern(src, sizeof(src));
	smap_copy(&f, 1);
	fz_write(&f, 0x100000, src, sizeof(src));
	fz_expect(&f, VMM_EXIT_HLT, "rep movsq to user with AC");
	assert_int_equal(fz_regs(f.vcpu[0]).rcx, 0);
	assert_int_equal(fz_regs(f.vcpu[0]).rdi, 0x200ff8 + sizeof(src));
	assert_int_equal(vmm_mem_read(f.vm, 0x200ff8, got, sizeof(got)), 0);
	assert_memory_equal(got, src, sizeof(src));
	fz_destroy(&f);
	smap_copy(&f, 0);
	e = fz_expect(&f, VMM_EXIT_HLT, "rep movsq to user without AC");
	assert_int_equal(e->rip, FZ_STUBS + 8);
	assert_int_equal(vmm_vcpu_get_sregs(f.vcpu[0], &s), 0);
	assert_int_equal(s.cr2, 0x200ff8);
	assert_int_equal(fz_regs(f.vcpu[0]).rcx, 1500);     /* nothing copied */
	fz_destroy(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_movs_and_stos),
		cmocka_unit_test(test_addr32_wraps),
		cmocka_unit_test(test_smap_copy_to_user),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
