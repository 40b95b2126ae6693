/* acpi_pm.c - ACPI fixed hardware in the core: the PM1a event block
 * (status, write 1 to clear; enable) and control block at VMM__ACPI_PM_BASE,
 * and the reset register at 0xcf9 (reached through pci.c). SCI_EN reads as 1 (there is no SMM to
 * hand over from). A write of SLP_EN with SLP_TYP = S5 powers the VM off,
 * with S3 puts it to sleep (acpi_sleep.c); a write of 0x06 (or any value
 * with RST_CPU, bit 2) to 0xcf9 resets it. */
#include <stdlib.h>

#include "lib/platform/acpi.h"
#include "lib/platform/platform.h"
#include "lib/platform/state.h"

#define PM1_LEN 6                  /* status 0-1, enable 2-3, control 4-5 */
#define SCI_EN 0x0001u
#define SLP_TYP_SHIFT 10
#define SLP_EN 0x2000u
#define RST_CPU 0x04u

enum { WRITE_DONE, WRITE_S5, WRITE_S3 };

static uint8_t reg_byte(const vmm__acpi_pm *pm, unsigned off)
{
	uint16_t r = off < 2 ? pm->sts : off < 4 ? pm->en : (uint16_t)(pm->cnt | SCI_EN);

	return (uint8_t)(r >> (8 * (off & 1)));
}

/* Applies one written byte; WRITE_S5 / WRITE_S3 when it starts a sleep. */
static int write_byte(vmm__acpi_pm *pm, unsigned off, uint8_t v)
{
	unsigned sh = 8 * (off & 1);
	uint16_t mask = (uint16_t)(0xffu << sh), val = (uint16_t)(v << sh);

	if (off < 2) {
		pm->sts &= (uint16_t)~val;          /* write 1 to clear */
	} else if (off < 4) {
		pm->en = (uint16_t)((pm->en & ~mask) | val);
	} else {
		uint16_t cnt = (uint16_t)((pm->cnt & ~mask) | val);
		unsigned typ = (cnt >> SLP_TYP_SHIFT) & 7;

		pm->cnt = cnt & (uint16_t)~SLP_EN;  /* SLP_EN reads as 0 */
		if ((cnt & SLP_EN) && typ == VMM__ACPI_SLP_TYP_S5)
			return WRITE_S5;
		if ((cnt & SLP_EN) && typ == VMM__ACPI_SLP_TYP_S3)
			return WRITE_S3;
	}
	return WRITE_DONE;
}

static int system_event(vmm_vcpu *vcpu, uint32_t type)
{
	vcpu->exit.reason = VMM_EXIT_SYSTEM_EVENT;
	vcpu->exit.system_event.type = type;
	vcpu->exit.system_event.data = 0;
	return 1;                           /* VMM__BUS_STOP-style: built-in device */
}

static int pm1_io(void *opaque, vmm_vcpu *vcpu, uint16_t port, uint8_t size,
		  uint8_t is_write, uint32_t *data)
{
	vmm__acpi_pm *pm = opaque;
	unsigned off = port - VMM__ACPI_PM1_EVT;
	int off_now = 0, ev;
	bool sleep = false;

	pthread_mutex_lock(&pm->lock);
	if (!is_write)
		*data = 0;
	for (unsigned i = 0; i < size; i++) {
		if (off + i >= PM1_LEN) {
			if (!is_write)
				*data |= 0xffu << (8 * i);    /* past the block floats high */
			continue;
		}
		if (is_write) {
			ev = write_byte(pm, off + i, (uint8_t)(*data >> (8 * i)));
			off_now |= ev == WRITE_S5;
			if (ev == WRITE_S3 && !off_now)
				sleep |= vmm__acpi_sleep_begin(pm, vcpu->vm);
		} else
			*data |= (uint32_t)reg_byte(pm, off + i) << (8 * i);
	}
	pthread_mutex_unlock(&pm->lock);
	if (off_now)
		return system_event(vcpu, VMM_EVENT_POWEROFF);
	if (!sleep)
		return 0;
	/* This vCPU stops at the write, as a CPU does when the chipset
	 * removes its power: the exit says nothing is to be completed. */
	vmm__acpi_sleep_kick(vcpu->vm, vcpu);
	vcpu->exit.reason = VMM_EXIT_CANCELLED;
	return 1;
}

/* 0xcf9 shares 0xcf8-0xcff with PCI configuration: pci.c passes byte
 * accesses to it here. */
int vmm__acpi_reset_io(vmm_vcpu *vcpu, uint8_t is_write, uint32_t *data)
{
	if (!is_write) {
		*data = 0;
		return 0;
	}
	return (*data & RST_CPU) ? system_event(vcpu, VMM_EVENT_RESET) : 0;
}

static void acpi_pm_fini(vmm_vm *vm)
{
	vmm__acpi_pm *pm = vm->platform->acpi_pm;

	if (!pm)
		return;
	pthread_mutex_destroy(&pm->lock);
	free(pm);
	vm->platform->acpi_pm = NULL;
}

int vmm__acpi_pm_init(vmm_vm *vm)
{
	vmm__acpi_pm *pm = calloc(1, sizeof(*pm));
	int rc;

	if (!pm)
		return vmm__err(VMM_ENOMEM, "acpi: out of memory");
	pthread_mutex_init(&pm->lock, NULL);
	vm->platform->acpi_pm = pm;
	rc = vmm__pio_register_internal(vm, VMM__ACPI_PM1_EVT, PM1_LEN, pm1_io, pm);
	if (rc)
		acpi_pm_fini(vm);
	return rc;
}

void vmm__acpi_pm_fini(vmm_vm *vm)
{
	acpi_pm_fini(vm);
}

void vmm__acpi_pm_set_facs(vmm_vm *vm, uint64_t facs)
{
	vmm__acpi_pm *pm = vm->platform ? vm->platform->acpi_pm : NULL;

	if (!pm)
		return;
	pthread_mutex_lock(&pm->lock);
	pm->facs = facs;
	pthread_mutex_unlock(&pm->lock);
}

/* ---- Device state (state.h) ---------------------------------------------------- */

static int acpi_pm_save(void *dev, vmm__sw *w)
{
	vmm__acpi_pm *pm = dev;

	pthread_mutex_lock(&pm->lock);
	vmm__sw_u16(w, pm->sts);
	vmm__sw_u16(w, pm->en);
	vmm__sw_u16(w, pm->cnt);
	pthread_mutex_unlock(&pm->lock);
	return 0;
}

static int acpi_pm_load(void *dev, uint32_t version, vmm__sr *r)
{
	vmm__acpi_pm *pm = dev;
	uint16_t sts = vmm__sr_u16(r, "pm1_sts"), en = vmm__sr_u16(r, "pm1_en");
	uint16_t cnt = vmm__sr_u16(r, "pm1_cnt");

	(void)version;
	vmm__sr_check(r, !(cnt & SLP_EN), "pm1_cnt", "SLP_EN reads as 0");
	if (!vmm__sr_apply(r))
		return 0;
	pthread_mutex_lock(&pm->lock);
	pm->sts = sts;
	pm->en = en;
	pm->cnt = cnt;
	pthread_mutex_unlock(&pm->lock);
	return 0;
}

static const vmm__state_ops acpi_pm_state = { 1, acpi_pm_save, acpi_pm_load };

int vmm__acpi_pm_state_add(vmm_vm *vm, vmm__state_list *l)
{
	vmm__acpi_pm *pm = vm->platform ? vm->platform->acpi_pm : NULL;

	return pm ? vmm__state_add(l, "acpi-pm", &acpi_pm_state, pm) : 0;
}
