/* port_state.c - a port's state exported as JSON and imported on another
 * port, of this switch or of another host's (vmm/net.h), so it can follow
 * its VM: the policy (as a port group's JSON; not the mirror, which names
 * a port of this switch), the counters, and the firewall's tracked
 * connections with the time each has left. The JSON is
 * port_state_parse.c's. */
#include <arpa/inet.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/net/net.h"
#include "lib/net/port_state.h"

static const char fn_exp[] = "vmm_net_port_state_export", fn_imp[] = "vmm_net_port_state_import";

static json_object *addr(uint32_t a)
{
	char s[INET_ADDRSTRLEN];
	struct in_addr ia = { htonl(a) };

	inet_ntop(AF_INET, &ia, s, sizeof(s));
	return json_object_new_string(s);
}

static json_object *range(uint16_t lo, uint16_t hi)
{
	json_object *a = json_object_new_array();

	json_object_array_add(a, json_object_new_int(lo));
	json_object_array_add(a, json_object_new_int(hi));
	return a;
}

/* "a.b.c.d/n"; -1 for a mask that is not a prefix. */
static int prefix(json_object *r, const char *f, uint32_t a, uint32_t mask)
{
	char s[40];
	struct in_addr ia = { htonl(a & mask) };
	int bits = __builtin_popcount(mask);

	if (!mask)
		return 0;
	if (mask != ~0u << (32 - bits))
		return -1;
	inet_ntop(AF_INET, &ia, s, 20);
	snprintf(s + strlen(s), sizeof(s) - strlen(s), "/%d", bits);
	json_object_object_add(r, f, json_object_new_string(s));
	return 0;
}

static int rule(json_object *rules, const vmm_net_fw_rule *x, uint32_t i)
{
	json_object *r;

	if (!(x->dirs & 3))
		return 0;                      /* matches nothing: left out */
	r = json_object_new_object();
	json_object_array_add(rules, r);
	json_object_object_add(r, "action", json_object_new_string(x->action == VMM_NET_FW_ALLOW ?
								     "allow" : "deny"));
	json_object_object_add(r, "dirs", json_object_new_string((x->dirs & 3) == 3 ? "both" :
				       x->dirs & VMM_NET_DIR_IN ? "in" : "out"));
	json_object_object_add(r, "proto", json_object_new_int((int)x->proto));
	if (prefix(r, "src", x->src_addr, x->src_mask) || prefix(r, "dst", x->dst_addr, x->dst_mask))
		return vmm__err(VMM_ENOTSUP, "%s: firewall rule %u has a mask that is not a prefix "
				"(a.b.c.d/n)", fn_exp, i);
	if (x->src_port_lo || x->src_port_hi)
		json_object_object_add(r, "sport", range(x->src_port_lo, x->src_port_hi));
	if (x->dst_port_lo || x->dst_port_hi)
		json_object_object_add(r, "dport", range(x->dst_port_lo, x->dst_port_hi));
	return 0;
}

static void shaping(json_object *pol, const char *f, const vmm_net_shaping *s)
{
	json_object *o;

	if (!s->avg_bps && !s->peak_bps && !s->burst_bytes)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "avg_bps", json_object_new_int64((int64_t)s->avg_bps));
	json_object_object_add(o, "peak_bps", json_object_new_int64((int64_t)s->peak_bps));
	json_object_object_add(o, "burst_bytes", json_object_new_int64((int64_t)s->burst_bytes));
	json_object_object_add(pol, f, o);
}

static int policy(json_object *top, const vmm_net_policy *p)
{
	json_object *pol = json_object_new_object(), *a, *fw, *rules;

	json_object_object_add(top, "policy", pol);
	json_object_object_add(pol, "promiscuous", json_object_new_boolean(p->flags & VMM_NET_SEC_PROMISC));
	json_object_object_add(pol, "mac_changes", json_object_new_boolean(p->flags & VMM_NET_SEC_MAC_CHANGES));
	json_object_object_add(pol, "forged_transmits", json_object_new_boolean(p->flags & VMM_NET_SEC_FORGED));
	json_object_object_add(pol, "antispoof", json_object_new_boolean(p->flags & VMM_NET_ANTISPOOF));
	if (p->nipv4) {
		json_object_object_add(pol, "ipv4", a = json_object_new_array());
		for (uint32_t i = 0; i < p->nipv4; i++)
			json_object_array_add(a, addr(p->ipv4[i]));
	}
	shaping(pol, "shape_in", &p->shape_in);
	shaping(pol, "shape_out", &p->shape_out);
	if (!(p->flags & VMM_NET_FIREWALL))
		return 0;
	json_object_object_add(pol, "firewall", fw = json_object_new_object());
	json_object_object_add(fw, "default", json_object_new_string(
				       p->fw_default == VMM_NET_FW_ALLOW ? "allow" : "deny"));
	json_object_object_add(fw, "max_conns", json_object_new_int((int)p->fw_max_conns));
	json_object_object_add(fw, "rules", rules = json_object_new_array());
	for (uint32_t i = 0; i < p->nrules; i++)
		if (rule(rules, &p->rules[i], i))
			return -1;
	return 0;
}

static void counters(json_object *top, vmm__sw_port *p)
{
	const uint64_t v[PSTATE_COUNTERS] = { p->in_frames, p->in_bytes, p->out_frames,
					      p->out_bytes, p->in_dropped, p->out_dropped,
					      p->mirrored, p->queued };
	static const char *const names[PSTATE_COUNTERS] = { "in_frames", "in_bytes", "out_frames",
		"out_bytes", "in_dropped", "out_dropped", "mirrored", "queued" };
	json_object *c = json_object_new_object(), *d = json_object_new_array();

	json_object_object_add(top, "counters", c);
	for (size_t i = 0; i < PSTATE_COUNTERS; i++)
		json_object_object_add(c, names[i], json_object_new_uint64(v[i]));
	for (size_t i = 0; i < VMM_NET_DROP_REASONS; i++)
		json_object_array_add(d, json_object_new_uint64(p->drops[i]));
	json_object_object_add(c, "drops", d);
}

