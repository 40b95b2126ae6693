/* path_qcow2.c - a qcow2 image as a path (vmm/storage.h), over the qcow2
 * format (qcow2.h). Synchronous on the path's thread, like a file. The
 * image is locked as QEMU locks it (exclusive for a writable device,
 * shared for a read-only one), so a writable qcow2 image is the only path
 * of its device: a second writable path to it is refused (busy). */
#include <stdio.h>
#include <string.h>

#include "lib/storage/qcow2.h"
#include "lib/storage/storage.h"

static int qcow2_open_path(vmm__path *p, uint32_t timeout_ms)
{
	vmm__qcow2 *q;
	int rc = vmm__qcow2_open(p->target, p->readonly ? VMM__QCOW2_RDONLY : 0, &q);

	if (rc < 0) {
		p->open_err = rc;
		snprintf(p->msg, sizeof(p->msg), "%.250s", vmm_last_error());
		return -1;
	}
	p->size = vmm__qcow2_size(q);
	p->block_size = 512;
	p->can_discard = true;
	p->can_zero = true;
	p->be = q;
	return 0;
}

static void qcow2_close_path(vmm__path *p)
{
	vmm__qcow2_close(p->be);
	p->be = NULL;
}

static int do_req(vmm__qcow2 *q, const vmm_storage_req *r)
{
	switch (r->op) {
	case VMM_STORAGE_OP_READ:
		return vmm__qcow2_read(q, r->offset, r->buf, r->length);
	case VMM_STORAGE_OP_WRITE:
		return vmm__qcow2_write(q, r->offset, r->buf, r->length);
	case VMM_STORAGE_OP_FLUSH:
		return vmm__qcow2_flush(q);
	case VMM_STORAGE_OP_DISCARD:
		return vmm__qcow2_discard(q, r->offset, r->length);
	default:
		return vmm__qcow2_write_zeroes(q, r->offset, r->length);
	}
}

static int qcow2_start(vmm__path *p, vmm__sreq *r)
{
	int rc = do_req(p->be, r->req);
	char msg[160];

	if (!rc) {
		r->result = 0;
		vmm__path_finish(p, r);
		return 0;
	}
	/* The image said what failed; a full disk or bad image is the
	 * request's (and every path's) problem: the SATP gives it to the
	 * caller. */
	snprintf(msg, sizeof(msg), "%.150s", vmm_last_error());
	vmm__path_fail(p, r, rc, VMM_STORAGE_EV_IO_ERROR, 0, msg);
	return 0;
}

static int qcow2_poll_fd(vmm__path *p, short *events)
{
	return -1;
}

static int qcow2_service(vmm__path *p, short revents)
{
	return 0;
}

/* Clusters with a refcount (data and metadata) and the file's blocks. */
static int qcow2_space(vmm__path *p, uint64_t *allocated, uint64_t *host_bytes)
{
	vmm__qcow2_stats st;

	if (vmm__qcow2_get_stats(p->be, &st) < 0)
		return -1;
	*allocated = st.allocated_bytes;
	*host_bytes = st.file_bytes;
	return 0;
}

static int qcow2_grow(vmm__path *p, uint64_t new_size)
{
	return vmm__qcow2_resize(p->be, new_size);
}

const vmm__path_ops vmm__path_qcow2_ops = { "qcow2", qcow2_open_path, qcow2_close_path,
					    qcow2_start, qcow2_poll_fd, qcow2_service, NULL,
					    qcow2_space, qcow2_grow };
