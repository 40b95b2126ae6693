/* virtio_multi.h - shared by test_virtio_net and test_virtio_console: a
 * minimal virtio-pci driver with its state in a struct, so that one test
 * can drive devices in two VMs. Slot 1 of each VM (the first device added),
 * reached through ECAM and BAR 4; queue q's rings at QBASE(q); chains of
 * up to 4 descriptors, 16 in flight per queue; interrupts by INTx/ISR, or
 * MSI-X when vector0 is set before drv_start and drv_msix enabled it. */
#ifndef TEST_VIRTIO_MULTI_H
#define TEST_VIRTIO_MULTI_H

#define QSIZE 64u
#define QBASE(q) (0x10000ull + (uint64_t)(q) * 0x4000ull)
#define QAVAIL(q) (QBASE(q) + 0x1000)
#define QUSED(q) (QBASE(q) + 0x2000)

typedef struct drv {
	vmm_vm *vm;
	vmm_vcpu *vcpu;
	uint64_t bar4, bar1;          /* bar1: the MSI-X table */
	uint16_t avail[4];            /* next avail index per queue */
	uint16_t vector0;             /* queue q's MSI-X vector: vector0 + q, or none */
} drv;

static uint32_t drv_cfg(drv *d, unsigned reg, unsigned size, int write, uint32_t v)
{
	uint64_t x = v;

	assert_int_equal(vmm__bus_mmio(d->vcpu, VMM__PCI_ECAM_BASE + (1 << 15) + reg,
				       (uint8_t)size, (uint8_t)write, &x), VMM__BUS_DONE);
	return (uint32_t)x;
}

static uint64_t drv_bar(drv *d, uint64_t off, unsigned size, int write, uint64_t v)
{
	uint64_t x = v;

	assert_int_equal(vmm__bus_mmio(d->vcpu, d->bar4 + off, (uint8_t)size, (uint8_t)write,
				       &x), VMM__BUS_DONE);
	return x;
}

/* A VM with the device add() puts on slot 1; 0 or add()'s error. */
static int drv_open(drv *d, int (*add)(vmm_vm *vm, void *arg), void *arg)
{
	vmm_vm_config c = VMM_VM_CONFIG_INIT;
	int rc;

	memset(d, 0, sizeof(*d));
	d->vector0 = 0xffff;
	c.backend = "emu";
	c.mem_size = 16u << 20;
	c.flags = VMM_VM_IRQCHIP;
	assert_int_equal(vmm_vm_create(&c, &d->vm), 0);
	assert_int_equal(vmm_vcpu_create(d->vm, 0, &d->vcpu), 0);
	if ((rc = add(d->vm, arg)) != 0)
		return rc;
	drv_cfg(d, 0x04, 2, 1, 0x6);                    /* memory decode, bus master */
	d->bar4 = (drv_cfg(d, 0x20, 4, 0, 0) & ~0xfu) | (uint64_t)drv_cfg(d, 0x24, 4, 0, 0) << 32;
	d->bar1 = drv_cfg(d, 0x14, 4, 0, 0) & ~0xfu;
	return 0;
}

static void drv_close(drv *d)
{
	vmm_vm_destroy(d->vm);
	d->vm = NULL;
}

static inline uint64_t drv_features(drv *d)
{
	drv_bar(d, 0, 4, 1, 0);
	uint64_t lo = drv_bar(d, 4, 4, 0, 0);
	drv_bar(d, 0, 4, 1, 1);
	return lo | drv_bar(d, 4, 4, 0, 0) << 32;
}

