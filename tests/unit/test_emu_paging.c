/* test_emu_paging.c - emu's SMEP, SMAP and PKS (what kvm-unit-tests' smap,
 * pks and access tests check): CPUID advertises them and PKU, CR4 takes
 * their bits (PKE too; test_emu_pcid checks it refused with PKU hidden), a
 * supervisor fetch from a user
 * page is #PF with I/D under SMEP, a supervisor data access to a user page
 * is #PF under SMAP unless STAC set RFLAGS.AC (and no TLB entry outlives a
 * CLAC), and MSR 0x6e1 (PKRS) keys deny supervisor pages. The identity
 * map is supervisor-only except 2-4 MiB (user). */
#include "lib/internal.h"
#include "tests/unit/emu_test.h"

#define GDT 0x6000ull
#define IDT 0x8000ull
#define STUBS 0x101000ull       /* vector v: r11 = v, r10 = error code or RIP; hlt */
#define USER_PAGE 0x200000ull
#define KEYED_PAGE 0x400000ull  /* supervisor, protection key 1 */

static const uint64_t gdt[] = { 0, 0x00af9b000000ffffull, 0x00cf93000000ffffull };

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

/* #PF that counts (r13) and retries with AC set in the frame. */
EMU_GUEST64(g_pf_stac, "inc %r13\n add $8, %rsp\n orq $0x40000, 16(%rsp)\n iretq");

static void pg_setup(emu_fx *fx, const uint8_t *code, size_t len, uint64_t pf_handler)
{
	vmm_sregs s;

	et_setup(fx, code, len);
	for (uint64_t i = 0; i < 512; i++)
		write64(fx, FX_PD + i * 8, (i << 21) | 0x83);        /* supervisor */
	write64(fx, FX_PD + 8, USER_PAGE | 0x87);                   /* user */
	write64(fx, FX_PD + 16, KEYED_PAGE | 0x83 | (1ull << 59));  /* key 1 */
	assert_int_equal(vmm_mem_write(fx->vm, GDT, gdt, sizeof(gdt)), 0);
	for (unsigned v = 0; v < 32; v++) {
		/* mov $v, %r11d; mov (%rsp), %r10; hlt */
		uint8_t stub[16] = { 0x41, 0xbb, (uint8_t)v, 0, 0, 0, 0x4c, 0x8b, 0x14, 0x24,
				     0xf4 };

		assert_int_equal(vmm_mem_write(fx->vm, STUBS + v * 16, stub, 16), 0);
		gate(fx, v, STUBS + v * 16);
	}
	if (pf_handler)
		gate(fx, 14, pf_handler);
	assert_int_equal(vmm_vcpu_get_sregs(fx->vcpu, &s), 0);
	s.gdt.base = GDT;
	s.gdt.limit = sizeof(gdt) - 1;
	s.idt.base = IDT;
	s.idt.limit = 32 * 16 - 1;
	assert_int_equal(vmm_vcpu_set_sregs(fx->vcpu, &s), 0);
}

static vmm_regs pg_run(const uint8_t *code, size_t len, uint64_t pf_handler)
{
	emu_fx fx;
	vmm_regs r;

	pg_setup(&fx, code, len, pf_handler);
	if (pf_handler)
		assert_int_equal(vmm_mem_write(fx.vm, pf_handler, g_pf_stac,
					       EMU_LEN(g_pf_stac)), 0);
	et_run(&fx, VMM_EXIT_HLT);
	r = fx_regs(&fx);
	fx_destroy(&fx);
	return r;
}

EMU_GUEST64(g_cpuid7, "mov $7, %eax\n xor %ecx, %ecx\n cpuid\n hlt");

static void test_cpuid_and_cr4(void **state)
{
	vmm_regs r = et_exec(g_cpuid7, EMU_LEN(g_cpuid7), NULL);

	assert_int_equal(r.rbx & ((1u << 7) | (1u << 20)), (1u << 7) | (1u << 20));
	assert_int_equal(r.rcx & ((1u << 31) | (1u << 3)), (1u << 31) | (1u << 3)); /* PKS PKU */
}

EMU_GUEST64(g_cr4_pke, "mov %cr4, %rax\n or $0x400000, %rax\n mov %rax, %cr4\n hlt");

static void test_cr4_pke_taken(void **state)
{
	vmm_regs r = pg_run(g_cr4_pke, EMU_LEN(g_cr4_pke), 0);

	assert_int_equal(r.r11, 0);                    /* no exception */
}

/* SMEP: CALL into the user page is #PF(P | I/D), CR2 = the target. */
EMU_GUEST64(g_smep, "movb $0xf4, 0x200000\n mov %cr4, %rax\n or $0x100000, %rax\n"
		"mov %rax, %cr4\n mov $0x200000, %eax\n call *%rax\n hlt");

static void test_smep_fetch(void **state)
{
	vmm_regs r = pg_run(g_smep, EMU_LEN(g_smep), 0);

	assert_int_equal(r.r11, 14);
	assert_int_equal(r.r10, 0x11);
}

/* SMAP: with AC clear each read of the user page faults (the handler sets
 * AC in the frame and the read is retried); CLAC makes the next one fault
 * again, STAC lets it through. */
