/* pci.h - the PCI host bridge of the PC platform: configuration space
 * through ports 0xcf8/0xcfc and ECAM, BARs inside fixed windows, MSI, MSI-X
 * and INTx. Devices (virtio, test devices) fill a vmm__pci_dev and add it.
 * Nothing here is public API.
 *
 * The bus owns two windows registered once on the VM's buses (32-bit memory
 * VMM__PCI_MMIO_BASE..+SIZE, I/O VMM__PCI_IO_BASE..0xffff) and dispatches
 * accesses to the BAR that decodes them: a guest moving BARs never changes
 * the VM's bus tables while vCPUs run. BAR addresses are assigned when a
 * device is added, as firmware would; the guest may move them within the
 * windows (a BAR moved outside them decodes nothing). */
#ifndef VMM_PCI_H
#define VMM_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/internal.h"

#define VMM__PCI_HOLE        0xc0000000ull   /* RAM above this moves to 4 GiB */
#define VMM__PCI_MMIO_BASE   0xc0000000ull
#define VMM__PCI_MMIO_SIZE   0x20000000ull   /* [3 GiB, 3.5 GiB) */
#define VMM__PCI_ECAM_BASE   0xe0000000ull   /* bus 0 only: 1 MiB */
#define VMM__PCI_ECAM_SIZE   0x100000ull
#define VMM__PCI_IO_BASE     0xc000u
#define VMM__PCI_SLOTS       32u
#define VMM__PCI_INTX_GSI(slot, pin) (16u + (((slot) + (pin)) & 3u))  /* _PRT */
#define VMM__PCI_CFG_SIZE    4096u

enum { VMM__BAR_NONE = 0, VMM__BAR_IO, VMM__BAR_MEM32, VMM__BAR_MEM64 };

typedef struct vmm__pci_dev vmm__pci_dev;

/* A device's BAR accesses: off is within the BAR; size 1, 2, 4 or 8. Return
 * 0, or a negative VMM_E* to stop the vCPU with an internal error. */
typedef struct vmm__pci_ops {
	int (*bar_read)(vmm__pci_dev *dev, unsigned bar, uint64_t off, uint8_t size,
			uint64_t *data);
	int (*bar_write)(vmm__pci_dev *dev, unsigned bar, uint64_t off, uint8_t size,
			 uint64_t data);
	/* After the guest wrote device-specific config bytes [off, off+len)
	 * (off >= 0x40, outside the capabilities the core owns). May be NULL. */
	void (*config_write)(vmm__pci_dev *dev, uint32_t off, uint32_t len);
	/* Before the guest reads config bytes [off, off+len) (off+len > 0x40):
	 * may update dev->cfg (called with dev->lock held). May be NULL. */
	void (*config_read)(vmm__pci_dev *dev, uint32_t off, uint32_t len);
} vmm__pci_ops;

typedef struct vmm__pci_bar {
	uint64_t size;                 /* power of two; 0: unused */
	uint8_t type;                  /* VMM__BAR_* */
} vmm__pci_bar;

struct vmm__pci_dev {
	/* Set by the device before vmm__pci_add: */
	const vmm__pci_ops *ops;
	void *opaque;
	uint16_t vendor, device, subsys_vendor, subsys;
	uint32_t class_rev;            /* class << 8 | revision */
	vmm__pci_bar bars[6];
	/* Owned by the core: */
	vmm_vm *vm;
	uint8_t slot;
	uint8_t cfg[VMM__PCI_CFG_SIZE];
	uint8_t wmask[VMM__PCI_CFG_SIZE];  /* guest-writable bits */
	uint8_t cap_next;              /* where the next capability goes */
	uint8_t msi_cap, msix_cap;     /* offsets, 0: none */
	uint8_t msix_bar;
	uint16_t msix_vectors;
	uint32_t msix_table, msix_pba; /* offsets within msix_bar */
	uint8_t *msix_mem;             /* table then PBA */
	bool intx_level;
	pthread_mutex_t lock;          /* cfg, MSI-X state */
};

int vmm__pci_init(vmm_vm *vm);      /* host bridge at 00:00.0, the windows */
/* A device's first step: its lock and standard header from the IDs set. */
void vmm__pci_dev_init(vmm__pci_dev *dev);
void vmm__pci_dev_fini(vmm__pci_dev *dev);
void vmm__pci_fini(vmm_vm *vm);
/* Adds a device at the first free slot (or VMM_ENOMEM), assigning its BARs.
 * dev stays owned by the caller and must outlive the VM's PCI bus. */
int vmm__pci_add(vmm_vm *vm, vmm__pci_dev *dev);
/* Before vmm__pci_add: a vendor capability of len bytes (returns its
 * offset, or 0 when config space is full); MSI-X with nvec vectors whose
 * table and PBA live at table_off / pba_off of BAR bar. */
uint8_t vmm__pci_add_cap(vmm__pci_dev *dev, uint8_t id, uint8_t len);
int vmm__pci_add_msix(vmm__pci_dev *dev, uint16_t nvec, uint8_t bar,
		      uint32_t table_off, uint32_t pba_off);
/* Signals MSI-X vector vec (pending while masked), or MSI, or else INTx. */
int vmm__pci_notify(vmm__pci_dev *dev, uint16_t vec);
void vmm__pci_intx(vmm__pci_dev *dev, int level);
/* The address the guest programmed in BAR bar (0 if unset or disabled). */
uint64_t vmm__pci_bar_addr(vmm__pci_dev *dev, unsigned bar);

/* MSI-X table accesses (pci_msi.c), called by the BAR dispatcher. Returns
 * true when [off, off+size) of BAR bar is the device's MSI-X table/PBA. */
bool vmm__pci_msix_access(vmm__pci_dev *dev, unsigned bar, uint64_t off,
			  uint8_t size, bool is_write, uint64_t *data);
/* Under dev->lock, after a config write: send vectors the function mask
 * held back. */
void vmm__pci_msix_ctrl_written(vmm__pci_dev *dev);
/* Test seam: where MSIs go (default vmm__msi_send). */
extern int (*vmm__pci_msi_fn)(vmm_vm *vm, uint64_t addr, uint32_t data);

#endif /* VMM_PCI_H */
