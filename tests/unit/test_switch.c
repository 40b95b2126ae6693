/* test_switch.c - the virtual switch (lib/net/) with embedder ports and
 * real frames: MAC learning, flooding, moves and ageing (fake clock),
 * 802.1Q access/trunk/native VLANs with the tags checked byte by byte,
 * MTU and jumbo frames, bad frames counted, ESX security (forged
 * transmits, MAC changes, promiscuous mode), configuration errors, and a
 * TAP port on a real interface in a fresh network namespace. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "switch_fixture.h"

static sink s1, s2, s3, s4, s5;

static void reset_all(void)
{
	sink_reset(&s1);
	sink_reset(&s2);
	sink_reset(&s3);
	sink_reset(&s4);
	sink_reset(&s5);
}

static void test_learn_flood(void **state)
{
	vmm_switch *sw = make_switch(0, true);
	vmm_net_port *p1, *p2, *p3;
	vmm_switch_stats st = { .size = sizeof(st) };
	uint8_t f[1600];
	uint32_t id;
	size_t n;

	reset_all();
	assert_non_null(sw);
	assert_non_null(p1 = make_port(sw, &s1, NULL, 0, NULL, 0, NULL));
	assert_non_null(p2 = make_port(sw, &s2, NULL, 0, NULL, 0, NULL));
	assert_non_null(p3 = make_port(sw, &s3, NULL, 0, NULL, 0, NULL));
	n = eth(f, MAC2, MAC1, 0x88b5, 46);
	assert_int_equal(vmm_net_port_send(p1, f, n), 0);           /* unknown: flooded */
	assert_int_equal(s1.count, 0);
	assert_int_equal(s2.count, 1);
	assert_int_equal(s3.count, 1);
	assert_int_equal(s2.len[0], n);
	assert_memory_equal(s2.frame[0], f, n);
	assert_int_equal(vmm_switch_fdb_lookup(sw, MAC1, 1, &id), 0);
	assert_int_equal(id, vmm_net_port_id(p1));
	assert_int_equal(vmm_switch_fdb_lookup(sw, MAC2, 1, &id), VMM_ENOENT);
	n = eth(f, MAC1, MAC2, 0x88b5, 46);
	vmm_net_port_send(p2, f, n);                               /* known: p1 only */
	assert_int_equal(s1.count, 1);
	assert_int_equal(s3.count, 1);
	n = eth(f, MAC2, MAC1, 0x88b5, 46);
	vmm_net_port_send(p1, f, n);
	assert_int_equal(s2.count, 2);
	assert_int_equal(s3.count, 1);
	n = eth(f, BCAST, MAC1, 0x88b5, 46);
	vmm_net_port_send(p1, f, n);
	assert_int_equal(s2.count, 3);
	assert_int_equal(s3.count, 2);
	assert_int_equal(vmm_switch_stats_get(sw, &st), 0);
	assert_int_equal(st.ports, 3);
	assert_int_equal(st.frames, 4);
	assert_int_equal(st.flooded, 2);
	assert_int_equal(st.learned, 2);
	/* MAC1 moves to p3. */
	n = eth(f, BCAST, MAC1, 0x88b5, 46);
	vmm_net_port_send(p3, f, n);
	assert_int_equal(vmm_switch_fdb_lookup(sw, MAC1, 1, &id), 0);
	assert_int_equal(id, vmm_net_port_id(p3));
	n = eth(f, MAC1, MAC2, 0x88b5, 46);
	vmm_net_port_send(p2, f, n);
	assert_int_equal(s3.count, 3);
	assert_int_equal(s1.count, 2);                             /* the broadcast only */
	/* A destroyed port's entries are not used: flooded again. */
	vmm_net_port_destroy(p3);
	vmm_net_port_send(p2, f, n);
	assert_int_equal(s1.count, 3);
	vmm_switch_destroy(sw);
}

