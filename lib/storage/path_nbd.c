/* path_nbd.c - an NBD export as a path, through libnbd's asynchronous API
 * (vmm/storage.h): up to queue_depth commands in flight on one
 * connection, driven from the path thread's poll loop. */
#include <errno.h>
#include <libnbd.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "lib/platform/platform.h"
#include "lib/storage/storage.h"

static void set_msg(vmm__path *p, const char *what)
{
	const char *e = nbd_get_error();

	snprintf(p->msg, sizeof(p->msg), "%s: %s: %s", p->target, what, e ? e : "failed");
}

static short events_of(struct nbd_handle *h)
{
	unsigned dir = nbd_aio_get_direction(h);
	short ev = 0;

	if (dir & LIBNBD_AIO_DIRECTION_READ)
		ev |= POLLIN;
	if (dir & LIBNBD_AIO_DIRECTION_WRITE)
		ev |= POLLOUT;
	return ev;
}

static int notify(struct nbd_handle *h, short revents)
{
	int rc = 0;

	if (revents & (POLLIN | POLLHUP | POLLERR))
		rc = nbd_aio_notify_read(h);
	if (rc == 0 && (revents & POLLOUT))
		rc = nbd_aio_notify_write(h);
	return rc;
}

static bool gone(struct nbd_handle *h)
{
	return nbd_aio_is_dead(h) > 0 || nbd_aio_is_closed(h) > 0;
}

/* Runs the handshake within timeout_ms. */
static int wait_connected(vmm__path *p, struct nbd_handle *h, uint32_t timeout_ms)
{
	uint64_t deadline = vmm__now_ns() + timeout_ms * 1000000ull;

	while (nbd_aio_is_connecting(h) > 0) {
		struct pollfd pfd = { nbd_aio_get_fd(h), events_of(h), 0 };
		uint64_t now = vmm__now_ns();
		int n;

		if (now >= deadline) {
			snprintf(p->msg, sizeof(p->msg), "%s: no NBD handshake within %u ms",
				 p->target, timeout_ms);
			return -1;
		}
		n = poll(&pfd, 1, (int)((deadline - now) / 1000000u) + 1);
		if (n < 0 && errno != EINTR) {
			snprintf(p->msg, sizeof(p->msg), "%s: poll: %s", p->target, strerror(errno));
			return -1;
		}
		if (n > 0 && notify(h, pfd.revents) < 0) {
			set_msg(p, "connect");
			return -1;
		}
	}
	if (nbd_aio_is_ready(h) <= 0) {
		set_msg(p, "connect");
		return -1;
	}
	return 0;
}

static int nbd_open(vmm__path *p, uint32_t timeout_ms)
{
	struct nbd_handle *h = nbd_create();
	int64_t size;

	if (!h) {
		set_msg(p, "nbd_create");
		return -1;
	}
	if (nbd_aio_connect_uri(h, p->target) < 0) {
		set_msg(p, "connect");
		goto fail;
	}
	if (wait_connected(p, h, timeout_ms) < 0)
		goto fail;
	size = nbd_get_size(h);
	if (size < 0) {
		set_msg(p, "size");
		goto fail;
	}
	p->size = (uint64_t)size;
	p->block_size = 512;
	p->readonly = p->readonly || nbd_is_read_only(h) > 0;
	p->can_discard = nbd_can_trim(h) > 0;
	p->can_zero = nbd_can_zero(h) > 0;
	p->be = h;
	return 0;
fail:
	nbd_close(h);
	return -1;
}

static void nbd_close_path(vmm__path *p)
{
	if (p->be)
		nbd_close(p->be);   /* no completion callbacks from here */
	p->be = NULL;
}

/* libnbd calls this from inside nbd_aio_notify_* on the path thread. */
static int command_done(void *user_data, int *error)
{
	vmm__sreq *r = user_data;
	vmm__path *p = r->be;
	char msg[160];
	int e = *error;

	if (!e) {
		r->result = 0;
		vmm__path_finish(p, r);
		return 1;
	}
	snprintf(msg, sizeof(msg), "%s: NBD command at %llu: %s", p->target,
		 (unsigned long long)r->req->offset, strerror(e));
	vmm__path_fail(p, r, VMM_EIO, e == ENOTCONN || e == ESHUTDOWN || e == ECONNRESET ||
		       e == EPIPE ? VMM_STORAGE_EV_CONN_LOST : VMM_STORAGE_EV_IO_ERROR, e, msg);
	return 1;
}

static int64_t issue(struct nbd_handle *h, vmm__sreq *r, nbd_completion_callback cb,
		     bool can_zero)
{
	vmm_storage_req *q = r->req;

	switch (q->op) {
	case VMM_STORAGE_OP_READ:
		return nbd_aio_pread(h, q->buf, q->length, q->offset, cb, 0);
	case VMM_STORAGE_OP_WRITE:
		return nbd_aio_pwrite(h, q->buf, q->length, q->offset, cb, 0);
	case VMM_STORAGE_OP_FLUSH:
		return nbd_aio_flush(h, cb, 0);
	case VMM_STORAGE_OP_DISCARD:
		return nbd_aio_trim(h, q->length, q->offset, cb, 0);
	default:
		return nbd_aio_zero(h, q->length, q->offset, cb,
				    q->flags & VMM_STORAGE_REQ_UNMAP ? 0 : LIBNBD_CMD_FLAG_NO_HOLE);
	}
}

static int nbd_start(vmm__path *p, vmm__sreq *r)
{
	nbd_completion_callback cb = { .callback = command_done, .user_data = r, .free = NULL };
	struct nbd_handle *h = p->be;
	uint32_t op = r->req->op;
	char msg[160];

	r->be = p;
	if ((op == VMM_STORAGE_OP_DISCARD && !p->can_discard) ||
	    (op == VMM_STORAGE_OP_FLUSH && nbd_can_flush(h) <= 0)) {
		r->result = 0;   /* advisory / nothing to flush */
		vmm__path_finish(p, r);
		return 0;
	}
	if (issue(h, r, cb, p->can_zero) >= 0)
		return 0;
	if (gone(h)) {
		set_msg(p, "connection lost");
		return -1;
	}
	snprintf(msg, sizeof(msg), "%s: %s", p->target, nbd_get_error());
	vmm__path_fail(p, r, VMM_EIO, VMM_STORAGE_EV_IO_ERROR, nbd_get_errno(), msg);
	return 0;
}

static int nbd_poll_fd(vmm__path *p, short *events)
{
	*events = events_of(p->be);
	return nbd_aio_get_fd(p->be);
}

static int nbd_service(vmm__path *p, short revents)
{
	struct nbd_handle *h = p->be;

	if (notify(h, revents) < 0 || gone(h)) {
		set_msg(p, "connection lost");
		return -1;
	}
	return 0;
}

const vmm__path_ops vmm__path_nbd_ops = { "nbd", nbd_open, nbd_close_path, nbd_start,
					  nbd_poll_fd, nbd_service, NULL, NULL, NULL };
