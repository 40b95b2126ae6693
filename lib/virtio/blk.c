/* blk.c - virtio-blk (virtio 1.2, 5.2) over a raw image: read, write, flush
 * (fdatasync), GET_ID, discard (hole punch) and write-zeroes, each request
 * checked against the disk's size and mode, run on the disk's I/O thread
 * straight between the image and guest memory (preadv/pwritev). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lib/platform/platform.h"
#include "lib/virtio/blk.h"
#include "lib/virtio/iothread.h"
#include "lib/virtio/virtio_pci.h"

typedef struct blk {
	vmm_virtio_dev *dev;
	vmm_virtio_ops ops;
	vmm__iothread io;
	int fd;
	bool ro;
	uint64_t sectors;            /* atomic: vmm_virtio_blk_resize grows it */
	char serial[ID_LEN];
	pthread_mutex_t cfg_lock;    /* config */
	uint8_t config[CONFIG_LEN];
} blk;

static atomic_uint disk_count;

/* iovecs for [off, off+len) of a buffer list. */
static int iov_of(const vmm__vq_buf *b, unsigned n, uint64_t off, uint64_t len,
		  struct iovec *iov)
{
	int k = 0;

	for (unsigned i = 0; i < n && len; i++) {
		uint64_t take;

		if (off >= b[i].len) {
			off -= b[i].len;
			continue;
		}
		take = b[i].len - off < len ? b[i].len - off : len;
		iov[k++] = (struct iovec){ b[i].hva + off, (size_t)take };
		len -= take;
		off = 0;
	}
	return k;
}

/* Whole transfer or failure; retries short transfers and EINTR. */
static int rw_all(blk *d, bool write, struct iovec *iov, int n, uint64_t pos)
{
	while (n > 0) {
		ssize_t got = write ? pwritev(d->fd, iov, n, (off_t)pos) :
				      preadv(d->fd, iov, n, (off_t)pos);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return S_IOERR;
		pos += (uint64_t)got;
		while (n > 0 && (size_t)got >= iov->iov_len) {
			got -= (ssize_t)iov->iov_len;
			iov++, n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + got;
			iov->iov_len -= (size_t)got;
		}
	}
	return S_OK;
}

static bool in_range(const blk *d, uint64_t sector, uint64_t bytes)
{
	uint64_t sectors = __atomic_load_n(&d->sectors, __ATOMIC_ACQUIRE);

	return bytes % SECTOR == 0 && sector <= sectors && bytes / SECTOR <= sectors - sector;
}

static int do_rw(blk *d, vmm__vq_elem *e, uint64_t sector, bool write, uint32_t *wrote)
{
	static __thread struct iovec iov[2 * VMM__VQ_MAX_SG];
	uint64_t len = write ? e->out_len - 16 : e->in_len - 1;
	int n;

	if (write && d->ro)
		return S_IOERR;
	if (!in_range(d, sector, len))
		return S_IOERR;
	n = write ? iov_of(e->out, e->nout, 16, len, iov) : iov_of(e->in, e->nin, 0, len, iov);
	if (!write)
		*wrote = (uint32_t)len;
	return len ? rw_all(d, write, iov, n, sector * SECTOR) : S_OK;
}

/* DISCARD and WRITE_ZEROES: segments {sector, num_sectors, flags}. */
static int do_segments(blk *d, vmm__vq_elem *e, uint32_t type)
{
	uint64_t bytes = e->out_len - 16;

	if (d->ro)
		return S_IOERR;
	if (bytes == 0 || bytes % 16 || bytes / 16 > MAX_SEGS)
		return S_UNSUPP;
	for (uint64_t off = 16; off < e->out_len; off += 16) {
		uint8_t seg[16];
		uint64_t sector;
		uint32_t num, flags;
		int mode;

		vmm__vq_read(e, off, seg, 16);
		memcpy(&sector, seg, 8);
		memcpy(&num, seg + 8, 4);
		memcpy(&flags, seg + 12, 4);
		if ((flags & ~1u) || (type == T_DISCARD && flags) ||
		    !in_range(d, sector, (uint64_t)num * SECTOR))
			return S_UNSUPP;
		mode = type == T_WZ && !(flags & 1) ? FALLOC_FL_ZERO_RANGE :
		       FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
		if (num && fallocate(d->fd, mode, (off_t)(sector * SECTOR),
				     (off_t)((uint64_t)num * SECTOR)) != 0 &&
		    (errno != EOPNOTSUPP || mode != FALLOC_FL_ZERO_RANGE ||
		     fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       (off_t)(sector * SECTOR), (off_t)((uint64_t)num * SECTOR))))
			return S_IOERR;             /* punching zeroes too */
	}
	return S_OK;
}

