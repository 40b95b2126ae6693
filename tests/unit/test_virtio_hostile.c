/* test_virtio_hostile.c - regressions for what the virtio fuzz targets
 * (tests/fuzz/fuzz_virtio.c) and their review found in the transport and
 * the split ring, each driven as a hostile driver would through ECAM and
 * BAR 4: features changed under an enabled queue (the event-index fields
 * then lay past the mapped rings), a reset the device never heard of, and
 * a completion from before a reset landing in the next driver's rings. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "lib/platform/pci.h"
#include "lib/platform/platform.h"
#include "lib/virtio/virtio_pci.h"

#include "virtio_driver.h"

#define EDGE 0x2000000ull           /* a 4 KiB slot with a guard page above */

static uint8_t *edge;

static vmm_virtio_dev *first_dev(void)
{
	return vm->platform->virtio;
}

/* A page of guest RAM at EDGE whose next host page is PROT_NONE. */
static void map_edge(void)
{
	edge = mmap(NULL, 8192, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(edge != MAP_FAILED);
	assert_int_equal(mprotect(edge, 4096, PROT_READ | PROT_WRITE), 0);
	assert_int_equal(vmm_mem_map(vm, EDGE, 4096, VMM_MEM_READ | VMM_MEM_WRITE, edge), 0);
}

static int setup_rng(void **state)
{
	return driver_setup(vmm_virtio_rng_add);
}

static int teardown(void **state)
{
	driver_teardown();
	if (edge)
		munmap(edge, 8192);
	edge = NULL;
	return 0;
}

/* Queue 0 of size 1: descriptor and avail ring at EDGE, the used ring in
 * the last 12 bytes of the page (no room for avail_event after it). */
static void queue_at_edge(void)
{
	bar(22, 2, 1, 0);
	bar(24, 2, 1, 1);
	bar(26, 2, 1, VMM__VPCI_NO_VECTOR);
	bar(32, 8, 1, EDGE);
	bar(40, 8, 1, EDGE + 16);
	bar(48, 8, 1, EDGE + 4096 - 12);
	bar(28, 2, 1, 1);
}

static void offer_at_edge(uint16_t idx)
{
	uint8_t d[16] = { 0 };
	uint64_t addr = BUF;
	uint32_t len = 32;
	uint16_t flags = VMM__VRING_DESC_F_WRITE, head = 0;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(edge, d, 16);
	memcpy(edge + 16 + 4, &head, 2);
	memcpy(edge + 16 + 2, &idx, 2);
}

/* Found by fuzz_virtio_rng (about 30 s from an empty corpus, on the code
 * before the fix): the driver cleared FEATURES_OK, wrote
 * EVENT_IDX and set it again; the enabled queue then took the event-index
 * layout and the next pop stored avail_event 2 bytes past its used ring,
 * past guest RAM (here: into the guard page). Status bits now stay set
 * until a reset, so the features cannot change under an enabled queue. */
static void test_features_frozen_under_queues(void **state)
{
	uint16_t used_idx;

	map_edge();
	negotiate(1);                                     /* VERSION_1 only */
	queue_at_edge();
	assert_int_equal(bar(28, 2, 0, 0), 1);
	bar(20, 1, 1, 1 | 2 | 8 | 4);
	bar(20, 1, 1, 1 | 2);                            /* FEATURES_OK "cleared" */
	bar(8, 4, 1, 0);
	bar(12, 4, 1, 1u << 29);                          /* EVENT_IDX */
	bar(20, 1, 1, 1 | 2 | 8 | 4);
	offer_at_edge(1);
	bar(VMM__VPCI_NOTIFY, 2, 1, 0);                   /* faulted before */
	memcpy(&used_idx, edge + 4096 - 12 + 2, 2);
	assert_int_equal(used_idx, 1);
	assert_int_equal(bar(20, 1, 0, 0), 1 | 2 | 4 | 8);
	assert_int_equal(bar(12, 4, 0, 0), 0);            /* the write was ignored */
	assert_false(first_dev()->q[0].vq.event_idx);
	assert_false(bar(20, 1, 0, 0) & VMM__VIRTIO_NEEDS_RESET);
}

/* A queue enabled before FEATURES_OK would be laid out by features that
 * may still change: the enable is ignored. */
static void test_queue_enable_needs_features_ok(void **state)
{
	bar(20, 1, 1, 1 | 2);
	bar(8, 4, 1, 1);
	bar(12, 4, 1, 1);
	bar(22, 2, 1, 0);
	bar(32, 8, 1, DESC);
	bar(40, 8, 1, AVAIL);
	bar(48, 8, 1, USED);
	bar(28, 2, 1, 1);
	assert_int_equal(bar(28, 2, 0, 0), 0);
	bar(20, 1, 1, 1 | 2 | 8);
	bar(28, 2, 1, 1);
	assert_int_equal(bar(28, 2, 0, 0), 1);
}

/* ---- a device that holds a request across a reset ------------------------- */

static vmm_virtio_dev *held_dev;
static vmm_virtq_elem *held;
static int resets;

static void hold_notify(void *opaque, vmm_virtio_dev *dev, uint16_t q)
{
	held_dev = dev;
	if (!held)
		vmm_virtq_pop(dev, q, &held);
}

static void hold_reset(void *opaque, vmm_virtio_dev *dev)
{
	resets++;
}

static const vmm_virtio_ops hold_ops = {
	.version = VMM_VIRTIO_OPS_VERSION, .device_id = 4, .pci_class = 0x00ff00,
	.num_queues = 1, .queue_size = 256, .queue_notify = hold_notify,
	.reset = hold_reset,
};

static int add_hold(vmm_vm *v)
{
	vmm_virtio_dev *d;

	held = NULL;
	resets = 0;
	return vmm_virtio_add(v, &hold_ops, NULL, &d);
}

static int setup_hold(void **state)
{
	return driver_setup(add_hold);
}

/* The ops' reset callback was never called; and a request popped before
 * the reset, completed after the driver set the queue up again, went onto
 * the new used ring as an id the new driver never made available. */
static void test_reset_ends_requests(void **state)
{
	uint16_t used_idx, zero = 0;

	negotiate(1);
	setup_queue(VMM__VPCI_NO_VECTOR);
	offer_buffer(16, VMM__VRING_DESC_F_WRITE);
	bar(VMM__VPCI_NOTIFY, 2, 1, 0);
	assert_non_null(held);
	bar(20, 1, 1, 0);                                 /* reset mid-request */
	assert_int_equal(resets, 1);
	vmm_mem_write(vm, USED + 2, &zero, 2);
	negotiate(1);
	setup_queue(VMM__VPCI_NO_VECTOR);
	vmm_virtq_push(held_dev, 0, held, 16);            /* the old request ends */
	vmm_mem_read(vm, USED + 2, &used_idx, 2);
	assert_int_equal(used_idx, 0);
	assert_int_equal(first_dev()->q[0].inflight, 0);
	/* The new driver's requests complete as before. */
	held = NULL;
	offer_buffer(16, VMM__VRING_DESC_F_WRITE);
	bar(VMM__VPCI_NOTIFY, 2, 1, 0);
	assert_non_null(held);
	vmm_virtq_push(held_dev, 0, held, 16);
	vmm_mem_read(vm, USED + 2, &used_idx, 2);
	assert_int_equal(used_idx, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_features_frozen_under_queues, setup_rng,
						teardown),
		cmocka_unit_test_setup_teardown(test_queue_enable_needs_features_ok, setup_rng,
						teardown),
		cmocka_unit_test_setup_teardown(test_reset_ends_requests, setup_hold, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
