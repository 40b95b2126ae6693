/* test_switch_dist.c - the distributed switch across processes: a real
 * etcd (Debian's etcd-server) in this test's own network namespace on a
 * Linux bridge (10.77.0.254), and three "hosts", each a forked process in
 * its own network namespace joined to the bridge by a veth pair, each a
 * switch with a VXLAN uplink on its veth address (10.77.0.N) that joins
 * the cluster and has embedder ports (tests/net/ipstack.h) of its port
 * groups. The test drives the hosts over pipes and shows: ports on
 * different hosts ping each other over VXLAN; VLAN isolation holds across
 * hosts; a policy written with etcdctl applies on every host (the delay
 * is printed); a host joining late learns the whole configuration; a host
 * killed with SIGKILL does not stop traffic among the others and leaves
 * their flood lists when its lease expires; etcd killed and restarted
 * while traffic flows loses no configuration and the hosts resume their
 * watch; a host cut off from etcd is dropped by the others when its lease
 * ends and, back, reads what it missed and joins them again. NOT RUN
 * without etcd, namespaces or veth/bridge devices. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm.h"
#include "tests/net/etcd_fixture.h"
#include "tests/net/ipstack.h"
#include "tests/net/shell.h"

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define BRIDGE_IP "10.77.0.254"
#define EV_MAX 1024
#define PORTS_MAX 4
#define PFX "/vmm/switch/dsw/"

/* ---- the host process ---------------------------------------------------- */

