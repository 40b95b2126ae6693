/* blk_storage.c - virtio-blk over a storage device (vmm/storage.h): the
 * disk's I/O thread pops requests and submits them to the device
 * asynchronously (reads, writes, flushes; discard and write-zeroes
 * segments one at a time); completions run on the device's path threads,
 * copy read data into guest memory and push the request. Data goes
 * through a bounce buffer per request. */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/platform/platform.h"
#include "lib/virtio/blk.h"
#include "lib/virtio/iothread.h"
#include "lib/virtio/virtio_pci.h"

#define MAX_BYTES (32u << 20)      /* one read or write */

typedef struct sblk {
	vmm_virtio_dev *dev;
	vmm_virtio_ops ops;
	vmm__iothread io;
	vmm_storage_dev *st;
	bool ro;
	uint32_t bsz;
	uint64_t sectors;
	char serial[ID_LEN];
	uint8_t config[CONFIG_LEN];
	pthread_mutex_t lock;        /* queue pops and pushes, inflight */
	pthread_cond_t idle;
	uint32_t inflight;
} sblk;

typedef struct sreq {
	vmm_storage_req req;
	sblk *d;
	vmm_virtq_elem *e;
	uint8_t *bounce;
} sreq;

static atomic_uint disk_count;

static void complete(sblk *d, vmm_virtq_elem *e, uint32_t wrote, uint8_t status)
{
	vmm__vq_write(&e->e, e->e.in_len - 1, &status, 1);
	pthread_mutex_lock(&d->lock);
	vmm_virtq_push(d->dev, 0, e, wrote + 1);
	vmm_virtio_interrupt(d->dev, 0);
	pthread_mutex_unlock(&d->lock);
}

/* On a path thread of the storage device. */
static void req_done(vmm_storage_req *r)
{
	sreq *s = r->opaque;
	sblk *d = s->d;
	uint32_t wrote = 0;

	if (!r->result && r->op == VMM_STORAGE_OP_READ)
		wrote = (uint32_t)vmm__vq_write(&s->e->e, 0, s->bounce, r->length);
	complete(d, s->e, wrote, r->result ? S_IOERR : S_OK);
	free(s->bounce);
	free(s);
	pthread_mutex_lock(&d->lock);
	if (--d->inflight == 0)
		pthread_cond_broadcast(&d->idle);
	pthread_mutex_unlock(&d->lock);
}

static bool in_range(const sblk *d, uint64_t sector, uint64_t bytes)
{
	uint64_t sectors = __atomic_load_n(&d->sectors, __ATOMIC_ACQUIRE);

	return bytes % d->bsz == 0 && (sector * SECTOR) % d->bsz == 0 && sector <= sectors &&
	       bytes / SECTOR <= sectors - sector;
}

/* Read, write or flush: submitted; the status comes from req_done. */
static int submit(sblk *d, vmm_virtq_elem *e, uint32_t type, uint64_t sector)
{
	vmm__vq_elem *v = &e->e;
	uint64_t len = type == T_OUT ? v->out_len - 16 : type == T_IN ? v->in_len - 1 : 0;
	sreq *s;

	if ((type == T_OUT && d->ro) || len > MAX_BYTES || (len && !in_range(d, sector, len)))
		return S_IOERR;
	if (type != T_FLUSH && !len)
		return S_OK;
	s = calloc(1, sizeof(*s));
	if (!s || (len && !(s->bounce = malloc(len)))) {
		free(s);
		return S_IOERR;
	}
	if (type == T_OUT)
		vmm__vq_read(v, 16, s->bounce, len);
	s->req = (vmm_storage_req)VMM_STORAGE_REQ_INIT;
	s->req.op = type == T_IN ? VMM_STORAGE_OP_READ : type == T_OUT ? VMM_STORAGE_OP_WRITE :
		    VMM_STORAGE_OP_FLUSH;
	s->req.offset = sector * SECTOR;
	s->req.length = len;
	s->req.buf = s->bounce;
	s->req.done = req_done;
	s->req.opaque = s;
	s->d = d;
	s->e = e;
	pthread_mutex_lock(&d->lock);
	d->inflight++;
	pthread_mutex_unlock(&d->lock);
	if (vmm_storage_submit(d->st, &s->req) == 0)
		return -1;   /* in flight */
	pthread_mutex_lock(&d->lock);
	d->inflight--;
	pthread_mutex_unlock(&d->lock);
	free(s->bounce);
	free(s);
	return S_IOERR;
}

/* DISCARD and WRITE_ZEROES segments {sector, num_sectors, flags}, each
 * waited for here on the I/O thread. */
static int segments(sblk *d, vmm__vq_elem *e, uint32_t type)
{
	uint64_t bytes = e->out_len - 16;

	if (d->ro)
		return S_IOERR;
	if (bytes == 0 || bytes % 16 || bytes / 16 > MAX_SEGS)
		return S_UNSUPP;
	for (uint64_t off = 16; off < e->out_len; off += 16) {
		uint8_t seg[16];
		uint64_t sector;
		uint32_t num, flags;

		vmm__vq_read(e, off, seg, 16);
		memcpy(&sector, seg, 8);
		memcpy(&num, seg + 8, 4);
		memcpy(&flags, seg + 12, 4);
		if ((flags & ~1u) || (type == T_DISCARD && flags) ||
		    !in_range(d, sector, (uint64_t)num * SECTOR))
			return S_UNSUPP;
		if (num && vmm_storage_io(d->st, type == T_DISCARD ? VMM_STORAGE_OP_DISCARD :
					  VMM_STORAGE_OP_WRITE_ZEROES, sector * SECTOR, NULL,
					  (uint64_t)num * SECTOR))
			return S_IOERR;
	}
	return S_OK;
}

