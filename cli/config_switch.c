/* config_switch.c - the "switches" of a `vmm up` file (config.h,
 * docs/config.md): each switch (vmm_switch_config) with its ports
 * (vmm_net_port_config: access VLAN or trunk, MAC, TAP, policy), then the
 * VMs' {"switch", "port"} net entries resolved against them: each names an
 * existing port, at most one device per port, and the device's and the
 * port's MACs agree. A switch's "uplink" and "etcd" are
 * cli/config_uplink.c's; the ports of a switch with "etcd" name the
 * cluster's port group instead of VLANs and a policy. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/config.h"
#include "cli/config_policy.h"

#define P(buf, path, key) (snprintf(buf, sizeof(buf), "%.100s.%.40s", path, key), buf)
#define VLAN_MAX 4094u

/* "trunk": [VLAN, ...] (no VLAN twice) and "native": VLAN. */
static int parse_trunk(cfg_ctx *x, const char *path, json_object *o, cfg_port *pt)
{
	json_object *arr;
	uint64_t native = 0;
	char p[160];
	size_t n;

	if (cfg_get_array(x, path, o, "trunk", VLAN_MAX, &arr) < 0 ||
	    cfg_get_uint(x, path, o, "native", 1, VLAN_MAX, &native) < 0)
		return -1;
	n = json_object_array_length(arr);
	if (!n)
		return cfg_fail(x, P(p, path, "trunk"), "lists no VLAN (1 to %u each)", VLAN_MAX);
	if (!(pt->trunk_vlans = calloc(n, sizeof(*pt->trunk_vlans))))
		return cfg_fail(x, path, "out of memory");
	for (size_t i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(arr, i);
		int64_t vlan = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;

		snprintf(p, sizeof(p), "%.100s.trunk[%zu]", path, i);
		if (vlan < 1 || vlan > VLAN_MAX)
			return cfg_fail(x, p, "expected a VLAN, an integer from 1 to %u", VLAN_MAX);
		for (size_t j = 0; j < i; j++)
			if (pt->trunk_vlans[j] == vlan)
				return cfg_fail(x, p, "VLAN %lld is listed twice", (long long)vlan);
		pt->trunk_vlans[i] = (uint16_t)vlan;
	}
	pt->trunk = 1;
	pt->ntrunk = (uint32_t)n;
	pt->vlan = (uint32_t)native;
	return 0;
}

/* A port of a switch with "etcd": its group gives the VLANs and the policy. */
static int parse_group(cfg_ctx *x, const char *path, json_object *o, cfg_port *pt)
{
	static const char *const theirs[] = { "vlan", "trunk", "native", "policy" };
	const char *s;
	char p[160];
	int rc;

	for (unsigned i = 0; i < 4; i++)
		if (json_object_object_get_ex(o, theirs[i], NULL))
			return cfg_fail(x, P(p, path, theirs[i]), "the port's group in etcd says "
					"this (the switch has \"etcd\")");
	if ((rc = cfg_get_str(x, path, o, "group", &s)) != 0)
		return rc < 0 ? -1 : cfg_fail(x, path, "missing key \"group\" (the cluster's "
					      "port group, its group/NAME key in etcd)");
	if (!*s || strlen(s) > CFG_CL_NAME_MAX ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
	    strlen(s))
		return cfg_fail(x, P(p, path, "group"), "\"%.64s\": 1 to %d letters, digits, "
				"'-', '_' or '.'", s, CFG_CL_NAME_MAX);
	strcpy(pt->group, s);
	return 0;
}