/* One request; returns the bytes written into the in buffers (with status). */
static uint32_t handle(blk *d, vmm__vq_elem *e)
{
	uint8_t hdr[16], status;
	uint32_t type, wrote = 0;
	uint64_t sector;

	if (e->in_len == 0)
		return 0;                       /* no room even for the status */
	if (vmm__vq_read(e, 0, hdr, 16) < 16) {
		status = S_IOERR;
		goto out;
	}
	memcpy(&type, hdr, 4);
	memcpy(&sector, hdr + 8, 8);
	switch (type) {
	case T_IN: case T_OUT: status = (uint8_t)do_rw(d, e, sector, type == T_OUT, &wrote); break;
	case T_FLUSH: status = fdatasync(d->fd) == 0 ? S_OK : S_IOERR; break;
	case T_GET_ID:
		wrote = (uint32_t)vmm__vq_write(e, 0, d->serial,
						e->in_len - 1 < ID_LEN ? e->in_len - 1 : ID_LEN);
		status = S_OK;
		break;
	case T_DISCARD: case T_WZ: status = (uint8_t)do_segments(d, e, type); break;
	default: status = S_UNSUPP; break;
	}
out:
	vmm__vq_write(e, e->in_len - 1, &status, 1);
	return wrote + 1;
}

/* On the I/O thread: every available request, then one interrupt. */
static void blk_work(void *opaque)
{
	blk *d = opaque;
	vmm_virtq_elem *e;

	while (vmm_virtq_pop(d->dev, 0, &e) == 1)
		vmm_virtq_push(d->dev, 0, e, handle(d, &e->e));
	vmm_virtio_interrupt(d->dev, 0);
}

static void blk_notify(void *opaque, vmm_virtio_dev *dev, uint16_t q)
{
	vmm__iothread_kick(&((blk *)opaque)->io);
}

static void blk_config_read(void *opaque, uint32_t off, void *buf, uint32_t len)
{
	blk *d = opaque;

	pthread_mutex_lock(&d->cfg_lock);
	memcpy(buf, d->config + off, len);   /* off + len <= CONFIG_LEN: checked */
	pthread_mutex_unlock(&d->cfg_lock);
}

void vmm__blk_fill_config(uint8_t *config, uint64_t sectors, uint32_t bsz)
{
	uint32_t seg_max = VMM__VQ_MAX_SG - 2, one = 1, big = 0x3fffff;
	uint32_t segs = MAX_SEGS;

	memcpy(config + 0, &sectors, 8);
	memcpy(config + 12, &seg_max, 4);
	memcpy(config + 20, &bsz, 4);
	memcpy(config + 36, &big, 4);           /* max_discard_sectors */
	memcpy(config + 40, &segs, 4);
	memcpy(config + 44, &one, 4);           /* discard_sector_alignment */
	memcpy(config + 48, &big, 4);           /* max_write_zeroes_sectors */
	memcpy(config + 52, &segs, 4);
	config[56] = 1;                         /* write_zeroes_may_unmap */
}

static void blk_fini(void *opaque)
{
	blk *d = opaque;

	vmm__iothread_stop(&d->io);
	close(d->fd);
	pthread_mutex_destroy(&d->cfg_lock);
	free(d);
}

