/* vxlan_parse.c - the VXLAN header (RFC 7348 section 5) and the VLAN <->
 * VNI map. A datagram is flags (8 bits: I must be set; any other flag -
 * GPE's, GBP's - changes what follows, so it is not taken), 24 reserved
 * bits, the 24-bit VNI and 8 reserved bits (reserved fields are ignored
 * on receipt, as the RFC says), then the inner Ethernet frame, which must
 * be untagged (the RFC's SHOULD: a tagged inner frame is discarded). The
 * frame enters the switch tagged with the VNI's VLAN: the 12 address bytes
 * move 4 bytes back into the header, the tag fills the gap, nothing else
 * is copied. Pure functions: tests/fuzz/fuzz_vxlan.c runs them alone. */
#include <stdlib.h>
#include <string.h>

#include "lib/internal.h"
#include "lib/net/vxlan.h"

static int by_vni(const void *a, const void *b)
{
	const uint32_t *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

int vmm__vx_map_build(const char *fn, const vmm_net_vni *v, uint32_t n, vmm__vx_map **out)
{
	vmm__vx_map *m;

	if (n > 4094 || (n && !v))
		return vmm__err(VMM_EINVAL, "%s: %u VNIs (at most 4094), or the array is NULL",
				fn, n);
	if (!(m = calloc(1, sizeof(*m) + (size_t)n * sizeof(m->by_vni[0]))))
		return vmm__err(VMM_ENOMEM, "%s: out of memory", fn);
	for (uint32_t i = 0; i < n; i++) {
		if (v[i].vlan < 1 || v[i].vlan > 4094 || v[i].vni < 1 || v[i].vni > VX_VNI_MAX ||
		    m->vni_of[v[i].vlan]) {
			free(m);
			return vmm__err(VMM_EINVAL, "%s: VNI entry %u: VLAN %u outside 1..4094 or "
					"mapped twice, or VNI %u outside 1..%u", fn, i, v[i].vlan,
					v[i].vni, VX_VNI_MAX);
		}
		m->vni_of[v[i].vlan] = v[i].vni;
		m->by_vni[i].vni = v[i].vni;
		m->by_vni[i].vlan = v[i].vlan;
	}
	m->n = n;
	qsort(m->by_vni, n, sizeof(m->by_vni[0]), by_vni);
	for (uint32_t i = 1; i < n; i++)
		if (m->by_vni[i].vni == m->by_vni[i - 1].vni) {
			int rc = vmm__err(VMM_EINVAL, "%s: VNI %u is mapped to VLANs %u and %u", fn,
					  m->by_vni[i].vni, m->by_vni[i - 1].vlan,
					  m->by_vni[i].vlan);

			free(m);
			return rc;
		}
	*out = m;
	return 0;
}

uint32_t vmm__vx_vlan_of(const vmm__vx_map *m, uint32_t vni)
{
	uint32_t lo = 0, hi = m->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (m->by_vni[mid].vni == vni)
			return m->by_vni[mid].vlan;
		if (m->by_vni[mid].vni < vni)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

int vmm__vx_decap(const vmm__vx_map *m, uint8_t *buf, size_t len, uint8_t **frame,
		  size_t *flen, uint32_t *vlan)
{
	uint32_t vni, vid;
	uint16_t type;

	if (len < VX_HDR + 14)
		return VX_SHORT;
	if (buf[0] != VX_FLAG_I)
		return VX_FLAGS;
	vni = (uint32_t)buf[4] << 16 | (uint32_t)buf[5] << 8 | buf[6];
	if (!(vid = vmm__vx_vlan_of(m, vni)))
		return VX_UNKNOWN_VNI;
	type = (uint16_t)(buf[VX_HDR + 12] << 8 | buf[VX_HDR + 13]);
	if (type == 0x8100 || type == 0x88a8 || type == 0x9100)
		return VX_INNER_TAGGED;
	memmove(buf + 4, buf + VX_HDR, 12);
	buf[16] = 0x81;
	buf[17] = 0x00;
	buf[18] = (uint8_t)(vid >> 8);
	buf[19] = (uint8_t)vid;
	*frame = buf + 4;
	*flen = len - 4;
	*vlan = vid;
	return VX_OK;
}

void vmm__vx_header(uint8_t hdr[VX_HDR], uint32_t vni)
{
	hdr[0] = VX_FLAG_I;
	hdr[1] = hdr[2] = hdr[3] = 0;
	hdr[4] = (uint8_t)(vni >> 16);
	hdr[5] = (uint8_t)(vni >> 8);
	hdr[6] = (uint8_t)vni;
	hdr[7] = 0;
}
