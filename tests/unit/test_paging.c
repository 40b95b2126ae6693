/* test_paging.c - arch/x86/paging.c, the page walk: 4-level paging with
 * 4 KiB, 2 MiB and 1 GiB pages, PAE, 32-bit paging with and without PSE;
 * Accessed/Dirty updates; U/S, R/W (with CR0.WP), NX, SMEP, SMAP and
 * protection-key (PKRU, PKRS) checks; reserved
 * bits; the #PF error code for each case; page tables outside RAM. Guest
 * memory is a 1 MiB buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arch/x86/paging.h"
#include "arch/x86/x86.h"

#define RAM (1u << 20)
#define P 1ull
#define W 2ull
#define U 4ull
#define A 0x20ull
#define D 0x40ull
#define PS 0x80ull
#define NX (1ull << 63)

static uint8_t ram[RAM] __attribute__((aligned(4096)));

static void *pte_ptr(void *opaque, uint64_t gpa)
{
	return gpa + 8 <= RAM ? ram + gpa : NULL;
}

static uint64_t get(uint64_t gpa) { uint64_t v; memcpy(&v, ram + gpa, 8); return v; }
static void set(uint64_t gpa, uint64_t v) { memcpy(ram + gpa, &v, 8); }
static uint32_t get32(uint64_t gpa) { uint32_t v; memcpy(&v, ram + gpa, 4); return v; }
static void set32(uint64_t gpa, uint32_t v) { memcpy(ram + gpa, &v, 4); }

static vmm__x86_walk_env env64(void)
{
	vmm__x86_walk_env e = { X86_CR0_PG | X86_CR0_PE | X86_CR0_WP, 0x1000, X86_CR4_PAE,
				X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE, pte_ptr, NULL, 0, 0 };
	return e;
}

/* PML4 0x1000 -> PDPT 0x2000 -> PD 0x3000 -> PT 0x4000 -> page 0x5000 for
 * va 0x12345678 (PML4 0, PDPT 0, PD 0x91, PT 0x145). */
static int setup(void **state)
{
	memset(ram, 0, sizeof(ram));
	set(0x1000, 0x2000 | P | W | U);
	set(0x2000, 0x3000 | P | W | U);
	set(0x3000 + 0x91 * 8, 0x4000 | P | W | U);
	set(0x4000 + 0x145 * 8, 0x5000 | P | W | U);
	return 0;
}

static int walk(vmm__x86_walk_env *e, uint64_t va, unsigned acc, vmm__x86_walk_result *r)
{
	return vmm__x86_walk(e, va, acc, r);
}

static void test_4k_and_ad_bits(void **state)
{
	vmm__x86_walk_env e = env64();
	vmm__x86_walk_result r;

	assert_int_equal(walk(&e, 0x12345678, 0, &r), VMM__X86_WALK_OK);
	assert_int_equal(r.gpa, 0x5678);
	assert_int_equal(r.page_mask, ~0xfffull);
	assert_true(r.writable && r.user && r.exec);
	assert_int_equal(get(0x1000) & (A | D), A);
	assert_int_equal(get(0x4000 + 0x145 * 8) & (A | D), A);
	assert_false(r.dirty);
	assert_int_equal(walk(&e, 0x12345678, VMM__X86_ACC_WRITE, &r), VMM__X86_WALK_OK);
	assert_int_equal(get(0x4000 + 0x145 * 8) & (A | D), A | D);
	assert_int_equal(get(0x3000 + 0x91 * 8) & D, 0);   /* D only on the leaf */
	assert_true(r.dirty);
}

static void test_no_ad_walk(void **state)
{
	vmm__x86_walk_env e = env64();
	vmm__x86_walk_result r;

	assert_int_equal(walk(&e, 0x12345678, VMM__X86_ACC_WRITE | VMM__X86_ACC_NO_AD, &r), 0);
	assert_int_equal(get(0x1000) & A, 0);
	assert_int_equal(get(0x4000 + 0x145 * 8) & (A | D), 0);
}

