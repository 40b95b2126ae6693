/* policy_shaping.c - traffic shaping each way, ESX's three numbers as two
 * token buckets in bytes: the average bucket fills at avg_bps and holds
 * burst_bytes (at least one maximum-sized frame), the peak bucket fills
 * at peak_bps and holds one maximum-sized frame. A frame passes when both
 * hold its length, and takes it from both; otherwise it is dropped (the
 * switch has no queues: it polices).
 *
 * Without a lock. Each bucket is one atomic word of the port, its
 * theoretical arrival "time" (GCRA) counted in bytes: the bucket's byte
 * clock A(t) grows at the rate (A(t) = a0 + (t - t0) * rate, the policy's
 * constants), and the bucket holds cap - (tat - A(t)) bytes, all of cap
 * when tat is behind A(t). Taking n bytes is one compare-and-swap of tat
 * to max(tat, A(now)) + n, allowed while that stays within A(now) + cap;
 * now is the switch's precise clock. A policy change starts new byte
 * clocks where the old ones stand, so the bytes in the buckets carry over
 * (clipped to the new sizes), and nothing else moves.
 *
 * Per-thread credit: a thread takes up to `batch` bytes at once (at most
 * a 32nd of the average bucket and 250 us of its rate, nothing when the
 * peak bucket is on: it holds one frame) into its own slot of the port
 * (its thread index, below SW_CREDIT_SLOTS; a slot is one live thread's
 * only) and spends it frame by frame with plain loads and stores, no
 * clock. Nothing passes that was not taken from the buckets: over a
 * window W at most burst + avg * W bytes pass, plus what threads held in
 * credit when it began (each at most one batch plus a frame). A policy
 * change voids the credit held (at most a batch per thread is lost). */
#include <stdlib.h>
#include <string.h>

#include "lib/net/net.h"

typedef struct vmm__gcra gcra;

/* The byte clock at now: a0 + rate * (now - t0), wrapping. */
static inline uint64_t byte_clock(const gcra *g, uint64_t now)
{
	uint64_t dt = now > g->t0 ? now - g->t0 : 0;

	return g->a0 + (uint64_t)(((unsigned __int128)dt * g->rate_q) >> 48);
}

/* tat, or a when the bucket is full (tat behind its clock). */
static inline uint64_t clip(uint64_t tat, uint64_t a)
{
	return (int64_t)(tat - a) < 0 ? a : tat;
}

/* Takes from need up to want bytes: how many (0: it lacks need). */
static uint64_t take(_Atomic uint64_t *tat, const gcra *g, uint64_t now, uint64_t need,
		     uint64_t want)
{
	uint64_t a = byte_clock(g, now), t = atomic_load_explicit(tat, memory_order_relaxed);

	for (;;) {
		uint64_t base = clip(t, a), debt = base - a;
		uint64_t avail = debt >= g->cap ? 0 : g->cap - debt;
		uint64_t got = want < avail ? want : avail;

		if (avail < need)
			return 0;
		if (atomic_compare_exchange_weak_explicit(tat, &t, base + got, memory_order_relaxed,
							  memory_order_relaxed))
			return got;
	}
}

/* Gives n bytes back (the other bucket refused them); never past full. */
static void give_back(_Atomic uint64_t *tat, const gcra *g, uint64_t now, uint64_t n)
{
	uint64_t a = byte_clock(g, now), t = atomic_load_explicit(tat, memory_order_relaxed);

	while ((int64_t)(t - a) > 0 &&
	       !atomic_compare_exchange_weak_explicit(tat, &t, clip(t - n, a), memory_order_relaxed,
						      memory_order_relaxed))
		;
}

/* From the buckets: len, or a batch for the thread's credit c (NULL:
 * none). */
