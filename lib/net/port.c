/* port.c - ports: creation and checks, the policy (copied, validated,
 * swapped whole), the filter chains rebuilt from it, the endpoint slot,
 * the effective MAC, and the reference counts that let a VM's device keep
 * its port (and the port its switch) until the VM is gone. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/net/net.h"

int vmm__net_tap_port_open(vmm__sw_port *p, const char *name);   /* port_tap.c */
int vmm__net_tap_port_start(vmm__sw_port *p);
void vmm__net_tap_port_close(vmm__sw_port *p);

#define SHAPE_MAX 1000000000000ull

static atomic_uint_fast64_t policy_serial;

static int policy_check(const char *fn, const vmm_net_policy *pol)
{
	const uint32_t known = VMM_NET_SEC_PROMISC | VMM_NET_SEC_MAC_CHANGES |
			       VMM_NET_SEC_FORGED | VMM_NET_ANTISPOOF | VMM_NET_FIREWALL;

	if (pol->size < sizeof(*pol) || (pol->flags & ~known))
		return vmm__err(VMM_EINVAL, "%s: policy.size is too small or policy.flags has "
				"unknown bits", fn);
	if (pol->nipv4 > 64 || (pol->nipv4 && !pol->ipv4))
		return vmm__err(VMM_EINVAL, "%s: nipv4 %u is over 64 or ipv4 is NULL", fn,
				pol->nipv4);
	if (pol->nrules > 1024 || (pol->nrules && !pol->rules) || pol->fw_default > 1 ||
	    pol->fw_max_conns > (1u << 20))
		return vmm__err(VMM_EINVAL, "%s: nrules %u is over 1024, rules is NULL, "
				"fw_default is not ALLOW/DENY or fw_max_conns is over 1M", fn,
				pol->nrules);
	for (uint32_t i = 0; i < pol->nrules; i++) {
		const vmm_net_fw_rule *r = &pol->rules[i];

		if (r->action > 1 || !r->dirs || (r->dirs & ~3u) || r->proto > 255 ||
		    r->src_port_lo > r->src_port_hi || r->dst_port_lo > r->dst_port_hi)
			return vmm__err(VMM_EINVAL, "%s: firewall rule %u: bad action, dirs, proto "
					"or port range", fn, i);
	}
	if (pol->mirror_dirs & ~3u)
		return vmm__err(VMM_EINVAL, "%s: mirror_dirs has unknown bits", fn);
	if (pol->shape_in.avg_bps > SHAPE_MAX || pol->shape_in.peak_bps > SHAPE_MAX ||
	    pol->shape_out.avg_bps > SHAPE_MAX || pol->shape_out.peak_bps > SHAPE_MAX)
		return vmm__err(VMM_EINVAL, "%s: a shaping rate is over 1 Tbit/s", fn);
	return 0;
}

static int policy_copy(const char *fn, const vmm_net_policy *pol, vmm__policy **out)
{
	static const vmm_net_policy defaults = VMM_NET_POLICY_INIT;
	vmm__policy *c;
	int rc;

	if (!pol)
		pol = &defaults;
	if ((rc = policy_check(fn, pol)))
		return rc;
	if (!(c = calloc(1, sizeof(*c))) ||
	    (pol->nrules && !(c->rules = calloc(pol->nrules, sizeof(*c->rules))))) {
		free(c);
		return vmm__err(VMM_ENOMEM, "%s: out of memory", fn);
	}
	c->p = *pol;
	c->p.size = sizeof(c->p);
	if (pol->nipv4)
		memcpy(c->ipv4, pol->ipv4, pol->nipv4 * sizeof(uint32_t));
	if (pol->nrules)
		memcpy(c->rules, pol->rules, pol->nrules * sizeof(*c->rules));
	c->p.ipv4 = c->ipv4;
	c->p.rules = c->rules;
	c->serial = atomic_fetch_add(&policy_serial, 1) + 1;   /* never 0: no credit's */
	*out = c;
	return 0;
}

static void policy_free(vmm__policy *c)
{
	if (c)
		free(c->rules);
	free(c);
}

/* The chains of both directions: built-in policies, the embedder's
 * filters, then the mirror. Under ctl; the old chains are freed after a
 * grace period. */
