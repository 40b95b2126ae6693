/* vxlan.h - the VXLAN uplink's internals: the VLAN <-> VNI map and the
 * datagram parser (vxlan_parse.c, also built alone by the fuzz target),
 * the uplink itself (vxlan.c). */
#ifndef VMM_NET_VXLAN_H
#define VMM_NET_VXLAN_H

#include <stddef.h>
#include <stdint.h>

#include "vmm.h"

#define VX_HDR 8u                      /* the VXLAN header */
#define VX_FLAG_I 0x08u
#define VX_PORT 4789u
#define VX_VNI_MAX 0xffffffu

/* VLAN -> VNI and back, replaced whole (readers under the switch's rcu). */
typedef struct vmm__vx_map {
	uint32_t n;
	uint32_t vni_of[4096];             /* by VLAN; 0: not carried */
	struct { uint32_t vni, vlan; } by_vni[];   /* n, sorted by vni */
} vmm__vx_map;

enum {                                 /* vmm__vx_decap's verdicts */
	VX_OK = 0,
	VX_SHORT,                          /* under VX_HDR + 14 bytes */
	VX_FLAGS,                          /* the I flag alone is not set */
	VX_UNKNOWN_VNI,
	VX_INNER_TAGGED
};

/* A map from n pairs: 0, or VMM_EINVAL for a VLAN outside 1..4094, a VNI
 * outside 1..2^24-1 or one of them twice (VMM_ENOMEM). */
int vmm__vx_map_build(const char *fn, const vmm_net_vni *v, uint32_t n, vmm__vx_map **out);
/* The VLAN of a VNI, 0 if not mapped. */
uint32_t vmm__vx_vlan_of(const vmm__vx_map *m, uint32_t vni);
/* Checks a received UDP payload buf[0..len) and rewrites it in place into
 * the inner frame with an 802.1Q tag of its VLAN (starting at buf + 4,
 * len - 4 bytes). VX_OK or the reason it is dropped. */
int vmm__vx_decap(const vmm__vx_map *m, uint8_t *buf, size_t len, uint8_t **frame,
		  size_t *flen, uint32_t *vlan);
/* The 8-byte VXLAN header of a VNI. */
void vmm__vx_header(uint8_t hdr[VX_HDR], uint32_t vni);

#endif /* VMM_NET_VXLAN_H */
