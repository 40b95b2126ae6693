/* test_emu_sys.c - emu's system behaviour: exceptions delivered through a
 * 64-bit IDT (frames, error codes, CR2), #DF when delivery faults and a
 * triple fault when #DF cannot be delivered, CPL 3 (IRETQ, SYSCALL/SYSRET,
 * INT n with the TSS stack switch, #GP on HLT), 32-bit protected mode with
 * based segments, 32-bit paging with 4 MiB pages, PAE paging, and the switch
 * from protected mode to long mode with a far jump; real mode (segment
 * loads, INT through the IVT, IRET, far jump). */
#include "lib/internal.h"
#include "tests/unit/emu_test.h"

#define GDT 0x6000ull
#define TSS 0x7000ull
#define IDT 0x8000ull
#define HANDLER 0x101000ull     /* mov %rsp, %r15; mov %cr2, %r14; hlt */
#define USER_CODE 0x102000ull
#define SYSCALL_ENTRY 0x101200ull

static const uint64_t gdt[] = {
	0, 0x00af9b000000ffffull, 0x00cf93000000ffffull, 0x00cf9b000000ffffull,
	0x00cff3000000ffffull, 0x00affb000000ffffull,
	/* 0x30: 64-bit TSS at 0x7000, limit 0x67 */
	0x0000890000000067ull | ((TSS & 0xffffff) << 16), 0,
};

static void write64(emu_fx *fx, uint64_t gpa, uint64_t v)
{
	assert_int_equal(vmm_mem_write(fx->vm, gpa, &v, 8), 0);
}

/* A 64-bit interrupt gate (type 0xe) for vec. */
static void gate(emu_fx *fx, unsigned vec, uint64_t target, unsigned dpl, int present)
{
	uint64_t lo = (target & 0xffff) | (0x08ull << 16) | (0xeull << 40) |
		      ((uint64_t)dpl << 45) | ((uint64_t)!!present << 47) |
		      ((target >> 16 & 0xffff) << 48);

	write64(fx, IDT + vec * 16, lo);
	write64(fx, IDT + vec * 16 + 8, target >> 32);
}

EMU_GUEST64(g_handler, "mov %rsp, %r15\n mov %cr2, %r14\n hlt");

/* GDT, TSS (RSP0 0x3f00000), IDT with every vector going to HANDLER. */
static void sys_setup(emu_fx *fx, const uint8_t *code, size_t len)
{
	vmm_sregs s;

	et_setup(fx, code, len);
	assert_int_equal(vmm_mem_write(fx->vm, GDT, gdt, sizeof(gdt)), 0);
	write64(fx, TSS + 4, 0x3f00000);
	assert_int_equal(vmm_mem_write(fx->vm, HANDLER, g_handler, EMU_LEN(g_handler)), 0);
	for (unsigned v = 0; v < 32; v++)
		gate(fx, v, HANDLER, 0, 1);
	assert_int_equal(vmm_vcpu_get_sregs(fx->vcpu, &s), 0);
	s.gdt.base = GDT;
	s.gdt.limit = sizeof(gdt) - 1;
	s.idt.base = IDT;
	s.idt.limit = 256 * 16 - 1;
	s.tr.base = TSS;
	s.tr.limit = 0x67;
	s.tr.selector = 0x30;
	s.tr.type = 0xb;
	s.tr.present = 1;
	s.tr.s = 0;
	assert_int_equal(vmm_vcpu_set_sregs(fx->vcpu, &s), 0);
}

/* Runs to the handler's HLT; returns the registers (r15 = frame). */
static vmm_regs to_handler(emu_fx *fx)
{
	vmm_regs r;

	et_run(fx, VMM_EXIT_HLT);
	r = fx_regs(fx);
	assert_int_equal(r.rip, HANDLER + EMU_LEN(g_handler));
	return r;
}

EMU_GUEST64(g_ud, "nop\n ud2");

static void test_ud_frame(void **state)
{
	emu_fx fx;
	vmm_regs r;

	sys_setup(&fx, g_ud, EMU_LEN(g_ud));
	r = to_handler(&fx);
	assert_int_equal(r.r15, 0x4000000 - 40);
	assert_int_equal(et_mem64(&fx, r.r15), FX_CODE + 1);        /* RIP of ud2 */
	assert_int_equal(et_mem64(&fx, r.r15 + 8), 0x08);
	assert_int_equal(et_mem64(&fx, r.r15 + 16) & 0x2, 0x2);    /* RFLAGS */
	assert_int_equal(et_mem64(&fx, r.r15 + 24), 0x4000000);    /* RSP */
	/* a fault's frame has RF set (SDM 18.3.1.1); the handler runs without */
	assert_int_equal(et_mem64(&fx, r.r15 + 16) & (1u << 16), 1u << 16);
	assert_int_equal(r.rflags & (1u << 16), 0);
	fx_destroy(&fx);
}

