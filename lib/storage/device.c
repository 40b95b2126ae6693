/* device.c - storage devices and their paths (vmm/storage.h): create,
 * add a path (open it, start its thread), read state and counters,
 * destroy. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/storage/storage.h"

static atomic_uint device_numbers;

static const vmm__path_ops *ops_of(uint32_t kind)
{
	switch (kind) {
	case VMM_STORAGE_PATH_FILE: return &vmm__path_file_ops;
	case VMM_STORAGE_PATH_NBD: return &vmm__path_nbd_ops;
	case VMM_STORAGE_PATH_ISCSI: return &vmm__path_iscsi_ops;
	case VMM_STORAGE_PATH_QCOW2: return &vmm__path_qcow2_ops;
	default: return NULL;
	}
}

static int check_config(const vmm_storage_config *c)
{
	if (!c || c->size < sizeof(*c))
		return vmm__err(VMM_EINVAL, "storage: config is NULL or its size is too small "
				"(use VMM_STORAGE_CONFIG_INIT)");
	if (c->block_size && c->block_size != 512 && c->block_size != 4096)
		return vmm__err(VMM_EINVAL, "storage: block_size %u is not 512 or 4096",
				c->block_size);
	if (c->flags & ~(uint32_t)VMM_STORAGE_READONLY)
		return vmm__err(VMM_EINVAL, "storage: unknown flags 0x%x", c->flags);
	if (c->mpp && (c->mpp->version < 1 || !c->mpp->submit))
		return vmm__err(VMM_EINVAL, "storage: mpp needs version >= 1 and submit");
	if (c->max_attempts > 1000 || c->timeout_ms > 3600000 || c->probe_ms > 3600000 ||
	    c->no_path_ms > 3600000)
		return vmm__err(VMM_EINVAL, "storage: max_attempts <= 1000 and times <= 1 h");
	return 0;
}

static void apply_defaults(vmm_storage_config *c)
{
	if (!c->block_size)
		c->block_size = 512;
	if (!c->timeout_ms)
		c->timeout_ms = 30000;
	if (!c->probe_ms)
		c->probe_ms = 1000;
	if (!c->no_path_ms)
		c->no_path_ms = 30000;
	if (!c->rr_requests)
		c->rr_requests = 1000;
	if (!c->max_attempts)
		c->max_attempts = 16;
}

VMM_API int vmm_storage_create(const vmm_storage_config *config, vmm_storage_dev **out)
{
	vmm_storage_dev *dev;
	int rc = check_config(config);

	if (rc)
		return rc;
	if (!out)
		return vmm__err(VMM_EINVAL, "storage: out is NULL");
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return vmm__err(VMM_ENOMEM, "storage: out of memory");
	memcpy(&dev->config, config, sizeof(dev->config));
	dev->config.size = sizeof(dev->config);
	apply_defaults(&dev->config);
	snprintf(dev->name, sizeof(dev->name), "%s", config->name ? config->name : "storage");
	dev->config.name = dev->name;
	dev->number = atomic_fetch_add(&device_numbers, 1);
	dev->block_size = dev->config.block_size;
	dev->readonly = dev->config.flags & VMM_STORAGE_READONLY;
	dev->last_path = ~0u;
	pthread_mutex_init(&dev->lock, NULL);
	rc = vmm__storage_plugins_get(config->satp ? config->satp : "default",
				      config->psp ? config->psp : "fixed", dev);
	if (!rc && dev->psp->attach)
		rc = dev->psp->attach(dev->psp_opaque, &dev->config, &dev->psp_state);
	if (rc) {
		vmm__storage_plugins_put(dev);
		pthread_mutex_destroy(&dev->lock);
		free(dev);
		return rc;
	}
	dev->config.satp = dev->satp->name;
	dev->config.psp = dev->psp->name;
	*out = dev;
	return 0;
}

static int check_path_config(vmm_storage_dev *dev, const vmm_storage_path_config *c)
{
	if (!c || c->size < sizeof(*c))
		return vmm__err(VMM_EINVAL, "%s: path config is NULL or too small (use "
				"VMM_STORAGE_PATH_CONFIG_INIT)", dev->name);
	if (!ops_of(c->kind))
		return vmm__err(VMM_EINVAL, "%s: path kind %u is not file, nbd, iscsi or qcow2",
				dev->name, c->kind);
	if (!c->target || !c->target[0] || strlen(c->target) >= 256)
		return vmm__err(VMM_EINVAL, "%s: path target must be 1..255 bytes", dev->name);
	if (c->queue_depth > 1024)
		return vmm__err(VMM_EINVAL, "%s: queue_depth %u > 1024", dev->name, c->queue_depth);
	if (c->flags & ~(uint32_t)VMM_STORAGE_PATH_PREFERRED)
		return vmm__err(VMM_EINVAL, "%s: unknown path flags 0x%x", dev->name, c->flags);
	return 0;
}

static void free_path(vmm__path *p)
{
	if (!p)
		return;
	vmm__path_close(p);
	pthread_mutex_destroy(&p->be_lock);
	if (p->kick_fd >= 0)
		close(p->kick_fd);
	free(p->target);
	free(p->initiator);
	free(p);
}

/* One I_T nexus per path: a name of its own, so that a target does not
 * take a second session for a reinstatement of the first. */
