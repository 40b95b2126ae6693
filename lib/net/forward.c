/* forward.c - the data path. A frame a port's endpoint sends is checked
 * (runt, VLAN tag, MTU), copied untagged into this thread's buffer, run
 * through the port's IN chain, its source learned, and handed to the
 * ports the forwarding decision picks (the plugin's, or: known unicast to
 * its port, everything else flooded in its VLAN; promiscuous ports get a
 * copy of all); each destination gets its own copy through its OUT chain,
 * tagged for a trunk, to its endpoint. All of it inside one read-side
 * section of the switch's grace periods, with no lock of the switch's.
 * Callbacks may send again: each nesting level has its own buffers. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lib/net/net.h"

#define BUF (SW_HEADROOM + SW_MAX_FRAME)

typedef struct {
	uint8_t *in, *out, *mirror;
} level;
typedef struct {
	level lv[SW_MAX_DEPTH];
	int depth;
} tls;

/* Frames are mostly small: an inlined copy for them, libc's for the rest
 * of a long one (whose entry costs more than a short frame's copy). The
 * 16-byte chunks start at 0 and then at 14, the IPv4 header, so the
 * policies' loads of header fields just after (the destination address
 * at 30..33, the ports at 34..37) each fall inside one chunk's store and
 * are forwarded from it: a load across two stores, or from libc's copy,
 * waits for them to reach the cache, which measured as half of the IPv4
 * parse's time. */
static inline void copy(uint8_t *d, const uint8_t *s, size_t n)
{
	if (n >= 30) {
		__builtin_memcpy(d, s, 16);
		d += 14, s += 14, n -= 14;
	}
	if (n > 256) {
		for (int i = 0; i < 3; i++, n -= 16, d += 16, s += 16)
			__builtin_memcpy(d, s, 16);
		memcpy(d, s, n);
		return;
	}
	for (; n >= 16; n -= 16, d += 16, s += 16)
		__builtin_memcpy(d, s, 16);
	for (; n; n--)
		*d++ = *s++;
}

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static _Thread_local tls *me;

static void tls_free(void *arg)
{
	tls *t = arg;

	for (int i = 0; i < SW_MAX_DEPTH; i++) {
		free(t->lv[i].in);
		free(t->lv[i].out);
		free(t->lv[i].mirror);
	}
	free(t);
}

static void tls_init(void)
{
	pthread_key_create(&tls_key, tls_free);
}

/* This thread's buffers for the next nesting level, or NULL. */
static level *level_enter(void)
{
	level *l;

	if (!me) {
		pthread_once(&tls_once, tls_init);
		if (!(me = calloc(1, sizeof(*me))))
			return NULL;
		pthread_setspecific(tls_key, me);
	}
	if (me->depth >= SW_MAX_DEPTH)
		return NULL;
	l = &me->lv[me->depth];
	if (!l->in && !(l->in = malloc(BUF)))
		return NULL;
	if (!l->out && !(l->out = malloc(BUF)))
		return NULL;
	me->depth++;
	return l;
}

static void level_exit(void)
{
	me->depth--;
}

uint8_t *vmm__fwd_scratch(void)
{
	level *l = &me->lv[me->depth - 1];

	if (!l->mirror && !(l->mirror = malloc(BUF)))
		return NULL;
	return l->mirror + SW_HEADROOM;
}

void vmm__fwd_to_endpoint(vmm__sw_port *p, uint8_t *frame, size_t len, uint32_t vlan,
			  uint32_t pcp)
{
	vmm__endpoint *ep = atomic_load(&p->ep);

	if (vmm__vlan_tagged(p, vlan))
		vmm__vlan_push(&frame, &len, vlan, pcp);
	if (!ep) {
		vmm__count_drop(p, VMM_NET_OUT, VMM_NET_DROP_NO_LINK);
		return;
	}
	if (ep->deliver(ep->opaque, p, frame, len) != 0) {
		vmm__count_drop(p, VMM_NET_OUT, VMM_NET_DROP_ENDPOINT);
		return;
	}
	atomic_fetch_add_explicit(&p->out_frames, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&p->out_bytes, len, memory_order_relaxed);
}

/* One destination: its own copy, its OUT chain from start, its endpoint. */
static void deliver(level *l, vmm__sw_port *q, const vmm_net_frame *f, uint32_t start)
{
	vmm__frame g = *(const vmm__frame *)f;   /* the parse goes along */

	g.f.dir = VMM_NET_OUT;
	g.f.data = l->out + SW_HEADROOM;
	g.f.cap = q->sw->mtu + 14;
	copy(g.f.data, f->data, f->len);
	if (vmm__chain_run(q, atomic_load(&q->chain[VMM_NET_OUT]), start, &g.f) != VMM_NET_PASS)
		return;
	vmm__fwd_to_endpoint(q, g.f.data, g.f.len, g.f.vlan, g.f.pcp);
}

