/* vmm/introspect.h - introspection and intervention from outside the guest
 * (included by vmm.h): guest memory by virtual address, register state
 * beyond vmm_regs, and hooks on guest events, in the style of Unicorn's
 * hooks and of VMsafe's out-of-guest monitors.
 *
 * Hooks: vmm_hook_add() subscribes a callback to one kind of event. The
 * callback runs synchronously on the thread of the vCPU that caused the
 * event, with that vCPU paused at a consistent state: it may read and write
 * registers (vmm_vcpu_get_regs, ...), guest memory and other hooks, then
 * returns a VMM_ACT_* action. Handlers that only observe are invisible to
 * the guest: breakpoints do not modify guest memory, page permissions are
 * the monitor's own, not the guest's page tables. What each backend
 * provides: vmm_introspect_caps() and docs/introspect.md.
 *
 * Thread safety: vmm_hook_add/del, vmm_vcpu_pause and the virtual-memory
 * functions may be called from any thread, including from hook callbacks.
 * Register functions follow the vCPU rules of vmm.h (the vCPU's own thread,
 * or while it is paused in a callback or not running).
 */
#ifndef VMM_INTROSPECT_H
#define VMM_INTROSPECT_H

#ifndef VMM_H
#error "include <vmm.h>, not <vmm/introspect.h>"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Memory by guest-virtual address -------------------------------------
 * Translation goes through the vCPU's own paging mode (none, 32-bit, PAE,
 * 4-level) as the CPU would, without setting accessed/dirty bits. */
typedef struct vmm_translation {
	uint64_t gpa;        /* guest-physical address of va */
	uint64_t page_size;  /* 4 KiB, 2 MiB, 4 MiB or 1 GiB; paging off: 4 KiB */
	uint32_t perms;      /* VMM_MEM_READ/WRITE/EXEC the guest's tables grant
				(for a supervisor access) */
	uint32_t user;       /* 1 if CPL 3 may access it */
} vmm_translation;

/* VMM_ENOENT (with the reason) if va does not translate. */
VMM_API int vmm_virt_translate(vmm_vcpu *vcpu, uint64_t va, vmm_translation *out);
/* Copies across pages; VMM_ENOENT if a page does not translate, VMM_ERANGE
 * if it translates outside guest RAM. Writes ignore the guest's write
 * protection (a debugger's view) and drop cached code. */
VMM_API int vmm_virt_read(vmm_vcpu *vcpu, uint64_t va, void *buf, size_t len);
VMM_API int vmm_virt_write(vmm_vcpu *vcpu, uint64_t va, const void *buf, size_t len);

/* ---- Register state beyond vmm_regs/vmm_sregs ----------------------------- */
typedef struct vmm_fpu {
	uint8_t st[8][16];   /* ST(0)..ST(7), 80-bit values in bytes 0..9 */
	uint16_t fcw, fsw;   /* control word, status word (with TOP) */
	uint16_t ftw;        /* full tag word: 2 bits per physical register */
	uint16_t fop;
	uint32_t mxcsr;
	uint32_t padding;
	uint64_t fip, fdp;   /* last instruction and data pointers (0 on emu) */
	uint8_t xmm[16][16];
} vmm_fpu;

typedef struct vmm_dregs {
	uint64_t dr[8];      /* the guest's own DR0..DR7 (DR4/DR5 read as 0) */
} vmm_dregs;

VMM_API int vmm_vcpu_get_msr(vmm_vcpu *vcpu, uint32_t msr, uint64_t *value);
VMM_API int vmm_vcpu_set_msr(vmm_vcpu *vcpu, uint32_t msr, uint64_t value);
VMM_API int vmm_vcpu_get_fpu(vmm_vcpu *vcpu, vmm_fpu *fpu);
VMM_API int vmm_vcpu_set_fpu(vmm_vcpu *vcpu, const vmm_fpu *fpu);
VMM_API int vmm_vcpu_get_dregs(vmm_vcpu *vcpu, vmm_dregs *dregs);

/* ---- Events and hooks ----------------------------------------------------- */
enum {
	VMM_EV_BREAK = 1,      /* execution reaches virtual address addr (before
				  it runs); no guest-visible change */
	VMM_EV_HWBREAK = 2,    /* the same through a hardware debug register on
				  backends that have them (at most 4 hooks) */
	VMM_EV_STEP = 3,       /* after every instruction of vCPU `vcpu` */
	VMM_EV_WATCH = 4,      /* data access (access: WRITE, or READ|WRITE) to
				  [addr, addr+len) virtual, len 1/2/4/8; after
				  the instruction that made it */
	VMM_EV_CR_WRITE = 5,   /* MOV/LMSW/CLTS to CR index (0, 3, 4), before;
				  event.value is the new value */
	VMM_EV_MSR_WRITE = 6,  /* WRMSR to MSR index, before; event.value */
	VMM_EV_CPUID = 7,      /* CPUID, before */
	VMM_EV_HLT = 8,        /* HLT, before */
	VMM_EV_EXCEPTION = 9,  /* exception vector index (0..31) is about to be
				  delivered to the guest */
	VMM_EV_PAGE = 10,      /* access of a kind in `access` to guest-physical
				  [addr, addr+len) (pages): as if that permission
				  were removed; before the access */
	VMM_EV_PAUSE = 11,     /* vmm_vcpu_pause() took effect */
	VMM_EV_MAX = 11
};

