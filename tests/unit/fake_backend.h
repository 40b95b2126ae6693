/* fake_backend.h - a scripted backend for unit tests of the core. Each test
 * sets fake.script; fake_run calls it with the vCPU's call counter. Include
 * once per test program (definitions are static). */
#ifndef FAKE_BACKEND_H
#define FAKE_BACKEND_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/internal.h"

/* Not every test program uses every helper. */
#define FAKE_FN static __attribute__((unused))

/* Fills *exit for call number `call` (0, 1, ...) of this vCPU; returns 0 or
 * a negative code (host failure). */
typedef int (*fake_script_fn)(vmm_vcpu *vcpu, vmm_exit *exit, unsigned call);

typedef struct fake_vcpu {
	vmm_regs regs;
	vmm_sregs sregs;
	unsigned calls;
	uint32_t last_in_data;        /* io.data seen when the next run started */
	atomic_int kicks;
} fake_vcpu;

typedef struct fake_state {
	fake_script_fn script;
	int fail_vm_create, fail_mem_map, fail_vcpu_create;
	atomic_int vm_creates, vm_destroys, mem_maps, mem_unmaps, vcpu_destroys;
	atomic_int mem_written_calls;
	_Atomic uint64_t written_gpa, written_len;
	atomic_uint last_slot_id;
} fake_state;

static fake_state fake;

FAKE_FN void fake_reset(void)
{
	memset(&fake, 0, sizeof(fake));
}

FAKE_FN int fake_vm_create(vmm_vm *vm)
{
	if (fake.fail_vm_create)
		return vmm__err(VMM_EBACKEND, "fake: vm_create refused");
	atomic_fetch_add(&fake.vm_creates, 1);
	snprintf(vm->flavour, sizeof(vm->flavour), "fake");
	return 0;
}

FAKE_FN void fake_vm_destroy(vmm_vm *vm)
{
	atomic_fetch_add(&fake.vm_destroys, 1);
}

FAKE_FN int fake_mem_map(vmm_vm *vm, const vmm__memslot *slot)
{
	if (fake.fail_mem_map)
		return vmm__err(VMM_EBACKEND, "fake: mem_map refused");
	fake.last_slot_id = slot->id;
	atomic_fetch_add(&fake.mem_maps, 1);
	return 0;
}

FAKE_FN void fake_mem_unmap(vmm_vm *vm, const vmm__memslot *slot)
{
	atomic_fetch_add(&fake.mem_unmaps, 1);
}

FAKE_FN void fake_mem_written(vmm_vm *vm, uint64_t gpa, uint64_t len)
{
	atomic_fetch_add(&fake.mem_written_calls, 1);
	fake.written_gpa = gpa;
	fake.written_len = len;
}

FAKE_FN int fake_vcpu_create(vmm_vcpu *vcpu)
{
	fake_vcpu *f;

	if (fake.fail_vcpu_create)
		return vmm__err(VMM_EBACKEND, "fake: vcpu_create refused");
	f = calloc(1, sizeof(*f));
	if (!f)
		return VMM_ENOMEM;
	f->regs.rflags = 2;
	vcpu->backend_priv = f;
	return 0;
}

FAKE_FN void fake_vcpu_destroy(vmm_vcpu *vcpu)
{
	atomic_fetch_add(&fake.vcpu_destroys, 1);
	free(vcpu->backend_priv);
}

FAKE_FN fake_vcpu *fake_of(vmm_vcpu *vcpu)
{
	return vcpu->backend_priv;
}

FAKE_FN int fake_get_regs(vmm_vcpu *vcpu, vmm_regs *regs)
{
	*regs = fake_of(vcpu)->regs;
	return 0;
}

FAKE_FN int fake_set_regs(vmm_vcpu *vcpu, const vmm_regs *regs)
{
	fake_of(vcpu)->regs = *regs;
	return 0;
}

FAKE_FN int fake_get_sregs(vmm_vcpu *vcpu, vmm_sregs *sregs)
{
	*sregs = fake_of(vcpu)->sregs;
	return 0;
}

FAKE_FN int fake_set_sregs(vmm_vcpu *vcpu, const vmm_sregs *sregs)
{
	fake_of(vcpu)->sregs = *sregs;
	return 0;
}

FAKE_FN int fake_run(vmm_vcpu *vcpu, vmm_exit *exit)
{
	fake_vcpu *f = fake_of(vcpu);

	f->last_in_data = exit->io.data;
	if (atomic_load(&vcpu->kicked)) {
		exit->reason = VMM_EXIT_CANCELLED;
		return 0;
	}
	exit->rip = 0x1000 + f->calls;
	return fake.script(vcpu, exit, f->calls++);
}

FAKE_FN void fake_kick(vmm_vcpu *vcpu)
{
	atomic_fetch_add(&fake_of(vcpu)->kicks, 1);
}

/* For scripts: block like a guest spinning until vmm_vcpu_kick (gives up
 * with an internal error after 10 s so a broken runner cannot hang tests). */
FAKE_FN int fake_wait_for_kick(vmm_vcpu *vcpu, vmm_exit *exit)
{
	struct timespec ms = { 0, 1000000 };

	for (int i = 0; i < 10000; i++) {
		if (atomic_load(&vcpu->kicked)) {
			exit->reason = VMM_EXIT_CANCELLED;
			return 0;
		}
		nanosleep(&ms, NULL);
	}
	exit->reason = VMM_EXIT_INTERNAL_ERROR;
	snprintf(exit->internal.message, sizeof(exit->internal.message),
		 "fake: never kicked");
	return 0;
}

static const vmm__backend_ops fake_ops = {
	.version = VMM__BACKEND_OPS_VERSION,
	.name = "fake",
	.vm_create = fake_vm_create,
	.vm_destroy = fake_vm_destroy,
	.mem_map = fake_mem_map,
	.mem_unmap = fake_mem_unmap,
	.mem_written = fake_mem_written,
	.vcpu_create = fake_vcpu_create,
	.vcpu_destroy = fake_vcpu_destroy,
	.get_regs = fake_get_regs,
	.set_regs = fake_set_regs,
	.get_sregs = fake_get_sregs,
	.set_sregs = fake_set_sregs,
	.run = fake_run,
	.kick = fake_kick,
};

/* A VM on the fake backend with mem_size bytes of RAM and vcpus vCPUs (not
 * created). */
FAKE_FN vmm_vm *fake_vm(uint64_t mem_size, uint32_t vcpus, uint32_t flags)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	vmm_vm *vm = NULL;

	cfg.mem_size = mem_size;
	cfg.vcpus = vcpus;
	cfg.flags = flags;
	if (vmm__vm_create_with_ops(&cfg, &fake_ops, &vm) != 0)
		return NULL;
	return vm;
}

#endif /* FAKE_BACKEND_H */
