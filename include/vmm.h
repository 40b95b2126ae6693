/* vmm.h - libvmm public API: run virtual machines inside your own process.
 *
 * Conventions (stated once, hold everywhere):
 *  - Every function returning int returns 0 on success or a negative VMM_E*
 *    code. vmm_strerror() names a code; vmm_last_error() returns a message
 *    for the calling thread saying exactly what failed.
 *  - Handles are opaque. vmm_*_destroy(NULL) is a no-op.
 *  - Config structs start with a `size` field; initialise them with their
 *    *_INIT macro so that new fields can be added at the end.
 *  - The library never exits the process, never prints unless given a file
 *    descriptor or callback, and starts no thread except in vmm_vm_run()
 *    and for a service the embedder enables (vmm_gdb_start, vmm/gdb.h).
 *
 * Thread safety:
 *  - Different VMs are fully independent and may be used from any threads.
 *  - A vCPU is driven by one thread at a time (vmm_vcpu_run, register
 *    get/set). vmm_vcpu_kick() may be called from any thread at any time.
 *  - vmm_mem_read/write/host_ptr may be called from any thread while vCPUs
 *    run. Mapping, unmapping and device registration must not race with
 *    running vCPUs of the same VM (do them before running, or while stopped).
 *  - Device callbacks run on the thread of the vCPU that made the access.
 *  - While a kvm VM exists, libvmm owns the signal SIGRTMIN+6: it installs a
 *    no-op handler with the first kvm VM and restores the previous action
 *    with the last; vmm_vcpu_kick() sends it to the thread in vmm_vcpu_run.
 *    Do not block it in threads that run kvm vCPUs.
 */
#ifndef VMM_H
#define VMM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(VMM_BUILDING_LIBRARY) && defined(__GNUC__)
#define VMM_API __attribute__((visibility("default")))
#else
#define VMM_API
#endif

#define VMM_VERSION_MAJOR 1
#define VMM_VERSION_MINOR 0
#define VMM_VERSION_PATCH 0

/* Error codes. Values are fixed forever. */
enum {
	VMM_OK = 0,
	VMM_EINVAL = -1,     /* invalid argument */
	VMM_ENOMEM = -2,     /* out of host memory, or more than the host allows */
	VMM_ENOTSUP = -3,    /* not supported by this backend or build */
	VMM_ERANGE = -4,     /* address or size outside guest memory */
	VMM_EEXIST = -5,     /* overlaps something already there */
	VMM_ENOENT = -6,     /* no such thing (file, backend, index, mapping) */
	VMM_EBADIMAGE = -7,  /* guest image is malformed or does not fit */
	VMM_EBACKEND = -8,   /* backend unusable here (see vmm_backends) */
	VMM_EIO = -9,        /* host I/O error */
	VMM_ESTATE = -10,    /* call not valid in the object's current state */
	VMM_ETIMEDOUT = -11, /* timed out */
	VMM_EINTERNAL = -12, /* bug or unexpected host failure */
	VMM_EBUSY = -13      /* resource in use */
};

VMM_API const char *vmm_version(void);          /* "1.0.0" */
VMM_API const char *vmm_strerror(int err);      /* "VMM_ERANGE: ..." */
VMM_API const char *vmm_last_error(void);       /* this thread's last message */

typedef struct vmm_vm vmm_vm;
typedef struct vmm_vcpu vmm_vcpu;
typedef struct vmm_region vmm_region;

/* ---- Backends ---------------------------------------------------------- */

typedef struct vmm_backend_info {
	uint32_t size;       /* sizeof(vmm_backend_info), set by the caller */
	uint32_t usable;     /* 1 if a VM can be created on it here */
	char name[16];       /* "emu", "kvm" */
	char flavour[32];    /* e.g. "kvm_intel", "kvm_amd", "kvm_pvm", "x86-64" */
	char reason[256];    /* why not usable, or notes when usable */
} vmm_backend_info;
#define VMM_BACKEND_INFO_INIT { sizeof(vmm_backend_info), 0, "", "", "" }

