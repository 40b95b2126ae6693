/* state.c - the save and load of a virtio PCI device (lib/platform/state.h):
 * one record per device, "virtio-<kind>.<n>" (n counts the devices of that
 * kind in PCI slot order): the transport (status, features, selectors, per
 * queue its setup, ring addresses and indexes), then the device's own part
 * (libvmm's devices; empty for an embedder's device). Its PCI config space
 * and MSI-X table are the "pci.0:SS.0" record's.
 *
 * Requests in flight: every device completes a request it popped before
 * popping the next batch, so a device is idle once each popped element is
 * pushed (vmm__vpci_queue.inflight). Save waits up to SAVE_WAIT_MS for
 * that (the I/O thread finishes its batch; no vCPU adds work), then fails
 * with VMM_EBUSY. Once saved, the device is frozen (pops take nothing, so
 * neither the I/O thread nor a host-side receive writes guest RAM while the
 * caller copies it) until vmm__vm_state_thaw, which the VM's next
 * vmm_vcpu_run calls. Buffers the driver made available but nothing popped
 * yet are in guest RAM: after a load (and a thaw) each started device is
 * notified of its enabled queues, as at DRIVER_OK, and takes them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/platform/platform.h"
#include "lib/virtio/virtio_pci.h"

#define SAVE_WAIT_MS 2000
#define STATUS_BITS 0xcfu

void vmm__virtio_set_state(vmm_virtio_dev *d, const vmm__vdev_state *state)
{
	d->state = state;
}

static uint32_t inflight(const vmm_virtio_dev *d)
{
	uint32_t n = 0;

	for (unsigned i = 0; i < d->ops->num_queues; i++)
		n += d->q[i].inflight;
	return n;
}

/* Returns with d->lock held and nothing in flight, or VMM_EBUSY. */
static int lock_idle(vmm_virtio_dev *d, const char *name)
{
	struct timespec ms = { 0, 1000000 };
	uint32_t n = 0;

	for (int i = 0; i < SAVE_WAIT_MS; i++) {
		pthread_mutex_lock(&d->lock);
		if (!(n = inflight(d)))
			return 0;
		pthread_mutex_unlock(&d->lock);
		nanosleep(&ms, NULL);
	}
	return vmm__err(VMM_EBUSY, "state save: virtio-%s at PCI slot %u still has %u "
			"requests in flight after %d ms", name, d->pci.slot, n, SAVE_WAIT_MS);
}

static void queue_save(vmm__sw *w, const vmm__vpci_queue *q)
{
	size_t why = q->vq.broken ? strnlen(q->vq.why, sizeof(q->vq.why) - 1) : 0;

	vmm__sw_u16(w, q->size);
	vmm__sw_u16(w, q->msix);
	vmm__sw_u16(w, q->enable);
	vmm__sw_u64(w, q->vq.desc_gpa);
	vmm__sw_u64(w, q->vq.avail_gpa);
	vmm__sw_u64(w, q->vq.used_gpa);
	vmm__sw_bool(w, q->vq.ready);
	vmm__sw_bool(w, q->vq.broken);
	vmm__sw_u16(w, q->vq.last_avail);
	vmm__sw_u16(w, q->vq.used_idx);
	vmm__sw_u16(w, q->vq.signalled_used);
	vmm__sw_bool(w, q->vq.signalled_valid);
	vmm__sw_u8(w, (uint8_t)why);
	vmm__sw_bytes(w, q->vq.why, why);
}

static void transport_save(vmm__sw *w, const vmm_virtio_dev *d)
{
	vmm__sw_u16(w, d->ops->num_queues);
	vmm__sw_u64(w, d->device_features);
	vmm__sw_u64(w, d->driver_features);
	vmm__sw_u32(w, d->dfselect);
	vmm__sw_u32(w, d->gfselect);
	vmm__sw_u16(w, d->config_msix);
	vmm__sw_u16(w, d->queue_sel);
	vmm__sw_u8(w, d->status);
	vmm__sw_u8(w, d->generation);
	vmm__sw_u8(w, d->isr);
	vmm__sw_bool(w, d->raise_config);
	for (unsigned i = 0; i < d->ops->num_queues; i++)
		queue_save(w, &d->q[i]);
}

