/* vmm/storage.h - storage devices reached through several paths, with
 * failover (included by vmm.h; docs/storage.md has the whole story).
 *
 * A storage device (vmm_storage_dev) is one logical disk of `capacity`
 * bytes. It is reached through one or more paths: a local file or block
 * device (raw), an NBD export (libnbd URI, e.g. "nbd+unix:///?socket=S" or
 * "nbd://HOST:PORT/EXPORT"), an iSCSI LUN (libiscsi URL,
 * "iscsi://HOST[:PORT]/IQN/LUN") or, when built in, a qcow2 image. Every
 * path must show the same bytes (the same disk seen through several
 * connections, as in a SAN).
 *
 * Requests are asynchronous: vmm_storage_submit() queues a request and
 * returns; the device's path threads ("vmm-stN.P", one per path, started
 * by vmm_storage_add_path, joined by vmm_storage_destroy) issue it with at
 * most `queue_depth` requests in flight per path and call its `done`
 * callback. Two plug-in tables, registered by name, decide how:
 *  - a SATP (storage array type plugin) turns what happened on a path
 *    (opened, error, timeout, SCSI sense data, ALUA states) into the
 *    path's state and into what to do with a failed request. Built in:
 *    "default" (active/active) and "alua" (REPORT TARGET PORT GROUPS on
 *    iSCSI paths, re-read on the "asymmetric access state changed" unit
 *    attention).
 *  - a PSP (path selection plugin) picks the path of each request. Built
 *    in: "fixed" (the preferred path while it is usable, back to it when it
 *    returns), "mru" (stays on the path in use until it fails) and "rr"
 *    (round robin, switching every rr_requests requests or rr_bytes bytes,
 *    only among optimized paths when there are any).
 * An embedder may instead supply a whole multipathing plugin
 * (vmm_storage_mpp): it receives every request and issues it on the path
 * of its choice with vmm_storage_path_submit().
 *
 * Failover (native multipathing): a request that fails on a path
 * (connection lost, no answer within timeout_ms, an error the SATP calls a
 * path failure) is retried on another usable path; the caller sees the
 * error only when no path can complete it. While no path is usable,
 * requests wait up to no_path_ms for one to come back. A dead path is
 * re-opened every probe_ms and returns to service when that works.
 *
 * Thread safety:
 *  - Every function may be called from any thread, except that
 *    vmm_storage_destroy must not run concurrently with other calls on the
 *    same device, nor from one of its callbacks.
 *  - `done`, `state_changed` and plug-in callbacks run on the device's
 *    threads. `done` and `state_changed` may submit requests and read path
 *    information, but must not wait for a request (vmm_storage_io) or
 *    destroy the device. SATP and PSP callbacks run with the device's lock
 *    held and must not call any vmm_storage_* function.
 *  - A request and its buffer belong to the library from submit until its
 *    `done` returns. Concurrent requests are unordered: overlapping writes
 *    in flight at the same time may land in either order.
 */
#ifndef VMM_STORAGE_H
#define VMM_STORAGE_H

#ifndef VMM_H
#error "include <vmm.h>, not <vmm/storage.h>"
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vmm_storage_dev vmm_storage_dev;
typedef struct vmm_storage_config vmm_storage_config;

#define VMM_STORAGE_MAX_PATHS 32

/* ---- Paths ------------------------------------------------------------- */

enum {
	VMM_STORAGE_PATH_FILE = 1,   /* target: file or block device path */
	VMM_STORAGE_PATH_NBD = 2,    /* target: libnbd URI */
	VMM_STORAGE_PATH_ISCSI = 3,  /* target: libiscsi URL */
	VMM_STORAGE_PATH_QCOW2 = 4   /* target: qcow2 image (when built in) */
};

/* Path states, as in SCSI ALUA. Requests go to active paths, to
 * active/non-optimized ones when no active one is usable; standby and
 * unavailable paths are kept open but get no requests; dead paths are
 * closed and probed. */
