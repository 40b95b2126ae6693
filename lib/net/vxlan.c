/* vxlan.c - the uplink port: the switch's VLANs over VXLAN (RFC 7348) to
 * other hosts, interoperable with Linux's vxlan device. One UDP socket
 * (bound to the local address and port 4789 unless told otherwise) both
 * ways. A frame the switch hands to the uplink arrives tagged (the uplink
 * is a trunk of the mapped VLANs); its tag becomes the VNI and it leaves
 * in one sendmmsg: to the VTEP its destination MAC was learned behind, or
 * to every VTEP of the flood list carrying the VNI. The port's thread
 * ("vmm-swvxN") reads datagrams in batches (recvmmsg), checks them
 * (vxlan_parse.c), learns the inner source MAC with the VTEP it came from
 * and hands the frame, tagged with the VNI's VLAN, to the switch.
 * The map, the flood list and the VTEP table are read on the data path
 * without a lock: the first two are replaced whole under the switch's
 * control lock and freed after a grace period, the third is a MAC table
 * (fdb.c) whose values are IPv4 addresses. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/net/net.h"
#include "lib/net/vxlan.h"

#define TX_BATCH 32
#define MAX_REMOTES 4096u

typedef struct vx_remote {
	uint32_t addr;                     /* network order */
	uint32_t vni;                      /* 0: every VNI */
} vx_remote;
typedef struct vx_remotes {
	uint32_t n;
	vx_remote r[];
} vx_remotes;

struct vmm__vxlan {
	int fd;
	uint32_t flags;
	uint16_t port;                     /* host order */
	_Atomic(vmm__vx_map *) map;
	_Atomic(vx_remotes *) remotes;
	struct vmm__fdb *vteps;            /* (MAC, VLAN) -> VTEP address */
	vmm__iothread io;
	uint32_t batch;
	size_t slot;                       /* bytes per receive buffer */
	uint8_t *rx;
	struct mmsghdr *msgs;
	struct iovec *iov;
	struct sockaddr_in *from;
	atomic_uint_fast64_t tx_datagrams, tx_bytes, tx_flooded, tx_errors, tx_no_vni;
	atomic_uint_fast64_t rx_datagrams, rx_bytes, rx_short, rx_flags, rx_unknown_vni;
	atomic_uint_fast64_t rx_inner_tagged, rx_oversize, rx_unknown_remote, learned;
};

static atomic_uint vx_count;

#define ADD(x, n) atomic_fetch_add_explicit(&(x), (n), memory_order_relaxed)

static int parse_addr(const char *fn, const char *s, uint32_t *addr)
{
	struct in_addr a;

	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return vmm__err(VMM_EINVAL, "%s: '%.64s' is not an IPv4 address", fn,
				s ? s : "(null)");
	*addr = a.s_addr;
	return 0;
}

/* The uplink's trunk bitmap follows the map (under ctl; the data path
 * reads the bytes without a lock, and a frame racing the change is
 * dropped by the map check in deliver). */
static void trunk_follow(vmm__sw_port *p, const vmm__vx_map *m)
{
	for (uint32_t i = 0; i < sizeof(p->trunk); i++) {
		uint8_t b = 0;

		for (uint32_t j = 0; j < 8; j++)
			if (i * 8 + j < 4096 && m->vni_of[i * 8 + j])
				b |= (uint8_t)(1u << j);
		__atomic_store_n(&p->trunk[i], b, __ATOMIC_RELAXED);
	}
}

/* ---- transmit (the sender's thread) ---- */

static void send_batch(struct vmm__vxlan *vx, struct mmsghdr *m, uint32_t n, size_t bytes)
{
	uint32_t done = 0;

	while (done < n) {
		int r = sendmmsg(vx->fd, m + done, n - done, MSG_DONTWAIT);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {              /* this one is refused: the rest may go */
			ADD(vx->tx_errors, 1);
			done++;
			continue;
		}
		done += (uint32_t)r;
		ADD(vx->tx_datagrams, (uint32_t)r);
		ADD(vx->tx_bytes, (uint32_t)r * bytes);
	}
}

