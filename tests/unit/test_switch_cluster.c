/* test_switch_cluster.c - the distributed switch's configuration in a real
 * etcd (Debian's etcd-server, started here on 127.0.0.1 of a fresh
 * network namespace). Two "hosts" in this process, each a switch with a
 * VXLAN uplink on its own loopback address (127.0.0.2, 127.0.0.3) and an
 * embedder port speaking ARP/ICMP (tests/net/ipstack.h), join one cluster:
 * the second learns the whole configuration at join; ports of a group
 * ping each other across the uplinks; a policy written with etcdctl is
 * applied on both hosts; values that do not parse are refused and the last
 * good ones stay; etcd killed and restarted loses nothing and the watch
 * resumes; a host that leaves drops out of the other's flood list; bad
 * joins, ports and keys are refused with their message; the JSON parsers
 * on good and hostile values. NOT RUN without etcd or namespaces. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm.h"
#include "lib/net/cluster.h"
#include "tests/net/etcd_fixture.h"
#include "tests/net/ipstack.h"

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define EV_MAX 512

typedef struct host {
	const char *name, *vtep;
	vmm_switch *sw;
	vmm_net_port *up, *port;
	vmm_net_cluster *cl;
	ips ep;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct { uint32_t ev; char name[64]; struct timespec at; } ev[EV_MAX];
	uint32_t nev;
} host;

static etcd_fx etcd;
static bool ready;
static char why[200];
static host A = { .name = "a", .vtep = "127.0.0.2" }, B = { .name = "b", .vtep = "127.0.0.3" };

static void on_event(void *opaque, uint32_t ev, const char *name)
{
	host *h = opaque;

	pthread_mutex_lock(&h->lock);
	if (h->nev < EV_MAX) {
		h->ev[h->nev].ev = ev;
		snprintf(h->ev[h->nev].name, sizeof(h->ev[0].name), "%s", name);
		clock_gettime(CLOCK_REALTIME, &h->ev[h->nev++].at);
	}
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

/* Waits for an event ev (of name, if not NULL) after index from; its time. */
static bool wait_event(host *h, uint32_t from, uint32_t ev, const char *name, uint32_t ms,
		       struct timespec *at)
{
	struct timespec end;
	bool found = false;

	ips_deadline(&end, ms);
	pthread_mutex_lock(&h->lock);
	for (;;) {
		for (uint32_t i = from; i < h->nev && !found; i++)
			if (h->ev[i].ev == ev && (!name || !strcmp(h->ev[i].name, name))) {
				found = true;
				if (at)
					*at = h->ev[i].at;
			}
		if (found || pthread_cond_timedwait(&h->cond, &h->lock, &end))
			break;
	}
	pthread_mutex_unlock(&h->lock);
	return found;
}

static uint32_t mark(host *h)
{
	uint32_t n;

	pthread_mutex_lock(&h->lock);
	n = h->nev;
	pthread_mutex_unlock(&h->lock);
	return n;
}

static vmm_net_cluster_config cconf(host *h)
{
	vmm_net_cluster_config c = VMM_NET_CLUSTER_CONFIG_INIT;

	c.etcd = etcd.url;
	c.name = "sw1";
	c.host = h->name;
	c.vtep = h->vtep;
	c.uplink = h->up;
	c.lease_ttl_s = 2;
	c.event = on_event;
	c.event_opaque = h;
	return c;
}

static int host_up(host *h, uint32_t mtu)
{
	vmm_switch_config sc = VMM_SWITCH_CONFIG_INIT;
	vmm_net_uplink_config u = VMM_NET_UPLINK_CONFIG_INIT;
	vmm_net_port_config pc = VMM_NET_PORT_CONFIG_INIT;
	vmm_net_cluster_config c;
	int rc;

	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	h->nev = 0;
	sc.mtu = mtu;
	if ((rc = vmm_switch_create(&sc, &h->sw)))
		return rc;
	u.local = h->vtep;
	pc.kind = VMM_NET_PORT_UPLINK;
	pc.uplink = &u;
	if ((rc = vmm_net_port_create(h->sw, &pc, &h->up)))
		return rc;
	c = cconf(h);
	if ((rc = vmm_switch_join_cluster(h->sw, &c, &h->cl)))
		printf("# join %s: %s\n", h->name, vmm_last_error());
	return rc;
}

