/* alua_lio.c - ALUA against the Linux kernel's own iSCSI target (LIO),
 * inside the svm test host (tests/linux/in-host.sh runs it there, after
 * loading target_core_mod, target_core_file and iscsi_target_mod and
 * mounting configfs). Configured through configfs: one fileio backstore,
 * one target with two TPGs, portals 127.0.0.1:3260 and :3261, the LUN's
 * port in each TPG in its own ALUA target port group (16 "a", 17 "b").
 * libvmm's initiator opens both as the paths of one storage device with
 * the "alua" SATP and round robin; the test changes the groups' access
 * states in configfs while a stream of writes runs through the storage
 * API, and checks: the paths read their groups and states, I/O goes only
 * to the optimized path, the "asymmetric access state changed" unit
 * attention moves it to the other one (and standby keeps it away), no
 * request fails and every block reads back (and is in the file) as last
 * written. Prints PASS/FAIL/NOT RUN lines named alua/svm-host/...
 *   alua_lio IMAGE */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vmm.h"

#define CFS "/sys/kernel/config/target"
#define IQN "iqn.2024-01.org.libvmm:alua"
#define TGT CFS "/iscsi/" IQN
#define DEV CFS "/core/fileio_0/disk0"
#define IMG_SIZE (16u << 20)
#define BS 4096u
#define NBLOCKS 512u                 /* 2 MiB written per stream */

static const char *img;
static int failures;

