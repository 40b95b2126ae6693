/* qcow2_check.c - consistency check and repair, counted like qemu-img
 * check: a leak is a cluster whose refcount is above its uses, a corruption
 * a refcount below them, an entry that points outside the file or is
 * malformed, or a COPIED flag that disagrees with the refcount. Repair
 * drops bad entries, sets every refcount to its uses, then fixes flags. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/storage/qcow2_priv.h"

typedef struct q_counts {
	uint64_t leaks, corruptions;
} q_counts;

static int q_check_open(const char *path, bool repair, vmm__qcow2 **out, uint64_t *badblocks)
{
	vmm__qcow2 *q = calloc(1, sizeof(*q));
	struct stat st;
	int rc = 0;

	if (!q)
		return vmm__err(VMM_ENOMEM, "qcow2: out of memory");
	pthread_mutex_init(&q->lock, NULL);
	q->bfd = -1;
	q->writable = repair;
	q->fd = open(path, (repair ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (q->fd < 0 || fstat(q->fd, &st) < 0)
		rc = vmm__err(errno == ENOENT ? VMM_ENOENT : VMM_EIO, "%s: %s", path, strerror(errno));
	if (rc == 0 && (rc = q_lock(q->fd, repair)) == 0) {
		q->file_size = (uint64_t)st.st_size;
		rc = q_header_parse(q, false);
	}
	if (rc == 0 && q->nb_snapshots)
		rc = vmm__err(VMM_ENOTSUP, "qcow2: checking images with internal snapshots is not supported");
	if (rc == 0) {
		q->host_clusters = (q->file_size + q->cluster_size - 1) >> q->cluster_bits;
		q->l1 = calloc(q->l1_size ? q->l1_size : 1, 8);
		rc = q->l1 ? q_pread(q, q->l1, (size_t)q->l1_size * 8, q->l1_offset) : VMM_ENOMEM;
		for (uint64_t i = 0; rc == 0 && i < q->l1_size; i++)
			q->l1[i] = q_be64(&q->l1[i]);
	}
	if (rc == 0 && (rc = q_refs_load(q, false, badblocks)) == 0)
		rc = q_l2_cache_init(q);
	if (rc < 0) {
		q_free(q);
		return rc;
	}
	q->free_hint = 1;
	*out = q;
	return 0;
}

static void q_compare(const vmm__qcow2 *q, const q_walk *w, q_counts *n)
{
	uint64_t end = w->n > q->refs_cap ? w->n : q->refs_cap;

	n->leaks = q->refs_beyond;
	n->corruptions = w->bad + w->copied_bad;
	for (uint64_t c = 0; c < end; c++) {
		unsigned have = c < q->refs_cap ? q->refs[c] : 0, use = c < w->n ? w->uses[c] : 0;

		n->leaks += have > use;
		n->corruptions += have < use;
	}
}

/* A refcount block for index b placed in a free cluster of its own range. */
static int q_block_for(vmm__qcow2 *q, uint64_t b)
{
	uint64_t E = q->rb_entries, f = b * E;
	uint8_t *buf, be[8];
	int rc;

	if (b >= q->rt_entries)
		return vmm__err(VMM_ENOTSUP, "qcow2: cannot repair: cluster %llu is past the refcount table",
				(unsigned long long)(b * E));
	while (f < (b + 1) * E && f < q->refs_cap && q->refs[f])
		f++;
	if (f == (b + 1) * E || (rc = q_refs_reserve(q, (b + 1) * E)) < 0 || !(buf = q_alloc_cluster_buf(q)))
		return vmm__err(VMM_ENOTSUP, "qcow2: cannot repair: no room for refcount block %llu",
				(unsigned long long)b);
	q->refs[f] = 1;
	for (uint64_t i = 0; i < E; i++)
		q_put16(buf + 2 * i, q->refs[b * E + i]);
	rc = q_pwrite(q, buf, q->cluster_size, q_cl_off(q, f));
	free(buf);
	q_put64(be, q_cl_off(q, f));
	if (rc == 0 && (rc = q_sync(q)) == 0)
		rc = q_pwrite(q, be, 8, q->rt_offset + 8 * b);
	if (rc == 0) {
		q->rt[b] = q_cl_off(q, f);
		if (f >= q->host_clusters)
			q->host_clusters = f + 1;
	}
	return rc;
}

/* Sets every stored refcount to its uses: written where the block exists,
 * else kept in memory until every refcount is known, then the missing
 * blocks are made (in clusters that are truly free). */
