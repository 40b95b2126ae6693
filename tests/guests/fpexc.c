/* fpexc.c - the exceptions a kernel meets around the FPU and alignment
 * (Intel SDM vol. 3, 2.5 "Control Registers", 6.15 exception reference):
 * - CR0.TS: x87 (FLD1), SSE (ADDPS), FXSAVE and, with CR0.MP, WAIT raise
 *   #NM (a fault: saved RIP = the instruction); after CLTS they run;
 * - CR0.EM: x87 raises #NM, SSE #UD;
 * - CR4.OSFXSR clear: SSE raises #UD, x87 still runs;
 * - #AC: at CPL 3 with CR0.AM and RFLAGS.AC, a misaligned 4-byte load faults
 *   with error code 0; an aligned one does not, nor a misaligned one after
 *   POPF clears AC. (User code returns to the kernel with INT 0x40.)
 * Expected end: debug exit 0; a failed CHECK exits 1. */
#include "common.h"
#include "idt.h"
#include "ring.h"

#define CR0_MP (1ull << 1)
#define CR0_EM (1ull << 2)
#define CR0_TS (1ull << 3)
#define CR0_AM (1ull << 18)
#define CR4_OSFXSR (1ull << 9)

static uint8_t fxarea[512] __attribute__((aligned(16)));
static uint8_t user_stack[4096] __attribute__((aligned(16)));
static volatile uint32_t words[4] __attribute__((aligned(16)));
volatile uint64_t saved_krsp, ac_faults_seen, user_done;
extern char nm_fld[], nm_sse[], nm_fx[], nm_wait[], em_fld[], em_sse[], osfx_sse[];
extern char ac_load[], user_code[], int40_entry[];

static uint64_t get_cr0(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}

static void set_cr0(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}

static uint64_t get_cr4(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static void set_cr4(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}

static void expect(uint64_t count, uint64_t vector, void *rip)
{
	CHECK_EQ(exc_count, count);
	CHECK_EQ(exc_vector, vector);
	CHECK_EQ(exc_rip, (uint64_t)rip);
}

static void device_not_available(void)
{
	uint64_t cr0 = get_cr0();

	exc_count = 0;
	set_cr0(cr0 | CR0_TS | CR0_MP);
	EXC_TRIGGER("nm_fld", "", "fld1", "i"(0));
	expect(1, 7, nm_fld);
	EXC_TRIGGER("nm_sse", "", "addps %%xmm0, %%xmm0", "i"(0));
	expect(2, 7, nm_sse);
	EXC_TRIGGER("nm_fx", "", "fxsave (%0)", "r"(fxarea));
	expect(3, 7, nm_fx);
	EXC_TRIGGER("nm_wait", "", "fwait", "i"(0));
	expect(4, 7, nm_wait);
	__asm__ volatile("clts\n\tfld1\n\tfstp %%st(0)\n\taddps %%xmm0, %%xmm0\n\t"
			 "fxsave (%0)\n\tfwait" : : "r"(fxarea) : "memory");
	CHECK_EQ(exc_count, 4);
	printf("fpexc: #NM with CR0.TS, none after CLTS ok\n");

	set_cr0((cr0 | CR0_EM) & ~CR0_TS);
	EXC_TRIGGER("em_fld", "", "fld1", "i"(0));
	expect(5, 7, em_fld);
	EXC_TRIGGER("em_sse", "", "addps %%xmm0, %%xmm0", "i"(0));
	expect(6, 6, em_sse);
	set_cr0(cr0);
	printf("fpexc: CR0.EM: x87 #NM, SSE #UD ok\n");

	set_cr4(get_cr4() & ~CR4_OSFXSR);
	EXC_TRIGGER("osfx_sse", "", "addps %%xmm0, %%xmm0", "i"(0));
	expect(7, 6, osfx_sse);
	__asm__ volatile("fld1\n\tfstp %%st(0)" : : : "memory");
	set_cr4(get_cr4() | CR4_OSFXSR);
	CHECK_EQ(exc_count, 7);
	printf("fpexc: SSE without CR4.OSFXSR #UD ok\n");
}

/* enter_user(rip, rsp, rflags): IRETQ to CPL 3; returns when the user code
 * executes INT 0x40. */
__asm__(".text\n"
	"enter_user:\n"
	"	push %rbx\n	push %rbp\n	push %r12\n	push %r13\n	push %r14\n	push %r15\n"
	"	mov %rsp, saved_krsp(%rip)\n"
	"	pushq $0x23\n"
	"	push %rsi\n"
	"	push %rdx\n"
	"	pushq $0x2b\n"
	"	push %rdi\n"
	"	iretq\n"
	"int40_entry:\n"
	"	mov saved_krsp(%rip), %rsp\n"
	"	pop %r15\n	pop %r14\n	pop %r13\n	pop %r12\n	pop %rbp\n	pop %rbx\n"
	"	ret\n"
	/* user code: RBX = a misaligned address, RCX = an aligned one */
	"user_code:\n"
	"	lea 1f(%rip), %rax\n"
	"	mov %rax, exc_resume(%rip)\n"
	"	mov (%rcx), %eax\n"                  /* aligned: no #AC */
	"ac_load:\n"
	"	mov (%rbx), %eax\n"                  /* misaligned: #AC, resumes at 1 */
	"1:	mov exc_count(%rip), %rax\n"
	"	mov %rax, ac_faults_seen(%rip)\n"
	"	pushfq\n"
	"	andq $~0x40000, (%rsp)\n"
	"	popfq\n"
	"	mov (%rbx), %eax\n"                  /* AC clear: no #AC */
	"	movq $1, user_done(%rip)\n"
	"	int $0x40\n");
extern void enter_user(uint64_t rip, uint64_t rsp, uint64_t rflags);

static void alignment_check(uint16_t cs)
{
	uint64_t cr0 = get_cr0();

	exc_count = 0;
	set_cr0(cr0 | CR0_AM);
	{
		register uint64_t rbx __asm__("rbx") = (uint64_t)words + 1;
		register uint64_t rcx __asm__("rcx") = (uint64_t)words;
		register uint64_t rdi __asm__("rdi") = (uint64_t)user_code;
		register uint64_t rsi __asm__("rsi") = (uint64_t)(user_stack + sizeof(user_stack));
		register uint64_t rdx __asm__("rdx") = 0x40002ull;      /* RFLAGS: AC */

		__asm__ volatile("call enter_user"
				 : "+r"(rbx), "+r"(rcx), "+r"(rdi), "+r"(rsi), "+r"(rdx)
				 : : "rax", "r8", "r9", "r10", "r11", "memory", "cc");
	}
	set_cr0(cr0);
	(void)cs;
	CHECK_EQ(user_done, 1);
	CHECK_EQ(ac_faults_seen, 1);
	CHECK_EQ(exc_count, 1);
	CHECK_EQ(exc_vector, 17);
	CHECK_EQ(exc_error, 0);
	CHECK_EQ(exc_rip, (uint64_t)ac_load);
	CHECK_EQ(exc_cs, SEL_UCODE64);
	printf("fpexc: #AC at CPL 3 ok\n");
}

int guest_main(uint32_t index, uint32_t count)
{
	uint16_t cs;

	(void)index;
	(void)count;
	cs = idt_install();
	ring_setup();
	ring_set_gate(IDT_SOFT_VECTOR, int40_entry, 3, 0);
	device_not_available();
	alignment_check(cs);
	guest_pass("fpexc");
}
