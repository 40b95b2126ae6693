/* acpi_sleep.c - ACPI S3 (suspend to RAM) in the core. Entering: a write of
 * SLP_EN with SLP_TYP = S3 to PM1a_CNT (acpi_pm.c) marks the VM asleep and
 * kicks every vCPU out of the backend; each then waits in
 * vmm__acpi_sleep_point (called by vmm_vcpu_run) instead of running. RAM
 * and the devices (timers included) go on as on a board in S3; only the
 * CPUs lose their state. Waking: the RTC alarm (AF with AIE) while PM1_EN
 * has RTC_EN sets RTC_STS and WAK_STS and releases the vCPUs; each takes
 * its power-on state on its own thread: vCPU 0 in real mode at the FACS
 * firmware waking vector (ACPI 6.3, 5.2.10: CS = vector >> 4, IP = vector
 * & 0xf), the others in wait-for-SIPI, as a firmware's resume path leaves
 * them. Lock order: rtc -> acpi_pm -> a vCPU's wait_lock. */
#include <string.h>

#include "lib/platform/acpi.h"
#include "lib/platform/platform.h"

static vmm__acpi_pm *pm_of(vmm_vm *vm)
{
	return vm->platform ? vm->platform->acpi_pm : NULL;
}

bool vmm__acpi_sleep_begin(vmm__acpi_pm *pm, vmm_vm *vm)
{
	if (!pm->facs || !vm->ops->vcpu_power_on || atomic_load(&pm->asleep))
		return false;            /* no tables or no backend support: S3 is refused */
	for (uint32_t i = 0; i < VMM_MAX_VCPUS; i++)
		pm->resume[i] = vm->vcpus[i] != NULL;
	atomic_store(&pm->asleep, true);
	atomic_store(&pm->pending, 1);
	return true;
}

void vmm__acpi_sleep_kick(vmm_vm *vm, vmm_vcpu *self)
{
	for (uint32_t i = 0; i < VMM_MAX_VCPUS; i++)
		if (vm->vcpus[i] && vm->vcpus[i] != self)
			vmm_vcpu_kick(vm->vcpus[i]);
}

static void wake_all(vmm_vm *vm)
{
	for (uint32_t i = 0; i < VMM_MAX_VCPUS; i++) {
		vmm_vcpu *v = vm->vcpus[i];

		if (!v)
			continue;
		pthread_mutex_lock(&v->wait_lock);
		pthread_cond_broadcast(&v->wait_cond);
		pthread_mutex_unlock(&v->wait_lock);
	}
}

void vmm__acpi_rtc_alarm(vmm_vm *vm)
{
	vmm__acpi_pm *pm = pm_of(vm);
	bool wake = false;

	if (!pm)
		return;
	pthread_mutex_lock(&pm->lock);
	pm->sts |= VMM__ACPI_PM1_RTC;
	if (atomic_load(&pm->asleep) && (pm->en & VMM__ACPI_PM1_RTC)) {
		pm->sts |= VMM__ACPI_PM1_WAK_STS;
		atomic_store(&pm->asleep, false);
		wake = true;
	}
	pthread_mutex_unlock(&pm->lock);
	if (wake)
		wake_all(vm);
}

/* The register state a vCPU powers on with after S3; vCPU 0 at the
 * waking vector, a guest-written 32-bit value (below 1 MiB per the spec;
 * above it, CS.base still is vector & ~0xf and the selector its low 16 bits
 * of vector >> 4). */
static void power_on_state(vmm_vcpu *vcpu, uint32_t vector, vmm_regs *regs,
			   vmm_sregs *sregs)
{
	vmm__x86_reset_state(regs, sregs);
	if (vcpu->index != 0) {
		sregs->apic_base &= ~(1ull << 8);     /* not the BSP */
		return;
	}
	sregs->cs.selector = (uint16_t)(vector >> 4);
	sregs->cs.base = vector & ~0xfu;
	regs->rip = vector & 0xfu;
}

static int power_on(vmm_vcpu *vcpu, uint64_t facs)
{
	vmm_vm *vm = vcpu->vm;
	uint32_t vector = 0;
	vmm_regs regs;
	vmm_sregs sregs;

	if (vcpu->index == 0 &&
	    vmm_mem_read(vm, facs + VMM__ACPI_FACS_WAKING_VECTOR, &vector, 4) != 0)
		vector = 0;                   /* the FACS is not readable RAM: 0 */
	power_on_state(vcpu, vector, &regs, &sregs);
	vmm__lapic_power_on(vcpu);
	vcpu->runnable = vcpu->index == 0;
	return vm->ops->vcpu_power_on(vcpu, &regs, &sregs);
}

/* The previous exit still has to be completed by the backend (an IN, an
 * MMIO read, a hypercall): let it run once; it returns CANCELLED at once,
 * since the sleep kicked it. */
static bool exit_pending(const vmm_vcpu *vcpu)
{
	uint32_t r = vcpu->exit.reason;

	return r == VMM_EXIT_IO || r == VMM_EXIT_MMIO || r == VMM_EXIT_HYPERCALL;
}

int vmm__acpi_sleep_point(vmm_vcpu *vcpu)
{
	vmm__acpi_pm *pm = pm_of(vcpu->vm);
	bool resume, left = false;
	uint64_t facs;

	if (!pm || !atomic_load_explicit(&pm->pending, memory_order_acquire) ||
	    exit_pending(vcpu))
		return 0;
	pthread_mutex_lock(&vcpu->wait_lock);
	while (atomic_load(&pm->asleep) && !atomic_load(&vcpu->kicked))
		pthread_cond_wait(&vcpu->wait_cond, &vcpu->wait_lock);
	pthread_mutex_unlock(&vcpu->wait_lock);
	if (atomic_load(&pm->asleep)) {
		vcpu->exit.reason = VMM_EXIT_CANCELLED;   /* kicked: the caller's turn */
		return 1;
	}
	pthread_mutex_lock(&pm->lock);
	resume = pm->resume[vcpu->index];
	pm->resume[vcpu->index] = false;
	facs = pm->facs;
	for (uint32_t i = 0; i < VMM_MAX_VCPUS && !left; i++)
		left = pm->resume[i];
	if (!left && !atomic_load(&pm->asleep))
		atomic_store(&pm->pending, 0);
	pthread_mutex_unlock(&pm->lock);
	return resume ? power_on(vcpu, facs) : 0;
}
