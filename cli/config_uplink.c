/* config_uplink.c - a switch's "uplink" (its VXLAN tunnel endpoint,
 * vmm_net_uplink_config) and "etcd" (the cluster it joins,
 * vmm_net_cluster_config) in a `vmm up` file (config.h, docs/config.md).
 * A standalone switch's uplink carries its own VLAN -> VNI map and flood
 * list; with "etcd" both are the cluster's (its vni/VLAN and host keys),
 * and the file says only what is this host's: the endpoint, its name and
 * tunnel address. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/config.h"

#define P(buf, path, key) (snprintf(buf, sizeof(buf), "%.100s.%.40s", path, key), buf)
#define VLAN_MAX 4094u
#define VNI_MAX 16777215u

/* A name of the cluster's layout (vmm/net.h): 1..63 of [A-Za-z0-9._-]. */
static int get_cl_name(cfg_ctx *x, const char *path, json_object *o, const char *key,
		       char *out)
{
	const char *s;
	char p[160];
	int rc = cfg_get_str(x, path, o, key, &s);

	if (rc)
		return rc;
	if (!*s || strlen(s) > CFG_CL_NAME_MAX ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
	    strlen(s))
		return cfg_fail(x, P(p, path, key), "\"%.64s\": 1 to %d letters, digits, '-', '_' "
				"or '.'", s, CFG_CL_NAME_MAX);
	strcpy(out, s);
	return 0;
}

/* An IPv4 address other than 0.0.0.0, as dotted text in out[16]. */
static int get_addr(cfg_ctx *x, const char *path, json_object *o, const char *key, char *out)
{
	struct in_addr a;
	uint32_t ip;
	char p[160];
	int rc = cfg_get_ip(x, path, o, key, &ip);

	if (rc)
		return rc;
	if (!ip)
		return cfg_fail(x, P(p, path, key), "0.0.0.0 is no tunnel address");
	a.s_addr = htonl(ip);
	inet_ntop(AF_INET, &a, out, 16);
	return 0;
}

static int parse_vni(cfg_ctx *x, const char *path, json_object *o, cfg_uplink *u, size_t i)
{
	static const char *const keys[] = { "vlan", "vni", NULL };
	uint64_t vlan = 0, vni = 0;
	int a, b;

	if (cfg_need_object(x, path, o) || cfg_check_keys(x, path, o, keys) ||
	    (a = cfg_get_uint(x, path, o, "vlan", 1, VLAN_MAX, &vlan)) < 0 ||
	    (b = cfg_get_uint(x, path, o, "vni", 1, VNI_MAX, &vni)) < 0)
		return -1;
	if (a || b)
		return cfg_fail(x, path, "needs \"vlan\" (1 to %u) and \"vni\" (1 to %u)",
				VLAN_MAX, VNI_MAX);
	for (size_t j = 0; j < i; j++) {
		if (u->vnis[j].vlan == vlan)
			return cfg_fail(x, path, "VLAN %u is mapped by vnis[%zu] too",
					(unsigned)vlan, j);
		if (u->vnis[j].vni == vni)
			return cfg_fail(x, path, "VNI %u is the one of vnis[%zu] too",
					(unsigned)vni, j);
	}
	u->vnis[i].vlan = (uint32_t)vlan;
	u->vnis[i].vni = (uint32_t)vni;
	return 0;
}

static int parse_vnis(cfg_ctx *x, const char *path, json_object *o, cfg_uplink *u)
{
	json_object *arr;
	char p[160];
	size_t n;
	int rc = cfg_get_array(x, path, o, "vnis", VLAN_MAX, &arr);

	if (rc)
		return rc < 0 ? -1 : 0;
	if (!(n = json_object_array_length(arr)))
		return 0;
	if (!(u->vnis = calloc(n, sizeof(*u->vnis))))
		return cfg_fail(x, path, "out of memory");
	for (size_t i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%.100s.vnis[%zu]", path, i);
		u->nvnis = (uint32_t)i + 1;
		if (parse_vni(x, p, json_object_array_get_idx(arr, i), u, i))
			return -1;
	}
	return 0;
}

/* One entry of "remotes": an IPv4 address other than 0.0.0.0. */
static int remote_addr(cfg_ctx *x, const char *path, json_object *v, char *out)
{
	struct in_addr a;
	const char *s = json_object_get_string(v);

	if (!json_object_is_type(v, json_type_string))
		return cfg_fail(x, path, "expected an IPv4 address (a string)");
	if (inet_pton(AF_INET, s, &a) != 1 || !a.s_addr)
		return cfg_fail(x, path, "\"%.64s\" is not an IPv4 address of a remote VTEP", s);
	inet_ntop(AF_INET, &a, out, 16);
	return 0;
}

static int parse_remotes(cfg_ctx *x, const char *path, json_object *o, cfg_uplink *u)
{
	json_object *arr;
	char p[160], a[16];
	size_t n;
	int rc = cfg_get_array(x, path, o, "remotes", CFG_MAX_REMOTES, &arr);

	if (rc)
		return rc < 0 ? -1 : 0;
	if (!(n = json_object_array_length(arr)))
		return 0;
	if (!(u->remotes = calloc(n, sizeof(*u->remotes))))
		return cfg_fail(x, path, "out of memory");
	for (size_t i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%.100s.remotes[%zu]", path, i);
		if (remote_addr(x, p, json_object_array_get_idx(arr, i), a))
			return -1;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(u->remotes[j], a))
				return cfg_fail(x, p, "%s is remotes[%zu] too", a, j);
		if (!(u->remotes[i] = strdup(a)))
			return cfg_fail(x, path, "out of memory");
		u->nremotes = (uint32_t)i + 1;
	}
	return 0;
}