static int parse_port(cfg_ctx *x, const char *path, json_object *o, cfg_port *pt, int etcd)
{
	static const char *const keys[] = { "name", "vlan", "trunk", "native", "mac", "tap",
					    "policy", "group", NULL };
	static const vmm_net_policy defaults = VMM_NET_POLICY_INIT;
	json_object *v;
	const char *s;
	uint64_t vlan = 1;
	char p[160];
	int rc;

	pt->policy = defaults;
	pt->vm = pt->net = -1;
	if (cfg_need_object(x, path, o) || cfg_check_keys(x, path, o, keys))
		return -1;
	if ((rc = cfg_get_str(x, path, o, "name", &s)) != 0)
		return rc < 0 ? -1 : cfg_fail(x, path, "missing key \"name\"");
	if (cfg_check_name(x, P(p, path, "name"), s))
		return -1;
	strcpy(pt->name, s);
	if (etcd) {
		if (parse_group(x, path, o, pt))
			return -1;
	} else if (json_object_object_get_ex(o, "group", NULL)) {
		return cfg_fail(x, P(p, path, "group"), "only in a switch with \"etcd\" (a "
				"standalone switch's port has \"vlan\" or \"trunk\")");
	} else if (json_object_object_get_ex(o, "trunk", NULL)) {
		if (json_object_object_get_ex(o, "vlan", NULL))
			return cfg_fail(x, path, "give \"vlan\" (an access port) or \"trunk\" (a "
					"trunk port, with \"native\" for its untagged VLAN), not both");
		if (parse_trunk(x, path, o, pt))
			return -1;
	} else if (json_object_object_get_ex(o, "native", NULL)) {
		return cfg_fail(x, P(p, path, "native"), "only with \"trunk\"");
	} else if (cfg_get_uint(x, path, o, "vlan", 1, VLAN_MAX, &vlan) < 0) {
		return -1;
	} else {
		pt->vlan = (uint32_t)vlan;
	}
	if (cfg_get_mac(x, path, o, pt->mac) || (rc = cfg_get_str(x, path, o, "tap", &s)) < 0)
		return -1;
	if (rc == 0 && (!*s || strlen(s) > 15))
		return cfg_fail(x, P(p, path, "tap"), "\"%.64s\": must be 1 to 15 bytes", s);
	if (rc == 0 && !(pt->tap = strdup(s)))
		return cfg_fail(x, path, "out of memory");
	if (json_object_object_get_ex(o, "policy", &v))
		return cfg_policy_parse(x, P(p, path, "policy"), v, pt);
	return 0;
}

static int find_port(const cfg_switch *sw, const char *name)
{
	for (uint32_t i = 0; i < sw->nports; i++)
		if (!strcmp(sw->ports[i].name, name))
			return (int)i;
	return -1;
}

/* Port names unique in the switch; a mirror names another of them. */
static int check_ports(cfg_ctx *x, const char *path, const cfg_switch *sw)
{
	char p[160], k[200];

	for (uint32_t i = 0; i < sw->nports; i++) {
		const cfg_port *pt = &sw->ports[i];
		int at = find_port(sw, pt->name);

		snprintf(p, sizeof(p), "%.100s.ports[%u]", path, i);
		if (at != (int)i)
			return cfg_fail(x, P(k, p, "name"), "\"%s\" is the name of ports[%d] too",
					pt->name, at);
		if (!pt->mirror[0])
			continue;
		at = find_port(sw, pt->mirror);
		if (at < 0 || at == (int)i)
			return cfg_fail(x, P(k, p, "policy.mirror.port"), "\"%s\" is %s", pt->mirror,
					at < 0 ? "no port of this switch" : "the port itself");
	}
	return 0;
}

static int parse_switch(cfg_ctx *x, const char *path, json_object *o, cfg_switch *sw)
{
	static const char *const keys[] = { "name", "mtu", "fdb_size", "ageing", "ports",
					    "uplink", "etcd", NULL };
	json_object *arr;
	uint64_t mtu = 0, fdb = 0, ageing = 0;
	const char *s;
	char p[160];
	int rc;

	if (cfg_need_object(x, path, o) || cfg_check_keys(x, path, o, keys))
		return -1;
	if ((rc = cfg_get_str(x, path, o, "name", &s)) != 0)
		return rc < 0 ? -1 : cfg_fail(x, path, "missing key \"name\"");
	if (cfg_check_name(x, P(p, path, "name"), s))
		return -1;
	strcpy(sw->name, s);
	if (cfg_get_uint(x, path, o, "mtu", 68, VMM_NET_MTU_MAX, &mtu) < 0 ||
	    cfg_get_uint(x, path, o, "fdb_size", 64, 1u << 20, &fdb) < 0 ||
	    cfg_get_uint(x, path, o, "ageing", 1, 31536000, &ageing) < 0)
		return -1;
	sw->mtu = (uint32_t)mtu;
	sw->fdb_size = (uint32_t)fdb;
	sw->ageing_ms = ageing * 1000;
	if (cfg_uplink_parse(x, path, o, sw))
		return -1;
	if ((rc = cfg_get_array(x, path, o, "ports", CFG_MAX_PORTS, &arr)) < 0)
		return -1;
	for (size_t i = 0; rc == 0 && i < json_object_array_length(arr); i++) {
		snprintf(p, sizeof(p), "%.100s.ports[%zu]", path, i);
		sw->nports = (uint32_t)i + 1;
		if (parse_port(x, p, json_object_array_get_idx(arr, i), &sw->ports[i],
			       sw->etcd.on))
			return -1;
	}
	return check_ports(x, path, sw);
}

static int find_switch(const cfg *c, const char *name)
{
	for (uint32_t i = 0; i < c->nswitches; i++)
		if (!strcmp(c->switches[i].name, name))
			return (int)i;
	return -1;
}