static int vx_deliver(void *opaque, vmm__sw_port *p, uint8_t *frame, size_t len)
{
	struct vmm__vxlan *vx = p->vx;
	vmm__vx_map *m = atomic_load(&vx->map);
	uint8_t hdr[VX_HDR];
	struct iovec iov[3];
	struct sockaddr_in to[TX_BATCH];
	struct mmsghdr msg[TX_BATCH];
	uint32_t vlan, vni, addr = 0, n = 0;
	vx_remotes *rs;

	if (len < 18 || vmm__be16(frame + 12) != ETH_VLAN)
		return -1;                     /* not from the switch: it always tags */
	vlan = vmm__be16(frame + 14) & 0xfffu;
	if (!(vni = m->vni_of[vlan])) {
		ADD(vx->tx_no_vni, 1);
		return -1;
	}
	vmm__vx_header(hdr, vni);
	iov[0] = (struct iovec){ hdr, VX_HDR };
	iov[1] = (struct iovec){ frame, 12 };
	iov[2] = (struct iovec){ frame + 16, len - 16 };
	if (!(frame[0] & 1) && !(vx->flags & VMM_NET_UPLINK_NO_LEARN))
		addr = vmm__fdb_lookup(vx->vteps, vmm__mac_pack(frame), vlan, vmm__sw_now(p->sw),
				       p->sw->ageing_ns);
	rs = addr ? NULL : atomic_load(&vx->remotes);
	if (rs)
		ADD(vx->tx_flooded, 1);
	for (uint32_t i = 0; addr ? i < 1 : i < rs->n; i++) {
		if (!addr && rs->r[i].vni && rs->r[i].vni != vni)
			continue;
		to[n] = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(vx->port),
					      .sin_addr.s_addr = addr ? addr : rs->r[i].addr };
		msg[n] = (struct mmsghdr){ .msg_hdr = { .msg_name = &to[n], .msg_namelen = sizeof(to[n]),
							.msg_iov = iov, .msg_iovlen = 3 } };
		if (++n == TX_BATCH) {
			send_batch(vx, msg, n, VX_HDR + len - 4);
			n = 0;
		}
	}
	if (n)
		send_batch(vx, msg, n, VX_HDR + len - 4);
	return 0;
}

/* ---- receive (the uplink's thread) ---- */

static bool known(const vx_remotes *rs, uint32_t addr)
{
	for (uint32_t i = 0; i < rs->n; i++)
		if (rs->r[i].addr == addr)
			return true;
	return false;
}

static void count_bad(struct vmm__vxlan *vx, int why)
{
	switch (why) {
	case VX_SHORT:
		ADD(vx->rx_short, 1);
		break;
	case VX_FLAGS:
		ADD(vx->rx_flags, 1);
		break;
	case VX_UNKNOWN_VNI:
		ADD(vx->rx_unknown_vni, 1);
		break;
	default:
		ADD(vx->rx_inner_tagged, 1);
	}
}

/* One datagram; the map and flood list are read under the switch's rcu. */
static void rx_one(vmm__sw_port *p, uint8_t *buf, size_t len, const struct mmsghdr *mh,
		   const struct sockaddr_in *from)
{
	struct vmm__vxlan *vx = p->vx;
	vmm_switch *sw = p->sw;
	vmm__rcu_token tok = vmm__rcu_enter(&sw->rcu);
	uint8_t *frame;
	size_t flen;
	uint32_t vlan;
	int why;

	ADD(vx->rx_datagrams, 1);
	ADD(vx->rx_bytes, len);
	if ((mh->msg_hdr.msg_flags & MSG_TRUNC) || mh->msg_hdr.msg_namelen != sizeof(*from)) {
		ADD(vx->rx_oversize, 1);
	} else if ((vx->flags & VMM_NET_UPLINK_KNOWN_ONLY) &&
		   !known(atomic_load(&vx->remotes), from->sin_addr.s_addr)) {
		ADD(vx->rx_unknown_remote, 1);
	} else if ((why = vmm__vx_decap(atomic_load(&vx->map), buf, len, &frame, &flen, &vlan))) {
		count_bad(vx, why);
	} else {
		if (!(vx->flags & VMM_NET_UPLINK_NO_LEARN) && !(frame[6] & 1) &&
		    vmm__fdb_learn(vx->vteps, vmm__mac_pack(frame + 6), vlan, from->sin_addr.s_addr,
				   vmm__sw_now(sw), sw->ageing_ns) > 0)
			ADD(vx->learned, 1);
		vmm__rcu_exit(&sw->rcu, tok);
		vmm__fwd_input(p, frame, flen);
		return;
	}
	vmm__rcu_exit(&sw->rcu, tok);
}

