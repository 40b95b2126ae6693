/* platform.h - the PC interrupt and timer platform inside the core: the
 * contract between the devices in lib/platform/, the interrupt router and
 * the backends. Nothing here is public API.
 *
 * Who owns the interrupt controllers is a backend capability, asked once at
 * VM creation (vmm__backend_ops.caps): a backend with VMM__CAP_IRQCHIP keeps
 * PIC, IOAPIC, local APICs and PIT in its kernel (kvm: KVM_CREATE_IRQCHIP,
 * KVM_CREATE_PIT2) and the core only routes lines and MSIs to it. Without it
 * (emu) the core's own models below sit in the same place. Devices never
 * know which: they call vmm__irq_set() / vmm__msi_send() and nothing else.
 *
 * Devices always in the core, whatever the backend: RTC/CMOS, ACPI PM timer,
 * fw_cfg (they have no in-kernel KVM model).
 *
 * Locks: every device has its own mutex. Order, outermost first:
 *   device (pit, rtc, ...) -> pic / ioapic -> lapic -> timer service.
 * A device may call vmm__irq_set() with its own lock held. Timer callbacks
 * run on the timer thread with no platform lock held.
 */
#ifndef VMM_PLATFORM_H
#define VMM_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "lib/internal.h"

#define VMM__NR_GSI 24            /* IOAPIC pins; 0..15 are also PIC inputs */
#define VMM__APIC_DEFAULT_BASE 0xfee00000ull
#define VMM__IOAPIC_BASE 0xfec00000ull

/* ---- Time (lib/platform/timer.c) -----------------------------------------
 * Guest time follows the host: CLOCK_MONOTONIC in nanoseconds. */
uint64_t vmm__now_ns(void);
/* A CLOCK_MONOTONIC deadline for pthread_cond_timedwait, and a condition
 * variable that waits on that clock. */
struct timespec vmm__ns_to_timespec(uint64_t ns);
void vmm__cond_init_monotonic(pthread_cond_t *cond);
/* The host TSC's frequency in Hz (from CPUID 0x15/0x16 or calibrated once
 * against CLOCK_MONOTONIC); emu's guest TSC runs at this rate. */
uint64_t vmm__tsc_hz(void);

/* One-shot timers on the VM's timer thread ("vmm-timer", started with the
 * platform, joined on destroy). fn runs on that thread with no platform lock
 * held, at or after deadline_ns. Rules: arm/cancel may be called from any
 * thread, with device locks held; re-arming from fn is allowed; a callback
 * may still run once after cancel returns (devices check their own state
 * under their lock), but never after vmm__timer_fini returns. */
typedef void (*vmm__timer_fn)(void *opaque, uint64_t now_ns);
typedef struct vmm__timer {
	vmm__timer_fn fn;
	void *opaque;
	uint64_t deadline_ns;        /* valid while armed */
	bool armed;
	struct vmm__timer *next;     /* the service's list */
} vmm__timer;
void vmm__timer_init(vmm__timer *t, vmm__timer_fn fn, void *opaque);
void vmm__timer_arm(vmm_vm *vm, vmm__timer *t, uint64_t deadline_ns);
void vmm__timer_cancel(vmm_vm *vm, vmm__timer *t);
/* Cancels and waits until fn is not running. Not from fn itself. */
void vmm__timer_fini(vmm_vm *vm, vmm__timer *t);

/* ---- Interrupt routing (lib/platform/irq.c) ------------------------------
 * The only calls devices make. Any thread. gsi < VMM__NR_GSI; level 1
 * asserts, 0 deasserts; an edge-triggered device pulses (1 then 0). Routed
 * to the backend's in-kernel chip (ops->irq_line) or to the core's PIC
 * (gsi < 16, except 2) and IOAPIC. The public vmm_irq_line/vmm_msi_send
 * are these with argument checks. */
int vmm__irq_set(vmm_vm *vm, uint32_t gsi, int level);
/* An MSI as a PCI device writes it: addr 0xfeeXXXXX, data (vector, delivery
 * mode, trigger). ops->msi in-kernel, else the core's APIC bus. */
int vmm__msi_send(vmm_vm *vm, uint64_t addr, uint32_t data);

/* ---- Eventfd bindings served by the backend (lib/platform/eventfd.c) ------
 * irqfd: every write to eventfd fd pulses gsi, without a trip through user
 * space. ioeventfd: a guest write to a port or MMIO address (of len bytes,
 * 0 any; equal to datamatch if has_datamatch) signals fd instead of exiting
 * and is not seen by the bus. VMM_ENOTSUP where the backend lacks them (emu):
 * callers then use vmm__irq_set() and a bus device. Any thread. */
