/* paging.c - the guest builds its own 4-level page tables and switches CR3
 * to them: an identity map of the first GiB (2 MiB pages) keeps code, data
 * and stack reachable, and above it a 4 KiB page aliased at two virtual
 * addresses, a 2 MiB page and a 1 GiB page. Checks that writes through one
 * alias appear through the other, that the CPU sets Accessed and Dirty bits
 * exactly where the architecture says, that INVLPG and a CR3 reload make a
 * changed PTE visible, and the boot paging state the loader promised.
 * The 1 GiB page is checked when CPUID offers it (else a runner note).
 * Expected end: debug exit 0; a failed CHECK exits 1. */
#include "common.h"

#define P 0x1ull
#define RW 0x2ull
#define A 0x20ull
#define D 0x40ull
#define PS 0x80ull
#define ADDR_MASK 0x000ffffffffff000ull

#define MSR_EFER 0xc0000080u
#define VA_4K 0x0000008000000000ull   /* PML4[1]: PT pages 0 and 1 */
#define VA_2M 0x0000008040000000ull   /* PML4[1], PDPT[1]: one 2 MiB page */
#define VA_1G 0x0000010000000000ull   /* PML4[2]: one 1 GiB page at 0 */
#define PHYS_2M 0x400000ull           /* target of the 2 MiB page */

enum { PML4, PDPT0, PD0, PDPT1, PD1, PT1, PD2, PDPT2, NTABLES };
static uint64_t tables[NTABLES][512] __attribute__((aligned(4096)));
static uint8_t page_a[4096] __attribute__((aligned(4096)));
static uint8_t page_b[4096] __attribute__((aligned(4096)));
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
	*entry(PT1, 0) = pa(page_a) | P | RW;
	*entry(PT1, 1) = pa(page_a) | P | RW;       /* the alias */
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
	test_large_pages(have_1g);
	write_cr3(boot_cr3);
	CHECK_EQ(*(volatile uint64_t *)(PHYS_2M + 0x2000), 0x3333333333333333ull);
	printf("paging: back on the boot tables\n");
	guest_pass("paging");
}
