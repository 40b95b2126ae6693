/* test_storage_nbd.c - multipathing over real NBD servers: nbdkit serves
 * one image file on two Unix sockets, which are the device's two paths.
 * Round robin spreads requests over both; fixed stays on its preferred
 * path and fails back to it; SIGKILL of one nbdkit during a stream of
 * writes loses nothing; nbdkit's delay filter makes a path hang until the
 * request timeout moves the request; its error filter makes a path fail
 * requests that are then retried on the other path. Skipped without
 * nbdkit. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm.h"

#define IMG_SIZE (8u << 20)
#define BS 4096u

static char dir[] = "/tmp/vmm-stnbd-XXXXXX";
static char img[100], sock[2][100], uri[2][140], errfile[100];
static pid_t server[2];

#include "storage_fixture.h"

/* Starts nbdkit on socket i serving img through the extra arguments
 * (filters first); waits until the socket exists. */
static void start_server(int i, const char *const *extra)
{
	const char *argv[24] = { "nbdkit", "--exit-with-parent", "-f", "-U", sock[i] };
	char log[140];
	int n = 5, fd;

	for (int k = 0; extra && extra[k]; k++)
		if (strncmp(extra[k], "--", 2) == 0)
			argv[n++] = extra[k];
	argv[n++] = "file";
	argv[n++] = img;
	for (int k = 0; extra && extra[k]; k++)
		if (strncmp(extra[k], "--", 2) != 0)
			argv[n++] = extra[k];
	argv[n] = NULL;
	unlink(sock[i]);
	snprintf(log, sizeof(log), "%s/nbdkit%d.log", dir, i);
	server[i] = fork();
	assert_true(server[i] >= 0);
	if (server[i] == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0)
			dup2(fd, 2);
		execvp("nbdkit", (char *const *)argv);
		_exit(127);
	}
	for (int t = 0; t < 500 && access(sock[i], F_OK) != 0; t++)
		usleep(10000);
	assert_int_equal(access(sock[i], F_OK), 0);
}

static void kill_server(int i)
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

	if (system("command -v nbdkit >/dev/null 2>&1") != 0)
		return 0;
	assert_non_null(mkdtemp(dir));
	snprintf(img, sizeof(img), "%s/disk.img", dir);
	snprintf(errfile, sizeof(errfile), "%s/inject", dir);
	for (int i = 0; i < 2; i++) {
		snprintf(sock[i], sizeof(sock[i]), "%s/s%d", dir, i);
		snprintf(uri[i], sizeof(uri[i]), "nbd+unix:///?socket=%.90s", sock[i]);
	}
	fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, IMG_SIZE), 0);
	close(fd);
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	char cmd[400];

	kill_server(0);
	kill_server(1);
	if (*state) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			return -1;
	}
	return 0;
}

#define NEED_NBDKIT()                                                       \
	do {                                                                \
		if (!*state) {                                              \
			print_message("skipped: nbdkit is not installed\n"); \
			skip();                                             \
		}                                                           \
	} while (0)

static vmm_storage_dev *make_dev(const char *psp, uint32_t timeout_ms, uint32_t preferred)
{
	vmm_storage_config c = VMM_STORAGE_CONFIG_INIT;
	vmm_storage_dev *dev;

	c.name = "nbd-test";
	c.psp = psp;
	c.rr_requests = 1;
	c.timeout_ms = timeout_ms;
	c.probe_ms = 100;
	c.block_size = BS;
	assert_int_equal(vmm_storage_create(&c, &dev), 0);
	for (uint32_t i = 0; i < 2; i++) {
		vmm_storage_path_config pc = VMM_STORAGE_PATH_CONFIG_INIT;
		uint32_t idx = 99;

		pc.kind = VMM_STORAGE_PATH_NBD;
		pc.target = uri[i];
		pc.queue_depth = 8;
		pc.flags = i == preferred ? VMM_STORAGE_PATH_PREFERRED : 0;
		assert_int_equal(vmm_storage_add_path(dev, &pc, &idx), 0);
		assert_int_equal(idx, i);
	}
	return dev;
}

