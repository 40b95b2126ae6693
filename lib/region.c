/* region.c - shared memory regions: memfd-backed, refcounted, mappable into
 * several VMs (vmm_mem_share in mem.c) and visible to the host. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/internal.h"

#define REGION_LIMIT (1ull << 48)

VMM_API int vmm_region_create(uint64_t size, vmm_region **out)
{
	vmm_region *r;

	if (!out)
		return vmm__err(VMM_EINVAL, "vmm_region_create: out is NULL");
	*out = NULL;
	if (size == 0 || size % VMM__PAGE_SIZE || size > REGION_LIMIT)
		return vmm__err(VMM_EINVAL, "vmm_region_create: size 0x%llx must be a "
				"non-zero multiple of 4 KiB up to 2^48",
				(unsigned long long)size);
	r = calloc(1, sizeof(*r));
	if (!r)
		return vmm__err(VMM_ENOMEM, "vmm_region_create: out of memory");
	r->fd = memfd_create("libvmm-region", MFD_CLOEXEC);
	if (r->fd < 0) {
		int e = errno;
		free(r);
		return vmm__err(e == ENOMEM || e == EMFILE || e == ENFILE ? VMM_ENOMEM : VMM_EIO,
				"vmm_region_create: memfd_create failed: %s", strerror(e));
	}
	if (ftruncate(r->fd, (off_t)size) != 0)
		goto fail;
	r->host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (r->host == MAP_FAILED)
		goto fail;
	r->size = size;
	atomic_init(&r->refs, 1);
	*out = r;
	return 0;
fail:
	{
		int e = errno;
		close(r->fd);
		free(r);
		return vmm__err(VMM_ENOMEM, "vmm_region_create: cannot size or map %llu KiB: "
				"%s", (unsigned long long)(size >> 10), strerror(e));
	}
}

void vmm__region_ref(vmm_region *region)
{
	atomic_fetch_add(&region->refs, 1);
}

VMM_API void vmm_region_destroy(vmm_region *region)
{
	if (!region || atomic_fetch_sub(&region->refs, 1) != 1)
		return;
	munmap(region->host, region->size);
	close(region->fd);
	free(region);
}

VMM_API void *vmm_region_host_ptr(const vmm_region *region)
{
	return region ? region->host : NULL;
}

VMM_API uint64_t vmm_region_size(const vmm_region *region)
{
	return region ? region->size : 0;
}

VMM_API int vmm_region_fd(const vmm_region *region)
{
	if (!region)
		return vmm__err(VMM_EINVAL, "vmm_region_fd: region is NULL");
	return region->fd;
}
