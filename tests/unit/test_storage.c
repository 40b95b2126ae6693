/* test_storage.c - the storage layer (lib/storage) over raw files: read,
 * write, flush, discard and write-zeroes with the bytes in the file
 * checked; asynchronous requests; bad configs and requests refused with a
 * message; two file paths with a hand-set state; plug-ins registered by
 * name (a PSP, a SATP) and a whole multipathing plug-in of the embedder's;
 * the path threads joined on destroy. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm.h"
#include "lib/storage/storage.h"

#define IMG_SIZE (4u << 20)

static char img[] = "/tmp/vmm-storage-XXXXXX";

static int setup(void **state)
{
	int fd = mkstemp(img);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, IMG_SIZE), 0);
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	unlink(img);
	return 0;
}

static vmm_storage_dev *file_dev_cfg(vmm_storage_config *cfg, uint32_t npaths)
{
	vmm_storage_dev *dev;

	assert_int_equal(vmm_storage_create(cfg, &dev), 0);
	for (uint32_t i = 0; i < npaths; i++) {
		vmm_storage_path_config pc = VMM_STORAGE_PATH_CONFIG_INIT;

		pc.kind = VMM_STORAGE_PATH_FILE;
		pc.target = img;
		assert_int_equal(vmm_storage_add_path(dev, &pc, NULL), 0);
	}
	return dev;
}

static vmm_storage_dev *file_dev(const char *psp, uint32_t npaths)
{
	vmm_storage_config c = VMM_STORAGE_CONFIG_INIT;

	c.psp = psp;
	c.rr_requests = 1;
	return file_dev_cfg(&c, npaths);
}

static uint64_t reads_of(vmm_storage_dev *dev, uint32_t path)
{
	vmm_storage_path_info in = VMM_STORAGE_PATH_INFO_INIT;

	assert_int_equal(vmm_storage_path_get_info(dev, path, &in), 0);
	return in.reads;
}

static void read_n(vmm_storage_dev *dev, int n, uint64_t len)
{
	static uint8_t buf[4096];

	for (int i = 0; i < n; i++)
		assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_READ, 0, buf, len), 0);
}

static void file_read(uint64_t off, void *buf, size_t len)
{
	int fd = open(img, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static uint64_t allocated_bytes(void)
{
	struct stat st;

	assert_int_equal(stat(img, &st), 0);
	return (uint64_t)st.st_blocks * 512;
}

static int count_threads(const char *prefix)
{
	char path[64], name[64];
	struct dirent *e;
	DIR *d = opendir("/proc/self/task");
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d))) {
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%.20s/comm", e->d_name);
		f = fopen(path, "r");
		if (f && fgets(name, sizeof(name), f) && strncmp(name, prefix, strlen(prefix)) == 0)
			n++;
		if (f)
			fclose(f);
	}
	closedir(d);
	return n;
}

/* Every operation on a raw file, checked in the file itself. */
static void test_file_ops(void **state)
{
	static uint8_t buf[65536], got[65536], zero[65536];
	vmm_storage_path_info in = VMM_STORAGE_PATH_INFO_INIT;
	vmm_storage_info di = VMM_STORAGE_INFO_INIT;
	vmm_storage_dev *dev = file_dev(NULL, 1);
	uint64_t before;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_WRITE, 1 << 20, buf, sizeof(buf)), 0);
	file_read(1 << 20, got, sizeof(got));
	assert_memory_equal(got, buf, sizeof(buf));
	memset(got, 0, sizeof(got));
	assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_READ, 1 << 20, got, sizeof(got)), 0);
	assert_memory_equal(got, buf, sizeof(buf));
	assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_FLUSH, 0, NULL, 0), 0);
	before = allocated_bytes();
	assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_DISCARD, 1 << 20, NULL, 32768), 0);
	file_read(1 << 20, got, sizeof(got));
	assert_memory_equal(got, zero, 32768);                 /* punched: zeros */
	assert_memory_equal(got + 32768, buf + 32768, 32768);  /* the rest kept */
	assert_true(allocated_bytes() < before);
	assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_WRITE_ZEROES, (1 << 20) + 32768, NULL,
					4096), 0);
	file_read((1 << 20) + 32768, got, 8192);
	assert_memory_equal(got, zero, 4096);
	assert_memory_equal(got + 4096, buf + 32768 + 4096, 4096);
	assert_int_equal(vmm_storage_path_get_info(dev, 0, &in), 0);
	assert_int_equal(in.kind, VMM_STORAGE_PATH_FILE);
	assert_int_equal(in.state, VMM_STORAGE_ACTIVE);
	assert_int_equal(in.writes, 1);
	assert_int_equal(in.reads, 1);
	assert_int_equal(in.flushes, 1);
	assert_int_equal(in.discards, 1);
	assert_int_equal(in.write_zeroes, 1);
	assert_int_equal(in.bytes_written, sizeof(buf));
	assert_int_equal(in.errors, 0);
	assert_string_equal(in.target, img);
	assert_int_equal(vmm_storage_get_info(dev, &di), 0);
	assert_int_equal(di.capacity, IMG_SIZE);
	assert_int_equal(di.block_size, 512);
	assert_int_equal(di.completed, 5);
	assert_string_equal(di.satp, "default");
	assert_string_equal(di.psp, "fixed");
	assert_int_equal(count_threads("vmm-st"), 1);
	vmm_storage_destroy(dev);
	/* Joined; the kernel may list an exited task for a moment longer. */
	for (int i = 0; i < 100 && count_threads("vmm-st"); i++)
		usleep(10000);
	assert_int_equal(count_threads("vmm-st"), 0);
	vmm_storage_destroy(NULL);
}

