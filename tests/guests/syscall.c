/* syscall.c - fast system calls between CPL 3 and CPL 0 in long mode:
 * - SYSCALL with EFER.SCE clear: #UD;
 * - SYSRET (64-bit) into user code, which makes SYSCALLs: the kernel entry
 *   (LSTAR) switches stacks with SWAPGS (KERNEL_GS_BASE = per-CPU data), sees
 *   CS 0x08 / SS 0x10 (STAR[47:32]), RCX = the return address, R11 = the
 *   user RFLAGS, and RFLAGS with the SFMASK bits (DF, AC) cleared; user
 *   code runs with CS 0x2b / SS 0x23 (STAR[63:48] + 16 / + 8) and the
 *   RFLAGS SYSRET took from R11;
 * - SYSRET with 32-bit operand size into compatibility mode (CS 0x1b),
 *   whose code comes back with INT 0x40 through a DPL 3 gate (stack switch
 *   to TSS.RSP0, frame CS 0x1b / SS 0x23);
 * - Intel only (AMD has neither in long mode: a note there): SYSENTER from
 *   64-bit user code (CS 0x08, SS 0x10, RSP = SYSENTER_ESP, IF cleared) and
 *   SYSEXIT (REX.W) back (CS 0x2b, SS 0x33, RIP = RDX, RSP = RCX); SYSRET
 *   with a non-canonical RCX raises #GP(0) at CPL 0.
 * Expected end: debug exit 0; a failed CHECK exits 1. */
#include "common.h"
#include "idt.h"
#include "ring.h"

#define MSR_EFER 0xc0000080u
#define MSR_STAR 0xc0000081u
#define MSR_LSTAR 0xc0000082u
#define MSR_SFMASK 0xc0000084u
#define MSR_KERNEL_GS_BASE 0xc0000102u
#define MSR_SYSENTER_CS 0x174u
#define MSR_SYSENTER_ESP 0x175u
#define MSR_SYSENTER_EIP 0x176u
#define FL_DF 0x400ull
#define FL_AC 0x40000ull
#define FL_IF 0x200ull

struct percpu {
	uint64_t kstack, ustack;
};

static struct percpu pcpu;
static uint8_t entry_stack[4096] __attribute__((aligned(16)));
static uint8_t user_stack[4096] __attribute__((aligned(16)));
volatile uint64_t saved_krsp, k_count, k_rcx, k_r11, k_cs, k_ss, k_rflags, k_rsp;
volatile uint64_t u_res[4], u_cs, u_ss, u_rflags, u_rsp;
volatile uint64_t s_cs, s_ss, s_rsp, s_rflags;

/* enter_user(rip, rsp, rflags, compat): SYSRET to user code; returns when
 * the user code makes system call 99 (or INT 0x40 from compat mode). */
