/* test_bus.c - port/MMIO device registration and dispatch, debug exit device. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fake_backend.h"

static void assert_error_has(const char *needle)
{
	if (!strstr(vmm_last_error(), needle))
		fail_msg("last error '%s' lacks '%s'", vmm_last_error(), needle);
}

typedef struct probe_dev {
	int calls;
	int ret;
	uint16_t port;
	uint64_t addr;
	uint8_t size, is_write;
	uint64_t last_write;
	uint64_t read_value;
	vmm_vcpu *vcpu;
} probe_dev;

static int probe_pio(void *opaque, vmm_vcpu *vcpu, uint16_t port, uint8_t size,
		     uint8_t is_write, uint32_t *data)
{
	probe_dev *d = opaque;

	d->calls++;
	d->port = port;
	d->size = size;
	d->is_write = is_write;
	d->vcpu = vcpu;
	if (is_write)
		d->last_write = *data;
	else
		*data = (uint32_t)d->read_value;
	if (d->ret < 0)
		return vmm__err(d->ret, "probe device broke");
	return d->ret;
}

static int probe_mmio(void *opaque, vmm_vcpu *vcpu, uint64_t addr, uint8_t size,
		      uint8_t is_write, uint64_t *data)
{
	probe_dev *d = opaque;

	d->calls++;
	d->addr = addr;
	d->size = size;
	d->is_write = is_write;
	if (is_write)
		d->last_write = *data;
	else
		*data = d->read_value;
	return d->ret;
}

typedef struct fixture {
	vmm_vm *vm;
	vmm_vcpu *vcpu;
} fixture;

static int setup(void **state)
{
	static fixture f;

	fake_reset();
	f.vm = fake_vm(1 << 20, 1, VMM_VM_NO_UART | VMM_VM_NO_DEBUG_EXIT);
	if (!f.vm || vmm_vcpu_create(f.vm, 0, &f.vcpu) != 0)
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	vmm_vm_destroy(((fixture *)*state)->vm);
	return 0;
}

static void test_pio_register_and_dispatch(void **state)
{
	fixture *f = *state;
	probe_dev a = { .read_value = 0xdeadbeef }, b = { 0 };
	uint32_t data;

	assert_int_equal(vmm_pio_register(f->vm, 0x100, 8, probe_pio, &a), 0);
	assert_int_equal(vmm_pio_register(f->vm, 0x80, 1, probe_pio, &b), 0);
	assert_int_equal(f->vm->pio.count, 2);
	assert_int_equal(f->vm->pio.ranges[0].base, 0x80);

	data = 0x1234;
	assert_int_equal(vmm__bus_pio(f->vcpu, 0x106, 2, 1, &data), VMM__BUS_DONE);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.port, 0x106);
	assert_int_equal(a.size, 2);
	assert_int_equal(a.last_write, 0x1234);
	assert_ptr_equal(a.vcpu, f->vcpu);

	/* reads are masked to the access size */
	assert_int_equal(vmm__bus_pio(f->vcpu, 0x101, 1, 0, &data), VMM__BUS_DONE);
	assert_int_equal(data, 0xef);
	assert_int_equal(vmm__bus_pio(f->vcpu, 0x104, 4, 0, &data), VMM__BUS_DONE);
	assert_int_equal(data, 0xdeadbeef);
	assert_int_equal(vmm__bus_pio(f->vcpu, 0x80, 1, 1, &data), VMM__BUS_DONE);
	assert_int_equal(b.calls, 1);

	/* outside, and straddling the end of a range: unclaimed */
	assert_int_equal(vmm__bus_pio(f->vcpu, 0x108, 1, 0, &data), VMM__BUS_UNCLAIMED);
	assert_int_equal(vmm__bus_pio(f->vcpu, 0x7f, 1, 0, &data), VMM__BUS_UNCLAIMED);
	assert_int_equal(vmm__bus_pio(f->vcpu, 0x106, 4, 0, &data), VMM__BUS_UNCLAIMED);
	assert_int_equal(vmm__bus_pio(f->vcpu, 0x80, 2, 1, &data), VMM__BUS_UNCLAIMED);
	assert_int_equal(vmm__bus_pio(f->vcpu, 0xffff, 1, 0, &data), VMM__BUS_UNCLAIMED);
	assert_int_equal(a.calls, 3);
	assert_int_equal(b.calls, 1);
	assert_true(vmm__bus_pio(f->vcpu, 0x100, 3, 0, &data) < 0);
}

