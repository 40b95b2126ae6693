/* hooks.c - the VM's hook table: adding and removing hooks, checking their
 * configuration, delivering events to them, and the lookups backends make
 * from their slow paths. */
#include <stdlib.h>
#include <string.h>

#include "lib/introspect/ix.h"

static const char *const ev_names[] = {
	"?", "BREAK", "HWBREAK", "STEP", "WATCH", "CR_WRITE", "MSR_WRITE", "CPUID",
	"HLT", "EXCEPTION", "PAGE", "PAUSE"
};

vmm__ix *vmm__ix_get(vmm_vm *vm)
{
	vmm__ix *ix = atomic_load(&vm->ix);

	if (ix)
		return ix;
	pthread_mutex_lock(&vm->lock);
	ix = atomic_load(&vm->ix);
	if (!ix) {
		ix = calloc(1, sizeof(*ix));
		if (ix) {
			pthread_mutex_init(&ix->lock, NULL);
			ix->next_id = 1;
			atomic_store(&vm->ix, ix);
		}
	}
	pthread_mutex_unlock(&vm->lock);
	return ix;
}

void vmm__ix_destroy(vmm_vm *vm)
{
	vmm__ix *ix = atomic_load(&vm->ix);

	if (!ix)
		return;
	pthread_mutex_destroy(&ix->lock);
	free(ix);
	atomic_store(&vm->ix, NULL);
}

static int check_mem_hook(const vmm_hook_config *c)
{
	if (c->type == VMM_EV_WATCH) {
		if (c->len != 1 && c->len != 2 && c->len != 4 && c->len != 8)
			return vmm__err(VMM_EINVAL, "vmm_hook_add: WATCH len %llu is not 1, 2, "
					"4 or 8", (unsigned long long)c->len);
		if (!(c->access & (VMM_MEM_READ | VMM_MEM_WRITE)) || (c->access & VMM_MEM_EXEC))
			return vmm__err(VMM_EINVAL, "vmm_hook_add: WATCH access 0x%x must be "
					"READ and/or WRITE", c->access);
		return 0;
	}
	if ((c->addr & 0xfff) || !c->len || (c->len & 0xfff) || c->addr + c->len < c->addr)
		return vmm__err(VMM_EINVAL, "vmm_hook_add: PAGE range 0x%llx+0x%llx is not "
				"whole pages", (unsigned long long)c->addr,
				(unsigned long long)c->len);
	if (!c->access || (c->access & ~(uint32_t)VMM_MEM_RW))
		return vmm__err(VMM_EINVAL, "vmm_hook_add: PAGE access 0x%x is not a "
				"VMM_MEM_READ/WRITE/EXEC mask", c->access);
	return 0;
}

static int check_config(vmm_vm *vm, const vmm_hook_config *c)
{
	if (c->size < sizeof(*c))
		return vmm__err(VMM_EINVAL, "vmm_hook_add: config->size %u, expected %zu "
				"(use VMM_HOOK_CONFIG_INIT)", c->size, sizeof(*c));
	if (c->type < VMM_EV_BREAK || c->type > VMM_EV_MAX)
		return vmm__err(VMM_EINVAL, "vmm_hook_add: unknown event type %u", c->type);
	if (!c->fn)
		return vmm__err(VMM_EINVAL, "vmm_hook_add: fn is NULL");
	if (c->vcpu < -1 || (c->vcpu >= 0 && (uint32_t)c->vcpu >= vm->config.vcpus))
		return vmm__err(VMM_EINVAL, "vmm_hook_add: vcpu %d is not -1 or below %u",
				c->vcpu, vm->config.vcpus);
	if (c->type == VMM_EV_STEP && c->vcpu < 0)
		return vmm__err(VMM_EINVAL, "vmm_hook_add: a STEP hook must name one vCPU");
	if (c->type == VMM_EV_CR_WRITE && c->index != 0 && c->index != 3 && c->index != 4)
		return vmm__err(VMM_EINVAL, "vmm_hook_add: CR_WRITE index %u is not 0, 3 or 4",
				c->index);
	if (c->type == VMM_EV_EXCEPTION && c->index > 31)
		return vmm__err(VMM_EINVAL, "vmm_hook_add: EXCEPTION vector %u is above 31",
				c->index);
	if (c->type == VMM_EV_WATCH || c->type == VMM_EV_PAGE)
		return check_mem_hook(c);
	return 0;
}

