/* datastore.c - thin provisioning over a file system (vmm/storage.h): the
 * devices whose images live in one directory's file system, their
 * provisioned and allocated bytes, the file system's size and use
 * (statvfs), overcommit, and alerts raised once per crossing.
 *
 * Locks, outermost first: link_lock (which datastore a device is in:
 * dev->datastore), ds->poll_lock (one measurement and its alerts at a
 * time; alert callbacks run under it, so the devices they name stay),
 * ds->lock (the disk list and the counters; held while measuring, never
 * while a callback runs). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include "lib/storage/storage.h"

#define MAX_DISKS 256

typedef struct ds_disk {
	vmm_storage_dev *dev;
	uint64_t limit;             /* allocation that raises DISK_ALLOCATED; 0: none */
	bool above;                 /* poll_lock */
	uint64_t allocated;         /* last measured (lock) */
} ds_disk;

struct vmm_datastore {
	pthread_mutex_t poll_lock, lock;
	pthread_cond_t cond;        /* with lock: the thread's wake-up */
	vmm_datastore_config config;
	char *path;
	char name[128];
	dev_t fs_dev;
	uint32_t number;
	ds_disk disks[MAX_DISKS];   /* lock */
	uint32_t ndisks;
	bool above_pct[VMM_DATASTORE_THRESHOLDS];   /* poll_lock */
	bool overcommitted;         /* poll_lock */
	uint64_t alerts, polls;     /* lock */
	bool stopping, started;
	pthread_t thread;
};

static pthread_mutex_t link_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint ds_numbers;

/* One measurement, made with ds->lock held. */
typedef struct ds_figures {
	vmm_datastore_info info;
	uint64_t allocated[MAX_DISKS];
} ds_figures;

static int measure_locked(vmm_datastore *ds, ds_figures *f)
{
	struct statvfs vfs;
	uint64_t frsize;

	memset(f, 0, sizeof(*f));
	f->info.size = sizeof(f->info);
	if (statvfs(ds->path, &vfs) < 0)
		return vmm__err(VMM_EIO, "datastore %s: statvfs %s: %s", ds->name, ds->path,
				strerror(errno));
	frsize = vfs.f_frsize ? vfs.f_frsize : vfs.f_bsize;
	f->info.capacity = (uint64_t)vfs.f_blocks * frsize;
	f->info.used = (uint64_t)(vfs.f_blocks - vfs.f_bfree) * frsize;
	f->info.available = (uint64_t)vfs.f_bavail * frsize;
	f->info.ndisks = ds->ndisks;
	for (uint32_t i = 0; i < ds->ndisks; i++) {
		vmm_storage_space s = VMM_STORAGE_SPACE_INIT;

		vmm_storage_get_space(ds->disks[i].dev, &s);
		f->info.provisioned += s.provisioned;
		if (s.flags & VMM_STORAGE_SPACE_KNOWN) {
			f->allocated[i] = s.allocated;
			f->info.allocated += s.allocated;
		}
		ds->disks[i].allocated = f->allocated[i];
	}
	if (f->info.provisioned > f->info.capacity)
		f->info.overcommit = f->info.provisioned - f->info.capacity;
	if (f->info.capacity) {
		f->info.used_pct = (uint32_t)((unsigned __int128)f->info.used * 100 / f->info.capacity);
		f->info.provisioned_pct = (uint32_t)((unsigned __int128)f->info.provisioned * 100 /
						     f->info.capacity);
	}
	f->info.alerts = ds->alerts;
	f->info.polls = ds->polls;
	return 0;
}

/* ---- Alerts ---- */

typedef struct ds_alerts {
	vmm_storage_alert a[VMM_DATASTORE_THRESHOLDS + 1 + MAX_DISKS];
	uint32_t n, raised;
} ds_alerts;

static void note(vmm_datastore *ds, ds_alerts *out, bool *state, bool now, uint32_t kind,
		 uint32_t pct, uint64_t threshold, uint64_t value, vmm_storage_dev *dev)
{
	if (*state == now)
		return;
	*state = now;
	out->a[out->n++] = (vmm_storage_alert){ sizeof(vmm_storage_alert), kind, now, pct,
						threshold, value, dev, ds->name };
	out->raised += now;
}

/* Compares the figures with the alert states (poll_lock held). */
static void evaluate(vmm_datastore *ds, const ds_figures *f, ds_alerts *out)
{
	const vmm_datastore_info *in = &f->info;

	note(ds, out, &ds->overcommitted, in->provisioned > in->capacity,
	     VMM_STORAGE_ALERT_OVERCOMMIT, 0, in->capacity, in->provisioned, NULL);
	for (uint32_t i = 0; i < VMM_DATASTORE_THRESHOLDS; i++) {
		uint32_t pct = ds->config.used_pct[i];
		uint64_t at = (uint64_t)((unsigned __int128)in->capacity * pct / 100);

		if (pct)
			note(ds, out, &ds->above_pct[i],
			     (unsigned __int128)in->used * 100 >= (unsigned __int128)in->capacity * pct,
			     VMM_STORAGE_ALERT_DATASTORE_USED, pct, at, in->used, NULL);
	}
	for (uint32_t i = 0; i < ds->ndisks; i++) {
		ds_disk *d = &ds->disks[i];

		if (d->limit)
			note(ds, out, &d->above, f->allocated[i] >= d->limit,
			     VMM_STORAGE_ALERT_DISK_ALLOCATED, 0, d->limit, f->allocated[i], d->dev);
	}
}

