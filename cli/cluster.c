/* cluster.c - `vmm cluster seed --etcd URL [--prefix P] CONFIG.json`: the
 * standalone switches of a `vmm up` file written into etcd once, as the
 * configuration of distributed switches of the same names (docs/net.md's
 * layout), through the library's own path: a switch of the file's MTU
 * with an uplink on 127.0.0.1 joins the cluster as host "vmm-seed" (VTEP
 * 127.0.0.1), writes each key with vmm_net_cluster_put (which checks the
 * JSON as every host will) and leaves (its lease revoked). A port of the
 * file becomes the group of its name: its VLANs and its policy, the
 * policy as vmm_net_port_state_export writes it. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/cluster.h"
#include "cli/common.h"
#include "cli/config.h"

static const char seed_usage[] =
	"usage: vmm cluster seed --etcd URL [--prefix PREFIX] CONFIG.json\n"
	"  writes the switches of a `vmm up` file (standalone: no \"etcd\") into etcd as\n"
	"  the configuration of distributed switches of the same names: <PREFIX>switch/\n"
	"  NAME/config, vni/VLAN (the uplink's map) and group/PORT (each port's VLANs\n"
	"  and policy); PREFIX defaults to /vmm/ (docs/config.md, docs/net.md)\n";

typedef struct seed {
	const char *etcd, *prefix, *file;
	vmm_switch *sw;
	vmm_net_port *up;
	vmm_net_cluster *cl;
	int rc;                   /* the library's error, 0: the file's */
	char err[600];
} seed;

static void no_rx(void *opaque, vmm_net_port *port, const void *frame, size_t len)
{
	(void)opaque, (void)port, (void)frame, (void)len;
}

static int put(seed *s, const cfg_switch *cs, const char *key, const char *json)
{
	if ((s->rc = vmm_net_cluster_put(s->cl, key, json)))
		return snprintf(s->err, sizeof(s->err), "%s: %.400s", key, vmm_last_error()), -1;
	printf("%sswitch/%s/%s %s\n", s->prefix ? s->prefix : "/vmm/", cs->name, key, json);
	return 0;
}

/* The group JSON of a port: its VLANs, and its policy as exported. */
static int group_json(seed *s, const cfg_port *pt, char **out)
{
	vmm_net_port_config pc = VMM_NET_PORT_CONFIG_INIT;
	json_object *st, *pol, *g = json_object_new_object(), *t;
	vmm_net_port *p = NULL;
	size_t len = 0;
	char *buf = NULL;
	int rc = -1;

	pc.rx = no_rx;
	pc.policy = &pt->policy;
	pc.name = pt->name;
	if ((s->rc = vmm_net_port_create(s->sw, &pc, &p)) ||
	    vmm_net_port_state_export(p, NULL, 0, &len) != VMM_ERANGE ||
	    !(buf = malloc(len + 1)) || vmm_net_port_state_export(p, buf, len + 1, &len)) {
		snprintf(s->err, sizeof(s->err), "policy: %.400s", vmm_last_error());
		goto out;
	}
	st = json_tokener_parse(buf);
	if (!g || !st || !json_object_object_get_ex(st, "policy", &pol)) {
		snprintf(s->err, sizeof(s->err), "policy: the exported state has none");
		json_object_put(st);
		goto out;
	}
	if (!pt->trunk) {
		json_object_object_add(g, "vlan", json_object_new_int((int)pt->vlan));
	} else {
		json_object_object_add(g, "trunk", t = json_object_new_array());
		for (uint32_t i = 0; i < pt->ntrunk; i++)
			json_object_array_add(t, json_object_new_int(pt->trunk_vlans[i]));
		json_object_object_add(g, "native", json_object_new_int((int)pt->vlan));
	}
	json_object_object_add(g, "policy", json_object_get(pol));
	json_object_put(st);
	rc = (*out = strdup(json_object_to_json_string_ext(g, JSON_C_TO_STRING_PLAIN |
								   JSON_C_TO_STRING_NOSLASHESCAPE))) ? 0 : -1;
	if (rc)
		snprintf(s->err, sizeof(s->err), "out of memory");
out:
	json_object_put(g);
	free(buf);
	vmm_net_port_destroy(p);
	return rc;
}