/* Does q take a frame for dst? A port with a MAC takes its own unicast
 * (its effective MAC), broadcast and multicast, unless promiscuous. */
static bool wants(vmm__sw_port *q, const uint8_t *dst)
{
	return (dst[0] & 1) || !q->has_mac || q->promisc ||
	       vmm__mac_pack(dst) == atomic_load_explicit(&q->eff_mac, memory_order_relaxed);
}

static void flood(level *l, vmm__sw_port *src, const vmm_net_frame *f)
{
	vmm__ptable *t = atomic_load(&src->sw->ports);

	atomic_fetch_add_explicit(&src->sw->flooded, 1, memory_order_relaxed);
	for (uint32_t i = 0; i < t->n; i++) {
		vmm__sw_port *q = t->p[i];

		if (q != src && vmm__vlan_member(q, f->vlan) && wants(q, f->data))
			deliver(l, q, f, 0);
	}
}

static void promisc_copies(level *l, vmm__sw_port *src, vmm__sw_port *dst,
			   const vmm_net_frame *f)
{
	vmm__ptable *t = atomic_load(&src->sw->ports);

	for (uint32_t i = 0; i < t->n; i++) {
		vmm__sw_port *q = t->p[i];

		if (q->promisc && q != src && q != dst && vmm__vlan_member(q, f->vlan))
			deliver(l, q, f, 0);
	}
}

/* The forwarding plugin's decision: 1 taken, 0 use the built-in one. */
static int plugin_forward(level *l, vmm__sw_port *src, const vmm_net_frame *f)
{
	vmm_switch *sw = src->sw;
	vmm__fwd *fw = atomic_load(&sw->fwd);
	uint32_t ids[64];
	int32_t n;

	if (!fw || atomic_load_explicit(&fw->disabled, memory_order_relaxed))
		return 0;
	n = fw->ops.forward(fw->opaque, sw, src, f, ids, 64);
	if (n == VMM_NET_FWD_BUILTIN)
		return 0;
	for (int32_t i = 0; n >= 0 && n <= 64 && i < n; i++)
		if (!vmm__sw_port_by_id(sw, ids[i]))
			n = -2;
	if (n < 0 || n > 64) {
		atomic_store(&fw->disabled, true);
		atomic_fetch_add(&sw->plugin_disabled, 1);
		vmm__sw_log(sw, "vmm_net: forwarder '%s' returned %d or an unknown port: "
			    "disabled", fw->name, (int)n);
		vmm__count_drop(src, VMM_NET_IN, VMM_NET_DROP_PLUGIN);
		return 1;
	}
	for (int32_t i = 0; i < n; i++) {
		vmm__sw_port *q = vmm__sw_port_by_id(sw, ids[i]);

		if (q != src && vmm__vlan_member(q, f->vlan))
			deliver(l, q, f, 0);
	}
	return 1;
}

static void forward(level *l, vmm__sw_port *src, const vmm_net_frame *f)
{
	vmm_switch *sw = src->sw;
	const uint8_t *dst = f->data;
	vmm__sw_port *q;
	uint32_t id;
	int r;

	if (f->data[6] & 1) {
		vmm__count_drop(src, VMM_NET_IN, VMM_NET_DROP_BAD_SRC);
		return;
	}
	r = vmm__fdb_learn(sw->fdb, vmm__mac_pack(f->data + 6), f->vlan, src->id, f->now_ns,
			   sw->ageing_ns);
	if (r)
		atomic_fetch_add_explicit(r > 0 ? &sw->learned : &sw->fdb_full, 1,
					  memory_order_relaxed);
	atomic_fetch_add_explicit(&sw->frames, 1, memory_order_relaxed);
	if (plugin_forward(l, src, f))
		return;
	if (dst[0] & 1) {
		flood(l, src, f);
		return;
	}
	id = vmm__fdb_lookup(sw->fdb, vmm__mac_pack(dst), f->vlan, f->now_ns, sw->ageing_ns);
	q = id ? vmm__sw_port_by_id(sw, id) : NULL;
	if (!q || !vmm__vlan_member(q, f->vlan)) {
		flood(l, src, f);
		return;
	}
	if (q != src && wants(q, dst))
		deliver(l, q, f, 0);
	if (atomic_load_explicit(&sw->npromisc, memory_order_relaxed))
		promisc_copies(l, src, q, f);
}

/* Checks and copies an IN frame untagged into l->in; 0 or VMM__DROP_AS +
 * a drop reason. */
