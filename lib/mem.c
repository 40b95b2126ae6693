/* mem.c - the guest-physical memory map: slots, lookups and host copies. */
#include <string.h>
#include <sys/mman.h>

#include "lib/internal.h"

#define GPA_LIMIT (1ull << 48)  /* x86-64 guest-physical address space we allow */
#define KNOWN_FLAGS (VMM_MEM_READ | VMM_MEM_WRITE | VMM_MEM_EXEC)

typedef unsigned long long ull;

/* Index of the slot containing gpa, or -1 (binary search; slots are sorted
 * and disjoint). */
static int slot_index(const vmm_vm *vm, uint64_t gpa)
{
	uint32_t lo = 0, hi = vm->nslots;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const vmm__memslot *s = &vm->slots[mid];

		if (gpa < s->gpa)
			hi = mid;
		else if (gpa - s->gpa >= s->size)
			lo = mid + 1;
		else
			return (int)mid;
	}
	return -1;
}

const vmm__memslot *vmm__mem_find(const vmm_vm *vm, uint64_t gpa)
{
	int i = vm ? slot_index(vm, gpa) : -1;

	return i < 0 ? NULL : &vm->slots[i];
}

void *vmm__gpa_to_hva(const vmm_vm *vm, uint64_t gpa, uint64_t len)
{
	const vmm__memslot *s = vmm__mem_find(vm, gpa);
	uint64_t off;

	if (!s)
		return NULL;
	off = gpa - s->gpa;
	if (len > s->size - off)
		return NULL;
	return s->hva + off;
}

/* Checks that do not depend on the current map. */
static int check_args(const char *fn, uint64_t gpa, uint64_t size, uint32_t flags)
{
	if (size == 0)
		return vmm__err(VMM_EINVAL, "%s: size is 0", fn);
	if (gpa % VMM__PAGE_SIZE || size % VMM__PAGE_SIZE)
		return vmm__err(VMM_EINVAL, "%s: gpa 0x%llx and size 0x%llx must be "
				"multiples of 4 KiB", fn, (ull)gpa, (ull)size);
	if (size > GPA_LIMIT || gpa > GPA_LIMIT - size)
		return vmm__err(VMM_ERANGE, "%s: [0x%llx, +0x%llx) goes beyond the "
				"guest-physical limit 0x%llx", fn, (ull)gpa, (ull)size,
				(ull)GPA_LIMIT);
	if (!(flags & VMM_MEM_READ) || (flags & ~KNOWN_FLAGS))
		return vmm__err(VMM_EINVAL, "%s: flags 0x%x must include VMM_MEM_READ and "
				"only VMM_MEM_READ/WRITE/EXEC", fn, flags);
	return 0;
}

/* Position where a slot at gpa goes; fails if [gpa, gpa+size) overlaps. */
static int find_insert_pos(vmm_vm *vm, const char *fn, uint64_t gpa, uint64_t size,
			   uint32_t *pos)
{
	uint32_t i = 0;

	while (i < vm->nslots && vm->slots[i].gpa + vm->slots[i].size <= gpa)
		i++;
	if (i < vm->nslots && vm->slots[i].gpa < gpa + size)
		return vmm__err(VMM_EEXIST, "%s: [0x%llx, 0x%llx) overlaps the existing "
				"mapping [0x%llx, 0x%llx)", fn, (ull)gpa, (ull)(gpa + size),
				(ull)vm->slots[i].gpa,
				(ull)(vm->slots[i].gpa + vm->slots[i].size));
	if (vm->nslots == VMM__MAX_MEMSLOTS)
		return vmm__err(VMM_ENOMEM, "%s: all %d memory slots are in use", fn,
				VMM__MAX_MEMSLOTS);
	*pos = i;
	return 0;
}

static uint32_t free_slot_id(const vmm_vm *vm)
{
	uint64_t used = 0;
	uint32_t id = 0;

	for (uint32_t i = 0; i < vm->nslots; i++)
		used |= 1ull << vm->slots[i].id;
	while (used & (1ull << id))
		id++;
	return id;
}

static void remove_at(vmm_vm *vm, uint32_t i)
{
	memmove(&vm->slots[i], &vm->slots[i + 1],
		(vm->nslots - i - 1) * sizeof(vm->slots[0]));
	vm->nslots--;
}

