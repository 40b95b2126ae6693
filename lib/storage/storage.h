/* storage.h - internals of the storage layer (vmm/storage.h): devices,
 * paths, the path backends' ops table, the request life cycle.
 *
 * Locking: one mutex per device (dev->lock) guards the path states, the
 * queues and the counters. A path's backend connection is touched only by
 * the path's own thread (open, start, service, close), outside the lock.
 * Callbacks to the caller (done, state_changed, mpp) run with no lock held:
 * code under the lock collects them in a vmm__post and runs them after
 * unlocking (vmm__post_run).
 */
#ifndef VMM_STORAGE_INTERNAL_H
#define VMM_STORAGE_INTERNAL_H

#include <pthread.h>
#include <sys/types.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/internal.h"

typedef struct vmm__path vmm__path;
typedef struct vmm__sreq vmm__sreq;

/* One request inside the library (one per vmm_storage_req). */
struct vmm__sreq {
	vmm_storage_req *req;
	vmm__sreq *next, *prev;     /* in a queue or a path's in-flight list */
	uint64_t submit_ns, start_ns, deadline_ns;
	uint64_t excluded;          /* paths that answered it with an error */
	uint32_t path;              /* path it is queued on / in flight on */
	uint32_t attempts;
	bool direct;                /* vmm_storage_path_submit: no retry */
	bool issued;                /* handed to the backend (path thread) */
	/* Set by the backend when it finished (vmm__path_finish): */
	int result;                 /* 0 or VMM_E* */
	int sys_errno;
	uint8_t scsi_status, sense_key, asc, ascq;
	uint32_t ev_kind;           /* VMM_STORAGE_EV_* of a failure */
	char msg[160];              /* what failed */
	void *be;                   /* the backend's per-request data */
};

typedef struct vmm__sq {
	vmm__sreq *head, *tail;
	uint32_t n;
} vmm__sq;

void vmm__sq_push(vmm__sq *q, vmm__sreq *r);
vmm__sreq *vmm__sq_pop(vmm__sq *q);
void vmm__sq_remove(vmm__sq *q, vmm__sreq *r);   /* r must be in q */

/* A path backend. All ops run on the path's thread. */
typedef struct vmm__path_ops {
	const char *kind;
	/* Connects within timeout_ms; fills p->size, p->block_size,
	 * p->readonly, p->can_discard, p->can_zero. On failure writes p->msg. */
	int (*open)(vmm__path *p, uint32_t timeout_ms);
	void (*close)(vmm__path *p);   /* drops the connection, no callbacks */
	/* Issues r; the backend calls vmm__path_finish(p, r) (now or from
	 * service). A negative return is a connection failure (p->msg). */
	int (*start)(vmm__path *p, vmm__sreq *r);
	/* The fd to poll and its events, or -1 (synchronous backend). */
	int (*poll_fd)(vmm__path *p, short *events);
	/* Handles revents; a negative return is a connection failure. */
	int (*service)(vmm__path *p, short revents);
	/* Reads this path's ALUA state and target port group (may be NULL). */
	int (*alua)(vmm__path *p, uint32_t *state, uint32_t *tpg, uint32_t timeout_ms);
	/* Thin provisioning: bytes the image has in use (its format's view)
	 * and the host blocks its file occupies. Runs on any thread with
	 * p->be_lock held and p->open true. NULL: not measurable (remote). */
	int (*space)(vmm__path *p, uint64_t *allocated, uint64_t *host_bytes);
	/* Grows the image to new_size bytes (any thread, p->be_lock held, p->open
	 * true; sets the error message). NULL: the target's size is its own. */
	int (*grow)(vmm__path *p, uint64_t new_size);
} vmm__path_ops;

extern const vmm__path_ops vmm__path_file_ops;
extern const vmm__path_ops vmm__path_nbd_ops;
extern const vmm__path_ops vmm__path_iscsi_ops;
extern const vmm__path_ops vmm__path_qcow2_ops;

struct vmm__path {
	vmm_storage_dev *dev;
	uint32_t index;
	const vmm__path_ops *ops;
	vmm_storage_path_config config;
	char *target, *initiator;   /* copies */
	void *be;                   /* the backend's connection */
	bool open;                  /* be is connected (written by the path
				       thread under be_lock) */
	pthread_mutex_t be_lock;    /* be's life: held while it is closed and by
				       readers from other threads (space) */
	/* Filled by open: */
	uint64_t size;
	uint32_t block_size;
	bool readonly, can_discard, can_zero;
	char msg[256];              /* backend failure message (path thread) */
	int open_err;               /* VMM_E* of a failed open; 0: VMM_EIO */
	/* Under dev->lock: */
	uint32_t state;
	vmm__sq pending;            /* queued, not issued */
	vmm__sq inflight;           /* issued */
	bool recheck;               /* re-read ALUA */
	uint64_t next_probe_ns;     /* path thread: when to re-open */
	vmm_storage_path_info info; /* counters */
	/* Path thread only: */
	vmm__sq finished;           /* answered, to be handled */
	pthread_t thread;
	int kick_fd;                /* eventfd */
	bool started;
};