enum {
	VMM_STORAGE_ACTIVE = 0,
	VMM_STORAGE_ACTIVE_NON_OPTIMIZED = 1,
	VMM_STORAGE_STANDBY = 2,
	VMM_STORAGE_UNAVAILABLE = 3,
	VMM_STORAGE_DEAD = 4
};

enum {
	VMM_STORAGE_PATH_PREFERRED = 1u << 0   /* the "fixed" PSP's path */
};

typedef struct vmm_storage_path_config {
	uint32_t size;           /* sizeof(vmm_storage_path_config) */
	uint32_t kind;           /* VMM_STORAGE_PATH_* */
	const char *target;      /* file path, NBD URI or iSCSI URL */
	uint32_t queue_depth;    /* requests in flight on this path, 1..1024;
				    0: 32 */
	uint32_t flags;          /* VMM_STORAGE_PATH_* flags */
	const char *initiator;   /* iSCSI initiator IQN; NULL: one per path,
				    "iqn.2024-01.org.libvmm:PID.N" */
} vmm_storage_path_config;
#define VMM_STORAGE_PATH_CONFIG_INIT { sizeof(vmm_storage_path_config), 0, NULL, 0, 0, NULL }

/* Counters and state of one path; readable at any time. */
typedef struct vmm_storage_path_info {
	uint32_t size;           /* sizeof(vmm_storage_path_info), set by the caller */
	uint32_t kind;           /* VMM_STORAGE_PATH_* */
	uint32_t state;          /* VMM_STORAGE_ACTIVE ... VMM_STORAGE_DEAD */
	uint32_t inflight;       /* requests issued and not yet answered */
	uint64_t reads, writes, flushes, discards, write_zeroes; /* completed */
	uint64_t bytes_read, bytes_written;
	uint64_t errors;         /* failed attempts on this path (all causes) */
	uint64_t timeouts;       /* of which: no answer within timeout_ms */
	uint64_t failovers;      /* requests moved from this path to another */
	uint64_t state_changes;
	uint64_t latency_last_ns;   /* of the last completed request */
	uint64_t latency_avg_ns;    /* moving average (1/16 weight) */
	uint64_t latency_max_ns;
	int32_t last_error;      /* VMM_E* of the last failure, 0 if none */
	uint32_t alua_state;     /* last ALUA state read (0..3, 0xe, 0xf), or
				    0xff when not read */
	uint32_t target_port_group;  /* from the device identification VPD
					page; 0 when unknown */
	uint32_t reserved;
	char target[256];        /* the path's target as configured */
	char last_error_msg[256];/* what failed last, "" if nothing */
} vmm_storage_path_info;
#define VMM_STORAGE_PATH_INFO_INIT { sizeof(vmm_storage_path_info), 0, 0, 0, 0, 0, 0, 0, 0, \
				     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, "", "" }

/* ---- Plug-ins ---------------------------------------------------------- */

/* What happened on a path, for the SATP. */
enum {
	VMM_STORAGE_EV_OPENED = 1,    /* the path (re)opened; alua_* filled when
					 the SATP asked for ALUA */
	VMM_STORAGE_EV_IO_ERROR = 2,  /* the target answered a request with an
					 error (sense data when SCSI) */
	VMM_STORAGE_EV_CONN_LOST = 3, /* connection reset or closed */
	VMM_STORAGE_EV_TIMEOUT = 4,   /* no answer within timeout_ms */
	VMM_STORAGE_EV_ALUA = 5       /* target port group states re-read */
};