EMU_GUEST64(g_smap, "xor %r13d, %r13d\n mov %cr4, %rax\n or $0x200000, %rax\n mov %rax, %cr4\n"
		"clac\n mov 0x200000, %ebx\n clac\n mov 0x200000, %ecx\n"
		"stac\n mov 0x200000, %edx\n movl $7, 0x200000\n clac\n hlt");

static void test_smap_stac_clac(void **state)
{
	vmm_regs r = pg_run(g_smap, EMU_LEN(g_smap), 0x101800);

	assert_int_equal(r.r11, 0);
	assert_int_equal(r.r13, 2);
}

/* PKS: key 1 AD in PKRS denies a read of the keyed supervisor page with
 * #PF(P | PK); WD denies writes (CR0.WP is set); reads work. */
EMU_GUEST64(g_pks_ad, "mov %cr4, %rax\n or $0x1000000, %rax\n mov %rax, %cr4\n"
		"mov $0x6e1, %ecx\n mov $4, %eax\n xor %edx, %edx\n wrmsr\n"
		"mov 0x400000, %ebx\n hlt");
EMU_GUEST64(g_pks_wd, "mov %cr4, %rax\n or $0x1000000, %rax\n mov %rax, %cr4\n"
		"mov $0x6e1, %ecx\n mov $8, %eax\n xor %edx, %edx\n wrmsr\n"
		"mov 0x400000, %ebx\n rdmsr\n mov %eax, %esi\n movl $1, 0x400000\n hlt");
EMU_GUEST64(g_pks_bad, "mov $0x6e1, %ecx\n mov $1, %edx\n wrmsr\n hlt");

static void test_pks(void **state)
{
	vmm_regs r = pg_run(g_pks_ad, EMU_LEN(g_pks_ad), 0);

	assert_int_equal(r.r11, 14);
	assert_int_equal(r.r10, 0x21);
	r = pg_run(g_pks_wd, EMU_LEN(g_pks_wd), 0);
	assert_int_equal(r.r11, 14);
	assert_int_equal(r.r10, 0x23);
	assert_int_equal(r.rsi, 8);                    /* RDMSR PKRS */
	r = pg_run(g_pks_bad, EMU_LEN(g_pks_bad), 0);  /* bits 63:32 reserved */
	assert_int_equal(r.r11, 13);
}

/* INVLPG of one address drops every 4 KiB entry of its 2 MiB mapping: the
 * TLB holds 0x600000 and 0x601000 of PD entry 3, which is moved to
 * 0x800000; after invlpg 0x600000, 0x601000 reads the new page (rdx). */
EMU_GUEST64(g_invlpg_large,
	    "mov 0x601000, %rax\n mov 0x600000, %rbx\n"
	    "mov $0x800083, %rcx\n mov %rcx, 0x3018\n"
	    "invlpg 0x600000\n mov 0x601000, %rdx\n hlt");

/* With CR4.PGE, a MOV CR3 keeps global entries (G=1: PD entry 5,
 * 0xa00000) and drops the others (entry 3): both entries are moved to
 * 0x800000 without INVLPG; after the CR3 load, rdx (non-global) reads the
 * new page and rsi (global) still the old one, as a CPU may (0xa02000:
 * not the TLB slot of 0x601000, which the read of rdx refills). */
EMU_GUEST64(g_cr3_global,
	    "mov %cr4, %rax\n or $0x80, %rax\n mov %rax, %cr4\n"
	    "mov 0x601000, %rax\n mov 0xa02000, %rbx\n"
	    "mov $0x800083, %rcx\n mov %rcx, 0x3018\n mov %rcx, 0x3028\n"
	    "mov %cr3, %rcx\n mov %rcx, %cr3\n"
	    "mov 0x601000, %rdx\n mov 0xa02000, %rsi\n hlt");

static void test_tlb_invlpg_and_global(void **state)
{
	emu_fx fx;
	vmm_regs r;

	pg_setup(&fx, g_invlpg_large, EMU_LEN(g_invlpg_large), 0);
	write64(&fx, 0x601000, 0x1111);
	write64(&fx, 0x801000, 0x2222);
	et_run(&fx, VMM_EXIT_HLT);
	r = fx_regs(&fx);
	assert_int_equal(r.rax, 0x1111);
	assert_int_equal(r.rdx, 0x2222);
	fx_destroy(&fx);

	pg_setup(&fx, g_cr3_global, EMU_LEN(g_cr3_global), 0);
	write64(&fx, FX_PD + 5 * 8, 0xa00000 | 0x183);             /* G */
	write64(&fx, 0x601000, 0x1111);
	write64(&fx, 0xa02000, 0x3333);
	write64(&fx, 0x801000, 0x2222);
	et_run(&fx, VMM_EXIT_HLT);
	r = fx_regs(&fx);
	assert_int_equal(r.rax, 0x1111);
	assert_int_equal(r.rbx, 0x3333);
	assert_int_equal(r.rdx, 0x2222);
	assert_int_equal(r.rsi, 0x3333);
	fx_destroy(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpuid_and_cr4),
		cmocka_unit_test(test_cr4_pke_taken),
		cmocka_unit_test(test_smep_fetch),
		cmocka_unit_test(test_smap_stac_clac),
		cmocka_unit_test(test_pks),
		cmocka_unit_test(test_tlb_invlpg_and_global),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
