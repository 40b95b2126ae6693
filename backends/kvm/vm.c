/* vm.c - kvm VMs and their memory slots.
 *
 * Without VMM_VM_IRQCHIP no in-kernel irqchip is created, so every port
 * access (0x20/0xa0 PIC, 0x40 PIT, ...) reaches user space and the library's
 * bus; with it, irqchip.c creates them and they stay in the kernel. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "backends/kvm/kvm_priv.h"

static const char *flavour_hardware(enum kvm__flavour f)
{
	switch (f) {
	case KVM__FLAVOUR_INTEL: return "VT-x";
	case KVM__FLAVOUR_AMD: return "SVM";
	case KVM__FLAVOUR_PVM: return "PVM";
	default: return "unknown vendor module";
	}
}

static int check_require(const vmm_vm *vm, const kvm__host *h)
{
	static const struct { const char *name; enum kvm__flavour flavour; } map[] = {
		{ "vtx", KVM__FLAVOUR_INTEL },
		{ "svm", KVM__FLAVOUR_AMD },
		{ "pvm", KVM__FLAVOUR_PVM },
	};
	const char *require = vm->config.require;

	if (!require || !require[0])
		return 0;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcmp(require, map[i].name) != 0)
			continue;
		if (map[i].flavour == h->flavour)
			return 0;
		return vmm__err(VMM_EBACKEND, "kvm: VM requires %s but this host's KVM is "
				"%s (%s)", require, h->flavour_name,
				flavour_hardware(h->flavour));
	}
	return vmm__err(VMM_EINVAL, "kvm: unknown require '%.32s' (expected vtx, svm "
			"or pvm)", require);
}

static int create_vm_fd(void)
{
	int sys = kvm__open_device(), fd, err;

	if (sys < 0)
		return vmm__err(VMM_EBACKEND, "kvm: %s: %s", kvm__device_path(),
				strerror(errno));
	fd = ioctl(sys, KVM_CREATE_VM, 0);
	err = errno;
	close(sys);
	if (fd < 0)
		return vmm__err(err == ENOMEM || err == EMFILE || err == ENFILE ?
				VMM_ENOMEM : VMM_EBACKEND,
				"kvm: KVM_CREATE_VM: %s", strerror(err));
	return fd;
}

/* The TSS and identity-map pages matter only on VT-x; set them wherever KVM
 * offers them so that every flavour reserves the same guest addresses. */
static int set_vmx_areas(int fd, const kvm__host *h)
{
	uint64_t identity = KVM__IDENTITY_MAP_ADDR;

	if (h->has_identity_map && ioctl(fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0)
		return vmm__err(VMM_EINTERNAL, "kvm: KVM_SET_IDENTITY_MAP_ADDR 0x%llx: %s",
				(unsigned long long)identity, strerror(errno));
	if (h->has_tss_addr && ioctl(fd, KVM_SET_TSS_ADDR, (unsigned long)KVM__TSS_ADDR) < 0)
		return vmm__err(VMM_EINTERNAL, "kvm: KVM_SET_TSS_ADDR 0x%llx: %s",
				KVM__TSS_ADDR, strerror(errno));
	return 0;
}

static int vm_setup(vmm_vm *vm, const kvm__host *h, kvm__vm *kvm)
{
	int rc = check_require(vm, h);

	if (rc)
		return rc;
	if (vm->config.vcpus > (uint32_t)h->max_vcpus)
		return vmm__err(VMM_ENOMEM, "kvm: %u vCPUs requested, this host's KVM "
				"allows %d", vm->config.vcpus, h->max_vcpus);
	kvm->fd = create_vm_fd();
	if (kvm->fd < 0)
		return kvm->fd;
	return set_vmx_areas(kvm->fd, h);
}

int kvm__vm_create(vmm_vm *vm)
{
	const kvm__host *h = kvm__host_get();
	kvm__vm *kvm;
	int rc;

	if (!h->usable)
		return vmm__err(VMM_EBACKEND, "%s", h->reason);
	kvm = calloc(1, sizeof(*kvm));
	if (!kvm)
		return vmm__err(VMM_ENOMEM, "kvm: out of memory for the VM");
	kvm->fd = -1;
	rc = kvm__signal_acquire();
	if (rc) {
		free(kvm);
		return rc;
	}
	pthread_mutex_init(&kvm->lock, NULL);
	pthread_cond_init(&kvm->gate_cv, NULL);
	rc = vm_setup(vm, h, kvm);
	if (rc) {
		if (kvm->fd >= 0)
			close(kvm->fd);
		pthread_cond_destroy(&kvm->gate_cv);
		pthread_mutex_destroy(&kvm->lock);
		free(kvm);
		kvm__signal_release();
		return rc;
	}
	vm->backend_priv = kvm;
	snprintf(vm->flavour, sizeof(vm->flavour), "%s", h->flavour_name);
	return 0;
}

void kvm__vm_destroy(vmm_vm *vm)
{
	kvm__vm *kvm = kvm__vm_of(vm);

	if (!kvm)
		return;
	close(kvm->fd);  /* queued memslot removals die with the VM */
	kvm__pages_destroy(kvm);
	pthread_cond_destroy(&kvm->gate_cv);
	pthread_mutex_destroy(&kvm->lock);
	free(kvm);
	vm->backend_priv = NULL;
	kvm__signal_release();
}

/* ---- Memory slots ----------------------------------------------------------- */

static struct kvm_userspace_memory_region region_of(const vmm__memslot *slot)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot->id,
		.flags = (slot->flags & VMM_MEM_WRITE) ? 0 : KVM_MEM_READONLY,
		.guest_phys_addr = slot->gpa,
		.memory_size = slot->size,
		.userspace_addr = (uint64_t)(uintptr_t)slot->hva,
	};

	return r;
}