static void test_large_pages(void **state)
{
	vmm__x86_walk_env e = env64();
	vmm__x86_walk_result r;

	set(0x3000 + 5 * 8, 0x600000 | P | W | PS);            /* 2 MiB at 0xa00000 */
	assert_int_equal(walk(&e, 0xa12345, 0, &r), 0);
	assert_int_equal(r.gpa, 0x612345);
	assert_int_equal(r.page_mask, ~0x1fffffull);
	assert_false(r.user);
	set(0x2000 + 1 * 8, 0xc0000000ull | P | W | PS);       /* 1 GiB at 1 GiB */
	assert_int_equal(walk(&e, 0x12345678, 0, &r), 0);      /* still the 4K tables */
	assert_int_equal(r.gpa, 0x5678);
	assert_int_equal(walk(&e, 0x47654321, 0, &r), 0);
	assert_int_equal(r.gpa, 0xc7654321ull);
	assert_int_equal(r.page_mask, ~0x3fffffffull);
}

static void test_not_present_error_codes(void **state)
{
	vmm__x86_walk_env e = env64();
	vmm__x86_walk_result r;

	assert_int_equal(walk(&e, 0x12346000, 0, &r), VMM__X86_WALK_FAULT);
	assert_int_equal(r.pfec, 0);
	assert_int_equal(walk(&e, 0x8000000000ull, VMM__X86_ACC_WRITE, &r), VMM__X86_WALK_FAULT);
	assert_int_equal(r.pfec, X86_PF_W);
	assert_int_equal(walk(&e, 0x40000000, VMM__X86_ACC_USER | VMM__X86_ACC_FETCH, &r), 1);
	assert_int_equal(r.pfec, X86_PF_U | X86_PF_I);
	assert_int_equal(get(0x1000) & A, 0);    /* no A bits on a fault */
}

static void test_user_supervisor_and_wp(void **state)
{
	vmm__x86_walk_env e = env64();
	vmm__x86_walk_result r;

	set(0x4000 + 0x145 * 8, 0x5000 | P | W);               /* supervisor page */
	assert_int_equal(walk(&e, 0x12345678, VMM__X86_ACC_USER, &r), VMM__X86_WALK_FAULT);
	assert_int_equal(r.pfec, X86_PF_P | X86_PF_U);
	set(0x4000 + 0x145 * 8, 0x5000 | P | U);               /* read-only user page */
	assert_int_equal(walk(&e, 0x12345678, VMM__X86_ACC_USER | VMM__X86_ACC_WRITE, &r), 1);
	assert_int_equal(r.pfec, X86_PF_P | X86_PF_W | X86_PF_U);
	assert_int_equal(walk(&e, 0x12345678, VMM__X86_ACC_WRITE, &r), 1);     /* WP=1 */
	assert_int_equal(r.pfec, X86_PF_P | X86_PF_W);
	e.cr0 &= ~X86_CR0_WP;
	assert_int_equal(walk(&e, 0x12345678, VMM__X86_ACC_WRITE, &r), 0);     /* WP=0 */
	assert_true(r.writable);
	assert_int_equal(walk(&e, 0x12345678, VMM__X86_ACC_USER, &r), 0);
	assert_false(r.writable);
}

static void test_nx(void **state)
{
	vmm__x86_walk_env e = env64();
	vmm__x86_walk_result r;

	set(0x4000 + 0x145 * 8, 0x5000 | P | W | U | NX);
	assert_int_equal(walk(&e, 0x12345678, 0, &r), 0);
	assert_false(r.exec);
	assert_int_equal(walk(&e, 0x12345678, VMM__X86_ACC_FETCH, &r), 1);
	assert_int_equal(r.pfec, X86_PF_P | X86_PF_I);
	e.efer &= ~X86_EFER_NXE;                                /* NX is now reserved */
	assert_int_equal(walk(&e, 0x12345678, 0, &r), 1);
	assert_int_equal(r.pfec, X86_PF_P | X86_PF_RSVD);
}

