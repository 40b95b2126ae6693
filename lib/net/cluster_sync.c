/* cluster_sync.c - keeping a host in step with the cluster's keys in etcd.
 * The state is the last good value of every key under the switch's
 * prefix. A key put or deleted (a watch event, or a difference found by a
 * whole read) is parsed and applied: a group's policy to this host's
 * ports of the group, the VNI entries as the uplink's map, the hosts as
 * its flood list (this host excluded). A value that does not parse is
 * refused and the last good one kept. The thread ("vmm-swetcd") watches
 * the prefix, renews the host's lease every third of its TTL, and on any
 * break (etcd restarted, a watch canceled or compacted) reads everything
 * again and watches from there, retrying every 0.1..1 s meanwhile; the
 * switch runs on its last configuration all along. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/net/net.h"
#include "lib/net/cluster.h"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void vmm__cl_log(vmm__cluster *cl, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vmm__sw_log(cl->sw, "vmm_net cluster '%s': %s", cl->host, msg);
}

static void queue(vmm__cluster *cl, uint32_t ev, const char *name)
{
	if (cl->nq == cl->capq) {
		size_t n = cl->capq ? cl->capq * 2 : 16;
		vmm__cl_event *q = n <= 4096 ? realloc(cl->q, n * sizeof(*q)) : NULL;

		if (!q)
			return;                    /* events are advisory */
		cl->q = q;
		cl->capq = n;
	}
	cl->q[cl->nq].ev = ev;
	snprintf(cl->q[cl->nq++].name, sizeof(cl->q[0].name), "%s", name ? name : "");
}

void vmm__cl_deliver(vmm__cluster *cl)
{
	vmm__cl_event *q;
	size_t n;

	pthread_mutex_lock(&cl->lock);
	q = cl->q;
	n = cl->nq;
	cl->q = NULL;
	cl->nq = cl->capq = 0;
	pthread_mutex_unlock(&cl->lock);
	for (size_t i = 0; cl->event && i < n; i++)
		cl->event(cl->event_opaque, q[i].ev, q[i].name);
	free(q);
}

vmm__cl_entry *vmm__cl_find(vmm__cluster *cl, const char *rel)
{
	for (size_t i = 0; i < cl->ne; i++)
		if (!strcmp(cl->e[i].rel, rel))
			return &cl->e[i];
	return NULL;
}

void vmm__cl_entry_free(vmm__cl_entry *e)
{
	free(e->rel);
	free(e->value);
	if (e->group)
		vmm__cl_group_free(e->group);
	free(e->group);
}

/* ---- applying ---- */

static void apply_vnis(vmm__cluster *cl)
{
	vmm_net_vni *v = calloc(cl->ne ? cl->ne : 1, sizeof(*v));
	uint32_t n = 0;

	if (!v)
		return;
	for (size_t i = 0; i < cl->ne; i++)
		if (cl->e[i].kind == CL_KEY_VNI)
			v[n++] = (vmm_net_vni){ cl->e[i].vlan, cl->e[i].vni };
	if (vmm_net_uplink_set_vnis(cl->uplink, v, n) == 0) {
		cl->st.vnis = n;
		queue(cl, VMM_NET_CLUSTER_VNIS, "");
	} else {
		cl->st.refused++;
		vmm__cl_log(cl, "the VNI map is refused, the uplink keeps its last one: %s",
			    vmm_last_error());
		queue(cl, VMM_NET_CLUSTER_REFUSED, "vni");
	}
	free(v);
}

/* The ports of a group on this host take its policy; ports the embedder
 * destroyed are dropped from the list here. */
static void apply_group(vmm__cluster *cl, const char *name, const vmm__cl_group *g)
{
	for (size_t i = 0; i < cl->nports;) {
		vmm__cl_port *p = &cl->ports[i];

		if (!atomic_load(&p->port->live)) {
			vmm__port_unref(p->port);
			*p = cl->ports[--cl->nports];
			continue;
		}
		i++;
		if (strcmp(p->group, name))
			continue;
		if (p->port->vlan != g->vlan || !(p->port->flags & VMM_NET_PORT_TRUNK) != !g->trunk)
			vmm__cl_log(cl, "port '%s': group '%s' changed its VLANs; the port keeps "
				    "its own until it is created again", p->port->name, name);
		if (vmm_net_port_set_policy(p->port, &g->pol))
			vmm__cl_log(cl, "port '%s': group '%s': %s", p->port->name, name,
				    vmm_last_error());
	}
	cl->st.ports = (uint32_t)cl->nports;
}

static bool addr_used(vmm__cluster *cl, uint32_t addr, const vmm__cl_entry *but)
{
	for (size_t i = 0; i < cl->ne; i++)
		if (&cl->e[i] != but && cl->e[i].kind == CL_KEY_HOST && cl->e[i].addr == addr &&
		    strcmp(cl->e[i].rel + 5, cl->host))
			return true;
	return false;
}