EMU_GUEST64(g_int3, "nop\n int3");

/* INT3 is a trap: no RF in its frame. */
static void test_trap_frame_has_no_rf(void **state)
{
	emu_fx fx;
	vmm_regs r;

	sys_setup(&fx, g_int3, EMU_LEN(g_int3));
	r = to_handler(&fx);
	assert_int_equal(et_mem64(&fx, r.r15), FX_CODE + 2);        /* after int3 */
	assert_int_equal(et_mem64(&fx, r.r15 + 16) & (1u << 16), 0);
	fx_destroy(&fx);
}

EMU_GUEST64(g_pf, "mov $0x40000008, %rbx\n movl $1, (%rbx)");

static void test_page_fault_code_and_cr2(void **state)
{
	emu_fx fx;
	vmm_regs r;

	sys_setup(&fx, g_pf, EMU_LEN(g_pf));
	r = to_handler(&fx);
	assert_int_equal(r.r14, 0x40000008);                        /* CR2 */
	assert_int_equal(et_mem64(&fx, r.r15), 2);                  /* write, not present */
	assert_int_equal(et_mem64(&fx, r.r15 + 8), FX_CODE + 7);
	fx_destroy(&fx);
}

EMU_GUEST64(g_gp, "mov $0x800000000000, %rax\n mov (%rax), %rbx");
EMU_GUEST64(g_de, "xor %ecx, %ecx\n div %ecx");

static void test_gp_and_de(void **state)
{
	emu_fx fx;
	vmm_regs r;

	sys_setup(&fx, g_gp, EMU_LEN(g_gp));
	r = to_handler(&fx);
	assert_int_equal(et_mem64(&fx, r.r15), 0);                  /* #GP(0) */
	assert_int_equal(et_mem64(&fx, r.r15 + 8), FX_CODE + 10);
	fx_destroy(&fx);
	sys_setup(&fx, g_de, EMU_LEN(g_de));
	r = to_handler(&fx);
	assert_int_equal(r.r15, 0x4000000 - 40);                    /* no error code */
	assert_int_equal(et_mem64(&fx, r.r15), FX_CODE + 2);
	fx_destroy(&fx);
}

/* A software CPU does not speculate: CPUID.7.EDX advertises SPEC_CTRL and
 * ARCH_CAPABILITIES, which has every *_NO bit (arch/x86/msr.c); SPEC_CTRL
 * keeps IBRS and refuses other bits, PRED_CMD is write-only, and
 * ARCH_CAPABILITIES is read-only. */
EMU_GUEST64(g_spec, "mov $7, %eax\n xor %ecx, %ecx\n cpuid\n mov %rdx, %r8\n"
		"mov $0x10a, %ecx\n rdmsr\n shl $32, %rdx\n or %rax, %rdx\n mov %rdx, %r9\n"
		"mov $0x48, %ecx\n mov $1, %eax\n xor %edx, %edx\n wrmsr\n rdmsr\n"
		"mov %rax, %r10\n mov $0x49, %ecx\n wrmsr\n mov $0x48, %ecx\n mov $2, %eax\n"
		"wrmsr");
EMU_GUEST64(g_pred_cmd_read, "mov $0x49, %ecx\n rdmsr");
EMU_GUEST64(g_arch_cap_write, "mov $0x10a, %ecx\n xor %eax, %eax\n xor %edx, %edx\n wrmsr");
/* MCG_CAP reads 0 banks (rax was all ones), MC0_CTL then raises #GP */
EMU_GUEST64(g_mcg_cap, "mov $-1, %rax\n mov $0x179, %ecx\n rdmsr\n mov %rax, %r8\n"
	    "mov $0x400, %ecx\n rdmsr");
EMU_GUEST64(g_mcg_cap_write, "mov $0x179, %ecx\n xor %eax, %eax\n xor %edx, %edx\n wrmsr");

static void test_speculation_msrs(void **state)
{
	emu_fx fx;
	vmm_regs r;

	sys_setup(&fx, g_spec, EMU_LEN(g_spec));
	r = to_handler(&fx);
	assert_int_equal(r.r8 & ((1u << 26) | (1u << 29)), (1u << 26) | (1u << 29));
	assert_int_equal(r.r9, 0x400000000d10e17bull);   /* RDCL_NO ... ITS_NO */
	assert_int_equal(r.r10, 1);                      /* IBRS kept */
	assert_int_equal(r.rcx, 0x48);                   /* #GP: SPEC_CTRL bit 1 */
	assert_int_equal(r.rax, 2);
	assert_int_equal(et_mem64(&fx, r.r15), 0);
	fx_destroy(&fx);
	sys_setup(&fx, g_pred_cmd_read, EMU_LEN(g_pred_cmd_read));
	r = to_handler(&fx);
	assert_int_equal(et_mem64(&fx, r.r15 + 8), FX_CODE + 5);   /* #GP at RDMSR */
	fx_destroy(&fx);
	sys_setup(&fx, g_arch_cap_write, EMU_LEN(g_arch_cap_write));
	r = to_handler(&fx);
	assert_int_equal(et_mem64(&fx, r.r15 + 8), FX_CODE + 9);   /* #GP at WRMSR */
	fx_destroy(&fx);
}

