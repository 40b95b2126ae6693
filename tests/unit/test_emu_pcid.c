/* test_emu_pcid.c - emu's PCID and INVPCID (what kvm-unit-tests' pcid test
 * checks, and more): CPUID advertises both; CR4.PCIDE is refused outside
 * long mode and while CR3[11:0] is not 0; CR0.PG cannot be cleared while
 * PCIDE is set; with PCIDE, MOV to CR3 takes bit 63 (no flush) without
 * storing it, and a switch to another PCID's tables never uses the old
 * tables' translations; INVPCID types 0-3 and their #GP (CPL, type,
 * reserved descriptor bits, non-canonical address, PCID with PCIDE clear),
 * #UD (register operand, LOCK) and #PF (descriptor) cases, and each type
 * makes a changed page-table entry visible.
 *
 * Guests record the vector of each checked instruction in an array at
 * RESULTS (-1: no fault): the IDT stubs put the vector in r11 and resume at
 * r12, or halt when r12 is 0. */
#include "lib/internal.h"
#include "tests/unit/emu_test.h"

#define GDT 0x6000ull
#define TSS 0x7000ull
#define IDT 0x8000ull
#define STUBS 0x101000ull
#define RESULTS 0x300000ull
#define PML4_B 0x9000ull       /* second address space: 2 MiB page 0x600000 -> 0x800000 */
#define PDPT_B 0xa000ull
#define PD_B 0xb000ull
#define DESC 0x280000ull        /* INVPCID descriptors */

static const uint64_t gdt[] = {
	0, 0x00af9b000000ffffull, 0x00cf93000000ffffull, 0x00cf9b000000ffffull,
	0x00cff3000000ffffull,
	0x00affb000000ffffull,
	0x0000890000000067ull | ((TSS & 0xffffff) << 16), 0,
};

static void write64(emu_fx *fx, uint64_t gpa, uint64_t v)
{
	assert_int_equal(vmm_mem_write(fx->vm, gpa, &v, 8), 0);
}

/* mov $v, %r11d; test %r12, %r12; jz 1f; [add $8, %rsp]; mov %r12, (%rsp);
 * iretq; 1: hlt */
EMU_GUEST64(g_stub_ec, "mov $0, %r11d\n test %r12, %r12\n jz 1f\n add $8, %rsp\n"
		"mov %r12, (%rsp)\n iretq\n 1: hlt");
EMU_GUEST64(g_stub, "mov $0, %r11d\n test %r12, %r12\n jz 1f\n"
		"mov %r12, (%rsp)\n iretq\n 1: hlt");

static void stubs(emu_fx *fx)
{
	for (unsigned v = 0; v < 32; v++) {
		int ec = v == 8 || (v >= 10 && v <= 14) || v == 17;
		uint8_t stub[32];
		size_t n = ec ? EMU_LEN(g_stub_ec) : EMU_LEN(g_stub);
		uint64_t at = STUBS + v * 32;

		memcpy(stub, ec ? g_stub_ec : g_stub, n);
		stub[2] = (uint8_t)v;
		assert_int_equal(vmm_mem_write(fx->vm, at, stub, n), 0);
		write64(fx, IDT + v * 16, (at & 0xffff) | (0x08ull << 16) | (0x8eull << 40) |
			((at >> 16 & 0xffff) << 48));
		write64(fx, IDT + v * 16 + 8, at >> 32);
	}
}

/* The long-mode fixture plus GDT, TSS, IDT stubs and the second address
 * space; 0x605000 holds 0x6666, 0x805000 0x8888 (0x605000: a TLB index
 * that no code or stub page uses). */
static void pc_tables(emu_fx *fx)
{
	vmm_sregs s;

	assert_int_equal(vmm_mem_write(fx->vm, GDT, gdt, sizeof(gdt)), 0);
	write64(fx, TSS + 4, 0x3f00000);
	stubs(fx);
	write64(fx, PML4_B, PDPT_B | 7);
	write64(fx, PDPT_B, PD_B | 7);
	for (uint64_t i = 0; i < 512; i++)
		write64(fx, PD_B + i * 8, (i << 21) | 0x87);
	write64(fx, PD_B + 3 * 8, 0x800000 | 0x87);
	write64(fx, 0x605000, 0x6666);
	write64(fx, 0x805000, 0x8888);
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
	assert_int_equal(vmm_vcpu_set_sregs(fx->vcpu, &s), 0);
}