int vmm__port_rebuild(vmm__sw_port *p)
{
	vmm__policy *pol = atomic_load(&p->policy);
	vmm__chain *c[2], *old[2];

	for (uint32_t d = 0; d < 2; d++) {
		vmm__filt *tmp[16];
		uint32_t n = vmm__policy_builtins(p, pol, d, tmp);

		if (!(c[d] = malloc(sizeof(vmm__chain) + (n + p->nfilt + 1) * sizeof(vmm__filt *)))) {
			free(d ? c[0] : NULL);
			return vmm__err(VMM_ENOMEM, "vmm_net: out of memory for a filter chain");
		}
		memcpy(c[d]->f, tmp, n * sizeof(tmp[0]));
		for (uint32_t i = 0; i < p->nfilt; i++)
			if (p->filt[i]->dirs & (1u << d))
				c[d]->f[n++] = p->filt[i];
		if (pol->p.mirror_port && (pol->p.mirror_dirs & (1u << d)))
			c[d]->f[n++] = p->builtin[d][7];
		c[d]->n = n;
	}
	for (uint32_t d = 0; d < 2; d++)
		old[d] = atomic_exchange(&p->chain[d], c[d]);
	vmm__rcu_sync(&p->sw->rcu);
	free(old[0]);
	free(old[1]);
	return 0;
}

static void promisc_track(vmm__sw_port *p, const vmm__policy *pol)
{
	bool want = (pol->p.flags & VMM_NET_SEC_PROMISC) && atomic_load(&p->live);

	if (want != p->promisc) {
		p->promisc = want;
		if (want)
			atomic_fetch_add(&p->sw->npromisc, 1);
		else
			atomic_fetch_sub(&p->sw->npromisc, 1);
	}
}

/* Installs pol (taken over) under ctl. */
static int policy_install(vmm__sw_port *p, vmm__policy *pol)
{
	vmm__policy *old;
	int rc;

	if (((pol->p.flags & VMM_NET_FIREWALL) && !p->fw.conns &&
	     (rc = vmm__fw_init(&p->fw, pol->p.fw_max_conns ? pol->p.fw_max_conns : 4096))) ||
	    (rc = vmm__shape_install(p, pol, atomic_load(&p->policy)))) {
		policy_free(pol);
		return rc;
	}
	pol->run[0] = vmm__policy_mask(p, pol, 0);
	pol->run[1] = vmm__policy_mask(p, pol, 1);
	old = atomic_exchange(&p->policy, pol);
	promisc_track(p, pol);
	rc = vmm__port_rebuild(p);            /* syncs: nothing sees old after */
	if (rc)
		vmm__rcu_sync(&p->sw->rcu);
	policy_free(old);
	return rc;
}

VMM_API int vmm_net_port_set_policy(vmm_net_port *p, const vmm_net_policy *policy)
{
	vmm__policy *pol;
	int rc;

	if (!p || !policy)
		return vmm__err(VMM_EINVAL, "vmm_net_port_set_policy: port or policy is NULL");
	if (policy->mirror_port && policy->mirror_port == p->id)
		return vmm__err(VMM_EINVAL, "vmm_net_port_set_policy: a port cannot mirror to "
				"itself");
	if ((rc = policy_copy("vmm_net_port_set_policy", policy, &pol)))
		return rc;
	pthread_mutex_lock(&p->sw->ctl);
	rc = policy_install(p, pol);
	pthread_mutex_unlock(&p->sw->ctl);
	return rc;
}

VMM_API int vmm_net_port_set_mac(vmm_net_port *p, const uint8_t mac[6])
{
	if (!p || !mac || (mac[0] & 1))
		return vmm__err(VMM_EINVAL, "vmm_net_port_set_mac: port or mac is NULL, or the "
				"MAC is a multicast address");
	atomic_store(&p->eff_mac, vmm__mac_pack(mac));
	return 0;
}

VMM_API uint32_t vmm_net_port_id(const vmm_net_port *p)
{
	return p ? p->id : 0;
}