static void handle(sblk *d, vmm_virtq_elem *e)
{
	uint8_t hdr[16];
	uint32_t type, wrote = 0;
	uint64_t sector;
	int status;

	if (e->e.in_len == 0) {
		pthread_mutex_lock(&d->lock);
		vmm_virtq_push(d->dev, 0, e, 0);   /* no room even for the status */
		pthread_mutex_unlock(&d->lock);
		return;
	}
	if (vmm__vq_read(&e->e, 0, hdr, 16) < 16) {
		complete(d, e, 0, S_IOERR);
		return;
	}
	memcpy(&type, hdr, 4);
	memcpy(&sector, hdr + 8, 8);
	switch (type) {
	case T_IN: case T_OUT: case T_FLUSH: status = submit(d, e, type, sector); break;
	case T_GET_ID:
		wrote = (uint32_t)vmm__vq_write(&e->e, 0, d->serial, e->e.in_len - 1 < ID_LEN ?
						e->e.in_len - 1 : ID_LEN);
		status = S_OK;
		break;
	case T_DISCARD: case T_WZ: status = segments(d, &e->e, type); break;
	default: status = S_UNSUPP; break;
	}
	if (status >= 0)
		complete(d, e, wrote, (uint8_t)status);
}

static void work(void *opaque)
{
	sblk *d = opaque;
	vmm_virtq_elem *e;
	int rc;

	for (;;) {
		pthread_mutex_lock(&d->lock);
		rc = vmm_virtq_pop(d->dev, 0, &e);
		pthread_mutex_unlock(&d->lock);
		if (rc != 1)
			break;
		handle(d, e);
	}
}

static void notify(void *opaque, vmm_virtio_dev *dev, uint16_t q)
{
	vmm__iothread_kick(&((sblk *)opaque)->io);
}

static void config_read(void *opaque, uint32_t off, void *buf, uint32_t len)
{
	sblk *d = opaque;

	pthread_mutex_lock(&d->lock);
	memcpy(buf, d->config + off, len);   /* checked by the transport */
	pthread_mutex_unlock(&d->lock);
}

bool vmm__blk_storage_is(const vmm_virtio_dev *dev)
{
	return dev->ops->queue_notify == notify;
}

int vmm__blk_storage_resize(vmm_virtio_dev *dev, uint64_t new_size)
{
	vmm_storage_info info = VMM_STORAGE_INFO_INIT;
	sblk *d = dev->opaque;
	int rc = 0;

	if (new_size && new_size % SECTOR)
		return vmm__err(VMM_EINVAL, "vmm_virtio_blk_resize: %llu is not a multiple of 512",
				(unsigned long long)new_size);
	if (new_size)
		rc = vmm_storage_resize(d->st, new_size);
	if (!rc)
		rc = vmm_storage_get_info(d->st, &info);
	if (rc)
		return rc;
	pthread_mutex_lock(&d->lock);
	if (info.capacity / SECTOR > d->sectors) {
		__atomic_store_n(&d->sectors, info.capacity / SECTOR, __ATOMIC_RELEASE);
		vmm__blk_fill_config(d->config, d->sectors, d->bsz);
	}
	pthread_mutex_unlock(&d->lock);
	return vmm_virtio_config_changed(dev);
}

static void free_disk(sblk *d)
{
	pthread_cond_destroy(&d->idle);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

/* The VM goes: no new requests, then wait for those in flight (their
 * completions touch guest memory and the queue). */
static void fini(void *opaque)
{
	sblk *d = opaque;

	vmm__iothread_stop(&d->io);
	pthread_mutex_lock(&d->lock);
	while (d->inflight)
		pthread_cond_wait(&d->idle, &d->lock);
	pthread_mutex_unlock(&d->lock);
	free_disk(d);
}

int vmm__blk_storage_add(vmm_vm *vm, const vmm_blk_config *c)
{
	vmm_storage_info info = VMM_STORAGE_INFO_INIT;
	char name[16];
	sblk *d;
	int rc = vmm_storage_get_info(c->storage, &info);

	if (rc)
		return rc;
	if (!info.npaths)
		return vmm__err(VMM_ESTATE, "vmm_virtio_blk_add: the storage device has no path");
	if (!(d = calloc(1, sizeof(*d))))
		return vmm__err(VMM_ENOMEM, "vmm_virtio_blk_add: out of memory");
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->idle, NULL);
	d->st = c->storage;
	d->ro = (c->flags & VMM_BLK_READONLY) || (info.flags & VMM_STORAGE_READONLY);
	d->bsz = info.block_size;
	d->sectors = info.capacity / SECTOR;
	if (c->serial)
		memcpy(d->serial, c->serial, strlen(c->serial));
	vmm__blk_fill_config(d->config, d->sectors, d->bsz);
	d->ops = (vmm_virtio_ops){
		.version = VMM_VIRTIO_OPS_VERSION, .device_id = 2, .pci_class = 0x010000,
		.num_queues = 1, .queue_size = 256, .config_size = CONFIG_LEN,
		.features = F_SEG_MAX | F_BLK_SIZE | F_FLUSH | F_DISCARD | F_WRITE_ZEROES |
			    (d->ro ? F_RO : 0),
		.queue_notify = notify, .config_read = config_read,
	};
	snprintf(name, sizeof(name), "vmm-sblk%u", atomic_fetch_add(&disk_count, 1) % 1000);
	rc = vmm__iothread_start(&d->io, name, work, d);
	if (rc == 0)
		rc = vmm_virtio_add(vm, &d->ops, d, &d->dev);
	if (rc) {
		vmm__iothread_stop(&d->io);
		free_disk(d);
		return rc;
	}
	vmm__virtio_set_fini(d->dev, fini);
	vmm__virtio_set_iothread(d->dev, &d->io);
	return 0;
}
