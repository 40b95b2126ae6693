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
	 * Called on the thread that wrote the status (a vCPU's), after the
	 * transport's reset and before that write completes, with no libvmm
	 * lock held. A request popped before the reset may still be pushed
	 * (that frees it) but is not written to the rings. May be NULL. */
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
/* Completes elem with len bytes written and frees it. An element popped
 * before the driver reset the device is only freed: the reset ended it. */
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
	const char *path;           /* image file or block device; or NULL with: */
	const char *serial;         /* up to 20 bytes for GET_ID; NULL: none */
	/* A storage device (vmm/storage.h) instead of path: requests go to it
	 * asynchronously (its paths, failover and plug-ins) from the disk's
	 * I/O thread, data through a bounce buffer; capacity, block size and
	 * read-only come from the device. It must outlive the VM; destroying
	 * the VM waits for the disk's requests in flight. */
	struct vmm_storage_dev *storage;
} vmm_blk_config;
#define VMM_BLK_CONFIG_INIT { sizeof(vmm_blk_config), 0, NULL, NULL, NULL }
VMM_API int vmm_virtio_blk_add(vmm_vm *vm, const vmm_blk_config *config);
/* Grows the VM's index-th virtio-blk disk (0 = added first) to new_size
 * bytes (a multiple of 512 and of the disk's block size) and raises the
 * configuration-change interrupt, so the guest's driver reads the new
 * capacity (Linux: /sys/block/vdX/size) while it runs. A disk over a path
 * extends its image file (the disk holds its lock); a disk over a storage
 * device grows it with vmm_storage_resize. new_size 0: take the size the
 * image or device has now (grown by its owner). Smaller than now:
 * VMM_ENOTSUP. Any thread. */
VMM_API int vmm_virtio_blk_resize(vmm_vm *vm, uint32_t index, uint64_t new_size);

/* virtio-scsi (device type 8): a paravirtual SCSI controller with one
 * target whose LUNs 0..nluns-1 are storage devices (vmm/storage.h), each a
 * SCSI disk (SPC-4/SBC-3): INQUIRY with VPD pages 0x00, 0x80 (serial),
 * 0x83 (NAA and T10 identifiers), 0xb0 (block limits), 0xb1, 0xb2 (thin
 * provisioning), REPORT LUNS, READ CAPACITY(10)/(16), READ/WRITE
 * (6/10/12/16), VERIFY, SYNCHRONIZE CACHE, UNMAP and WRITE SAME(10/16)
 * with UNMAP (on devices that discard), MODE SENSE(6/10), TEST UNIT READY,
 * REQUEST SENSE. Bad CDBs get CHECK CONDITION with ILLEGAL REQUEST sense;
 * a request that fails on every path gets the sense its iSCSI target gave
 * (else MEDIUM ERROR). Requests are parsed on the controller's I/O thread
 * ("vmm-scsiN", started here, joined when the VM is destroyed) and go to
 * the devices asynchronously; the devices must outlive the VM, which waits
 * for their requests in flight when destroyed. Task management (abort,
 * LUN reset) is answered once the LUN's requests in flight finished. */
#define VMM_SCSI_MAX_LUNS 64
enum { VMM_SCSI_LUN_READONLY = 1u << 0 };
typedef struct vmm_scsi_lun_config {
	uint32_t size;              /* sizeof(vmm_scsi_lun_config) */
	uint32_t flags;             /* VMM_SCSI_LUN_* (a read-only device is read-only anyway) */
	struct vmm_storage_dev *storage;
	const char *serial;         /* VPD 0x80, 1..32 printable ASCII bytes;
				       NULL: "vmmscsiC.L" (controller, LUN) */
} vmm_scsi_lun_config;
#define VMM_SCSI_LUN_CONFIG_INIT { sizeof(vmm_scsi_lun_config), 0, NULL, NULL }
typedef struct vmm_scsi_config {
	uint32_t size;              /* sizeof(vmm_scsi_config) */
	uint32_t flags;             /* 0 */
	const vmm_scsi_lun_config *luns;   /* LUN i is luns[i] */
	uint32_t nluns;             /* 1..VMM_SCSI_MAX_LUNS */
	uint32_t reserved;
} vmm_scsi_config;
#define VMM_SCSI_CONFIG_INIT { sizeof(vmm_scsi_config), 0, NULL, 0, 0 }
VMM_API int vmm_virtio_scsi_add(vmm_vm *vm, const vmm_scsi_config *config);

