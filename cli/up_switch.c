/* up_switch.c - `vmm up`: the file's switches (vmm_switch_create) and their
 * ports (vmm_net_port_create: a VM's virtio port, or a TAP port), made
 * through the public API before any VM; a port's mirror is set once every
 * port of its switch exists (it names the other port by id). A switch's
 * VXLAN uplink is its first port; a switch with "etcd" then joins the
 * cluster (vmm_switch_join_cluster) and its ports are ports of the
 * cluster's groups (vmm_net_cluster_port_create). The switch's messages
 * and the cluster's events go to stderr ("vmm: SWITCH: ..."). The VMs'
 * devices attach to the ports in cli/up.c. */
#include <stdio.h>
#include <string.h>

#include "cli/common.h"
#include "cli/up_switch.h"

static void sw_log(void *opaque, const char *msg)
{
	fprintf(stderr, "vmm: %s: %s\n", (const char *)opaque, msg);
}

/* A value refused and a group deleted are in the switch's log already. */
static void cl_event(void *opaque, uint32_t ev, const char *name)
{
	static const char *const what[] = { NULL, "configuration read", "etcd unreachable, "
		"retrying", "group %s applied", NULL, "host %s up", "host %s down",
		"VNI map applied", NULL };
	char msg[200];

	if (ev >= sizeof(what) / sizeof(what[0]) || !what[ev])
		return;
	snprintf(msg, sizeof(msg), what[ev], name);
	fprintf(stderr, "vmm: %s: cluster: %s\n", (const char *)opaque, msg);
}

static int create_uplink(const cfg_switch *cs, up_switches *s, uint32_t k)
{
	vmm_net_uplink_config u = VMM_NET_UPLINK_CONFIG_INIT;
	vmm_net_port_config pc = VMM_NET_PORT_CONFIG_INIT;

	u.flags = cs->uplink.flags;
	u.local = cs->uplink.local[0] ? cs->uplink.local : NULL;
	u.udp_port = cs->uplink.udp_port;
	u.vnis = cs->uplink.vnis;
	u.nvnis = cs->uplink.nvnis;
	u.remotes = (const char *const *)cs->uplink.remotes;
	u.nremotes = cs->uplink.nremotes;
	pc.kind = VMM_NET_PORT_UPLINK;
	pc.uplink = &u;
	pc.name = "uplink";
	return vmm_net_port_create(s->sw[k], &pc, &s->uplink[k]);
}

static int join(const cfg_switch *cs, up_switches *s, uint32_t k)
{
	vmm_net_cluster_config c = VMM_NET_CLUSTER_CONFIG_INIT;

	c.etcd = cs->etcd.endpoint;
	c.prefix = cs->etcd.prefix;
	c.name = cs->etcd.name;
	c.host = cs->etcd.host;
	c.vtep = cs->etcd.vtep;
	c.uplink = s->uplink[k];
	c.lease_ttl_s = cs->etcd.lease_ttl_s;
	c.timeout_ms = cs->etcd.timeout_ms;
	c.event = cl_event;
	c.event_opaque = (void *)cs->name;
	return vmm_switch_join_cluster(s->sw[k], &c, &s->cl[k]);
}

static int create_port(const cfg_port *pt, vmm_switch *sw, vmm_net_cluster *cl,
		       vmm_net_port **out)
{
	vmm_net_port_config pc = VMM_NET_PORT_CONFIG_INIT;
	vmm_net_policy pol = pt->policy;

	pol.mirror_port = 0;                 /* set_mirror, once all ports exist */
	pol.mirror_dirs = 0;
	pc.kind = pt->tap ? VMM_NET_PORT_TAP : VMM_NET_PORT_VIRTIO;
	pc.flags = pt->trunk ? VMM_NET_PORT_TRUNK : 0;
	pc.vlan = pt->vlan;
	pc.trunk_vlans = pt->trunk_vlans;
	pc.ntrunk = pt->ntrunk;
	memcpy(pc.mac, pt->mac, 6);
	pc.tap = pt->tap;
	pc.policy = &pol;
	pc.name = pt->name;
	if (!cl)
		return vmm_net_port_create(sw, &pc, out);
	pc.flags = 0;                        /* the group's VLANs and policy */
	pc.vlan = 0;
	pc.policy = NULL;
	return vmm_net_cluster_port_create(cl, pt->group, &pc, out);
}

static int set_mirror(const cfg_switch *cs, uint32_t i, vmm_net_port *const *ports)
{
	const cfg_port *pt = &cs->ports[i];
	vmm_net_policy pol = pt->policy;

	for (uint32_t j = 0; j < cs->nports; j++)
		if (!strcmp(cs->ports[j].name, pt->mirror))
			pol.mirror_port = vmm_net_port_id(ports[j]);
	return vmm_net_port_set_policy(ports[i], &pol);
}

static int create_switch(const cfg_switch *cs, up_switches *s, uint32_t k, char *err,
			 size_t errlen)
{
	vmm_switch_config sc = VMM_SWITCH_CONFIG_INIT;
	int rc;

	sc.mtu = cs->mtu;
	sc.fdb_size = cs->fdb_size;
	sc.ageing_ms = cs->ageing_ms;
	sc.log = sw_log;
	sc.log_opaque = (void *)cs->name;
	if ((rc = vmm_switch_create(&sc, &s->sw[k])))
		return snprintf(err, errlen, "cannot create the switch: %.300s",
				vmm_last_error()), rc;
	if (cs->uplink.on && (rc = create_uplink(cs, s, k)))
		return snprintf(err, errlen, "uplink: %.300s", vmm_last_error()), rc;
	if (cs->etcd.on && (rc = join(cs, s, k)))
		return snprintf(err, errlen, "cluster: %.300s", vmm_last_error()), rc;
	for (uint32_t i = 0; i < cs->nports; i++)
		if ((rc = create_port(&cs->ports[i], s->sw[k], s->cl[k], &s->port[k][i])))
			return snprintf(err, errlen, "ports[%u] (%s): %.300s", i,
					cs->ports[i].name, vmm_last_error()), rc;
	for (uint32_t i = 0; i < cs->nports; i++)
		if (cs->ports[i].mirror[0] && (rc = set_mirror(cs, i, s->port[k])))
			return snprintf(err, errlen, "ports[%u] (%s): policy.mirror: %.300s", i,
					cs->ports[i].name, vmm_last_error()), rc;
	return 0;
}

int up_switches_create(const cfg *c, up_switches *s, char *err, size_t errlen)
{
	char e[400];
	int rc;

	memset(s, 0, sizeof(*s));
	for (uint32_t k = 0; k < c->nswitches; k++)
		if ((rc = create_switch(&c->switches[k], s, k, e, sizeof(e))))
			return snprintf(err, errlen, "switches[%u] (%s): %s", k,
					c->switches[k].name, e), cli_status_for(rc);
	return 0;
}

void up_switches_destroy(up_switches *s)
{
	for (uint32_t k = 0; k < CFG_MAX_SWITCHES; k++) {
		vmm_net_cluster_leave(s->cl[k]);    /* the others drop this host now */
		vmm_switch_destroy(s->sw[k]);       /* and its ports */
	}
	memset(s, 0, sizeof(*s));
}
