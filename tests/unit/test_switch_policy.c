/* test_switch_policy.c - the switch's per-port policies with embedder
 * ports and real frames: IP/MAC anti-spoofing and ARP inspection, traffic
 * shaping measured over a window (the switch's fake clock, then a short
 * real-time run with a generous margin), the stateful firewall (replies
 * pass, unsolicited frames and lying headers do not), mirroring of both
 * directions, exact counters, a policy changed while another thread
 * sends. */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <cmocka.h>

#include "switch_fixture.h"

static sink s1, s2, s3;

static const uint32_t A1 = IP(10, 0, 0, 1), A2 = IP(10, 0, 0, 2);

static void test_antispoof(void **state)
{
	static const uint32_t bound[] = { IP(10, 0, 0, 1) };
	vmm_net_policy pol = VMM_NET_POLICY_INIT;
	vmm_switch *sw = make_switch(0, true);
	vmm_net_port *p1, *p2;
	uint8_t f[256];
	size_t n;

	sink_reset(&s1);
	sink_reset(&s2);
	pol.flags |= VMM_NET_ANTISPOOF;
	pol.ipv4 = bound;
	pol.nipv4 = 1;
	assert_non_null(p1 = make_port(sw, &s1, MAC1, 0, NULL, 0, &pol));
	assert_non_null(p2 = make_port(sw, &s2, MAC2, 0, NULL, 0, NULL));
	n = udp(f, MAC2, MAC1, A1, 1000, A2, 53, 20);           /* its own: passes */
	vmm_net_port_send(p1, f, n);
	assert_int_equal(s2.count, 1);
	n = udp(f, MAC2, MAC1, IP(10, 0, 0, 9), 1000, A2, 53, 20);   /* spoofed IP */
	vmm_net_port_send(p1, f, n);
	n = udp(f, MAC2, MACX, A1, 1000, A2, 53, 20);           /* spoofed MAC (forged ok) */
	vmm_net_port_send(p1, f, n);
	assert_int_equal(drops(p1, VMM_NET_DROP_SPOOF), 2);
	n = udp(f, BCAST, MAC1, 0, 68, 0xffffffff, 67, 200);    /* DHCP discover */
	vmm_net_port_send(p1, f, n);
	assert_int_equal(s2.count, 2);
	/* ARP: its own pair passes, a lie about the IP or the MAC does not. */
	n = arp(f, 1, MAC1, A1, BCAST, A2);
	vmm_net_port_send(p1, f, n);
	assert_int_equal(s2.count, 3);
	n = arp(f, 2, MAC1, IP(10, 0, 0, 2), MAC2, A2);          /* claims A2 */
	vmm_net_port_send(p1, f, n);
	n = arp(f, 1, MAC1, A1, BCAST, A2);
	memcpy(f + 22, MACX, 6);                                /* sender MAC lies */
	vmm_net_port_send(p1, f, n);
	assert_int_equal(drops(p1, VMM_NET_DROP_ARP), 2);
	n = arp(f, 1, MAC1, A1, BCAST, A2);
	f[18] = 8;                                              /* hlen 8 */
	vmm_net_port_send(p1, f, n);
	vmm_net_port_send(p1, f, 30);                           /* cut short */
	n = udp(f, MAC2, MAC1, A1, 1000, A2, 53, 20);
	f[14] = 0x4f;                                           /* IHL 60 > the frame */
	vmm_net_port_send(p1, f, 40);
	assert_int_equal(drops(p1, VMM_NET_DROP_MALFORMED), 3);
	assert_int_equal(s2.count, 3);
	/* Not bound any more: everything passes again. */
	pol.flags &= ~(uint32_t)VMM_NET_ANTISPOOF;
	assert_int_equal(vmm_net_port_set_policy(p1, &pol), 0);
	n = udp(f, MAC2, MAC1, IP(10, 0, 0, 9), 1000, A2, 53, 20);
	vmm_net_port_send(p1, f, n);
	assert_int_equal(s2.count, 4);
	vmm_switch_destroy(sw);
}

/* Offers frames of len bytes at twice bps for secs, evenly spaced on the
 * fake clock; returns the bytes that arrived. */
