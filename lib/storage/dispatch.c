/* dispatch.c - the life of a request (vmm/storage.h): checked at submit,
 * queued on the path the PSP picks (or parked while no path is usable),
 * finished once with its done callback run outside the device lock. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lib/platform/platform.h"
#include "lib/storage/storage.h"

#define MAX_RW_BYTES (32u << 20)

void vmm__sq_push(vmm__sq *q, vmm__sreq *r)
{
	r->next = NULL;
	r->prev = q->tail;
	if (q->tail)
		q->tail->next = r;
	else
		q->head = r;
	q->tail = r;
	q->n++;
}

void vmm__sq_remove(vmm__sq *q, vmm__sreq *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		q->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		q->tail = r->prev;
	r->next = r->prev = NULL;
	q->n--;
}

vmm__sreq *vmm__sq_pop(vmm__sq *q)
{
	vmm__sreq *r = q->head;

	if (r)
		vmm__sq_remove(q, r);
	return r;
}

bool vmm__storage_usable(uint32_t state)
{
	return state == VMM_STORAGE_ACTIVE || state == VMM_STORAGE_ACTIVE_NON_OPTIMIZED;
}

void vmm__storage_finish(vmm_storage_dev *dev, vmm__sreq *r, int result, vmm__post *post)
{
	vmm_storage_req *q = r->req;

	if (q->size >= offsetof(vmm_storage_req, reserved)) {
		bool scsi = result && r->scsi_status;

		q->scsi_status = scsi ? r->scsi_status : 0;
		q->sense_key = scsi ? r->sense_key : 0;
		q->asc = scsi ? r->asc : 0;
		q->ascq = scsi ? r->ascq : 0;
	}
	r->req->result = result;
	r->req->attempts = r->attempts;
	if (result)
		r->req->path = ~0u;
	dev->completed++;
	if (result)
		dev->failed++;
	vmm__sq_push(&post->done, r);
}

void vmm__storage_set_state(vmm_storage_dev *dev, vmm__path *p, uint32_t state,
			    vmm__post *post)
{
	uint32_t old = p->state;

	if (old == state)
		return;
	p->state = state;
	p->info.state_changes++;
	if (post->nev < sizeof(post->ev) / sizeof(post->ev[0]))
		post->ev[post->nev++] = (vmm__post_ev){ p->index, old, state };
	if (vmm__storage_usable(state))
		vmm__storage_unpark(dev, post);
}

void vmm__post_run(vmm_storage_dev *dev, vmm__post *post)
{
	vmm__sreq *r;

	for (uint32_t i = 0; i < post->nev; i++) {
		const vmm__post_ev *e = &post->ev[i];

		if (dev->config.state_changed)
			dev->config.state_changed(dev->config.opaque, dev, e->path, e->old_state,
						  e->new_state);
		if (dev->config.mpp && dev->config.mpp->path_event &&
		    (e->new_state == VMM_STORAGE_DEAD || e->old_state == VMM_STORAGE_DEAD))
			dev->config.mpp->path_event(dev->config.mpp_opaque, dev, e->path,
						    e->new_state);
	}
	post->nev = 0;
	while ((r = vmm__sq_pop(&post->done))) {
		vmm_storage_req *req = r->req;

		free(r);
		if (req->done)
			req->done(req);
	}
}

static int32_t select_path(vmm_storage_dev *dev, vmm__sreq *r)
{
	vmm_storage_psp_path paths[VMM_STORAGE_MAX_PATHS];
	vmm_storage_psp_request pr = { sizeof(pr), r->req->op, r->req->length, dev->npaths,
				       dev->last_path, r->excluded, paths };
	int32_t i;

	for (uint32_t k = 0; k < dev->npaths; k++) {
		vmm__path *p = dev->paths[k];

		paths[k] = (vmm_storage_psp_path){ p->state, p->inflight.n + p->pending.n,
						   p->config.queue_depth, p->config.flags };
	}
	i = dev->psp->select(dev->psp_opaque, dev->psp_state, &pr);
	if (i < 0 || (uint32_t)i >= dev->npaths || !vmm__storage_usable(paths[i].state) ||
	    (r->excluded & (1ull << i)))
		return -1;   /* a PSP that answers nonsense gets no say */
	return i;
}

