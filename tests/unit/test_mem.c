/* test_mem.c - guest memory map, copies, host pointers and shared regions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "fake_backend.h"

#define KIB 1024ull
#define MIB (1024ull * 1024ull)

static void assert_error_has(const char *needle)
{
	if (!strstr(vmm_last_error(), needle))
		fail_msg("last error '%s' lacks '%s'", vmm_last_error(), needle);
}

static int setup(void **state)
{
	fake_reset();
	*state = fake_vm(1 * MIB, 1, 0);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	vmm_vm_destroy(*state);
	return 0;
}

static void test_ram_is_slot_zero(void **state)
{
	vmm_vm *vm = *state;
	const vmm__memslot *s = vmm__mem_find(vm, 0x1234);

	assert_non_null(s);
	assert_int_equal(s->gpa, 0);
	assert_int_equal(s->size, 1 * MIB);
	assert_int_equal(s->flags, VMM_MEM_RW);
	assert_true(s->owned);
	assert_int_equal(s->id, 0);
	assert_null(vmm__mem_find(vm, 1 * MIB));
	assert_int_equal(vm->nslots, 1);
	assert_int_equal(fake.mem_maps, 1);
}

static void test_map_and_unmap(void **state)
{
	vmm_vm *vm = *state;
	const vmm__memslot *s;

	assert_int_equal(vmm_mem_map(vm, 4 * MIB, 8 * KIB, VMM_MEM_RO, NULL), 0);
	assert_int_equal(fake.mem_maps, 2);
	assert_int_equal(fake.last_slot_id, 1);
	s = vmm__mem_find(vm, 4 * MIB + 8 * KIB - 1);
	assert_non_null(s);
	assert_int_equal(s->gpa, 4 * MIB);
	assert_int_equal(s->flags, VMM_MEM_RO);
	assert_int_equal(vm->slots[1].gpa, 4 * MIB);
	/* a slot below it sorts first and takes the lowest free id */
	assert_int_equal(vmm_mem_map(vm, 2 * MIB, 4 * KIB, VMM_MEM_RW, NULL), 0);
	assert_int_equal(vm->slots[1].gpa, 2 * MIB);
	assert_int_equal(vm->slots[1].id, 2);
	assert_int_equal(vm->slots[2].gpa, 4 * MIB);

	assert_int_equal(vmm_mem_unmap(vm, 4 * MIB, 4 * KIB), VMM_ENOENT);
	assert_error_has("no mapping is exactly");
	assert_int_equal(vmm_mem_unmap(vm, 4 * MIB + 4 * KIB, 4 * KIB), VMM_ENOENT);
	assert_int_equal(vmm_mem_unmap(vm, 4 * MIB, 8 * KIB), 0);
	assert_int_equal(fake.mem_unmaps, 1);
	assert_null(vmm__mem_find(vm, 4 * MIB));
	assert_int_equal(vm->nslots, 2);
	/* the freed id is reused */
	assert_int_equal(vmm_mem_map(vm, 8 * MIB, 4 * KIB, VMM_MEM_RW, NULL), 0);
	assert_int_equal(fake.last_slot_id, 1);
}

static void test_map_rejects_bad_args(void **state)
{
	vmm_vm *vm = *state;

	assert_int_equal(vmm_mem_map(vm, 4 * MIB, 0, VMM_MEM_RW, NULL), VMM_EINVAL);
	assert_error_has("size is 0");
	assert_int_equal(vmm_mem_map(vm, 4 * MIB + 1, 4 * KIB, VMM_MEM_RW, NULL), VMM_EINVAL);
	assert_error_has("multiples of 4 KiB");
	assert_int_equal(vmm_mem_map(vm, 4 * MIB, 100, VMM_MEM_RW, NULL), VMM_EINVAL);
	assert_int_equal(vmm_mem_map(vm, 4 * MIB, 4 * KIB, VMM_MEM_RW, (void *)0x1001),
			 VMM_EINVAL);
	assert_error_has("not 4 KiB aligned");
	assert_int_equal(vmm_mem_map(vm, 4 * MIB, 4 * KIB, VMM_MEM_WRITE, NULL), VMM_EINVAL);
	assert_error_has("VMM_MEM_READ");
	assert_int_equal(vmm_mem_map(vm, 4 * MIB, 4 * KIB, VMM_MEM_RW | 0x100, NULL),
			 VMM_EINVAL);
	assert_int_equal(vmm_mem_map(NULL, 4 * MIB, 4 * KIB, VMM_MEM_RW, NULL), VMM_EINVAL);
	assert_int_equal(vm->nslots, 1);
}

