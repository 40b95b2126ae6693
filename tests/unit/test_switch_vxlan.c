/* test_switch_vxlan.c - the VXLAN uplink against Linux's own vxlan device.
 * The test runs in a fresh network namespace (the "host side") holding
 * the switch, its uplink on 10.201.0.1 and embedder ports that speak ARP
 * and ICMP (tests/net/ipstack.h); a second, named namespace (the "Linux
 * side") is joined by a veth pair and has three vxlan devices on UDP 4789:
 * vx0 (VNI 100, 192.168.100.2), vx1 (VNI 200, 192.168.200.2) and vx2 (VNI
 * 300, unmapped on the switch). The uplink maps VLAN 10 -> VNI 100 and
 * VLAN 20 -> VNI 200. Shown: the Linux kernel pings an embedder port
 * (ARP and echo answered by the port) and the port pings Linux; VLAN 10
 * and 20 never see each other's frames; VNI 300 reaches nobody; short,
 * wrongly flagged, unknown-VNI, inner-tagged and oversized datagrams and
 * random garbage are dropped and counted and the uplink keeps working;
 * the flood list and learning; configuration errors. NOT RUN without the
 * rights to make namespaces, veth or vxlan devices. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm.h"
#include "tests/net/ipstack.h"
#include "tests/net/shell.h"

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static char ns[32];
static char why[256];
static bool ready;
static vmm_switch *sw;
static vmm_net_port *up;
static ips a, b;                       /* VLAN 10 and VLAN 20 */
static uint8_t vx0_mac[6], vx1_mac[6];

static const uint8_t MAC_A[6] = { 0x02, 0x00, 0x00, 0x00, 0x0a, 0x01 };
static const uint8_t MAC_B[6] = { 0x02, 0x00, 0x00, 0x00, 0x14, 0x01 };
static const uint8_t MAC_BAD[6] = { 0x02, 0x99, 0, 0, 0, 1 };   /* crafted datagrams' */

static bool read_mac(const char *dev, uint8_t *mac)
{
	char cmd[128], line[64];
	FILE *f;
	bool ok;

	snprintf(cmd, sizeof(cmd), "ip netns exec %s cat /sys/class/net/%s/address", ns, dev);
	if (!(f = popen(cmd, "r")))
		return false;
	ok = fgets(line, sizeof(line), f) &&
	     sscanf(line, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3],
		    &mac[4], &mac[5]) == 6;
	pclose(f);
	return ok;
}

/* The Linux side: veth to us, three vxlan devices on it. */
static bool linux_side(void)
{
	if (sh("ip link set lo up && ip netns add %s && "
	       "ip link add ndva type veth peer name ndvb netns %s && "
	       "ip addr add 10.201.0.1/24 dev ndva && ip link set ndva up", ns, ns))
		return false;
	for (int i = 0; i < 3; i++)
		if (sh("ip netns exec %s sh -e -c 'ip link set lo up; "
		       "ip addr add 10.201.0.2/24 dev ndvb 2>/dev/null || true; ip link set ndvb up; "
		       "ip link add vx%d type vxlan id %d remote 10.201.0.1 local 10.201.0.2 "
		       "dstport 4789 dev ndvb; ip addr add 192.168.%d.2/24 dev vx%d; "
		       "ip link set vx%d up'", ns, i, (i + 1) * 100, i == 2 ? 250 : (i + 1) * 100, i, i))
			return false;
	return read_mac("vx0", vx0_mac) && read_mac("vx1", vx1_mac);
}