static void test_machine_check_msrs(void **state)
{
	emu_fx fx;
	vmm_regs r;

	sys_setup(&fx, g_mcg_cap, EMU_LEN(g_mcg_cap));
	r = to_handler(&fx);
	assert_int_equal(r.r8, 0);                                 /* no banks */
	assert_int_equal(et_mem64(&fx, r.r15 + 8), FX_CODE + 22);  /* #GP: MC0_CTL */
	fx_destroy(&fx);
	sys_setup(&fx, g_mcg_cap_write, EMU_LEN(g_mcg_cap_write));
	r = to_handler(&fx);
	assert_int_equal(et_mem64(&fx, r.r15 + 8), FX_CODE + 9);   /* read-only */
	fx_destroy(&fx);
}

static void test_double_and_triple_fault(void **state)
{
	emu_fx fx;
	vmm_regs r;

	/* #UD's gate and #NP's gate not present: #UD -> #NP -> #NP = #DF. */
	sys_setup(&fx, g_ud, EMU_LEN(g_ud));
	gate(&fx, 6, HANDLER, 0, 0);
	gate(&fx, 11, HANDLER, 0, 0);
	r = to_handler(&fx);
	assert_int_equal(et_mem64(&fx, r.r15), 0);                  /* #DF error code */
	assert_int_equal(et_mem64(&fx, r.r15 + 8), FX_CODE + 1);
	fx_destroy(&fx);
	/* ... and with #DF's gate missing too: shutdown. */
	sys_setup(&fx, g_ud, EMU_LEN(g_ud));
	gate(&fx, 6, HANDLER, 0, 0);
	gate(&fx, 11, HANDLER, 0, 0);
	gate(&fx, 8, HANDLER, 0, 0);
	et_run(&fx, VMM_EXIT_SHUTDOWN);
	fx_destroy(&fx);
}

/* Kernel: IRETQ to user code; user: SYSCALL (returns 77), INT 0x80. */
EMU_GUEST64(g_kernel, "mov $0xc0000081, %ecx\n xor %eax, %eax\n mov $0x00180008, %edx\n wrmsr\n"
		"mov $0xc0000082, %ecx\n mov $0x101200, %eax\n xor %edx, %edx\n wrmsr\n"
		"push $0x23\n push $0x3e00000\n push $0x202\n push $0x2b\n"
		"push $0x102000\n iretq");
EMU_GUEST64(g_user, "mov $5, %eax\n syscall\n mov %rax, %rbx\n mov %cs, %rcx\n int $0x80");
EMU_GUEST64(g_entry, "mov $77, %eax\n sysretq");
EMU_GUEST64(g_user_hlt, "hlt");

static void cpl3_setup(emu_fx *fx, const uint8_t *user, size_t len)
{
	vmm_sregs s;

	sys_setup(fx, g_kernel, EMU_LEN(g_kernel));
	assert_int_equal(vmm_mem_write(fx->vm, USER_CODE, user, len), 0);
	assert_int_equal(vmm_mem_write(fx->vm, SYSCALL_ENTRY, g_entry, EMU_LEN(g_entry)), 0);
	gate(fx, 0x80, HANDLER, 3, 1);
	assert_int_equal(vmm_vcpu_get_sregs(fx->vcpu, &s), 0);
	s.efer |= 1;                                            /* SCE */
	assert_int_equal(vmm_vcpu_set_sregs(fx->vcpu, &s), 0);
}

static void test_user_mode_syscall_and_int(void **state)
{
	emu_fx fx;
	vmm_regs r;
	vmm_sregs s;

	cpl3_setup(&fx, g_user, EMU_LEN(g_user));
	r = to_handler(&fx);
	assert_int_equal(r.rbx, 77);
	assert_int_equal(r.rcx, 0x2b);
	assert_int_equal(r.r15, 0x3f00000 - 40);                     /* TSS RSP0 */
	assert_int_equal(et_mem64(&fx, r.r15), USER_CODE + EMU_LEN(g_user));
	assert_int_equal(et_mem64(&fx, r.r15 + 8), 0x2b);
	assert_int_equal(et_mem64(&fx, r.r15 + 24), 0x3e00000);
	assert_int_equal(et_mem64(&fx, r.r15 + 32), 0x23);
	assert_int_equal(vmm_vcpu_get_sregs(fx.vcpu, &s), 0);
	assert_int_equal(s.cs.selector, 0x08);
	assert_int_equal(s.ss.selector, 0);
	fx_destroy(&fx);
}