typedef struct counter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint32_t done, failed;
} counter;

static void count_done(vmm_storage_req *r)
{
	counter *c = r->opaque;

	pthread_mutex_lock(&c->lock);
	c->done++;
	c->failed += r->result != 0;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

/* 256 asynchronous writes over two paths in round robin, then checked. */
static void test_async_two_paths(void **state)
{
	static uint8_t bufs[256][512];
	static vmm_storage_req reqs[256];
	counter c = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0 };
	vmm_storage_path_info a = VMM_STORAGE_PATH_INFO_INIT, b = VMM_STORAGE_PATH_INFO_INIT;
	vmm_storage_dev *dev = file_dev("rr", 2);
	uint8_t got[512];

	for (uint32_t i = 0; i < 256; i++) {
		memset(bufs[i], (int)i, 512);
		reqs[i] = (vmm_storage_req)VMM_STORAGE_REQ_INIT;
		reqs[i].op = VMM_STORAGE_OP_WRITE;
		reqs[i].offset = i * 512ull;
		reqs[i].length = 512;
		reqs[i].buf = bufs[i];
		reqs[i].done = count_done;
		reqs[i].opaque = &c;
		assert_int_equal(vmm_storage_submit(dev, &reqs[i]), 0);
	}
	pthread_mutex_lock(&c.lock);
	while (c.done < 256)
		pthread_cond_wait(&c.cond, &c.lock);
	pthread_mutex_unlock(&c.lock);
	assert_int_equal(c.failed, 0);
	for (uint32_t i = 0; i < 256; i++) {
		file_read(i * 512ull, got, 512);
		assert_memory_equal(got, bufs[i], 512);
		assert_true(reqs[i].path < 2);
		assert_int_equal(reqs[i].attempts, 1);
	}
	assert_int_equal(vmm_storage_path_get_info(dev, 0, &a), 0);
	assert_int_equal(vmm_storage_path_get_info(dev, 1, &b), 0);
	assert_int_equal(a.writes, 128);
	assert_int_equal(b.writes, 128);
	assert_int_equal(count_threads("vmm-st"), 2);
	vmm_storage_destroy(dev);
}

static uint32_t changes, last_new;

static void on_change(void *opaque, vmm_storage_dev *dev, uint32_t path, uint32_t old_state,
		      uint32_t new_state)
{
	__atomic_add_fetch(&changes, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&last_new, new_state, __ATOMIC_SEQ_CST);
}

