/* policy_firewall.c - a stateful IPv4 firewall per port, as a filter on
 * both directions. A frame of a tracked connection passes (its original
 * direction or the reply); any other frame is matched against the ordered
 * rules (first match wins, else fw_default). An allowed frame that starts
 * a connection (TCP SYN without ACK, UDP, ICMP echo request, another
 * protocol) is tracked. Connections live in an open-addressing table of
 * the port and expire: TCP 30 s until answered,
 * 2 h established, 10 s after FIN or RST; UDP and others 60 s; ICMP 30 s.
 * ARP and non-IP protocols pass; IPv6 is not inspected yet, so an enabled
 * firewall drops it, and non-first IPv4 fragments (no ports to match).
 * Frames of known connections are looked up without a lock (a sequence
 * count tells a look-up that raced with a replacement to take the lock);
 * new connections and state changes (the first reply, FIN, RST) take the
 * port's firewall lock. */
#include <stdlib.h>

#include "lib/net/net.h"
#include "lib/net/port_state.h"

#define PROBE 16u
#define S 1000000000ull
#define ETH_IPV6 0x86ddu

/* A connection in three words, so a look-up compares two of them: the
 * addresses (original source | destination << 32) and the key (original
 * source port | destination port << 16 | protocol << 32 | the direction
 * it started in << 40 | USED, and REPLIED once answered). */
struct vmm__fw_conn {
	uint64_t addrs, key;
	uint64_t expires;
};
#define USED (1ull << 48)
#define REPLIED (1ull << 56)
#define KEY_PROTO(k) ((uint8_t)((k) >> 32))

typedef struct {
	uint64_t addrs[2], key[2];         /* as the original direction, as its reply */
} lookup;

/* The parse stored each field on its own, a moment ago: the barrier
 * keeps the compiler from reading src and dst (or the ports) as one wide
 * load, which no single store can forward (measured: 40% of this
 * function's time at 1500 bytes). */
static inline lookup lookup_of(const vmm__ip4 *ip, uint32_t dir)
{
	uint64_t src = ip->src, dst = ip->dst, sp = ip->sport, dp = ip->dport;
	uint64_t pd = (uint64_t)ip->proto << 32 | USED;

	__asm__("" : "+r"(src), "+r"(dst), "+r"(sp), "+r"(dp));
	return (lookup){ { src | dst << 32, dst | src << 32 },
			 { sp | dp << 16 | pd | (uint64_t)dir << 40,
			   dp | sp << 16 | pd | (uint64_t)(dir ^ 1) << 40 } };
}

int vmm__fw_init(vmm__fw *fw, uint32_t cap)
{
	uint32_t n = 64;

	while (n < cap)
		n <<= 1;
	vmm__spin_lock(&fw->lock);
	if (!fw->conns)
		fw->conns = calloc(n, sizeof(*fw->conns));
	fw->cap = fw->conns ? n : 0;
	vmm__spin_unlock(&fw->lock);
	return fw->conns ? 0 : vmm__err(VMM_ENOMEM, "vmm_net: out of memory for %u firewall "
					"connections", n);
}

void vmm__fw_fini(vmm__fw *fw)
{
	free(fw->conns);
	fw->conns = NULL;
}

/* The same for both directions of a connection. */
static uint32_t hash_of(const vmm__ip4 *ip)
{
	uint64_t k = (uint64_t)(ip->src ^ ip->dst) << 32 | (uint32_t)(ip->sport ^ ip->dport) << 8 |
		     ip->proto;

	k += (uint64_t)(ip->src + ip->dst) * 0x9e3779b97f4a7c15ull;
	k ^= k >> 31;
	k *= 0xbf58476d1ce4e5b9ull;
	return (uint32_t)(k ^ k >> 29);
}

static uint64_t lifetime(bool replied, const vmm__ip4 *ip)
{
	if (ip->proto == 6) {
		if (ip->tcp_flags & 0x05)      /* FIN or RST */
			return 10 * S;
		return replied ? 7200 * S : 30 * S;
	}
	return ip->proto == 1 ? 30 * S : 60 * S;
}

#define LD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define ST(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/* Does c carry the frame: 1 its original direction, 2 the reply, 0 no. */
static inline int covers(vmm__fw_conn *c, const lookup *l, uint64_t now)
{
	uint64_t k = LD(c->key) & ~REPLIED, ad = LD(c->addrs);
	int r = k == l->key[0] && ad == l->addrs[0] ? 1 :
		k == l->key[1] && ad == l->addrs[1] ? 2 : 0;

	return r && LD(c->expires) > now ? r : 0;
}

