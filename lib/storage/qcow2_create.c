/* qcow2_create.c - creating an image (QEMU's layout: header, refcount
 * table, refcount blocks, L1 table) and growing its virtual size. */
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

typedef struct q_layout {
	uint32_t cb, version;
	uint64_t cs, size, l1_size;
	uint64_t rt, rb, l1;       /* clusters of each */
	const char *backing;
	uint32_t backing_fmt;
} q_layout;

static uint64_t q_div_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

static int q_plan(q_layout *L)
{
	uint64_t E = L->cs / 2, total;

	L->l1_size = q_div_up(L->size, L->cs * (L->cs / 8));
	if (!L->l1_size)
		L->l1_size = 1;   /* the L1 cluster is then in use, not a leak */
	if (L->l1_size * 8 > Q_MAX_L1_BYTES)
		return vmm__err(VMM_ERANGE, "qcow2: %llu bytes need an L1 table over 32 MiB with %llu-byte clusters",
				(unsigned long long)L->size, (unsigned long long)L->cs);
	L->l1 = q_div_up(L->l1_size * 8, L->cs);
	L->rt = 1, L->rb = 1;
	for (;;) {
		uint64_t rb, rt;

		total = 1 + L->rt + L->rb + L->l1;
		rb = q_div_up(total, E);
		rt = q_div_up(rb * 8, L->cs);
		if (rb <= L->rb && rt <= L->rt)
			break;
		L->rb = rb > L->rb ? rb : L->rb;
		L->rt = rt > L->rt ? rt : L->rt;
	}
	return L->rt * L->cs > Q_MAX_RT_BYTES ? vmm__err(VMM_ERANGE, "qcow2: image too large") : 0;
}

/* The first cluster: header, backing format extension, end marker,
 * backing file name. */
static int q_build_header(const q_layout *L, uint8_t *h)
{
	uint64_t p = L->version == 3 ? Q_V3_HEADER_LEN : Q_V2_HEADER_LEN;
	const char *fmt = L->backing_fmt == VMM__QCOW2_FMT_RAW ? "raw" : "qcow2";
	size_t blen = L->backing ? strlen(L->backing) : 0;

	q_put32(h, Q_MAGIC);
	q_put32(h + 4, L->version);
	q_put32(h + 20, L->cb);
	q_put64(h + QH_SIZE, L->size);
	q_put32(h + QH_L1_SIZE, (uint32_t)L->l1_size);
	q_put64(h + QH_L1_SIZE + 4, (1 + L->rt + L->rb) * L->cs);
	q_put64(h + QH_RT_OFFSET, L->cs);
	q_put32(h + QH_RT_OFFSET + 8, (uint32_t)L->rt);
	if (L->version == 3) {
		q_put32(h + 96, 4);                   /* refcount_order: 16 bits */
		q_put32(h + 100, Q_V3_HEADER_LEN);
	}
	if (blen) {
		q_put32(h + p, Q_EXT_BACKING_FMT);
		q_put32(h + p + 4, (uint32_t)strlen(fmt));
		memcpy(h + p + 8, fmt, strlen(fmt));
		p += 16;
	}
	p += 8;   /* end of extensions */
	if (p + blen > L->cs)
		return vmm__err(VMM_EINVAL, "qcow2: the backing file name does not fit the first cluster");
	if (blen) {
		q_put64(h + 8, p);
		q_put32(h + 16, (uint32_t)blen);
		memcpy(h + p, L->backing, blen);
	}
	return 0;
}

static int q_write_all(int fd, const void *buf, size_t len, uint64_t off)
{
	vmm__qcow2 tmp = { .fd = fd };

	return q_pwrite(&tmp, buf, len, off);
}

static int q_write_layout(int fd, const q_layout *L)
{
	uint64_t cs = L->cs, total = 1 + L->rt + L->rb + L->l1;
	uint8_t *buf = calloc(1 + L->rt + L->rb, cs);
	int rc;

	if (!buf)
		return vmm__err(VMM_ENOMEM, "qcow2: out of memory");
	rc = q_build_header(L, buf);
	for (uint64_t b = 0; b < L->rb; b++)
		q_put64(buf + cs + 8 * b, (1 + L->rt + b) * cs);
	for (uint64_t c = 0; c < total; c++)
		q_put16(buf + (1 + L->rt) * cs + 2 * c, 1);   /* blocks are contiguous */
	if (rc == 0)
		rc = q_write_all(fd, buf, (1 + L->rt + L->rb) * cs, 0);
	if (rc == 0 && ftruncate(fd, (off_t)(total * cs)) < 0)
		rc = vmm__err(VMM_EIO, "qcow2: ftruncate: %s", strerror(errno));
	if (rc == 0 && fdatasync(fd) < 0)
		rc = vmm__err(VMM_EIO, "qcow2: fdatasync: %s", strerror(errno));
	free(buf);
	return rc;
}

/* Opens the backing file to learn its format and size. */
static int q_probe_backing(const char *path, q_layout *L)
{
	char full[4096], dir[4096];
	int fd, rc = 0;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((size_t)snprintf(full, sizeof(full), "%s/%s", dirname(dir), L->backing) >= sizeof(full))
		return vmm__err(VMM_EINVAL, "qcow2: backing file path too long");
	if (L->backing[0] == '/')
		snprintf(full, sizeof(full), "%s", L->backing);
	if ((fd = open(full, O_RDONLY | O_CLOEXEC)) < 0)
		return vmm__err(errno == ENOENT ? VMM_ENOENT : VMM_EIO, "qcow2: backing file %s: %s",
				full, strerror(errno));
	if (L->backing_fmt == VMM__QCOW2_FMT_PROBE)
		L->backing_fmt = vmm__qcow2_probe(fd) == 1 ? VMM__QCOW2_FMT_QCOW2 : VMM__QCOW2_FMT_RAW;
	if (L->backing_fmt == VMM__QCOW2_FMT_QCOW2) {
		vmm__qcow2 *b;

		if ((rc = vmm__qcow2_open(full, VMM__QCOW2_RDONLY, &b)) == 0) {
			if (!L->size)
				L->size = b->size;
			vmm__qcow2_close(b);
		}
	} else if (fstat(fd, &st) == 0) {
		if (!L->size)
			L->size = (uint64_t)st.st_size;
	} else {
		rc = vmm__err(VMM_EIO, "qcow2: backing file %s: %s", full, strerror(errno));
	}
	close(fd);
	return rc;
}