static void host_remote(vmm__cluster *cl, const vmm__cl_entry *e, bool add)
{
	char a[INET_ADDRSTRLEN];

	if (!strcmp(e->rel + 5, cl->host) || e->addr == cl->vtep)
		return;                        /* this host */
	inet_ntop(AF_INET, &e->addr, a, sizeof(a));
	if (add)
		vmm_net_uplink_add_remote(cl->uplink, a, 0);
	else if (!addr_used(cl, e->addr, e))
		vmm_net_uplink_remove_remote(cl->uplink, a, 0);
}

static void count_hosts(vmm__cluster *cl)
{
	uint32_t n = 0, g = 0;

	for (size_t i = 0; i < cl->ne; i++) {
		n += cl->e[i].kind == CL_KEY_HOST;
		g += cl->e[i].kind == CL_KEY_GROUP;
	}
	cl->st.hosts = n;
	cl->st.groups = g;
}

/* Parses value for rel into e (kind set). 0, or -1 with err. */
static int parse_into(vmm__cluster *cl, const char *rel, const char *value, vmm__cl_entry *e,
		      char *err)
{
	const char *name;
	uint32_t mtu = 0, port = 0;

	e->kind = vmm__cl_key(rel, &name, &e->vlan);
	switch (e->kind) {
	case CL_KEY_VNI:
		return vmm__cl_vni_parse(value, &e->vni, err);
	case CL_KEY_HOST:
		return vmm__cl_host_parse(value, &e->addr, err);
	case CL_KEY_GROUP:
		if (!(e->group = malloc(sizeof(*e->group))))
			return snprintf(err, CL_ERR, "out of memory"), -1;
		return vmm__cl_group_parse(value, e->group, err);
	case CL_KEY_CONFIG:
		return vmm__cl_config_parse(value, &mtu, &port, err);
	default:
		return snprintf(err, CL_ERR, "not a key of the layout: ignored"), -1;
	}
}

/* The switch's config cannot change under a running host: a difference
 * is said (the hosts need restarting with it). */
static void config_check(vmm__cluster *cl, const vmm__cl_entry *e)
{
	uint32_t mtu = 0, port = 0;
	char err[CL_ERR];

	if (vmm__cl_config_parse(e->value, &mtu, &port, err) == 0 &&
	    ((mtu && mtu != cl->sw->mtu) || (port && port != vmm__vx_udp_port(cl->uplink)))) {
		cl->st.refused++;
		vmm__cl_log(cl, "config: mtu %u / udp_port %u differ from this host's switch "
			    "(%u / %u): restart the hosts with them", mtu, port, cl->sw->mtu,
			    vmm__vx_udp_port(cl->uplink));
		queue(cl, VMM_NET_CLUSTER_REFUSED, "config");
	}
}

static void effect(vmm__cluster *cl, vmm__cl_entry *e, const vmm__cl_entry *old)
{
	const char *name = e->rel + (e->kind == CL_KEY_GROUP ? 6 : 5);

	if (e->kind == CL_KEY_CONFIG) {
		config_check(cl, e);
	} else if (e->kind == CL_KEY_VNI) {
		apply_vnis(cl);
	} else if (e->kind == CL_KEY_GROUP) {
		apply_group(cl, name, e->group);
		queue(cl, VMM_NET_CLUSTER_GROUP, name);
	} else if (e->kind == CL_KEY_HOST) {
		if (old && old->addr != e->addr)
			host_remote(cl, old, false);
		host_remote(cl, e, true);
		if (!old)
			queue(cl, VMM_NET_CLUSTER_HOST_UP, name);
	}
	count_hosts(cl);
}

