/* qcow2_io.c - reads, writes with allocation on first write and
 * copy-on-write from the backing file, discard and write-zeroes.
 *
 * Ordering (crash consistency): new clusters (data, L2 tables) are written
 * and their refcounts raised, then fdatasync, then the L1/L2 entries that
 * point to them; entries that stop pointing at a cluster are written (and
 * synced) before its refcount drops. A kill leaves at most leaks. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/storage/qcow2_priv.h"

#define Q_BATCH 64

typedef struct q_batch {
	uint64_t vcl[Q_BATCH], entry[Q_BATCH], old[Q_BATCH];
	unsigned n;
	uint64_t l1[Q_BATCH];    /* L1 indexes whose new table must be linked */
	unsigned nl1;
	bool sync;               /* new clusters were written */
} q_batch;

static int q_range(const vmm__qcow2 *q, uint64_t off, uint64_t len, bool write)
{
	if (q->broken)
		return vmm__err(VMM_EIO, "qcow2: an earlier write failed half-way; reopen the image");
	if (write && !q->writable)
		return vmm__err(VMM_ESTATE, "qcow2: the image is open read-only");
	if (off > q->size || len > q->size - off)
		return vmm__err(VMM_ERANGE, "qcow2: %llu bytes at %llu are past the virtual size %llu",
				(unsigned long long)len, (unsigned long long)off, (unsigned long long)q->size);
	return 0;
}

/* Data reads: a cluster may end past the end of the file (QEMU writes
 * partial last clusters); that part reads as zeros. */
static int q_data_pread(vmm__qcow2 *q, uint8_t *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pread(q->fd, buf, len, (off_t)off);

		if (n < 0)
			return q_pread(q, buf, len, off);   /* retries EINTR, sets the message */
		if (n == 0) {
			memset(buf, 0, len);
			return 0;
		}
		buf += n, len -= (size_t)n, off += (uint64_t)n;
	}
	return 0;
}

static int q_backing_read(vmm__qcow2 *q, uint64_t off, uint8_t *buf, size_t len)
{
	uint64_t bsize = q->bq ? q->bq->size : q->bfd >= 0 ? q->bsize : 0;
	size_t part = off >= bsize ? 0 : (bsize - off < len ? (size_t)(bsize - off) : len);
	int rc = 0;

	if (part && q->bq)
		rc = vmm__qcow2_read(q->bq, off, buf, part);
	else if (part)
		rc = q_data_pread(&(vmm__qcow2){ .fd = q->bfd }, buf, part, off);
	memset(buf + part, 0, len - part);
	return rc;
}

int q_read_locked(vmm__qcow2 *q, uint64_t off, void *out, size_t len)
{
	uint8_t *buf = out;
	int rc = 0;

	while (rc == 0 && len) {
		uint64_t vcl = off >> q->cluster_bits, in = off & (q->cluster_size - 1), e, host;
		size_t n = q->cluster_size - in < len ? (size_t)(q->cluster_size - in) : len;

		if ((rc = q_l2_get(q, vcl, &e)) < 0)
			break;
		host = e & Q_OFFSET_MASK;
		if (e & Q_OFLAG_COMPRESSED)
			rc = vmm__err(VMM_ENOTSUP, "qcow2: guest offset %#llx is in a compressed cluster; compressed "
				      "clusters are not supported (qemu-img convert makes an uncompressed copy)",
				      (unsigned long long)off);
		else if (q->version == 3 && (e & Q_OFLAG_ZERO))
			memset(buf, 0, n);
		else if (host)
			rc = q_data_pread(q, buf, n, host + in);
		else
			rc = q_backing_read(q, off, buf, n);
		buf += n, off += n, len -= n;
	}
	return rc;
}

int vmm__qcow2_read(vmm__qcow2 *q, uint64_t off, void *buf, size_t len)
{
	int rc;

	pthread_mutex_lock(&q->lock);
	rc = q_range(q, off, len, false);
	if (rc == 0)
		rc = q_read_locked(q, off, buf, len);
	pthread_mutex_unlock(&q->lock);
	return rc;
}

/* The L2 table for guest cluster vcl exists after this (a new one is
 * zeroed on disk with its refcount raised, linked in memory; b->l1 lists
 * it for the L1 write after the sync). */
