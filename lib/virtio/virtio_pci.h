/* virtio_pci.h - the virtio PCI transport's state (lib/virtio/pci*.c). */
#ifndef VMM_VIRTIO_PCI_H
#define VMM_VIRTIO_PCI_H

#include "lib/platform/pci.h"
#include "lib/platform/state.h"
#include "lib/virtio/virtqueue.h"

/* BAR 4 (64-bit memory) layout; MSI-X table and PBA in BAR 1. */
#define VMM__VPCI_BAR 4
#define VMM__VPCI_BAR_SIZE 0x4000u
#define VMM__VPCI_COMMON 0x0000u
#define VMM__VPCI_COMMON_LEN 0x38u
#define VMM__VPCI_ISR 0x1000u
#define VMM__VPCI_DEVICE 0x2000u
#define VMM__VPCI_NOTIFY 0x3000u
#define VMM__VPCI_NOTIFY_MULT 4u
#define VMM__VPCI_MSIX_BAR 1
#define VMM__VPCI_NO_VECTOR 0xffffu

enum {
	VMM__VIRTIO_ACKNOWLEDGE = 1, VMM__VIRTIO_DRIVER = 2, VMM__VIRTIO_DRIVER_OK = 4,
	VMM__VIRTIO_FEATURES_OK = 8, VMM__VIRTIO_NEEDS_RESET = 0x40,
	VMM__VIRTIO_FAILED = 0x80
};
#define VMM__VIRTIO_F_INDIRECT (1ull << 28)
#define VMM__VIRTIO_F_EVENT_IDX (1ull << 29)
#define VMM__VIRTIO_F_VERSION_1 (1ull << 32)

typedef struct vmm__vpci_queue {
	vmm__vq vq;
	uint16_t size, msix, enable;
	uint32_t inflight;                /* popped, not yet pushed (state.c) */
	uint32_t epoch;                   /* bumped by each reset: elements popped
					     before it are not pushed after it */
} vmm__vpci_queue;

/* The device-specific part of a libvmm device's state, carried inside its
 * virtio record (lib/virtio/state.c); embedders' devices have none. */
typedef struct vmm__vdev_state {
	const char *kind;                 /* the record is "virtio-<kind>.<n>" */
	uint32_t version;                 /* load takes 1..version */
	int (*save)(void *opaque, vmm__sw *w);
	int (*load)(void *opaque, uint32_t version, vmm__sr *r);
} vmm__vdev_state;

struct vmm_virtio_dev {
	vmm__pci_dev pci;                 /* first: container_of by cast */
	const vmm_virtio_ops *ops;
	void *opaque;
	vmm_vm *vm;
	pthread_mutex_t lock;             /* everything below */
	uint64_t device_features, driver_features;
	uint32_t dfselect, gfselect;
	uint16_t config_msix, queue_sel;
	uint8_t status, generation, isr;
	uint8_t cfg_cap;                  /* VIRTIO_PCI_CAP_PCI_CFG offset */
	bool raise_config;                /* a config interrupt is owed (broken) */
	bool reset_owed;                  /* the driver reset it: ops->reset is owed */
	vmm__vpci_queue q[VMM_VIRTIO_MAX_QUEUES];
	struct vmm_virtio_dev *next;      /* the VM's list, for destroy */
	void (*fini)(void *opaque);       /* libvmm's devices: stop threads, free */
	const vmm__vdev_state *state;     /* libvmm's devices: their own state */
	bool frozen;                      /* saved: pops take nothing (state.c) */
	struct vmm__iothread *io;         /* libvmm's devices: their I/O thread */
};

struct vmm_virtq_elem {
	vmm__vq_elem e;
	uint32_t epoch;                   /* its queue's at pop */
};

/* pci_common.c: the common configuration structure. */
void vmm__vpci_common_read(vmm_virtio_dev *d, uint32_t off, uint8_t size, uint64_t *v);
void vmm__vpci_common_write(vmm_virtio_dev *d, uint32_t off, uint8_t size, uint64_t v);
/* Under d->lock: the driver broke a rule; tell it (NEEDS_RESET + config irq). */
void vmm__vpci_broken(vmm_virtio_dev *d);
void vmm__vpci_reset(vmm_virtio_dev *d);
/* Sends the interrupt for vector (or INTx with isr bit). Not under d->lock. */
int vmm__vpci_raise(vmm_virtio_dev *d, uint16_t vector, uint8_t isr_bit);
void vmm__virtio_destroy_all(vmm_vm *vm);
/* For libvmm's own devices: fini(opaque) runs before the VM's devices go. */
void vmm__virtio_set_fini(vmm_virtio_dev *d, void (*fini)(void *opaque));
/* For libvmm's devices: the I/O thread their queues are served on, and a
 * wait until it has handled everything notified so far (tests, fuzzers;
 * no-op for a device without one). */
void vmm__virtio_set_iothread(vmm_virtio_dev *d, struct vmm__iothread *io);
void vmm__virtio_flush(vmm_virtio_dev *d);
/* For libvmm's devices: the save/load of their own state (state.c). */
void vmm__virtio_set_state(vmm_virtio_dev *d, const vmm__vdev_state *state);
/* state.c: unfreezes every device of the VM a save froze; each started one
 * is notified of its enabled queues. */
void vmm__virtio_thaw_all(vmm_vm *vm);

#endif /* VMM_VIRTIO_PCI_H */