static int conns(json_object *top, vmm__sw_port *p)
{
	uint32_t cap = p->fw.cap, n;
	vmm__fw_entry *e = cap ? calloc(cap, sizeof(*e)) : NULL;
	json_object *a = json_object_new_array();

	json_object_object_add(top, "conns", a);
	if (cap && !e)
		return vmm__err(VMM_ENOMEM, "%s: out of memory", fn_exp);
	n = cap ? vmm__fw_snapshot(&p->fw, vmm__sw_now(p->sw), e, cap) : 0;
	for (uint32_t i = 0; i < n; i++) {
		json_object *c = json_object_new_object();
		uint64_t ms = (e[i].ttl_ns + 999999) / 1000000;

		json_object_object_add(c, "proto", json_object_new_int(e[i].proto));
		json_object_object_add(c, "src", addr(e[i].a));
		json_object_object_add(c, "dst", addr(e[i].b));
		json_object_object_add(c, "sport", json_object_new_int(e[i].ap));
		json_object_object_add(c, "dport", json_object_new_int(e[i].bp));
		json_object_object_add(c, "dir", json_object_new_string(e[i].dir ? "out" : "in"));
		json_object_object_add(c, "replied", json_object_new_boolean(e[i].replied));
		json_object_object_add(c, "ttl_ms", json_object_new_int64(ms > 7200000 ? 7200000 : (int64_t)ms));
		json_object_array_add(a, c);
	}
	free(e);
	return 0;
}

VMM_API int vmm_net_port_state_export(vmm_net_port *p, char *buf, size_t cap, size_t *len)
{
	json_object *top;
	const char *s;
	size_t n;
	int rc;

	if (!p || !len || (!buf && cap))
		return vmm__err(VMM_EINVAL, "%s: port or len is NULL, or buf is NULL with a cap",
				fn_exp);
	*len = 0;
	if (!(top = json_object_new_object()))
		return vmm__err(VMM_ENOMEM, "%s: out of memory", fn_exp);
	json_object_object_add(top, "version", json_object_new_int(1));
	pthread_mutex_lock(&p->sw->ctl);       /* policies are replaced under it */
	rc = policy(top, &atomic_load(&p->policy)->p);
	pthread_mutex_unlock(&p->sw->ctl);
	if (rc == 0) {
		counters(top, p);
		rc = conns(top, p);
	}
	if (rc == 0 && !(s = json_object_to_json_string_ext(top, JSON_C_TO_STRING_PLAIN |
								 JSON_C_TO_STRING_NOSLASHESCAPE)))
		rc = vmm__err(VMM_ENOMEM, "%s: out of memory", fn_exp);
	if (rc == 0) {
		*len = n = strlen(s);
		if (n + 1 > cap)
			rc = vmm__err(VMM_ERANGE, "%s: the state needs %zu bytes, buf has %zu", fn_exp,
				      n + 1, cap);
		else
			memcpy(buf, s, n + 1);
	}
	json_object_put(top);
	return rc;
}

VMM_API int vmm_net_port_state_import(vmm_net_port *p, const char *json)
{
	vmm__pstate *s;
	const vmm__policy *cur;
	char err[CL_ERR];
	uint64_t now;
	uint32_t lost = 0;
	int rc;

	if (!p || !json)
		return vmm__err(VMM_EINVAL, "%s: port or json is NULL", fn_imp);
	if (p->kind == VMM_NET_PORT_UPLINK)
		return vmm__err(VMM_EINVAL, "%s: an uplink has no state to import", fn_imp);
	if (!(s = malloc(sizeof(*s))))
		return vmm__err(VMM_ENOMEM, "%s: out of memory", fn_imp);
	if (vmm__pstate_parse(json, s, err)) {
		free(s);
		return vmm__err(VMM_EINVAL, "%s: %s", fn_imp, err);
	}
	pthread_mutex_lock(&p->sw->ctl);
	cur = atomic_load(&p->policy);
	s->g.pol.mirror_port = cur->p.mirror_port;     /* the mirror is this switch's */
	s->g.pol.mirror_dirs = cur->p.mirror_dirs;
	pthread_mutex_unlock(&p->sw->ctl);
	if ((rc = vmm_net_port_set_policy(p, &s->g.pol)) == 0) {
		atomic_uint_fast64_t *c[PSTATE_COUNTERS] = { &p->in_frames, &p->in_bytes,
			&p->out_frames, &p->out_bytes, &p->in_dropped, &p->out_dropped,
			&p->mirrored, &p->queued };

		for (size_t i = 0; i < PSTATE_COUNTERS; i++)
			atomic_fetch_add(c[i], s->ctr[i]);
		for (size_t i = 0; i < VMM_NET_DROP_REASONS; i++)
			atomic_fetch_add(&p->drops[i], s->drops[i]);
		now = vmm__sw_now(p->sw);
		for (uint32_t i = 0; i < s->nconns; i++)
			lost += vmm__fw_restore(&p->fw, &s->conns[i], now) != 0;
		if (lost)
			vmm__sw_log(p->sw, "%s: port '%s': %u of %u connections found no room "
				    "(fw_max_conns) or no firewall", fn_imp, p->name, lost, s->nconns);
	}
	vmm__pstate_free(s);
	free(s);
	return rc;
}