typedef struct vmm_storage_event {
	uint32_t size;           /* sizeof(vmm_storage_event) */
	uint32_t kind;           /* VMM_STORAGE_EV_* */
	uint32_t path;           /* path index */
	uint32_t state;          /* the path's state now */
	uint32_t path_kind;      /* VMM_STORAGE_PATH_* */
	uint32_t op;             /* VMM_STORAGE_OP_* of the failed request, or 0 */
	int32_t error;           /* VMM_E* code */
	int32_t sys_errno;       /* errno from the host or target, 0 if none */
	uint8_t scsi_status;     /* SCSI status (0x02 CHECK CONDITION), 0 if none */
	uint8_t sense_key;       /* with CHECK CONDITION */
	uint8_t asc, ascq;
	uint32_t alua_state;     /* this path's target port group's state
				    (REPORT TARGET PORT GROUPS), 0xff unknown */
} vmm_storage_event;

/* What the SATP decides about a failed request. */
enum {
	VMM_STORAGE_RETRY = 0,       /* retry on another usable path (or this
					one if it stays usable and no other is) */
	VMM_STORAGE_RETRY_SAME = 1,  /* retry on this path (e.g. unit attention) */
	VMM_STORAGE_FAIL = 2,        /* give the error to the caller */
	VMM_STORAGE_RECHECK = 3      /* re-read ALUA states of every path, then
					retry (asymmetric access state changed) */
};

typedef struct vmm_storage_decision {
	uint32_t size;           /* sizeof(vmm_storage_decision) */
	uint32_t state;          /* the path's new state (preset: unchanged) */
	uint32_t action;         /* VMM_STORAGE_RETRY ... (preset: RETRY) */
	uint32_t reserved;
} vmm_storage_decision;

enum {
	VMM_STORAGE_SATP_ALUA = 1u << 0   /* read REPORT TARGET PORT GROUPS on
					     iSCSI paths when they open and on
					     VMM_STORAGE_RECHECK */
};

#define VMM_STORAGE_SATP_VERSION 1
/* A SATP. Grows at the end; version says how far it goes. */
typedef struct vmm_storage_satp {
	uint32_t version;        /* VMM_STORAGE_SATP_VERSION */
	uint32_t flags;          /* VMM_STORAGE_SATP_* */
	const char *name;        /* up to 31 bytes, unique */
	/* The path opened or its ALUA states were re-read (EV_OPENED,
	 * EV_ALUA): return its state. */
	uint32_t (*path_state)(void *opaque, const vmm_storage_event *ev);
	/* A request failed on the path (EV_IO_ERROR, EV_CONN_LOST,
	 * EV_TIMEOUT): set d->state and d->action. After EV_CONN_LOST and
	 * EV_TIMEOUT the connection is already closed and the path becomes
	 * dead whatever d->state says. */
	void (*request_failed)(void *opaque, const vmm_storage_event *ev,
			       vmm_storage_decision *d);
} vmm_storage_satp;

/* One path as the PSP sees it. */
typedef struct vmm_storage_psp_path {
	uint32_t state;          /* VMM_STORAGE_* */
	uint32_t inflight;
	uint32_t queue_depth;
	uint32_t flags;          /* VMM_STORAGE_PATH_* flags */
} vmm_storage_psp_path;

/* A request for the PSP: which paths it may take. */
typedef struct vmm_storage_psp_request {
	uint32_t size;           /* sizeof(vmm_storage_psp_request) */
	uint32_t op;             /* VMM_STORAGE_OP_* */
	uint64_t length;
	uint32_t npaths;
	uint32_t last_path;      /* path of the previous request, or ~0u */
	uint64_t excluded;       /* bit i: path i already failed this request */
	const vmm_storage_psp_path *paths;  /* npaths entries */
} vmm_storage_psp_request;

#define VMM_STORAGE_PSP_VERSION 1
/* A PSP. Grows at the end; version says how far it goes. */
typedef struct vmm_storage_psp {
	uint32_t version;        /* VMM_STORAGE_PSP_VERSION */
	uint32_t reserved;
	const char *name;        /* up to 31 bytes, unique */
	/* Per-device state (NULL allowed); config is the device's. */
	int (*attach)(void *opaque, const vmm_storage_config *config,
		      void **state);
	void (*detach)(void *opaque, void *state);
	/* The path for this request: an index whose state is ACTIVE or
	 * ACTIVE_NON_OPTIMIZED and not excluded, or -1 when none fits. */
	int32_t (*select)(void *opaque, void *state, const vmm_storage_psp_request *r);
} vmm_storage_psp;

