/* cluster_cfg.c - the JSON values of the cluster's keys (docs/net.md),
 * parsed strictly with json-c: an unknown field, a wrong type, a number
 * out of range or an address that does not parse refuses the whole value
 * with the path of what is wrong ("policy.firewall.rules[2].proto: ...");
 * whatever etcd holds is caller input. */
#include <arpa/inet.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/net/cluster.h"

static int bad(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, CL_ERR, fmt, ap);
	va_end(ap);
	return -1;
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > CL_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return false;
	return true;
}

int vmm__cl_key(const char *rel, const char **name, uint32_t *vlan)
{
	*name = NULL;
	*vlan = 0;
	if (!strcmp(rel, "config"))
		return CL_KEY_CONFIG;
	if (!strncmp(rel, "vni/", 4)) {
		char *e;
		unsigned long v = strtoul(rel + 4, &e, 10);

		if (rel[4] < '1' || rel[4] > '9' || *e || v > 4094)
			return CL_KEY_UNKNOWN;
		*vlan = (uint32_t)v;
		return CL_KEY_VNI;
	}
	if (!strncmp(rel, "group/", 6) && name_ok(rel + 6)) {
		*name = rel + 6;
		return CL_KEY_GROUP;
	}
	if (!strncmp(rel, "host/", 5) && name_ok(rel + 5)) {
		*name = rel + 5;
		return CL_KEY_HOST;
	}
	return CL_KEY_UNKNOWN;
}

/* Every field of o is one of the NULL-terminated allowed names. */
static int fields(json_object *o, const char *path, const char *const *allowed, char *err)
{
	if (!json_object_is_type(o, json_type_object))
		return bad(err, "%s: not a JSON object", path);
	json_object_object_foreach(o, k, v) {
		bool ok = false;

		(void)v;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = !strcmp(k, *a);
		if (!ok)
			return bad(err, "%s: unknown field '%.40s'", path, k);
	}
	return 0;
}

/* An integer field in lo..hi; absent leaves *v. */
static int int_field(json_object *o, const char *f, const char *path, int64_t lo, int64_t hi,
		     int64_t *v, char *err)
{
	json_object *x;

	if (!json_object_object_get_ex(o, f, &x))
		return 0;
	if (!json_object_is_type(x, json_type_int) || json_object_get_int64(x) < lo ||
	    json_object_get_int64(x) > hi)
		return bad(err, "%s.%s: not an integer in %lld..%lld", path, f, (long long)lo,
			   (long long)hi);
	*v = json_object_get_int64(x);
	return 0;
}

static int bool_field(json_object *o, const char *f, const char *path, bool *v, char *err)
{
	json_object *x;

	if (!json_object_object_get_ex(o, f, &x))
		return 0;
	if (!json_object_is_type(x, json_type_boolean))
		return bad(err, "%s.%s: not true or false", path, f);
	*v = json_object_get_boolean(x);
	return 0;
}

static int str_field(json_object *o, const char *f, const char *path, const char **v, char *err)
{
	json_object *x;

	if (!json_object_object_get_ex(o, f, &x))
		return 0;
	if (!json_object_is_type(x, json_type_string))
		return bad(err, "%s.%s: not a string", path, f);
	*v = json_object_get_string(x);
	return 0;
}

/* "a.b.c.d" or "a.b.c.d/n": host order address and mask. */
static int prefix_parse(const char *s, uint32_t *addr, uint32_t *mask)
{
	char buf[32], *slash;
	struct in_addr a;
	long bits = 32;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	if ((slash = strchr(buf, '/'))) {
		char *e;

		*slash = 0;
		bits = strtol(slash + 1, &e, 10);
		if (e == slash + 1 || *e || bits < 0 || bits > 32)
			return -1;
	}
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -1;
	*mask = bits ? ~0u << (32 - bits) : 0;
	*addr = ntohl(a.s_addr) & *mask;
	return 0;
}

static int shaping(json_object *o, const char *f, vmm_net_shaping *s, char *err)
{
	static const char *const allowed[] = { "avg_bps", "peak_bps", "burst_bytes", NULL };
	char path[64];
	json_object *x;
	int64_t avg = 0, peak = 0, burst = 0;

	if (!json_object_object_get_ex(o, f, &x))
		return 0;
	snprintf(path, sizeof(path), "policy.%s", f);
	if (fields(x, path, allowed, err) ||
	    int_field(x, "avg_bps", path, 0, 1000000000000ll, &avg, err) ||
	    int_field(x, "peak_bps", path, 0, 1000000000000ll, &peak, err) ||
	    int_field(x, "burst_bytes", path, 0, 1ll << 40, &burst, err))
		return -1;
	*s = (vmm_net_shaping){ (uint64_t)avg, (uint64_t)peak, (uint64_t)burst };
	return 0;
}

