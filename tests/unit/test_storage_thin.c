/* test_storage_thin.c - thin provisioning (vmm/storage.h): a device's
 * provisioned vs allocated bytes over qcow2 images from qemu-img and raw
 * files, and datastores over a real file system of a known size: a 64 MiB
 * tmpfs mounted in a mount namespace of this test's own (so the file
 * system's used share moves with what the disks write). Alerts at the
 * datastore's used_pct thresholds, a disk's allocation limit and
 * overcommit are raised once per crossing, cleared on the way back down,
 * raised again on the next crossing; by vmm_datastore_poll and by the
 * datastore's own thread. vmm_storage_resize grows qcow2 and raw devices. Skipped without qemu-img or without a way to
 * mount the tmpfs (neither root nor user namespaces). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm.h"

#define MiB (1ull << 20)
#define FS_SIZE (64 * MiB)

static char dir[] = "/tmp/vmm-thin-XXXXXX";
static char skip_why[200];
static bool mounted;

static void need_fs(void)
{
	if (skip_why[0]) {
		print_message("skipped: %s\n", skip_why);
		skip();
	}
}

static int sh(const char *fmt, const char *a)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), fmt, a);
	return system(cmd);
}

static char *path_in(const char *name)
{
	static char p[4][200];
	static int k;

	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
	return p[k];
}

static uint64_t st_bytes(const char *p)
{
	struct stat st;

	assert_int_equal(stat(p, &st), 0);
	return (uint64_t)st.st_blocks * 512;
}

static vmm_storage_dev *open_dev(const char *file, uint32_t kind)
{
	vmm_storage_config c = VMM_STORAGE_CONFIG_INIT;
	vmm_storage_path_config pc = VMM_STORAGE_PATH_CONFIG_INIT;
	vmm_storage_dev *dev;

	c.name = file;
	assert_int_equal(vmm_storage_create(&c, &dev), 0);
	pc.kind = kind;
	pc.target = file;
	if (vmm_storage_add_path(dev, &pc, NULL) != 0)
		fail_msg("add_path %s: %s", file, vmm_last_error());
	return dev;
}

static vmm_storage_dev *new_qcow2(const char *name, const char *size)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "qemu-img create -q -f qcow2 %s %s", path_in(name), size);
	assert_int_equal(system(cmd), 0);
	return open_dev(path_in(name), VMM_STORAGE_PATH_QCOW2);
}

static vmm_storage_dev *new_raw(const char *name, uint64_t size)
{
	int fd = open(path_in(name), O_RDWR | O_CREAT | O_EXCL, 0644);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	close(fd);
	return open_dev(path_in(name), VMM_STORAGE_PATH_FILE);
}

/* Writes mib MiB of non-zero data at off. */
static void write_mib(vmm_storage_dev *dev, uint64_t off, uint32_t mib)
{
	static uint8_t buf[MiB];

	for (uint32_t i = 0; i < MiB; i++)
		buf[i] = (uint8_t)(i * 7 + 1);
	for (uint32_t i = 0; i < mib; i++)
		assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_WRITE, off + i * MiB, buf, MiB), 0);
	assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_FLUSH, 0, NULL, 0), 0);
}

static vmm_storage_space space_of(vmm_storage_dev *dev)
{
	vmm_storage_space s = VMM_STORAGE_SPACE_INIT;

	assert_int_equal(vmm_storage_get_space(dev, &s), 0);
	return s;
}

/* qemu-img's count of allocated data clusters (64 KiB each). */
static uint64_t qemu_img_data_bytes(const char *file)
{
	char cmd[300], line[300];
	unsigned long long n = 0;   /* qemu-img leaves the key out when 0 */
	bool checked = false;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "qemu-img check -U --output=json %s", file);
	assert_non_null(f = popen(cmd, "r"));
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "\"allocated-clusters\""))
			sscanf(strchr(line, ':') + 1, "%llu", &n);
		checked |= strstr(line, "\"check-errors\": 0") != NULL;
	}
	pclose(f);
	assert_true(checked);
	return n * 65536;
}

/* A 1 GiB image from qemu-img: 10 MiB written and discarded again; the
 * figures follow and agree with qemu-img and the file's blocks. */
