/* test_emu_legacy.c - emu's legacy instructions that kvm-unit-tests'
 * realmode test checks: DAA, DAS, AAA, AAS, AAM, AAD and SALC in real mode
 * (results and flags from the hardware table in that test), #DE for AAM 0,
 * and #UD for the BCD opcodes in 64-bit mode. */
#include "lib/internal.h"
#include "tests/unit/emu_test.h"

#define EMU_GUEST16(name, text) EMU_GUEST(name, ".code16", text)
#define RM_CODE 0x1000ull
#define RM_LOW (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF)

EMU_GUEST16(g_das, "das\n hlt");
EMU_GUEST16(g_daa, "daa\n hlt");
EMU_GUEST16(g_aaa, "aaa\n hlt");
EMU_GUEST16(g_aas, "aas\n hlt");
EMU_GUEST16(g_aam, "aam\n hlt");
EMU_GUEST16(g_aad, "aad\n hlt");
EMU_GUEST16(g_aam0, ".byte 0xd4, 0\n hlt");
EMU_GUEST16(g_salc, ".byte 0xd6\n hlt");
EMU_GUEST16(g_de_isr, "mov $0xde, %si\n hlt");

/* Runs a real-mode snippet at 0:0x1000 with EAX and FLAGS given; #DE goes
 * to an IVT handler that sets SI = 0xde. */
static vmm_regs rm_exec(const uint8_t *code, size_t len, uint64_t rax, uint64_t fl)
{
	emu_fx fx;
	vmm_sregs s;
	vmm_regs r;
	uint16_t ivt0[2] = { 0x1800, 0 };

	et_setup(&fx, code, 0);
	assert_int_equal(vmm_mem_write(fx.vm, RM_CODE, code, len), 0);
	assert_int_equal(vmm_mem_write(fx.vm, 0x1800, g_de_isr, EMU_LEN(g_de_isr)), 0);
	assert_int_equal(vmm_mem_write(fx.vm, 0, ivt0, sizeof(ivt0)), 0);
	vmm__x86_reset_state(&r, &s);
	s.cs.selector = 0;
	s.cs.base = 0;
	r.rip = RM_CODE;
	r.rsp = 0x8000;
	r.rax = rax;
	r.rflags = fl | 2;
	assert_int_equal(vmm_vcpu_set_sregs(fx.vcpu, &s), 0);
	assert_int_equal(vmm_vcpu_set_regs(fx.vcpu, &r), 0);
	et_run(&fx, VMM_EXIT_HLT);
	r = fx_regs(&fx);
	fx_destroy(&fx);
	return r;
}

/* One line of realmode.c's DAS table: flags out, flags in, AL out, AL in. */
static void das_case(uint32_t t)
{
	vmm_regs r = rm_exec(g_das, EMU_LEN(g_das), t & 0xff, (t >> 16) & 0xff);

	if ((r.rax & 0xff) != ((t >> 8) & 0xff) || (r.rflags & 0xff) != (t >> 24))
		fail_msg("DAS case 0x%08x: AL 0x%02llx flags 0x%02llx", t,
			 (unsigned long long)(r.rax & 0xff),
			 (unsigned long long)(r.rflags & 0xff));
}

static void test_das(void **state)
{
	static const uint32_t cases[] = {
		0x46000000, 0x8701a000, 0x9710fa00, 0x97119a00, 0x02000101, 0x8301a101,
		0x9310fb01, 0x93119b01, 0x06000303, 0x8701a303, 0x9310fd03, 0x93119d03,
		0x930097fd, 0x930197fd, 0x931097fd, 0x931197fd, 0x970099ff, 0x971199ff,
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		das_case(cases[i]);
}

static void test_daa(void **state)
{
	vmm_regs r;

	r = rm_exec(g_daa, EMU_LEN(g_daa), 0x0f, 0);       /* 0x09 + 0x06 */
	assert_int_equal(r.rax & 0xff, 0x15);
	assert_int_equal(r.rflags & RM_LOW, FL_AF);
	r = rm_exec(g_daa, EMU_LEN(g_daa), 0x9a, 0);       /* 99 + 1 = 100 */
	assert_int_equal(r.rax & 0xff, 0x00);
	assert_int_equal(r.rflags & RM_LOW, FL_CF | FL_AF | FL_ZF | FL_PF);
	r = rm_exec(g_daa, EMU_LEN(g_daa), 0x45, FL_CF);
	assert_int_equal(r.rax & 0xff, 0xa5);
	assert_int_equal(r.rflags & RM_LOW, FL_CF | FL_SF | FL_PF);
}

static void test_aaa_aas(void **state)
{
	vmm_regs r;

	r = rm_exec(g_aaa, EMU_LEN(g_aaa), 0x123400fc, 0);  /* AX += 0x106 */
	assert_int_equal(r.rax, 0x12340202);
	assert_int_equal(r.rflags & (FL_CF | FL_AF), FL_CF | FL_AF);
	r = rm_exec(g_aaa, EMU_LEN(g_aaa), 0x0535, FL_CF | FL_AF);
	assert_int_equal(r.rax, 0x060b);
	r = rm_exec(g_aaa, EMU_LEN(g_aaa), 0x0535, FL_CF);
	assert_int_equal(r.rax, 0x0505);
	assert_int_equal(r.rflags & (FL_CF | FL_AF), 0);
	r = rm_exec(g_aas, EMU_LEN(g_aas), 0x0302, FL_AF);  /* AX -= 0x106 */
	assert_int_equal(r.rax, 0x010c);
	assert_int_equal(r.rflags & (FL_CF | FL_AF), FL_CF | FL_AF);
}

static void test_aam_aad_salc(void **state)
{
	vmm_regs r;

	r = rm_exec(g_aam, EMU_LEN(g_aam), 0x76543210, 0);
	assert_int_equal(r.rax, 0x76540106);
	r = rm_exec(g_aad, EMU_LEN(g_aad), 0x12345678, FL_CF);
	assert_int_equal(r.rax, 0x123400d4);
	assert_int_equal(r.rflags & RM_LOW, FL_SF | FL_PF);
	r = rm_exec(g_aam0, EMU_LEN(g_aam0), 0x55, 0);      /* #DE */
	assert_int_equal(r.rsi, 0xde);
	assert_int_equal(r.rax, 0x55);
	r = rm_exec(g_salc, EMU_LEN(g_salc), 0x12345678, 0);
	assert_int_equal(r.rax, 0x12345600);
	r = rm_exec(g_salc, EMU_LEN(g_salc), 0x12345678, FL_CF);
	assert_int_equal(r.rax, 0x123456ff);
}

/* In 64-bit mode the opcodes are invalid: #UD, with no IDT a triple fault. */
static void test_bcd_ud_in_long_mode(void **state)
{
	static const uint8_t ops[] = { 0x27, 0x2f, 0x37, 0x3f, 0xd4, 0xd5, 0xd6 };

	for (size_t i = 0; i < sizeof(ops); i++) {
		uint8_t code[3] = { ops[i], 10, 0xf4 };
		emu_fx fx;

		et_setup(&fx, code, sizeof(code));
		et_run(&fx, VMM_EXIT_SHUTDOWN);
		fx_destroy(&fx);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_das),
		cmocka_unit_test(test_daa),
		cmocka_unit_test(test_aaa_aas),
		cmocka_unit_test(test_aam_aad_salc),
		cmocka_unit_test(test_bcd_ud_in_long_mode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