/* Under the lock: 1 a tracked connection covers the frame (refreshed),
 * 0 not. */
static int track_find(vmm__fw *fw, const vmm__ip4 *ip, uint32_t h, uint32_t dir, uint64_t now)
{
	lookup l = lookup_of(ip, dir);

	for (uint32_t i = 0; i < PROBE; i++) {
		vmm__fw_conn *c = &fw->conns[(h + i) & (fw->cap - 1)];
		int k = covers(c, &l, now);

		if (!k)
			continue;
		if (k == 2)
			ST(c->key, LD(c->key) | REPLIED);
		ST(c->expires, now + lifetime(LD(c->key) & REPLIED, ip));
		return 1;
	}
	return 0;
}

/* Without the lock, for a frame of a known connection that changes
 * nothing but its expiry (moved on at most once a second): 1 passed, 0
 * take the locked path. A connection being replaced (seq odd or moved)
 * sends it there too. */
static int track_fast(vmm__fw *fw, const vmm__ip4 *ip, uint32_t h, uint32_t dir, uint64_t now)
{
	unsigned seq = atomic_load_explicit(&fw->seq, memory_order_acquire);

	lookup l;

	if ((seq & 1) || (ip->proto == 6 && (ip->tcp_flags & 0x05)))
		return 0;
	l = lookup_of(ip, dir);
	for (uint32_t i = 0; i < PROBE; i++) {
		vmm__fw_conn *c = &fw->conns[(h + i) & (fw->cap - 1)];
		int k = covers(c, &l, now);
		bool replied;
		uint64_t exp;

		if (!k)
			continue;
		replied = LD(c->key) & REPLIED;
		if (k == 2 && !replied)
			return 0;
		exp = now + lifetime(replied, ip);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&fw->seq, memory_order_relaxed) != seq)
			return 0;
		if (exp > LD(c->expires) + 1000000000ull)
			ST(c->expires, exp);
		return 1;
	}
	return 0;
}

/* Under the lock: 0 tracked, -1 the table is full around that slot. */
static int track_add(vmm__fw *fw, const vmm__ip4 *ip, uint32_t h, uint32_t dir, uint64_t now)
{
	lookup l = lookup_of(ip, dir);

	for (uint32_t i = 0; i < PROBE; i++) {
		vmm__fw_conn *c = &fw->conns[(h + i) & (fw->cap - 1)];

		if ((LD(c->key) & USED) && LD(c->expires) > now)
			continue;
		atomic_fetch_add_explicit(&fw->seq, 1, memory_order_relaxed);   /* odd */
		atomic_thread_fence(memory_order_release);
		ST(c->key, 0);
		ST(c->addrs, l.addrs[0]);
		ST(c->expires, now + lifetime(false, ip));
		ST(c->key, l.key[0]);
		atomic_fetch_add_explicit(&fw->seq, 1, memory_order_release);   /* even */
		return 0;
	}
	return -1;
}

static bool in_range(uint16_t v, uint16_t lo, uint16_t hi)
{
	return (!lo && !hi) || (v >= lo && v <= hi);
}

static uint32_t rules_verdict(const vmm__policy *pol, const vmm__ip4 *ip, uint32_t dir)
{
	for (uint32_t i = 0; i < pol->p.nrules; i++) {
		const vmm_net_fw_rule *r = &pol->rules[i];

		if (!(r->dirs & (1u << dir)) || (r->proto && r->proto != ip->proto) ||
		    ((ip->src ^ r->src_addr) & r->src_mask) ||
		    ((ip->dst ^ r->dst_addr) & r->dst_mask))
			continue;
		if ((r->src_port_lo || r->src_port_hi || r->dst_port_lo || r->dst_port_hi) &&
		    (!ip->l4 || (ip->proto != 6 && ip->proto != 17) ||
		     !in_range(ip->sport, r->src_port_lo, r->src_port_hi) ||
		     !in_range(ip->dport, r->dst_port_lo, r->dst_port_hi)))
			continue;
		return r->action;
	}
	return pol->p.fw_default;
}

static bool starts(const vmm__ip4 *ip)
{
	if (ip->proto == 6)
		return (ip->tcp_flags & 0x12) == 0x02;   /* SYN, no ACK */
	if (ip->proto == 1)
		return ip->icmp_type == 8;
	return true;
}

static int32_t fw_locked(vmm__sw_port *p, const vmm__ip4 *ip, uint32_t h,
			 const vmm_net_frame *f);