static void test_space_qcow2(void **state)
{
	vmm_storage_dev *dev;
	vmm_storage_space s0, s1, s2;
	const char *file = path_in("a.qcow2");

	need_fs();
	dev = new_qcow2("a.qcow2", "1G");
	s0 = space_of(dev);
	assert_int_equal(s0.flags, VMM_STORAGE_SPACE_KNOWN);
	assert_int_equal(s0.path, 0);
	assert_int_equal(s0.provisioned, 1ull << 30);
	assert_true(s0.allocated > 0 && s0.allocated <= 4 * 65536);   /* metadata only */
	write_mib(dev, 100 * MiB, 10);
	s1 = space_of(dev);
	assert_int_equal(s1.provisioned, 1ull << 30);
	assert_true(s1.allocated >= s0.allocated + 10 * MiB);
	assert_true(s1.allocated <= s0.allocated + 10 * MiB + 65536);  /* + one L2 table */
	assert_int_equal(s1.host_bytes, st_bytes(file));
	assert_int_equal(qemu_img_data_bytes(file), 10 * MiB);
	assert_int_equal(s1.allocated - qemu_img_data_bytes(file), s0.allocated + 65536);
	assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_DISCARD, 100 * MiB, NULL, 10 * MiB), 0);
	s2 = space_of(dev);
	assert_int_equal(s2.allocated, s0.allocated + 65536);   /* the L2 table stays */
	assert_true(s2.host_bytes + 10 * MiB <= s1.host_bytes);
	assert_int_equal(s2.host_bytes, st_bytes(file));
	assert_int_equal(qemu_img_data_bytes(file), 0);
	vmm_storage_destroy(dev);
	assert_int_equal(sh("qemu-img check -q %s", file), 0);
	unlink(file);
}

/* A sparse raw file: allocation is its host blocks. */
static void test_space_raw(void **state)
{
	vmm_storage_dev *dev;
	vmm_storage_space s;
	const char *file = path_in("b.raw");

	need_fs();
	dev = new_raw("b.raw", 32 * MiB);
	s = space_of(dev);
	assert_int_equal(s.provisioned, 32 * MiB);
	assert_int_equal(s.allocated, 0);
	write_mib(dev, 8 * MiB, 4);
	s = space_of(dev);
	assert_int_equal(s.allocated, 4 * MiB);
	assert_int_equal(s.host_bytes, 4 * MiB);
	assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_DISCARD, 8 * MiB, NULL, 2 * MiB), 0);
	assert_int_equal(space_of(dev).allocated, 2 * MiB);
	/* a dead path is measured by its file's name */
	assert_int_equal(vmm_storage_path_set_state(dev, 0, VMM_STORAGE_DEAD), 0);
	s = space_of(dev);
	assert_int_equal(s.flags, VMM_STORAGE_SPACE_KNOWN);
	assert_int_equal(s.allocated, 2 * MiB);
	vmm_storage_destroy(dev);
	unlink(file);
}

/* ---- Alerts ---- */

typedef struct rec {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	vmm_storage_alert a[64];
	uint32_t n;
	vmm_datastore_info seen;   /* read from inside the callback */
	bool read_inside;
} rec;

