/* test_emu_debug.c - emu's exception details that kvm-unit-tests' debug,
 * emulator and idt_test check: MOV SS blocking of #DB (the single-step
 * trap of MOV SS is lost, an instruction breakpoint right after it does not
 * fire, its data breakpoint hits are reported after the next instruction),
 * a HLT's single-step trap leaves the halt state, #SS(0) for a
 * non-canonical stack-segment access (#GP(0) for others), IRET to CPL 3
 * nulling GS but keeping its 64-bit base, and LTR/LLDT of a descriptor
 * with a non-canonical base raising #GP(selector) (la57). */
#include "lib/internal.h"
#include "tests/unit/emu_test.h"

#define GDT 0x6000ull
#define TSS 0x7000ull
#define IDT 0x8000ull
#define STUBS 0x101000ull       /* vector v: mov $v, %r11d; hlt (8 bytes each) */
#define DB_HANDLER 0x101800ull
#define REC 0x300000ull         /* #DB n: RIP at REC + 8n, DR6 at REC + 0x100 + 8n */
#define USER_CODE 0x102000ull

static const uint64_t gdt[] = {
	0, 0x00af9b000000ffffull, 0x00cf93000000ffffull, 0x00cf9b000000ffffull,
	0x00cff3000000ffffull, 0x00affb000000ffffull,
	0x0000890000000067ull | ((TSS & 0xffffff) << 16), 0,
	0, 0, 0, 0,                 /* 0x40, 0x50: filled by the LTR/LLDT test */
};

/* #DB: record RIP and DR6 (count in r13), set RF in the frame, IRETQ. */
EMU_GUEST64(g_db, "mov (%rsp), %rax\n mov %rax, 0x300000(,%r13,8)\n mov %dr6, %rax\n"
		"mov %rax, 0x300100(,%r13,8)\n inc %r13\n orq $0x10000, 16(%rsp)\n iretq");

static void write64(emu_fx *fx, uint64_t gpa, uint64_t v)
{
	assert_int_equal(vmm_mem_write(fx->vm, gpa, &v, 8), 0);
}

static void gate(emu_fx *fx, unsigned vec, uint64_t target)
{
	write64(fx, IDT + vec * 16, (target & 0xffff) | (0x08ull << 16) | (0x8eull << 40) |
		((target >> 16 & 0xffff) << 48));
	write64(fx, IDT + vec * 16 + 8, target >> 32);
}

/* GDT, TSS, IDT: #DB to g_db, every other vector to its stub. */
static void dbg_setup(emu_fx *fx, const uint8_t *code, size_t len)
{
	vmm_sregs s;

	et_setup(fx, code, len);
	assert_int_equal(vmm_mem_write(fx->vm, GDT, gdt, sizeof(gdt)), 0);
	write64(fx, TSS + 4, 0x3f00000);
	assert_int_equal(vmm_mem_write(fx->vm, DB_HANDLER, g_db, EMU_LEN(g_db)), 0);
	for (unsigned v = 0; v < 32; v++) {
		uint8_t stub[8] = { 0x41, 0xbb, (uint8_t)v, 0, 0, 0, 0xf4, 0x90 };

		assert_int_equal(vmm_mem_write(fx->vm, STUBS + v * 8, stub, 8), 0);
		gate(fx, v, v == 1 ? DB_HANDLER : STUBS + v * 8);
	}
	assert_int_equal(vmm_vcpu_get_sregs(fx->vcpu, &s), 0);
	s.gdt.base = GDT;
	s.gdt.limit = sizeof(gdt) - 1;
	s.idt.base = IDT;
	s.idt.limit = 32 * 16 - 1;
	s.tr.base = TSS;
	s.tr.limit = 0x67;
	s.tr.selector = 0x30;
	s.tr.type = 0xb;
	s.tr.present = 1;
	s.tr.s = 0;
	assert_int_equal(vmm_vcpu_set_sregs(fx->vcpu, &s), 0);
}

/* Runs to the final HLT at CPL 0 with no fault (r11 is a stub's vector). */
static vmm_regs dbg_run(emu_fx *fx)
{
	vmm_regs r;

	et_run(fx, VMM_EXIT_HLT);
	r = fx_regs(fx);
	if (r.r11)
		fail_msg("exception %llu at the stub", (unsigned long long)r.r11);
	return r;
}

/* TF set by POPF (one instruction's delay), then MOV SS: its trap is lost,
 * the first #DB comes after the next instruction (r14 = label 1). */
EMU_GUEST64(g_movss_tf, "lea 1f(%rip), %r14\n pushf\n pop %rax\n or $0x100, %rax\n push %rax\n"
		"mov %ss, %bx\n popf\n mov %bx, %ss\n and $~0x100, %rax\n"
		"1: push %rax\n popf\n hlt");