static void pc_setup(emu_fx *fx, const uint8_t *code, size_t len)
{
	et_setup(fx, code, len);
	pc_tables(fx);
}

/* Runs code to its HLT; copies n results. */
static vmm_regs pc_run(const uint8_t *code, size_t len, int64_t *res, unsigned n)
{
	emu_fx fx;
	vmm_regs r;

	pc_setup(&fx, code, len);
	et_run(&fx, VMM_EXIT_HLT);
	r = fx_regs(&fx);
	if (n)
		assert_int_equal(vmm_mem_read(fx.vm, RESULTS, res, n * 8), 0);
	fx_destroy(&fx);
	return r;
}

/* T insn: records the vector insn raised (-1 for none) at (%rbx), next. */
#define T_MACRO ".macro T insn:vararg\n lea 1f(%rip), %r12\n mov $-1, %r11\n \\insn\n" \
		"1: mov %r11, (%rbx)\n add $8, %rbx\n .endm\n mov $0x300000, %ebx\n"
#define T_END ".purgem T\n"
#define PCIDE "mov %cr4, %rax\n bts $17, %rax\n mov %rax, %cr4\n"

EMU_GUEST64(g_cpuid, "mov $1, %eax\n cpuid\n mov %ecx, %esi\n mov $7, %eax\n xor %ecx, %ecx\n"
		"cpuid\n hlt");

static void test_cpuid(void **state)
{
	vmm_regs r = pc_run(g_cpuid, EMU_LEN(g_cpuid), NULL, 0);

	assert_int_equal(r.rsi & (1u << 17), 1u << 17);     /* PCID */
	assert_int_equal(r.rbx & (1u << 10), 1u << 10);     /* INVPCID */
}

/* kvm-unit-tests' pcid test, then CR3[11:0] with PCIDE set is the PCID
 * (no #GP), bit 63 is accepted and not stored, and without PCIDE bit 63 is
 * reserved (#GP). */
EMU_GUEST64(g_cr4, T_MACRO "mov %cr3, %r8\n mov %cr4, %r9\n mov %r9, %r10\n bts $17, %r10\n"
		"T mov %r10, %cr4\n"                                  /* 0: ok */
		"mov %cr0, %rax\n btr $31, %rax\n T mov %rax, %cr0\n" /* 1: #GP */
		"mov %r8, %rax\n or $5, %rax\n bts $63, %rax\n T mov %rax, %cr3\n" /* 2: ok */
		"mov %cr3, %rax\n mov %rax, (%rbx)\n add $8, %rbx\n"  /* 3: r8 | 5 */
		"mov %r8, %cr3\n T mov %r9, %cr4\n"                  /* 4: ok, PCIDE off */
		"mov %r8, %rax\n or $1, %rax\n mov %rax, %cr3\n"
		"T mov %r10, %cr4\n"                                  /* 5: #GP: CR3[11:0] */
		"mov %r8, %rax\n bts $63, %rax\n T mov %rax, %cr3\n"  /* 6: #GP: bit 63 */
		"mov %r8, %cr3\n mov %cr4, %rax\n mov %rax, (%rbx)\n hlt\n" /* 7: cr4 */
		T_END);

static void test_cr4_pcide_rules(void **state)
{
	int64_t res[8];
	vmm_regs r = pc_run(g_cr4, EMU_LEN(g_cr4), res, 8);

	assert_int_equal(res[0], -1);
	assert_int_equal(res[1], 13);
	assert_int_equal(res[2], -1);
	assert_int_equal(res[3], (int64_t)(r.r8 | 5));
	assert_int_equal(res[4], -1);
	assert_int_equal(res[5], 13);
	assert_int_equal(res[6], 13);
	assert_int_equal(res[7] & (1 << 17), 0);
}

