/* policy_antispoof.c - IP and MAC anti-spoofing with ARP inspection (IN):
 * frames from the port must carry its configured MAC as source; IPv4 ones
 * one of its bound addresses (or 0.0.0.0, a DHCP client) as source; ARP
 * must be well-formed Ethernet/IPv4 ARP whose sender MAC is the port's
 * and whose sender address is bound (or 0.0.0.0, a probe). With no
 * address bound only the MACs are checked. Other protocols (IPv6) pass
 * the MAC check only: ND inspection is not done yet. */
#include <string.h>

#include "lib/net/net.h"

static bool bound(const vmm__policy *pol, uint32_t addr)
{
	if (!pol->p.nipv4 || !addr)
		return true;
	for (uint32_t i = 0; i < pol->p.nipv4; i++)
		if (pol->ipv4[i] == addr)
			return true;
	return false;
}

static int32_t arp(const vmm__sw_port *p, const vmm__policy *pol, const vmm_net_frame *f)
{
	const uint8_t *a = f->data + 14;

	if (f->len < 14 + 28 || vmm__be16(a) != 1 || vmm__be16(a + 2) != ETH_IPV4 || a[4] != 6 ||
	    a[5] != 4)
		return VMM__DROP_AS + VMM_NET_DROP_MALFORMED;
	if (memcmp(a + 8, p->mac, 6) || !bound(pol, vmm__be32(a + 14)))
		return VMM__DROP_AS + VMM_NET_DROP_ARP;
	return VMM_NET_PASS;
}

int32_t vmm__antispoof_in(void *opaque, vmm_net_port *port, vmm_net_frame *f)
{
	vmm__sw_port *p = opaque;
	const vmm__policy *pol = atomic_load(&p->policy);
	const vmm__ip4 *ip;
	int r;

	if (!(pol->p.flags & VMM_NET_ANTISPOOF))
		return VMM_NET_PASS;
	if (p->has_mac && memcmp(f->data + 6, p->mac, 6))
		return VMM__DROP_AS + VMM_NET_DROP_SPOOF;
	if (vmm__be16(f->data + 12) == ETH_ARP)
		return p->has_mac ? arp(p, pol, f) : VMM_NET_PASS;
	r = vmm__frame_ip4(vmm__frame_of(f), false, &ip);
	if (r < 0)
		return VMM__DROP_AS + VMM_NET_DROP_MALFORMED;
	if (r > 0 && !bound(pol, ip->src))
		return VMM__DROP_AS + VMM_NET_DROP_SPOOF;
	return VMM_NET_PASS;
}
