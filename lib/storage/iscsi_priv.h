/* iscsi_priv.h - shared by the iSCSI path (path_iscsi.c) and its ALUA
 * commands (alua.c): the session and a task run to completion. */
#ifndef VMM_STORAGE_ISCSI_PRIV_H
#define VMM_STORAGE_ISCSI_PRIV_H

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "lib/storage/storage.h"

typedef struct vmm__iscsi_be {
	struct iscsi_context *ctx;
	int lun;
} vmm__iscsi_be;

/* A task run to completion on the path thread (open, ALUA). */
typedef struct vmm__iscsi_waiter {
	bool done;
	int status;
	struct scsi_task *task;
} vmm__iscsi_waiter;

void vmm__iscsi_wait_cb(struct iscsi_context *ctx, int status, void *data, void *priv);
/* Services the session until w is done or the deadline (CLOCK_MONOTONIC
 * ns) passes; -1 with p->msg on failure. Other tasks in flight complete
 * meanwhile as usual. */
int vmm__iscsi_service_until(vmm__path *p, struct iscsi_context *ctx, vmm__iscsi_waiter *w,
			     uint64_t deadline);
/* Waits for task t (queued with vmm__iscsi_wait_cb and w); on failure
 * cancels and frees it. On success the caller frees w->task. */
int vmm__iscsi_run_task(vmm__path *p, struct iscsi_context *ctx, struct scsi_task *t,
			vmm__iscsi_waiter *w, uint64_t deadline);
int vmm__iscsi_alua(vmm__path *p, uint32_t *state, uint32_t *tpg, uint32_t timeout_ms);

#endif /* VMM_STORAGE_ISCSI_PRIV_H */