static char *default_initiator(void)
{
	static atomic_uint paths;
	char name[96];

	snprintf(name, sizeof(name), "iqn.2024-01.org.libvmm:%d.%u", (int)getpid(),
		 atomic_fetch_add(&paths, 1));
	return strdup(name);
}

static vmm__path *new_path(vmm_storage_dev *dev, const vmm_storage_path_config *c)
{
	vmm__path *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->dev = dev;
	p->ops = ops_of(c->kind);
	pthread_mutex_init(&p->be_lock, NULL);
	p->config = *c;
	p->config.size = sizeof(p->config);
	if (!p->config.queue_depth)
		p->config.queue_depth = 32;
	p->kick_fd = -1;
	p->target = strdup(c->target);
	p->initiator = c->initiator ? strdup(c->initiator) : default_initiator();
	p->config.target = p->target;
	p->config.initiator = p->initiator;
	p->state = VMM_STORAGE_DEAD;
	p->info = (vmm_storage_path_info)VMM_STORAGE_PATH_INFO_INIT;
	p->info.kind = c->kind;
	p->info.alua_state = 0xff;
	snprintf(p->info.target, sizeof(p->info.target), "%s", c->target);
	if (!p->target || !p->initiator) {
		free_path(p);
		return NULL;
	}
	return p;
}

/* The opened path must fit the device (lock held). */
static int fits_device(vmm_storage_dev *dev, vmm__path *p)
{
	if (dev->stopping)
		return vmm__err(VMM_ESTATE, "%s: device is being destroyed", dev->name);
	if (dev->npaths == VMM_STORAGE_MAX_PATHS)
		return vmm__err(VMM_ENOMEM, "%s: at most %d paths", dev->name,
				VMM_STORAGE_MAX_PATHS);
	if (p->block_size > dev->block_size || dev->block_size % p->block_size)
		return vmm__err(VMM_EINVAL, "%s: %s has %u-byte blocks, device %u", dev->name,
				p->target, p->block_size, dev->block_size);
	if (p->readonly && !dev->readonly)
		return vmm__err(VMM_EINVAL, "%s: %s is read-only, the device is not", dev->name,
				p->target);
	if (dev->npaths && p->size != dev->capacity)
		return vmm__err(VMM_EINVAL, "%s: %s has %llu bytes, the device %llu: not the same "
				"disk", dev->name, p->target, (unsigned long long)p->size,
				(unsigned long long)dev->capacity);
	if (!dev->npaths && p->size < dev->block_size)
		return vmm__err(VMM_EINVAL, "%s: %s is smaller than one block", dev->name, p->target);
	return 0;
}

/* Before the path's thread runs: its ALUA state if the SATP wants it. */
static void read_alua(vmm_storage_dev *dev, vmm__path *p)
{
	uint32_t alua = 0xff, tpg = 0;

	if ((dev->satp->flags & VMM_STORAGE_SATP_ALUA) && p->ops->alua &&
	    p->ops->alua(p, &alua, &tpg, dev->config.timeout_ms) < 0)
		alua = 0xff;
	p->info.alua_state = alua;
	p->info.target_port_group = tpg;
}

static uint32_t initial_state(vmm_storage_dev *dev, vmm__path *p)
{
	vmm_storage_event ev = { sizeof(ev), VMM_STORAGE_EV_OPENED, p->index, VMM_STORAGE_DEAD,
				 p->config.kind, 0, 0, 0, 0, 0, 0, 0, p->info.alua_state };
	uint32_t st = dev->satp->path_state(dev->satp_opaque, &ev);

	return st > VMM_STORAGE_DEAD ? VMM_STORAGE_ACTIVE : st;
}

