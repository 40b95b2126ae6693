/* internal.h - libvmm core structures shared by lib/, backends/ and loaders.
 * Nothing here is public API; names start with vmm__. */
#ifndef VMM_INTERNAL_H
#define VMM_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm.h"

#define VMM__PAGE_SIZE 4096ull
#define VMM__MAX_MEMSLOTS 64
#define VMM__MAX_BUS_RANGES 64
/* With VMM_VM_IRQCHIP, RAM past this continues at 4 GiB (lib/platform/pci.h). */
#define VMM__RAM_LOW_MAX 0xc0000000ull

/* ---- Errors (lib/error.c) ------------------------------------------------
 * vmm__err() records a printf-style message in the thread's last-error slot
 * and returns code, so call sites read: return vmm__err(VMM_EINVAL, "...");
 */
int vmm__err(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vmm__clear_error(void);

/* ---- Guest memory (lib/mem.c) -------------------------------------------- */
typedef struct vmm__memslot {
	uint64_t gpa;        /* page aligned */
	uint64_t size;       /* page aligned, > 0 */
	uint8_t *hva;        /* host address of gpa */
	uint32_t flags;      /* VMM_MEM_* */
	uint32_t id;         /* stable slot number, for backends (KVM slot id) */
	bool owned;          /* hva was mmap'ed by the library: munmap on unmap */
	vmm_region *region;  /* non-NULL for vmm_mem_share; holds a reference */
} vmm__memslot;

/* Slot containing gpa, or NULL. Lock-free: slots change only while no vCPU
 * of the VM runs (see the thread-safety rules in vmm.h). */
const vmm__memslot *vmm__mem_find(const vmm_vm *vm, uint64_t gpa);
/* Host pointer for [gpa, gpa+len) if it lies in one slot, else NULL. */
void *vmm__gpa_to_hva(const vmm_vm *vm, uint64_t gpa, uint64_t len);
void vmm__mem_destroy_all(vmm_vm *vm);

struct vmm_region {
	atomic_uint refs;
	int fd;
	uint64_t size;
	uint8_t *host;       /* host mapping of the whole region */
};
void vmm__region_ref(vmm_region *region);

/* ---- Port and MMIO bus (lib/bus.c) --------------------------------------- */
enum {
	VMM__BUS_UNCLAIMED = 0,  /* no device: the backend returns the exit */
	VMM__BUS_DONE = 1,       /* handled; for reads *data is filled */
	VMM__BUS_STOP = 2        /* handled; the device filled vcpu->exit, which
				    the backend must return to the caller */
};
typedef struct vmm__bus_range {
	uint64_t base, len;
	void *fn;            /* vmm_pio_fn or vmm_mmio_fn */
	void *opaque;
	bool internal;       /* a built-in device: may return 1 (VMM__BUS_STOP) */
} vmm__bus_range;
typedef struct vmm__bus {
	vmm__bus_range ranges[VMM__MAX_BUS_RANGES];  /* sorted by base */
	uint32_t count;
} vmm__bus;

/* Dispatch one access. Returns VMM__BUS_* or a negative VMM_E* code (the
 * device failed; the message is in the last-error slot). Backends call these
 * for every port access and every access to guest-physical memory that is
 * not RAM (or is a write to read-only memory), and return an exit to the
 * caller only for VMM__BUS_UNCLAIMED and VMM__BUS_STOP. */
int vmm__bus_pio(vmm_vcpu *vcpu, uint16_t port, uint8_t size, uint8_t is_write,
		 uint32_t *data);
int vmm__bus_mmio(vmm_vcpu *vcpu, uint64_t addr, uint8_t size, uint8_t is_write,
		  uint64_t *data);
/* vmm_pio_register for built-in devices, whose callbacks may return 1 to
 * stop the vCPU with the exit they filled in. Embedders' callbacks may not. */
int vmm__pio_register_internal(vmm_vm *vm, uint16_t base, uint16_t len,
			       vmm_pio_fn fn, void *opaque);
int vmm__mmio_register_internal(vmm_vm *vm, uint64_t base, uint64_t len,
				vmm_mmio_fn fn, void *opaque);
/* The core's local APIC of vcpu claims addr (an xAPIC page relocated
 * through APIC_BASE) and handled the access (lib/platform/lapic.c). */
bool vmm__lapic_mmio_relocated(vmm_vcpu *vcpu, uint64_t addr, uint8_t size,
			       uint8_t is_write, uint64_t *data);

/* ---- Built-in devices (lib/devices/) -------------------------------------- */
#define VMM__UART_RX_SIZE 4096u          /* host input waiting for the guest */
typedef struct vmm__uart {
	pthread_mutex_t lock;
	vmm_vm *vm;
	int fd;
	vmm_output_fn fn;
	void *opaque;
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr, lsr_errors;
	bool thre_pending;               /* THR-empty interrupt not yet taken */
	bool irq_level;                  /* what we last drove on IRQ 4 */
	uint32_t rx_head, rx_count;
	uint8_t rx[VMM__UART_RX_SIZE];
} vmm__uart;
int vmm__uart_init(vmm_vm *vm);         /* registers 0x3f8..0x3ff */
void vmm__uart_fini(vmm_vm *vm);
/* write() all of buf to fd, retrying EINTR, without letting a closed pipe
 * raise SIGPIPE in the process (lib/devices/uart.c). */
void vmm__write_fd(int fd, const char *buf, size_t len);
int vmm__debug_exit_init(vmm_vm *vm);   /* registers 0xf4 */

struct vmm__state_list;
/* ---- Backends (lib/backend.c holds the registry) ------------------------- */
#define VMM__BACKEND_OPS_VERSION 4

/* Backend capabilities (ops->caps). */
enum {
	VMM__CAP_IRQCHIP = 1u << 0   /* PIC, IOAPIC, LAPICs and PIT in the
					backend's kernel; lines go to irq_line */
};

typedef struct vmm__backend_ops {
	uint32_t version;      /* VMM__BACKEND_OPS_VERSION */
	const char *name;      /* "emu", "kvm" */
	/* Fills info->usable, ->flavour, ->reason. Cheap; may be called often. */
	void (*probe)(vmm_backend_info *info);
	/* Sets vm->backend_priv. config->require is checked here. */
	int (*vm_create)(vmm_vm *vm);
	void (*vm_destroy)(vmm_vm *vm);
	/* A slot was added / is about to be removed. */
	int (*mem_map)(vmm_vm *vm, const vmm__memslot *slot);
	void (*mem_unmap)(vmm_vm *vm, const vmm__memslot *slot);
	/* The host wrote guest memory (vmm_mem_write): drop cached code. May be
	 * NULL. */
	void (*mem_written)(vmm_vm *vm, uint64_t gpa, uint64_t len);
	/* Sets vcpu->backend_priv; the vCPU starts in the x86 reset state. */
	int (*vcpu_create)(vmm_vcpu *vcpu);
	void (*vcpu_destroy)(vmm_vcpu *vcpu);
	int (*get_regs)(vmm_vcpu *vcpu, vmm_regs *regs);
	int (*set_regs)(vmm_vcpu *vcpu, const vmm_regs *regs);
	int (*get_sregs)(vmm_vcpu *vcpu, vmm_sregs *sregs);
	int (*set_sregs)(vmm_vcpu *vcpu, const vmm_sregs *sregs);
	/* Runs until an exit for the caller; fills *exit (== &vcpu->exit). First
	 * completes the previous exit if it was an IN or an MMIO read (result in
	 * exit->io.data / exit->mmio.data) or a hypercall (exit->hypercall.ret).
	 * Returns VMM_EXIT_CANCELLED promptly once vcpu->kicked is set (checked
	 * on entry and at least every few milliseconds of guest time). Returns
	 * 0, or a negative code for a host-side failure. */
	int (*run)(vmm_vcpu *vcpu, vmm_exit *exit);
	/* Called from another thread after vcpu->kicked was set. */
	void (*kick)(vmm_vcpu *vcpu);
	/* Writes an MSR (for loaders that need e.g. EFER beyond sregs). May be
	 * NULL. */
	int (*set_msr)(vmm_vcpu *vcpu, uint32_t msr, uint64_t value);
	/* ---- version 2: interrupts (lib/platform/platform.h) ---- */
	/* VMM__CAP_* for this VM. May be NULL (no capabilities). */
	uint32_t (*caps)(vmm_vm *vm);
	/* VMM__CAP_IRQCHIP backends: create the in-kernel controllers and PIT;
	 * called after vm_create, before the first vCPU, when the config has
	 * VMM_VM_IRQCHIP. Then set a line / send an MSI. Any thread. */
	int (*irqchip_create)(vmm_vm *vm);
	int (*irq_line)(vmm_vm *vm, uint32_t gsi, int level);
	int (*msi)(vmm_vm *vm, uint64_t addr, uint32_t data);
	/* vmm/trace.h: sets or clears (fn NULL) the vCPU's trace function while
	 * it does not run. May be NULL (cannot trace). */
	int (*set_trace)(vmm_vcpu *vcpu, vmm_trace_fn fn, void *opaque);
	/* Optional (NULL: VMM_ENOTSUP from lib/platform/eventfd.c). irqfd:
	 * each write to eventfd fd pulses gsi inside the backend (assign 0
	 * removes the binding). ioeventfd: a guest write of len bytes (0: any
	 * length) to port (is_pio) or guest-physical addr, equal to datamatch
	 * when has_datamatch, signals fd without a vCPU exit; the write is
	 * then not seen by the bus. Any thread. */
	int (*irqfd)(vmm_vm *vm, int fd, uint32_t gsi, int assign);
	int (*ioeventfd)(vmm_vm *vm, uint64_t addr, uint32_t len, int is_pio,
			 uint64_t datamatch, int has_datamatch, int fd, int assign);
	/* ---- version 2: introspection (lib/introspect/ix.h) ---- */
	/* Fills caps->events, ->flags, ->hw_slots and ->notes (what is missing
	 * and why). NULL: the backend delivers no events. */
	void (*ix_caps)(vmm_vm *vm, vmm_hook_caps *caps);
	/* The VM's hook set changed (vm->ix; any thread, while vCPUs run or
	 * are paused in a callback): make the vCPUs apply it before their next
	 * instruction. 0 or VMM_E* (vmm_hook_add then undoes the addition). */
	int (*ix_changed)(vmm_vm *vm);
	/* Guest MSRs, FPU/SSE state and the guest's own debug registers (not
	 * the monitor's). Each may be NULL (VMM_ENOTSUP). */
	int (*get_msr)(vmm_vcpu *vcpu, uint32_t msr, uint64_t *value);
	int (*get_fpu)(vmm_vcpu *vcpu, vmm_fpu *fpu);
	int (*set_fpu)(vmm_vcpu *vcpu, const vmm_fpu *fpu);
	int (*get_dregs)(vmm_vcpu *vcpu, vmm_dregs *dregs);
	/* ---- version 3: device state (lib/platform/state.h) ---- */
	/* Adds the devices whose state the backend holds (kvm: the in-kernel
	 * PIC, IOAPIC, PIT and local APICs) to the VM's list. May be NULL. */
	int (*state_add)(vmm_vm *vm, struct vmm__state_list *list);
	/* ---- version 4: power states (lib/platform/acpi.h, S3 resume) ---- */
	/* The vCPU (stopped, on its own thread) powers on with these registers:
	 * what INIT clears besides them goes too (halted, pending events, NMI
	 * blocking, debug registers, cached code); vcpu->runnable false means
	 * wait-for-SIPI. sregs->apic_base is the power-on value; the core's
	 * local APIC, if any, was already reset to it. May be NULL (no S3). */
	int (*vcpu_power_on)(vmm_vcpu *vcpu, const vmm_regs *regs, const vmm_sregs *sregs);
} vmm__backend_ops;

extern const vmm__backend_ops vmm__emu_ops;
extern const vmm__backend_ops vmm__kvm_ops;

/* Registry order is the order vmm_backends() reports. */
const vmm__backend_ops *vmm__backend_at(uint32_t index);
const vmm__backend_ops *vmm__backend_find(const char *name);

/* vmm_vm_create with a given ops table instead of the registry (no probe, no
 * "auto"): lets unit tests drive the core with a scripted fake backend. */
int vmm__vm_create_with_ops(const vmm_vm_config *cfg, const vmm__backend_ops *ops,
			    vmm_vm **out);

/* ---- VM and vCPU ---------------------------------------------------------- */
struct vmm_vm {
	const vmm__backend_ops *ops;
	void *backend_priv;
	vmm_vm_config config;            /* copy; backend/require point below */
	char backend_name[16];
	char require[16];
	char flavour[32];                /* filled by the backend's vm_create */
	pthread_mutex_t lock;            /* guards slots/bus/vcpus changes */
	vmm__memslot slots[VMM__MAX_MEMSLOTS];   /* sorted by gpa */
	uint32_t nslots;
	uint32_t next_slot_id;
	vmm__bus pio, mmio;
	vmm_vcpu *vcpus[VMM_MAX_VCPUS];
	vmm__uart uart;
	uint32_t caps;                   /* ops->caps(vm), read once */
	struct vmm__platform *platform;  /* VMM_VM_IRQCHIP: lib/platform/ */
	struct vmm__fw_cfg *fw_cfg;      /* VMM_VM_FW_CFG: lib/platform/fw_cfg.c */
	_Atomic uint32_t ix_flags;       /* bit (1u << VMM_EV_x): hooks of that
					    type exist (lib/introspect/ix.h) */
	struct vmm__ix *_Atomic ix;      /* hook table, created by the first hook */
	/* vmm_vm_hide_cpu_features: bit i hides vmm__x86_hideable[i]; set
	 * before the first vCPU (under lock), read by vcpu_create. */
	uint64_t cpu_hidden;
};

struct vmm_vcpu {
	vmm_vm *vm;
	uint32_t index;
	void *backend_priv;
	vmm_exit exit;                   /* the last exit, returned by run */
	atomic_int kicked;               /* set by vmm_vcpu_kick */
	atomic_int in_run;               /* 1 while inside backend run */
	pthread_t thread;                /* valid while in_run */
	bool runnable;                   /* false: wait-for-SIPI (Multiboot APs) */
	atomic_int intr_attention;       /* an interrupt may be pending (platform.h) */
	struct vmm__lapic *lapic;        /* the core's local APIC, or NULL */
	pthread_mutex_t wait_lock;       /* vmm__vcpu_wait / vmm__vcpu_wake */
	pthread_cond_t wait_cond;        /* CLOCK_MONOTONIC */
	atomic_int ix_pause;             /* vmm_vcpu_pause asked for a PAUSE event */
};

/* x86 reset-state helpers shared by backends (arch/x86/state.c). */
void vmm__x86_reset_state(vmm_regs *regs, vmm_sregs *sregs);

#endif /* VMM_INTERNAL_H */