static void test_ageing(void **state)
{
	vmm_switch *sw = make_switch(0, true);
	vmm_net_port *p1, *p2, *p3;
	uint8_t f[128];
	uint32_t id;
	size_t n;

	reset_all();
	assert_non_null(p1 = make_port(sw, &s1, NULL, 0, NULL, 0, NULL));
	assert_non_null(p2 = make_port(sw, &s2, NULL, 0, NULL, 0, NULL));
	assert_non_null(p3 = make_port(sw, &s3, NULL, 0, NULL, 0, NULL));
	n = eth(f, BCAST, MAC1, 0x88b5, 46);
	vmm_net_port_send(p1, f, n);
	fake_ns += 299ull * 1000000000;                            /* 299 s: still known */
	assert_int_equal(vmm_switch_fdb_lookup(sw, MAC1, 1, &id), 0);
	n = eth(f, MAC1, MAC2, 0x88b5, 46);
	vmm_net_port_send(p2, f, n);
	assert_int_equal(s3.count, 1);                             /* only the broadcast */
	fake_ns += 2ull * 1000000000;                              /* 301 s: aged out */
	assert_int_equal(vmm_switch_fdb_lookup(sw, MAC1, 1, &id), VMM_ENOENT);
	vmm_net_port_send(p2, f, n);
	assert_int_equal(s3.count, 2);                             /* flooded */
	assert_int_equal(s1.count, 2);
	/* Relearned when MAC1 speaks again. */
	n = eth(f, MAC2, MAC1, 0x88b5, 46);
	vmm_net_port_send(p1, f, n);
	assert_int_equal(vmm_switch_fdb_lookup(sw, MAC1, 1, &id), 0);
	assert_int_equal(id, vmm_net_port_id(p1));
	vmm_switch_destroy(sw);
}

static void check_tag(const uint8_t *f, uint16_t vid, uint8_t pcp)
{
	assert_int_equal(f[12], 0x81);
	assert_int_equal(f[13], 0x00);
	assert_int_equal(f[14] >> 5, pcp);
	assert_int_equal((f[14] & 0xf) << 8 | f[15], vid);
}

static void test_vlans(void **state)
{
	static const uint16_t allowed[] = { 10, 20 };
	vmm_switch *sw = make_switch(0, true);
	vmm_net_port *p1, *p2, *p3, *p4, *p5;
	uint8_t f[1600], g[1600];
	size_t n;

	reset_all();
	assert_non_null(p1 = make_port(sw, &s1, NULL, 10, NULL, 0, NULL));
	assert_non_null(p2 = make_port(sw, &s2, NULL, 10, NULL, 0, NULL));
	assert_non_null(p3 = make_port(sw, &s3, NULL, 20, NULL, 0, NULL));
	assert_non_null(p4 = make_port(sw, &s4, NULL, 30, allowed, 2, NULL));   /* native 30 */
	assert_non_null(p5 = make_port(sw, &s5, NULL, 30, NULL, 0, NULL));
	/* Access VLAN 10: p2 untagged, the trunk tagged 10, nobody else. */
	n = eth(f, BCAST, MAC1, 0x88b5, 46);
	vmm_net_port_send(p1, f, n);
	assert_int_equal(s2.count, 1);
	assert_int_equal(s3.count + s5.count, 0);
	assert_int_equal(s4.count, 1);
	assert_int_equal(s2.len[0], n);
	assert_memory_equal(s2.frame[0], f, n);
	assert_int_equal(s4.len[0], n + 4);
	check_tag(s4.frame[0], 10, 0);
	assert_memory_equal(s4.frame[0], f, 12);
	assert_memory_equal(s4.frame[0] + 16, f + 12, n - 12);
	/* A priority tag (VID 0) from an access port keeps its PCP. */
	memcpy(g, f, n);
	n = tag(g, n, 0, 5);
	vmm_net_port_send(p1, g, n);
	assert_int_equal(s4.count, 2);
	check_tag(s4.frame[1], 10, 5);
	assert_int_equal(s2.len[1], n - 4);                       /* untagged on access */
	/* Tagged 20 from the trunk: p3 untagged only. */
	n = eth(f, BCAST, MAC2, 0x88b5, 46);
	memcpy(g, f, n);
	size_t t = tag(g, n, 20, 3);
	vmm_net_port_send(p4, g, t);
	assert_int_equal(s3.count, 1);
	assert_int_equal(s3.len[0], n);
	assert_memory_equal(s3.frame[0], f, n);
	assert_int_equal(s1.count + s2.count + s5.count, 2 + 0 + 0);
	/* Untagged from the trunk: its native VLAN 30, to p5 only. */
	vmm_net_port_send(p4, f, n);
	assert_int_equal(s5.count, 1);
	assert_int_equal(s3.count, 1);
	/* Tagged 30 (native) is accepted too; to the trunk, native goes untagged. */
	n = eth(f, BCAST, MAC3, 0x88b5, 46);
	vmm_net_port_send(p5, f, n);
	assert_int_equal(s4.count, 3);
	assert_int_equal(s4.len[2], n);
	assert_memory_equal(s4.frame[2], f, n);
	/* Not allowed: tagged 40 on the trunk, any tag on an access port. */
	memcpy(g, f, n);
	t = tag(g, n, 40, 0);
	vmm_net_port_send(p4, g, t);
	assert_int_equal(drops(p4, VMM_NET_DROP_VLAN), 1);
	memcpy(g, f, n);
	t = tag(g, n, 10, 0);
	vmm_net_port_send(p1, g, t);
	assert_int_equal(drops(p1, VMM_NET_DROP_VLAN), 1);
	/* VID 4095 and a cut tag are malformed. */
	memcpy(g, f, n);
	t = tag(g, n, 4095, 0);
	vmm_net_port_send(p4, g, t);
	vmm_net_port_send(p4, g, 16);
	assert_int_equal(drops(p4, VMM_NET_DROP_BAD_VLAN), 2);
	assert_int_equal(s1.count + s2.count + s3.count + s5.count, 0 + 2 + 1 + 1);
	/* The same MAC learned per VLAN. */
	uint32_t id;
	assert_int_equal(vmm_switch_fdb_lookup(sw, MAC2, 20, &id), 0);
	assert_int_equal(id, vmm_net_port_id(p4));
	assert_int_equal(vmm_switch_fdb_lookup(sw, MAC2, 10, &id), VMM_ENOENT);
	vmm_switch_destroy(sw);
}

