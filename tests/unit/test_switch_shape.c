/* test_switch_shape.c - the shaper with several threads sending at once:
 * senders share one fake clock, each moving it on by the gap of one
 * frame before sending it, so together they offer a known multiple of
 * the shaped rate over a known interval of the switch's time, and the
 * bytes that arrive must be what the buckets allow: burst + rate * T,
 * within what the threads may hold in credit (white box: a thread's
 * batch is min(bucket / 32, 250 us of the rate), none with a peak
 * limit, so then it must be exact to a frame). Through a port's IN
 * shaper (threads sending on one port), through its OUT shaper (each
 * thread on its own port), with a peak limit, and across a policy
 * change between two phases. */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vmm.h"

#define LEN 1000u
#define MAXT 8
#define MAXPH 3

static _Atomic uint64_t clk;
static _Atomic uint64_t got_bytes;

static uint64_t clock_fn(void *opaque)
{
	return atomic_load(&clk);
}

static void rx(void *opaque, vmm_net_port *port, const void *frame, size_t len)
{
	if (opaque)                        /* the port measured */
		atomic_fetch_add(&got_bytes, len);
}

typedef struct run {
	vmm_net_port *from[MAXT];          /* thread i sends on from[i] */
	uint32_t n, phases;
	uint64_t gap;                      /* ns of the clock per frame, all threads */
	uint64_t quota[MAXPH];             /* frames each thread offers in a phase */
	uint64_t at[MAXPH];                /* where the clock stopped at its end */
	pthread_barrier_t bar;
} run;

typedef struct sender {
	run *r;
	uint32_t i;
	uint64_t first, last;              /* the clock at its first and last frame */
} sender;

static void *send_loop(void *arg)
{
	sender *s = arg;
	run *r = s->r;
	uint8_t f[LEN];

	memset(f, 0xff, 6);                /* broadcast, no source MAC check */
	memset(f + 6, 0, 6);
	f[6] = 0x02, f[11] = (uint8_t)(s->i + 1);
	f[12] = 0x88, f[13] = 0xb5;
	for (uint32_t i = 14; i < LEN; i++)
		f[i] = (uint8_t)i;
	pthread_barrier_wait(&r->bar);         /* all at once */
	s->first = atomic_load(&clk);
	for (uint32_t ph = 0; ph < r->phases; ph++) {
		for (uint64_t k = 1; k <= r->quota[ph]; k++) {
			s->last = atomic_fetch_add(&clk, r->gap);
			vmm_net_port_send(r->from[s->i], f, LEN);
			if (k % 64 == 0)
				sched_yield();         /* more threads than cores: take turns */
		}
		pthread_barrier_wait(&r->bar);     /* phase over: the main thread's turn */
		pthread_barrier_wait(&r->bar);
	}
	return NULL;
}

/* Runs the senders; between phases, policy[ph] goes to port `to` (NULL:
 * none). The bytes that arrived. */
static uint64_t run_senders(run *r, vmm_net_port *to, const vmm_net_policy *const *policy)
{
	pthread_t t[MAXT];
	sender s[MAXT];
	uint64_t lo = 0, hi = ~0ull;

	atomic_store(&got_bytes, 0);
	assert_int_equal(pthread_barrier_init(&r->bar, NULL, r->n + 1), 0);
	for (uint32_t i = 0; i < r->n; i++) {
		s[i] = (sender){ r, i, 0, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, send_loop, &s[i]), 0);
	}
	pthread_barrier_wait(&r->bar);
	for (uint32_t ph = 0; ph < r->phases; ph++) {
		pthread_barrier_wait(&r->bar);
		r->at[ph] = atomic_load(&clk);     /* still: the senders wait */
		if (ph + 1 < r->phases && policy && policy[ph])
			assert_int_equal(vmm_net_port_set_policy(to, policy[ph]), 0);
		pthread_barrier_wait(&r->bar);
	}
	for (uint32_t i = 0; i < r->n; i++) {
		pthread_join(t[i], NULL);
		lo = s[i].first > lo ? s[i].first : lo;
		hi = s[i].last < hi ? s[i].last : hi;
	}
	pthread_barrier_destroy(&r->bar);
	/* They did send side by side (most runs: over 80% of the clock; a
	 * loaded machine may start one late, so only a tenth is required). */
	print_message("%u threads sent side by side over %.0f%% of the interval\n", r->n,
		      hi > lo ? 100.0 * (hi - lo) / (r->at[r->phases - 1] - s[0].first) : 0.0);
	assert_true(hi > lo && (hi - lo) * 10 > r->at[r->phases - 1] - s[0].first);
	return atomic_load(&got_bytes);
}

static vmm_switch *sw_new(void)
{
	vmm_switch_config c = VMM_SWITCH_CONFIG_INIT;
	vmm_switch *sw = NULL;

	c.clock = clock_fn;
	atomic_store(&clk, 1000000000ull);
	assert_int_equal(vmm_switch_create(&c, &sw), 0);
	return sw;
}

/* A port without a MAC (it takes every broadcast); measured: its frames
 * are counted. */
static vmm_net_port *port_new(vmm_switch *sw, const vmm_net_policy *pol, bool measured)
{
	vmm_net_port_config c = VMM_NET_PORT_CONFIG_INIT;
	vmm_net_port *p = NULL;

	c.rx = rx;
	c.rx_opaque = measured ? &got_bytes : NULL;
	c.policy = pol;
	assert_int_equal(vmm_net_port_create(sw, &c, &p), 0);
	return p;
}

/* The bytes a bucket of avg bits/s holding burst allows over ns. */
static uint64_t allowed(uint64_t avg, uint64_t burst, uint64_t ns)
{
	return (burst > 1518 ? burst : 1518) + (uint64_t)((double)avg / 8 * ns / 1e9);
}

