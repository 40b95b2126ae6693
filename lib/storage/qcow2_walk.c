/* qcow2_walk.c - counts the references to every host cluster by walking the
 * header, the L1, refcount and L2 tables; finds entries that point outside
 * the file or are malformed, and COPIED flags that disagree with the
 * refcounts. Open uses it to refuse images whose refcounts lie; check and
 * repair (qcow2_check.c) use it to count and fix. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/storage/qcow2_priv.h"

static void q_use(void *ctx, uint64_t c)
{
	q_walk *w = ctx;

	if (c < w->n && w->uses[c] < UINT16_MAX)
		w->uses[c]++;
}

static void q_use_range(q_walk *w, const vmm__qcow2 *q, uint64_t off, uint64_t len)
{
	if (!len)
		return;
	for (uint64_t c = off >> q->cluster_bits; c <= (off + len - 1) >> q->cluster_bits; c++)
		q_use(w, c);
}

int q_entry_clusters(const vmm__qcow2 *q, uint64_t e, void (*fn)(void *ctx, uint64_t c), void *ctx)
{
	uint64_t off, end;

	if (e & Q_OFLAG_COMPRESSED) {
		unsigned x = 62 - (q->cluster_bits - 8);
		uint64_t nsec = ((e >> x) & ((1ull << (q->cluster_bits - 8)) - 1)) + 1;

		off = (e & ((1ull << x) - 1)) & ~511ull;
		end = off + nsec * 512;
	} else {
		off = e & Q_OFFSET_MASK;
		if (!off)
			return 0;
		if (off & (q->cluster_size - 1))
			return VMM_EBADIMAGE;
		end = off + q->cluster_size;
	}
	if (off < q->cluster_size || ((end - 1) >> q->cluster_bits) >= q->host_clusters)
		return VMM_EBADIMAGE;
	for (uint64_t c = off >> q->cluster_bits; c <= (end - 1) >> q->cluster_bits; c++)
		fn(ctx, c);
	return 0;
}

static void q_note(q_walk *w, const char *fmt, unsigned long long a, unsigned long long b)
{
	if (!w->first[0])
		snprintf(w->first, sizeof(w->first), fmt, a, b);
}

static bool q_copied_ok(const vmm__qcow2 *q, uint64_t e)
{
	uint64_t c = (e & Q_OFFSET_MASK) >> q->cluster_bits;
	bool one = c < q->refs_cap && q->refs[c] == 1;

	return !!(e & Q_OFLAG_COPIED) == one;
}

/* One L2 entry: returns the entry to write back in fix mode (or e). */
static uint64_t q_walk_l2e(vmm__qcow2 *q, q_walk *w, uint64_t e, uint64_t vcl)
{
	bool comp = e & Q_OFLAG_COMPRESSED;

	if ((!comp && (e & Q_L2_RESERVED)) || (!comp && q->version == 2 && (e & Q_OFLAG_ZERO)) ||
	    (comp && (e & Q_OFLAG_COPIED)) || q_entry_clusters(q, e, q_use, w) < 0) {
		w->bad++;
		q_note(w, "qcow2: L2 entry %#llx of guest cluster %llu is malformed or points past the end of the file",
		       (unsigned long long)e, (unsigned long long)vcl);
		return 0;
	}
	if (!comp && (e & Q_OFFSET_MASK) && !q_copied_ok(q, e)) {
		w->copied_bad++;
		return e ^ Q_OFLAG_COPIED;
	}
	return e;
}

static int q_walk_l2(vmm__qcow2 *q, q_walk *w, uint64_t l2off, uint64_t i1, uint8_t *tab, bool fix)
{
	int rc = q_pread(q, tab, q->cluster_size, l2off);

	for (uint64_t j = 0; rc == 0 && j < q->l2_entries; j++) {
		uint64_t e = q_be64(tab + 8 * j), ne;

		if (!e)
			continue;
		ne = q_walk_l2e(q, w, e, (i1 << q->l2_bits) | j);
		if (ne == e || !fix)
			continue;
		uint8_t be[8];

		q_put64(be, ne);
		if ((rc = q_pwrite(q, be, 8, l2off + 8 * j)) == 0)
			w->fixed++;
	}
	q_l2_forget(q, l2off);
	return rc;
}

static int q_walk_l1(vmm__qcow2 *q, q_walk *w, bool fix)
{
	uint64_t m = q->cluster_size - 1;
	uint8_t *tab = q_alloc_cluster_buf(q);
	int rc = tab ? 0 : VMM_ENOMEM;

	for (uint64_t i = 0; rc == 0 && i < q->l1_size; i++) {
		uint64_t e = q->l1[i], off = e & Q_OFFSET_MASK, ne = e;

		if (!e)
			continue;
		if ((e & Q_L1_RESERVED) || !off || (off & m) || off > q->file_size - q->cluster_size) {
			w->bad++;
			q_note(w, "qcow2: L1 entry %llu (%#llx) is malformed or points past the end of the file",
			       (unsigned long long)i, (unsigned long long)e);
			ne = 0;
		} else {
			q_use(w, off >> q->cluster_bits);
			if (!q_copied_ok(q, e))
				w->copied_bad++, ne = e ^ Q_OFLAG_COPIED;
			rc = q_walk_l2(q, w, off, i, tab, fix);
		}
		if (rc == 0 && fix && ne != e) {
			uint8_t be[8];

			q_put64(be, ne);
			if ((rc = q_pwrite(q, be, 8, q->l1_offset + 8 * i)) == 0)
				q->l1[i] = ne, w->fixed++;
		}
	}
	free(tab);
	return rc;
}

int q_walk_run(vmm__qcow2 *q, q_walk *w, bool fix)
{
	memset(w, 0, sizeof(*w));
	w->n = q->host_clusters;
	w->uses = calloc(w->n ? w->n : 1, sizeof(*w->uses));
	if (!w->uses)
		return vmm__err(VMM_ENOMEM, "qcow2: out of memory for the reference counts");
	q_use(w, 0);
	q_use_range(w, q, q->l1_offset, (uint64_t)q->l1_size * 8);
	q_use_range(w, q, q->rt_offset, (uint64_t)q->rt_clusters * q->cluster_size);
	for (uint64_t b = 0; b < q->rt_entries; b++)
		if (q->rt[b])
			q_use(w, q->rt[b] >> q->cluster_bits);
	return q_walk_l1(q, w, fix);
}

void q_walk_free(q_walk *w)
{
	free(w->uses);
	w->uses = NULL;
}

int q_validate(vmm__qcow2 *q)
{
	q_walk w;
	int rc = q_walk_run(q, &w, false);

	if (rc == 0 && w.bad)
		rc = vmm__err(VMM_EBADIMAGE, "%s", w.first);
	for (uint64_t c = 0; rc == 0 && c < w.n; c++) {
		unsigned have = c < q->refs_cap ? q->refs[c] : 0;

		if (have < w.uses[c])
			rc = vmm__err(VMM_EBADIMAGE, "qcow2: host cluster %llu is used %u times but its refcount is %u "
				      "(overlapping tables or refcounts that lie; vmm disk check --repair fixes refcounts)",
				      (unsigned long long)c, w.uses[c], have);
	}
	q_walk_free(&w);
	return rc;
}