VMM_API int vmm_storage_add_path(vmm_storage_dev *dev, const vmm_storage_path_config *config,
				 uint32_t *index)
{
	vmm__post post = { 0 };
	vmm__path *p;
	int rc;

	if (!dev)
		return vmm__err(VMM_EINVAL, "storage: device is NULL");
	rc = check_path_config(dev, config);
	if (rc)
		return rc;
	p = new_path(dev, config);
	if (!p)
		return vmm__err(VMM_ENOMEM, "%s: out of memory", dev->name);
	p->block_size = 512;
	p->readonly = dev->readonly;
	if (p->ops->open(p, dev->config.timeout_ms) < 0) {
		rc = vmm__err(p->open_err ? p->open_err : VMM_EIO, "%s: %s", dev->name, p->msg);
		free_path(p);
		return rc;
	}
	p->open = true;
	read_alua(dev, p);
	pthread_mutex_lock(&dev->lock);
	rc = fits_device(dev, p);
	if (!rc) {
		p->index = dev->npaths;
		p->state = initial_state(dev, p);
		rc = vmm__path_start_thread(p);
	}
	if (!rc) {
		if (!dev->npaths) {
			dev->capacity = p->size - p->size % dev->block_size;
			dev->can_discard = p->can_discard;
		}
		dev->can_discard = dev->can_discard && p->can_discard;
		dev->paths[dev->npaths++] = p;
		if (vmm__storage_usable(p->state))
			vmm__storage_unpark(dev, &post);
	}
	pthread_mutex_unlock(&dev->lock);
	vmm__post_run(dev, &post);
	if (rc) {
		free_path(p);
		return rc;
	}
	if (index)
		*index = p->index;
	return 0;
}

VMM_API void vmm_storage_destroy(vmm_storage_dev *dev)
{
	if (!dev)
		return;
	vmm__datastore_forget(dev);
	pthread_mutex_lock(&dev->lock);
	dev->stopping = true;
	for (uint32_t i = 0; i < dev->npaths; i++)
		vmm__path_kick(dev->paths[i]);
	pthread_mutex_unlock(&dev->lock);
	for (uint32_t i = 0; i < dev->npaths; i++)
		vmm__path_stop_thread(dev->paths[i]);
	for (uint32_t i = 0; i < dev->npaths; i++)
		free_path(dev->paths[i]);
	if (dev->psp->detach)
		dev->psp->detach(dev->psp_opaque, dev->psp_state);
	vmm__storage_plugins_put(dev);
	pthread_mutex_destroy(&dev->lock);
	free(dev);
}

VMM_API int vmm_storage_get_info(vmm_storage_dev *dev, vmm_storage_info *info)
{
	if (!dev || !info || info->size < sizeof(*info))
		return vmm__err(VMM_EINVAL, "storage: device or info is NULL, or info is too "
				"small (use VMM_STORAGE_INFO_INIT)");
	pthread_mutex_lock(&dev->lock);
	*info = (vmm_storage_info){ sizeof(*info), dev->npaths, dev->capacity, dev->block_size,
				    dev->readonly ? VMM_STORAGE_READONLY : 0u, dev->can_discard,
				    0, dev->completed, dev->failed, dev->failovers, "", "" };
	snprintf(info->satp, sizeof(info->satp), "%s", dev->satp->name);
	snprintf(info->psp, sizeof(info->psp), "%s", dev->psp->name);
	pthread_mutex_unlock(&dev->lock);
	return 0;
}

VMM_API int vmm_storage_path_get_info(vmm_storage_dev *dev, uint32_t path,
				      vmm_storage_path_info *info)
{
	int rc = 0;

	if (!dev || !info || info->size < sizeof(*info))
		return vmm__err(VMM_EINVAL, "storage: device or info is NULL, or info is too "
				"small (use VMM_STORAGE_PATH_INFO_INIT)");
	pthread_mutex_lock(&dev->lock);
	if (path >= dev->npaths) {
		rc = vmm__err(VMM_ENOENT, "%s: no path %u", dev->name, path);
	} else {
		vmm__path *p = dev->paths[path];

		*info = p->info;
		info->state = p->state;
		info->inflight = p->inflight.n;
	}
	pthread_mutex_unlock(&dev->lock);
	return rc;
}

VMM_API int vmm_storage_path_set_state(vmm_storage_dev *dev, uint32_t path, uint32_t state)
{
	vmm__post post = { 0 };
	int rc = 0;

	if (!dev)
		return vmm__err(VMM_EINVAL, "storage: device is NULL");
	if (state > VMM_STORAGE_DEAD)
		return vmm__err(VMM_EINVAL, "%s: unknown path state %u", dev->name, state);
	pthread_mutex_lock(&dev->lock);
	if (path >= dev->npaths) {
		rc = vmm__err(VMM_ENOENT, "%s: no path %u", dev->name, path);
	} else {
		vmm__storage_set_state(dev, dev->paths[path], state, &post);
		vmm__path_kick(dev->paths[path]);
	}
	pthread_mutex_unlock(&dev->lock);
	vmm__post_run(dev, &post);
	return rc;
}
