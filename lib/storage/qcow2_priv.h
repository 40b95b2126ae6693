/* qcow2_priv.h - shared state of the qcow2 files (lib/storage/qcow2_*.c).
 * Format facts are from QEMU's docs/interop/qcow2.txt; all on-disk numbers
 * are big-endian. */
#ifndef VMM_STORAGE_QCOW2_PRIV_H
#define VMM_STORAGE_QCOW2_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/internal.h"
#include "lib/storage/qcow2.h"

#define Q_MAGIC 0x514649fbu              /* "QFI\xfb" */
#define Q_V2_HEADER_LEN 72u
#define Q_V3_HEADER_MIN 104u
#define Q_V3_HEADER_LEN 112u             /* what we write: with compression type */
#define Q_MIN_CLUSTER_BITS 9u
#define Q_MAX_CLUSTER_BITS 21u
#define Q_MAX_L1_BYTES (32ull << 20)     /* QEMU's limits */
#define Q_MAX_RT_BYTES (8ull << 20)
#define Q_MAX_SNAPSHOTS 65536u
#define Q_MAX_HOST_CLUSTERS (1ull << 28) /* in-memory refcount array cap */
#define Q_MAX_VIRTUAL (1ull << 62)

/* Header field offsets. */
#define QH_SIZE 24
#define QH_L1_SIZE 36                    /* l1_size (4) then l1_table_offset (8) */
#define QH_RT_OFFSET 48                  /* refcount_table_offset (8), clusters (4) */
#define QH_INCOMPAT 72
#define QH_AUTOCLEAR 88

/* Incompatible features. */
#define Q_INCOMPAT_DIRTY (1ull << 0)
#define Q_INCOMPAT_CORRUPT (1ull << 1)
#define Q_INCOMPAT_DATA_FILE (1ull << 2)
#define Q_INCOMPAT_COMPRESSION (1ull << 3)
#define Q_INCOMPAT_EXTL2 (1ull << 4)

/* Header extensions. */
#define Q_EXT_END 0u
#define Q_EXT_BACKING_FMT 0xe2792acau
#define Q_EXT_FEATURES 0x6803f857u
#define Q_EXT_BITMAPS 0x23852875u
#define Q_EXT_CRYPTO 0x0537be77u
#define Q_EXT_DATA_FILE 0x44415441u

/* L1 and L2 entries. */
#define Q_OFLAG_COPIED (1ull << 63)
#define Q_OFLAG_COMPRESSED (1ull << 62)
#define Q_OFLAG_ZERO 1ull
#define Q_OFFSET_MASK 0x00fffffffffffe00ull
#define Q_L1_RESERVED 0x7f000000000001ffull
#define Q_L2_RESERVED 0x3f000000000001feull
#define Q_RT_RESERVED 0x1ffull

typedef struct q_l2slot {
	uint64_t off;        /* host offset of the cached table, 0 if empty */
	uint64_t used;       /* LRU clock */
	uint64_t *tab;       /* big-endian entries as on disk */
} q_l2slot;

#define Q_L2_SLOTS_MAX 32

struct vmm__qcow2 {
	pthread_mutex_t lock;
	int fd;
	unsigned flags;
	bool writable;
	bool broken;             /* a write failed half-way: refuse further I/O */
	uint32_t version;
	uint32_t cluster_bits, cluster_size, l2_bits, l2_entries, rb_entries;
	uint64_t size;           /* virtual */
	uint64_t file_size;      /* at open */
	uint64_t incompat, compat, autoclear;
	uint32_t header_length;
	uint32_t nb_snapshots;
	uint64_t snapshots_offset;
	uint64_t backing_offset;
	uint32_t backing_len;

	uint64_t l1_offset;
	uint32_t l1_size;
	uint64_t *l1;            /* host-endian */
	uint64_t rt_offset;
	uint32_t rt_clusters;
	uint64_t rt_entries;
	uint64_t *rt;            /* host-endian refcount block offsets */

	uint16_t *refs;          /* stored refcount of each host cluster */
	uint64_t refs_cap;       /* entries allocated in refs */
	uint64_t host_clusters;  /* clusters in the file (end of allocation) */
	uint64_t free_hint;      /* no free cluster below this one */
	uint64_t refs_beyond;    /* non-zero refcounts of clusters past the file */

	q_l2slot l2c[Q_L2_SLOTS_MAX];
	unsigned l2_slots;
	uint64_t l2_clock;

	char backing[VMM__QCOW2_BACKING_MAX + 1];
	uint32_t backing_fmt;    /* VMM__QCOW2_FMT_* from the extension, or PROBE */
	vmm__qcow2 *bq;          /* qcow2 backing file, or */
	int bfd;                 /* raw backing file (-1) */
	uint64_t bsize;          /* raw backing file's size */
	dev_t dev;
	ino_t ino;
};

/* Byte order. */
static inline uint64_t q_be64(const void *p)
{
	const uint8_t *b = p;
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}
static inline uint32_t q_be32(const void *p)
{
	const uint8_t *b = p;

	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}
