/* qcow2_refcount.c - the refcount table and blocks (16-bit refcounts), kept
 * whole in memory (2 bytes per host cluster) and written through; cluster
 * allocation, new refcount blocks, and growing the refcount table. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "lib/storage/qcow2_priv.h"

int q_refs_reserve(vmm__qcow2 *q, uint64_t n)
{
	uint64_t cap = q->refs_cap ? q->refs_cap : 1024;
	uint16_t *p;

	if (n <= q->refs_cap)
		return 0;
	if (n > Q_MAX_HOST_CLUSTERS)
		return vmm__err(VMM_ENOMEM, "qcow2: more than %llu host clusters",
				(unsigned long long)Q_MAX_HOST_CLUSTERS);
	while (cap < n)
		cap *= 2;
	if (cap > Q_MAX_HOST_CLUSTERS)
		cap = Q_MAX_HOST_CLUSTERS;
	p = realloc(q->refs, cap * sizeof(*p));
	if (!p)
		return vmm__err(VMM_ENOMEM, "qcow2: out of memory for refcounts");
	memset(p + q->refs_cap, 0, (cap - q->refs_cap) * sizeof(*p));
	q->refs = p;
	q->refs_cap = cap;
	return 0;
}

/* Loads every refcount block. strict: a block offset that is unaligned or
 * outside the file refuses the image; else it is counted in *bad and the
 * block treated as absent (check --repair rebuilds it). */
/* Blocks that describe only clusters past the end of the file are not kept
 * in memory: their non-zero entries are counted as leaks (refs_beyond). */
static int q_refs_load_block(vmm__qcow2 *q, uint64_t i, uint64_t off, uint8_t *blk)
{
	uint64_t E = q->rb_entries;
	int rc = q_pread(q, blk, q->cluster_size, off);

	if (rc < 0)
		return rc;
	q->rt[i] = off;
	if (i * E >= q->host_clusters) {
		for (uint32_t j = 0; j < E; j++)
			q->refs_beyond += q_be16(blk + 2 * j) != 0;
		return 0;
	}
	if ((rc = q_refs_reserve(q, (i + 1) * E)) < 0)
		return rc;
	for (uint32_t j = 0; j < E; j++)
		q->refs[i * E + j] = q_be16(blk + 2 * j);
	return 0;
}

int q_refs_load(vmm__qcow2 *q, bool strict, uint64_t *bad)
{
	uint64_t cs = q->cluster_size, n = q->rt_entries;
	uint8_t *tab = malloc(n * 8), *blk = malloc(cs);
	int rc;

	q->rt = calloc(n, sizeof(*q->rt));
	if (!tab || !blk || !q->rt) {
		free(tab), free(blk);
		return vmm__err(VMM_ENOMEM, "qcow2: out of memory for the refcount table");
	}
	rc = q_pread(q, tab, n * 8, q->rt_offset);
	if (rc == 0)
		rc = q_refs_reserve(q, q->host_clusters);
	for (uint64_t i = 0; rc == 0 && i < n; i++) {
		uint64_t off = q_be64(tab + i * 8);

		if (!off)
			continue;
		if ((off & Q_RT_RESERVED) || off > q->file_size - cs) {
			if (strict)
				rc = vmm__err(VMM_EBADIMAGE, "qcow2: refcount block %llu at %#llx is unaligned or past the end of the file",
					      (unsigned long long)i, (unsigned long long)off);
			else
				++*bad;
			continue;
		}
		rc = q_refs_load_block(q, i, off, blk);
	}
	free(tab), free(blk);
	return rc;
}

int q_ref_set(vmm__qcow2 *q, uint64_t c, uint16_t v)
{
	uint64_t b = c / q->rb_entries;
	uint8_t be[2];
	int rc;

	if (b >= q->rt_entries || !q->rt[b] || c >= q->refs_cap)
		return vmm__err(VMM_EINTERNAL, "qcow2: no refcount block for cluster %llu",
				(unsigned long long)c);
	q_put16(be, v);
	rc = q_pwrite(q, be, 2, q->rt[b] + 2 * (c % q->rb_entries));
	if (rc == 0)
		q->refs[c] = v;
	return rc;
}

int q_ref_drop(vmm__qcow2 *q, uint64_t c)
{
	int rc;

	if (c >= q->refs_cap || !q->refs[c])
		return vmm__err(VMM_EBADIMAGE, "qcow2: freeing cluster %llu whose refcount is 0",
				(unsigned long long)c);
	if ((rc = q_ref_set(q, c, q->refs[c] - 1)) < 0 || q->refs[c])
		return rc;
	if (c < q->free_hint)
		q->free_hint = c;
	/* Give the space back to the host; a file system without hole punching
	 * keeps it (the cluster is still free for reuse). */
	(void)fallocate(q->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			(off_t)q_cl_off(q, c), q->cluster_size);
	return 0;
}

