/* switch_fixture.h - what the switch tests share: embedder ports that
 * keep every frame they receive, a fake clock, and builders of real
 * frames (Ethernet, 802.1Q, ARP, IPv4 with UDP/TCP/ICMP). */
#ifndef SWITCH_FIXTURE_H
#define SWITCH_FIXTURE_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vmm.h"
#include "tests/net/ipstack.h"   /* ips_csum */

#define SINK_MAX 64

typedef struct sink {
	uint32_t count;                    /* every frame received */
	uint64_t bytes;
	uint32_t kept;                     /* the first SINK_MAX, copied */
	uint8_t frame[SINK_MAX][1600];
	size_t len[SINK_MAX];
} sink;

static inline void sink_rx(void *opaque, vmm_net_port *port, const void *frame, size_t len)
{
	sink *s = opaque;

	if (s->kept < SINK_MAX && len <= sizeof(s->frame[0])) {
		memcpy(s->frame[s->kept], frame, len);
		s->len[s->kept++] = len;
	}
	s->count++;
	s->bytes += len;
}

static inline void sink_reset(sink *s)
{
	s->count = s->kept = 0;
	s->bytes = 0;
}

static uint64_t fake_ns;
static inline uint64_t fake_clock(void *opaque)
{
	return fake_ns;
}

static inline vmm_switch *make_switch(uint32_t mtu, bool fake)
{
	vmm_switch_config c = VMM_SWITCH_CONFIG_INIT;
	vmm_switch *sw = NULL;

	c.mtu = mtu;
	if (fake) {
		c.clock = fake_clock;
		fake_ns = 1000000000ull;
	}
	if (vmm_switch_create(&c, &sw) != 0)
		return NULL;
	return sw;
}

/* An access port (vlan) or, with trunk/ntrunk, a trunk with native vlan. */
static inline vmm_net_port *make_port(vmm_switch *sw, sink *s, const uint8_t *mac, uint32_t vlan,
			       const uint16_t *trunk, uint32_t ntrunk,
			       const vmm_net_policy *pol)
{
	vmm_net_port_config c = VMM_NET_PORT_CONFIG_INIT;
	vmm_net_port *p = NULL;

	c.rx = sink_rx;
	c.rx_opaque = s;
	c.vlan = vlan;
	if (trunk) {
		c.flags = VMM_NET_PORT_TRUNK;
		c.trunk_vlans = trunk;
		c.ntrunk = ntrunk;
	}
	if (mac)
		memcpy(c.mac, mac, 6);
	c.policy = pol;
	if (vmm_net_port_create(sw, &c, &p) != 0)
		return NULL;
	return p;
}

static inline void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static inline void put32(uint8_t *b, uint32_t v)
{
	put16(b, (uint16_t)(v >> 16));
	put16(b + 2, (uint16_t)v);
}

static inline size_t eth(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type,
		  size_t payload)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	put16(f + 12, type);
	for (size_t i = 0; i < payload; i++)
		f[14 + i] = (uint8_t)(i * 7 + 1);
	return 14 + payload;
}

/* Inserts an 802.1Q tag after the MACs. */
static inline size_t tag(uint8_t *f, size_t len, uint16_t vid, uint8_t pcp)
{
	memmove(f + 16, f + 12, len - 12);
	put16(f + 12, 0x8100);
	put16(f + 14, (uint16_t)(pcp << 13 | vid));
	return len + 4;
}

static inline size_t arp(uint8_t *f, uint16_t op, const uint8_t *sha, uint32_t spa,
		  const uint8_t *tha, uint32_t tpa)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t *a = f + 14;

	eth(f, op == 1 ? bcast : tha, sha, 0x0806, 0);
	put16(a, 1);
	put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, sha, 6);
	put32(a + 14, spa);
	memcpy(a + 18, tha, 6);
	put32(a + 24, tpa);
	return 14 + 28;
}

/* IPv4 with an L4 header of l4len bytes (already at f + 34) and payload. */
static inline size_t ip4(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint8_t proto,
		  uint32_t saddr, uint32_t daddr, size_t l4len)
{
	uint8_t *h = f + 14;

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	put16(f + 12, 0x0800);
	h[0] = 0x45;
	h[1] = 0;
	put16(h + 2, (uint16_t)(20 + l4len));
	put16(h + 4, 1);
	put16(h + 6, 0x4000);              /* DF */
	h[8] = 64;
	h[9] = proto;
	put16(h + 10, 0);
	put32(h + 12, saddr);
	put32(h + 16, daddr);
	put16(h + 10, ips_csum(h, 20));
	return 34 + l4len;
}

static inline size_t udp(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint32_t saddr,
		  uint16_t sport, uint32_t daddr, uint16_t dport, size_t payload)
{
	uint8_t *u = f + 34;

	put16(u, sport);
	put16(u + 2, dport);
	put16(u + 4, (uint16_t)(8 + payload));
	put16(u + 6, 0);
	memset(u + 8, 0x5a, payload);
	return ip4(f, dst, src, 17, saddr, daddr, 8 + payload);
}

enum { SYN = 0x02, ACK = 0x10, FIN = 0x01, RST = 0x04 };
static inline size_t tcp(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint32_t saddr,
		  uint16_t sport, uint32_t daddr, uint16_t dport, uint8_t flags)
{
	uint8_t *t = f + 34;

	memset(t, 0, 20);
	put16(t, sport);
	put16(t + 2, dport);
	put32(t + 4, 1000);
	t[12] = 5 << 4;
	t[13] = flags;
	put16(t + 14, 65535);
	return ip4(f, dst, src, 6, saddr, daddr, 20);
}

static inline size_t icmp_echo(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint32_t saddr,
			uint32_t daddr, uint8_t type, uint16_t id)
{
	uint8_t *c = f + 34;

	memset(c, 0, 16);
	c[0] = type;
	put16(c + 4, id);
	put16(c + 6, 1);
	put16(c + 2, ips_csum(c, 16));
	return ip4(f, dst, src, 1, saddr, daddr, 16);
}

static inline uint64_t drops(vmm_net_port *p, uint32_t reason)
{
	vmm_net_port_stats st = { .size = sizeof(st) };

	if (vmm_net_port_stats_get(p, &st) != 0)
		return ~0ull;
	return st.drops[reason];
}

static inline vmm_net_port_stats stats(vmm_net_port *p)
{
	vmm_net_port_stats st = { .size = sizeof(st) };

	vmm_net_port_stats_get(p, &st);
	return st;
}

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t MAC1[6] = { 0x02, 0, 0, 0, 0, 1 };
static const uint8_t MAC2[6] = { 0x02, 0, 0, 0, 0, 2 };
static const uint8_t MAC3[6] = { 0x02, 0, 0, 0, 0, 3 };
static const uint8_t MAC4[6] = { 0x02, 0, 0, 0, 0, 4 };
static const uint8_t MACX[6] = { 0x02, 0, 0, 0, 0, 0x99 };

#endif /* SWITCH_FIXTURE_H */
