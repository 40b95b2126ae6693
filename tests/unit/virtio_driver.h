/* virtio_driver.h - shared by the virtio unit tests: a minimal driver that
 * reaches slot 1's configuration through ECAM and its BAR 4, negotiates and
 * sets up queue 0 as Linux's virtio_pci_modern does. */
#ifndef TEST_VIRTIO_DRIVER_H
#define TEST_VIRTIO_DRIVER_H

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

static int driver_setup(int (*add)(vmm_vm *vm))
{
	vmm_vm_config c = VMM_VM_CONFIG_INIT;

	c.backend = "emu";
	c.mem_size = 16u << 20;
	c.flags = VMM_VM_IRQCHIP;
	assert_int_equal(vmm_vm_create(&c, &vm), 0);
	assert_int_equal(vmm_vcpu_create(vm, 0, &vcpu), 0);
	assert_int_equal(add(vm), 0);
	vmm__pci_msi_fn = fake_msi;
	msis = 0;
	cfg(0x04, 2, 1, 0x6);                           /* memory decode, bus master */
	bar4 = (cfg(0x20, 4, 0, 0) & ~0xfu) | (uint64_t)cfg(0x24, 4, 0, 0) << 32;
	bar1 = cfg(0x14, 4, 0, 0) & ~0xfu;
	return 0;
}

static int driver_teardown(void)
{
	vmm_vm_destroy(vm);
	vmm__pci_msi_fn = vmm__msi_send;
	return 0;
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

static inline void offer_buffer(uint32_t len, uint16_t flags)
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

#endif
