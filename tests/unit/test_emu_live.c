/* test_emu_live.c - dead flags (backends/emu/live.c): flag writers whose
 * flags a later instruction of the block overwrites run without the flag
 * record, and still compute their results; flags are exact wherever they
 * can be seen: by a flag reader (ADC, PUSHF), at an exit in the middle of
 * the block, and at the block's end. */
#include "tests/unit/emu_test.h"

/* One block: every writer but the last TEST has its flags overwritten
 * before anything reads them, except SUB's CF, which ADC reads. */
EMU_GUEST64(g_dead,
	"mov $0x7fffffffffffffff, %rax\n"
	"add %rax, %rax\n"          /* dead: SHL overwrites */
	"shl $4, %rax\n"            /* dead: IMUL overwrites */
	"mov %rax, %rbx\n"
	"imul $3, %rbx, %rcx\n"     /* dead: SUB overwrites */
	"xor %edx, %edx\n"          /* dead */
	"sub %rcx, %rdx\n"          /* CF = 1, read by ADC */
	"mov $5, %esi\n"
	"adc $0, %rsi\n"            /* 6; its own flags dead (CMP) */
	"cmp %rsi, %rsi\n"          /* dead: XOR overwrites */
	"xor %r8d, %r8d\n"          /* dead: TEST overwrites */
	"sar $63, %r9\n"            /* dead */
	"test %rbx, %rbx\n"         /* SF = 1, ZF = CF = OF = 0 at the end */
	"hlt");

static void test_dead_writers_compute(void **state)
{
	vmm_regs in = { .r9 = 0x8000000000000000ull }, r;
	uint64_t rbx = 0xffffffffffffffe0ull;

	(void)state;
	r = et_exec(g_dead, EMU_LEN(g_dead), &in);
	assert_int_equal(r.rax, rbx);
	assert_int_equal(r.rbx, rbx);
	assert_int_equal(r.rcx, rbx * 3);
	assert_int_equal(r.rdx, 0 - rbx * 3);
	assert_int_equal(r.rsi, 6);
	assert_int_equal(r.r8, 0);
	assert_int_equal(r.r9, ~0ull);
	assert_int_equal(r.rflags & FL_ARITH, FL_SF | (r.rflags & FL_PF));
	assert_int_equal(!!(r.rflags & FL_PF), !__builtin_parity(rbx & 0xff));
}

/* ADD's flags are overwritten by XOR, but the load in between exits (and
 * could fault): at the exit RFLAGS must be ADD's. PUSHF reads SHR's. */
EMU_GUEST64(g_exit,
	"mov $0x8000000, %rsi\n"
	"mov $-1, %rax\n"
	"add $1, %rax\n"            /* CF = ZF = 1 */
	"mov (%rsi), %rdx\n"        /* unclaimed MMIO: exits */
	"xor %eax, %eax\n"
	"mov $3, %ecx\n"
	"shr $1, %rcx\n"            /* CF = 1, ZF = 0 */
	"pushfq\n"
	"pop %rbx\n"
	"xor %ecx, %ecx\n"
	"hlt");

static void test_flags_seen_at_exit(void **state)
{
	emu_fx fx;
	vmm_exit *e;
	vmm_regs r;

	(void)state;
	et_setup(&fx, g_exit, EMU_LEN(g_exit));
	e = et_run(&fx, VMM_EXIT_MMIO);
	assert_int_equal(e->mmio.addr, 0x8000000);
	assert_int_equal(e->mmio.is_write, 0);
	r = fx_regs(&fx);
	assert_int_equal(r.rax, 0);
	assert_int_equal(r.rflags & (FL_CF | FL_ZF | FL_SF | FL_OF), FL_CF | FL_ZF);
	e->mmio.data = 0x1234;
	et_run(&fx, VMM_EXIT_HLT);
	r = fx_regs(&fx);
	assert_int_equal(r.rdx, 0x1234);
	assert_int_equal(r.rbx & (FL_CF | FL_ZF), FL_CF);
	assert_int_equal(r.rcx, 0);
	assert_int_equal(r.rflags & (FL_CF | FL_ZF | FL_SF | FL_OF), FL_ZF);
	fx_destroy(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dead_writers_compute),
		cmocka_unit_test(test_flags_seen_at_exit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
