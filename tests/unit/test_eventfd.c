/* test_eventfd.c - lib/platform/eventfd.c: irqfd and ioeventfd requests
 * reach the backend's ops with every field, and are refused with
 * VMM_ESTATE (no VMM_VM_IRQCHIP), VMM_ERANGE (GSI past 23) or VMM_ENOTSUP
 * (a backend without them, or without VMM__CAP_IRQCHIP for irqfd). On the
 * fake backend; test_kvm_irq runs them on KVM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "fake_backend.h"
#include "lib/platform/platform.h"

static struct {
	int calls, fd, assign, is_pio, has_datamatch;
	uint32_t gsi, len;
	uint64_t addr, datamatch;
} rec;

static uint32_t rec_caps(vmm_vm *vm)
{
	return VMM__CAP_IRQCHIP;
}

static int rec_irqfd(vmm_vm *vm, int fd, uint32_t gsi, int assign)
{
	rec.calls++;
	rec.fd = fd;
	rec.gsi = gsi;
	rec.assign = assign;
	return 0;
}

static int rec_ioeventfd(vmm_vm *vm, uint64_t addr, uint32_t len, int is_pio,
			 uint64_t datamatch, int has_datamatch, int fd, int assign)
{
	rec.calls++;
	rec.addr = addr;
	rec.len = len;
	rec.is_pio = is_pio;
	rec.datamatch = datamatch;
	rec.has_datamatch = has_datamatch;
	rec.fd = fd;
	rec.assign = assign;
	return 0;
}

static vmm__backend_ops rec_ops;

static vmm_vm *vm_with(const vmm__backend_ops *ops, uint32_t flags)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	vmm_vm *vm = NULL;

	cfg.mem_size = 1 << 20;
	cfg.flags = flags;
	if (vmm__vm_create_with_ops(&cfg, ops, &vm) != 0)
		fail_msg("vm create: %s", vmm_last_error());
	return vm;
}

static void test_forwarded(void **state)
{
	vmm__ioeventfd e = { .addr = 0xd0000010, .len = 4, .is_pio = 0,
			     .datamatch = 0x1234, .has_datamatch = 1, .fd = 9 };
	vmm_vm *vm;

	rec_ops = fake_ops;
	rec_ops.caps = rec_caps;
	rec_ops.irqfd = rec_irqfd;
	rec_ops.ioeventfd = rec_ioeventfd;
	vm = vm_with(&rec_ops, VMM_VM_IRQCHIP);
	memset(&rec, 0, sizeof(rec));
	assert_int_equal(vmm__irqfd_add(vm, 7, 23), 0);
	assert_int_equal(rec.calls, 1);
	assert_int_equal(rec.fd, 7);
	assert_int_equal(rec.gsi, 23);
	assert_int_equal(rec.assign, 1);
	assert_int_equal(vmm__irqfd_remove(vm, 7, 23), 0);
	assert_int_equal(rec.assign, 0);
	assert_int_equal(vmm__irqfd_add(vm, 7, 24), VMM_ERANGE);
	assert_int_equal(rec.calls, 2);
	assert_int_equal(vmm__ioeventfd_add(vm, &e), 0);
	assert_int_equal(rec.addr, 0xd0000010);
	assert_int_equal(rec.len, 4);
	assert_int_equal(rec.is_pio, 0);
	assert_int_equal(rec.datamatch, 0x1234);
	assert_int_equal(rec.has_datamatch, 1);
	assert_int_equal(rec.fd, 9);
	assert_int_equal(rec.assign, 1);
	assert_int_equal(vmm__ioeventfd_remove(vm, &e), 0);
	assert_int_equal(rec.assign, 0);
	assert_int_equal(rec.calls, 4);
	vmm_vm_destroy(vm);
}

static void test_refused(void **state)
{
	vmm__ioeventfd e = { .addr = 0x90, .len = 1, .is_pio = 1, .fd = 3 };
	vmm_vm *plain = vm_with(&fake_ops, 0);
	vmm_vm *chip = vm_with(&fake_ops, VMM_VM_IRQCHIP);

	assert_int_equal(vmm__irqfd_add(plain, 3, 4), VMM_ESTATE);
	assert_non_null(strstr(vmm_last_error(), "VMM_VM_IRQCHIP"));
	assert_int_equal(vmm__irqfd_add(chip, 3, 4), VMM_ENOTSUP);
	assert_non_null(strstr(vmm_last_error(), "fake"));
	assert_int_equal(vmm__irqfd_remove(chip, 3, 4), VMM_ENOTSUP);
	assert_int_equal(vmm__ioeventfd_add(chip, &e), VMM_ENOTSUP);
	assert_int_equal(vmm__ioeventfd_remove(plain, &e), VMM_ENOTSUP);
	vmm_vm_destroy(plain);
	vmm_vm_destroy(chip);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forwarded),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
