/* test_virtio.c - the virtio PCI transport (lib/virtio/pci*.c, api.c) and
 * virtio-rng, driven the way Linux's virtio_pci_modern drives them: find
 * the capabilities, negotiate, set up a queue, enable MSI-X, kick, and
 * check the used ring, the buffer and the interrupt. Plus INTx with ISR,
 * refused negotiation, a broken driver and reset, and an embedder's
 * device whose reset callback runs when the driver writes status 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "lib/platform/pci.h"
#include "lib/platform/platform.h"
#include "lib/virtio/virtio_pci.h"

#include "virtio_driver.h"

static int setup(void **state)
{
	return driver_setup(vmm_virtio_rng_add);
}

static int teardown(void **state)
{
	return driver_teardown();
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

/* An embedder's device: queue_notify keeps the request it pops; reset
 * counts the calls and may push what it kept (dropped: popped before). */
static struct {
	vmm_virtio_dev *dev;
	vmm_virtq_elem *held;
	int resets, status_at_reset, push_in_reset;
} emb;

static void emb_notify(void *opaque, vmm_virtio_dev *dev, uint16_t q)
{
	vmm_virtq_elem *e;

	if (!emb.held && vmm_virtq_pop(dev, q, &e) == 1)
		emb.held = e;
}

static void emb_reset(void *opaque, vmm_virtio_dev *dev)
{
	uint64_t st = 0xff;

	assert_ptr_equal(opaque, &emb);
	assert_ptr_equal(dev, emb.dev);
	emb.resets++;
	assert_int_equal(vmm__bus_mmio(vcpu, bar4 + 20, 1, 0, &st), VMM__BUS_DONE);
	emb.status_at_reset = (int)st;           /* d->lock is not held here */
	if (emb.push_in_reset && emb.held) {
		vmm_virtq_push(dev, 0, emb.held, 4);
		emb.held = NULL;
	}
}

static const vmm_virtio_ops emb_ops = {
	.version = VMM_VIRTIO_OPS_VERSION, .device_id = 0x1f, .pci_class = 0xff0000,
	.num_queues = 1, .queue_size = 256, .queue_notify = emb_notify, .reset = emb_reset,
};

static int add_emb(vmm_vm *v)
{
	memset(&emb, 0, sizeof(emb));
	emb.status_at_reset = -1;
	return vmm_virtio_add(v, &emb_ops, &emb, &emb.dev);
}

static int setup_emb(void **state)
{
	return driver_setup(add_emb);
}

static uint16_t used_idx(void)
{
	uint16_t idx;

	vmm_mem_read(vm, USED + 2, &idx, 2);
	return idx;
}

/* Status 0 calls ops->reset once per write, on the writing thread, after
 * the transport's reset; a request popped before it is dropped when
 * pushed, never written into the rings the driver sets up afterwards. */
static void test_reset_callback(void **state)
{
	uint32_t used[2];

	negotiate(1);
	setup_queue(VMM__VPCI_NO_VECTOR);
	assert_int_equal(emb.resets, 0);
	offer_buffer(16, VMM__VRING_DESC_F_WRITE);
	bar(VMM__VPCI_NOTIFY, 2, 1, 0);
	assert_non_null(emb.held);
	bar(20, 1, 1, 0);                                 /* reset */
	assert_int_equal(emb.resets, 1);
	assert_int_equal(emb.status_at_reset, 0);
	assert_int_equal(bar(20, 1, 0, 0), 0);
	assert_int_equal(bar(28, 2, 0, 0), 0);            /* queue disabled */
	/* The driver starts again on fresh rings; the old request completes. */
	negotiate(1);
	setup_queue(VMM__VPCI_NO_VECTOR);
	assert_int_equal(emb.resets, 1);                  /* other writes: no call */
	vmm_virtq_push(emb.dev, 0, emb.held, 7);
	emb.held = NULL;
	assert_int_equal(used_idx(), 0);
	/* A request of the new epoch completes as usual. */
	offer_buffer(16, VMM__VRING_DESC_F_WRITE);
	bar(VMM__VPCI_NOTIFY, 2, 1, 0);
	assert_non_null(emb.held);
	vmm_virtq_push(emb.dev, 0, emb.held, 5);
	emb.held = NULL;
	assert_int_equal(used_idx(), 1);
	vmm_mem_read(vm, USED + 4, used, 8);
	assert_int_equal(used[0], 0);
	assert_int_equal(used[1], 5);
	/* The callback may push what it holds (and so free it). */
	offer_buffer(16, VMM__VRING_DESC_F_WRITE);
	{
		uint16_t idx = 2, head = 0;

		vmm_mem_write(vm, AVAIL + 4 + 2, &head, 2);
		vmm_mem_write(vm, AVAIL + 2, &idx, 2);
	}
	bar(VMM__VPCI_NOTIFY, 2, 1, 0);
	assert_non_null(emb.held);
	emb.push_in_reset = 1;
	bar(20, 1, 1, 0);
	assert_int_equal(emb.resets, 2);
	assert_null(emb.held);
	assert_int_equal(used_idx(), 1);                  /* nothing written */
	bar(20, 1, 1, 0);                                 /* a reset of a reset device */
	assert_int_equal(emb.resets, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity_and_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rng_with_msix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rng_with_intx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals_and_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_callback, setup_emb, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
