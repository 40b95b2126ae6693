/* path_iscsi.c - an iSCSI LUN as a path, through libiscsi's asynchronous
 * API (vmm/storage.h): one session per path, up to queue_depth tasks in
 * flight, READ(16)/WRITE(16)/SYNCHRONIZE CACHE(16)/UNMAP/WRITE SAME(16);
 * sense data goes to the SATP; for the ALUA SATP the path's target port
 * group (VPD page 0x83) and its state (REPORT TARGET PORT GROUPS). libiscsi's
 * own reconnect is off: a lost session is the path's failure. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/platform/platform.h"
#include "lib/storage/iscsi_priv.h"

void vmm__iscsi_wait_cb(struct iscsi_context *ctx, int status, void *data, void *priv)
{
	vmm__iscsi_waiter *w = priv;

	w->done = true;
	w->status = status;
	w->task = data;
}

int vmm__iscsi_service_until(vmm__path *p, struct iscsi_context *ctx, vmm__iscsi_waiter *w,
			     uint64_t deadline)
{
	while (!w->done) {
		struct pollfd pfd = { iscsi_get_fd(ctx), (short)iscsi_which_events(ctx), 0 };
		uint64_t now = vmm__now_ns();
		int n;

		if (now >= deadline) {
			snprintf(p->msg, sizeof(p->msg), "%s: no answer in time", p->target);
			return -1;
		}
		n = poll(&pfd, 1, (int)((deadline - now) / 1000000u) + 1);
		if (n < 0 && errno != EINTR) {
			snprintf(p->msg, sizeof(p->msg), "%s: poll: %s", p->target, strerror(errno));
			return -1;
		}
		if (n > 0 && iscsi_service(ctx, pfd.revents) < 0) {
			snprintf(p->msg, sizeof(p->msg), "%s: %s", p->target, iscsi_get_error(ctx));
			return -1;
		}
	}
	return 0;
}

int vmm__iscsi_run_task(vmm__path *p, struct iscsi_context *ctx, struct scsi_task *t,
			vmm__iscsi_waiter *w, uint64_t deadline)
{
	if (!t) {
		snprintf(p->msg, sizeof(p->msg), "%s: %s", p->target, iscsi_get_error(ctx));
		return -1;
	}
	if (vmm__iscsi_service_until(p, ctx, w, deadline) == 0)
		return 0;
	if (!w->done)
		iscsi_scsi_cancel_task(ctx, t);   /* runs the callback: w stays valid */
	scsi_free_scsi_task(t);
	w->task = NULL;
	return -1;
}