/* Some usable path that this request did not already fail on. */
static bool any_usable(vmm_storage_dev *dev)
{
	for (uint32_t k = 0; k < dev->npaths; k++)
		if (vmm__storage_usable(dev->paths[k]->state))
			return true;
	return false;
}

void vmm__storage_dispatch(vmm_storage_dev *dev, vmm__sreq *r, vmm__post *post)
{
	int32_t i;

	if (dev->stopping) {
		vmm__storage_finish(dev, r, vmm__err(VMM_ESTATE, "%s: device is being destroyed",
						     dev->name), post);
		return;
	}
	i = select_path(dev, r);
	if (i < 0) {
		if (any_usable(dev)) {
			/* every usable path already answered it with an error */
			vmm__storage_finish(dev, r, r->result ? r->result : VMM_EIO, post);
			return;
		}
		r->deadline_ns = vmm__now_ns() + (uint64_t)dev->config.no_path_ms * 1000000u;
		vmm__sq_push(&dev->parked, r);
		/* The path threads may be asleep with no deadline: wake them so
		 * the no-path timeout is armed (else the request could wait forever). */
		for (uint32_t k = 0; k < dev->npaths; k++)
			vmm__path_kick(dev->paths[k]);
		return;
	}
	r->path = (uint32_t)i;
	dev->last_path = (uint32_t)i;
	vmm__sq_push(&dev->paths[i]->pending, r);
	vmm__path_kick(dev->paths[i]);
}

void vmm__storage_unpark(vmm_storage_dev *dev, vmm__post *post)
{
	vmm__sq q = dev->parked;
	vmm__sreq *r;

	memset(&dev->parked, 0, sizeof(dev->parked));
	while ((r = vmm__sq_pop(&q)))
		vmm__storage_dispatch(dev, r, post);
}

uint64_t vmm__storage_expire_parked(vmm_storage_dev *dev, uint64_t now, vmm__post *post)
{
	uint64_t first = 0;

	for (vmm__sreq *r = dev->parked.head, *next; r; r = next) {
		next = r->next;
		if (r->deadline_ns <= now || dev->stopping) {
			vmm__sq_remove(&dev->parked, r);
			vmm__storage_finish(dev, r, VMM_EIO, post);
		} else if (!first || r->deadline_ns < first) {
			first = r->deadline_ns;
		}
	}
	return first;
}

/* The checks every request passes before it is queued. */
static int check_req(vmm_storage_dev *dev, const vmm_storage_req *req)
{
	uint64_t bs = dev->block_size;

	if (!req || req->size < offsetof(vmm_storage_req, scsi_status))
		return vmm__err(VMM_EINVAL, "storage: request is NULL or its size is too small");
	if (req->op < VMM_STORAGE_OP_READ || req->op > VMM_STORAGE_OP_WRITE_ZEROES)
		return vmm__err(VMM_EINVAL, "%s: unknown request op %u", dev->name, req->op);
	if (req->op == VMM_STORAGE_OP_FLUSH)
		return 0;
	if (req->offset % bs || req->length % bs || !req->length)
		return vmm__err(VMM_EINVAL, "%s: offset %llu / length %llu not a non-zero multiple "
				"of the block size %llu", dev->name,
				(unsigned long long)req->offset, (unsigned long long)req->length,
				(unsigned long long)bs);
	if (req->offset > dev->capacity || req->length > dev->capacity - req->offset)
		return vmm__err(VMM_EINVAL, "%s: [%llu, +%llu) is past the end (%llu bytes)",
				dev->name, (unsigned long long)req->offset,
				(unsigned long long)req->length, (unsigned long long)dev->capacity);
	if (req->op <= VMM_STORAGE_OP_WRITE && (req->length > MAX_RW_BYTES || !req->buf))
		return vmm__err(VMM_EINVAL, "%s: read/write needs a buffer and at most 32 MiB",
				dev->name);
	if (req->op >= VMM_STORAGE_OP_DISCARD && req->length > UINT32_MAX - bs + 1)
		return vmm__err(VMM_EINVAL, "%s: discard/write-zeroes of 4 GiB or more", dev->name);
	if (req->op != VMM_STORAGE_OP_READ && req->op != VMM_STORAGE_OP_FLUSH && dev->readonly)
		return vmm__err(VMM_EINVAL, "%s: device is read-only", dev->name);
	return 0;
}