void vmm__cl_put(vmm__cluster *cl, const char *rel, const char *value)
{
	vmm__cl_entry n = { 0 }, *e = vmm__cl_find(cl, rel), old;
	char err[CL_ERR];

	const char *name;
	uint32_t vlan;

	if (e && !strcmp(e->value, value))
		return;                        /* unchanged */
	if (!e && vmm__cl_key(rel, &name, &vlan) == CL_KEY_GROUP && cl->st.groups >= CL_GROUPS_MAX) {
		cl->st.refused++;
		vmm__cl_log(cl, "key '%s' refused: the cluster has %u groups already", rel,
			    CL_GROUPS_MAX);
		queue(cl, VMM_NET_CLUSTER_REFUSED, rel);
		return;
	}
	if (parse_into(cl, rel, value, &n, err)) {
		vmm__cl_entry_free(&n);
		if (n.kind == CL_KEY_UNKNOWN)
			return;                /* another tool's key: not ours */
		cl->st.refused++;
		vmm__cl_log(cl, "key '%s' refused (the last good value stays): %s", rel, err);
		queue(cl, VMM_NET_CLUSTER_REFUSED, rel);
		return;
	}
	if (!e && cl->ne == cl->cape) {
		size_t cap = cl->cape ? cl->cape * 2 : 16;
		vmm__cl_entry *ne = cap <= CL_KEYS_MAX ? realloc(cl->e, cap * sizeof(*ne)) : NULL;

		if (ne) {
			cl->e = ne;
			cl->cape = cap;
		}
	}
	if (!(n.rel = strdup(rel)) || !(n.value = strdup(value)) || (!e && cl->ne == cl->cape)) {
		vmm__cl_entry_free(&n);
		vmm__cl_log(cl, "out of memory (or over %u keys) for key '%s'", CL_KEYS_MAX, rel);
		return;
	}
	cl->st.changes++;
	if (e) {
		old = *e;
		*e = n;
		effect(cl, e, &old);
		vmm__cl_entry_free(&old);
	} else {
		cl->e[cl->ne] = n;
		effect(cl, &cl->e[cl->ne++], NULL);
	}
}

void vmm__cl_del(vmm__cluster *cl, const char *rel)
{
	vmm__cl_entry *e = vmm__cl_find(cl, rel), gone;

	if (!e)
		return;
	gone = *e;
	*e = cl->e[--cl->ne];
	cl->st.changes++;
	if (gone.kind == CL_KEY_VNI) {
		apply_vnis(cl);
	} else if (gone.kind == CL_KEY_GROUP) {
		vmm__cl_log(cl, "group '%s' was deleted: its ports keep their policy", gone.rel + 6);
		queue(cl, VMM_NET_CLUSTER_GROUP_GONE, gone.rel + 6);
	} else if (gone.kind == CL_KEY_HOST) {
		host_remote(cl, &gone, false);
		if (!strcmp(gone.rel + 5, cl->host))
			cl->reregister = true; /* ours: expired or deleted while we live */
		queue(cl, VMM_NET_CLUSTER_HOST_DOWN, gone.rel + 5);
	}
	count_hosts(cl);
	vmm__cl_entry_free(&gone);
}

/* ---- reading, registering ---- */

/* Reads every key and applies the differences; opens the watch after. */
int vmm__cl_sync(vmm__cluster *cl)
{
	size_t bl = strlen(cl->base), n;
	vmm__kv *kv;
	int64_t rev;
	int rc;

	if ((rc = vmm__etcd_range(&cl->etcd, cl->base, &kv, &n, &rev)))
		return rc;
	pthread_mutex_lock(&cl->lock);
	for (size_t i = 0; i < cl->ne;) {      /* gone while we did not watch */
		bool found = false;

		for (size_t j = 0; j < n && !found; j++)
			found = !strcmp(kv[j].key + bl, cl->e[i].rel);
		if (found)
			i++;
		else
			vmm__cl_del(cl, cl->e[i].rel);
	}
	for (size_t j = 0; j < n; j++)
		if (!strncmp(kv[j].key, cl->base, bl))
			vmm__cl_put(cl, kv[j].key + bl, kv[j].value);
	cl->st.revision = (uint64_t)rev;
	cl->st.syncs++;
	queue(cl, VMM_NET_CLUSTER_SYNCED, "");
	pthread_mutex_unlock(&cl->lock);
	vmm__kv_free(kv, n);
	if ((rc = vmm__etcd_watch_open(&cl->etcd, &cl->watch, cl->base, rev + 1)))
		return rc;
	cl->watching = true;
	return 0;
}

/* The host key, with our lease (granted if we have none): created, or
 * taken over when it names our VTEP (a restart before the old lease ran
 * out); VMM_EBUSY if another live host holds the name. */
int vmm__cl_register(vmm__cluster *cl)
{
	char key[512], *existing = NULL, err[CL_ERR];
	uint32_t addr;
	int rc;

	snprintf(key, sizeof(key), "%shost/%s", cl->base, cl->host);
	if (!cl->lease && (rc = vmm__etcd_lease_grant(&cl->etcd, cl->ttl_s, &cl->lease)))
		return rc;
	rc = vmm__etcd_create(&cl->etcd, key, cl->host_value, cl->lease, &existing);
	if (rc == VMM_EEXIST) {
		if (vmm__cl_host_parse(existing, &addr, err) == 0 && addr == cl->vtep)
			rc = vmm__etcd_put(&cl->etcd, key, cl->host_value, cl->lease);
		else
			rc = vmm__err(VMM_EBUSY, "vmm_switch_join_cluster: host '%s' is in the "
				      "cluster already with %.60s", cl->host, existing);
	}
	free(existing);
	return rc;
}

