/* test_switch_state.c - a port's state following its VM to another switch
 * (vmm_net_port_state_export / _import): a port with a firewall (ICMP out
 * allowed, the rest denied), anti-spoofing and shaping pings a peer, so
 * its firewall tracks the echo; its state is exported and imported on a
 * port of a second switch (the "other host"), where the peer's echo reply
 * to that tracked echo passes although the new port never sent a request,
 * a reply with another id and an unsolicited request are dropped, the
 * counters carried over are there, and exporting again gives the same
 * policy. Hostile states are refused and change nothing. */
#define _GNU_SOURCE
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm.h"
#include "tests/net/ipstack.h"

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static const uint8_t mac_vm[6] = { 0x02, 0, 0, 0, 0x20, 1 }, mac_peer[6] = { 0x02, 0, 0, 0, 0x20, 2 };

typedef struct side {
	vmm_switch *sw;
	ips vm, peer;
} side;

static void side_up(side *s, const vmm_net_policy *pol)
{
	vmm_net_port_config c;

	assert_int_equal(vmm_switch_create(&(vmm_switch_config)VMM_SWITCH_CONFIG_INIT, &s->sw), 0);
	ips_init(&s->vm, mac_vm, IP4(10, 1, 0, 1));
	ips_init(&s->peer, mac_peer, IP4(10, 1, 0, 2));
	c = ips_port_config(&s->vm);
	c.policy = pol;
	assert_int_equal(vmm_net_port_create(s->sw, &c, &s->vm.port), 0);
	c = ips_port_config(&s->peer);
	assert_int_equal(vmm_net_port_create(s->sw, &c, &s->peer.port), 0);
}

static char *export_of(vmm_net_port *p)
{
	size_t len = 0;
	char *buf;

	assert_int_equal(vmm_net_port_state_export(p, NULL, 0, &len), VMM_ERANGE);
	assert_true(len > 10);
	buf = malloc(len + 1);
	assert_int_equal(vmm_net_port_state_export(p, buf, len + 1, &len), 0);
	assert_int_equal(strlen(buf), len);
	return buf;
}

static json_object *policy_of(const char *state)
{
	json_object *o = json_tokener_parse(state), *pol;

	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "policy", &pol));
	json_object_get(pol);
	json_object_put(o);
	return pol;
}

/* The peer sends an echo reply (id, seq) to the VM's port, unasked. */
static bool reply_reaches(side *s, uint16_t id, uint16_t seq)
{
	uint8_t f[128];
	size_t n = ips_echo_frame(f, mac_vm, mac_peer, IP4(10, 1, 0, 2), IP4(10, 1, 0, 1), 0, id, seq,
				  NULL, 56);
	bool got;

	assert_int_equal(vmm_net_port_send(s->peer.port, f, n), 0);
	pthread_mutex_lock(&s->vm.lock);
	got = ips_ring_has(&s->vm, (uint32_t)id << 16 | seq);
	pthread_mutex_unlock(&s->vm.lock);
	return got;                            /* delivered synchronously */
}

static uint64_t fw_drops(vmm_net_port *p)
{
	vmm_net_port_stats st = { .size = sizeof(st) };

	assert_int_equal(vmm_net_port_stats_get(p, &st), 0);
	return st.drops[VMM_NET_DROP_FIREWALL];
}

static void test_follow(void **state)
{
	static const uint32_t addrs[] = { IP4(10, 1, 0, 1) };
	const vmm_net_fw_rule rules[] = {
		{ VMM_NET_FW_ALLOW, VMM_NET_DIR_IN, 1, 0, 0, IP4(10, 1, 0, 0), 0xffffff00u, 0, 0, 0, 0 },
		{ VMM_NET_FW_DENY, VMM_NET_DIR_OUT, 6, 0, 0, 0, 0, 0, 0, 22, 23 },
	};
	vmm_net_policy pol = VMM_NET_POLICY_INIT;
	vmm_net_port_stats a = { .size = sizeof(a) }, b = { .size = sizeof(b) };
	side A, B;
	char *sa, *sb;
	json_object *pa, *pb;

	(void)state;
	pol.flags |= VMM_NET_FIREWALL | VMM_NET_ANTISPOOF;
	pol.ipv4 = addrs;
	pol.nipv4 = 1;
	pol.rules = rules;
	pol.nrules = 2;
	pol.fw_max_conns = 128;
	pol.shape_out = (vmm_net_shaping){ 100000000, 0, 100000 };
	side_up(&A, &pol);
	assert_true(ips_ping(&A.vm, IP4(10, 1, 0, 2), 0x4242, 1, 2000));   /* tracked */
	assert_false(ips_ping(&A.peer, IP4(10, 1, 0, 1), 0x5151, 1, 300));  /* unsolicited */
	assert_true(fw_drops(A.vm.port) > 0);
	assert_int_equal(vmm_net_port_stats_get(A.vm.port, &a), 0);
	assert_int_equal(a.fw_conns, 1);
	sa = export_of(A.vm.port);
	printf("# exported state: %zu bytes of JSON\n", strlen(sa));
	assert_non_null(strstr(sa, "\"ttl_ms\""));

	/* The other host: a port with the default policy takes the state. */
	side_up(&B, NULL);
	assert_int_equal(vmm_net_port_state_import(B.vm.port, sa), 0);
	assert_int_equal(vmm_net_port_stats_get(B.vm.port, &b), 0);
	assert_int_equal(b.fw_conns, 1);
	assert_true(b.in_frames >= a.in_frames);
	assert_true(b.drops[VMM_NET_DROP_FIREWALL] >= a.drops[VMM_NET_DROP_FIREWALL]);
	assert_true(reply_reaches(&B, 0x4242, 2));            /* the tracked echo's reply */
	assert_false(reply_reaches(&B, 0x4343, 2));           /* no such connection */
	assert_false(ips_ping(&B.peer, IP4(10, 1, 0, 1), 0x5151, 2, 300));
	assert_true(ips_ping(&B.vm, IP4(10, 1, 0, 2), 0x4444, 1, 2000));   /* rules work */
	sb = export_of(B.vm.port);
	pa = policy_of(sa);
	pb = policy_of(sb);
	assert_true(json_object_equal(pa, pb));
	json_object_put(pa);
	json_object_put(pb);
	free(sa);
	free(sb);
	vmm_switch_destroy(A.sw);
	vmm_switch_destroy(B.sw);
}