static int new_sreq(vmm_storage_dev *dev, vmm_storage_req *req, vmm__sreq **out)
{
	vmm__sreq *r;
	int rc = check_req(dev, req);

	if (rc)
		return rc;
	r = calloc(1, sizeof(*r));
	if (!r)
		return vmm__err(VMM_ENOMEM, "%s: out of memory for a request", dev->name);
	r->req = req;
	r->submit_ns = vmm__now_ns();
	req->result = 0;
	req->path = ~0u;
	req->attempts = 0;
	*out = r;
	return 0;
}

VMM_API int vmm_storage_submit(vmm_storage_dev *dev, vmm_storage_req *req)
{
	vmm__post post = { 0 };
	vmm__sreq *r;
	int rc;

	if (!dev)
		return vmm__err(VMM_EINVAL, "storage: device is NULL");
	pthread_mutex_lock(&dev->lock);
	rc = dev->npaths ? 0 : vmm__err(VMM_ESTATE, "%s: device has no path", dev->name);
	if (!rc && dev->stopping)
		rc = vmm__err(VMM_ESTATE, "%s: device is being destroyed", dev->name);
	if (!rc)
		rc = new_sreq(dev, req, &r);
	if (rc) {
		pthread_mutex_unlock(&dev->lock);
		return rc;
	}
	if (dev->config.mpp) {
		pthread_mutex_unlock(&dev->lock);
		free(r);
		dev->config.mpp->submit(dev->config.mpp_opaque, dev, req);
		return 0;
	}
	vmm__storage_dispatch(dev, r, &post);
	pthread_mutex_unlock(&dev->lock);
	vmm__post_run(dev, &post);
	return 0;
}

VMM_API int vmm_storage_path_submit(vmm_storage_dev *dev, uint32_t path, vmm_storage_req *req)
{
	vmm__sreq *r;
	int rc = 0;

	if (!dev)
		return vmm__err(VMM_EINVAL, "storage: device is NULL");
	pthread_mutex_lock(&dev->lock);
	if (path >= dev->npaths)
		rc = vmm__err(VMM_ENOENT, "%s: no path %u", dev->name, path);
	else if (dev->stopping || dev->paths[path]->state == VMM_STORAGE_DEAD)
		rc = vmm__err(VMM_ESTATE, "%s: path %u is dead", dev->name, path);
	if (!rc)
		rc = new_sreq(dev, req, &r);
	if (!rc) {
		r->direct = true;
		r->path = path;
		vmm__sq_push(&dev->paths[path]->pending, r);
		vmm__path_kick(dev->paths[path]);
	}
	pthread_mutex_unlock(&dev->lock);
	return rc;
}

VMM_API void vmm_storage_complete(vmm_storage_dev *dev, vmm_storage_req *req, int result)
{
	if (!dev || !req)
		return;
	pthread_mutex_lock(&dev->lock);
	dev->completed++;
	if (result)
		dev->failed++;
	pthread_mutex_unlock(&dev->lock);
	req->result = result;
	if (req->done)
		req->done(req);
}

/* ---- The synchronous convenience ---- */

typedef struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
} waiter;

static void wake(vmm_storage_req *req)
{
	waiter *w = req->opaque;

	pthread_mutex_lock(&w->lock);
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

VMM_API int vmm_storage_io(vmm_storage_dev *dev, uint32_t op, uint64_t offset, void *buf,
			   uint64_t length)
{
	waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false };
	vmm_storage_req req = VMM_STORAGE_REQ_INIT;
	int rc;

	req.op = op;
	req.offset = offset;
	req.length = length;
	req.buf = buf;
	req.done = wake;
	req.opaque = &w;
	rc = vmm_storage_submit(dev, &req);
	if (rc)
		return rc;
	pthread_mutex_lock(&w.lock);
	while (!w.done)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	pthread_cond_destroy(&w.cond);
	if (req.result) {
		static const char *const names[] = { "?", "read", "write", "flush", "discard",
						     "write-zeroes" };

		return vmm__err(req.result, "%s: %s of %llu bytes at %llu failed on every path "
				"(%s); vmm_storage_path_get_info has each path's last error",
				dev->name, names[op <= 5 ? op : 0], (unsigned long long)length,
				(unsigned long long)offset, vmm_strerror(req.result));
	}
	return 0;
}