/* Fills info for backend number index (0, 1, ...); VMM_ENOENT past the end. */
VMM_API int vmm_backends(uint32_t index, vmm_backend_info *info);

/* ---- VMs --------------------------------------------------------------- */

enum {
	VMM_VM_NO_UART = 1u << 0,       /* no built-in 16550 at 0x3f8 */
	VMM_VM_NO_DEBUG_EXIT = 1u << 1, /* no built-in exit device at 0xf4 */
	VMM_VM_IRQCHIP = 1u << 2,       /* PC interrupt controllers and timers
					   (see vmm/irq.h) */
	VMM_VM_FW_CFG = 1u << 3         /* QEMU-compatible fw_cfg at 0x510 */
};

typedef struct vmm_vm_config {
	uint32_t size;        /* sizeof(vmm_vm_config) */
	uint32_t vcpus;       /* number of vCPUs, 1..VMM_MAX_VCPUS */
	uint64_t mem_size;    /* guest RAM at guest-physical 0, bytes, > 0;
				 with VMM_VM_IRQCHIP, RAM past 3 GiB continues
				 at 4 GiB (PCI, APIC hole in between) */
	const char *backend;  /* "auto", "emu" or "kvm"; NULL means "auto" */
	const char *require;  /* kvm flavour required: NULL, "vtx", "svm", "pvm" */
	uint32_t flags;       /* VMM_VM_* */
	uint32_t reserved;
} vmm_vm_config;
#define VMM_MAX_VCPUS 64
#define VMM_VM_CONFIG_INIT { sizeof(vmm_vm_config), 1, 64u << 20, "auto", 0, 0, 0 }

VMM_API int vmm_vm_create(const vmm_vm_config *config, vmm_vm **out);
VMM_API void vmm_vm_destroy(vmm_vm *vm);
/* Name of the backend the VM runs on ("emu", "kvm") and its flavour. */
VMM_API const char *vmm_vm_backend(const vmm_vm *vm);
VMM_API const char *vmm_vm_flavour(const vmm_vm *vm);
/* Hides CPU features from the guest, as on a CPU without them: CPUID stops
 * reporting them and their instructions and control-register bits fault
 * (#UD / #GP) on every backend. names is a comma-separated list of
 * "pcid" (CPUID.1:ECX.PCID, CR4.PCIDE), "invpcid" (CPUID.7:EBX.INVPCID,
 * the INVPCID instruction) and "pku" (CPUID.7:ECX.PKU, CR4.PKE and so
 * RDPKRU/WRPKRU); "" hides nothing. Calls add up. Only before
 * the VM's first vCPU is created: VMM_EBUSY afterwards, VMM_EINVAL for an
 * unknown name. */
VMM_API int vmm_vm_hide_cpu_features(vmm_vm *vm, const char *names);

/* ---- Guest memory ------------------------------------------------------ */

enum {
	VMM_MEM_READ = 1u << 0,
	VMM_MEM_WRITE = 1u << 1,
	VMM_MEM_EXEC = 1u << 2,
	VMM_MEM_RW = VMM_MEM_READ | VMM_MEM_WRITE | VMM_MEM_EXEC,
	VMM_MEM_RO = VMM_MEM_READ | VMM_MEM_EXEC  /* guest writes exit as MMIO */
};

/* Maps [gpa, gpa+size) (page aligned). host_ptr NULL: the library allocates
 * zeroed memory; otherwise the caller's page-aligned memory is used and must
 * outlive the mapping. */
VMM_API int vmm_mem_map(vmm_vm *vm, uint64_t gpa, uint64_t size, uint32_t flags,
			void *host_ptr);
VMM_API int vmm_mem_unmap(vmm_vm *vm, uint64_t gpa, uint64_t size);
/* Bounds-checked copies; the whole range must be mapped. Read-only maps can
 * be written from the host. */
