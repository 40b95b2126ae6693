/* paging.c - the guest builds its own 4-level page tables and switches CR3
 * to them: an identity map of the first GiB (2 MiB pages) keeps code, data
 * and stack reachable, and above it a 4 KiB page aliased at two virtual
 * addresses, a 2 MiB page and a 1 GiB page. Checks that writes through one
 * alias appear through the other, that the CPU sets Accessed and Dirty bits
 * exactly where the architecture says, that INVLPG and a CR3 reload make a
 * changed PTE visible, that code written through one alias runs through
 * the other, the #PF error codes of a read-only write, an NX fetch and a
 * reserved bit (through rt/idt64.c), and the boot paging state.
 * The 1 GiB page is checked when CPUID offers it (else a runner note).
 * Expected end: debug exit 0; a failed CHECK exits 1. */
#include "common.h"
#include "idt.h"

#define P 0x1ull
#define RW 0x2ull
#define A 0x20ull
#define D 0x40ull
#define PS 0x80ull
#define NX (1ull << 63)
#define ADDR_MASK 0x000ffffffffff000ull

#define MSR_EFER 0xc0000080u
#define VA_4K 0x0000008000000000ull   /* PML4[1]: the pages of PT1 below */
#define VA_2M 0x0000008040000000ull   /* PML4[1], PDPT[1]: one 2 MiB page */
#define VA_1G 0x0000010000000000ull   /* PML4[2]: one 1 GiB page at 0 */
#define PHYS_2M 0x400000ull           /* target of the 2 MiB page */

enum { PML4, PDPT0, PD0, PDPT1, PD1, PT1, PD2, PDPT2, NTABLES };
static uint64_t tables[NTABLES][512] __attribute__((aligned(4096)));
static uint8_t page_a[4096] __attribute__((aligned(4096)));
static uint8_t page_b[4096] __attribute__((aligned(4096)));
static uint8_t page_c[4096] __attribute__((aligned(4096)));

/* PT1 slots: VA_4K + slot * 4096 */
enum { SLOT_A1, SLOT_A2, SLOT_RO, SLOT_NX, SLOT_RSVD, SLOT_C1, SLOT_C2 };
#define SLOT_VA(slot) (VA_4K + (uint64_t)(slot) * 4096)
extern char __image_end[];

static uint64_t pa(const void *p)
{
	return (uint64_t)p; /* identity: virtual = physical */
}

static volatile uint64_t *entry(int table, int index)
{
	return (volatile uint64_t *)&tables[table][index];
}

static void build_tables(int have_1g)
{
	*entry(PML4, 0) = pa(tables[PDPT0]) | P | RW;
	*entry(PDPT0, 0) = pa(tables[PD0]) | P | RW;
	for (uint64_t i = 0; i < 512; i++)
		*entry(PD0, (int)i) = (i << 21) | P | RW | PS;
	*entry(PML4, 1) = pa(tables[PDPT1]) | P | RW;
	*entry(PDPT1, 0) = pa(tables[PD1]) | P | RW;
	*entry(PD1, 0) = pa(tables[PT1]) | P | RW;
	*entry(PT1, SLOT_A1) = pa(page_a) | P | RW;
	*entry(PT1, SLOT_A2) = pa(page_a) | P | RW;  /* the alias */
	*entry(PT1, SLOT_RO) = pa(page_b) | P;       /* read-only */
	*entry(PT1, SLOT_NX) = pa(page_b) | P | RW | NX;
	*entry(PT1, SLOT_C1) = pa(page_c) | P | RW;  /* code, two aliases */
	*entry(PT1, SLOT_C2) = pa(page_c) | P | RW;
	*entry(PDPT1, 1) = pa(tables[PD2]) | P | RW;
	*entry(PD2, 0) = PHYS_2M | P | RW | PS;
	if (have_1g) {
		*entry(PML4, 2) = pa(tables[PDPT2]) | P | RW;
		*entry(PDPT2, 0) = 0 | P | RW | PS;
	}
}

