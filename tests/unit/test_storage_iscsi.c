/* test_storage_iscsi.c - iSCSI paths against real targets: two tgtd
 * (Debian's tgt, user-space) on loopback, on ports of their own, export
 * the same image file as LUN 1; they are the device's two paths. Round
 * robin reads and writes over both; SIGKILL of one tgtd during a stream
 * of writes loses nothing; the ALUA SATP over a target without target
 * port groups keeps the paths active. Skipped without tgt or root. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm.h"

#define IMG_SIZE (8u << 20)
#define BS 4096u
#define IQN "iqn.2024-01.org.libvmm:test"

static char dir[] = "/tmp/vmm-stiscsi-XXXXXX";
static char img[100], url[2][120];
static pid_t server[2];
static int ctl[2], port[2];

#include "storage_fixture.h"

static int run(const char *fmt, int i, const char *arg)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), fmt, ctl[i], arg ? arg : "");
	return system(cmd);
}

/* tgtd i on 127.0.0.1:port[i], its management channel ctl[i], serving
 * img as LUN 1 of IQN to every initiator. */
static void start_target(int i)
{
	char portal[64], log[140];
	int fd;

	snprintf(portal, sizeof(portal), "portal=127.0.0.1:%d", port[i]);
	snprintf(log, sizeof(log), "%s/tgtd%d.log", dir, i);
	server[i] = fork();
	assert_true(server[i] >= 0);
	if (server[i] == 0) {
		char c[16];

		snprintf(c, sizeof(c), "%d", ctl[i]);
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("tgtd", "tgtd", "-f", "-C", c, "--iscsi", portal, (char *)NULL);
		_exit(127);
	}
	for (int t = 0; t < 300; t++) {
		if (run("tgtadm -C %d --lld iscsi --op show --mode sys >/dev/null 2>&1%s", i,
			NULL) == 0)
			break;
		usleep(20000);
	}
	assert_int_equal(run("tgtadm -C %d --lld iscsi --op new --mode target --tid 1 -T %s", i,
			     IQN), 0);
	assert_int_equal(run("tgtadm -C %d --lld iscsi --op new --mode logicalunit --tid 1 "
			     "--lun 1 -b %s", i, img), 0);
	assert_int_equal(run("tgtadm -C %d --lld iscsi --op bind --mode target --tid 1 -I ALL%s",
			     i, NULL), 0);
}

static void kill_target(int i)
{
	if (server[i] > 0) {
		kill(server[i], SIGKILL);
		waitpid(server[i], NULL, 0);
	}
	server[i] = 0;
}

static int setup(void **state)
{
	int fd;

	if (geteuid() != 0 || system("command -v tgtd >/dev/null && command -v tgtadm "
				     ">/dev/null") != 0)
		return 0;
	assert_non_null(mkdtemp(dir));
	snprintf(img, sizeof(img), "%s/disk.img", dir);
	fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, IMG_SIZE), 0);
	close(fd);
	for (int i = 0; i < 2; i++) {
		ctl[i] = 4000 + (getpid() % 5000) * 2 + i;
		port[i] = 20000 + (getpid() % 5000) * 2 + i;
		snprintf(url[i], sizeof(url[i]), "iscsi://127.0.0.1:%d/%s/1", port[i], IQN);
	}
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	char cmd[200];

	kill_target(0);
	kill_target(1);
	if (*state) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			return -1;
	}
	return 0;
}

#define NEED_TGT()                                                                   \
	do {                                                                         \
		if (!*state) {                                                       \
			print_message("skipped: needs root and tgt (tgtd, tgtadm)\n"); \
			skip();                                                      \
		}                                                                    \
	} while (0)

static vmm_storage_dev *make_dev(const char *satp, const char *psp)
{
	vmm_storage_config c = VMM_STORAGE_CONFIG_INIT;
	vmm_storage_dev *dev;

	c.name = "iscsi-test";
	c.satp = satp;
	c.psp = psp;
	c.rr_requests = 1;
	c.timeout_ms = 10000;
	c.probe_ms = 200;
	c.block_size = BS;
	assert_int_equal(vmm_storage_create(&c, &dev), 0);
	for (uint32_t i = 0; i < 2; i++) {
		vmm_storage_path_config pc = VMM_STORAGE_PATH_CONFIG_INIT;

		pc.kind = VMM_STORAGE_PATH_ISCSI;
		pc.target = url[i];
		pc.queue_depth = 8;
		if (vmm_storage_add_path(dev, &pc, NULL) != 0)
			fail_msg("add_path %s: %s", url[i], vmm_last_error());
	}
	return dev;
}

