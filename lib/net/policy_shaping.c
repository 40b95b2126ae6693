/* policy_shaping.c - traffic shaping each way, ESX's three numbers as two
 * token buckets in bytes: the average bucket fills at avg_bps and holds
 * burst_bytes (at least one maximum-sized frame), the peak bucket fills
 * at peak_bps and holds one maximum-sized frame. A frame passes when both
 * hold its length, and takes it from both; otherwise it is dropped (the
 * switch has no queues: it polices). Over a window W at most
 * burst + avg * W bytes pass. Buckets are kept with the port, under its
 * shaper lock; a policy change keeps them. */
#include "lib/net/net.h"

static double fill(double tokens, double cap, uint64_t dt_ns, uint64_t bps)
{
	tokens += (double)dt_ns * (double)bps / 8e9;
	return tokens > cap ? cap : tokens;
}

int32_t vmm__shape(void *opaque, vmm_net_port *port, vmm_net_frame *f)
{
	vmm__sw_port *p = opaque;
	const vmm__policy *pol = atomic_load(&p->policy);
	const vmm_net_shaping *s = f->dir == VMM_NET_IN ? &pol->p.shape_in : &pol->p.shape_out;
	double frame_max = p->sw->mtu + 18.0, burst, len = f->len;
	vmm__bucket *b = &p->bucket[f->dir];
	bool ok;

	if (!s->avg_bps)
		return VMM_NET_PASS;
	burst = (double)s->burst_bytes > frame_max ? (double)s->burst_bytes : frame_max;
	pthread_mutex_lock(&p->shape_lock);
	if (!b->primed) {
		b->tokens = burst;
		b->peak_tokens = frame_max;
		b->last_ns = f->now_ns;
		b->primed = true;
	} else if (f->now_ns > b->last_ns) {
		uint64_t dt = f->now_ns - b->last_ns;

		b->tokens = fill(b->tokens, burst, dt, s->avg_bps);
		b->peak_tokens = fill(b->peak_tokens, frame_max, dt, s->peak_bps);
		b->last_ns = f->now_ns;
	}
	ok = b->tokens >= len && (!s->peak_bps || b->peak_tokens >= len);
	if (ok) {
		b->tokens -= len;
		b->peak_tokens -= len;
	}
	pthread_mutex_unlock(&p->shape_lock);
	return ok ? VMM_NET_PASS : VMM__DROP_AS + VMM_NET_DROP_SHAPED;
}