int vmm__irqfd_add(vmm_vm *vm, int fd, uint32_t gsi);
int vmm__irqfd_remove(vmm_vm *vm, int fd, uint32_t gsi);
typedef struct vmm__ioeventfd {
	uint64_t addr;
	uint32_t len;
	int is_pio;
	uint64_t datamatch;
	int has_datamatch;
	int fd;
} vmm__ioeventfd;
int vmm__ioeventfd_add(vmm_vm *vm, const vmm__ioeventfd *e);
int vmm__ioeventfd_remove(vmm_vm *vm, const vmm__ioeventfd *e);

/* ---- The core's interrupt controllers (no VMM__CAP_IRQCHIP) --------------- */
/* APIC bus: delivers one interrupt message to the local APICs it names.
 * dest is an APIC ID (physical, 0xff broadcast) or a logical mask.
 * Used by the IOAPIC, MSIs and IPIs. */
enum {
	VMM__DM_FIXED = 0, VMM__DM_LOWEST = 1, VMM__DM_SMI = 2, VMM__DM_NMI = 4,
	VMM__DM_INIT = 5, VMM__DM_SIPI = 6, VMM__DM_EXTINT = 7
};
typedef struct vmm__apic_msg {
	uint32_t dest;
	uint8_t vector;
	uint8_t delivery;            /* VMM__DM_* */
	uint8_t logical;             /* destination mode: 1 logical */
	uint8_t level_trig;          /* 1: level-triggered (IOAPIC remote IRR) */
	uint8_t shorthand;           /* 0 none, 1 self, 2 all, 3 all but self */
	uint8_t source;              /* sending vCPU for shorthands */
} vmm__apic_msg;
void vmm__apic_bus_deliver(vmm_vm *vm, const vmm__apic_msg *msg);
/* KVM_HC_SEND_IPI (nr 10) as KVM answers it: the interrupt of icr (fixed,
 * NMI, ...; physical destination, no shorthand, else -22) to APIC ID
 * min + i for each bit i of low, then of high (IDs from min + 64, or + 32
 * when op64 is 0); returns how many local APICs it reached. */
int64_t vmm__lapic_pv_send_ipi(vmm_vcpu *vcpu, uint64_t low, uint64_t high, uint32_t min,
			       uint64_t icr, int op64);
/* A level-triggered vector was EOIed by a local APIC: clears remote IRR of
 * the IOAPIC pins with that vector (lapic.c calls ioapic.c). */
void vmm__ioapic_eoi(vmm_vm *vm, uint8_t vector);
/* PIC pair: pin input, output line and acknowledge (INTA). */
void vmm__pic_set_irq(vmm_vm *vm, unsigned irq, int level);
bool vmm__pic_has_intr(vmm_vm *vm);
uint8_t vmm__pic_inta(vmm_vm *vm);   /* the vector; spurious 7/15 as 8259A */
/* The PIC's output changed: the LAPIC of vCPU 0 sees it on LINT0 (ExtINT,
 * virtual wire), or the CPU directly when that APIC is disabled. pic.c
 * calls it with the PIC lock released; the receiver reads the new level
 * with vmm__pic_has_intr. */
void vmm__pic_output_changed(vmm_vm *vm);

/* ---- The legacy devices (one file each; init/fini from the device table) - */
int vmm__pic_init(vmm_vm *vm);       /* pic.c: 0x20-0x21, 0xa0-0xa1, 0x4d0-0x4d1 */
void vmm__pic_fini(vmm_vm *vm);
int vmm__pit_init(vmm_vm *vm);       /* pit.c: 0x40-0x43, 0x61; GSI 0 */
void vmm__pit_fini(vmm_vm *vm);
int vmm__rtc_init(vmm_vm *vm);       /* rtc.c: 0x70-0x71; GSI 8 */
void vmm__rtc_fini(vmm_vm *vm);
/* Port 0x70 bit 7 as the guest last wrote it: NMIs are masked. */
bool vmm__rtc_nmi_masked(vmm_vm *vm);
/* ACPI PM timer (pmtimer.c): 24-bit, 3.579545 MHz, at ICH9's PMBASE 0x600 +
 * 8 (the FADT's PM_TMR_BLK; TMR_VAL_EXT = 0). */
#define VMM__PMTIMER_PORT 0x608
#define VMM__PMTIMER_HZ 3579545ull
int vmm__pmtimer_init(vmm_vm *vm);
void vmm__pmtimer_fini(vmm_vm *vm);

/* ---- What a software backend asks at instruction boundaries --------------
 * vcpu->intr_attention is nonzero when something may be pending for the
 * vCPU (set with release order by whoever makes it pending, before the
 * wake-up). The backend reads it at block boundaries, as it reads kicked,
 * and then calls vmm__intr_poll. */
