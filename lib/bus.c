/* bus.c - port and MMIO device ranges: registration and dispatch. Ranges sit
 * in a sorted array (registration is rare, lookup is hot: binary search). */
#include <stdio.h>
#include <string.h>

#include "lib/internal.h"

typedef unsigned long long ull;

/* Index of the last range with base <= addr, or -1. */
static int range_floor(const vmm__bus *bus, uint64_t addr)
{
	uint32_t lo = 0, hi = bus->count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (bus->ranges[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (int)lo - 1;
}

/* [base, base+len) with len >= 1 and base+len-1 not wrapping. */
static int bus_add(vmm_vm *vm, vmm__bus *bus, const char *fn, uint64_t base,
		   uint64_t len, void *cb, void *opaque, bool internal)
{
	uint64_t last = base + len - 1;
	int rc = 0, i;

	pthread_mutex_lock(&vm->lock);
	i = range_floor(bus, last);
	if (i >= 0 && bus->ranges[i].base + bus->ranges[i].len - 1 >= base) {
		rc = vmm__err(VMM_EEXIST, "%s: [0x%llx, 0x%llx] overlaps the device at "
			      "[0x%llx, 0x%llx]", fn, (ull)base, (ull)last,
			      (ull)bus->ranges[i].base,
			      (ull)(bus->ranges[i].base + bus->ranges[i].len - 1));
	} else if (bus->count == VMM__MAX_BUS_RANGES) {
		rc = vmm__err(VMM_ENOMEM, "%s: all %d device ranges are in use", fn,
			      VMM__MAX_BUS_RANGES);
	} else {
		uint32_t pos = (uint32_t)(i + 1);

		memmove(&bus->ranges[pos + 1], &bus->ranges[pos],
			(bus->count - pos) * sizeof(bus->ranges[0]));
		bus->ranges[pos] = (vmm__bus_range){ base, len, cb, opaque, internal };
		bus->count++;
	}
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

static int bus_remove(vmm_vm *vm, vmm__bus *bus, const char *fn, uint64_t base)
{
	int rc = 0, i;

	pthread_mutex_lock(&vm->lock);
	i = range_floor(bus, base);
	if (i < 0 || bus->ranges[i].base != base) {
		rc = vmm__err(VMM_ENOENT, "%s: no device starts at 0x%llx", fn, (ull)base);
	} else {
		memmove(&bus->ranges[i], &bus->ranges[i + 1],
			(bus->count - (uint32_t)i - 1) * sizeof(bus->ranges[0]));
		bus->count--;
	}
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

static int pio_register(vmm_vm *vm, uint16_t base, uint16_t len, vmm_pio_fn fn,
			void *opaque, bool internal)
{
	if (!vm || !fn)
		return vmm__err(VMM_EINVAL, "vmm_pio_register: vm or fn is NULL");
	if (len == 0 || (uint32_t)base + len > 0x10000u)
		return vmm__err(VMM_EINVAL, "vmm_pio_register: ports [0x%x, +%u) are empty "
				"or go past 0xffff", base, len);
	return bus_add(vm, &vm->pio, "vmm_pio_register", base, len, (void *)fn, opaque,
		       internal);
}

int vmm__pio_register_internal(vmm_vm *vm, uint16_t base, uint16_t len, vmm_pio_fn fn,
			       void *opaque)
{
	return pio_register(vm, base, len, fn, opaque, true);
}

VMM_API int vmm_pio_register(vmm_vm *vm, uint16_t base, uint16_t len, vmm_pio_fn fn,
			     void *opaque)
{
	return pio_register(vm, base, len, fn, opaque, false);
}

VMM_API int vmm_pio_unregister(vmm_vm *vm, uint16_t base)
{
	if (!vm)
		return vmm__err(VMM_EINVAL, "vmm_pio_unregister: vm is NULL");
	return bus_remove(vm, &vm->pio, "vmm_pio_unregister", base);
}

static int mmio_register(vmm_vm *vm, uint64_t base, uint64_t len, vmm_mmio_fn fn,
			 void *opaque, bool internal)
{
	if (!vm || !fn)
		return vmm__err(VMM_EINVAL, "vmm_mmio_register: vm or fn is NULL");
	if (len == 0 || len - 1 > UINT64_MAX - base)
		return vmm__err(VMM_EINVAL, "vmm_mmio_register: [0x%llx, +0x%llx) is empty "
				"or wraps around", (ull)base, (ull)len);
	return bus_add(vm, &vm->mmio, "vmm_mmio_register", base, len, (void *)fn, opaque,
		       internal);
}

int vmm__mmio_register_internal(vmm_vm *vm, uint64_t base, uint64_t len, vmm_mmio_fn fn,
				void *opaque)
{
	return mmio_register(vm, base, len, fn, opaque, true);
}

VMM_API int vmm_mmio_register(vmm_vm *vm, uint64_t base, uint64_t len, vmm_mmio_fn fn,
			      void *opaque)
{
	return mmio_register(vm, base, len, fn, opaque, false);
}

VMM_API int vmm_mmio_unregister(vmm_vm *vm, uint64_t base)
{
	if (!vm)
		return vmm__err(VMM_EINVAL, "vmm_mmio_unregister: vm is NULL");
	return bus_remove(vm, &vm->mmio, "vmm_mmio_unregister", base);
}

/* The range wholly containing [addr, addr+size), or NULL. */
static const vmm__bus_range *bus_lookup(const vmm__bus *bus, uint64_t addr, uint8_t size)
{
	int i = range_floor(bus, addr);
	const vmm__bus_range *r;

	if (i < 0)
		return NULL;
	r = &bus->ranges[i];
	if (addr - r->base >= r->len || size > r->len - (addr - r->base))
		return NULL;
	return r;
}

/* Maps a device callback's return value to VMM__BUS_* or an error. */
static int bus_result(const vmm__bus_range *r, int rc, const char *kind, uint64_t addr)
{
	char why[256];

	if (rc == 0)
		return VMM__BUS_DONE;
	if (rc == 1 && r->internal)
		return VMM__BUS_STOP;
	if (rc > 0)
		return vmm__err(VMM_EINTERNAL, "device at %s 0x%llx returned %d (expected 0 "
				"or a negative VMM_E* code)", kind, (ull)addr, rc);
	snprintf(why, sizeof(why), "%s", vmm_last_error());
	return vmm__err(rc, "device at %s 0x%llx failed: %s", kind, (ull)addr,
			why[0] ? why : vmm_strerror(rc));
}

static uint64_t size_mask(uint8_t size)
{
	return size >= 8 ? UINT64_MAX : (1ull << (size * 8)) - 1;
}

int vmm__bus_pio(vmm_vcpu *vcpu, uint16_t port, uint8_t size, uint8_t is_write,
		 uint32_t *data)
{
	const vmm__bus_range *r;
	int rc;

	if (!vcpu || !data)
		return vmm__err(VMM_EINTERNAL, "vmm__bus_pio: vcpu or data is NULL");
	if (size != 1 && size != 2 && size != 4)
		return vmm__err(VMM_EINTERNAL, "port 0x%x access of invalid size %u", port, size);
	r = bus_lookup(&vcpu->vm->pio, port, size);
	if (!r)
		return VMM__BUS_UNCLAIMED;
	if (!is_write)
		*data = (uint32_t)size_mask(size);
	else
		*data &= (uint32_t)size_mask(size);
	vmm__clear_error();
	rc = ((vmm_pio_fn)r->fn)(r->opaque, vcpu, port, size, is_write, data);
	if (!is_write)
		*data &= (uint32_t)size_mask(size);
	return bus_result(r, rc, "port", port);
}

int vmm__bus_mmio(vmm_vcpu *vcpu, uint64_t addr, uint8_t size, uint8_t is_write,
		  uint64_t *data)
{
	const vmm__bus_range *r;
	int rc;

	if (!vcpu || !data)
		return vmm__err(VMM_EINTERNAL, "vmm__bus_mmio: vcpu or data is NULL");
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return vmm__err(VMM_EINTERNAL, "MMIO access at 0x%llx of invalid size %u",
				(ull)addr, size);
	if (vcpu->lapic && vmm__lapic_mmio_relocated(vcpu, addr, size, is_write, data))
		return VMM__BUS_DONE;
	r = bus_lookup(&vcpu->vm->mmio, addr, size);
	if (!r)
		return VMM__BUS_UNCLAIMED;
	if (!is_write)
		*data = size_mask(size);
	else
		*data &= size_mask(size);
	vmm__clear_error();
	rc = ((vmm_mmio_fn)r->fn)(r->opaque, vcpu, addr, size, is_write, data);
	if (!is_write)
		*data &= size_mask(size);
	return bus_result(r, rc, "address", addr);
}
