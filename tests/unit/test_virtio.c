/* test_virtio.c - the virtio PCI transport (lib/virtio/pci*.c, api.c) and
 * virtio-rng, driven the way Linux's virtio_pci_modern drives them: find
 * the capabilities, negotiate, set up a queue, enable MSI-X, kick, and
 * check the used ring, the buffer and the interrupt. Plus INTx with ISR,
 * refused negotiation, a broken driver and reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "lib/platform/pci.h"
#include "lib/platform/platform.h"
#include "lib/virtio/virtio_pci.h"

#define DESC 0x10000ull
#define AVAIL 0x11000ull
#define USED 0x12000ull
#define BUF 0x20000ull

static vmm_vm *vm;
static vmm_vcpu *vcpu;
static uint64_t bar4, bar1;
static int msis;
static uint32_t msi_data;

static int fake_msi(vmm_vm *v, uint64_t addr, uint32_t data)
{
	msis++;
	msi_data = data;
	return 0;
}

static uint32_t cfg(unsigned reg, unsigned size, int write, uint32_t v)
{
	uint64_t d = v;

	assert_int_equal(vmm__bus_mmio(vcpu, VMM__PCI_ECAM_BASE + (1 << 15) + reg, (uint8_t)size,
				       (uint8_t)write, &d), VMM__BUS_DONE);
	return (uint32_t)d;
}

static uint64_t bar(uint64_t off, unsigned size, int write, uint64_t v)
{
	uint64_t d = v;

	assert_int_equal(vmm__bus_mmio(vcpu, bar4 + off, (uint8_t)size, (uint8_t)write, &d),
			 VMM__BUS_DONE);
	return d;
}

static int setup(void **state)
{
	vmm_vm_config c = VMM_VM_CONFIG_INIT;

	c.backend = "emu";
	c.mem_size = 16u << 20;
	c.flags = VMM_VM_IRQCHIP;
	assert_int_equal(vmm_vm_create(&c, &vm), 0);
	assert_int_equal(vmm_vcpu_create(vm, 0, &vcpu), 0);
	assert_int_equal(vmm_virtio_rng_add(vm), 0);
	vmm__pci_msi_fn = fake_msi;
	msis = 0;
	cfg(0x04, 2, 1, 0x6);                           /* memory decode, bus master */
	bar4 = (cfg(0x20, 4, 0, 0) & ~0xfu) | (uint64_t)cfg(0x24, 4, 0, 0) << 32;
	bar1 = cfg(0x14, 4, 0, 0) & ~0xfu;
	return 0;
}

static int teardown(void **state)
{
	vmm_vm_destroy(vm);
	vmm__pci_msi_fn = vmm__msi_send;
	return 0;
}

/* Walks the capability list: the virtio structures and MSI-X. */
static void test_identity_and_caps(void **state)
{
	unsigned types = 0, at;

	assert_int_equal(cfg(0, 4, 0, 0), 0x10441af4);  /* 1af4:1044 virtio-rng */
	assert_int_equal(cfg(0x08, 1, 0, 0), 1);        /* revision 1 */
	assert_int_equal(cfg(0x2e, 2, 0, 0), 0x1100);
	for (at = cfg(0x34, 1, 0, 0); at; at = cfg(at + 1, 1, 0, 0)) {
		if (cfg(at, 1, 0, 0) == 0x09) {
			unsigned type = cfg(at + 3, 1, 0, 0);

			types |= 1u << type;
			if (type != 5)
				assert_int_equal(cfg(at + 4, 1, 0, 0), 4);     /* BAR 4 */
			if (type == 2)
				assert_int_equal(cfg(at + 16, 4, 0, 0), 4);    /* multiplier */
		} else {
			assert_int_equal(cfg(at, 1, 0, 0), 0x11);          /* MSI-X */
			assert_int_equal(cfg(at + 2, 2, 0, 0) & 0x7ff, 1);  /* 2 vectors */
		}
	}
	assert_int_equal(types, (1u << 1) | (1u << 2) | (1u << 3) | (1u << 5));
	assert_true(bar4 >= VMM__PCI_MMIO_BASE);
}

static void negotiate(uint32_t hi_features)
{
	bar(20, 1, 1, 1 | 2);                            /* ACKNOWLEDGE, DRIVER */
	bar(0, 4, 1, 1);
	assert_int_equal(bar(4, 4, 0, 0), 1);            /* VERSION_1 */
	bar(0, 4, 1, 0);
	assert_int_equal(bar(4, 4, 0, 0) & (3u << 28), 3u << 28);
	bar(8, 4, 1, 1);
	bar(12, 4, 1, hi_features);
	bar(20, 1, 1, 1 | 2 | 8);
}

static void setup_queue(uint16_t vector)
{
	uint16_t zero = 0;

	vmm_mem_write(vm, AVAIL + 2, &zero, 2);
	bar(22, 2, 1, 0);                                /* queue_select 0 */
	assert_int_equal(bar(24, 2, 0, 0), 256);
	bar(24, 2, 1, 8);
	bar(26, 2, 1, vector);
	bar(32, 4, 1, DESC), bar(36, 4, 1, 0);
	bar(40, 8, 1, AVAIL);
	bar(48, 4, 1, USED), bar(52, 4, 1, 0);
	bar(28, 2, 1, 1);
	assert_int_equal(bar(28, 2, 0, 0), 1);
	bar(20, 1, 1, 1 | 2 | 8 | 4);                    /* DRIVER_OK */
}

