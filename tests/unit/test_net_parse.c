/* test_net_parse.c - the switch's shared frame parse (lib/net/parse.c:
 * vmm__frame_ip4, parsed once per frame for every built-in policy) gives
 * exactly what parsing the frame each time gives (vmm__parse_ip4, with
 * and without L4), for well-formed UDP, TCP and ICMP frames and for
 * every truncation and many random corruptions of their headers; and it
 * is parsed once: a cached result stays until it is invalidated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/net/net.h"
#include "switch_fixture.h"

static const uint8_t M1[6] = { 0x02, 0, 0, 0, 0, 1 }, M2[6] = { 0x02, 0, 0, 0, 0, 2 };

static void same(const uint8_t *f, size_t len)
{
	for (int want_l4 = 0; want_l4 < 2; want_l4++) {
		vmm__frame fr = { .f = { .size = sizeof(fr.f), .data = (uint8_t *)f,
					 .len = (uint32_t)len } };
		const vmm__ip4 *ip;
		vmm__ip4 ref;
		int r = vmm__parse_ip4(f, len, want_l4, &ref);

		assert_int_equal(vmm__frame_ip4(&fr, want_l4, &ip), r);
		assert_int_equal(vmm__frame_ip4(&fr, !want_l4, &ip),
				 vmm__parse_ip4(f, len, !want_l4, &(vmm__ip4){ 0 }));
		if (r <= 0)
			continue;
		assert_int_equal(ip->src, ref.src);
		assert_int_equal(ip->dst, ref.dst);
		assert_int_equal(ip->proto, ref.proto);
		assert_int_equal(ip->fragment, ref.fragment);
		if (want_l4 && ref.l4) {
			assert_true(ip->l4);
			assert_int_equal(ip->sport, ref.sport);
			assert_int_equal(ip->dport, ref.dport);
			assert_int_equal(ip->tcp_flags, ref.tcp_flags);
			assert_int_equal(ip->icmp_type, ref.icmp_type);
		}
	}
}

static void test_parse_matches(void **state)
{
	uint8_t base[3][256], f[256];
	size_t n[3];

	n[0] = udp(base[0], M2, M1, IP(10, 0, 0, 1), 5000, IP(10, 0, 0, 2), 53, 20);
	n[1] = tcp(base[1], M2, M1, IP(10, 0, 0, 1), 40000, IP(10, 0, 0, 2), 80, SYN);
	n[2] = icmp_echo(base[2], M2, M1, IP(10, 0, 0, 1), IP(10, 0, 0, 2), 8, 7);
	srand(1);
	for (int k = 0; k < 3; k++) {
		for (size_t len = 0; len <= n[k]; len++)      /* every truncation */
			same(base[k], len);
		for (int i = 0; i < 20000; i++) {             /* header bytes corrupted */
			memcpy(f, base[k], n[k]);
			for (int j = 0; j < 1 + rand() % 3; j++)
				f[12 + rand() % 50] = (uint8_t)rand();
			same(f, n[k] - (size_t)(rand() % 4 == 0 ? rand() % 20 : 0));
		}
	}
}

/* Parsed once: a later change of the bytes is not seen until the parse is
 * forgotten (what the chain does after an embedder's filter). */
static void test_parse_once(void **state)
{
	uint8_t f[256];
	size_t n = udp(f, M2, M1, IP(10, 0, 0, 1), 5000, IP(10, 0, 0, 2), 53, 20);
	vmm__frame fr = { .f = { .size = sizeof(fr.f), .data = f, .len = (uint32_t)n } };
	const vmm__ip4 *ip;

	assert_int_equal(vmm__frame_ip4(&fr, true, &ip), 1);
	assert_int_equal(ip->dport, 53);
	f[37] = 54;
	assert_int_equal(vmm__frame_ip4(&fr, true, &ip), 1);
	assert_int_equal(ip->dport, 53);
	fr.parsed = false;
	assert_int_equal(vmm__frame_ip4(&fr, true, &ip), 1);
	assert_int_equal(ip->dport, 54);
	f[14] = 0x65;                                         /* version 6: malformed */
	fr.parsed = false;
	assert_int_equal(vmm__frame_ip4(&fr, false, &ip), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_matches),
		cmocka_unit_test(test_parse_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