static void on_alert(void *opaque, vmm_datastore *ds, const vmm_storage_alert *a)
{
	rec *r = opaque;
	vmm_datastore_info in = VMM_DATASTORE_INFO_INIT;

	/* reading from inside the callback must work (no lock held twice) */
	assert_int_equal(vmm_datastore_get_info(ds, &in), 0);
	if (a->dev) {
		vmm_storage_space s = VMM_STORAGE_SPACE_INIT;

		assert_int_equal(vmm_storage_get_space(a->dev, &s), 0);
		assert_int_equal(s.allocated, a->value);
	}
	pthread_mutex_lock(&r->lock);
	if (r->n < 64)
		r->a[r->n++] = *a;
	r->seen = in;
	r->read_inside = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

static void rec_init(rec *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
}

/* Polls and returns the alerts that poll raised or cleared. */
static uint32_t poll_alerts(vmm_datastore *ds, rec *r, vmm_storage_alert *out)
{
	uint32_t before = r->n, n;

	assert_int_equal(vmm_datastore_poll(ds), 0);
	n = r->n - before;
	memcpy(out, r->a + before, n * sizeof(*out));
	return n;
}

static void check_alert(const vmm_storage_alert *a, uint32_t kind, uint32_t raised, uint32_t pct)
{
	assert_int_equal(a->size, sizeof(*a));
	assert_int_equal(a->kind, kind);
	assert_int_equal(a->raised, raised);
	assert_int_equal(a->threshold_pct, pct);
	assert_string_equal(a->datastore, "thin");
}

static vmm_datastore *new_ds(rec *r, uint32_t poll_ms)
{
	vmm_datastore_config c = VMM_DATASTORE_CONFIG_INIT;
	vmm_datastore *ds;

	c.path = dir;
	c.name = "thin";
	c.used_pct[0] = 50;
	c.used_pct[1] = 25;   /* any order */
	c.poll_ms = poll_ms;
	c.alert = on_alert;
	c.opaque = r;
	assert_int_equal(vmm_datastore_create(&c, &ds), 0);
	return ds;
}

static void test_datastore_alerts(void **state)
{
	vmm_storage_alert got[16];
	vmm_datastore_info in = VMM_DATASTORE_INFO_INIT;
	vmm_storage_dev *a, *b;
	vmm_datastore *ds;
	rec r;

	need_fs();
	rec_init(&r);
	ds = new_ds(&r, 0);
	a = new_qcow2("ds-a.qcow2", "1G");
	b = new_raw("ds-b.raw", 32 * MiB);
	assert_int_equal(vmm_datastore_add(ds, a, 8 * MiB), 0);
	assert_int_equal(vmm_datastore_add(ds, b, 0), 0);
	assert_int_equal(vmm_datastore_get_info(ds, &in), 0);
	assert_int_equal(in.ndisks, 2);
	assert_int_equal(in.capacity, FS_SIZE);
	assert_int_equal(in.provisioned, (1ull << 30) + 32 * MiB);
	assert_int_equal(in.overcommit, in.provisioned - FS_SIZE);
	assert_int_equal(in.provisioned_pct, 1650);
	assert_int_equal(in.allocated, space_of(a).allocated);
	assert_true(in.used_pct < 25);
	/* 1 GiB + 32 MiB on 64 MiB: overcommitted, raised once */
	assert_int_equal(poll_alerts(ds, &r, got), 1);
	check_alert(&got[0], VMM_STORAGE_ALERT_OVERCOMMIT, 1, 0);
	assert_int_equal(got[0].threshold, FS_SIZE);
	assert_int_equal(got[0].value, in.provisioned);
	assert_null(got[0].dev);
	assert_int_equal(poll_alerts(ds, &r, got), 0);
	/* disk a past its 8 MiB limit */
	write_mib(a, 0, 10);
	assert_int_equal(poll_alerts(ds, &r, got), 1);
	check_alert(&got[0], VMM_STORAGE_ALERT_DISK_ALLOCATED, 1, 0);
	assert_ptr_equal(got[0].dev, a);
	assert_int_equal(got[0].threshold, 8 * MiB);
	assert_true(got[0].value >= 10 * MiB);
	assert_int_equal(poll_alerts(ds, &r, got), 0);   /* once per crossing */
	/* the file system past 25 % (16 MiB) */
	write_mib(b, 0, 8);
	assert_int_equal(poll_alerts(ds, &r, got), 1);
	check_alert(&got[0], VMM_STORAGE_ALERT_DATASTORE_USED, 1, 25);
	assert_int_equal(got[0].threshold, FS_SIZE / 4);
	assert_true(got[0].value >= FS_SIZE / 4 && got[0].value < FS_SIZE / 2);
	assert_int_equal(poll_alerts(ds, &r, got), 0);
	/* the guest trims a: both clear */
	assert_int_equal(vmm_storage_io(a, VMM_STORAGE_OP_DISCARD, 0, NULL, 10 * MiB), 0);
	assert_int_equal(poll_alerts(ds, &r, got), 2);
	check_alert(&got[0], VMM_STORAGE_ALERT_DATASTORE_USED, 0, 25);
	check_alert(&got[1], VMM_STORAGE_ALERT_DISK_ALLOCATED, 0, 0);
	assert_true(got[1].value < 8 * MiB);
	/* and the next crossing raises them again */
	write_mib(a, 0, 10);
	assert_int_equal(poll_alerts(ds, &r, got), 2);
	check_alert(&got[0], VMM_STORAGE_ALERT_DATASTORE_USED, 1, 25);
	check_alert(&got[1], VMM_STORAGE_ALERT_DISK_ALLOCATED, 1, 0);
	assert_int_equal(vmm_datastore_get_info(ds, &in), 0);
	assert_int_equal(in.alerts, 5);
	assert_int_equal(in.polls, 8);
	assert_true(r.read_inside);
	assert_int_equal(r.seen.ndisks, 2);
	/* without the disks nothing is provisioned any more */
	assert_int_equal(vmm_datastore_remove(ds, a), 0);
	vmm_storage_destroy(b);   /* leaves the datastore by itself */
	assert_int_equal(vmm_datastore_get_info(ds, &in), 0);
	assert_int_equal(in.ndisks, 0);
	assert_int_equal(in.provisioned, 0);
	assert_int_equal(in.overcommit, 0);
	assert_int_equal(poll_alerts(ds, &r, got), 1);
	check_alert(&got[0], VMM_STORAGE_ALERT_OVERCOMMIT, 0, 0);
	vmm_datastore_destroy(ds);
	vmm_storage_destroy(a);
	unlink(path_in("ds-a.qcow2"));
	unlink(path_in("ds-b.raw"));
}

static int threads_named(const char *prefix)
{
	char p[300], name[64];
	struct dirent *e;
	DIR *d = opendir("/proc/self/task");
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d))) {
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/proc/self/task/%s/comm", e->d_name);
		if (!(f = fopen(p, "r")))
			continue;
		if (fgets(name, sizeof(name), f) && !strncmp(name, prefix, strlen(prefix)))
			n++;
		fclose(f);
	}
	closedir(d);
	return n;
}