static void test_map_rejects_overflow_and_limit(void **state)
{
	vmm_vm *vm = *state;

	/* gpa + size wraps */
	assert_int_equal(vmm_mem_map(vm, 0xfffffffffffff000ull, 0x2000, VMM_MEM_RW, NULL),
			 VMM_ERANGE);
	assert_error_has("guest-physical limit");
	/* ends exactly at 2^48: fine; one page beyond: not */
	assert_int_equal(vmm_mem_map(vm, (1ull << 48) - 4 * KIB, 4 * KIB, VMM_MEM_RW, NULL), 0);
	assert_int_equal(vmm_mem_map(vm, 1ull << 48, 4 * KIB, VMM_MEM_RW, NULL), VMM_ERANGE);
	assert_int_equal(vmm_mem_map(vm, 0, 0xfffffffffffff000ull, VMM_MEM_RW, NULL),
			 VMM_ERANGE);
}

static void test_map_rejects_overlap(void **state)
{
	vmm_vm *vm = *state;

	assert_int_equal(vmm_mem_map(vm, 4 * MIB, 8 * KIB, VMM_MEM_RW, NULL), 0);
	assert_int_equal(vmm_mem_map(vm, 4 * MIB + 4 * KIB, 4 * KIB, VMM_MEM_RW, NULL),
			 VMM_EEXIST);
	assert_error_has("overlaps the existing mapping [0x400000, 0x402000)");
	assert_int_equal(vmm_mem_map(vm, 4 * MIB - 4 * KIB, 8 * KIB, VMM_MEM_RW, NULL),
			 VMM_EEXIST);
	assert_int_equal(vmm_mem_map(vm, 0xff000, 4 * KIB, VMM_MEM_RW, NULL), VMM_EEXIST);
	assert_error_has("[0x0, 0x100000)");
	/* touching on both sides is fine */
	assert_int_equal(vmm_mem_map(vm, 4 * MIB - 4 * KIB, 4 * KIB, VMM_MEM_RW, NULL), 0);
	assert_int_equal(vmm_mem_map(vm, 4 * MIB + 8 * KIB, 4 * KIB, VMM_MEM_RW, NULL), 0);
	assert_int_equal(vm->nslots, 4);
}

static void test_map_slot_limit(void **state)
{
	vmm_vm *vm = *state;
	uint32_t i;

	for (i = 1; i < VMM__MAX_MEMSLOTS; i++)
		assert_int_equal(vmm_mem_map(vm, (uint64_t)i * 16 * MIB, 4 * KIB,
					     VMM_MEM_RW, NULL), 0);
	assert_int_equal(vmm_mem_map(vm, 4096 * MIB, 4 * KIB, VMM_MEM_RW, NULL), VMM_ENOMEM);
	assert_error_has("memory slots are in use");
	assert_int_equal(vm->nslots, VMM__MAX_MEMSLOTS);
}

static void test_backend_refusal_undoes_map(void **state)
{
	vmm_vm *vm = *state;

	fake.fail_mem_map = 1;
	assert_int_equal(vmm_mem_map(vm, 4 * MIB, 4 * KIB, VMM_MEM_RW, NULL), VMM_EBACKEND);
	assert_error_has("fake: mem_map refused");
	assert_int_equal(vm->nslots, 1);
	assert_null(vmm__mem_find(vm, 4 * MIB));
}

