/* test_emu_alu.c - emu executes integer instructions exactly: ALU results
 * and flags, operand sizes (8-bit high registers, REX byte registers, 32-bit
 * zero extension), shifts and rotates, multiply/divide, string instructions
 * with REP prefixes, stack and calls, exchanges and bit instructions. Each
 * snippet runs in long mode through vmm_vcpu_run and ends in HLT. */
#include "tests/unit/emu_test.h"

EMU_GUEST64(g_add_flags, "mov $-1, %rax\n add $1, %rax\n pushfq\n pop %rbx\n"
		"mov $0x80000000, %ecx\n sub $1, %ecx\n pushfq\n pop %rdx\n hlt");

static void test_add_sub_flags(void **state)
{
	vmm_regs r = et_exec(g_add_flags, EMU_LEN(g_add_flags), NULL);

	assert_int_equal(r.rax, 0);
	assert_int_equal(r.rbx & FL_ARITH, FL_CF | FL_PF | FL_AF | FL_ZF);
	assert_int_equal(r.rcx, 0x7fffffff);
	assert_int_equal(r.rdx & FL_ARITH, FL_OF | FL_AF | FL_PF);
}

EMU_GUEST64(g_carry, "mov $-1, %rax\n xor %edx, %edx\n add $1, %rax\n adc $0, %rdx\n"
		"stc\n mov $5, %ecx\n sbb $2, %ecx\n"
		"mov $1, %esi\n neg %rsi\n pushfq\n pop %rdi\n hlt");

static void test_adc_sbb_neg(void **state)
{
	vmm_regs r = et_exec(g_carry, EMU_LEN(g_carry), NULL);

	assert_int_equal(r.rax, 0);
	assert_int_equal(r.rdx, 1);
	assert_int_equal(r.rcx, 2);
	assert_int_equal(r.rsi, 0xffffffffffffffffull);
	assert_int_equal(r.rdi & FL_ARITH, FL_CF | FL_SF | FL_PF | FL_AF);
}

EMU_GUEST64(g_sizes, "mov $0x11223344, %eax\n mov %ah, %bl\n mov $0x55, %ah\n"
		"mov $0xaabb, %esi\n mov %sil, %cl\n"
		"mov $-1, %r8\n mov $5, %r8d\n mov $-1, %r9\n mov $5, %r9w\n"
		"mov $-1, %r10\n mov $5, %r10b\n mov $-1, %r11\n movsx %r10b, %r11d\n"
		"movzbl %bl, %r12d\n movsbq %cl, %r13\n movslq %r8d, %r14\n"
		"mov $-2, %r15d\n movslq %r15d, %r15\n hlt");

static void test_operand_sizes(void **state)
{
	vmm_regs r = et_exec(g_sizes, EMU_LEN(g_sizes), NULL);

	assert_int_equal(r.rax, 0x11225544);
	assert_int_equal(r.rbx, 0x33);
	assert_int_equal(r.rcx, 0xbb);
	assert_int_equal(r.r8, 5);
	assert_int_equal(r.r9, 0xffffffffffff0005ull);
	assert_int_equal(r.r10, 0xffffffffffffff05ull);
	assert_int_equal(r.r11, 5);
	assert_int_equal(r.r12, 0x33);
	assert_int_equal(r.r13, 0xffffffffffffffbbull);
	assert_int_equal(r.r14, 5);
	assert_int_equal(r.r15, 0xfffffffffffffffeull);
}

/* MOVZX/MOVSX: every source size and form, destination sizes 16/32/64,
 * high-byte and REX byte sources. Bytes at 0x200000: f3 f2 81 80. */
EMU_GUEST64(g_movx, "mov $0x200000, %ebx\n movl $0x8081f2f3, (%rbx)\n"
		"mov $0x1234ff80, %eax\n movzbl %ah, %ecx\n movsbq %al, %rdx\n"
		"movzwl %ax, %esi\n movswq %ax, %rdi\n"
		"mov $-1, %r8\n movzbw %al, %r8w\n mov $-1, %r9\n movsbw %al, %r9w\n"
		"mov $-1, %r10\n movzbl 1(%rbx), %r10d\n movsbq 3(%rbx), %r11\n"
		"movzwq 2(%rbx), %r12\n movswl (%rbx), %r13d\n"
		"mov $-1, %r14\n movsbw 1(%rbx), %r14w\n movzbl %sil, %r15d\n hlt");