VMM_API int vmm_datastore_poll(vmm_datastore *ds)
{
	ds_figures *f;
	ds_alerts *out;
	int rc;

	if (!ds)
		return vmm__err(VMM_EINVAL, "vmm_datastore_poll: datastore is NULL");
	f = malloc(sizeof(*f));
	out = malloc(sizeof(*out));
	if (!f || !out) {
		free(f);
		free(out);
		return vmm__err(VMM_ENOMEM, "datastore %s: out of memory", ds->name);
	}
	pthread_mutex_lock(&ds->poll_lock);
	pthread_mutex_lock(&ds->lock);
	rc = measure_locked(ds, f);
	out->n = out->raised = 0;
	if (rc == 0) {
		evaluate(ds, f, out);
		ds->polls++;
		ds->alerts += out->raised;
	}
	pthread_mutex_unlock(&ds->lock);
	for (uint32_t i = 0; i < out->n && ds->config.alert; i++)
		ds->config.alert(ds->config.opaque, ds, &out->a[i]);
	pthread_mutex_unlock(&ds->poll_lock);
	free(f);
	free(out);
	return rc;
}

VMM_API int vmm_datastore_get_info(vmm_datastore *ds, vmm_datastore_info *info)
{
	ds_figures *f;
	int rc;

	if (!ds || !info || info->size < sizeof(*info))
		return vmm__err(VMM_EINVAL, "vmm_datastore_get_info: datastore or info is NULL, "
				"or info is too small (use VMM_DATASTORE_INFO_INIT)");
	if (!(f = malloc(sizeof(*f))))
		return vmm__err(VMM_ENOMEM, "datastore %s: out of memory", ds->name);
	pthread_mutex_lock(&ds->lock);
	rc = measure_locked(ds, f);
	pthread_mutex_unlock(&ds->lock);
	if (rc == 0)
		*info = f->info;
	free(f);
	return rc;
}

/* ---- Devices ---- */

VMM_API int vmm_datastore_add(vmm_datastore *ds, vmm_storage_dev *dev, uint64_t alloc_limit)
{
	int rc = 0;

	if (!ds || !dev)
		return vmm__err(VMM_EINVAL, "vmm_datastore_add: datastore or device is NULL");
	pthread_mutex_lock(&link_lock);
	if (dev->datastore)
		rc = vmm__err(VMM_EBUSY, "datastore %s: device %s is in datastore %s already",
			      ds->name, dev->name, dev->datastore->name);
	else if (!vmm__storage_on_fs(dev, ds->fs_dev))
		rc = vmm__err(VMM_EINVAL, "datastore %s: device %s has no file or qcow2 path on "
			      "the file system of %s", ds->name, dev->name, ds->path);
	if (!rc) {
		pthread_mutex_lock(&ds->poll_lock);
		pthread_mutex_lock(&ds->lock);
		if (ds->ndisks == MAX_DISKS)
			rc = vmm__err(VMM_ENOMEM, "datastore %s: at most %d devices", ds->name,
				      MAX_DISKS);
		else
			ds->disks[ds->ndisks++] = (ds_disk){ dev, alloc_limit, false, 0 };
		pthread_mutex_unlock(&ds->lock);
		pthread_mutex_unlock(&ds->poll_lock);
	}
	if (!rc)
		dev->datastore = ds;
	pthread_mutex_unlock(&link_lock);
	return rc;
}

/* Takes dev out of ds's list (link_lock held). */
static void drop_locked(vmm_datastore *ds, vmm_storage_dev *dev)
{
	pthread_mutex_lock(&ds->poll_lock);
	pthread_mutex_lock(&ds->lock);
	for (uint32_t i = 0; i < ds->ndisks; i++)
		if (ds->disks[i].dev == dev) {
			memmove(&ds->disks[i], &ds->disks[i + 1],
				(ds->ndisks - i - 1) * sizeof(ds->disks[0]));
			ds->ndisks--;
			break;
		}
	pthread_mutex_unlock(&ds->lock);
	pthread_mutex_unlock(&ds->poll_lock);
	dev->datastore = NULL;
}

VMM_API int vmm_datastore_remove(vmm_datastore *ds, vmm_storage_dev *dev)
{
	int rc = 0;

	if (!ds || !dev)
		return vmm__err(VMM_EINVAL, "vmm_datastore_remove: datastore or device is NULL");
	pthread_mutex_lock(&link_lock);
	if (dev->datastore != ds)
		rc = vmm__err(VMM_ENOENT, "datastore %s: device %s is not in it", ds->name,
			      dev->name);
	else
		drop_locked(ds, dev);
	pthread_mutex_unlock(&link_lock);
	return rc;
}