/* What the callback asks for. The vCPU resumes at the (possibly changed)
 * registers; if the handler changed RIP, CONTINUE resumes there. */
enum {
	VMM_ACT_CONTINUE = 0,  /* carry on: the instruction runs, the exception
				  is delivered, the access is made */
	VMM_ACT_SKIP = 1,      /* skip the instruction (RIP past it) without its
				  effects; for EXCEPTION: drop the exception */
	VMM_ACT_STOP = 2,      /* vmm_vcpu_run returns VMM_EXIT_STOPPED (the
				  runner ends with VMM_END_STOPPED) */
	VMM_ACT_INJECT = 3     /* deliver event.inject_vector (with
				  inject_error_code if inject_has_error) instead
				  of running the instruction */
};

typedef struct vmm_event {
	uint32_t size;         /* sizeof(vmm_event) */
	uint32_t type;         /* VMM_EV_* */
	uint32_t hook;         /* id of the hook that matched */
	uint32_t vcpu_index;
	uint64_t rip;          /* the instruction (after it: STEP, WATCH) */
	uint64_t addr;         /* BREAK: rip; WATCH/PAGE: the address accessed
				  (virtual for WATCH; PAGE: guest-physical) */
	uint64_t value;        /* CR/MSR write: the value being written; WATCH:
				  bytes accessed from addr; PAGE: the virtual
				  address accessed */
	uint32_t index;        /* CR number, MSR, exception vector */
	uint32_t access;       /* WATCH/PAGE: the VMM_MEM_* kind of this access */
	uint32_t error_code;   /* EXCEPTION: its error code, if has_error_code */
	uint32_t has_error_code;
	uint32_t inject_vector;      /* VMM_ACT_INJECT: set by the callback */
	uint32_t inject_has_error;
	uint32_t inject_error_code;
	uint32_t reserved;
} vmm_event;

typedef uint32_t (*vmm_hook_fn)(void *opaque, vmm_vcpu *vcpu, vmm_event *event);

typedef struct vmm_hook_config {
	uint32_t size;         /* sizeof(vmm_hook_config) */
	uint32_t type;         /* VMM_EV_* */
	uint64_t addr;         /* BREAK/HWBREAK/WATCH: virtual; PAGE: physical,
				  page aligned */
	uint64_t len;          /* WATCH: 1, 2, 4 or 8; PAGE: page multiple */
	uint32_t access;       /* WATCH/PAGE: VMM_MEM_READ|WRITE|EXEC */
	uint32_t index;        /* CR_WRITE: 0/3/4; MSR_WRITE: MSR; EXCEPTION:
				  vector */
	int32_t vcpu;          /* -1: every vCPU; else only that one (STEP: must
				  name one) */
	uint32_t reserved;
	vmm_hook_fn fn;
	void *opaque;
} vmm_hook_config;
#define VMM_HOOK_CONFIG_INIT { sizeof(vmm_hook_config), 0, 0, 0, 0, 0, -1, 0, NULL, NULL }
#define VMM_HOOK_MAX 256       /* hooks per VM */

/* Adds a hook; *id identifies it for vmm_hook_del. VMM_ENOTSUP (saying why)
 * if the backend cannot deliver that event, VMM_EINVAL for a bad config. */
VMM_API int vmm_hook_add(vmm_vm *vm, const vmm_hook_config *config, uint32_t *id);
VMM_API int vmm_hook_del(vmm_vm *vm, uint32_t id);

/* Makes the vCPU deliver a VMM_EV_PAUSE event to the VM's PAUSE hooks as
 * soon as possible (now if it is not running: on its next vmm_vcpu_run).
 * After the callbacks, vmm_vcpu_run returns VMM_EXIT_CANCELLED (run again
 * to continue) or VMM_EXIT_STOPPED. */
VMM_API int vmm_vcpu_pause(vmm_vcpu *vcpu);

enum {
	VMM_ICAP_INVISIBLE_BREAK = 1u << 0,  /* breakpoints leave guest memory alone */
	VMM_ICAP_DR_VIRTUAL = 1u << 1        /* the guest reads its own DR0-7
						while the monitor uses HWBREAK/WATCH */
};

typedef struct vmm_hook_caps {
	uint32_t size;         /* sizeof(vmm_hook_caps), set by the caller */
	uint32_t events;       /* bit (1u << VMM_EV_x) per event provided */
	uint32_t flags;        /* VMM_ICAP_* */
	uint32_t hw_slots;     /* HWBREAK + WATCH hooks at once (0: unlimited) */
	char notes[512];       /* what is missing and why */
} vmm_hook_caps;
#define VMM_HOOK_CAPS_INIT { sizeof(vmm_hook_caps), 0, 0, 0, "" }

VMM_API int vmm_introspect_caps(vmm_vm *vm, vmm_hook_caps *caps);

/* Writes guest RAM and every vCPU's registers (NT_PRSTATUS notes) to path as
 * an ELF64 core file that gdb reads. Every vCPU must be stopped or paused. */
VMM_API int vmm_core_dump(vmm_vm *vm, const char *path);

#ifdef __cplusplus
}
#endif
#endif /* VMM_INTROSPECT_H */