static void vx_work(void *opaque)
{
	vmm__sw_port *p = opaque;
	struct vmm__vxlan *vx = p->vx;

	for (int round = 0; round < 8; round++) {
		int got;

		for (uint32_t i = 0; i < vx->batch; i++) {
			vx->iov[i] = (struct iovec){ vx->rx + i * vx->slot, vx->slot };
			vx->msgs[i].msg_hdr = (struct msghdr){
				.msg_name = &vx->from[i], .msg_namelen = sizeof(vx->from[i]),
				.msg_iov = &vx->iov[i], .msg_iovlen = 1 };
		}
		got = recvmmsg(vx->fd, vx->msgs, vx->batch, MSG_DONTWAIT, NULL);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return;                /* EAGAIN: poll again */
		for (int i = 0; i < got; i++)
			rx_one(p, vx->iov[i].iov_base, vx->msgs[i].msg_len, &vx->msgs[i], &vx->from[i]);
	}
}

/* ---- the port's life ---- */

static int vx_socket(const char *fn, struct vmm__vxlan *vx, uint32_t local)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(vx->port),
				  .sin_addr.s_addr = local };
	int no_df = IP_PMTUDISC_DONT, rcvbuf = 4 << 20, err;

	vx->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (vx->fd < 0)
		return vmm__err(VMM_EIO, "%s: socket: %s", fn, strerror(errno));
	/* Like Linux's vxlan: the underlay may fragment what its MTU cannot carry. */
	setsockopt(vx->fd, IPPROTO_IP, IP_MTU_DISCOVER, &no_df, sizeof(no_df));
	setsockopt(vx->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(vx->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		err = errno;
		return vmm__err(err == EADDRINUSE ? VMM_EBUSY : VMM_EIO, "%s: cannot bind UDP "
				"%s:%u: %s", fn, inet_ntoa(sa.sin_addr), vx->port, strerror(err));
	}
	return 0;
}

static int vx_buffers(struct vmm__vxlan *vx, uint32_t mtu)
{
	vx->slot = VX_HDR + 18 + mtu;
	vx->batch = mtu > 9000 ? 4 : 32;
	vx->rx = malloc(vx->slot * vx->batch);
	vx->msgs = calloc(vx->batch, sizeof(*vx->msgs));
	vx->iov = calloc(vx->batch, sizeof(*vx->iov));
	vx->from = calloc(vx->batch, sizeof(*vx->from));
	return vx->rx && vx->msgs && vx->iov && vx->from ? 0 : -1;
}

static int remotes_from(const char *fn, const vmm_net_uplink_config *u, vx_remotes **out)
{
	vx_remotes *rs;
	int rc;

	if (u->nremotes > MAX_REMOTES || (u->nremotes && !u->remotes))
		return vmm__err(VMM_EINVAL, "%s: %u remotes (at most %u), or remotes is NULL", fn,
				u->nremotes, MAX_REMOTES);
	if (!(rs = calloc(1, sizeof(*rs) + u->nremotes * sizeof(rs->r[0]))))
		return vmm__err(VMM_ENOMEM, "%s: out of memory", fn);
	for (uint32_t i = 0; i < u->nremotes; i++)
		if ((rc = parse_addr(fn, u->remotes[i], &rs->r[rs->n].addr))) {
			free(rs);
			return rc;
		} else if (!known(rs, rs->r[rs->n].addr)) {
			rs->n++;
		}
	*out = rs;
	return 0;
}

/* Before the port is on the switch: the socket, the map, the flood list. */
int vmm__vx_open(vmm__sw_port *p, const vmm_net_uplink_config *u)
{
	static const char fn[] = "vmm_net_port_create";
	struct vmm__vxlan *vx;
	vmm__vx_map *m;
	vx_remotes *rs = NULL;
	uint32_t local = INADDR_ANY;
	int rc;

	if (!u || u->size < sizeof(*u) || (u->flags & ~3u) || u->udp_port > 65535)
		return vmm__err(VMM_EINVAL, "%s: an uplink needs config.uplink (its size at "
				"least %zu, flags known, udp_port under 65536)", fn, sizeof(*u));
	if ((u->local && (rc = parse_addr(fn, u->local, &local))) ||
	    (rc = remotes_from(fn, u, &rs)))
		return rc;
	if ((rc = vmm__vx_map_build(fn, u->vnis, u->nvnis, &m))) {
		free(rs);
		return rc;
	}
	if (!(vx = p->vx = calloc(1, sizeof(*vx)))) {
		free(rs);
		free(m);
		return vmm__err(VMM_ENOMEM, "%s: out of memory", fn);
	}
	vx->fd = -1;
	vx->flags = u->flags;
	vx->port = (uint16_t)(u->udp_port ? u->udp_port : VX_PORT);
	atomic_init(&vx->map, m);
	atomic_init(&vx->remotes, rs);
	p->flags |= VMM_NET_PORT_TRUNK;
	p->vlan = 0;
	trunk_follow(p, m);
	if (!(vx->vteps = vmm__fdb_new(4096)) || vx_buffers(vx, p->sw->mtu))
		return vmm__err(VMM_ENOMEM, "%s: out of memory", fn);
	return vx_socket(fn, vx, local);
}

