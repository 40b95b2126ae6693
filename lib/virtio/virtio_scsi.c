/* virtio_scsi.c - virtio-scsi (virtio 1.2, 5.6) over storage devices
 * (vmm/virtio.h, vmm/storage.h): control queue 0 (task management,
 * asynchronous notification queries), event queue 1 (unused: no hotplug
 * or parameter-change features are offered), request queue 2. The
 * controller's I/O thread pops requests, checks the virtio header (LUN
 * address, buffer sizes), runs the CDB through scsi_cmd.c and either
 * answers at once or submits the I/O plan to the LUN's storage device, one
 * step at a time; completions run on the device's path threads, copy read
 * data into guest memory and push the response. Data goes through a bounce
 * buffer per request. */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/virtio/iothread.h"
#include "lib/virtio/scsi.h"
#include "lib/virtio/virtio_pci.h"

enum { Q_CTRL = 0, Q_EVENT = 1, Q_REQ = 2, NQUEUES = 3 };
enum {
	S_OK = 0, S_OVERRUN = 1, S_BAD_TARGET = 3, S_FAILURE = 9,
	S_FUNCTION_SUCCEEDED = 10, S_FUNCTION_REJECTED = 11, S_INCORRECT_LUN = 12
};
#define CONFIG_LEN 36u
#define DEF_SENSE 96u
#define DEF_CDB 32u
#define MAX_SIZE 252u               /* sense_size and cdb_size the driver may set */
#define WS_CHUNK (1u << 20)         /* WRITE SAME with data: bytes per write */
#define HDR_FIXED 19u               /* lun, id, task_attr, prio, crn */
#define RESP_FIXED 12u              /* sense_len, residual, status_qualifier, status, response */

typedef struct vlun {
	vmm_storage_dev *st;
	vmm__scsi_lun info;         /* the I/O thread's */
	bool capacity_changed;      /* a unit attention is owed (I/O thread) */
	uint32_t inflight;          /* d->lock */
} vlun;

typedef struct tmf {
	vmm_virtq_elem *e;
	int32_t lun;                /* waits for this LUN's requests; -1: all */
	struct tmf *next;
} tmf;

typedef struct vscsi {
	vmm_virtio_dev *dev;
	vmm_virtio_ops ops;
	vmm__iothread io;
	pthread_mutex_t lock;       /* queues, counts, tmfs, sizes */
	pthread_cond_t idle;
	uint32_t inflight;
	uint32_t finishing;         /* completions still touching the controller */
	uint32_t nluns;
	vlun luns[VMM__SCSI_MAX_LUNS];
	uint32_t ids[VMM__SCSI_MAX_LUNS];
	uint32_t sense_size, cdb_size;
	tmf *tmfs;
} vscsi;

typedef struct sreq {
	vmm_storage_req req;
	vscsi *d;
	vlun *lun;
	vmm_virtq_elem *e;
	uint32_t sense_size;
	uint64_t dataout_off, datain_off, datain_total;
	uint8_t *buf;
	uint32_t step;
	vmm__scsi_cmd cmd;
} sreq;

static atomic_uint controllers;

static void push(vscsi *d, uint16_t q, vmm_virtq_elem *e, uint32_t len)
{
	pthread_mutex_lock(&d->lock);
	vmm_virtq_push(d->dev, q, e, len);
	pthread_mutex_unlock(&d->lock);
	vmm_virtio_interrupt(d->dev, q);
}

/* The response header (and sense) at the start of the in buffers; pushes. */
static void respond(vscsi *d, vmm_virtq_elem *e, uint32_t sense_size, uint8_t response,
		    const vmm__scsi_cmd *c, uint64_t residual, uint32_t datain)
{
	uint8_t r[RESP_FIXED + MAX_SIZE] = { 0 };
	uint32_t slen = 0, res = residual > UINT32_MAX ? UINT32_MAX : (uint32_t)residual;

	if (c && c->status == VMM__SCSI_CHECK_CONDITION)
		slen = sense_size < VMM__SCSI_SENSE_LEN ? sense_size : VMM__SCSI_SENSE_LEN;
	memcpy(r, &slen, 4);
	memcpy(r + 4, &res, 4);
	r[10] = c ? c->status : 0;
	r[11] = response;
	if (slen)
		memcpy(r + RESP_FIXED, c->sense, slen);
	vmm__vq_write(&e->e, 0, r, RESP_FIXED + sense_size);
	push(d, Q_REQ, e, RESP_FIXED + sense_size + datain);
}