static void test_caller_memory(void **state)
{
	vmm_vm *vm = *state;
	uint8_t *buf = mmap(NULL, 8 * KIB, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t out[4];

	assert_true(buf != MAP_FAILED);
	memcpy(buf + 4 * KIB, "ABCD", 4);
	assert_int_equal(vmm_mem_map(vm, 16 * MIB, 8 * KIB, VMM_MEM_RO, buf), 0);
	assert_false(vmm__mem_find(vm, 16 * MIB)->owned);
	assert_ptr_equal(vmm__gpa_to_hva(vm, 16 * MIB + 4 * KIB, 4), buf + 4 * KIB);
	assert_int_equal(vmm_mem_read(vm, 16 * MIB + 4 * KIB, out, 4), 0);
	assert_memory_equal(out, "ABCD", 4);
	/* host writes to read-only maps are allowed */
	assert_int_equal(vmm_mem_write(vm, 16 * MIB, "xy", 2), 0);
	assert_memory_equal(buf, "xy", 2);
	assert_int_equal(vmm_mem_unmap(vm, 16 * MIB, 8 * KIB), 0);
	assert_memory_equal(buf, "xy", 2);  /* the caller's memory survives */
	munmap(buf, 8 * KIB);
}

static void test_read_write_span_slots(void **state)
{
	vmm_vm *vm = *state;
	uint8_t in[12] = "0123456789A", out[12] = { 0 };
	uint64_t edge = 1 * MIB - 6;

	/* RAM is [0, 1M); a second slot [1M, 1M+4K) is adjacent */
	assert_int_equal(vmm_mem_map(vm, 1 * MIB, 4 * KIB, VMM_MEM_RW, NULL), 0);
	assert_int_equal(vmm_mem_write(vm, edge, in, 12), 0);
	assert_int_equal(fake.mem_written_calls, 1);
	assert_int_equal(fake.written_gpa, edge);
	assert_int_equal(fake.written_len, 12);
	assert_int_equal(vmm_mem_read(vm, edge, out, 12), 0);
	assert_memory_equal(out, in, 12);
	assert_memory_equal(vmm__gpa_to_hva(vm, 1 * MIB, 6), "6789A", 6);
	assert_memory_equal(vmm__gpa_to_hva(vm, edge, 6), "012345", 6);
}

static void test_read_write_unmapped(void **state)
{
	vmm_vm *vm = *state;
	uint8_t buf[16];

	memset(buf, 0x5a, sizeof(buf));
	/* [1M-8, 1M+8) runs off RAM: nothing is written, the hole is named */
	assert_int_equal(vmm_mem_write(vm, 1 * MIB - 8, buf, 16), VMM_ERANGE);
	assert_error_has("guest-physical 0x100000 is not mapped");
	assert_int_equal(fake.mem_written_calls, 0);
	assert_int_equal(((uint8_t *)vmm__gpa_to_hva(vm, 1 * MIB - 8, 8))[0], 0);
	assert_int_equal(vmm_mem_read(vm, 2 * MIB, buf, 1), VMM_ERANGE);
	assert_error_has("0x200000 is not mapped");
	/* a gap between two slots */
	assert_int_equal(vmm_mem_map(vm, 1 * MIB + 4 * KIB, 4 * KIB, VMM_MEM_RW, NULL), 0);
	assert_int_equal(vmm_mem_read(vm, 1 * MIB - 1, buf, 2), VMM_ERANGE);
	/* wrap-around of gpa + len */
	assert_int_equal(vmm_mem_read(vm, UINT64_MAX - 3, buf, 8), VMM_ERANGE);
	assert_error_has("wraps around");
	assert_int_equal(vmm_mem_read(vm, 0, NULL, 4), VMM_EINVAL);
	assert_int_equal(vmm_mem_read(vm, 0, buf, 0), 0);
	assert_int_equal(vmm_mem_write(NULL, 0, buf, 1), VMM_EINVAL);
}

static void test_host_ptr(void **state)
{
	vmm_vm *vm = *state;
	void *p = (void *)1;

	assert_int_equal(vmm_mem_host_ptr(vm, 0x100, 16, &p), 0);
	assert_ptr_equal(p, vm->slots[0].hva + 0x100);
	assert_int_equal(vmm_mem_host_ptr(vm, 1 * MIB - 16, 16, &p), 0);
	assert_int_equal(vmm_mem_host_ptr(vm, 1 * MIB - 16, 17, &p), VMM_ERANGE);
	assert_null(p);
	assert_error_has("not inside one mapping");
	/* adjacent slots do not make one host range */
	assert_int_equal(vmm_mem_map(vm, 1 * MIB, 4 * KIB, VMM_MEM_RW, NULL), 0);
	assert_int_equal(vmm_mem_host_ptr(vm, 1 * MIB - 1, 2, &p), VMM_ERANGE);
	assert_int_equal(vmm_mem_host_ptr(vm, 0, UINT64_MAX, &p), VMM_ERANGE);
	assert_int_equal(vmm_mem_host_ptr(vm, 2 * MIB, 1, &p), VMM_ERANGE);
	assert_int_equal(vmm_mem_host_ptr(vm, 0, 1, NULL), VMM_EINVAL);
	assert_null(vmm__gpa_to_hva(vm, UINT64_MAX, 1));
	assert_null(vmm__gpa_to_hva(vm, 0x10, UINT64_MAX));
}

static void test_region_shared_by_two_vms(void **state)
{
	vmm_vm *vm = *state, *vm2 = fake_vm(1 * MIB, 1, 0);
	vmm_region *r = NULL;
	uint8_t *host;
	char out[8] = { 0 };

	assert_non_null(vm2);
	assert_int_equal(vmm_region_create(16 * KIB, &r), 0);
	host = vmm_region_host_ptr(r);
	assert_non_null(host);
	assert_int_equal(vmm_region_size(r), 16 * KIB);
	assert_true(vmm_region_fd(r) >= 0);
	assert_int_equal(atomic_load(&r->refs), 1);
	/* vm maps the whole region, vm2 only its second half, elsewhere */
	assert_int_equal(vmm_mem_share(vm, r, 8 * MIB, 0, 16 * KIB, VMM_MEM_RW), 0);
	assert_int_equal(vmm_mem_share(vm2, r, 2 * MIB, 8 * KIB, 8 * KIB, VMM_MEM_RW), 0);
	assert_int_equal(atomic_load(&r->refs), 3);
	assert_ptr_equal(vmm__gpa_to_hva(vm, 8 * MIB, 1), host);
	assert_ptr_equal(vmm__gpa_to_hva(vm2, 2 * MIB, 1), host + 8 * KIB);

	assert_int_equal(vmm_mem_write(vm, 8 * MIB + 8 * KIB + 5, "shared", 7), 0);
	assert_int_equal(vmm_mem_read(vm2, 2 * MIB + 5, out, 7), 0);
	assert_string_equal(out, "shared");
	assert_string_equal((char *)host + 8 * KIB + 5, "shared");
	memcpy(host + 16 * KIB - 4, "host", 4);
	assert_int_equal(vmm_mem_read(vm2, 2 * MIB + 8 * KIB - 4, out, 4), 0);
	assert_memory_equal(out, "host", 4);

	/* the VMs' references keep it alive after the caller drops its own */
	vmm_region_destroy(r);
	assert_int_equal(atomic_load(&r->refs), 2);
	assert_int_equal(vmm_mem_unmap(vm, 8 * MIB, 16 * KIB), 0);
	assert_int_equal(atomic_load(&r->refs), 1);
	assert_int_equal(vmm_mem_read(vm2, 2 * MIB + 5, out, 7), 0);
	assert_string_equal(out, "shared");
	vmm_vm_destroy(vm2);  /* drops the last reference (ASan checks the free) */
}

static void test_region_bad_args(void **state)
{
	vmm_vm *vm = *state;
	vmm_region *r = (vmm_region *)1;

	assert_int_equal(vmm_region_create(0, &r), VMM_EINVAL);
	assert_null(r);
	assert_int_equal(vmm_region_create(100, &r), VMM_EINVAL);
	assert_int_equal(vmm_region_create(4 * KIB, NULL), VMM_EINVAL);
	assert_int_equal(vmm_region_create(8 * KIB, &r), 0);
	assert_int_equal(vmm_mem_share(vm, r, 4 * MIB, 4 * KIB, 8 * KIB, VMM_MEM_RW),
			 VMM_ERANGE);
	assert_error_has("outside the region");
	assert_int_equal(vmm_mem_share(vm, r, 4 * MIB, 0x10000000000ull, 4 * KIB,
				       VMM_MEM_RW), VMM_ERANGE);
	assert_int_equal(vmm_mem_share(vm, r, 4 * MIB, 100, 4 * KIB, VMM_MEM_RW), VMM_EINVAL);
	assert_int_equal(vmm_mem_share(vm, r, 4 * MIB + 1, 0, 4 * KIB, VMM_MEM_RW), VMM_EINVAL);
	assert_int_equal(vmm_mem_share(vm, r, 0, 0, 4 * KIB, VMM_MEM_RW), VMM_EEXIST);
	fake.fail_mem_map = 1;
	assert_int_equal(vmm_mem_share(vm, r, 4 * MIB, 0, 4 * KIB, VMM_MEM_RW), VMM_EBACKEND);
	assert_int_equal(atomic_load(&r->refs), 1);
	assert_int_equal(vmm_mem_share(NULL, r, 4 * MIB, 0, 4 * KIB, VMM_MEM_RW), VMM_EINVAL);
	assert_int_equal(vmm_region_fd(NULL), VMM_EINVAL);
	assert_null(vmm_region_host_ptr(NULL));
	assert_int_equal(vmm_region_size(NULL), 0);
	vmm_region_destroy(r);
	vmm_region_destroy(NULL);
}

static void test_destroy_unmaps_everything(void **state)
{
	vmm_vm *vm = *state;

	assert_int_equal(vmm_mem_map(vm, 4 * MIB, 4 * KIB, VMM_MEM_RW, NULL), 0);
	vmm_vm_destroy(vm);
	*state = NULL;
	assert_int_equal(fake.mem_unmaps, 2);
	assert_int_equal(fake.vm_destroys, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ram_is_slot_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_and_unmap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_rejects_bad_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_rejects_overflow_and_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_rejects_overlap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_slot_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_refusal_undoes_map, setup, teardown),
		cmocka_unit_test_setup_teardown(test_caller_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_write_span_slots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_write_unmapped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_ptr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_region_shared_by_two_vms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_region_bad_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_unmaps_everything, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