static void test_reserved_bits(void **state)
{
	vmm__x86_walk_env e = env64();
	vmm__x86_walk_result r;

	set(0x1000, 0x2000 | P | W | U | PS);                  /* PS in a PML4E */
	assert_int_equal(walk(&e, 0x12345678, VMM__X86_ACC_WRITE, &r), 1);
	assert_int_equal(r.pfec, X86_PF_P | X86_PF_RSVD | X86_PF_W);
	set(0x1000, 0x2000 | P | W | U);
	set(0x3000 + 5 * 8, 0x600000 | P | W | PS | (1ull << 13));
	assert_int_equal(walk(&e, 0xa00000, 0, &r), 1);
	assert_int_equal(r.pfec, X86_PF_P | X86_PF_RSVD);
	set(0x3000 + 5 * 8, (1ull << 45) | P | W | PS);        /* above 40 address bits */
	assert_int_equal(walk(&e, 0xa00000, 0, &r), 1);
	assert_int_equal(r.pfec, X86_PF_P | X86_PF_RSVD);
}

static void test_table_outside_ram(void **state)
{
	vmm__x86_walk_env e = env64();
	vmm__x86_walk_result r;

	set(0x3000 + 0x91 * 8, 0x7f000000 | P | W | U);
	assert_int_equal(walk(&e, 0x12345678, 0, &r), VMM__X86_WALK_BAD_TABLE);
	assert_int_equal(r.bad_gpa, 0x7f000000 + 0x145 * 8);
}

static void test_pae(void **state)
{
	vmm__x86_walk_env e = { X86_CR0_PG | X86_CR0_PE | X86_CR0_WP, 0x1000, X86_CR4_PAE,
				X86_EFER_NXE,
				pte_ptr, NULL, 0, 0 };
	vmm__x86_walk_result r;

	memset(ram, 0, sizeof(ram));
	set(0x1000 + 2 * 8, 0x2000 | P);                       /* PDPTE 2: 2-3 GiB */
	set(0x2000 + 3 * 8, 0x400000 | P | W | PS);            /* 2 MiB page */
	set(0x2000 + 4 * 8, 0x3000 | P | W);
	set(0x3000 + 7 * 8, 0x9000 | P | NX);
	assert_int_equal(walk(&e, 0x80612345ull, 0, &r), 0);
	assert_int_equal(r.gpa, 0x412345);
	assert_int_equal(walk(&e, 0x80807abcull, 0, &r), 0);
	assert_int_equal(r.gpa, 0x9abc);
	assert_false(r.exec);
	assert_int_equal(walk(&e, 0x80807abcull, VMM__X86_ACC_WRITE, &r), 1);
	assert_int_equal(r.pfec, X86_PF_P | X86_PF_W);
	set(0x1000 + 2 * 8, 0x2000 | P | W);                   /* R/W is reserved in a PDPTE */
	assert_int_equal(walk(&e, 0x80612345ull, 0, &r), 1);
	assert_int_equal(r.pfec, X86_PF_P | X86_PF_RSVD);
	assert_int_equal(walk(&e, 0x12345, 0, &r), 1);         /* PDPTE 0 not present */
	assert_int_equal(r.pfec, 0);
}

static void test_32bit(void **state)
{
	vmm__x86_walk_env e = { X86_CR0_PG | X86_CR0_PE | X86_CR0_WP, 0x1000, X86_CR4_PSE, 0,
				pte_ptr, NULL, 0, 0 };
	vmm__x86_walk_result r;

	memset(ram, 0, sizeof(ram));
	set32(0x1000 + 1 * 4, 0x00400000 | P | W | U | PS);    /* 4 MiB at 4 MiB */
	set32(0x1000 + 2 * 4, 0x3000 | P | W);
	set32(0x3000 + 5 * 4, 0x7000 | P);
	assert_int_equal(walk(&e, 0x00654321, 0, &r), 0);
	assert_int_equal(r.gpa, 0x00654321);
	assert_int_equal(r.page_mask, ~0x3fffffull);
	assert_int_equal(get32(0x1000 + 4) & A, A);
	assert_int_equal(walk(&e, 0x00805123, VMM__X86_ACC_WRITE, &r), 1);
	assert_int_equal(r.pfec, X86_PF_P | X86_PF_W);
	assert_int_equal(walk(&e, 0x00805123, 0, &r), 0);
	assert_int_equal(r.gpa, 0x7123);
	set32(0x1000 + 1 * 4, 0x00400000 | P | W | U | PS | (1u << 13));
	assert_int_equal(walk(&e, 0x00654321, 0, &r), 1);      /* no PSE-36 */
	assert_int_equal(r.pfec, X86_PF_P | X86_PF_RSVD);
	e.cr4 = 0;                                             /* PS ignored without PSE */
	set32(0x1000 + 1 * 4, 0x3000 | P | W | PS);
	assert_int_equal(walk(&e, 0x00405000, 0, &r), 0);
	assert_int_equal(r.gpa, 0x7000);
}