static void test_trunk_no_native(void **state)
{
	static const uint16_t allowed[] = { 7 };
	vmm_switch *sw = make_switch(0, true);
	vmm_net_port *tr, *p1;
	uint8_t f[128];
	size_t n;

	reset_all();
	assert_non_null(tr = make_port(sw, &s1, NULL, 0, allowed, 1, NULL));
	assert_non_null(p1 = make_port(sw, &s2, NULL, 1, NULL, 0, NULL));
	n = eth(f, BCAST, MAC1, 0x88b5, 46);
	vmm_net_port_send(tr, f, n);                               /* untagged: no native */
	assert_int_equal(drops(tr, VMM_NET_DROP_VLAN), 1);
	vmm_net_port_send(p1, f, n);                               /* VLAN 1: not on the trunk */
	assert_int_equal(s1.count, 0);
	vmm_switch_destroy(sw);
}

static void test_mtu(void **state)
{
	static const uint16_t allowed[] = { 5 };
	vmm_switch *sw = make_switch(9000, true), *small = make_switch(0, true);
	vmm_net_port *p1, *p2, *q1, *q2, *tr;
	static uint8_t f[9100];
	size_t n;

	reset_all();
	assert_non_null(p1 = make_port(sw, &s1, NULL, 5, NULL, 0, NULL));
	assert_non_null(p2 = make_port(sw, &s2, NULL, 5, NULL, 0, NULL));
	assert_non_null(tr = make_port(sw, &s3, NULL, 0, allowed, 1, NULL));
	n = eth(f, BCAST, MAC1, 0x88b5, 9000);
	vmm_net_port_send(p1, f, n);
	assert_int_equal(s2.count, 1);
	assert_int_equal(s2.bytes, 9014);
	assert_int_equal(s3.bytes, 9018);                          /* tagged */
	n = eth(f, BCAST, MAC1, 0x88b5, 9001);
	vmm_net_port_send(p1, f, n);
	assert_int_equal(drops(p1, VMM_NET_DROP_OVERSIZE), 1);
	n = tag(f, eth(f, BCAST, MAC2, 0x88b5, 9000), 5, 0);   /* 9018 tagged: fits */
	vmm_net_port_send(tr, f, n);
	assert_int_equal(s1.count, 1);
	assert_int_equal(s1.bytes, 9014);
	assert_int_equal(vmm_net_port_send(p1, f, 70000), 0);      /* past any buffer */
	assert_int_equal(drops(p1, VMM_NET_DROP_OVERSIZE), 2);
	assert_non_null(q1 = make_port(small, &s4, NULL, 0, NULL, 0, NULL));
	assert_non_null(q2 = make_port(small, &s5, NULL, 0, NULL, 0, NULL));
	n = eth(f, BCAST, MAC1, 0x88b5, 1500);
	vmm_net_port_send(q1, f, n);
	n = eth(f, BCAST, MAC1, 0x88b5, 1501);
	vmm_net_port_send(q1, f, n);
	assert_int_equal(s5.count, 1);
	assert_int_equal(drops(q1, VMM_NET_DROP_OVERSIZE), 1);
	vmm_switch_destroy(sw);
	vmm_switch_destroy(small);
}

