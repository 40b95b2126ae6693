/* counters.c - a port's counters (atomics, read at any time) and the
 * names of the drop reasons. */
#include "lib/net/net.h"

uint64_t vmm__fw_count(vmm__fw *fw, uint64_t now);

static const char *const drop_names[VMM_NET_DROP_REASONS] = {
	[VMM_NET_DROP_RUNT] = "runt", [VMM_NET_DROP_OVERSIZE] = "oversize",
	[VMM_NET_DROP_BAD_VLAN] = "bad-vlan", [VMM_NET_DROP_VLAN] = "vlan",
	[VMM_NET_DROP_BAD_SRC] = "bad-source", [VMM_NET_DROP_FORGED] = "forged",
	[VMM_NET_DROP_MAC_CHANGE] = "mac-change", [VMM_NET_DROP_SPOOF] = "spoof",
	[VMM_NET_DROP_ARP] = "arp", [VMM_NET_DROP_SHAPED] = "shaped",
	[VMM_NET_DROP_FIREWALL] = "firewall", [VMM_NET_DROP_MALFORMED] = "malformed",
	[VMM_NET_DROP_FW_FULL] = "firewall-full", [VMM_NET_DROP_FILTER] = "filter",
	[VMM_NET_DROP_PLUGIN] = "plugin", [VMM_NET_DROP_NO_LINK] = "no-link",
	[VMM_NET_DROP_LOOP] = "loop", [VMM_NET_DROP_ENDPOINT] = "endpoint",
};

VMM_API const char *vmm_net_drop_name(uint32_t reason)
{
	return reason < VMM_NET_DROP_REASONS ? drop_names[reason] : NULL;
}

VMM_API int vmm_net_port_stats_get(vmm_net_port *p, vmm_net_port_stats *st)
{
	if (!p || !st || st->size < sizeof(*st))
		return vmm__err(VMM_EINVAL, "vmm_net_port_stats_get: port or stats is NULL, or "
				"stats.size is too small");
	*st = (vmm_net_port_stats){
		.size = sizeof(*st), .in_frames = p->in_frames, .in_bytes = p->in_bytes,
		.out_frames = p->out_frames, .out_bytes = p->out_bytes,
		.in_dropped = p->in_dropped, .out_dropped = p->out_dropped,
		.mirrored = p->mirrored, .queued = p->queued,
		.fw_conns = p->fw.conns ? vmm__fw_count(&p->fw, vmm__sw_now(p->sw)) : 0,
	};
	for (uint32_t i = 0; i < VMM_NET_DROP_REASONS; i++)
		st->drops[i] = p->drops[i];
	return 0;
}
