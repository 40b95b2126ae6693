/* path_file.c - a raw file or block device as a path (vmm/storage.h).
 * Synchronous: each request runs on the path's thread when it is issued
 * (pread/pwrite, fdatasync, hole punching or BLKDISCARD, zero ranges or
 * BLKZEROOUT). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/storage/storage.h"

typedef struct file_be {
	int fd;
	bool blockdev;
} file_be;

static int file_open(vmm__path *p, uint32_t timeout_ms)
{
	file_be *f = calloc(1, sizeof(*f));
	struct stat st;
	int bs = 512;

	if (!f) {
		snprintf(p->msg, sizeof(p->msg), "%s: out of memory", p->target);
		return -1;
	}
	f->fd = open(p->target, (p->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (f->fd < 0 || fstat(f->fd, &st) < 0) {
		snprintf(p->msg, sizeof(p->msg), "%s: %s", p->target, strerror(errno));
		goto fail;
	}
	f->blockdev = S_ISBLK(st.st_mode);
	if (!f->blockdev && !S_ISREG(st.st_mode)) {
		snprintf(p->msg, sizeof(p->msg), "%s: not a regular file or block device",
			 p->target);
		goto fail;
	}
	p->size = (uint64_t)st.st_size;
	if (f->blockdev && (ioctl(f->fd, BLKGETSIZE64, &p->size) < 0 ||
			    ioctl(f->fd, BLKSSZGET, &bs) < 0)) {
		snprintf(p->msg, sizeof(p->msg), "%s: %s", p->target, strerror(errno));
		goto fail;
	}
	p->block_size = (uint32_t)bs;
	p->can_discard = true;
	p->can_zero = true;
	p->be = f;
	return 0;
fail:
	if (f->fd >= 0)
		close(f->fd);
	free(f);
	return -1;
}

static void file_close(vmm__path *p)
{
	file_be *f = p->be;

	if (f) {
		close(f->fd);
		free(f);
	}
	p->be = NULL;
}

static int rw(file_be *f, bool write, uint8_t *buf, uint64_t len, uint64_t off)
{
	while (len) {
		ssize_t n = write ? pwrite(f->fd, buf, len, (off_t)off)
				  : pread(f->fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			if (write)
				return -ENOSPC;
			memset(buf, 0, len);   /* a file shorter than it was */
			return 0;
		}
		buf += n;
		len -= (uint64_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int zero(file_be *f, uint64_t off, uint64_t len, bool unmap)
{
	uint64_t range[2] = { off, len };
	int mode = unmap ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE : FALLOC_FL_ZERO_RANGE |
		   FALLOC_FL_KEEP_SIZE;
	static const uint8_t zeros[65536];

	if (f->blockdev)
		return ioctl(f->fd, BLKZEROOUT, range) < 0 ? -errno : 0;
	if (fallocate(f->fd, mode, (off_t)off, (off_t)len) == 0)
		return 0;
	while (len) {   /* file system without zero ranges */
		uint64_t n = len < sizeof(zeros) ? len : sizeof(zeros);
		int rc = rw(f, true, (uint8_t *)zeros, n, off);

		if (rc)
			return rc;
		off += n;
		len -= n;
	}
	return 0;
}

static int do_req(file_be *f, const vmm_storage_req *q)
{
	uint64_t range[2] = { q->offset, q->length };

	switch (q->op) {
	case VMM_STORAGE_OP_READ:
		return rw(f, false, q->buf, q->length, q->offset);
	case VMM_STORAGE_OP_WRITE:
		return rw(f, true, q->buf, q->length, q->offset);
	case VMM_STORAGE_OP_FLUSH:
		return fdatasync(f->fd) < 0 ? -errno : 0;
	case VMM_STORAGE_OP_DISCARD:
		if (f->blockdev)
			return ioctl(f->fd, BLKDISCARD, range) < 0 ? -errno : 0;
		if (fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      (off_t)q->offset, (off_t)q->length) < 0 && errno != EOPNOTSUPP)
			return -errno;
		return 0;
	default:
		return zero(f, q->offset, q->length, q->flags & VMM_STORAGE_REQ_UNMAP);
	}
}

static int file_start(vmm__path *p, vmm__sreq *r)
{
	int rc = do_req(p->be, r->req);
	char msg[160];

	if (!rc) {
		r->result = 0;
		vmm__path_finish(p, r);
		return 0;
	}
	snprintf(msg, sizeof(msg), "%s: %s at %llu: %s", p->target,
		 r->req->op == VMM_STORAGE_OP_READ ? "read" : "request",
		 (unsigned long long)r->req->offset, strerror(-rc));
	vmm__path_fail(p, r, VMM_EIO, VMM_STORAGE_EV_IO_ERROR, -rc, msg);
	return 0;
}

static int file_poll_fd(vmm__path *p, short *events)
{
	return -1;
}

static int file_service(vmm__path *p, short revents)
{
	return 0;
}

/* A raw file holds what its host blocks hold: both figures are st_blocks. */
static int file_space(vmm__path *p, uint64_t *allocated, uint64_t *host_bytes)
{
	file_be *f = p->be;
	struct stat st;

	if (f->blockdev || fstat(f->fd, &st) < 0)
		return -1;   /* a block device's provisioning is its own business */
	*allocated = *host_bytes = (uint64_t)st.st_blocks * 512;
	return 0;
}

static int file_grow(vmm__path *p, uint64_t new_size)
{
	file_be *f = p->be;
	struct stat st;

	if (f->blockdev)
		return vmm__err(VMM_ENOTSUP, "%s: a block device's size is its own", p->target);
	if (fstat(f->fd, &st) < 0 || new_size > INT64_MAX)
		return vmm__err(VMM_EIO, "%s: fstat failed or size too large", p->target);
	if (new_size < (uint64_t)st.st_size)
		return vmm__err(VMM_ENOTSUP, "%s: shrinking is not supported", p->target);
	if (ftruncate(f->fd, (off_t)new_size) < 0)
		return vmm__err(VMM_EIO, "%s: ftruncate: %s", p->target, strerror(errno));
	return 0;
}

const vmm__path_ops vmm__path_file_ops = { "file", file_open, file_close, file_start,
					   file_poll_fd, file_service, NULL, file_space,
					   file_grow };