static void test_bad_frames(void **state)
{
	vmm_switch *sw = make_switch(0, true);
	vmm_net_port *p1, *p2;
	uint8_t f[128];
	vmm_net_port_stats st;
	size_t n;

	reset_all();
	assert_non_null(p1 = make_port(sw, &s1, NULL, 0, NULL, 0, NULL));
	assert_non_null(p2 = make_port(sw, &s2, NULL, 0, NULL, 0, NULL));
	n = eth(f, BCAST, MAC1, 0x88b5, 46);
	vmm_net_port_send(p1, f, 13);
	vmm_net_port_send(p1, f, 0);
	vmm_net_port_send(p1, NULL, 0);
	assert_int_equal(drops(p1, VMM_NET_DROP_RUNT), 3);
	vmm_net_port_send(p1, f, 14);                              /* a bare header is a frame */
	assert_int_equal(s2.count, 1);
	n = eth(f, BCAST, BCAST, 0x88b5, 46);                      /* multicast source */
	vmm_net_port_send(p1, f, n);
	assert_int_equal(drops(p1, VMM_NET_DROP_BAD_SRC), 1);
	assert_int_equal(s2.count, 1);
	st = stats(p1);
	assert_int_equal(st.in_frames, 5);
	assert_int_equal(st.in_dropped, 4);
	assert_int_equal(st.out_frames, 0);
	assert_int_equal(vmm_net_port_send(NULL, f, n), VMM_EINVAL);
	assert_int_equal(vmm_net_port_send(p1, NULL, 5), VMM_EINVAL);
	vmm_switch_destroy(sw);
}

static void test_forged(void **state)
{
	vmm_net_policy reject = VMM_NET_POLICY_INIT, accept = VMM_NET_POLICY_INIT;
	vmm_switch *sw = make_switch(0, true);
	vmm_net_port *p1, *p2;
	uint8_t f[128];
	size_t n;

	reset_all();
	reject.flags = VMM_NET_SEC_MAC_CHANGES;                    /* forged: reject */
	assert_non_null(p1 = make_port(sw, &s1, MAC1, 0, NULL, 0, &reject));
	assert_non_null(p2 = make_port(sw, &s2, NULL, 0, NULL, 0, NULL));
	n = eth(f, BCAST, MACX, 0x88b5, 46);
	vmm_net_port_send(p1, f, n);
	assert_int_equal(s2.count, 0);
	assert_int_equal(drops(p1, VMM_NET_DROP_FORGED), 1);
	n = eth(f, BCAST, MAC1, 0x88b5, 46);
	vmm_net_port_send(p1, f, n);
	assert_int_equal(s2.count, 1);
	/* The check is against the effective MAC. */
	assert_int_equal(vmm_net_port_set_mac(p1, MAC3), 0);
	vmm_net_port_send(p1, f, n);
	assert_int_equal(drops(p1, VMM_NET_DROP_FORGED), 2);
	n = eth(f, BCAST, MAC3, 0x88b5, 46);
	vmm_net_port_send(p1, f, n);
	assert_int_equal(s2.count, 2);
	/* Accept, changed while the port exists. */
	assert_int_equal(vmm_net_port_set_policy(p1, &accept), 0);
	n = eth(f, BCAST, MACX, 0x88b5, 46);
	vmm_net_port_send(p1, f, n);
	assert_int_equal(s2.count, 3);
	assert_int_equal(drops(p1, VMM_NET_DROP_FORGED), 2);
	vmm_switch_destroy(sw);
}