VMM_API int vmm_mem_read(vmm_vm *vm, uint64_t gpa, void *buf, size_t len);
VMM_API int vmm_mem_write(vmm_vm *vm, uint64_t gpa, const void *buf, size_t len);
/* Host address of [gpa, gpa+len), which must lie inside one mapping. */
VMM_API int vmm_mem_host_ptr(vmm_vm *vm, uint64_t gpa, size_t len, void **out);

/* Shared regions: memfd-backed memory that can be mapped into several VMs
 * and is visible to the host at vmm_region_host_ptr(). */
VMM_API int vmm_region_create(uint64_t size, vmm_region **out);
/* Drops the caller's reference; VMs still mapping it keep it alive. */
VMM_API void vmm_region_destroy(vmm_region *region);
VMM_API void *vmm_region_host_ptr(const vmm_region *region);
VMM_API uint64_t vmm_region_size(const vmm_region *region);
VMM_API int vmm_region_fd(const vmm_region *region);
/* Maps [offset, offset+size) of region at gpa in vm. */
VMM_API int vmm_mem_share(vmm_vm *vm, vmm_region *region, uint64_t gpa,
			  uint64_t offset, uint64_t size, uint32_t flags);

/* ---- vCPUs and registers ----------------------------------------------- */

typedef struct vmm_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
} vmm_regs;

typedef struct vmm_segment {
	uint64_t base;
	uint32_t limit;      /* byte-granular limit (already scaled if g=1) */
	uint16_t selector;
	uint8_t type, present, dpl, db, s, l, g, avl, unusable;
	uint8_t padding[3];
} vmm_segment;

typedef struct vmm_dtable {
	uint64_t base;
	uint16_t limit;
	uint16_t padding[3];
} vmm_dtable;

typedef struct vmm_sregs {
	vmm_segment cs, ds, es, fs, gs, ss, tr, ldt;
	vmm_dtable gdt, idt;
	uint64_t cr0, cr2, cr3, cr4, cr8;
	uint64_t efer;
	uint64_t apic_base;
} vmm_sregs;

VMM_API int vmm_vcpu_create(vmm_vm *vm, uint32_t index, vmm_vcpu **out);
VMM_API void vmm_vcpu_destroy(vmm_vcpu *vcpu);
VMM_API int vmm_vcpu_get_regs(vmm_vcpu *vcpu, vmm_regs *regs);
VMM_API int vmm_vcpu_set_regs(vmm_vcpu *vcpu, const vmm_regs *regs);
VMM_API int vmm_vcpu_get_sregs(vmm_vcpu *vcpu, vmm_sregs *sregs);
VMM_API int vmm_vcpu_set_sregs(vmm_vcpu *vcpu, const vmm_sregs *sregs);
VMM_API uint32_t vmm_vcpu_index(const vmm_vcpu *vcpu);
/* The vCPU with this index, created by vmm_vcpu_create or a loader. */
VMM_API vmm_vcpu *vmm_vcpu_get(vmm_vm *vm, uint32_t index);

/* ---- Exits ------------------------------------------------------------- */

enum {
	VMM_EXIT_NONE = 0,
	VMM_EXIT_IO = 1,             /* port I/O nobody registered */
	VMM_EXIT_MMIO = 2,           /* access to unmapped or read-only memory */
	VMM_EXIT_HLT = 3,            /* HLT; io.data etc. unused */
	VMM_EXIT_SHUTDOWN = 4,       /* triple fault */
	VMM_EXIT_HYPERCALL = 5,      /* VMCALL/VMMCALL: nr=RAX, args RBX,RCX,RDX,RSI;
					emu: every call; kvm: only what KVM forwards
					(KVM_HC_MAP_GPA_RANGE), KVM answers the rest
					with -1000 itself */
	VMM_EXIT_CANCELLED = 6,      /* vmm_vcpu_kick() */
	VMM_EXIT_INTERNAL_ERROR = 7, /* cannot continue; see internal.message */
	VMM_EXIT_FAIL_ENTRY = 8,     /* hardware refused to enter the guest */
	VMM_EXIT_SYSTEM_EVENT = 9,   /* see system_event.type */
	VMM_EXIT_DEBUG_EXIT = 10,    /* guest wrote debug_exit.code to port 0xf4 */
	VMM_EXIT_STOPPED = 11        /* a hook returned VMM_ACT_STOP (vmm/introspect.h) */
};

