/* fuzz_vxlan.c - libFuzzer target for the VXLAN uplink's datagram parser
 * and VLAN <-> VNI map (lib/net/vxlan_parse.c; make fuzz). The first byte
 * picks the map: even, a fixed one (VLAN 1 -> VNI 1, 10 -> 100, 20 ->
 * 2^24-1, 4094 -> 5000); odd, up to 16 (VLAN, VNI) pairs read from the
 * input after it, which the builder must accept or refuse cleanly. The
 * rest is a received UDP payload. Checked on every input: a verdict is one
 * of the known ones; a datagram taken becomes exactly the inner frame with
 * a tag of the VNI's VLAN in front of its EtherType, inside the buffer;
 * the map's lookup agrees with a linear scan. Any crash or sanitizer
 * report is a bug. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/net/vxlan.h"

static uint32_t rd(const uint8_t *p, int n)
{
	uint32_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static uint32_t scan(const vmm_net_vni *v, uint32_t n, uint32_t vni)
{
	for (uint32_t i = 0; i < n; i++)
		if (v[i].vni == vni)
			return v[i].vlan;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const vmm_net_vni fixed[] = { { 1, 1 }, { 10, 100 }, { 20, 0xffffff }, { 4094, 5000 } };
	vmm_net_vni pairs[16];
	const vmm_net_vni *v = fixed;
	uint32_t n = 4;
	vmm__vx_map *m;
	uint8_t *buf, *frame = NULL, before[12];
	size_t len, flen = 0;
	uint32_t vlan = 0, vni;
	int r;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		n = (data[0] >> 1) % 17;
		if (size < 1 + 5 * (size_t)n)
			return 0;
		for (uint32_t i = 0; i < n; i++) {
			pairs[i].vlan = rd(data + 1 + 5 * i, 2) & 0x1fff;
			pairs[i].vni = rd(data + 3 + 5 * i, 3) | (data[3 + 5 * i] & 0x80 ? 1u << 24 : 0);
		}
		v = pairs;
		data += 5 * n;
		size -= 5 * n;
	}
	data++;
	size--;
	if (vmm__vx_map_build("fuzz", v, n, &m) != 0)
		return 0;
	for (uint32_t i = 0; i < n; i++)
		if (vmm__vx_vlan_of(m, v[i].vni) != v[i].vlan || m->vni_of[v[i].vlan] != v[i].vni)
			abort();
	len = size;
	buf = malloc(len ? len : 1);
	memcpy(buf, data, len);
	if (len >= 20)
		memcpy(before, buf + 8, 12);
	r = vmm__vx_decap(m, buf, len, &frame, &flen, &vlan);
	if (r < VX_OK || r > VX_INNER_TAGGED)
		abort();
	if (r == VX_OK) {
		vni = rd(data + 4, 3);
		if (len < 22 || data[0] != 0x08 || frame != buf + 4 || flen != len - 4 ||
		    vlan != scan(v, n, vni) || !vlan || memcmp(frame, before, 12) ||
		    rd(frame + 12, 2) != 0x8100 || rd(frame + 14, 2) != vlan ||
		    memcmp(frame + 16, data + 20, len - 20))
			abort();
	} else if (r == VX_UNKNOWN_VNI && scan(v, n, rd(data + 4, 3))) {
		abort();
	}
	free(buf);
	free(m);
	return 0;
}