/* Reset, negotiate features (VERSION_1 added), set up queues 0..nq-1. */
static void drv_start(drv *d, uint64_t features, unsigned nq)
{
	uint16_t zero = 0;

	drv_bar(d, 20, 1, 1, 0);
	drv_bar(d, 20, 1, 1, 1 | 2);
	features |= 1ull << 32;
	drv_bar(d, 8, 4, 1, 0), drv_bar(d, 12, 4, 1, (uint32_t)features);
	drv_bar(d, 8, 4, 1, 1), drv_bar(d, 12, 4, 1, (uint32_t)(features >> 32));
	drv_bar(d, 20, 1, 1, 1 | 2 | 8);
	assert_int_equal(drv_bar(d, 20, 1, 0, 0), 1 | 2 | 8);
	for (unsigned q = 0; q < nq; q++) {
		vmm_mem_write(d->vm, QAVAIL(q), &zero, 2);
		vmm_mem_write(d->vm, QAVAIL(q) + 2, &zero, 2);
		vmm_mem_write(d->vm, QUSED(q) + 2, &zero, 2);
		d->avail[q] = 0;
		drv_bar(d, 22, 2, 1, q);
		drv_bar(d, 24, 2, 1, QSIZE);
		drv_bar(d, 26, 2, 1, d->vector0 == 0xffff ? 0xffff : d->vector0 + q);
		drv_bar(d, 32, 8, 1, QBASE(q));
		drv_bar(d, 40, 8, 1, QAVAIL(q));
		drv_bar(d, 48, 8, 1, QUSED(q));
		drv_bar(d, 28, 2, 1, 1);
	}
	drv_bar(d, 20, 1, 1, 1 | 2 | 8 | 4);
}

/* Programs MSI-X table entry v (address 0xfee00000, data) and enables MSI-X. */
static inline void drv_msix(drv *d, unsigned v, uint32_t data)
{
	uint64_t x = 0xfee00000;

	assert_int_equal(vmm__bus_mmio(d->vcpu, d->bar1 + 16 * v, 4, 1, &x), VMM__BUS_DONE);
	x = data;
	assert_int_equal(vmm__bus_mmio(d->vcpu, d->bar1 + 16 * v + 8, 4, 1, &x), VMM__BUS_DONE);
	x = 0;
	assert_int_equal(vmm__bus_mmio(d->vcpu, d->bar1 + 16 * v + 12, 4, 1, &x), VMM__BUS_DONE);
	for (unsigned at = drv_cfg(d, 0x34, 1, 0, 0); at; at = drv_cfg(d, at + 1, 1, 0, 0))
		if (drv_cfg(d, at, 1, 0, 0) == 0x11)
			drv_cfg(d, at + 2, 2, 1, 0x8000);
}

static inline uint8_t drv_status(drv *d)
{
	return (uint8_t)drv_bar(d, 20, 1, 0, 0);
}

/* Makes a chain of n buffers available on queue q (writable ones have
 * wr[i] set) without notifying. */
static void drv_post(drv *d, unsigned q, unsigned n, const uint64_t *gpa,
		     const uint32_t *len, const int *wr)
{
	unsigned first = (d->avail[q] % 16u) * 4u;
	uint16_t head = (uint16_t)first;

	for (unsigned i = 0; i < n; i++) {
		uint8_t desc[16];
		uint16_t flags = (uint16_t)((i + 1 < n ? 1 : 0) | (wr[i] ? 2 : 0));
		uint16_t next = (uint16_t)(first + i + 1);

		memcpy(desc, &gpa[i], 8);
		memcpy(desc + 8, &len[i], 4);
		memcpy(desc + 12, &flags, 2);
		memcpy(desc + 14, &next, 2);
		vmm_mem_write(d->vm, QBASE(q) + 16 * (first + i), desc, 16);
	}
	vmm_mem_write(d->vm, QAVAIL(q) + 4 + 2 * (d->avail[q] % QSIZE), &head, 2);
	d->avail[q]++;
	vmm_mem_write(d->vm, QAVAIL(q) + 2, &d->avail[q], 2);
}

static void drv_kick(drv *d, unsigned q)
{
	drv_bar(d, VMM__VPCI_NOTIFY + VMM__VPCI_NOTIFY_MULT * q, 2, 1, q);
}

static uint16_t drv_used_idx(drv *d, unsigned q)
{
	uint16_t idx;

	vmm_mem_read(d->vm, QUSED(q) + 2, &idx, 2);
	return idx;
}

/* The used entry at index i of queue q: its length (id in *id). */
static inline uint32_t drv_used_len(drv *d, unsigned q, uint16_t i, uint32_t *id)
{
	uint32_t ent[2];

	vmm_mem_read(d->vm, QUSED(q) + 4 + 8 * (i % QSIZE), ent, 8);
	if (id)
		*id = ent[0];
	return ent[1];
}

/* Waits (up to 5 s) until queue q's used index reaches want. */
static inline bool drv_wait_used(drv *d, unsigned q, uint16_t want)
{
	for (int i = 0; i < 5000; i++) {
		if (drv_used_idx(d, q) == want)
			return true;
		usleep(1000);
	}
	return false;
}

#endif
