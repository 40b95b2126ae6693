/* vmm/virtio.h - virtio devices over PCI (included by vmm.h).
 *
 * A VM created with VMM_VM_IRQCHIP has a PCI bus. vmm_virtio_add puts a
 * virtio 1.x device on it (modern PCI transport: common, notify, ISR and
 * device configuration capabilities, MSI-X with one vector per queue plus
 * one for configuration changes, INTx otherwise). libvmm's own devices
 * (vmm_virtio_rng_add, ...) are written against this same interface.
 *
 * The transport checks everything the driver does; a driver that breaks
 * the virtqueue rules (descriptor loops, buffers outside RAM, bad indexes)
 * gets the device marked DEVICE_NEEDS_RESET, and vmm_virtq_pop returns
 * VMM_EINVAL with the reason in vmm_last_error().
 *
 * Thread safety: callbacks run on the thread of the vCPU that notified or
 * touched configuration space. One queue is popped and pushed by one thread
 * at a time; vmm_virtio_interrupt may be called from any thread.
 */
#ifndef VMM_VIRTIO_H
#define VMM_VIRTIO_H

#ifndef VMM_H
#error "include <vmm.h>, not <vmm/virtio.h>"
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vmm_virtio_dev vmm_virtio_dev;
typedef struct vmm_virtq_elem vmm_virtq_elem;

#define VMM_VIRTIO_OPS_VERSION 1
#define VMM_VIRTIO_MAX_QUEUES 64

/* A device model. Grows at the end; version says how far it goes. */
typedef struct vmm_virtio_ops {
	uint32_t version;           /* VMM_VIRTIO_OPS_VERSION */
	uint32_t device_id;         /* virtio device type (1 net, 2 block, 4 rng, ...) */
	uint32_t pci_class;         /* PCI class code << 8, e.g. 0x010000 block */
	uint16_t num_queues;        /* 1..VMM_VIRTIO_MAX_QUEUES */
	uint16_t queue_size;        /* largest size per queue, power of two <= 32768 */
	uint64_t features;          /* device-specific feature bits (0-23, 50-63);
				       the transport adds VERSION_1, INDIRECT_DESC
				       and EVENT_IDX itself */
	uint32_t config_size;       /* bytes of device-specific configuration */
	uint32_t reserved;
	/* The driver made buffers available on queue q. */
	void (*queue_notify)(void *opaque, vmm_virtio_dev *dev, uint16_t q);
	/* Device configuration [off, off+len) inside config_size. NULL: zeros,
	 * writes ignored. */
	void (*config_read)(void *opaque, uint32_t off, void *buf, uint32_t len);
	void (*config_write)(void *opaque, uint32_t off, const void *buf, uint32_t len);
	/* The driver reset the device (status 0): drop in-flight requests.
	 * May be NULL. */
	void (*reset)(void *opaque, vmm_virtio_dev *dev);
} vmm_virtio_ops;

/* Adds the device; ops and opaque must outlive the VM. *out stays valid
 * until the VM is destroyed. */
VMM_API int vmm_virtio_add(vmm_vm *vm, const vmm_virtio_ops *ops, void *opaque,
			   vmm_virtio_dev **out);
/* Feature bits both sides agreed on (valid once the driver set FEATURES_OK). */
VMM_API uint64_t vmm_virtio_features(const vmm_virtio_dev *dev);

/* Takes the next request of queue q: 1 with *elem set, 0 when there is
 * none, or a negative code (queue not ready, or the driver broke a rule:
 * the device is then marked DEVICE_NEEDS_RESET). */
VMM_API int vmm_virtq_pop(vmm_virtio_dev *dev, uint16_t q, vmm_virtq_elem **elem);
/* Bytes the device may read (driver's out buffers) / write (in buffers). */
VMM_API uint64_t vmm_virtq_out_len(const vmm_virtq_elem *elem);
VMM_API uint64_t vmm_virtq_in_len(const vmm_virtq_elem *elem);
/* Copies from the out buffers / into the in buffers, from byte off;
 * returns the bytes copied (short at the end of the buffers). */
VMM_API uint64_t vmm_virtq_read(const vmm_virtq_elem *elem, uint64_t off, void *buf,
				uint64_t len);
VMM_API uint64_t vmm_virtq_write(vmm_virtq_elem *elem, uint64_t off, const void *buf,
				 uint64_t len);
/* Completes elem with len bytes written and frees it. */
VMM_API void vmm_virtq_push(vmm_virtio_dev *dev, uint16_t q, vmm_virtq_elem *elem,
			    uint32_t len);
/* Interrupts the driver for queue q if it asked to be (event index, flags). */
VMM_API int vmm_virtio_interrupt(vmm_virtio_dev *dev, uint16_t q);
/* The device configuration changed: bumps config_generation, interrupts. */
VMM_API int vmm_virtio_config_changed(vmm_virtio_dev *dev);

/* libvmm's devices. */
VMM_API int vmm_virtio_rng_add(vmm_vm *vm);   /* entropy from getrandom(2) */

/* virtio-blk over a raw image file or block device. Requests run on the
 * disk's own I/O thread ("vmm-blkN"), started here and joined when the VM
 * is destroyed. The image is locked (an OFD lock, like QEMU's): shared for
 * a read-only disk, exclusive for a writable one, so two VMs cannot both
 * open it read-write (VMM_EBUSY). Flush is fdatasync; discard punches holes;
 * write-zeroes zeroes (or punches with the unmap flag). */
enum { VMM_BLK_READONLY = 1u << 0 };
typedef struct vmm_blk_config {
	uint32_t size;              /* sizeof(vmm_blk_config) */
	uint32_t flags;             /* VMM_BLK_* */
	const char *path;           /* image file or block device */
	const char *serial;         /* up to 20 bytes for GET_ID; NULL: none */
} vmm_blk_config;
#define VMM_BLK_CONFIG_INIT { sizeof(vmm_blk_config), 0, NULL, NULL }
VMM_API int vmm_virtio_blk_add(vmm_vm *vm, const vmm_blk_config *config);

#ifdef __cplusplus
}
#endif
#endif /* VMM_VIRTIO_H */