static void test_mac_change(void **state)
{
	vmm_net_policy reject = VMM_NET_POLICY_INIT, accept = VMM_NET_POLICY_INIT;
	vmm_switch *sw = make_switch(0, true);
	vmm_net_port *p1, *p2;
	uint8_t f[128];
	size_t n;

	reset_all();
	reject.flags = VMM_NET_SEC_FORGED;                         /* MAC changes: reject */
	assert_non_null(p1 = make_port(sw, &s1, NULL, 0, NULL, 0, NULL));
	assert_non_null(p2 = make_port(sw, &s2, MAC2, 0, NULL, 0, &reject));
	n = eth(f, MAC2, MAC1, 0x88b5, 46);
	vmm_net_port_send(p1, f, n);
	assert_int_equal(s2.count, 1);
	assert_int_equal(vmm_net_port_set_mac(p2, MACX), 0);       /* the guest changed it */
	n = eth(f, MACX, MAC1, 0x88b5, 46);
	vmm_net_port_send(p1, f, n);
	n = eth(f, BCAST, MAC1, 0x88b5, 46);
	vmm_net_port_send(p1, f, n);
	assert_int_equal(s2.count, 1);
	assert_int_equal(drops(p2, VMM_NET_DROP_MAC_CHANGE), 2);
	assert_int_equal(vmm_net_port_set_mac(p2, MAC2), 0);       /* and back */
	vmm_net_port_send(p1, f, n);
	assert_int_equal(s2.count, 2);
	assert_int_equal(vmm_net_port_set_policy(p2, &accept), 0);
	assert_int_equal(vmm_net_port_set_mac(p2, MACX), 0);
	n = eth(f, MACX, MAC1, 0x88b5, 46);
	vmm_net_port_send(p1, f, n);
	assert_int_equal(s2.count, 3);
	assert_int_equal(drops(p2, VMM_NET_DROP_MAC_CHANGE), 2);
	assert_int_equal(vmm_net_port_set_mac(p2, BCAST), VMM_EINVAL);
	vmm_switch_destroy(sw);
}

static void test_promiscuous(void **state)
{
	vmm_net_policy promisc = VMM_NET_POLICY_INIT;
	vmm_switch *sw = make_switch(0, true);
	vmm_net_port *p1, *p2, *p3, *p4;
	uint8_t f[128];
	size_t n;

	reset_all();
	assert_non_null(p1 = make_port(sw, &s1, MAC1, 0, NULL, 0, NULL));
	assert_non_null(p2 = make_port(sw, &s2, MAC2, 0, NULL, 0, NULL));
	assert_non_null(p3 = make_port(sw, &s3, MAC3, 0, NULL, 0, NULL));
	assert_non_null(p4 = make_port(sw, &s4, MAC4, 7, NULL, 0, NULL));   /* other VLAN */
	n = eth(f, BCAST, MAC2, 0x88b5, 46);
	vmm_net_port_send(p2, f, n);                               /* learn MAC2 */
	sink_reset(&s1);
	sink_reset(&s3);
	n = eth(f, MAC2, MAC1, 0x88b5, 46);
	vmm_net_port_send(p1, f, n);
	n = eth(f, MACX, MAC1, 0x88b5, 46);                        /* unknown unicast */
	vmm_net_port_send(p1, f, n);
	assert_int_equal(s2.count, 1);                             /* its unicast only */
	assert_int_equal(s3.count, 0);                             /* not its MAC */
	promisc.flags |= VMM_NET_SEC_PROMISC;
	assert_int_equal(vmm_net_port_set_policy(p3, &promisc), 0);
	assert_int_equal(vmm_net_port_set_policy(p4, &promisc), 0);
	n = eth(f, MAC2, MAC1, 0x88b5, 46);
	vmm_net_port_send(p1, f, n);
	n = eth(f, MACX, MAC1, 0x88b5, 46);
	vmm_net_port_send(p1, f, n);
	assert_int_equal(s2.count, 2);
	assert_int_equal(s3.count, 2);                             /* both, as sent */
	assert_memory_equal(s3.frame[1], f, n);
	assert_int_equal(s4.count, 0);                             /* VLAN 7: nothing */
	vmm_switch_destroy(sw);
}

