/* vlan.c - 802.1Q: classifying a frame a port sent (its VLAN and
 * priority), membership, and the tag on the way out. An access port
 * sends untagged (or priority-tagged, VID 0) frames, which are in its
 * VLAN; a tagged one is dropped. A trunk port's untagged frames are in
 * its native VLAN (dropped without one), tagged ones must carry a VLAN it
 * allows. Inside the switch frames are untagged with the VLAN aside; a
 * trunk gets them tagged except on its native VLAN. VID 4095 and a tag
 * cut short are malformed. */
#include <string.h>

#include "lib/net/net.h"

int vmm__vlan_classify(const vmm__sw_port *p, const uint8_t *f, size_t len, vmm__l2 *l2)
{
	bool trunk = p->flags & VMM_NET_PORT_TRUNK;
	uint32_t vid = 0;

	if (len < 14)
		return VMM__DROP_AS + VMM_NET_DROP_RUNT;
	l2->pcp = 0;
	l2->tag_at = 0;
	if (vmm__be16(f + 12) == ETH_VLAN) {
		uint16_t tci;

		if (len < 18)
			return VMM__DROP_AS + VMM_NET_DROP_BAD_VLAN;
		tci = vmm__be16(f + 14);
		vid = tci & 0xfffu;
		if (vid == 0xfffu)
			return VMM__DROP_AS + VMM_NET_DROP_BAD_VLAN;
		l2->pcp = tci >> 13;
		l2->tag_at = 12;
	}
	if (!vid) {                            /* untagged or priority-tagged */
		if (!p->vlan)
			return VMM__DROP_AS + VMM_NET_DROP_VLAN;
		l2->vlan = p->vlan;
		return 0;
	}
	if (!trunk || !vmm__vlan_member(p, vid))
		return VMM__DROP_AS + VMM_NET_DROP_VLAN;
	l2->vlan = vid;
	return 0;
}

bool vmm__vlan_member(const vmm__sw_port *p, uint32_t vlan)
{
	if (vlan == p->vlan)
		return vlan != 0;
	return (p->flags & VMM_NET_PORT_TRUNK) && vlan < 4095 &&
	       (p->trunk[vlan >> 3] >> (vlan & 7) & 1);
}

bool vmm__vlan_tagged(const vmm__sw_port *p, uint32_t vlan)
{
	return (p->flags & VMM_NET_PORT_TRUNK) && vlan != p->vlan;
}

void vmm__vlan_push(uint8_t **frame, size_t *len, uint32_t vlan, uint32_t pcp)
{
	uint8_t *f = *frame - 4;
	uint16_t tci = (uint16_t)(pcp << 13 | vlan);

	memmove(f, *frame, 12);
	f[12] = ETH_VLAN >> 8;
	f[13] = ETH_VLAN & 0xff;
	f[14] = (uint8_t)(tci >> 8);
	f[15] = (uint8_t)tci;
	*frame = f;
	*len += 4;
}

int vmm__vlan_trunk_set(vmm__sw_port *p, const uint16_t *vlans, uint32_t n)
{
	if (n && !vlans)
		return vmm__err(VMM_EINVAL, "vmm_net_port_create: ntrunk is %u but trunk_vlans "
				"is NULL", n);
	memset(p->trunk, 0, sizeof(p->trunk));
	for (uint32_t i = 0; i < n; i++) {
		if (vlans[i] < 1 || vlans[i] > 4094)
			return vmm__err(VMM_EINVAL, "vmm_net_port_create: trunk VLAN %u is outside "
					"1..4094", vlans[i]);
		p->trunk[vlans[i] >> 3] |= (uint8_t)(1u << (vlans[i] & 7));
	}
	return 0;
}