/* An earlier switch of the file in the same cluster switch (etcd, prefix, name). */
static int find_cluster(const cfg *c, size_t i)
{
	const cfg_etcd *e = &c->switches[i].etcd, *f;

	for (size_t j = 0; e->on && j < i; j++) {
		f = &c->switches[j].etcd;
		if (f->on && !strcmp(e->endpoint, f->endpoint) && !strcmp(e->name, f->name) &&
		    !strcmp(e->prefix ? e->prefix : "/vmm/", f->prefix ? f->prefix : "/vmm/"))
			return (int)j;
	}
	return -1;
}

int cfg_switches_parse(cfg_ctx *x, json_object *root, cfg *c)
{
	json_object *arr;
	size_t n;
	int rc = cfg_get_array(x, "", root, "switches", CFG_MAX_SWITCHES, &arr);

	if (rc)
		return rc < 0 ? -1 : 0;
	n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++) {
		char p[32], k[160];
		int at;

		snprintf(p, sizeof(p), "switches[%zu]", i);
		c->nswitches = (uint32_t)i + 1;
		if (parse_switch(x, p, json_object_array_get_idx(arr, i), &c->switches[i]))
			return -1;
		if ((at = find_switch(c, c->switches[i].name)) != (int)i)
			return cfg_fail(x, P(k, p, "name"), "\"%s\" is the name of switches[%d] too",
					c->switches[i].name, at);
		if ((at = find_cluster(c, i)) >= 0)
			return cfg_fail(x, P(k, p, "etcd.name"), "\"%s\" at %s is the cluster "
					"switch of switches[%d] too", c->switches[i].etcd.name,
					c->switches[i].etcd.endpoint, at);
	}
	return 0;
}

/* One VM net entry on a switch port: the port exists, is free and no TAP;
 * the MAC given on either side is the other's too. */
static int link_net(cfg_ctx *x, const char *path, cfg *c, uint32_t vm, uint32_t net)
{
	cfg_net *n = &c->vms[vm].nets[net];
	static const uint8_t zero[6];
	char p[160];
	int s = find_switch(c, n->name), i;
	cfg_port *pt;

	if (s < 0)
		return cfg_fail(x, P(p, path, "switch"), "no switch \"%s\" in \"switches\"", n->name);
	if ((i = find_port(&c->switches[s], n->port)) < 0)
		return cfg_fail(x, P(p, path, "port"), "switch \"%s\" has no port \"%s\"", n->name,
				n->port);
	pt = &c->switches[s].ports[i];
	if (pt->tap)
		return cfg_fail(x, P(p, path, "port"), "\"%s\" of switch \"%s\" is a TAP port "
				"(its endpoint is the interface %s)", pt->name, n->name, pt->tap);
	if (pt->vm >= 0)
		return cfg_fail(x, P(p, path, "port"), "\"%s\" of switch \"%s\" is taken by "
				"vms[%d].nets[%d]", pt->name, n->name, pt->vm, pt->net);
	if (memcmp(n->mac, zero, 6) && memcmp(pt->mac, zero, 6) && memcmp(n->mac, pt->mac, 6))
		return cfg_fail(x, P(p, path, "mac"), "differs from the mac of port \"%s\" of "
				"switch \"%s\"", pt->name, n->name);
	if (!memcmp(n->mac, zero, 6))
		memcpy(n->mac, pt->mac, 6);
	memcpy(pt->mac, n->mac, 6);
	pt->vm = (int)vm;
	pt->net = (int)net;
	n->sw = (uint32_t)s;
	n->sw_port = (uint32_t)i;
	return 0;
}

int cfg_switches_link(cfg_ctx *x, cfg *c)
{
	for (uint32_t v = 0; v < c->nvms; v++)
		for (uint32_t i = 0; i < c->vms[v].nnets; i++) {
			char p[48];

			if (c->vms[v].nets[i].kind != CFG_NET_SWITCH)
				continue;
			snprintf(p, sizeof(p), "vms[%u].nets[%u]", v, i);
			if (link_net(x, p, c, v, i))
				return -1;
		}
	return 0;
}

void cfg_switches_free(cfg *c)
{
	for (uint32_t s = 0; s < c->nswitches; s++) {
		cfg_uplink_free(&c->switches[s]);
		for (uint32_t i = 0; i < c->switches[s].nports; i++) {
			cfg_port *pt = &c->switches[s].ports[i];

			free(pt->trunk_vlans);
			free(pt->tap);
			free(pt->ipv4);
			free(pt->rules);
		}
	}
}