uint64_t q_used_clusters(const vmm__qcow2 *q)
{
	uint64_t n = 0;

	for (uint64_t i = 0; i < q->refs_cap; i++)
		n += q->refs[i] != 0;
	return n;
}

static bool q_has_block(const vmm__qcow2 *q, uint64_t c)
{
	uint64_t b = c / q->rb_entries;

	return b < q->rt_entries && q->rt[b];
}

/* Clusters for a refcount table able to hold need_entries (plus half again)
 * at cluster start, and the refcount blocks still missing for the table
 * and those blocks themselves, which follow it. */
static void q_plan_table(const vmm__qcow2 *q, uint64_t start, uint64_t need_entries,
			 uint64_t *ncl_out, uint64_t *k_out)
{
	uint64_t cs = q->cluster_size, E = q->rb_entries, ncl = 1, k = 0;

	for (;;) {
		uint64_t ent = need_entries, cover = (start + ncl + k - 1) / E + 1, n2, k2 = 0;

		if (cover > ent)
			ent = cover;
		if (q->rt_entries > ent)
			ent = q->rt_entries;
		ent += ent / 2 + 1;
		n2 = (ent * 8 + cs - 1) / cs;
		for (uint64_t b = start / E; b <= (start + n2 + k - 1) / E; b++)
			k2 += b >= q->rt_entries || !q->rt[b];
		if (n2 <= ncl && k2 <= k)
			break;
		ncl = n2 > ncl ? n2 : ncl;
		k = k2 > k ? k2 : k;
	}
	*ncl_out = ncl;
	*k_out = k;
}

/* Writes the new table's blocks and refcounts, the table, then switches
 * the header to it. */
static int q_write_table(vmm__qcow2 *q, uint64_t start, uint64_t ncl, uint64_t *nt,
			 uint64_t entries, uint64_t *end)
{
	uint64_t cs = q->cluster_size, E = q->rb_entries, blk = start + ncl;
	uint8_t *buf = calloc(1, entries * 8 > cs ? entries * 8 : cs);
	int rc = 0;

	if (!buf)
		return vmm__err(VMM_ENOMEM, "qcow2: out of memory for the refcount table");
	for (uint64_t b = start / E; rc == 0 && b <= (blk - 1) / E; b++) {
		if (nt[b])
			continue;
		nt[b] = q_cl_off(q, blk++);
		rc = q_pwrite(q, buf, cs, nt[b]);   /* a zeroed block */
	}
	q->rt = nt;   /* q_ref_set reaches the new blocks from here on */
	q->rt_entries = entries;
	for (uint64_t c = start; rc == 0 && c < blk; c++)
		rc = q_ref_set(q, c, 1);
	for (uint64_t i = 0; i < entries; i++)
		q_put64(buf + i * 8, nt[i]);
	if (rc == 0 && (rc = q_pwrite(q, buf, entries * 8, q_cl_off(q, start))) == 0 &&
	    (rc = q_sync(q)) == 0 && (rc = q_header_write_rt(q, q_cl_off(q, start), (uint32_t)ncl)) == 0)
		rc = q_sync(q);
	free(buf);
	*end = blk;
	return rc;
}

/* A bigger refcount table at the end of the file; the header switches to
 * it once it and its blocks are written, then the old table is freed. */
static int q_grow_table(vmm__qcow2 *q, uint64_t need_entries)
{
	uint64_t start = q->host_clusters, ncl, k, entries, end = 0;
	uint64_t old_off = q->rt_offset, old_n = q->rt_clusters, old_entries = q->rt_entries;
	uint64_t *nt, *old_rt = q->rt;
	int rc;

	q_plan_table(q, start, need_entries, &ncl, &k);
	if (ncl * q->cluster_size > Q_MAX_RT_BYTES)
		return vmm__err(VMM_ENOMEM, "qcow2: the refcount table would exceed 8 MiB");
	entries = ncl * q->cluster_size / 8;
	if ((rc = q_refs_reserve(q, start + ncl + k)) < 0)
		return rc;
	if (!(nt = calloc(entries, sizeof(*nt))))
		return vmm__err(VMM_ENOMEM, "qcow2: out of memory for the refcount table");
	memcpy(nt, q->rt, old_entries * 8);
	rc = q_write_table(q, start, ncl, nt, entries, &end);
	if (rc < 0) {
		q->rt = old_rt, q->rt_entries = old_entries;
		free(nt);
		return rc;
	}
	free(old_rt);
	q->rt_offset = q_cl_off(q, start);
	q->rt_clusters = (uint32_t)ncl;
	q->host_clusters = end;
	for (uint64_t c = old_off >> q->cluster_bits; rc == 0 && c < (old_off >> q->cluster_bits) + old_n; c++)
		rc = q_ref_drop(q, c);
	return rc;
}