static vmm_net_cluster_stats cstats(host *h)
{
	vmm_net_cluster_stats st = { .size = sizeof(st) };

	assert_int_equal(vmm_net_cluster_stats_get(h->cl, &st), 0);
	return st;
}

static uint32_t remotes(host *h)
{
	vmm_net_uplink_stats st = { .size = sizeof(st) };

	assert_int_equal(vmm_net_uplink_stats_get(h->up, &st), 0);
	return st.remotes;
}

static int setup(void **state)
{
	if (!etcd_fx_have()) {
		snprintf(why, sizeof(why), "etcd and etcdctl (etcd-server, etcd-client) are needed");
		return 0;
	}
	if (unshare(CLONE_NEWNET) != 0 || system("ip link set lo up") != 0) {
		snprintf(why, sizeof(why), "cannot make a network namespace: %s", strerror(errno));
		return 0;
	}
	if (!etcd_fx_init(&etcd, 2379, NULL)) {
		snprintf(why, sizeof(why), "etcd did not start (%s.log)", etcd.dir);
		return 0;
	}
	ready = true;
	return 0;
}

static int teardown(void **state)
{
	vmm_switch_destroy(A.sw);              /* leaves its cluster too */
	vmm_switch_destroy(B.sw);
	etcd_fx_fini(&etcd);
	return 0;
}

#define NEED_SETUP()                                                            \
	do {                                                                    \
		if (!ready) {                                                   \
			printf("NOT RUN %s: %s\n", __func__, why);              \
			skip();                                                 \
		}                                                               \
	} while (0)

static vmm_net_port *group_port(host *h, const char *group, uint8_t last, uint32_t ip)
{
	vmm_net_port_config c;
	vmm_net_port *p = NULL;
	uint8_t mac[6] = { 0x02, 0, 0, 0, 0x10, last };

	ips_init(&h->ep, mac, ip);
	c = ips_port_config(&h->ep);
	assert_int_equal(vmm_net_cluster_port_create(h->cl, group, &c, &p), 0);
	h->ep.port = p;
	return p;
}

static void test_join_learns(void **state)
{
	NEED_SETUP();
	assert_int_equal(host_up(&A, 0), 0);
	assert_int_equal(cstats(&A).hosts, 1);                     /* itself */
	assert_int_equal(vmm_net_cluster_put(A.cl, "config", "{\"mtu\": 1500, \"udp_port\": 4789}"), 0);
	assert_int_equal(vmm_net_cluster_put(A.cl, "vni/10", "{\"vni\": 5010}"), 0);
	assert_int_equal(vmm_net_cluster_put(A.cl, "group/web", "{\"vlan\": 10, \"policy\": {}}"), 0);
	assert_true(wait_event(&A, 0, VMM_NET_CLUSTER_GROUP, "web", 10000, NULL));
	assert_int_equal(host_up(&B, 0), 0);
	/* B knows it all when join returns; A hears of B. */
	vmm_net_cluster_stats s = cstats(&B);
	assert_int_equal(s.groups, 1);
	assert_int_equal(s.vnis, 1);
	assert_int_equal(s.hosts, 2);
	assert_int_equal(s.connected, 1);
	assert_int_equal(remotes(&B), 1);
	assert_true(wait_event(&A, 0, VMM_NET_CLUSTER_HOST_UP, "b", 10000, NULL));
	assert_int_equal(remotes(&A), 1);
	assert_int_equal(cstats(&A).hosts, 2);
}

static void test_ping_across(void **state)
{
	NEED_SETUP();
	A.port = group_port(&A, "web", 1, IP4(10, 9, 0, 1));
	B.port = group_port(&B, "web", 2, IP4(10, 9, 0, 2));
	assert_int_equal(cstats(&A).ports, 1);
	for (uint16_t i = 1; i <= 3; i++)
		assert_true(ips_ping(&A.ep, IP4(10, 9, 0, 2), 1, i, 3000));
	assert_true(ips_ping(&B.ep, IP4(10, 9, 0, 1), 2, 1, 3000));
}

