/* debugregs.c - debug exceptions (#DB, vector 1) at CPL 0 in long mode, as
 * the Intel SDM (vol. 3, chapter 17) describes them:
 * - single-step: with RFLAGS.TF set by POPF, a trap after every following
 *   instruction (none after the POPF that set TF, one after the POPF that
 *   clears it), saved RIP = the next instruction, DR6.BS;
 * - an instruction breakpoint (DR0, RW=00): a fault before the instruction
 *   (saved RIP = it, DR6.B0); the handler sets RF so it then runs;
 * - data breakpoints: a 4-byte write watchpoint (DR1) that reads do not
 *   hit, an 8-byte read/write watchpoint (DR2), a 1-byte one (DR3) that a
 *   write of the byte next to it misses: traps after the access, DR6.Bn;
 * - DR7.GD: MOV from DR0 faults with DR6.BD, and GD is clear in the handler;
 * - INT1 (ICEBP, F1): #DB with the saved RIP after it.
 * DR6 is compared in its status bits B0-B3, BD, BS (mask 0x600f).
 * Expected end: debug exit 0; a failed CHECK exits 1. */
#include "common.h"
#include "idt.h"

#define MAX_EVENTS 16
#define DR6_STATUS 0x600full

volatile uint64_t db_count, db_skip;
volatile uint64_t db_rip[MAX_EVENTS], db_dr6[MAX_EVENTS], db_dr7[MAX_EVENTS];
static volatile uint32_t wvar __attribute__((aligned(8)));
static volatile uint64_t rwvar __attribute__((aligned(8)));
static volatile uint8_t bytes[8] __attribute__((aligned(8)));

/* The #DB handler: records the saved RIP, DR6 and DR7, clears DR6, sets RF
 * in the saved RFLAGS (an instruction breakpoint then lets the instruction
 * run) and returns, to db_skip instead if that is set. */
__asm__(".text\n"
	"db_handler:\n"
	"	push %rax\n"
	"	push %rcx\n"
	"	push %rdx\n"
	"	mov db_count(%rip), %rcx\n"
	"	cmp $16, %rcx\n"
	"	jae 1f\n"
	"	mov 24(%rsp), %rax\n"
	"	lea db_rip(%rip), %rdx\n"
	"	mov %rax, (%rdx,%rcx,8)\n"
	"	mov %dr6, %rax\n"
	"	lea db_dr6(%rip), %rdx\n"
	"	mov %rax, (%rdx,%rcx,8)\n"
	"	mov %dr7, %rax\n"
	"	lea db_dr7(%rip), %rdx\n"
	"	mov %rax, (%rdx,%rcx,8)\n"
	"1:	incq db_count(%rip)\n"
	"	xor %eax, %eax\n"
	"	mov %rax, %dr6\n"
	"	orq $0x10000, 40(%rsp)\n"
	"	mov db_skip(%rip), %rax\n"
	"	test %rax, %rax\n"
	"	jz 2f\n"
	"	mov %rax, 24(%rsp)\n"
	"	movq $0, db_skip(%rip)\n"
	"2:	pop %rdx\n"
	"	pop %rcx\n"
	"	pop %rax\n"
	"	iretq\n");
extern char db_handler[];
extern char ss_a[], ss_b[], ss_c[], ss_d[], ss_e[], ss_f[], bp_target[];
extern char w_after[], rw_after[], b_after[], gd_at[], gd_after[], icebp_after[];

static void install_db_gate(uint16_t cs)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr;
	uint64_t h = (uint64_t)db_handler;
	uint32_t *g;

	__asm__ volatile("sidt %0" : "=m"(idtr));
	g = (uint32_t *)(idtr.base + 16);      /* vector 1 */
	g[0] = (uint32_t)(h & 0xffff) | ((uint32_t)cs << 16);
	g[1] = (uint32_t)(h & 0xffff0000u) | 0x8e00;   /* present, 64-bit int gate */
	g[2] = (uint32_t)(h >> 32);
	g[3] = 0;
}

static void set_dr7(uint64_t v)
{
	__asm__ volatile("mov %0, %%dr7" : : "r"(v) : "memory");
}

static void set_dr(int n, uint64_t v)
{
	switch (n) {
	case 0: __asm__ volatile("mov %0, %%dr0" : : "r"(v)); break;
	case 1: __asm__ volatile("mov %0, %%dr1" : : "r"(v)); break;
	case 2: __asm__ volatile("mov %0, %%dr2" : : "r"(v)); break;
	default: __asm__ volatile("mov %0, %%dr3" : : "r"(v)); break;
	}
}

