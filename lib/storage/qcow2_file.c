/* qcow2_file.c - whole-buffer I/O on the image file and QEMU's advisory
 * locks. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/storage/qcow2_priv.h"

int q_pread(vmm__qcow2 *q, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		if (off > (uint64_t)INT64_MAX - len)
			return vmm__err(VMM_EBADIMAGE, "qcow2: offset %#llx out of range",
					(unsigned long long)off);
		ssize_t n = pread(q->fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return vmm__err(VMM_EIO, "qcow2: read at %#llx: %s",
					(unsigned long long)off, strerror(errno));
		if (n == 0)
			return vmm__err(VMM_EBADIMAGE, "qcow2: read at %#llx is past the end of the file",
					(unsigned long long)off);
		p += n, len -= (size_t)n, off += (uint64_t)n;
	}
	return 0;
}

int q_pwrite(vmm__qcow2 *q, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(q->fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			q->broken = true;
			return vmm__err(VMM_EIO, "qcow2: write at %#llx: %s",
					(unsigned long long)off, n < 0 ? strerror(errno) : "no progress");
		}
		p += n, len -= (size_t)n, off += (uint64_t)n;
	}
	return 0;
}

int q_sync(vmm__qcow2 *q)
{
	if (q->flags & VMM__QCOW2_NOSYNC)
		return 0;
	if (fdatasync(q->fd) < 0) {
		q->broken = true;
		return vmm__err(VMM_EIO, "qcow2: fdatasync: %s", strerror(errno));
	}
	return 0;
}

void *q_alloc_cluster_buf(const vmm__qcow2 *q)
{
	void *p = calloc(1, q->cluster_size);

	if (!p)
		vmm__err(VMM_ENOMEM, "qcow2: out of memory for a cluster buffer");
	return p;
}

/* QEMU (block/file-posix.c) takes shared OFD locks on byte 100+p for each
 * permission p it holds and on byte 200+p for each one it does not share;
 * p: 0 consistent read, 1 write, 2 write unchanged, 3 resize. A writer holds
 * 100, 101, 103 and refuses to share write and resize (201, 203); a reader
 * holds 100 and shares neither either. */
enum { Q_LOCK_PERM = 100, Q_LOCK_SHARED = 200 };

static bool q_lock_taken(int fd, int byte)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1 };

	if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return false;   /* file systems without locks: like QEMU, go on */
	return fl.l_type != F_UNLCK;
}

static int q_lock_byte(int fd, int byte)
{
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1 };

	if (fcntl(fd, F_OFD_SETLK, &fl) < 0 && errno != EINVAL && errno != ENOLCK)
		return vmm__err(VMM_EBUSY, "qcow2: lock byte %d: %s", byte, strerror(errno));
	return 0;
}

int q_lock(int fd, bool writer)
{
	static const int want_w[] = { 0, 1, 3 }, want_r[] = { 0 }, unshare[] = { 1, 3 };
	const int *want = writer ? want_w : want_r;
	unsigned nwant = writer ? 3 : 1;
	int rc;

	for (unsigned i = 0; i < nwant; i++)
		if (q_lock_taken(fd, Q_LOCK_SHARED + want[i]))
			return vmm__err(VMM_EBUSY, "image is in use: another process does not share %s access (lock byte %d)",
					want[i] == 1 ? "write" : want[i] == 3 ? "resize" : "read",
					Q_LOCK_SHARED + want[i]);
	for (unsigned i = 0; i < 2; i++)
		if (q_lock_taken(fd, Q_LOCK_PERM + unshare[i]))
			return vmm__err(VMM_EBUSY, "image is in use: another process has it open for %s (lock byte %d)",
					unshare[i] == 1 ? "writing" : "resizing", Q_LOCK_PERM + unshare[i]);
	for (unsigned i = 0; i < nwant; i++)
		if ((rc = q_lock_byte(fd, Q_LOCK_PERM + want[i])) < 0)
			return rc;
	for (unsigned i = 0; i < 2; i++)
		if ((rc = q_lock_byte(fd, Q_LOCK_SHARED + unshare[i])) < 0)
			return rc;
	return 0;
}

int vmm__qcow2_lock_fd(int fd, bool writer)
{
	return q_lock(fd, writer);
}
