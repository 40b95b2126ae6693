/* config_policy.c - a switch port's "policy" in a `vmm up` file (config.h,
 * docs/config.md): ESX's security settings, anti-spoofing, shaping each
 * way, the stateful firewall and mirroring, into a vmm_net_policy
 * (include/vmm/net.h). Every key is checked for type and range; the
 * mirror's port name is resolved by config_switch.c. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/config.h"
#include "cli/config_policy.h"

#define P(buf, path, key) (snprintf(buf, sizeof(buf), "%.100s.%.40s", path, key), buf)
#define MAX_IPV4 64u
#define MAX_RULES 1024u
#define MAX_BPS 1000000000000ull     /* 1 Tbit/s, the library's limit */

/* key as one of words[] (NULL-terminated): 0 with *idx, 1 absent, -1 bad. */
static int get_word(cfg_ctx *x, const char *path, json_object *o, const char *key,
		    const char *const *words, uint32_t *idx)
{
	const char *s;
	char p[160], known[120] = "";
	int rc = cfg_get_str(x, path, o, key, &s);

	if (rc)
		return rc;
	for (uint32_t i = 0; words[i]; i++) {
		if (!strcmp(words[i], s)) {
			*idx = i;
			return 0;
		}
		snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s\"%s\"",
			 i ? (words[i + 1] ? ", " : " or ") : "", words[i]);
	}
	return cfg_fail(x, P(p, path, key), "\"%.32s\": expected %s", s, known);
}

static const char *const accept_reject[] = { "reject", "accept", NULL };
static const char *const directions[] = { "in", "out", "both", NULL };

/* "promiscuous", "mac_changes", "forged_transmits": "accept" | "reject". */
static int parse_security(cfg_ctx *x, const char *path, json_object *o, vmm_net_policy *pol)
{
	static const char *const keys[] = { "promiscuous", "mac_changes", "forged_transmits" };
	static const uint32_t bits[] = { VMM_NET_SEC_PROMISC, VMM_NET_SEC_MAC_CHANGES,
					 VMM_NET_SEC_FORGED };

	for (unsigned i = 0; i < 3; i++) {
		uint32_t v;
		int rc = get_word(x, path, o, keys[i], accept_reject, &v);

		if (rc < 0)
			return -1;
		if (rc == 0)
			pol->flags = v ? pol->flags | bits[i] : pol->flags & ~bits[i];
	}
	return 0;
}

/* "antispoof": {"ipv4": ["10.0.0.1", ...]} (an empty object: MACs only). */
static int parse_antispoof(cfg_ctx *x, const char *path, json_object *o, vmm_net_policy *pol,
			   uint32_t **ipv4)
{
	static const char *const keys[] = { "ipv4", NULL };
	json_object *arr;
	size_t n;
	int rc;

	if (cfg_need_object(x, path, o) || cfg_check_keys(x, path, o, keys))
		return -1;
	pol->flags |= VMM_NET_ANTISPOOF;
	if ((rc = cfg_get_array(x, path, o, "ipv4", MAX_IPV4, &arr)) != 0)
		return rc < 0 ? -1 : 0;
	n = json_object_array_length(arr);
	if (n && !(*ipv4 = calloc(n, sizeof(**ipv4))))
		return cfg_fail(x, path, "out of memory");
	for (size_t i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(arr, i);
		struct in_addr a;
		char p[160];

		snprintf(p, sizeof(p), "%.100s.ipv4[%zu]", path, i);
		if (!json_object_is_type(v, json_type_string) ||
		    inet_pton(AF_INET, json_object_get_string(v), &a) != 1)
			return cfg_fail(x, p, "expected an IPv4 address such as \"10.0.0.1\"");
		(*ipv4)[i] = ntohl(a.s_addr);
	}
	pol->ipv4 = *ipv4;
	pol->nipv4 = (uint32_t)n;
	return 0;
}

/* {"average": bits/s, "peak": bits/s, "burst": bytes}. */
static int parse_shape(cfg_ctx *x, const char *path, json_object *o, vmm_net_shaping *s)
{
	static const char *const keys[] = { "average", "peak", "burst", NULL };
	int rc;

	if (cfg_need_object(x, path, o) || cfg_check_keys(x, path, o, keys))
		return -1;
	if ((rc = cfg_get_uint(x, path, o, "average", 1, MAX_BPS, &s->avg_bps)) != 0)
		return rc < 0 ? -1 : cfg_fail(x, path, "needs \"average\" (bits/s)");
	if (cfg_get_uint(x, path, o, "peak", 1, MAX_BPS, &s->peak_bps) < 0 ||
	    cfg_get_uint(x, path, o, "burst", 1, 1ull << 40, &s->burst_bytes) < 0)
		return -1;
	if (s->peak_bps && s->peak_bps < s->avg_bps)
		return cfg_fail(x, path, "\"peak\" is below \"average\"");
	return 0;
}

