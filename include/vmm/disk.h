/* vmm/disk.h - disk image files: create, inspect, check and grow raw and
 * qcow2 images (included by vmm.h).
 *
 * qcow2 images are QEMU's format (version 3, version 2 read and written):
 * what libvmm creates and writes passes `qemu-img check`, and images from
 * `qemu-img create` are used as they are. Allocation is thin: clusters are
 * allocated on first write. Refused with VMM_ENOTSUP and a message:
 * encryption, compressed clusters (read), external data files, extended L2
 * entries, refcount widths other than 16 bits, unknown incompatible
 * features; writing to images with internal snapshots. Malformed images
 * (wrong magic, overlapping tables, refcounts below their uses, entries
 * past the end of the file, backing chains that loop or are deeper than
 * 16) are refused with VMM_EBADIMAGE. docs/storage.md has the details.
 *
 * Images are locked as QEMU locks them (OFD locks on bytes 100.. and
 * 200..): while a writer has one open, every other opener (libvmm, QEMU,
 * qemu-img) is refused with VMM_EBUSY, and a reader keeps writers out.
 *
 * Thread safety: these calls may be made from any thread; each works on
 * its own open of the file.
 */
#ifndef VMM_DISK_H
#define VMM_DISK_H

#ifndef VMM_H
#error "include <vmm.h>, not <vmm/disk.h>"
#endif

#ifdef __cplusplus
extern "C" {
#endif

enum {
	VMM_DISK_RAW = 1,
	VMM_DISK_QCOW2 = 2
};

#define VMM_DISK_BACKING_MAX 1024   /* bytes of a backing file name, with the NUL */

typedef struct vmm_disk_config {
	uint32_t size;               /* sizeof(vmm_disk_config) */
	uint32_t format;             /* VMM_DISK_RAW or VMM_DISK_QCOW2 */
	uint64_t virtual_size;       /* bytes; qcow2 with a backing file: 0 takes its size */
	uint32_t cluster_size;       /* qcow2: a power of two, 512..2 MiB; 0 means 64 KiB */
	uint32_t qcow2_version;      /* 2 or 3; 0 means 3 */
	const char *backing_file;    /* qcow2: NULL or a path (relative names are
					relative to the new image's folder) */
	uint32_t backing_format;     /* 0 (probe the file), VMM_DISK_RAW or VMM_DISK_QCOW2 */
	uint32_t reserved;
} vmm_disk_config;
#define VMM_DISK_CONFIG_INIT { sizeof(vmm_disk_config), VMM_DISK_QCOW2, 0, 0, 0, NULL, 0, 0 }

/* Creates a new image file at path (VMM_EEXIST if it exists). A raw image
 * is a sparse file of virtual_size bytes. */
VMM_API int vmm_disk_create(const char *path, const vmm_disk_config *config);

typedef struct vmm_disk_image_info {
	uint32_t size;               /* sizeof(vmm_disk_image_info), set by the caller */
	uint32_t format;             /* VMM_DISK_* */
	uint64_t virtual_size;       /* bytes the guest sees (provisioned) */
	uint64_t allocated_bytes;    /* qcow2: host clusters in use; raw: host blocks */
	uint64_t file_bytes;         /* host blocks the file occupies (st_blocks * 512) */
	uint32_t cluster_size;       /* qcow2; 0 for raw */
	uint32_t qcow2_version;      /* qcow2; 0 for raw */
	uint32_t backing_format;     /* VMM_DISK_*; 0 without a backing file */
	uint32_t reserved;
	char backing_file[VMM_DISK_BACKING_MAX];   /* as stored in the image; "" if none */
} vmm_disk_image_info;
#define VMM_DISK_IMAGE_INFO_INIT { sizeof(vmm_disk_image_info), 0, 0, 0, 0, 0, 0, 0, 0, "" }

/* Fills info for the image at path (format found from its contents: qcow2
 * by its magic, anything else is raw). A qcow2 image is fully validated. */
VMM_API int vmm_disk_info(const char *path, vmm_disk_image_info *info);

typedef struct vmm_disk_check_result {
	uint32_t size;               /* sizeof(vmm_disk_check_result), set by the caller */
	uint32_t reserved;
	uint64_t leaks;              /* clusters whose refcount is above their uses */
	uint64_t corruptions;        /* refcounts below their uses, entries that are
					malformed or point outside the file, wrong COPIED flags */
	uint64_t leaks_fixed;        /* with repair */
	uint64_t corruptions_fixed;
} vmm_disk_check_result;
#define VMM_DISK_CHECK_RESULT_INIT { sizeof(vmm_disk_check_result), 0, 0, 0, 0, 0 }

/* Checks a qcow2 image's metadata like `qemu-img check` (counts as it
 * does); with repair non-zero, fixes refcounts, drops entries that point
 * outside the file and clears the dirty and corrupt bits. Returns 0 when
 * the check ran (look at the counts), VMM_ENOTSUP for raw images and for
 * qcow2 images with internal snapshots, VMM_EBADIMAGE when the header or
 * table locations are unusable. */
VMM_API int vmm_disk_check(const char *path, int repair, vmm_disk_check_result *result);

/* Grows the image's virtual size to new_size bytes (qcow2: a bigger L1
 * table if needed; raw: the file is extended, sparse). A smaller size is
 * VMM_ENOTSUP. */
VMM_API int vmm_disk_resize(const char *path, uint64_t new_size);

#ifdef __cplusplus
}
#endif
#endif /* VMM_DISK_H */
