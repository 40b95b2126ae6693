/* parse.c - the IPv4 header and the TCP/UDP/ICMP header after it, as the
 * anti-spoofing and firewall policies read them (untagged frames). Every
 * length is checked against the next: a version other than 4, a header
 * length under 20 or past the frame, a total length under the header or
 * past the frame, a TCP data offset or UDP length outside the datagram
 * are "malformed". Trailing padding after the datagram is fine. */
#include "lib/net/net.h"

#define INLINE static inline __attribute__((always_inline))   /* one call per frame */

INLINE int l4(const uint8_t *h, size_t n, vmm__ip4 *ip)
{
	switch (ip->proto) {
	case 6:
		if (n < 20 || (size_t)(h[12] >> 4) * 4 < 20 || (size_t)(h[12] >> 4) * 4 > n)
			return -1;
		ip->sport = vmm__be16(h);
		ip->dport = vmm__be16(h + 2);
		ip->tcp_flags = h[13];
		break;
	case 17:
		if (n < 8 || vmm__be16(h + 4) < 8 || vmm__be16(h + 4) > n)
			return -1;
		ip->sport = vmm__be16(h);
		ip->dport = vmm__be16(h + 2);
		break;
	case 1:
		if (n < 8)
			return -1;
		ip->icmp_type = h[0];
		if (h[0] == 8 || h[0] == 0)      /* echo: the id on both sides */
			ip->sport = ip->dport = vmm__be16(h + 4);
		break;
	default:
		return 1;
	}
	ip->l4 = true;
	return 1;
}

/* The IPv4 header: 1, 0 or -1 as vmm__parse_ip4; *l4_at, *l4_len the
 * datagram's payload. */
INLINE int l3(const uint8_t *f, size_t len, vmm__ip4 *ip, const uint8_t **l4_at,
	      size_t *l4_len)
{
	const uint8_t *h = f + 14;
	size_t avail, ihl, total;

	if (len < 14 || vmm__be16(f + 12) != ETH_IPV4)
		return 0;
	*ip = (vmm__ip4){ 0 };
	avail = len - 14;
	if (avail < 20 || h[0] >> 4 != 4)
		return -1;
	ihl = (size_t)(h[0] & 15) * 4;
	total = vmm__be16(h + 2);
	if (ihl < 20 || ihl > avail || total < ihl || total > avail)
		return -1;
	ip->proto = h[9];
	ip->fragment = (vmm__be16(h + 6) & 0x1fff) != 0;
	ip->src = vmm__be32(h + 12);
	ip->dst = vmm__be32(h + 16);
	*l4_at = h + ihl;
	*l4_len = total - ihl;
	return 1;
}

int vmm__parse_ip4(const uint8_t *f, size_t len, bool want_l4, vmm__ip4 *ip)
{
	const uint8_t *at;
	size_t n;
	int r = l3(f, len, ip, &at, &n);

	if (r <= 0 || !want_l4 || ip->fragment)
		return r;
	return l4(at, n, ip);
}

void vmm__frame_parse(vmm__frame *fr)
{
	const uint8_t *at = NULL;
	size_t n = 0;

	fr->r3 = (int8_t)l3(fr->f.data, fr->f.len, &fr->ip, &at, &n);
	fr->r4 = fr->r3 <= 0 || fr->ip.fragment ? fr->r3 : (int8_t)l4(at, n, &fr->ip);
	fr->parsed = true;
	fr->hashed = false;
}
