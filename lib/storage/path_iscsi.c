/* path_iscsi.c - an iSCSI LUN as a path (libiscsi). */
#include <stdio.h>

#include "lib/storage/storage.h"

static int iscsi_open(vmm__path *p, uint32_t timeout_ms)
{
	snprintf(p->msg, sizeof(p->msg), "%s: iSCSI paths are not built yet", p->target);
	return -1;
}

static void iscsi_close_path(vmm__path *p) {}
static int iscsi_start(vmm__path *p, vmm__sreq *r) { return -1; }
static int iscsi_poll_fd(vmm__path *p, short *events) { return -1; }
static int iscsi_service(vmm__path *p, short revents) { return -1; }

const vmm__path_ops vmm__path_iscsi_ops = { "iscsi", iscsi_open, iscsi_close_path, iscsi_start,
					    iscsi_poll_fd, iscsi_service, NULL };