/* Outside long mode (32-bit protected mode, no paging, no IDT) setting
 * PCIDE is #GP: with no IDT that ends in a triple fault. */
EMU_GUEST32(g_pm_pcide, "mov %cr4, %eax\n bts $17, %eax\n mov %eax, %cr4\n hlt");
EMU_GUEST32(g_pm_pge, "mov %cr4, %eax\n bts $7, %eax\n mov %eax, %cr4\n hlt");

static void pm_run(const uint8_t *code, size_t len, uint32_t reason)
{
	emu_fx fx;
	vmm_sregs s;

	et_setup(&fx, code, len);
	assert_int_equal(vmm_mem_write(fx.vm, GDT, gdt, sizeof(gdt)), 0);
	assert_int_equal(vmm_vcpu_get_sregs(fx.vcpu, &s), 0);
	fx_flat_seg(&s.cs, 0x18, 0xb, 0);
	s.gdt.base = GDT;
	s.gdt.limit = sizeof(gdt) - 1;
	s.idt.limit = 0;
	s.cr0 = 0x11;
	s.cr4 = 0;
	s.efer = 0;
	assert_int_equal(vmm_vcpu_set_sregs(fx.vcpu, &s), 0);
	et_run(&fx, reason);
	fx_destroy(&fx);
}

static void test_pcide_needs_long_mode(void **state)
{
	pm_run(g_pm_pge, EMU_LEN(g_pm_pge), VMM_EXIT_HLT);
	pm_run(g_pm_pcide, EMU_LEN(g_pm_pcide), VMM_EXIT_SHUTDOWN);
}

/* With PCIDE: read 0x605000 in address space A (PCID 0), switch to B
 * (PCID 1, no-flush bit), read, back to A with no-flush, read again. */
EMU_GUEST64(g_switch, PCIDE "mov %cr3, %r8\n mov 0x605000, %rsi\n"
		"mov $0x9001, %rax\n bts $63, %rax\n mov %rax, %cr3\n mov 0x605000, %rdi\n"
		"mov %r8, %rax\n bts $63, %rax\n mov %rax, %cr3\n mov 0x605000, %rbp\n"
		"mov %cr3, %r9\n hlt");

static void test_cr3_switch_between_pcids(void **state)
{
	vmm_regs r = pc_run(g_switch, EMU_LEN(g_switch), NULL, 0);

	assert_int_equal(r.rsi, 0x6666);
	assert_int_equal(r.rdi, 0x8888);
	assert_int_equal(r.rbp, 0x6666);
	assert_int_equal(r.r9, r.r8);
}

/* INVPCID with descriptors at DESC: +0 {pcid 0, 0x605000}, +16 {pcid 1,
 * 0x605000}, +32 {reserved bit 12}, +48 {pcid 0, non-canonical}. */
#define DESCS "movq $0, 0x280000\n movq $0x605000, 0x280008\n movq $1, 0x280010\n" \
	"movq $0x605000, 0x280018\n movq $0x1000, 0x280020\n movq $0, 0x280028\n" \
	"movq $0, 0x280030\n mov $0x800000000000, %rax\n mov %rax, 0x280038\n"
