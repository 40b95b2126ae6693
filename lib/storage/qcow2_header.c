/* qcow2_header.c - reading and validating the qcow2 header, its extensions
 * and the table locations it gives; writing single header fields. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/storage/qcow2_priv.h"

int vmm__qcow2_probe(int fd)
{
	uint8_t m[4];
	ssize_t n = pread(fd, m, sizeof(m), 0);

	if (n < 0)
		return vmm__err(VMM_EIO, "probe: read failed");
	return n == 4 && q_be32(m) == Q_MAGIC;
}

static int q_bad(const char *what, unsigned long long v)
{
	return vmm__err(VMM_EBADIMAGE, "qcow2: %s (%#llx)", what, v);
}

/* [a, a+alen) and [b, b+blen) rounded out to clusters intersect. */
static bool q_overlap(const vmm__qcow2 *q, uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	uint64_t m = q->cluster_size - 1;
	uint64_t ae = (a + alen + m) & ~m, be = (b + blen + m) & ~m;

	return alen && blen && a < be && b < ae;
}

static int q_parse_fields(vmm__qcow2 *q, const uint8_t *h)
{
	q->version = q_be32(h + 4);
	if (q->version < 2 || q->version > 3)
		return vmm__err(q->version > 3 ? VMM_ENOTSUP : VMM_EBADIMAGE,
				"qcow2: version %u is not supported (2 and 3 are)", q->version);
	q->backing_offset = q_be64(h + 8);
	q->backing_len = q_be32(h + 16);
	q->cluster_bits = q_be32(h + 20);
	if (q->cluster_bits < Q_MIN_CLUSTER_BITS || q->cluster_bits > Q_MAX_CLUSTER_BITS)
		return q_bad("cluster_bits outside 9..21", q->cluster_bits);
	q->cluster_size = 1u << q->cluster_bits;
	q->l2_bits = q->cluster_bits - 3;
	q->l2_entries = 1u << q->l2_bits;
	q->rb_entries = q->cluster_size / 2;
	q->size = q_be64(h + QH_SIZE);
	if (q_be32(h + 32))
		return vmm__err(VMM_ENOTSUP, "qcow2: encrypted images are not supported (crypt_method %u)",
				q_be32(h + 32));
	q->l1_size = q_be32(h + QH_L1_SIZE);
	q->l1_offset = q_be64(h + QH_L1_SIZE + 4);
	q->rt_offset = q_be64(h + QH_RT_OFFSET);
	q->rt_clusters = q_be32(h + QH_RT_OFFSET + 8);
	q->nb_snapshots = q_be32(h + 60);
	q->snapshots_offset = q_be64(h + 64);
	q->header_length = Q_V2_HEADER_LEN;
	if (q->version == 2)
		return 0;
	q->incompat = q_be64(h + QH_INCOMPAT);
	q->compat = q_be64(h + 80);
	q->autoclear = q_be64(h + QH_AUTOCLEAR);
	if (q_be32(h + 96) != 4)
		return vmm__err(VMM_ENOTSUP, "qcow2: refcount width of %u bits is not supported (only 16, refcount_order 4)",
				q_be32(h + 96) < 31 ? 1u << q_be32(h + 96) : 0);
	q->header_length = q_be32(h + 100);
	if (q->header_length < Q_V3_HEADER_MIN || q->header_length > q->cluster_size ||
	    q->header_length % 8)
		return q_bad("header_length invalid", q->header_length);
	return 0;
}

