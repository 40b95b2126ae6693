/* vmm/trace.h - instruction tracing (included by vmm.h).
 *
 * vmm_vcpu_set_trace makes the vCPU call fn after every guest instruction it
 * executes, with the instruction's address and bytes and the general
 * registers before and after it. Tracing runs the vCPU one instruction at a
 * time (much slower); without a trace function there is no cost. Only the
 * emu backend traces (kvm: VMM_ENOTSUP).
 *
 * Thread safety: call it while the vCPU does not run. fn runs on the
 * vCPU's thread, inside vmm_vcpu_run; it must not call into the vCPU.
 */
#ifndef VMM_TRACE_H
#define VMM_TRACE_H

#ifndef VMM_H
#error "include <vmm.h>, not <vmm/trace.h>"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* How the instruction ended. */
enum {
	VMM_TRACE_RETIRED = 0,      /* completed (after it: an exit, or more code) */
	VMM_TRACE_EXCEPTION = 1,    /* raised exception `vector` (delivered next) */
	VMM_TRACE_PARTIAL = 2       /* not completed yet: continues later (an exit
				       for MMIO/port I/O first, or a long REP) */
};

typedef struct vmm_trace_insn {
	uint32_t size;              /* sizeof(vmm_trace_insn) */
	uint32_t end;               /* VMM_TRACE_* */
	uint64_t cs_base;           /* linear address = cs_base + before.rip */
	uint32_t mode;              /* code size: 16, 32 or 64 */
	uint32_t len;               /* instruction bytes in bytes[] (0: unreadable) */
	uint8_t bytes[16];
	uint32_t vector;            /* VMM_TRACE_EXCEPTION: the vector */
	uint32_t padding;
	vmm_regs before, after;     /* after: as the next instruction sees them */
} vmm_trace_insn;

typedef void (*vmm_trace_fn)(void *opaque, vmm_vcpu *vcpu, const vmm_trace_insn *insn);

/* Sets (fn != NULL) or clears (fn == NULL) the vCPU's trace function.
 * VMM_ENOTSUP if the backend cannot trace, VMM_ESTATE while it runs. */
VMM_API int vmm_vcpu_set_trace(vmm_vcpu *vcpu, vmm_trace_fn fn, void *opaque);

#ifdef __cplusplus
}
#endif
#endif /* VMM_TRACE_H */
