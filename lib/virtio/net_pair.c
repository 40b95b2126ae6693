/* net_pair.c - virtio-net's in-process backend: two devices (in one VM or
 * two, of one process) joined by name are connected back to back, with no
 * kernel in between. A frame one transmits is delivered, header and all,
 * into the other's receive queue on the sender's thread, or dropped and
 * counted when the receiver has no buffer. Both offer checksum offload and
 * TSO (4, 6, ECN) both ways: a TSO frame goes whole to a peer that took
 * the matching GUEST_TSO feature and is segmented (net_gso.c) for one
 * that did not. */
#include <stdlib.h>
#include <string.h>

#include "lib/virtio/netdev.h"

#define NAME_MAX_LEN 63u

struct vmm__net_pair {
	char name[NAME_MAX_LEN + 1];
	pthread_mutex_t lock;                /* end[]: senders hold it while delivering */
	vmm__net *end[2];
	struct vmm__net_pair *next;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static vmm__net_pair *registry;

int vmm__net_pair_join(vmm__net *n, const char *name)
{
	vmm__net_pair *p;
	int rc = 0;

	if (!*name || strlen(name) > NAME_MAX_LEN)
		return vmm__err(VMM_EINVAL, "vmm_virtio_net_add: pair name '%.70s' is empty or "
				"longer than %u bytes", name, NAME_MAX_LEN);
	pthread_mutex_lock(&registry_lock);
	for (p = registry; p && strcmp(p->name, name); p = p->next)
		;
	if (!p && (p = calloc(1, sizeof(*p)))) {
		strcpy(p->name, name);
		pthread_mutex_init(&p->lock, NULL);
		p->next = registry;
		registry = p;
	}
	if (!p) {
		rc = vmm__err(VMM_ENOMEM, "vmm_virtio_net_add: out of memory");
	} else if (p->end[0] && p->end[1]) {
		rc = vmm__err(VMM_EBUSY, "vmm_virtio_net_add: pair '%s' already connects two "
			      "devices", name);
	} else {
		pthread_mutex_lock(&p->lock);
		n->side = p->end[0] ? 1 : 0;
		p->end[n->side] = n;
		n->pair = p;
		pthread_mutex_unlock(&p->lock);
	}
	pthread_mutex_unlock(&registry_lock);
	return rc;
}

void vmm__net_pair_leave(vmm__net *n)
{
	vmm__net_pair *p = n->pair, **at;

	pthread_mutex_lock(&registry_lock);
	pthread_mutex_lock(&p->lock);           /* waits out a delivery to n */
	p->end[n->side] = NULL;
	pthread_mutex_unlock(&p->lock);
	if (!p->end[0] && !p->end[1]) {
		for (at = &registry; *at != p; at = &(*at)->next)
			;
		*at = p->next;
		pthread_mutex_destroy(&p->lock);
		free(p);
	}
	pthread_mutex_unlock(&registry_lock);
	n->pair = NULL;
}

/* 0 when the frame reached the peer's device (delivered or counted there
 * as dropped), -1 when the other end is not connected. */
int vmm__net_pair_send(vmm__net *n, uint8_t *pkt, size_t len)
{
	vmm__net_pair *p = n->pair;
	vmm__net *peer;
	int rc = -1;

	pthread_mutex_lock(&p->lock);
	peer = p->end[!n->side];
	if (peer) {
		vmm__net_receive(peer, pkt, len, false);
		rc = 0;
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}