/* Round robin switching every request spreads a stream over both paths;
 * everything lands in the image. */
static void test_rr_spreads(void **state)
{
	static stream s;
	vmm_storage_path_info a, b;
	vmm_storage_info di = VMM_STORAGE_INFO_INIT;
	vmm_storage_dev *dev;

	NEED_NBDKIT();
	start_server(0, NULL);
	start_server(1, NULL);
	dev = make_dev("rr", 10000, 99);
	write_stream(dev, &s, 400, 1, NULL, 16);
	assert_int_equal(s.failed, 0);
	assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_FLUSH, 0, NULL, 0), 0);
	read_back(dev, 400, 1);
	check_file(400, 1);
	a = path_info(dev, 0);
	b = path_info(dev, 1);
	assert_int_equal(a.state, VMM_STORAGE_ACTIVE);
	assert_int_equal(b.state, VMM_STORAGE_ACTIVE);
	assert_int_equal(a.writes + b.writes, 400);
	assert_int_equal(a.reads + b.reads, 400);
	assert_true(a.writes >= 150 && b.writes >= 150);   /* alternating: 200 each */
	assert_true(a.reads >= 150 && b.reads >= 150);
	assert_int_equal(a.bytes_written + b.bytes_written, 400ull * BS);
	assert_true(a.latency_avg_ns > 0 && a.latency_max_ns >= a.latency_avg_ns);
	assert_int_equal(vmm_storage_get_info(dev, &di), 0);
	assert_int_equal(di.capacity, IMG_SIZE);
	assert_int_equal(di.npaths, 2);
	assert_string_equal(di.psp, "rr");
	assert_int_equal(di.failed, 0);
	vmm_storage_destroy(dev);
	kill_server(0);
	kill_server(1);
}

/* Fixed stays on the preferred path 1; when it dies requests go to path
 * 0; when its server returns, the probe brings it back and requests fail
 * back to it. */
static void test_fixed_failback(void **state)
{
	uint8_t buf[BS], want[BS];
	vmm_storage_path_info a, b;
	vmm_storage_dev *dev;

	NEED_NBDKIT();
	start_server(0, NULL);
	start_server(1, NULL);
	dev = make_dev("fixed", 5000, 1);
	for (uint32_t i = 0; i < 20; i++) {
		fill(buf, i, 7);
		assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_WRITE, i * BS, buf, BS), 0);
	}
	a = path_info(dev, 0);
	b = path_info(dev, 1);
	assert_int_equal(a.writes, 0);
	assert_int_equal(b.writes, 20);
	kill_server(1);
	for (uint32_t i = 20; i < 40; i++) {
		fill(buf, i, 7);
		assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_WRITE, i * BS, buf, BS), 0);
	}
	a = path_info(dev, 0);
	b = path_info(dev, 1);
	assert_int_equal(b.state, VMM_STORAGE_DEAD);
	assert_true(a.writes >= 19);
	assert_int_equal(a.writes + b.writes, 40);
	assert_int_not_equal(b.last_error, 0);
	assert_true(strlen(b.last_error_msg) > 0);
	start_server(1, NULL);
	assert_int_equal(wait_state(dev, 1, VMM_STORAGE_ACTIVE, 10000), VMM_STORAGE_ACTIVE);
	for (uint32_t i = 0; i < 40; i++) {
		fill(want, i, 7);
		assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_READ, i * BS, buf, BS), 0);
		assert_memory_equal(buf, want, BS);
	}
	assert_int_equal(path_info(dev, 1).reads, 40);   /* failed back */
	assert_int_equal(path_info(dev, 0).reads, 0);
	vmm_storage_destroy(dev);
	kill_server(0);
	kill_server(1);
}

static vmm_storage_dev *kill_dev;