/* Makes cluster c (free) the refcount block that covers c itself. */
static int q_make_block_at(vmm__qcow2 *q, uint64_t c)
{
	uint64_t b = c / q->rb_entries;
	uint8_t *buf, be[8];
	int rc;

	if (b >= q->rt_entries)
		return q_grow_table(q, b + 1);
	if (q->rt[b] || (c < q->refs_cap && q->refs[c]))
		return vmm__err(VMM_EINTERNAL, "qcow2: cluster %llu is not free for a refcount block",
				(unsigned long long)c);
	if ((rc = q_refs_reserve(q, (b + 1) * q->rb_entries)) < 0)
		return rc;
	if (!(buf = q_alloc_cluster_buf(q)))
		return VMM_ENOMEM;
	q_put16(buf + 2 * (c % q->rb_entries), 1);
	rc = q_pwrite(q, buf, q->cluster_size, q_cl_off(q, c));
	free(buf);
	q_put64(be, q_cl_off(q, c));
	if (rc == 0 && (rc = q_sync(q)) == 0)
		rc = q_pwrite(q, be, 8, q->rt_offset + 8 * b);
	if (rc < 0)
		return rc;
	q->rt[b] = q_cl_off(q, c);
	q->refs[c] = 1;
	if (c >= q->host_clusters)
		q->host_clusters = c + 1;
	return 0;
}

int q_alloc_cluster(vmm__qcow2 *q, uint64_t *out)
{
	for (;;) {
		uint64_t c = q->free_hint;
		int rc;

		while (c < q->host_clusters && c < q->refs_cap && q->refs[c])
			c++;
		q->free_hint = c;
		if (!q_has_block(q, c)) {
			if ((rc = q_make_block_at(q, c)) < 0)
				return rc;
			continue;
		}
		if ((rc = q_refs_reserve(q, c + 1)) < 0)
			return rc;
		q->refs[c] = 1;   /* reserved; the caller writes the refcount */
		if (c >= q->host_clusters)
			q->host_clusters = c + 1;
		*out = c;
		return 0;
	}
}

/* Refcount blocks still missing for [start, start+n) and for themselves,
 * placed right after that range. */
static uint64_t q_run_blocks(const vmm__qcow2 *q, uint64_t start, uint64_t n, uint64_t *maxb)
{
	uint64_t E = q->rb_entries, k = 0;

	for (;;) {
		uint64_t k2 = 0;

		*maxb = (start + n + k - 1) / E;
		for (uint64_t b = start / E; b <= *maxb; b++)
			k2 += b >= q->rt_entries || !q->rt[b];
		if (k2 <= k)
			return k;
		k = k2;
	}
}

/* Writes the new blocks (their entries for the run already 1), syncs, then
 * links them in the refcount table. */
static int q_run_write_blocks(vmm__qcow2 *q, uint64_t start, uint64_t end, uint64_t at)
{
	uint64_t E = q->rb_entries, blk = at, b0 = start / E, b1 = (end - 1) / E;
	uint8_t *buf = q_alloc_cluster_buf(q), be[8];
	int rc = buf ? 0 : VMM_ENOMEM;

	for (uint64_t b = b0; rc == 0 && b <= b1; b++) {
		if (q->rt[b])
			continue;
		memset(buf, 0, q->cluster_size);
		for (uint64_t c = b * E; c < (b + 1) * E; c++)
			if (c >= start && c < end)
				q_put16(buf + 2 * (c - b * E), 1);
		rc = q_pwrite(q, buf, q->cluster_size, q_cl_off(q, blk++));
	}
	free(buf);
	if (rc == 0 && blk != at)
		rc = q_sync(q);
	blk = at;
	for (uint64_t b = b0; rc == 0 && b <= b1; b++) {
		if (q->rt[b])
			continue;
		q_put64(be, q_cl_off(q, blk));
		if ((rc = q_pwrite(q, be, 8, q->rt_offset + 8 * b)) == 0)
			q->rt[b] = q_cl_off(q, blk++);
	}
	return rc;
}

int q_alloc_run(vmm__qcow2 *q, uint64_t n, uint64_t *first)
{
	uint64_t start, k, maxb, end, E = q->rb_entries;
	int rc;

	for (;;) {
		start = q->host_clusters;
		k = q_run_blocks(q, start, n, &maxb);
		if (maxb < q->rt_entries)
			break;
		if ((rc = q_grow_table(q, maxb + 1)) < 0)
			return rc;
	}
	end = start + n + k;
	if ((rc = q_refs_reserve(q, end)) < 0)
		return rc;
	/* Clusters whose block exists get their refcount written now. */
	for (uint64_t c = start; c < end; c++) {
		uint64_t b = c / E;

		if (q->rt[b] && (rc = q_ref_set(q, c, 1)) < 0)
			return rc;
	}
	if ((rc = q_run_write_blocks(q, start, end, start + n)) < 0)
		return rc;
	for (uint64_t c = start; c < end; c++)
		q->refs[c] = 1;
	q->host_clusters = end;
	*first = start;
	return 0;
}