static __attribute__((noinline)) bool take_buckets(vmm__sw_port *p, const vmm__policy *pol,
						   uint32_t dir, uint64_t len, vmm__credit *c)
{
	const struct vmm__shaper *s = &pol->shape[dir];
	uint64_t now = vmm__sw_now_precise(p->sw);
	uint64_t want = c && s->batch > len ? s->batch : len, got, peak;

	if (!(got = take(&p->tat[dir][0], &s->b[0], now, len, want)))
		return false;
	if (s->b[1].cap) {
		peak = take(&p->tat[dir][1], &s->b[1], now, len, got);
		if (peak < got)
			give_back(&p->tat[dir][0], &s->b[0], now, got - peak);
		if (!(got = peak))
			return false;
	}
	if (c) {
		if (c->serial != pol->serial) {        /* taken under another policy: void */
			c->serial = pol->serial;
			c->left[0] = c->left[1] = 0;
		}
		c->left[dir] += got - len;
	}
	return true;
}

int32_t vmm__shape(void *opaque, vmm_net_port *port, vmm_net_frame *f)
{
	vmm__sw_port *p = opaque;
	const vmm__policy *pol = atomic_load(&p->policy);
	uint32_t slot = vmm__frame_of(f)->tslot;
	vmm__credit *c;

	if (!pol->shape[f->dir].b[0].cap)
		return VMM_NET_PASS;
	c = slot ? &p->credit[slot - 1] : NULL;    /* allocated before pol was published */
	if (c && c->serial == pol->serial && c->left[f->dir] >= f->len) {
		c->left[f->dir] -= f->len;             /* this thread's own: no atomics */
		return VMM_NET_PASS;
	}
	return take_buckets(p, pol, f->dir, f->len, c) ? VMM_NET_PASS
						       : VMM__DROP_AS + VMM_NET_DROP_SHAPED;
}

/* A new byte clock for one bucket at now: the bytes it holds under the
 * old one (all of it if it was off), at most its new size. */
static void restart(_Atomic uint64_t *tat, gcra *g, const gcra *old, uint64_t now)
{
	uint64_t t = atomic_load(tat), a, held;

	if (!old || !old->cap) {
		g->a0 = t;                             /* full */
	} else {
		a = byte_clock(old, now);
		while (!atomic_compare_exchange_weak(tat, &t, clip(t, a)))
			;                              /* not behind: senders on the old policy */
		t = clip(t, a);
		held = t - a >= old->cap ? 0 : old->cap - (t - a);
		g->a0 = t - g->cap + (held < g->cap ? held : g->cap);
	}
	g->t0 = now;
}

static void bucket_of(gcra *g, uint64_t bps, uint64_t cap)
{
	g->rate_q = (uint64_t)(((unsigned __int128)bps << 48) / 8000000000u);
	g->cap = bps ? cap : 0;
}

int vmm__shape_install(vmm__sw_port *p, vmm__policy *pol, const vmm__policy *old)
{
	uint64_t frame_max = p->sw->mtu + 18, now = vmm__sw_now_precise(p->sw);

	for (uint32_t d = 0; d < 2; d++) {
		const vmm_net_shaping *s = d == VMM_NET_IN ? &pol->p.shape_in : &pol->p.shape_out;
		struct vmm__shaper *sh = &pol->shape[d];
		uint64_t burst = s->burst_bytes > (1ull << 40) ? 1ull << 40 : s->burst_bytes;

		bucket_of(&sh->b[0], s->avg_bps, burst > frame_max ? burst : frame_max);
		bucket_of(&sh->b[1], s->avg_bps ? s->peak_bps : 0, frame_max);
		sh->batch = 0;
		if (!sh->b[0].cap)
			continue;
		if (!sh->b[1].cap) {
			sh->batch = sh->b[0].cap / 32;
			if (sh->batch > s->avg_bps / 32000)    /* 250 us of the rate */
				sh->batch = s->avg_bps / 32000;
		}
		for (uint32_t k = 0; k < 2; k++)
			if (sh->b[k].cap)
				restart(&p->tat[d][k], &sh->b[k], old ? &old->shape[d].b[k] : NULL, now);
		if (!p->credit) {
			if (!(p->credit = aligned_alloc(64, SW_CREDIT_SLOTS * sizeof(vmm__credit))))
				return vmm__err(VMM_ENOMEM, "vmm_net: out of memory for shaping "
						"credit");
			memset(p->credit, 0, SW_CREDIT_SLOTS * sizeof(vmm__credit));
		}
	}
	return 0;
}