static void result(bool ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void result(bool ok, const char *name, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("%s alua/svm-host/%s: %s\n", ok ? "PASS" : "FAIL", name, msg);
	fflush(stdout);
	failures += !ok;
}

/* ---- configfs ---- */

static bool put(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	bool ok = fd >= 0 && write(fd, val, strlen(val)) == (ssize_t)strlen(val);

	if (!ok)
		fprintf(stderr, "alua_lio: write '%s' to %s: %s\n", val, path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return ok;
}

static bool mk(const char *path)
{
	if (mkdir(path, 0755) == 0 || errno == EEXIST)
		return true;
	fprintf(stderr, "alua_lio: mkdir %s: %s\n", path, strerror(errno));
	return false;
}

/* TGT/tpgt_T/REL: a directory (val NULL) or a value written to a file. */
static bool tpg(int t, const char *rel, const char *val)
{
	char p[400];

	snprintf(p, sizeof(p), TGT "/tpgt_%d%s%s", t, rel[0] ? "/" : "", rel);
	return val ? put(p, val) : mk(p);
}

static bool setup_tpg(int t, int port, const char *group)
{
	char np[64], link[400];

	snprintf(np, sizeof(np), "np/127.0.0.1:%d", port);
	snprintf(link, sizeof(link), TGT "/tpgt_%d/lun/lun_0/disk0", t);
	return tpg(t, "", NULL) && tpg(t, np, NULL) && tpg(t, "lun/lun_0", NULL) &&
	       (symlink(DEV, link) == 0 || errno == EEXIST) &&
	       tpg(t, "lun/lun_0/alua_tg_pt_gp", group) &&
	       tpg(t, "attrib/authentication", "0") && tpg(t, "attrib/generate_node_acls", "1") &&
	       tpg(t, "attrib/demo_mode_write_protect", "0") &&
	       tpg(t, "attrib/cache_dynamic_acls", "1") && tpg(t, "enable", "1");
}

/* Access states: 0 active/optimized, 1 active/non-optimized, 2 standby. */
static bool set_state(const char *group, int state)
{
	char p[300], v[8];

	snprintf(p, sizeof(p), DEV "/alua/%s/alua_access_state", group);
	snprintf(v, sizeof(v), "%d", state);
	return put(p, v);
}

static bool setup_lio(void)
{
	char ctl[300];
	int fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || ftruncate(fd, IMG_SIZE) < 0)
		return false;
	close(fd);
	snprintf(ctl, sizeof(ctl), "fd_dev_name=%s,fd_dev_size=%u,fd_buffered_io=1", img,
		 IMG_SIZE);
	return mk(CFS "/core/fileio_0") && mk(DEV) && put(DEV "/control", ctl) &&
	       put(DEV "/enable", "1") &&
	       mk(DEV "/alua/a") && put(DEV "/alua/a/tg_pt_gp_id", "16") &&
	       mk(DEV "/alua/b") && put(DEV "/alua/b/tg_pt_gp_id", "17") &&
	       set_state("a", 0) && set_state("b", 1) &&
	       mk(CFS "/iscsi") && mk(TGT) && setup_tpg(1, 3260, "a") && setup_tpg(2, 3261, "b");
}

/* ---- I/O ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void fill(uint8_t *b, uint64_t block, uint32_t gen)
{
	for (uint32_t k = 0; k < BS; k += 8) {
		uint64_t v = (block << 32) ^ ((uint64_t)gen << 16) ^ k;

		memcpy(b + k, &v, 8);
	}
}

typedef struct stream {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint32_t inflight, failed, done;
	bool busy[8];
	vmm_storage_req req[8];
	uint8_t buf[8][BS];
} stream;

static void stream_done(vmm_storage_req *r)
{
	stream *s = r->opaque;

	pthread_mutex_lock(&s->lock);
	s->done++;
	s->failed += r->result != 0;
	s->inflight--;
	s->busy[r - s->req] = false;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* Writes every block with gen's pattern, 8 in flight; midway() at half. */
static uint32_t write_stream(vmm_storage_dev *dev, uint32_t gen, void (*midway)(void))
{
	static stream s;
	static bool init;

	if (!init) {
		pthread_mutex_init(&s.lock, NULL);
		pthread_cond_init(&s.cond, NULL);
		init = true;
	}
	s.failed = s.done = 0;
	for (uint32_t b = 0; b < NBLOCKS; b++) {
		uint32_t slot = 0;
		vmm_storage_req *r;

		pthread_mutex_lock(&s.lock);
		while (s.inflight == 8)
			pthread_cond_wait(&s.cond, &s.lock);
		while (s.busy[slot])
			slot++;
		s.busy[slot] = true;
		s.inflight++;
		pthread_mutex_unlock(&s.lock);
		if (b == NBLOCKS / 2 && midway)
			midway();
		r = &s.req[slot];
		fill(s.buf[slot], b, gen);
		*r = (vmm_storage_req)VMM_STORAGE_REQ_INIT;
		r->op = VMM_STORAGE_OP_WRITE;
		r->offset = (uint64_t)b * BS;
		r->length = BS;
		r->buf = s.buf[slot];
		r->done = stream_done;
		r->opaque = &s;
		if (vmm_storage_submit(dev, r) != 0) {
			stream_done(r);
			s.failed++;
		}
	}
	pthread_mutex_lock(&s.lock);
	while (s.inflight)
		pthread_cond_wait(&s.cond, &s.lock);
	pthread_mutex_unlock(&s.lock);
	return s.failed;
}

static vmm_storage_path_info info(vmm_storage_dev *dev, uint32_t i)
{
	vmm_storage_path_info in = VMM_STORAGE_PATH_INFO_INIT;

	vmm_storage_path_get_info(dev, i, &in);
	return in;
}

static bool wait_states(vmm_storage_dev *dev, uint32_t s0, uint32_t s1, uint32_t ms)
{
	uint64_t end = now_ms() + ms;

	while (info(dev, 0).state != s0 || info(dev, 1).state != s1) {
		if (now_ms() > end)
			return false;
		usleep(20000);
	}
	return true;
}

/* A batch of writes after a change: which paths did they take? */
static bool batch_on(vmm_storage_dev *dev, uint32_t want, uint32_t gen, char *why, size_t n)
{
	uint64_t w0 = info(dev, 0).writes, w1 = info(dev, 1).writes, d0, d1;
	uint32_t failed = write_stream(dev, gen, NULL);

	d0 = info(dev, 0).writes - w0;
	d1 = info(dev, 1).writes - w1;
	snprintf(why, n, "%u writes: %llu on path 0, %llu on path 1, %u failed", NBLOCKS,
		 (unsigned long long)d0, (unsigned long long)d1, failed);
	return !failed && (want == 0 ? d0 == NBLOCKS && !d1 : d1 == NBLOCKS && !d0);
}

static void switch_to_b(void)
{
	set_state("a", 1);
	set_state("b", 0);
}

static void switch_to_a(void)
{
	set_state("b", 2);
	set_state("a", 0);
}

static bool read_back(vmm_storage_dev *dev, uint32_t gen, char *why, size_t n)
{
	uint8_t want[BS], got[BS];
	int fd = open(img, O_RDONLY);

	for (uint32_t b = 0; b < NBLOCKS; b++) {
		fill(want, b, gen);
		if (vmm_storage_io(dev, VMM_STORAGE_OP_READ, (uint64_t)b * BS, got, BS) != 0 ||
		    memcmp(want, got, BS)) {
			snprintf(why, n, "block %u reads back wrong (%s)", b, vmm_last_error());
			return false;
		}
		if (pread(fd, got, BS, (off_t)b * BS) != BS || memcmp(want, got, BS)) {
			snprintf(why, n, "block %u differs in the backstore file", b);
			return false;
		}
	}
	close(fd);
	snprintf(why, n, "%u blocks as last written, through the paths and in the file", NBLOCKS);
	return true;
}

static vmm_storage_dev *open_dev(void)
{
	vmm_storage_config c = VMM_STORAGE_CONFIG_INIT;
	vmm_storage_dev *dev;

	c.name = "lio";
	c.satp = "alua";
	c.psp = "rr";
	c.rr_requests = 1;
	c.block_size = BS;
	c.timeout_ms = 20000;      /* QEMU TCG is slow */
	c.probe_ms = 500;
	if (vmm_storage_create(&c, &dev) != 0)
		return NULL;
	for (int i = 0; i < 2; i++) {
		vmm_storage_path_config pc = VMM_STORAGE_PATH_CONFIG_INIT;
		char url[120];

		snprintf(url, sizeof(url), "iscsi://127.0.0.1:%d/" IQN "/0", 3260 + i);
		pc.kind = VMM_STORAGE_PATH_ISCSI;
		pc.target = url;
		if (vmm_storage_add_path(dev, &pc, NULL) != 0) {
			result(false, "paths", "path %d (%s): %s", i, url, vmm_last_error());
			vmm_storage_destroy(dev);
			return NULL;
		}
	}
	return dev;
}

static void scenario(vmm_storage_dev *dev)
{
	vmm_storage_path_info p0 = info(dev, 0), p1 = info(dev, 1);
	vmm_storage_info di = VMM_STORAGE_INFO_INIT;
	char why[300];
	uint32_t failed;
	bool ok;

	result(p0.target_port_group == 16 && p1.target_port_group == 17 && p0.alua_state == 0 &&
	       p1.alua_state == 1 && p0.state == VMM_STORAGE_ACTIVE &&
	       p1.state == VMM_STORAGE_ACTIVE_NON_OPTIMIZED, "groups-read",
	       "path 0: group %u state %u (%u), path 1: group %u state %u (%u)",
	       p0.target_port_group, p0.alua_state, p0.state, p1.target_port_group,
	       p1.alua_state, p1.state);
	ok = batch_on(dev, 0, 1, why, sizeof(why));
	result(ok, "io-on-optimized", "a optimized, b non-optimized: %s", why);
	/* a -> non-optimized, b -> optimized while writes run */
	failed = write_stream(dev, 2, switch_to_b);
	p0 = info(dev, 0);
	ok = !failed && wait_states(dev, VMM_STORAGE_ACTIVE_NON_OPTIMIZED, VMM_STORAGE_ACTIVE, 30000);
	result(ok && strstr(p0.last_error_msg, "6/2a/06"), "unit-attention",
	       "%u of %u writes failed during the change; path 0 saw \"%s\"; states now %u, %u",
	       failed, NBLOCKS, p0.last_error_msg, info(dev, 0).state, info(dev, 1).state);
	ok = batch_on(dev, 1, 3, why, sizeof(why));
	result(ok, "io-follows-optimized", "b optimized: %s", why);
	/* b -> standby, a -> optimized while writes run */
	failed = write_stream(dev, 4, switch_to_a);
	ok = !failed && wait_states(dev, VMM_STORAGE_ACTIVE, VMM_STORAGE_STANDBY, 30000);
	result(ok, "standby", "%u writes failed during the change; states now %u, %u", failed,
	       info(dev, 0).state, info(dev, 1).state);
	ok = batch_on(dev, 0, 5, why, sizeof(why));
	result(ok, "io-back-on-a", "a optimized, b standby: %s", why);
	vmm_storage_get_info(dev, &di);
	ok = read_back(dev, 5, why, sizeof(why)) && di.failed == 0;
	result(ok, "nothing-lost", "%s; %llu requests, %llu failed, %llu failovers", why,
	       (unsigned long long)di.completed, (unsigned long long)di.failed,
	       (unsigned long long)di.failovers);
}

int main(int argc, char **argv)
{
	vmm_storage_dev *dev;

	if (argc != 2) {
		fprintf(stderr, "usage: alua_lio IMAGE\n");
		return 2;
	}
	img = argv[1];
	if (access(CFS, F_OK) != 0) {
		printf("NOT RUN alua/svm-host: LIO is not loaded (no %s)\n", CFS);
		return 0;
	}
	if (!setup_lio()) {
		result(false, "lio-setup", "configfs refused the setup (messages above)");
		return 1;
	}
	result(true, "lio-setup", "fileio backstore, 2 TPGs on 127.0.0.1:3260/3261, groups a (16) and b (17)");
	if (!(dev = open_dev()))
		return 1;
	scenario(dev);
	vmm_storage_destroy(dev);
	return failures ? 1 : 0;
}
