/* cluster.c - the distributed switch's API (vmm/net.h): joining a cluster
 * whose configuration is in etcd, leaving it, ports of its groups, writing
 * its keys, its counters. The work is cluster_sync.c's. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/net/net.h"
#include "lib/net/cluster.h"

static const char fn_join[] = "vmm_switch_join_cluster";

static bool name_ok(const char *s)
{
	char rel[CL_NAME_MAX + 8];
	const char *name;
	uint32_t vlan;

	if (!s || strlen(s) > CL_NAME_MAX)
		return false;
	snprintf(rel, sizeof(rel), "host/%s", s);
	return vmm__cl_key(rel, &name, &vlan) == CL_KEY_HOST;
}

static int check(const vmm_switch *sw, const vmm_net_cluster_config *c, struct in_addr *vtep)
{
	if (!sw || !c || c->size < sizeof(*c) || c->flags)
		return vmm__err(VMM_EINVAL, "%s: switch or config is NULL, config.size is too "
				"small or flags is not 0", fn_join);
	if (!name_ok(c->name) || !name_ok(c->host))
		return vmm__err(VMM_EINVAL, "%s: name and host must be 1..%d of [A-Za-z0-9._-]",
				fn_join, CL_NAME_MAX);
	if (c->prefix && (c->prefix[0] != '/' || strlen(c->prefix) > 200))
		return vmm__err(VMM_EINVAL, "%s: prefix must start with '/' and be at most 200 "
				"bytes", fn_join);
	if (!c->vtep || inet_pton(AF_INET, c->vtep, vtep) != 1 || !vtep->s_addr)
		return vmm__err(VMM_EINVAL, "%s: vtep '%.40s' is not an IPv4 address", fn_join,
				c->vtep ? c->vtep : "(null)");
	if (!c->uplink || c->uplink->kind != VMM_NET_PORT_UPLINK || c->uplink->sw != sw ||
	    !atomic_load(&c->uplink->live))
		return vmm__err(VMM_EINVAL, "%s: uplink is not this switch's uplink port", fn_join);
	if (c->lease_ttl_s == 1 || c->lease_ttl_s > 3600 || c->timeout_ms > 600000)
		return vmm__err(VMM_EINVAL, "%s: lease_ttl_s %u is outside 2..3600 or timeout_ms "
				"%u over 600000", fn_join, c->lease_ttl_s, c->timeout_ms);
	return 0;
}

static void cl_free(vmm__cluster *cl)
{
	for (size_t i = 0; i < cl->ne; i++)
		vmm__cl_entry_free(&cl->e[i]);
	for (size_t i = 0; i < cl->nports; i++)
		vmm__port_unref(cl->ports[i].port);
	if (cl->uplink)
		vmm__port_unref(cl->uplink);
	if (cl->stop_fd >= 0)
		close(cl->stop_fd);
	pthread_mutex_destroy(&cl->lock);
	free(cl->e);
	free(cl->ports);
	free(cl->q);
	free(cl->base);
	free(cl);
}

static vmm__cluster *cl_new(vmm_switch *sw, const vmm_net_cluster_config *c, struct in_addr vtep)
{
	const char *prefix = c->prefix ? c->prefix : "/vmm/";
	bool slash = prefix[strlen(prefix) - 1] == '/';
	vmm__cluster *cl = calloc(1, sizeof(*cl));

	if (!cl)
		return NULL;
	pthread_mutex_init(&cl->lock, NULL);
	cl->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	cl->watch.fd = -1;
	cl->sw = sw;
	cl->vtep = vtep.s_addr;
	cl->ttl_s = c->lease_ttl_s ? c->lease_ttl_s : 10;
	cl->event = c->event;
	cl->event_opaque = c->event_opaque;
	snprintf(cl->host, sizeof(cl->host), "%s", c->host);
	snprintf(cl->host_value, sizeof(cl->host_value), "{\"vtep\": \"%s\"}", inet_ntoa(vtep));
	cl->etcd.stop_fd = cl->stop_fd;
	cl->etcd.timeout_ms = c->timeout_ms ? c->timeout_ms : 5000;
	if (cl->stop_fd < 0 ||
	    asprintf(&cl->base, "%s%sswitch/%s/", prefix, slash ? "" : "/", c->name) < 0) {
		cl->base = NULL;
		cl_free(cl);
		return NULL;
	}
	atomic_fetch_add(&c->uplink->refs, 1);
	cl->uplink = c->uplink;
	return cl;
}

static int start(vmm__cluster *cl)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&cl->thread, NULL, vmm__cl_thread, cl);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return vmm__err(VMM_ENOMEM, "%s: cannot start its thread: %s", fn_join, strerror(rc));
	pthread_setname_np(cl->thread, "vmm-swetcd");
	cl->started = true;
	return 0;
}

/* The switch's config key, if any, must agree with this host's switch. */
static int agree(vmm__cluster *cl)
{
	vmm__cl_entry *e = vmm__cl_find(cl, "config");
	uint32_t mtu = 0, port = 0;
	char err[CL_ERR];

	if (!e)
		return 0;
	if (vmm__cl_config_parse(e->value, &mtu, &port, err) == 0 &&
	    (!mtu || mtu == cl->sw->mtu) && (!port || port == vmm__vx_udp_port(cl->uplink)))
		return 0;
	return vmm__err(VMM_EINVAL, "%s: the cluster's config (%s) does not fit this switch "
			"(mtu %u, uplink UDP port %u)", fn_join, e->value, cl->sw->mtu,
			vmm__vx_udp_port(cl->uplink));
}