EMU_GUEST64(g_invpcid, T_MACRO DESCS
		"xor %ecx, %ecx\n T invpcid 0x280000, %rcx\n"   /* 0: type 0 pcid 0 */
		"inc %ecx\n T invpcid 0x280000, %rcx\n"        /* 1 */
		"inc %ecx\n T invpcid 0x280000, %rcx\n"        /* 2 */
		"inc %ecx\n T invpcid 0x280000, %rcx\n"        /* 3 */
		"inc %ecx\n T invpcid 0x280000, %rcx\n"        /* 4: type 4 #GP */
		"mov $1, %rcx\n bts $32, %rcx\n T invpcid 0x280000, %rcx\n" /* 5: #GP */
		"xor %ecx, %ecx\n T invpcid 0x280010, %rcx\n"  /* 6: pcid 1, type 0 #GP */
		"inc %ecx\n T invpcid 0x280010, %rcx\n"        /* 7: type 1 #GP */
		"inc %ecx\n T invpcid 0x280010, %rcx\n"        /* 8: type 2 ok */
		"inc %ecx\n T invpcid 0x280010, %rcx\n"        /* 9: type 3 ok */
		"xor %ecx, %ecx\n T invpcid 0x280020, %rcx\n"  /* 10: reserved #GP */
		"mov $2, %ecx\n T invpcid 0x280020, %rcx\n"    /* 11: reserved #GP */
		"xor %ecx, %ecx\n T invpcid 0x280030, %rcx\n"  /* 12: non-canonical #GP */
		"inc %ecx\n T invpcid 0x280030, %rcx\n"        /* 13: type 1: ok */
		"T invpcid 0x40000000, %rcx\n"                 /* 14: unmapped: #PF */
		"T .byte 0x66, 0x0f, 0x38, 0x82, 0xc1\n"       /* 15: register: #UD */
		"T .byte 0xf0, 0x66, 0x0f, 0x38, 0x82, 0x0c, 0x25, 0, 0, 0x28, 0\n" /* 16: LOCK */
		PCIDE "xor %ecx, %ecx\n T invpcid 0x280010, %rcx\n" /* 17: PCIDE: ok */
		"inc %ecx\n T invpcid 0x280010, %rcx\n"        /* 18: ok */
		"hlt\n" T_END);

static void test_invpcid_faults(void **state)
{
	static const int64_t want[19] = { -1, -1, -1, -1, 13, 13, 13, 13, -1, -1, 13, 13,
					  13, -1, 14, 6, 6, -1, -1 };
	int64_t res[19];

	pc_run(g_invpcid, EMU_LEN(g_invpcid), res, 19);
	for (unsigned i = 0; i < 19; i++)
		if (res[i] != want[i])
			fail_msg("check %u: vector %lld, expected %lld", i, (long long)res[i],
				 (long long)want[i]);
}

/* Each type makes a changed PD entry (0x600000 -> 0x800000 and back)
 * visible: r8, r9, r10, r13 hold what 0x605000 reads after type 0..3. */
#define FLIP(type, reg, target) "movq $" target ", 0x3018\n mov 0x605000, %rax\n" \
	"mov $" type ", %ecx\n invpcid 0x280000, %rcx\n mov 0x605000, " reg "\n"
EMU_GUEST64(g_invpcid_flush, DESCS PCIDE "mov 0x605000, %rax\n"
		FLIP("0", "%r8", "0x800087") FLIP("1", "%r9", "0x600087")
		FLIP("2", "%r10", "0x800087") FLIP("3", "%r13", "0x600087") "hlt");

static void test_invpcid_flushes(void **state)
{
	vmm_regs r = pc_run(g_invpcid_flush, EMU_LEN(g_invpcid_flush), NULL, 0);

	assert_int_equal(r.r8, 0x8888);
	assert_int_equal(r.r9, 0x6666);
	assert_int_equal(r.r10, 0x8888);
	assert_int_equal(r.r13, 0x6666);
}

/* At CPL 3, INVPCID is #GP(0) (the stub halts: r12 = 0). */
EMU_GUEST64(g_to_user, "push $0x23\n push $0x3e00000\n push $0x202\n push $0x2b\n"
		"push $0x102000\n iretq");
EMU_GUEST64(g_user_invpcid, "xor %r12d, %r12d\n xor %ecx, %ecx\n invpcid 0x280000, %rcx\n"
		"mov $1, %r11d\n hlt");

static void test_invpcid_cpl3(void **state)
{
	emu_fx fx;
	vmm_regs r;

	pc_setup(&fx, g_to_user, EMU_LEN(g_to_user));
	assert_int_equal(vmm_mem_write(fx.vm, 0x102000, g_user_invpcid,
				       EMU_LEN(g_user_invpcid)), 0);
	et_run(&fx, VMM_EXIT_HLT);
	r = fx_regs(&fx);
	assert_int_equal(r.r11, 13);
	assert_int_equal(r.rip, STUBS + 13 * 32 + EMU_LEN(g_stub_ec));
	fx_destroy(&fx);
}

