/* port_state_parse.c - the JSON of a port's exported state, parsed
 * strictly with json-c (it comes from another host: caller input):
 *   {"version": 1, "policy": {...as a port group's...},
 *    "counters": {"in_frames": N, ..., "drops": [N, ...by VMM_NET_DROP_*]},
 *    "conns": [{"proto": 6, "src": "10.0.0.1", "dst": "10.0.0.2",
 *               "sport": 40000, "dport": 80, "dir": "out",
 *               "replied": true, "ttl_ms": 7199000}, ...]}
 * An unknown field, a wrong type or a value out of range refuses it all. */
#include <arpa/inet.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/net/port_state.h"

static const char *const ctr_names[PSTATE_COUNTERS] = {
	"in_frames", "in_bytes", "out_frames", "out_bytes", "in_dropped", "out_dropped",
	"mirrored", "queued" };

static int bad(char *err, const char *what)
{
	snprintf(err, CL_ERR, "%s", what);
	return -1;
}

static bool only(json_object *o, const char *const *names, size_t n)
{
	json_object_object_foreach(o, k, v) {
		bool ok = false;

		(void)v;
		for (size_t i = 0; i < n && !ok; i++)
			ok = !strcmp(k, names[i]);
		if (!ok)
			return false;
	}
	return true;
}

static bool uint_of(json_object *x, uint64_t max, uint64_t *v)
{
	if (!x || !json_object_is_type(x, json_type_int) || json_object_get_int64(x) < 0)
		return false;
	*v = (uint64_t)json_object_get_int64(x);
	if (*v == INT64_MAX)                   /* json-c saturates: maybe larger */
		*v = json_object_get_uint64(x);
	return *v <= max;
}

static int counters(json_object *c, vmm__pstate *s, char *err)
{
	static const char *const names[] = { "in_frames", "in_bytes", "out_frames", "out_bytes",
					     "in_dropped", "out_dropped", "mirrored", "queued",
					     "drops" };
	json_object *x;

	if (!json_object_is_type(c, json_type_object) || !only(c, names, 9))
		return bad(err, "counters: not an object of known counters");
	for (size_t i = 0; i < PSTATE_COUNTERS; i++)
		if (json_object_object_get_ex(c, ctr_names[i], &x) &&
		    !uint_of(x, UINT64_MAX, &s->ctr[i]))
			return bad(err, "counters: a counter is not an unsigned integer");
	if (!json_object_object_get_ex(c, "drops", &x))
		return 0;
	if (!json_object_is_type(x, json_type_array) ||
	    json_object_array_length(x) > VMM_NET_DROP_REASONS)
		return bad(err, "counters.drops: not an array of at most as many reasons as "
			   "this libvmm knows");
	for (size_t i = 0; i < json_object_array_length(x); i++)
		if (!uint_of(json_object_array_get_idx(x, i), UINT64_MAX, &s->drops[i]))
			return bad(err, "counters.drops: not unsigned integers");
	return 0;
}

static bool addr_of(json_object *o, const char *f, uint32_t *a)
{
	json_object *x;
	struct in_addr ia;

	if (!json_object_object_get_ex(o, f, &x) || !json_object_is_type(x, json_type_string) ||
	    inet_pton(AF_INET, json_object_get_string(x), &ia) != 1)
		return false;
	*a = ntohl(ia.s_addr);
	return true;
}

static int conn(json_object *o, vmm__fw_entry *e, char *err)
{
	static const char *const names[] = { "proto", "src", "dst", "sport", "dport", "dir",
					     "replied", "ttl_ms" };
	json_object *x;
	uint64_t v[4] = { 0 };
	const char *dir;

	if (!json_object_is_type(o, json_type_object) || !only(o, names, 8))
		return bad(err, "conns[]: not an object of known fields");
	if (!json_object_object_get_ex(o, "proto", &x) || !uint_of(x, 255, &v[0]) ||
	    !addr_of(o, "src", &e->a) || !addr_of(o, "dst", &e->b))
		return bad(err, "conns[]: proto (0..255), src and dst (IPv4) are needed");
	if ((json_object_object_get_ex(o, "sport", &x) && !uint_of(x, 65535, &v[1])) ||
	    (json_object_object_get_ex(o, "dport", &x) && !uint_of(x, 65535, &v[2])))
		return bad(err, "conns[]: sport or dport is not 0..65535");
	if (!json_object_object_get_ex(o, "ttl_ms", &x) || !uint_of(x, 7200000, &v[3]) || !v[3])
		return bad(err, "conns[]: ttl_ms (1..7200000) is needed");
	if (!json_object_object_get_ex(o, "dir", &x) || !json_object_is_type(x, json_type_string) ||
	    (strcmp(dir = json_object_get_string(x), "in") && strcmp(dir, "out")))
		return bad(err, "conns[]: dir is \"in\" or \"out\"");
	e->replied = 0;
	if (json_object_object_get_ex(o, "replied", &x)) {
		if (!json_object_is_type(x, json_type_boolean))
			return bad(err, "conns[]: replied is not true or false");
		e->replied = json_object_get_boolean(x) ? 1 : 0;
	}
	e->proto = (uint8_t)v[0];
	e->ap = (uint16_t)v[1];
	e->bp = (uint16_t)v[2];
	e->dir = !strcmp(dir, "out");
	e->ttl_ns = v[3] * 1000000u;
	return 0;
}

static int conns(json_object *c, vmm__pstate *s, char *err)
{
	size_t n;

	if (!json_object_is_type(c, json_type_array) || (n = json_object_array_length(c)) >
							  PSTATE_CONNS_MAX)
		return bad(err, "conns: not an array of at most 2^20 connections");
	if (!n)
		return 0;
	if (!(s->conns = calloc(n, sizeof(*s->conns))))
		return bad(err, "out of memory");
	for (size_t i = 0; i < n; i++)
		if (conn(json_object_array_get_idx(c, i), &s->conns[s->nconns++], err))
			return -1;
	return 0;
}

int vmm__pstate_parse(const char *json, vmm__pstate *s, char *err)
{
	static const char *const names[] = { "version", "policy", "counters", "conns" };
	static const vmm_net_policy defaults = VMM_NET_POLICY_INIT;
	json_object *o = json_tokener_parse(json), *x;
	uint64_t ver = 0;
	int rc = -1;

	memset(s, 0, sizeof(*s));
	s->g.pol = defaults;
	if (!o || !json_object_is_type(o, json_type_object) || !only(o, names, 4))
		bad(err, "not a JSON object of version, policy, counters and conns");
	else if (!json_object_object_get_ex(o, "version", &x) || !uint_of(x, 1, &ver) || ver != 1)
		bad(err, "version: 1 is needed (a state from a newer libvmm?)");
	else if (!json_object_object_get_ex(o, "policy", &x))
		bad(err, "policy is needed");
	else if (vmm__cl_policy_parse(x, &s->g, err) == 0 &&
		 (!json_object_object_get_ex(o, "counters", &x) || counters(x, s, err) == 0) &&
		 (!json_object_object_get_ex(o, "conns", &x) || conns(x, s, err) == 0))
		rc = 0;
	json_object_put(o);
	if (rc)
		vmm__pstate_free(s);
	return rc;
}

void vmm__pstate_free(vmm__pstate *s)
{
	vmm__cl_group_free(&s->g);
	free(s->conns);
	s->conns = NULL;
	s->nconns = 0;
}