/* Registers a plug-in under its name (VMM_EEXIST if taken). table and
 * opaque must stay valid until unregistered. Any thread. */
VMM_API int vmm_storage_register_satp(const vmm_storage_satp *satp, void *opaque);
VMM_API int vmm_storage_register_psp(const vmm_storage_psp *psp, void *opaque);
/* VMM_EBUSY while a device uses it; the built-ins cannot be removed. */
VMM_API int vmm_storage_unregister_satp(const char *name);
VMM_API int vmm_storage_unregister_psp(const char *name);

/* ---- Requests ---------------------------------------------------------- */

enum {
	VMM_STORAGE_OP_READ = 1,
	VMM_STORAGE_OP_WRITE = 2,
	VMM_STORAGE_OP_FLUSH = 3,         /* offset and length ignored */
	VMM_STORAGE_OP_DISCARD = 4,       /* may leave the range unchanged */
	VMM_STORAGE_OP_WRITE_ZEROES = 5
};

enum {
	VMM_STORAGE_REQ_UNMAP = 1u << 0   /* write-zeroes may deallocate */
};

typedef struct vmm_storage_req vmm_storage_req;
struct vmm_storage_req {
	uint32_t size;           /* sizeof(vmm_storage_req) */
	uint32_t op;             /* VMM_STORAGE_OP_* */
	uint64_t offset;         /* bytes, a multiple of block_size */
	uint64_t length;         /* bytes, a multiple of block_size, <= 32 MiB
				    for read and write */
	void *buf;               /* read: filled; write: data */
	uint32_t flags;          /* VMM_STORAGE_REQ_* */
	/* Set by the library before done runs: */
	int32_t result;          /* 0 or VMM_E* */
	uint32_t path;           /* path that completed it (~0u: none) */
	uint32_t attempts;       /* paths tried (1 without failover) */
	/* Called once, on a device thread, when the request is finished. */
	void (*done)(vmm_storage_req *req);
	void *opaque;            /* the caller's */
	/* Set with a failed result when the last path tried answered with a
	 * SCSI status (iSCSI): for passing sense data on (virtio-scsi). Only
	 * written when size covers them (older callers' requests end at
	 * opaque). */
	uint8_t scsi_status;     /* 0x02 CHECK CONDITION; 0 otherwise */
	uint8_t sense_key, asc, ascq;
	uint32_t reserved;
};
#define VMM_STORAGE_REQ_INIT { sizeof(vmm_storage_req), 0, 0, 0, NULL, 0, 0, 0, 0, NULL, NULL, \
			       0, 0, 0, 0, 0 }

/* ---- Multipathing plug-in (instead of the native SATP+PSP) -------------- */

#define VMM_STORAGE_MPP_VERSION 1
typedef struct vmm_storage_mpp {
	uint32_t version;        /* VMM_STORAGE_MPP_VERSION */
	uint32_t reserved;
	/* Every vmm_storage_submit lands here (after its checks): issue
	 * requests of your own made from it with vmm_storage_path_submit,
	 * retry as you see fit, and finish it once with vmm_storage_complete. */
	void (*submit)(void *opaque, vmm_storage_dev *dev, vmm_storage_req *req);
	/* A path's connection failed (its state is now dead) or it came
	 * back after a probe (state active). May be NULL. */
	void (*path_event)(void *opaque, vmm_storage_dev *dev, uint32_t path,
			   uint32_t state);
} vmm_storage_mpp;

/* ---- Devices ----------------------------------------------------------- */