/* ---- virtio-net and virtio-console (lib/virtio/net*.c, console.c) ------
 *
 * virtio-net: receive queue 0, transmit queue 1, no control queue. The
 * device offers MAC, STATUS (link up), MTU and, unless VMM_NET_NO_OFFLOAD,
 * CSUM and GUEST_CSUM (partial checksums pass through: the TAP kernel side
 * and an in-process peer take them, and a peer that did not accept
 * GUEST_CSUM gets the checksum filled in by libvmm); with a TAP also TCP
 * segmentation (HOST_TSO4/6/ECN, GUEST_TSO4/6/ECN), which the kernel does.
 * No mergeable receive buffers: each receive buffer holds a whole frame
 * with its 12-byte header. Exactly one backend:
 *  - tap: a TAP interface (created if absent, needs CAP_NET_ADMIN) opened
 *    with IFF_VNET_HDR; its frames are read on the device's I/O thread
 *    ("vmm-netN"), started here and joined when the VM is destroyed;
 *  - pair: an in-process link; the two devices (in one VM or two) added
 *    with the same pair name are connected back to back, a frame one
 *    transmits is received by the other on the sender's vCPU thread, and
 *    dropped (counted) when the receiver has no buffer. A third device
 *    with that name gets VMM_EBUSY;
 *  - VMM_NET_USER: user-mode networking with libslirp, needing no rights:
 *    the guest is on 10.0.2.0/24 (gateway and host 10.0.2.2, DNS 10.0.2.3,
 *    DHCP from 10.0.2.15), NATed to the host's network; fwd[] forwards
 *    host ports to the guest. Runs on its own thread ("vmm-slirpN"),
 *    started here and joined when the VM is destroyed; CSUM is completed
 *    by libvmm, GUEST_CSUM is not offered;
 *  - port: a port of a virtual switch (vmm/net.h) created with kind
 *    VMM_NET_PORT_VIRTIO; frames go through the switch on the vCPU thread
 *    that transmitted, and arrive on the sender's thread. CSUM is
 *    completed by libvmm, GUEST_CSUM is not offered. A port takes one
 *    device (VMM_EBUSY).
 * Transmitted frames are handled on the vCPU thread that notified. */
enum {
	VMM_NET_NO_OFFLOAD = 1u << 0,
	VMM_NET_USER = 1u << 1      /* user-mode networking (libslirp), see below */
};
/* A port forwarded from the host to a VMM_NET_USER guest. */
typedef struct vmm_net_fwd {
	uint32_t udp;               /* 0: TCP, 1: UDP */
	uint32_t host_addr;         /* IPv4, host byte order; 0: every address */
	uint32_t guest_addr;        /* IPv4, host byte order; 0: 10.0.2.15 */
	uint16_t host_port, guest_port;
} vmm_net_fwd;
typedef struct vmm_net_config {
	uint32_t size;              /* sizeof(vmm_net_config) */
	uint32_t flags;             /* VMM_NET_* */
	uint8_t mac[6];             /* all zero: 52:54:00:xx:xx:xx, unique per process */
	uint16_t mtu;               /* 0: 1500; 68..65518 (VMM_NET_USER: 1500) */
	const char *tap;            /* TAP interface name, or NULL */
	const char *pair;           /* in-process pair name, or NULL */
	const vmm_net_fwd *fwd;     /* VMM_NET_USER: nfwd forwarded ports */
	uint32_t nfwd;
	uint32_t reserved;
	/* A VMM_NET_PORT_VIRTIO port of a switch (vmm/net.h), or NULL. The
	 * device holds it until the VM is destroyed; mtu must be 0 (the
	 * switch's MTU is offered). */
	struct vmm_net_port *port;
} vmm_net_config;
#define VMM_NET_CONFIG_INIT { sizeof(vmm_net_config), 0, { 0 }, 0, NULL, NULL, NULL, 0, 0, NULL }
VMM_API int vmm_virtio_net_add(vmm_vm *vm, const vmm_net_config *config);

