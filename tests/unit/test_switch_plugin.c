/* test_switch_plugin.c - the switch's plugin interface: an embedder's
 * filter that drops one chosen flow (and only it), one that modifies
 * frames, one that queues and later reinjects them, one returning garbage
 * (disabled with a message to the log callback and vmm_last_error), a
 * forwarding plugin that replaces the decision, and a garbage forwarder;
 * also a receive callback that sends again (nested) and one nested too
 * deep. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "switch_fixture.h"

static sink s1, s2, s3;
static char logged[256];
static int log_count;

static void log_fn(void *opaque, const char *msg)
{
	snprintf(logged, sizeof(logged), "%s", msg);
	log_count++;
}

static vmm_switch *make_logged_switch(void)
{
	vmm_switch_config c = VMM_SWITCH_CONFIG_INIT;
	vmm_switch *sw = NULL;

	c.log = log_fn;
	c.clock = fake_clock;
	fake_ns = 1000000000ull;
	log_count = 0;
	logged[0] = 0;
	if (vmm_switch_create(&c, &sw) != 0)
		return NULL;
	return sw;
}

static const uint32_t A1 = IP(10, 0, 0, 1), A2 = IP(10, 0, 0, 2);

/* Drops UDP to port 5000; counts what it saw. */
static int seen;
static int32_t drop_udp_5000(void *opaque, vmm_net_port *port, vmm_net_frame *f)
{
	seen++;
	if (f->len >= 38 && f->data[12] == 0x08 && f->data[13] == 0 && f->data[23] == 17 &&
	    (f->data[36] << 8 | f->data[37]) == 5000)
		return VMM_NET_DROP;
	return VMM_NET_PASS;
}

static void test_filter_drops_flow(void **state)
{
	vmm_net_filter ops = { VMM_NET_FILTER_VERSION, 0, "no-5000", drop_udp_5000, NULL };
	vmm_switch *sw = make_logged_switch();
	vmm_net_port *p1, *p2;
	uint8_t f[256];
	uint32_t id;
	size_t n;

	sink_reset(&s1);
	sink_reset(&s2);
	seen = 0;
	assert_non_null(p1 = make_port(sw, &s1, MAC1, 0, NULL, 0, NULL));
	assert_non_null(p2 = make_port(sw, &s2, MAC2, 0, NULL, 0, NULL));
	assert_int_equal(vmm_net_filter_add(p1, VMM_NET_DIR_IN, &ops, NULL, &id), 0);
	assert_int_equal(vmm_net_filter_active(p1, id), 1);
	n = udp(f, MAC2, MAC1, A1, 1234, A2, 5000, 10);
	vmm_net_port_send(p1, f, n);
	n = udp(f, MAC2, MAC1, A1, 1234, A2, 5001, 10);
	vmm_net_port_send(p1, f, n);
	n = tcp(f, MAC2, MAC1, A1, 1234, A2, 5000, SYN);
	vmm_net_port_send(p1, f, n);
	assert_int_equal(seen, 3);
	assert_int_equal(s2.count, 2);
	assert_int_equal(drops(p1, VMM_NET_DROP_FILTER), 1);
	/* In only: p2's frames to p1 are not seen by it. */
	n = udp(f, MAC1, MAC2, A2, 1234, A1, 5000, 10);
	vmm_net_port_send(p2, f, n);
	assert_int_equal(s1.count, 1);
	assert_int_equal(seen, 3);
	/* Removed: the flow passes. */
	assert_int_equal(vmm_net_filter_remove(p1, id), 0);
	assert_int_equal(vmm_net_filter_remove(p1, id), VMM_ENOENT);
	n = udp(f, MAC2, MAC1, A1, 1234, A2, 5000, 10);
	vmm_net_port_send(p1, f, n);
	assert_int_equal(s2.count, 3);
	assert_int_equal(log_count, 0);
	vmm_switch_destroy(sw);
}

/* Rewrites the payload's first byte and trims 4 bytes. */
static int32_t modify(void *opaque, vmm_net_port *port, vmm_net_frame *f)
{
	f->data[14] = 0xee;
	f->len -= 4;
	return VMM_NET_MODIFY;
}

