/* kvm_priv.h - private state and cross-file functions of the kvm backend.
 *
 * Files: kvm.c (ops table), caps.c (probe, capabilities, flavour), vm.c (VM
 * and memslots), vcpu.c (vCPU, registers, MSRs), cpuid.c (the CPUID model
 * given to KVM), run.c (KVM_RUN loop, I/O and MMIO completion), exits.c
 * (translation of the other KVM exits), kick.c (kick signal), irqchip.c
 * (in-kernel PIC, IOAPIC, local APICs and PIT; lines, MSIs, irqfd,
 * ioeventfd; vCPU start-up state), introspect.c (debug registers, MSR
 * filter, register families), page.c (PAGE hooks: slots in pieces; the
 * gate that lets slots change while vCPUs run). */
#ifndef VMM_KVM_PRIV_H
#define VMM_KVM_PRIV_H

#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/internal.h"

#define KVM__API_VERSION 12
/* Placed like other VMMs do, just below the 4 GiB BIOS area: three pages of
 * TSS and one identity-map page (VMX without unrestricted guest only). */
#define KVM__TSS_ADDR 0xfffbd000ull
#define KVM__IDENTITY_MAP_ADDR 0xfffbc000ull

enum kvm__flavour {
	KVM__FLAVOUR_UNKNOWN = 0,
	KVM__FLAVOUR_INTEL,
	KVM__FLAVOUR_AMD,
	KVM__FLAVOUR_PVM
};

/* What the probe learnt; filled once and cached (caps.c). */
typedef struct kvm__host {
	int usable;
	enum kvm__flavour flavour;
	char flavour_name[32];        /* "kvm_intel", "kvm_amd", "kvm_pvm", "kvm" */
	char reason[256];             /* why unusable, or notes */
	int vcpu_mmap_size;
	int nr_memslots;
	int max_vcpus;
	int has_sync_regs;            /* KVM_CAP_SYNC_REGS includes REGS */
	int has_tss_addr;             /* KVM_CAP_SET_TSS_ADDR */
	int has_identity_map;         /* KVM_CAP_SET_IDENTITY_MAP_ADDR */
	struct kvm_cpuid2 *supported; /* KVM_GET_SUPPORTED_CPUID */
	/* In-kernel interrupt controllers (VMM__CAP_IRQCHIP): KVM_CAP_IRQCHIP,
	 * PIT2, SIGNAL_MSI, IRQ_ROUTING, IRQFD, IOEVENTFD all present. */
	int has_irqchip;
	char irqchip_missing[128];    /* the capabilities lacking, or "" */
	int has_x2apic_api;           /* KVM_CAP_X2APIC_API */
	int has_tsc_deadline;         /* KVM_CAP_TSC_DEADLINE_TIMER */
} kvm__host;

/* Returns the cached probe (probing first if needed); never NULL. */
const kvm__host *kvm__host_get(void);
/* Opens the KVM device (path overridable by tests), O_RDWR|O_CLOEXEC. */
int kvm__open_device(void);
const char *kvm__device_path(void);

/* page.c: the pages PAGE hooks take permissions from, and the KVM slots
 * that replace a vmm slot holding some of them. */
#define KVM__MAX_PIECES (2 * VMM__MAX_MEMSLOTS + 4 * VMM_HOOK_MAX)
typedef struct kvm__prot_set {
	uint32_t n;
	struct { uint64_t gpa, end; uint32_t access; } r[VMM_HOOK_MAX];
} kvm__prot_set;

typedef struct kvm__pages {
	kvm__prot_set set;
	uint8_t split[VMM__MAX_MEMSLOTS];       /* by vmm slot id: mapped in pieces */
	uint32_t npieces;
	uint32_t ntemp;                         /* last pieces: an EXEC window's */
	struct kvm_userspace_memory_region pieces[KVM__MAX_PIECES];
	uint32_t owner[KVM__MAX_PIECES];        /* vmm slot id of each piece */
} kvm__pages;

/* Removing a KVM memslot is slow (tens of us: KVM zaps and waits for SRCU)
 * and pointless when the VM is about to be closed, so mem_unmap only queues
 * the removal; it is done before the next mem_map and before any vCPU
 * enters the guest again, and skipped if the VM is destroyed first. */
typedef struct kvm__vm {
	int fd;
	pthread_mutex_t lock;                 /* guards the queue */
	atomic_uint nremoved;
	struct kvm_userspace_memory_region removed[VMM__MAX_MEMSLOTS];
	int irqchip;                          /* irqchip_create succeeded */
	/* introspect.c: the monitor's debug registers (lock guards them) */
	struct kvm_guest_debug dbg;
	uint64_t dbg_step;                    /* bit i: vCPU i single-steps */
	atomic_uint dbg_gen;
	int msr_filter_on;                    /* user-space MSR exits enabled */
	/* page.c: closed while slots change under running vCPUs (lock and
	 * gate_cv for the wait); pages exists once a PAGE hook was added. */
	atomic_int gate;
	pthread_cond_t gate_cv;
	atomic_int prot_on;                   /* pages->set.n != 0 */
	int gate_owner;                       /* vCPU index + 1 of an EXEC window */
	int emul_exit_on;                     /* KVM_CAP_EXIT_ON_EMULATION_FAILURE */
	kvm__pages *pages;
} kvm__vm;