/* A path set to standby by hand gets no requests; set back, it does. */
static void test_standby_by_hand(void **state)
{
	vmm_storage_config c = VMM_STORAGE_CONFIG_INIT;
	vmm_storage_path_config pc = VMM_STORAGE_PATH_CONFIG_INIT;
	vmm_storage_path_info a = VMM_STORAGE_PATH_INFO_INIT, b = VMM_STORAGE_PATH_INFO_INIT;
	vmm_storage_dev *dev;
	uint8_t buf[512] = { 1 };

	c.psp = "fixed";
	c.state_changed = on_change;
	assert_int_equal(vmm_storage_create(&c, &dev), 0);
	pc.kind = VMM_STORAGE_PATH_FILE;
	pc.target = img;
	assert_int_equal(vmm_storage_add_path(dev, &pc, NULL), 0);
	pc.flags = VMM_STORAGE_PATH_PREFERRED;
	assert_int_equal(vmm_storage_add_path(dev, &pc, NULL), 0);
	assert_int_equal(vmm_storage_path_set_state(dev, 1, VMM_STORAGE_STANDBY), 0);
	assert_int_equal(changes, 1);
	assert_int_equal(last_new, VMM_STORAGE_STANDBY);
	assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_WRITE, 0, buf, 512), 0);
	assert_int_equal(vmm_storage_path_set_state(dev, 1, VMM_STORAGE_ACTIVE), 0);
	assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_WRITE, 0, buf, 512), 0);
	assert_int_equal(vmm_storage_path_get_info(dev, 0, &a), 0);
	assert_int_equal(vmm_storage_path_get_info(dev, 1, &b), 0);
	assert_int_equal(a.writes, 1);
	assert_int_equal(b.writes, 1);
	assert_int_equal(b.state_changes, 2);
	assert_int_equal(vmm_storage_path_set_state(dev, 2, VMM_STORAGE_ACTIVE), VMM_ENOENT);
	assert_int_equal(vmm_storage_path_set_state(dev, 0, 9), VMM_EINVAL);
	vmm_storage_destroy(dev);
}

/* MRU stays on the path in use and does not fail back. */
static void test_mru(void **state)
{
	vmm_storage_dev *dev = file_dev("mru", 2);

	read_n(dev, 5, 512);
	assert_int_equal(reads_of(dev, 0), 5);
	assert_int_equal(vmm_storage_path_set_state(dev, 0, VMM_STORAGE_STANDBY), 0);
	read_n(dev, 5, 512);
	assert_int_equal(reads_of(dev, 1), 5);
	assert_int_equal(vmm_storage_path_set_state(dev, 0, VMM_STORAGE_ACTIVE), 0);
	read_n(dev, 5, 512);
	assert_int_equal(reads_of(dev, 0), 5);   /* stayed on path 1 */
	assert_int_equal(reads_of(dev, 1), 10);
	vmm_storage_destroy(dev);
}

/* Round robin by bytes, and only over the optimized paths while any is. */
static void test_rr_bytes_and_optimized(void **state)
{
	vmm_storage_config c = VMM_STORAGE_CONFIG_INIT;
	vmm_storage_dev *dev;

	c.psp = "rr";
	c.rr_requests = 1000;
	c.rr_bytes = 2048;                       /* four 512-byte reads per path */
	dev = file_dev_cfg(&c, 3);
	read_n(dev, 24, 512);
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(reads_of(dev, i), 8);
	assert_int_equal(vmm_storage_path_set_state(dev, 1, VMM_STORAGE_ACTIVE_NON_OPTIMIZED),
			 0);
	read_n(dev, 16, 512);
	assert_int_equal(reads_of(dev, 1), 8);   /* non-optimized: skipped */
	assert_int_equal(reads_of(dev, 0) + reads_of(dev, 2), 32);
	assert_int_equal(reads_of(dev, 0), 16);
	/* no optimized path left: the non-optimized one serves */
	assert_int_equal(vmm_storage_path_set_state(dev, 0, VMM_STORAGE_STANDBY), 0);
	assert_int_equal(vmm_storage_path_set_state(dev, 2, VMM_STORAGE_UNAVAILABLE), 0);
	read_n(dev, 4, 512);
	assert_int_equal(reads_of(dev, 1), 12);
	vmm_storage_destroy(dev);
}