static uint64_t batch_of(uint64_t avg, uint64_t burst)
{
	uint64_t cap = burst > 1518 ? burst : 1518, b = cap / 32;

	return b < avg / 32000 ? b : avg / 32000;
}

static void check(const char *what, uint64_t got, uint64_t want, uint64_t under,
		  uint64_t over)
{
	print_message("%s: %llu bytes, the buckets allow %llu (%+.3f%%; bound -%llu +%llu)\n",
		      what, (unsigned long long)got, (unsigned long long)want,
		      100.0 * ((double)got / want - 1), (unsigned long long)under,
		      (unsigned long long)over);
	assert_true(got + under >= want);
	assert_true(got <= want + over);
}

/* n threads send on one port shaped IN at 1 Gbit/s with a 1 MB burst
 * (the credit path: 31250-byte batches), offering 2 Gbit/s for 2 s.
 * Nothing passes that the buckets did not give (the bucket starts full,
 * so no credit predates the interval); what threads hold at the end
 * never passes. */
static void in_threads(uint32_t n)
{
	const uint64_t avg = 1000000000, burst = 1000000, T = 2000000000ull;
	vmm_net_policy pol = VMM_NET_POLICY_INIT;
	vmm_switch *sw = sw_new();
	run r = { .n = n, .phases = 1, .gap = LEN * 8 * 1000000000ull / (2 * avg) };
	uint64_t t0 = atomic_load(&clk), got, slack = n * (batch_of(avg, burst) + LEN) + LEN;
	char what[64];

	pol.shape_in = (vmm_net_shaping){ avg, 0, burst };
	for (uint32_t i = 0; i < n; i++)
		r.from[i] = i ? r.from[0] : port_new(sw, &pol, false);
	port_new(sw, NULL, true);
	r.quota[0] = T / r.gap / n;
	got = run_senders(&r, NULL, NULL);
	snprintf(what, sizeof(what), "%u threads, IN, 1 Gbit/s", n);
	check(what, got, allowed(avg, burst, r.at[0] - t0), slack, LEN);
	vmm_switch_destroy(sw);
}

static void test_in_2_threads(void **state)
{
	in_threads(2);
}

static void test_in_4_threads(void **state)
{
	in_threads(4);
}

/* 3 threads, each on its own port, to one port shaped OUT at 1 Gbit/s,
 * peak 2, burst 1 MB (a peak limit: no credit, every frame takes from the
 * buckets, so it must be exact to a frame), offering 3 Gbit/s for 4 s. */
static void test_out_peak_threads(void **state)
{
	const uint64_t avg = 1000000000, burst = 1000000, T = 4000000000ull;
	vmm_net_policy pol = VMM_NET_POLICY_INIT;
	vmm_switch *sw = sw_new();
	run r = { .n = 3, .phases = 1, .gap = LEN * 8 * 1000000000ull / (3 * avg) };
	uint64_t t0 = atomic_load(&clk), got;
	vmm_net_port *to;

	pol.shape_out = (vmm_net_shaping){ avg, 2 * avg, burst };
	for (uint32_t i = 0; i < r.n; i++)
		r.from[i] = port_new(sw, NULL, false);
	to = port_new(sw, &pol, true);
	r.quota[0] = T / r.gap / r.n;
	got = run_senders(&r, to, NULL);
	check("3 threads, OUT, 1 Gbit/s peak 2", got, allowed(avg, burst, r.at[0] - t0),
	      2 * LEN, LEN);
	vmm_switch_destroy(sw);
}

/* 2 threads on one port shaped IN: 1 Gbit/s and 1 MB for 0.25 s, then
 * (changed between phases, the senders paused) 200 Mbit/s and 100 KB for
 * 0.5 s, then 2 Gbit/s with no burst for 0.25 s. The bucket is empty at
 * each change (offered twice the rate), so each phase adds its rate's
 * bytes (what it held, under a frame, carries over); each change may void
 * a batch per thread. */
static void test_in_policy_change(void **state)
{
	static const uint64_t avg[3] = { 1000000000, 200000000, 2000000000 };
	static const uint64_t burst[3] = { 1000000, 100000, 0 };
	static const uint64_t T[3] = { 250000000, 500000000, 250000000 };
	vmm_net_policy pol[3];
	const vmm_net_policy *next[3] = { &pol[1], &pol[2], NULL };
	vmm_switch *sw = sw_new();
	run r = { .n = 2, .phases = 3, .gap = LEN * 8 * 1000000000ull / (2 * avg[2]) };
	uint64_t t0 = atomic_load(&clk), got, want, slack = 0;
	vmm_net_port *a;

	for (int i = 0; i < 3; i++) {
		pol[i] = (vmm_net_policy)VMM_NET_POLICY_INIT;
		pol[i].shape_in = (vmm_net_shaping){ avg[i], 0, burst[i] };
		r.quota[i] = T[i] / r.gap / r.n;
		slack += r.n * (batch_of(avg[i], burst[i]) + LEN);
	}
	r.from[0] = r.from[1] = a = port_new(sw, &pol[0], false);
	port_new(sw, NULL, true);
	got = run_senders(&r, a, next);
	want = allowed(avg[0], burst[0], r.at[0] - t0) +
	       (uint64_t)(avg[1] / 8.0 * (r.at[1] - r.at[0]) / 1e9) +
	       (uint64_t)(avg[2] / 8.0 * (r.at[2] - r.at[1]) / 1e9);
	check("2 threads, IN, 3 policies", got, want, slack + LEN, 3 * LEN);
	vmm_switch_destroy(sw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_2_threads),
		cmocka_unit_test(test_in_4_threads),
		cmocka_unit_test(test_out_peak_threads),
		cmocka_unit_test(test_in_policy_change),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
