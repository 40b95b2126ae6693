/* platform.c - creates and destroys the PC platform of a VM with
 * VMM_VM_IRQCHIP: the timer service, then each device from the table below
 * (the core's interrupt controllers only where the backend has none). Also
 * the vCPU wait/wake primitive that HLT and wait-for-SIPI use. */
#include <stdlib.h>
#include <time.h>

#include "lib/platform/acpi.h"
#include "lib/platform/chips.h"
#include "lib/platform/pci.h"
#include "lib/virtio/virtio_pci.h"
#include "lib/platform/platform.h"

typedef struct platform_device {
	const char *name;
	int (*init)(vmm_vm *vm);
	void (*fini)(vmm_vm *vm);
	bool core_chip;              /* only without VMM__CAP_IRQCHIP */
} platform_device;

static int virtio_init(vmm_vm *vm)
{
	return 0;                    /* devices come with vmm_virtio_add */
}

/* In creation order; destroyed in reverse. */
static const platform_device devices[] = {
	{ "lapic", vmm__lapic_device_init, vmm__lapic_device_fini, true },
	{ "ioapic", vmm__ioapic_init, vmm__ioapic_fini, true },
	{ "pic", vmm__pic_init, vmm__pic_fini, true },
	{ "pit", vmm__pit_init, vmm__pit_fini, true },
	{ "rtc", vmm__rtc_init, vmm__rtc_fini, false },
	{ "pmtimer", vmm__pmtimer_init, vmm__pmtimer_fini, false },
	{ "acpi-pm", vmm__acpi_pm_init, vmm__acpi_pm_fini, false },
	{ "pci", vmm__pci_init, vmm__pci_fini, false },
	{ "virtio", virtio_init, vmm__virtio_destroy_all, false },
	{ NULL, NULL, NULL, false },
};
static const size_t NDEVICES = sizeof(devices) / sizeof(devices[0]) - 1;

static bool wanted(const vmm_vm *vm, const platform_device *d)
{
	return !d->core_chip || !(vm->caps & VMM__CAP_IRQCHIP);
}

void vmm__platform_fini(vmm_vm *vm)
{
	struct vmm__platform *p = vm->platform;

	if (!p)
		return;
	/* Devices first (they cancel their timers), then the service. */
	for (size_t i = NDEVICES; i-- > 0;)
		if (wanted(vm, &devices[i]) && devices[i].fini)
			devices[i].fini(vm);
	vmm__timer_svc_stop(&p->timers);
	free(p);
	vm->platform = NULL;
}

int vmm__platform_init(vmm_vm *vm)
{
	int rc;

	vm->platform = calloc(1, sizeof(*vm->platform));
	if (!vm->platform)
		return vmm__err(VMM_ENOMEM, "platform: out of memory");
	rc = vmm__timer_svc_start(&vm->platform->timers);
	if (rc) {
		free(vm->platform);
		vm->platform = NULL;
		return rc;
	}
	if ((vm->caps & VMM__CAP_IRQCHIP) && vm->ops->irqchip_create) {
		rc = vm->ops->irqchip_create(vm);
		if (rc)
			goto fail;
	}
	for (size_t i = 0; devices[i].name; i++) {
		if (!wanted(vm, &devices[i]))
			continue;
		rc = devices[i].init(vm);
		if (rc)
			goto fail;
	}
	return 0;
fail:
	vmm__platform_fini(vm);   /* fini functions tolerate a device never made */
	return rc;
}

/* The core's local APIC per vCPU, where the backend has no irqchip. */
int vmm__platform_vcpu_init(vmm_vcpu *vcpu)
{
	if (vcpu->vm->caps & VMM__CAP_IRQCHIP)
		return 0;
	return vmm__lapic_create(vcpu);
}

void vmm__platform_vcpu_fini(vmm_vcpu *vcpu)
{
	vmm__lapic_destroy(vcpu);
}

/* ---- Waiting for an interrupt ---------------------------------------------- */

static bool wake_reason(vmm_vcpu *vcpu)
{
	return atomic_load_explicit(&vcpu->intr_attention, memory_order_acquire) ||
	       atomic_load(&vcpu->kicked);
}

void vmm__vcpu_wait(vmm_vcpu *vcpu, uint64_t deadline_ns)
{
	pthread_mutex_lock(&vcpu->wait_lock);
	while (!wake_reason(vcpu)) {
		if (deadline_ns) {
			struct timespec ts = vmm__ns_to_timespec(deadline_ns);

			if (pthread_cond_timedwait(&vcpu->wait_cond, &vcpu->wait_lock, &ts))
				break;
		} else {
			pthread_cond_wait(&vcpu->wait_cond, &vcpu->wait_lock);
		}
	}
	pthread_mutex_unlock(&vcpu->wait_lock);
}

void vmm__vcpu_wake(vmm_vcpu *vcpu)
{
	atomic_store_explicit(&vcpu->intr_attention, 1, memory_order_release);
	pthread_mutex_lock(&vcpu->wait_lock);
	pthread_cond_broadcast(&vcpu->wait_cond);
	pthread_mutex_unlock(&vcpu->wait_lock);
}
