/* acpi.h - ACPI tables that describe a VM's platform to its guest, and the
 * AML writer the DSDT is built with. Nothing here is public API. */
#ifndef VMM_ACPI_H
#define VMM_ACPI_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/internal.h"

/* Fixed-hardware ports (FADT): PM1a event (status, enable), PM1a control,
 * the PM timer (lib/platform/pmtimer.c) and the reset register. */
#define VMM__ACPI_PM_BASE      0x600u
#define VMM__ACPI_PM1_EVT      (VMM__ACPI_PM_BASE + 0)   /* 4 bytes */
#define VMM__ACPI_PM1_CNT      (VMM__ACPI_PM_BASE + 4)   /* 2 bytes */
#define VMM__ACPI_PM_TMR       (VMM__ACPI_PM_BASE + 8)   /* 4 bytes, 24-bit */
#define VMM__ACPI_RESET_PORT   0xcf9u
#define VMM__ACPI_RESET_VALUE  0x06u
#define VMM__ACPI_SCI_IRQ      9u
#define VMM__ACPI_SLP_TYP_S5   5u                        /* \_S5 value */
#define VMM__ACPI_SLP_TYP_S3   1u                        /* \_S3 value, as QEMU's */
/* PM1 status/enable bits (ACPI 6.3, 4.8.3.1) and the FACS waking vector. */
#define VMM__ACPI_PM1_RTC      0x0400u                   /* RTC_STS / RTC_EN */
#define VMM__ACPI_PM1_WAK_STS  0x8000u
#define VMM__ACPI_FACS_WAKING_VECTOR 12u                 /* offset, 32 bits */

/* Where the tables go: the reserved BIOS area the e820 map leaves. */
#define VMM__ACPI_BASE         0xe0000ull
#define VMM__ACPI_SIZE         0x20000ull

/* Builds RSDP, XSDT, FADT (with FACS and DSDT) and MADT for the VM's
 * vCPUs into guest memory at VMM__ACPI_BASE; *rsdp is the RSDP's address.
 * Tells the PM1 block where the FACS is (S3 is honoured only then). */
int vmm__acpi_build(vmm_vm *vm, uint64_t *rsdp);
/* PM1 event/control (power-off with SLP_EN + S5, S3 sleep with SLP_EN +
 * S3) and the reset port. */
int vmm__acpi_pm_init(vmm_vm *vm);
void vmm__acpi_pm_fini(vmm_vm *vm);
void vmm__acpi_pm_set_facs(vmm_vm *vm, uint64_t facs);

/* ---- S3 (acpi_sleep.c) ------------------------------------------------------
 * A write of SLP_EN with SLP_TYP = S3 (once the FACS is known) puts the VM
 * to sleep: every vCPU leaves the backend (a kick) and waits in
 * vmm__acpi_sleep_point until a wake event. Waking sets WAK_STS; each vCPU
 * then takes its power-on state: vCPU 0 in real mode at the FACS waking
 * vector (CS = vector >> 4, IP = vector & 0xf), the others in wait-for-SIPI.
 * RAM and the devices keep their state. */
typedef struct vmm__acpi_pm {
	pthread_mutex_t lock;
	uint16_t sts, en, cnt;
	uint64_t facs;                  /* 0: no tables, so no S3 */
	atomic_bool asleep;             /* written under lock */
	atomic_int pending;             /* asleep, or some resume[] still set */
	bool resume[VMM_MAX_VCPUS];     /* power-on state still to be taken */
} vmm__acpi_pm;
/* pm->lock held by the caller: starts the sleep (false: S3 refused, no
 * FACS or no backend support); the caller then kicks the other vCPUs,
 * without the lock, and stops its own with a CANCELLED exit. */
bool vmm__acpi_sleep_begin(vmm__acpi_pm *pm, vmm_vm *vm);
void vmm__acpi_sleep_kick(vmm_vm *vm, vmm_vcpu *self);
/* vmm_vcpu_run calls it before entering the backend: 0 to run on (after a
 * wake, with the vCPU's power-on state applied), 1 with exit CANCELLED
 * when kicked while the VM sleeps, or a negative VMM_E* code. */
int vmm__acpi_sleep_point(vmm_vcpu *vcpu);
/* The RTC's alarm interrupt fired (AF with AIE; rtc.c, any thread): RTC_STS,
 * and a wake when the VM sleeps and PM1_EN.RTC_EN is set. */
void vmm__acpi_rtc_alarm(vmm_vm *vm);
/* A byte access to the reset register; returns 1 (stop) for a reset. */
int vmm__acpi_reset_io(vmm_vcpu *vcpu, uint8_t is_write, uint32_t *data);

/* ---- AML writer (acpi_aml.c) ------------------------------------------------
 * Appends to a bounded buffer; package lengths are patched when a scope or
 * device closes. Any overflow or misuse sets err and stops writing. */
#define VMM__AML_DEPTH 8
typedef struct vmm__aml {
	uint8_t *buf;
	size_t cap, len;
	size_t open[VMM__AML_DEPTH];   /* offsets where PkgLength goes */
	unsigned depth;
	int err;
} vmm__aml;

void vmm__aml_init(vmm__aml *a, uint8_t *buf, size_t cap);
void vmm__aml_bytes(vmm__aml *a, const void *p, size_t n);
void vmm__aml_name(vmm__aml *a, const char *path);      /* "\\_SB_", "COM1" */
void vmm__aml_integer(vmm__aml *a, uint64_t v);         /* smallest encoding */
void vmm__aml_scope(vmm__aml *a, const char *path);     /* Scope (path) { */
void vmm__aml_device(vmm__aml *a, const char *name);    /* Device (name) { */
void vmm__aml_close(vmm__aml *a);                       /* } */
void vmm__aml_name_int(vmm__aml *a, const char *name, uint64_t v);
void vmm__aml_name_eisaid(vmm__aml *a, const char *name, const char *id);
/* Name (name, ResourceTemplate () { descriptors... }) */
void vmm__aml_name_buffer(vmm__aml *a, const char *name, const uint8_t *p, size_t n);
void vmm__aml_name_package(vmm__aml *a, const char *name, const uint64_t *v, unsigned n);
/* Name (name, ...: the object follows (e.g. vmm__aml_package). */
void vmm__aml_name_open(vmm__aml *a, const char *name);
/* Package (n) { ... }: elements follow; close with vmm__aml_close. */
void vmm__aml_package(vmm__aml *a, unsigned n);
uint32_t vmm__aml_eisaid(const char *id);               /* "PNP0501" */

#endif /* VMM_ACPI_H */