/* Counters of the VM's index-th network device (0 = added first). */
typedef struct vmm_net_stats {
	uint32_t size;              /* sizeof(vmm_net_stats), set by the caller */
	uint32_t reserved;
	uint64_t tx_frames, tx_bytes;
	uint64_t tx_dropped;        /* bad header, short or oversized, backend error */
	uint64_t rx_frames, rx_bytes;
	uint64_t rx_dropped;        /* the guest had no receive buffer */
	uint64_t rx_errors;         /* buffer too small for the frame, bad frame */
} vmm_net_stats;
VMM_API int vmm_virtio_net_stats(vmm_vm *vm, uint32_t index, vmm_net_stats *stats);

/* virtio-console: one port (receiveq 0, transmitq 1), no multiport, no
 * size (cols/rows 0). What the guest writes goes to out_fd (if >= 0) and
 * out_fn (if non-NULL) on the vCPU thread that notified. One per VM. */
typedef struct vmm_console_config {
	uint32_t size;              /* sizeof(vmm_console_config) */
	uint32_t flags;             /* 0 */
	int32_t out_fd;             /* -1: none */
	uint32_t reserved;
	vmm_output_fn out_fn;
	void *out_opaque;
} vmm_console_config;
#define VMM_CONSOLE_CONFIG_INIT { sizeof(vmm_console_config), 0, -1, 0, NULL, NULL }
VMM_API int vmm_virtio_console_add(vmm_vm *vm, const vmm_console_config *config);
/* Feeds len bytes to the console's input; up to 4 KiB wait for the guest's
 * buffers, *accepted (if non-NULL) says how many were taken. Any thread. */
VMM_API int vmm_virtio_console_input(vmm_vm *vm, const void *buf, size_t len,
				     size_t *accepted);

/* virtio-vsock (device type 19): stream sockets between the guest and Unix
 * sockets on the host, as Firecracker's hybrid vsock:
 *  - the guest connects to CID 2 (the host), port P: libvmm connects to the
 *    Unix socket "UDS_PATH_P" (uds_path, '_', P in decimal); nobody
 *    listening there is a reset (RST) for the guest;
 *  - a host program connects to the Unix socket uds_path (libvmm creates
 *    it and listens; an old socket file there is replaced) and writes
 *    "CONNECT P\n": libvmm connects it to the guest's port P and answers
 *    "OK H\n" (H the host-side port it picked, from 1073741824), or
 *    closes the connection if the guest refuses.
 * Credit-based flow control both ways; a guest that breaks the protocol
 * (bad lengths, unknown operations, more data than the credit it was
 * given) gets the connection reset, never a crash. Connections are served
 * on the device's I/O thread ("vmm-vsockN"), started here and joined when
 * the VM is destroyed, which also removes uds_path. One per VM. */
typedef struct vmm_vsock_config {
	uint32_t size;              /* sizeof(vmm_vsock_config) */
	uint32_t flags;             /* 0 */
	uint32_t guest_cid;         /* 3 .. 0xfffffffe */
	uint32_t reserved;
	const char *uds_path;       /* < 100 bytes with the "_P" suffix */
} vmm_vsock_config;
#define VMM_VSOCK_CONFIG_INIT { sizeof(vmm_vsock_config), 0, 0, 0, NULL }
VMM_API int vmm_virtio_vsock_add(vmm_vm *vm, const vmm_vsock_config *config);

#ifdef __cplusplus
}
#endif
#endif /* VMM_VIRTIO_H */