static int open_image(blk *d, const vmm_blk_config *c)
{
	struct flock lk = { .l_type = d->ro ? F_RDLCK : F_WRLCK, .l_whence = SEEK_SET };
	struct stat st;
	uint64_t size = 0;

	d->fd = open(c->path, (d->ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (d->fd < 0)
		return vmm__err(errno == ENOENT ? VMM_ENOENT : VMM_EIO, "virtio-blk: cannot "
				"open '%.200s'%s: %s", c->path, d->ro ? "" : " read-write",
				strerror(errno));
	if (fcntl(d->fd, F_OFD_SETLK, &lk) != 0)
		return vmm__err(VMM_EBUSY, "virtio-blk: '%.200s' is in use: another VM (or "
				"program) holds %s lock on it", c->path,
				d->ro ? "a write" : "a");
	if (fstat(d->fd, &st) == 0 && S_ISREG(st.st_mode))
		size = (uint64_t)st.st_size;
	else if (fstat(d->fd, &st) == 0 && S_ISBLK(st.st_mode))
		ioctl(d->fd, BLKGETSIZE64, &size);
	else
		return vmm__err(VMM_EINVAL, "virtio-blk: '%.200s' is neither a file nor a "
				"block device", c->path);
	d->sectors = size / SECTOR;
	return 0;
}

/* Device state (lib/virtio/state.c): what the guest was told about the
 * disk, which the loading VM's disk must match. The image's contents are
 * the embedder's to carry over. */
static int blk_state_save(void *opaque, vmm__sw *w)
{
	const blk *d = opaque;

	vmm__sw_u64(w, d->sectors);
	vmm__sw_bool(w, d->ro);
	vmm__sw_bytes(w, d->serial, ID_LEN);
	return 0;
}

static int blk_state_load(void *opaque, uint32_t version, vmm__sr *r)
{
	const blk *d = opaque;
	uint64_t sectors = vmm__sr_u64(r, "sectors");
	bool ro = vmm__sr_bool(r, "read_only");
	char serial[ID_LEN];

	(void)version;
	vmm__sr_bytes(r, "serial", serial, ID_LEN);
	vmm__sr_check(r, sectors == d->sectors, "sectors", "this VM's disk has another size");
	vmm__sr_check(r, ro == d->ro, "read_only", "this VM's disk has another mode");
	vmm__sr_check(r, !memcmp(serial, d->serial, ID_LEN), "serial",
		      "this VM's disk has another serial");
	return 0;
}

static const vmm__vdev_state blk_state = { "blk", 1, blk_state_save, blk_state_load };

VMM_API int vmm_virtio_blk_add(vmm_vm *vm, const vmm_blk_config *c)
{
	char name[16];
	blk *d;
	int rc;

	bool storage = c && c->size >= offsetof(vmm_blk_config, storage) + sizeof(c->storage) &&
		       c->storage;

	if (!vm || !c || c->size < offsetof(vmm_blk_config, storage) || !c->path == !storage ||
	    (c->flags & ~VMM_BLK_READONLY))
		return vmm__err(VMM_EINVAL, "vmm_virtio_blk_add: vm or config is NULL, the "
				"config is too small or has unknown flags, or it names both or "
				"neither of path and storage");
	if (c->serial && strlen(c->serial) > ID_LEN)
		return vmm__err(VMM_EINVAL, "vmm_virtio_blk_add: serial '%.40s' is longer "
				"than %u bytes", c->serial, ID_LEN);
	if (storage)
		return vmm__blk_storage_add(vm, c);
	if (!(d = calloc(1, sizeof(*d))))
		return vmm__err(VMM_ENOMEM, "vmm_virtio_blk_add: out of memory");
	pthread_mutex_init(&d->cfg_lock, NULL);
	d->ro = c->flags & VMM_BLK_READONLY;
	if (c->serial)
		memcpy(d->serial, c->serial, strlen(c->serial));
	rc = open_image(d, c);
	if (rc) {
		if (d->fd >= 0)
			close(d->fd);
		free(d);
		return rc;
	}
	vmm__blk_fill_config(d->config, d->sectors, 512);
	d->ops = (vmm_virtio_ops){
		.version = VMM_VIRTIO_OPS_VERSION, .device_id = 2, .pci_class = 0x010000,
		.num_queues = 1, .queue_size = 256, .config_size = CONFIG_LEN,
		.features = F_SEG_MAX | F_BLK_SIZE | F_FLUSH | F_DISCARD | F_WRITE_ZEROES |
			    (d->ro ? F_RO : 0),
		.queue_notify = blk_notify, .config_read = blk_config_read,
	};
	snprintf(name, sizeof(name), "vmm-blk%u", atomic_fetch_add(&disk_count, 1) % 1000);
	rc = vmm__iothread_start(&d->io, name, blk_work, d);
	if (rc == 0)
		rc = vmm_virtio_add(vm, &d->ops, d, &d->dev);
	if (rc) {
		vmm__iothread_stop(&d->io);
		close(d->fd);
		free(d);
		return rc;
	}
	vmm__virtio_set_fini(d->dev, blk_fini);
	vmm__virtio_set_iothread(d->dev, &d->io);
	vmm__virtio_set_state(d->dev, &blk_state);
	return 0;
}

/* ---- Growing a disk while the guest runs ---- */

/* The image's size now (new_size 0), or new_size after extending it. */
static int grow_image(blk *d, uint64_t new_size, uint64_t *size)
{
	struct stat st;

	if (fstat(d->fd, &st) < 0)
		return vmm__err(VMM_EIO, "vmm_virtio_blk_resize: fstat: %s", strerror(errno));
	if (S_ISBLK(st.st_mode)) {
		if (new_size)
			return vmm__err(VMM_ENOTSUP, "vmm_virtio_blk_resize: a block device's size "
					"is its own (pass 0 to pick it up)");
		return ioctl(d->fd, BLKGETSIZE64, size) < 0 ?
		       vmm__err(VMM_EIO, "vmm_virtio_blk_resize: BLKGETSIZE64: %s", strerror(errno)) : 0;
	}
	*size = new_size ? new_size : (uint64_t)st.st_size;
	if (d->ro && new_size)
		return vmm__err(VMM_EINVAL, "vmm_virtio_blk_resize: the disk is read-only");
	if (new_size > INT64_MAX)
		return vmm__err(VMM_ERANGE, "vmm_virtio_blk_resize: size too large");
	if (new_size > (uint64_t)st.st_size && ftruncate(d->fd, (off_t)new_size) < 0)
		return vmm__err(VMM_EIO, "vmm_virtio_blk_resize: ftruncate: %s", strerror(errno));
	return 0;
}

static int blk_resize(vmm_virtio_dev *dev, uint64_t new_size)
{
	blk *d = dev->opaque;
	uint64_t size = 0;
	int rc;

	if (new_size % SECTOR)
		return vmm__err(VMM_EINVAL, "vmm_virtio_blk_resize: %llu is not a multiple of 512",
				(unsigned long long)new_size);
	if (new_size && new_size / SECTOR < __atomic_load_n(&d->sectors, __ATOMIC_ACQUIRE))
		return vmm__err(VMM_ENOTSUP, "vmm_virtio_blk_resize: shrinking a disk is not "
				"supported");
	if ((rc = grow_image(d, new_size, &size)))
		return rc;
	if (size / SECTOR < __atomic_load_n(&d->sectors, __ATOMIC_ACQUIRE))
		return vmm__err(VMM_ENOTSUP, "vmm_virtio_blk_resize: the image shrank");
	pthread_mutex_lock(&d->cfg_lock);
	__atomic_store_n(&d->sectors, size / SECTOR, __ATOMIC_RELEASE);
	vmm__blk_fill_config(d->config, size / SECTOR, 512);
	pthread_mutex_unlock(&d->cfg_lock);
	return vmm_virtio_config_changed(dev);
}

VMM_API int vmm_virtio_blk_resize(vmm_vm *vm, uint32_t index, uint64_t new_size)
{
	vmm_virtio_dev *found = NULL;
	uint32_t total = 0, at = 0;

	if (!vm)
		return vmm__err(VMM_EINVAL, "vmm_virtio_blk_resize: vm is NULL");
	for (vmm_virtio_dev *d = vm->platform ? vm->platform->virtio : NULL; d; d = d->next)
		total += d->ops->queue_notify == blk_notify || vmm__blk_storage_is(d);
	for (vmm_virtio_dev *d = vm->platform ? vm->platform->virtio : NULL; d; d = d->next)
		if ((d->ops->queue_notify == blk_notify || vmm__blk_storage_is(d)) &&
		    total - 1 - at++ == index)
			found = d;                  /* the list is newest first */
	if (!found)
		return vmm__err(VMM_ENOENT, "vmm_virtio_blk_resize: the VM has %u virtio-blk "
				"disks, no disk %u", total, index);
	if (vmm__blk_storage_is(found))
		return vmm__blk_storage_resize(found, new_size);
	return blk_resize(found, new_size);
}