/* "01 target lun(2) 0 0 0 0": the LUN index, -1 for a LUN that does not
 * exist, -2 for a target that does not. */
static int32_t decode_lun(const vscsi *d, const uint8_t *l)
{
	uint32_t id;

	if (l[0] != 1 || l[1] != 0)
		return -2;
	if ((l[2] >> 6) > 1 || l[4] || l[5] || l[6] || l[7])
		return -1;
	id = (uint32_t)(l[2] & 0x3f) << 8 | l[3];
	return id < d->nluns ? (int32_t)id : -1;
}

/* ---- Completion of the TMFs waiting for requests (d->lock held) ---- */

static bool tmf_ready(const vscsi *d, const tmf *t)
{
	return t->lun < 0 ? d->inflight == 0 : d->luns[t->lun].inflight == 0;
}

/* Unlinks the TMFs that may be answered now into *ready. */
static void tmf_collect(vscsi *d, tmf **ready)
{
	for (tmf **p = &d->tmfs; *p;) {
		tmf *t = *p;

		if (tmf_ready(d, t)) {
			*p = t->next;
			t->next = *ready;
			*ready = t;
		} else {
			p = &t->next;
		}
	}
}

static void tmf_answer(vscsi *d, tmf *ready)
{
	while (ready) {
		tmf *t = ready;
		uint8_t resp = 0;   /* FUNCTION COMPLETE */

		ready = t->next;
		vmm__vq_write(&t->e->e, 0, &resp, 1);
		push(d, Q_CTRL, t->e, 1);
		free(t);
	}
}

/* ---- Requests with I/O ---- */

static void step_done(vmm_storage_req *r);

static void finish(sreq *s, const vmm_storage_req *failed)
{
	vscsi *d = s->d;
	vmm__scsi_cmd *c = &s->cmd;
	uint32_t datain = 0;
	tmf *ready = NULL;

	if (failed && failed->scsi_status == VMM__SCSI_CHECK_CONDITION && failed->sense_key)
		vmm__scsi_sense(c, failed->sense_key, failed->asc, failed->ascq);   /* the target's */
	else if (failed && failed->op == VMM_STORAGE_OP_READ)
		vmm__scsi_sense(c, VMM__SK_MEDIUM_ERROR, 0x11, 0x00);   /* unrecovered read error */
	else if (failed)
		vmm__scsi_sense(c, VMM__SK_MEDIUM_ERROR, 0x0c, 0x00);   /* write error */
	else if (s->cmd.io == VMM__SCSI_IO_READ)
		datain = (uint32_t)s->cmd.length;
	respond(d, s->e, s->sense_size, S_OK, c, s->datain_total - datain, datain);
	free(s->buf);
	pthread_mutex_lock(&d->lock);
	s->lun->inflight--;
	d->inflight--;
	d->finishing++;
	tmf_collect(d, &ready);
	pthread_mutex_unlock(&d->lock);
	free(s);
	tmf_answer(d, ready);
	pthread_mutex_lock(&d->lock);
	if (--d->finishing == 0 && !d->inflight)
		pthread_cond_broadcast(&d->idle);
	pthread_mutex_unlock(&d->lock);
}

/* Fills s->req for step s->step of the plan; false when there is none left. */
static bool plan_step(sreq *s)
{
	const vmm__scsi_cmd *c = &s->cmd;
	vmm_storage_req *r = &s->req;
	uint64_t off;

	*r = (vmm_storage_req)VMM_STORAGE_REQ_INIT;
	r->done = step_done;
	r->opaque = s;
	switch (c->io) {
	case VMM__SCSI_IO_READ: case VMM__SCSI_IO_WRITE:
		if (s->step == 0 || (s->step == 1 && c->fua)) {
			r->op = s->step ? VMM_STORAGE_OP_FLUSH : c->io == VMM__SCSI_IO_READ ?
				VMM_STORAGE_OP_READ : VMM_STORAGE_OP_WRITE;
			r->offset = c->offset;
			r->length = s->step ? 0 : c->length;
			r->buf = s->buf;
			return true;
		}
		return false;
	case VMM__SCSI_IO_FLUSH:
		r->op = VMM_STORAGE_OP_FLUSH;
		return s->step == 0;
	case VMM__SCSI_IO_UNMAP:
		if (s->step >= c->ndesc)
			return false;
		r->op = VMM_STORAGE_OP_DISCARD;
		r->offset = c->desc[s->step].offset;
		r->length = c->desc[s->step].length;
		return true;
	default:   /* WRITE SAME */
		if (c->zero) {
			r->op = VMM_STORAGE_OP_WRITE_ZEROES;
			r->offset = c->offset;
			r->length = c->length;
			r->flags = c->unmap ? VMM_STORAGE_REQ_UNMAP : 0;
			return s->step == 0;
		}
		off = (uint64_t)s->step * WS_CHUNK;
		if (off >= c->length)
			return false;
		r->op = VMM_STORAGE_OP_WRITE;
		r->offset = c->offset + off;
		r->length = c->length - off < WS_CHUNK ? c->length - off : WS_CHUNK;
		r->buf = s->buf;
		return true;
	}
}