static int setup(void **state)
{
	static const vmm_net_vni map[] = { { 10, 100 }, { 20, 200 } };
	static const char *const remotes[] = { "10.201.0.2" };
	vmm_switch_config sc = VMM_SWITCH_CONFIG_INIT;
	vmm_net_uplink_config u = VMM_NET_UPLINK_CONFIG_INIT;
	vmm_net_port_config c = VMM_NET_PORT_CONFIG_INIT;
	vmm_net_port *pa, *pb;

	snprintf(ns, sizeof(ns), "ndvx%d", (int)getpid());
	if (geteuid() != 0 || sh("command -v ip >/dev/null") != 0) {
		snprintf(why, sizeof(why), "needs root and iproute2 (ip) for namespaces, veth "
			 "and vxlan devices");
		return 0;
	}
	if (unshare(CLONE_NEWNET) != 0) {
		snprintf(why, sizeof(why), "cannot make a network namespace: %s", strerror(errno));
		return 0;
	}
	if (!linux_side()) {
		snprintf(why, sizeof(why), "could not set up the Linux side (veth, vxlan devices "
			 "in namespace %s)", ns);
		return 0;
	}
	if (vmm_switch_create(&sc, &sw))
		return -1;
	u.local = "10.201.0.1";
	u.vnis = map;
	u.nvnis = 2;
	u.remotes = remotes;
	u.nremotes = 1;
	c.kind = VMM_NET_PORT_UPLINK;
	c.uplink = &u;
	c.name = "vx-uplink";
	if (vmm_net_port_create(sw, &c, &up)) {
		fprintf(stderr, "uplink: %s\n", vmm_last_error());
		return -1;
	}
	ips_init(&a, MAC_A, IP4(192, 168, 100, 1));
	ips_init(&b, MAC_B, IP4(192, 168, 200, 1));
	c = ips_port_config(&a);
	c.vlan = 10;
	if (vmm_net_port_create(sw, &c, &pa))
		return -1;
	a.port = pa;
	c = ips_port_config(&b);
	c.vlan = 20;
	if (vmm_net_port_create(sw, &c, &pb))
		return -1;
	b.port = pb;
	ready = true;
	return 0;
}

static int teardown(void **state)
{
	vmm_switch_destroy(sw);                 /* joins the uplink's thread */
	if (ns[0])
		sh("ip netns del %s 2>/dev/null", ns);
	return 0;
}

#define NEED_SETUP()                                                            \
	do {                                                                    \
		if (!ready) {                                                   \
			printf("NOT RUN %s: %s\n", __func__, why);              \
			skip();                                                 \
		}                                                               \
	} while (0)

/* Pings dst from the Linux namespace with a raw ICMP socket (the kernel
 * resolves it with ARP over the vxlan device): how many of n came back. */
static int linux_ping(const char *dst, int n)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		char path[64];
		int fd, s, got = 0;
		struct sockaddr_in to = { .sin_family = AF_INET };

		snprintf(path, sizeof(path), "/run/netns/%s", ns);
		if ((fd = open(path, O_RDONLY)) < 0 || setns(fd, CLONE_NEWNET) != 0)
			_exit(100);
		if ((s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)) < 0)
			_exit(101);
		inet_pton(AF_INET, dst, &to.sin_addr);
		for (int i = 0; i < n; i++) {
			uint8_t req[64] = { 8, 0, 0, 0, 0x12, 0x34, 0, (uint8_t)i }, buf[256];
			struct pollfd p = { s, POLLIN, 0 };
			bool ok = false;

			ips_put16(req + 2, ips_csum(req, sizeof(req)));
			if (sendto(s, req, sizeof(req), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
				continue;
			while (!ok && poll(&p, 1, 3000) == 1) {
				ssize_t k = recv(s, buf, sizeof(buf), 0);
				size_t ihl = (size_t)(buf[0] & 15) * 4;

				ok = k >= (ssize_t)(ihl + 8) && buf[ihl] == 0 && buf[ihl + 4] == 0x12 &&
				     buf[ihl + 5] == 0x34 && buf[ihl + 7] == (uint8_t)i &&
				     !memcmp(buf + 12, &to.sin_addr, 4);
			}
			got += ok;
		}
		_exit(got);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* A counter of an endpoint, read under its lock (asserts stay outside). */
static uint64_t rd(ips *s, const uint64_t *v)
{
	uint64_t r;

	pthread_mutex_lock(&s->lock);
	r = *v;
	pthread_mutex_unlock(&s->lock);
	return r;
}

static vmm_net_uplink_stats ustats(void)
{
	vmm_net_uplink_stats st = { .size = sizeof(st) };

	assert_int_equal(vmm_net_uplink_stats_get(up, &st), 0);
	return st;
}

static void test_linux_pings_port(void **state)
{
	uint64_t arp0, echo0;

	NEED_SETUP();
	arp0 = rd(&a, &a.arp_answered);
	echo0 = rd(&a, &a.echo_answered);
	assert_int_equal(linux_ping("192.168.100.1", 3), 3);
	assert_true(rd(&a, &a.arp_answered) > arp0);    /* the kernel asked over VXLAN */
	assert_int_equal(rd(&a, &a.echo_answered) - echo0, 3);
	vmm_net_uplink_stats st = ustats();
	assert_true(st.rx_datagrams >= 4 && st.tx_datagrams >= 4);
	assert_true(st.learned >= 1);                   /* vx0's MAC behind 10.201.0.2 */
	assert_true(ips_has_seen(&a, vx0_mac));
}

static void test_port_pings_linux(void **state)
{
	NEED_SETUP();
	ips_forget(&a);
	for (uint16_t i = 1; i <= 3; i++)
		assert_true(ips_ping(&a, IP4(192, 168, 100, 2), 7, i, 3000));
	assert_true(ips_ping(&b, IP4(192, 168, 200, 2), 8, 1, 3000));
	/* The Linux side learned our MAC: a unicast reply came straight back. */
	assert_int_equal(linux_ping("192.168.200.1", 2), 2);
}

/* VLAN 10 (VNI 100) and VLAN 20 (VNI 200) never see each other; VNI 300
 * is not mapped and reaches nobody. */
static void test_isolation(void **state)
{
	uint64_t a0, unk0;
	uint8_t mac[6];

	NEED_SETUP();
	assert_true(ips_ping(&a, IP4(192, 168, 100, 2), 9, 1, 3000));
	assert_true(ips_ping(&b, IP4(192, 168, 200, 2), 9, 2, 3000));
	assert_true(ips_has_seen(&a, vx0_mac) && !ips_has_seen(&a, vx1_mac));
	assert_true(ips_has_seen(&b, vx1_mac) && !ips_has_seen(&b, vx0_mac));
	/* A's ARP for B's address stays in VLAN 10: B never hears A. */
	assert_false(ips_resolve(&a, IP4(192, 168, 200, 1), mac, 600));
	assert_false(ips_has_seen(&b, MAC_A));
	assert_false(ips_has_seen(&a, MAC_B));
	/* VNI 300 from Linux: counted, delivered to nobody. */
	unk0 = ustats().rx_unknown_vni;
	a0 = rd(&a, &a.rx_frames) + rd(&b, &b.rx_frames);
	assert_int_equal(linux_ping("192.168.250.1", 1), 0);
	assert_true(ustats().rx_unknown_vni > unk0);
	/* (vx0/vx1 may refresh their neighbours meanwhile: only VNI 300 is counted) */
	(void)a0;
}

static void send_dgram(int s, const void *d, size_t n)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(4789) };

	inet_pton(AF_INET, "10.201.0.1", &to.sin_addr);
	assert_int_equal(sendto(s, d, n, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)n);
}