static uint64_t offer(vmm_net_port *from, const uint8_t *dst, size_t len, uint64_t bps,
		      double secs, sink *at)
{
	uint8_t f[1600];
	uint64_t start = at->bytes, end = fake_ns + (uint64_t)(secs * 1e9);
	uint64_t gap = (uint64_t)(len * 8 * 1e9 / (2.0 * bps));
	size_t n = eth(f, dst, MAC1, 0x88b5, len - 14);

	for (; fake_ns < end; fake_ns += gap)
		vmm_net_port_send(from, f, n);
	return at->bytes - start;
}

static void test_shaping_fake_clock(void **state)
{
	vmm_net_policy pol = VMM_NET_POLICY_INIT;
	vmm_switch *sw = make_switch(0, true);
	vmm_net_port *p1, *p2;
	uint64_t got, want;

	sink_reset(&s1);
	sink_reset(&s2);
	pol.shape_in = (vmm_net_shaping){ 10000000, 20000000, 20000 };   /* 10 Mbit/s */
	assert_non_null(p1 = make_port(sw, &s1, NULL, 0, NULL, 0, &pol));
	assert_non_null(p2 = make_port(sw, &s2, NULL, 0, NULL, 0, NULL));
	got = offer(p1, BCAST, 1000, 10000000, 5.0, &s2);
	want = 10000000 / 8 * 5;
	print_message("shaped in: %.3f Mbit/s over 5 s (average 10)\n", got * 8 / 5.0 / 1e6);
	assert_true(got >= want * 9 / 10 && got <= want * 11 / 10);
	assert_true(drops(p1, VMM_NET_DROP_SHAPED) > 0);
	/* Out: the same numbers on the receiving port, changed live. */
	pol.shape_in.avg_bps = 0;
	assert_int_equal(vmm_net_port_set_policy(p1, &pol), 0);
	pol.shape_out = (vmm_net_shaping){ 4000000, 0, 0 };           /* 4 Mbit/s */
	assert_int_equal(vmm_net_port_set_policy(p2, &pol), 0);
	got = offer(p1, BCAST, 1000, 4000000, 5.0, &s2);
	want = 4000000 / 8 * 5;
	print_message("shaped out: %.3f Mbit/s over 5 s (average 4)\n", got * 8 / 5.0 / 1e6);
	assert_true(got >= want * 9 / 10 && got <= want * 11 / 10);
	assert_true(drops(p2, VMM_NET_DROP_SHAPED) > 0);
	/* The peak rate: bursts beyond it are cut even with a big bucket. */
	pol.shape_out = (vmm_net_shaping){ 8000000, 8000000, 1000000 };
	assert_int_equal(vmm_net_port_set_policy(p2, &pol), 0);
	fake_ns += 10ull * 1000000000;                                /* fill the buckets */
	got = offer(p1, BCAST, 1000, 8000000, 1.0, &s2);
	print_message("peak-limited: %.3f Mbit/s over 1 s (peak 8, burst 1 MB)\n",
		      got * 8 / 1e6);
	assert_true(got <= 8000000 / 8 * 11 / 10);
	vmm_switch_destroy(sw);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_shaping_real_time(void **state)
{
	vmm_net_policy pol = VMM_NET_POLICY_INIT;
	vmm_switch *sw = make_switch(0, false);
	vmm_net_port *p1, *p2;
	uint8_t f[1600];
	size_t n = eth(f, BCAST, MAC1, 0x88b5, 986);
	double t0, secs, rate;
	struct timespec nap = { 0, 100000 };

	sink_reset(&s2);
	pol.shape_in = (vmm_net_shaping){ 40000000, 0, 65536 };   /* 40 Mbit/s, 64 KiB */
	assert_non_null(p1 = make_port(sw, &s1, NULL, 0, NULL, 0, &pol));
	assert_non_null(p2 = make_port(sw, &s2, NULL, 0, NULL, 0, NULL));
	t0 = now_s();
	while (now_s() - t0 < 0.5) {
		for (int i = 0; i < 20; i++)                  /* 20 frames per 0.1 ms nap */
			vmm_net_port_send(p1, f, n);
		nanosleep(&nap, NULL);
	}
	secs = now_s() - t0;
	rate = s2.bytes * 8 / secs;
	print_message("real time: %.2f Mbit/s over %.2f s (average 40)\n", rate / 1e6, secs);
	assert_true(rate > 40e6 * 0.6 && rate < 40e6 * 1.25);
	vmm_switch_destroy(sw);
}

static void test_firewall(void **state)
{
	/* p1 may open TCP to port 80 and send DNS; nothing may come in. */
	static const vmm_net_fw_rule rules[] = {
		{ VMM_NET_FW_ALLOW, VMM_NET_DIR_IN, 6, 0, 0, 0, 0, 0, 0, 80, 80 },
		{ VMM_NET_FW_ALLOW, VMM_NET_DIR_IN, 17, 0, 0, IP(10, 0, 0, 2), 0xffffffff,
		  0, 0, 53, 53 },
		{ VMM_NET_FW_ALLOW, VMM_NET_DIR_IN, 1, 0, 0, 0, 0, 0, 0, 0, 0 },
	};
	vmm_net_policy pol = VMM_NET_POLICY_INIT;
	vmm_switch *sw = make_switch(0, true);
	vmm_net_port *p1, *p2;
	uint8_t f[256];
	size_t n;

	sink_reset(&s1);
	sink_reset(&s2);
	pol.flags |= VMM_NET_FIREWALL;
	pol.rules = rules;
	pol.nrules = 3;
	pol.fw_default = VMM_NET_FW_DENY;
	assert_non_null(p1 = make_port(sw, &s1, MAC1, 0, NULL, 0, &pol));
	assert_non_null(p2 = make_port(sw, &s2, MAC2, 0, NULL, 0, NULL));
	/* Unsolicited from p2: a SYN, a SYN-ACK, UDP, an echo reply. */
	n = tcp(f, MAC1, MAC2, A2, 80, A1, 40000, SYN);
	vmm_net_port_send(p2, f, n);
	n = tcp(f, MAC1, MAC2, A2, 80, A1, 40000, SYN | ACK);
	vmm_net_port_send(p2, f, n);
	n = udp(f, MAC1, MAC2, A2, 53, A1, 5353, 10);
	vmm_net_port_send(p2, f, n);
	n = icmp_echo(f, MAC1, MAC2, A2, A1, 0, 7);
	vmm_net_port_send(p2, f, n);
	assert_int_equal(s1.count, 0);
	assert_int_equal(drops(p1, VMM_NET_DROP_FIREWALL), 4);
	/* p1 connects: the SYN goes out, the reply comes back, and on. */
	n = tcp(f, MAC2, MAC1, A1, 40000, A2, 80, SYN);
	vmm_net_port_send(p1, f, n);
	assert_int_equal(s2.count, 1);
	n = tcp(f, MAC1, MAC2, A2, 80, A1, 40000, SYN | ACK);
	vmm_net_port_send(p2, f, n);
	assert_int_equal(s1.count, 1);
	n = tcp(f, MAC2, MAC1, A1, 40000, A2, 80, ACK);
	vmm_net_port_send(p1, f, n);
	n = tcp(f, MAC1, MAC2, A2, 80, A1, 40000, ACK);
	vmm_net_port_send(p2, f, n);
	assert_int_equal(s1.count, 2);
	assert_int_equal(s2.count, 2);
	/* Another port of p1's is not covered; nor is port 81 out. */
	n = tcp(f, MAC1, MAC2, A2, 80, A1, 40001, ACK);
	vmm_net_port_send(p2, f, n);
	n = tcp(f, MAC2, MAC1, A1, 40002, A2, 81, SYN);
	vmm_net_port_send(p1, f, n);
	assert_int_equal(s1.count, 2);
	assert_int_equal(s2.count, 2);
	/* DNS to 10.0.0.2 and its answer; to another server: denied. */
	n = udp(f, MAC2, MAC1, A1, 5353, A2, 53, 30);
	vmm_net_port_send(p1, f, n);
	n = udp(f, MAC1, MAC2, A2, 53, A1, 5353, 60);
	vmm_net_port_send(p2, f, n);
	n = udp(f, MAC2, MAC1, A1, 5353, IP(10, 0, 0, 3), 53, 30);
	vmm_net_port_send(p1, f, n);
	assert_int_equal(s1.count, 3);
	assert_int_equal(s2.count, 3);
	/* Ping out, its reply in. */
	n = icmp_echo(f, MAC2, MAC1, A1, A2, 8, 99);
	vmm_net_port_send(p1, f, n);
	n = icmp_echo(f, MAC1, MAC2, A2, A1, 0, 99);
	vmm_net_port_send(p2, f, n);
	assert_int_equal(s1.count, 4);
	assert_int_equal(stats(p1).fw_conns, 3);
	/* ARP passes the firewall; IPv6 does not. */
	n = arp(f, 1, MAC2, A2, BCAST, A1);
	vmm_net_port_send(p2, f, n);
	assert_int_equal(s1.count, 5);
	n = eth(f, MAC1, MAC2, 0x86dd, 60);
	vmm_net_port_send(p2, f, n);
	assert_int_equal(s1.count, 5);
	/* Lying lengths: total length past the frame, TCP offset past it. */
	n = tcp(f, MAC1, MAC2, A2, 80, A1, 40000, ACK);
	f[16] = 0x05;
	f[17] = 0xdc;                                           /* 1500 */
	vmm_net_port_send(p2, f, n);
	n = tcp(f, MAC1, MAC2, A2, 80, A1, 40000, ACK);
	f[34 + 12] = 0xf0;                                      /* 60-byte TCP header */
	vmm_net_port_send(p2, f, n);
	n = udp(f, MAC1, MAC2, A2, 53, A1, 5353, 4);
	f[34 + 4] = 0x40;                                       /* UDP length 16 KiB */
	vmm_net_port_send(p2, f, n);
	assert_int_equal(drops(p1, VMM_NET_DROP_MALFORMED), 3);
	assert_int_equal(s1.count, 5);
	/* Connections expire: 2 h after the last frame. */
	fake_ns += 7201ull * 1000000000;
	n = tcp(f, MAC1, MAC2, A2, 80, A1, 40000, ACK);
	vmm_net_port_send(p2, f, n);
	assert_int_equal(s1.count, 5);
	assert_int_equal(stats(p1).fw_conns, 0);
	vmm_switch_destroy(sw);
}

static void test_mirror(void **state)
{
	vmm_net_policy pol = VMM_NET_POLICY_INIT;
	static const uint16_t allowed[] = { 1 };
	vmm_switch *sw = make_switch(0, true);
	vmm_net_port *p1, *p2, *m;
	uint8_t f[256], g[256];
	size_t n, k;

	sink_reset(&s1);
	sink_reset(&s2);
	sink_reset(&s3);
	assert_non_null(p1 = make_port(sw, &s1, MAC1, 0, NULL, 0, NULL));
	assert_non_null(p2 = make_port(sw, &s2, MAC2, 0, NULL, 0, NULL));
	assert_non_null(m = make_port(sw, &s3, MAC3, 0, allowed, 1, NULL));  /* trunk, native 0 */
	pol.mirror_port = vmm_net_port_id(m);
	pol.mirror_dirs = VMM_NET_DIR_IN | VMM_NET_DIR_OUT;
	assert_int_equal(vmm_net_port_set_policy(p1, &pol), 0);
	n = udp(f, MAC2, MAC1, A1, 1, A2, 2, 10);
	vmm_net_port_send(p1, f, n);                            /* p1 -> p2: mirrored (in) */
	k = udp(g, MAC1, MAC2, A2, 2, A1, 1, 20);
	vmm_net_port_send(p2, g, k);                            /* p2 -> p1: mirrored (out) */
	assert_int_equal(s1.count, 1);
	assert_int_equal(s2.count, 1);
	assert_int_equal(s3.count, 2);
	assert_int_equal(s3.len[0], n + 4);                     /* tagged: the trunk's VLAN 1 */
	assert_memory_equal(s3.frame[0], f, 12);
	assert_memory_equal(s3.frame[0] + 16, f + 12, n - 12);
	assert_int_equal(s3.len[1], k + 4);
	assert_memory_equal(s3.frame[1] + 16, g + 12, k - 12);
	assert_int_equal(stats(p1).mirrored, 2);
	/* Only the in direction now. */
	pol.mirror_dirs = VMM_NET_DIR_IN;
	assert_int_equal(vmm_net_port_set_policy(p1, &pol), 0);
	vmm_net_port_send(p2, g, k);
	vmm_net_port_send(p1, f, n);
	assert_int_equal(s3.count, 3);
	assert_int_equal(s3.len[2], n + 4);
	/* The mirror port gone: no copies, no harm. */
	vmm_net_port_destroy(m);
	vmm_net_port_send(p1, f, n);
	assert_int_equal(s2.count, 3);
	vmm_switch_destroy(sw);
}

static void test_counters_exact(void **state)
{
	vmm_net_policy pol = VMM_NET_POLICY_INIT;
	vmm_switch *sw = make_switch(0, true);
	vmm_net_port *p1, *p2, *p3;
	vmm_net_port_stats a, b, c;
	uint8_t f[256];
	size_t n;

	sink_reset(&s1);
	sink_reset(&s2);
	sink_reset(&s3);
	pol.flags = VMM_NET_SEC_MAC_CHANGES;                    /* forged: reject */
	assert_non_null(p1 = make_port(sw, &s1, MAC1, 0, NULL, 0, &pol));
	assert_non_null(p2 = make_port(sw, &s2, NULL, 0, NULL, 0, NULL));
	assert_non_null(p3 = make_port(sw, &s3, NULL, 0, NULL, 0, NULL));
	for (int i = 0; i < 10; i++) {
		n = eth(f, BCAST, MAC1, 0x88b5, 50 + i);        /* 64..73 bytes */
		vmm_net_port_send(p1, f, n);
	}
	for (int i = 0; i < 3; i++) {
		n = eth(f, BCAST, MACX, 0x88b5, 100);           /* forged */
		vmm_net_port_send(p1, f, n);
	}
	vmm_net_port_send(p1, f, 5);                            /* runt */
	n = eth(f, MAC1, MAC2, 0x88b5, 86);                     /* 100 bytes to p1 */
	vmm_net_port_send(p2, f, n);
	a = stats(p1);
	b = stats(p2);
	c = stats(p3);
	assert_int_equal(a.in_frames, 14);
	assert_int_equal(a.in_bytes, 10 * 64 + 45 + 3 * 114 + 5);
	assert_int_equal(a.in_dropped, 4);
	assert_int_equal(a.drops[VMM_NET_DROP_FORGED], 3);
	assert_int_equal(a.drops[VMM_NET_DROP_RUNT], 1);
	assert_int_equal(a.out_frames, 1);
	assert_int_equal(a.out_bytes, 100);
	assert_int_equal(b.out_frames, 10);
	assert_int_equal(b.out_bytes, 10 * 64 + 45);
	assert_int_equal(b.in_frames, 1);
	assert_int_equal(b.in_bytes, 100);
	assert_int_equal(c.out_frames, 10);
	assert_int_equal(c.in_frames + c.in_dropped + c.out_dropped, 0);
	vmm_switch_destroy(sw);
}

/* A policy changed again and again while another thread sends. */
static vmm_net_port *busy_port;
static atomic_int busy_stop;
static void *busy_sender(void *arg)
{
	uint8_t f[256];
	size_t n = tcp(f, MAC2, MAC1, A1, 40000, A2, 80, SYN);

	while (!atomic_load(&busy_stop))
		vmm_net_port_send(busy_port, f, n);
	return NULL;
}

static void test_policy_while_sending(void **state)
{
	static const vmm_net_fw_rule allow = { VMM_NET_FW_ALLOW, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	vmm_net_policy pol = VMM_NET_POLICY_INIT;
	vmm_switch *sw = make_switch(0, false);
	vmm_net_port *p1, *p2;
	pthread_t t;
	vmm_net_port_stats st;

	sink_reset(&s2);
	assert_non_null(p1 = make_port(sw, &s1, MAC1, 0, NULL, 0, NULL));
	assert_non_null(p2 = make_port(sw, &s2, MAC2, 0, NULL, 0, NULL));
	busy_port = p1;
	atomic_store(&busy_stop, 0);
	assert_int_equal(pthread_create(&t, NULL, busy_sender, NULL), 0);
	while (stats(p1).in_frames < 100)
		sched_yield();
	for (int i = 0; i < 200; i++) {
		pol.flags = VMM_NET_SEC_MAC_CHANGES | VMM_NET_SEC_FORGED |
			    (i & 1 ? VMM_NET_FIREWALL : 0) | (i & 2 ? VMM_NET_ANTISPOOF : 0);
		pol.rules = &allow;
		pol.nrules = i % 3 == 0;
		pol.shape_out.avg_bps = i & 4 ? 1000000000 : 0;
		assert_int_equal(vmm_net_port_set_policy(p1, &pol), 0);
		assert_int_equal(vmm_net_port_set_policy(p2, &pol), 0);
	}
	atomic_store(&busy_stop, 1);
	pthread_join(t, NULL);
	st = stats(p1);
	print_message("%llu frames sent during 400 policy changes, %llu dropped by the firewall\n",
		      (unsigned long long)st.in_frames,
		      (unsigned long long)st.drops[VMM_NET_DROP_FIREWALL]);
	assert_true(st.in_frames > 0);
	assert_int_equal(st.in_frames, st.in_dropped + stats(p2).out_frames +
			 stats(p2).out_dropped);
	vmm_switch_destroy(sw);
}

/* An embedder's IN filter on p1 that rewrites the UDP destination port
 * (opaque: the new one) and says so. */
static int32_t set_dport(void *opaque, vmm_net_port *port, vmm_net_frame *f)
{
	uint16_t to = (uint16_t)(uintptr_t)opaque;

	if (f->len < 38 || f->data[23] != 17)
		return VMM_NET_PASS;
	f->data[36] = (uint8_t)(to >> 8);
	f->data[37] = (uint8_t)to;
	return VMM_NET_MODIFY;
}

/* The policies share one parse of a frame's headers (IN anti-spoofing
 * and firewall of p1, the OUT firewall of p2); an embedder's filter in
 * between that rewrites the frame makes the next policy read it again:
 * p2's firewall judges the port the filter wrote, not the one sent. */
static void test_shared_parse_after_modify(void **state)
{
	static const uint32_t bound[] = { IP(10, 0, 0, 1) };
	static const vmm_net_fw_rule any = { VMM_NET_FW_ALLOW, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const vmm_net_fw_rule dns = { VMM_NET_FW_ALLOW, VMM_NET_DIR_OUT, 17, 0, 0, 0, 0,
					     0, 0, 53, 53 };
	static const vmm_net_filter ops = { .version = VMM_NET_FILTER_VERSION, .name = "dport",
					    .filter = set_dport };
	vmm_net_policy pol1 = VMM_NET_POLICY_INIT, pol2 = VMM_NET_POLICY_INIT;
	vmm_switch *sw = make_switch(0, true);
	vmm_net_port *p1, *p2;
	uint32_t id;
	uint8_t f[256];
	size_t n;

	sink_reset(&s1);
	sink_reset(&s2);
	pol1.flags |= VMM_NET_FIREWALL | VMM_NET_ANTISPOOF;
	pol1.ipv4 = bound;
	pol1.nipv4 = 1;
	pol1.rules = &any;
	pol1.nrules = 1;
	pol2.flags |= VMM_NET_FIREWALL;
	pol2.rules = &dns;
	pol2.nrules = 1;
	pol2.fw_default = VMM_NET_FW_DENY;
	assert_non_null(p1 = make_port(sw, &s1, MAC1, 0, NULL, 0, &pol1));
	assert_non_null(p2 = make_port(sw, &s2, MAC2, 0, NULL, 0, &pol2));
	assert_int_equal(vmm_net_filter_add(p1, VMM_NET_DIR_IN, &ops, (void *)(uintptr_t)53, &id),
			 0);
	n = udp(f, MAC2, MAC1, A1, 5000, A2, 2000, 10);   /* to 2000, rewritten to 53 */
	assert_int_equal(vmm_net_port_send(p1, f, n), 0);
	assert_int_equal(s2.count, 1);
	assert_int_equal(s2.frame[0][36] << 8 | s2.frame[0][37], 53);
	assert_int_equal(vmm_net_filter_remove(p1, id), 0);
	assert_int_equal(vmm_net_filter_add(p1, VMM_NET_DIR_IN, &ops, (void *)(uintptr_t)2000,
					    &id), 0);
	n = udp(f, MAC2, MAC1, A1, 5001, A2, 53, 10);     /* to 53, rewritten to 2000 */
	assert_int_equal(vmm_net_port_send(p1, f, n), 0);
	assert_int_equal(s2.count, 1);
	assert_int_equal(stats(p2).drops[VMM_NET_DROP_FIREWALL], 1);
	vmm_switch_destroy(sw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_antispoof),
		cmocka_unit_test(test_shaping_fake_clock),
		cmocka_unit_test(test_shaping_real_time),
		cmocka_unit_test(test_firewall),
		cmocka_unit_test(test_mirror),
		cmocka_unit_test(test_counters_exact),
		cmocka_unit_test(test_policy_while_sending),
		cmocka_unit_test(test_shared_parse_after_modify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
