/* mirror.c - port mirroring as the last filter of a direction: a copy of
 * each frame that got that far goes straight to the mirror port's
 * endpoint (tagged if it is a trunk and the VLAN is not its native one),
 * past the mirror port's own policies. */
#include <string.h>

#include "lib/net/net.h"

int32_t vmm__mirror(void *opaque, vmm_net_port *port, vmm_net_frame *f)
{
	vmm__sw_port *p = opaque;
	const vmm__policy *pol = atomic_load(&p->policy);
	vmm__sw_port *m = pol->p.mirror_port ? vmm__sw_port_by_id(p->sw, pol->p.mirror_port) : NULL;
	uint8_t *copy;

	if (!m || m == p || !(pol->p.mirror_dirs & (1u << f->dir)) || !(copy = vmm__fwd_scratch()))
		return VMM_NET_PASS;
	memcpy(copy, f->data, f->len);
	atomic_fetch_add_explicit(&p->mirrored, 1, memory_order_relaxed);
	vmm__fwd_to_endpoint(m, copy, f->len, f->vlan, f->pcp);
	return VMM_NET_PASS;
}