/* VERR/VERW: ZF from the descriptor's type, DPL against CPL and RPL;
 * null, system and out-of-table selectors clear ZF without faulting. */
EMU_GUEST64(g_verw,
	"xor %ebx, %ebx\n xor %ecx, %ecx\n xor %edx, %edx\n"
	"xor %esi, %esi\n xor %edi, %edi\n xor %r8d, %r8d\n xor %r9d, %r9d\n"
	"mov $0x10, %ax\n verw %ax\n setz %bl\n"      /* writable data: 1 */
	"mov $0x08, %ax\n verw %ax\n setz %cl\n"      /* code: not writable */
	"mov $0x18, %ax\n verr %ax\n setz %dl\n"      /* readable code: 1 */
	"mov $0x30, %ax\n verr %ax\n setz %sil\n"     /* the TSS: system */
	"mov $0x00, %ax\n verr %ax\n setz %dil\n"     /* null */
	"mov $0x100, %ax\n verw %ax\n setz %r8b\n"    /* past the GDT */
	"mov $0x13, %ax\n verw %ax\n setz %r9b\n"     /* RPL 3 > DPL 0 */
	"hlt");

static void test_verr_verw(void **state)
{
	emu_fx fx;
	vmm_regs r;

	sys_setup(&fx, g_verw, EMU_LEN(g_verw));
	et_run(&fx, VMM_EXIT_HLT);
	r = fx_regs(&fx);
	assert_int_equal(r.rbx, 1);
	assert_int_equal(r.rcx, 0);
	assert_int_equal(r.rdx, 1);
	assert_int_equal(r.rsi, 0);
	assert_int_equal(r.rdi, 0);
	assert_int_equal(r.r8, 0);
	assert_int_equal(r.r9, 0);
	fx_destroy(&fx);
}

static void test_user_mode_hlt_is_gp(void **state)
{
	emu_fx fx;
	vmm_regs r;

	cpl3_setup(&fx, g_user_hlt, EMU_LEN(g_user_hlt));
	r = to_handler(&fx);
	assert_int_equal(et_mem64(&fx, r.r15), 0);                  /* #GP(0) */
	assert_int_equal(et_mem64(&fx, r.r15 + 8), USER_CODE);
	fx_destroy(&fx);
}

/* ---- Call gates ----------------------------------------------------------------- */

/* Writes a call gate at GDT + off (64-bit: 16 bytes; else 8) and extends
 * the GDT limit over it. */
static void call_gate(emu_fx *fx, unsigned off, uint64_t target, uint16_t sel, unsigned dpl,
		      unsigned params, int wide)
{
	uint64_t g[2] = { (target & 0xffff) | ((uint64_t)sel << 16) | ((uint64_t)params << 32) |
			  (0xcull << 40) | ((uint64_t)dpl << 45) | (1ull << 47) |
			  ((target & 0xffff0000ull) << 32), target >> 32 };
	vmm_sregs s;

	assert_int_equal(vmm_mem_write(fx->vm, GDT + off, g, wide ? 16 : 8), 0);
	assert_int_equal(vmm_vcpu_get_sregs(fx->vcpu, &s), 0);
	s.gdt.limit = (uint16_t)(off + (wide ? 15 : 7));
	assert_int_equal(vmm_vcpu_set_sregs(fx->vcpu, &s), 0);
}

/* User code: LCALL through a DPL 3 64-bit call gate to CPL 0 code. */
EMU_GUEST64(g_user_lcall, "movl $0, 0x3dff000\n movw $0x43, 0x3dff004\n lcall *0x3dff000");

static void test_call_gate_64_to_cpl0(void **state)
{
	emu_fx fx;
	vmm_regs r;
	vmm_sregs s;

	cpl3_setup(&fx, g_user_lcall, EMU_LEN(g_user_lcall));
	call_gate(&fx, 0x40, HANDLER, 0x08, 3, 0, 1);
	r = to_handler(&fx);
	assert_int_equal(r.r15, 0x3f00000 - 32);                  /* TSS RSP0, 4 quadwords */
	assert_int_equal(et_mem64(&fx, r.r15), USER_CODE + EMU_LEN(g_user_lcall));
	assert_int_equal(et_mem64(&fx, r.r15 + 8), 0x2b);
	assert_int_equal(et_mem64(&fx, r.r15 + 16), 0x3e00000);
	assert_int_equal(et_mem64(&fx, r.r15 + 24), 0x23);
	assert_int_equal(vmm_vcpu_get_sregs(fx.vcpu, &s), 0);
	assert_int_equal(s.cs.selector, 0x08);
	assert_int_equal(s.ss.selector, 0);
	fx_destroy(&fx);
	/* a DPL 0 gate is out of reach from CPL 3: #GP(gate selector) */
	cpl3_setup(&fx, g_user_lcall, EMU_LEN(g_user_lcall));
	call_gate(&fx, 0x40, HANDLER, 0x08, 0, 0, 1);
	r = to_handler(&fx);
	assert_int_equal(et_mem64(&fx, r.r15), 0x40);              /* error code */
	assert_int_equal(et_mem64(&fx, r.r15 + 8), USER_CODE + EMU_LEN(g_user_lcall) - 7);
	fx_destroy(&fx);
}