int vmm__qcow2_create(const char *path, uint64_t size, const vmm__qcow2_create_opts *o)
{
	q_layout L = { .cb = o && o->cluster_bits ? o->cluster_bits : 16,
		       .version = o && o->version ? o->version : 3, .size = size,
		       .backing = o && o->backing && o->backing[0] ? o->backing : NULL,
		       .backing_fmt = o ? o->backing_fmt : VMM__QCOW2_FMT_PROBE };
	int fd, rc;

	if (!path)
		return vmm__err(VMM_EINVAL, "qcow2: path is NULL");
	if (L.cb < Q_MIN_CLUSTER_BITS || L.cb > Q_MAX_CLUSTER_BITS)
		return vmm__err(VMM_EINVAL, "qcow2: cluster size must be 512 B to 2 MiB (a power of two)");
	if (L.version != 2 && L.version != 3)
		return vmm__err(VMM_EINVAL, "qcow2: version %u (2 or 3)", L.version);
	if (L.backing_fmt > VMM__QCOW2_FMT_QCOW2)
		return vmm__err(VMM_EINVAL, "qcow2: unknown backing format %u", L.backing_fmt);
	if (L.backing && strlen(L.backing) > VMM__QCOW2_BACKING_MAX)
		return vmm__err(VMM_EINVAL, "qcow2: backing file name longer than %d bytes", VMM__QCOW2_BACKING_MAX);
	if (L.backing && (rc = q_probe_backing(path, &L)) < 0)
		return rc;
	if (L.size > Q_MAX_VIRTUAL)
		return vmm__err(VMM_ERANGE, "qcow2: virtual size too large");
	L.cs = 1ull << L.cb;
	if ((rc = q_plan(&L)) < 0)
		return rc;
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return vmm__err(errno == EEXIST ? VMM_EEXIST : VMM_EIO, "%s: %s", path, strerror(errno));
	rc = q_write_layout(fd, &L);
	close(fd);
	if (rc < 0)
		unlink(path);
	return rc;
}

/* A bigger L1 table at the end of the file; the header switches to it,
 * then the old one is freed. */
static int q_grow_l1(vmm__qcow2 *q, uint64_t need)
{
	uint64_t cs = q->cluster_size, ncl = q_div_up(need * 8, cs), first;
	uint64_t old_off = q->l1_offset, old_ncl = q_div_up((uint64_t)q->l1_size * 8, cs);
	uint8_t *buf = calloc(ncl, cs);
	uint64_t *nl1 = calloc(need, 8);
	int rc;

	if (!buf || !nl1) {
		free(buf), free(nl1);
		return vmm__err(VMM_ENOMEM, "qcow2: out of memory for the L1 table");
	}
	memcpy(nl1, q->l1, (size_t)q->l1_size * 8);
	for (uint64_t i = 0; i < need; i++)
		q_put64(buf + 8 * i, nl1[i]);
	rc = q_alloc_run(q, ncl, &first);
	if (rc == 0 && (rc = q_pwrite(q, buf, ncl * cs, q_cl_off(q, first))) == 0 &&
	    (rc = q_sync(q)) == 0 && (rc = q_header_write_l1(q, (uint32_t)need, q_cl_off(q, first))) == 0)
		rc = q_sync(q);
	free(buf);
	if (rc < 0) {
		free(nl1);
		q->broken = true;
		return rc;
	}
	free(q->l1);
	q->l1 = nl1;
	q->l1_size = (uint32_t)need;
	q->l1_offset = q_cl_off(q, first);
	for (uint64_t c = old_off >> q->cluster_bits; rc == 0 && c < (old_off >> q->cluster_bits) + old_ncl; c++)
		rc = q_ref_drop(q, c);
	return rc;
}

int vmm__qcow2_resize(vmm__qcow2 *q, uint64_t new_size)
{
	uint64_t cover = (uint64_t)q->cluster_size * q->l2_entries, need = q_div_up(new_size, cover);
	int rc = 0;

	pthread_mutex_lock(&q->lock);
	if (!q->writable || q->broken)
		rc = vmm__err(VMM_ESTATE, "qcow2: the image is read-only or broken");
	else if (new_size < q->size)
		rc = vmm__err(VMM_ENOTSUP, "qcow2: shrinking an image is not supported");
	else if (new_size > Q_MAX_VIRTUAL || need * 8 > Q_MAX_L1_BYTES)
		rc = vmm__err(VMM_ERANGE, "qcow2: %llu bytes is too large for this cluster size",
			      (unsigned long long)new_size);
	if (rc == 0 && need > q->l1_size)
		rc = q_grow_l1(q, need);
	if (rc == 0 && new_size != q->size && (rc = q_header_write_u64(q, QH_SIZE, new_size)) == 0 &&
	    (rc = q_sync(q)) == 0)
		q->size = new_size;
	pthread_mutex_unlock(&q->lock);
	return rc;
}
