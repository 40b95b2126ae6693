/* test_pci.c - PCI bus 0 (lib/platform/pci.c, pci_msi.c) as a guest sees it:
 * enumeration through 0xcf8/0xcfc and ECAM, BAR sizing and moving, BAR
 * decoding in the windows, capabilities, MSI-X masking and pending bits,
 * INTx status, and hostile configuration accesses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "lib/platform/pci.h"
#include "lib/platform/platform.h"

static vmm_vm *vm;
static vmm_vcpu *vcpu;
static vmm__pci_dev dev;
static uint64_t last_off, last_data;
static unsigned last_bar;
static int msis;
static uint64_t msi_addr;
static uint32_t msi_data;

static int fake_msi(vmm_vm *v, uint64_t addr, uint32_t data)
{
	msis++;
	msi_addr = addr;
	msi_data = data;
	return 0;
}

static int bar_read(vmm__pci_dev *d, unsigned bar, uint64_t off, uint8_t size, uint64_t *data)
{
	last_bar = bar;
	last_off = off;
	*data = 0x1000 * bar + off;
	return 0;
}

static int bar_write(vmm__pci_dev *d, unsigned bar, uint64_t off, uint8_t size, uint64_t data)
{
	last_bar = bar;
	last_off = off;
	last_data = data;
	return 0;
}

static const vmm__pci_ops ops = { bar_read, bar_write, NULL, NULL };

static uint32_t cfg(unsigned slot, unsigned reg, unsigned size, int write, uint32_t v)
{
	uint32_t a = 0x80000000u | slot << 11 | (reg & 0xfc), d = v;

	assert_int_equal(vmm__bus_pio(vcpu, 0xcf8, 4, 1, &a), VMM__BUS_DONE);
	assert_int_equal(vmm__bus_pio(vcpu, (uint16_t)(0xcfc + (reg & 3)), (uint8_t)size,
				      (uint8_t)write, &d), VMM__BUS_DONE);
	return d;
}

static uint64_t mmio(uint64_t addr, unsigned size, int write, uint64_t v)
{
	uint64_t d = v;

	assert_int_equal(vmm__bus_mmio(vcpu, addr, (uint8_t)size, (uint8_t)write, &d),
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
	memset(&dev, 0, sizeof(dev));
	dev.ops = &ops;
	dev.vendor = 0x1af4;
	dev.device = 0x1041;
	dev.class_rev = 0x02000001;
	dev.bars[0] = (vmm__pci_bar){ 0x1000, VMM__BAR_MEM32 };
	dev.bars[1] = (vmm__pci_bar){ 0x20, VMM__BAR_IO };
	dev.bars[2] = (vmm__pci_bar){ 0x4000, VMM__BAR_MEM64 };
	vmm__pci_dev_init(&dev);
	assert_int_not_equal(vmm__pci_add_cap(&dev, 0x09, 16), 0);
	assert_int_equal(vmm__pci_add_msix(&dev, 4, 2, 0, 0x800), 0);
	assert_int_equal(vmm__pci_add(vm, &dev), 0);
	vmm__pci_msi_fn = fake_msi;
	msis = 0;
	return 0;
}

static int teardown(void **state)
{
	vmm_vm_destroy(vm);
	vmm__pci_dev_fini(&dev);
	vmm__pci_msi_fn = vmm__msi_send;
	return 0;
}

static void test_enumerate(void **state)
{
	assert_int_equal(cfg(0, 0, 4, 0, 0), 0x00081b36);        /* host bridge */
	assert_int_equal(cfg(0, 0x0a, 2, 0, 0), 0x0600);
	assert_int_equal(cfg(1, 0, 4, 0, 0), 0x10411af4);        /* our device */
	assert_int_equal(cfg(1, 0x08, 4, 0, 0), 0x02000001);
	assert_int_equal(cfg(1, 0x3d, 1, 0, 0), 1);              /* INTA */
	assert_int_equal(cfg(1, 0x3c, 1, 0, 0), VMM__PCI_INTX_GSI(1, 0));
	assert_int_equal(cfg(2, 0, 4, 0, 0), 0xffffffffu);       /* empty slot */
	assert_int_equal(cfg(1, 0x02, 2, 0, 0), 0x1041);
	/* Capability list: vendor cap at 0x40, then MSI-X. */
	assert_true(cfg(1, 0x06, 2, 0, 0) & 0x10);
	assert_int_equal(cfg(1, 0x34, 1, 0, 0), 0x40);
	assert_int_equal(cfg(1, 0x40, 1, 0, 0), 0x09);
	assert_int_equal(cfg(1, 0x41, 1, 0, 0), 0x50);
	assert_int_equal(cfg(1, 0x50, 1, 0, 0), 0x11);
	assert_int_equal(cfg(1, 0x52, 2, 0, 0), 3);              /* 4 vectors */
	assert_int_equal(cfg(1, 0x54, 4, 0, 0), 2);              /* table in BAR 2 */
	assert_int_equal(cfg(1, 0x58, 4, 0, 0), 0x802);
	/* ECAM sees the same space. */
	assert_int_equal(mmio(VMM__PCI_ECAM_BASE + (1 << 15), 4, 0, 0), 0x10411af4);
	assert_int_equal(mmio(VMM__PCI_ECAM_BASE + (3 << 15), 4, 0, 0), 0xffffffffu);
	/* IDs are read-only. */
	cfg(1, 0, 4, 1, 0x12345678);
	assert_int_equal(cfg(1, 0, 4, 0, 0), 0x10411af4);
}

