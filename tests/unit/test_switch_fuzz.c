/* test_switch_fuzz.c - random and malformed frames through every policy
 * of the switch at once (run it under ASan: make SAN=1 B=build-san):
 * ports with each policy (security rejects, anti-spoofing, firewall,
 * shaping both ways, mirroring), access and trunk VLANs, a filter that
 * rewrites frames within bounds, a forwarding plugin; frames built
 * well-formed (Ethernet, 802.1Q, ARP, IPv4 TCP/UDP/ICMP) and then bytes
 * flipped, lengths cut or lied about. Two threads send while a third
 * keeps changing policies and destroying and creating receiving ports.
 * Afterwards every sending port's drop reasons add up to its drop counts. EMU-style seed: SWITCH_FUZZ_SEED, SWITCH_FUZZ_FRAMES. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "switch_fixture.h"

#define NPORTS 8
#define NSEND 5

static vmm_net_port *ports[NPORTS];
static sink sinks[NPORTS];
static atomic_int stop;
static uint64_t frames_per_thread = 300000;

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static const uint8_t *macs[] = { MAC1, MAC2, MAC3, MAC4, MACX, BCAST };

static size_t build(uint8_t *f, uint64_t *s)
{
	const uint8_t *dst = macs[rnd(s) % 6], *src = macs[rnd(s) % 5];
	uint32_t a = IP(10, 0, 0, rnd(s) % 4), b = IP(10, 0, 0, rnd(s) % 4);
	uint16_t sp = (uint16_t)(rnd(s) % 3 + 79), dp = (uint16_t)(rnd(s) % 3 + 79);
	size_t n;

	switch (rnd(s) % 6) {
	case 0:
		n = arp(f, (uint16_t)(rnd(s) % 2 + 1), src, a, dst, b);
		break;
	case 1:
		n = udp(f, dst, src, a, sp, b, dp, rnd(s) % 200);
		break;
	case 2:
		n = tcp(f, dst, src, a, sp, b, dp, (uint8_t)rnd(s));
		break;
	case 3:
		n = icmp_echo(f, dst, src, a, b, rnd(s) % 2 ? 8 : 0, (uint16_t)rnd(s));
		break;
	case 4:
		n = eth(f, dst, src, (uint16_t)rnd(s), rnd(s) % 1400);
		break;
	default:
		n = eth(f, dst, src, 0x86dd, rnd(s) % 100);
		break;
	}
	if (rnd(s) % 3 == 0)
		n = tag(f, n, (uint16_t)(rnd(s) % 4 == 0 ? rnd(s) : rnd(s) % 4 + 1), (uint8_t)(rnd(s) & 7));
	return n;
}

static size_t mangle(uint8_t *f, size_t n, uint64_t *s)
{
	switch (rnd(s) % 5) {
	case 0:                                        /* flip a few bytes */
		for (int i = rnd(s) % 4; i >= 0; i--)
			f[rnd(s) % n] ^= (uint8_t)rnd(s);
		break;
	case 1:                                        /* cut it */
		n = rnd(s) % (n + 1);
		break;
	case 2:                                        /* lie in the IPv4 header */
		if (n > 20)
			f[14 + rnd(s) % 6] = (uint8_t)rnd(s);
		break;
	case 3:                                        /* grow it with junk */
		for (size_t k = rnd(s) % 200; k && n < 1700; k--)
			f[n++] = (uint8_t)rnd(s);
		break;
	default:
		break;
	}
	return n;
}

/* Senders use ports 0..NSEND-1; the others are destroyed and created
 * again while frames flow to them (grace periods under ASan). */
static void *sender(void *arg)
{
	uint64_t s = (uint64_t)(uintptr_t)arg;
	uint8_t f[1800];

	for (uint64_t i = 0; i < frames_per_thread && !atomic_load(&stop); i++) {
		size_t n = build(f, &s);

		n = mangle(f, n, &s);
		vmm_net_port_send(ports[rnd(&s) % NSEND], f, n);
	}
	return NULL;
}

static int32_t rewrite(void *opaque, vmm_net_port *port, vmm_net_frame *f)
{
	uint64_t *s = opaque;
	uint64_t r = __atomic_add_fetch(s, 0x9e3779b97f4a7c15ull, __ATOMIC_RELAXED);

	switch (r >> 60) {
	case 0:
		f->data[r % f->len] ^= 0x55;
		return VMM_NET_MODIFY;
	case 1:
		if (f->len > 20)
			f->len -= (uint32_t)(r % 6);
		return VMM_NET_MODIFY;
	case 2:
		return VMM_NET_DROP;
	default:
		return VMM_NET_PASS;
	}
}

static int32_t spread(void *opaque, vmm_switch *sw, vmm_net_port *from,
		      const vmm_net_frame *f, uint32_t *out, uint32_t max)
{
	const uint32_t *ids = opaque;              /* the senders': stable */

	if (f->data[5] & 1)
		return VMM_NET_FWD_BUILTIN;
	out[0] = ids[f->data[5] % NSEND];
	out[1] = ids[(f->data[4] + 1) % NSEND];
	return 2;
}

