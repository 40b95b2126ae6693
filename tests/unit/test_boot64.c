/* test_boot64.c - the ELF64 boot area (lib/loaders/boot64.c, elf64.c):
 * GDT and TSS bytes, identity page tables, layout for large RAM sizes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "loader_fixture.h"
#include "lib/loaders/loader.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)

static const uint8_t code[] = { 0xf4 };

static vmm_vm *boot(uint64_t mem, uint32_t vcpus)
{
	static test_img t;
	vmm_vm *vm = fake_vm(mem, vcpus);

	assert_non_null(vm);
	elf64_init(&t, 0x100000);
	img_seg(&t, PT_LOAD, PF_R | PF_X, 0x100000, 0x100000, code, 1, 1);
	assert_int_equal(vmm_load_elf_buffer(vm, t.data, t.len, NULL), 0);
	return vm;
}

static void test_gdt_bytes(void **state)
{
	static const uint64_t want[6] = {
		0,
		0x00af9b000000ffffull,          /* 0x08 64-bit code */
		0x00cf93000000ffffull,          /* 0x10 data */
		0x00cf9b000000ffffull,          /* 0x18 32-bit code */
		0x00008b0010800067ull,          /* 0x20 busy TSS at 0x1080, limit 0x67 */
		0,                              /* 0x28 TSS base 63:32 */
	};
	uint8_t tss[0x68];
	vmm_vm *vm = boot(64 * MIB, 1);

	for (int i = 0; i < 6; i++)
		assert_int_equal(peek64(vm, 0x1000 + 8 * i), want[i]);
	assert_int_equal(vmm_mem_read(vm, 0x1080, tss, sizeof(tss)), 0);
	for (int i = 0; i < 0x66; i++)
		assert_int_equal(tss[i], 0);
	assert_int_equal(tss[0x66] | tss[0x67] << 8, 0x68);  /* no I/O bitmap */
	assert_int_equal(peek64(vm, 0x1800), 0);              /* no cmdline */
	vmm_vm_destroy(vm);
}

static void test_page_tables_64m(void **state)
{
	vmm_vm *vm = boot(64 * MIB, 1);

	assert_int_equal(peek64(vm, 0x2000), 0x3003);              /* PML4[0] */
	for (int i = 1; i < 512; i++)
		assert_int_equal(peek64(vm, 0x2000 + 8 * i), 0);
	for (int i = 0; i < 4; i++)                                /* PDPT[0..3] */
		assert_int_equal(peek64(vm, 0x3000 + 8 * i), 0x4003 + 0x1000ull * i);
	for (int i = 4; i < 512; i++)
		assert_int_equal(peek64(vm, 0x3000 + 8 * i), 0);
	/* Four directories of 2 MiB pages: [0, 4 GiB), past RAM for MMIO. */
	for (uint64_t d = 0; d < 4; d++)
		for (uint64_t e = 0; e < 512; e++)
			assert_int_equal(peek64(vm, 0x4000 + d * 0x1000 + e * 8),
					 (d << 30 | e << 21) | 0x83);
	assert_int_equal(peek64(vm, 0x4000 + 3 * 0x1000 + 511 * 8), 0xffe00083ull);
	vmm_vm_destroy(vm);
}

static void test_page_tables_above_4g(void **state)
{
	/* 5 GiB + 4 KiB of RAM: the map is rounded up to 6 GiB. */
	vmm_vm *vm = boot(5 * GIB + 4096, 2);
	fake_vcpu *f = fake_of(vm, 1);

	for (int i = 0; i < 6; i++)
		assert_int_equal(peek64(vm, 0x3000 + 8 * i), 0x4003 + 0x1000ull * i);
	assert_int_equal(peek64(vm, 0x3000 + 8 * 6), 0);
	assert_int_equal(peek64(vm, 0x4000 + 5 * 0x1000 + 511 * 8),
			 (5 * GIB + 511 * 2 * MIB) | 0x83);
	assert_int_equal(f->regs.rsp, 5 * GIB + 4096 - 0x10000 - 8);
	vmm_vm_destroy(vm);
}

static void test_plan(void **state)
{
	vmm__b64_layout lay;

	vmm__b64_plan(64 * MIB, 1, &lay);
	assert_int_equal(lay.npdpt, 1);
	assert_int_equal(lay.npd, 4);
	assert_int_equal(lay.map_end, 4 * GIB);
	assert_int_equal(lay.boot_end, 0x8000);
	assert_int_equal(lay.stack_top, 64 * MIB);
	assert_int_equal(lay.stack_lo, 64 * MIB - 0x10000);

	vmm__b64_plan(513 * GIB, 4, &lay);    /* needs a second PDPT */
	assert_int_equal(lay.npdpt, 2);
	assert_int_equal(lay.npd, 513);
	assert_int_equal(lay.map_end, 513 * GIB);
	assert_int_equal(lay.boot_end, 0x3000 + (2 + 513) * 0x1000ull);
	assert_int_equal(lay.stack_lo, 513 * GIB - 4 * 0x10000);

	vmm__b64_plan(4096, 1, &lay);         /* too small: reported, no wrap */
	assert_int_equal(lay.stack_lo, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gdt_bytes),
		cmocka_unit_test(test_page_tables_64m),
		cmocka_unit_test(test_page_tables_above_4g),
		cmocka_unit_test(test_plan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