static void test_bars(void **state)
{
	uint32_t bar0 = cfg(1, 0x10, 4, 0, 0), io = cfg(1, 0x14, 4, 0, 0);
	uint64_t b2 = cfg(1, 0x18, 4, 0, 0) | (uint64_t)cfg(1, 0x1c, 4, 0, 0) << 32;

	assert_true(bar0 >= VMM__PCI_MMIO_BASE && (bar0 & 0xfff) == 0);
	assert_int_equal(io & 3, 1);
	assert_int_equal(b2 & 0xf, 4);                           /* 64-bit memory */
	/* Sizing. */
	cfg(1, 0x10, 4, 1, 0xffffffffu);
	assert_int_equal(cfg(1, 0x10, 4, 0, 0), 0xfffff000u);
	cfg(1, 0x14, 4, 1, 0xffffffffu);
	assert_int_equal(cfg(1, 0x14, 4, 0, 0), 0x0000ffe1u);
	cfg(1, 0x10, 4, 1, bar0);
	cfg(1, 0x14, 4, 1, io);
	/* Decoding needs the command bits. */
	assert_int_equal(mmio(bar0 + 8, 4, 0, 0), 0xffffffffull);
	cfg(1, 0x04, 2, 1, 0x3);
	assert_int_equal(mmio(bar0 + 8, 4, 0, 0), 8);
	assert_int_equal(last_bar, 0);
	mmio(bar0 + 0x10, 4, 1, 0xabcd);
	assert_int_equal(last_off, 0x10);
	assert_int_equal(last_data, 0xabcd);
	{
		uint32_t d = 0;

		assert_int_equal(vmm__bus_pio(vcpu, (uint16_t)((io & ~3u) + 4), 2, 0, &d),
				 VMM__BUS_DONE);
		assert_int_equal(d, 0x1004);
	}
	/* Moving BAR 0 within the window: the old address goes dark. */
	cfg(1, 0x10, 4, 1, (uint32_t)(VMM__PCI_MMIO_BASE + 0x10000000));
	assert_int_equal(mmio(bar0 + 8, 4, 0, 0), 0xffffffffull);
	assert_int_equal(mmio(VMM__PCI_MMIO_BASE + 0x10000000 + 12, 4, 0, 0), 12);
	/* Moved into RAM: decodes nothing, RAM unchanged. */
	cfg(1, 0x10, 4, 1, 0x100000);
	assert_int_equal(vmm__pci_bar_addr(&dev, 0), 0x100000);
	assert_int_equal(mmio(VMM__PCI_MMIO_BASE + 0x10000000 + 12, 4, 0, 0), 0xffffffffull);
}