static int q_l2_ensure(vmm__qcow2 *q, q_batch *b, uint64_t vcl)
{
	uint64_t i1 = vcl >> q->l2_bits, t, l2 = q->l1[i1] & Q_OFFSET_MASK;
	uint8_t *zero;
	int rc;

	if (l2)
		return q->refs[l2 >> q->cluster_bits] == 1 ? 0 :
		       vmm__err(VMM_ENOTSUP, "qcow2: the L2 table at %#llx is shared (refcount %u): not writable",
				(unsigned long long)l2, q->refs[l2 >> q->cluster_bits]);
	if ((rc = q_alloc_cluster(q, &t)) < 0 || !(zero = q_alloc_cluster_buf(q)))
		return rc < 0 ? rc : VMM_ENOMEM;
	rc = q_pwrite(q, zero, q->cluster_size, q_cl_off(q, t));
	free(zero);
	if (rc == 0)
		rc = q_ref_set(q, t, 1);
	if (rc < 0)
		return rc;
	q->l1[i1] = q_cl_off(q, t) | Q_OFLAG_COPIED;
	b->l1[b->nl1++] = i1;
	b->sync = true;
	return 0;
}

static void q_drop_cb(void *ctx, uint64_t c)
{
	vmm__qcow2 *q = ctx;

	(void)q_ref_drop(q, c);   /* errors mark the image broken */
}

/* Links what the batch prepared: sync, L1 entries, L2 entries; then, once
 * those are synced, drops the clusters they no longer use. */
static int q_batch_commit(vmm__qcow2 *q, q_batch *b)
{
	bool drops = false;
	int rc = 0;

	if (b->sync)
		rc = q_sync(q);
	for (unsigned i = 0; rc == 0 && i < b->nl1; i++) {
		uint8_t be[8];

		q_put64(be, q->l1[b->l1[i]]);
		rc = q_pwrite(q, be, 8, q->l1_offset + 8 * b->l1[i]);
	}
	for (unsigned i = 0; rc == 0 && i < b->n; i++) {
		rc = q_l2_set(q, b->vcl[i], b->entry[i]);
		drops |= (b->old[i] & (Q_OFLAG_COMPRESSED | Q_OFFSET_MASK)) != 0;
	}
	if (rc == 0 && drops && (rc = q_sync(q)) == 0)
		for (unsigned i = 0; i < b->n; i++)
			(void)q_entry_clusters(q, b->old[i], q_drop_cb, q);
	if (rc == 0 && q->broken)
		rc = vmm__err(VMM_EIO, "qcow2: freeing clusters failed");
	b->n = b->nl1 = 0;
	b->sync = false;
	return rc;
}

/* A new cluster for guest cluster vcl holding its current contents with
 * [in, in+n) replaced by src. */
static int q_write_new(vmm__qcow2 *q, q_batch *b, uint64_t vcl, uint64_t e, uint64_t in,
		       const uint8_t *src, size_t n, uint8_t *tmp)
{
	uint64_t c;
	int rc;

	if ((rc = q_l2_ensure(q, b, vcl)) < 0 || (rc = q_alloc_cluster(q, &c)) < 0)
		return rc;
	if (n == q->cluster_size) {
		rc = q_pwrite(q, src, n, q_cl_off(q, c));
	} else {
		rc = q_read_locked(q, vcl << q->cluster_bits, tmp, q->cluster_size);
		memcpy(tmp + in, src, n);
		if (rc == 0)
			rc = q_pwrite(q, tmp, q->cluster_size, q_cl_off(q, c));
	}
	if (rc == 0)
		rc = q_ref_set(q, c, 1);
	if (rc < 0) {
		q->broken = true;
		return rc;
	}
	b->vcl[b->n] = vcl;
	b->entry[b->n] = q_cl_off(q, c) | Q_OFLAG_COPIED;
	b->old[b->n++] = e;
	b->sync = true;
	return 0;
}

static int q_write_locked(vmm__qcow2 *q, uint64_t off, const uint8_t *buf, size_t len)
{
	q_batch b = { 0 };
	uint8_t *tmp = q_alloc_cluster_buf(q);
	int rc = tmp ? 0 : VMM_ENOMEM;

	while (rc == 0 && len) {
		uint64_t vcl = off >> q->cluster_bits, in = off & (q->cluster_size - 1), e, host;
		size_t n = q->cluster_size - in < len ? (size_t)(q->cluster_size - in) : len;

		if ((rc = q_l2_get(q, vcl, &e)) < 0)
			break;
		host = e & Q_OFFSET_MASK;
		if (host && !(e & (Q_OFLAG_COMPRESSED | Q_OFLAG_ZERO)) && q->refs[host >> q->cluster_bits] == 1)
			rc = q_pwrite(q, buf, n, host + in);   /* allocated and ours: in place */
		else
			rc = q_write_new(q, &b, vcl, e, in, buf, n, tmp);
		buf += n, off += n, len -= n;
		if (rc == 0 && (b.n == Q_BATCH || b.nl1 == Q_BATCH))
			rc = q_batch_commit(q, &b);
	}
	if (rc == 0)
		rc = q_batch_commit(q, &b);
	free(tmp);
	return rc;
}