__asm__(".text\n"
	".globl enter_user\n"
	"enter_user:\n"
	"	push %rbx\n	push %rbp\n	push %r12\n	push %r13\n	push %r14\n	push %r15\n"
	"	mov %rsp, saved_krsp(%rip)\n"
	"	mov %rdx, %r11\n"
	"	mov %rcx, %rax\n"
	"	mov %rdi, %rcx\n"
	"	mov %rsi, %rsp\n"
	"	test %rax, %rax\n"
	"	jnz 1f\n"
	"	sysretq\n"
	"1:	sysretl\n"
	"back_to_kernel:\n"
	"	mov saved_krsp(%rip), %rsp\n"
	"	pop %r15\n	pop %r14\n	pop %r13\n	pop %r12\n	pop %rbp\n	pop %rbx\n"
	"	ret\n"
	/* SYSCALL entry: RAX = 99 leaves user mode, else returns RAX * 2 */
	"syscall_entry:\n"
	"	swapgs\n"
	"	mov %rsp, %gs:8\n"
	"	mov %gs:0, %rsp\n"
	"	mov %rcx, k_rcx(%rip)\n"
	"	mov %r11, k_r11(%rip)\n"
	"	mov %cs, %rcx\n	mov %rcx, k_cs(%rip)\n"
	"	mov %ss, %rcx\n	mov %rcx, k_ss(%rip)\n"
	"	pushfq\n	popq k_rflags(%rip)\n"
	"	incq k_count(%rip)\n"
	"	mov k_rcx(%rip), %rcx\n"
	"	cmp $99, %rax\n"
	"	jne 2f\n"
	"	swapgs\n"
	"	jmp back_to_kernel\n"
	"2:	add %rax, %rax\n"
	"	mov %gs:8, %rsp\n"
	"	swapgs\n"
	"	sysretq\n"
	/* SYSENTER entry: returns RAX * 2 with SYSEXIT (64-bit) */
	"sysenter_entry:\n"
	"	mov %cs, %rbx\n	mov %rbx, s_cs(%rip)\n"
	"	mov %ss, %rbx\n	mov %rbx, s_ss(%rip)\n"
	"	mov %rsp, s_rsp(%rip)\n"
	"	pushfq\n	popq s_rflags(%rip)\n"
	"	incq k_count(%rip)\n"
	"	add %rax, %rax\n"
	"	rex64 sysexit\n"
	/* INT 0x40 from compatibility mode: record the frame, leave user mode */
	"int40_entry:\n"
	"	mov 8(%rsp), %rbx\n	mov %rbx, k_cs(%rip)\n"
	"	mov 32(%rsp), %rbx\n	mov %rbx, k_ss(%rip)\n"
	"	mov %rsp, k_rsp(%rip)\n"
	"	mov %rax, u_res(%rip)\n"
	"	jmp back_to_kernel\n"
	/* 64-bit user code */
	".globl user64, user_sysenter\n"
	"user64:\n"
	"	mov $1, %eax\n	syscall\n"
	"	mov %rax, u_res(%rip)\n"
	"	mov $21, %eax\n	syscall\n	mov %rax, u_res+8(%rip)\n"
	"	std\n	mov $5, %eax\n	syscall\n	cld\n	mov %rax, u_res+16(%rip)\n"
	"	mov %cs, %rax\n	mov %rax, u_cs(%rip)\n"
	"	mov %ss, %rax\n	mov %rax, u_ss(%rip)\n"
	"	pushfq\n	popq u_rflags(%rip)\n"
	"	mov $99, %eax\n	syscall\n"
	".globl after_exit\n"
	"after_exit:\n"
	"	ud2\n"
	"user_sysenter:\n"
	"	mov $4, %eax\n"
	"	lea 3f(%rip), %rdx\n"
	"	mov %rsp, %rcx\n"
	"	sysenter\n"
	"3:	mov %rax, u_res(%rip)\n"
	"	mov %cs, %rax\n	mov %rax, u_cs(%rip)\n"
	"	mov %ss, %rax\n	mov %rax, u_ss(%rip)\n"
	"	mov %rsp, u_rsp(%rip)\n"
	"	mov $99, %eax\n	syscall\n"
	/* compatibility-mode user code */
	".code32\n"
	".globl user32\n"
	"user32:\n"
	"	mov $7, %eax\n"
	"	add $0x30, %eax\n"
	"	int $0x40\n"
	".code64\n");
extern void enter_user(uint64_t rip, uint64_t rsp, uint64_t rflags, uint64_t compat);
extern char syscall_entry[], sysenter_entry[], int40_entry[];
extern char user64[], after_exit[], user_sysenter[], user32[], gp_sysret[];

static uint64_t ustack_top(void)
{
	return (uint64_t)(user_stack + sizeof(user_stack));
}

static void syscall_sysret(void)
{
	k_count = 0;
	enter_user((uint64_t)user64, ustack_top(), FL_AC | 2, 0);
	CHECK_EQ(k_count, 4);
	CHECK_EQ(u_res[0], 2);
	CHECK_EQ(u_res[1], 42);
	CHECK_EQ(u_res[2], 10);
	CHECK_EQ(u_cs, SEL_UCODE64);
	CHECK_EQ(u_ss, SEL_UDATA);
	CHECK_EQ(u_rflags & (FL_AC | FL_DF | FL_IF | 0x3000), FL_AC);   /* from R11, CPL 3 */
	CHECK_EQ(k_cs, SEL_KCODE);
	CHECK_EQ(k_ss, SEL_KDATA);
	CHECK_EQ(k_rflags & (FL_AC | FL_DF), 0);     /* SFMASK */
	CHECK_EQ(k_r11 & (FL_AC | FL_DF), FL_AC);    /* the last call, DF clear again */
	CHECK_EQ(k_rcx, (uint64_t)after_exit);       /* RCX = the RIP after SYSCALL */
	printf("syscall: 64-bit round trips ok\n");
}

