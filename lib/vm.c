/* vm.c - VM lifecycle: config validation, backend choice, create and destroy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/cpuid.h"
#include "lib/introspect/ix.h"
#include "lib/platform/platform.h"

#define MIB (1024ull * 1024ull)

/* How far vm_build got, so that a failure unwinds exactly what was done. */
enum { STAGE_ALLOC, STAGE_BACKEND, STAGE_DEVICES, STAGE_ALL };

static uint64_t host_ram_bytes(void)
{
	long pages = sysconf(_SC_PHYS_PAGES);
	long page_size = sysconf(_SC_PAGESIZE);

	if (pages <= 0 || page_size <= 0)
		return UINT64_MAX;  /* unknown: let mmap decide */
	return (uint64_t)pages * (uint64_t)page_size;
}

static int check_require(const char *require)
{
	static const char *const known[] = { "vtx", "svm", "pvm" };

	if (!require)
		return 0;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(require, known[i]) == 0)
			return 0;
	return vmm__err(VMM_EINVAL, "vmm_vm_create: require is '%.32s'; expected NULL, "
			"\"vtx\", \"svm\" or \"pvm\"", require);
}

static int check_memory(uint64_t mem_size)
{
	uint64_t host = host_ram_bytes();

	if (mem_size == 0)
		return vmm__err(VMM_EINVAL, "vmm_vm_create: mem_size is 0; guest RAM must "
				"be > 0 bytes");
	if (mem_size % VMM__PAGE_SIZE)
		return vmm__err(VMM_EINVAL, "vmm_vm_create: mem_size 0x%llx is not a "
				"multiple of 4 KiB", (unsigned long long)mem_size);
	if (mem_size > host)
		return vmm__err(VMM_ENOMEM, "vmm_vm_create: mem_size %llu MiB is more than "
				"the host's physical RAM (%llu MiB)",
				(unsigned long long)((mem_size + MIB - 1) / MIB),
				(unsigned long long)(host / MIB));
	return 0;
}

static int check_config(const vmm_vm_config *cfg)
{
	const uint32_t known_flags = VMM_VM_NO_UART | VMM_VM_NO_DEBUG_EXIT | VMM_VM_IRQCHIP |
				     VMM_VM_FW_CFG;

	if (!cfg)
		return vmm__err(VMM_EINVAL, "vmm_vm_create: config is NULL");
	if (cfg->size < sizeof(vmm_vm_config))
		return vmm__err(VMM_EINVAL, "vmm_vm_create: config->size is %u, too small "
				"(expected %zu; initialise with VMM_VM_CONFIG_INIT)",
				cfg->size, sizeof(vmm_vm_config));
	if (cfg->vcpus < 1 || cfg->vcpus > VMM_MAX_VCPUS)
		return vmm__err(VMM_EINVAL, "vmm_vm_create: vcpus is %u; must be 1..%d",
				cfg->vcpus, VMM_MAX_VCPUS);
	if (cfg->flags & ~known_flags)
		return vmm__err(VMM_EINVAL, "vmm_vm_create: unknown flags 0x%x",
				cfg->flags & ~known_flags);
	if (check_require(cfg->require))
		return VMM_EINVAL;
	return check_memory(cfg->mem_size);
}

static void known_backends(char *buf, size_t len)
{
	const vmm__backend_ops *ops;
	size_t used = 0;

	buf[0] = '\0';
	for (uint32_t i = 0; (ops = vmm__backend_at(i)) != NULL && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
					 ops->name);
}

static void probe(const vmm__backend_ops *ops, vmm_backend_info *info)
{
	vmm_backend_info tmp = VMM_BACKEND_INFO_INIT;

	snprintf(tmp.name, sizeof(tmp.name), "%s", ops->name);
	ops->probe(&tmp);
	*info = tmp;
}

/* "auto": kvm only where hardware runs guest kernel code (VT-x or SVM); on
 * PVM hosts ordinary guest kernels run far faster on emu. A require names a
 * kvm flavour, so it selects kvm. Not static: unit tests call it. */
bool vmm__auto_picks_kvm(const vmm_backend_info *kvm, const char *require)
{
	if (require)
		return true;
	return kvm->usable && (strcmp(kvm->flavour, "kvm_intel") == 0 ||
			       strcmp(kvm->flavour, "kvm_amd") == 0);
}