/* With no usable path a request waits for one (no_path_ms), then fails. */
static void test_no_path_waits(void **state)
{
	counter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0 };
	vmm_storage_config c = VMM_STORAGE_CONFIG_INIT;
	vmm_storage_req r = VMM_STORAGE_REQ_INIT;
	vmm_storage_dev *dev;
	uint8_t buf[512];
	struct timespec t0, t1;

	c.no_path_ms = 400;
	dev = file_dev_cfg(&c, 1);
	assert_int_equal(vmm_storage_path_set_state(dev, 0, VMM_STORAGE_STANDBY), 0);
	r.op = VMM_STORAGE_OP_READ;
	r.length = 512;
	r.buf = buf;
	r.done = count_done;
	r.opaque = &w;
	assert_int_equal(vmm_storage_submit(dev, &r), 0);
	usleep(100000);
	assert_int_equal(__atomic_load_n(&w.done, __ATOMIC_SEQ_CST), 0);   /* parked */
	assert_int_equal(vmm_storage_path_set_state(dev, 0, VMM_STORAGE_ACTIVE), 0);
	pthread_mutex_lock(&w.lock);
	while (!w.done)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	assert_int_equal(r.result, 0);
	assert_int_equal(r.path, 0);
	/* and when no path comes back */
	assert_int_equal(vmm_storage_path_set_state(dev, 0, VMM_STORAGE_STANDBY), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_READ, 0, buf, 512), VMM_EIO);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 >= 390);
	assert_non_null(strstr(vmm_last_error(), "failed on every path"));
	vmm_storage_destroy(dev);
}

/* Bad configs, paths and requests are refused with a message. */
static void test_bad_input(void **state)
{
	vmm_storage_config c = VMM_STORAGE_CONFIG_INIT;
	vmm_storage_path_config pc = VMM_STORAGE_PATH_CONFIG_INIT;
	vmm_storage_req r = VMM_STORAGE_REQ_INIT;
	vmm_storage_dev *dev;
	uint8_t buf[1024];
	char other[] = "/tmp/vmm-storage2-XXXXXX";
	int fd;

	assert_int_equal(vmm_storage_create(NULL, &dev), VMM_EINVAL);
	c.block_size = 1000;
	assert_int_equal(vmm_storage_create(&c, &dev), VMM_EINVAL);
	assert_non_null(strstr(vmm_last_error(), "block_size"));
	c.block_size = 0;
	c.psp = "nope";
	assert_int_equal(vmm_storage_create(&c, &dev), VMM_ENOENT);
	assert_non_null(strstr(vmm_last_error(), "no PSP named \"nope\""));
	c.psp = NULL;
	assert_int_equal(vmm_storage_create(&c, &dev), 0);
	assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_READ, 0, buf, 512), VMM_ESTATE);
	pc.kind = 77;
	pc.target = img;
	assert_int_equal(vmm_storage_add_path(dev, &pc, NULL), VMM_EINVAL);
	pc.kind = VMM_STORAGE_PATH_FILE;
	pc.target = "/nonexistent/disk.img";
	assert_int_equal(vmm_storage_add_path(dev, &pc, NULL), VMM_EIO);
	assert_non_null(strstr(vmm_last_error(), "No such file"));
	pc.target = img;
	assert_int_equal(vmm_storage_add_path(dev, &pc, NULL), 0);
	fd = mkstemp(other);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
	pc.target = other;   /* a different disk */
	assert_int_equal(vmm_storage_add_path(dev, &pc, NULL), VMM_EINVAL);
	assert_non_null(strstr(vmm_last_error(), "not the same disk"));
	unlink(other);
	assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_READ, 100, buf, 512), VMM_EINVAL);
	assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_READ, 0, buf, 500), VMM_EINVAL);
	assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_READ, IMG_SIZE - 512, buf, 1024),
			 VMM_EINVAL);
	assert_non_null(strstr(vmm_last_error(), "past the end"));
	assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_READ, ~0ull - 511, buf, 1024),
			 VMM_EINVAL);
	assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_READ, 0, NULL, 512), VMM_EINVAL);
	assert_int_equal(vmm_storage_io(dev, 9, 0, buf, 512), VMM_EINVAL);
	r.size = 8;
	assert_int_equal(vmm_storage_submit(dev, &r), VMM_EINVAL);
	assert_int_equal(vmm_storage_submit(dev, NULL), VMM_EINVAL);
	assert_int_equal(vmm_storage_submit(NULL, &r), VMM_EINVAL);
	vmm_storage_destroy(dev);
	/* read-only device */
	c.flags = VMM_STORAGE_READONLY;
	pc.target = img;
	assert_int_equal(vmm_storage_create(&c, &dev), 0);
	assert_int_equal(vmm_storage_add_path(dev, &pc, NULL), 0);
	assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_READ, 0, buf, 512), 0);
	assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_WRITE, 0, buf, 512), VMM_EINVAL);
	assert_non_null(strstr(vmm_last_error(), "read-only"));
	vmm_storage_destroy(dev);
}

