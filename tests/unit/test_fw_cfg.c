/* test_fw_cfg.c - the QEMU-compatible fw_cfg device through its ports:
 * exact item bytes, the file directory, bad selectors, reads past the end,
 * vmm_fw_cfg_add_file's checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_backend.h"

#define SEL 0x510
#define DATA 0x511

typedef struct fixture {
	vmm_vm *vm;
	vmm_vcpu *vcpu;
} fixture;

static fixture fx;

static int setup(void **state)
{
	memset(&fx, 0, sizeof(fx));
	fake_reset();
	fx.vm = fake_vm(3ull << 20, 3, VMM_VM_FW_CFG);
	if (!fx.vm || vmm_vcpu_create(fx.vm, 0, &fx.vcpu) != 0)
		return -1;
	*state = &fx;
	return 0;
}

static int teardown(void **state)
{
	vmm_vm_destroy(((fixture *)*state)->vm);
	return 0;
}

static void select_item(fixture *f, uint16_t key)
{
	uint32_t v = key;

	assert_int_equal(vmm__bus_pio(f->vcpu, SEL, 2, 1, &v), VMM__BUS_DONE);
}

static void read_bytes(fixture *f, uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t v = 0x5a5a;

		assert_int_equal(vmm__bus_pio(f->vcpu, DATA, 1, 0, &v), VMM__BUS_DONE);
		assert_true(v <= 0xff);
		buf[i] = (uint8_t)v;
	}
}

static void expect_item(fixture *f, uint16_t key, const uint8_t *want, size_t n)
{
	uint8_t got[64], zeros[8] = { 0 };

	assert_true(n + 8 <= sizeof(got));
	select_item(f, key);
	read_bytes(f, got, n + 8);
	assert_memory_equal(got, want, n);
	assert_memory_equal(got + n, zeros, 8);   /* past the end: 0 */
}

static void test_fixed_items(void **state)
{
	fixture *f = *state;
	static const uint8_t sig[] = { 'Q', 'E', 'M', 'U' };
	static const uint8_t id[] = { 1, 0, 0, 0 };
	static const uint8_t ram[] = { 0, 0, 0x30, 0, 0, 0, 0, 0 };   /* 3 MiB */
	static const uint8_t cpus[] = { 3, 0 };
	static const uint8_t uuid[16] = { 0 };
	static const uint8_t dir[] = { 0, 0, 0, 0 };                  /* no files */

	expect_item(f, 0x00, sig, sizeof(sig));
	expect_item(f, 0x01, id, sizeof(id));
	expect_item(f, 0x02, uuid, sizeof(uuid));
	expect_item(f, 0x03, ram, sizeof(ram));
	expect_item(f, 0x05, cpus, sizeof(cpus));
	expect_item(f, 0x0f, cpus, sizeof(cpus));
	expect_item(f, 0x19, dir, sizeof(dir));
}

static void test_reselect_restarts(void **state)
{
	fixture *f = *state;
	uint8_t b[4];

	select_item(f, 0x00);
	read_bytes(f, b, 2);
	assert_memory_equal(b, "QE", 2);
	select_item(f, 0x00);
	read_bytes(f, b, 4);
	assert_memory_equal(b, "QEMU", 4);
	/* a byte read at 0x510 also reads data, as in QEMU */
	select_item(f, 0x00);
	uint32_t v = 0;
	assert_int_equal(vmm__bus_pio(f->vcpu, SEL, 1, 0, &v), VMM__BUS_DONE);
	assert_int_equal(v, 'Q');
}