typedef struct hstate {
	char name[16], vtep[32];
	vmm_switch *sw;
	vmm_net_port *up;
	vmm_net_cluster *cl;
	ips ep[PORTS_MAX];
	uint32_t nports;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct { uint32_t ev; char name[64]; uint64_t at_ns; } ev[EV_MAX];
	uint32_t nev;
	/* background pings */
	pthread_t bg;
	bool bg_on, bg_stop;
	uint32_t bg_port, bg_ip, bg_sent, bg_ok;
	uint64_t bg_fail_ns;                   /* when the first unanswered ping was sent */
} hstate;

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void h_event(void *opaque, uint32_t ev, const char *name)
{
	hstate *h = opaque;

	pthread_mutex_lock(&h->lock);
	if (h->nev < EV_MAX) {
		h->ev[h->nev].ev = ev;
		snprintf(h->ev[h->nev].name, sizeof(h->ev[0].name), "%s", name);
		h->ev[h->nev++].at_ns = real_ns();
	}
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

static int h_join(hstate *h, FILE *out)
{
	vmm_switch_config sc = VMM_SWITCH_CONFIG_INIT;
	vmm_net_uplink_config u = VMM_NET_UPLINK_CONFIG_INIT;
	vmm_net_port_config pc = VMM_NET_PORT_CONFIG_INIT;
	vmm_net_cluster_config c = VMM_NET_CLUSTER_CONFIG_INIT;

	u.local = h->vtep;
	pc.kind = VMM_NET_PORT_UPLINK;
	pc.uplink = &u;
	c.etcd = "http://" BRIDGE_IP ":2379";
	c.name = "dsw";
	c.host = h->name;
	c.vtep = h->vtep;
	c.lease_ttl_s = 2;
	c.event = h_event;
	c.event_opaque = h;
	if (vmm_switch_create(&sc, &h->sw) || vmm_net_port_create(h->sw, &pc, &h->up))
		return fprintf(out, "err %s\n", vmm_last_error());
	c.uplink = h->up;
	if (vmm_switch_join_cluster(h->sw, &c, &h->cl))
		return fprintf(out, "err %s\n", vmm_last_error());
	return fprintf(out, "ok\n");
}

static int h_port(hstate *h, const char *group, unsigned last, const char *ip, FILE *out)
{
	uint8_t mac[6] = { 0x02, 0, 0, 0, (uint8_t)(h->name[1]), (uint8_t)last };
	vmm_net_port_config c;
	struct in_addr a;
	vmm_net_port *p;
	ips *s = &h->ep[h->nports];

	if (h->nports == PORTS_MAX || inet_pton(AF_INET, ip, &a) != 1)
		return fprintf(out, "err bad port\n");
	ips_init(s, mac, ntohl(a.s_addr));
	c = ips_port_config(s);
	if (vmm_net_cluster_port_create(h->cl, group, &c, &p))
		return fprintf(out, "err %s\n", vmm_last_error());
	s->port = p;
	return fprintf(out, "ok %u\n", h->nports++);
}

static void *h_bg(void *arg)
{
	hstate *h = arg;

	for (uint16_t seq = 1;; seq++) {
		bool ok;

		pthread_mutex_lock(&h->lock);
		if (h->bg_stop) {
			pthread_mutex_unlock(&h->lock);
			return NULL;
		}
		pthread_mutex_unlock(&h->lock);
		uint64_t t = real_ns();

		ok = ips_ping(&h->ep[h->bg_port], h->bg_ip, 0x7777, seq, 5000);  /* load-proof */
		pthread_mutex_lock(&h->lock);
		if (!ok && !h->bg_fail_ns)
			h->bg_fail_ns = t;
		h->bg_sent++;
		h->bg_ok += ok;
		pthread_mutex_unlock(&h->lock);
		usleep(20000);
	}
}

static uint32_t ip_of(const char *s)
{
	struct in_addr a;

	return inet_pton(AF_INET, s, &a) == 1 ? ntohl(a.s_addr) : 0;
}

static int h_wait(hstate *h, unsigned from, unsigned ev, const char *name, unsigned ms, FILE *out)
{
	struct timespec end;
	uint64_t at = 0;
	bool found = false;

	ips_deadline(&end, ms);
	pthread_mutex_lock(&h->lock);
	for (;;) {
		for (uint32_t i = from; i < h->nev && !found; i++)
			if (h->ev[i].ev == ev && (!strcmp(name, "-") || !strcmp(h->ev[i].name, name))) {
				found = true;
				at = h->ev[i].at_ns;
			}
		if (found || pthread_cond_timedwait(&h->cond, &h->lock, &end))
			break;
	}
	pthread_mutex_unlock(&h->lock);
	return fprintf(out, "ok %d %llu\n", found, (unsigned long long)at);
}

static int h_stats(hstate *h, FILE *out)
{
	vmm_net_cluster_stats st = { .size = sizeof(st) };
	vmm_net_uplink_stats us = { .size = sizeof(us) };

	if (vmm_net_cluster_stats_get(h->cl, &st) || vmm_net_uplink_stats_get(h->up, &us))
		return fprintf(out, "err %s\n", vmm_last_error());
	return fprintf(out, "ok %u %u %u %u %u %u %llu %llu\n", st.hosts, st.groups, st.vnis,
		       st.ports, st.connected, us.remotes, (unsigned long long)st.syncs,
		       (unsigned long long)st.lease_regrants);
}

/* One command line; its answer on out. */
static void h_cmd(hstate *h, char *line, FILE *out)
{
	char a[80] = "", b[80] = "";
	unsigned x = 0, y = 0, z = 0, w = 0;
	vmm_net_port_stats ps = { .size = sizeof(ps) };

	if (sscanf(line, "net %31s", h->vtep) == 1) {
		snprintf(line, 256, "ip link set lo up && ip addr add %s/24 dev eth0 && "
			 "ip link set eth0 up", h->vtep);
		fprintf(out, system(line) == 0 ? "ok\n" : "err ip\n");
	} else if (!strncmp(line, "join", 4)) {
		h_join(h, out);
	} else if (sscanf(line, "port %63s %u %63s", a, &x, b) == 3) {
		h_port(h, a, x, b, out);
	} else if (sscanf(line, "ping %u %63s %u %u", &x, a, &y, &z) == 4 && x < h->nports) {
		fprintf(out, "ok %d\n", ips_ping(&h->ep[x], ip_of(a), (uint16_t)y, (uint16_t)z,
						   2000));
	} else if (sscanf(line, "forget %u", &x) == 1 && x < h->nports) {
		ips_forget(&h->ep[x]);
		fprintf(out, "ok\n");
	} else if (!strncmp(line, "stats", 5)) {
		h_stats(h, out);
	} else if (sscanf(line, "etcd %7s", a) == 1) {         /* cut off from etcd, or not */
		fprintf(out, system(!strcmp(a, "off") ? "ip route add blackhole " BRIDGE_IP "/32" :
				    "ip route del blackhole " BRIDGE_IP "/32") == 0 ? "ok\n" : "err ip\n");
	} else if (!strncmp(line, "upstats", 7)) {
		vmm_net_uplink_stats us = { .size = sizeof(us) };

		vmm_net_uplink_stats_get(h->up, &us);
		fprintf(out, "ok tx %llu flooded %llu txerr %llu rx %llu learned %llu remotes %u\n",
			(unsigned long long)us.tx_datagrams, (unsigned long long)us.tx_flooded,
			(unsigned long long)us.tx_errors, (unsigned long long)us.rx_datagrams,
			(unsigned long long)us.learned, us.remotes);
	} else if (!strncmp(line, "mark", 4)) {
		pthread_mutex_lock(&h->lock);
		fprintf(out, "ok %u\n", h->nev);
		pthread_mutex_unlock(&h->lock);
	} else if (sscanf(line, "wait %u %u %63s %u", &x, &y, a, &w) == 4) {
		h_wait(h, x, y, a, w, out);
	} else if (sscanf(line, "fwdrops %u", &x) == 1 && x < h->nports &&
		   vmm_net_port_stats_get(h->ep[x].port, &ps) == 0) {
		fprintf(out, "ok %llu\n", (unsigned long long)ps.drops[VMM_NET_DROP_FIREWALL]);
	} else if (sscanf(line, "bg %u %63s", &x, a) == 2 && x < h->nports && !h->bg_on) {
		h->bg_port = x;
		h->bg_ip = ip_of(a);
		h->bg_sent = h->bg_ok = 0;
		h->bg_fail_ns = 0;
		h->bg_stop = false;
		h->bg_on = pthread_create(&h->bg, NULL, h_bg, h) == 0;
		fprintf(out, h->bg_on ? "ok\n" : "err thread\n");
	} else if (!strncmp(line, "bgstop", 6) && h->bg_on) {
		pthread_mutex_lock(&h->lock);
		h->bg_stop = true;
		pthread_mutex_unlock(&h->lock);
		pthread_join(h->bg, NULL);
		h->bg_on = false;
		fprintf(out, "ok %u %u %llu\n", h->bg_sent, h->bg_ok,
			(unsigned long long)h->bg_fail_ns);
	} else {
		fprintf(out, "err unknown: %.60s\n", line);
	}
}

static void host_main(const char *name, int in_fd, int out_fd, int ready_fd)
{
	static hstate h;
	FILE *in = fdopen(in_fd, "r"), *out = fdopen(out_fd, "w");
	char line[256];

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (!in || !out || unshare(CLONE_NEWNET) != 0)
		_exit(2);
	(void)!write(ready_fd, "r", 1);
	close(ready_fd);
	setvbuf(out, NULL, _IOLBF, 0);
	snprintf(h.name, sizeof(h.name), "%s", name);
	pthread_mutex_init(&h.lock, NULL);
	pthread_cond_init(&h.cond, NULL);
	while (fgets(line, sizeof(line), in)) {
		line[strcspn(line, "\n")] = 0;
		if (!strcmp(line, "quit"))
			break;
		h_cmd(&h, line, out);
	}
	vmm_switch_destroy(h.sw);              /* leaves the cluster: revokes the lease */
	fprintf(out, "ok\n");
	_exit(0);
}

/* ---- the test ------------------------------------------------------------ */

typedef struct host {
	const char *name, *vtep;
	int n;
	pid_t pid;
	int to, from;                          /* command pipe, answer pipe */
} host;

static etcd_fx etcd;
static bool ready;
static char why[200];
static host H1 = { "h1", "10.77.0.1", 1, 0, -1, -1 }, H2 = { "h2", "10.77.0.2", 2, 0, -1, -1 },
	    H3 = { "h3", "10.77.0.3", 3, 0, -1, -1 };

/* Sends a command; the answer (without "ok ") in ans. True for "ok". */
static bool hcmd(host *h, char *ans, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static bool hcmd(host *h, char *ans, size_t n, const char *fmt, ...)
{
	char line[256], buf[256];
	size_t at = 0;
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	line[len++] = '\n';
	if (write(h->to, line, (size_t)len) != len)
		return false;
	while (at < sizeof(buf) - 1) {
		struct pollfd p = { h->from, POLLIN, 0 };

		if (poll(&p, 1, 60000) != 1 || read(h->from, buf + at, 1) != 1)
			return false;
		if (buf[at] == '\n')
			break;
		at++;
	}
	buf[at] = 0;
	if (ans && n) {
		const char *src = buf[0] == 'o' && buf[1] == 'k' ? buf + (buf[2] ? 3 : 2) : buf;
		size_t l = strlen(src) < n - 1 ? strlen(src) : n - 1;

		memcpy(ans, src, l);
		ans[l] = 0;
	}
	if (strncmp(buf, "ok", 2))
		printf("# %s: %.*s -> %s\n", h->name, len - 1, line, buf);
	return !strncmp(buf, "ok", 2);
}

static int hnum(host *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int hnum(host *h, const char *fmt, ...)
{
	char line[200], ans[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (!hcmd(h, ans, sizeof(ans), "%s", line))
		return -1;
	return atoi(ans);
}

/* Forks the host into its own namespace, joins it to the bridge, joins it
 * to the cluster. */
static bool spawn(host *h)
{
	int to[2], from[2], rdy[2];
	char c;

	if (pipe2(to, O_CLOEXEC) || pipe2(from, O_CLOEXEC) || pipe2(rdy, O_CLOEXEC))
		return false;
	fflush(stdout);
	if ((h->pid = fork()) == 0) {
		close(to[1]);
		close(from[0]);
		close(rdy[0]);
		host_main(h->name, to[0], from[1], rdy[1]);
	}
	close(to[0]);
	close(from[1]);
	close(rdy[1]);
	h->to = to[1];
	h->from = from[0];
	if (h->pid < 0 || read(rdy[0], &c, 1) != 1)
		return close(rdy[0]), false;
	close(rdy[0]);
	if (sh("ip link add vh%d type veth peer name eth0 netns %d && ip link set vh%d master br0 up",
	       h->n, (int)h->pid, h->n))
		return false;
	return hcmd(h, NULL, 0, "net %s", h->vtep) && hcmd(h, NULL, 0, "join");
}

static void reap(host *h)
{
	if (h->pid > 0) {
		if (!hcmd(h, NULL, 0, "quit"))
			kill(h->pid, SIGKILL);
		waitpid(h->pid, NULL, 0);
	}
	h->pid = 0;
}

typedef struct hst {
	int hosts, groups, vnis, ports, connected, remotes;
	unsigned long long syncs, regrants;
} hst;

static hst stats(host *h)
{
	char ans[200];
	hst s = { -1, -1, -1, -1, -1, -1, 0, 0 };

	if (hcmd(h, ans, sizeof(ans), "stats"))
		sscanf(ans, "%d %d %d %d %d %d %llu %llu", &s.hosts, &s.groups, &s.vnis, &s.ports,
		       &s.connected, &s.remotes, &s.syncs, &s.regrants);
	return s;
}

/* Waits for event ev (of name, "-" any) on h after mark from: its time (ns), 0 if none. */
static uint64_t hwait(host *h, int from, unsigned ev, const char *name, unsigned ms)
{
	char ans[200];
	int found = 0;
	unsigned long long at = 0;

	if (!hcmd(h, ans, sizeof(ans), "wait %d %u %s %u", from, ev, name, ms) ||
	    sscanf(ans, "%d %llu", &found, &at) != 2 || !found)
		return 0;
	return at;
}

static bool ping(host *h, int port, const char *ip, int id, int seq)
{
	return hnum(h, "ping %d %s %d %d", port, ip, id, seq) == 1;
}

static int setup(void **state)
{
	(void)state;
	if (!etcd_fx_have()) {
		snprintf(why, sizeof(why), "etcd and etcdctl (etcd-server, etcd-client) are needed");
		return 0;
	}
	if (unshare(CLONE_NEWNET) != 0 ||
	    sh("ip link set lo up && ip link add br0 type bridge && ip link set br0 address "
	       "02:77:00:00:00:fe && ip addr add %s/24 dev br0 && ip link set br0 up", BRIDGE_IP)) {
		snprintf(why, sizeof(why), "cannot make a network namespace with a bridge: %s",
			 strerror(errno));
		return 0;
	}
	if (!etcd_fx_init(&etcd, 2379, BRIDGE_IP)) {
		snprintf(why, sizeof(why), "etcd did not start (%s.log)", etcd.dir);
		return 0;
	}
	ready = true;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	reap(&H1);
	reap(&H2);
	reap(&H3);
	etcd_fx_fini(&etcd);
	return 0;
}

#define NEED_SETUP()                                                            \
	do {                                                                    \
		(void)state;                                                    \
		if (!ready) {                                                   \
			printf("NOT RUN %s: %s\n", __func__, why);              \
			skip();                                                 \
		}                                                               \
	} while (0)

/* The cluster's configuration, written as an administrator would. */
static void test_two_hosts_ping(void **state)
{
	NEED_SETUP();
	assert_int_equal(etcd_fx_ctl(&etcd, "put " PFX "config '{\"mtu\": 1500}'"), 0);
	assert_int_equal(etcd_fx_ctl(&etcd, "put " PFX "vni/10 '{\"vni\": 5010}'"), 0);
	assert_int_equal(etcd_fx_ctl(&etcd, "put " PFX "vni/20 '{\"vni\": 5020}'"), 0);
	assert_int_equal(etcd_fx_ctl(&etcd, "put " PFX "group/web '{\"vlan\": 10}'"), 0);
	assert_int_equal(etcd_fx_ctl(&etcd, "put " PFX "group/db '{\"vlan\": 20}'"), 0);
	assert_true(spawn(&H1));
	assert_true(spawn(&H2));
	assert_int_equal(hnum(&H1, "port web 1 10.9.0.1"), 0);
	assert_int_equal(hnum(&H2, "port web 2 10.9.0.2"), 0);
	hst s = stats(&H2);
	assert_int_equal(s.hosts, 2);
	assert_int_equal(s.groups, 2);
	assert_int_equal(s.vnis, 2);
	assert_int_equal(s.remotes, 1);
	assert_true(hwait(&H1, 0, VMM_NET_CLUSTER_HOST_UP, "h2", 10000));
	assert_int_equal(stats(&H1).remotes, 1);
	for (int i = 1; i <= 3; i++)
		assert_true(ping(&H1, 0, "10.9.0.2", 1, i));
	assert_true(ping(&H2, 0, "10.9.0.1", 2, 1));
}

/* A host joining later learns it all at join; the others add it. */
static void test_join_learns(void **state)
{
	int m1, m2;

	NEED_SETUP();
	m1 = hnum(&H1, "mark");
	m2 = hnum(&H2, "mark");
	assert_true(spawn(&H3));
	hst s = stats(&H3);
	assert_int_equal(s.hosts, 3);
	assert_int_equal(s.groups, 2);
	assert_int_equal(s.vnis, 2);
	assert_int_equal(s.remotes, 2);
	assert_int_equal(s.connected, 1);
	assert_true(hwait(&H1, m1, VMM_NET_CLUSTER_HOST_UP, "h3", 10000));
	assert_true(hwait(&H2, m2, VMM_NET_CLUSTER_HOST_UP, "h3", 10000));
	assert_int_equal(stats(&H1).remotes, 2);
	assert_int_equal(stats(&H2).remotes, 2);
	assert_int_equal(hnum(&H3, "port web 3 10.9.0.3"), 0);
	assert_int_equal(hnum(&H3, "port db 9 10.9.0.9"), 1);
	assert_int_equal(hnum(&H1, "port db 8 10.9.0.8"), 1);
	assert_true(ping(&H1, 0, "10.9.0.3", 3, 1));
	assert_true(ping(&H3, 0, "10.9.0.2", 3, 2));
}

/* VLAN 20 (VNI 5020) reaches across hosts; VLAN 10 never sees it. */
static void test_vlan_isolation(void **state)
{
	NEED_SETUP();
	assert_true(ping(&H1, 1, "10.9.0.9", 4, 1));          /* db h1 -> db h3 */
	assert_true(ping(&H3, 1, "10.9.0.8", 4, 2));          /* db h3 -> db h1 */
	assert_false(ping(&H1, 0, "10.9.0.9", 4, 3));         /* web h1 -> db h3 */
	assert_false(ping(&H2, 0, "10.9.0.8", 4, 4));         /* web h2 -> db h1 */
	assert_false(ping(&H3, 1, "10.9.0.2", 4, 5));         /* db h3 -> web h2 */
	assert_true(ping(&H2, 0, "10.9.0.1", 4, 6));          /* web still fine */
}

static double ms_since(uint64_t t0, uint64_t t1)
{
	return t1 > t0 ? (double)(t1 - t0) / 1e6 : 0;
}

/* A policy written once with etcdctl applies on every host. */
static void test_policy_everywhere(void **state)
{
	host *hs[3] = { &H1, &H2, &H3 };
	int m[3];
	uint64_t t0, at[3];
	double worst = 0;

	NEED_SETUP();
	for (int i = 0; i < 3; i++)
		m[i] = hnum(hs[i], "mark");
	t0 = real_ns();
	assert_int_equal(etcd_fx_ctl(&etcd, "put " PFX "group/web '{\"vlan\": 10, \"policy\": "
				     "{\"firewall\": {\"default\": \"deny\"}}}'"), 0);
	for (int i = 0; i < 3; i++) {
		assert_true((at[i] = hwait(hs[i], m[i], VMM_NET_CLUSTER_GROUP, "web", 10000)) != 0);
		worst = ms_since(t0, at[i]) > worst ? ms_since(t0, at[i]) : worst;
	}
	printf("# policy applied on h1 %.0f ms, h2 %.0f ms, h3 %.0f ms after etcdctl put started "
	       "(%s 1 s)\n", ms_since(t0, at[0]), ms_since(t0, at[1]), ms_since(t0, at[2]),
	       worst < 1000 ? "within" : "NOT within");
	/* Enforced on every host: each side's firewall drops. */
	assert_false(ping(&H1, 0, "10.9.0.2", 5, 1));
	assert_false(ping(&H3, 0, "10.9.0.1", 5, 2));
	assert_true(hnum(&H1, "fwdrops 0") > 0);
	assert_true(hnum(&H3, "fwdrops 0") > 0);
	assert_true(ping(&H1, 1, "10.9.0.9", 5, 3));          /* db is another group */
	for (int i = 0; i < 3; i++)
		m[i] = hnum(hs[i], "mark");
	assert_int_equal(etcd_fx_ctl(&etcd, "put " PFX "group/web '{\"vlan\": 10}'"), 0);
	for (int i = 0; i < 3; i++)
		assert_true(hwait(hs[i], m[i], VMM_NET_CLUSTER_GROUP, "web", 10000));
	assert_true(ping(&H1, 0, "10.9.0.2", 5, 4));
	assert_true(ping(&H3, 0, "10.9.0.1", 5, 5));
}

/* Stops h's background pings: how many went unanswered (-1: none sent).
 * A loss is told with when it was sent (relative to t0) and the uplink's
 * counters. */
static int bg_stop(host *h, const char *what, uint64_t t0)
{
	char ans[200];
	unsigned sent = 0, ok = 0;
	unsigned long long fail = 0;

	if (!hcmd(h, ans, sizeof(ans), "bgstop") ||
	    sscanf(ans, "%u %u %llu", &sent, &ok, &fail) != 3 || !sent)
		return -1;
	printf("# %s: %s %u of %u pings answered\n", what, h->name, ok, sent);
	if (fail && hcmd(h, ans, sizeof(ans), "upstats"))
		printf("# %s: first unanswered ping sent %.0f ms after the event; uplink: %s\n",
		       h->name, fail > t0 ? (double)(fail - t0) / 1e6 : -(double)(t0 - fail) / 1e6,
		       ans);
	return (int)(sent - ok);
}

/* h2 killed with SIGKILL: h1 and h3 talk on, and drop it when its lease ends. */
static void test_sigkill_host(void **state)
{
	int m1, m3, lost1, lost3;
	uint64_t t0, d1, d3;

	NEED_SETUP();
	m1 = hnum(&H1, "mark");
	m3 = hnum(&H3, "mark");
	assert_true(hcmd(&H1, NULL, 0, "bg 0 10.9.0.3"));
	assert_true(hcmd(&H3, NULL, 0, "bg 1 10.9.0.8"));
	usleep(200000);
	t0 = real_ns();
	kill(H2.pid, SIGKILL);
	waitpid(H2.pid, NULL, 0);
	H2.pid = 0;
	assert_true((d1 = hwait(&H1, m1, VMM_NET_CLUSTER_HOST_DOWN, "h2", 15000)) != 0);
	assert_true((d3 = hwait(&H3, m3, VMM_NET_CLUSTER_HOST_DOWN, "h2", 15000)) != 0);
	printf("# h2 (lease TTL 2 s) left the flood lists %.0f ms (h1) and %.0f ms (h3) after "
	       "SIGKILL\n", ms_since(t0, d1), ms_since(t0, d3));
	lost1 = bg_stop(&H1, "during SIGKILL", t0);
	lost3 = bg_stop(&H3, "during SIGKILL", t0);
	assert_int_equal(lost1, 0);
	assert_int_equal(lost3, 0);
	assert_int_equal(stats(&H1).remotes, 1);
	assert_int_equal(stats(&H3).remotes, 1);
	assert_int_equal(stats(&H1).hosts, 2);
	assert_true(ping(&H1, 0, "10.9.0.3", 6, 1));
	assert_false(ping(&H1, 0, "10.9.0.2", 6, 2));
	assert_int_equal(etcd_fx_ctl(&etcd, "get " PFX "host/h2 --print-value-only | grep -q ."), 1);
}

/* The number of keys etcd holds under the switch's prefix, hosts aside. */
static int config_keys(void)
{
	char cmd[256], line[256];
	int n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ETCDCTL_API=3 etcdctl --endpoints=127.0.0.1:%d get --prefix "
		 "--keys-only " PFX " 2>/dev/null", etcd.port);
	if (!(p = popen(cmd, "r")))
		return -1;
	while (fgets(line, sizeof(line), p))
		n += line[0] == '/' && !strstr(line, "/host/");
	return pclose(p) == 0 ? n : -1;
}

/* etcd killed while pings flow, restarted on its data: nothing lost. */
static void test_etcd_restart(void **state)
{
	int m1, m3, keys, lost1, lost3;
	uint64_t t0;
	hst s;

	NEED_SETUP();
	keys = config_keys();
	assert_int_equal(keys, 5);
	m1 = hnum(&H1, "mark");
	m3 = hnum(&H3, "mark");
	assert_true(hcmd(&H1, NULL, 0, "bg 0 10.9.0.3"));
	assert_true(hcmd(&H3, NULL, 0, "bg 1 10.9.0.8"));
	t0 = real_ns();
	etcd_fx_stop(&etcd, SIGKILL);
	assert_true(hwait(&H1, m1, VMM_NET_CLUSTER_LOST, "-", 15000));
	assert_true(hwait(&H3, m3, VMM_NET_CLUSTER_LOST, "-", 15000));
	assert_int_equal(stats(&H1).connected, 0);
	usleep(500000);                                       /* traffic without etcd */
	assert_true(etcd_fx_start(&etcd));
	assert_true(hwait(&H1, m1, VMM_NET_CLUSTER_SYNCED, "-", 15000));
	assert_true(hwait(&H3, m3, VMM_NET_CLUSTER_SYNCED, "-", 15000));
	lost1 = bg_stop(&H1, "across the etcd restart", t0);
	lost3 = bg_stop(&H3, "across the etcd restart", t0);
	assert_int_equal(lost1, 0);
	assert_int_equal(lost3, 0);
	assert_int_equal(config_keys(), keys);
	for (int i = 0; i < 100 && (s = stats(&H1)).hosts != 2; i++)
		usleep(100000);                               /* a lease may be granted again */
	assert_int_equal(s.connected, 1);
	assert_int_equal(s.hosts, 2);
	assert_int_equal(s.groups, 2);
	assert_int_equal(s.vnis, 2);
	assert_int_equal(s.remotes, 1);
	assert_true(s.syncs >= 2);
	/* The watch is back on both: a change after the restart arrives. */
	m1 = hnum(&H1, "mark");
	m3 = hnum(&H3, "mark");
	assert_int_equal(etcd_fx_ctl(&etcd, "put " PFX "group/db '{\"vlan\": 20, \"policy\": "
				     "{\"firewall\": {\"default\": \"deny\"}}}'"), 0);
	assert_true(hwait(&H1, m1, VMM_NET_CLUSTER_GROUP, "db", 10000));
	assert_true(hwait(&H3, m3, VMM_NET_CLUSTER_GROUP, "db", 10000));
	assert_false(ping(&H1, 1, "10.9.0.9", 7, 1));
	assert_true(ping(&H3, 0, "10.9.0.1", 7, 2));
}

/* h3 cut off from etcd (a blackhole route: its connections hang without
 * a word) while VXLAN to h1 still works: h1 drops it when its lease ends;
 * when the route is back h3 reads everything again (the change it missed
 * included) and registers again, and h1 takes it back. */
static void test_partition(void **state)
{
	int m1, m3;
	hst s;

	NEED_SETUP();
	m1 = hnum(&H1, "mark");
	m3 = hnum(&H3, "mark");
	assert_true(hcmd(&H3, NULL, 0, "etcd off"));
	assert_true(hwait(&H1, m1, VMM_NET_CLUSTER_HOST_DOWN, "h3", 15000));
	assert_int_equal(etcd_fx_ctl(&etcd, "put " PFX "group/db '{\"vlan\": 20}'"), 0);
	assert_true(hwait(&H1, m1, VMM_NET_CLUSTER_GROUP, "db", 10000));
	assert_true(hwait(&H3, m3, VMM_NET_CLUSTER_LOST, "-", 15000));
	assert_false(hwait(&H3, m3, VMM_NET_CLUSTER_GROUP, "db", 100));   /* cut off */
	assert_true(hcmd(&H3, NULL, 0, "etcd on"));
	assert_true(hwait(&H3, m3, VMM_NET_CLUSTER_GROUP, "db", 20000));  /* missed, now read */
	assert_true(hwait(&H1, m1, VMM_NET_CLUSTER_HOST_UP, "h3", 20000));
	for (int i = 0; i < 100 && (s = stats(&H3)).hosts != 2; i++)
		usleep(100000);                               /* its own key comes back by the watch */
	assert_int_equal(s.connected, 1);
	assert_int_equal(s.hosts, 2);
	assert_true(s.regrants >= 1);
	assert_int_equal(stats(&H1).remotes, 1);
	assert_true(ping(&H1, 1, "10.9.0.9", 8, 1));          /* db open again, both ways */
	assert_true(ping(&H3, 0, "10.9.0.1", 8, 2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_hosts_ping),
		cmocka_unit_test(test_join_learns),
		cmocka_unit_test(test_vlan_isolation),
		cmocka_unit_test(test_policy_everywhere),
		cmocka_unit_test(test_sigkill_host),
		cmocka_unit_test(test_etcd_restart),
		cmocka_unit_test(test_partition),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