static double since_ms(const struct timespec *t0, const struct timespec *t1)
{
	return (double)(t1->tv_sec - t0->tv_sec) * 1e3 + (double)(t1->tv_nsec - t0->tv_nsec) / 1e6;
}

/* A policy written with etcdctl applies on both hosts. */
static void test_policy_change(void **state)
{
	uint32_t ma, mb;
	struct timespec t0, ta, tb;

	NEED_SETUP();
	ma = mark(&A);
	mb = mark(&B);
	clock_gettime(CLOCK_REALTIME, &t0);
	assert_int_equal(etcd_fx_ctl(&etcd, "put /vmm/switch/sw1/group/web '{\"vlan\": 10, "
				     "\"policy\": {\"firewall\": {\"default\": \"deny\"}}}'"), 0);
	assert_true(wait_event(&A, ma, VMM_NET_CLUSTER_GROUP, "web", 10000, &ta));
	assert_true(wait_event(&B, mb, VMM_NET_CLUSTER_GROUP, "web", 10000, &tb));
	printf("# policy applied %.0f ms (a) and %.0f ms (b) after etcdctl started\n",
	       since_ms(&t0, &ta), since_ms(&t0, &tb));
	assert_false(ips_ping(&A.ep, IP4(10, 9, 0, 2), 3, 1, 500));
	/* Echo out of a and its replies allowed (tracked): b's firewall too. */
	ma = mark(&A);
	mb = mark(&B);
	assert_int_equal(vmm_net_cluster_put(B.cl, "group/web", "{\"vlan\": 10, \"policy\": {"
		"\"firewall\": {\"default\": \"deny\", \"rules\": [{\"action\": \"allow\", "
		"\"proto\": \"icmp\", \"src\": \"10.9.0.1\"}]}}}"), 0);
	assert_true(wait_event(&A, ma, VMM_NET_CLUSTER_GROUP, "web", 10000, NULL));
	assert_true(wait_event(&B, mb, VMM_NET_CLUSTER_GROUP, "web", 10000, NULL));
	ips_forget(&A.ep);
	assert_true(ips_ping(&A.ep, IP4(10, 9, 0, 2), 3, 2, 3000));
	assert_false(ips_ping(&B.ep, IP4(10, 9, 0, 1), 33, 3, 500));   /* b may not start */
	vmm_net_port_stats ps = { .size = sizeof(ps) };
	assert_int_equal(vmm_net_port_stats_get(B.port, &ps), 0);
	assert_true(ps.drops[VMM_NET_DROP_FIREWALL] > 0);
}

/* Values that do not parse are refused on every host; the last good stays. */
static void test_refused(void **state)
{
	uint32_t ma, mb;
	uint64_t r0;

	NEED_SETUP();
	ma = mark(&A);
	mb = mark(&B);
	r0 = cstats(&A).refused;
	assert_int_equal(etcd_fx_ctl(&etcd, "put /vmm/switch/sw1/group/web 'not json'"), 0);
	assert_true(wait_event(&A, ma, VMM_NET_CLUSTER_REFUSED, "group/web", 10000, NULL));
	assert_true(wait_event(&B, mb, VMM_NET_CLUSTER_REFUSED, "group/web", 10000, NULL));
	assert_int_equal(etcd_fx_ctl(&etcd, "put /vmm/switch/sw1/group/web '{\"vlan\": 10, "
				     "\"policy\": {\"firewal\": {}}}'"), 0);
	assert_int_equal(etcd_fx_ctl(&etcd, "put /vmm/switch/sw1/vni/11 '{\"vni\": 5010}'"), 0);
	assert_int_equal(etcd_fx_ctl(&etcd, "put /vmm/switch/sw1/host/x '{\"vtep\": \"300.1.1.1\"}'"), 0);
	assert_true(wait_event(&A, ma, VMM_NET_CLUSTER_REFUSED, "host/x", 10000, NULL));
	assert_true(cstats(&A).refused >= r0 + 4);
	assert_int_equal(cstats(&A).vnis, 1);                      /* the map kept */
	ips_forget(&A.ep);
	assert_true(ips_ping(&A.ep, IP4(10, 9, 0, 2), 4, 1, 3000));  /* the policy kept */
	assert_false(ips_ping(&B.ep, IP4(10, 9, 0, 1), 44, 2, 500));
	assert_int_equal(etcd_fx_ctl(&etcd, "del /vmm/switch/sw1/vni/11"), 0);
	assert_int_equal(etcd_fx_ctl(&etcd, "del /vmm/switch/sw1/host/x"), 0);
}