static void sysret_compat(void)
{
	u_res[0] = 0;
	enter_user((uint64_t)user32, ustack_top(), 2, 1);
	CHECK_EQ(u_res[0], 0x37);
	CHECK_EQ(k_cs, SEL_UCODE32);
	CHECK_EQ(k_ss, SEL_UDATA);
	CHECK_EQ(k_rsp, ring_tss.rsp[0] - 40);    /* RSP0, a 5-quadword frame */
	printf("syscall: sysret to compatibility mode ok\n");
}

static void syscall_without_sce(uint16_t cs)
{
	uint64_t efer = ring_rdmsr(MSR_EFER);

	exc_count = 0;
	ring_wrmsr(MSR_EFER, efer & ~1ull);
	EXC_TRIGGER("ud_syscall", "", "syscall", "i"(0));
	ring_wrmsr(MSR_EFER, efer);
	CHECK_EQ(exc_count, 1);
	CHECK_EQ(exc_vector, 6);
	CHECK_EQ(exc_cs, cs);
	printf("syscall: #UD without EFER.SCE ok\n");
}

static void intel_only(uint16_t cs)
{
	uint64_t kstack = (uint64_t)(entry_stack + sizeof(entry_stack)) - 64;

	ring_wrmsr(MSR_SYSENTER_CS, SEL_KCODE);
	ring_wrmsr(MSR_SYSENTER_ESP, kstack);
	ring_wrmsr(MSR_SYSENTER_EIP, (uint64_t)sysenter_entry);
	k_count = 0;
	enter_user((uint64_t)user_sysenter, ustack_top(), FL_IF | 2, 0);
	CHECK_EQ(k_count, 2);                       /* SYSENTER, then SYSCALL 99 */
	CHECK_EQ(u_res[0], 8);
	CHECK_EQ(u_cs, SEL_UCODE64);
	CHECK_EQ(u_ss, SEL_UDATA2);
	CHECK_EQ(u_rsp, ustack_top());
	CHECK_EQ(s_cs, SEL_KCODE);
	CHECK_EQ(s_ss, SEL_KDATA);
	CHECK_EQ(s_rsp, kstack);
	CHECK_EQ(s_rflags & FL_IF, 0);
	exc_count = 0;
	__asm__ volatile("lea 1f(%%rip), %%rax\n\tmov %%rax, exc_resume(%%rip)\n\t"
			 "mov $2, %%r11d\n\tmovabs $0x800000000000, %%rcx\n"
			 ".globl gp_sysret\ngp_sysret: sysretq\n1:"
			 : : : "rax", "rcx", "r11", "memory");
	CHECK_EQ(exc_count, 1);
	CHECK_EQ(exc_vector, 13);
	CHECK_EQ(exc_error, 0);
	CHECK_EQ(exc_rip, (uint64_t)gp_sysret);
	CHECK_EQ(exc_cs, cs);
}

int guest_main(uint32_t index, uint32_t count)
{
	uint32_t r[4];
	uint16_t cs;

	(void)index;
	(void)count;
	cs = idt_install();
	ring_setup();
	ring_set_gate(IDT_SOFT_VECTOR, int40_entry, 3, 0);
	pcpu.kstack = (uint64_t)(entry_stack + sizeof(entry_stack));
	ring_wrmsr(MSR_KERNEL_GS_BASE, (uint64_t)&pcpu);
	ring_wrmsr(MSR_EFER, ring_rdmsr(MSR_EFER) | 1);      /* SCE */
	ring_wrmsr(MSR_STAR, STAR_VALUE);
	ring_wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
	ring_wrmsr(MSR_SFMASK, FL_DF | FL_AC | FL_IF | 0x100);
	syscall_without_sce(cs);
	syscall_sysret();
	sysret_compat();
	cpuid(0, 0, r);
	if (r[1] == 0x756e6547)                              /* "Genu" */
		intel_only(cs);
	else
		guest_note("SYSENTER/SYSEXIT in long mode and SYSRET's #GP at CPL 0 are "
			   "Intel behaviour: not checked on this vendor");
	guest_pass("syscall");
}