/* Inserts a slot and tells the backend. On failure nothing changed (the
 * caller still owns hva). */
static int add_slot(vmm_vm *vm, const char *fn, const vmm__memslot *tmpl)
{
	uint32_t pos = 0;
	int rc;

	pthread_mutex_lock(&vm->lock);
	rc = find_insert_pos(vm, fn, tmpl->gpa, tmpl->size, &pos);
	if (rc == 0) {
		uint32_t id = free_slot_id(vm);

		memmove(&vm->slots[pos + 1], &vm->slots[pos],
			(vm->nslots - pos) * sizeof(vm->slots[0]));
		vm->slots[pos] = *tmpl;
		vm->slots[pos].id = id;
		vm->nslots++;
		if (vm->ops->mem_map)
			rc = vm->ops->mem_map(vm, &vm->slots[pos]);
		if (rc > 0)
			rc = vmm__err(VMM_EINTERNAL, "%s: backend returned %d", fn, rc);
		if (rc)
			remove_at(vm, pos);
		else if (tmpl->region)
			vmm__region_ref(tmpl->region);
	}
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

VMM_API int vmm_mem_map(vmm_vm *vm, uint64_t gpa, uint64_t size, uint32_t flags,
			void *host_ptr)
{
	vmm__memslot slot = { .gpa = gpa, .size = size, .flags = flags };
	int rc;

	if (!vm)
		return vmm__err(VMM_EINVAL, "vmm_mem_map: vm is NULL");
	rc = check_args("vmm_mem_map", gpa, size, flags);
	if (rc)
		return rc;
	if ((uintptr_t)host_ptr % VMM__PAGE_SIZE)
		return vmm__err(VMM_EINVAL, "vmm_mem_map: host_ptr %p is not 4 KiB aligned",
				host_ptr);
	slot.hva = host_ptr;
	if (!host_ptr) {
		void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			return vmm__err(VMM_ENOMEM, "vmm_mem_map: cannot allocate %llu KiB "
					"of guest memory", (ull)(size >> 10));
		slot.hva = p;
		slot.owned = true;
	}
	rc = add_slot(vm, "vmm_mem_map", &slot);
	if (rc && slot.owned)
		munmap(slot.hva, size);
	return rc;
}

VMM_API int vmm_mem_share(vmm_vm *vm, vmm_region *region, uint64_t gpa,
			  uint64_t offset, uint64_t size, uint32_t flags)
{
	vmm__memslot slot = { .gpa = gpa, .size = size, .flags = flags, .region = region };
	int rc;

	if (!vm || !region)
		return vmm__err(VMM_EINVAL, "vmm_mem_share: vm or region is NULL");
	rc = check_args("vmm_mem_share", gpa, size, flags);
	if (rc)
		return rc;
	if (offset % VMM__PAGE_SIZE)
		return vmm__err(VMM_EINVAL, "vmm_mem_share: offset 0x%llx is not a multiple "
				"of 4 KiB", (ull)offset);
	if (offset > region->size || size > region->size - offset)
		return vmm__err(VMM_ERANGE, "vmm_mem_share: [0x%llx, +0x%llx) is outside "
				"the region (0x%llx bytes)", (ull)offset, (ull)size,
				(ull)region->size);
	slot.hva = region->host + offset;
	return add_slot(vm, "vmm_mem_share", &slot);
}

/* Tells the backend, then frees what the slot holds. Caller holds vm->lock. */
static void release_slot(vmm_vm *vm, uint32_t i)
{
	vmm__memslot s = vm->slots[i];

	if (vm->ops->mem_unmap)
		vm->ops->mem_unmap(vm, &vm->slots[i]);
	remove_at(vm, i);
	if (s.owned)
		munmap(s.hva, s.size);
	if (s.region)
		vmm_region_destroy(s.region);  /* drops the slot's reference */
}

VMM_API int vmm_mem_unmap(vmm_vm *vm, uint64_t gpa, uint64_t size)
{
	int i, rc = 0;

	if (!vm)
		return vmm__err(VMM_EINVAL, "vmm_mem_unmap: vm is NULL");
	pthread_mutex_lock(&vm->lock);
	i = slot_index(vm, gpa);
	if (i < 0 || vm->slots[i].gpa != gpa || vm->slots[i].size != size)
		rc = vmm__err(VMM_ENOENT, "vmm_mem_unmap: no mapping is exactly [0x%llx, "
			      "+0x%llx)", (ull)gpa, (ull)size);
	else
		release_slot(vm, (uint32_t)i);
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

void vmm__mem_destroy_all(vmm_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	while (vm->nslots)
		release_slot(vm, vm->nslots - 1);
	pthread_mutex_unlock(&vm->lock);
}

/* Walks [gpa, gpa+len) across adjacent slots. With copy == NULL it only
 * checks that the whole range is mapped. */
typedef void (*chunk_fn)(uint8_t *hva, size_t done, size_t n, void *ctx);

static int mem_walk(vmm_vm *vm, const char *fn, uint64_t gpa, size_t len,
		    chunk_fn copy, void *ctx)
{
	size_t done = 0;

	if ((uint64_t)len - 1 > UINT64_MAX - gpa)
		return vmm__err(VMM_ERANGE, "%s: [0x%llx, +0x%zx) wraps around the address "
				"space", fn, (ull)gpa, len);
	while (done < len) {
		uint64_t cur = gpa + done;
		const vmm__memslot *s = vmm__mem_find(vm, cur);
		uint64_t avail, n;

		if (!s)
			return vmm__err(VMM_ERANGE, "%s: guest-physical 0x%llx is not mapped "
					"(access [0x%llx, +0x%zx))", fn, (ull)cur, (ull)gpa, len);
		avail = s->size - (cur - s->gpa);
		n = len - done < avail ? len - done : avail;
		if (copy)
			copy(s->hva + (cur - s->gpa), done, (size_t)n, ctx);
		done += (size_t)n;
	}
	return 0;
}

static void copy_out(uint8_t *hva, size_t done, size_t n, void *buf)
{
	memcpy((uint8_t *)buf + done, hva, n);
}

static void copy_in(uint8_t *hva, size_t done, size_t n, void *buf)
{
	memcpy(hva, (const uint8_t *)buf + done, n);
}

static int check_copy_args(const char *fn, vmm_vm *vm, const void *buf, size_t len)
{
	if (!vm)
		return vmm__err(VMM_EINVAL, "%s: vm is NULL", fn);
	if (!buf && len)
		return vmm__err(VMM_EINVAL, "%s: buf is NULL", fn);
	return 0;
}

VMM_API int vmm_mem_read(vmm_vm *vm, uint64_t gpa, void *buf, size_t len)
{
	int rc = check_copy_args("vmm_mem_read", vm, buf, len);

	if (rc || len == 0)
		return rc;
	rc = mem_walk(vm, "vmm_mem_read", gpa, len, NULL, NULL);
	if (rc == 0)
		mem_walk(vm, "vmm_mem_read", gpa, len, copy_out, buf);
	return rc;
}

VMM_API int vmm_mem_write(vmm_vm *vm, uint64_t gpa, const void *buf, size_t len)
{
	int rc = check_copy_args("vmm_mem_write", vm, buf, len);

	if (rc || len == 0)
		return rc;
	rc = mem_walk(vm, "vmm_mem_write", gpa, len, NULL, NULL);
	if (rc)
		return rc;
	mem_walk(vm, "vmm_mem_write", gpa, len, copy_in, (void *)buf);
	if (vm->ops->mem_written)
		vm->ops->mem_written(vm, gpa, len);
	return 0;
}

VMM_API int vmm_mem_host_ptr(vmm_vm *vm, uint64_t gpa, size_t len, void **out)
{
	void *p;

	if (!vm || !out)
		return vmm__err(VMM_EINVAL, "vmm_mem_host_ptr: vm or out is NULL");
	*out = NULL;
	p = vmm__gpa_to_hva(vm, gpa, len ? len : 1);
	if (!p)
		return vmm__err(VMM_ERANGE, "vmm_mem_host_ptr: [0x%llx, +0x%zx) is not "
				"inside one mapping", (ull)gpa, len);
	*out = p;
	return 0;
}