static int select_auto(const char *require, const vmm__backend_ops **ops,
		       vmm_backend_info *info)
{
	const vmm__backend_ops *kvm = vmm__backend_find("kvm");
	const vmm__backend_ops *emu = vmm__backend_find("emu");
	vmm_backend_info kinfo, einfo;

	if (!kvm || !emu)
		return vmm__err(VMM_EINTERNAL, "backend registry lacks emu or kvm");
	probe(kvm, &kinfo);
	if (vmm__auto_picks_kvm(&kinfo, require)) {
		*ops = kvm;
		*info = kinfo;
		if (!kinfo.usable)
			return vmm__err(VMM_EBACKEND, "backend 'kvm' (needed for require "
					"'%s') is not usable here: %s", require, kinfo.reason);
		return 0;
	}
	probe(emu, &einfo);
	*ops = emu;
	*info = einfo;
	if (!einfo.usable)
		return vmm__err(VMM_EBACKEND, "no usable backend: emu: %s; kvm: %s",
				einfo.reason, kinfo.reason);
	return 0;
}

static int select_backend(const vmm_vm_config *cfg, const vmm__backend_ops **ops,
			  vmm_backend_info *info)
{
	const char *name = cfg->backend;
	char known[64];

	if (!name || strcmp(name, "auto") == 0)
		return select_auto(cfg->require, ops, info);
	*ops = vmm__backend_find(name);
	if (!*ops) {
		known_backends(known, sizeof(known));
		return vmm__err(VMM_ENOENT, "unknown backend '%.32s' (known: %s)", name, known);
	}
	probe(*ops, info);
	if (!info->usable)
		return vmm__err(VMM_EBACKEND, "backend '%s' is not usable here: %s",
				(*ops)->name, info->reason);
	return 0;
}

static void vm_init_fields(vmm_vm *vm, const vmm_vm_config *cfg,
			   const vmm__backend_ops *ops, const char *flavour)
{
	vm->ops = ops;
	memcpy(&vm->config, cfg, sizeof(vm->config));
	vm->config.size = sizeof(vm->config);
	snprintf(vm->backend_name, sizeof(vm->backend_name), "%s", ops->name);
	snprintf(vm->require, sizeof(vm->require), "%s", cfg->require ? cfg->require : "");
	snprintf(vm->flavour, sizeof(vm->flavour), "%s", flavour);
	vm->config.backend = vm->backend_name;
	vm->config.require = cfg->require ? vm->require : NULL;
	pthread_mutex_init(&vm->lock, NULL);
}

