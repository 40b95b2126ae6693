/* ipstack.h - a very small IPv4 endpoint on an embedder port, for the
 * distributed switch's tests (tests/unit/test_switch_vxlan.c and the
 * "host" program tests/net/nethost.c): it answers ARP requests and ICMP
 * echo requests for its address, resolves addresses with ARP and pings
 * them. Frames arrive on whatever thread the switch delivers on (an
 * uplink's reader, a sender); waiters sleep on a condition variable. */
#ifndef IPSTACK_H
#define IPSTACK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "vmm.h"

#define IPS_ARP 16
#define IPS_RING 256

typedef struct ips {
	vmm_net_port *port;
	uint8_t mac[6];
	uint32_t ip;                       /* host order */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct { uint32_t ip; uint8_t mac[6]; } arp[IPS_ARP];
	uint32_t narp;
	uint32_t ring[IPS_RING];           /* recent echo replies: id << 16 | seq */
	uint32_t ring_at;
	uint64_t rx_frames, arp_answered, echo_answered, echo_replies;
	/* every source MAC seen, up to 32 distinct */
	uint8_t seen[32][6];
	uint32_t nseen;
} ips;

static inline void ips_put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static inline void ips_put32(uint8_t *b, uint32_t v)
{
	ips_put16(b, (uint16_t)(v >> 16));
	ips_put16(b + 2, (uint16_t)v);
}

static inline uint16_t ips_get16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline uint32_t ips_get32(const uint8_t *b)
{
	return (uint32_t)ips_get16(b) << 16 | ips_get16(b + 2);
}

static inline uint16_t ips_csum(const uint8_t *b, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		s += (uint32_t)b[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static inline void ips_arp_frame(uint8_t *f, const uint8_t *dst, uint16_t op, const uint8_t *sha,
				 uint32_t spa, const uint8_t *tha, uint32_t tpa)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, sha, 6);
	ips_put16(f + 12, 0x0806);
	ips_put16(f + 14, 1);
	ips_put16(f + 16, 0x0800);
	f[18] = 6;
	f[19] = 4;
	ips_put16(f + 20, op);
	memcpy(f + 22, sha, 6);
	ips_put32(f + 28, spa);
	memcpy(f + 32, tha, 6);
	ips_put32(f + 38, tpa);
}

/* An ICMP echo (type 8 request, 0 reply) of 56 payload bytes: 98 bytes. */
static inline size_t ips_echo_frame(uint8_t *f, const uint8_t *dmac, const uint8_t *smac,
				    uint32_t src, uint32_t dst, uint8_t type, uint16_t id,
				    uint16_t seq, const uint8_t *payload, size_t plen)
{
	uint8_t *h = f + 14, *icmp = f + 34;

	memcpy(f, dmac, 6);
	memcpy(f + 6, smac, 6);
	ips_put16(f + 12, 0x0800);
	memset(h, 0, 20);
	h[0] = 0x45;
	ips_put16(h + 2, (uint16_t)(20 + 8 + plen));
	ips_put16(h + 4, seq);
	h[8] = 64;
	h[9] = 1;
	ips_put32(h + 12, src);
	ips_put32(h + 16, dst);
	ips_put16(h + 10, ips_csum(h, 20));
	icmp[0] = type;
	icmp[1] = 0;
	ips_put16(icmp + 2, 0);
	ips_put16(icmp + 4, id);
	ips_put16(icmp + 6, seq);
	if (payload)
		memcpy(icmp + 8, payload, plen);
	else
		for (size_t i = 0; i < plen; i++)
			icmp[8 + i] = (uint8_t)i;
	ips_put16(icmp + 2, ips_csum(icmp, 8 + plen));
	return 34 + 8 + plen;
}

static inline void ips_learn(ips *s, uint32_t ip, const uint8_t *mac)
{
	for (uint32_t i = 0; i < s->narp; i++)
		if (s->arp[i].ip == ip) {
			memcpy(s->arp[i].mac, mac, 6);
			return;
		}
	if (s->narp < IPS_ARP) {
		s->arp[s->narp].ip = ip;
		memcpy(s->arp[s->narp++].mac, mac, 6);
	}
}

static inline void ips_saw(ips *s, const uint8_t *mac)
{
	for (uint32_t i = 0; i < s->nseen; i++)
		if (!memcmp(s->seen[i], mac, 6))
			return;
	if (s->nseen < 32)
		memcpy(s->seen[s->nseen++], mac, 6);
}

static inline bool ips_has_seen(ips *s, const uint8_t *mac)
{
	bool r = false;

	pthread_mutex_lock(&s->lock);
	for (uint32_t i = 0; i < s->nseen; i++)
		r |= !memcmp(s->seen[i], mac, 6);
	pthread_mutex_unlock(&s->lock);
	return r;
}

static inline void ips_arp_in(ips *s, const uint8_t *f, size_t len)
{
	uint8_t out[42];

	if (len < 42 || ips_get16(f + 14) != 1 || ips_get16(f + 16) != 0x0800 || f[18] != 6 ||
	    f[19] != 4)
		return;
	if (ips_get32(f + 28))
		ips_learn(s, ips_get32(f + 28), f + 22);
	if (ips_get16(f + 20) == 1 && ips_get32(f + 38) == s->ip) {
		ips_arp_frame(out, f + 22, 2, s->mac, s->ip, f + 22, ips_get32(f + 28));
		s->arp_answered++;
		pthread_mutex_unlock(&s->lock);
		vmm_net_port_send(s->port, out, sizeof(out));
		pthread_mutex_lock(&s->lock);
	}
}