/* An embedder's PSP: always the last path. */
static int32_t last_select(void *opaque, void *st, const vmm_storage_psp_request *r)
{
	(*(int *)opaque)++;
	return (int32_t)r->npaths - 1;
}

static const vmm_storage_psp last_psp = { VMM_STORAGE_PSP_VERSION, 0, "last", NULL, NULL,
					  last_select };
static const vmm_storage_psp rr_again = { VMM_STORAGE_PSP_VERSION, 0, "rr", NULL, NULL,
					  last_select };

static void test_plugins(void **state)
{
	vmm_storage_config c = VMM_STORAGE_CONFIG_INIT;
	vmm_storage_path_info b = VMM_STORAGE_PATH_INFO_INIT;
	vmm_storage_dev *dev;
	uint8_t buf[512] = { 0 };
	int calls = 0;

	assert_int_equal(vmm_storage_register_psp(&last_psp, &calls), 0);
	assert_int_equal(vmm_storage_register_psp(&last_psp, &calls), VMM_EEXIST);
	assert_int_equal(vmm_storage_register_psp(&rr_again, NULL), VMM_EEXIST);
	c.psp = "last";
	assert_int_equal(vmm_storage_create(&c, &dev), 0);
	for (int i = 0; i < 3; i++) {
		vmm_storage_path_config pc = VMM_STORAGE_PATH_CONFIG_INIT;

		pc.kind = VMM_STORAGE_PATH_FILE;
		pc.target = img;
		assert_int_equal(vmm_storage_add_path(dev, &pc, NULL), 0);
	}
	for (int i = 0; i < 5; i++)
		assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_READ, 0, buf, 512), 0);
	assert_int_equal(calls, 5);
	assert_int_equal(vmm_storage_path_get_info(dev, 2, &b), 0);
	assert_int_equal(b.reads, 5);
	assert_int_equal(vmm_storage_unregister_psp("last"), VMM_EBUSY);
	vmm_storage_destroy(dev);
	assert_int_equal(vmm_storage_unregister_psp("last"), 0);
	assert_int_equal(vmm_storage_unregister_psp("last"), VMM_ENOENT);
	assert_int_equal(vmm_storage_unregister_psp("rr"), VMM_EINVAL);
	assert_int_equal(vmm_storage_unregister_satp("default"), VMM_EINVAL);
}

/* ---- A whole multipathing plug-in: sends everything to path 1 with a
 * request of its own, and completes the caller's from its done. ---- */

typedef struct mpp_state {
	vmm_storage_req sub;
	vmm_storage_req *orig;
	vmm_storage_dev *dev;
	int submits;
} mpp_state;

static void mpp_sub_done(vmm_storage_req *sub)
{
	mpp_state *m = sub->opaque;

	vmm_storage_complete(m->dev, m->orig, sub->result);
}

