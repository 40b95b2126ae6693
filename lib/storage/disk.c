/* disk.c - vmm_disk_*: create, inspect, check and grow image files (raw
 * here, qcow2 through lib/storage/qcow2.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/internal.h"
#include "lib/storage/qcow2.h"

static int disk_errno(const char *path, const char *what)
{
	int code = errno == ENOENT ? VMM_ENOENT : errno == EEXIST ? VMM_EEXIST :
		   errno == EWOULDBLOCK || errno == EAGAIN ? VMM_EBUSY : VMM_EIO;

	return vmm__err(code, "%s: %s: %s", path, what, strerror(errno));
}

static int disk_create_raw(const char *path, uint64_t size)
{
	int fd, rc = 0;

	if (size > (uint64_t)INT64_MAX)
		return vmm__err(VMM_ERANGE, "vmm_disk_create: size too large");
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return disk_errno(path, "create");
	if (ftruncate(fd, (off_t)size) < 0) {
		rc = disk_errno(path, "ftruncate");
		unlink(path);
	}
	close(fd);
	return rc;
}

static unsigned disk_bits(uint32_t cs)
{
	unsigned b = 0;

	while (b < 32 && (1u << b) < cs)
		b++;
	return (1u << b) == cs ? b : 0;
}

VMM_API int vmm_disk_create(const char *path, const vmm_disk_config *c)
{
	vmm__qcow2_create_opts o = { 0 };

	if (!path || !c || c->size < sizeof(*c))
		return vmm__err(VMM_EINVAL, "vmm_disk_create: path or config missing, or config.size too small");
	if (c->format == VMM_DISK_RAW) {
		if (c->backing_file)
			return vmm__err(VMM_EINVAL, "vmm_disk_create: raw images have no backing file");
		return disk_create_raw(path, c->virtual_size);
	}
	if (c->format != VMM_DISK_QCOW2)
		return vmm__err(VMM_EINVAL, "vmm_disk_create: format %u (VMM_DISK_RAW or VMM_DISK_QCOW2)", c->format);
	if (c->cluster_size && !(o.cluster_bits = disk_bits(c->cluster_size)))
		return vmm__err(VMM_EINVAL, "vmm_disk_create: cluster size %u is not a power of two", c->cluster_size);
	if (c->backing_format > VMM_DISK_QCOW2)
		return vmm__err(VMM_EINVAL, "vmm_disk_create: backing format %u", c->backing_format);
	o.version = c->qcow2_version;
	o.backing = c->backing_file;
	o.backing_fmt = c->backing_format;   /* same numbers as VMM__QCOW2_FMT_* */
	if (!c->virtual_size && !c->backing_file)
		return vmm__err(VMM_EINVAL, "vmm_disk_create: virtual_size is 0 and there is no backing file");
	return vmm__qcow2_create(path, c->virtual_size, &o);
}

/* Opens path read-only and says whether it is qcow2. */
static int disk_probe(const char *path, int *fd_out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return disk_errno(path, "open");
	rc = vmm__qcow2_probe(fd);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	*fd_out = fd;
	return rc;
}

static int disk_info_qcow2(const char *path, vmm_disk_image_info *info)
{
	vmm__qcow2_stats st;
	vmm__qcow2 *q;
	int rc = vmm__qcow2_open(path, VMM__QCOW2_RDONLY, &q);

	if (rc < 0)
		return rc;
	vmm__qcow2_get_stats(q, &st);
	vmm__qcow2_close(q);
	info->format = VMM_DISK_QCOW2;
	info->virtual_size = st.virtual_size;
	info->allocated_bytes = st.allocated_bytes;
	info->file_bytes = st.file_bytes;
	info->cluster_size = st.cluster_size;
	info->qcow2_version = st.version;
	info->backing_format = st.backing[0] ? (st.backing_fmt ? st.backing_fmt : 0) : 0;
	snprintf(info->backing_file, sizeof(info->backing_file), "%s", st.backing);
	return 0;
}

VMM_API int vmm_disk_info(const char *path, vmm_disk_image_info *info)
{
	struct stat s;
	int fd = -1, rc;

	if (!path || !info || info->size < sizeof(*info))
		return vmm__err(VMM_EINVAL, "vmm_disk_info: path or info missing, or info.size too small");
	memset((char *)info + sizeof(info->size), 0, sizeof(*info) - sizeof(info->size));
	if ((rc = disk_probe(path, &fd)) < 0)
		return rc;
	if (rc == 1) {
		close(fd);
		return disk_info_qcow2(path, info);
	}
	rc = fstat(fd, &s) < 0 ? disk_errno(path, "fstat") : 0;
	if (rc == 0 && S_ISBLK(s.st_mode))
		rc = vmm__err(VMM_ENOTSUP, "vmm_disk_info: %s is a block device", path);
	close(fd);
	if (rc < 0)
		return rc;
	info->format = VMM_DISK_RAW;
	info->virtual_size = (uint64_t)s.st_size;
	info->allocated_bytes = info->file_bytes = (uint64_t)s.st_blocks * 512;
	return 0;
}

VMM_API int vmm_disk_check(const char *path, int repair, vmm_disk_check_result *r)
{
	vmm__qcow2_check_result qr;
	int fd = -1, rc;

	if (!path || !r || r->size < sizeof(*r))
		return vmm__err(VMM_EINVAL, "vmm_disk_check: path or result missing, or result.size too small");
	r->leaks = r->corruptions = r->leaks_fixed = r->corruptions_fixed = 0;
	if ((rc = disk_probe(path, &fd)) < 0)
		return rc;
	close(fd);
	if (rc == 0)
		return vmm__err(VMM_ENOTSUP, "vmm_disk_check: %s is a raw image: it has no metadata to check", path);
	if ((rc = vmm__qcow2_check(path, repair != 0, &qr)) < 0)
		return rc;
	r->leaks = qr.leaks;
	r->corruptions = qr.corruptions;
	r->leaks_fixed = qr.leaks_fixed;
	r->corruptions_fixed = qr.corruptions_fixed;
	return 0;
}

static int disk_resize_raw(const char *path, uint64_t new_size)
{
	struct stat s;
	int fd = open(path, O_RDWR | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return disk_errno(path, "open");
	if ((rc = vmm__qcow2_lock_fd(fd, true)) == 0 && fstat(fd, &s) < 0)
		rc = disk_errno(path, "fstat");
	if (rc == 0 && new_size < (uint64_t)s.st_size)
		rc = vmm__err(VMM_ENOTSUP, "vmm_disk_resize: shrinking an image is not supported");
	if (rc == 0 && new_size > (uint64_t)INT64_MAX)
		rc = vmm__err(VMM_ERANGE, "vmm_disk_resize: size too large");
	if (rc == 0 && ftruncate(fd, (off_t)new_size) < 0)
		rc = disk_errno(path, "ftruncate");
	close(fd);
	return rc;
}

VMM_API int vmm_disk_resize(const char *path, uint64_t new_size)
{
	vmm__qcow2 *q;
	int fd = -1, rc;

	if (!path)
		return vmm__err(VMM_EINVAL, "vmm_disk_resize: path is NULL");
	if ((rc = disk_probe(path, &fd)) < 0)
		return rc;
	close(fd);
	if (rc == 0)
		return disk_resize_raw(path, new_size);
	if ((rc = vmm__qcow2_open(path, 0, &q)) < 0)
		return rc;
	rc = vmm__qcow2_resize(q, new_size);
	vmm__qcow2_close(q);
	return rc;
}