static void next_step(sreq *s)
{
	if (!plan_step(s)) {
		finish(s, NULL);
		return;
	}
	if (vmm_storage_submit(s->lun->st, &s->req) != 0) {
		s->req.result = VMM_EINVAL;
		finish(s, &s->req);
	}
}

/* On a path thread of the LUN's device (or inside submit). */
static void step_done(vmm_storage_req *r)
{
	sreq *s = r->opaque;

	if (r->result) {
		finish(s, r);
		return;
	}
	if (r->op == VMM_STORAGE_OP_READ)
		vmm__vq_write(&s->e->e, s->datain_off, s->buf, r->length);
	s->step++;
	next_step(s);
}

/* The bounce buffer the plan needs; false when out of memory. */
static bool bounce(sreq *s, const uint8_t *head)
{
	const vmm__scsi_cmd *c = &s->cmd;
	uint32_t bs = s->lun->info.block_size;
	uint64_t n = 0;

	if (c->io == VMM__SCSI_IO_READ || c->io == VMM__SCSI_IO_WRITE)
		n = c->length;
	else if (c->io == VMM__SCSI_IO_WRITE_SAME && !c->zero)
		n = c->length < WS_CHUNK ? c->length : WS_CHUNK;
	if (!n)
		return true;
	if (!(s->buf = malloc(n)))
		return false;
	if (c->io == VMM__SCSI_IO_WRITE)
		vmm__vq_read(&s->e->e, s->dataout_off, s->buf, n);
	for (uint64_t off = 0; c->io == VMM__SCSI_IO_WRITE_SAME && off < n; off += bs)
		memcpy(s->buf + off, head, bs);
	return true;
}

static void start_io(vscsi *d, sreq *s, const uint8_t *head)
{
	if (!bounce(s, head)) {
		vmm__scsi_sense(&s->cmd, VMM__SK_HARDWARE_ERROR, 0x55, 0x00);  /* out of resources */
		respond(d, s->e, s->sense_size, S_OK, &s->cmd, s->datain_total, 0);
		free(s);
		return;
	}
	pthread_mutex_lock(&d->lock);
	d->inflight++;
	s->lun->inflight++;
	pthread_mutex_unlock(&d->lock);
	next_step(s);
}

/* ---- The request queue ---- */

/* The device grew (vmm_storage_resize): the LUN takes the new capacity and
 * owes the guest a unit attention, "capacity data has changed" (06/2a/09),
 * given to the next command other than INQUIRY, REPORT LUNS and REQUEST
 * SENSE (SAM-5). true when this command gets it. */
static bool unit_attention(vlun *l, const uint8_t *cdb, vmm__scsi_cmd *c)
{
	vmm_storage_info info = VMM_STORAGE_INFO_INIT;

	if (vmm_storage_get_info(l->st, &info) == 0 &&
	    info.capacity / l->info.block_size > l->info.blocks) {
		l->info.blocks = info.capacity / l->info.block_size;
		l->capacity_changed = true;
	}
	if (!l->capacity_changed || cdb[0] == 0x12 || cdb[0] == 0xa0 || cdb[0] == 0x03)
		return false;
	l->capacity_changed = false;
	memset(c, 0, sizeof(*c));
	vmm__scsi_sense(c, VMM__SK_UNIT_ATTENTION, 0x2a, 0x09);
	return true;
}

typedef struct hdr_info {
	uint32_t sense_size, cdb_size;
	uint64_t out_data, in_data;     /* data-out / data-in bytes */
	int32_t lun;
	uint8_t cdb[VMM__SCSI_CDB_MAX];
} hdr_info;