static void offer_buffer(uint32_t len, uint16_t flags)
{
	uint8_t d[16];
	uint64_t addr = BUF;
	uint16_t head = 0, idx = 1;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memset(d + 14, 0, 2);
	vmm_mem_write(vm, DESC, d, 16);
	vmm_mem_write(vm, AVAIL + 4, &head, 2);
	vmm_mem_write(vm, AVAIL + 2, &idx, 2);
}

static void test_rng_with_msix(void **state)
{
	uint8_t buf[64];
	uint32_t used[3] = { 0 }, zeros = 0;
	uint64_t entry = bar1 + 16;                      /* MSI-X vector 1 */

	negotiate(1);
	assert_int_equal(bar(20, 1, 0, 0), 1 | 2 | 8);   /* FEATURES_OK held */
	setup_queue(1);
	assert_int_equal(bar(26, 2, 0, 0), 1);
	/* Program and enable MSI-X (vector 1), unmasked. */
	{
		uint64_t d = 0xfee00000;
		vmm__bus_mmio(vcpu, entry, 4, 1, &d);
		d = 0x41;
		vmm__bus_mmio(vcpu, entry + 8, 4, 1, &d);
		d = 0;
		vmm__bus_mmio(vcpu, entry + 12, 4, 1, &d);
	}
	for (unsigned at = cfg(0x34, 1, 0, 0); at; at = cfg(at + 1, 1, 0, 0))
		if (cfg(at, 1, 0, 0) == 0x11)
			cfg(at + 2, 2, 1, 0x8000);
	offer_buffer(sizeof(buf), VMM__VRING_DESC_F_WRITE);
	bar(VMM__VPCI_NOTIFY + 0, 2, 1, 0);               /* kick queue 0 */
	vmm_mem_read(vm, USED + 2, used, 10);
	assert_int_equal(used[0] & 0xffff, 1);            /* used idx */
	vmm_mem_read(vm, USED + 4, used, 8);
	assert_int_equal(used[0], 0);                     /* id */
	assert_int_equal(used[1], sizeof(buf));           /* len */
	vmm_mem_read(vm, BUF, buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		zeros += buf[i] == 0;
	assert_true(zeros < 16);                          /* random, not untouched */
	assert_int_equal(msis, 1);
	assert_int_equal(msi_data, 0x41);
}

static void test_rng_with_intx(void **state)
{
	negotiate(1);
	setup_queue(VMM__VPCI_NO_VECTOR);
	offer_buffer(16, VMM__VRING_DESC_F_WRITE);
	bar(VMM__VPCI_NOTIFY, 2, 1, 0);
	assert_int_equal(msis, 0);
	assert_true(cfg(0x06, 2, 0, 0) & 0x08);           /* INTx asserted */
	assert_int_equal(bar(VMM__VPCI_ISR, 1, 0, 0), 1);  /* queue interrupt */
	assert_false(cfg(0x06, 2, 0, 0) & 0x08);          /* read cleared it */
	assert_int_equal(bar(VMM__VPCI_ISR, 1, 0, 0), 0);
}

static void test_refusals_and_reset(void **state)
{
	/* Without VERSION_1 (a legacy driver): FEATURES_OK does not stick. */
	bar(20, 1, 1, 3);
	bar(8, 4, 1, 1);
	bar(12, 4, 1, 0);
	bar(20, 1, 1, 3 | 8);
	assert_int_equal(bar(20, 1, 0, 0), 3);
	/* Features we never offered: refused too. */
	bar(12, 4, 1, 1 | 0x80);
	bar(20, 1, 1, 3 | 8);
	assert_int_equal(bar(20, 1, 0, 0), 3);
	bar(20, 1, 1, 0);                                 /* reset */
	assert_int_equal(bar(20, 1, 0, 0), 0);
	/* Bad queue sizes are ignored; a chain outside RAM breaks the device. */
	negotiate(1);
	bar(22, 2, 1, 0);
	bar(24, 2, 1, 6);
	assert_int_equal(bar(24, 2, 0, 0), 256);
	setup_queue(VMM__VPCI_NO_VECTOR);
	{
		uint8_t d[16] = { 0 };
		uint64_t addr = 15ull << 20;
		uint32_t len = 4u << 20;
		uint16_t flags = VMM__VRING_DESC_F_WRITE, idx = 1;

		memcpy(d, &addr, 8);
		memcpy(d + 8, &len, 4);
		memcpy(d + 12, &flags, 2);
		vmm_mem_write(vm, DESC, d, 16);
		vmm_mem_write(vm, AVAIL + 2, &idx, 2);
	}
	bar(VMM__VPCI_NOTIFY, 2, 1, 0);
	assert_true(bar(20, 1, 0, 0) & VMM__VIRTIO_NEEDS_RESET);
	assert_int_equal(bar(VMM__VPCI_ISR, 1, 0, 0), 2);  /* config change */
	bar(20, 1, 1, 0);
	assert_int_equal(bar(20, 1, 0, 0), 0);
	assert_int_equal(bar(28, 2, 0, 0), 0);            /* queue disabled again */
	/* A device for a VM without a PCI bus. */
	{
		vmm_vm_config c = VMM_VM_CONFIG_INIT;
		vmm_vm *plain;

		c.backend = "emu";
		c.mem_size = 1u << 20;
		assert_int_equal(vmm_vm_create(&c, &plain), 0);
		assert_int_equal(vmm_virtio_rng_add(plain), VMM_ESTATE);
		vmm_vm_destroy(plain);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity_and_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rng_with_msix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rng_with_intx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals_and_reset, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