static void test_config_errors(void **state)
{
	vmm_switch_config c = VMM_SWITCH_CONFIG_INIT;
	vmm_net_port_config pc = VMM_NET_PORT_CONFIG_INIT;
	vmm_net_policy pol = VMM_NET_POLICY_INIT;
	vmm_net_fw_rule rule = { .action = 7, .dirs = 1 };
	static const uint16_t bad_trunk[] = { 4095 };
	vmm_switch *sw = NULL;
	vmm_net_port *p = NULL;

	vmm_switch_destroy(NULL);
	vmm_net_port_destroy(NULL);
	assert_int_equal(vmm_switch_create(NULL, &sw), VMM_EINVAL);
	c.mtu = 67;
	assert_int_equal(vmm_switch_create(&c, &sw), VMM_EINVAL);
	c.mtu = VMM_NET_MTU_MAX + 1;
	assert_int_equal(vmm_switch_create(&c, &sw), VMM_EINVAL);
	c.mtu = 0;
	c.size = 4;
	assert_int_equal(vmm_switch_create(&c, &sw), VMM_EINVAL);
	c.size = sizeof(c);
	assert_int_equal(vmm_switch_create(&c, &sw), 0);
	assert_int_equal(vmm_net_port_create(sw, &pc, &p), VMM_EINVAL);    /* no rx */
	pc.rx = sink_rx;
	pc.rx_opaque = &s1;
	pc.kind = VMM_NET_PORT_UPLINK;
	assert_int_equal(vmm_net_port_create(sw, &pc, &p), VMM_EINVAL);    /* no config.uplink */
	pc.kind = 9;
	assert_int_equal(vmm_net_port_create(sw, &pc, &p), VMM_EINVAL);
	pc.kind = VMM_NET_PORT_EMBEDDER;
	pc.vlan = 4095;
	assert_int_equal(vmm_net_port_create(sw, &pc, &p), VMM_EINVAL);
	pc.vlan = 0;
	pc.flags = VMM_NET_PORT_TRUNK;
	pc.trunk_vlans = bad_trunk;
	pc.ntrunk = 1;
	assert_int_equal(vmm_net_port_create(sw, &pc, &p), VMM_EINVAL);
	pc.flags = 0;
	pc.ntrunk = 0;
	pc.mac[0] = 1;
	assert_int_equal(vmm_net_port_create(sw, &pc, &p), VMM_EINVAL);
	pc.mac[0] = 2;
	pol.flags = VMM_NET_FIREWALL;
	pol.rules = &rule;
	pol.nrules = 1;
	pc.policy = &pol;
	assert_int_equal(vmm_net_port_create(sw, &pc, &p), VMM_EINVAL);
	assert_null(p);
	pc.policy = NULL;
	pc.kind = VMM_NET_PORT_TAP;
	assert_int_equal(vmm_net_port_create(sw, &pc, &p), VMM_EINVAL);   /* no tap name */
	pc.kind = VMM_NET_PORT_EMBEDDER;
	assert_int_equal(vmm_net_port_create(sw, &pc, &p), 0);
	assert_int_equal(vmm_net_port_set_policy(p, &pol), VMM_EINVAL);
	pol.flags = 0;
	pol.nrules = 0;
	pol.mirror_port = vmm_net_port_id(p);
	assert_int_equal(vmm_net_port_set_policy(p, &pol), VMM_EINVAL);   /* to itself */
	assert_string_equal(vmm_net_drop_name(VMM_NET_DROP_FORGED), "forged");
	assert_null(vmm_net_drop_name(99));
	vmm_switch_destroy(sw);                                    /* destroys p too */
}