static int parse_uplink(cfg_ctx *x, const char *path, json_object *o, cfg_uplink *u, int etcd)
{
	static const char *const keys[] = { "local", "udp_port", "vnis", "remotes", "known_only",
					    "learn", NULL };
	static const char *const cluster[] = { "vnis", "remotes" };
	uint64_t port = 0;
	int known = 0, learn = 1;
	char p[160];

	if (cfg_need_object(x, path, o) || cfg_check_keys(x, path, o, keys))
		return -1;
	for (unsigned i = 0; etcd && i < 2; i++)
		if (json_object_object_get_ex(o, cluster[i], NULL))
			return cfg_fail(x, P(p, path, cluster[i]), "the cluster's with \"etcd\" "
					"(its %s keys): not in the file", i ? "host/NAME" :
					"vni/VLAN");
	u->on = 1;
	if (get_addr(x, path, o, "local", u->local) < 0 ||
	    cfg_get_uint(x, path, o, "udp_port", 1, 65535, &port) < 0 ||
	    cfg_get_bool(x, path, o, "known_only", &known) < 0 ||
	    cfg_get_bool(x, path, o, "learn", &learn) < 0 ||
	    parse_vnis(x, path, o, u) || parse_remotes(x, path, o, u))
		return -1;
	u->udp_port = (uint32_t)port;
	u->flags = (known ? VMM_NET_UPLINK_KNOWN_ONLY : 0) | (learn ? 0 : VMM_NET_UPLINK_NO_LEARN);
	return 0;
}

static int get_text(cfg_ctx *x, const char *path, json_object *o, const char *key, char **out)
{
	const char *s;
	char p[160];
	int rc = cfg_get_str(x, path, o, key, &s);

	if (rc)
		return rc;
	if (strlen(s) > 200)
		return cfg_fail(x, P(p, path, key), "longer than 200 bytes");
	if (!strcmp(key, "endpoint") && (strncmp(s, "http://", 7) || !s[7]))
		return cfg_fail(x, P(p, path, key), "\"%.64s\": expected an http:// URL such as "
				"\"http://10.0.0.254:2379\" (etcd's v3 JSON gateway; no TLS)", s);
	if (!strcmp(key, "prefix") && s[0] != '/')
		return cfg_fail(x, P(p, path, key), "\"%.64s\": must start with '/'", s);
	return (*out = strdup(s)) ? 0 : cfg_fail(x, path, "out of memory");
}

static int parse_etcd(cfg_ctx *x, const char *path, json_object *o, cfg_switch *s)
{
	static const char *const keys[] = { "endpoint", "prefix", "name", "host", "vtep",
					    "lease_ttl", "timeout_ms", NULL };
	cfg_etcd *e = &s->etcd;
	uint64_t ttl = 0, tmo = 0;
	int rc;

	if (cfg_need_object(x, path, o) || cfg_check_keys(x, path, o, keys))
		return -1;
	e->on = 1;
	if ((rc = get_text(x, path, o, "endpoint", &e->endpoint)) != 0)
		return rc < 0 ? -1 : cfg_fail(x, path, "missing key \"endpoint\" (etcd's URL, "
					      "\"http://10.0.0.254:2379\")");
	if (get_text(x, path, o, "prefix", &e->prefix) < 0 ||
	    (rc = get_cl_name(x, path, o, "name", e->name)) < 0)
		return -1;
	if (rc)
		strcpy(e->name, s->name);
	if ((rc = get_cl_name(x, path, o, "host", e->host)) != 0)
		return rc < 0 ? -1 : cfg_fail(x, path, "missing key \"host\" (this host's name, "
					      "unique in the cluster)");
	if ((rc = get_addr(x, path, o, "vtep", e->vtep)) < 0)
		return -1;
	if (rc && !s->uplink.local[0])
		return cfg_fail(x, path, "missing key \"vtep\" (this host's tunnel address as "
				"the other hosts reach it; uplink.local is taken if given)");
	if (rc)
		strcpy(e->vtep, s->uplink.local);
	if (cfg_get_uint(x, path, o, "lease_ttl", 2, 3600, &ttl) < 0 ||
	    cfg_get_uint(x, path, o, "timeout_ms", 1, 600000, &tmo) < 0)
		return -1;
	e->lease_ttl_s = (uint32_t)ttl;
	e->timeout_ms = (uint32_t)tmo;
	return 0;
}

int cfg_uplink_parse(cfg_ctx *x, const char *path, json_object *o, cfg_switch *s)
{
	json_object *u, *e;
	int has_e = json_object_object_get_ex(o, "etcd", &e);
	char p[160];

	if (json_object_object_get_ex(o, "uplink", &u) &&
	    parse_uplink(x, P(p, path, "uplink"), u, &s->uplink, has_e))
		return -1;
	if (!has_e)
		return 0;
	if (!s->uplink.on)
		return cfg_fail(x, path, "\"etcd\" needs \"uplink\" (the VXLAN tunnel the "
				"cluster's hosts share)");
	return parse_etcd(x, P(p, path, "etcd"), e, s);
}

void cfg_uplink_free(cfg_switch *s)
{
	for (uint32_t i = 0; i < s->uplink.nremotes; i++)
		free(s->uplink.remotes[i]);
	free(s->uplink.remotes);
	free(s->uplink.vnis);
	free(s->etcd.endpoint);
	free(s->etcd.prefix);
}
