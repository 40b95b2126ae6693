/* backend.c - the backend registry and vmm_backends(). A new backend is one
 * line in the table below. */
#include <stdio.h>
#include <string.h>

#include "lib/internal.h"

static const vmm__backend_ops *const registry[] = {
	&vmm__emu_ops,
	&vmm__kvm_ops,
};
#define NBACKENDS (sizeof(registry) / sizeof(registry[0]))

const vmm__backend_ops *vmm__backend_at(uint32_t index)
{
	return index < NBACKENDS ? registry[index] : NULL;
}

const vmm__backend_ops *vmm__backend_find(const char *name)
{
	for (uint32_t i = 0; i < NBACKENDS; i++)
		if (strcmp(registry[i]->name, name) == 0)
			return registry[i];
	return NULL;
}

VMM_API int vmm_backends(uint32_t index, vmm_backend_info *info)
{
	const vmm__backend_ops *ops = vmm__backend_at(index);
	vmm_backend_info tmp = VMM_BACKEND_INFO_INIT;

	if (!info || info->size < sizeof(vmm_backend_info))
		return vmm__err(VMM_EINVAL, "vmm_backends: info is NULL or info->size "
				"is not sizeof(vmm_backend_info)");
	if (!ops)
		return vmm__err(VMM_ENOENT, "vmm_backends: no backend number %u", index);
	snprintf(tmp.name, sizeof(tmp.name), "%s", ops->name);
	ops->probe(&tmp);
	tmp.size = info->size;
	memcpy(info, &tmp, sizeof(tmp));
	return 0;
}