enum {
	VMM__INTR_NONE = 0,
	VMM__INTR_EXT,               /* external interrupt *vector, acked */
	VMM__INTR_NMI,
	VMM__INTR_INIT,              /* reset to wait-for-SIPI */
	VMM__INTR_SIPI,              /* start at *vector << 12 (real mode) */
	VMM__INTR_SMI
};
/* Highest-priority event deliverable now, acknowledged (IRR -> ISR, or PIC
 * INTA). if_on: RFLAGS.IF and no interrupt shadow; nmi_blocked: an NMI
 * handler is running (until IRET). External interrupts need if_on; INIT and
 * NMI do not. Clears intr_attention when nothing else is pending. */
int vmm__intr_poll(vmm_vcpu *vcpu, bool if_on, bool nmi_blocked, uint8_t *vector);
/* Blocks the calling vCPU thread (HLT, wait-for-SIPI) until intr_attention
 * or kicked is set, or until deadline_ns (0: none). Returns at once if
 * either is already set. */
void vmm__vcpu_wait(vmm_vcpu *vcpu, uint64_t deadline_ns);
/* Sets intr_attention and wakes the vCPU from vmm__vcpu_wait (and from the
 * backend's run loop through ops->kick-like means; no exit is produced). */
void vmm__vcpu_wake(vmm_vcpu *vcpu);

/* Local APIC registers for a software backend. MSR 0x1b (APIC_BASE), 0x6e0
 * (TSC_DEADLINE), 0x800-0x8ff (x2APIC). Returns 0, or -1 for #GP. The
 * TSC_DEADLINE value crosses in host TSC units (rdtsc): the backend adds or
 * subtracts its guest TSC offset (0 stays 0, disarmed). */
bool vmm__lapic_msr_is_ours(uint32_t msr);
int vmm__lapic_msr_read(vmm_vcpu *vcpu, uint32_t msr, uint64_t *value);
int vmm__lapic_msr_write(vmm_vcpu *vcpu, uint32_t msr, uint64_t value);
/* CR8 is TPR[7:4]. */
uint8_t vmm__lapic_get_cr8(vmm_vcpu *vcpu);
void vmm__lapic_set_cr8(vmm_vcpu *vcpu, uint8_t cr8);
/* The core's local APIC back to its power-on state (S3 resume, acpi.h);
 * no-op without one. */
void vmm__lapic_power_on(vmm_vcpu *vcpu);

/* ---- The VM's platform state -------------------------------------------- */
typedef struct vmm__timer_svc {
	pthread_mutex_t lock;
	pthread_cond_t cond;         /* head changed, or stop */
	pthread_cond_t idle;         /* a callback returned */
	vmm__timer *head;            /* armed timers by deadline */
	vmm__timer *running;         /* callback in progress, or NULL */
	pthread_t thread;
	bool stop, started;
} vmm__timer_svc;
int vmm__timer_svc_start(vmm__timer_svc *svc);
void vmm__timer_svc_stop(vmm__timer_svc *svc);

/* Each device's state is its own file's; NULL when absent (in the kernel,
 * or not configured). */
struct vmm__platform {
	vmm__timer_svc timers;
	struct vmm__pic *pic;
	struct vmm__ioapic *ioapic;
	struct vmm__pit *pit;
	struct vmm__rtc *rtc;
	struct vmm__pmtimer *pmtimer;
	struct vmm__acpi_pm *acpi_pm;
	struct vmm__pci *pci;
	struct vmm_virtio_dev *virtio;  /* list of virtio devices */
	_Atomic bool state_frozen;      /* devices frozen by a state save (state.h) */
};

/* ---- Lifecycle (lib/platform/platform.c) --------------------------------
 * Called by vm.c when the VM config has VMM_VM_IRQCHIP: creates the timer
 * service and the devices (core models only where the backend lacks
 * VMM__CAP_IRQCHIP). vcpu_init/fini per vCPU (its local APIC). */
int vmm__platform_init(vmm_vm *vm);
void vmm__platform_fini(vmm_vm *vm);
int vmm__platform_vcpu_init(vmm_vcpu *vcpu);
void vmm__platform_vcpu_fini(vmm_vcpu *vcpu);

/* ---- fw_cfg (lib/platform/fw_cfg.c) ---------------------------------------
 * Called by vm.c when the VM config has VMM_VM_FW_CFG, with or without
 * VMM_VM_IRQCHIP (so it hangs off vm->fw_cfg, not vm->platform): registers
 * ports 0x510-0x511. fini is a no-op without it. */
int vmm__fw_cfg_init(vmm_vm *vm);
void vmm__fw_cfg_fini(vmm_vm *vm);

#endif /* VMM_PLATFORM_H */