enum {
	VMM_STORAGE_READONLY = 1u << 0    /* writes fail with VMM_EINVAL; paths
					     open read-only */
};

struct vmm_storage_config {
	uint32_t size;           /* sizeof(vmm_storage_config) */
	uint32_t flags;          /* VMM_STORAGE_* flags */
	const char *name;        /* for messages; NULL: "storage" */
	const char *satp;        /* NULL: "default" */
	const char *psp;         /* NULL: "fixed" */
	uint32_t block_size;     /* 512 or 4096; 0: 512 */
	uint32_t timeout_ms;     /* per request attempt; 0: 30000 */
	uint32_t probe_ms;       /* dead path re-open interval; 0: 1000 */
	uint32_t no_path_ms;     /* how long requests wait for a usable path;
				    0: 30000 */
	uint32_t rr_requests;    /* "rr": switch after this many; 0: 1000 */
	uint32_t max_attempts;   /* paths tried per request; 0: 16 */
	uint64_t rr_bytes;       /* "rr": also switch after this many bytes;
				    0: only by count */
	/* A path's state changed (any cause). May be NULL. */
	void (*state_changed)(void *opaque, vmm_storage_dev *dev, uint32_t path,
			      uint32_t old_state, uint32_t new_state);
	void *opaque;
	const vmm_storage_mpp *mpp;   /* NULL: native multipathing */
	void *mpp_opaque;
};
#define VMM_STORAGE_CONFIG_INIT { sizeof(vmm_storage_config), 0, NULL, NULL, NULL, 0, 0, 0, 0, \
				  0, 0, 0, NULL, NULL, NULL, NULL }

typedef struct vmm_storage_info {
	uint32_t size;           /* sizeof(vmm_storage_info), set by the caller */
	uint32_t npaths;
	uint64_t capacity;       /* bytes (the first path's size) */
	uint32_t block_size;
	uint32_t flags;          /* VMM_STORAGE_READONLY if any path is */
	uint32_t can_discard;    /* 1 if every path does discard */
	uint32_t reserved;
	uint64_t completed;      /* requests completed, with or without error */
	uint64_t failed;         /* of which with an error */
	uint64_t failovers;      /* retries on another path */
	char satp[32], psp[32];
} vmm_storage_info;
#define VMM_STORAGE_INFO_INIT { sizeof(vmm_storage_info), 0, 0, 0, 0, 0, 0, 0, 0, 0, "", "" }

/* Creates a device with no path yet; starts no thread. */
VMM_API int vmm_storage_create(const vmm_storage_config *config, vmm_storage_dev **out);
/* Opens the path (synchronously, within timeout_ms) and starts its thread;
 * *index (may be NULL) is its number, 0, 1, ... Its size must equal the
 * device's (set by the first path). */
VMM_API int vmm_storage_add_path(vmm_storage_dev *dev, const vmm_storage_path_config *config,
				 uint32_t *index);
/* Stops the path threads: queued requests complete with VMM_ESTATE,
 * requests in flight finish (or time out) first. Then frees the device. */
VMM_API void vmm_storage_destroy(vmm_storage_dev *dev);

/* Queues req; its done callback runs later on a device thread (also on a
 * failure found here, except that VMM_EINVAL for a malformed request is
 * returned directly and done is not called). */
VMM_API int vmm_storage_submit(vmm_storage_dev *dev, vmm_storage_req *req);
/* Submits one request and waits for it: the result. Not from a callback. */
VMM_API int vmm_storage_io(vmm_storage_dev *dev, uint32_t op, uint64_t offset, void *buf,
			   uint64_t length);

VMM_API int vmm_storage_get_info(vmm_storage_dev *dev, vmm_storage_info *info);
VMM_API int vmm_storage_path_get_info(vmm_storage_dev *dev, uint32_t path,
				      vmm_storage_path_info *info);