static const char *kind_of(const vmm_virtio_dev *d, char *buf, size_t n)
{
	if (d->state)
		return d->state->kind;
	snprintf(buf, n, "%u", d->ops->device_id);
	return buf;
}

static int virtio_save(void *dev, vmm__sw *w)
{
	vmm_virtio_dev *d = dev;
	char kind[16];
	size_t len_at, start;
	int rc = lock_idle(d, kind_of(d, kind, sizeof(kind)));

	if (rc)
		return rc;
	transport_save(w, d);
	d->frozen = true;                 /* until vmm__vm_state_thaw */
	pthread_mutex_unlock(&d->lock);
	vmm__sw_u32(w, d->state ? d->state->version : 0);
	len_at = w->len;
	vmm__sw_u32(w, 0);
	start = w->len;
	if (d->state && (rc = d->state->save(d->opaque, w)))
		return rc;
	if (!w->failed) {
		uint32_t n = (uint32_t)(w->len - start);

		for (unsigned i = 0; i < 4; i++)
			w->data[len_at + i] = (uint8_t)(n >> (8 * i));
	}
	return 0;
}

/* ---- Load ------------------------------------------------------------------- */

typedef struct vq_state {
	uint16_t size, msix, enable, last_avail, used_idx, signalled_used;
	uint64_t desc, avail, used;
	bool ready, broken, signalled_valid;
	char why[160];
} vq_state;

typedef struct dev_state {
	uint64_t driver_features;
	uint32_t dfselect, gfselect;
	uint16_t config_msix, queue_sel;
	uint8_t status, generation, isr;
	bool raise_config;
	vq_state q[VMM_VIRTIO_MAX_QUEUES];
} dev_state;

static bool vector_ok(const vmm_virtio_dev *d, uint16_t v)
{
	return v == VMM__VPCI_NO_VECTOR || v < d->pci.msix_vectors;
}

/* The rings of an enabled queue must map as vmm__vq_enable maps them. */
static void check_rings(vmm__sr *r, vmm_virtio_dev *d, const vq_state *s, uint64_t features)
{
	vmm__vq tmp = { .vm = d->vm, .size = s->size, .desc_gpa = s->desc,
			.avail_gpa = s->avail, .used_gpa = s->used,
			.event_idx = features & VMM__VIRTIO_F_EVENT_IDX };

	if (!r->failed && vmm__vq_enable(&tmp) != 0) {
		char why[200];

		snprintf(why, sizeof(why), "an enabled queue's rings do not map: %s", tmp.why);
		vmm__sr_check(r, false, "queue", why);
	}
	vmm__clear_error();
}

static void queue_load(vmm__sr *r, vmm_virtio_dev *d, vq_state *s, uint64_t features)
{
	uint8_t why;

	s->size = vmm__sr_u16(r, "queue size");
	vmm__sr_check(r, s->size && !(s->size & (s->size - 1)) && s->size <= d->ops->queue_size,
		      "queue size", "not a power of two up to the device's maximum");
	s->msix = vmm__sr_u16(r, "queue msix");
	vmm__sr_check(r, vector_ok(d, s->msix), "queue msix", "no such MSI-X vector");
	s->enable = (uint16_t)vmm__sr_max(r, "queue enable", 1, 2);
	s->desc = vmm__sr_u64(r, "queue desc");
	s->avail = vmm__sr_u64(r, "queue driver");
	s->used = vmm__sr_u64(r, "queue device");
	s->ready = vmm__sr_bool(r, "queue ready");
	s->broken = vmm__sr_bool(r, "queue broken");
	vmm__sr_check(r, s->ready == (s->enable == 1), "queue ready", "differs from enable");
	s->last_avail = vmm__sr_u16(r, "queue last_avail_idx");
	s->used_idx = vmm__sr_u16(r, "queue used_idx");
	s->signalled_used = vmm__sr_u16(r, "queue signalled_used");
	s->signalled_valid = vmm__sr_bool(r, "queue signalled_valid");
	why = (uint8_t)vmm__sr_max(r, "queue why length", sizeof(s->why) - 1, 1);
	memset(s->why, 0, sizeof(s->why));
	vmm__sr_bytes(r, "queue why", s->why, why);
	if (s->enable)
		check_rings(r, d, s, features);
}