static int removal_failed(const struct kvm_userspace_memory_region *r)
{
	return vmm__err(VMM_EINTERNAL, "kvm: KVM_SET_USER_MEMORY_REGION removing slot %u "
			"at 0x%llx: %s", r->slot, (unsigned long long)r->guest_phys_addr,
			strerror(errno));
}

int kvm__vm_flush_removed_slow(kvm__vm *kvm)
{
	int rc = 0;

	pthread_mutex_lock(&kvm->lock);
	for (unsigned i = 0; i < atomic_load(&kvm->nremoved); i++)
		if (ioctl(kvm->fd, KVM_SET_USER_MEMORY_REGION, &kvm->removed[i]) < 0 && !rc)
			rc = removal_failed(&kvm->removed[i]);
	atomic_store(&kvm->nremoved, 0);
	pthread_mutex_unlock(&kvm->lock);
	return rc;
}

/* KVM cannot make memory unreadable or non-executable: only VMM_MEM_WRITE is
 * enforced (guest writes to a slot without it exit as MMIO). */
int kvm__mem_map(vmm_vm *vm, const vmm__memslot *slot)
{
	const kvm__host *h = kvm__host_get();
	struct kvm_userspace_memory_region r = region_of(slot);
	kvm__vm *kvm = kvm__vm_of(vm);
	int err, rc = kvm__vm_flush_removed(kvm);

	if (rc)
		return rc;
	if (slot->id >= (uint32_t)h->nr_memslots || slot->id > UINT16_MAX)
		return vmm__err(VMM_ENOMEM, "kvm: memory slot number %u is beyond the %d "
				"slots this host's KVM has", slot->id, h->nr_memslots);
	if (kvm__pages_map(vm, slot, &rc))
		return rc;   /* PAGE hooks cover part of it: mapped in pieces */
	if (ioctl(kvm->fd, KVM_SET_USER_MEMORY_REGION, &r) == 0)
		return 0;
	err = errno;
	return vmm__err(err == EEXIST ? VMM_EEXIST : err == ENOMEM ? VMM_ENOMEM :
			err == EINVAL ? VMM_ERANGE : VMM_EINTERNAL,
			"kvm: KVM_SET_USER_MEMORY_REGION slot %u [0x%llx, +0x%llx)%s: %s",
			slot->id, (unsigned long long)slot->gpa,
			(unsigned long long)slot->size,
			(slot->flags & VMM_MEM_WRITE) ? "" : " read-only", strerror(err));
}

void kvm__mem_unmap(vmm_vm *vm, const vmm__memslot *slot)
{
	kvm__vm *kvm = kvm__vm_of(vm);
	unsigned n;

	if (kvm__pages_unmap(vm, slot))
		return;   /* it was mapped in pieces, which are gone now */
	pthread_mutex_lock(&kvm->lock);
	n = atomic_load(&kvm->nremoved);
	kvm->removed[n] = region_of(slot);
	kvm->removed[n].memory_size = 0;
	atomic_store_explicit(&kvm->nremoved, n + 1, memory_order_release);
	pthread_mutex_unlock(&kvm->lock);
	/* The queue holds at most every slot; flush before it could overflow. */
	if (n + 1 == VMM__MAX_MEMSLOTS)
		(void)kvm__vm_flush_removed(kvm);
}