/* vmm_vm_hide_cpu_features("pcid,invpcid") before the vCPU: CPUID clears
 * both bits, CR4.PCIDE is #GP and INVPCID #UD; "invpcid" alone keeps PCID.
 * Unknown names are VMM_EINVAL, a call after the first vCPU VMM_EBUSY. */
EMU_GUEST64(g_hidden, "mov $1, %eax\n cpuid\n mov %ecx, %esi\n mov $7, %eax\n"
		"xor %ecx, %ecx\n cpuid\n mov %ebx, %edi\n" T_MACRO
		"mov %cr4, %rax\n bts $17, %rax\n T mov %rax, %cr4\n"
		"xor %ecx, %ecx\n T invpcid 0x280000, %rcx\n"
		"mov %cr4, %rax\n bts $22, %rax\n T mov %rax, %cr4\n"   /* PKE */
		"mov $7, %eax\n xor %ecx, %ecx\n cpuid\n mov %ecx, %ebp\n hlt\n" T_END);

static void hidden_run(const char *names, vmm_regs *r, int64_t res[3])
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	emu_fx fx;

	memset(&fx, 0, sizeof(fx));
	cfg.backend = "emu";
	cfg.flags = VMM_VM_NO_UART | VMM_VM_NO_DEBUG_EXIT;
	fx.mem_size = cfg.mem_size;
	assert_int_equal(vmm_vm_create(&cfg, &fx.vm), 0);
	assert_int_equal(vmm_vm_hide_cpu_features(fx.vm, "nope"), VMM_EINVAL);
	assert_int_equal(vmm_vm_hide_cpu_features(fx.vm, "pcid,"), VMM_EINVAL);
	assert_int_equal(vmm_vm_hide_cpu_features(fx.vm, ""), 0);
	assert_int_equal(vmm_vm_hide_cpu_features(fx.vm, names), 0);
	assert_int_equal(fx_page_tables(fx.vm), 0);
	assert_int_equal(vmm_vcpu_create(fx.vm, 0, &fx.vcpu), 0);
	assert_int_equal(vmm_vm_hide_cpu_features(fx.vm, "pcid"), VMM_EBUSY);
	assert_int_equal(fx_long_mode(fx.vcpu, FX_CODE, fx.mem_size), 0);
	assert_int_equal(vmm_mem_write(fx.vm, FX_CODE, g_hidden, EMU_LEN(g_hidden)), 0);
	pc_tables(&fx);
	et_run(&fx, VMM_EXIT_HLT);
	*r = fx_regs(&fx);
	assert_int_equal(vmm_mem_read(fx.vm, RESULTS, res, 24), 0);
	fx_destroy(&fx);
}

static void test_hidden_features(void **state)
{
	vmm_regs r;
	int64_t res[3];

	hidden_run("pcid,invpcid,pku", &r, res);
	assert_int_equal(r.rsi & (1u << 17), 0);
	assert_int_equal(r.rdi & (1u << 10), 0);
	assert_int_equal(r.rbp & (1u << 3), 0);             /* PKU */
	assert_int_equal(res[0], 13);                       /* CR4.PCIDE */
	assert_int_equal(res[1], 6);                        /* INVPCID */
	assert_int_equal(res[2], 13);                       /* CR4.PKE */
	hidden_run("invpcid", &r, res);
	assert_int_equal(r.rsi & (1u << 17), 1u << 17);
	assert_int_equal(r.rdi & (1u << 10), 0);
	assert_int_equal(r.rbp & (1u << 3), 1u << 3);
	assert_int_equal(res[0], -1);
	assert_int_equal(res[1], 6);
	assert_int_equal(res[2], -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpuid),
		cmocka_unit_test(test_cr4_pcide_rules),
		cmocka_unit_test(test_pcide_needs_long_mode),
		cmocka_unit_test(test_cr3_switch_between_pcids),
		cmocka_unit_test(test_invpcid_faults),
		cmocka_unit_test(test_invpcid_flushes),
		cmocka_unit_test(test_invpcid_cpl3),
		cmocka_unit_test(test_hidden_features),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
