/* policy_shaping.c - traffic shaping each way, ESX's three numbers as two
 * token buckets in bytes: the average bucket fills at avg_bps and holds
 * burst_bytes (at least one maximum-sized frame), the peak bucket fills
 * at peak_bps and holds one maximum-sized frame. A frame passes when both
 * hold its length, and takes it from both; otherwise it is dropped (the
 * switch has no queues: it polices). Over a window W at most
 * burst + avg * W bytes pass. Buckets are kept with the port, under its
 * shaper lock (a spin lock: a few instructions), in fixed point (bytes
 * << 16); the rates were converted once with the policy; a policy change
 * keeps the buckets. Time is the switch's precise clock, read only when
 * a bucket lacks the tokens (a refill is exact whenever it happens: the
 * buckets never hold more than their size). */
#include "lib/net/net.h"

static uint64_t fill(uint64_t tokens, uint64_t cap, uint64_t dt_ns, uint64_t rate_q)
{
	unsigned __int128 add = ((unsigned __int128)dt_ns * rate_q) >> 32;

	return add >= cap - tokens ? cap : tokens + (uint64_t)add;
}

/* The buckets lack the tokens, or were never filled: under the lock, a
 * refill from the precise clock, then the same test. */
static __attribute__((noinline)) bool refill_take(vmm__sw_port *p, const vmm__policy *pol,
						  uint32_t dir, uint64_t len)
{
	const vmm_net_shaping *s = dir == VMM_NET_IN ? &pol->p.shape_in : &pol->p.shape_out;
	const uint64_t *q = pol->rate_q[dir];
	uint64_t frame_max = (uint64_t)(p->sw->mtu + 18) << 16;
	uint64_t burst = s->burst_bytes << 16 > frame_max ? s->burst_bytes << 16 : frame_max;
	vmm__bucket *b = &p->bucket[dir];
	uint64_t now = vmm__sw_now_precise(p->sw);
	bool ok;

	if (s->burst_bytes > (1ull << 40))
		burst = 1ull << 56;
	if (!b->primed) {
		b->tokens = burst;
		b->peak_tokens = frame_max;
		b->primed = true;
	} else if (now > b->last_ns) {
		b->tokens = fill(b->tokens > burst ? burst : b->tokens, burst, now - b->last_ns, q[0]);
		b->peak_tokens = fill(b->peak_tokens, frame_max, now - b->last_ns, q[1]);
	}
	b->last_ns = now > b->last_ns ? now : b->last_ns;
	ok = b->tokens >= len && (!s->peak_bps || b->peak_tokens >= len);
	if (ok) {
		b->tokens -= len;
		b->peak_tokens = b->peak_tokens > len ? b->peak_tokens - len : 0;
	}
	return ok;
}

int32_t vmm__shape(void *opaque, vmm_net_port *port, vmm_net_frame *f)
{
	vmm__sw_port *p = opaque;
	const vmm__policy *pol = atomic_load(&p->policy);
	const vmm_net_shaping *s = f->dir == VMM_NET_IN ? &pol->p.shape_in : &pol->p.shape_out;
	uint64_t len = (uint64_t)f->len << 16;
	vmm__bucket *b = &p->bucket[f->dir];
	bool ok;

	if (!s->avg_bps)
		return VMM_NET_PASS;
	vmm__spin_lock(&p->shape_lock);
	if (b->primed && b->tokens >= len && (!s->peak_bps || b->peak_tokens >= len)) {
		b->tokens -= len;              /* enough without a refill: no clock read */
		b->peak_tokens -= len;
		ok = true;
	} else {
		ok = refill_take(p, pol, f->dir, len);
	}
	vmm__spin_unlock(&p->shape_lock);
	return ok ? VMM_NET_PASS : VMM__DROP_AS + VMM_NET_DROP_SHAPED;
}