/* One state change to report after unlocking. */
typedef struct vmm__post_ev {
	uint32_t path, old_state, new_state;
} vmm__post_ev;

typedef struct vmm__post {
	vmm__sq done;
	vmm__post_ev ev[2 * VMM_STORAGE_MAX_PATHS];
	uint32_t nev;
} vmm__post;

struct vmm_storage_dev {
	pthread_mutex_t lock;
	vmm_storage_config config;
	char name[64];
	uint32_t number;            /* for thread names */
	const vmm_storage_satp *satp;
	void *satp_opaque;
	const vmm_storage_psp *psp;
	void *psp_opaque, *psp_state;
	/* Under lock: */
	vmm__path *paths[VMM_STORAGE_MAX_PATHS];
	uint32_t npaths;
	uint64_t capacity;
	uint32_t block_size;
	bool readonly, can_discard;
	uint32_t last_path;
	vmm__sq parked;             /* waiting for a usable path */
	bool stopping;
	uint64_t completed, failed, failovers;
	vmm_datastore *datastore;   /* the one it is in (datastore.c's lock) */
};

/* ---- device.c / dispatch.c ---- */
/* Queues r on a path the PSP picks, or parks it, or finishes it (post).
 * dev->lock held. */
void vmm__storage_dispatch(vmm_storage_dev *dev, vmm__sreq *r, vmm__post *post);
/* Finishes r with result (dev->lock held; done runs from post). */
void vmm__storage_finish(vmm_storage_dev *dev, vmm__sreq *r, int result, vmm__post *post);
/* Sets a path's state, reporting the change (dev->lock held). */
void vmm__storage_set_state(vmm_storage_dev *dev, vmm__path *p, uint32_t state,
			    vmm__post *post);
/* Re-dispatches parked requests after a path became usable (lock held). */
void vmm__storage_unpark(vmm_storage_dev *dev, vmm__post *post);
/* Fails parked requests whose wait ran out; returns the earliest
 * remaining deadline (0: none). Lock held. */
uint64_t vmm__storage_expire_parked(vmm_storage_dev *dev, uint64_t now, vmm__post *post);
void vmm__post_run(vmm_storage_dev *dev, vmm__post *post);
bool vmm__storage_usable(uint32_t state);

/* ---- path.c: the path thread ---- */
int vmm__path_start_thread(vmm__path *p);
void vmm__path_stop_thread(vmm__path *p);   /* after dev->stopping is set */
void vmm__path_kick(vmm__path *p);
/* Backends: r finished with r->result (0, or an error with r->ev_kind and
 * r->msg filled). Path thread only. */
void vmm__path_finish(vmm__path *p, vmm__sreq *r);
/* Backends' helper for a failed request. */
void vmm__path_fail(vmm__path *p, vmm__sreq *r, int code, uint32_t ev_kind, int sys_errno,
		    const char *msg);
/* Handles one failure of r on p (SATP decision); lock held. */
void vmm__path_failed_locked(vmm__path *p, vmm__sreq *r, vmm__post *post);

/* ---- path.c: the connection's life, seen from other threads ---- */
/* Closes the connection (path thread, or destroy after the thread ended). */
void vmm__path_close(vmm__path *p);

/* ---- space.c ---- */
/* Whether a file or qcow2 path of dev is a regular file on fs_dev. */
bool vmm__storage_on_fs(vmm_storage_dev *dev, dev_t fs_dev);

/* ---- datastore.c ---- */
/* vmm_storage_destroy: leave the datastore the device is in, if any. */
void vmm__datastore_forget(vmm_storage_dev *dev);

/* ---- alua.c ---- */
/* The asymmetric access state of target port group tpg (0: the only group)
 * in a REPORT TARGET PORT GROUPS answer of size bytes; -1 if absent. */
int vmm__alua_find_state(const uint8_t *d, uint32_t size, uint32_t tpg, uint32_t *state);

/* ---- satp.c, psp.c, registry.c ---- */
extern const vmm_storage_satp vmm__satp_default, vmm__satp_alua;
extern const vmm_storage_psp vmm__psp_fixed, vmm__psp_mru, vmm__psp_rr;
int vmm__storage_plugins_get(const char *satp, const char *psp, vmm_storage_dev *dev);
void vmm__storage_plugins_put(vmm_storage_dev *dev);

#endif /* VMM_STORAGE_INTERNAL_H */