static void check_boot_state(void)
{
	uint64_t cr0 = read_cr0(), cr3 = read_cr3(), cr4 = read_cr4();
	uint64_t efer = rdmsr(MSR_EFER);

	CHECK((cr0 & 0x80000001ull) == 0x80000001ull); /* PG and PE */
	CHECK(cr4 & 0x20);                              /* PAE */
	CHECK((efer & 0x500) == 0x500);                 /* LME and LMA */
	CHECK(cr3 >= 0x2000 && cr3 < 0x100000);
	CHECK((uint64_t)__image_end <= PHYS_2M);
	printf("paging: boot CR3=0x%llx, long mode, PAE\n", (unsigned long long)cr3);
}

static void test_alias_and_ad(void)
{
	volatile uint64_t *one = (volatile uint64_t *)VA_4K;
	volatile uint64_t *two = (volatile uint64_t *)(VA_4K + 0x1000);
	uint64_t v;

	CHECK_EQ(*entry(PT1, 0) & (A | D), 0);
	v = one[3];                                 /* read through alias 1 */
	CHECK_EQ(v, 0);
	CHECK_EQ(*entry(PT1, 0) & (A | D), A);
	CHECK_EQ(*entry(PT1, 1) & (A | D), 0);
	two[3] = 0xfeedfacecafebeefull;             /* write through alias 2 */
	CHECK_EQ(*entry(PT1, 1) & (A | D), A | D);
	CHECK_EQ(*entry(PT1, 0) & D, 0);
	CHECK_EQ(one[3], 0xfeedfacecafebeefull);
	CHECK_EQ(((volatile uint64_t *)page_a)[3], 0xfeedfacecafebeefull);
	CHECK(*entry(PD1, 0) & A);
	CHECK(*entry(PDPT1, 0) & A);
	CHECK(*entry(PML4, 1) & A);
	printf("paging: 4 KiB alias ok, A/D bits ok\n");
}

static void test_invlpg(void)
{
	volatile uint64_t *one = (volatile uint64_t *)VA_4K;

	((volatile uint64_t *)page_b)[0] = 0xbbbbbbbbbbbbbbbbull;
	((volatile uint64_t *)page_a)[0] = 0xaaaaaaaaaaaaaaaaull;
	CHECK_EQ(one[0], 0xaaaaaaaaaaaaaaaaull);   /* the TLB now knows page A */
	*entry(PT1, 0) = pa(page_b) | P | RW;
	invlpg((const void *)VA_4K);
	CHECK_EQ(one[0], 0xbbbbbbbbbbbbbbbbull);
	*entry(PT1, 0) = pa(page_a) | P | RW;
	write_cr3(pa(tables[PML4]));                /* a reload flushes too */
	CHECK_EQ(one[0], 0xaaaaaaaaaaaaaaaaull);
	printf("paging: invlpg and CR3 reload ok\n");
}

/* Code written through one alias runs through the other, and a rewrite
 * through the identity map is seen at once (SMC across virtual aliases). */
static void test_code_alias(void)
{
	volatile uint8_t *w = (volatile uint8_t *)SLOT_VA(SLOT_C1);
	uint64_t (*run)(void) = (uint64_t (*)(void))SLOT_VA(SLOT_C2);

	w[0] = 0xb8;                                  /* mov $imm32, %eax */
	*(volatile uint32_t *)(w + 1) = 0x0c0dec0d;
	w[5] = 0xc3;                                  /* ret */
	CHECK_EQ(run(), 0x0c0dec0d);
	*(volatile uint32_t *)(page_c + 1) = 0x5eed5eed;
	CHECK_EQ(run(), 0x5eed5eed);
	*(volatile uint32_t *)(w + 1) = 0x600d600d;
	CHECK_EQ(run(), 0x600d600d);
	printf("paging: code through aliases ok\n");
}

extern char at_ro_write[], at_rsvd_read[];

static void expect_pf(uint64_t error, uint64_t rip, uint64_t cr2, uint64_t count)
{
	CHECK_EQ(exc_count, count);
	CHECK_EQ(exc_vector, 14);
	CHECK_EQ(exc_error, error);
	CHECK_EQ(exc_rip, rip);
	CHECK_EQ(exc_cr2, cr2);
}