/* etcd killed while traffic flows, then restarted on its data. */
static void test_etcd_restart(void **state)
{
	uint32_t ma, mb;
	uint64_t syncs;

	NEED_SETUP();
	ma = mark(&A);
	mb = mark(&B);
	syncs = cstats(&A).syncs;
	etcd_fx_stop(&etcd, SIGKILL);
	assert_true(wait_event(&A, ma, VMM_NET_CLUSTER_LOST, NULL, 10000, NULL));
	assert_true(wait_event(&B, mb, VMM_NET_CLUSTER_LOST, NULL, 10000, NULL));
	assert_int_equal(cstats(&A).connected, 0);
	ips_forget(&A.ep);
	assert_true(ips_ping(&A.ep, IP4(10, 9, 0, 2), 5, 1, 3000));  /* the data path runs on */
	assert_int_equal(remotes(&A), 1);
	assert_true(etcd_fx_start(&etcd));
	assert_true(wait_event(&A, ma, VMM_NET_CLUSTER_SYNCED, NULL, 15000, NULL));
	assert_true(wait_event(&B, mb, VMM_NET_CLUSTER_SYNCED, NULL, 15000, NULL));
	vmm_net_cluster_stats s = cstats(&A);
	assert_true(s.syncs > syncs);
	assert_int_equal(s.connected, 1);
	assert_int_equal(s.groups, 1);
	assert_int_equal(s.hosts, 2);
	assert_int_equal(remotes(&A), 1);
	/* The watch is back: a change after the restart still arrives. */
	ma = mark(&A);
	mb = mark(&B);
	assert_int_equal(vmm_net_cluster_put(A.cl, "group/web", "{\"vlan\": 10}"), 0);
	assert_true(wait_event(&A, ma, VMM_NET_CLUSTER_GROUP, "web", 10000, NULL));
	assert_true(wait_event(&B, mb, VMM_NET_CLUSTER_GROUP, "web", 10000, NULL));
	assert_true(ips_ping(&B.ep, IP4(10, 9, 0, 1), 5, 2, 3000));
}

static void test_leave(void **state)
{
	uint32_t ma;

	NEED_SETUP();
	ma = mark(&A);
	vmm_net_cluster_leave(B.cl);
	B.cl = NULL;
	assert_true(wait_event(&A, ma, VMM_NET_CLUSTER_HOST_DOWN, "b", 10000, NULL));
	assert_int_equal(remotes(&A), 0);
	assert_int_equal(cstats(&A).hosts, 1);
	ips_forget(&A.ep);
	assert_false(ips_ping(&A.ep, IP4(10, 9, 0, 2), 6, 1, 500));
	/* B joins again: back in A's flood list. */
	vmm_net_cluster_config c = cconf(&B);
	assert_int_equal(vmm_switch_join_cluster(B.sw, &c, &B.cl), 0);
	assert_true(wait_event(&A, ma, VMM_NET_CLUSTER_HOST_UP, "b", 10000, NULL));
	assert_true(ips_ping(&A.ep, IP4(10, 9, 0, 2), 6, 2, 3000));
}