/* page.c */
struct kvm__vcpu;
int kvm__pages_changed(vmm_vm *vm, const struct vmm__ix *ix);
int kvm__pages_map(vmm_vm *vm, const vmm__memslot *s, int *rc);
int kvm__pages_unmap(vmm_vm *vm, const vmm__memslot *s);
int kvm__pages_mmio(vmm_vcpu *vcpu, struct kvm_run *run, vmm_exit *exit, int *ret);
int kvm__pages_exec_fault(vmm_vcpu *vcpu, struct kvm_run *run, vmm_exit *exit, int *ret);
int kvm__exec_open(vmm_vcpu *vcpu, struct kvm__vcpu *kv);
int kvm__exec_close(vmm_vcpu *vcpu, struct kvm__vcpu *kv);
int kvm__exec_stalled(vmm_vcpu *vcpu, struct kvm__vcpu *kv);
void kvm__pages_destroy(kvm__vm *kvm);
void kvm__gate_wait(kvm__vm *kvm);

/* Carries out queued memslot removals. */
int kvm__vm_flush_removed_slow(kvm__vm *kvm);

static inline int kvm__vm_flush_removed(kvm__vm *kvm)
{
	if (atomic_load_explicit(&kvm->nremoved, memory_order_acquire) == 0)
		return 0;
	return kvm__vm_flush_removed_slow(kvm);
}

/* String port I/O (rep ins/outs) is handed out one element at a time. */
typedef struct kvm__pio_state {
	uint32_t next;                /* next element to dispatch */
	uint32_t count;               /* elements of the current KVM_EXIT_IO */
	int32_t awaiting;             /* element returned unclaimed, or -1 */
} kvm__pio_state;

enum kvm__pending {
	KVM__PENDING_NONE = 0,
	KVM__PENDING_PIO,             /* elements of a KVM_EXIT_IO left */
	KVM__PENDING_MMIO_READ,       /* returned an unclaimed MMIO read */
	KVM__PENDING_HYPERCALL        /* returned a hypercall */
};

typedef struct kvm__vcpu {
	int fd;
	struct kvm_run *run;
	size_t run_size;
	enum kvm__pending pending;
	kvm__pio_state pio;
	/* Kick: `running` is 1 while this backend's run is active on `thread`.
	 * `kickers` counts kicks in progress; run waits for it to drop to 0
	 * after clearing `running`, so a kicker never signals a thread that
	 * may have finished. */
	atomic_int running;
	atomic_int kickers;
	atomic_int in_guest;          /* inside KVM_RUN (page.c's gate) */
	pthread_t thread;
	int mp_state_set;             /* irqchip: vcpu->runnable applied */
	unsigned dbg_gen;             /* kvm__vm.dbg_gen applied (introspect.c) */
	uint8_t step_over;            /* stepping past a breakpoint at step_over_addr */
	uint64_t step_over_addr;
	/* page.c: an instruction fetched from a page hooked for EXEC runs in a
	 * window (the page mapped, the vCPU single-stepping, the others held at
	 * the gate) once its hooks said CONTINUE. */
	uint8_t exec_pending;         /* the instruction at exec_rip may run */
	uint8_t exec_step;            /* single-stepping it (kvm__debug_apply) */
	uint8_t exec_nofire;          /* the window's KVM_RUN failed: no event */
	uint8_t exec_npages;
	uint64_t exec_rip;
	uint64_t exec_page[2];        /* guest-physical pages the window maps */
	vmm_regs exec_regs;           /* at the window's start */
	uint8_t stepping;             /* KVM_GUESTDBG_SINGLESTEP applied */
	uint8_t step_check;           /* stalled steps still to drop (step_regs:
					 the registers when stepping began) */
	vmm_regs step_regs;
} kvm__vcpu;

static inline kvm__vm *kvm__vm_of(const vmm_vm *vm)
{
	return (kvm__vm *)vm->backend_priv;
}

static inline kvm__vcpu *kvm__vcpu_of(const vmm_vcpu *vcpu)
{
	return (kvm__vcpu *)vcpu->backend_priv;
}