VMM_API int vmm_switch_join_cluster(vmm_switch *sw, const vmm_net_cluster_config *c,
				    vmm_net_cluster **out)
{
	struct in_addr vtep;
	vmm__cluster *cl;
	int rc;

	if (!out)
		return vmm__err(VMM_EINVAL, "%s: out is NULL", fn_join);
	*out = NULL;
	if ((rc = check(sw, c, &vtep)))
		return rc;
	if (!(cl = cl_new(sw, c, vtep)))
		return vmm__err(VMM_ENOMEM, "%s: out of memory", fn_join);
	if ((rc = vmm__http_url_parse(fn_join, c->etcd, &cl->etcd.url))) {
		cl_free(cl);
		return rc;
	}
	pthread_mutex_lock(&sw->ctl);
	if (sw->cluster) {
		pthread_mutex_unlock(&sw->ctl);
		cl_free(cl);
		return vmm__err(VMM_EBUSY, "%s: the switch is in a cluster already", fn_join);
	}
	sw->cluster = cl;
	pthread_mutex_unlock(&sw->ctl);
	/* Register, read (the uplink gets the map and flood list), check, watch. */
	if ((rc = vmm_net_uplink_set_vnis(cl->uplink, NULL, 0)) || (rc = vmm__cl_register(cl)) ||
	    (rc = vmm__cl_sync(cl)) || (rc = agree(cl)) || (rc = start(cl))) {
		vmm_net_cluster_leave(cl);
		return rc;
	}
	pthread_mutex_lock(&cl->lock);
	cl->st.connected = 1;
	cl->nq = 0;                            /* the join itself is no event */
	pthread_mutex_unlock(&cl->lock);
	*out = cl;
	return 0;
}