static void test_errors(void **state)
{
	vmm_net_cluster_config c;
	vmm_net_cluster *cl;
	vmm_net_port *p;
	vmm_net_port_config pc = VMM_NET_PORT_CONFIG_INIT;
	host C = { .name = "c", .vtep = "127.0.0.4" };
	vmm_switch *s9;

	NEED_SETUP();
	c = cconf(&A);
	assert_int_equal(vmm_switch_join_cluster(A.sw, &c, &cl), VMM_EBUSY);    /* one per switch */
	assert_int_equal(vmm_switch_join_cluster(A.sw, NULL, &cl), VMM_EINVAL);
	assert_int_equal(host_up(&C, 0), 0);
	vmm_net_cluster_leave(C.cl);
	c = cconf(&C);
	c.vtep = "1.2.3";
	assert_int_equal(vmm_switch_join_cluster(C.sw, &c, &cl), VMM_EINVAL);
	c = cconf(&C);
	c.host = "no/slash";
	assert_int_equal(vmm_switch_join_cluster(C.sw, &c, &cl), VMM_EINVAL);
	c = cconf(&C);
	c.uplink = A.up;
	assert_int_equal(vmm_switch_join_cluster(C.sw, &c, &cl), VMM_EINVAL);
	c = cconf(&C);
	c.etcd = "http://127.0.0.1:1";
	assert_int_equal(vmm_switch_join_cluster(C.sw, &c, &cl), VMM_EIO);
	c.etcd = "https://127.0.0.1:2379";
	assert_int_equal(vmm_switch_join_cluster(C.sw, &c, &cl), VMM_EINVAL);
	c = cconf(&C);
	c.host = "a";                                                       /* a lives, elsewhere */
	assert_int_equal(vmm_switch_join_cluster(C.sw, &c, &cl), VMM_EBUSY);
	assert_non_null(strstr(vmm_last_error(), "in the cluster already"));
	vmm_switch_destroy(C.sw);
	/* A switch whose MTU the cluster's config contradicts. */
	{
		vmm_switch_config sc = VMM_SWITCH_CONFIG_INIT;
		vmm_net_uplink_config u = VMM_NET_UPLINK_CONFIG_INIT;

		sc.mtu = 9000;
		assert_int_equal(vmm_switch_create(&sc, &s9), 0);
		u.local = "127.0.0.5";
		pc.kind = VMM_NET_PORT_UPLINK;
		pc.uplink = &u;
		assert_int_equal(vmm_net_port_create(s9, &pc, &C.up), 0);
		c = cconf(&C);
		c.host = "d";
		assert_int_equal(vmm_switch_join_cluster(s9, &c, &cl), VMM_EINVAL);
		assert_non_null(strstr(vmm_last_error(), "does not fit"));
		vmm_switch_destroy(s9);
	}
	pc = ips_port_config(&A.ep);
	assert_int_equal(vmm_net_cluster_port_create(A.cl, "nope", &pc, &p), VMM_ENOENT);
	pc.vlan = 3;
	assert_int_equal(vmm_net_cluster_port_create(A.cl, "web", &pc, &p), VMM_EINVAL);
	assert_int_equal(vmm_net_cluster_put(A.cl, "host/a", "{\"vtep\": \"1.1.1.1\"}"), VMM_EINVAL);
	assert_int_equal(vmm_net_cluster_put(A.cl, "group/web", "{\"vlan\": 4095}"), VMM_EINVAL);
	assert_non_null(strstr(vmm_last_error(), "group.vlan"));
	assert_int_equal(vmm_net_cluster_put(A.cl, "group/x", "[]"), VMM_EINVAL);
	assert_int_equal(vmm_net_cluster_put(A.cl, "wat", "{}"), VMM_EINVAL);
	assert_int_equal(vmm_net_cluster_delete(A.cl, "host/b"), VMM_EINVAL);
	assert_int_equal(vmm_net_cluster_stats_get(A.cl, &(vmm_net_cluster_stats){ .size = 4 }),
			 VMM_EINVAL);
}

