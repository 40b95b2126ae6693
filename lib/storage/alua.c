/* alua.c - an iSCSI path's ALUA state (SPC-4 ALUA): its target port group
 * from the device identification VPD page (0x83, designator type 5), and
 * that group's asymmetric access state from REPORT TARGET PORT GROUPS
 * (MAINTENANCE IN, service action 0x0a; unit attentions it gets are
 * consumed and it is sent again). Runs on the path thread; other
 * tasks in flight keep completing meanwhile. Answers are bounds-checked:
 * a target that answers nonsense gets "unknown" (and so the SATP's
 * default), never an out-of-bounds read. */
#include <stdio.h>
#include <string.h>

#include "lib/platform/platform.h"
#include "lib/storage/iscsi_priv.h"

#define RTPG_ALLOC 4096u

static uint32_t be16(const uint8_t *b)
{
	return (uint32_t)b[0] << 8 | b[1];
}

static uint32_t be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* The path's target port group, 0 when the target names none. */
static int read_tpg(vmm__path *p, vmm__iscsi_be *b, uint64_t deadline, uint32_t *tpg)
{
	vmm__iscsi_waiter w = { 0 };
	struct scsi_inquiry_device_identification *id;

	*tpg = 0;
	if (vmm__iscsi_run_task(p, b->ctx,
				iscsi_inquiry_task(b->ctx, b->lun, 1,
						   SCSI_INQUIRY_PAGECODE_DEVICE_IDENTIFICATION, 255,
						   vmm__iscsi_wait_cb, &w), &w, deadline) < 0)
		return -1;
	id = w.status == SCSI_STATUS_GOOD ? scsi_datain_unmarshall(w.task) : NULL;
	for (struct scsi_inquiry_device_designator *d = id ? id->designators : NULL; d;
	     d = d->next)
		if (d->designator_type == SCSI_DESIGNATOR_TYPE_TARGET_PORT_GROUP &&
		    d->designator_length >= 4)
			*tpg = be16((const uint8_t *)d->designator + 2);
	if (w.task)
		scsi_free_scsi_task(w.task);
	return 0;
}

/* The state of group tpg (or of the only group when tpg is 0) in an RTPG
 * answer; -1 if it is not there. */
int vmm__alua_find_state(const uint8_t *d, uint32_t size, uint32_t tpg, uint32_t *state)
{
	uint32_t total, off = 4, groups = 0, only = 0xff;

	if (size < 4)
		return -1;
	total = be32(d) + 4;
	if (total > size)
		total = size;
	while (off + 8 <= total) {
		uint32_t st = d[off] & 0x0f, id = be16(d + off + 2), ports = d[off + 7];

		if (tpg && id == tpg) {
			*state = st;
			return 0;
		}
		groups++;
		only = st;
		off += 8 + 4 * ports;
	}
	if (!tpg && groups == 1) {
		*state = only;
		return 0;
	}
	return -1;
}

/* One REPORT TARGET PORT GROUPS: 0 with *state, 1 when the target
 * answered with a unit attention (retry), -1 on failure. */
static int rtpg_once(vmm__path *p, vmm__iscsi_be *b, uint64_t deadline, uint32_t tpg,
		     uint32_t *state)
{
	unsigned char cdb[12] = { 0xa3, 0x0a, 0, 0, 0, 0, RTPG_ALLOC >> 24, (RTPG_ALLOC >> 16) & 0xff,
				  (RTPG_ALLOC >> 8) & 0xff, RTPG_ALLOC & 0xff, 0, 0 };
	struct scsi_task *t = scsi_create_task(12, cdb, SCSI_XFER_READ, RTPG_ALLOC);
	vmm__iscsi_waiter w = { 0 };
	int rc = -1;

	if (!t)
		return -1;
	if (iscsi_scsi_command_async(b->ctx, b->lun, t, vmm__iscsi_wait_cb, NULL, &w) != 0) {
		scsi_free_scsi_task(t);
		return -1;
	}
	if (vmm__iscsi_run_task(p, b->ctx, t, &w, deadline) < 0)
		return -1;
	if (w.status == SCSI_STATUS_GOOD && t->datain.data && t->datain.size > 0)
		rc = vmm__alua_find_state(t->datain.data, (uint32_t)t->datain.size, tpg, state);
	else if (w.status == SCSI_STATUS_CHECK_CONDITION &&
		 t->sense.key == SCSI_SENSE_UNIT_ATTENTION)
		rc = 1;   /* e.g. the very state change we are reading: it is consumed now */
	else
		snprintf(p->msg, sizeof(p->msg), "%s: REPORT TARGET PORT GROUPS: status 0x%x",
			 p->target, w.status);
	scsi_free_scsi_task(t);
	return rc;
}

/* Unit attentions are reported to every command but INQUIRY, REPORT LUNS
 * and REQUEST SENSE, this one included: a path that was idle when the
 * states changed gets "asymmetric access state changed" here. A few are
 * consumed before giving up. */
static int read_rtpg(vmm__path *p, vmm__iscsi_be *b, uint64_t deadline, uint32_t tpg,
		     uint32_t *state)
{
	int rc = 1;

	for (int i = 0; i < 8 && rc == 1; i++)
		rc = rtpg_once(p, b, deadline, tpg, state);
	return rc == 1 ? -1 : rc;
}

int vmm__iscsi_alua(vmm__path *p, uint32_t *state, uint32_t *tpg, uint32_t timeout_ms)
{
	uint64_t deadline = vmm__now_ns() + timeout_ms * 1000000ull;
	vmm__iscsi_be *b = p->be;

	*state = 0xff;
	if (!b || read_tpg(p, b, deadline, tpg) < 0)
		return -1;
	return read_rtpg(p, b, deadline, *tpg, state);
}