static void test_extending_moves(void **state)
{
	vmm_regs r = et_exec(g_movx, EMU_LEN(g_movx), NULL);

	assert_int_equal(r.rcx, 0xff);
	assert_int_equal(r.rdx, 0xffffffffffffff80ull);
	assert_int_equal(r.rsi, 0xff80);
	assert_int_equal(r.rdi, 0xffffffffffffff80ull);
	assert_int_equal(r.r8, 0xffffffffffff0080ull);
	assert_int_equal(r.r9, 0xffffffffffffff80ull);
	assert_int_equal(r.r10, 0xf2);
	assert_int_equal(r.r11, 0xffffffffffffff80ull);
	assert_int_equal(r.r12, 0x8081);
	assert_int_equal(r.r13, 0xfffff2f3ull);
	assert_int_equal(r.r14, 0xfffffffffffffff2ull);
	assert_int_equal(r.r15, 0x80);
}

EMU_GUEST64(g_shifts, "mov $0x81, %al\n shl $1, %al\n pushfq\n pop %r8\n"
		"mov $-16, %rbx\n sar $2, %rbx\n"
		"mov $0x80000001, %ecx\n ror $1, %ecx\n pushfq\n pop %r9\n"
		"stc\n mov $0x80, %dl\n rcl $1, %dl\n pushfq\n pop %r10\n"
		"mov $0x12345678, %esi\n mov $0x9abcdef0, %edi\n shld $8, %edi, %esi\n"
		"mov $0x12345678, %r11d\n shrd $8, %edi, %r11d\n"
		"mov $3, %cl\n mov $1, %r12\n shl %cl, %r12\n"
		"mov $0xf0, %r13d\n clc\n rcr $4, %r13b\n hlt");

static void test_shifts_rotates(void **state)
{
	vmm_regs r = et_exec(g_shifts, EMU_LEN(g_shifts), NULL);

	assert_int_equal(r.rax & 0xff, 0x02);
	assert_int_equal(r.r8 & (FL_CF | FL_OF | FL_ZF | FL_SF), FL_CF | FL_OF);
	assert_int_equal(r.rbx, 0xfffffffffffffffcull);
	assert_int_equal(r.rcx & 0xff, 3);   /* cl overwritten later */
	assert_int_equal(r.r9 & FL_CF, FL_CF);
	assert_int_equal(r.rdx & 0xff, 0x01);
	assert_int_equal(r.r10 & FL_CF, FL_CF);
	assert_int_equal(r.rsi, 0x3456789a);
	assert_int_equal(r.r11, 0xf0123456);
	assert_int_equal(r.r12, 8);
	assert_int_equal(r.r13, 0x0f);
}

EMU_GUEST64(g_muldiv, "mov $0x123456789, %rax\n mov $0x1000, %rcx\n mul %rcx\n"
		"mov %rax, %r8\n mov %rdx, %r9\n"
		"mov $-1, %rax\n mov $-1, %rcx\n mul %rcx\n mov %rax, %r10\n mov %rdx, %r11\n"
		"mov $-3, %rax\n imul $7, %rax, %rbx\n"
		"xor %edx, %edx\n mov $100, %eax\n mov $7, %ecx\n div %ecx\n"
		"mov %rax, %r12\n mov %rdx, %r13\n"
		"mov $-100, %rax\n cqo\n mov $7, %rcx\n idiv %rcx\n mov %rax, %r14\n"
		"mov %rdx, %r15\n mov $200, %ax\n mov $3, %bl\n div %bl\n"
		"mov $0x10000, %esi\n imul %esi, %esi\n pushfq\n pop %rdi\n hlt");

static void test_mul_div(void **state)
{
	vmm_regs r = et_exec(g_muldiv, EMU_LEN(g_muldiv), NULL);

	assert_int_equal(r.r8, 0x123456789000ull);
	assert_int_equal(r.r9, 0);
	assert_int_equal(r.r10, 1);
	assert_int_equal(r.r11, 0xfffffffffffffffeull);
	assert_int_equal(r.rbx & 0xffffffffffffff00ull, 0xffffffffffffff00ull);
	assert_int_equal(r.r12, 14);
	assert_int_equal(r.r13, 2);
	assert_int_equal(r.r14, (uint64_t)-14);
	assert_int_equal(r.r15, (uint64_t)-2);
	assert_int_equal(r.rax & 0xffff, 0x0242);
	assert_int_equal(r.rsi, 0);
	assert_int_equal(r.rdi & (FL_CF | FL_OF), FL_CF | FL_OF);
}