static void wait_rx(uint64_t want)
{
	for (int i = 0; i < 1000 && ustats().rx_datagrams < want; i++)
		usleep(10000);
	assert_true(ustats().rx_datagrams >= want);
}

static size_t vx_frame(uint8_t *d, uint8_t flags, uint32_t vni, uint16_t type)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	memset(d, 0, 8 + 60);
	d[0] = flags;
	d[4] = (uint8_t)(vni >> 16);
	d[5] = (uint8_t)(vni >> 8);
	d[6] = (uint8_t)vni;
	memcpy(d + 8, bcast, 6);
	memcpy(d + 14, MAC_BAD, 6);
	ips_put16(d + 20, type);
	return 8 + 60;
}

/* Hostile datagrams: each kind counted, nothing reaches a port, no crash,
 * and the uplink still works afterwards. */
static void test_malformed(void **state)
{
	uint8_t d[2048];
	vmm_net_uplink_stats s0, s1;
	int s;

	NEED_SETUP();
	s = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(s >= 0);
	s0 = ustats();
	send_dgram(s, "\x08\0\0", 3);                                    /* short */
	vx_frame(d, 0x08, 100, 0x88b5);
	send_dgram(s, d, 8 + 13);                                        /* inner runt */
	send_dgram(s, d, vx_frame(d, 0x00, 100, 0x88b5));                /* no I flag */
	send_dgram(s, d, vx_frame(d, 0x0c, 100, 0x88b5));                /* I + GPE's P */
	send_dgram(s, d, vx_frame(d, 0x88, 100, 0x88b5));                /* I + GBP's G */
	send_dgram(s, d, vx_frame(d, 0x08, 999, 0x88b5));                /* unknown VNI */
	send_dgram(s, d, vx_frame(d, 0x08, 100, 0x8100));                /* inner tag */
	send_dgram(s, d, vx_frame(d, 0x08, 100, 0x88a8));                /* inner QinQ */
	memset(d, 0, sizeof(d));
	vx_frame(d, 0x08, 100, 0x88b5);
	send_dgram(s, d, 8 + 14 + 1500 + 40);                            /* over the MTU */
	wait_rx(s0.rx_datagrams + 9);
	s1 = ustats();
	assert_false(ips_has_seen(&a, MAC_BAD));                        /* none got through */
	assert_false(ips_has_seen(&b, MAC_BAD));
	assert_int_equal(s1.rx_short - s0.rx_short, 2);
	assert_int_equal(s1.rx_flags - s0.rx_flags, 3);
	assert_int_equal(s1.rx_unknown_vni - s0.rx_unknown_vni, 1);
	assert_int_equal(s1.rx_inner_tagged - s0.rx_inner_tagged, 2);
	assert_int_equal(s1.rx_oversize - s0.rx_oversize, 1);
	/* Random garbage, random lengths. */
	srand(14);
	for (int i = 0; i < 3000; i++) {
		size_t n = (size_t)rand() % 1600;

		for (size_t j = 0; j < n; j++)
			d[j] = (uint8_t)rand();
		if (i & 1)
			d[0] = 0x08;
		if (i % 4 == 1)
			d[4] = d[5] = 0;
		if (n)
			send_dgram(s, d, n);
	}
	close(s);
	wait_rx(s1.rx_datagrams + 2999);
	assert_int_equal(linux_ping("192.168.100.1", 2), 2);            /* still works */
}