/* Reads and checks the virtio-scsi header; false when answered already. */
static bool read_header(vscsi *d, vmm_virtq_elem *e, hdr_info *h)
{
	uint8_t hdr[HDR_FIXED + MAX_SIZE];
	uint64_t hlen, rlen;

	pthread_mutex_lock(&d->lock);
	h->sense_size = d->sense_size;
	h->cdb_size = d->cdb_size;
	pthread_mutex_unlock(&d->lock);
	hlen = HDR_FIXED + h->cdb_size;
	rlen = RESP_FIXED + h->sense_size;
	if (e->e.in_len < rlen) {
		push(d, Q_REQ, e, 0);           /* no room for the response: nothing to say */
		return false;
	}
	if (e->e.out_len < hlen || vmm__vq_read(&e->e, 0, hdr, hlen) < hlen) {
		respond(d, e, h->sense_size, S_FAILURE, NULL, 0, 0);
		return false;
	}
	h->out_data = e->e.out_len - hlen;
	h->in_data = e->e.in_len - rlen;
	if (h->out_data && h->in_data) {        /* bidirectional: VIRTIO_SCSI_F_INOUT not offered */
		respond(d, e, h->sense_size, S_FAILURE, NULL, 0, 0);
		return false;
	}
	if ((h->lun = decode_lun(d, hdr)) == -2) {
		respond(d, e, h->sense_size, S_BAD_TARGET, NULL, 0, 0);
		return false;
	}
	memset(h->cdb, 0, sizeof(h->cdb));
	memcpy(h->cdb, hdr + HDR_FIXED, h->cdb_size < VMM__SCSI_CDB_MAX ? h->cdb_size :
	       VMM__SCSI_CDB_MAX);
	return true;
}

static void handle_req(vscsi *d, vmm_virtq_elem *e)
{
	uint8_t head[VMM__SCSI_DATAOUT_HEAD], in[VMM__SCSI_DATAOUT_HEAD];
	vmm__scsi_args a = { 0 };
	hdr_info h;
	sreq *s;

	if (!read_header(d, e, &h))
		return;
	if (!(s = calloc(1, sizeof(*s)))) {
		respond(d, e, h.sense_size, S_FAILURE, NULL, 0, 0);
		return;
	}
	s->d = d;
	s->e = e;
	s->sense_size = h.sense_size;
	s->dataout_off = HDR_FIXED + h.cdb_size;
	s->datain_off = RESP_FIXED + h.sense_size;
	s->datain_total = h.in_data;
	s->lun = h.lun >= 0 ? &d->luns[h.lun] : NULL;
	a.lun = s->lun ? &s->lun->info : NULL;
	a.ids = d->ids;
	a.nluns = d->nluns;
	a.cdb = h.cdb;
	a.dataout_len = h.out_data;
	a.dataout_head = (uint32_t)(h.out_data < sizeof(head) ? h.out_data : sizeof(head));
	a.dataout = head;
	vmm__vq_read(&e->e, s->dataout_off, head, a.dataout_head);
	a.datain = in;
	a.datain_cap = (uint32_t)(h.in_data < sizeof(in) ? h.in_data : sizeof(in));
	a.datain_total = h.in_data;
	if (!s->lun || !unit_attention(s->lun, h.cdb, &s->cmd))
		vmm__scsi_exec(&a, &s->cmd);
	if (s->cmd.overrun || s->cmd.io == VMM__SCSI_IO_NONE) {
		if (s->cmd.datain_len)
			vmm__vq_write(&e->e, s->datain_off, in, s->cmd.datain_len);
		respond(d, e, h.sense_size, s->cmd.overrun ? S_OVERRUN : S_OK, &s->cmd,
			h.in_data - s->cmd.datain_len, s->cmd.datain_len);
		free(s);
		return;
	}
	start_io(d, s, head);
}

/* ---- The control queue ---- */