static void vm_teardown(vmm_vm *vm, int stage)
{
	for (uint32_t i = 0; i < VMM_MAX_VCPUS; i++)
		vmm_vcpu_destroy(vm->vcpus[i]);
	/* Devices first: their I/O threads still touch guest memory. */
	if (stage >= STAGE_DEVICES) {
		vmm__platform_fini(vm);
		vmm__fw_cfg_fini(vm);
		vmm__uart_fini(vm);
	}
	if (stage >= STAGE_BACKEND) {
		vmm__mem_destroy_all(vm);
		if (vm->ops->vm_destroy)
			vm->ops->vm_destroy(vm);
	}
	vmm__ix_destroy(vm);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

static int add_devices(vmm_vm *vm)
{
	int rc = vmm__uart_init(vm);

	if (rc == 0 && !(vm->config.flags & VMM_VM_NO_DEBUG_EXIT))
		rc = vmm__debug_exit_init(vm);
	if (rc == 0 && (vm->config.flags & VMM_VM_FW_CFG))
		rc = vmm__fw_cfg_init(vm);
	if (rc == 0 && (vm->config.flags & VMM_VM_IRQCHIP))
		rc = vmm__platform_init(vm);
	return rc;
}

/* Guest RAM from 0. The PC platform keeps [3 GiB, 4 GiB) for PCI, ECAM
 * and the interrupt controllers: RAM beyond 3 GiB continues at 4 GiB. */
static int map_ram(vmm_vm *vm)
{
	uint64_t mem = vm->config.mem_size, low = mem;
	int rc;

	if ((vm->config.flags & VMM_VM_IRQCHIP) && mem > VMM__RAM_LOW_MAX)
		low = VMM__RAM_LOW_MAX;
	rc = vmm_mem_map(vm, 0, low, VMM_MEM_RW, NULL);
	if (rc == 0 && low < mem)
		rc = vmm_mem_map(vm, 4ull << 30, mem - low, VMM_MEM_RW, NULL);
	return rc;
}

static int vm_build(const vmm_vm_config *cfg, const vmm__backend_ops *ops,
		    const char *flavour, vmm_vm **out)
{
	vmm_vm *vm = calloc(1, sizeof(*vm));
	int rc, stage = STAGE_ALLOC;

	if (!vm)
		return vmm__err(VMM_ENOMEM, "vmm_vm_create: out of memory for the VM");
	vm_init_fields(vm, cfg, ops, flavour);
	rc = ops->vm_create(vm);
	if (rc != 0) {
		if (rc > 0)
			rc = vmm__err(VMM_EINTERNAL, "backend %s: vm_create returned %d",
				      ops->name, rc);
		goto fail;
	}
	stage = STAGE_BACKEND;
	vm->caps = ops->caps ? ops->caps(vm) : 0;
	rc = map_ram(vm);
	if (rc)
		goto fail;
	stage = STAGE_DEVICES;
	rc = add_devices(vm);
	if (rc)
		goto fail;
	*out = vm;
	return 0;
fail:
	vm_teardown(vm, stage);
	return rc;
}

VMM_API int vmm_vm_create(const vmm_vm_config *config, vmm_vm **out)
{
	const vmm__backend_ops *ops = NULL;
	vmm_backend_info info;
	int rc;

	if (!out)
		return vmm__err(VMM_EINVAL, "vmm_vm_create: out is NULL");
	*out = NULL;
	rc = check_config(config);
	if (rc == 0)
		rc = select_backend(config, &ops, &info);
	if (rc == 0)
		rc = vm_build(config, ops, info.flavour, out);
	return rc;
}

int vmm__vm_create_with_ops(const vmm_vm_config *cfg, const vmm__backend_ops *ops,
			    vmm_vm **out)
{
	int rc;

	if (!out)
		return vmm__err(VMM_EINVAL, "vmm_vm_create: out is NULL");
	*out = NULL;
	if (!ops || ops->version < 1 || ops->version > VMM__BACKEND_OPS_VERSION || !ops->name ||
	    !ops->vm_create)
		return vmm__err(VMM_EINVAL, "vmm_vm_create: backend ops are NULL, of "
				"another version or lack name/vm_create");
	rc = check_config(cfg);
	if (rc == 0)
		rc = vm_build(cfg, ops, "", out);
	return rc;
}

VMM_API void vmm_vm_destroy(vmm_vm *vm)
{
	if (vm)
		vm_teardown(vm, STAGE_ALL);
}

VMM_API const char *vmm_vm_backend(const vmm_vm *vm)
{
	return vm ? vm->backend_name : "";
}

VMM_API const char *vmm_vm_flavour(const vmm_vm *vm)
{
	return vm ? vm->flavour : "";
}

static int any_vcpu(const vmm_vm *vm)
{
	for (uint32_t i = 0; i < VMM_MAX_VCPUS; i++)
		if (vm->vcpus[i])
			return 1;
	return 0;
}

VMM_API int vmm_vm_hide_cpu_features(vmm_vm *vm, const char *names)
{
	char bad[72], known[128];
	uint64_t mask;
	size_t used = 0;
	int rc = 0;

	if (!vm || !names)
		return vmm__err(VMM_EINVAL, "vmm_vm_hide_cpu_features: %s is NULL",
				vm ? "names" : "vm");
	if (vmm__x86_hide_parse(names, &mask, bad, sizeof(bad))) {
		for (unsigned i = 0; i < vmm__x86_hideable_count && used < sizeof(known); i++)
			used += (size_t)snprintf(known + used, sizeof(known) - used, "%s%s",
						 i ? ", " : "", vmm__x86_hideable[i].name);
		return vmm__err(VMM_EINVAL, "vmm_vm_hide_cpu_features: unknown CPU feature "
				"'%s' (features that can be hidden: %s)", bad, known);
	}
	pthread_mutex_lock(&vm->lock);
	if (any_vcpu(vm))
		rc = vmm__err(VMM_EBUSY, "vmm_vm_hide_cpu_features: the VM already has a "
			      "vCPU; hide features before the first vmm_vcpu_create");
	else
		vm->cpu_hidden |= mask;
	pthread_mutex_unlock(&vm->lock);
	return rc;
}
