/* test_gdb.c - the gdb stub (lib/introspect/gdb*.c) spoken to directly over
 * its socket: replies to the packets gdb sends, breakpoints stopping a
 * running guest, and hostile input (bad checksums, garbage, oversized
 * packets, bad addresses and register numbers) answered with errors, never
 * a crash. Real gdb sessions are in tests/gdb/. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/unit/emu_test.h"

EMU_GUEST64(g_code, "mov $1, %eax\n mov $2, %ebx\n add %ebx, %eax\n out %al, $0xf4\n hlt");

typedef struct stub_fx {
	emu_fx fx;
	vmm_gdb *gdb;
	int fd;
	pthread_t runner;
	vmm_run_result res;
} stub_fx;

static void *run_vm(void *arg)
{
	stub_fx *s = arg;

	s->res = (vmm_run_result)VMM_RUN_RESULT_INIT;
	vmm_vm_run(s->fx.vm, NULL, &s->res);
	return NULL;
}

static int connect_to(const char *address)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct timeval tv = { 10, 0 };

	sa.sin_port = htons((uint16_t)atoi(strrchr(address, ':') + 1));
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void stub_setup(stub_fx *s)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	vmm_gdb_config gc = VMM_GDB_CONFIG_INIT;

	memset(s, 0, sizeof(*s));
	cfg.backend = "emu";
	cfg.flags = VMM_VM_NO_UART;
	s->fx.mem_size = cfg.mem_size;
	assert_int_equal(vmm_vm_create(&cfg, &s->fx.vm), 0);
	assert_int_equal(fx_page_tables(s->fx.vm), 0);
	assert_int_equal(vmm_vcpu_create(s->fx.vm, 0, &s->fx.vcpu), 0);
	assert_int_equal(fx_long_mode(s->fx.vcpu, FX_CODE, s->fx.mem_size), 0);
	assert_int_equal(vmm_mem_write(s->fx.vm, FX_CODE, g_code, EMU_LEN(g_code)), 0);
	gc.address = "tcp:127.0.0.1:0";
	gc.flags = VMM_GDB_WAIT;
	assert_int_equal(vmm_gdb_start(s->fx.vm, &gc, &s->gdb), 0);
	assert_int_equal(pthread_create(&s->runner, NULL, run_vm, s), 0);
	s->fd = connect_to(vmm_gdb_address(s->gdb));
}

static void stub_teardown(stub_fx *s)
{
	close(s->fd);
	pthread_join(s->runner, NULL);
	vmm_gdb_destroy(s->gdb);
	vmm_vm_destroy(s->fx.vm);
}

static void send_raw(int fd, const char *data, size_t len)
{
	assert_int_equal(send(fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
}

static void send_pkt(int fd, const char *payload)
{
	char buf[8192];
	uint8_t sum = 0;

	for (const char *p = payload; *p; p++)
		sum += (uint8_t)*p;
	snprintf(buf, sizeof(buf), "$%s#%02x", payload, sum);
	send_raw(fd, buf, strlen(buf));
}

/* Reads one reply packet's payload (skipping acks and O packets). */
static void recv_pkt(int fd, char *out, size_t cap)
{
	size_t n = 0;
	char c;
	int in = 0;

	for (;;) {
		assert_int_equal(recv(fd, &c, 1, 0), 1);
		if (!in) {
			in = c == '$';
			continue;
		}
		if (c == '#') {
			char cs[2];

			assert_int_equal(recv(fd, cs, 2, MSG_WAITALL), 2);
			out[n] = 0;
			if (out[0] == 'O' && out[1] && strcmp(out, "OK")) {
				n = 0;
				in = 0;
				continue;
			}
			return;
		}
		assert_true(n + 1 < cap);
		out[n++] = c;
	}
}

static void xfer(int fd, const char *cmd, char *out, size_t cap)
{
	send_pkt(fd, cmd);
	recv_pkt(fd, out, cap);
}

static int gdb_unhex_test(void *out, const char *hex, size_t n)
{
	uint8_t *p = out;

	for (size_t i = 0; i < n; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		p[i] = (uint8_t)v;
	}
	return 0;
}