static void kill_one(void)
{
	kill_server(1);
}

/* SIGKILL of one server in the middle of a stream of writes: every write
 * completes without error, everything reads back exactly, and the path
 * shows dead with its last error. */
static void test_kill_during_writes(void **state)
{
	static stream s;
	vmm_storage_path_info b;
	vmm_storage_info di = VMM_STORAGE_INFO_INIT;

	NEED_NBDKIT();
	start_server(0, NULL);
	start_server(1, NULL);
	kill_dev = make_dev("rr", 10000, 99);
	write_stream(kill_dev, &s, 1500, 3, kill_one, 32);
	assert_int_equal(s.done, 1500);
	assert_int_equal(s.failed, 0);
	b = path_info(kill_dev, 1);
	assert_int_equal(b.state, VMM_STORAGE_DEAD);
	assert_true(b.errors >= 1);
	assert_int_equal(b.last_error, VMM_EIO);
	assert_true(strlen(b.last_error_msg) > 0);
	assert_int_equal(vmm_storage_get_info(kill_dev, &di), 0);
	assert_int_equal(di.failed, 0);
	read_back(kill_dev, 1500, 3);
	check_file(1500, 3);
	vmm_storage_destroy(kill_dev);
	kill_server(0);
}

/* A path whose server delays reads for 30 s: the read times out after
 * 500 ms and completes on the other path. */
static void test_hang_times_out(void **state)
{
	static const char *const slow[] = { "--filter=delay", "rdelay=30", NULL };
	uint8_t buf[BS], want[BS];
	vmm_storage_path_info b;
	vmm_storage_dev *dev;
	uint64_t t0;

	NEED_NBDKIT();
	start_server(0, NULL);
	start_server(1, slow);
	dev = make_dev("fixed", 500, 1);
	fill(buf, 5, 9);
	assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_WRITE, 5 * BS, buf, BS), 0);
	assert_int_equal(path_info(dev, 1).writes, 1);   /* writes are not delayed */
	memset(buf, 0, sizeof(buf));
	t0 = now_ms();
	assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_READ, 5 * BS, buf, BS), 0);
	assert_true(now_ms() - t0 >= 450);
	assert_true(now_ms() - t0 < 10000);
	fill(want, 5, 9);
	assert_memory_equal(buf, want, BS);
	b = path_info(dev, 1);
	assert_int_equal(b.timeouts, 1);
	assert_int_equal(b.last_error, VMM_ETIMEDOUT);
	assert_non_null(strstr(b.last_error_msg, "no answer within 500 ms"));
	assert_int_equal(path_info(dev, 0).reads, 1);
	vmm_storage_destroy(dev);
	kill_server(0);
	kill_server(1);
}

/* The error filter fails every request on path 1 while errfile exists:
 * each is retried on path 0, the path stays in service (the target
 * answers), and once errfile is gone path 1 takes requests again. */
static void test_errors_retried(void **state)
{
	char rate[] = "error-rate=100%", file[140];
	const char *const failing[] = { "--filter=error", rate, file, NULL };
	uint8_t buf[BS], want[BS];
	vmm_storage_path_info b;
	vmm_storage_dev *dev;
	int fd;

	NEED_NBDKIT();
	snprintf(file, sizeof(file), "error-file=%s", errfile);
	fd = open(errfile, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	close(fd);
	start_server(0, NULL);
	start_server(1, failing);
	dev = make_dev("fixed", 5000, 1);
	for (uint32_t i = 0; i < 10; i++) {
		fill(buf, i, 11);
		assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_WRITE, i * BS, buf, BS), 0);
	}
	b = path_info(dev, 1);
	assert_int_equal(b.errors, 10);
	assert_int_equal(b.writes, 0);
	assert_int_equal(b.failovers, 10);
	assert_int_equal(b.state, VMM_STORAGE_ACTIVE);
	assert_int_equal(b.last_error, VMM_EIO);
	assert_int_equal(path_info(dev, 0).writes, 10);
	unlink(errfile);
	for (uint32_t i = 0; i < 10; i++) {
		fill(want, i, 11);
		assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_READ, i * BS, buf, BS), 0);
		assert_memory_equal(buf, want, BS);
	}
	assert_int_equal(path_info(dev, 1).reads, 10);
	vmm_storage_destroy(dev);
	kill_server(0);
	kill_server(1);
}

