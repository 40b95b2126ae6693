/* qcow2.h - the qcow2 image format (internal to libvmm; the storage layer's
 * qcow2 path, vmm_disk_* and the tests use it).
 *
 * Format: qcow2 version 3 read and written, version 2 read and written as
 * version 2 (no zero flag: write-zeroes allocates where a backing file
 * shows through). 16-bit refcounts only (refcount_order 4); compressed
 * clusters, encryption, external data files, extended L2 entries, internal
 * snapshots (written; read is fine) and unknown incompatible features are
 * refused with a message (docs/storage.md).
 *
 * Every open validates the whole image: header fields, table alignment and
 * bounds, overlaps, and that each host cluster's refcount is at least the
 * number of references to it (a refcount that is too low would let two
 * users share a cluster). Leaked clusters (refcount too high) are accepted.
 *
 * Crash consistency: a data cluster and the refcount of every newly
 * allocated cluster are written (and fdatasync'ed) before the L2/L1 entry
 * that points to them; a discard clears the L2 entry before it drops the
 * refcount. A kill at any point leaves at most leaked clusters.
 *
 * Locking: open takes QEMU's advisory OFD byte locks on the file, so a
 * second writer (libvmm or QEMU) is refused with VMM_EBUSY while one is
 * open; readers exclude writers too, as in QEMU (VMM__QCOW2_NOLOCK skips
 * it, like qemu-img -U).
 *
 * Thread safety: each image has one mutex; every call on one image may come
 * from any thread. Calls return 0 or a negative VMM_E* code with the
 * thread's error message set (vmm_last_error).
 */
#ifndef VMM_STORAGE_QCOW2_H
#define VMM_STORAGE_QCOW2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct vmm__qcow2 vmm__qcow2;

enum {
	VMM__QCOW2_RDONLY = 1u << 0,     /* open read-only (writes: VMM_ESTATE) */
	VMM__QCOW2_NOLOCK = 1u << 1,     /* take no advisory lock */
	VMM__QCOW2_NOBACKING = 1u << 2,  /* refuse an image with a backing file */
	VMM__QCOW2_NOSYNC = 1u << 3,     /* no fdatasync between ordered writes
					    (tests; ordering is kept) */
};

#define VMM__QCOW2_MAX_CHAIN 16          /* backing files under one image */
#define VMM__QCOW2_BACKING_MAX 1023      /* bytes of a backing file name */

enum { VMM__QCOW2_FMT_PROBE = 0, VMM__QCOW2_FMT_RAW = 1, VMM__QCOW2_FMT_QCOW2 = 2 };

typedef struct vmm__qcow2_create_opts {
	uint32_t cluster_bits;      /* 9..21; 0 means 16 (64 KiB) */
	uint32_t version;           /* 2 or 3; 0 means 3 */
	const char *backing;        /* NULL: none; relative names are relative
				       to the image's directory */
	uint32_t backing_fmt;       /* VMM__QCOW2_FMT_*; PROBE reads the file */
} vmm__qcow2_create_opts;

/* Creates a new image (VMM_EEXIST if path exists). size 0 with a backing
 * file takes the backing file's virtual size. */
int vmm__qcow2_create(const char *path, uint64_t size, const vmm__qcow2_create_opts *o);

int vmm__qcow2_open(const char *path, unsigned flags, vmm__qcow2 **out);
/* Same on an open fd (duplicated; the caller keeps its own). A backing
 * file name is resolved relative to dir (NULL: the current directory). */
int vmm__qcow2_open_fd(int fd, unsigned flags, const char *dir, vmm__qcow2 **out);
void vmm__qcow2_close(vmm__qcow2 *q);   /* flushes; NULL is a no-op */

/* Byte ranges: any offset and length within the virtual size (VMM_ERANGE
 * past it). Unallocated ranges read from the backing file, else zeros. */
int vmm__qcow2_read(vmm__qcow2 *q, uint64_t off, void *buf, size_t len);
int vmm__qcow2_write(vmm__qcow2 *q, uint64_t off, const void *buf, size_t len);
/* Frees whole clusters inside the range (partial clusters are left as they
 * are); reads then return zeros (v3, or v2 without backing file) or the
 * backing file's data (v2 with one). The host file is hole-punched. */
int vmm__qcow2_discard(vmm__qcow2 *q, uint64_t off, uint64_t len);
/* Reads of the range return zeros afterwards; whole clusters use the zero
 * flag (v3) and are freed, partial ones are written. */
int vmm__qcow2_write_zeroes(vmm__qcow2 *q, uint64_t off, uint64_t len);
int vmm__qcow2_flush(vmm__qcow2 *q);    /* fdatasync */
uint64_t vmm__qcow2_size(const vmm__qcow2 *q);
/* Grows the virtual size (a smaller size: VMM_ENOTSUP). */
int vmm__qcow2_resize(vmm__qcow2 *q, uint64_t new_size);

typedef struct vmm__qcow2_stats {
	uint64_t virtual_size;      /* provisioned bytes */
	uint64_t allocated_bytes;   /* host clusters in use (refcount > 0) */
	uint64_t file_bytes;        /* host blocks the file occupies (st_blocks) */
	uint32_t cluster_size;
	uint32_t version;
	uint32_t backing_fmt;       /* VMM__QCOW2_FMT_*, PROBE if no backing */
	char backing[VMM__QCOW2_BACKING_MAX + 1];   /* "" if none */
} vmm__qcow2_stats;
int vmm__qcow2_get_stats(vmm__qcow2 *q, vmm__qcow2_stats *st);

/* QEMU's advisory locks on any image file (raw too): a writer refuses
 * other writers and readers, a reader refuses writers (VMM_EBUSY). The
 * locks belong to the open file description: closing it drops them. */
int vmm__qcow2_lock_fd(int fd, bool writer);

/* "QFI\xfb" at offset 0 of fd: 1, else 0 (or a negative VMM_E* on I/O). */
int vmm__qcow2_probe(int fd);

typedef struct vmm__qcow2_check_result {
	uint64_t leaks;             /* clusters with a refcount above their uses */
	uint64_t corruptions;       /* refcounts below their uses, bad entries */
	uint64_t leaks_fixed;
	uint64_t corruptions_fixed;
} vmm__qcow2_check_result;
/* Checks the image like qemu-img check; with repair, fixes refcounts and
 * drops entries that point outside the file. VMM_EBADIMAGE if the header
 * or the tables themselves are unusable (nothing to check). */
int vmm__qcow2_check(const char *path, bool repair, vmm__qcow2_check_result *r);

#endif /* VMM_STORAGE_QCOW2_H */