/* Grows the device to new_size bytes (a multiple of the block size): the
 * image behind each path is grown (qcow2: a bigger L1 table if needed;
 * raw file: extended, sparse), then the capacity. Every path must be a
 * file or qcow2 path and open (VMM_ENOTSUP / VMM_ESTATE otherwise); a
 * smaller size is VMM_ENOTSUP. Guest-facing devices over it learn the new
 * size: virtio-scsi LUNs report "capacity data has changed" (a unit
 * attention) on their next command; virtio-blk is told with
 * vmm_virtio_blk_resize. */
VMM_API int vmm_storage_resize(vmm_storage_dev *dev, uint64_t new_size);
/* Sets a path's state by hand (administrative standby, or from an mpp).
 * VMM_STORAGE_DEAD closes the path (it is then probed). */
VMM_API int vmm_storage_path_set_state(vmm_storage_dev *dev, uint32_t path, uint32_t state);

/* For a multipathing plug-in: issue req on this path only (no retry; done
 * as usual), and finish a request it got through submit. */
VMM_API int vmm_storage_path_submit(vmm_storage_dev *dev, uint32_t path, vmm_storage_req *req);
VMM_API void vmm_storage_complete(vmm_storage_dev *dev, vmm_storage_req *req, int result);

/* ---- Thin provisioning ------------------------------------------------- */

/* What a device takes on its host: provisioned (the capacity the guest
 * sees) against allocated (what the image holds). Measured on the first
 * file or qcow2 path; NBD and iSCSI paths cannot tell (flags 0). */
enum {
	VMM_STORAGE_SPACE_KNOWN = 1u << 0   /* allocated and host_bytes were measured */
};

typedef struct vmm_storage_space {
	uint32_t size;           /* sizeof(vmm_storage_space), set by the caller */
	uint32_t flags;          /* VMM_STORAGE_SPACE_KNOWN */
	uint64_t provisioned;    /* the device's capacity in bytes */
	uint64_t allocated;      /* qcow2: clusters with a refcount (data and
				    metadata); raw file: its host blocks */
	uint64_t host_bytes;     /* blocks the image file occupies (st_blocks * 512) */
	uint32_t path;           /* the path measured, ~0u when none could be */
	uint32_t reserved;
} vmm_storage_space;
#define VMM_STORAGE_SPACE_INIT { sizeof(vmm_storage_space), 0, 0, 0, 0, 0, 0 }

/* Fills space now (a qcow2 image's refcounts are counted under its lock;
 * a dead path's file is stat'ed by name). */
VMM_API int vmm_storage_get_space(vmm_storage_dev *dev, vmm_storage_space *space);

/* A datastore is a directory whose file system holds disk images. It sums
 * the provisioned and allocated bytes of the devices added to it, reads
 * the file system's size and use (statvfs), reports overcommit (the sum
 * of provisioned sizes above the file system's capacity) and raises
 * alerts, each once per crossing:
 *  - DATASTORE_USED: the file system's used share reached used_pct[i]
 *    (cleared when it falls back below);
 *  - DISK_ALLOCATED: a device's allocation reached the limit it was added
 *    with;
 *  - OVERCOMMIT: the provisioned sum went above the capacity.
 * A crossing back down is reported too (raised 0), and re-arms the alert.
 * Measuring happens in vmm_datastore_poll (on the caller's thread) and,
 * with poll_ms, on the datastore's thread "vmm-dsN" (started by create,
 * joined by destroy).
 *
 * Thread safety: any thread. alert runs with the datastore's poll lock
 * held (on the polling thread): it may read (vmm_datastore_get_info,
 * vmm_storage_get_space, ...) but must not add, remove, poll, or destroy
 * datastores or devices. */
typedef struct vmm_datastore vmm_datastore;

enum {
	VMM_STORAGE_ALERT_DATASTORE_USED = 1,
	VMM_STORAGE_ALERT_DISK_ALLOCATED = 2,
	VMM_STORAGE_ALERT_OVERCOMMIT = 3
};