/* ops (vm.c, vcpu.c, run.c, kick.c) */
void kvm__probe(vmm_backend_info *info);
int kvm__vm_create(vmm_vm *vm);
void kvm__vm_destroy(vmm_vm *vm);
int kvm__mem_map(vmm_vm *vm, const vmm__memslot *slot);
void kvm__mem_unmap(vmm_vm *vm, const vmm__memslot *slot);
int kvm__vcpu_create(vmm_vcpu *vcpu);
void kvm__vcpu_destroy(vmm_vcpu *vcpu);
int kvm__get_regs(vmm_vcpu *vcpu, vmm_regs *regs);
int kvm__set_regs(vmm_vcpu *vcpu, const vmm_regs *regs);
int kvm__get_sregs(vmm_vcpu *vcpu, vmm_sregs *sregs);
int kvm__set_sregs(vmm_vcpu *vcpu, const vmm_sregs *sregs);
int kvm__set_msr(vmm_vcpu *vcpu, uint32_t msr, uint64_t value);
int kvm__run(vmm_vcpu *vcpu, vmm_exit *exit);
void kvm__kick(vmm_vcpu *vcpu);

/* introspect.c: hooks (KVM_SET_GUEST_DEBUG) and register families. The run
 * loop calls kvm__debug_apply before KVM_RUN when dbg_gen moved. */
void kvm__ix_caps(vmm_vm *vm, vmm_hook_caps *caps);
int kvm__ix_changed(vmm_vm *vm);
int kvm__debug_apply(vmm_vcpu *vcpu, kvm__vcpu *kv);
int kvm__exit_debug(vmm_vcpu *vcpu, struct kvm_run *run, vmm_exit *exit);
int kvm__exit_wrmsr(vmm_vcpu *vcpu, struct kvm_run *run, vmm_exit *exit);
int kvm__exit_hlt(vmm_vcpu *vcpu, vmm_exit *exit);
int kvm__insn_len(vmm_vcpu *vcpu, const vmm_regs *r);
int kvm__inject(vmm_vcpu *vcpu, const vmm_event *ev);
int kvm__get_msr(vmm_vcpu *vcpu, uint32_t msr, uint64_t *value);
int kvm__get_fpu(vmm_vcpu *vcpu, vmm_fpu *fpu);
int kvm__set_fpu(vmm_vcpu *vcpu, const vmm_fpu *fpu);
int kvm__get_dregs(vmm_vcpu *vcpu, vmm_dregs *dregs);

/* cpuid.c: builds the CPUID table for one vCPU from the host's supported
 * list, less the hidden features (vm->cpu_hidden). Returns a malloc'ed
 * table or NULL with the error set. */
struct kvm_cpuid2 *kvm__cpuid_build(const kvm__host *host, uint32_t vcpu_index,
				    uint32_t vcpu_count, int irqchip, uint64_t hidden);

/* irqchip.c: the ops of lib/internal.h's version 2 block, and the start-up
 * state of a vCPU of an irqchip VM (applied once, before its first
 * KVM_RUN: vcpu->runnable true -> KVM_MP_STATE_RUNNABLE, false -> wait for
 * SIPI). */
uint32_t kvm__caps(vmm_vm *vm);
int kvm__irqchip_create(vmm_vm *vm);
int kvm__irq_line(vmm_vm *vm, uint32_t gsi, int level);
int kvm__msi(vmm_vm *vm, uint64_t addr, uint32_t data);
int kvm__irqfd(vmm_vm *vm, int fd, uint32_t gsi, int assign);
int kvm__ioeventfd(vmm_vm *vm, uint64_t addr, uint32_t len, int is_pio,
		   uint64_t datamatch, int has_datamatch, int fd, int assign);
int kvm__vcpu_start_state(vmm_vcpu *vcpu, kvm__vcpu *kv);
/* ops->vcpu_power_on (S3 resume). */
int kvm__vcpu_power_on(vmm_vcpu *vcpu, const vmm_regs *regs, const vmm_sregs *sregs);

/* exits.c: KVM exits other than I/O and MMIO. Each fills *exit and returns
 * KVM__EXIT_RETURN, or KVM__EXIT_CONTINUE to re-enter the guest. */
enum { KVM__EXIT_CONTINUE = 0, KVM__EXIT_RETURN = 1 };
int kvm__exit_other(vmm_vcpu *vcpu, struct kvm_run *run, vmm_exit *exit);
const char *kvm__exit_name(uint32_t reason);
/* Turns a failed device callback into an internal-error exit. */
void kvm__exit_device_failed(vmm_exit *exit, const char *what, uint64_t where,
			     int code);

/* kick.c: the kick signal handler is installed while any kvm VM exists. */
int kvm__signal_acquire(void);
void kvm__signal_release(void);
int kvm__kick_signal(void);
void kvm__run_leave(kvm__vcpu *kv);

/* Test hooks (internal, hidden): point the probe at other paths. NULL
 * restores the default (/dev/kvm, /sys/module, /proc/cpuinfo). Drops the
 * cached probe so the next call probes again. */
void vmm__kvm_test_paths(const char *device, const char *sys_module,
			 const char *cpuinfo);
/* Drops the cached probe; the next probe looks at the host again. */
void vmm__kvm_reprobe(void);

/* state.c: the in-kernel chips' records in the VM's device state stream. */
int kvm__state_add(vmm_vm *vm, struct vmm__state_list *l);

#endif /* VMM_KVM_PRIV_H */