/* ---- 32-bit protected mode ------------------------------------------------------ */

static void protected_mode(emu_fx *fx, uint64_t cr0, uint64_t cr3, uint64_t cr4)
{
	vmm_sregs s;
	vmm_regs r;

	assert_int_equal(vmm_mem_write(fx->vm, GDT, gdt, sizeof(gdt)), 0);
	assert_int_equal(vmm_vcpu_get_sregs(fx->vcpu, &s), 0);
	fx_flat_seg(&s.cs, 0x18, 0xb, 0);
	fx_flat_seg(&s.ds, 0x10, 0x3, 0);
	s.es = s.ss = s.fs = s.gs = s.ds;
	s.ds.base = 0x10000;
	s.gdt.base = GDT;
	s.gdt.limit = sizeof(gdt) - 1;
	s.cr0 = cr0;
	s.cr3 = cr3;
	s.cr4 = cr4;
	s.efer = 0;
	assert_int_equal(vmm_vcpu_set_sregs(fx->vcpu, &s), 0);
	r = fx_regs(fx);
	r.rsp = 0x80000;
	assert_int_equal(vmm_vcpu_set_regs(fx->vcpu, &r), 0);
}

EMU_GUEST32(g_pm, "mov $5, %eax\n add %eax, %eax\n push %eax\n pop %ebx\n"
		"movl $0x1234, 0x100\n mov %ss:0x10100, %ecx\n hlt");
EMU_GUEST32(g_paged, "mov $0xc0000010, %esi\n movl $0xabcd, %es:(%esi)\n hlt");

static void test_protected_mode_flat_and_based(void **state)
{
	emu_fx fx;
	vmm_regs r;
	uint32_t v = 0;

	et_setup(&fx, g_pm, EMU_LEN(g_pm));
	protected_mode(&fx, 0x11, 0, 0);
	et_run(&fx, VMM_EXIT_HLT);
	r = fx_regs(&fx);
	assert_int_equal(r.rax, 10);
	assert_int_equal(r.rbx, 10);
	assert_int_equal(r.rcx, 0x1234);                           /* via DS base 0x10000 */
	assert_int_equal(vmm_mem_read(fx.vm, 0x10100, &v, 4), 0);
	assert_int_equal(v, 0x1234);
	fx_destroy(&fx);
}

/* ---- Task switches (32- and 16-bit TSS) ------------------------------------------------ */

#define TSS_A 0x9000ull
#define TSS_B 0x9100ull
#define CODE_B 0x100100ull

/* Task A: LCALL through the task gate 0x50 to task B, then HLT. Task B:
 * reads its EFLAGS (NT set) and returns with IRET (NT: back to A). */
EMU_GUEST32(g_task_a, "mov $0xaaaa, %eax\n lcall $0x50, $0\n hlt");
EMU_GUEST32(g_task_b, "mov $0x2222, %ebx\n pushf\n pop %edx\n iret");

static uint64_t tss_desc32(uint64_t base, int busy)
{
	return 0x67 | ((base & 0xffffff) << 16) | ((busy ? 0xbull : 0x9ull) << 40) |
	       (1ull << 47) | ((base >> 24) << 56);
}

static uint32_t mem32(emu_fx *fx, uint64_t gpa)
{
	uint32_t v = 0;

	assert_int_equal(vmm_mem_read(fx->vm, gpa, &v, 4), 0);
	return v;
}