static void test_paging_off(void **state)
{
	vmm__x86_walk_env e = { X86_CR0_PE, 0, 0, 0, pte_ptr, NULL, 0, 0 };
	vmm__x86_walk_result r;

	assert_int_equal(walk(&e, 0x123456789ull, VMM__X86_ACC_WRITE, &r), 0);
	assert_int_equal(r.gpa, 0x23456789);
	assert_true(r.writable && r.exec && r.user);
}

/* Supervisor accesses to a user page: SMEP blocks fetches, SMAP data
 * accesses unless VMM__X86_ACC_AC (CPL < 3 with RFLAGS.AC). */
static void test_smep_smap(void **state)
{
	vmm__x86_walk_env e = env64();
	vmm__x86_walk_result r;
	const unsigned X = VMM__X86_ACC_FETCH, WR = VMM__X86_ACC_WRITE, AC = VMM__X86_ACC_AC;

	e.cr4 |= X86_CR4_SMEP;
	assert_int_equal(walk(&e, 0x12345678, X, &r), VMM__X86_WALK_FAULT);
	assert_int_equal(r.pfec, X86_PF_P | X86_PF_I);
	assert_int_equal(walk(&e, 0x12345678, 0, &r), VMM__X86_WALK_OK);
	assert_false(r.exec);
	assert_int_equal(walk(&e, 0x12345678, X | VMM__X86_ACC_USER, &r), VMM__X86_WALK_OK);
	e.efer &= ~X86_EFER_NXE;                         /* I/D also without NX */
	assert_int_equal(walk(&e, 0x12345678, X, &r), VMM__X86_WALK_FAULT);
	assert_int_equal(r.pfec, X86_PF_P | X86_PF_I);
	e.efer |= X86_EFER_NXE;
	e.cr4 = X86_CR4_PAE | X86_CR4_SMAP;
	assert_int_equal(walk(&e, 0x12345678, X, &r), VMM__X86_WALK_OK);  /* fetch: SMEP's */
	assert_int_equal(walk(&e, 0x12345678, 0, &r), VMM__X86_WALK_FAULT);
	assert_int_equal(r.pfec, X86_PF_P);
	assert_int_equal(walk(&e, 0x12345678, WR, &r), VMM__X86_WALK_FAULT);
	assert_int_equal(r.pfec, X86_PF_P | X86_PF_W);
	assert_int_equal(walk(&e, 0x12345678, AC, &r), VMM__X86_WALK_OK);
	assert_int_equal(walk(&e, 0x12345678, WR | AC, &r), VMM__X86_WALK_OK);
	/* a supervisor page is not affected */
	set(0x4000 + 0x145 * 8, 0x5000 | P | W);
	assert_int_equal(walk(&e, 0x12345678, WR, &r), VMM__X86_WALK_OK);
}

/* Keys in PTE bits 62:59; PKRU for user pages (CR4.PKE), PKRS for
 * supervisor pages (CR4.PKS); AD denies data accesses, WD writes (at CPL
 * < 3 only with CR0.WP); fetches are never checked. */