static void msix_entry(uint64_t table, unsigned v, uint64_t addr, uint32_t data, int masked)
{
	mmio(table + v * 16, 4, 1, (uint32_t)addr);
	mmio(table + v * 16 + 4, 4, 1, addr >> 32);
	mmio(table + v * 16 + 8, 4, 1, data);
	mmio(table + v * 16 + 12, 4, 1, (uint32_t)masked);
}

static void test_msix(void **state)
{
	uint64_t table;

	cfg(1, 0x04, 2, 1, 0x6);
	table = vmm__pci_bar_addr(&dev, 2);
	assert_int_not_equal(table, 0);
	assert_int_equal(mmio(table + 12, 4, 0, 0), 1);          /* masked at reset */
	msix_entry(table, 2, 0xfee01000, 0x4031, 0);
	assert_int_equal(mmio(table + 2 * 16 + 8, 4, 0, 0), 0x4031);
	/* Enabled with the function mask: the message waits in the PBA. */
	cfg(1, 0x52, 2, 1, 0xc000);
	assert_int_equal(vmm__pci_notify(&dev, 2), 0);
	assert_int_equal(msis, 0);
	assert_int_equal(mmio(table + 0x800, 8, 0, 0), 1u << 2);
	cfg(1, 0x52, 2, 1, 0x8000);                              /* function mask off */
	assert_int_equal(msis, 1);
	assert_int_equal(msi_addr, 0xfee01000);
	assert_int_equal(msi_data, 0x4031);
	assert_int_equal(mmio(table + 0x800, 8, 0, 0), 0);
	/* A masked vector: pending until its own mask clears. */
	msix_entry(table, 1, 0xfee00000, 0x22, 1);
	assert_int_equal(vmm__pci_notify(&dev, 1), 0);
	assert_int_equal(msis, 1);
	mmio(table + 16 + 12, 4, 1, 0);
	assert_int_equal(msis, 2);
	assert_int_equal(msi_data, 0x22);
	/* Past the last vector: an error, nothing sent. */
	assert_int_equal(vmm__pci_notify(&dev, 4), VMM_ERANGE);
	assert_int_equal(msis, 2);
	/* MSI-X disabled: INTx, shown in the status register. */
	cfg(1, 0x52, 2, 1, 0);
	vmm__pci_notify(&dev, 0);
	assert_true(cfg(1, 0x06, 2, 0, 0) & 0x08);
	vmm__pci_intx(&dev, 0);
	assert_false(cfg(1, 0x06, 2, 0, 0) & 0x08);
}

/* Hostile config accesses read all ones or change nothing. */
static void test_hostile(void **state)
{
	uint32_t a = 0x80010000u, d = 0;                         /* bus 1 */

	assert_int_equal(vmm__bus_pio(vcpu, 0xcf8, 4, 1, &a), VMM__BUS_DONE);
	assert_int_equal(vmm__bus_pio(vcpu, 0xcfc, 4, 0, &d), VMM__BUS_DONE);
	assert_int_equal(d, 0xffffffffu);
	a = 0;                                                   /* disabled */
	vmm__bus_pio(vcpu, 0xcf8, 4, 1, &a);
	vmm__bus_pio(vcpu, 0xcfc, 2, 0, &d);
	assert_int_equal(d, 0xffff);
	/* Misaligned and oversized ECAM accesses. */
	assert_int_equal(mmio(VMM__PCI_ECAM_BASE + (1 << 15) + 1, 4, 0, 0), 0xffffffffull);
	assert_int_equal(mmio(VMM__PCI_ECAM_BASE + (1 << 15), 8, 0, 0), ~0ull);
	mmio(VMM__PCI_ECAM_BASE + (1 << 15) + 0xffc, 4, 1, 0xffffffff);
	/* Sub-dword accesses see the same bytes as the dword. */
	assert_int_equal(cfg(1, 0x3c, 4, 0, 0) >> 16, cfg(1, 0x3e, 2, 0, 0));
	/* The window with no BAR there floats high. */
	assert_int_equal(mmio(VMM__PCI_MMIO_BASE + VMM__PCI_MMIO_SIZE - 8, 8, 0, 0), ~0ull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_enumerate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bars, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
