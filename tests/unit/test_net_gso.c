/* test_net_gso.c - TCP segmentation in software (lib/virtio/net_gso.c):
 * TSO frames over IPv4 (with a VLAN tag) and IPv6 cut into gso_size
 * segments whose lengths, IPv4 ids and header checksums, sequence numbers,
 * flags and completed TCP checksums are checked byte by byte against the
 * original payload; frames that are not what their header says refused;
 * random frames under ASan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/virtio/netdev.h"

#define HDR VMM__NET_HDR

typedef struct seen {
	unsigned n;
	uint8_t frame[64][2048];
	size_t len[64];
} seen;

static seen got;

static int keep(void *opaque, uint8_t *seg, size_t len)
{
	seen *s = opaque;

	assert_true(s->n < 64 && len <= sizeof(s->frame[0]));
	memcpy(s->frame[s->n], seg, len);
	s->len[s->n++] = len;
	return 1;
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | (i + 1 < n ? p[i + 1] : 0));
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)be16(p) << 16 | be16(p + 2);
}

/* A TSO frame: Ethernet (+ VLAN), IPv4 or IPv6, TCP with flags, payload
 * bytes i * 7 + 3; returns its length with the virtio header. */
static size_t tso(uint8_t *pkt, bool v6, bool vlan, size_t payload, uint16_t mss,
		  uint8_t flags)
{
	uint8_t *f = pkt + HDR, *ip;
	size_t l3 = vlan ? 18 : 14, l4 = l3 + (v6 ? 40 : 20), p = l4 + 20;

	memset(pkt, 0, p + HDR);
	memset(f, 0xaa, 12);
	if (vlan)
		f[12] = 0x81, f[13] = 0x00, f[15] = 7;
	f[l3 - 2] = v6 ? 0x86 : 0x08, f[l3 - 1] = v6 ? 0xdd : 0x00;
	ip = f + l3;
	if (v6) {
		ip[0] = 0x60, ip[6] = 6, ip[7] = 64;
		for (int i = 0; i < 32; i++)
			ip[8 + i] = (uint8_t)(i + 1);
	} else {
		ip[0] = 0x45, ip[4] = 0x12, ip[5] = 0x34, ip[8] = 64, ip[9] = 6;
		ip[12] = 10, ip[15] = 1, ip[16] = 10, ip[19] = 2;
	}
	f[l4] = 0x9c, f[l4 + 1] = 0x40, f[l4 + 3] = 80;
	f[l4 + 4] = 0xff, f[l4 + 5] = 0xff, f[l4 + 6] = 0xff, f[l4 + 7] = 0x00;  /* wraps */
	f[l4 + 12] = 5 << 4, f[l4 + 13] = flags;
	for (size_t i = 0; i < payload; i++)
		f[p + i] = (uint8_t)(i * 7 + 3);
	pkt[0] = VMM__NET_HDR_F_NEEDS_CSUM;
	pkt[1] = v6 ? VMM__NET_GSO_TCPV6 : VMM__NET_GSO_TCPV4;
	pkt[4] = (uint8_t)mss, pkt[5] = (uint8_t)(mss >> 8);
	pkt[6] = (uint8_t)l4;
	pkt[8] = 16;
	return HDR + p + payload;
}

/* Segment i of a frame made by tso(): every field, and the checksums once
 * the receive path completes the partial one. */