int32_t vmm__firewall(void *opaque, vmm_net_port *port, vmm_net_frame *f)
{
	vmm__sw_port *p = opaque;
	vmm__fw *fw = &p->fw;
	vmm__frame *fr = vmm__frame_of(f);
	const vmm__ip4 *ip;
	int r = vmm__frame_ip4(fr, true, &ip);
	uint32_t h;

	if (r < 0)
		return VMM__DROP_AS + VMM_NET_DROP_MALFORMED;
	if (r == 0)
		return vmm__be16(f->data + 12) == ETH_IPV6 ? VMM__DROP_AS + VMM_NET_DROP_FIREWALL :
							     VMM_NET_PASS;
	if (ip->fragment || !fw->cap)
		return VMM__DROP_AS + VMM_NET_DROP_FIREWALL;
	if (!fr->hashed) {
		fr->hash = hash_of(ip);        /* both directions, every port: one */
		fr->hashed = true;
	}
	h = fr->hash;
	if (track_fast(fw, ip, h, f->dir, f->now_ns))
		return VMM_NET_PASS;
	return fw_locked(p, ip, h, f);
}

/* Not a frame of a known connection, or one that changes its state. */
static __attribute__((noinline)) int32_t fw_locked(vmm__sw_port *p, const vmm__ip4 *ip,
						   uint32_t h, const vmm_net_frame *f)
{
	const vmm__policy *pol = atomic_load(&p->policy);
	vmm__fw *fw = &p->fw;
	int32_t rc = VMM_NET_PASS;

	vmm__spin_lock(&fw->lock);
	if (!track_find(fw, ip, h, f->dir, f->now_ns)) {
		if (rules_verdict(pol, ip, f->dir) != VMM_NET_FW_ALLOW)
			rc = VMM__DROP_AS + VMM_NET_DROP_FIREWALL;
		else if (starts(ip) && track_add(fw, ip, h, f->dir, f->now_ns))
			rc = VMM__DROP_AS + VMM_NET_DROP_FW_FULL;
	}
	vmm__spin_unlock(&fw->lock);
	return rc;
}

uint64_t vmm__fw_count(vmm__fw *fw, uint64_t now);
uint64_t vmm__fw_count(vmm__fw *fw, uint64_t now)
{
	uint64_t n = 0;

	vmm__spin_lock(&fw->lock);
	for (uint32_t i = 0; i < fw->cap; i++)
		n += (LD(fw->conns[i].key) & USED) && LD(fw->conns[i].expires) > now;
	vmm__spin_unlock(&fw->lock);
	return n;
}

/* ---- a port's state moving to another port (port_state.c) ---- */

uint32_t vmm__fw_snapshot(vmm__fw *fw, uint64_t now, vmm__fw_entry *out, uint32_t max)
{
	uint32_t n = 0;

	vmm__spin_lock(&fw->lock);
	for (uint32_t i = 0; fw->conns && i < fw->cap && n < max; i++) {
		const vmm__fw_conn *c = &fw->conns[i];

		uint64_t k = LD(c->key), ad = LD(c->addrs);

		if (!(k & USED) || LD(c->expires) <= now)
			continue;
		out[n++] = (vmm__fw_entry){ (uint32_t)ad, (uint32_t)(ad >> 32), (uint16_t)k,
					    (uint16_t)(k >> 16), KEY_PROTO(k),
					    (uint8_t)(k >> 40 & 1), (k & REPLIED) != 0,
					    LD(c->expires) - now };
	}
	vmm__spin_unlock(&fw->lock);
	return n;
}

/* 0, or -1 when the table has no room around the connection's slot. */
int vmm__fw_restore(vmm__fw *fw, const vmm__fw_entry *e, uint64_t now)
{
	vmm__ip4 ip = { .src = e->a, .dst = e->b, .proto = e->proto, .sport = e->ap,
			.dport = e->bp };
	int rc = -1;

	vmm__spin_lock(&fw->lock);
	uint32_t h = hash_of(&ip);

	if (fw->conns && track_add(fw, &ip, h, e->dir, now) == 0) {
		lookup l = lookup_of(&ip, e->dir);

		for (uint32_t i = 0; i < PROBE; i++) {
			vmm__fw_conn *c = &fw->conns[(h + i) & (fw->cap - 1)];

			if (covers(c, &l, now) == 1) {
				ST(c->key, l.key[0] | (e->replied ? REPLIED : 0));
				ST(c->expires, now + e->ttl_ns);
				break;
			}
		}
		rc = 0;
	}
	vmm__spin_unlock(&fw->lock);
	return rc;
}
