/* vcpu.c - vCPU lifecycle, register access, run and kick. */
#include <stdlib.h>
#include <time.h>

#include "lib/introspect/ix.h"
#include "lib/platform/acpi.h"
#include "lib/platform/platform.h"
#include "lib/platform/state.h"

static void wait_init(vmm_vcpu *vcpu)
{
	pthread_mutex_init(&vcpu->wait_lock, NULL);
	vmm__cond_init_monotonic(&vcpu->wait_cond);
}

static void wait_fini(vmm_vcpu *vcpu)
{
	pthread_cond_destroy(&vcpu->wait_cond);
	pthread_mutex_destroy(&vcpu->wait_lock);
}

VMM_API int vmm_vcpu_create(vmm_vm *vm, uint32_t index, vmm_vcpu **out)
{
	vmm_vcpu *vcpu;
	int rc = 0;

	if (out)
		*out = NULL;
	if (!vm)
		return vmm__err(VMM_EINVAL, "vmm_vcpu_create: vm is NULL");
	if (index >= vm->config.vcpus)
		return vmm__err(VMM_ENOENT, "vmm_vcpu_create: index %u is not below the "
				"VM's vCPU count %u", index, vm->config.vcpus);
	if (!vm->ops->vcpu_create)
		return vmm__err(VMM_ENOTSUP, "vmm_vcpu_create: backend %s has no vCPUs",
				vm->backend_name);
	pthread_mutex_lock(&vm->lock);
	if (vm->vcpus[index]) {
		rc = vmm__err(VMM_EEXIST, "vmm_vcpu_create: vCPU %u already exists", index);
		goto out;
	}
	vcpu = calloc(1, sizeof(*vcpu));
	if (!vcpu) {
		rc = vmm__err(VMM_ENOMEM, "vmm_vcpu_create: out of memory");
		goto out;
	}
	vcpu->vm = vm;
	vcpu->index = index;
	vcpu->runnable = true;
	wait_init(vcpu);
	rc = vm->ops->vcpu_create(vcpu);
	if (rc > 0)
		rc = vmm__err(VMM_EINTERNAL, "vmm_vcpu_create: backend returned %d", rc);
	if (rc == 0 && vm->platform) {
		rc = vmm__platform_vcpu_init(vcpu);
		if (rc && vm->ops->vcpu_destroy)
			vm->ops->vcpu_destroy(vcpu);
	}
	if (rc) {
		wait_fini(vcpu);
		free(vcpu);
		goto out;
	}
	vm->vcpus[index] = vcpu;
	if (out)
		*out = vcpu;
out:
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

/* The vCPU must not be running. */
VMM_API void vmm_vcpu_destroy(vmm_vcpu *vcpu)
{
	vmm_vm *vm;

	if (!vcpu)
		return;
	vm = vcpu->vm;
	pthread_mutex_lock(&vm->lock);
	if (vm->platform)
		vmm__platform_vcpu_fini(vcpu);
	if (vm->ops->vcpu_destroy)
		vm->ops->vcpu_destroy(vcpu);
	vm->vcpus[vcpu->index] = NULL;
	pthread_mutex_unlock(&vm->lock);
	wait_fini(vcpu);
	free(vcpu);
}

VMM_API vmm_vcpu *vmm_vcpu_get(vmm_vm *vm, uint32_t index)
{
	if (!vm || index >= VMM_MAX_VCPUS)
		return NULL;
	return vm->vcpus[index];
}

VMM_API uint32_t vmm_vcpu_index(const vmm_vcpu *vcpu)
{
	return vcpu ? vcpu->index : UINT32_MAX;
}

#define REG_ACCESS(fn, op, type)                                                  \
	VMM_API int fn(vmm_vcpu *vcpu, type arg)                                  \
	{                                                                         \
		if (!vcpu || !arg)                                                \
			return vmm__err(VMM_EINVAL, #fn ": vcpu or " #type " is NULL"); \
		if (!vcpu->vm->ops->op)                                           \
			return vmm__err(VMM_ENOTSUP, #fn ": backend %s cannot do it", \
					vcpu->vm->backend_name);                  \
		return vcpu->vm->ops->op(vcpu, arg);                              \
	}

REG_ACCESS(vmm_vcpu_get_regs, get_regs, vmm_regs *)
REG_ACCESS(vmm_vcpu_set_regs, set_regs, const vmm_regs *)
REG_ACCESS(vmm_vcpu_get_sregs, get_sregs, vmm_sregs *)
REG_ACCESS(vmm_vcpu_set_sregs, set_sregs, const vmm_sregs *)

VMM_API int vmm_vcpu_run(vmm_vcpu *vcpu, vmm_exit **exit)
{
	int rc;

	if (!vcpu || !exit)
		return vmm__err(VMM_EINVAL, "vmm_vcpu_run: vcpu or exit is NULL");
	if (!vcpu->vm->ops->run)
		return vmm__err(VMM_ENOTSUP, "vmm_vcpu_run: backend %s cannot run",
				vcpu->vm->backend_name);
	/* Best effort: driving one vCPU from two threads is a caller bug. */
	if (atomic_load(&vcpu->in_run))
		return vmm__err(VMM_EBUSY, "vmm_vcpu_run: vCPU %u is already running on "
				"another thread", vcpu->index);
	if (vcpu->vm->platform &&
	    atomic_load_explicit(&vcpu->vm->platform->state_frozen, memory_order_relaxed))
		vmm__vm_state_thaw(vcpu->vm);   /* the VM goes on after a state save */
	vcpu->thread = pthread_self();
	/* seq-cst: a kick after this store sees in_run == 1 and thread valid. */
	atomic_store(&vcpu->in_run, 1);
	if (atomic_load_explicit(&vcpu->ix_pause, memory_order_relaxed)) {
		vmm__ix_pause_point(vcpu);   /* vmm_vcpu_pause: not yet running */
		rc = 0;
	} else {
		/* ACPI S3: a sleeping VM's vCPUs wait here (lib/platform/acpi.h). */
		rc = vcpu->vm->platform ? vmm__acpi_sleep_point(vcpu) : 0;
		if (rc == 0)
			rc = vcpu->vm->ops->run(vcpu, &vcpu->exit);
		else if (rc == 1)
			rc = 0;                  /* kicked while asleep: exit CANCELLED */
		if (rc == 0 && vcpu->exit.reason == VMM_EXIT_CANCELLED &&
		    atomic_load(&vcpu->ix_pause))
			vmm__ix_pause_point(vcpu);
	}
	vcpu->exit.vcpu_index = vcpu->index;
	atomic_store(&vcpu->in_run, 0);
	if (rc > 0)
		rc = vmm__err(VMM_EINTERNAL, "vmm_vcpu_run: backend returned %d", rc);
	if (rc == 0 && vcpu->exit.reason == VMM_EXIT_CANCELLED)
		atomic_store(&vcpu->kicked, 0);
	*exit = &vcpu->exit;
	return rc;
}

VMM_API int vmm_vcpu_set_trace(vmm_vcpu *vcpu, vmm_trace_fn fn, void *opaque)
{
	if (!vcpu)
		return vmm__err(VMM_EINVAL, "vmm_vcpu_set_trace: vcpu is NULL");
	if (!vcpu->vm->ops->set_trace)
		return vmm__err(VMM_ENOTSUP, "vmm_vcpu_set_trace: backend %s cannot trace "
				"instructions (use the emu backend)", vcpu->vm->backend_name);
	if (atomic_load(&vcpu->in_run))
		return vmm__err(VMM_ESTATE, "vmm_vcpu_set_trace: vCPU %u is running",
				vcpu->index);
	return vcpu->vm->ops->set_trace(vcpu, fn, opaque);
}

VMM_API int vmm_vcpu_kick(vmm_vcpu *vcpu)
{
	if (!vcpu)
		return vmm__err(VMM_EINVAL, "vmm_vcpu_kick: vcpu is NULL");
	atomic_store(&vcpu->kicked, 1);
	if (vcpu->vm->ops->kick)
		vcpu->vm->ops->kick(vcpu);
	/* A vCPU sleeping in HLT or wait-for-SIPI (vmm__vcpu_wait) wakes too. */
	pthread_mutex_lock(&vcpu->wait_lock);
	pthread_cond_broadcast(&vcpu->wait_cond);
	pthread_mutex_unlock(&vcpu->wait_lock);
	return 0;
}