void vmm__datastore_forget(vmm_storage_dev *dev)
{
	pthread_mutex_lock(&link_lock);
	if (dev->datastore)
		drop_locked(dev->datastore, dev);
	pthread_mutex_unlock(&link_lock);
}

/* ---- Life ---- */

static int check_config(const vmm_datastore_config *c, struct stat *st)
{
	if (!c || c->size < sizeof(*c))
		return vmm__err(VMM_EINVAL, "vmm_datastore_create: config is NULL or too small "
				"(use VMM_DATASTORE_CONFIG_INIT)");
	if (c->flags)
		return vmm__err(VMM_EINVAL, "vmm_datastore_create: unknown flags 0x%x", c->flags);
	if (!c->path || !c->path[0] || strlen(c->path) >= 4096)
		return vmm__err(VMM_EINVAL, "vmm_datastore_create: path must be 1..4095 bytes");
	for (uint32_t i = 0; i < VMM_DATASTORE_THRESHOLDS; i++)
		if (c->used_pct[i] > 100)
			return vmm__err(VMM_EINVAL, "vmm_datastore_create: used_pct[%u] = %u is "
					"over 100", i, c->used_pct[i]);
	if (c->poll_ms && (c->poll_ms < 10 || c->poll_ms > 3600000))
		return vmm__err(VMM_EINVAL, "vmm_datastore_create: poll_ms %u is not 0 or "
				"10..3600000", c->poll_ms);
	if (stat(c->path, st) < 0)
		return vmm__err(errno == ENOENT ? VMM_ENOENT : VMM_EIO, "vmm_datastore_create: "
				"%.200s: %s", c->path, strerror(errno));
	if (!S_ISDIR(st->st_mode))
		return vmm__err(VMM_EINVAL, "vmm_datastore_create: %.200s is not a directory",
				c->path);
	return 0;
}

static void *ds_main(void *arg)
{
	vmm_datastore *ds = arg;
	struct timespec t;

	pthread_mutex_lock(&ds->lock);
	while (!ds->stopping) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		t.tv_sec += ds->config.poll_ms / 1000;
		t.tv_nsec += (long)(ds->config.poll_ms % 1000) * 1000000L;
		if (t.tv_nsec >= 1000000000L) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000L;
		}
		while (!ds->stopping && pthread_cond_timedwait(&ds->cond, &ds->lock, &t) != ETIMEDOUT)
			;
		if (ds->stopping)
			break;
		pthread_mutex_unlock(&ds->lock);
		vmm_datastore_poll(ds);
		pthread_mutex_lock(&ds->lock);
	}
	pthread_mutex_unlock(&ds->lock);
	return NULL;
}

static int start_thread(vmm_datastore *ds)
{
	sigset_t all, old;
	char name[16];
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&ds->thread, NULL, ds_main, ds);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return vmm__err(VMM_ENOMEM, "datastore %s: cannot start its thread: %s", ds->name,
				strerror(rc));
	snprintf(name, sizeof(name), "vmm-ds%u", ds->number % 1000);
	pthread_setname_np(ds->thread, name);
	ds->started = true;
	return 0;
}

static void free_ds(vmm_datastore *ds)
{
	pthread_cond_destroy(&ds->cond);
	pthread_mutex_destroy(&ds->lock);
	pthread_mutex_destroy(&ds->poll_lock);
	free(ds->path);
	free(ds);
}

VMM_API int vmm_datastore_create(const vmm_datastore_config *c, vmm_datastore **out)
{
	pthread_condattr_t ca;
	vmm_datastore *ds;
	struct stat st;
	int rc = check_config(c, &st);

	if (rc)
		return rc;
	if (!out)
		return vmm__err(VMM_EINVAL, "vmm_datastore_create: out is NULL");
	if (!(ds = calloc(1, sizeof(*ds))) || !(ds->path = strdup(c->path))) {
		free(ds);
		return vmm__err(VMM_ENOMEM, "vmm_datastore_create: out of memory");
	}
	memcpy(&ds->config, c, sizeof(ds->config));
	ds->config.size = sizeof(ds->config);
	ds->config.path = ds->path;
	snprintf(ds->name, sizeof(ds->name), "%s", c->name ? c->name : c->path);
	ds->config.name = ds->name;
	ds->fs_dev = st.st_dev;
	ds->number = atomic_fetch_add(&ds_numbers, 1);
	pthread_mutex_init(&ds->poll_lock, NULL);
	pthread_mutex_init(&ds->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ds->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (c->poll_ms && (rc = start_thread(ds))) {
		free_ds(ds);
		return rc;
	}
	*out = ds;
	return 0;
}

VMM_API void vmm_datastore_destroy(vmm_datastore *ds)
{
	if (!ds)
		return;
	pthread_mutex_lock(&ds->lock);
	ds->stopping = true;
	pthread_cond_broadcast(&ds->cond);
	pthread_mutex_unlock(&ds->lock);
	if (ds->started)
		pthread_join(ds->thread, NULL);
	pthread_mutex_lock(&link_lock);
	for (uint32_t i = 0; i < ds->ndisks; i++)
		ds->disks[i].dev->datastore = NULL;
	ds->ndisks = 0;
	pthread_mutex_unlock(&link_lock);
	free_ds(ds);
}
