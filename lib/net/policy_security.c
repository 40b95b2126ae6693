/* policy_security.c - ESX's security policy as filters. Forged transmits
 * (IN): with reject, a frame whose source MAC is not the port's effective
 * MAC is dropped. MAC address changes (OUT): with reject, a port whose
 * effective MAC differs from its configured one receives nothing. The
 * third, promiscuous mode, is a forwarding matter (forward.c: which ports
 * a frame goes to). Ports without a MAC are not checked. */
#include "lib/net/net.h"

int32_t vmm__sec_in(void *opaque, vmm_net_port *port, vmm_net_frame *f)
{
	vmm__sw_port *p = opaque;
	uint32_t flags = atomic_load(&p->policy)->p.flags;

	if (!p->has_mac || (flags & VMM_NET_SEC_FORGED))
		return VMM_NET_PASS;
	if (vmm__mac_pack(f->data + 6) != atomic_load_explicit(&p->eff_mac, memory_order_relaxed))
		return VMM__DROP_AS + VMM_NET_DROP_FORGED;
	return VMM_NET_PASS;
}

int32_t vmm__sec_out(void *opaque, vmm_net_port *port, vmm_net_frame *f)
{
	vmm__sw_port *p = opaque;
	uint32_t flags = atomic_load(&p->policy)->p.flags;

	if (!p->has_mac || (flags & VMM_NET_SEC_MAC_CHANGES))
		return VMM_NET_PASS;
	if (atomic_load_explicit(&p->eff_mac, memory_order_relaxed) != vmm__mac_pack(p->mac))
		return VMM__DROP_AS + VMM_NET_DROP_MAC_CHANGE;
	return VMM_NET_PASS;
}
