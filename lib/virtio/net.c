/* net.c - virtio-net (virtio 1.2, 5.1): receive queue 0, transmit queue 1,
 * MAC, link status and MTU in the configuration, checksum offload passed
 * through to the backend (netdev.h). Transmit runs on the vCPU thread that
 * notified; receive on the backend's thread. Every header and length the
 * driver gives is checked: a bad frame is dropped and counted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/platform/platform.h"
#include "lib/virtio/netdev.h"
#include "lib/virtio/virtio_pci.h"

#define F_CSUM (1ull << 0)
#define F_MTU (1ull << 3)
#define F_GUEST_TSO4 VMM__NET_F_GUEST_TSO4
#define F_GUEST_TSO6 VMM__NET_F_GUEST_TSO6
#define F_GUEST_ECN VMM__NET_F_GUEST_ECN
#define F_HOST_TSO4 VMM__NET_F_HOST_TSO4
#define F_HOST_TSO6 VMM__NET_F_HOST_TSO6
#define F_HOST_ECN VMM__NET_F_HOST_ECN
#define F_GSO (F_GUEST_TSO4 | F_GUEST_TSO6 | F_GUEST_ECN | F_HOST_TSO4 | F_HOST_TSO6 | \
		   F_HOST_ECN)
#define F_MAC (1ull << 5)
#define F_STATUS (1ull << 16)
#define HDR VMM__NET_HDR
#define MTU_MIN 68u
#define MTU_MAX (VMM__NET_MAX_FRAME - 18u)   /* Ethernet + VLAN header */

static atomic_uint mac_count, net_count;

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* The ones' complement checksum of frame[start..len) stored at
 * start + off, as a device doing the offload would (0 sent as 0xffff). */