static void random_policy(vmm_net_policy *p, vmm_net_fw_rule *rules, uint64_t *s)
{
	static const uint32_t bound[] = { IP(10, 0, 0, 1), IP(10, 0, 0, 2) };

	*p = (vmm_net_policy)VMM_NET_POLICY_INIT;
	p->flags = (uint32_t)rnd(s) & 0x1f;
	p->ipv4 = bound;
	p->nipv4 = (uint32_t)(rnd(s) % 3);
	for (int i = 0; i < 4; i++)
		rules[i] = (vmm_net_fw_rule){ (uint32_t)(rnd(s) & 1), (uint32_t)(rnd(s) % 3 + 1),
					      (uint32_t)(rnd(s) % 2 ? 6 : 17),
					      IP(10, 0, 0, rnd(s) % 4), (uint32_t)rnd(s),
					      0, 0, 0, 0, 79, (uint16_t)(79 + rnd(s) % 3) };
	p->rules = rules;
	p->nrules = (uint32_t)(rnd(s) % 5);
	p->fw_default = (uint32_t)(rnd(s) & 1);
	p->fw_max_conns = 64;
	if (rnd(s) & 1)
		p->shape_in = (vmm_net_shaping){ rnd(s) % 100000000 + 1, rnd(s) % 200000000,
						 rnd(s) % 100000 };
	if (rnd(s) & 1)
		p->shape_out = (vmm_net_shaping){ rnd(s) % 100000000 + 1, 0, 0 };
	p->mirror_port = (uint32_t)(rnd(s) % (NPORTS + 2));
	p->mirror_dirs = (uint32_t)(rnd(s) & 3);
}

static void test_fuzz(void **state)
{
	static const uint16_t trunk[] = { 1, 2, 3 };
	const char *seed_env = getenv("SWITCH_FUZZ_SEED"), *n_env = getenv("SWITCH_FUZZ_FRAMES");
	uint64_t seed = seed_env ? strtoull(seed_env, NULL, 0) : 0x5eed5eedull, s;
	vmm_net_filter rw = { VMM_NET_FILTER_VERSION, 0, "rewrite", rewrite, NULL };
	vmm_net_forwarder fw = { VMM_NET_FORWARDER_VERSION, 0, "spread", spread };
	vmm_switch *sw = make_switch(0, false);
	uint32_t sender_ids[NSEND];
	uint64_t filter_state = seed, total_in = 0, total_out = 0, by[VMM_NET_DROP_REASONS] = { 0 };
	pthread_t t[2];
	uint32_t id;

	if (n_env)
		frames_per_thread = strtoull(n_env, NULL, 0);
	s = seed | 1;
	print_message("seed 0x%llx, %llu frames per sender\n", (unsigned long long)seed,
		      (unsigned long long)frames_per_thread);
	for (int i = 0; i < NPORTS; i++) {
		vmm_net_policy pol;
		vmm_net_fw_rule rules[4];

		random_policy(&pol, rules, &s);
		pol.mirror_port = 0;
		assert_non_null(ports[i] = make_port(sw, &sinks[i], i % 2 ? macs[i % 4] : NULL,
						     i % 3 == 2 ? 1 : (uint32_t)(i % 3 + 1),
						     i % 3 == 2 ? trunk : NULL, 3, &pol));
	}
	assert_int_equal(vmm_net_filter_add(ports[3], 3, &rw, &filter_state, &id), 0);
	for (int i = 0; i < NSEND; i++)
		sender_ids[i] = vmm_net_port_id(ports[i]);
	atomic_store(&stop, 0);
	pthread_create(&t[0], NULL, sender, (void *)(uintptr_t)(seed * 3 + 1));
	pthread_create(&t[1], NULL, sender, (void *)(uintptr_t)(seed * 7 + 5));
	for (int round = 0; round < 300; round++) {
		vmm_net_policy pol;
		vmm_net_fw_rule rules[4];
		int i = (int)(rnd(&s) % NPORTS);

		random_policy(&pol, rules, &s);
		if (pol.mirror_port == vmm_net_port_id(ports[i]))
			pol.mirror_port = 0;
		assert_int_equal(vmm_net_port_set_policy(ports[i], &pol), 0);
		vmm_net_port_set_mac(ports[i], macs[rnd(&s) % 5]);
		if (round % 50 == 0)
			vmm_switch_set_forwarder(sw, round % 100 ? &fw : NULL, sender_ids);
		if (round % 3 == 0) {                   /* churn a receiving port */
			int k = NSEND + (int)(rnd(&s) % (NPORTS - NSEND));

			vmm_net_port_destroy(ports[k]);
			assert_non_null(ports[k] = make_port(sw, &sinks[k], macs[k % 4], 1, NULL, 0,
							     &pol));
		}
	}
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	for (int i = 0; i < NSEND; i++) {
		vmm_net_port_stats st = stats(ports[i]);
		uint64_t sum = 0;

		for (int r = 0; r < VMM_NET_DROP_REASONS; r++)
			sum += st.drops[r];
		assert_int_equal(sum, st.in_dropped + st.out_dropped);
		assert_true(st.in_dropped <= st.in_frames);
		total_in += st.in_frames;
		total_out += st.out_frames;
		for (int r = 0; r < VMM_NET_DROP_REASONS; r++)
			by[r] += st.drops[r];
	}
	print_message("%llu frames in, %llu delivered; dropped:", (unsigned long long)total_in,
		      (unsigned long long)total_out);
	for (int r = 0; r < VMM_NET_DROP_REASONS; r++)
		if (by[r])
			print_message(" %s %llu", vmm_net_drop_name((uint32_t)r),
				      (unsigned long long)by[r]);
	print_message("\n");
	assert_int_equal(total_in, 2 * frames_per_thread);
	vmm_switch_destroy(sw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fuzz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