static void test_bad_selectors(void **state)
{
	fixture *f = *state;
	static const uint16_t bad[] = { 0x04, 0x18, 0x20, 0x3fff, 0x4000, 0x8000, 0x8003,
					0xffff };
	uint8_t got[16], zeros[16] = { 0 };
	uint32_t v;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		select_item(f, bad[i]);
		read_bytes(f, got, sizeof(got));
		assert_memory_equal(got, zeros, sizeof(got));
	}
	/* a byte write to the selector and data writes change nothing */
	select_item(f, 0x00);
	v = 0x05;
	assert_int_equal(vmm__bus_pio(f->vcpu, SEL, 1, 1, &v), VMM__BUS_DONE);
	v = 0x77;
	assert_int_equal(vmm__bus_pio(f->vcpu, DATA, 1, 1, &v), VMM__BUS_DONE);
	read_bytes(f, got, 4);
	assert_memory_equal(got, "QEMU", 4);
	/* wider data reads return 0 */
	v = 0x1234;
	assert_int_equal(vmm__bus_pio(f->vcpu, SEL, 2, 0, &v), VMM__BUS_DONE);
	assert_int_equal(v, 0);
}

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static void test_files_and_directory(void **state)
{
	fixture *f = *state;
	uint8_t want[4 + 2 * 64] = { 0 }, got[sizeof(want) + 4], z[4] = { 0 };

	assert_int_equal(vmm_fw_cfg_add_file(f->vm, "etc/zeta", "ZZZ", 3), 0);
	assert_int_equal(vmm_fw_cfg_add_file(f->vm, "etc/alpha", "hello", 5), 0);
	/* sorted by name: alpha (select 0x21) then zeta (0x20) */
	be32(want, 2);
	be32(want + 4, 5);
	want[8] = 0, want[9] = 0x21;
	memcpy(want + 12, "etc/alpha", 9);
	be32(want + 68, 3);
	want[72] = 0, want[73] = 0x20;
	memcpy(want + 76, "etc/zeta", 8);
	select_item(f, 0x19);
	read_bytes(f, got, sizeof(got));
	assert_memory_equal(got, want, sizeof(want));
	assert_memory_equal(got + sizeof(want), z, 4);
	expect_item(f, 0x21, (const uint8_t *)"hello", 5);
	expect_item(f, 0x20, (const uint8_t *)"ZZZ", 3);
	assert_int_equal(vmm_fw_cfg_add_file(f->vm, "etc/empty", NULL, 0), 0);
	expect_item(f, 0x22, (const uint8_t *)"", 0);
}

static void test_add_file_errors(void **state)
{
	fixture *f = *state;
	char name[80];
	vmm_vm *plain;

	memset(name, 'n', sizeof(name));
	name[VMM_FW_CFG_NAME_MAX] = '\0';
	assert_int_equal(vmm_fw_cfg_add_file(f->vm, name, "x", 1), 0);  /* 55: fits */
	name[VMM_FW_CFG_NAME_MAX] = 'n';
	name[VMM_FW_CFG_NAME_MAX + 1] = '\0';
	assert_int_equal(vmm_fw_cfg_add_file(f->vm, name, "x", 1), VMM_EINVAL);
	assert_non_null(strstr(vmm_last_error(), "longer than 55"));
	assert_int_equal(vmm_fw_cfg_add_file(f->vm, "", "x", 1), VMM_EINVAL);
	assert_int_equal(vmm_fw_cfg_add_file(f->vm, NULL, "x", 1), VMM_EINVAL);
	assert_int_equal(vmm_fw_cfg_add_file(f->vm, "a", NULL, 1), VMM_EINVAL);
	assert_int_equal(vmm_fw_cfg_add_file(f->vm, "a", "x", VMM_FW_CFG_FILE_MAX + 1ull),
			 VMM_EINVAL);
	assert_int_equal(vmm_fw_cfg_add_file(NULL, "a", "x", 1), VMM_EINVAL);
	assert_int_equal(vmm_fw_cfg_add_file(f->vm, "a", "x", 1), 0);
	assert_int_equal(vmm_fw_cfg_add_file(f->vm, "a", "y", 1), VMM_EEXIST);
	for (int i = 2; i < VMM_FW_CFG_MAX_FILES; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		assert_int_equal(vmm_fw_cfg_add_file(f->vm, name, "x", 1), 0);
	}
	assert_int_equal(vmm_fw_cfg_add_file(f->vm, "one-too-many", "x", 1), VMM_ENOMEM);
	/* the last file's selector still reads */
	expect_item(f, 0x20 + VMM_FW_CFG_MAX_FILES - 1, (const uint8_t *)"x", 1);
	plain = fake_vm(1 << 20, 1, 0);
	assert_non_null(plain);
	assert_int_equal(vmm_fw_cfg_add_file(plain, "a", "x", 1), VMM_ESTATE);
	vmm_vm_destroy(plain);
}

static void test_off_without_flag(void **state)
{
	vmm_vm *vm = fake_vm(1 << 20, 1, 0);
	vmm_vcpu *vcpu;
	uint32_t v = 0;

	(void)state;
	assert_non_null(vm);
	assert_int_equal(vmm_vcpu_create(vm, 0, &vcpu), 0);
	assert_int_equal(vmm__bus_pio(vcpu, SEL, 2, 1, &v), VMM__BUS_UNCLAIMED);
	assert_int_equal(vmm__bus_pio(vcpu, DATA, 1, 0, &v), VMM__BUS_UNCLAIMED);
	vmm_vm_destroy(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fixed_items, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reselect_restarts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_selectors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_files_and_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_file_errors, setup, teardown),
		cmocka_unit_test(test_off_without_flag),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
