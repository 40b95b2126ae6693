/* qcow2_open.c - opening an image and its backing chain (qcow2 or raw,
 * depth limited, loops refused), closing, flush and statistics. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/storage/qcow2_priv.h"

void q_free(vmm__qcow2 *q)
{
	if (!q)
		return;
	vmm__qcow2_close(q->bq);
	if (q->bfd >= 0)
		close(q->bfd);
	if (q->fd >= 0)
		close(q->fd);
	q_l2_cache_free(q);
	free(q->l1);
	free(q->rt);
	free(q->refs);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

/* Prefixes the thread's error message (which is also the source). */
static int q_err_prefix(int rc, const char *what, const char *name)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "%s", vmm_last_error());
	return vmm__err(rc, "%s%s: %s", what, name, msg);
}

static int q_load_l1(vmm__qcow2 *q)
{
	uint64_t n = q->l1_size ? q->l1_size : 1;
	uint8_t *buf = malloc(n * 8);
	int rc;

	q->l1 = calloc(n, 8);
	if (!buf || !q->l1) {
		free(buf);
		return vmm__err(VMM_ENOMEM, "qcow2: out of memory for the L1 table");
	}
	rc = q_pread(q, buf, (size_t)q->l1_size * 8, q->l1_offset);
	for (uint64_t i = 0; rc == 0 && i < q->l1_size; i++)
		q->l1[i] = q_be64(buf + 8 * i);
	free(buf);
	return rc;
}

/* The backing file's path: absolute, or relative to the image's folder. */
static int q_backing_path(const vmm__qcow2 *q, const char *dir, char *out, size_t outlen)
{
	int n = q->backing[0] == '/' || !dir ? snprintf(out, outlen, "%s", q->backing)
					      : snprintf(out, outlen, "%s/%s", dir, q->backing);

	if (n < 0 || (size_t)n >= outlen)
		return vmm__err(VMM_EINVAL, "qcow2: backing file path too long");
	return 0;
}

static int q_open_backing(vmm__qcow2 *q, const char *dir, unsigned depth,
			  const dev_t *devs, const ino_t *inos)
{
	char path[4096], pdir[4096];
	unsigned fl = VMM__QCOW2_RDONLY | (q->flags & (VMM__QCOW2_NOLOCK | VMM__QCOW2_NOSYNC));
	int rc, fd, fmt = (int)q->backing_fmt;
	struct stat st;

	if (q->flags & VMM__QCOW2_NOBACKING)
		return vmm__err(VMM_ENOTSUP, "qcow2: the image has a backing file ('%s'), refused here", q->backing);
	if (depth + 1 > VMM__QCOW2_MAX_CHAIN)
		return vmm__err(VMM_EBADIMAGE, "qcow2: backing chain deeper than %d images", VMM__QCOW2_MAX_CHAIN);
	if ((rc = q_backing_path(q, dir, path, sizeof(path))) < 0)
		return rc;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return vmm__err(errno == ENOENT ? VMM_ENOENT : VMM_EIO, "qcow2: backing file %s: %s",
				path, strerror(errno));
	if (fmt == VMM__QCOW2_FMT_PROBE)
		fmt = vmm__qcow2_probe(fd) == 1 ? VMM__QCOW2_FMT_QCOW2 : VMM__QCOW2_FMT_RAW;
	snprintf(pdir, sizeof(pdir), "%s", path);
	if (fmt == VMM__QCOW2_FMT_QCOW2) {
		rc = q_open_chain(fd, fl, dirname(pdir), depth + 1, devs, inos, &q->bq);
		close(fd);
		if (rc < 0 && depth == 0)   /* once: deeper files say what failed */
			return q_err_prefix(rc, "backing file ", path);
		return rc;
	}
	q->bfd = fd;
	if (fstat(fd, &st) < 0)
		return vmm__err(VMM_EIO, "qcow2: backing file %s: %s", path, strerror(errno));
	q->bsize = (uint64_t)st.st_size;
	return (q->flags & VMM__QCOW2_NOLOCK) ? 0 : q_lock(fd, false);
}

static int q_open_image(vmm__qcow2 *q)
{
	int rc;

	if ((rc = q_header_parse(q, q->writable)) < 0)
		return rc;
	if (q->writable && q->nb_snapshots)
		return vmm__err(VMM_ENOTSUP, "qcow2: the image has %u internal snapshots: it can only be opened read-only",
				q->nb_snapshots);
	q->host_clusters = (q->file_size + q->cluster_size - 1) >> q->cluster_bits;
	if ((rc = q_load_l1(q)) < 0 || (rc = q_refs_load(q, true, NULL)) < 0 ||
	    (rc = q_l2_cache_init(q)) < 0 || (rc = q_validate(q)) < 0)
		return rc;
	q->free_hint = 1;
	if (q->writable && q->autoclear)   /* features we do not maintain: dropped, as the spec asks */
		if ((rc = q_header_write_u64(q, QH_AUTOCLEAR, 0)) == 0)
			q->autoclear = 0;
	return rc;
}

