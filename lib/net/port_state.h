/* port_state.h - a port's state as it follows its VM to another host
 * (vmm_net_port_state_export / _import, port_state.c): its policy,
 * counters and the firewall's tracked connections, as JSON (docs/net.md);
 * the parser (port_state_parse.c) needs nothing of the switch, so the
 * fuzzer links it alone. */
#ifndef VMM_NET_PORT_STATE_H
#define VMM_NET_PORT_STATE_H

#include <stdint.h>

#include "lib/net/cluster.h"

#define PSTATE_CONNS_MAX (1u << 20)
#define PSTATE_COUNTERS 8              /* in/out frames and bytes, in/out dropped, mirrored, queued */

/* A tracked connection as it moves with its port. */
typedef struct vmm__fw_entry {
	uint32_t a, b;                     /* original source, destination (host order) */
	uint16_t ap, bp;
	uint8_t proto, dir, replied;       /* dir: 0 in, 1 out (the direction it started in) */
	uint64_t ttl_ns;                   /* time left */
} vmm__fw_entry;

typedef struct vmm__fw vmm__fw;
uint32_t vmm__fw_snapshot(vmm__fw *fw, uint64_t now, vmm__fw_entry *out, uint32_t max);
int vmm__fw_restore(vmm__fw *fw, const vmm__fw_entry *e, uint64_t now);

typedef struct vmm__pstate {
	vmm__cl_group g;                   /* g.pol: the policy */
	uint64_t ctr[PSTATE_COUNTERS];
	uint64_t drops[VMM_NET_DROP_REASONS];
	vmm__fw_entry *conns;
	uint32_t nconns;
} vmm__pstate;

/* 0, or -1 with the reason in err (CL_ERR bytes). */
int vmm__pstate_parse(const char *json, vmm__pstate *s, char *err);
void vmm__pstate_free(vmm__pstate *s);

#endif /* VMM_NET_PORT_STATE_H */
