/* net_switch.c - virtio-net's backend on a virtual switch port (lib/net/):
 * the embedder creates a port of kind VMM_NET_PORT_VIRTIO and names it in
 * vmm_net_config.port; the device becomes the port's endpoint and holds a
 * reference to it until the VM is destroyed. Transmitted frames (checksum
 * completed by net.c) enter the switch on the vCPU thread; frames for the
 * port arrive on the sending thread, get a zero virtio_net_hdr in the
 * headroom the switch leaves in front of every frame, and go into the next
 * receive buffer (dropped, and counted by the switch as "endpoint", when
 * the guest has none). */
#include <string.h>

#include "lib/net/net.h"
#include "lib/virtio/netdev.h"

static int to_guest(void *opaque, vmm__sw_port *p, uint8_t *frame, size_t len)
{
	uint8_t *pkt = frame - VMM__NET_HDR;

	memset(pkt, 0, VMM__NET_HDR);
	return vmm__net_receive(opaque, pkt, len + VMM__NET_HDR, false) == 1 ? 0 : -1;
}

int vmm__net_switch_attach(vmm__net *n, vmm_net_port *port)
{
	int rc;

	if (port->kind != VMM_NET_PORT_VIRTIO)
		return vmm__err(VMM_EINVAL, "vmm_virtio_net_add: port '%s' is not of kind "
				"VMM_NET_PORT_VIRTIO", port->name);
	if (!atomic_load(&port->live))
		return vmm__err(VMM_ESTATE, "vmm_virtio_net_add: port '%s' was destroyed",
				port->name);
	if ((rc = vmm__port_set_endpoint(port, &(vmm__endpoint){ to_guest, n })))
		return rc;
	atomic_fetch_add(&port->refs, 1);
	n->swport = port;
	return 0;
}

int vmm__net_switch_send(vmm__net *n, uint8_t *pkt, size_t len)
{
	vmm__fwd_input(n->swport, pkt + VMM__NET_HDR, len - VMM__NET_HDR);
	return 0;
}

void vmm__net_switch_detach(vmm__net *n)
{
	if (!n->swport)
		return;
	vmm__port_set_endpoint(n->swport, NULL);   /* waits out deliveries to n */
	vmm__port_unref(n->swport);
	n->swport = NULL;
}

uint32_t vmm__net_switch_mtu(vmm_net_port *port)
{
	return port->sw->mtu;
}