/* Keeps every frame; the test reinjects them. */
static uint8_t held[4][256];
static size_t held_len[4];
static int nheld, detached;
static int32_t queue(void *opaque, vmm_net_port *port, vmm_net_frame *f)
{
	if (nheld >= 4 || f->len > 256)
		return VMM_NET_DROP;
	memcpy(held[nheld], f->data, f->len);
	held_len[nheld++] = f->len;
	return VMM_NET_QUEUE;
}

static void on_detach(void *opaque)
{
	detached++;
}

static void test_modify_and_queue(void **state)
{
	vmm_net_filter mod = { VMM_NET_FILTER_VERSION, 0, "trim", modify, NULL };
	vmm_net_filter q = { VMM_NET_FILTER_VERSION, 0, "hold", queue, on_detach };
	vmm_net_filter drop_after = { VMM_NET_FILTER_VERSION, 0, "no-5000", drop_udp_5000, NULL };
	vmm_switch *sw = make_logged_switch();
	vmm_net_port *p1, *p2;
	uint8_t f[256];
	uint32_t id_m, id_q, id_d;
	size_t n;

	sink_reset(&s1);
	sink_reset(&s2);
	nheld = detached = seen = 0;
	assert_non_null(p1 = make_port(sw, &s1, MAC1, 0, NULL, 0, NULL));
	assert_non_null(p2 = make_port(sw, &s2, MAC2, 0, NULL, 0, NULL));
	assert_int_equal(vmm_net_filter_add(p2, VMM_NET_DIR_OUT, &mod, NULL, &id_m), 0);
	n = eth(f, MAC2, MAC1, 0x88b5, 50);
	vmm_net_port_send(p1, f, n);
	assert_int_equal(s2.count, 1);
	assert_int_equal(s2.len[0], n - 4);
	assert_int_equal(s2.frame[0][14], 0xee);
	assert_memory_equal(s2.frame[0] + 15, f + 15, n - 19);
	assert_int_equal(vmm_net_filter_remove(p2, id_m), 0);
	/* Queue on p1's way in, then a filter after it that drops port 5000. */
	assert_int_equal(vmm_net_filter_add(p1, VMM_NET_DIR_IN, &q, NULL, &id_q), 0);
	assert_int_equal(vmm_net_filter_add(p1, VMM_NET_DIR_IN, &drop_after, NULL, &id_d), 0);
	n = udp(f, MAC2, MAC1, A1, 1, A2, 5000, 10);
	vmm_net_port_send(p1, f, n);
	n = udp(f, MAC2, MAC1, A1, 1, A2, 6000, 10);
	vmm_net_port_send(p1, f, n);
	assert_int_equal(nheld, 2);
	assert_int_equal(s2.count, 1);
	assert_int_equal(stats(p1).queued, 2);
	assert_int_equal(vmm_net_filter_reinject(p1, id_q, VMM_NET_IN, held[0], held_len[0], 1), 0);
	assert_int_equal(vmm_net_filter_reinject(p1, id_q, VMM_NET_IN, held[1], held_len[1], 1), 0);
	assert_int_equal(seen, 2);                              /* after the queue only */
	assert_int_equal(s2.count, 2);                          /* 6000 passed, 5000 not */
	assert_int_equal(nheld, 2);                             /* not queued again */
	assert_memory_equal(s2.frame[1], held[1], held_len[1]);
	assert_int_equal(vmm_net_filter_reinject(p1, 12345, VMM_NET_IN, held[0], held_len[0], 1),
			 VMM_ENOENT);
	assert_int_equal(vmm_net_filter_reinject(p1, id_q, VMM_NET_IN, held[0], 3, 1), VMM_EINVAL);
	assert_int_equal(vmm_net_filter_reinject(p1, id_q, VMM_NET_IN, held[0], held_len[0], 9),
			 VMM_EINVAL);                           /* not the port's VLAN */
	vmm_net_port_destroy(p1);
	assert_int_equal(detached, 1);
	vmm_switch_destroy(sw);
}

static int32_t garbage(void *opaque, vmm_net_port *port, vmm_net_frame *f)
{
	seen++;
	return 77;
}

