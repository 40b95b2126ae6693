/* api.c - the public queue calls a virtio device model makes (vmm/virtio.h):
 * pop, copy, push, interrupt; over lib/virtio/virtqueue.c. */
#include <stdlib.h>

#include "lib/platform/platform.h"
#include "lib/virtio/virtio_pci.h"

static vmm__vpci_queue *queue(vmm_virtio_dev *d, uint16_t q)
{
	return d && q < d->ops->num_queues ? &d->q[q] : NULL;
}

VMM_API uint64_t vmm_virtio_features(const vmm_virtio_dev *d)
{
	return d ? d->driver_features : 0;
}

VMM_API int vmm_virtq_pop(vmm_virtio_dev *d, uint16_t q, vmm_virtq_elem **out)
{
	vmm__vpci_queue *vq = queue(d, q);
	vmm_virtq_elem *e;
	uint16_t vector = 0;
	int rc;

	if (!out || !vq)
		return vmm__err(VMM_EINVAL, "vmm_virtq_pop: no device, queue %u or out", q);
	*out = NULL;
	if (!(e = malloc(sizeof(*e))))
		return vmm__err(VMM_ENOMEM, "vmm_virtq_pop: out of memory");
	pthread_mutex_lock(&d->lock);
	rc = vq->enable && !d->frozen ? vmm__vq_pop(&vq->vq, &e->e) : 0;
	if (rc == 1) {
		vq->inflight++;
		e->epoch = vq->epoch;
	}
	if (rc < 0) {
		vmm__vpci_broken(d);
		d->raise_config = false;         /* raised just below */
		vector = d->config_msix;
	}
	pthread_mutex_unlock(&d->lock);
	if (rc < 0)
		vmm__vpci_raise(d, vector, 2);
	if (rc != 1) {
		free(e);
		return rc;
	}
	*out = e;
	return 1;
}

VMM_API uint64_t vmm_virtq_out_len(const vmm_virtq_elem *e)
{
	return e ? e->e.out_len : 0;
}

VMM_API uint64_t vmm_virtq_in_len(const vmm_virtq_elem *e)
{
	return e ? e->e.in_len : 0;
}

VMM_API uint64_t vmm_virtq_read(const vmm_virtq_elem *e, uint64_t off, void *buf, uint64_t len)
{
	return e && buf ? vmm__vq_read(&e->e, off, buf, len) : 0;
}

VMM_API uint64_t vmm_virtq_write(vmm_virtq_elem *e, uint64_t off, const void *buf, uint64_t len)
{
	return e && buf ? vmm__vq_write(&e->e, off, buf, len) : 0;
}

VMM_API void vmm_virtq_push(vmm_virtio_dev *d, uint16_t q, vmm_virtq_elem *e, uint32_t len)
{
	vmm__vpci_queue *vq = queue(d, q);

	if (vq && e) {
		if (len > e->e.in_len)
			len = (uint32_t)e->e.in_len;   /* never claim more than was there */
		pthread_mutex_lock(&d->lock);
		if (e->epoch == vq->epoch)       /* not from before a reset */
			vmm__vq_push(&vq->vq, e->e.head, len);
		if (vq->inflight)
			vq->inflight--;
		pthread_mutex_unlock(&d->lock);
	}
	free(e);
}

VMM_API int vmm_virtio_interrupt(vmm_virtio_dev *d, uint16_t q)
{
	vmm__vpci_queue *vq = queue(d, q);
	bool need;
	uint16_t vector;

	if (!vq)
		return vmm__err(VMM_EINVAL, "vmm_virtio_interrupt: no device or queue %u", q);
	pthread_mutex_lock(&d->lock);
	need = vmm__vq_need_interrupt(&vq->vq);
	vector = vq->msix;
	pthread_mutex_unlock(&d->lock);
	return need ? vmm__vpci_raise(d, vector, 1) : 0;
}

VMM_API int vmm_virtio_config_changed(vmm_virtio_dev *d)
{
	uint16_t vector;

	if (!d)
		return vmm__err(VMM_EINVAL, "vmm_virtio_config_changed: dev is NULL");
	pthread_mutex_lock(&d->lock);
	d->generation++;
	vector = d->config_msix;
	pthread_mutex_unlock(&d->lock);
	return vmm__vpci_raise(d, vector, 2);
}