EMU_GUEST64(g_strings, "cld\n mov $0x200000, %rdi\n mov $0x41, %al\n mov $16, %ecx\n"
		"rep stosb\n mov $0x200000, %rsi\n mov $0x200100, %rdi\n mov $16, %ecx\n"
		"rep movsb\n mov $0x200000, %rsi\n mov $0x200100, %rdi\n mov $16, %ecx\n"
		"repe cmpsb\n pushfq\n pop %r8\n mov %rcx, %r9\n"
		"movb $0x42, 0x200105\n mov $0x200100, %rdi\n mov $0x42, %al\n mov $16, %ecx\n"
		"repne scasb\n mov %rcx, %r10\n mov %rdi, %r11\n"
		"std\n mov $0x200138, %rsi\n mov $0x200238, %rdi\n mov $8, %ecx\n"
		"mov $0x1122334455667788, %rax\n mov %rax, 0x200138\n rep movsq\n cld\n"
		"mov 0x200238, %r12\n mov %rsi, %r13\n mov $0x200000, %rsi\n lodsq\n hlt");

static void test_strings(void **state)
{
	vmm_regs r = et_exec(g_strings, EMU_LEN(g_strings), NULL);

	assert_int_equal(r.r8 & FL_ZF, FL_ZF);
	assert_int_equal(r.r9, 0);
	assert_int_equal(r.r10, 10);
	assert_int_equal(r.r11, 0x200106);
	assert_int_equal(r.r12, 0x1122334455667788ull);
	assert_int_equal(r.r13, 0x2000f8);
	assert_int_equal(r.rax, 0x4141414141414141ull);
	assert_int_equal(r.rsi, 0x200008);
}

EMU_GUEST64(g_stack, "mov $0x11, %rax\n call 1f\n jmp 2f\n"
		"1: push %rax\n pop %rbx\n ret\n"
		"2: enter $16, $0\n mov %rsp, %rcx\n mov %rbp, %rdx\n leave\n"
		"push $-5\n pop %rsi\n pushw $7\n popw %di\n"
		"lea 3f(%rip), %r8\n call *%r8\n jmp 4f\n 3: mov $9, %r9\n ret\n 4: hlt");

static void test_stack_and_calls(void **state)
{
	vmm_regs r = et_exec(g_stack, EMU_LEN(g_stack), NULL);

	assert_int_equal(r.rbx, 0x11);
	assert_int_equal(r.rcx, 0x4000000 - 24);
	assert_int_equal(r.rdx, 0x4000000 - 8);
	assert_int_equal(r.rsi, (uint64_t)-5);
	assert_int_equal(r.rdi & 0xffff, 7);
	assert_int_equal(r.r9, 9);
	assert_int_equal(r.rsp, 0x4000000);
}

EMU_GUEST64(g_xchg, "movq $10, 0x200000\n mov $10, %eax\n mov $20, %ecx\n"
		"lock cmpxchg %rcx, 0x200000\n setz %r8b\n mov $99, %eax\n"
		"lock cmpxchg %rcx, 0x200000\n setz %r9b\n mov %rax, %r10\n"
		"mov $5, %edx\n lock xadd %rdx, 0x200000\n mov 0x200000, %r11\n"
		"mov $0x11223344, %esi\n bswap %esi\n mov $0x90, %edi\n bsf %edi, %r12d\n"
		"bsr %edi, %r13d\n popcnt %edi, %r14d\n mov $7, %r15\n xchg %r15, 0x200000\n"
		"bts $3, %r15\n setc %bl\n btr $0, %r15\n setc %bh\n hlt");

