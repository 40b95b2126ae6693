/* plugin.c - inline filters: the embedder's (vmm_net_filter_add) and the
 * built-in policies share one chain per port and direction and one
 * calling convention. A chain is an array replaced whole on a change; a
 * filter's disabled flag lives with the filter, so a filter disabled for
 * a garbage answer stays disabled in later chains. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/net/net.h"

vmm__filt *vmm__filt_builtin(const char *name, int32_t (*fn)(void *, vmm_net_port *,
							      vmm_net_frame *), void *opaque)
{
	vmm__filt *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->ops = (vmm_net_filter){ .version = VMM_NET_FILTER_VERSION, .filter = fn };
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->opaque = opaque;
	f->builtin = true;
	return f;
}

static int garbage(vmm__sw_port *p, vmm__filt *f, const char *what, int32_t r)
{
	atomic_store(&f->disabled, true);
	atomic_fetch_add(&p->sw->plugin_disabled, 1);
	vmm__sw_log(p->sw, "vmm_net: filter '%s' on port '%s' %s (%d): disabled", f->name,
		    p->name, what, (int)r);
	return VMM__DROP_AS + VMM_NET_DROP_PLUGIN;
}

static int one(vmm__sw_port *p, vmm__filt *f, vmm_net_frame *fr)
{
	int32_t r = f->ops.filter(f->opaque, p, fr);

	switch (r) {
	case VMM_NET_PASS:
		return VMM_NET_PASS;
	case VMM_NET_DROP:
		return VMM__DROP_AS + VMM_NET_DROP_FILTER;
	case VMM_NET_QUEUE:
		return VMM_NET_QUEUE;
	case VMM_NET_MODIFY:
		if (fr->len < 14 || fr->len > fr->cap || fr->vlan < 1 || fr->vlan > 4094 ||
		    fr->pcp > 7)
			return garbage(p, f, "modified the frame out of bounds", (int32_t)fr->len);
		return VMM_NET_PASS;
	default:
		if (f->builtin && r >= VMM__DROP_AS && r < VMM__DROP_AS + VMM_NET_DROP_REASONS)
			return r;
		return garbage(p, f, "returned an unknown verdict", r);
	}
}

/* Every built-in policy of a direction as one filter: one call (inlined
 * in the chain), direct ones from there, in order: security,
 * anti-spoofing, the firewall, shaping (each still checks the policy it
 * loads itself). */
static inline int32_t policy_run(vmm__sw_port *p, vmm_net_frame *f)
{
	uint32_t m = atomic_load(&p->policy)->run[f->dir];
	int32_t r = VMM_NET_PASS;

	if ((m & VMM__RUN_SEC) &&
	    (r = f->dir == VMM_NET_IN ? vmm__sec_in(p, p, f) : vmm__sec_out(p, p, f)))
		return r;
	if ((m & VMM__RUN_SPOOF) && (r = vmm__antispoof_in(p, p, f)))
		return r;
	if ((m & VMM__RUN_FW) && (r = vmm__firewall(p, p, f)))
		return r;
	if (m & VMM__RUN_SHAPE)
		r = vmm__shape(p, p, f);
	return r;
}

int32_t vmm__policy_run(void *opaque, vmm_net_port *port, vmm_net_frame *f)
{
	return policy_run(opaque, f);
}

int vmm__chain_run(vmm__sw_port *p, vmm__chain *c, uint32_t start, vmm_net_frame *fr)
{
	for (uint32_t i = start; c && i < c->n; i++) {
		vmm__filt *f = c->f[i];
		int r;

		if (f->ops.filter == vmm__policy_run) {
			r = policy_run(p, fr);         /* built in: a drop reason or PASS */
		} else {
			if (atomic_load_explicit(&f->disabled, memory_order_relaxed))
				continue;
			r = one(p, f, fr);
			if (!f->builtin)
				vmm__frame_of(fr)->parsed = false;   /* it may have written */
		}
		if (r == VMM_NET_PASS)
			continue;
		if (r == VMM_NET_QUEUE) {
			atomic_fetch_add_explicit(&p->queued, 1, memory_order_relaxed);
			return VMM_NET_QUEUE;
		}
		vmm__count_drop(p, fr->dir, (uint32_t)(r - VMM__DROP_AS));
		return VMM_NET_DROP;
	}
	return VMM_NET_PASS;
}