static void test_movss_blocks_single_step(void **state)
{
	emu_fx fx;
	vmm_regs r;

	dbg_setup(&fx, g_movss_tf, EMU_LEN(g_movss_tf));
	r = dbg_run(&fx);
	assert_int_equal(r.r13, 3);
	assert_int_equal(et_mem64(&fx, REC), r.r14);
	assert_int_equal(et_mem64(&fx, REC + 8), r.r14 + 1);
	assert_int_equal(et_mem64(&fx, REC + 16), r.r14 + 2);
	assert_int_equal(et_mem64(&fx, REC + 0x100), 0xffff4ff0);   /* BS */
	fx_destroy(&fx);
}

/* An execute breakpoint (DR0) on the instruction after MOV SS does not
 * fire; the same breakpoint after a NOP does (a fault, RIP = label). */
EMU_GUEST64(g_movss_bp, "lea 1f(%rip), %r14\n mov %r14, %dr0\n mov $0x402, %eax\n mov %rax, %dr7\n"
		"mov %ss, %bx\n mov %bx, %ss\n 1: xor %ecx, %ecx\n"
		"lea 2f(%rip), %r14\n mov %r14, %dr0\n nop\n 2: xor %ecx, %ecx\n"
		"mov $0x400, %eax\n mov %rax, %dr7\n hlt");

static void test_movss_suppresses_insn_breakpoint(void **state)
{
	emu_fx fx;
	vmm_regs r;

	dbg_setup(&fx, g_movss_bp, EMU_LEN(g_movss_bp));
	r = dbg_run(&fx);
	assert_int_equal(r.r13, 1);
	assert_int_equal(et_mem64(&fx, REC), r.r14);                 /* label 2 */
	assert_int_equal(et_mem64(&fx, REC + 0x100) & 0xf, 1);      /* B0 */
	fx_destroy(&fx);
}

/* A read/write watchpoint (DR1) hit by MOV SS from memory is reported
 * after the next instruction; hit by a plain MOV, right after it. */
EMU_GUEST64(g_movss_wp, "movl $0x10, 0x200000\n mov $0x200000, %eax\n mov %rax, %dr1\n"
		"mov $0xf0040a, %eax\n mov %rax, %dr7\n"
		"mov 0x200000, %ss\n nop\n 1: lea 1b(%rip), %r14\n"
		"mov 0x200000, %eax\n 2: lea 2b(%rip), %r15\n"
		"mov $0x400, %eax\n mov %rax, %dr7\n hlt");

static void test_movss_defers_watchpoint(void **state)
{
	emu_fx fx;
	vmm_regs r;

	dbg_setup(&fx, g_movss_wp, EMU_LEN(g_movss_wp));
	r = dbg_run(&fx);
	assert_int_equal(r.r13, 2);
	assert_int_equal(et_mem64(&fx, REC), r.r14);                 /* after the NOP */
	assert_int_equal(et_mem64(&fx, REC + 0x100) & 0xf, 2);      /* B1 */
	assert_int_equal(et_mem64(&fx, REC + 8), r.r15);
	fx_destroy(&fx);
}

/* With the interrupt platform a HLT sleeps; its single-step trap is
 * delivered and ends the halt (else the vCPU would sleep in the #DB
 * handler, IF clear, forever). The guest ends with an OUT nobody claims. */
EMU_GUEST64(g_hlt_tf, "lea 1f(%rip), %r14\n pushf\n pop %rax\n or $0x100, %rax\n push %rax\n"
		"popf\n hlt\n 1: and $~0x100, %rax\n push %rax\n popf\n out %al, $0x99");

static void test_single_step_hlt_leaves_halt(void **state)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	emu_fx fx, tmp;
	vmm_regs r;

	dbg_setup(&tmp, g_hlt_tf, EMU_LEN(g_hlt_tf));   /* for its memory image */
	memset(&fx, 0, sizeof(fx));
	cfg.backend = "emu";
	cfg.flags = VMM_VM_NO_UART | VMM_VM_NO_DEBUG_EXIT | VMM_VM_IRQCHIP;
	fx.mem_size = cfg.mem_size;
	assert_int_equal(vmm_vm_create(&cfg, &fx.vm), 0);
	for (uint64_t a = 0; a < 0x400000; a += 0x1000) {
		uint8_t page[0x1000];

		assert_int_equal(vmm_mem_read(tmp.vm, a, page, sizeof(page)), 0);
		assert_int_equal(vmm_mem_write(fx.vm, a, page, sizeof(page)), 0);
	}
	assert_int_equal(vmm_vcpu_create(fx.vm, 0, &fx.vcpu), 0);
	{
		vmm_sregs s;

		assert_int_equal(vmm_vcpu_get_sregs(tmp.vcpu, &s), 0);
		assert_int_equal(vmm_vcpu_set_sregs(fx.vcpu, &s), 0);
		r = fx_regs(&tmp);
		assert_int_equal(vmm_vcpu_set_regs(fx.vcpu, &r), 0);
	}
	fx_destroy(&tmp);
	et_run(&fx, VMM_EXIT_IO);
	r = fx_regs(&fx);
	assert_int_equal(r.r13, 4);
	assert_int_equal(et_mem64(&fx, REC), r.r14);                 /* after the HLT */
	fx_destroy(&fx);
}