/* "sport": 80 or [1024, 65535]. */
static int port_range(json_object *r, const char *f, const char *path, uint16_t *lo,
		      uint16_t *hi, char *err)
{
	json_object *x;
	int64_t a, b;

	if (!json_object_object_get_ex(r, f, &x))
		return 0;
	if (json_object_is_type(x, json_type_int)) {
		a = b = json_object_get_int64(x);
	} else if (json_object_is_type(x, json_type_array) && json_object_array_length(x) == 2 &&
		   json_object_is_type(json_object_array_get_idx(x, 0), json_type_int) &&
		   json_object_is_type(json_object_array_get_idx(x, 1), json_type_int)) {
		a = json_object_get_int64(json_object_array_get_idx(x, 0));
		b = json_object_get_int64(json_object_array_get_idx(x, 1));
	} else {
		return bad(err, "%s.%s: not a port or [low, high]", path, f);
	}
	if (a < 0 || b > 65535 || a > b)
		return bad(err, "%s.%s: not within 0..65535, low <= high", path, f);
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

static int rule_parse(json_object *r, const char *path, vmm_net_fw_rule *out, char *err)
{
	static const char *const allowed[] = { "action", "dirs", "proto", "src", "dst", "sport",
					       "dport", NULL };
	static const struct { const char *name; uint32_t v; } protos[] = {
		{ "any", 0 }, { "icmp", 1 }, { "tcp", 6 }, { "udp", 17 } };
	const char *action = NULL, *dirs = "both", *src = NULL, *dst = NULL;
	json_object *p;
	vmm_net_fw_rule x = { .dirs = VMM_NET_DIR_IN | VMM_NET_DIR_OUT };

	if (fields(r, path, allowed, err) || str_field(r, "action", path, &action, err) ||
	    str_field(r, "dirs", path, &dirs, err) || str_field(r, "src", path, &src, err) ||
	    str_field(r, "dst", path, &dst, err) ||
	    port_range(r, "sport", path, &x.src_port_lo, &x.src_port_hi, err) ||
	    port_range(r, "dport", path, &x.dst_port_lo, &x.dst_port_hi, err))
		return -1;
	if (!action || (strcmp(action, "allow") && strcmp(action, "deny")))
		return bad(err, "%s.action: \"allow\" or \"deny\" is needed", path);
	x.action = !strcmp(action, "allow") ? VMM_NET_FW_ALLOW : VMM_NET_FW_DENY;
	if (!strcmp(dirs, "in"))
		x.dirs = VMM_NET_DIR_IN;
	else if (!strcmp(dirs, "out"))
		x.dirs = VMM_NET_DIR_OUT;
	else if (strcmp(dirs, "both"))
		return bad(err, "%s.dirs: not \"in\", \"out\" or \"both\"", path);
	if (json_object_object_get_ex(r, "proto", &p)) {
		bool ok = false;

		if (json_object_is_type(p, json_type_int) && json_object_get_int64(p) >= 0 &&
		    json_object_get_int64(p) <= 255) {
			x.proto = (uint32_t)json_object_get_int64(p);
			ok = true;
		}
		for (size_t i = 0; !ok && json_object_is_type(p, json_type_string) && i < 4; i++)
			if (!strcmp(json_object_get_string(p), protos[i].name)) {
				x.proto = protos[i].v;
				ok = true;
			}
		if (!ok)
			return bad(err, "%s.proto: not any, icmp, tcp, udp or 0..255", path);
	}
	if ((src && prefix_parse(src, &x.src_addr, &x.src_mask)) ||
	    (dst && prefix_parse(dst, &x.dst_addr, &x.dst_mask)))
		return bad(err, "%s: src or dst is not an IPv4 address or prefix", path);
	*out = x;
	return 0;
}

static int firewall(json_object *pol, vmm__cl_group *g, char *err)
{
	static const char *const allowed[] = { "default", "max_conns", "rules", NULL };
	const char *def = "deny";
	json_object *fw, *rules = NULL;
	int64_t max = 0;
	size_t n;

	if (!json_object_object_get_ex(pol, "firewall", &fw))
		return 0;
	if (fields(fw, "policy.firewall", allowed, err) ||
	    str_field(fw, "default", "policy.firewall", &def, err) ||
	    int_field(fw, "max_conns", "policy.firewall", 0, 1 << 20, &max, err))
		return -1;
	if (strcmp(def, "allow") && strcmp(def, "deny"))
		return bad(err, "policy.firewall.default: not \"allow\" or \"deny\"");
	g->pol.flags |= VMM_NET_FIREWALL;
	g->pol.fw_default = !strcmp(def, "allow") ? VMM_NET_FW_ALLOW : VMM_NET_FW_DENY;
	g->pol.fw_max_conns = (uint32_t)max;
	json_object_object_get_ex(fw, "rules", &rules);
	if (rules && (!json_object_is_type(rules, json_type_array) ||
		      (n = json_object_array_length(rules)) > 1024))
		return bad(err, "policy.firewall.rules: not an array of at most 1024 rules");
	if (!rules || !n)
		return 0;
	if (!(g->rules = calloc(n, sizeof(*g->rules))))
		return bad(err, "out of memory");
	for (size_t i = 0; i < n; i++) {
		char path[48];

		snprintf(path, sizeof(path), "policy.firewall.rules[%zu]", i);
		if (rule_parse(json_object_array_get_idx(rules, i), path, &g->rules[i], err))
			return -1;
	}
	g->pol.rules = g->rules;
	g->pol.nrules = (uint32_t)n;
	return 0;
}

static int addresses(json_object *pol, vmm__cl_group *g, char *err)
{
	json_object *a;
	size_t n;

	if (!json_object_object_get_ex(pol, "ipv4", &a))
		return 0;
	if (!json_object_is_type(a, json_type_array) || (n = json_object_array_length(a)) > 64)
		return bad(err, "policy.ipv4: not an array of at most 64 addresses");
	for (size_t i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(a, i);
		struct in_addr ia;

		if (!json_object_is_type(s, json_type_string) ||
		    inet_pton(AF_INET, json_object_get_string(s), &ia) != 1)
			return bad(err, "policy.ipv4[%zu]: not an IPv4 address", i);
		g->ipv4[i] = ntohl(ia.s_addr);
	}
	g->pol.ipv4 = g->ipv4;
	g->pol.nipv4 = (uint32_t)n;
	return 0;
}

int vmm__cl_policy_parse(struct json_object *pol, vmm__cl_group *g, char *err)
{
	static const char *const allowed[] = { "promiscuous", "mac_changes", "forged_transmits",
					       "antispoof", "ipv4", "firewall", "shape_in",
					       "shape_out", NULL };
	bool promisc = false, macch = true, forged = true, anti = false;

	if (fields(pol, "policy", allowed, err) ||
	    bool_field(pol, "promiscuous", "policy", &promisc, err) ||
	    bool_field(pol, "mac_changes", "policy", &macch, err) ||
	    bool_field(pol, "forged_transmits", "policy", &forged, err) ||
	    bool_field(pol, "antispoof", "policy", &anti, err))
		return -1;
	g->pol.flags = (promisc ? VMM_NET_SEC_PROMISC : 0) | (macch ? VMM_NET_SEC_MAC_CHANGES : 0) |
		       (forged ? VMM_NET_SEC_FORGED : 0) | (anti ? VMM_NET_ANTISPOOF : 0);
	return addresses(pol, g, err) || firewall(pol, g, err) ||
	       shaping(pol, "shape_in", &g->pol.shape_in, err) ||
	       shaping(pol, "shape_out", &g->pol.shape_out, err) ? -1 : 0;
}

static int vlans(json_object *o, vmm__cl_group *g, char *err)
{
	json_object *v, *t;
	int64_t vlan = 0, native = 0;
	bool has_v = json_object_object_get_ex(o, "vlan", &v);
	bool has_t = json_object_object_get_ex(o, "trunk", &t);

	if (has_v == has_t)
		return bad(err, "one of \"vlan\" (an access group) or \"trunk\" is needed");
	if (has_v) {
		if (int_field(o, "vlan", "group", 1, 4094, &vlan, err))
			return -1;
		if (json_object_object_get_ex(o, "native", &v))
			return bad(err, "group.native: only a trunk has a native VLAN");
		g->vlan = (uint32_t)vlan;
		return 0;
	}
	if (int_field(o, "native", "group", 0, 4094, &native, err))
		return -1;
	if (!json_object_is_type(t, json_type_array) || json_object_array_length(t) > 4094)
		return bad(err, "group.trunk: not an array of VLANs");
	for (size_t i = 0; i < json_object_array_length(t); i++) {
		json_object *x = json_object_array_get_idx(t, i);

		if (!json_object_is_type(x, json_type_int) || json_object_get_int64(x) < 1 ||
		    json_object_get_int64(x) > 4094)
			return bad(err, "group.trunk[%zu]: not a VLAN 1..4094", i);
		g->trunk_vlans[g->ntrunk++] = (uint16_t)json_object_get_int64(x);
	}
	g->trunk = true;
	g->vlan = (uint32_t)native;
	return 0;
}

static json_object *parse_obj(const char *json, char *err)
{
	json_object *o = json_tokener_parse(json);

	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		bad(err, "not a JSON object");
		return NULL;
	}
	return o;
}