static void fill_csum(uint8_t *f, size_t len, size_t start, size_t off)
{
	uint32_t sum = 0;
	size_t i;

	for (i = start; i + 1 < len; i += 2)
		sum += (uint32_t)(f[i] << 8 | f[i + 1]);
	if (i < len)
		sum += (uint32_t)f[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	if (!sum)
		sum = 0xffff;
	f[start + off] = (uint8_t)(sum >> 8);
	f[start + off + 1] = (uint8_t)sum;
}

/* Header checks both ways: flags, a checksum inside the frame, and GSO only
 * of a kind negotiated (feats: CSUM, TSO4, TSO6, ECN bits of that way). */
enum { W_CSUM = 1, W_TSO4 = 2, W_TSO6 = 4, W_ECN = 8 };
static bool hdr_ok(const uint8_t *pkt, size_t len, unsigned feats)
{
	uint8_t flags = pkt[0], gso = pkt[1] & 0x7f;
	size_t start = le16(pkt + 6), off = le16(pkt + 8);

	if (len < HDR + VMM__NET_MIN_FRAME || len > HDR + VMM__NET_MAX_FRAME ||
	    (flags & ~(unsigned)(VMM__NET_HDR_F_NEEDS_CSUM | 2u)))
		return false;
	if (gso && (!(flags & VMM__NET_HDR_F_NEEDS_CSUM) || !le16(pkt + 4) ||
		    !(gso == 1 ? feats & W_TSO4 : gso == 4 ? feats & W_TSO6 : 0) ||
		    ((pkt[1] & 0x80) && !(feats & W_ECN))))
		return false;
	if (!gso && (pkt[1] & 0x80))
		return false;
	if (flags & VMM__NET_HDR_F_NEEDS_CSUM)
		return (feats & W_CSUM) && start + off + 2 <= len - HDR;
	return true;
}

/* The header features of one way: guest-bound (rx) or from the guest. */
static unsigned way(uint64_t f, bool rx)
{
	return (f & (rx ? VMM__NET_F_GUEST_CSUM : F_CSUM) ? W_CSUM : 0) |
	       (f & (rx ? F_GUEST_TSO4 : F_HOST_TSO4) ? W_TSO4 : 0) |
	       (f & (rx ? F_GUEST_TSO6 : F_HOST_TSO6) ? W_TSO6 : 0) |
	       (f & (rx ? F_GUEST_ECN : F_HOST_ECN) ? W_ECN : 0);
}

typedef struct rx_ctx {
	vmm__net *n;
	vmm_virtio_dev *dev;
	bool keep;
} rx_ctx;

/* One frame whose header the receiver takes (checked) into a buffer. */
static int receive_one(void *opaque, uint8_t *pkt, size_t len)
{
	rx_ctx *x = opaque;
	vmm__net *n = x->n;
	vmm_virtio_dev *dev = x->dev;
	vmm_virtq_elem *e;
	uint16_t one = 1;
	int rc;

	/* A partial checksum is always taken (filled in below if need be). */
	if (!hdr_ok(pkt, len, way(vmm_virtio_features(dev), true) | W_CSUM)) {
		atomic_fetch_add(&n->rx_errors, 1);
		return -1;
	}
	if (!(vmm_virtio_features(dev) & VMM__NET_F_GUEST_CSUM)) {
		if (pkt[0] & VMM__NET_HDR_F_NEEDS_CSUM)
			fill_csum(pkt + HDR, len - HDR, le16(pkt + 6), le16(pkt + 8));
		pkt[0] = 0;                      /* no flags for such a driver */
	}
	memcpy(pkt + 10, &one, 2);               /* num_buffers: always 1 */
	pthread_mutex_lock(&n->rx_lock);
	rc = vmm_virtq_pop(dev, 0, &e);
	if (rc != 1) {
		pthread_mutex_unlock(&n->rx_lock);
		if (!x->keep || rc < 0)
			atomic_fetch_add(&n->rx_dropped, 1);
		return rc < 0 ? -1 : 0;
	}
	if (vmm_virtq_in_len(e) < len) {
		vmm_virtq_push(dev, 0, e, 0);
		atomic_fetch_add(&n->rx_errors, 1);
		rc = -1;
	} else {
		vmm_virtq_write(e, 0, pkt, len);
		vmm_virtq_push(dev, 0, e, (uint32_t)len);
		atomic_fetch_add(&n->rx_frames, 1);
		atomic_fetch_add(&n->rx_bytes, len - HDR);
	}
	vmm_virtio_interrupt(dev, 0);
	pthread_mutex_unlock(&n->rx_lock);
	return rc;
}

/* A TSO frame whose kind (or ECN) the receiver did not negotiate. */
static bool must_segment(const uint8_t *pkt, size_t len, uint64_t f)
{
	unsigned gso = len >= HDR ? pkt[1] & 0x7fu : 0;

	return (gso == VMM__NET_GSO_TCPV4 && !(f & F_GUEST_TSO4)) ||
	       (gso == VMM__NET_GSO_TCPV6 && !(f & F_GUEST_TSO6)) ||
	       (gso && (pkt[1] & 0x80) && !(f & F_GUEST_ECN));
}

int vmm__net_receive(vmm__net *n, uint8_t *pkt, size_t len, bool keep)
{
	rx_ctx x = { n, atomic_load(&n->dev), keep };
	uint8_t *seg;
	int rc;

	if (!x.dev) {
		atomic_fetch_add(&n->rx_dropped, 1);
		return -1;
	}
	if (!must_segment(pkt, len, vmm_virtio_features(x.dev)))
		return receive_one(&x, pkt, len);
	if (!(seg = malloc(HDR + VMM__NET_MAX_FRAME))) {
		atomic_fetch_add(&n->rx_dropped, 1);
		return -1;
	}
	rc = vmm__net_gso_segment(pkt, len, seg, receive_one, &x);
	if (rc == -2)                            /* not a TCP frame of its kind */
		atomic_fetch_add(&n->rx_errors, 1);
	free(seg);
	return rc < 0 ? -1 : rc;
}

static int send_frame(vmm__net *n, uint8_t *pkt, size_t len)
{
	if (n->pair)
		return vmm__net_pair_send(n, pkt, len);
	if (!n->slirp && !n->swport)
		return vmm__net_tap_send(n, pkt, len);
	if (pkt[0] & VMM__NET_HDR_F_NEEDS_CSUM)  /* libslirp and the switch take whole frames */
		fill_csum(pkt + HDR, len - HDR, le16(pkt + 6), le16(pkt + 8));
	if (n->swport)
		return vmm__net_switch_send(n, pkt, len);
	return vmm__net_slirp_send(n, pkt, len);
}

/* Every available transmit request, on the notifying vCPU's thread. */
static void net_tx(vmm__net *n, vmm_virtio_dev *dev)
{
	unsigned feats = way(vmm_virtio_features(dev), false);
	vmm_virtq_elem *e;

	pthread_mutex_lock(&n->tx_lock);
	while (vmm_virtq_pop(dev, 1, &e) == 1) {
		uint64_t len = vmm_virtq_out_len(e);

		if (len < HDR + VMM__NET_MIN_FRAME || len > HDR + VMM__NET_MAX_FRAME ||
		    vmm_virtq_read(e, 0, n->txbuf, len) != len ||
		    !hdr_ok(n->txbuf, (size_t)len, feats)) {
			atomic_fetch_add(&n->tx_dropped, 1);
		} else {
			n->txbuf[0] &= VMM__NET_HDR_F_NEEDS_CSUM;   /* DATA_VALID: receive-only */
			memset(n->txbuf + 10, 0, 2);     /* num_buffers too */
			if (send_frame(n, n->txbuf, (size_t)len) == 0) {
				atomic_fetch_add(&n->tx_frames, 1);
				atomic_fetch_add(&n->tx_bytes, len - HDR);
			} else {
				atomic_fetch_add(&n->tx_dropped, 1);
			}
		}
		vmm_virtq_push(dev, 1, e, 0);
	}
	vmm_virtio_interrupt(dev, 1);
	pthread_mutex_unlock(&n->tx_lock);
}

static void net_notify(void *opaque, vmm_virtio_dev *dev, uint16_t q)
{
	vmm__net *n = opaque;

	if (q == 1)
		net_tx(n, dev);
	else if (n->tap_fd >= 0)
		vmm__iothread_kick(&n->io);  /* buffers arrived: a held frame may go */
}

static void net_config_read(void *opaque, uint32_t off, void *buf, uint32_t len)
{
	const vmm__net *n = opaque;

	memcpy(buf, n->config + off, len);   /* off + len <= 12: checked */
}

static void net_fini(void *opaque)
{
	vmm__net *n = opaque;

	if (n->pair)
		vmm__net_pair_leave(n);          /* no peer delivers to us after this */
	vmm__net_switch_detach(n);               /* nor the switch */
	vmm__net_slirp_close(n);
	vmm__iothread_stop(&n->io);
	if (n->tap_fd >= 0)
		close(n->tap_fd);
	pthread_mutex_destroy(&n->rx_lock);
	pthread_mutex_destroy(&n->tx_lock);
	free(n->txbuf);
	free(n->rxbuf);
	free(n);
}

/* The switch port of a config (a field newer callers have). */
static vmm_net_port *config_port(const vmm_net_config *c)
{
	return c->size >= offsetof(vmm_net_config, port) + sizeof(c->port) ? c->port : NULL;
}

static int check_config(const vmm_net_config *c)
{
	bool user;

	if (!c || c->size < offsetof(vmm_net_config, port) ||
	    (c->flags & ~(uint32_t)(VMM_NET_NO_OFFLOAD | VMM_NET_USER)))
		return vmm__err(VMM_EINVAL, "vmm_virtio_net_add: config is NULL, too small "
				"or has unknown flags");
	user = c->flags & VMM_NET_USER;
	if (!!c->tap + !!c->pair + user + !!config_port(c) != 1)
		return vmm__err(VMM_EINVAL, "vmm_virtio_net_add: give exactly one backend "
				"(tap, pair, port or VMM_NET_USER)");
	if ((c->nfwd && (!user || !c->fwd)) || (user && c->mtu && c->mtu != 1500) ||
	    (config_port(c) && c->mtu))
		return vmm__err(VMM_EINVAL, "vmm_virtio_net_add: forwarded ports need "
				"VMM_NET_USER and fwd; user-mode networking has MTU 1500, a "
				"switch port its switch's (mtu 0)");
	if (c->mtu && (c->mtu < MTU_MIN || c->mtu > MTU_MAX))
		return vmm__err(VMM_EINVAL, "vmm_virtio_net_add: mtu %u is outside %u..%u",
				c->mtu, MTU_MIN, MTU_MAX);
	if (c->mac[0] & 1)
		return vmm__err(VMM_EINVAL, "vmm_virtio_net_add: mac %02x:... is a "
				"multicast address", c->mac[0]);
	return 0;
}

static void fill_config(vmm__net *n, const vmm_net_config *c)
{
	static const uint8_t zero[6];
	uint16_t status = 1, pairs = 1, mtu = c->mtu ? c->mtu : 1500;

	if (config_port(c))
		mtu = (uint16_t)vmm__net_switch_mtu(config_port(c));

	if (memcmp(c->mac, zero, 6)) {
		memcpy(n->config, c->mac, 6);
	} else {
		unsigned k = atomic_fetch_add(&mac_count, 1) + ((unsigned)getpid() << 8);

		memcpy(n->config, (uint8_t[]){ 0x52, 0x54, 0x00, (uint8_t)(k >> 16),
					       (uint8_t)(k >> 8), (uint8_t)k }, 6);
	}
	memcpy(n->config + 6, &status, 2);          /* VIRTIO_NET_S_LINK_UP */
	memcpy(n->config + 8, &pairs, 2);
	memcpy(n->config + 10, &mtu, 2);
}

static int open_backend(vmm__net *n, const vmm_net_config *c)
{
	char name[16];

	if (c->pair)
		return vmm__net_pair_join(n, c->pair);
	if (config_port(c))
		return vmm__net_switch_attach(n, config_port(c));
	if (c->flags & VMM_NET_USER) {
		snprintf(name, sizeof(name), "vmm-slirp%u", atomic_fetch_add(&net_count, 1) % 1000);
		return vmm__net_slirp_open(n, c, name);
	}
	n->rxbuf = malloc(HDR + VMM__NET_MAX_FRAME);
	if (!n->rxbuf)
		return vmm__err(VMM_ENOMEM, "vmm_virtio_net_add: out of memory");
	return vmm__net_tap_open(n, c->tap);
}

static vmm__net *net_new(const vmm_net_config *c)
{
	vmm__net *n = calloc(1, sizeof(*n));

	if (!n || !(n->txbuf = malloc(HDR + VMM__NET_MAX_FRAME))) {
		free(n);
		return NULL;
	}
	n->tap_fd = -1;
	n->io.fd = -1;
	pthread_mutex_init(&n->rx_lock, NULL);
	pthread_mutex_init(&n->tx_lock, NULL);
	fill_config(n, c);
	n->ops = (vmm_virtio_ops){
		.version = VMM_VIRTIO_OPS_VERSION, .device_id = 1, .pci_class = 0x020000,
		.num_queues = 2, .queue_size = 256, .config_size = sizeof(n->config),
		.features = F_MAC | F_STATUS | F_MTU |
			    ((c->flags & VMM_NET_NO_OFFLOAD) ? 0 :
			     (c->flags & VMM_NET_USER) || config_port(c) ? F_CSUM :
			     F_CSUM | VMM__NET_F_GUEST_CSUM | F_GSO),   /* tap, pair */
		.queue_notify = net_notify, .config_read = net_config_read,
	};
	return n;
}

/* Device state (lib/virtio/state.c): the configuration the guest read.
 * The MAC is taken over (a generated one differs between VMs); status,
 * pairs and MTU must match. A frame a TAP delivered that waits for a
 * buffer is host-side and not saved (dropped, as a network may), nor are
 * the counters (the embedder's). Loaded with vCPUs stopped: nothing reads
 * the configuration meanwhile. */
static int net_state_save(void *opaque, vmm__sw *w)
{
	const vmm__net *n = opaque;

	vmm__sw_bytes(w, n->config, sizeof(n->config));
	return 0;
}

static int net_state_load(void *opaque, uint32_t version, vmm__sr *r)
{
	vmm__net *n = opaque;
	uint8_t config[sizeof(n->config)];

	(void)version;
	vmm__sr_bytes(r, "config", config, sizeof(config));
	vmm__sr_check(r, !(config[0] & 1), "mac", "a multicast address");
	vmm__sr_check(r, !memcmp(config + 6, n->config + 6, sizeof(config) - 6), "config",
		      "status, pairs or MTU differ from this VM's device");
	if (vmm__sr_apply(r))
		memcpy(n->config, config, 6);
	return 0;
}

static const vmm__vdev_state net_state = { "net", 1, net_state_save, net_state_load };

VMM_API int vmm_virtio_net_add(vmm_vm *vm, const vmm_net_config *c)
{
	vmm_virtio_dev *dev;
	char name[16];
	vmm__net *n;
	int rc;

	if (!vm)
		return vmm__err(VMM_EINVAL, "vmm_virtio_net_add: vm is NULL");
	if ((rc = check_config(c)))
		return rc;
	if (!(n = net_new(c)))
		return vmm__err(VMM_ENOMEM, "vmm_virtio_net_add: out of memory");
	rc = open_backend(n, c);
	snprintf(name, sizeof(name), "vmm-net%u", atomic_fetch_add(&net_count, 1) % 1000);
	if (rc == 0 && n->tap_fd >= 0)
		rc = vmm__iothread_start_fd(&n->io, name, vmm__net_tap_work, n, n->tap_fd);
	if (rc == 0)
		rc = vmm_virtio_add(vm, &n->ops, n, &dev);
	if (rc) {
		net_fini(n);
		return rc;
	}
	atomic_store(&n->dev, dev);
	vmm__virtio_set_fini(dev, net_fini);
	if (n->tap_fd >= 0)
		vmm__virtio_set_iothread(dev, &n->io);
	vmm__virtio_set_state(dev, &net_state);
	vmm__iothread_kick(&n->io);                  /* now it may deliver */
	return 0;
}

VMM_API int vmm_virtio_net_stats(vmm_vm *vm, uint32_t index, vmm_net_stats *st)
{
	vmm__net *found = NULL;
	uint32_t total = 0, at = 0;

	if (!vm || !st || st->size < sizeof(*st))
		return vmm__err(VMM_EINVAL, "vmm_virtio_net_stats: vm or stats is NULL, or "
				"stats.size is too small");
	for (vmm_virtio_dev *d = vm->platform ? vm->platform->virtio : NULL; d; d = d->next)
		total += d->ops->queue_notify == net_notify;
	for (vmm_virtio_dev *d = vm->platform ? vm->platform->virtio : NULL; d; d = d->next)
		if (d->ops->queue_notify == net_notify && total - 1 - at++ == index)
			found = d->opaque;          /* the list is newest first */
	if (!found)
		return vmm__err(VMM_ENOENT, "vmm_virtio_net_stats: the VM has %u network "
				"devices, no device %u", total, index);
	*st = (vmm_net_stats){
		.size = sizeof(*st),
		.tx_frames = found->tx_frames, .tx_bytes = found->tx_bytes,
		.tx_dropped = found->tx_dropped, .rx_frames = found->rx_frames,
		.rx_bytes = found->rx_bytes, .rx_dropped = found->rx_dropped,
		.rx_errors = found->rx_errors,
	};
	return 0;
}