static int q_check_features(vmm__qcow2 *q, bool strict)
{
	uint64_t known = Q_INCOMPAT_DIRTY | Q_INCOMPAT_CORRUPT | Q_INCOMPAT_DATA_FILE |
			 Q_INCOMPAT_COMPRESSION | Q_INCOMPAT_EXTL2;

	if (q->incompat & ~known)
		return vmm__err(VMM_ENOTSUP, "qcow2: unknown incompatible features %#llx (an image from a newer QEMU)",
				(unsigned long long)(q->incompat & ~known));
	if (q->incompat & Q_INCOMPAT_DATA_FILE)
		return vmm__err(VMM_ENOTSUP, "qcow2: external data files are not supported");
	if (q->incompat & Q_INCOMPAT_COMPRESSION)
		return vmm__err(VMM_ENOTSUP, "qcow2: compression types other than zlib are not supported");
	if (q->incompat & Q_INCOMPAT_EXTL2)
		return vmm__err(VMM_ENOTSUP, "qcow2: extended L2 entries (subclusters) are not supported");
	if (strict && (q->incompat & Q_INCOMPAT_DIRTY))
		return vmm__err(VMM_EBADIMAGE, "qcow2: the image is dirty (lazy refcounts, not closed cleanly): "
				"repair it first (vmm disk check --repair)");
	if (strict && (q->incompat & Q_INCOMPAT_CORRUPT))
		return vmm__err(VMM_EBADIMAGE, "qcow2: the image is marked corrupt: repair it first (vmm disk check --repair)");
	return 0;
}

static int q_check_tables(vmm__qcow2 *q)
{
	uint64_t cs = q->cluster_size, fsz = q->file_size, m = cs - 1;
	uint64_t cover = (uint64_t)cs * q->l2_entries;   /* bytes one L2 table maps */
	uint64_t need = q->size / cover + (q->size % cover != 0);

	if (q->size > Q_MAX_VIRTUAL)
		return q_bad("virtual size too large", q->size);
	if ((uint64_t)q->l1_size * 8 > Q_MAX_L1_BYTES)
		return q_bad("L1 table larger than 32 MiB", q->l1_size);
	if (q->l1_size < need)
		return q_bad("L1 table too small for the virtual size", q->l1_size);
	if (q->l1_size && ((q->l1_offset & m) || !q->l1_offset || q->l1_offset > fsz ||
			   (uint64_t)q->l1_size * 8 > fsz - q->l1_offset))
		return q_bad("L1 table offset unaligned or past the end of the file", q->l1_offset);
	if (!q->rt_clusters || (uint64_t)q->rt_clusters * cs > Q_MAX_RT_BYTES)
		return q_bad("refcount table size invalid", q->rt_clusters);
	if ((q->rt_offset & m) || !q->rt_offset || q->rt_offset > fsz ||
	    (uint64_t)q->rt_clusters * cs > fsz - q->rt_offset)
		return q_bad("refcount table offset unaligned or past the end of the file", q->rt_offset);
	if (q_overlap(q, q->l1_offset, (uint64_t)q->l1_size * 8, q->rt_offset,
		      (uint64_t)q->rt_clusters * cs))
		return q_bad("L1 table and refcount table overlap", q->l1_offset);
	if (q->nb_snapshots > Q_MAX_SNAPSHOTS)
		return q_bad("too many snapshots", q->nb_snapshots);
	if (q->nb_snapshots && ((q->snapshots_offset & m) || !q->snapshots_offset ||
				q->snapshots_offset >= fsz))
		return q_bad("snapshot table offset invalid", q->snapshots_offset);
	q->rt_entries = (uint64_t)q->rt_clusters * cs / 8;
	return 0;
}

static int q_ext_backing_fmt(vmm__qcow2 *q, const uint8_t *d, uint32_t len)
{
	if (len == 3 && !memcmp(d, "raw", 3))
		q->backing_fmt = VMM__QCOW2_FMT_RAW;
	else if (len == 5 && !memcmp(d, "qcow2", 5))
		q->backing_fmt = VMM__QCOW2_FMT_QCOW2;
	else
		return vmm__err(VMM_ENOTSUP, "qcow2: backing file format '%.*s' is not supported (raw and qcow2 are)",
				(int)(len > 32 ? 32 : len), (const char *)d);
	return 0;
}

/* Extensions follow the header up to the backing file name (or the end of
 * the first cluster): type, length, data padded to 8 bytes. */
