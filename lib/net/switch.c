/* switch.c - a switch: its configuration, its port table (read-mostly,
 * rebuilt and swapped whole under the control lock, freed after a grace
 * period), the forwarding plugin slot, its log and clock, its counters. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/net/net.h"

/* The switch's clock for ageing and connection lifetimes: the coarse
 * monotonic clock (a few ms, and far cheaper per frame than the precise
 * one), or the embedder's. */
uint64_t vmm__sw_now(vmm_switch *sw)
{
	struct timespec ts;

	if (sw->clock)
		return sw->clock(sw->clock_opaque);
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The precise one, for the shapers. */
uint64_t vmm__sw_now_precise(vmm_switch *sw)
{
	struct timespec ts;

	if (sw->clock)
		return sw->clock(sw->clock_opaque);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void vmm__sw_log(vmm_switch *sw, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vmm__err(VMM_EINVAL, "%s", msg);
	if (sw->log)
		sw->log(sw->log_opaque, msg);
}

/* The table: the live ports in creation order, then an id map (open
 * addressing, 2x the ports rounded up to a power of two). */
static vmm__sw_port **id_map(vmm__ptable *t, uint32_t *mask)
{
	uint32_t cap = 4;

	while (cap < 2 * t->n)
		cap <<= 1;
	*mask = cap - 1;
	return t->p + t->n;
}

static vmm__ptable *table_build(vmm__sw_port *const *ports, uint32_t n)
{
	uint32_t cap = 4, mask;
	vmm__ptable *t;
	vmm__sw_port **map;

	while (cap < 2 * n)
		cap <<= 1;
	t = calloc(1, sizeof(*t) + (size_t)(n + cap) * sizeof(t->p[0]));
	if (!t)
		return NULL;
	t->n = n;
	if (n)
		memcpy(t->p, ports, (size_t)n * sizeof(t->p[0]));
	map = id_map(t, &mask);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t h = ports[i]->id & mask;

		while (map[h])
			h = (h + 1) & mask;
		map[h] = ports[i];
	}
	return t;
}

vmm__sw_port *vmm__sw_port_by_id(vmm_switch *sw, uint32_t id)
{
	vmm__ptable *t = atomic_load(&sw->ports);
	uint32_t mask;
	vmm__sw_port **map = id_map(t, &mask);

	for (uint32_t h = id & mask;; h = (h + 1) & mask) {
		if (!map[h])
			return NULL;
		if (map[h]->id == id)
			return map[h];
	}
}

static void table_swap(vmm_switch *sw, vmm__ptable *t)
{
	vmm__ptable *old = atomic_exchange(&sw->ports, t);

	vmm__rcu_sync(&sw->rcu);
	free(old);
}

int vmm__sw_table_add(vmm_switch *sw, vmm__sw_port *p)
{
	vmm__ptable *old = atomic_load(&sw->ports), *t;
	vmm__sw_port *ports[VMM_NET_MAX_PORTS];

	if (old->n >= VMM_NET_MAX_PORTS)
		return vmm__err(VMM_ENOMEM, "vmm_net_port_create: the switch has %u ports "
				"already", VMM_NET_MAX_PORTS);
	memcpy(ports, old->p, (size_t)old->n * sizeof(ports[0]));
	ports[old->n] = p;
	if (!(t = table_build(ports, old->n + 1)))
		return vmm__err(VMM_ENOMEM, "vmm_net_port_create: out of memory");
	atomic_store(&p->live, true);
	table_swap(sw, t);
	return 0;
}

void vmm__sw_table_del(vmm_switch *sw, vmm__sw_port *p)
{
	vmm__ptable *old = atomic_load(&sw->ports), *t;
	vmm__sw_port *ports[VMM_NET_MAX_PORTS];
	uint32_t n = 0;

	for (uint32_t i = 0; i < old->n; i++)
		if (old->p[i] != p)
			ports[n++] = old->p[i];
	atomic_store(&p->live, false);
	t = table_build(ports, n);
	if (!t) {                              /* keep the old table: p is not live */
		vmm__rcu_sync(&sw->rcu);
		return;
	}
	table_swap(sw, t);
}

void vmm__sw_unref(vmm_switch *sw)
{
	if (atomic_fetch_sub(&sw->refs, 1) != 1)
		return;
	free(atomic_load(&sw->ports));
	free(atomic_load(&sw->fwd));
	vmm__fdb_free(sw->fdb);
	pthread_mutex_destroy(&sw->ctl);
	free(sw);
}

static int check_config(const vmm_switch_config *c)
{
	if (!c || c->size < sizeof(*c) || c->flags)
		return vmm__err(VMM_EINVAL, "vmm_switch_create: config is NULL, too small or "
				"has unknown flags");
	if (c->mtu && (c->mtu < 68 || c->mtu > VMM_NET_MTU_MAX))
		return vmm__err(VMM_EINVAL, "vmm_switch_create: mtu %u is outside 68..%u",
				c->mtu, VMM_NET_MTU_MAX);
	if (c->fdb_size && (c->fdb_size < 64 || c->fdb_size > (1u << 20)))
		return vmm__err(VMM_EINVAL, "vmm_switch_create: fdb_size %u is outside "
				"64..1048576", c->fdb_size);
	return 0;
}

VMM_API int vmm_switch_create(const vmm_switch_config *c, vmm_switch **out)
{
	vmm_switch *sw;
	int rc;

	if (!out)
		return vmm__err(VMM_EINVAL, "vmm_switch_create: out is NULL");
	*out = NULL;
	if ((rc = check_config(c)))
		return rc;
	if (!(sw = calloc(1, sizeof(*sw))))
		return vmm__err(VMM_ENOMEM, "vmm_switch_create: out of memory");
	sw->fdb = vmm__fdb_new(c->fdb_size ? c->fdb_size : 4096);
	atomic_init(&sw->ports, table_build(NULL, 0));
	if (!sw->fdb || !atomic_load(&sw->ports)) {
		vmm__fdb_free(sw->fdb);
		free(atomic_load(&sw->ports));
		free(sw);
		return vmm__err(VMM_ENOMEM, "vmm_switch_create: out of memory");
	}
	pthread_mutex_init(&sw->ctl, NULL);
	atomic_init(&sw->refs, 1);
	sw->mtu = c->mtu ? c->mtu : 1500;
	sw->ageing_ns = (c->ageing_ms ? c->ageing_ms : 300000) * 1000000ull;
	sw->log = c->log;
	sw->log_opaque = c->log_opaque;
	sw->clock = c->clock;
	sw->clock_opaque = c->clock_opaque;
	sw->next_id = 1;
	*out = sw;
	return 0;
}

VMM_API void vmm_switch_destroy(vmm_switch *sw)
{
	if (!sw)
		return;
	vmm__cluster_leave_switch(sw);         /* joins its thread, drops its ports */
	for (;;) {
		vmm__ptable *t;
		vmm__sw_port *victim = NULL;

		pthread_mutex_lock(&sw->ctl);
		t = atomic_load(&sw->ports);
		if (t->n)
			victim = t->p[0];
		pthread_mutex_unlock(&sw->ctl);
		if (!victim)
			break;
		vmm_net_port_destroy(victim);
	}
	vmm__sw_unref(sw);
}

VMM_API int vmm_switch_stats_get(vmm_switch *sw, vmm_switch_stats *st)
{
	if (!sw || !st || st->size < sizeof(*st))
		return vmm__err(VMM_EINVAL, "vmm_switch_stats_get: switch or stats is NULL, or "
				"stats.size is too small");
	pthread_mutex_lock(&sw->ctl);
	*st = (vmm_switch_stats){
		.size = sizeof(*st), .ports = atomic_load(&sw->ports)->n,
		.frames = sw->frames, .flooded = sw->flooded, .learned = sw->learned,
		.fdb_full = sw->fdb_full, .plugin_disabled = sw->plugin_disabled,
	};
	pthread_mutex_unlock(&sw->ctl);
	return 0;
}

VMM_API int vmm_switch_fdb_lookup(vmm_switch *sw, const uint8_t mac[6], uint32_t vlan,
				  uint32_t *port_id)
{
	uint32_t id;

	if (!sw || !mac || !port_id || vlan < 1 || vlan > 4094)
		return vmm__err(VMM_EINVAL, "vmm_switch_fdb_lookup: switch, mac or port_id is "
				"NULL, or vlan %u is outside 1..4094", vlan);
	id = vmm__fdb_lookup(sw->fdb, vmm__mac_pack(mac), vlan, vmm__sw_now(sw), sw->ageing_ns);
	if (!id)
		return vmm__err(VMM_ENOENT, "vmm_switch_fdb_lookup: no entry for that MAC in "
				"VLAN %u", vlan);
	*port_id = id;
	return 0;
}

VMM_API int vmm_switch_set_forwarder(vmm_switch *sw, const vmm_net_forwarder *ops,
				     void *opaque)
{
	vmm__fwd *f = NULL, *old;

	if (!sw)
		return vmm__err(VMM_EINVAL, "vmm_switch_set_forwarder: switch is NULL");
	if (ops && (ops->version < 1 || !ops->forward))
		return vmm__err(VMM_EINVAL, "vmm_switch_set_forwarder: version %u is not %u or "
				"forward is NULL", ops->version, VMM_NET_FORWARDER_VERSION);
	if (ops && !(f = calloc(1, sizeof(*f))))
		return vmm__err(VMM_ENOMEM, "vmm_switch_set_forwarder: out of memory");
	if (f) {
		f->ops = *ops;
		f->ops.name = NULL;            /* not kept: the caller's string */
		snprintf(f->name, sizeof(f->name), "%s", ops->name ? ops->name : "forwarder");
		f->opaque = opaque;
	}
	pthread_mutex_lock(&sw->ctl);
	old = atomic_exchange(&sw->fwd, f);
	vmm__rcu_sync(&sw->rcu);
	pthread_mutex_unlock(&sw->ctl);
	free(old);
	return 0;
}