int vmm__cl_group_parse(const char *json, vmm__cl_group *g, char *err)
{
	static const char *const allowed[] = { "vlan", "trunk", "native", "policy", NULL };
	static const vmm_net_policy defaults = VMM_NET_POLICY_INIT;
	json_object *o = parse_obj(json, err), *pol;
	int rc;

	memset(g, 0, sizeof(*g));
	g->pol = defaults;
	if (!o)
		return -1;
	rc = fields(o, "group", allowed, err) || vlans(o, g, err) ||
	     (json_object_object_get_ex(o, "policy", &pol) && vmm__cl_policy_parse(pol, g, err)) ? -1 : 0;
	json_object_put(o);
	if (rc)
		vmm__cl_group_free(g);
	return rc;
}

void vmm__cl_group_free(vmm__cl_group *g)
{
	free(g->rules);
	g->rules = NULL;
	g->pol.rules = NULL;
	g->pol.nrules = 0;
}

int vmm__cl_vni_parse(const char *json, uint32_t *vni, char *err)
{
	static const char *const allowed[] = { "vni", NULL };
	json_object *o = parse_obj(json, err);
	int64_t v = 0;
	int rc;

	if (!o)
		return -1;
	rc = fields(o, "vni", allowed, err) || int_field(o, "vni", "vni", 1, 0xffffff, &v, err) ? -1 : 0;
	json_object_put(o);
	if (rc == 0 && !v)
		rc = bad(err, "vni: \"vni\" (1..16777215) is needed");
	*vni = (uint32_t)v;
	return rc;
}