static void transport_load(vmm__sr *r, vmm_virtio_dev *d, dev_state *s)
{
	uint16_t nq = vmm__sr_u16(r, "num_queues");
	uint64_t df = vmm__sr_u64(r, "device_features");

	vmm__sr_check(r, nq == d->ops->num_queues && df == d->device_features, "num_queues",
		      "queues or offered features differ from this VM's device");
	s->driver_features = vmm__sr_u64(r, "driver_features");
	s->dfselect = vmm__sr_u32(r, "dfselect");
	s->gfselect = vmm__sr_u32(r, "gfselect");
	s->config_msix = vmm__sr_u16(r, "config_msix");
	vmm__sr_check(r, vector_ok(d, s->config_msix), "config_msix", "no such MSI-X vector");
	s->queue_sel = vmm__sr_u16(r, "queue_select");
	s->status = vmm__sr_u8(r, "status");
	vmm__sr_check(r, !(s->status & ~STATUS_BITS), "status", "reserved bits");
	vmm__sr_check(r, !(s->status & VMM__VIRTIO_FEATURES_OK) ||
			 (!(s->driver_features & ~df) &&
			  (s->driver_features & VMM__VIRTIO_F_VERSION_1)),
		      "driver_features", "FEATURES_OK with features the device did not offer");
	s->generation = vmm__sr_u8(r, "config_generation");
	s->isr = (uint8_t)vmm__sr_max(r, "isr", 3, 1);
	s->raise_config = vmm__sr_bool(r, "raise_config");
	for (unsigned i = 0; i < d->ops->num_queues && !r->failed; i++)
		queue_load(r, d, &s->q[i], s->driver_features);
}

static void queue_apply(vmm_virtio_dev *d, vmm__vpci_queue *q, const vq_state *s,
			uint64_t features)
{
	vmm__vq_reset(&q->vq);
	q->epoch++;
	q->size = s->size;
	q->msix = s->msix;
	q->enable = s->enable;
	q->vq.desc_gpa = s->desc;
	q->vq.avail_gpa = s->avail;
	q->vq.used_gpa = s->used;
	q->vq.event_idx = features & VMM__VIRTIO_F_EVENT_IDX;
	q->vq.indirect = features & VMM__VIRTIO_F_INDIRECT;
	if (s->enable) {
		q->vq.size = s->size;
		vmm__vq_enable(&q->vq);       /* checked in the dry pass */
		q->vq.last_avail = s->last_avail;
		q->vq.used_idx = s->used_idx;
		q->vq.signalled_used = s->signalled_used;
		q->vq.signalled_valid = s->signalled_valid;
	}
	q->vq.broken = s->broken;
	memcpy(q->vq.why, s->why, sizeof(q->vq.why));
}

static void transport_apply(vmm_virtio_dev *d, const dev_state *s)
{
	pthread_mutex_lock(&d->lock);
	for (unsigned i = 0; i < d->ops->num_queues; i++)
		queue_apply(d, &d->q[i], &s->q[i], s->driver_features);
	d->driver_features = s->driver_features;
	d->dfselect = s->dfselect;
	d->gfselect = s->gfselect;
	d->config_msix = s->config_msix;
	d->queue_sel = s->queue_sel;
	d->status = s->status;
	d->generation = s->generation;
	d->isr = s->isr;
	d->raise_config = s->raise_config;
	d->frozen = false;
	pthread_mutex_unlock(&d->lock);
}