static void mpp_submit(void *opaque, vmm_storage_dev *dev, vmm_storage_req *req)
{
	mpp_state *m = opaque;

	m->submits++;
	m->orig = req;
	m->dev = dev;
	m->sub = *req;
	m->sub.done = mpp_sub_done;
	m->sub.opaque = m;
	if (vmm_storage_path_submit(dev, 1, &m->sub) != 0)
		vmm_storage_complete(dev, req, VMM_EIO);
}

static void test_mpp(void **state)
{
	static const vmm_storage_mpp mpp = { VMM_STORAGE_MPP_VERSION, 0, mpp_submit, NULL };
	vmm_storage_config c = VMM_STORAGE_CONFIG_INIT;
	vmm_storage_path_info a = VMM_STORAGE_PATH_INFO_INIT, b = VMM_STORAGE_PATH_INFO_INIT;
	mpp_state m = { 0 };
	vmm_storage_dev *dev;
	uint8_t buf[512], got[512];

	c.mpp = &mpp;
	c.mpp_opaque = &m;
	assert_int_equal(vmm_storage_create(&c, &dev), 0);
	for (int i = 0; i < 2; i++) {
		vmm_storage_path_config pc = VMM_STORAGE_PATH_CONFIG_INIT;

		pc.kind = VMM_STORAGE_PATH_FILE;
		pc.target = img;
		pc.flags = i == 0 ? VMM_STORAGE_PATH_PREFERRED : 0;
		assert_int_equal(vmm_storage_add_path(dev, &pc, NULL), 0);
	}
	memset(buf, 0x5a, sizeof(buf));
	assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_WRITE, 4096, buf, 512), 0);
	assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_READ, 4096, got, 512), 0);
	assert_memory_equal(got, buf, 512);
	assert_int_equal(m.submits, 2);
	assert_int_equal(vmm_storage_path_get_info(dev, 0, &a), 0);
	assert_int_equal(vmm_storage_path_get_info(dev, 1, &b), 0);
	assert_int_equal(a.writes + a.reads, 0);
	assert_int_equal(b.writes, 1);
	assert_int_equal(b.reads, 1);
	assert_int_equal(vmm_storage_path_submit(dev, 5, &m.sub), VMM_ENOENT);
	vmm_storage_destroy(dev);
}

static vmm_storage_decision decide(const vmm_storage_satp *satp, uint32_t kind,
				   uint8_t key, uint8_t asc, uint8_t ascq, int err)
{
	vmm_storage_event ev = { sizeof(ev), kind, 0, VMM_STORAGE_ACTIVE, VMM_STORAGE_PATH_ISCSI,
				 VMM_STORAGE_OP_WRITE, VMM_EIO, err, key ? 0x02 : 0, key, asc,
				 ascq, 0 };
	vmm_storage_decision d = { sizeof(d), VMM_STORAGE_ACTIVE, VMM_STORAGE_RETRY, 0 };

	satp->request_failed(NULL, &ev, &d);
	return d;
}

/* The built-in SATPs' decisions on sense data and errors, and the ALUA
 * state mapping. */