static void handle_tmf(vscsi *d, vmm_virtq_elem *e)
{
	uint8_t m[24], resp = S_FUNCTION_REJECTED;
	uint32_t sub;
	int32_t lun;
	tmf *t;

	if (e->e.out_len < 24 || e->e.in_len < 1 || vmm__vq_read(&e->e, 0, m, 24) < 24) {
		push(d, Q_CTRL, e, 0);
		return;
	}
	memcpy(&sub, m + 4, 4);
	lun = decode_lun(d, m + 8);
	if (lun < 0) {
		resp = lun == -2 ? S_BAD_TARGET : S_INCORRECT_LUN;
	} else if (sub <= 5 && sub != 2) {
		/* abort task (set), clear task set, LUN or I_T nexus reset: answered
		 * when the requests they concern have finished */
		if ((t = calloc(1, sizeof(*t)))) {
			tmf *ready = NULL;

			t->e = e;
			t->lun = sub == 4 ? -1 : lun;
			pthread_mutex_lock(&d->lock);
			t->next = d->tmfs;
			d->tmfs = t;
			tmf_collect(d, &ready);
			pthread_mutex_unlock(&d->lock);
			tmf_answer(d, ready);
			return;
		}
		resp = S_FAILURE;
	} else if (sub == 2) {
		resp = 0;                       /* CLEAR ACA: nothing to clear */
	} else if (sub == 6 || sub == 7) {  /* QUERY TASK (SET) */
		pthread_mutex_lock(&d->lock);
		resp = d->luns[lun].inflight ? S_FUNCTION_SUCCEEDED : 0;
		pthread_mutex_unlock(&d->lock);
	}
	vmm__vq_write(&e->e, 0, &resp, 1);
	push(d, Q_CTRL, e, 1);
}

static void handle_ctrl(vscsi *d, vmm_virtq_elem *e)
{
	uint32_t type;
	uint8_t an[5] = { 0, 0, 0, 0, S_OK };   /* event_actual 0: no events */

	if (e->e.out_len < 4 || vmm__vq_read(&e->e, 0, &type, 4) < 4) {
		push(d, Q_CTRL, e, 0);
	} else if (type == 0) {
		handle_tmf(d, e);
	} else if ((type == 1 || type == 2) && e->e.out_len >= 16 && e->e.in_len >= 5) {
		vmm__vq_write(&e->e, 0, an, 5);
		push(d, Q_CTRL, e, 5);
	} else {
		push(d, Q_CTRL, e, 0);
	}
}

static void work(void *opaque)
{
	vscsi *d = opaque;
	static const uint16_t queues[] = { Q_CTRL, Q_REQ };
	vmm_virtq_elem *e;
	bool any = true;

	while (any) {
		any = false;
		for (unsigned i = 0; i < 2; i++) {
			int rc;

			pthread_mutex_lock(&d->lock);
			rc = vmm_virtq_pop(d->dev, queues[i], &e);
			pthread_mutex_unlock(&d->lock);
			if (rc != 1)
				continue;
			any = true;
			if (queues[i] == Q_CTRL)
				handle_ctrl(d, e);
			else
				handle_req(d, e);
		}
	}
}

static void notify(void *opaque, vmm_virtio_dev *dev, uint16_t q)
{
	vmm__iothread_kick(&((vscsi *)opaque)->io);
}

/* ---- Configuration (virtio 1.2, 5.6.4) ---- */

static void config_read(void *opaque, uint32_t off, void *buf, uint32_t len)
{
	vscsi *d = opaque;
	uint32_t c[9] = { 1, VMM__VQ_MAX_SG - 2, VMM__SCSI_MAX_XFER / 512, 128, 16 };
	uint8_t b[CONFIG_LEN];

	pthread_mutex_lock(&d->lock);
	c[5] = d->sense_size;
	c[6] = d->cdb_size;
	pthread_mutex_unlock(&d->lock);
	c[7] = 0;                           /* max_channel 0, max_target 0 */
	c[8] = VMM__SCSI_MAX_LUNS - 1;      /* max_lun */
	memcpy(b, c, CONFIG_LEN);
	memcpy(buf, b + off, len);          /* off + len <= CONFIG_LEN: checked */
}

/* sense_size (20) and cdb_size (24) are the driver's to set. */
static void config_write(void *opaque, uint32_t off, const void *buf, uint32_t len)
{
	vscsi *d = opaque;
	uint32_t v = 0;

	if ((off != 20 && off != 24) || len != 4)
		return;
	memcpy(&v, buf, 4);
	if (v > MAX_SIZE)
		v = MAX_SIZE;
	pthread_mutex_lock(&d->lock);
	if (off == 20)
		d->sense_size = v;
	else
		d->cdb_size = v;
	pthread_mutex_unlock(&d->lock);
}

/* ---- Setup ---- */