static int take(vmm__sw_port *p, level *l, const uint8_t *frame, size_t len,
		vmm__frame *fr)
{
	vmm_net_frame *f = &fr->f;

	vmm__l2 l2;
	size_t body;
	int r = vmm__vlan_classify(p, frame, len, &l2);

	if (r)
		return r;
	body = len - (l2.tag_at ? 4 : 0);
	if (body - 14 > p->sw->mtu)
		return VMM__DROP_AS + VMM_NET_DROP_OVERSIZE;
	*f = (vmm_net_frame){ .size = sizeof(*f), .dir = VMM_NET_IN, .data = l->in + SW_HEADROOM,
			      .len = (uint32_t)body, .cap = p->sw->mtu + 14, .vlan = l2.vlan,
			      .pcp = l2.pcp, .now_ns = vmm__sw_now(p->sw) };
	fr->parsed = false;
	if (l2.tag_at) {
		memcpy(f->data, frame, 12);
		copy(f->data + 12, frame + 16, len - 16);
	} else {
		copy(f->data, frame, len);
	}
	return 0;
}

void vmm__fwd_input(vmm__sw_port *p, const uint8_t *frame, size_t len)
{
	vmm_switch *sw = p->sw;
	vmm__frame f;
	vmm__rcu_token tok;
	level *l;
	int r;

	atomic_fetch_add_explicit(&p->in_frames, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&p->in_bytes, len, memory_order_relaxed);
	if (len > SW_MAX_FRAME) {
		vmm__count_drop(p, VMM_NET_IN, VMM_NET_DROP_OVERSIZE);
		return;
	}
	if (!(l = level_enter())) {
		vmm__count_drop(p, VMM_NET_IN, VMM_NET_DROP_LOOP);
		return;
	}
	tok = vmm__rcu_enter(&sw->rcu);
	f.tslot = tok.tid < SW_CREDIT_SLOTS ? tok.tid + 1 : 0;
	if (!atomic_load(&p->live))
		r = VMM__DROP_AS + VMM_NET_DROP_NO_LINK;
	else
		r = take(p, l, frame, len, &f);
	if (r)
		vmm__count_drop(p, VMM_NET_IN, (uint32_t)(r - VMM__DROP_AS));
	else if (vmm__chain_run(p, atomic_load(&p->chain[VMM_NET_IN]), 0, &f.f) == VMM_NET_PASS)
		forward(l, p, &f.f);
	vmm__rcu_exit(&sw->rcu, tok);
	level_exit();
}

VMM_API int vmm_net_port_send(vmm_net_port *p, const void *frame, size_t len)
{
	if (!p || (!frame && len))
		return vmm__err(VMM_EINVAL, "vmm_net_port_send: port or frame is NULL");
	if (!atomic_load(&p->live))
		return vmm__err(VMM_ESTATE, "vmm_net_port_send: port '%s' is off its switch",
				p->name);
	vmm__fwd_input(p, frame, len);
	return 0;
}

static int64_t chain_after(vmm__chain *c, uint32_t id)
{
	for (uint32_t i = 0; c && i < c->n; i++)
		if (!c->f[i]->builtin && c->f[i]->id == id)
			return i + 1;
	return -1;
}

int vmm__fwd_reinject(vmm__sw_port *p, uint32_t id, uint32_t dir, const uint8_t *frame,
		      size_t len, uint32_t vlan)
{
	vmm_switch *sw = p->sw;
	vmm__rcu_token tok;
	int64_t start;
	level *l;
	int rc = 0;

	if (len < 14 || len > sw->mtu + 14u || !vmm__vlan_member(p, vlan))
		return vmm__err(VMM_EINVAL, "vmm_net_filter_reinject: length %zu is outside "
				"14..%u or VLAN %u is not the port's", len, sw->mtu + 14, vlan);
	if (!(l = level_enter()))
		return vmm__err(VMM_ENOMEM, "vmm_net_filter_reinject: nested too deep or out "
				"of memory");
	tok = vmm__rcu_enter(&sw->rcu);
	start = chain_after(atomic_load(&p->chain[dir]), id);
	if (start < 0 || !atomic_load(&p->live)) {
		rc = vmm__err(VMM_ENOENT, "vmm_net_filter_reinject: port '%s' has no filter %u "
			      "on that direction, or is off its switch", p->name, id);
	} else {
		vmm__frame fr = { .f = { .size = sizeof(fr.f), .dir = dir,
					 .data = l->in + SW_HEADROOM, .len = (uint32_t)len,
					 .cap = sw->mtu + 14, .vlan = vlan,
					 .now_ns = vmm__sw_now(sw) },
				  .tslot = tok.tid < SW_CREDIT_SLOTS ? tok.tid + 1 : 0 };
		vmm_net_frame *f = &fr.f;

		memcpy(f->data, frame, len);
		if (dir == VMM_NET_OUT)
			deliver(l, p, f, (uint32_t)start);
		else if (vmm__chain_run(p, atomic_load(&p->chain[VMM_NET_IN]), (uint32_t)start,
					f) == VMM_NET_PASS)
			forward(l, p, f);
	}
	vmm__rcu_exit(&sw->rcu, tok);
	level_exit();
	return rc;
}