/* The datastore's own thread polls: the alert arrives without a call, once. */
static void test_datastore_thread(void **state)
{
	vmm_datastore_info in = VMM_DATASTORE_INFO_INIT;
	struct timespec t;
	vmm_storage_dev *a;
	vmm_datastore *ds;
	uint64_t polls;
	rec r;
	int rc = 0;

	need_fs();
	rec_init(&r);
	a = new_raw("th.raw", 16 * MiB);
	ds = new_ds(&r, 20);
	assert_int_equal(threads_named("vmm-ds"), 1);
	assert_int_equal(vmm_datastore_add(ds, a, 3 * MiB), 0);
	write_mib(a, 0, 4);
	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += 30;
	pthread_mutex_lock(&r.lock);
	while (r.n == 0 && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&r.cond, &r.lock, &t);
	pthread_mutex_unlock(&r.lock);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.a[0].kind, VMM_STORAGE_ALERT_DISK_ALLOCATED);
	assert_int_equal(r.a[0].raised, 1);
	assert_int_equal(r.a[0].value, 4 * MiB);
	/* a few more polls by the thread: still one alert */
	assert_int_equal(vmm_datastore_get_info(ds, &in), 0);
	polls = in.polls;
	for (int i = 0; i < 3000 && in.polls < polls + 3; i++) {
		usleep(10000);
		assert_int_equal(vmm_datastore_get_info(ds, &in), 0);
	}
	assert_true(in.polls >= polls + 3);
	assert_int_equal(r.n, 1);
	assert_int_equal(in.alerts, 1);
	vmm_datastore_destroy(ds);
	assert_int_equal(threads_named("vmm-ds"), 0);
	vmm_storage_destroy(a);
	unlink(path_in("th.raw"));
}