static void free_ctrl(vscsi *d)
{
	while (d->tmfs) {
		tmf *t = d->tmfs;

		d->tmfs = t->next;
		free(t->e);
		free(t);
	}
	pthread_cond_destroy(&d->idle);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

static void fini(void *opaque)
{
	vscsi *d = opaque;

	vmm__iothread_stop(&d->io);
	pthread_mutex_lock(&d->lock);
	while (d->inflight || d->finishing)
		pthread_cond_wait(&d->idle, &d->lock);
	pthread_mutex_unlock(&d->lock);
	free_ctrl(d);
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h;
}

static int lun_setup(vlun *l, const vmm_scsi_lun_config *c, uint32_t ctl, uint32_t i)
{
	vmm_storage_info info = VMM_STORAGE_INFO_INIT;
	vmm__scsi_lun *s = &l->info;
	int rc;

	if (!c || c->size < sizeof(*c) || !c->storage || (c->flags & ~VMM_SCSI_LUN_READONLY))
		return vmm__err(VMM_EINVAL, "vmm_virtio_scsi_add: LUN %u: config too small, no "
				"storage device or unknown flags", i);
	if (c->serial && (!c->serial[0] || strlen(c->serial) > 32))
		return vmm__err(VMM_EINVAL, "vmm_virtio_scsi_add: LUN %u: serial must be 1..32 "
				"bytes", i);
	for (const char *p = c->serial; p && *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			return vmm__err(VMM_EINVAL, "vmm_virtio_scsi_add: LUN %u: serial is not "
					"printable ASCII", i);
	if ((rc = vmm_storage_get_info(c->storage, &info)))
		return rc;
	if (!info.npaths || info.capacity < info.block_size)
		return vmm__err(VMM_ESTATE, "vmm_virtio_scsi_add: LUN %u: the storage device has "
				"no path", i);
	l->st = c->storage;
	s->block_size = info.block_size;
	s->blocks = info.capacity / info.block_size;
	s->readonly = (c->flags & VMM_SCSI_LUN_READONLY) || (info.flags & VMM_STORAGE_READONLY);
	s->thin = info.can_discard;
	s->unmap_granularity = 65536 / info.block_size;
	if (c->serial)
		snprintf(s->serial, sizeof(s->serial), "%s", c->serial);
	else
		snprintf(s->serial, sizeof(s->serial), "vmmscsi%u.%u", ctl, i);
	s->naa = 0x3000000000000000ull | (fnv1a(s->serial) >> 4);
	return 0;
}

VMM_API int vmm_virtio_scsi_add(vmm_vm *vm, const vmm_scsi_config *c)
{
	uint32_t ctl = atomic_fetch_add(&controllers, 1) % 1000;
	char name[16];
	vscsi *d;
	int rc = 0;

	if (!vm || !c || c->size < sizeof(*c) || c->flags || !c->luns || !c->nluns ||
	    c->nluns > VMM_SCSI_MAX_LUNS)
		return vmm__err(VMM_EINVAL, "vmm_virtio_scsi_add: vm or config is NULL, the config "
				"is too small or has flags, or nluns is not 1..%d", VMM_SCSI_MAX_LUNS);
	if (!(d = calloc(1, sizeof(*d))))
		return vmm__err(VMM_ENOMEM, "vmm_virtio_scsi_add: out of memory");
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->idle, NULL);
	d->sense_size = DEF_SENSE;
	d->cdb_size = DEF_CDB;
	d->nluns = c->nluns;
	for (uint32_t i = 0; i < c->nluns && !rc; i++) {
		d->ids[i] = i;
		rc = lun_setup(&d->luns[i], &c->luns[i], ctl, i);
	}
	d->ops = (vmm_virtio_ops){
		.version = VMM_VIRTIO_OPS_VERSION, .device_id = 8, .pci_class = 0x010000,
		.num_queues = NQUEUES, .queue_size = 256, .config_size = CONFIG_LEN,
		.features = 0, .queue_notify = notify, .config_read = config_read,
		.config_write = config_write,
	};
	snprintf(name, sizeof(name), "vmm-scsi%u", ctl);
	if (!rc)
		rc = vmm__iothread_start(&d->io, name, work, d);
	if (!rc)
		rc = vmm_virtio_add(vm, &d->ops, d, &d->dev);
	if (rc) {
		vmm__iothread_stop(&d->io);
		free_ctrl(d);
		return rc;
	}
	vmm__virtio_set_fini(d->dev, fini);
	return 0;
}