static int connect_session(vmm__path *p, vmm__iscsi_be *b, uint64_t deadline)
{
	struct iscsi_url *url = iscsi_parse_full_url(b->ctx, p->target);
	vmm__iscsi_waiter w = { 0 };
	int rc = -1;

	if (!url) {
		snprintf(p->msg, sizeof(p->msg), "%s: bad iSCSI URL: %s", p->target,
			 iscsi_get_error(b->ctx));
		return -1;
	}
	b->lun = url->lun;
	iscsi_set_targetname(b->ctx, url->target);
	iscsi_set_session_type(b->ctx, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(b->ctx, ISCSI_HEADER_DIGEST_NONE_CRC32C);
	iscsi_set_noautoreconnect(b->ctx, 1);
	if (url->user[0])
		iscsi_set_initiator_username_pwd(b->ctx, url->user, url->passwd);
	if (iscsi_full_connect_async(b->ctx, url->portal, url->lun, vmm__iscsi_wait_cb, &w) != 0)
		snprintf(p->msg, sizeof(p->msg), "%s: connect: %s", p->target,
			 iscsi_get_error(b->ctx));
	else if (vmm__iscsi_service_until(p, b->ctx, &w, deadline) == 0 && w.status != SCSI_STATUS_GOOD)
		snprintf(p->msg, sizeof(p->msg), "%s: login: %s", p->target,
			 iscsi_get_error(b->ctx));
	else if (w.done)
		rc = 0;
	iscsi_destroy_url(url);
	return rc;
}

static int read_capacity(vmm__path *p, vmm__iscsi_be *b, uint64_t deadline)
{
	vmm__iscsi_waiter w = { 0 };
	struct scsi_readcapacity16 *rc16;
	int rc = -1;

	if (vmm__iscsi_run_task(p, b->ctx, iscsi_readcapacity16_task(b->ctx, b->lun,
								    vmm__iscsi_wait_cb, &w),
				&w, deadline) < 0)
		return -1;
	rc16 = w.status == SCSI_STATUS_GOOD ? scsi_datain_unmarshall(w.task) : NULL;
	if (!rc16 || !rc16->block_length || rc16->block_length > 65536) {
		snprintf(p->msg, sizeof(p->msg), "%s: READ CAPACITY(16) failed or answered "
			 "nonsense", p->target);
	} else {
		p->block_size = rc16->block_length;
		p->size = (rc16->returned_lba + 1) * rc16->block_length;
		p->can_discard = rc16->lbpme;
		p->can_zero = true;
		rc = 0;
	}
	if (w.task)
		scsi_free_scsi_task(w.task);
	return rc;
}

static int iscsi_open(vmm__path *p, uint32_t timeout_ms)
{
	uint64_t deadline = vmm__now_ns() + timeout_ms * 1000000ull;
	vmm__iscsi_be *b = calloc(1, sizeof(*b));

	if (!b || !(b->ctx = iscsi_create_context(p->initiator))) {
		snprintf(p->msg, sizeof(p->msg), "%s: cannot create an iSCSI context", p->target);
		free(b);
		return -1;
	}
	if (connect_session(p, b, deadline) < 0 || read_capacity(p, b, deadline) < 0) {
		iscsi_destroy_context(b->ctx);
		free(b);
		return -1;
	}
	p->be = b;
	return 0;
}

static void iscsi_close_path(vmm__path *p)
{
	vmm__iscsi_be *b = p->be;

	if (!b)
		return;
	/* cancels the tasks in flight: their callbacks run now, as failures */
	iscsi_destroy_context(b->ctx);
	free(b);
	p->be = NULL;
}

static void io_done(struct iscsi_context *ctx, int status, void *data, void *priv)
{
	struct scsi_task *t = data;
	vmm__sreq *r = priv;
	vmm__path *p = r->be;
	vmm_storage_req *q = r->req;
	char msg[160];

	if (status == SCSI_STATUS_GOOD) {
		if (q->op == VMM_STORAGE_OP_READ && (!t || t->datain.size < 0 ||
						     (uint64_t)t->datain.size < q->length)) {
			vmm__path_fail(p, r, VMM_EIO, VMM_STORAGE_EV_IO_ERROR, EIO,
				       "iSCSI read returned less data than asked");
		} else {
			if (q->op == VMM_STORAGE_OP_READ)
				memcpy(q->buf, t->datain.data, q->length);
			r->result = 0;
			vmm__path_finish(p, r);
		}
	} else if (status == SCSI_STATUS_CANCELLED || status == SCSI_STATUS_ERROR ||
		   status == SCSI_STATUS_TIMEOUT) {
		snprintf(msg, sizeof(msg), "%s: session failed: %s", p->target,
			 iscsi_get_error(ctx));
		vmm__path_fail(p, r, VMM_EIO, VMM_STORAGE_EV_CONN_LOST, ECONNRESET, msg);
	} else {
		r->scsi_status = (uint8_t)status;
		if (status == SCSI_STATUS_CHECK_CONDITION && t) {
			r->sense_key = (uint8_t)t->sense.key;
			r->asc = (uint8_t)(t->sense.ascq >> 8);
			r->ascq = (uint8_t)t->sense.ascq;
		}
		snprintf(msg, sizeof(msg), "%s: SCSI status 0x%x sense %x/%02x/%02x", p->target,
			 status, r->sense_key, r->asc, r->ascq);
		vmm__path_fail(p, r, VMM_EIO, VMM_STORAGE_EV_IO_ERROR, EIO, msg);
	}
	if (t)
		scsi_free_scsi_task(t);
}

static struct scsi_task *issue(vmm__path *p, vmm__iscsi_be *b, vmm__sreq *r)
{
	static unsigned char zeros[65536];
	vmm_storage_req *q = r->req;
	uint64_t lba = q->offset / p->block_size;
	uint32_t nb = (uint32_t)(q->length / p->block_size), bs = p->block_size;
	struct unmap_list ul = { lba, nb };

	switch (q->op) {
	case VMM_STORAGE_OP_READ:
		return iscsi_read16_task(b->ctx, b->lun, lba, (uint32_t)q->length, (int)bs, 0, 0, 0,
					 0, 0, io_done, r);
	case VMM_STORAGE_OP_WRITE:
		return iscsi_write16_task(b->ctx, b->lun, lba, q->buf, (uint32_t)q->length,
					  (int)bs, 0, 0, 0, 0, 0, io_done, r);
	case VMM_STORAGE_OP_FLUSH:
		return iscsi_synchronizecache16_task(b->ctx, b->lun, 0, 0, 0, 0, io_done, r);
	case VMM_STORAGE_OP_DISCARD:
		return iscsi_unmap_task(b->ctx, b->lun, 0, 0, &ul, 1, io_done, r);
	default:
		return iscsi_writesame16_task(b->ctx, b->lun, lba, zeros, bs, nb, 0,
					      (q->flags & VMM_STORAGE_REQ_UNMAP) && p->can_discard,
					      0, 0, io_done, r);
	}
}

static int iscsi_start(vmm__path *p, vmm__sreq *r)
{
	vmm__iscsi_be *b = p->be;

	r->be = p;
	if (r->req->op == VMM_STORAGE_OP_DISCARD && !p->can_discard) {
		r->result = 0;   /* advisory: the LUN is not thin */
		vmm__path_finish(p, r);
		return 0;
	}
	if (issue(p, b, r))
		return 0;
	snprintf(p->msg, sizeof(p->msg), "%s: %s", p->target, iscsi_get_error(b->ctx));
	return -1;
}

static int iscsi_poll_fd(vmm__path *p, short *events)
{
	vmm__iscsi_be *b = p->be;

	*events = (short)iscsi_which_events(b->ctx);
	return iscsi_get_fd(b->ctx);
}

static int iscsi_service_path(vmm__path *p, short revents)
{
	vmm__iscsi_be *b = p->be;

	if (iscsi_service(b->ctx, revents) < 0) {
		snprintf(p->msg, sizeof(p->msg), "%s: session lost: %s", p->target,
			 iscsi_get_error(b->ctx));
		return -1;
	}
	return 0;
}

const vmm__path_ops vmm__path_iscsi_ops = { "iscsi", iscsi_open, iscsi_close_path, iscsi_start,
					    iscsi_poll_fd, iscsi_service_path,
					    vmm__iscsi_alua, NULL, NULL };