static void test_task_switch_call_and_iret(void **state)
{
	uint64_t ext[3] = { tss_desc32(TSS_A, 1), tss_desc32(TSS_B, 0),
			    (0x48ull << 16) | (0x5ull << 40) | (1ull << 47) };   /* task gate */
	uint32_t b[26] = { 0 };
	emu_fx fx;
	vmm_sregs s;
	vmm_regs r;

	et_setup(&fx, g_task_a, EMU_LEN(g_task_a));
	protected_mode(&fx, 0x11, 0, 0);
	assert_int_equal(vmm_mem_write(fx.vm, CODE_B, g_task_b, EMU_LEN(g_task_b)), 0);
	assert_int_equal(vmm_mem_write(fx.vm, GDT + 0x40, ext, sizeof(ext)), 0);
	b[8] = CODE_B;                          /* EIP */
	b[9] = 0x2;                             /* EFLAGS */
	b[14] = 0x70000;                        /* ESP */
	b[18] = b[20] = b[21] = b[22] = b[23] = 0x10;   /* ES SS DS FS GS */
	b[19] = 0x18;                           /* CS */
	assert_int_equal(vmm_mem_write(fx.vm, TSS_B, b, sizeof(b)), 0);
	assert_int_equal(vmm_vcpu_get_sregs(fx.vcpu, &s), 0);
	s.gdt.limit = 0x57;
	s.ds.base = 0;
	memset(&s.tr, 0, sizeof(s.tr));
	s.tr.selector = 0x40;
	s.tr.base = TSS_A;
	s.tr.limit = 0x67;
	s.tr.type = 0xb;
	s.tr.present = 1;
	assert_int_equal(vmm_vcpu_set_sregs(fx.vcpu, &s), 0);
	et_run(&fx, VMM_EXIT_HLT);
	r = fx_regs(&fx);
	assert_int_equal(r.rax, 0xaaaa);                 /* A's state came back */
	assert_int_equal(r.rbx, 0);
	assert_int_equal(r.rip, FX_CODE + EMU_LEN(g_task_a));
	assert_int_equal(r.rflags & 0x4000, 0);          /* A runs without NT */
	assert_int_equal(mem32(&fx, TSS_B), 0x40);       /* back link */
	assert_int_equal(mem32(&fx, TSS_B + 52), 0x2222);           /* B's EBX saved */
	assert_int_equal(mem32(&fx, TSS_B + 48) & 0x4000, 0x4000);  /* B ran with NT */
	assert_int_equal(mem32(&fx, TSS_B + 32), CODE_B + EMU_LEN(g_task_b));
	assert_int_equal(mem32(&fx, TSS_A + 32), FX_CODE + EMU_LEN(g_task_a) - 1);
	assert_int_equal(mem32(&fx, TSS_A + 40), 0xaaaa);           /* A's EAX saved */
	assert_int_equal((mem32(&fx, GDT + 0x4c) >> 8) & 0xf, 0x9);  /* B available again */
	assert_int_equal((mem32(&fx, GDT + 0x44) >> 8) & 0xf, 0xb);  /* A busy */
	assert_int_equal(vmm_vcpu_get_sregs(fx.vcpu, &s), 0);
	assert_int_equal(s.tr.selector, 0x40);
	assert_int_equal(s.cr0 & 8, 8);                  /* CR0.TS */
	fx_destroy(&fx);
}

/* A 32-bit task calls a task with a 16-bit TSS (type 1, limit 0x2b) through
 * a task gate: the upper words of its general registers are 0xffff (so it
 * sets ESP for its 32-bit stack segment), FS/GS null, and its IRET (NT)
 * saves IP, FLAGS (NT cleared) and the low words into the 16-bit TSS and
 * returns to A. */
#define TSS16 0x9200ull
#define CODE16 0xa000ull
EMU_GUEST32(g_task16, "mov %eax, 0x300\n mov %esp, 0x30c\n mov $0x7000, %esp\n"
		"mov $0x2222, %bx\n pushf\n pop %edx\n"
		"mov %edx, 0x304\n mov %fs, %ecx\n mov %ecx, 0x308\n iret");