static void test_queries_and_registers(void **state)
{
	stub_fx s;
	char r[8192];
	char hex[64];
	uint64_t rip = 0;

	stub_setup(&s);
	xfer(s.fd, "qSupported:swbreak+;hwbreak+", r, sizeof(r));
	assert_non_null(strstr(r, "PacketSize=4000"));
	assert_non_null(strstr(r, "qXfer:features:read+"));
	xfer(s.fd, "?", r, sizeof(r));
	assert_string_equal(r, "T05thread:1;");
	xfer(s.fd, "qXfer:features:read:target.xml:0,ffff", r, sizeof(r));
	assert_int_equal(r[0], 'l');
	assert_non_null(strstr(r, "<architecture>i386:x86-64</architecture>"));
	assert_non_null(strstr(r, "name=\"mxcsr\""));
	xfer(s.fd, "qXfer:features:read:target.xml:100000,10", r, sizeof(r));
	assert_string_equal(r, "l");
	xfer(s.fd, "qfThreadInfo", r, sizeof(r));
	assert_string_equal(r, "m1");
	xfer(s.fd, "g", r, sizeof(r));
	assert_int_equal(strlen(r), 2 * (16 * 8 + 8 + 4 + 6 * 4 + 8 * 10 + 8 * 4 + 16 * 16 + 4));
	xfer(s.fd, "p10", r, sizeof(r));          /* rip */
	assert_int_equal(gdb_unhex_test(&rip, r, 8), 0);
	assert_int_equal(rip, FX_CODE);
	xfer(s.fd, "P0=2a00000000000000", r, sizeof(r));   /* rax = 42 */
	assert_string_equal(r, "OK");
	assert_int_equal(fx_regs(&s.fx).rax, 42);
	snprintf(hex, sizeof(hex), "m%llx,5", (unsigned long long)FX_CODE);
	xfer(s.fd, hex, r, sizeof(r));
	assert_string_equal(r, "b801000000");       /* mov $1, %eax */
	send_pkt(s.fd, "k");
	stub_teardown(&s);
	assert_int_equal(s.res.end, VMM_END_STOPPED);
}

static void test_breakpoint_continue_exit(void **state)
{
	stub_fx s;
	char r[512], cmd[64];

	stub_setup(&s);
	xfer(s.fd, "qSupported:swbreak+", r, sizeof(r));
	snprintf(cmd, sizeof(cmd), "Z0,%llx,1", (unsigned long long)FX_CODE + 10);
	xfer(s.fd, cmd, r, sizeof(r));
	assert_string_equal(r, "OK");
	xfer(s.fd, "c", r, sizeof(r));
	assert_string_equal(r, "T05thread:1;swbreak:;");
	assert_int_equal(fx_regs(&s.fx).rip, FX_CODE + 10);
	assert_int_equal(fx_regs(&s.fx).rbx, 2);
	snprintf(cmd, sizeof(cmd), "z0,%llx,1", (unsigned long long)FX_CODE + 10);
	xfer(s.fd, cmd, r, sizeof(r));
	assert_string_equal(r, "OK");
	xfer(s.fd, "s", r, sizeof(r));              /* one instruction: the add */
	assert_string_equal(r, "T05thread:1;");
	assert_int_equal(fx_regs(&s.fx).rax, 3);
	xfer(s.fd, "c", r, sizeof(r));              /* to the guest's debug exit */
	assert_string_equal(r, "W03");
	stub_teardown(&s);
	assert_int_equal(s.res.end, VMM_END_DEBUG_EXIT);
	assert_int_equal(s.res.code, 3);
}