VMM_API void vmm_net_cluster_leave(vmm_net_cluster *cl)
{
	uint64_t one = 1;
	vmm_switch *sw;

	if (!cl)
		return;
	sw = cl->sw;
	if (cl->started) {
		while (write(cl->stop_fd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
		pthread_join(cl->thread, NULL);
	}
	if (cl->watching)
		vmm__http_close(&cl->watch);
	if (cl->lease) {                       /* the others drop this host now */
		vmm__etcd e = cl->etcd;

		e.stop_fd = -1;
		e.timeout_ms = 2000;
		vmm__etcd_lease_revoke(&e, cl->lease);
	}
	pthread_mutex_lock(&sw->ctl);
	if (sw->cluster == cl)
		sw->cluster = NULL;
	pthread_mutex_unlock(&sw->ctl);
	cl_free(cl);
}

VMM_API int vmm_net_cluster_port_create(vmm_net_cluster *cl, const char *group,
					const vmm_net_port_config *c, vmm_net_port **out)
{
	static const char fn[] = "vmm_net_cluster_port_create";
	char rel[CL_NAME_MAX + 8];
	vmm_net_port_config pc;
	vmm__cl_entry *e;
	vmm__cl_group *g;
	int rc;

	if (!cl || !group || !c || !out || c->size < offsetof(vmm_net_port_config, uplink))
		return vmm__err(VMM_EINVAL, "%s: an argument is NULL or config.size too small", fn);
	*out = NULL;
	if (c->vlan || c->flags || c->ntrunk || c->policy || c->kind == VMM_NET_PORT_UPLINK)
		return vmm__err(VMM_EINVAL, "%s: the group gives the VLANs and the policy: "
				"vlan, flags, trunk_vlans and policy must be 0 (and no uplink)", fn);
	snprintf(rel, sizeof(rel), "group/%.*s", CL_NAME_MAX, group);
	pthread_mutex_lock(&cl->lock);
	if (!(e = vmm__cl_find(cl, rel)) || strlen(group) > CL_NAME_MAX) {
		pthread_mutex_unlock(&cl->lock);
		return vmm__err(VMM_ENOENT, "%s: the cluster has no group '%.64s'", fn, group);
	}
	g = e->group;
	pc = *c;
	pc.size = sizeof(pc);
	pc.uplink = NULL;
	pc.vlan = g->vlan;
	pc.flags = g->trunk ? VMM_NET_PORT_TRUNK : 0;
	pc.trunk_vlans = g->trunk_vlans;
	pc.ntrunk = g->ntrunk;
	pc.policy = &g->pol;
	if (cl->nports == cl->capports) {
		size_t n = cl->capports ? cl->capports * 2 : 16;
		vmm__cl_port *p = realloc(cl->ports, n * sizeof(*p));

		if (!p) {
			pthread_mutex_unlock(&cl->lock);
			return vmm__err(VMM_ENOMEM, "%s: out of memory", fn);
		}
		cl->ports = p;
		cl->capports = n;
	}
	if ((rc = vmm_net_port_create(cl->sw, &pc, out)) == 0) {
		atomic_fetch_add(&(*out)->refs, 1);
		cl->ports[cl->nports].port = *out;
		snprintf(cl->ports[cl->nports++].group, CL_NAME_MAX + 1, "%s", group);
		cl->st.ports = (uint32_t)cl->nports;
	}
	pthread_mutex_unlock(&cl->lock);
	return rc;
}

static int key_of(const char *fn, vmm__cluster *cl, const char *rel, char **key)
{
	const char *name;
	uint32_t vlan;
	int kind;

	if (!cl || !rel)
		return vmm__err(VMM_EINVAL, "%s: cluster or key is NULL", fn);
	kind = vmm__cl_key(rel, &name, &vlan);
	if (kind == CL_KEY_UNKNOWN || kind == CL_KEY_HOST)
		return vmm__err(VMM_EINVAL, "%s: '%.60s' is not config, vni/VLAN or group/NAME "
				"(host keys are the hosts' own)", fn, rel);
	if (asprintf(key, "%s%s", cl->base, rel) < 0)
		return vmm__err(VMM_ENOMEM, "%s: out of memory", fn);
	return 0;
}

VMM_API int vmm_net_cluster_put(vmm_net_cluster *cl, const char *rel, const char *json)
{
	static const char fn[] = "vmm_net_cluster_put";
	char err[CL_ERR], *key;
	vmm__etcd e;
	int rc;

	if ((rc = key_of(fn, cl, rel, &key)))
		return rc;
	if (!json || vmm__cl_check(rel, json, err)) {
		free(key);
		return vmm__err(VMM_EINVAL, "%s: %s: %s", fn, rel, json ? err : "json is NULL");
	}
	e = cl->etcd;
	e.stop_fd = -1;
	rc = vmm__etcd_put(&e, key, json, 0);
	free(key);
	return rc;
}

VMM_API int vmm_net_cluster_delete(vmm_net_cluster *cl, const char *rel)
{
	char *key;
	vmm__etcd e;
	int rc;

	if ((rc = key_of("vmm_net_cluster_delete", cl, rel, &key)))
		return rc;
	e = cl->etcd;
	e.stop_fd = -1;
	rc = vmm__etcd_delete(&e, key, 0);
	free(key);
	return rc;
}

VMM_API int vmm_net_cluster_stats_get(vmm_net_cluster *cl, vmm_net_cluster_stats *st)
{
	if (!cl || !st || st->size < sizeof(*st))
		return vmm__err(VMM_EINVAL, "vmm_net_cluster_stats_get: cluster or stats is NULL, "
				"or stats.size is too small");
	pthread_mutex_lock(&cl->lock);
	*st = cl->st;
	st->size = sizeof(*st);
	for (size_t i = 0; i < cl->nports; i++)
		if (!atomic_load(&cl->ports[i].port->live))
			st->ports--;
	pthread_mutex_unlock(&cl->lock);
	return 0;
}

/* vmm_switch_destroy: the cluster goes first (it holds the uplink). */
void vmm__cluster_leave_switch(vmm_switch *sw)
{
	vmm__cluster *cl;

	pthread_mutex_lock(&sw->ctl);
	cl = sw->cluster;
	pthread_mutex_unlock(&sw->ctl);
	vmm_net_cluster_leave(cl);
}