int vmm__cl_host_parse(const char *json, uint32_t *addr, char *err)
{
	static const char *const allowed[] = { "vtep", NULL };
	json_object *o = parse_obj(json, err);
	const char *vtep = NULL;
	struct in_addr a;
	int rc;

	if (!o)
		return -1;
	rc = fields(o, "host", allowed, err) || str_field(o, "vtep", "host", &vtep, err) ? -1 : 0;
	if (rc == 0 && (!vtep || inet_pton(AF_INET, vtep, &a) != 1 || !a.s_addr))
		rc = bad(err, "host.vtep: an IPv4 address is needed");
	else if (rc == 0)
		*addr = a.s_addr;
	json_object_put(o);
	return rc;
}

int vmm__cl_config_parse(const char *json, uint32_t *mtu, uint32_t *udp_port, char *err)
{
	static const char *const allowed[] = { "mtu", "udp_port", NULL };
	json_object *o = parse_obj(json, err);
	int64_t m = 0, p = 0;
	int rc;

	if (!o)
		return -1;
	rc = fields(o, "config", allowed, err) ||
	     int_field(o, "mtu", "config", 68, VMM_NET_MTU_MAX, &m, err) ||
	     int_field(o, "udp_port", "config", 1, 65535, &p, err) ? -1 : 0;
	json_object_put(o);
	*mtu = (uint32_t)m;
	*udp_port = (uint32_t)p;
	return rc;
}

int vmm__cl_check(const char *rel, const char *json, char *err)
{
	const char *name;
	uint32_t vlan, a, b;
	vmm__cl_group *g;
	int rc;

	switch (vmm__cl_key(rel, &name, &vlan)) {
	case CL_KEY_CONFIG:
		return vmm__cl_config_parse(json, &a, &b, err);
	case CL_KEY_VNI:
		return vmm__cl_vni_parse(json, &a, err);
	case CL_KEY_HOST:
		return vmm__cl_host_parse(json, &a, err);
	case CL_KEY_GROUP:
		if (!(g = malloc(sizeof(*g))))
			return bad(err, "out of memory");
		rc = vmm__cl_group_parse(json, g, err);
		vmm__cl_group_free(g);
		free(g);
		return rc;
	default:
		return bad(err, "'%.60s' is not a key of the layout (config, vni/VLAN, "
			   "group/NAME, host/NAME)", rel);
	}
}