/* On the switch: one uplink per switch, the endpoint, the thread. */
int vmm__vx_start(vmm__sw_port *p)
{
	vmm_switch *sw = p->sw;
	char name[16];
	int rc;

	pthread_mutex_lock(&sw->ctl);
	if (sw->uplink && sw->uplink != p) {
		pthread_mutex_unlock(&sw->ctl);
		return vmm__err(VMM_EBUSY, "vmm_net_port_create: the switch has an uplink "
				"already ('%s')", sw->uplink->name);
	}
	sw->uplink = p;
	pthread_mutex_unlock(&sw->ctl);
	if ((rc = vmm__port_set_endpoint(p, &(vmm__endpoint){ vx_deliver, NULL })))
		return rc;
	snprintf(name, sizeof(name), "vmm-swvx%u", atomic_fetch_add(&vx_count, 1) % 1000);
	return vmm__iothread_start_fd(&p->vx->io, name, vx_work, p, p->vx->fd);
}

/* Stops the thread (destroy, or the last reference); idempotent. */
void vmm__vx_stop(vmm__sw_port *p)
{
	if (p->vx)
		vmm__iothread_stop(&p->vx->io);
}

void vmm__vx_free(vmm__sw_port *p)
{
	struct vmm__vxlan *vx = p->vx;

	if (!vx)
		return;
	vmm__iothread_stop(&vx->io);
	if (vx->fd >= 0)
		close(vx->fd);
	vmm__fdb_free(vx->vteps);
	free(atomic_load(&vx->map));
	free(atomic_load(&vx->remotes));
	free(vx->rx);
	free(vx->msgs);
	free(vx->iov);
	free(vx->from);
	free(vx);
	p->vx = NULL;
}

uint32_t vmm__vx_udp_port(const vmm__sw_port *p)
{
	return p->vx ? p->vx->port : 0;
}

/* ---- control ---- */

static int uplink_of(const char *fn, vmm_net_port *p)
{
	if (!p || p->kind != VMM_NET_PORT_UPLINK || !p->vx)
		return vmm__err(VMM_EINVAL, "%s: port is NULL or not an uplink", fn);
	return 0;
}

/* Under ctl: swaps the flood list, frees the old one after a grace period. */
static void remotes_swap(vmm__sw_port *p, vx_remotes *rs)
{
	vx_remotes *old = atomic_exchange(&p->vx->remotes, rs);

	vmm__rcu_sync(&p->sw->rcu);
	free(old);
}

VMM_API int vmm_net_uplink_add_remote(vmm_net_port *p, const char *addr, uint32_t vni)
{
	static const char fn[] = "vmm_net_uplink_add_remote";
	vx_remotes *old, *rs;
	uint32_t a = 0;
	int rc;

	if ((rc = uplink_of(fn, p)) || (rc = parse_addr(fn, addr, &a)))
		return rc;
	if (vni > VX_VNI_MAX || a == INADDR_ANY || (ntohl(a) >> 28) == 14)
		return vmm__err(VMM_EINVAL, "%s: VNI %u is over %u, or %s is not a unicast "
				"address", fn, vni, VX_VNI_MAX, addr);
	pthread_mutex_lock(&p->sw->ctl);
	old = atomic_load(&p->vx->remotes);
	for (uint32_t i = 0; i < old->n; i++)
		if (old->r[i].addr == a && old->r[i].vni == vni) {
			pthread_mutex_unlock(&p->sw->ctl);
			return 0;
		}
	if (old->n >= MAX_REMOTES ||
	    !(rs = malloc(sizeof(*rs) + (old->n + 1) * sizeof(rs->r[0])))) {
		pthread_mutex_unlock(&p->sw->ctl);
		return vmm__err(VMM_ENOMEM, "%s: the flood list is full (%u) or out of memory",
				fn, MAX_REMOTES);
	}
	memcpy(rs, old, sizeof(*rs) + old->n * sizeof(rs->r[0]));
	rs->r[rs->n++] = (vx_remote){ a, vni };
	remotes_swap(p, rs);
	pthread_mutex_unlock(&p->sw->ctl);
	return 0;
}