static void test_pio_register_errors(void **state)
{
	fixture *f = *state;
	probe_dev a = { 0 };

	assert_int_equal(vmm_pio_register(f->vm, 0x100, 8, probe_pio, &a), 0);
	assert_int_equal(vmm_pio_register(f->vm, 0x107, 1, probe_pio, &a), VMM_EEXIST);
	assert_error_has("overlaps the device at [0x100, 0x107]");
	assert_int_equal(vmm_pio_register(f->vm, 0xf0, 0x11, probe_pio, &a), VMM_EEXIST);
	assert_int_equal(vmm_pio_register(f->vm, 0x0, 0xffff, probe_pio, &a), VMM_EEXIST);
	assert_int_equal(vmm_pio_register(f->vm, 0x200, 0, probe_pio, &a), VMM_EINVAL);
	assert_int_equal(vmm_pio_register(f->vm, 0xfff0, 0x11, probe_pio, &a), VMM_EINVAL);
	assert_error_has("go past 0xffff");
	assert_int_equal(vmm_pio_register(f->vm, 0x200, 1, NULL, &a), VMM_EINVAL);
	assert_int_equal(vmm_pio_register(NULL, 0x200, 1, probe_pio, &a), VMM_EINVAL);
	/* adjacent on both sides is fine; the last port too */
	assert_int_equal(vmm_pio_register(f->vm, 0xf8, 8, probe_pio, &a), 0);
	assert_int_equal(vmm_pio_register(f->vm, 0x108, 8, probe_pio, &a), 0);
	assert_int_equal(vmm_pio_register(f->vm, 0xfff0, 0x10, probe_pio, &a), 0);
	assert_int_equal(f->vm->pio.count, 4);
}

static void test_unregister(void **state)
{
	fixture *f = *state;
	probe_dev a = { 0 };
	uint32_t data = 0;

	assert_int_equal(vmm_pio_register(f->vm, 0x100, 8, probe_pio, &a), 0);
	assert_int_equal(vmm_pio_unregister(f->vm, 0x101), VMM_ENOENT);
	assert_error_has("no device starts at 0x101");
	assert_int_equal(vmm_pio_unregister(f->vm, 0x100), 0);
	assert_int_equal(vmm__bus_pio(f->vcpu, 0x100, 1, 1, &data), VMM__BUS_UNCLAIMED);
	assert_int_equal(vmm_pio_unregister(f->vm, 0x100), VMM_ENOENT);
	assert_int_equal(vmm_pio_register(f->vm, 0x100, 8, probe_pio, &a), 0);
	assert_int_equal(vmm_mmio_unregister(f->vm, 0x100), VMM_ENOENT);
	assert_int_equal(a.calls, 0);
}

static void test_device_failure_and_stop(void **state)
{
	fixture *f = *state;
	probe_dev a = { .ret = VMM_EIO };
	uint32_t data = 0;

	assert_int_equal(vmm_pio_register(f->vm, 0x510, 2, probe_pio, &a), 0);
	assert_int_equal(vmm__bus_pio(f->vcpu, 0x511, 1, 1, &data), VMM_EIO);
	assert_string_equal(vmm_last_error(), "device at port 0x511 failed: probe device broke");
	a.ret = 1;      /* only built-in devices may stop the vCPU */
	assert_int_equal(vmm__bus_pio(f->vcpu, 0x510, 1, 1, &data), VMM_EINTERNAL);
	assert_error_has("returned 1");
	assert_int_equal(vmm_pio_unregister(f->vm, 0x510), 0);
	assert_int_equal(vmm__pio_register_internal(f->vm, 0x510, 2, probe_pio, &a), 0);
	assert_int_equal(vmm__bus_pio(f->vcpu, 0x510, 1, 1, &data), VMM__BUS_STOP);
	a.ret = 7;
	assert_int_equal(vmm__bus_pio(f->vcpu, 0x510, 1, 1, &data), VMM_EINTERNAL);
	assert_error_has("returned 7");
}

