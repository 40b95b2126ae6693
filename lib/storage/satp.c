/* satp.c - the built-in storage array type plugins (vmm/storage.h):
 * "default" (every path that answers is active) and "alua" (the path's
 * state is its target port group's asymmetric access state). Both run
 * under the device lock and only decide; the library does the I/O. */
#include <errno.h>

#include "lib/storage/storage.h"

enum {
	SK_NOT_READY = 0x2,
	SK_MEDIUM_ERROR = 0x3,
	SK_HARDWARE_ERROR = 0x4,
	SK_ILLEGAL_REQUEST = 0x5,
	SK_UNIT_ATTENTION = 0x6,
	SK_DATA_PROTECT = 0x7,
	SCSI_CHECK_CONDITION = 0x02
};

static uint32_t default_path_state(void *opaque, const vmm_storage_event *ev)
{
	return VMM_STORAGE_ACTIVE;
}

/* Errors that say the request itself is bad: every path would answer the
 * same, so the caller gets it. */
static bool request_error(const vmm_storage_event *ev)
{
	if (ev->scsi_status == SCSI_CHECK_CONDITION)
		return ev->sense_key == SK_MEDIUM_ERROR || ev->sense_key == SK_ILLEGAL_REQUEST ||
		       ev->sense_key == SK_DATA_PROTECT;
	return ev->sys_errno == ENOSPC || ev->sys_errno == EPERM || ev->sys_errno == EINVAL ||
	       ev->sys_errno == EROFS || ev->sys_errno == EFBIG;
}

static void default_request_failed(void *opaque, const vmm_storage_event *ev,
				   vmm_storage_decision *d)
{
	if (ev->kind == VMM_STORAGE_EV_CONN_LOST || ev->kind == VMM_STORAGE_EV_TIMEOUT) {
		d->state = VMM_STORAGE_DEAD;
		d->action = VMM_STORAGE_RETRY;
	} else if (ev->scsi_status == SCSI_CHECK_CONDITION &&
		   ev->sense_key == SK_UNIT_ATTENTION) {
		d->action = VMM_STORAGE_RETRY_SAME;   /* reset, capacity change: once more */
	} else if (request_error(ev)) {
		d->action = VMM_STORAGE_FAIL;
	} else {
		d->action = VMM_STORAGE_RETRY;        /* EIO and the like: another path */
	}
}

/* ALUA asymmetric access states (SPC-4 6.37). */
static uint32_t alua_to_state(uint32_t alua)
{
	switch (alua) {
	case 0x0: return VMM_STORAGE_ACTIVE;
	case 0x1: return VMM_STORAGE_ACTIVE_NON_OPTIMIZED;
	case 0x2: return VMM_STORAGE_STANDBY;
	case 0xff: return VMM_STORAGE_ACTIVE;   /* target without ALUA */
	default: return VMM_STORAGE_UNAVAILABLE; /* unavailable, offline, transitioning */
	}
}

static uint32_t alua_path_state(void *opaque, const vmm_storage_event *ev)
{
	return alua_to_state(ev->alua_state);
}

static void alua_request_failed(void *opaque, const vmm_storage_event *ev,
				vmm_storage_decision *d)
{
	bool cc = ev->scsi_status == SCSI_CHECK_CONDITION;

	if (cc && ev->sense_key == SK_UNIT_ATTENTION && ev->asc == 0x2a && ev->ascq == 0x06) {
		d->action = VMM_STORAGE_RECHECK;   /* asymmetric access state changed */
	} else if (cc && ev->sense_key == SK_NOT_READY && ev->asc == 0x04 &&
		   ev->ascq >= 0x0a && ev->ascq <= 0x0c) {
		/* in transition / standby / unavailable: leave this path */
		d->state = ev->ascq == 0x0b ? VMM_STORAGE_STANDBY : VMM_STORAGE_UNAVAILABLE;
		d->action = VMM_STORAGE_RECHECK;
	} else {
		default_request_failed(opaque, ev, d);
	}
}

const vmm_storage_satp vmm__satp_default = { VMM_STORAGE_SATP_VERSION, 0, "default",
					     default_path_state, default_request_failed };
const vmm_storage_satp vmm__satp_alua = { VMM_STORAGE_SATP_VERSION, VMM_STORAGE_SATP_ALUA,
					  "alua", alua_path_state, alua_request_failed };