VMM_API int vmm_net_uplink_remove_remote(vmm_net_port *p, const char *addr, uint32_t vni)
{
	static const char fn[] = "vmm_net_uplink_remove_remote";
	vx_remotes *old, *rs;
	uint32_t a = 0;
	bool found = false, still = false;
	int rc;

	if ((rc = uplink_of(fn, p)) || (rc = parse_addr(fn, addr, &a)))
		return rc;
	pthread_mutex_lock(&p->sw->ctl);
	old = atomic_load(&p->vx->remotes);
	if (!(rs = malloc(sizeof(*rs) + old->n * sizeof(rs->r[0])))) {
		pthread_mutex_unlock(&p->sw->ctl);
		return vmm__err(VMM_ENOMEM, "%s: out of memory", fn);
	}
	rs->n = 0;
	for (uint32_t i = 0; i < old->n; i++) {
		if (old->r[i].addr == a && old->r[i].vni == vni) {
			found = true;
			continue;
		}
		still |= old->r[i].addr == a;
		rs->r[rs->n++] = old->r[i];
	}
	if (!found) {
		pthread_mutex_unlock(&p->sw->ctl);
		free(rs);
		return vmm__err(VMM_ENOENT, "%s: %s is not in the flood list for VNI %u", fn,
				addr, vni);
	}
	remotes_swap(p, rs);
	if (!still)
		vmm__fdb_forget(p->vx->vteps, a);
	pthread_mutex_unlock(&p->sw->ctl);
	return 0;
}

VMM_API int vmm_net_uplink_set_vnis(vmm_net_port *p, const vmm_net_vni *vnis, uint32_t n)
{
	static const char fn[] = "vmm_net_uplink_set_vnis";
	vmm__vx_map *m, *old;
	int rc;

	if ((rc = uplink_of(fn, p)))
		return rc;
	if ((rc = vmm__vx_map_build(fn, vnis, n, &m)))
		return rc;
	pthread_mutex_lock(&p->sw->ctl);
	old = atomic_exchange(&p->vx->map, m);
	trunk_follow(p, m);
	vmm__rcu_sync(&p->sw->rcu);
	pthread_mutex_unlock(&p->sw->ctl);
	free(old);
	return 0;
}

VMM_API int vmm_net_uplink_stats_get(vmm_net_port *p, vmm_net_uplink_stats *st)
{
	static const char fn[] = "vmm_net_uplink_stats_get";
	struct vmm__vxlan *vx;
	int rc;

	if ((rc = uplink_of(fn, p)))
		return rc;
	if (!st || st->size < sizeof(*st))
		return vmm__err(VMM_EINVAL, "%s: stats is NULL or stats.size is too small", fn);
	vx = p->vx;
	pthread_mutex_lock(&p->sw->ctl);
	*st = (vmm_net_uplink_stats){
		.size = sizeof(*st), .remotes = atomic_load(&vx->remotes)->n,
		.vnis = atomic_load(&vx->map)->n,
		.tx_datagrams = vx->tx_datagrams, .tx_bytes = vx->tx_bytes,
		.tx_flooded = vx->tx_flooded, .tx_errors = vx->tx_errors,
		.tx_no_vni = vx->tx_no_vni, .rx_datagrams = vx->rx_datagrams,
		.rx_bytes = vx->rx_bytes, .rx_short = vx->rx_short, .rx_flags = vx->rx_flags,
		.rx_unknown_vni = vx->rx_unknown_vni, .rx_inner_tagged = vx->rx_inner_tagged,
		.rx_oversize = vx->rx_oversize, .rx_unknown_remote = vx->rx_unknown_remote,
		.learned = vx->learned,
	};
	pthread_mutex_unlock(&p->sw->ctl);
	return 0;
}