static int32_t grow(void *opaque, vmm_net_port *port, vmm_net_frame *f)
{
	f->len = f->cap + 1;
	return VMM_NET_MODIFY;
}

static void test_garbage_filter(void **state)
{
	vmm_net_filter bad = { VMM_NET_FILTER_VERSION, 0, "liar", garbage, NULL };
	vmm_net_filter big = { VMM_NET_FILTER_VERSION, 0, "grower", grow, NULL };
	vmm_net_filter v0 = { 0, 0, "old", garbage, NULL };
	vmm_switch *sw = make_logged_switch();
	vmm_switch_stats st = { .size = sizeof(st) };
	vmm_net_port *p1, *p2;
	uint8_t f[256];
	uint32_t id, id2;
	size_t n;

	sink_reset(&s2);
	seen = 0;
	assert_non_null(p1 = make_port(sw, &s1, MAC1, 0, NULL, 0, NULL));
	assert_non_null(p2 = make_port(sw, &s2, MAC2, 0, NULL, 0, NULL));
	assert_int_equal(vmm_net_filter_add(p1, VMM_NET_DIR_IN, &v0, NULL, &id), VMM_EINVAL);
	assert_int_equal(vmm_net_filter_add(p1, VMM_NET_DIR_IN, &bad, NULL, &id), 0);
	assert_int_equal(vmm_net_filter_add(p2, VMM_NET_DIR_OUT, &big, NULL, &id2), 0);
	n = eth(f, MAC2, MAC1, 0x88b5, 50);
	vmm_net_port_send(p1, f, n);
	assert_int_equal(seen, 1);
	assert_int_equal(s2.count, 0);
	assert_int_equal(drops(p1, VMM_NET_DROP_PLUGIN), 1);
	assert_int_equal(vmm_net_filter_active(p1, id), 0);
	assert_int_equal(log_count, 1);
	assert_non_null(strstr(logged, "'liar'"));
	assert_non_null(strstr(logged, "disabled"));
	assert_non_null(strstr(vmm_last_error(), "'liar'"));
	/* Disabled: skipped from now on; the grower on p2's way out next. */
	vmm_net_port_send(p1, f, n);
	assert_int_equal(seen, 1);
	assert_int_equal(s2.count, 0);
	assert_int_equal(drops(p2, VMM_NET_DROP_PLUGIN), 1);
	assert_int_equal(vmm_net_filter_active(p2, id2), 0);
	assert_non_null(strstr(logged, "'grower'"));
	vmm_net_port_send(p1, f, n);
	assert_int_equal(s2.count, 1);
	assert_memory_equal(s2.frame[0], f, n);
	assert_int_equal(vmm_switch_stats_get(sw, &st), 0);
	assert_int_equal(st.plugin_disabled, 2);
	/* Still disabled after the chain is rebuilt for a policy change. */
	vmm_net_policy pol = VMM_NET_POLICY_INIT;
	assert_int_equal(vmm_net_port_set_policy(p1, &pol), 0);
	vmm_net_port_send(p1, f, n);
	assert_int_equal(seen, 1);
	assert_int_equal(s2.count, 2);
	vmm_switch_destroy(sw);
}

/* Sends every frame to the port named in opaque, whatever its MAC. */
static int32_t to_one(void *opaque, vmm_switch *sw, vmm_net_port *from,
		      const vmm_net_frame *f, uint32_t *ports, uint32_t max)
{
	if (f->data[14] == 0xbb)
		return VMM_NET_FWD_BUILTIN;
	ports[0] = *(uint32_t *)opaque;
	return 1;
}

static int32_t bad_fwd(void *opaque, vmm_switch *sw, vmm_net_port *from,
		       const vmm_net_frame *f, uint32_t *ports, uint32_t max)
{
	ports[0] = 999999;
	return 1;
}