int vmm__qcow2_write(vmm__qcow2 *q, uint64_t off, const void *buf, size_t len)
{
	int rc;

	pthread_mutex_lock(&q->lock);
	rc = q_range(q, off, len, true);
	if (rc == 0)
		rc = q_write_locked(q, off, buf, len);
	pthread_mutex_unlock(&q->lock);
	return rc;
}

/* Whole clusters of [off, off+len) get entry ne (0 or the zero flag); the
 * clusters they used are freed. The last cluster counts as whole when the
 * range ends at the virtual size. */
static int q_unmap_locked(vmm__qcow2 *q, uint64_t off, uint64_t len, uint64_t ne)
{
	uint64_t cs = q->cluster_size, end = off + len;
	uint64_t first = (off + cs - 1) >> q->cluster_bits;
	uint64_t last = (end == q->size ? end + cs - 1 : end) >> q->cluster_bits;
	q_batch b = { 0 };
	int rc = 0;

	for (uint64_t vcl = first; rc == 0 && vcl < last; vcl++) {
		uint64_t e;

		if ((rc = q_l2_get(q, vcl, &e)) < 0 || (e & ~Q_OFLAG_COPIED) == ne)
			continue;
		if (!(q->l1[vcl >> q->l2_bits] & Q_OFFSET_MASK) && !ne)
			continue;   /* no table: already unallocated */
		if ((rc = q_l2_ensure(q, &b, vcl)) < 0)
			break;
		b.vcl[b.n] = vcl, b.entry[b.n] = ne, b.old[b.n++] = e;
		if (b.n == Q_BATCH || b.nl1 == Q_BATCH)
			rc = q_batch_commit(q, &b);
	}
	if (rc == 0)
		rc = q_batch_commit(q, &b);
	return rc;
}

int vmm__qcow2_discard(vmm__qcow2 *q, uint64_t off, uint64_t len)
{
	int rc;

	pthread_mutex_lock(&q->lock);
	rc = q_range(q, off, len, true);
	if (rc == 0)
		rc = q_unmap_locked(q, off, len,
				    q->version == 3 && q->backing[0] ? Q_OFLAG_ZERO : 0);
	pthread_mutex_unlock(&q->lock);
	return rc;
}

/* Zeros through the write path, a cluster at a time. */
static int q_write_zero_bytes(vmm__qcow2 *q, uint64_t off, uint64_t len)
{
	uint8_t *zero = q_alloc_cluster_buf(q);
	int rc = zero ? 0 : VMM_ENOMEM;

	while (rc == 0 && len) {
		size_t n = len < q->cluster_size ? (size_t)len : q->cluster_size;

		rc = q_write_locked(q, off, zero, n);
		off += n, len -= n;
	}
	free(zero);
	return rc;
}

int vmm__qcow2_write_zeroes(vmm__qcow2 *q, uint64_t off, uint64_t len)
{
	uint64_t cs = q->cluster_size, end = off + len, a, z;
	int rc;

	pthread_mutex_lock(&q->lock);
	rc = q_range(q, off, len, true);
	a = (off + cs - 1) & ~(cs - 1);
	z = end == q->size ? end : end & ~(cs - 1);
	if (rc == 0 && (a >= z || (q->version == 2 && q->backing[0])))
		rc = q_write_zero_bytes(q, off, len);   /* no whole cluster to unmap */
	else if (rc == 0) {
		rc = q_write_zero_bytes(q, off, a - off);
		if (rc == 0)
			rc = q_unmap_locked(q, a, z - a, q->version == 3 ? Q_OFLAG_ZERO : 0);
		if (rc == 0 && z < end)
			rc = q_write_zero_bytes(q, z, end - z);
	}
	pthread_mutex_unlock(&q->lock);
	return rc;
}