static void test_hostile_input(void **state)
{
	stub_fx s;
	static char big[20000];
	char r[512];

	stub_setup(&s);
	send_raw(s.fd, "garbage\x01\xff+-", 11);
	send_raw(s.fd, "$qC#00", 6);              /* wrong checksum: still answered */
	recv_pkt(s.fd, r, sizeof(r));
	assert_string_equal(r, "QC1");
	memset(big, 'A', sizeof(big));
	big[0] = '$';
	send_raw(s.fd, big, sizeof(big));           /* oversized, never terminated */
	send_raw(s.fd, "#00", 3);
	xfer(s.fd, "m0,ffffffff", r, sizeof(r));
	assert_string_equal(r, "E01");
	xfer(s.fd, "m800000000000,4", r, sizeof(r));   /* not canonical */
	assert_string_equal(r, "E14");
	xfer(s.fd, "M100000,4:zz", r, sizeof(r));
	assert_string_equal(r, "E14");
	xfer(s.fd, "p9999", r, sizeof(r));
	assert_string_equal(r, "E04");
	xfer(s.fd, "P0=xyz", r, sizeof(r));
	assert_string_equal(r, "E05");
	xfer(s.fd, "G00", r, sizeof(r));
	assert_string_equal(r, "E03");
	xfer(s.fd, "Z9,0,0", r, sizeof(r));
	assert_string_equal(r, "");
	xfer(s.fd, "Z2,100000,3", r, sizeof(r));    /* watch length 3 */
	assert_string_equal(r, "E01");
	xfer(s.fd, "qXfer:features:read:other.xml:0,10", r, sizeof(r));
	assert_string_equal(r, "E00");
	xfer(s.fd, "Hg99", r, sizeof(r));
	assert_string_equal(r, "OK");
	xfer(s.fd, "vUnknownThing", r, sizeof(r));
	assert_string_equal(r, "");
	xfer(s.fd, "qRcmd,7a7a", r, sizeof(r));    /* "zz": help text, then OK */
	assert_string_equal(r, "OK");
	send_pkt(s.fd, "k");
	stub_teardown(&s);
	assert_int_equal(s.res.end, VMM_END_STOPPED);
}

static void test_start_errors(void **state)
{
	emu_fx fx;
	vmm_gdb_config gc = VMM_GDB_CONFIG_INIT;
	vmm_gdb *g = NULL, *g2 = NULL;

	et_setup(&fx, g_code, EMU_LEN(g_code));
	assert_int_equal(vmm_gdb_start(fx.vm, &gc, &g), VMM_EINVAL);   /* no address */
	gc.address = "udp:1.2.3.4:5";
	assert_int_equal(vmm_gdb_start(fx.vm, &gc, &g), VMM_EINVAL);
	gc.address = "tcp:nohost";
	assert_int_equal(vmm_gdb_start(fx.vm, &gc, &g), VMM_EINVAL);
	gc.address = "tcp:example.com:1";
	assert_int_equal(vmm_gdb_start(fx.vm, &gc, &g), VMM_EINVAL);
	gc.address = "tcp:127.0.0.1:70000";
	assert_int_equal(vmm_gdb_start(fx.vm, &gc, &g), VMM_EINVAL);
	gc.address = "unix:";
	assert_int_equal(vmm_gdb_start(fx.vm, &gc, &g), VMM_EINVAL);
	gc.address = "tcp:127.0.0.1:0";
	gc.flags = 0x80;
	assert_int_equal(vmm_gdb_start(fx.vm, &gc, &g), VMM_EINVAL);
	gc.flags = VMM_GDB_NO_THREAD;
	assert_int_equal(vmm_gdb_start(fx.vm, &gc, &g), 0);
	assert_true(vmm_gdb_fd(g) >= 0);
	assert_int_equal(vmm_gdb_service(g), 0);   /* nothing to do: returns */
	assert_int_equal(vmm_gdb_start(fx.vm, &gc, &g2), VMM_EBUSY);
	vmm_gdb_destroy(g);
	vmm_gdb_destroy(NULL);
	assert_int_equal(vmm_gdb_start(fx.vm, &gc, &g), 0);   /* again after destroy */
	vmm_gdb_destroy(g);
	fx_destroy(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queries_and_registers),
		cmocka_unit_test(test_breakpoint_continue_exit),
		cmocka_unit_test(test_hostile_input),
		cmocka_unit_test(test_start_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
