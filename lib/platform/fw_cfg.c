/* fw_cfg.c - QEMU-compatible firmware configuration device (vmm/fw_cfg.h):
 * selector port 0x510, data port 0x511, the port ("traditional") interface
 * only. Items are byte strings looked up by selector; the data port reads the
 * selected item byte by byte and returns 0 past its end. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/platform/platform.h"
#include "lib/platform/state.h"

#define FW_CFG_PORT_SEL 0x510
#define FW_CFG_PORT_LEN 2        /* 0x510 selector (and data), 0x511 data */

enum {
	FW_CFG_SIGNATURE = 0x00,
	FW_CFG_ID = 0x01,
	FW_CFG_UUID = 0x02,
	FW_CFG_RAM_SIZE = 0x03,
	FW_CFG_NB_CPUS = 0x05,
	FW_CFG_MAX_CPUS = 0x0f,
	FW_CFG_FILE_DIR = 0x19,
	FW_CFG_FILE_FIRST = 0x20,
	FW_CFG_WRITE_CHANNEL = 0x4000,
	FW_CFG_ARCH_LOCAL = 0x8000,
	FW_CFG_ENTRY_MASK = 0x3fff
};

#define DIR_ENTRY_SIZE 64        /* u32 size, u16 select, u16 reserved, name[56] */

typedef struct fw_file {
	char name[VMM_FW_CFG_NAME_MAX + 1];
	uint8_t *data;
	uint32_t len;
	uint16_t select;
} fw_file;

struct vmm__fw_cfg {
	pthread_mutex_t lock;
	uint16_t select;             /* the selected item, as written */
	uint32_t offset;             /* next byte of it */
	uint8_t signature[4], id[4], uuid[16], ram_size[8], nb_cpus[2], max_cpus[2];
	uint8_t *dir;                /* FW_CFG_FILE_DIR, rebuilt on each add */
	uint32_t dir_len;
	uint32_t nfiles;             /* files[] in insertion order */
	fw_file files[VMM_FW_CFG_MAX_FILES];
};

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[n - 1 - i] = (uint8_t)(v >> (8 * i));
}

/* The bytes of item key; NULL (and *len 0) for an unknown one. Lock held. */
static const uint8_t *item(const struct vmm__fw_cfg *f, uint16_t key, uint32_t *len)
{
	static const struct { uint16_t key; size_t off, len; } fixed[] = {
		{ FW_CFG_SIGNATURE, offsetof(struct vmm__fw_cfg, signature), 4 },
		{ FW_CFG_ID, offsetof(struct vmm__fw_cfg, id), 4 },
		{ FW_CFG_UUID, offsetof(struct vmm__fw_cfg, uuid), 16 },
		{ FW_CFG_RAM_SIZE, offsetof(struct vmm__fw_cfg, ram_size), 8 },
		{ FW_CFG_NB_CPUS, offsetof(struct vmm__fw_cfg, nb_cpus), 2 },
		{ FW_CFG_MAX_CPUS, offsetof(struct vmm__fw_cfg, max_cpus), 2 },
	};

	*len = 0;
	if (key & (FW_CFG_WRITE_CHANNEL | FW_CFG_ARCH_LOCAL))
		return NULL;  /* nothing writable, no x86-local items */
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (fixed[i].key == key) {
			*len = (uint32_t)fixed[i].len;
			return (const uint8_t *)f + fixed[i].off;
		}
	if (key == FW_CFG_FILE_DIR) {
		*len = f->dir_len;
		return f->dir;
	}
	if (key >= FW_CFG_FILE_FIRST && key - FW_CFG_FILE_FIRST < (int)f->nfiles) {
		*len = f->files[key - FW_CFG_FILE_FIRST].len;
		return f->files[key - FW_CFG_FILE_FIRST].data;
	}
	return NULL;
}

static uint8_t read_byte(struct vmm__fw_cfg *f)
{
	uint32_t len;
	const uint8_t *p = item(f, f->select, &len);
	uint8_t b = 0;

	if (p && f->offset < len)
		b = p[f->offset];
	if (f->offset < UINT32_MAX)
		f->offset++;
	return b;
}