static void test_forwarder(void **state)
{
	vmm_net_forwarder one = { VMM_NET_FORWARDER_VERSION, 0, "to-one", to_one };
	vmm_net_forwarder bad = { VMM_NET_FORWARDER_VERSION, 0, "bad", bad_fwd };
	vmm_switch *sw = make_logged_switch();
	vmm_net_port *p1, *p2, *p3;
	uint8_t f[256];
	uint32_t target;
	size_t n;

	sink_reset(&s1);
	sink_reset(&s2);
	sink_reset(&s3);
	assert_non_null(p1 = make_port(sw, &s1, NULL, 0, NULL, 0, NULL));
	assert_non_null(p2 = make_port(sw, &s2, NULL, 0, NULL, 0, NULL));
	assert_non_null(p3 = make_port(sw, &s3, NULL, 0, NULL, 0, NULL));
	target = vmm_net_port_id(p3);
	assert_int_equal(vmm_switch_set_forwarder(sw, &one, &target), 0);
	n = eth(f, BCAST, MAC1, 0x88b5, 50);
	vmm_net_port_send(p1, f, n);                            /* a broadcast, to p3 only */
	assert_int_equal(s2.count, 0);
	assert_int_equal(s3.count, 1);
	f[14] = 0xbb;                                           /* built-in for this one */
	vmm_net_port_send(p1, f, n);
	assert_int_equal(s2.count, 1);
	assert_int_equal(s3.count, 2);
	assert_int_equal(vmm_switch_set_forwarder(sw, &bad, NULL), 0);
	vmm_net_port_send(p1, f, n);
	assert_int_equal(s2.count + s3.count, 3);
	assert_int_equal(drops(p1, VMM_NET_DROP_PLUGIN), 1);
	assert_non_null(strstr(logged, "'bad'"));
	vmm_net_port_send(p1, f, n);                            /* disabled: built-in */
	assert_int_equal(s2.count + s3.count, 5);
	assert_int_equal(vmm_switch_set_forwarder(sw, NULL, NULL), 0);
	vmm_switch_destroy(sw);
}

/* A receive callback that answers unicast and re-sends broadcast at
 * once, from inside the switch. */
static vmm_net_port *echo_port;
static int echo_depth;
static void echo_rx(void *opaque, vmm_net_port *port, const void *frame, size_t len)
{
	uint8_t f[256];

	memcpy(f, frame, len);
	if (!(f[0] & 1)) {                 /* unicast: answer; broadcast: pass it on */
		memcpy(f, (const uint8_t *)frame + 6, 6);
		memcpy(f + 6, frame, 6);
	}
	echo_depth++;
	vmm_net_port_send(port, f, len);
}

static void test_nested_send(void **state)
{
	vmm_net_port_config c = VMM_NET_PORT_CONFIG_INIT;
	vmm_switch *sw = make_logged_switch();
	vmm_net_port *p1, *p2;
	uint8_t f[256];
	size_t n;

	sink_reset(&s1);
	echo_depth = 0;
	assert_non_null(p1 = make_port(sw, &s1, NULL, 0, NULL, 0, NULL));
	c.rx = echo_rx;
	assert_int_equal(vmm_net_port_create(sw, &c, &p2), 0);
	echo_port = p2;
	n = eth(f, MAC2, MAC1, 0x88b5, 50);
	vmm_net_port_send(p1, f, n);
	assert_int_equal(echo_depth, 1);
	assert_int_equal(s1.count, 1);                          /* the answer */
	assert_memory_equal(s1.frame[0], MAC1, 6);
	/* Two echo ports bounce a broadcast until the depth limit. */
	vmm_net_port *p3;
	assert_int_equal(vmm_net_port_create(sw, &c, &p3), 0);
	vmm_net_port_destroy(p1);
	n = eth(f, BCAST, MAC3, 0x88b5, 50);
	echo_depth = 0;
	vmm_net_port_send(p2, f, n);
	assert_true(echo_depth >= 3 && echo_depth < 64);
	assert_true(drops(p2, VMM_NET_DROP_LOOP) + drops(p3, VMM_NET_DROP_LOOP) >= 1);
	vmm_switch_destroy(sw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter_drops_flow),
		cmocka_unit_test(test_modify_and_queue),
		cmocka_unit_test(test_garbage_filter),
		cmocka_unit_test(test_forwarder),
		cmocka_unit_test(test_nested_send),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