/* The flood list: without a remote, A's ARP goes nowhere; with it back,
 * it does. Removing the remote forgets what was learned behind it. */
static void test_flood_list(void **state)
{
	uint8_t mac[6];

	NEED_SETUP();
	assert_int_equal(vmm_net_uplink_remove_remote(up, "10.201.0.2", 0), 0);
	assert_int_equal(vmm_net_uplink_remove_remote(up, "10.201.0.2", 0), VMM_ENOENT);
	assert_int_equal(ustats().remotes, 0);
	ips_forget(&a);
	assert_false(ips_resolve(&a, IP4(192, 168, 100, 2), mac, 600));
	assert_int_equal(vmm_net_uplink_add_remote(up, "10.201.0.2", 200), 0);   /* VNI 200 only */
	assert_false(ips_resolve(&a, IP4(192, 168, 100, 2), mac, 600));
	assert_int_equal(vmm_net_uplink_add_remote(up, "10.201.0.2", 0), 0);
	assert_int_equal(vmm_net_uplink_add_remote(up, "10.201.0.2", 0), 0);     /* again: no error */
	assert_int_equal(ustats().remotes, 2);
	assert_true(ips_ping(&a, IP4(192, 168, 100, 2), 11, 1, 3000));
	assert_int_equal(vmm_net_uplink_remove_remote(up, "10.201.0.2", 200), 0);
	assert_int_equal(ustats().remotes, 1);
}

/* The VNI map replaced live: VLAN 10 moved to VNI 300 talks to vx2. */
static void test_remap(void **state)
{
	static const vmm_net_vni m2[] = { { 10, 300 }, { 20, 200 } };
	static const vmm_net_vni m1[] = { { 10, 100 }, { 20, 200 } };
	vmm_net_port_config c;
	vmm_net_port *pc;
	ips x;

	NEED_SETUP();
	ips_init(&x, (const uint8_t[]){ 0x02, 0, 0, 0, 0x0a, 0x02 }, IP4(192, 168, 250, 1));
	c = ips_port_config(&x);
	c.vlan = 10;
	assert_int_equal(vmm_net_port_create(sw, &c, &pc), 0);
	x.port = pc;
	assert_int_equal(vmm_net_uplink_set_vnis(up, m2, 2), 0);
	assert_int_equal(linux_ping("192.168.250.1", 2), 2);
	assert_int_equal(vmm_net_uplink_set_vnis(up, m1, 2), 0);
	assert_int_equal(linux_ping("192.168.250.1", 1), 0);
	vmm_net_port_destroy(pc);
	assert_int_equal(linux_ping("192.168.100.1", 1), 1);
}

