/* space.c - thin provisioning of one device (vmm/storage.h): provisioned
 * bytes (its capacity) against what its image holds, measured on its
 * first file or qcow2 path while another thread may be using it: the
 * path's connection is read under its be_lock, and a path that is closed
 * (dead) is measured by stat'ing its file. */
#include <string.h>
#include <sys/stat.h>

#include "lib/storage/storage.h"

static bool local(const vmm__path *p)
{
	return p->config.kind == VMM_STORAGE_PATH_FILE || p->config.kind == VMM_STORAGE_PATH_QCOW2;
}

static int measure(vmm__path *p, vmm_storage_space *s)
{
	struct stat st;
	int rc = -1;

	pthread_mutex_lock(&p->be_lock);
	if (p->open && p->ops->space)
		rc = p->ops->space(p, &s->allocated, &s->host_bytes);
	pthread_mutex_unlock(&p->be_lock);
	if (rc == 0)
		return 0;
	if (stat(p->target, &st) < 0 || !S_ISREG(st.st_mode))
		return -1;
	/* closed: the file's blocks are all we know, for either format */
	s->allocated = s->host_bytes = (uint64_t)st.st_blocks * 512;
	return 0;
}

VMM_API int vmm_storage_get_space(vmm_storage_dev *dev, vmm_storage_space *s)
{
	vmm__path *paths[VMM_STORAGE_MAX_PATHS];
	uint32_t n;

	if (!dev || !s || s->size < sizeof(*s))
		return vmm__err(VMM_EINVAL, "storage: device or space is NULL, or space is too "
				"small (use VMM_STORAGE_SPACE_INIT)");
	pthread_mutex_lock(&dev->lock);
	n = dev->npaths;
	memcpy(paths, dev->paths, n * sizeof(paths[0]));
	s->provisioned = dev->capacity;
	pthread_mutex_unlock(&dev->lock);
	s->flags = 0;
	s->allocated = s->host_bytes = 0;
	s->path = ~0u;
	s->reserved = 0;
	/* paths are only added, never freed before the device: the copy stays valid */
	for (uint32_t i = 0; i < n; i++)
		if (local(paths[i]) && measure(paths[i], s) == 0) {
			s->flags = VMM_STORAGE_SPACE_KNOWN;
			s->path = i;
			break;
		}
	return 0;
}

/* Whether one of dev's local paths lives on file system fs_dev. */
bool vmm__storage_on_fs(vmm_storage_dev *dev, dev_t fs_dev)
{
	bool on = false;
	struct stat st;

	pthread_mutex_lock(&dev->lock);
	for (uint32_t i = 0; i < dev->npaths && !on; i++)
		on = local(dev->paths[i]) && stat(dev->paths[i]->target, &st) == 0 &&
		     S_ISREG(st.st_mode) && st.st_dev == fs_dev;
	pthread_mutex_unlock(&dev->lock);
	return on;
}

/* ---- Growing a device ---- */

static int grow_paths(vmm_storage_dev *dev, vmm__path **paths, uint32_t n, uint64_t size)
{
	int rc = 0;

	for (uint32_t i = 0; i < n && !rc; i++)
		if (!paths[i]->ops->grow)
			rc = vmm__err(VMM_ENOTSUP, "%s: path %u (%s) has the size its target gives",
				      dev->name, i, paths[i]->ops->kind);
	for (uint32_t i = 0; i < n && !rc; i++) {
		vmm__path *p = paths[i];

		pthread_mutex_lock(&p->be_lock);
		rc = p->open ? p->ops->grow(p, size)
			     : vmm__err(VMM_ESTATE, "%s: path %u is dead", dev->name, i);
		pthread_mutex_unlock(&p->be_lock);
	}
	return rc;
}

VMM_API int vmm_storage_resize(vmm_storage_dev *dev, uint64_t new_size)
{
	vmm__path *paths[VMM_STORAGE_MAX_PATHS];
	uint64_t cap;
	uint32_t n;
	int rc = 0;

	if (!dev)
		return vmm__err(VMM_EINVAL, "vmm_storage_resize: device is NULL");
	pthread_mutex_lock(&dev->lock);
	n = dev->npaths;
	memcpy(paths, dev->paths, n * sizeof(paths[0]));
	cap = dev->capacity;
	if (!n || dev->stopping)
		rc = vmm__err(VMM_ESTATE, "%s: no path, or being destroyed", dev->name);
	else if (dev->readonly)
		rc = vmm__err(VMM_EINVAL, "%s: device is read-only", dev->name);
	else if (!new_size || new_size % dev->block_size)
		rc = vmm__err(VMM_EINVAL, "%s: %llu is not a non-zero multiple of the block size %u",
			      dev->name, (unsigned long long)new_size, dev->block_size);
	else if (new_size < cap)
		rc = vmm__err(VMM_ENOTSUP, "%s: shrinking a device is not supported", dev->name);
	pthread_mutex_unlock(&dev->lock);
	if (rc || new_size == cap)
		return rc;
	if ((rc = grow_paths(dev, paths, n, new_size)))
		return rc;
	pthread_mutex_lock(&dev->lock);
	for (uint32_t i = 0; i < n; i++)
		paths[i]->size = new_size;
	if (dev->capacity < new_size)
		dev->capacity = new_size;
	pthread_mutex_unlock(&dev->lock);
	return 0;
}