static inline void ips_ip_in(ips *s, const uint8_t *f, size_t len)
{
	const uint8_t *h = f + 14, *icmp;
	size_t ihl, total;
	uint8_t out[1600];

	if (len < 34 || (h[0] >> 4) != 4 || h[9] != 1 || ips_get32(h + 16) != s->ip)
		return;
	ihl = (size_t)(h[0] & 15) * 4;
	total = ips_get16(h + 2);
	if (ihl < 20 || total < ihl + 8 || 14 + total > len || total - ihl - 8 > 1400)
		return;
	icmp = h + ihl;
	if (icmp[0] == 8) {
		size_t n = ips_echo_frame(out, f + 6, s->mac, s->ip, ips_get32(h + 12), 0,
					  ips_get16(icmp + 4), ips_get16(icmp + 6), icmp + 8,
					  total - ihl - 8);

		ips_learn(s, ips_get32(h + 12), f + 6);
		s->echo_answered++;
		pthread_mutex_unlock(&s->lock);
		vmm_net_port_send(s->port, out, n);
		pthread_mutex_lock(&s->lock);
	} else if (icmp[0] == 0) {
		s->ring[s->ring_at++ % IPS_RING] = (uint32_t)ips_get16(icmp + 4) << 16 |
						   ips_get16(icmp + 6);
		s->echo_replies++;
	}
}

static inline void ips_rx(void *opaque, vmm_net_port *port, const void *frame, size_t len)
{
	ips *s = opaque;
	const uint8_t *f = frame;

	if (len < 14)
		return;
	pthread_mutex_lock(&s->lock);
	s->rx_frames++;
	ips_saw(s, f + 6);
	if (ips_get16(f + 12) == 0x0806)
		ips_arp_in(s, f, len);
	else if (ips_get16(f + 12) == 0x0800)
		ips_ip_in(s, f, len);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static inline void ips_init(ips *s, const uint8_t mac[6], uint32_t ip)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->mac, mac, 6);
	s->ip = ip;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
}

/* A port config for it: rx set, the MAC, VLAN 1. */
static inline vmm_net_port_config ips_port_config(ips *s)
{
	vmm_net_port_config c = VMM_NET_PORT_CONFIG_INIT;

	c.rx = ips_rx;
	c.rx_opaque = s;
	memcpy(c.mac, s->mac, 6);
	return c;
}

static inline void ips_deadline(struct timespec *ts, uint32_t ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

static inline bool ips_arp_lookup(ips *s, uint32_t ip, uint8_t *mac)
{
	for (uint32_t i = 0; i < s->narp; i++)
		if (s->arp[i].ip == ip) {
			memcpy(mac, s->arp[i].mac, 6);
			return true;
		}
	return false;
}

/* Resolves ip within ms (one ARP request every 200 ms). */
static inline bool ips_resolve(ips *s, uint32_t ip, uint8_t *mac, uint32_t ms)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, zero[6] = { 0 };
	struct timespec end, step;
	uint8_t req[42];
	bool ok;

	ips_deadline(&end, ms);
	pthread_mutex_lock(&s->lock);
	while (!(ok = ips_arp_lookup(s, ip, mac))) {
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		if (now.tv_sec > end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
			break;
		ips_arp_frame(req, bcast, 1, s->mac, s->ip, zero, ip);
		pthread_mutex_unlock(&s->lock);
		vmm_net_port_send(s->port, req, sizeof(req));
		pthread_mutex_lock(&s->lock);
		ips_deadline(&step, 200);
		while (!ips_arp_lookup(s, ip, mac) &&
		       pthread_cond_timedwait(&s->cond, &s->lock, &step) == 0)
			;
	}
	pthread_mutex_unlock(&s->lock);
	return ok;
}

static inline bool ips_ring_has(ips *s, uint32_t key)
{
	for (uint32_t i = 0; i < IPS_RING; i++)
		if (s->ring[i] == key)
			return true;
	return false;
}

/* One echo request to ip (resolved first); true if its reply came within ms. */
static inline bool ips_ping(ips *s, uint32_t ip, uint16_t id, uint16_t seq, uint32_t ms)
{
	uint8_t mac[6], f[128];
	struct timespec end;
	uint32_t key = (uint32_t)id << 16 | seq;
	size_t n;
	bool ok;

	if (!ips_resolve(s, ip, mac, ms))
		return false;
	n = ips_echo_frame(f, mac, s->mac, s->ip, ip, 8, id, seq, NULL, 56);
	ips_deadline(&end, ms);
	vmm_net_port_send(s->port, f, n);
	pthread_mutex_lock(&s->lock);
	while (!(ok = ips_ring_has(s, key)) &&
	       pthread_cond_timedwait(&s->cond, &s->lock, &end) == 0)
		;
	ok = ips_ring_has(s, key);
	pthread_mutex_unlock(&s->lock);
	return ok;
}

static inline void ips_forget(ips *s)
{
	pthread_mutex_lock(&s->lock);
	s->narp = 0;
	pthread_mutex_unlock(&s->lock);
}

#endif /* IPSTACK_H */