/* A third-party SATP: an error on path 1 means "the array moved its
 * ports": re-read every path's state, and path 1 comes back standby. */
static int flip_armed;

static uint32_t flip_state(void *opaque, const vmm_storage_event *ev)
{
	if (ev->kind == VMM_STORAGE_EV_ALUA && ev->path == 1 &&
	    __atomic_load_n(&flip_armed, __ATOMIC_SEQ_CST))
		return VMM_STORAGE_STANDBY;
	return VMM_STORAGE_ACTIVE;
}

static void flip_failed(void *opaque, const vmm_storage_event *ev, vmm_storage_decision *d)
{
	if (ev->kind == VMM_STORAGE_EV_IO_ERROR && ev->path == 1) {
		__atomic_store_n(&flip_armed, 1, __ATOMIC_SEQ_CST);
		d->action = VMM_STORAGE_RECHECK;
	} else {
		d->state = VMM_STORAGE_DEAD;
		d->action = VMM_STORAGE_RETRY;
	}
}

static const vmm_storage_satp flip_satp = { VMM_STORAGE_SATP_VERSION, 0, "flip", flip_state,
					    flip_failed };

/* The recheck cycle with a registered SATP: the failed write waits until
 * every path re-read its state, then completes on path 0; path 1 stays in
 * standby and gets no more requests. */
static void test_satp_recheck(void **state)
{
	char rate[] = "error-rate=100%";
	const char *const failing[] = { "--filter=error", rate, NULL };
	vmm_storage_config c = VMM_STORAGE_CONFIG_INIT;
	vmm_storage_dev *dev;
	vmm_storage_path_info b;
	uint8_t buf[BS];

	NEED_NBDKIT();
	start_server(0, NULL);
	start_server(1, failing);
	assert_int_equal(vmm_storage_register_satp(&flip_satp, NULL), 0);
	c.satp = "flip";
	c.block_size = BS;
	c.timeout_ms = 5000;
	assert_int_equal(vmm_storage_create(&c, &dev), 0);
	for (uint32_t i = 0; i < 2; i++) {
		vmm_storage_path_config pc = VMM_STORAGE_PATH_CONFIG_INIT;

		pc.kind = VMM_STORAGE_PATH_NBD;
		pc.target = uri[i];
		pc.flags = i == 1 ? VMM_STORAGE_PATH_PREFERRED : 0;
		assert_int_equal(vmm_storage_add_path(dev, &pc, NULL), 0);
	}
	for (uint32_t i = 0; i < 6; i++) {
		fill(buf, i, 13);
		assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_WRITE, i * BS, buf, BS), 0);
	}
	b = path_info(dev, 1);
	assert_int_equal(b.state, VMM_STORAGE_STANDBY);
	assert_int_equal(b.errors, 1);
	assert_int_equal(b.state_changes, 1);
	assert_int_equal(path_info(dev, 0).writes, 6);
	check_file(6, 13);
	assert_int_equal(vmm_storage_unregister_satp("flip"), VMM_EBUSY);
	vmm_storage_destroy(dev);
	assert_int_equal(vmm_storage_unregister_satp("flip"), 0);
	kill_server(0);
	kill_server(1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rr_spreads),
		cmocka_unit_test(test_fixed_failback),
		cmocka_unit_test(test_kill_during_writes),
		cmocka_unit_test(test_hang_times_out),
		cmocka_unit_test(test_errors_retried),
		cmocka_unit_test(test_satp_recheck),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