/* ---- the thread ---- */

static void on_event(void *opaque, int deleted, const char *key, const char *value,
		     size_t vlen, int64_t rev)
{
	vmm__cluster *cl = opaque;
	size_t bl = strlen(cl->base);

	if (strncmp(key, cl->base, bl))
		return;
	if (deleted)
		vmm__cl_del(cl, key + bl);
	else
		vmm__cl_put(cl, key + bl, value);
	if ((uint64_t)rev > cl->st.revision)
		cl->st.revision = (uint64_t)rev;
}

/* Reads the watch: 0 fine, -1 it broke (resync). */
static int watch_read(vmm__cluster *cl)
{
	int64_t rev = 0;
	char *line;
	size_t len;
	int rc = vmm__http_pump(&cl->watch), r = 0;

	pthread_mutex_lock(&cl->lock);
	while (r == 0 && vmm__http_line(&cl->watch, &line, &len))
		if (len && (r = vmm__etcd_watch_line(line, on_event, cl, &rev)) < 0)
			vmm__cl_log(cl, "%s", vmm_last_error());
	pthread_mutex_unlock(&cl->lock);
	return rc < 0 || r || cl->watch.eof ? -1 : 0;
}

static void lost(vmm__cluster *cl, const char *why)
{
	if (cl->watching)
		vmm__http_close(&cl->watch);
	cl->watching = false;
	pthread_mutex_lock(&cl->lock);
	if (cl->st.connected) {
		cl->st.connected = 0;
		vmm__cl_log(cl, "etcd lost (%s); the switch keeps its configuration, retrying", why);
		queue(cl, VMM_NET_CLUSTER_LOST, "");
	}
	pthread_mutex_unlock(&cl->lock);
}

/* Renews the lease; a lost lease (or host key) is granted and written
 * again. -1 when etcd did not answer: the watch's connection may be dead
 * without a word (a partitioned network), so it is read again whole. */
static int keepalive(vmm__cluster *cl)
{
	int64_t ttl = 0;
	bool again;

	if (cl->lease && vmm__etcd_lease_keepalive(&cl->etcd, cl->lease, &ttl))
		return -1;
	pthread_mutex_lock(&cl->lock);
	again = cl->reregister || ttl <= 0;
	if (ttl > 0)
		cl->st.lease_renewals++;
	pthread_mutex_unlock(&cl->lock);
	if (!again)
		return 0;
	if (ttl <= 0)
		cl->lease = 0;
	if (vmm__cl_register(cl) == 0) {
		pthread_mutex_lock(&cl->lock);
		cl->reregister = false;
		cl->st.lease_regrants++;
		pthread_mutex_unlock(&cl->lock);
	} else {
		vmm__cl_log(cl, "cannot register again: %s", vmm_last_error());
	}
	return 0;
}

static bool stopped(vmm__cluster *cl, uint32_t wait_ms, int fd)
{
	struct pollfd p[2] = { { cl->stop_fd, POLLIN, 0 }, { fd, POLLIN, 0 } };

	if (poll(p, fd >= 0 ? 2 : 1, (int)wait_ms) < 0 && errno != EINTR)
		return true;
	return p[0].revents != 0;
}

void *vmm__cl_thread(void *arg)
{
	vmm__cluster *cl = arg;
	uint64_t next_ka = now_ms() + cl->ttl_s * 1000u / 3, backoff = 100;

	for (;;) {
		uint64_t t;

		if (!cl->watching) {
			if (vmm__cl_sync(cl)) {
				lost(cl, vmm_last_error());
				vmm__cl_deliver(cl);
				if (stopped(cl, (uint32_t)backoff, -1))
					break;
				backoff = backoff * 2 > 1000 ? 1000 : backoff * 2;
				continue;
			}
			backoff = 100;
			pthread_mutex_lock(&cl->lock);
			cl->st.connected = 1;
			pthread_mutex_unlock(&cl->lock);
			next_ka = 0;               /* renew (or register) at once */
		}
		if ((t = now_ms()) >= next_ka) {
			int ka = keepalive(cl);

			next_ka = now_ms() + cl->ttl_s * 1000u / 3;
			if (ka) {
				lost(cl, vmm_last_error());
				vmm__cl_deliver(cl);
				if (stopped(cl, (uint32_t)backoff, -1))
					break;
				continue;      /* read it all again */
			}
			t = now_ms();
		}
		vmm__cl_deliver(cl);
		if (stopped(cl, (uint32_t)(next_ka > t ? next_ka - t : 0), cl->watch.fd))
			break;
		if (watch_read(cl))
			lost(cl, "the watch ended");
		vmm__cl_deliver(cl);
	}
	if (cl->watching)
		vmm__http_close(&cl->watch);
	cl->watching = false;
	return NULL;
}