/* Bits [MAXPHYADDR, 51] of a PTE are reserved; returns one, or 0 if none. */
static uint64_t reserved_bit(void)
{
	uint32_t r[4];

	cpuid(0x80000000, 0, r);
	if (r[0] < 0x80000008)
		return 1ull << 51;
	cpuid(0x80000008, 0, r);
	return (r[0] & 0xff) < 52 ? 1ull << 51 : 0;
}

/* #PF error codes: write to a read-only page with CR0.WP (P|W = 3), fetch
 * from an NX page (P|I/D = 0x11) and a reserved bit (P|RSVD = 9). */
__attribute__((noinline)) static void test_protection(void)
{
	uint64_t rsvd = reserved_bit();

	idt_install();
	EXC_TRIGGER("at_ro_write", "", "movl $1, (%0)", "r"(SLOT_VA(SLOT_RO) + 8));
	expect_pf(0x3, (uint64_t)at_ro_write, SLOT_VA(SLOT_RO) + 8, 1);
	((volatile uint8_t *)page_b)[0x10] = 0xf4;   /* a hlt, never run */
	EXC_TRIGGER("at_nx_fetch", "", "jmp *%0", "r"(SLOT_VA(SLOT_NX) + 0x10));
	expect_pf(0x11, SLOT_VA(SLOT_NX) + 0x10, SLOT_VA(SLOT_NX) + 0x10, 2);
	if (!rsvd) {
		guest_note("no reserved physical-address bits (MAXPHYADDR 52)");
	} else {
		*entry(PT1, SLOT_RSVD) = pa(page_b) | P | RW | rsvd;
		EXC_TRIGGER("at_rsvd_read", "", "mov (%0), %%rax",
			    "r"(SLOT_VA(SLOT_RSVD) + 0x20));
		expect_pf(0x9, (uint64_t)at_rsvd_read, SLOT_VA(SLOT_RSVD) + 0x20, 3);
	}
	printf("paging: protection faults ok\n");
}

static void test_large_pages(int have_1g)
{
	volatile uint64_t *big = (volatile uint64_t *)(VA_2M + 0x1ff8);
	volatile uint64_t *phys = (volatile uint64_t *)(PHYS_2M + 0x1ff8);
	static volatile uint64_t marker = 0x0123012301230123ull;
	volatile uint64_t *via_1g;

	*phys = 0x2222222222222222ull;
	CHECK_EQ(*big, 0x2222222222222222ull);
	big[1] = 0x3333333333333333ull;
	CHECK_EQ(phys[1], 0x3333333333333333ull);
	CHECK_EQ(*entry(PD2, 0) & (A | D), A | D);
	if (!have_1g) {
		guest_note("1 GiB pages not offered (CPUID 0x80000001 EDX.26)");
		printf("paging: large pages ok\n");
		return;
	}
	via_1g = (volatile uint64_t *)(VA_1G + pa((const void *)&marker));
	CHECK_EQ(*via_1g, 0x0123012301230123ull);
	*via_1g = 0x4567456745674567ull;
	CHECK_EQ(marker, 0x4567456745674567ull);
	CHECK_EQ(*entry(PDPT2, 0) & (A | D), A | D);
	printf("paging: large pages ok\n");
}

int guest_main(uint32_t index, uint32_t count)
{
	uint32_t r[4];
	uint64_t boot_cr3 = read_cr3();
	int have_1g;

	(void)index;
	(void)count;
	printf("paging: start\n");
	check_boot_state();
	cpuid(0x80000001, 0, r);
	have_1g = (r[3] >> 26) & 1;
	build_tables(have_1g);
	write_cr3(pa(tables[PML4]));
	CHECK_EQ(read_cr3(), pa(tables[PML4]));
	printf("paging: own tables live\n");
	test_alias_and_ad();
	test_invlpg();
	test_code_alias();
	test_protection();
	test_large_pages(have_1g);
	write_cr3(boot_cr3);
	CHECK_EQ(*(volatile uint64_t *)(PHYS_2M + 0x2000), 0x3333333333333333ull);
	printf("paging: back on the boot tables\n");
	guest_pass("paging");
}