VMM_API int vmm_net_filter_add(vmm_net_port *p, uint32_t dirs, const vmm_net_filter *ops,
			       void *opaque, uint32_t *id)
{
	vmm__filt *f, **grown;
	int rc;

	if (!p || !ops || !id || !dirs || (dirs & ~3u) || ops->version < 1 || !ops->filter)
		return vmm__err(VMM_EINVAL, "vmm_net_filter_add: port, filter or id is NULL, "
				"dirs is empty or unknown, or the table's version %u or filter "
				"is bad", ops ? ops->version : 0);
	if (!(f = calloc(1, sizeof(*f))))
		return vmm__err(VMM_ENOMEM, "vmm_net_filter_add: out of memory");
	f->ops = *ops;
	f->ops.name = NULL;
	snprintf(f->name, sizeof(f->name), "%s", ops->name ? ops->name : "filter");
	f->opaque = opaque;
	f->dirs = dirs;
	pthread_mutex_lock(&p->sw->ctl);
	grown = realloc(p->filt, (p->nfilt + 1) * sizeof(*grown));
	if (!grown) {
		pthread_mutex_unlock(&p->sw->ctl);
		free(f);
		return vmm__err(VMM_ENOMEM, "vmm_net_filter_add: out of memory");
	}
	p->filt = grown;
	f->id = p->sw->next_id++;            /* unique on the switch */
	p->filt[p->nfilt++] = f;
	if ((rc = vmm__port_rebuild(p)))
		p->nfilt--;
	pthread_mutex_unlock(&p->sw->ctl);
	if (rc)
		free(f);
	else
		*id = f->id;
	return rc;
}

VMM_API int vmm_net_filter_remove(vmm_net_port *p, uint32_t id)
{
	vmm__filt *f = NULL;
	uint32_t i;
	int rc;

	if (!p)
		return vmm__err(VMM_EINVAL, "vmm_net_filter_remove: port is NULL");
	pthread_mutex_lock(&p->sw->ctl);
	for (i = 0; i < p->nfilt && !f; i++)
		if (p->filt[i]->id == id)
			f = p->filt[i];
	if (!f) {
		pthread_mutex_unlock(&p->sw->ctl);
		return vmm__err(VMM_ENOENT, "vmm_net_filter_remove: port '%s' has no filter %u",
				p->name, id);
	}
	memmove(&p->filt[i - 1], &p->filt[i], (p->nfilt - i) * sizeof(p->filt[0]));
	p->nfilt--;
	rc = vmm__port_rebuild(p);
	if (rc) {
		p->filt[p->nfilt++] = f;       /* still in the old chain: keep it */
		pthread_mutex_unlock(&p->sw->ctl);
		return rc;
	}
	pthread_mutex_unlock(&p->sw->ctl);
	if (f->ops.detach)
		f->ops.detach(f->opaque);
	free(f);
	return 0;
}

VMM_API int vmm_net_filter_active(vmm_net_port *p, uint32_t id)
{
	int rc = -1;

	if (!p)
		return vmm__err(VMM_EINVAL, "vmm_net_filter_active: port is NULL");
	pthread_mutex_lock(&p->sw->ctl);
	for (uint32_t i = 0; i < p->nfilt; i++)
		if (p->filt[i]->id == id)
			rc = !atomic_load(&p->filt[i]->disabled);
	pthread_mutex_unlock(&p->sw->ctl);
	if (rc < 0)
		return vmm__err(VMM_ENOENT, "vmm_net_filter_active: port '%s' has no filter %u",
				p->name, id);
	return rc;
}

VMM_API int vmm_net_filter_reinject(vmm_net_port *p, uint32_t id, uint32_t dir,
				    const void *frame, size_t len, uint32_t vlan)
{
	if (!p || !frame || dir > VMM_NET_OUT)
		return vmm__err(VMM_EINVAL, "vmm_net_filter_reinject: port or frame is NULL, or "
				"dir %u is unknown", dir);
	return vmm__fwd_reinject(p, id, dir, frame, len, vlan);
}

void vmm__filt_release_all(vmm__sw_port *p)
{
	for (uint32_t i = 0; i < p->nfilt; i++) {
		if (p->filt[i]->ops.detach)
			p->filt[i]->ops.detach(p->filt[i]->opaque);
		free(p->filt[i]);
	}
	free(p->filt);
	p->filt = NULL;
	p->nfilt = 0;
	for (uint32_t d = 0; d < 2; d++)
		for (uint32_t k = 0; k < 8; k++) {
			free(p->builtin[d][k]);
			p->builtin[d][k] = NULL;
		}
}

/* The built-in policies a direction of the port's policy runs. */
uint32_t vmm__policy_mask(const vmm__sw_port *p, const vmm__policy *pol, uint32_t dir)
{
	uint32_t flags = pol->p.flags, m = 0;
	const vmm_net_shaping *s = dir == VMM_NET_IN ? &pol->p.shape_in : &pol->p.shape_out;

	if (p->has_mac && !(flags & (dir == VMM_NET_IN ? VMM_NET_SEC_FORGED :
						       VMM_NET_SEC_MAC_CHANGES)))
		m |= VMM__RUN_SEC;
	if (dir == VMM_NET_IN && (flags & VMM_NET_ANTISPOOF))
		m |= VMM__RUN_SPOOF;
	if (flags & VMM_NET_FIREWALL)
		m |= VMM__RUN_FW;
	if (s->avg_bps)
		m |= VMM__RUN_SHAPE;
	return m;
}

uint32_t vmm__policy_builtins(vmm__sw_port *p, const vmm__policy *pol, uint32_t dir,
			      vmm__filt **out)
{
	if (!pol->run[dir])
		return 0;
	out[0] = p->builtin[dir][0];
	return 1;
}