static void test_task_switch_16bit_tss(void **state)
{
	uint64_t ext[3] = { tss_desc32(TSS_A, 1),
			    0x2b | ((TSS16 & 0xffffff) << 16) | (0x1ull << 40) | (1ull << 47),
			    (0x48ull << 16) | (0x5ull << 40) | (1ull << 47) };   /* task gate */
	uint16_t b[22] = { 0 };
	emu_fx fx;
	vmm_sregs s;
	vmm_regs r;
	uint16_t w = 0;

	et_setup(&fx, g_task_a, EMU_LEN(g_task_a));
	protected_mode(&fx, 0x11, 0, 0);
	assert_int_equal(vmm_mem_write(fx.vm, CODE16, g_task16, EMU_LEN(g_task16)), 0);
	assert_int_equal(vmm_mem_write(fx.vm, GDT + 0x40, ext, sizeof(ext)), 0);
	b[7] = (uint16_t)CODE16;                /* IP */
	b[8] = 0x2;                             /* FLAGS */
	b[9] = 0x1111;                          /* AX */
	b[13] = 0x7000;                         /* SP */
	b[17] = b[19] = b[20] = 0x10;           /* ES SS DS */
	b[18] = 0x18;                           /* CS */
	assert_int_equal(vmm_mem_write(fx.vm, TSS16, b, sizeof(b)), 0);
	assert_int_equal(vmm_vcpu_get_sregs(fx.vcpu, &s), 0);
	s.gdt.limit = 0x57;
	s.ds.base = 0;
	memset(&s.tr, 0, sizeof(s.tr));
	s.tr.selector = 0x40;
	s.tr.base = TSS_A;
	s.tr.limit = 0x67;
	s.tr.type = 0xb;
	s.tr.present = 1;
	assert_int_equal(vmm_vcpu_set_sregs(fx.vcpu, &s), 0);
	et_run(&fx, VMM_EXIT_HLT);
	r = fx_regs(&fx);
	assert_int_equal(r.rax, 0xaaaa);                 /* A's state came back */
	assert_int_equal(r.rip, FX_CODE + EMU_LEN(g_task_a));
	assert_int_equal(mem32(&fx, 0x300), 0xffff1111); /* B's EAX */
	assert_int_equal(mem32(&fx, 0x304) & 0x4000, 0x4000);   /* B ran with NT */
	assert_int_equal(mem32(&fx, 0x308), 0);          /* FS null */
	assert_int_equal(mem32(&fx, 0x30c), 0xffff7000); /* B's ESP: upper word ones */
	assert_int_equal(vmm_mem_read(fx.vm, TSS16, &w, 2), 0);
	assert_int_equal(w, 0x40);                       /* back link */
	assert_int_equal(vmm_mem_read(fx.vm, TSS16 + 14, &w, 2), 0);
	assert_int_equal(w, CODE16 + EMU_LEN(g_task16)); /* IP after IRET */
	assert_int_equal(vmm_mem_read(fx.vm, TSS16 + 24, &w, 2), 0);
	assert_int_equal(w, 0x2222);                     /* BX */
	assert_int_equal(vmm_mem_read(fx.vm, TSS16 + 16, &w, 2), 0);
	assert_int_equal(w & 0x4000, 0);                 /* IRET cleared NT in the image */
	assert_int_equal(vmm_mem_read(fx.vm, TSS16 + 22, &w, 2), 0);
	assert_int_equal(w & 0x4000, 0x4000);            /* DX: PUSHF with NT */
	assert_int_equal((mem32(&fx, GDT + 0x4c) >> 8) & 0xf, 0x1);  /* B available again */
	assert_int_equal((mem32(&fx, GDT + 0x44) >> 8) & 0xf, 0xb);  /* A busy */
	fx_destroy(&fx);
}

static void test_32bit_paging_4m(void **state)
{
	emu_fx fx;
	uint32_t pde[2] = { 0x000083, 0x400083 }, v = 0;

	et_setup(&fx, g_paged, EMU_LEN(g_paged));
	assert_int_equal(vmm_mem_write(fx.vm, 0x9000, pde, 8), 0);          /* 0-8 MiB */
	assert_int_equal(vmm_mem_write(fx.vm, 0x9000 + 0x300 * 4, &pde[1], 4), 0);
	protected_mode(&fx, 0x80000011, 0x9000, 0x10);                       /* PG, PSE */
	et_run(&fx, VMM_EXIT_HLT);
	assert_int_equal(vmm_mem_read(fx.vm, 0x400010, &v, 4), 0);
	assert_int_equal(v, 0xabcd);
	fx_destroy(&fx);
}

static void test_pae_paging(void **state)
{
	emu_fx fx;
	uint32_t v = 0;

	et_setup(&fx, g_paged, EMU_LEN(g_paged));
	write64(&fx, 0xa000, 0xb000 | 1);                       /* PDPTE 0 */
	write64(&fx, 0xa000 + 3 * 8, 0xc000 | 1);              /* PDPTE 3 */
	write64(&fx, 0xb000, 0x83);                             /* 0-2 MiB */
	write64(&fx, 0xc000, 0xd000 | 3);                      /* 0xc0000000: a PT */
	write64(&fx, 0xd000, 0x123000 | 3);
	protected_mode(&fx, 0x80000011, 0xa000, 0x20);          /* PG, PAE */
	et_run(&fx, VMM_EXIT_HLT);
	assert_int_equal(vmm_mem_read(fx.vm, 0x123010, &v, 4), 0);
	assert_int_equal(v, 0xabcd);
	fx_destroy(&fx);
}

/* 32-bit code: PAE, CR3, EFER.LME, CR0.PG, far jump to 64-bit code. */
EMU_GUEST32(g_to_long, "mov %cr4, %eax\n or $0x20, %eax\n mov %eax, %cr4\n"
		"mov $0x1000, %eax\n mov %eax, %cr3\n mov $0xc0000080, %ecx\n rdmsr\n"
		"or $0x100, %eax\n wrmsr\n mov %cr0, %eax\n or $0x80000000, %eax\n"
		"mov %eax, %cr0\n ljmp $0x08, $0x100000 + 1f - g_to_long\n"
		".code64\n1: mov $0x123456789, %rax\n mov $0xc0000080, %ecx\n rdmsr\n hlt");