int vmm__port_set_endpoint(vmm__sw_port *p, const vmm__endpoint *ep)
{
	vmm__endpoint *copy = NULL, *old;

	if (ep && !(copy = malloc(sizeof(*copy))))
		return vmm__err(VMM_ENOMEM, "vmm_net: out of memory");
	if (copy)
		*copy = *ep;
	pthread_mutex_lock(&p->sw->ctl);
	old = atomic_load(&p->ep);
	if (copy && old) {
		pthread_mutex_unlock(&p->sw->ctl);
		free(copy);
		return vmm__err(VMM_EBUSY, "vmm_net: port '%s' has an endpoint already", p->name);
	}
	atomic_store(&p->ep, copy);
	vmm__rcu_sync(&p->sw->rcu);
	pthread_mutex_unlock(&p->sw->ctl);
	free(old);
	return 0;
}

void vmm__port_unref(vmm__sw_port *p)
{
	vmm_switch *sw = p->sw;

	if (atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	vmm__net_tap_port_close(p);
	vmm__vx_free(p);
	vmm__filt_release_all(p);
	free(atomic_load(&p->chain[0]));
	free(atomic_load(&p->chain[1]));
	free(atomic_load(&p->ep));
	policy_free(atomic_load(&p->policy));
	vmm__fw_fini(&p->fw);
	free(p->credit);
	free(p);
	vmm__sw_unref(sw);
}

/* config.uplink, if the caller's struct has it (1.2). */
static const vmm_net_uplink_config *uplink_of(const vmm_net_port_config *c)
{
	return c->size >= offsetof(vmm_net_port_config, uplink) + sizeof(c->uplink) ? c->uplink
										       : NULL;
}

static int port_check(const vmm_net_port_config *c)
{
	if (!c || c->size < offsetof(vmm_net_port_config, uplink) ||
	    (c->flags & ~(uint32_t)VMM_NET_PORT_TRUNK))
		return vmm__err(VMM_EINVAL, "vmm_net_port_create: config is NULL, too small or "
				"has unknown flags");
	if (c->kind < VMM_NET_PORT_EMBEDDER || c->kind > VMM_NET_PORT_UPLINK)
		return vmm__err(VMM_EINVAL, "vmm_net_port_create: kind %u is unknown", c->kind);
	if (c->kind == VMM_NET_PORT_UPLINK && (!uplink_of(c) || c->vlan || c->flags || c->ntrunk))
		return vmm__err(VMM_EINVAL, "vmm_net_port_create: an uplink needs config.uplink, "
				"and takes no vlan, flags or trunk_vlans (its VLANs are its VNI "
				"map's)");
	if (c->kind == VMM_NET_PORT_EMBEDDER && !c->rx)
		return vmm__err(VMM_EINVAL, "vmm_net_port_create: an embedder port needs rx");
	if (c->kind == VMM_NET_PORT_TAP && !c->tap)
		return vmm__err(VMM_EINVAL, "vmm_net_port_create: a TAP port needs tap");
	if (c->vlan > 4094 || (c->ntrunk && !(c->flags & VMM_NET_PORT_TRUNK)))
		return vmm__err(VMM_EINVAL, "vmm_net_port_create: vlan %u is over 4094, or "
				"trunk_vlans given to an access port", c->vlan);
	if (c->mac[0] & 1)
		return vmm__err(VMM_EINVAL, "vmm_net_port_create: mac %02x:... is a multicast "
				"address", c->mac[0]);
	return 0;
}

static int builtins_make(vmm__sw_port *p)
{
	static const struct {
		const char *name;
		int32_t (*fn)(void *, vmm_net_port *, vmm_net_frame *);
		uint32_t dir, at;
	} tab[] = {
		{ "policy", vmm__policy_run, VMM_NET_IN, 0 },
		{ "mirror", vmm__mirror, VMM_NET_IN, 7 },
		{ "policy", vmm__policy_run, VMM_NET_OUT, 0 },
		{ "mirror", vmm__mirror, VMM_NET_OUT, 7 },
	};

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (!(p->builtin[tab[i].dir][tab[i].at] = vmm__filt_builtin(tab[i].name, tab[i].fn, p)))
			return vmm__err(VMM_ENOMEM, "vmm_net_port_create: out of memory");
	return 0;
}

static int embedder_deliver(void *opaque, vmm__sw_port *p, uint8_t *frame, size_t len)
{
	p->rx(p->rx_opaque, p, frame, len);
	return 0;
}

static vmm__sw_port *port_new(vmm_switch *sw, const vmm_net_port_config *c)
{
	static const uint8_t zero[6];
	vmm__sw_port *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->sw = sw;
	atomic_init(&p->refs, 1);
	p->kind = c->kind;
	p->flags = c->flags;
	p->vlan = c->vlan ? c->vlan : (c->flags & VMM_NET_PORT_TRUNK) ? 0 : 1;
	memcpy(p->mac, c->mac, 6);
	p->has_mac = memcmp(c->mac, zero, 6) != 0;
	atomic_init(&p->eff_mac, vmm__mac_pack(c->mac));
	p->rx = c->rx;
	p->rx_opaque = c->rx_opaque;
	p->tap_fd = -1;
	p->io.fd = -1;
	return p;
}

/* Under ctl: an id, a place in the table, chains, then the endpoint. */
static int port_attach(vmm__sw_port *p, const vmm_net_port_config *c, vmm__policy *pol)
{
	vmm_switch *sw = p->sw;
	int rc;

	p->id = sw->next_id++;
	if (c->name)
		snprintf(p->name, sizeof(p->name), "%s", c->name);
	else
		snprintf(p->name, sizeof(p->name), "port%u", p->id);
	if ((rc = policy_install(p, pol)) == 0 && (rc = vmm__sw_table_add(sw, p)) == 0)
		promisc_track(p, atomic_load(&p->policy));
	return rc;
}

VMM_API int vmm_net_port_create(vmm_switch *sw, const vmm_net_port_config *c,
				vmm_net_port **out)
{
	vmm__policy *pol = NULL;
	vmm__sw_port *p;
	int rc;

	if (!sw || !out)
		return vmm__err(VMM_EINVAL, "vmm_net_port_create: switch or out is NULL");
	*out = NULL;
	if ((rc = port_check(c)) ||
	    (rc = policy_copy("vmm_net_port_create", c->policy, &pol)))
		return rc;
	if (c->policy && c->policy->mirror_port && c->policy->mirror_port == sw->next_id) {
		policy_free(pol);
		return vmm__err(VMM_EINVAL, "vmm_net_port_create: a port cannot mirror to itself");
	}
	if (!(p = port_new(sw, c))) {
		policy_free(pol);
		return vmm__err(VMM_ENOMEM, "vmm_net_port_create: out of memory");
	}
	atomic_fetch_add(&sw->refs, 1);        /* p's, dropped with its last reference */
	if ((rc = vmm__vlan_trunk_set(p, c->trunk_vlans, c->ntrunk)) || (rc = builtins_make(p)) ||
	    (c->kind == VMM_NET_PORT_TAP && (rc = vmm__net_tap_port_open(p, c->tap))) ||
	    (c->kind == VMM_NET_PORT_UPLINK && (rc = vmm__vx_open(p, uplink_of(c))))) {
		policy_free(pol);
		vmm__port_unref(p);
		return rc;
	}
	pthread_mutex_lock(&sw->ctl);
	rc = port_attach(p, c, pol);
	pthread_mutex_unlock(&sw->ctl);
	if (rc == 0 && c->kind == VMM_NET_PORT_EMBEDDER)
		rc = vmm__port_set_endpoint(p, &(vmm__endpoint){ embedder_deliver, NULL });
	if (rc == 0 && c->kind == VMM_NET_PORT_TAP)
		rc = vmm__net_tap_port_start(p);
	if (rc == 0 && c->kind == VMM_NET_PORT_UPLINK)
		rc = vmm__vx_start(p);
	if (rc) {
		vmm_net_port_destroy(p);
		return rc;
	}
	*out = p;
	return 0;
}

VMM_API void vmm_net_port_destroy(vmm_net_port *p)
{
	vmm_switch *sw;

	if (!p)
		return;
	sw = p->sw;
	pthread_mutex_lock(&sw->ctl);
	if (atomic_load(&p->live)) {
		vmm__sw_table_del(sw, p);      /* syncs: no frame in flight reaches p */
		promisc_track(p, atomic_load(&p->policy));
	}
	if (sw->uplink == p)
		sw->uplink = NULL;
	pthread_mutex_unlock(&sw->ctl);
	vmm__net_tap_port_close(p);
	vmm__vx_stop(p);
	if (p->kind != VMM_NET_PORT_VIRTIO)
		vmm__port_set_endpoint(p, NULL);
	vmm__port_unref(p);
}
