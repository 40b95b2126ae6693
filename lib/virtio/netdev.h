/* netdev.h - virtio-net's device and its backends (lib/virtio/net*.c):
 * the device (net.c) hands each transmitted frame, with its 12-byte
 * virtio_net_hdr, to its backend; a backend hands received frames to
 * vmm__net_receive. Backends: an in-process pair (net_pair.c), a TAP
 * interface (net_tap.c), libslirp's user-mode NAT (net_slirp.c) and a
 * port of a virtual switch (net_switch.c, lib/net/). */
#ifndef VMM_NETDEV_H
#define VMM_NETDEV_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/internal.h"
#include "lib/virtio/iothread.h"

#define VMM__NET_HDR 12u             /* virtio_net_hdr of VERSION_1 */
#define VMM__NET_MAX_FRAME 65536u    /* Ethernet frame after the header */
#define VMM__NET_MIN_FRAME 14u       /* an Ethernet header */
#define VMM__NET_HDR_F_NEEDS_CSUM 1u
#define VMM__NET_F_GUEST_CSUM (1ull << 1)
#define VMM__NET_F_GUEST_TSO4 (1ull << 7)
#define VMM__NET_F_GUEST_TSO6 (1ull << 8)
#define VMM__NET_F_GUEST_ECN (1ull << 9)
#define VMM__NET_F_HOST_TSO4 (1ull << 11)
#define VMM__NET_F_HOST_TSO6 (1ull << 12)
#define VMM__NET_F_HOST_ECN (1ull << 13)
#define VMM__NET_GSO_TCPV4 1u
#define VMM__NET_GSO_TCPV6 4u

typedef struct vmm__net_pair vmm__net_pair;
typedef struct vmm__net_slirp vmm__net_slirp;

typedef struct vmm__net {
	_Atomic(vmm_virtio_dev *) dev;     /* set once added */
	vmm_virtio_ops ops;
	pthread_mutex_t rx_lock, tx_lock;  /* one user per queue at a time */
	uint8_t config[12];                /* mac, status, max pairs, mtu */
	uint8_t *txbuf;                    /* header + frame, under tx_lock */
	/* pair backend */
	vmm__net_pair *pair;
	int side;
	/* user-mode backend */
	vmm__net_slirp *slirp;
	/* switch backend */
	vmm_net_port *swport;
	/* TAP backend: rx on the I/O thread */
	int tap_fd;
	unsigned tap_offload;              /* TUN_F_* set on the fd */
	vmm__iothread io;
	uint8_t *rxbuf;                    /* a frame read from the tap */
	size_t rx_pending;                 /* its length; waits for a buffer */
	atomic_uint_fast64_t tx_frames, tx_bytes, tx_dropped;
	atomic_uint_fast64_t rx_frames, rx_bytes, rx_dropped, rx_errors;
} vmm__net;

/* Delivers pkt (header + frame; pkt may be modified) to the guest:
 * 1 delivered, 0 no buffer (counted as dropped unless keep), -1 bad frame
 * or buffer too small (counted). Takes n->rx_lock. */
int vmm__net_receive(vmm__net *n, uint8_t *pkt, size_t len, bool keep);

/* net_gso.c: cuts the TSO frame pkt (header + frame, len bytes) into its
 * segments, each built in seg (VMM__NET_HDR + VMM__NET_MAX_FRAME bytes)
 * and handed to emit; returns the lowest of emit's results (1, 0, -1), or
 * -2 for a frame that is not TCP over IPv4/IPv6 of its header's kind (or
 * would make more than 1024 segments). */
int vmm__net_gso_segment(const uint8_t *pkt, size_t len, uint8_t *seg,
			 int (*emit)(void *opaque, uint8_t *seg, size_t len), void *opaque);

/* net_pair.c */
int vmm__net_pair_join(vmm__net *n, const char *name);
void vmm__net_pair_leave(vmm__net *n);
int vmm__net_pair_send(vmm__net *n, uint8_t *pkt, size_t len);

/* net_tap.c */
int vmm__net_tap_open(vmm__net *n, const char *name);
int vmm__net_tap_send(vmm__net *n, const uint8_t *pkt, size_t len);
void vmm__net_tap_work(void *opaque);   /* the I/O thread's work */

/* net_slirp.c */
int vmm__net_slirp_open(vmm__net *n, const vmm_net_config *c, const char *thread_name);
int vmm__net_slirp_send(vmm__net *n, const uint8_t *pkt, size_t len);
void vmm__net_slirp_close(vmm__net *n);   /* joins its thread; no-op if none */

/* net_switch.c */
int vmm__net_switch_attach(vmm__net *n, vmm_net_port *port);
int vmm__net_switch_send(vmm__net *n, uint8_t *pkt, size_t len);
void vmm__net_switch_detach(vmm__net *n);   /* no-op if not attached */
uint32_t vmm__net_switch_mtu(vmm_net_port *port);

#endif /* VMM_NETDEV_H */