static void expect(unsigned i, void *rip, uint64_t dr6)
{
	CHECK_EQ(db_rip[i], (uint64_t)rip);
	CHECK_EQ(db_dr6[i] & DR6_STATUS, dr6);
}

static void single_step(void)
{
	db_count = 0;
	__asm__ volatile("pushfq\n\t"
			 "orq $0x100, (%%rsp)\n\t"
			 "popfq\n\t"                 /* sets TF: no trap after it */
			 ".globl ss_a\nss_a: nop\n\t"
			 ".globl ss_b\nss_b: mov $1, %%eax\n\t"
			 ".globl ss_c\nss_c: pushfq\n\t"
			 ".globl ss_d\nss_d: andq $-257, (%%rsp)\n\t"
			 ".globl ss_e\nss_e: popfq\n\t"  /* clears TF: trap after it */
			 ".globl ss_f\nss_f: nop\n\t"
			 : : : "rax", "memory", "cc");
	CHECK_EQ(db_count, 5);
	expect(0, ss_b, 0x4000);
	expect(1, ss_c, 0x4000);
	expect(2, ss_d, 0x4000);
	expect(3, ss_e, 0x4000);
	expect(4, ss_f, 0x4000);
	printf("debugregs: single-step ok\n");
}

static void instruction_breakpoint(void)
{
	uint64_t out;

	db_count = 0;
	set_dr(0, (uint64_t)bp_target);
	set_dr7(0x1);                               /* L0, RW0 = exec, LEN0 = 1 */
	__asm__ volatile("xor %%eax, %%eax\n\t"
			 ".globl bp_target\nbp_target: mov $7, %%eax\n\t"
			 "mov %%eax, %k0\n\t"
			 : "=r"(out) : : "rax", "memory");
	set_dr7(0);
	CHECK_EQ(db_count, 1);
	expect(0, bp_target, 0x1);
	CHECK_EQ(out, 7);                            /* it ran after the fault */
	printf("debugregs: instruction breakpoint ok\n");
}

static void data_breakpoints(void)
{
	uint64_t v;

	db_count = 0;
	set_dr(1, (uint64_t)&wvar);
	set_dr(2, (uint64_t)&rwvar);
	set_dr(3, (uint64_t)&bytes[3]);
	/* L1 write len 4 (RW=01 LEN=11), L2 rw len 8 (RW=11 LEN=10), L3 write len 1 */
	set_dr7((1ull << 2) | (1ull << 4) | (1ull << 6) | (0xdull << 20) | (0xbull << 24) |
		(0x1ull << 28));
	v = wvar;                                    /* a read: no trap */
	__asm__ volatile("movl $5, wvar(%%rip)\n\t.globl w_after\nw_after:" : : : "memory");
	__asm__ volatile("mov rwvar+4(%%rip), %%eax\n\t.globl rw_after\nrw_after:"
			 : : : "rax", "memory");
	bytes[4] = 1;                                /* next to the watched byte */
	__asm__ volatile("movb $9, bytes+3(%%rip)\n\t.globl b_after\nb_after:" : : : "memory");
	set_dr7(0);
	CHECK_EQ(v, 0);
	CHECK_EQ(db_count, 3);
	expect(0, w_after, 0x2);
	expect(1, rw_after, 0x4);
	expect(2, b_after, 0x8);
	CHECK_EQ(wvar, 5);
	CHECK_EQ(bytes[3], 9);
	printf("debugregs: data breakpoints ok\n");
}

static void general_detect(void)
{
	uint64_t v = 0;

	db_count = 0;
	db_skip = (uint64_t)gd_after;
	set_dr7(1ull << 13);
	__asm__ volatile(".globl gd_at\ngd_at: mov %%dr0, %0\n\t.globl gd_after\ngd_after:"
			 : "+r"(v) : : "memory");
	CHECK_EQ(db_count, 1);
	expect(0, gd_at, 0x2000);
	CHECK_EQ(db_dr7[0] & (1ull << 13), 0);       /* GD is cleared on #DB */
	set_dr7(0);                                  /* GD is off: no fault */
	CHECK_EQ(db_count, 1);
	printf("debugregs: general detect ok\n");
}

static void icebp(void)
{
	db_count = 0;
	__asm__ volatile(".byte 0xf1\n\t.globl icebp_after\nicebp_after:" : : : "memory");
	CHECK_EQ(db_count, 1);
	CHECK_EQ(db_rip[0], (uint64_t)icebp_after);
	printf("debugregs: int1 ok\n");
}

int guest_main(uint32_t index, uint32_t count)
{
	(void)index;
	(void)count;
	install_db_gate(idt_install());
	set_dr7(0);
	single_step();
	instruction_breakpoint();
	data_breakpoints();
	general_detect();
	icebp();
	guest_pass("debugregs");
}
