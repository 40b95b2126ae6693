/* ix.h - the introspection core (lib/introspect/): the VM's hook table,
 * event delivery, and the questions backends ask about it. Backends deliver
 * an event by filling a vmm_event and calling vmm__ix_fire on the vCPU's
 * thread with the vCPU at a consistent state; they apply the returned
 * action. The queries below take the table's lock: call them only from
 * slow paths, after checking vm->ix_flags (lock-free) says such hooks
 * exist. */
#ifndef VMM_IX_H
#define VMM_IX_H

#include "lib/internal.h"

#define VMM__IX_BIT(type) (1u << (type))

typedef struct vmm__hook {
	uint32_t id;                 /* 0: free slot */
	vmm_hook_config cfg;
} vmm__hook;

struct vmm_gdb;

typedef struct vmm__ix {
	pthread_mutex_t lock;
	vmm__hook hooks[VMM_HOOK_MAX];
	uint32_t next_id;
	/* The end of a vmm_vm_run (vmm__ix_run_end): hooks stop blocking. */
	atomic_int ending;
	uint32_t end, code;
	struct vmm_gdb *gdb;         /* the VM's gdb stub, if any */
} vmm__ix;

/* Calls every hook matching ev (type, vCPU, address/index); returns the
 * strongest action asked (STOP > INJECT > SKIP > CONTINUE). ev->size and
 * ->vcpu_index are filled here. */
uint32_t vmm__ix_fire(vmm_vcpu *vcpu, vmm_event *ev);

/* A BREAK or HWBREAK hook for this vCPU at virtual address va. */
int vmm__ix_break_at(vmm_vm *vm, uint32_t vcpu, uint64_t va);
/* A STEP hook for this vCPU. */
int vmm__ix_stepping(vmm_vm *vm, uint32_t vcpu);
/* VMM_MEM_* kinds removed by PAGE hooks from the page holding gpa. */
uint32_t vmm__ix_page_access(vmm_vm *vm, uint32_t vcpu, uint64_t gpa);
/* A WATCH hook overlaps the virtual page of va. */
int vmm__ix_watch_page(vmm_vm *vm, uint32_t vcpu, uint64_t va);
/* A WATCH hook matches an access of kind acc (VMM_MEM_*) to [va, va+n). */
int vmm__ix_watch_hit(vmm_vm *vm, uint32_t vcpu, uint64_t va, uint64_t n, uint32_t acc);
/* A hook of type (CR_WRITE, MSR_WRITE, EXCEPTION) with this index. */
int vmm__ix_index_hooked(vmm_vm *vm, uint32_t type, uint32_t vcpu, uint32_t index);

/* vmm_vcpu_run: a pause was asked; delivers PAUSE and fills vcpu->exit. */
void vmm__ix_pause_point(vmm_vcpu *vcpu);
/* vmm_vm_run ends (before it kicks its threads): hooks stop waiting. */
void vmm__ix_run_begin(vmm_vm *vm);
void vmm__ix_run_end(vmm_vm *vm, uint32_t end, uint32_t code);
int vmm__ix_ending(const vmm_vm *vm);
void vmm__ix_destroy(vmm_vm *vm);
vmm__ix *vmm__ix_get(vmm_vm *vm);   /* creates the table; NULL: no memory */
/* vmm_core_dump without the running-vCPU check (the gdb stub, all paused). */
int vmm__core_dump(vmm_vm *vm, const char *path);

#endif