/* The parsers alone, on good values and hostile ones. */
static void test_parsers(void **state)
{
	static const char *const bad[] = {
		"", "{", "[]", "null", "{\"vlan\": 10, \"x\": 1}", "{\"vlan\": \"10\"}",
		"{\"vlan\": 0}", "{\"vlan\": 10, \"trunk\": [1]}", "{\"trunk\": [0]}",
		"{\"trunk\": [1], \"native\": 5000}", "{\"vlan\": 1, \"native\": 2}",
		"{\"vlan\": 1, \"policy\": []}", "{\"vlan\": 1, \"policy\": {\"promiscuous\": 1}}",
		"{\"vlan\": 1, \"policy\": {\"ipv4\": [\"1.2.3.4.5\"]}}",
		"{\"vlan\": 1, \"policy\": {\"firewall\": {\"default\": \"maybe\"}}}",
		"{\"vlan\": 1, \"policy\": {\"firewall\": {\"rules\": [{}]}}}",
		"{\"vlan\": 1, \"policy\": {\"firewall\": {\"rules\": [{\"action\": \"allow\", \"proto\": 256}]}}}",
		"{\"vlan\": 1, \"policy\": {\"firewall\": {\"rules\": [{\"action\": \"allow\", \"dport\": [9, 1]}]}}}",
		"{\"vlan\": 1, \"policy\": {\"firewall\": {\"rules\": [{\"action\": \"allow\", \"src\": \"1.2.3.4/33\"}]}}}",
		"{\"vlan\": 1, \"policy\": {\"shape_in\": {\"avg_bps\": -1}}}",
		"{\"vlan\": 1, \"policy\": {\"shape_in\": {\"avg_bps\": 1e6}}}",
	};
	vmm__cl_group *g = malloc(sizeof(*g));
	char err[CL_ERR];
	uint32_t v, m, p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		if (vmm__cl_group_parse(bad[i], g, err) != -1)
			fail_msg("accepted %s", bad[i]);
		assert_true(err[0] != 0);
	}
	assert_int_equal(vmm__cl_group_parse("{\"trunk\": [10, 20], \"native\": 5, \"policy\": {"
		"\"promiscuous\": true, \"forged_transmits\": false, \"antispoof\": true, "
		"\"ipv4\": [\"10.0.0.1\"], \"shape_out\": {\"avg_bps\": 1000000, \"burst_bytes\": 9000}, "
		"\"firewall\": {\"default\": \"allow\", \"max_conns\": 100, \"rules\": [{\"action\": "
		"\"deny\", \"dirs\": \"in\", \"proto\": \"tcp\", \"dst\": \"10.0.0.0/8\", "
		"\"dport\": [22, 23]}]}}}", g, err), 0);
	assert_true(g->trunk);
	assert_int_equal(g->ntrunk, 2);
	assert_int_equal(g->vlan, 5);
	assert_int_equal(g->pol.flags, VMM_NET_SEC_PROMISC | VMM_NET_SEC_MAC_CHANGES |
					       VMM_NET_ANTISPOOF | VMM_NET_FIREWALL);
	assert_int_equal(g->pol.nipv4, 1);
	assert_int_equal(g->ipv4[0], IP4(10, 0, 0, 1));
	assert_int_equal(g->pol.shape_out.avg_bps, 1000000);
	assert_int_equal(g->pol.nrules, 1);
	assert_int_equal(g->rules[0].dst_mask, 0xff000000u);
	assert_int_equal(g->rules[0].dst_port_hi, 23);
	assert_int_equal(g->rules[0].dirs, VMM_NET_DIR_IN);
	assert_int_equal(g->pol.fw_default, VMM_NET_FW_ALLOW);
	vmm__cl_group_free(g);
	free(g);
	assert_int_equal(vmm__cl_vni_parse("{\"vni\": 16777215}", &v, err), 0);
	assert_int_equal(vmm__cl_vni_parse("{\"vni\": 16777216}", &v, err), -1);
	assert_int_equal(vmm__cl_vni_parse("{}", &v, err), -1);
	assert_int_equal(vmm__cl_host_parse("{\"vtep\": \"0.0.0.0\"}", &v, err), -1);
	assert_int_equal(vmm__cl_config_parse("{\"mtu\": 9000}", &m, &p, err), 0);
	assert_int_equal(m, 9000);
	assert_int_equal(vmm__cl_config_parse("{\"udp_port\": 0}", &m, &p, err), -1);
	assert_int_equal(vmm__cl_check("vni/4095", "{\"vni\": 1}", err), -1);
	assert_int_equal(vmm__cl_check("vni/010", "{\"vni\": 1}", err), -1);
	assert_int_equal(vmm__cl_check("group/", "{\"vlan\": 1}", err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parsers),
		cmocka_unit_test(test_join_learns),
		cmocka_unit_test(test_ping_across),
		cmocka_unit_test(test_policy_change),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_etcd_restart),
		cmocka_unit_test(test_leave),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