static int parse_shaping(cfg_ctx *x, const char *path, json_object *o, vmm_net_policy *pol)
{
	static const char *const keys[] = { "in", "out", NULL };
	json_object *v;
	char p[160];

	if (cfg_need_object(x, path, o) || cfg_check_keys(x, path, o, keys))
		return -1;
	if (json_object_object_get_ex(o, "in", &v) &&
	    parse_shape(x, P(p, path, "in"), v, &pol->shape_in))
		return -1;
	if (json_object_object_get_ex(o, "out", &v) &&
	    parse_shape(x, P(p, path, "out"), v, &pol->shape_out))
		return -1;
	return 0;
}

/* "10.0.0.0/24", "10.0.0.1" (a /32) or "any". */
static int get_net(cfg_ctx *x, const char *path, json_object *o, const char *key,
		   uint32_t *addr, uint32_t *mask)
{
	char buf[32], p[160], *slash, *end = NULL;
	struct in_addr a;
	unsigned long bits = 32;
	const char *s;
	int rc = cfg_get_str(x, path, o, key, &s);

	if (rc)
		return rc < 0 ? -1 : 0;
	if (!strcmp(s, "any"))
		return 0;
	snprintf(buf, sizeof(buf), "%s", s);
	if ((slash = strchr(buf, '/'))) {
		*slash++ = 0;
		bits = *slash >= '0' && *slash <= '9' ? strtoul(slash, &end, 10) : 99;
		if (end && *end)
			bits = 99;
	}
	if (strlen(s) >= sizeof(buf) || inet_pton(AF_INET, buf, &a) != 1 || bits > 32)
		return cfg_fail(x, P(p, path, key), "\"%.40s\": expected \"any\", an IPv4 "
				"address or ADDRESS/BITS such as \"10.0.0.0/24\"", s);
	*mask = bits ? ~0u << (32 - bits) : 0;
	*addr = ntohl(a.s_addr) & *mask;
	return 0;
}

/* An integer port or "LO-HI"; absent: any (0-0, as the library counts it:
 * a rule with ports matches only TCP and UDP). */
