/* tasks.c - hardware task switching in 32-bit protected mode (a Multiboot
 * v1 guest, paging off), as the Intel SDM vol. 3 chapter 7 describes it:
 * - CALL through a task gate runs task 1 with NT set and the back link =
 *   the caller's TSS; its IRET returns to the caller (NT clear there), and
 *   a second CALL resumes task 1 after its IRET; busy bits follow (the
 *   callee's is clear again after the IRET), CR0.TS is set;
 * - JMP to a TSS runs task 2 without NT or back link; task 2 JMPs back,
 *   which clears its busy bit;
 * - a double fault through a task gate (#GP whose IDT gate is not present:
 *   #NP while delivering it, both contributory): the #DF task runs with the
 *   error code 0 on its stack, back link = the faulting task, whose TSS
 *   holds the EIP of the faulting instruction. The #DF task ends the run.
 * Expected end: debug exit 0; a failed CHECK exits 1. */
#include "common.h"

#define MB_MAGIC 0x1badb002
#define SEL_TSS0 0x18
#define SEL_TSS1 0x20
#define SEL_GATE1 0x28
#define SEL_TSSDF 0x30
#define SEL_TSS2 0x38
#define FL_NT 0x4000u

struct tss32 {
	uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt, iomap;
};

struct tss32 tss0, tss1, tss2, tssdf;
static uint8_t stack1[4096] __attribute__((aligned(16)));
static uint8_t stack2[4096] __attribute__((aligned(16)));
static uint8_t stackdf[4096] __attribute__((aligned(16)));
uint8_t main_stack[8192] __attribute__((aligned(16)));
static uint64_t gdt[8] __attribute__((aligned(8)));
static uint64_t idt[32] __attribute__((aligned(8)));
volatile uint32_t task1_runs, task1_flags, task2_runs, task2_flags, df_err;

__asm__(".section .multiboot, \"a\"\n"
	".balign 4\n"
	".long 0x1badb002, 0, -0x1badb002\n"
	".section .text.entry, \"ax\"\n"
	".code32\n"
	".globl _start\n"
	"_start:\n"
	"	mov $main_stack + 8192, %esp\n"
	"	call tasks_main\n"
	"1:	hlt\n"
	"	jmp 1b\n"
	".text\n"
	"task1_entry:\n"
	"	incl task1_runs\n"
	"	pushf\n"
	"	popl task1_flags\n"
	"	iret\n"
	"	jmp task1_entry\n"
	"task2_entry:\n"
	"	incl task2_runs\n"
	"	pushf\n"
	"	popl task2_flags\n"
	"	ljmp $0x18, $0\n"
	"df_entry:\n"
	"	popl df_err\n"
	"	call df_main\n");
extern char task1_entry[], task2_entry[], df_entry[], gp_at[];
void tasks_main(void);
void df_main(void) __attribute__((noreturn));

static uint64_t tss_desc(struct tss32 *t)
{
	uint32_t b = (uint32_t)t;

	return (sizeof(*t) - 1) | ((uint64_t)(b & 0xffffff) << 16) | (0x89ull << 40) |
	       ((uint64_t)(b >> 24) << 56);
}

static void init_task(struct tss32 *t, void *entry, uint8_t *stack)
{
	memset(t, 0, sizeof(*t));
	t->eip = (uint32_t)entry;
	t->eflags = 0x2;
	t->esp = (uint32_t)(stack + 4096);
	t->cs = 0x08;
	t->es = t->ss = t->ds = t->fs = t->gs = 0x10;
	t->iomap = sizeof(*t);
}

static uint32_t desc_type(uint16_t sel)
{
	return (uint32_t)(gdt[sel >> 3] >> 40) & 0xf;
}