static int q_parse_exts(vmm__qcow2 *q, const uint8_t *h, uint64_t end)
{
	uint64_t p = q->header_length;
	int rc;

	while (p + 8 <= end) {
		uint32_t type = q_be32(h + p), len = q_be32(h + p + 4);
		uint64_t padded = ((uint64_t)len + 7) & ~7ull;

		if (type == Q_EXT_END)
			return 0;
		if (padded > end - p - 8)
			return q_bad("header extension runs past the first cluster", type);
		if (type == Q_EXT_BACKING_FMT && (rc = q_ext_backing_fmt(q, h + p + 8, len)) < 0)
			return rc;
		if (type == Q_EXT_CRYPTO)
			return vmm__err(VMM_ENOTSUP, "qcow2: encrypted images are not supported");
		if (type == Q_EXT_DATA_FILE)
			return vmm__err(VMM_ENOTSUP, "qcow2: external data files are not supported");
		p += 8 + padded;
	}
	if (p == end)
		return 0;   /* extensions fill the space exactly: no end marker needed */
	return q_bad("header extensions have no end marker", p);
}

static int q_parse_backing(vmm__qcow2 *q, const uint8_t *h, uint64_t hlen)
{
	q->backing[0] = '\0';
	if (!q->backing_offset)
		return 0;
	if (!q->backing_len || q->backing_len > VMM__QCOW2_BACKING_MAX)
		return q_bad("backing file name length invalid", q->backing_len);
	if (q->backing_offset < q->header_length || q->backing_offset > hlen ||
	    q->backing_len > hlen - q->backing_offset)
		return q_bad("backing file name outside the first cluster", q->backing_offset);
	if (memchr(h + q->backing_offset, '\0', q->backing_len))
		return q_bad("backing file name contains a NUL byte", q->backing_offset);
	memcpy(q->backing, h + q->backing_offset, q->backing_len);
	q->backing[q->backing_len] = '\0';
	return 0;
}

int q_header_parse(vmm__qcow2 *q, bool strict)
{
	uint64_t hlen = 0;
	uint8_t *h;
	int rc;

	if (q->file_size < Q_V2_HEADER_LEN)
		return vmm__err(VMM_EBADIMAGE, "qcow2: file of %llu bytes is too short for a header",
				(unsigned long long)q->file_size);
	h = calloc(1, 1u << Q_MAX_CLUSTER_BITS);
	if (!h)
		return vmm__err(VMM_ENOMEM, "qcow2: out of memory");
	/* The fixed fields (up to 112 bytes) lie in the smallest cluster. */
	rc = q_pread(q, h, q->file_size < 512 ? q->file_size : 512, 0);
	if (rc == 0 && q_be32(h) != Q_MAGIC)
		rc = vmm__err(VMM_EBADIMAGE, "qcow2: wrong magic %#x (not a qcow2 image)", q_be32(h));
	if (rc == 0)
		rc = q_parse_fields(q, h);
	if (rc == 0) {
		hlen = q->cluster_size < q->file_size ? q->cluster_size : q->file_size;
		if (q->header_length > hlen)
			rc = q_bad("header longer than the file", q->header_length);
	}
	if (rc == 0)
		rc = q_pread(q, h, hlen, 0);
	if (rc == 0 && (rc = q_check_features(q, strict)) == 0 && (rc = q_check_tables(q)) == 0 &&
	    (rc = q_parse_backing(q, h, hlen)) == 0)
		rc = q_parse_exts(q, h, q->backing_offset ? q->backing_offset : hlen);
	if (rc == 0 && q->backing[0] == '\0')
		q->backing_fmt = VMM__QCOW2_FMT_PROBE;
	free(h);
	return rc;
}

int q_header_write_u64(vmm__qcow2 *q, unsigned field_off, uint64_t v)
{
	uint8_t b[8];

	q_put64(b, v);
	return q_pwrite(q, b, 8, field_off);
}

int q_header_write_l1(vmm__qcow2 *q, uint32_t l1_size, uint64_t l1_off)
{
	uint8_t b[12];

	q_put32(b, l1_size);
	q_put64(b + 4, l1_off);
	return q_pwrite(q, b, sizeof(b), QH_L1_SIZE);
}

int q_header_write_rt(vmm__qcow2 *q, uint64_t rt_off, uint32_t rt_clusters)
{
	uint8_t b[12];

	q_put64(b, rt_off);
	q_put32(b + 8, rt_clusters);
	return q_pwrite(q, b, sizeof(b), QH_RT_OFFSET);
}