enum { VMM_IO_IN = 0, VMM_IO_OUT = 1 };
enum { VMM_EVENT_POWEROFF = 1, VMM_EVENT_RESET = 2, VMM_EVENT_CRASH = 3 };

typedef struct vmm_exit {
	uint32_t reason;              /* VMM_EXIT_* */
	uint32_t vcpu_index;
	uint64_t rip;                 /* guest RIP at the exit (informational) */
	struct {
		uint16_t port;
		uint8_t size;             /* 1, 2 or 4 */
		uint8_t direction;        /* VMM_IO_IN / VMM_IO_OUT */
		uint32_t data;            /* OUT: value; IN: the caller fills it */
	} io;
	struct {
		uint64_t addr;
		uint8_t size;             /* 1, 2, 4 or 8 */
		uint8_t is_write;
		uint8_t padding[6];
		uint64_t data;            /* write: value; read: the caller fills it */
	} mmio;
	struct {
		uint64_t nr;
		uint64_t args[4];
		uint64_t ret;             /* the caller sets the guest's RAX result */
	} hypercall;
	struct {
		uint32_t type;            /* VMM_EVENT_* */
		uint32_t padding;
		uint64_t data;
	} system_event;
	struct {
		uint32_t code;            /* value written to the exit device */
		uint32_t padding;
	} debug_exit;
	struct {
		uint64_t hardware_reason;
	} fail_entry;
	struct {
		uint32_t suberror;
		uint32_t padding;
		char message[256];
	} internal;
} vmm_exit;

/* Runs the vCPU until an exit the library does not handle itself. *exit
 * points into the vCPU and stays valid until the next run; for an IN or an
 * MMIO read, store the result in io.data / mmio.data before running again. */
VMM_API int vmm_vcpu_run(vmm_vcpu *vcpu, vmm_exit **exit);
/* Makes a running (or the next) vmm_vcpu_run return VMM_EXIT_CANCELLED. */
VMM_API int vmm_vcpu_kick(vmm_vcpu *vcpu);

/* ---- Devices ----------------------------------------------------------- */

/* Callbacks return 0, or a negative VMM_E* code to stop the vCPU with an
 * internal-error exit. For reads, *data is filled by the callback. */
typedef int (*vmm_pio_fn)(void *opaque, vmm_vcpu *vcpu, uint16_t port,
			  uint8_t size, uint8_t is_write, uint32_t *data);
typedef int (*vmm_mmio_fn)(void *opaque, vmm_vcpu *vcpu, uint64_t addr,
			   uint8_t size, uint8_t is_write, uint64_t *data);

VMM_API int vmm_pio_register(vmm_vm *vm, uint16_t base, uint16_t len,
			     vmm_pio_fn fn, void *opaque);
VMM_API int vmm_pio_unregister(vmm_vm *vm, uint16_t base);
VMM_API int vmm_mmio_register(vmm_vm *vm, uint64_t base, uint64_t len,
			      vmm_mmio_fn fn, void *opaque);
VMM_API int vmm_mmio_unregister(vmm_vm *vm, uint64_t base);

/* Built-in 16550A UART at 0x3f8 (COM1): transmitted bytes go to fd (if >= 0)
 * and to fn (if non-NULL). Default: discarded. */
typedef void (*vmm_output_fn)(void *opaque, const char *buf, size_t len);
VMM_API int vmm_uart_output(vmm_vm *vm, int fd, vmm_output_fn fn, void *opaque);
/* Feeds len bytes to the UART's receiver, as if typed on its line; up to
 * 4 KiB wait for the guest, *accepted (if non-NULL) says how many were
 * taken. With VMM_VM_IRQCHIP the UART interrupts on IRQ 4. Any thread. */