static inline uint16_t q_be16(const void *p)
{
	const uint8_t *b = p;

	return (uint16_t)(b[0] << 8 | b[1]);
}
static inline void q_put64(void *p, uint64_t v)
{
	uint8_t *b = p;

	for (int i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
}
static inline void q_put32(void *p, uint32_t v)
{
	uint8_t *b = p;

	b[0] = (uint8_t)(v >> 24), b[1] = (uint8_t)(v >> 16), b[2] = (uint8_t)(v >> 8), b[3] = (uint8_t)v;
}
static inline void q_put16(void *p, uint16_t v)
{
	uint8_t *b = p;

	b[0] = (uint8_t)(v >> 8), b[1] = (uint8_t)v;
}

/* qcow2_file.c: whole-buffer I/O on the image fd; 0 or VMM_EIO (message set). */
int q_pread(vmm__qcow2 *q, void *buf, size_t len, uint64_t off);
int q_pwrite(vmm__qcow2 *q, const void *buf, size_t len, uint64_t off);
int q_sync(vmm__qcow2 *q);               /* fdatasync unless NOSYNC */
int q_lock(int fd, bool writer);         /* QEMU's OFD byte locks; VMM_EBUSY */
/* Zero-filled, cluster-sized buffer; NULL (message set) if out of memory. */
void *q_alloc_cluster_buf(const vmm__qcow2 *q);

/* qcow2_header.c */
/* Parses and validates the header and its extensions (fills q). strict:
 * the features a writable open cannot accept are refused too. */
int q_header_parse(vmm__qcow2 *q, bool strict);
int q_header_write_u64(vmm__qcow2 *q, unsigned field_off, uint64_t v);
/* Writes the 12 bytes of l1_size+l1_table_offset or of the refcount table
 * fields at once (one sector: atomic on the host). */
int q_header_write_l1(vmm__qcow2 *q, uint32_t l1_size, uint64_t l1_off);
int q_header_write_rt(vmm__qcow2 *q, uint64_t rt_off, uint32_t rt_clusters);

/* qcow2_refcount.c */
int q_refs_load(vmm__qcow2 *q, bool strict, uint64_t *bad_blocks);
int q_refs_reserve(vmm__qcow2 *q, uint64_t n);  /* capacity for n clusters */
/* Finds a free cluster, creating refcount blocks (or a bigger refcount
 * table) as needed, and marks it used in memory only: the caller writes
 * the cluster, then q_ref_set(q, c, 1) writes the refcount. */
int q_alloc_cluster(vmm__qcow2 *q, uint64_t *c);
/* n contiguous clusters at the end of the file, refcounts written as 1. */
int q_alloc_run(vmm__qcow2 *q, uint64_t n, uint64_t *first);
/* Writes cluster c's refcount (its refcount block must exist). */
int q_ref_set(vmm__qcow2 *q, uint64_t c, uint16_t v);
/* Drops one reference; a cluster reaching 0 is hole-punched in the file. */
int q_ref_drop(vmm__qcow2 *q, uint64_t c);
uint64_t q_used_clusters(const vmm__qcow2 *q);

/* qcow2_walk.c: counts the references to every host cluster. */
typedef struct q_walk {
	uint16_t *uses;          /* one per host cluster (saturating) */
	uint64_t n;
	uint64_t bad;            /* entries that are unusable (corruptions) */
	uint64_t copied_bad;     /* COPIED flags that disagree with refcounts */
	uint64_t fixed;          /* bad entries and flags repaired (fix mode) */
	char first[256];         /* the first problem, for the open error */
} q_walk;
int q_walk_run(vmm__qcow2 *q, q_walk *w, bool fix);
void q_walk_free(q_walk *w);
/* Calls fn for each host cluster an L2 entry uses (0, 1 or more for a
 * compressed one); returns VMM_EBADIMAGE (no message) if it leaves the file. */
int q_entry_clusters(const vmm__qcow2 *q, uint64_t e,
		     void (*fn)(void *ctx, uint64_t c), void *ctx);
/* Checks the whole image at open: uses must not exceed refcounts. */
int q_validate(vmm__qcow2 *q);

/* qcow2_map.c: L1/L2 lookup with a small write-through L2 table cache. */
int q_l2_get(vmm__qcow2 *q, uint64_t vcl, uint64_t *entry);
int q_l2_set(vmm__qcow2 *q, uint64_t vcl, uint64_t entry);
/* Reads the whole L2 table at host offset off (cached); NULL on error. */
const uint64_t *q_l2_table(vmm__qcow2 *q, uint64_t off);
void q_l2_forget(vmm__qcow2 *q, uint64_t off);
void q_l2_cache_free(vmm__qcow2 *q);
int q_l2_cache_init(vmm__qcow2 *q);

/* qcow2_io.c (lock held): the read used by COW and by overlays. */
int q_read_locked(vmm__qcow2 *q, uint64_t off, void *buf, size_t len);

/* qcow2_open.c */
int q_open_chain(int fd, unsigned flags, const char *dir, unsigned depth,
		 const dev_t *devs, const ino_t *inos, vmm__qcow2 **out);
void q_free(vmm__qcow2 *q);

static inline uint64_t q_cl_off(const vmm__qcow2 *q, uint64_t c)
{
	return c << q->cluster_bits;
}

#endif /* VMM_STORAGE_QCOW2_PRIV_H */