static void setup(void)
{
	struct {
		uint16_t limit;
		uint32_t base;
	} __attribute__((packed)) gdtr = { sizeof(gdt) - 1, (uint32_t)gdt },
				  idtr = { sizeof(idt) - 1, (uint32_t)idt };

	gdt[0] = 0;
	gdt[1] = 0x00cf9b000000ffffull;                    /* 0x08 code */
	gdt[2] = 0x00cf93000000ffffull;                    /* 0x10 data */
	gdt[3] = tss_desc(&tss0);
	gdt[4] = tss_desc(&tss1);
	gdt[5] = ((uint64_t)SEL_TSS1 << 16) | (0x85ull << 40);   /* task gate, DPL 0 */
	gdt[6] = tss_desc(&tssdf);
	gdt[7] = tss_desc(&tss2);
	init_task(&tss1, task1_entry, stack1);
	init_task(&tss2, task2_entry, stack2);
	init_task(&tssdf, df_entry, stackdf);
	tss0.iomap = sizeof(tss0);
	memset(idt, 0, sizeof(idt));
	idt[8] = ((uint64_t)SEL_TSSDF << 16) | (0x85ull << 40);   /* #DF: task gate */
	__asm__ volatile("lgdt %0\n\tlidt %1\n\t"
			 "ljmp $0x08, $1f\n1:\n\t"
			 "mov $0x10, %%eax\n\tmov %%eax, %%ds\n\tmov %%eax, %%es\n\t"
			 "mov %%eax, %%ss\n\tmov %%eax, %%fs\n\tmov %%eax, %%gs\n\t"
			 "mov $0x18, %%eax\n\tltr %%ax"
			 : : "m"(gdtr), "m"(idtr) : "eax", "memory");
}

static uint32_t eflags(void)
{
	uint32_t f;

	__asm__ volatile("pushf\n\tpop %0" : "=r"(f));
	return f;
}

static void call_task(void)
{
	uint32_t cr0;

	CHECK_EQ(desc_type(SEL_TSS0), 0xb);                 /* LTR made it busy */
	__asm__ volatile("lcall $0x28, $0" : : : "memory");
	CHECK_EQ(task1_runs, 1);
	CHECK_EQ(task1_flags & FL_NT, FL_NT);
	CHECK_EQ(tss1.link, SEL_TSS0);
	CHECK_EQ(eflags() & FL_NT, 0);
	CHECK_EQ(desc_type(SEL_TSS1), 0x9);                 /* IRET cleared it */
	CHECK_EQ(desc_type(SEL_TSS0), 0xb);
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	CHECK_EQ(cr0 & 8, 8);                               /* CR0.TS */
	__asm__ volatile("clts\n\tlcall $0x28, $0" : : : "memory");
	CHECK_EQ(task1_runs, 2);                            /* resumed after its IRET */
	printf("tasks: call through a task gate and iret back ok\n");
}

static void jmp_task(void)
{
	__asm__ volatile("ljmp $0x38, $0" : : : "memory");
	CHECK_EQ(task2_runs, 1);
	CHECK_EQ(task2_flags & FL_NT, 0);
	CHECK_EQ(tss2.link, 0);
	CHECK_EQ(desc_type(SEL_TSS2), 0x9);                 /* its JMP back cleared it */
	CHECK_EQ(desc_type(SEL_TSS0), 0xb);
	printf("tasks: jmp to a tss and back ok\n");
}

void df_main(void)
{
	CHECK_EQ(df_err, 0);
	CHECK_EQ(tssdf.link, SEL_TSS0);
	CHECK_EQ(eflags() & FL_NT, FL_NT);
	CHECK_EQ(tss0.eip, (uint32_t)gp_at);
	CHECK_EQ(desc_type(SEL_TSSDF), 0xb);
	printf("tasks: double fault through a task gate ok\n");
	guest_pass("tasks");
}

void tasks_main(void)
{
	setup();
	call_task();
	jmp_task();
	/* #GP (null SS), whose gate is not present: #NP, then #DF */
	__asm__ volatile("xor %%eax, %%eax\n\t.globl gp_at\ngp_at: mov %%eax, %%ss" : : : "eax");
	printf("tasks: no double fault\n");
	guest_exit(1);
}