static void test_hostile(void **state)
{
	static const char *const bad[] = {
		"", "[]", "{}", "{\"version\": 2, \"policy\": {}}", "{\"version\": 1}",
		"{\"version\": 1, \"policy\": {\"x\": 1}}",
		"{\"version\": 1, \"policy\": {}, \"extra\": 1}",
		"{\"version\": 1, \"policy\": {}, \"counters\": {\"in_frames\": -1}}",
		"{\"version\": 1, \"policy\": {}, \"counters\": {\"drops\": [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}}",
		"{\"version\": 1, \"policy\": {}, \"conns\": {}}",
		"{\"version\": 1, \"policy\": {}, \"conns\": [{}]}",
		"{\"version\": 1, \"policy\": {}, \"conns\": [{\"proto\": 1, \"src\": \"1.2.3.4\", \"dst\": \"1.2.3.5\", \"dir\": \"up\", \"ttl_ms\": 5}]}",
		"{\"version\": 1, \"policy\": {}, \"conns\": [{\"proto\": 1, \"src\": \"1.2.3.4\", \"dst\": \"1.2.3.5\", \"dir\": \"in\", \"ttl_ms\": 0}]}",
		"{\"version\": 1, \"policy\": {}, \"conns\": [{\"proto\": 300, \"src\": \"1.2.3.4\", \"dst\": \"1.2.3.5\", \"dir\": \"in\", \"ttl_ms\": 5}]}",
		"{\"version\": 1, \"policy\": {}, \"conns\": [{\"proto\": 6, \"src\": \"1.2.3\", \"dst\": \"1.2.3.5\", \"dir\": \"in\", \"ttl_ms\": 5}]}",
		"{\"version\": 1, \"policy\": {}, \"conns\": [{\"proto\": 6, \"src\": \"1.2.3.4\", \"dst\": \"1.2.3.5\", \"sport\": 70000, \"dir\": \"in\", \"ttl_ms\": 5}]}",
		"{\"version\": 1, \"policy\": {\"firewall\": {\"rules\": [{\"action\": \"allow\", \"dport\": [9, 1]}]}}}",
	};
	vmm_net_policy pol = VMM_NET_POLICY_INIT;
	side S;
	char *before, *after, big[64];
	size_t len;

	(void)state;
	pol.flags &= ~VMM_NET_SEC_FORGED;
	side_up(&S, &pol);
	before = export_of(S.vm.port);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (vmm_net_port_state_import(S.vm.port, bad[i]) != VMM_EINVAL)
			fail_msg("accepted %s", bad[i]);
		assert_non_null(strstr(vmm_last_error(), "vmm_net_port_state_import"));
	}
	after = export_of(S.vm.port);
	assert_string_equal(before, after);                   /* nothing changed */
	assert_int_equal(vmm_net_port_state_import(NULL, before), VMM_EINVAL);
	assert_int_equal(vmm_net_port_state_import(S.vm.port, NULL), VMM_EINVAL);
	assert_int_equal(vmm_net_port_state_export(S.vm.port, big, sizeof(big), &len), VMM_ERANGE);
	assert_int_equal(len, strlen(before));
	assert_int_equal(vmm_net_port_state_export(S.vm.port, NULL, 5, &len), VMM_EINVAL);
	/* A minimal state is fine: the defaults. */
	assert_int_equal(vmm_net_port_state_import(S.vm.port, "{\"version\": 1, \"policy\": {}}"), 0);
	free(before);
	free(after);
	vmm_switch_destroy(S.sw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_follow),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