static int iface_up(const char *name)
{
	struct ifreq ifr;
	char path[96];
	int s, fd;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
	if ((fd = open(path, O_WRONLY)) >= 0) {          /* no router solicitations */
		assert_int_equal(write(fd, "1", 1), 1);
		close(fd);
	}
	s = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, name);
	assert_int_equal(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	assert_int_equal(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	assert_int_equal(ioctl(s, SIOCGIFINDEX, &ifr), 0);
	close(s);
	return ifr.ifr_ifindex;
}

/* A TAP port: frames from an embedder port come out of the interface (an
 * AF_PACKET socket sees them), frames sent on it reach the embedder. */
static void test_tap_port(void **state)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	vmm_net_port_config c = VMM_NET_PORT_CONFIG_INIT;
	vmm_switch *sw;
	vmm_net_port *tap, *p1;
	uint8_t f[256], got[2048];
	struct pollfd pfd;
	bool seen = false;
	size_t n;
	int ps, rc;

	if (access("/dev/net/tun", R_OK | W_OK) != 0) {
		printf("NOT RUN test_tap_port: /dev/net/tun is absent or not accessible\n");
		skip();
	}
	if (unshare(CLONE_NEWNET) != 0) {
		printf("NOT RUN test_tap_port: cannot make a network namespace: %s\n",
		       strerror(errno));
		skip();
	}
	reset_all();
	sw = make_switch(0, false);
	c.kind = VMM_NET_PORT_TAP;
	c.tap = "vmmsw0";
	rc = vmm_net_port_create(sw, &c, &tap);
	if (rc == VMM_EIO && strstr(vmm_last_error(), "CAP_NET_ADMIN")) {
		printf("NOT RUN test_tap_port: %s\n", vmm_last_error());
		vmm_switch_destroy(sw);
		skip();
	}
	assert_int_equal(rc, 0);
	assert_non_null(p1 = make_port(sw, &s1, MAC1, 0, NULL, 0, NULL));
	sll.sll_ifindex = iface_up("vmmsw0");
	ps = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	assert_true(ps >= 0);
	assert_int_equal(bind(ps, (struct sockaddr *)&sll, sizeof(sll)), 0);
	n = eth(f, BCAST, MAC1, 0x88b5, 100);
	vmm_net_port_send(p1, f, n);
	pfd = (struct pollfd){ ps, POLLIN, 0 };
	while (!seen && poll(&pfd, 1, 2000) == 1) {
		ssize_t k = recv(ps, got, sizeof(got), 0);

		seen = k == (ssize_t)n && memcmp(got, f, n) == 0;
	}
	assert_true(seen);
	n = eth(f, MAC1, MAC2, 0x88b5, 80);
	assert_int_equal(send(ps, f, n, 0), (ssize_t)n);
	for (int i = 0; i < 200 && !__atomic_load_n(&s1.count, __ATOMIC_ACQUIRE); i++)
		usleep(10000);
	assert_int_equal(__atomic_load_n(&s1.count, __ATOMIC_ACQUIRE), 1);
	assert_int_equal(s1.len[0], n);
	assert_memory_equal(s1.frame[0], f, n);
	uint32_t id;
	assert_int_equal(vmm_switch_fdb_lookup(sw, MAC2, 1, &id), 0);
	assert_int_equal(id, vmm_net_port_id(tap));
	close(ps);
	vmm_switch_destroy(sw);                                    /* joins the tap's thread */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_learn_flood),
		cmocka_unit_test(test_ageing),
		cmocka_unit_test(test_vlans),
		cmocka_unit_test(test_trunk_no_native),
		cmocka_unit_test(test_mtu),
		cmocka_unit_test(test_bad_frames),
		cmocka_unit_test(test_forged),
		cmocka_unit_test(test_mac_change),
		cmocka_unit_test(test_promiscuous),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_tap_port),                   /* last: leaves the netns */
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