static void test_protection_keys(void **state)
{
	vmm__x86_walk_env e = env64();
	vmm__x86_walk_result r;
	const unsigned WR = VMM__X86_ACC_WRITE, US = VMM__X86_ACC_USER;
	const uint64_t leaf = 0x4000 + 0x145 * 8, key2 = 2ull << 59;

	set(leaf, 0x5000 | P | W | U | key2);
	e.pkru = 0x10;                                   /* key 2: AD */
	assert_int_equal(walk(&e, 0x12345678, US, &r), VMM__X86_WALK_OK);  /* no PKE */
	e.cr4 |= X86_CR4_PKE;
	assert_int_equal(walk(&e, 0x12345678, US, &r), VMM__X86_WALK_FAULT);
	assert_int_equal(r.pfec, X86_PF_P | X86_PF_U | X86_PF_PK);
	assert_int_equal(walk(&e, 0x12345678, 0, &r), VMM__X86_WALK_FAULT);  /* CPL 0 too */
	assert_int_equal(walk(&e, 0x12345678, VMM__X86_ACC_FETCH | US, &r), VMM__X86_WALK_OK);
	e.pkru = 0x20;                                   /* key 2: WD */
	assert_int_equal(walk(&e, 0x12345678, US, &r), VMM__X86_WALK_OK);
	assert_false(r.writable);
	assert_int_equal(walk(&e, 0x12345678, WR | US, &r), VMM__X86_WALK_FAULT);
	assert_int_equal(r.pfec, X86_PF_P | X86_PF_W | X86_PF_U | X86_PF_PK);
	assert_int_equal(walk(&e, 0x12345678, WR, &r), VMM__X86_WALK_FAULT);   /* WP = 1 */
	e.cr0 &= ~X86_CR0_WP;
	assert_int_equal(walk(&e, 0x12345678, WR, &r), VMM__X86_WALK_OK);
	e.cr0 |= X86_CR0_WP;
	e.pkru = 0x30 << 2;                              /* another key: no effect */
	assert_int_equal(walk(&e, 0x12345678, WR | US, &r), VMM__X86_WALK_OK);
	/* a read-only page: no PK bit when only R/W denies */
	set(leaf, 0x5000 | P | U | key2);
	assert_int_equal(walk(&e, 0x12345678, WR | US, &r), VMM__X86_WALK_FAULT);
	assert_int_equal(r.pfec, X86_PF_P | X86_PF_W | X86_PF_U);
	/* supervisor page, PKRS */
	set(leaf, 0x5000 | P | W | key2);
	e.pkrs = 0x10;
	assert_int_equal(walk(&e, 0x12345678, 0, &r), VMM__X86_WALK_OK);  /* no PKS */
	e.cr4 |= X86_CR4_PKS;
	assert_int_equal(walk(&e, 0x12345678, 0, &r), VMM__X86_WALK_FAULT);
	assert_int_equal(r.pfec, X86_PF_P | X86_PF_PK);
	e.pkrs = 0x20;
	assert_int_equal(walk(&e, 0x12345678, 0, &r), VMM__X86_WALK_OK);
	assert_int_equal(walk(&e, 0x12345678, WR, &r), VMM__X86_WALK_FAULT);
	/* not in PAE paging */
	e.efer = X86_EFER_NXE;
	e.cr3 = 0x6000;
	set(0x6000, 0x3000 | P);                         /* PDPTE 0 -> the PD */
	set(leaf, 0x5000 | P | W | key2);
	assert_int_equal(walk(&e, 0x12345678, WR, &r), VMM__X86_WALK_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_4k_and_ad_bits, setup),
		cmocka_unit_test_setup(test_no_ad_walk, setup),
		cmocka_unit_test_setup(test_large_pages, setup),
		cmocka_unit_test_setup(test_not_present_error_codes, setup),
		cmocka_unit_test_setup(test_user_supervisor_and_wp, setup),
		cmocka_unit_test_setup(test_nx, setup),
		cmocka_unit_test_setup(test_reserved_bits, setup),
		cmocka_unit_test_setup(test_table_outside_ram, setup),
		cmocka_unit_test_setup(test_smep_smap, setup),
		cmocka_unit_test_setup(test_protection_keys, setup),
		cmocka_unit_test(test_pae),
		cmocka_unit_test(test_32bit),
		cmocka_unit_test(test_paging_off),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