static void test_config_errors(void **state)
{
	static const vmm_net_vni dup_vlan[] = { { 10, 1 }, { 10, 2 } };
	static const vmm_net_vni dup_vni[] = { { 10, 1 }, { 11, 1 } };
	static const vmm_net_vni bad[] = { { 10, 0 } };
	static const vmm_net_vni bad2[] = { { 4095, 5 } };
	static const vmm_net_vni big[] = { { 10, 1u << 24 } };
	vmm_net_uplink_config u = VMM_NET_UPLINK_CONFIG_INIT;
	vmm_net_port_config c = VMM_NET_PORT_CONFIG_INIT;
	vmm_switch_config sc = VMM_SWITCH_CONFIG_INIT;
	vmm_switch *s2;
	vmm_net_port *p;
	const char *bad_remote[] = { "10.0.0.300" };

	NEED_SETUP();
	c.kind = VMM_NET_PORT_UPLINK;
	assert_int_equal(vmm_net_port_create(sw, &c, &p), VMM_EINVAL);       /* no uplink config */
	c.uplink = &u;
	c.vlan = 5;
	assert_int_equal(vmm_net_port_create(sw, &c, &p), VMM_EINVAL);       /* a vlan */
	c.vlan = 0;
	u.udp_port = 4790;
	assert_int_equal(vmm_net_port_create(sw, &c, &p), VMM_EBUSY);        /* one per switch */
	assert_non_null(strstr(vmm_last_error(), "uplink already"));
	assert_int_equal(vmm_switch_create(&sc, &s2), 0);
	u.local = "10.201.0.1";
	u.udp_port = 4789;
	assert_int_equal(vmm_net_port_create(s2, &c, &p), VMM_EBUSY);        /* port taken */
	u.udp_port = 70000;
	assert_int_equal(vmm_net_port_create(s2, &c, &p), VMM_EINVAL);
	u.udp_port = 0;
	u.local = "nowhere";
	assert_int_equal(vmm_net_port_create(s2, &c, &p), VMM_EINVAL);
	u.local = NULL;
	u.udp_port = 4791;
	u.remotes = bad_remote;
	u.nremotes = 1;
	assert_int_equal(vmm_net_port_create(s2, &c, &p), VMM_EINVAL);
	u.nremotes = 0;
	u.vnis = dup_vlan;
	u.nvnis = 2;
	assert_int_equal(vmm_net_port_create(s2, &c, &p), VMM_EINVAL);
	u.vnis = dup_vni;
	assert_int_equal(vmm_net_port_create(s2, &c, &p), VMM_EINVAL);
	u.nvnis = 1;
	u.vnis = bad;
	assert_int_equal(vmm_net_port_create(s2, &c, &p), VMM_EINVAL);
	u.vnis = bad2;
	assert_int_equal(vmm_net_port_create(s2, &c, &p), VMM_EINVAL);
	u.vnis = big;
	assert_int_equal(vmm_net_port_create(s2, &c, &p), VMM_EINVAL);
	u.vnis = NULL;
	u.nvnis = 0;
	u.size = 8;
	assert_int_equal(vmm_net_port_create(s2, &c, &p), VMM_EINVAL);
	u.size = sizeof(u);
	c.size = offsetof(vmm_net_port_config, uplink);                     /* a 1.1 caller */
	assert_int_equal(vmm_net_port_create(s2, &c, &p), VMM_EINVAL);
	c.size = sizeof(c);
	assert_int_equal(vmm_net_port_create(s2, &c, &p), 0);               /* 4791, any address */
	assert_int_equal(vmm_net_uplink_add_remote(p, "224.0.0.1", 0), VMM_EINVAL);
	assert_int_equal(vmm_net_uplink_add_remote(p, "0.0.0.0", 0), VMM_EINVAL);
	assert_int_equal(vmm_net_uplink_add_remote(p, "10.1.1.1", 1u << 24), VMM_EINVAL);
	assert_int_equal(vmm_net_uplink_add_remote(p, NULL, 0), VMM_EINVAL);
	assert_int_equal(vmm_net_uplink_set_vnis(p, dup_vni, 2), VMM_EINVAL);
	assert_int_equal(vmm_net_uplink_add_remote(a.port, "10.1.1.1", 0), VMM_EINVAL);   /* not an uplink */
	assert_int_equal(vmm_net_uplink_stats_get(a.port, &(vmm_net_uplink_stats){ .size = 200 }),
			 VMM_EINVAL);
	vmm_switch_destroy(s2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linux_pings_port),
		cmocka_unit_test(test_port_pings_linux),
		cmocka_unit_test(test_isolation),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_flood_list),
		cmocka_unit_test(test_remap),
		cmocka_unit_test(test_config_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
