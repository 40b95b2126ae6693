/* net_gso.c - TCP segmentation in software for virtio-net's receive path:
 * a TSO frame (VIRTIO_NET_HDR_GSO_TCPV4 or TCPV6, maybe with ECN) that a
 * guest sent over the in-process pair reaches a peer that did not
 * negotiate the matching GUEST_TSO feature cut into gso_size segments,
 * each with its own IP length (IPv4: id and header checksum too), sequence
 * number and flags (FIN and PSH only on the last, CWR only on the first),
 * and a partial TCP checksum (NEEDS_CSUM with the pseudo-header sum in
 * place, which the receive path completes for a peer without GUEST_CSUM).
 * The frame is the sender guest's: anything that does not parse as
 * Ethernet (one VLAN tag at most), IPv4 or IPv6 without extension headers,
 * and TCP is refused. */
#include <string.h>

#include "lib/virtio/netdev.h"

#define MAX_SEGS 1024u               /* of one frame: tiny gso_size is refused */

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += be16(p + i);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Where the frame's layers start; 0 if it is not a TCP frame of kind gso. */
static int parse(const uint8_t *f, size_t len, unsigned gso, size_t *l3, size_t *l4,
		 size_t *payload)
{
	uint16_t type;

	if (len < 14)
		return 0;
	*l3 = 14;
	type = be16(f + 12);
	if (type == 0x8100 && len >= 18) {
		type = be16(f + 16);
		*l3 = 18;
	}
	if (gso == VMM__NET_GSO_TCPV4) {
		size_t ihl = len > *l3 ? (f[*l3] & 15u) * 4u : 0;

		if (type != 0x0800 || len < *l3 + 20 || f[*l3] >> 4 != 4 || ihl < 20 ||
		    len < *l3 + ihl || f[*l3 + 9] != 6)
			return 0;
		*l4 = *l3 + ihl;
	} else {
		if (type != 0x86dd || len < *l3 + 40 || f[*l3] >> 4 != 6 || f[*l3 + 6] != 6)
			return 0;
		*l4 = *l3 + 40;
	}
	if (len < *l4 + 20 || (f[*l4 + 12] >> 4) < 5 || len < *l4 + (f[*l4 + 12] >> 4) * 4u)
		return 0;
	*payload = *l4 + (f[*l4 + 12] >> 4) * 4u;
	return 1;
}

/* The headers of segment i (of n) with chunk bytes of payload, in place. */
static void fix_headers(uint8_t *f, unsigned gso, size_t l3, size_t l4, size_t p,
			uint32_t i, uint32_t n, uint32_t mss, size_t chunk)
{
	uint16_t tcp_len = (uint16_t)(p - l4 + chunk);
	uint32_t seq = ((uint32_t)be16(f + l4 + 4) << 16 | be16(f + l4 + 6)) + i * mss;
	uint32_t sum;

	if (gso == VMM__NET_GSO_TCPV4) {
		put_be16(f + l3 + 2, (uint16_t)(l4 - l3 + tcp_len));
		put_be16(f + l3 + 4, (uint16_t)(be16(f + l3 + 4) + i));
		put_be16(f + l3 + 10, 0);
		put_be16(f + l3 + 10, (uint16_t)~fold(sum16(f + l3, l4 - l3, 0)));
		sum = sum16(f + l3 + 12, 8, 6u + tcp_len);
	} else {
		put_be16(f + l3 + 4, tcp_len);
		sum = sum16(f + l3 + 8, 32, 6u + tcp_len);
	}
	put_be16(f + l4 + 4, (uint16_t)(seq >> 16));
	put_be16(f + l4 + 6, (uint16_t)seq);
	if (i + 1 < n)
		f[l4 + 13] &= (uint8_t)~0x09;    /* FIN, PSH: the last segment's */
	if (i > 0)
		f[l4 + 13] &= (uint8_t)~0x80;    /* CWR: the first's */
	put_be16(f + l4 + 16, fold(sum));        /* the pseudo-header, to be completed */
}

int vmm__net_gso_segment(const uint8_t *pkt, size_t len, uint8_t *seg,
			 int (*emit)(void *opaque, uint8_t *seg, size_t len), void *opaque)
{
	const uint8_t *f = pkt + VMM__NET_HDR;
	unsigned gso = pkt[1] & 0x7fu;
	uint32_t mss = (uint32_t)(pkt[4] | pkt[5] << 8), n;
	size_t flen = len - VMM__NET_HDR, l3, l4, p, total;
	int worst = 1;

	if (len < VMM__NET_HDR || (gso != VMM__NET_GSO_TCPV4 && gso != VMM__NET_GSO_TCPV6) ||
	    !mss || !parse(f, flen, gso, &l3, &l4, &p))
		return -2;
	total = flen - p;
	n = total ? (uint32_t)((total + mss - 1) / mss) : 1;
	if (n > MAX_SEGS)
		return -2;
	for (uint32_t i = 0; i < n; i++) {
		size_t off = (size_t)i * mss, chunk = total - off < mss ? total - off : mss;
		int rc;

		memset(seg, 0, VMM__NET_HDR);
		seg[0] = VMM__NET_HDR_F_NEEDS_CSUM;
		seg[6] = (uint8_t)l4, seg[7] = (uint8_t)(l4 >> 8);   /* csum_start */
		seg[8] = 16;                                          /* csum_offset */
		memcpy(seg + VMM__NET_HDR, f, p);
		memcpy(seg + VMM__NET_HDR + p, f + p + off, chunk);
		fix_headers(seg + VMM__NET_HDR, gso, l3, l4, p, i, n, mss, chunk);
		rc = emit(opaque, seg, VMM__NET_HDR + p + chunk);
		if (rc < worst)
			worst = rc;
	}
	return worst;
}