static void test_satp_decisions(void **state)
{
	const vmm_storage_satp *def = &vmm__satp_default, *alua = &vmm__satp_alua;
	vmm_storage_event ev = { sizeof(ev), VMM_STORAGE_EV_OPENED, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				 0 };
	static const uint32_t map[][2] = {
		{ 0x0, VMM_STORAGE_ACTIVE }, { 0x1, VMM_STORAGE_ACTIVE_NON_OPTIMIZED },
		{ 0x2, VMM_STORAGE_STANDBY }, { 0x3, VMM_STORAGE_UNAVAILABLE },
		{ 0xe, VMM_STORAGE_UNAVAILABLE }, { 0xf, VMM_STORAGE_UNAVAILABLE },
		{ 0xff, VMM_STORAGE_ACTIVE } };
	vmm_storage_decision d;

	d = decide(def, VMM_STORAGE_EV_CONN_LOST, 0, 0, 0, ECONNRESET);
	assert_int_equal(d.state, VMM_STORAGE_DEAD);
	assert_int_equal(d.action, VMM_STORAGE_RETRY);
	d = decide(def, VMM_STORAGE_EV_IO_ERROR, 0, 0, 0, EIO);
	assert_int_equal(d.state, VMM_STORAGE_ACTIVE);
	assert_int_equal(d.action, VMM_STORAGE_RETRY);
	assert_int_equal(decide(def, VMM_STORAGE_EV_IO_ERROR, 0, 0, 0, ENOSPC).action,
			 VMM_STORAGE_FAIL);
	assert_int_equal(decide(def, VMM_STORAGE_EV_IO_ERROR, 0x3, 0x11, 0, EIO).action,
			 VMM_STORAGE_FAIL);                       /* medium error */
	assert_int_equal(decide(def, VMM_STORAGE_EV_IO_ERROR, 0x6, 0x29, 0, EIO).action,
			 VMM_STORAGE_RETRY_SAME);                 /* reset UA */
	assert_int_equal(decide(alua, VMM_STORAGE_EV_IO_ERROR, 0x6, 0x2a, 0x06, EIO).action,
			 VMM_STORAGE_RECHECK);                    /* ALUA state changed */
	d = decide(alua, VMM_STORAGE_EV_IO_ERROR, 0x2, 0x04, 0x0b, EIO);
	assert_int_equal(d.state, VMM_STORAGE_STANDBY);
	assert_int_equal(d.action, VMM_STORAGE_RECHECK);
	d = decide(alua, VMM_STORAGE_EV_IO_ERROR, 0x2, 0x04, 0x0a, EIO);
	assert_int_equal(d.state, VMM_STORAGE_UNAVAILABLE);
	assert_int_equal(decide(alua, VMM_STORAGE_EV_TIMEOUT, 0, 0, 0, ETIMEDOUT).state,
			 VMM_STORAGE_DEAD);
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		ev.alua_state = map[i][0];
		assert_int_equal(alua->path_state(NULL, &ev), map[i][1]);
		assert_int_equal(def->path_state(NULL, &ev), VMM_STORAGE_ACTIVE);
	}
}

/* REPORT TARGET PORT GROUPS answers, good and hostile. */
static void test_rtpg_parse(void **state)
{
	/* two groups: 1 active/optimized (2 ports), 2 standby (1 port) */
	static const uint8_t two[] = { 0, 0, 0, 28,
		0x80, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2,
		0x02, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 3 };
	uint8_t evil[64];
	uint32_t st = 99;

	assert_int_equal(vmm__alua_find_state(two, sizeof(two), 1, &st), 0);
	assert_int_equal(st, 0x0);
	assert_int_equal(vmm__alua_find_state(two, sizeof(two), 2, &st), 0);
	assert_int_equal(st, 0x2);
	assert_int_equal(vmm__alua_find_state(two, sizeof(two), 3, &st), -1);
	assert_int_equal(vmm__alua_find_state(two, sizeof(two), 0, &st), -1);  /* which one? */
	assert_int_equal(vmm__alua_find_state(two, 3, 1, &st), -1);            /* truncated */
	assert_int_equal(vmm__alua_find_state(two, 12, 2, &st), -1);  /* group 2 cut off */
	/* a length and a port count pointing far past the buffer */
	memset(evil, 0, sizeof(evil));
	evil[0] = 0xff;
	evil[4] = 0x01;
	evil[7] = 0xff;
	evil[11] = 0xff;
	assert_int_equal(vmm__alua_find_state(evil, sizeof(evil), 7, &st), -1);
	assert_int_equal(vmm__alua_find_state(evil, sizeof(evil), 0, &st), 0);
	assert_int_equal(st, 0x1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_ops),
		cmocka_unit_test(test_async_two_paths),
		cmocka_unit_test(test_standby_by_hand),
		cmocka_unit_test(test_mru),
		cmocka_unit_test(test_rr_bytes_and_optimized),
		cmocka_unit_test(test_no_path_waits),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_plugins),
		cmocka_unit_test(test_mpp),
		cmocka_unit_test(test_satp_decisions),
		cmocka_unit_test(test_rtpg_parse),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