static void test_exchange_and_bits(void **state)
{
	vmm_regs r = et_exec(g_xchg, EMU_LEN(g_xchg), NULL);

	assert_int_equal(r.r8 & 0xff, 1);
	assert_int_equal(r.r9 & 0xff, 0);
	assert_int_equal(r.r10, 20);
	assert_int_equal(r.rdx, 20);
	assert_int_equal(r.r11, 25);
	assert_int_equal(r.rsi, 0x44332211);
	assert_int_equal(r.r12, 4);
	assert_int_equal(r.r13, 7);
	assert_int_equal(r.r14, 2);
	assert_int_equal(r.r15, 24);   /* 25 | 8 = 25, & ~1 = 24 */
	assert_int_equal(r.rbx & 0xffff, 0x0101);
}

EMU_GUEST64(g_counts, "mov $0xf0f0, %eax\n popcnt %rax, %rbx\n pushfq\n pop %r8\n"
		"xor %ecx, %ecx\n popcnt %rcx, %rdx\n pushfq\n pop %r9\n"
		"mov $0x100, %esi\n lzcnt %rsi, %rdi\n tzcnt %rsi, %r10\n pushfq\n pop %r11\n"
		"lzcnt %cx, %r12w\n pushfq\n pop %r13\n mov $-1, %r14\n"
		"mov $0x8000000000000000, %r15\n bsf %ecx, %r14d\n bsr %r15, %r15\n hlt");

static void test_bit_counts(void **state)
{
	vmm_regs r = et_exec(g_counts, EMU_LEN(g_counts), NULL);

	assert_int_equal(r.rbx, 8);
	assert_int_equal(r.r8 & FL_ARITH, 0);
	assert_int_equal(r.rdx, 0);
	assert_int_equal(r.r9 & FL_ARITH, FL_ZF);
	assert_int_equal(r.rdi, 55);
	assert_int_equal(r.r10, 8);
	assert_int_equal(r.r11 & (FL_CF | FL_ZF), 0);
	assert_int_equal(r.r12 & 0xffff, 16);
	assert_int_equal(r.r13 & (FL_CF | FL_ZF), FL_CF);
	assert_int_equal(r.r14, 0xffffffffffffffffull);   /* zero source: unchanged */
	assert_int_equal(r.r15, 63);
}

EMU_GUEST64(g_cond, "mov $5, %eax\n cmp $7, %eax\n setl %bl\n setb %cl\n setg %dl\n"
		"mov $-1, %esi\n cmp $1, %esi\n setl %r8b\n seta %r9b\n"
		"mov $100, %r10\n mov $200, %r11\n cmp %r11, %r10\n cmovb %r11, %r10\n"
		"mov $1, %r12\n test %r12, %r12\n mov $3, %r13\n cmovz %r12, %r13\n"
		"mov $-1, %r14\n mov $9, %r14d\n mov $0, %r15d\n cmovnz %r14d, %r15d\n hlt");

static void test_conditions(void **state)
{
	vmm_regs r = et_exec(g_cond, EMU_LEN(g_cond), NULL);

	assert_int_equal(r.rbx & 0xff, 1);
	assert_int_equal(r.rcx & 0xff, 1);
	assert_int_equal(r.rdx & 0xff, 0);
	assert_int_equal(r.r8 & 0xff, 1);
	assert_int_equal(r.r9 & 0xff, 1);
	assert_int_equal(r.r10, 200);
	assert_int_equal(r.r13, 3);
	assert_int_equal(r.r15, 9);
}

EMU_GUEST64(g_loop, "xor %eax, %eax\n mov $10, %ecx\n1: add %rcx, %rax\n loop 1b\n"
		"mov $3, %ecx\n xor %edx, %edx\n2: inc %edx\n cmp $5, %edx\n loopne 2b\n"
		"xor %ecx, %ecx\n jrcxz 3f\n mov $1, %esi\n3: hlt");

static void test_loops(void **state)
{
	vmm_regs r = et_exec(g_loop, EMU_LEN(g_loop), NULL);

	assert_int_equal(r.rax, 55);
	assert_int_equal(r.rdx, 3);
	assert_int_equal(r.rsi, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_sub_flags),
		cmocka_unit_test(test_adc_sbb_neg),
		cmocka_unit_test(test_operand_sizes),
		cmocka_unit_test(test_extending_moves),
		cmocka_unit_test(test_shifts_rotates),
		cmocka_unit_test(test_mul_div),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_stack_and_calls),
		cmocka_unit_test(test_exchange_and_bits),
		cmocka_unit_test(test_bit_counts),
		cmocka_unit_test(test_conditions),
		cmocka_unit_test(test_loops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