static void test_datastore_bad(void **state)
{
	vmm_datastore_config c = VMM_DATASTORE_CONFIG_INIT;
	vmm_datastore_info in = VMM_DATASTORE_INFO_INIT;
	vmm_datastore *ds, *ds2;
	vmm_storage_dev *a, *outside;
	char other[] = "/tmp/vmm-thin-outside-XXXXXX";
	int fd;

	need_fs();
	assert_int_equal(vmm_datastore_create(NULL, &ds), VMM_EINVAL);
	c.size = 8;
	assert_int_equal(vmm_datastore_create(&c, &ds), VMM_EINVAL);
	c = (vmm_datastore_config)VMM_DATASTORE_CONFIG_INIT;
	assert_int_equal(vmm_datastore_create(&c, &ds), VMM_EINVAL);   /* no path */
	c.path = "/nonexistent/vmm-thin";
	assert_int_equal(vmm_datastore_create(&c, &ds), VMM_ENOENT);
	c.path = "/etc/passwd";
	assert_int_equal(vmm_datastore_create(&c, &ds), VMM_EINVAL);
	assert_non_null(strstr(vmm_last_error(), "not a directory"));
	c.path = dir;
	c.used_pct[2] = 101;
	assert_int_equal(vmm_datastore_create(&c, &ds), VMM_EINVAL);
	c.used_pct[2] = 0;
	c.poll_ms = 5;
	assert_int_equal(vmm_datastore_create(&c, &ds), VMM_EINVAL);
	c.poll_ms = 0;
	c.flags = 1;
	assert_int_equal(vmm_datastore_create(&c, &ds), VMM_EINVAL);
	c.flags = 0;
	assert_int_equal(vmm_datastore_create(&c, NULL), VMM_EINVAL);
	assert_int_equal(vmm_datastore_create(&c, &ds), 0);
	assert_int_equal(vmm_datastore_create(&c, &ds2), 0);
	assert_int_equal(vmm_datastore_poll(NULL), VMM_EINVAL);
	in.size = 4;
	assert_int_equal(vmm_datastore_get_info(ds, &in), VMM_EINVAL);
	a = new_raw("bad.raw", MiB);
	assert_int_equal(vmm_datastore_add(NULL, a, 0), VMM_EINVAL);
	assert_int_equal(vmm_datastore_add(ds, NULL, 0), VMM_EINVAL);
	assert_int_equal(vmm_datastore_remove(ds, a), VMM_ENOENT);
	assert_int_equal(vmm_datastore_add(ds, a, 0), 0);
	assert_int_equal(vmm_datastore_add(ds, a, 0), VMM_EBUSY);
	assert_int_equal(vmm_datastore_add(ds2, a, 0), VMM_EBUSY);
	assert_int_equal(vmm_datastore_remove(ds2, a), VMM_ENOENT);
	/* a disk on another file system is not in this datastore */
	fd = mkstemp(other);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, MiB), 0);
	close(fd);
	outside = open_dev(other, VMM_STORAGE_PATH_FILE);
	assert_int_equal(vmm_datastore_add(ds, outside, 0), VMM_EINVAL);
	assert_non_null(strstr(vmm_last_error(), "no file or qcow2 path"));
	vmm_storage_destroy(outside);
	unlink(other);
	/* destroying the datastore leaves the device free for another */
	vmm_datastore_destroy(ds);
	assert_int_equal(vmm_datastore_add(ds2, a, 0), 0);
	in.size = sizeof(in);
	assert_int_equal(vmm_datastore_get_info(ds2, &in), 0);
	assert_int_equal(in.ndisks, 1);
	assert_int_equal(in.provisioned, MiB);
	vmm_storage_destroy(a);
	assert_int_equal(vmm_datastore_get_info(ds2, &in), 0);
	assert_int_equal(in.ndisks, 0);
	vmm_datastore_destroy(ds2);
	vmm_datastore_destroy(NULL);
	unlink(path_in("bad.raw"));
}