VMM_API int vmm_uart_input(vmm_vm *vm, const void *buf, size_t len, size_t *accepted);

/* ---- Loading ----------------------------------------------------------- */

/* Loads an ELF image and creates the vCPUs (config->vcpus) with their boot
 * state. ELF64: 64-bit long mode, identity page tables over guest RAM, per
 * vCPU: RIP=entry, RSP=top of its stack, RDI=vCPU index, RSI=vCPU count,
 * RDX=command line address or 0 (see docs/boot.md). ELF32 with a Multiboot
 * v1 header: vCPU 0 starts as the Multiboot spec says (EAX=0x2BADB002,
 * EBX=info); others stay stopped. cmdline may be NULL (< 2048 bytes). The
 * image is checked before anything is written: VMM_EBADIMAGE if malformed,
 * VMM_ERANGE if it does not fit guest RAM. */
VMM_API int vmm_load_elf(vmm_vm *vm, const char *path, const char *cmdline);
VMM_API int vmm_load_elf_buffer(vmm_vm *vm, const void *image, size_t len,
				const char *cmdline);

/* ---- Convenience runner ------------------------------------------------ */

enum {
	VMM_END_DEBUG_EXIT = 1,     /* code = value written to port 0xf4 */
	VMM_END_HALTED = 2,         /* every vCPU halted with interrupts off */
	VMM_END_SHUTDOWN = 3,       /* triple fault */
	VMM_END_TIMEOUT = 4,
	VMM_END_INTERNAL_ERROR = 5, /* see message */
	VMM_END_POWEROFF = 6,
	VMM_END_UNHANDLED = 7,      /* an exit the runner cannot handle */
	VMM_END_RESET = 8,          /* the guest asked for a reboot (ACPI reset
				       register, keyboard-controller pulse) */
	VMM_END_STOPPED = 9         /* a hook returned VMM_ACT_STOP */
};

typedef struct vmm_run_options {
	uint32_t size;
	uint32_t reserved;
	uint64_t timeout_ms;        /* 0: no timeout */
} vmm_run_options;
#define VMM_RUN_OPTIONS_INIT { sizeof(vmm_run_options), 0, 0 }

typedef struct vmm_run_result {
	uint32_t size;              /* sizeof(vmm_run_result), set by the caller */
	uint32_t end;               /* VMM_END_* */
	uint32_t code;              /* VMM_END_DEBUG_EXIT: the value */
	uint32_t vcpu_index;        /* the vCPU that ended the run */
	uint64_t rip;
	char message[256];
} vmm_run_result;
#define VMM_RUN_RESULT_INIT { sizeof(vmm_run_result), 0, 0, 0, 0, "" }

/* Runs every created vCPU on its own thread until the guest ends (debug
 * exit, all halted, triple fault, power-off, error or timeout). Unclaimed
 * port reads return all ones and writes are dropped, as on a PC. A
 * hypercall exit gets KVM's answer to an unknown hypercall, RAX = -1000
 * (-KVM_ENOSYS), and the guest runs on, so it sees the same on every
 * backend (an embedder that implements hypercalls runs its vCPUs with
 * vmm_vcpu_run and answers VMM_EXIT_HYPERCALL itself). With
 * VMM_VM_IRQCHIP every vCPU gets a thread, also those waiting for a
 * start-up IPI, and HLT waits for an interrupt instead of ending the run:
 * the run ends by debug exit, triple fault, power-off, error or timeout. */
VMM_API int vmm_vm_run(vmm_vm *vm, const vmm_run_options *options,
		       vmm_run_result *result);

#ifdef __cplusplus
}
#endif

#include "vmm/irq.h"
#include "vmm/linux.h"
#include "vmm/virtio.h"
#include "vmm/fw_cfg.h"
#include "vmm/introspect.h"
#include "vmm/gdb.h"
#include "vmm/trace.h"
#include "vmm/storage.h"
#include "vmm/disk.h"
#include "vmm/net.h"

#endif /* VMM_H */