/* 0x510: 16-bit write selects (offset back to 0); 0x510/0x511 byte reads
 * return data; anything else reads as 0 and is ignored when written (data
 * writes are deprecated in QEMU and no item here is writable). */
static int fw_cfg_io(void *opaque, vmm_vcpu *vcpu, uint16_t port, uint8_t size,
		     uint8_t is_write, uint32_t *data)
{
	struct vmm__fw_cfg *f = opaque;

	(void)vcpu;
	pthread_mutex_lock(&f->lock);
	if (is_write) {
		if (port == FW_CFG_PORT_SEL && size == 2) {
			f->select = (uint16_t)*data;
			f->offset = 0;
		}
	} else {
		*data = size == 1 ? read_byte(f) : 0;
	}
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static int by_name(const void *a, const void *b)
{
	const fw_file *x = *(const fw_file *const *)a, *y = *(const fw_file *const *)b;

	return strcmp(x->name, y->name);
}

/* Directory: u32 count, then entries sorted by name, all big-endian. */
static int rebuild_dir(struct vmm__fw_cfg *f)
{
	const fw_file *sorted[VMM_FW_CFG_MAX_FILES];
	uint32_t len = 4 + f->nfiles * DIR_ENTRY_SIZE;
	uint8_t *dir = calloc(1, len);

	if (!dir)
		return vmm__err(VMM_ENOMEM, "vmm_fw_cfg_add_file: out of memory for the "
				"file directory");
	for (uint32_t i = 0; i < f->nfiles; i++)
		sorted[i] = &f->files[i];
	qsort(sorted, f->nfiles, sizeof(sorted[0]), by_name);
	put_be(dir, f->nfiles, 4);
	for (uint32_t i = 0; i < f->nfiles; i++) {
		uint8_t *e = dir + 4 + i * DIR_ENTRY_SIZE;

		put_be(e, sorted[i]->len, 4);
		put_be(e + 4, sorted[i]->select, 2);
		memcpy(e + 8, sorted[i]->name, strlen(sorted[i]->name));
	}
	free(f->dir);
	f->dir = dir;
	f->dir_len = len;
	return 0;
}

static int check_file(const char *name, const void *data, size_t len)
{
	size_t n;

	if (!name || !name[0])
		return vmm__err(VMM_EINVAL, "vmm_fw_cfg_add_file: name is NULL or empty");
	n = strnlen(name, VMM_FW_CFG_NAME_MAX + 1);
	if (n > VMM_FW_CFG_NAME_MAX)
		return vmm__err(VMM_EINVAL, "vmm_fw_cfg_add_file: name '%.40s...' is longer "
				"than %d bytes", name, VMM_FW_CFG_NAME_MAX);
	if (len > VMM_FW_CFG_FILE_MAX)
		return vmm__err(VMM_EINVAL, "vmm_fw_cfg_add_file: '%s' is %zu bytes, more "
				"than the %u allowed", name, len, VMM_FW_CFG_FILE_MAX);
	if (!data && len)
		return vmm__err(VMM_EINVAL, "vmm_fw_cfg_add_file: data is NULL for %zu "
				"bytes", len);
	return 0;
}

/* Lock held. */
static int add_file(struct vmm__fw_cfg *f, const char *name, const void *data, size_t len)
{
	fw_file *file;
	int rc;

	for (uint32_t i = 0; i < f->nfiles; i++)
		if (strcmp(f->files[i].name, name) == 0)
			return vmm__err(VMM_EEXIST, "vmm_fw_cfg_add_file: '%s' exists", name);
	if (f->nfiles == VMM_FW_CFG_MAX_FILES)
		return vmm__err(VMM_ENOMEM, "vmm_fw_cfg_add_file: all %d files are in use",
				VMM_FW_CFG_MAX_FILES);
	file = &f->files[f->nfiles];
	file->data = malloc(len ? len : 1);
	if (!file->data)
		return vmm__err(VMM_ENOMEM, "vmm_fw_cfg_add_file: out of memory for %zu "
				"bytes", len);
	if (len)
		memcpy(file->data, data, len);
	snprintf(file->name, sizeof(file->name), "%s", name);
	file->len = (uint32_t)len;
	file->select = (uint16_t)(FW_CFG_FILE_FIRST + f->nfiles);
	f->nfiles++;
	rc = rebuild_dir(f);
	if (rc) {
		f->nfiles--;
		free(file->data);
		file->data = NULL;
	}
	return rc;
}

VMM_API int vmm_fw_cfg_add_file(vmm_vm *vm, const char *name, const void *data,
				size_t len)
{
	int rc;

	if (!vm)
		return vmm__err(VMM_EINVAL, "vmm_fw_cfg_add_file: vm is NULL");
	if (!vm->fw_cfg)
		return vmm__err(VMM_ESTATE, "vmm_fw_cfg_add_file: the VM was created "
				"without VMM_VM_FW_CFG");
	rc = check_file(name, data, len);
	if (rc)
		return rc;
	pthread_mutex_lock(&vm->fw_cfg->lock);
	rc = add_file(vm->fw_cfg, name, data, len);
	pthread_mutex_unlock(&vm->fw_cfg->lock);
	return rc;
}

int vmm__fw_cfg_init(vmm_vm *vm)
{
	struct vmm__fw_cfg *f = calloc(1, sizeof(*f));
	int rc;

	if (!f)
		return vmm__err(VMM_ENOMEM, "vmm_vm_create: out of memory for fw_cfg");
	pthread_mutex_init(&f->lock, NULL);
	memcpy(f->signature, "QEMU", 4);
	put_le(f->id, 1, 4);  /* bit 0: traditional interface; bit 1 (DMA) clear */
	put_le(f->ram_size, vm->config.mem_size, 8);
	put_le(f->nb_cpus, vm->config.vcpus, 2);
	put_le(f->max_cpus, vm->config.vcpus, 2);
	rc = rebuild_dir(f);
	if (rc == 0)
		rc = vmm__pio_register_internal(vm, FW_CFG_PORT_SEL, FW_CFG_PORT_LEN,
						fw_cfg_io, f);
	if (rc) {
		free(f->dir);
		pthread_mutex_destroy(&f->lock);
		free(f);
		return rc;
	}
	vm->fw_cfg = f;
	return 0;
}

void vmm__fw_cfg_fini(vmm_vm *vm)
{
	struct vmm__fw_cfg *f = vm->fw_cfg;

	if (!f)
		return;
	for (uint32_t i = 0; i < f->nfiles; i++)
		free(f->files[i].data);
	free(f->dir);
	pthread_mutex_destroy(&f->lock);
	free(f);
	vm->fw_cfg = NULL;
}

/* ---- Device state (state.h) ------------------------------------------------------
 * The guest's position: selector and offset (any value is one a guest can
 * reach: the offset counts on past an item's end). The items are the
 * embedder's configuration, not state. */

static int fw_cfg_save(void *dev, vmm__sw *w)
{
	struct vmm__fw_cfg *f = dev;

	pthread_mutex_lock(&f->lock);
	vmm__sw_u16(w, f->select);
	vmm__sw_u32(w, f->offset);
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static int fw_cfg_load(void *dev, uint32_t version, vmm__sr *r)
{
	struct vmm__fw_cfg *f = dev;
	uint16_t select = vmm__sr_u16(r, "select");
	uint32_t offset = vmm__sr_u32(r, "offset");

	(void)version;
	if (!vmm__sr_apply(r))
		return 0;
	pthread_mutex_lock(&f->lock);
	f->select = select;
	f->offset = offset;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static const vmm__state_ops fw_cfg_state = { 1, fw_cfg_save, fw_cfg_load };

int vmm__fw_cfg_state_add(vmm_vm *vm, vmm__state_list *l)
{
	return vm->fw_cfg ? vmm__state_add(l, "fw-cfg", &fw_cfg_state, vm->fw_cfg) : 0;
}
