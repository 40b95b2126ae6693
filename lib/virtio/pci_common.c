/* pci_common.c - the virtio PCI common configuration structure (virtio
 * 1.2, 4.1.4.3): feature negotiation, device status and reset, queue setup.
 * Every value the driver writes is checked before it takes effect. */
#include <string.h>

#include "lib/virtio/virtio_pci.h"

enum {
	C_DFSELECT = 0, C_DF = 4, C_GFSELECT = 8, C_GF = 12, C_MSIX = 16, C_NUMQ = 18,
	C_STATUS = 20, C_GEN = 21, C_QSEL = 22, C_QSIZE = 24, C_QMSIX = 26,
	C_QENABLE = 28, C_QNOTIFY = 30, C_QDESC = 32, C_QDRIVER = 40, C_QDEVICE = 48
};

static vmm__vpci_queue *selected(vmm_virtio_dev *d)
{
	return d->queue_sel < d->ops->num_queues ? &d->q[d->queue_sel] : NULL;
}

static uint64_t *queue_addr(vmm__vpci_queue *q, uint32_t field)
{
	return field == C_QDESC ? &q->vq.desc_gpa : field == C_QDRIVER ?
	       &q->vq.avail_gpa : &q->vq.used_gpa;
}

static uint64_t read_queue(vmm_virtio_dev *d, uint32_t off)
{
	vmm__vpci_queue *q = selected(d);
	uint32_t field = off >= C_QDESC ? C_QDESC + (off - C_QDESC) / 8 * 8 : off;

	if (!q)
		return 0;
	switch (field) {
	case C_QSIZE: return q->size;
	case C_QMSIX: return q->msix;
	case C_QENABLE: return q->enable;
	case C_QNOTIFY: return d->queue_sel;
	default: return *queue_addr(q, field) >> ((off - field) * 8);
	}
}

void vmm__vpci_common_read(vmm_virtio_dev *d, uint32_t off, uint8_t size, uint64_t *v)
{
	uint64_t r;

	switch (off) {
	case C_DFSELECT: r = d->dfselect; break;
	case C_DF: r = d->dfselect < 2 ? (uint32_t)(d->device_features >> (32 * d->dfselect)) : 0;
		break;
	case C_GFSELECT: r = d->gfselect; break;
	case C_GF: r = d->gfselect < 2 ? (uint32_t)(d->driver_features >> (32 * d->gfselect)) : 0;
		break;
	case C_MSIX: r = d->config_msix; break;
	case C_NUMQ: r = d->ops->num_queues; break;
	case C_STATUS: r = d->status; break;
	case C_GEN: r = d->generation; break;
	case C_QSEL: r = d->queue_sel; break;
	default: r = off < VMM__VPCI_COMMON_LEN ? read_queue(d, off) : 0; break;
	}
	*v = size == 8 ? r : r & ((1ull << (8 * size)) - 1);
}

/* FEATURES_OK only for a subset of what we offer that includes VERSION_1.
 * Bits stay set until a reset (the driver must not clear them, 2.1.2): the
 * features, frozen at FEATURES_OK, cannot change under enabled queues. */
static void set_status(vmm_virtio_dev *d, uint8_t s)
{
	if (s == 0) {
		vmm__vpci_reset(d);
		d->reset_owed = true;           /* ops->reset, once d->lock is dropped */
		return;
	}
	if ((s & VMM__VIRTIO_FEATURES_OK) && !(d->status & VMM__VIRTIO_FEATURES_OK) &&
	    ((d->driver_features & ~d->device_features) ||
	     !(d->driver_features & VMM__VIRTIO_F_VERSION_1)))
		s &= (uint8_t)~VMM__VIRTIO_FEATURES_OK;
	d->status |= s;
}

static uint16_t valid_vector(vmm_virtio_dev *d, uint64_t v)
{
	return v < d->pci.msix_vectors ? (uint16_t)v : VMM__VPCI_NO_VECTOR;
}

/* Only once the features are final (FEATURES_OK): the ring layout
 * depends on EVENT_IDX and must not change under an enabled queue. */
static void enable_queue(vmm_virtio_dev *d, vmm__vpci_queue *q)
{
	if (!(d->status & VMM__VIRTIO_FEATURES_OK))
		return;
	q->vq.size = q->size;
	q->vq.event_idx = d->driver_features & VMM__VIRTIO_F_EVENT_IDX;
	q->vq.indirect = d->driver_features & VMM__VIRTIO_F_INDIRECT;
	if (vmm__vq_enable(&q->vq) == 0)
		q->enable = 1;
	else
		vmm__vpci_broken(d);
}

static void write_queue(vmm_virtio_dev *d, uint32_t off, uint8_t size, uint64_t v)
{
	vmm__vpci_queue *q = selected(d);
	uint32_t field = off >= C_QDESC ? C_QDESC + (off - C_QDESC) / 8 * 8 : off;
	unsigned shift = (off - field) * 8;

	if (!q || (q->enable && field != C_QMSIX))
		return;                       /* queue setup is frozen once enabled */
	switch (field) {
	case C_QSIZE:
		if (v && v <= d->ops->queue_size && !(v & (v - 1)))
			q->size = (uint16_t)v;
		break;
	case C_QMSIX: q->msix = valid_vector(d, v); break;
	case C_QENABLE: if (v == 1) enable_queue(d, q); break;
	case C_QNOTIFY: break;
	default: {
		uint64_t *a = queue_addr(q, field);
		uint64_t mask = (size == 8 ? ~0ull : (1ull << (8 * size)) - 1) << shift;

		*a = (*a & ~mask) | ((v << shift) & mask);
	}
	}
}

void vmm__vpci_common_write(vmm_virtio_dev *d, uint32_t off, uint8_t size, uint64_t v)
{
	switch (off) {
	case C_DFSELECT: d->dfselect = (uint32_t)v; break;
	case C_GFSELECT: d->gfselect = (uint32_t)v; break;
	case C_GF:
		if (d->gfselect < 2 && !(d->status & VMM__VIRTIO_FEATURES_OK)) {
			unsigned sh = 32 * d->gfselect;

			d->driver_features = (d->driver_features & ~(0xffffffffull << sh)) |
					     ((v & 0xffffffffull) << sh);
		}
		break;
	case C_MSIX: d->config_msix = valid_vector(d, v); break;
	case C_STATUS: set_status(d, (uint8_t)v); break;
	case C_QSEL: d->queue_sel = (uint16_t)v; break;
	case C_DF: case C_NUMQ: case C_GEN: break;
	default:
		if (off < VMM__VPCI_COMMON_LEN)
			write_queue(d, off, size, v);
		break;
	}
}