/* vmm_storage_resize: qcow2 and raw devices grow; qemu-img agrees. */
static void test_resize(void **state)
{
	vmm_storage_info in = VMM_STORAGE_INFO_INIT;
	vmm_datastore_info di = VMM_DATASTORE_INFO_INIT;
	vmm_datastore_config c = VMM_DATASTORE_CONFIG_INIT;
	vmm_storage_dev *q, *r, *ro;
	vmm_storage_config rc = VMM_STORAGE_CONFIG_INIT;
	vmm_storage_path_config pc = VMM_STORAGE_PATH_CONFIG_INIT;
	vmm_datastore *ds;
	char cmd[300];
	struct stat st;

	need_fs();
	q = new_qcow2("rs.qcow2", "1G");
	r = new_raw("rs.raw", 32 * MiB);
	c.path = dir;
	assert_int_equal(vmm_datastore_create(&c, &ds), 0);
	assert_int_equal(vmm_datastore_add(ds, q, 0), 0);
	assert_int_equal(vmm_storage_resize(q, 2ull << 30), 0);
	assert_int_equal(vmm_storage_get_info(q, &in), 0);
	assert_int_equal(in.capacity, 2ull << 30);
	assert_int_equal(space_of(q).provisioned, 2ull << 30);
	assert_int_equal(vmm_datastore_get_info(ds, &di), 0);
	assert_int_equal(di.provisioned, 2ull << 30);
	write_mib(q, (3ull << 29), 1);                       /* at 1.5 GiB */
	assert_int_equal(vmm_storage_resize(r, 64 * MiB), 0);
	assert_int_equal(stat(path_in("rs.raw"), &st), 0);
	assert_int_equal(st.st_size, 64 * MiB);
	write_mib(r, 63 * MiB, 1);
	assert_int_equal(vmm_storage_resize(r, 64 * MiB), 0);     /* the same size */
	assert_int_equal(vmm_storage_resize(r, 32 * MiB), VMM_ENOTSUP);
	assert_int_equal(vmm_storage_resize(r, 64 * MiB + 100), VMM_EINVAL);
	assert_int_equal(vmm_storage_resize(NULL, MiB), VMM_EINVAL);
	rc.flags = VMM_STORAGE_READONLY;
	assert_int_equal(vmm_storage_create(&rc, &ro), 0);
	pc.kind = VMM_STORAGE_PATH_FILE;
	pc.target = path_in("rs.raw");
	assert_int_equal(vmm_storage_add_path(ro, &pc, NULL), 0);
	assert_int_equal(vmm_storage_resize(ro, 128 * MiB), VMM_EINVAL);
	vmm_storage_destroy(ro);
	vmm_datastore_destroy(ds);
	vmm_storage_destroy(q);
	vmm_storage_destroy(r);
	snprintf(cmd, sizeof(cmd), "qemu-img info %s | grep -q 'virtual size: 2 GiB' && "
		 "qemu-img check -q %s", path_in("rs.qcow2"), path_in("rs.qcow2"));
	assert_int_equal(system(cmd), 0);
	unlink(path_in("rs.qcow2"));
	unlink(path_in("rs.raw"));
}

/* A private mount namespace with a 64 MiB tmpfs at dir; made before
 * cmocka starts (unshare needs a single thread). */
static void mount_fs(void)
{
	if (system("command -v qemu-img >/dev/null 2>&1") != 0) {
		snprintf(skip_why, sizeof(skip_why), "qemu-img is not installed");
		return;
	}
	if (!mkdtemp(dir)) {
		snprintf(skip_why, sizeof(skip_why), "mkdtemp: %s", strerror(errno));
		return;
	}
	if (unshare(CLONE_NEWNS) != 0 && unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
		snprintf(skip_why, sizeof(skip_why), "no mount namespace (not root, no user "
			 "namespaces): %s", strerror(errno));
		return;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount("vmm-thin", dir, "tmpfs", 0, "size=64m,mode=0755") != 0) {
		snprintf(skip_why, sizeof(skip_why), "cannot mount a tmpfs: %s", strerror(errno));
		return;
	}
	mounted = true;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_space_qcow2),
		cmocka_unit_test(test_space_raw),
		cmocka_unit_test(test_datastore_alerts),
		cmocka_unit_test(test_datastore_thread),
		cmocka_unit_test(test_datastore_bad),
		cmocka_unit_test(test_resize),
	};
	int rc;

	mount_fs();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (mounted)
		umount2(dir, MNT_DETACH);
	rmdir(dir);
	return rc;
}