static int q_fix_refs(vmm__qcow2 *q, const q_walk *w)
{
	uint64_t end = w->n > q->refs_cap ? w->n : q->refs_cap, E = q->rb_entries;
	uint64_t need_from = UINT64_MAX;
	int rc = q_refs_reserve(q, end);

	for (uint64_t c = 0; rc == 0 && c < end; c++) {
		uint16_t use = c < w->n ? w->uses[c] : 0;
		uint64_t b = c / E;

		if (q->refs[c] == use)
			continue;
		if (b < q->rt_entries && q->rt[b]) {
			rc = q_ref_set(q, c, use);
			continue;
		}
		q->refs[c] = use;
		if (use && need_from == UINT64_MAX)
			need_from = b;
	}
	for (uint64_t b = need_from; rc == 0 && b != UINT64_MAX && b * E < end; b++) {
		bool used = false;

		if (b < q->rt_entries && q->rt[b])
			continue;
		for (uint64_t c = b * E; c < (b + 1) * E && c < end && !used; c++)
			used = q->refs[c] != 0;
		if (used)
			rc = q_block_for(q, b);
	}
	return rc;
}

/* The refcount table as in memory (bad block offsets were dropped). */
static int q_fix_table(vmm__qcow2 *q)
{
	uint8_t *buf = malloc(q->rt_entries * 8);
	int rc;

	if (!buf)
		return vmm__err(VMM_ENOMEM, "qcow2: out of memory");
	for (uint64_t i = 0; i < q->rt_entries; i++)
		q_put64(buf + 8 * i, q->rt[i]);
	rc = q_pwrite(q, buf, q->rt_entries * 8, q->rt_offset);
	free(buf);
	return rc;
}

/* Blocks that only describe clusters past the end of the file are dropped
 * from the table (their cluster then counts as a leak and is freed). */
static void q_fix_beyond(vmm__qcow2 *q)
{
	for (uint64_t b = 0; b < q->rt_entries; b++)
		if (q->rt[b] && b * q->rb_entries >= q->host_clusters)
			q->rt[b] = 0;
	q->refs_beyond = 0;
}

static int q_repair(vmm__qcow2 *q, uint64_t badblocks)
{
	q_walk w;
	int rc;

	if (q->refs_beyond)
		q_fix_beyond(q);
	if ((rc = q_fix_table(q)) < 0)   /* without the bad and dropped blocks */
		return rc;
	if ((rc = q_walk_run(q, &w, true)) < 0)   /* drops bad entries */
		return rc;
	q_walk_free(&w);
	if ((rc = q_walk_run(q, &w, false)) == 0)
		rc = q_fix_refs(q, &w);
	q_walk_free(&w);
	if (rc == 0 && (rc = q_sync(q)) == 0 && (rc = q_walk_run(q, &w, true)) == 0)   /* flags */
		q_walk_free(&w);
	if (rc == 0 && (q->incompat & (Q_INCOMPAT_DIRTY | Q_INCOMPAT_CORRUPT)))
		rc = q_header_write_u64(q, QH_INCOMPAT, q->incompat & ~(Q_INCOMPAT_DIRTY | Q_INCOMPAT_CORRUPT));
	if (rc == 0)
		rc = q_sync(q);
	return rc;
}

/* Opens the image afresh and counts its problems. */
static int q_count(const char *path, bool repair, vmm__qcow2 **q, uint64_t *badblocks, q_counts *n)
{
	q_walk w;
	int rc;

	*badblocks = 0;
	if ((rc = q_check_open(path, repair, q, badblocks)) < 0)
		return rc;
	if ((rc = q_walk_run(*q, &w, false)) == 0) {
		q_compare(*q, &w, n);
		n->corruptions += *badblocks;
		q_walk_free(&w);
	}
	if (rc < 0) {
		q_free(*q);
		*q = NULL;
	}
	return rc;
}

/* Repairs run on a fresh open each time (tables that overlap change each
 * other's contents under a repair), until clean or four passes. */
int vmm__qcow2_check(const char *path, bool repair, vmm__qcow2_check_result *r)
{
	vmm__qcow2 *q = NULL;
	uint64_t badblocks = 0;
	q_counts before = { 0 }, now = { 0 };
	int rc;

	if (!path || !r)
		return vmm__err(VMM_EINVAL, "qcow2 check: path or result is NULL");
	memset(r, 0, sizeof(*r));
	if ((rc = q_count(path, repair, &q, &badblocks, &before)) < 0)
		return rc;
	r->leaks = before.leaks;
	r->corruptions = before.corruptions;
	now = before;
	for (int pass = 0; rc == 0 && repair && pass < 4; pass++) {
		if (!now.leaks && !now.corruptions && !(q->incompat & (Q_INCOMPAT_DIRTY | Q_INCOMPAT_CORRUPT)))
			break;
		rc = q_repair(q, badblocks);
		q_free(q);
		q = NULL;
		if (rc == 0)
			rc = q_count(path, repair, &q, &badblocks, &now);
	}
	if (rc == 0 && repair) {
		r->leaks_fixed = before.leaks > now.leaks ? before.leaks - now.leaks : 0;
		r->corruptions_fixed = before.corruptions > now.corruptions ?
				       before.corruptions - now.corruptions : 0;
	}
	q_free(q);
	return rc;
}