static void test_switch_to_long_mode(void **state)
{
	emu_fx fx;
	vmm_regs r;
	vmm_sregs s;

	et_setup(&fx, g_to_long, EMU_LEN(g_to_long));
	protected_mode(&fx, 0x11, 0, 0);
	et_run(&fx, VMM_EXIT_HLT);
	r = fx_regs(&fx);
	assert_int_equal(r.rip, FX_CODE + EMU_LEN(g_to_long));
	assert_int_equal(r.rax, 0x500);                              /* EFER: LME | LMA */
	assert_int_equal(vmm_vcpu_get_sregs(fx.vcpu, &s), 0);
	assert_int_equal(s.cs.selector, 0x08);
	assert_int_equal(s.cs.l, 1);
	assert_int_equal(s.efer & 0x500, 0x500);
	fx_destroy(&fx);
}

#define EMU_GUEST16(name, text) EMU_GUEST(name, ".code16", text)

EMU_GUEST16(g_real, "mov $0x9000, %ax\n mov %ax, %ds\n movb $0x11, (0x10)\n mov $0x1234, %bx\n"
		"push %bx\n pop %cx\n xor %ax, %ax\n mov %ax, %es\n movw $0x1200, %es:(0x80*4)\n"
		"movw $0, %es:(0x80*4+2)\n int $0x80\n mov $0x5678, %edx\n ljmp $0x0200, $0x0030");
EMU_GUEST16(g_real_isr, "mov $0x42, %si\n iret");
EMU_GUEST16(g_real_far, "mov $0x77, %di\n hlt");

static void test_real_mode(void **state)
{
	emu_fx fx;
	vmm_sregs s;
	vmm_regs r;
	uint8_t b = 0;

	et_setup(&fx, g_real_far, 0);
	assert_int_equal(vmm_mem_write(fx.vm, 0x1000, g_real, EMU_LEN(g_real)), 0);
	assert_int_equal(vmm_mem_write(fx.vm, 0x1200, g_real_isr, EMU_LEN(g_real_isr)), 0);
	assert_int_equal(vmm_mem_write(fx.vm, 0x2030, g_real_far, EMU_LEN(g_real_far)), 0);
	vmm__x86_reset_state(&r, &s);
	s.cs.selector = 0;
	s.cs.base = 0;
	r.rip = 0x1000;
	r.rsp = 0x8000;
	assert_int_equal(vmm_vcpu_set_sregs(fx.vcpu, &s), 0);
	assert_int_equal(vmm_vcpu_set_regs(fx.vcpu, &r), 0);
	et_run(&fx, VMM_EXIT_HLT);
	r = fx_regs(&fx);
	assert_int_equal(vmm_vcpu_get_sregs(fx.vcpu, &s), 0);
	assert_int_equal(r.rcx, 0x1234);
	assert_int_equal(r.rsi, 0x42);                 /* the ISR ran and returned */
	assert_int_equal(r.rdx, 0x5678);
	assert_int_equal(r.rdi, 0x77);
	assert_int_equal(r.rsp, 0x8000);
	assert_int_equal(r.rip, 0x34);
	assert_int_equal(s.cs.selector, 0x200);
	assert_int_equal(s.cs.base, 0x2000);
	assert_int_equal(vmm_mem_read(fx.vm, 0x90010, &b, 1), 0);
	assert_int_equal(b, 0x11);
	fx_destroy(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ud_frame),
		cmocka_unit_test(test_trap_frame_has_no_rf),
		cmocka_unit_test(test_page_fault_code_and_cr2),
		cmocka_unit_test(test_gp_and_de),
		cmocka_unit_test(test_speculation_msrs),
		cmocka_unit_test(test_machine_check_msrs),
		cmocka_unit_test(test_double_and_triple_fault),
		cmocka_unit_test(test_user_mode_syscall_and_int),
		cmocka_unit_test(test_user_mode_hlt_is_gp),
		cmocka_unit_test(test_verr_verw),
		cmocka_unit_test(test_protected_mode_flat_and_based),
		cmocka_unit_test(test_32bit_paging_4m),
		cmocka_unit_test(test_pae_paging),
		cmocka_unit_test(test_switch_to_long_mode),
		cmocka_unit_test(test_real_mode),
		cmocka_unit_test(test_call_gate_64_to_cpl0),
		cmocka_unit_test(test_task_switch_call_and_iret),
		cmocka_unit_test(test_task_switch_16bit_tss),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