static int join(seed *s, const cfg_switch *cs)
{
	vmm_switch_config sc = VMM_SWITCH_CONFIG_INIT;
	vmm_net_uplink_config u = VMM_NET_UPLINK_CONFIG_INIT;
	vmm_net_port_config pc = VMM_NET_PORT_CONFIG_INIT;
	vmm_net_cluster_config c = VMM_NET_CLUSTER_CONFIG_INIT;

	sc.mtu = cs->mtu;
	u.flags = VMM_NET_UPLINK_KNOWN_ONLY | VMM_NET_UPLINK_NO_LEARN;
	u.local = "127.0.0.1";
	u.udp_port = cs->uplink.udp_port;
	pc.kind = VMM_NET_PORT_UPLINK;
	pc.uplink = &u;
	c.etcd = s->etcd;
	c.prefix = s->prefix;
	c.name = cs->name;
	c.host = "vmm-seed";
	c.vtep = "127.0.0.1";
	c.lease_ttl_s = 2;
	if ((s->rc = vmm_switch_create(&sc, &s->sw)) ||
	    (s->rc = vmm_net_port_create(s->sw, &pc, &s->up)))
		return snprintf(s->err, sizeof(s->err), "%.400s", vmm_last_error()), -1;
	c.uplink = s->up;
	if ((s->rc = vmm_switch_join_cluster(s->sw, &c, &s->cl)))
		return snprintf(s->err, sizeof(s->err), "%.400s", vmm_last_error()), -1;
	return 0;
}

static int seed_switch(seed *s, const cfg_switch *cs)
{
	char key[32], json[64], *g = NULL;

	if (cs->etcd.on)
		return snprintf(s->err, sizeof(s->err), "has \"etcd\": seed from a file of "
				"standalone switches"), -1;
	for (uint32_t i = 0; i < cs->nports; i++)
		if (cs->ports[i].mirror[0])
			return snprintf(s->err, sizeof(s->err), "ports[%u] (%s): policy.mirror: a "
					"group has no mirror (it names a port of one host's "
					"switch)", i, cs->ports[i].name), -1;
	if (join(s, cs))
		return -1;
	snprintf(json, sizeof(json), "{\"mtu\": %u, \"udp_port\": %u}", cs->mtu ? cs->mtu : 1500,
		 cs->uplink.udp_port ? cs->uplink.udp_port : 4789);
	if (put(s, cs, "config", json))
		return -1;
	for (uint32_t i = 0; i < cs->uplink.nvnis; i++) {
		snprintf(key, sizeof(key), "vni/%u", cs->uplink.vnis[i].vlan);
		snprintf(json, sizeof(json), "{\"vni\": %u}", cs->uplink.vnis[i].vni);
		if (put(s, cs, key, json))
			return -1;
	}
	for (uint32_t i = 0; i < cs->nports; i++) {
		char k[48];
		int rc;

		snprintf(k, sizeof(k), "group/%s", cs->ports[i].name);
		if (group_json(s, &cs->ports[i], &g))
			return -1;
		rc = put(s, cs, k, g);
		free(g);
		if (rc)
			return -1;
	}
	return 0;
}

static int cmd_seed(int argc, char **argv)
{
	seed s = { 0 };
	char err[800], msg[900];
	int status = 0;
	cfg *c;

	for (int i = 1; i < argc; i++) {
		if ((!strcmp(argv[i], "--etcd") || !strcmp(argv[i], "--prefix")) && i + 1 < argc) {
			*(argv[i][2] == 'e' ? &s.etcd : &s.prefix) = argv[i + 1];
			i++;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(seed_usage, stdout);
			return 0;
		} else if (argv[i][0] == '-' || s.file) {
			return cli_fail(ST_USAGE, "cluster seed: ", argv[i][0] == '-' ?
					"unknown option or missing value (vmm cluster seed --help)"
					: "takes one CONFIG file");
		} else {
			s.file = argv[i];
		}
	}
	if (!s.etcd || !s.file)
		return cli_fail(ST_USAGE, "cluster seed: ", !s.etcd ? "missing --etcd URL" :
				"missing CONFIG.json");
	if (!(c = cfg_load(s.file, err, sizeof(err))))
		return cli_fail(ST_USAGE, "", err);
	if (!c->nswitches)
		status = cli_fail(ST_USAGE, "", "cluster seed: the file has no \"switches\"");
	for (uint32_t k = 0; k < c->nswitches && !status; k++) {
		if (seed_switch(&s, &c->switches[k])) {
			snprintf(msg, sizeof(msg), "%.200s: switches[%u] (%s): %s", s.file, k,
				 c->switches[k].name, s.err);
			status = cli_fail(s.rc ? cli_status_for(s.rc) : ST_USAGE, "cluster seed: ",
					  msg);
		}
		vmm_net_cluster_leave(s.cl);
		vmm_switch_destroy(s.sw);
		s.cl = NULL;
		s.sw = NULL;
	}
	cfg_free(c);
	return status;
}

int cli_cluster(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "seed"))
		return cmd_seed(argc - 1, argv + 1);
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(seed_usage, stdout);
		return 0;
	}
	return cli_fail(ST_USAGE, "cluster: ", argc < 2 ? "missing subcommand (vmm cluster "
			"seed --help)" : "unknown subcommand (only 'seed'; vmm cluster --help)");
}