static void test_iscsi_rw(void **state)
{
	static stream s;
	uint8_t buf[BS], zero[BS] = { 0 };
	vmm_storage_path_info a, b;
	vmm_storage_info di = VMM_STORAGE_INFO_INIT;
	vmm_storage_dev *dev;

	NEED_TGT();
	start_target(0);
	start_target(1);
	dev = make_dev(NULL, "rr");
	assert_int_equal(vmm_storage_get_info(dev, &di), 0);
	assert_int_equal(di.capacity, IMG_SIZE);
	write_stream(dev, &s, 300, 21, NULL, 16);
	assert_int_equal(s.failed, 0);
	assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_FLUSH, 0, NULL, 0), 0);
	read_back(dev, 300, 21);
	check_file(300, 21);
	a = path_info(dev, 0);
	b = path_info(dev, 1);
	assert_int_equal(a.kind, VMM_STORAGE_PATH_ISCSI);
	assert_int_equal(a.writes + b.writes, 300);
	assert_true(a.writes >= 100 && b.writes >= 100);
	assert_true(a.reads >= 100 && b.reads >= 100);
	assert_int_equal(a.flushes + b.flushes, 1);
	/* write-zeroes (WRITE SAME(16)) */
	assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_WRITE_ZEROES, 10 * BS, NULL, BS), 0);
	assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_READ, 10 * BS, buf, BS), 0);
	assert_memory_equal(buf, zero, BS);
	vmm_storage_destroy(dev);
	kill_target(0);
	kill_target(1);
}

static void kill_one(void)
{
	kill_target(0);
}

static void test_iscsi_kill_during_writes(void **state)
{
	static stream s;
	vmm_storage_path_info a;
	vmm_storage_dev *dev;

	NEED_TGT();
	start_target(0);
	start_target(1);
	dev = make_dev(NULL, "rr");
	write_stream(dev, &s, 1000, 23, kill_one, 16);
	assert_int_equal(s.done, 1000);
	assert_int_equal(s.failed, 0);
	a = path_info(dev, 0);
	assert_int_equal(a.state, VMM_STORAGE_DEAD);
	assert_int_not_equal(a.last_error, 0);
	assert_true(strlen(a.last_error_msg) > 0);
	read_back(dev, 1000, 23);
	check_file(1000, 23);
	/* the target returns: the probe logs in again */
	start_target(0);
	assert_int_equal(wait_state(dev, 0, VMM_STORAGE_ACTIVE, 15000), VMM_STORAGE_ACTIVE);
	read_back(dev, 100, 23);
	assert_true(path_info(dev, 0).reads > 0);
	vmm_storage_destroy(dev);
	kill_target(0);
	kill_target(1);
}

/* tgt reports no target port groups: the ALUA SATP keeps both paths
 * active (state unknown is active) and I/O works. */
static void test_iscsi_alua_without_groups(void **state)
{
	uint8_t buf[BS];
	vmm_storage_info di = VMM_STORAGE_INFO_INIT;
	vmm_storage_dev *dev;

	NEED_TGT();
	start_target(0);
	start_target(1);
	dev = make_dev("alua", "mru");
	assert_int_equal(vmm_storage_get_info(dev, &di), 0);
	assert_string_equal(di.satp, "alua");
	for (uint32_t i = 0; i < 2; i++)
		assert_int_equal(path_info(dev, i).state, VMM_STORAGE_ACTIVE);
	fill(buf, 1, 5);
	assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_WRITE, BS, buf, BS), 0);
	assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_READ, BS, buf, BS), 0);
	assert_int_equal(path_info(dev, 0).writes + path_info(dev, 1).writes, 1);
	print_message("tgt ALUA state read: 0x%x\n", path_info(dev, 0).alua_state);
	vmm_storage_destroy(dev);
	kill_target(0);
	kill_target(1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iscsi_rw),
		cmocka_unit_test(test_iscsi_kill_during_writes),
		cmocka_unit_test(test_iscsi_alua_without_groups),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