static void check_segment(unsigned i, unsigned n, bool v6, bool vlan, size_t payload,
			  uint16_t mss, uint8_t flags)
{
	uint8_t *s = got.frame[i], *f = s + HDR, *ip;
	size_t l3 = vlan ? 18 : 14, l4 = l3 + (v6 ? 40 : 20), p = l4 + 20;
	size_t chunk = i + 1 < n ? mss : payload - (size_t)i * mss;
	uint16_t tcp_len = (uint16_t)(20 + chunk);
	uint32_t pseudo;

	ip = f + l3;
	assert_int_equal(got.len[i], HDR + p + chunk);
	assert_int_equal(s[0], VMM__NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(s[1], 0);                                   /* no GSO left */
	assert_int_equal(s[6] | s[7] << 8, l4);
	assert_int_equal(s[8] | s[9] << 8, 16);
	if (v6) {
		assert_int_equal(be16(ip + 4), tcp_len);
		pseudo = sum16(ip + 8, 32, 6u + tcp_len);
	} else {
		assert_int_equal(be16(ip + 2), 20 + tcp_len);
		assert_int_equal(be16(ip + 4), 0x1234 + i);
		assert_int_equal(fold(sum16(ip, 20, 0)), 0xffff);      /* header checksum */
		pseudo = sum16(ip + 12, 8, 6u + tcp_len);
	}
	assert_int_equal(be32(f + l4 + 4), 0xffffff00u + i * mss);
	assert_int_equal(f[l4 + 13], (uint8_t)(flags & ~((i + 1 < n ? 0x09 : 0) |
							 (i ? 0x80 : 0))));
	assert_int_equal(be16(f + l4 + 16), fold(pseudo));           /* partial */
	for (size_t k = 0; k < chunk; k++)
		assert_int_equal(f[p + k], (uint8_t)(((size_t)i * mss + k) * 7 + 3));
	/* Completed as the receive path does (the sum over the segment from
	 * csum_start), it is the TCP checksum of the segment. */
	{
		uint8_t c[2048];
		uint16_t done = (uint16_t)~fold(sum16(f + l4, 20 + chunk, 0));

		memcpy(c, f + l4, 20 + chunk);
		c[16] = c[17] = 0;
		assert_int_equal(done, (uint16_t)~fold(sum16(c, 20 + chunk, 0) + pseudo));
	}
}

static void run(bool v6, bool vlan, size_t payload, uint16_t mss, uint8_t flags)
{
	static uint8_t pkt[HDR + 65536], seg[HDR + 65536];
	size_t len = tso(pkt, v6, vlan, payload, mss, flags);
	unsigned n = (unsigned)((payload + mss - 1) / mss);

	memset(&got, 0, sizeof(got));
	assert_int_equal(vmm__net_gso_segment(pkt, len, seg, keep, &got), 1);
	assert_int_equal(got.n, n);
	for (unsigned i = 0; i < n; i++)
		check_segment(i, n, v6, vlan, payload, mss, flags);
}

static void test_ipv4(void **state)
{
	run(false, false, 3000, 1000, 0x18);                 /* PSH ACK */
	run(false, false, 2500, 1448, 0x19 | 0x80);          /* FIN PSH ACK CWR, odd end */
	run(false, true, 1000, 1460, 0x10);                  /* VLAN, one segment */
}

static void test_ipv6(void **state)
{
	run(true, false, 4000, 1220, 0x18);
	run(true, true, 1221, 1220, 0x11);
}

static void test_refused(void **state)
{
	static uint8_t pkt[HDR + 65536], seg[HDR + 65536];
	size_t len;

	memset(&got, 0, sizeof(got));
	len = tso(pkt, false, false, 3000, 1000, 0x18);
	pkt[HDR + 14 + 9] = 17;                              /* UDP, not TCP */
	assert_int_equal(vmm__net_gso_segment(pkt, len, seg, keep, &got), -2);
	len = tso(pkt, false, false, 3000, 1000, 0x18);
	pkt[1] = VMM__NET_GSO_TCPV6;                         /* the header lies */
	assert_int_equal(vmm__net_gso_segment(pkt, len, seg, keep, &got), -2);
	len = tso(pkt, false, false, 3000, 0, 0x18);         /* gso_size 0 */
	assert_int_equal(vmm__net_gso_segment(pkt, len, seg, keep, &got), -2);
	len = tso(pkt, false, false, 60000, 8, 0x18);        /* 7500 segments */
	assert_int_equal(vmm__net_gso_segment(pkt, len, seg, keep, &got), -2);
	len = tso(pkt, false, false, 3000, 1000, 0x18);
	pkt[HDR + 34 + 12] = 15 << 4;                        /* TCP header past the end */
	assert_int_equal(vmm__net_gso_segment(pkt, HDR + 34 + 40, seg, keep, &got), -2);
	assert_int_equal(vmm__net_gso_segment(pkt, HDR + 20, seg, keep, &got), -2);
	assert_int_equal(got.n, 0);
}

static int drop_all(void *opaque, uint8_t *seg, size_t len)
{
	assert_true(len >= HDR && len <= HDR + 65536);
	return 0;
}

/* Random frames with a TSO header: refused or cut, never a bad access. */
static void test_random(void **state)
{
	static uint8_t pkt[HDR + 65536], seg[HDR + 65536];
	unsigned seed = 7;

	for (int r = 0; r < 3000; r++) {
		size_t len = tso(pkt, r & 1, r & 2, (size_t)(rand_r(&seed) % 1500), 0, 0x10);
		uint8_t *copy;
		int rc;

		len = HDR + (size_t)(rand_r(&seed) % (len - HDR + 8));   /* cut or padded */
		for (int k = 0; k < 6; k++)
			pkt[HDR + rand_r(&seed) % (len - HDR + 1)] = (uint8_t)rand_r(&seed);
		pkt[4] = (uint8_t)(rand_r(&seed) % 600 + 1);
		copy = malloc(len);                          /* ASan sees the real end */
		assert_non_null(copy);
		memcpy(copy, pkt, len);
		rc = vmm__net_gso_segment(copy, len, seg, drop_all, NULL);
		assert_true(rc == 0 || rc == -2);
		free(copy);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