static int get_ports(cfg_ctx *x, const char *path, json_object *o, const char *key,
		     uint16_t *lo, uint16_t *hi)
{
	unsigned a, b;
	char p[160], end;
	json_object *v;

	*lo = *hi = 0;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (json_object_is_type(v, json_type_int)) {
		int64_t n = json_object_get_int64(v);

		if (n < 0 || n > 65535)
			return cfg_fail(x, P(p, path, key), "%lld is out of range (0 to 65535)",
					(long long)n);
		*lo = *hi = (uint16_t)n;
		return 0;
	}
	if (!json_object_is_type(v, json_type_string) ||
	    sscanf(json_object_get_string(v), "%u-%u%c", &a, &b, &end) != 2 || a > b || b > 65535)
		return cfg_fail(x, P(p, path, key), "expected a port or a range \"LO-HI\" "
				"(0 to 65535)");
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

static int parse_rule(cfg_ctx *x, const char *path, json_object *o, vmm_net_fw_rule *r)
{
	static const char *const keys[] = { "action", "direction", "proto", "src", "dst",
					    "src_ports", "dst_ports", NULL };
	static const char *const actions[] = { "deny", "allow", NULL };
	static const char *const protos[] = { "any", "icmp", "tcp", "udp", NULL };
	static const uint32_t proto_num[] = { 0, 1, 6, 17 };
	uint32_t v = 2;
	int rc;

	if (cfg_need_object(x, path, o) || cfg_check_keys(x, path, o, keys))
		return -1;
	if ((rc = get_word(x, path, o, "action", actions, &r->action)) != 0)
		return rc < 0 ? -1 : cfg_fail(x, path, "needs \"action\" (\"allow\" or \"deny\")");
	if (get_word(x, path, o, "direction", directions, &v) < 0)
		return -1;
	r->dirs = v + 1;                      /* in 1, out 2, both 3 */
	v = 0;
	if (get_word(x, path, o, "proto", protos, &v) < 0)
		return -1;
	r->proto = proto_num[v];
	if (get_net(x, path, o, "src", &r->src_addr, &r->src_mask) ||
	    get_net(x, path, o, "dst", &r->dst_addr, &r->dst_mask) ||
	    get_ports(x, path, o, "src_ports", &r->src_port_lo, &r->src_port_hi) ||
	    get_ports(x, path, o, "dst_ports", &r->dst_port_lo, &r->dst_port_hi))
		return -1;
	return 0;
}

/* "firewall": {"default": "allow"|"deny", "max_connections": N, "rules": [...]} */
static int parse_firewall(cfg_ctx *x, const char *path, json_object *o, vmm_net_policy *pol,
			  vmm_net_fw_rule **rules)
{
	static const char *const keys[] = { "default", "max_connections", "rules", NULL };
	static const char *const actions[] = { "deny", "allow", NULL };
	json_object *arr;
	uint64_t conns = 0;
	size_t n;
	int rc;

	if (cfg_need_object(x, path, o) || cfg_check_keys(x, path, o, keys) ||
	    get_word(x, path, o, "default", actions, &pol->fw_default) < 0 ||
	    cfg_get_uint(x, path, o, "max_connections", 1, 1u << 20, &conns) < 0)
		return -1;
	pol->flags |= VMM_NET_FIREWALL;
	pol->fw_max_conns = (uint32_t)conns;
	if ((rc = cfg_get_array(x, path, o, "rules", MAX_RULES, &arr)) != 0)
		return rc < 0 ? -1 : 0;
	n = json_object_array_length(arr);
	if (n && !(*rules = calloc(n, sizeof(**rules))))
		return cfg_fail(x, path, "out of memory");
	for (size_t i = 0; i < n; i++) {
		char p[160];

		snprintf(p, sizeof(p), "%.100s.rules[%zu]", path, i);
		if (parse_rule(x, p, json_object_array_get_idx(arr, i), &(*rules)[i]))
			return -1;
	}
	pol->rules = *rules;
	pol->nrules = (uint32_t)n;
	return 0;
}

/* "mirror": {"port": NAME, "direction": "in"|"out"|"both"}. */
static int parse_mirror(cfg_ctx *x, const char *path, json_object *o, vmm_net_policy *pol,
			char *mirror)
{
	static const char *const keys[] = { "port", "direction", NULL };
	const char *name;
	uint32_t v = 2;
	char p[160];
	int rc;

	if (cfg_need_object(x, path, o) || cfg_check_keys(x, path, o, keys))
		return -1;
	if ((rc = cfg_get_str(x, path, o, "port", &name)) != 0)
		return rc < 0 ? -1 : cfg_fail(x, path, "needs \"port\" (the port that gets the "
					      "copies)");
	if (cfg_check_name(x, P(p, path, "port"), name) ||
	    get_word(x, path, o, "direction", directions, &v) < 0)
		return -1;
	strcpy(mirror, name);
	pol->mirror_dirs = v + 1;
	return 0;
}

int cfg_policy_parse(cfg_ctx *x, const char *path, json_object *o, cfg_port *port)
{
	static const char *const keys[] = { "promiscuous", "mac_changes", "forged_transmits",
					    "antispoof", "shaping", "firewall", "mirror", NULL };
	vmm_net_policy *pol = &port->policy;
	json_object *v;
	char p[160];

	if (cfg_need_object(x, path, o) || cfg_check_keys(x, path, o, keys) ||
	    parse_security(x, path, o, pol))
		return -1;
	if (json_object_object_get_ex(o, "antispoof", &v) &&
	    parse_antispoof(x, P(p, path, "antispoof"), v, pol, &port->ipv4))
		return -1;
	if (json_object_object_get_ex(o, "shaping", &v) &&
	    parse_shaping(x, P(p, path, "shaping"), v, pol))
		return -1;
	if (json_object_object_get_ex(o, "firewall", &v) &&
	    parse_firewall(x, P(p, path, "firewall"), v, pol, &port->rules))
		return -1;
	if (json_object_object_get_ex(o, "mirror", &v) &&
	    parse_mirror(x, P(p, path, "mirror"), v, pol, port->mirror))
		return -1;
	return 0;
}
