/* guest.c - loader helpers that touch the VM: guest-memory writes, vCPU
 * creation and register setup, all through the core's checked paths. */
#include <stdio.h>
#include <string.h>

#include "lib/loaders/loader.h"

int vmm__ldr_write(vmm_vm *vm, uint64_t gpa, const void *src, uint64_t len)
{
	uint64_t done = 0;

	if (len == 0)
		return 0;
	if (len - 1 > UINT64_MAX - gpa)
		return vmm__err(VMM_ERANGE, "loader: [0x%llx, +0x%llx) wraps around",
				(vmm__ull)gpa, (vmm__ull)len);
	while (done < len) {
		uint64_t cur = gpa + done, n;
		const vmm__memslot *s = vmm__mem_find(vm, cur);

		if (!s)
			return vmm__err(VMM_ERANGE, "loader: guest-physical 0x%llx is not "
					"mapped (guest RAM was unmapped?)", (vmm__ull)cur);
		n = s->size - (cur - s->gpa);
		if (n > len - done)
			n = len - done;
		if (src)
			memcpy(s->hva + (cur - s->gpa), (const uint8_t *)src + done, n);
		else
			memset(s->hva + (cur - s->gpa), 0, n);
		done += n;
	}
	if (vm->ops->mem_written)
		vm->ops->mem_written(vm, gpa, len);
	return 0;
}

int vmm__ldr_create_vcpus(vmm_vm *vm)
{
	for (uint32_t i = 0; i < vm->config.vcpus; i++) {
		int rc = 0;

		if (!vmm_vcpu_get(vm, i))
			rc = vmm_vcpu_create(vm, i, NULL);
		if (rc)
			return rc;
	}
	return 0;
}

int vmm__ldr_set_state(vmm_vm *vm, uint32_t index, vmm__ldr_state_fn fn,
		       const void *ctx)
{
	vmm_vcpu *vcpu = vmm_vcpu_get(vm, index);
	vmm_regs regs;
	vmm_sregs sregs;
	int rc;

	if (!vcpu)
		return vmm__err(VMM_EINTERNAL, "loader: vCPU %u does not exist", index);
	rc = vmm_vcpu_get_regs(vcpu, &regs);
	if (rc == 0)
		rc = vmm_vcpu_get_sregs(vcpu, &sregs);
	if (rc)
		return rc;
	fn(index, &regs, &sregs, ctx);
	rc = vmm_vcpu_set_sregs(vcpu, &sregs);
	if (rc == 0)
		rc = vmm_vcpu_set_regs(vcpu, &regs);
	return rc;
}

const char *vmm__ldr_size_str(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
	unsigned u = 0;

	while (u + 1 < sizeof(units) / sizeof(units[0]) && bytes && bytes % 1024 == 0) {
		bytes /= 1024;
		u++;
	}
	snprintf(buf, len, "%llu %s", (vmm__ull)bytes, units[u]);
	return buf;
}