int q_open_chain(int fd, unsigned flags, const char *dir, unsigned depth,
		 const dev_t *devs, const ino_t *inos, vmm__qcow2 **out)
{
	dev_t cdevs[VMM__QCOW2_MAX_CHAIN + 1];
	ino_t cinos[VMM__QCOW2_MAX_CHAIN + 1];
	vmm__qcow2 *q = calloc(1, sizeof(*q));
	struct stat st;
	int rc = 0;

	*out = NULL;
	if (!q)
		return vmm__err(VMM_ENOMEM, "qcow2: out of memory");
	pthread_mutex_init(&q->lock, NULL);
	q->bfd = -1;
	q->flags = flags;
	q->writable = !(flags & VMM__QCOW2_RDONLY);
	q->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (q->fd < 0 || fstat(q->fd, &st) < 0)
		rc = vmm__err(VMM_EIO, "qcow2: %s", strerror(errno));
	for (unsigned i = 0; rc == 0 && i < depth; i++)
		if (devs[i] == st.st_dev && inos[i] == st.st_ino)
			rc = vmm__err(VMM_EBADIMAGE, "qcow2: the backing chain loops (an image is its own backing file)");
	if (rc == 0 && !(flags & VMM__QCOW2_NOLOCK))
		rc = q_lock(q->fd, q->writable);
	if (rc == 0) {
		q->dev = st.st_dev, q->ino = st.st_ino;
		q->file_size = (uint64_t)st.st_size;
		rc = q_open_image(q);
	}
	if (rc == 0 && q->backing[0]) {
		for (unsigned i = 0; i < depth; i++)
			cdevs[i] = devs[i], cinos[i] = inos[i];
		cdevs[depth] = q->dev, cinos[depth] = q->ino;
		rc = q_open_backing(q, dir, depth, cdevs, cinos);
	}
	if (rc < 0) {
		q->writable = false;
		q_free(q);
		return rc;
	}
	*out = q;
	return 0;
}

int vmm__qcow2_open_fd(int fd, unsigned flags, const char *dir, vmm__qcow2 **out)
{
	if (!out)
		return vmm__err(VMM_EINVAL, "qcow2: out is NULL");
	return q_open_chain(fd, flags, dir, 0, NULL, NULL, out);
}

int vmm__qcow2_open(const char *path, unsigned flags, vmm__qcow2 **out)
{
	char dir[4096];
	int fd, rc;

	if (!path || !out)
		return vmm__err(VMM_EINVAL, "qcow2: path or out is NULL");
	*out = NULL;
	fd = open(path, ((flags & VMM__QCOW2_RDONLY) ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return vmm__err(errno == ENOENT ? VMM_ENOENT : VMM_EIO, "%s: %s", path, strerror(errno));
	snprintf(dir, sizeof(dir), "%s", path);
	rc = q_open_chain(fd, flags, dirname(dir), 0, NULL, NULL, out);
	close(fd);
	if (rc < 0)
		return q_err_prefix(rc, "", path);
	return 0;
}

void vmm__qcow2_close(vmm__qcow2 *q)
{
	if (!q)
		return;
	if (q->writable && !q->broken)
		(void)fdatasync(q->fd);
	q_free(q);
}

int vmm__qcow2_flush(vmm__qcow2 *q)
{
	int rc = 0;

	pthread_mutex_lock(&q->lock);
	if (q->writable && fdatasync(q->fd) < 0)
		rc = vmm__err(VMM_EIO, "qcow2: fdatasync: %s", strerror(errno));
	pthread_mutex_unlock(&q->lock);
	return rc;
}

uint64_t vmm__qcow2_size(const vmm__qcow2 *q)
{
	return q->size;
}

int vmm__qcow2_get_stats(vmm__qcow2 *q, vmm__qcow2_stats *st)
{
	struct stat fs;

	pthread_mutex_lock(&q->lock);
	memset(st, 0, sizeof(*st));
	st->virtual_size = q->size;
	st->allocated_bytes = q_used_clusters(q) << q->cluster_bits;
	st->file_bytes = fstat(q->fd, &fs) == 0 ? (uint64_t)fs.st_blocks * 512 : 0;
	st->cluster_size = q->cluster_size;
	st->version = q->version;
	st->backing_fmt = q->backing_fmt;
	memcpy(st->backing, q->backing, sizeof(st->backing));
	pthread_mutex_unlock(&q->lock);
	return 0;
}