/* The device's own part: its version and length, then its fields. */
static int own_load(vmm__sr *r, vmm_virtio_dev *d)
{
	uint32_t version = vmm__sr_u32(r, "device version");
	uint32_t len = vmm__sr_u32(r, "device length");
	uint32_t max = d->state ? d->state->version : 0;
	vmm__sr sub = { .dry = r->dry, .dev = r->dev };
	int rc;

	vmm__sr_check(r, d->state ? version >= 1 && version <= max : version == 0 && len == 0,
		      "device version", "not a version of this device's state");
	vmm__sr_check(r, len <= r->len - r->pos, "device length", "past the record's end");
	if (r->failed || !d->state)
		return 0;
	sub.p = r->p + r->pos;
	sub.len = len;
	r->pos += len;
	rc = d->state->load(d->opaque, version, &sub);
	if (rc)
		return rc;
	if (sub.failed)
		vmm__sr_check(r, false, "device", sub.msg);
	else
		vmm__sr_check(r, sub.pos == sub.len, "device", "bytes left over");
	return 0;
}

static void notify_queues(vmm_virtio_dev *d)
{
	for (unsigned i = 0; i < d->ops->num_queues; i++)
		if (d->q[i].enable)
			d->ops->queue_notify(d->opaque, d, (uint16_t)i);
}

static int virtio_load(void *dev, uint32_t version, vmm__sr *r)
{
	vmm_virtio_dev *d = dev;
	dev_state *s = calloc(1, sizeof(*s));
	int rc;

	(void)version;
	if (!s)
		return vmm__err(VMM_ENOMEM, "state load: out of memory");
	transport_load(r, d, s);
	if (vmm__sr_apply(r))
		transport_apply(d, s);
	free(s);
	rc = own_load(r, d);
	if (rc == 0 && vmm__sr_apply(r) && (d->status & VMM__VIRTIO_DRIVER_OK))
		notify_queues(d);
	return rc;
}

static const vmm__state_ops virtio_state = { 1, virtio_save, virtio_load };

void vmm__virtio_thaw_all(vmm_vm *vm)
{
	for (vmm_virtio_dev *d = vm->platform->virtio; d; d = d->next) {
		bool was, started;

		pthread_mutex_lock(&d->lock);
		was = d->frozen;
		d->frozen = false;
		started = d->status & VMM__VIRTIO_DRIVER_OK;
		pthread_mutex_unlock(&d->lock);
		if (was && started)
			notify_queues(d);
	}
}

int vmm__virtio_state_add(vmm_vm *vm, vmm__state_list *l)
{
	vmm_virtio_dev *by_slot[VMM__PCI_SLOTS] = { 0 };
	char name[VMM__STATE_NAME_MAX + 1], buf[16], other[16];
	int rc = 0;

	for (vmm_virtio_dev *d = vm->platform ? vm->platform->virtio : NULL; d; d = d->next)
		if (d->pci.slot < VMM__PCI_SLOTS)
			by_slot[d->pci.slot] = d;
	for (unsigned s = 0; rc == 0 && s < VMM__PCI_SLOTS; s++) {
		unsigned n = 0;
		const char *kind;

		if (!by_slot[s])
			continue;
		kind = kind_of(by_slot[s], buf, sizeof(buf));
		for (unsigned t = 0; t < s; t++)
			n += by_slot[t] && !strcmp(kind_of(by_slot[t], other, sizeof(other)), kind);
		snprintf(name, sizeof(name), "virtio-%s.%u", kind, n);
		rc = vmm__state_add(l, name, &virtio_state, by_slot[s]);
	}
	return rc;
}