static int check_backend(vmm_vm *vm, const vmm_hook_config *c)
{
	vmm_hook_caps caps = VMM_HOOK_CAPS_INIT;

	if (c->type == VMM_EV_PAUSE)
		return 0;   /* delivered by the core */
	if (vm->ops->ix_caps)
		vm->ops->ix_caps(vm, &caps);
	if (caps.events & VMM__IX_BIT(c->type))
		return 0;
	return vmm__err(VMM_ENOTSUP, "vmm_hook_add: backend %s cannot deliver %s events%s%s",
			vm->backend_name, ev_names[c->type], caps.notes[0] ? ": " : "",
			caps.notes);
}

static void recompute_flags(vmm_vm *vm, vmm__ix *ix)
{
	uint32_t f = 0;

	for (unsigned i = 0; i < VMM_HOOK_MAX; i++)
		if (ix->hooks[i].id)
			f |= VMM__IX_BIT(ix->hooks[i].cfg.type);
	atomic_store(&vm->ix_flags, f);
}

static int changed(vmm_vm *vm)
{
	return vm->ops->ix_changed ? vm->ops->ix_changed(vm) : 0;
}

VMM_API int vmm_hook_add(vmm_vm *vm, const vmm_hook_config *config, uint32_t *id)
{
	vmm__ix *ix;
	vmm__hook *h = NULL;
	int rc;

	if (!vm || !config || !id)
		return vmm__err(VMM_EINVAL, "vmm_hook_add: vm, config or id is NULL");
	rc = check_config(vm, config);
	if (!rc)
		rc = check_backend(vm, config);
	if (rc)
		return rc;
	ix = vmm__ix_get(vm);
	if (!ix)
		return vmm__err(VMM_ENOMEM, "vmm_hook_add: out of memory");
	pthread_mutex_lock(&ix->lock);
	for (unsigned i = 0; i < VMM_HOOK_MAX && !h; i++)
		if (!ix->hooks[i].id)
			h = &ix->hooks[i];
	if (!h) {
		pthread_mutex_unlock(&ix->lock);
		return vmm__err(VMM_ENOMEM, "vmm_hook_add: the VM has %d hooks already",
				VMM_HOOK_MAX);
	}
	h->cfg = *config;
	h->cfg.size = sizeof(h->cfg);
	h->id = ix->next_id++;
	if (!ix->next_id)
		ix->next_id = 1;
	*id = h->id;
	recompute_flags(vm, ix);
	rc = changed(vm);
	if (rc) {
		h->id = 0;
		recompute_flags(vm, ix);
		changed(vm);
		*id = 0;
	}
	pthread_mutex_unlock(&ix->lock);
	return rc;
}

VMM_API int vmm_hook_del(vmm_vm *vm, uint32_t id)
{
	vmm__ix *ix;
	int rc = VMM_ENOENT;

	if (!vm)
		return vmm__err(VMM_EINVAL, "vmm_hook_del: vm is NULL");
	ix = atomic_load(&vm->ix);
	if (!ix || !id)
		return vmm__err(VMM_ENOENT, "vmm_hook_del: no hook %u", id);
	pthread_mutex_lock(&ix->lock);
	for (unsigned i = 0; i < VMM_HOOK_MAX; i++) {
		if (ix->hooks[i].id != id)
			continue;
		ix->hooks[i].id = 0;
		recompute_flags(vm, ix);
		rc = changed(vm);
		break;
	}
	pthread_mutex_unlock(&ix->lock);
	if (rc == VMM_ENOENT)
		return vmm__err(VMM_ENOENT, "vmm_hook_del: no hook %u", id);
	return rc;
}

VMM_API int vmm_introspect_caps(vmm_vm *vm, vmm_hook_caps *caps)
{
	if (!vm || !caps)
		return vmm__err(VMM_EINVAL, "vmm_introspect_caps: vm or caps is NULL");
	if (caps->size < sizeof(*caps))
		return vmm__err(VMM_EINVAL, "vmm_introspect_caps: caps->size %u, expected %zu "
				"(use VMM_HOOK_CAPS_INIT)", caps->size, sizeof(*caps));
	caps->events = 0;
	caps->flags = 0;
	caps->hw_slots = 0;
	caps->notes[0] = 0;
	if (vm->ops->ix_caps)
		vm->ops->ix_caps(vm, caps);
	caps->events |= VMM__IX_BIT(VMM_EV_PAUSE);
	return 0;
}