/* Non-canonical: RSP- or RBP-based is #SS(0), RAX-based #GP(0). */
EMU_GUEST64(g_nc_rsp, "mov $0x8000000000000000, %rbx\n orq $0, (%rsp,%rbx,1)\n hlt");
EMU_GUEST64(g_nc_rbp, "mov $0x8000000000000000, %rbx\n orq $0, (%rbp,%rbx,1)\n hlt");
EMU_GUEST64(g_nc_rax, "mov $0x8000000000000000, %rax\n orq $0, (%rax)\n hlt");

static void expect_vector(const uint8_t *code, size_t len, unsigned vec)
{
	emu_fx fx;
	vmm_regs r;

	dbg_setup(&fx, code, len);
	et_run(&fx, VMM_EXIT_HLT);
	r = fx_regs(&fx);
	assert_int_equal(r.r11, vec);
	assert_int_equal(et_mem64(&fx, r.rsp), 0);                   /* error code 0 */
	fx_destroy(&fx);
}

static void test_noncanonical_stack_access_is_ss(void **state)
{
	expect_vector(g_nc_rsp, EMU_LEN(g_nc_rsp), 12);
	expect_vector(g_nc_rbp, EMU_LEN(g_nc_rbp), 12);
	expect_vector(g_nc_rax, EMU_LEN(g_nc_rax), 13);
}

/* IRETQ to CPL 3 with GS holding a DPL-0 data segment: GS becomes null,
 * its base stays, so a GS-relative read in user mode still works. */
EMU_GUEST64(g_iret_user, "push $0x23\n push $0x3f00000\n push $0x2\n push $0x2b\n"
		"push $0x102000\n iretq");
EMU_GUEST64(g_user_gs, "mov %gs:8, %rax\n mov %gs, %ecx\n hlt");

static void test_iret_nulls_gs_keeps_base(void **state)
{
	emu_fx fx;
	vmm_sregs s;
	vmm_regs r;

	dbg_setup(&fx, g_iret_user, EMU_LEN(g_iret_user));
	assert_int_equal(vmm_mem_write(fx.vm, USER_CODE, g_user_gs, EMU_LEN(g_user_gs)), 0);
	write64(&fx, 0x400008, 0x1234abcd);
	assert_int_equal(vmm_vcpu_get_sregs(fx.vcpu, &s), 0);
	s.gs.base = 0x400000;
	assert_int_equal(vmm_vcpu_set_sregs(fx.vcpu, &s), 0);
	et_run(&fx, VMM_EXIT_HLT);                     /* HLT at CPL 3: #GP stub */
	r = fx_regs(&fx);
	assert_int_equal(r.r11, 13);
	assert_int_equal(r.rax, 0x1234abcd);
	assert_int_equal(r.rcx, 0);                    /* the selector is null */
	fx_destroy(&fx);
}

/* LTR of an available 64-bit TSS whose base is not canonical, LLDT of
 * such an LDT: #GP(selector); with a canonical base both load. */
EMU_GUEST64(g_ltr, "mov $0x40, %ax\n ltr %ax\n hlt");
EMU_GUEST64(g_lldt, "mov $0x50, %ax\n lldt %ax\n hlt");

static void load_sys(const uint8_t *code, size_t len, uint16_t sel, uint8_t type,
		     uint64_t hi, uint64_t want_vec, uint64_t want_err)
{
	emu_fx fx;
	vmm_regs r;

	dbg_setup(&fx, code, len);
	write64(&fx, GDT + sel, 0x0000800000000067ull | ((uint64_t)type << 40) | (0x9000ull << 16));
	write64(&fx, GDT + sel + 8, hi);
	et_run(&fx, VMM_EXIT_HLT);
	r = fx_regs(&fx);
	assert_int_equal(r.r11, want_vec);
	if (want_vec)
		assert_int_equal(et_mem64(&fx, r.rsp), want_err);
	fx_destroy(&fx);
}

static void test_ltr_lldt_noncanonical_base(void **state)
{
	load_sys(g_ltr, EMU_LEN(g_ltr), 0x40, 0x9, 0x80000000ull, 13, 0x40);
	load_sys(g_ltr, EMU_LEN(g_ltr), 0x40, 0x9, 0xffff8000ull, 0, 0);
	load_sys(g_lldt, EMU_LEN(g_lldt), 0x50, 0x2, 0xaaaaaaaaull, 13, 0x50);
	load_sys(g_lldt, EMU_LEN(g_lldt), 0x50, 0x2, 0, 0, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_movss_blocks_single_step),
		cmocka_unit_test(test_movss_suppresses_insn_breakpoint),
		cmocka_unit_test(test_movss_defers_watchpoint),
		cmocka_unit_test(test_single_step_hlt_leaves_halt),
		cmocka_unit_test(test_noncanonical_stack_access_is_ss),
		cmocka_unit_test(test_iret_nulls_gs_keeps_base),
		cmocka_unit_test(test_ltr_lldt_noncanonical_base),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