static void test_mmio(void **state)
{
	fixture *f = *state;
	probe_dev a = { .read_value = 0x1122334455667788ull }, b = { 0 };
	uint64_t data = 0;

	assert_int_equal(vmm_mmio_register(f->vm, 0xfee00000, 0x1000, probe_mmio, &a), 0);
	assert_int_equal(vmm_mmio_register(f->vm, 0xfffffffffffff000ull, 0x1000, probe_mmio,
					   &b), 0);
	assert_int_equal(vmm_mmio_register(f->vm, 0xfffffffffffff000ull, 0x1001, probe_mmio,
					   &b), VMM_EINVAL);
	assert_error_has("wraps around");
	assert_int_equal(vmm_mmio_register(f->vm, 0xfee00800, 0x1000, probe_mmio, &b),
			 VMM_EEXIST);
	assert_int_equal(vmm_mmio_register(f->vm, 0x1000, 0, probe_mmio, &b), VMM_EINVAL);

	assert_int_equal(vmm__bus_mmio(f->vcpu, 0xfee00ff8, 8, 0, &data), VMM__BUS_DONE);
	assert_int_equal(data, 0x1122334455667788ull);
	assert_int_equal(vmm__bus_mmio(f->vcpu, 0xfee00020, 2, 0, &data), VMM__BUS_DONE);
	assert_int_equal(data, 0x7788);
	data = 0xabcdef;
	assert_int_equal(vmm__bus_mmio(f->vcpu, 0xfee000b0, 4, 1, &data), VMM__BUS_DONE);
	assert_int_equal(a.addr, 0xfee000b0);
	assert_int_equal(a.last_write, 0xabcdef);
	assert_int_equal(vmm__bus_mmio(f->vcpu, 0xfee00ffc, 8, 0, &data), VMM__BUS_UNCLAIMED);
	assert_int_equal(vmm__bus_mmio(f->vcpu, 0xfee01000, 1, 0, &data), VMM__BUS_UNCLAIMED);
	assert_int_equal(vmm__bus_mmio(f->vcpu, UINT64_MAX, 1, 1, &data), VMM__BUS_DONE);
	assert_int_equal(b.addr, UINT64_MAX);
	assert_int_equal(vmm__bus_mmio(f->vcpu, UINT64_MAX - 3, 8, 0, &data),
			 VMM__BUS_UNCLAIMED);
	assert_int_equal(a.calls, 3);
	assert_int_equal(vmm_mmio_unregister(f->vm, 0xfee00000), 0);
	assert_int_equal(vmm__bus_mmio(f->vcpu, 0xfee00000, 4, 0, &data), VMM__BUS_UNCLAIMED);
}

static void test_range_table_full(void **state)
{
	fixture *f = *state;
	probe_dev a = { 0 };

	for (uint16_t i = 0; i < VMM__MAX_BUS_RANGES; i++)
		assert_int_equal(vmm_pio_register(f->vm, (uint16_t)(0x1000 + i * 2), 1,
						  probe_pio, &a), 0);
	assert_int_equal(vmm_pio_register(f->vm, 0x10, 1, probe_pio, &a), VMM_ENOMEM);
	assert_error_has("device ranges are in use");
}

static void test_debug_exit_device(void **state)
{
	vmm_vm *vm;
	vmm_vcpu *vcpu;
	uint32_t data;

	fake_reset();
	vm = fake_vm(1 << 20, 1, VMM_VM_NO_UART);
	assert_non_null(vm);
	assert_int_equal(vmm_vcpu_create(vm, 0, &vcpu), 0);
	data = 0x12345678;
	assert_int_equal(vmm__bus_pio(vcpu, 0xf4, 4, 1, &data), VMM__BUS_STOP);
	assert_int_equal(vcpu->exit.reason, VMM_EXIT_DEBUG_EXIT);
	assert_int_equal(vcpu->exit.debug_exit.code, 0x12345678);
	data = 0xabcd;
	assert_int_equal(vmm__bus_pio(vcpu, 0xf4, 1, 1, &data), VMM__BUS_STOP);
	assert_int_equal(vcpu->exit.debug_exit.code, 0xcd);
	data = 0xfffe1234;
	assert_int_equal(vmm__bus_pio(vcpu, 0xf4, 2, 1, &data), VMM__BUS_STOP);
	assert_int_equal(vcpu->exit.debug_exit.code, 0x1234);
	vcpu->exit.reason = VMM_EXIT_NONE;
	assert_int_equal(vmm__bus_pio(vcpu, 0xf5, 1, 1, &data), VMM__BUS_DONE);
	assert_int_equal(vcpu->exit.reason, VMM_EXIT_NONE);
	assert_int_equal(vmm__bus_pio(vcpu, 0xf4, 2, 0, &data), VMM__BUS_DONE);
	assert_int_equal(data, 0xffff);
	assert_int_equal(vmm__bus_pio(vcpu, 0xf4, 4, 0, &data), VMM__BUS_DONE);
	assert_int_equal(data, 0xffffffff);
	assert_int_equal(vmm__bus_pio(vcpu, 0xf6, 4, 1, &data), VMM__BUS_UNCLAIMED);
	/* the built-in devices occupy their ports */
	assert_int_equal(vmm_pio_register(vm, 0xf7, 1, probe_pio, NULL), VMM_EEXIST);
	assert_int_equal(vmm_pio_register(vm, 0x3f8, 1, probe_pio, NULL), 0);
	vmm_vm_destroy(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pio_register_and_dispatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pio_register_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unregister, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_failure_and_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmio, setup, teardown),
		cmocka_unit_test_setup_teardown(test_range_table_full, setup, teardown),
		cmocka_unit_test(test_debug_exit_device),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