typedef struct vmm_storage_alert {
	uint32_t size;           /* sizeof(vmm_storage_alert) */
	uint32_t kind;           /* VMM_STORAGE_ALERT_* */
	uint32_t raised;         /* 1: crossed upward; 0: back below (cleared) */
	uint32_t threshold_pct;  /* DATASTORE_USED: the used_pct crossed; else 0 */
	uint64_t threshold;      /* bytes: used_pct of the capacity, the disk's
				    limit, or the capacity (OVERCOMMIT) */
	uint64_t value;          /* bytes now: used, the disk's allocation, or
				    the provisioned sum */
	vmm_storage_dev *dev;    /* DISK_ALLOCATED: the device; else NULL */
	const char *datastore;   /* the datastore's name */
} vmm_storage_alert;

#define VMM_DATASTORE_THRESHOLDS 4

typedef struct vmm_datastore_config {
	uint32_t size;           /* sizeof(vmm_datastore_config) */
	uint32_t flags;          /* 0 */
	const char *path;        /* a directory (its file system is the datastore) */
	const char *name;        /* for alerts and messages; NULL: path */
	uint32_t used_pct[VMM_DATASTORE_THRESHOLDS];  /* 1..100, 0: unused */
	uint32_t poll_ms;        /* 0: no thread; else 10..3600000 */
	uint32_t reserved;
	void (*alert)(void *opaque, vmm_datastore *ds, const vmm_storage_alert *alert);
	void *opaque;
} vmm_datastore_config;
#define VMM_DATASTORE_CONFIG_INIT { sizeof(vmm_datastore_config), 0, NULL, NULL, { 0, 0, 0, 0 }, \
				    0, 0, NULL, NULL }

typedef struct vmm_datastore_info {
	uint32_t size;           /* sizeof(vmm_datastore_info), set by the caller */
	uint32_t ndisks;
	uint64_t capacity;       /* the file system's bytes (f_blocks) */
	uint64_t used;           /* bytes in use (f_blocks - f_bfree) */
	uint64_t available;      /* bytes free for unprivileged users (f_bavail) */
	uint64_t provisioned;    /* sum of the devices' capacities */
	uint64_t allocated;      /* sum of the devices' allocations */
	uint64_t overcommit;     /* provisioned - capacity, 0 when not above */
	uint32_t used_pct;       /* used * 100 / capacity, rounded down */
	uint32_t provisioned_pct;/* provisioned * 100 / capacity (over 100: overcommitted) */
	uint64_t alerts;         /* alerts raised (upward crossings) so far */
	uint64_t polls;          /* measurements made */
} vmm_datastore_info;
#define VMM_DATASTORE_INFO_INIT { sizeof(vmm_datastore_info), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }

VMM_API int vmm_datastore_create(const vmm_datastore_config *config, vmm_datastore **out);
/* Stops the thread, forgets the devices (they stay as they are). */
VMM_API void vmm_datastore_destroy(vmm_datastore *ds);
/* Adds a device whose file or qcow2 path is on the datastore's file
 * system (VMM_EINVAL if none is, VMM_EBUSY if it is in a datastore
 * already). alloc_limit: bytes of allocation that raise DISK_ALLOCATED
 * (0: none). vmm_storage_destroy removes a device by itself. */
VMM_API int vmm_datastore_add(vmm_datastore *ds, vmm_storage_dev *dev, uint64_t alloc_limit);
VMM_API int vmm_datastore_remove(vmm_datastore *ds, vmm_storage_dev *dev);
/* Measures now and raises the alerts that are due, on this thread. */
VMM_API int vmm_datastore_poll(vmm_datastore *ds);
/* Measures now without raising alerts (alerts and polls: so far). */
VMM_API int vmm_datastore_get_info(vmm_datastore *ds, vmm_datastore_info *info);

#ifdef __cplusplus
}
#endif

#endif /* VMM_STORAGE_H */
