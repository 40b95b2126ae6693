/* emu.h - the emu backend's internal interfaces: CPU state, the decoded
 * instruction form, executor status codes, and the entry points of each
 * part (decoder, binder, MMU, exceptions, block cache, run loop).
 *
 * Design: guest code is decoded once per basic block into emu_insn records
 * (a handler pointer plus pre-resolved operands), cached by guest-physical
 * address, and executed by calling the handlers in turn. Memory goes
 * through a software TLB; arithmetic flags are computed lazily. Handlers
 * return EMU_OK to continue or a status that ends the block. */
#ifndef VMM_EMU_H
#define VMM_EMU_H

#include <stdint.h>
#include <string.h>

#include "arch/x86/x86.h"
#include "arch/x86/cpuid.h"
#include "arch/x86/msr.h"
#include "lib/internal.h"

#define EMU_LIKELY(x) __builtin_expect(!!(x), 1)
#define EMU_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ---- Executor status (handler return values) ------------------------------ */
enum {
	EMU_OK = 0,          /* continue with the next instruction */
	EMU_JUMP,            /* done; cpu->rip was set; end the block */
	EMU_NEXT,            /* done; continue at the next instruction, new block */
	EMU_RESTART,         /* not done; run this instruction again later */
	EMU_FAULT,           /* exception cpu->exc_* raised; rip = this insn */
	EMU_EXIT_NEXT,       /* done; cpu->vcpu->exit filled; rip = next */
	EMU_EXIT_RESTART,    /* not done; exit filled; replay on resume */
	EMU_EXIT_JUMP,       /* done; exit filled; cpu->rip was set */
	EMU_ERROR            /* internal error; exit filled with the message */
};

/* Operand sizes: log2 of bytes. */
enum { EMU_SZ8 = 0, EMU_SZ16 = 1, EMU_SZ32 = 2, EMU_SZ64 = 3 };

#define EMU_REG_NONE 16      /* r[16] is always zero */
#define EMU_SEG_NONE 6       /* segbase[6] is always zero */

/* mode_key: bits 0-1 code size, bit 2 CPL 3, bit 3 EMU_MODE_FPCHK: CR0.TS or
 * CR0.EM set or CR4.OSFXSR clear (x87/SSE instructions bind to #NM/#UD). */
#define EMU_MODE_FPCHK 8u

/* ---- Decoded instruction ------------------------------------------------- */
struct emu_cpu;
typedef struct emu_insn emu_insn;
typedef int (*emu_fn)(struct emu_cpu *cpu, const emu_insn *ins);

enum {
	EMU_PFX_REP = 1u << 0,     /* F3 */
	EMU_PFX_REPNE = 1u << 1,   /* F2 */
	EMU_PFX_LOCK = 1u << 2
};

struct emu_insn {
	emu_fn fn;
	int64_t disp;        /* memory displacement; RIP-relative: absolute.
				branches: fall-through RIP */
	uint64_t imm;        /* immediate; branches: target RIP */
	uint16_t off;        /* offset of the instruction from the block's RIP */
	uint8_t len;         /* bytes */
	uint8_t osz;         /* operand size, EMU_SZ* */
	uint8_t reg;         /* ModRM.reg register as a byte offset into r[] */
	uint8_t rm;          /* ModRM.rm register (mod == 3) as a byte offset */
	uint8_t base;        /* memory base register 0..15, or EMU_REG_NONE */
	uint8_t index;       /* memory index register, or EMU_REG_NONE */
	uint8_t scale;       /* index shift 0..3 */
	uint8_t seg;         /* segment X86_SEG_* or EMU_SEG_NONE */
	uint8_t asz;         /* address size EMU_SZ16/32/64 */
	uint8_t op;          /* sub-operation: ALU op, condition, group index */
	uint8_t pfx;         /* EMU_PFX_* */
	uint8_t mem;         /* the r/m operand is memory */
	uint8_t aux;         /* per-handler extra */
	uint8_t xflags;      /* per-handler flags (SSE: alignment) */
};

/* ---- Lazy flags ------------------------------------------------------------ */
enum {
	EMU_CC_NONE = 0,     /* arithmetic flags are in cpu->rflags */
	EMU_CC_ADD, EMU_CC_ADC, EMU_CC_SUB, EMU_CC_SBB, EMU_CC_LOGIC,
	EMU_CC_INC, EMU_CC_DEC, EMU_CC_SHL, EMU_CC_SHR, EMU_CC_SAR, EMU_CC_MUL
};
#define EMU_CC(kind, sz) (((kind) << 2) | (sz))

/* ---- Software TLB ---------------------------------------------------------- */
#define EMU_TLB_BITS 8
#define EMU_TLB_SIZE (1u << EMU_TLB_BITS)
#define EMU_TLB_INVALID 1ull   /* never equal to a page-aligned address */

typedef struct emu_tlb_entry {
	uint64_t tag_r, tag_w, tag_x;   /* page-aligned linear address or INVALID */
	uint64_t addend;                /* host address = linear + addend */
	uint64_t gpa;                   /* guest-physical address of the page */
	uint64_t lmask;                 /* ~(size - 1) of the mapping (INVLPG) */
	uint64_t global;                /* G: kept across CR3 loads */
	uint64_t pad_;                  /* 64 bytes: the index is a shift */
} emu_tlb_entry;

/* ---- MMIO / port I/O replay log -------------------------------------------
 * An instruction that makes an access nobody claims exits and is executed
 * again on the next run(); accesses it already made (claimed or completed by
 * the caller) are replayed from this log instead of being repeated. */
#define EMU_LOG_MAX 8
typedef struct emu_io_rec {
	uint64_t addr;
	uint64_t data;
	uint8_t size;        /* bytes */
	uint8_t is_write;
	uint8_t is_pio;
	uint8_t done;        /* data valid (reads) / delivered (writes) */
} emu_io_rec;

typedef struct emu_io_log {
	emu_io_rec rec[EMU_LOG_MAX];
	uint32_t count;      /* records made by the current instruction */
	uint32_t pos;        /* next record to replay */
	uint64_t seq;        /* cpu->exec_seq of the owning execution */
	const emu_insn *ins; /* owning instruction */
	uint64_t rip;        /* RIP of the instruction to replay */
	uint8_t replay;      /* resume must replay (rip valid) */
	uint8_t adopt;       /* the next access starts the replay */
} emu_io_log;

/* ---- Introspection (introspect.c) -------------------------------------------- */
enum {
	EMU_IX_ALLOW_BREAK = 1u << 0,   /* the next instruction runs past its breakpoint */
	EMU_IX_ALLOW_MEM = 1u << 1,     /* ... may touch watched pages */
	EMU_IX_ALLOW_INSN = 1u << 2     /* ... is not reported (CR, MSR, CPUID, HLT) */
};
enum { EMU_IX_BREAK_ADDR = 1, EMU_IX_BREAK_PAGE = 2 };   /* emu_ix_break_here */
#define EMU_IX_EXEC_EVENTS ((1u << VMM_EV_BREAK) | (1u << VMM_EV_HWBREAK) | (1u << VMM_EV_PAGE))

typedef struct emu_ix {
	uint8_t slow;        /* step() must call emu_ix_step */
	uint8_t allow;       /* EMU_IX_ALLOW_* for the next instruction */
	uint8_t fault;       /* the EMU_FAULT being raised is cpu->ix.ev */
	uint8_t kind;        /* its EMU_IX_ALLOW_* class */
	uint8_t stepped;     /* an instruction ran under STEP: report it */
	uint8_t watch;       /* ev is a WATCH hit: run the instruction first */
	uint8_t watch_fire;  /* ... it ran: report ev */
	vmm_event ev;
} emu_ix;

/* ---- Block cache ----------------------------------------------------------- */
#define EMU_BLOCK_MAX_INSNS 64
#define EMU_JC_BITS 14   /* 16k entries: a fio guest missed 1M times a second at 4k */
#define EMU_HASH_BITS 16             /* ~97k blocks fill the 16 MiB arena */

typedef struct emu_block {
	uint64_t rip;                 /* RIP (CS offset) of the first instruction */
	uint64_t gpa;                 /* guest-physical address of that byte */
	uint32_t mode_key;            /* decode mode and privilege */
	uint16_t ninsns;              /* instructions, without the terminator */
	uint16_t npages;              /* 1 or 2 guest pages */
	_Atomic uint32_t *gen[2];     /* page write generations ... */
	uint32_t gen_val[2];          /* ... as they were when decoded */
	struct emu_block *hnext;      /* physical hash chain */
	emu_insn ins[];               /* ninsns + 1 (terminator) */
} emu_block;

/* Room for a block of one instruction and its terminator: the uncached
 * single-instruction runs (replay, interrupt shadow, steps, skips). */
typedef union emu_one_block {
	emu_block b;
	uint8_t raw[sizeof(emu_block) + 2 * sizeof(emu_insn)];
} emu_one_block;

typedef struct emu_jc_entry {
	uint64_t rip;
	emu_block *blk;
	uint64_t gen;                 /* valid while equal to the cache's jc_gen */
} emu_jc_entry;

typedef struct emu_cache {
	uint8_t *arena;               /* blocks, bump-allocated */
	size_t arena_size, arena_used;
	emu_block **hash;             /* 1 << EMU_HASH_BITS chains by gpa */
	emu_jc_entry *jc;             /* 1 << EMU_JC_BITS entries by RIP */
	uint64_t jc_gen;              /* bumped by each flush: O(1), never wraps */
	uint64_t flushes;
} emu_cache;

/* Per-VM state: code-page tracking for every RAM slot. */
enum { EMU_PAGE_DATA = 0, EMU_PAGE_CODE = 1, EMU_PAGE_MARKING = 2 };

typedef struct emu_page_info {
	uint64_t gpa, npages;
	_Atomic uint8_t *code;        /* EMU_PAGE_*: nonzero = writes take the slow path */
	_Atomic uint32_t *gen;        /* bumped when a code page is written */
} emu_page_info;

typedef struct emu_vm {
	emu_page_info pages[VMM__MAX_MEMSLOTS];
	uint32_t npage_infos;
	_Atomic uint64_t code_epoch;  /* bumped when a page becomes a code page */
	_Atomic uint64_t map_epoch;   /* bumped on mem_map / mem_unmap */
	/* Making a page a code page with other vCPUs running waits until each
	 * has dropped its write-TLB entries (cache.c: make_code). */
	pthread_mutex_t code_lock;
	struct emu_cpu *_Atomic cpus[VMM_MAX_VCPUS];
	int membarrier_ok;            /* MEMBARRIER_CMD_PRIVATE_EXPEDITED works */
	/* What CPUID reports and the CPU enforces: vmm__x86_emu_model less
	 * the features hidden (vm->cpu_hidden) when the first vCPU was made. */
	vmm__x86_cpu_model model;
	int model_fixed;
} emu_vm;

/* ---- x87 and SSE state (exec_x87.c, exec_sse*.c) --------------------------- */
typedef union emu_xmm {
	uint8_t b[16];
	uint16_t w[8];
	uint32_t d[4];
	uint64_t q[2];
	float f[4];
	double df[2];
} emu_xmm;

typedef struct emu_fpu {
	long double st[8];            /* physical registers R0..R7 */
	uint16_t fcw;
	uint16_t fsw;                 /* without TOP (bits 13:11) */
	uint8_t top;
	uint8_t empty;                /* bit i: R(i) is empty */
	uint16_t fop;
	uint32_t mxcsr;
	emu_xmm xmm[16] __attribute__((aligned(16)));
} emu_fpu;

/* ---- The CPU ---------------------------------------------------------------- */
typedef struct emu_cpu {
	uint64_t r[17];               /* RAX..R15, then a constant 0 */
	uint64_t rip;
	uint64_t rflags;              /* arithmetic bits stale unless cc_op == NONE */
	uint64_t cc_res, cc_a, cc_b;
	uint32_t cc_op;
	uint8_t cpl;
	uint8_t code_sz;              /* EMU_SZ16/32/64: default operand size */
	uint8_t stack_sz;             /* EMU_SZ16/32/64 */
	uint8_t long_mode;            /* EFER.LMA */
	emu_tlb_entry *tlb;           /* tlbs[cpl == 3] */
	uint64_t segbase[8];          /* effective segment bases; [6] = 0 */
	uint64_t linmask;             /* ~0 in long mode, else 0xffffffff */
	uint32_t mode_key;
	uint32_t exc_err;
	uint8_t exc_vec;
	uint8_t exc_has_err;
	uint8_t pending_hypercall;
	uint8_t halted;               /* VMM_VM_IRQCHIP: in HLT, waiting (intr.c) */
	uint8_t nmi_blocked;          /* an NMI handler runs, until IRET */
	uint64_t shadow_seq, shadow_rip;   /* STI / MOV SS interrupt shadow */
	uint8_t shadow_ss;            /* the shadow is MOV SS / POP SS's (step.c) */
	uint8_t stepping;             /* trace or armed DR7: one insn per step (step.c) */
	uint8_t ac_check;             /* CR0.AM, RFLAGS.AC and CPL 3: #AC (step.c) */
	uint8_t nofill;               /* ac_check or data breakpoints: some or all
					 pages get no TLB entry (memory slow path) */
	uint32_t pending_db;          /* DR6 bits of a #DB trap owed after an exit */
	uint32_t db_hits;             /* DR6 B0-B3 matched by this insn's data accesses */
	uint32_t db_deferred;         /* MOV SS's data breakpoint hits, for after the next */
	uint32_t pkru, pkrs;          /* protection-key rights: RDPKRU/WRPKRU, MSR 0x6e1 */
	vmm_trace_fn trace_fn;
	void *trace_opaque;
	const emu_block *blk;         /* block being executed */
	const emu_insn *cur;          /* instruction being executed */
	uint32_t chain_left;          /* blocks branches may still enter directly
					 (emu_chain; nonzero only in run.c's run_blocks) */
	/* Block executions, for the I/O log and for other vCPUs (cache.c:
	 * make_code waits for block starts); written only by this vCPU. */
	_Atomic uint64_t exec_seq;
	/* This vCPU executes no guest code now: waiting in make_code or,
	 * bracketed by emu_quiet_begin/end, anywhere else in the run loop. */
	_Atomic int quiet;
	uint64_t icount;              /* instructions retired (approximate) */
	uint64_t mval;                /* value read by the memory slow path */

	vmm_segment seg[6];           /* ES CS SS DS FS GS */
	vmm_segment ldt, tr;
	vmm_dtable gdt, idt;
	uint64_t cr0, cr2, cr3, cr4, cr8, efer, apic_base;
	uint64_t star, lstar, cstar, sfmask, kernel_gs_base, tsc_aux, pat;
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
	uint64_t dr[8];
	int64_t tsc_offset;
	uint64_t msr_val[VMM__X86_MSR_SLOTS];       /* VMM__MSR_STORED MSRs by slot (arch/x86/msr.c) */

	vmm_vcpu *vcpu;
	vmm_vm *vm;
	emu_vm *evm;
	uint64_t code_epoch_seen, map_epoch_seen;
	emu_io_log log;
	emu_ix ix;

	emu_fpu fpu;
	emu_tlb_entry tlbs[2][EMU_TLB_SIZE];
	emu_cache cache;
	uint64_t xcr0;                /* XCR0 (XSETBV); bit 0 always set */
} emu_cpu;

/* ---- Register access (byte offsets into r[]) -------------------------------- */
static inline uint64_t emu_reg_get(const emu_cpu *cpu, unsigned off, unsigned sz)
{
	const uint8_t *p = (const uint8_t *)cpu->r + off;
	uint16_t v16;

	switch (sz) {
	case EMU_SZ8: return *p;
	case EMU_SZ16: memcpy(&v16, p, 2); return v16;
	case EMU_SZ32: return (uint32_t)cpu->r[off >> 3];
	default: return cpu->r[off >> 3];
	}
}

static inline void emu_reg_set(emu_cpu *cpu, unsigned off, unsigned sz, uint64_t v)
{
	uint8_t *p = (uint8_t *)cpu->r + off;
	uint16_t v16 = (uint16_t)v;

	switch (sz) {
	case EMU_SZ8: *p = (uint8_t)v; break;
	case EMU_SZ16: memcpy(p, &v16, 2); break;
	case EMU_SZ32: cpu->r[off >> 3] = (uint32_t)v; break;
	default: cpu->r[off >> 3] = v; break;
	}
}

static inline uint64_t emu_sz_mask(unsigned sz)
{
	return sz == EMU_SZ64 ? ~0ull : (1ull << (8u << sz)) - 1;
}

static inline uint64_t emu_sext(uint64_t v, unsigned sz)
{
	unsigned sh = 64 - (8u << sz);

	return (uint64_t)((int64_t)(v << sh) >> sh);
}

/* Effective (offset) address of the memory operand. */
static inline uint64_t emu_ea_off(const emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t ea = cpu->r[ins->base] + (cpu->r[ins->index] << ins->scale) +
		      (uint64_t)ins->disp;

	return ins->asz == EMU_SZ64 ? ea : ea & emu_sz_mask(ins->asz);
}

/* Linear address of the memory operand. */
static inline uint64_t emu_ea(const emu_cpu *cpu, const emu_insn *ins)
{
	return (emu_ea_off(cpu, ins) + cpu->segbase[ins->seg]) & cpu->linmask;
}

/* Next RIP / this RIP of the instruction being executed. */
static inline uint64_t emu_next_rip(const emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t rip = cpu->blk->rip + ins->off + ins->len;

	return cpu->code_sz == EMU_SZ64 ? rip : rip & 0xffffffffull;
}

static inline uint64_t emu_this_rip(const emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t rip = cpu->blk->rip + ins->off;

	return cpu->code_sz == EMU_SZ64 ? rip : rip & 0xffffffffull;
}

/* Threaded dispatch: a hot handler that completed ends with
 * EMU_CONTINUE(cpu, ins), which runs the next instruction's handler as a
 * sibling call (a jump at -O2; at most a block's length of nesting
 * otherwise). The block loop always continues after cpu->cur. */
#define EMU_CONTINUE(cpu, ins)                                                   \
	do {                                                                     \
		const emu_insn *next_ = (ins) + 1;                               \
		(cpu)->cur = next_;                                              \
		return next_->fn((cpu), next_);                                  \
	} while (0)

/* ---- Faults ----------------------------------------------------------------- */
static inline int emu_fault(emu_cpu *cpu, unsigned vec, int has_err, uint32_t err)
{
	cpu->exc_vec = (uint8_t)vec;
	cpu->exc_has_err = (uint8_t)has_err;
	cpu->exc_err = err;
	return EMU_FAULT;
}
#define emu_gp(cpu, err) emu_fault((cpu), X86_EXC_GP, 1, (err))
#define emu_ud(cpu) emu_fault((cpu), X86_EXC_UD, 0, 0)
/* Before a waiting x87 instruction, WAIT/FWAIT or an MMX instruction: an
 * unmasked x87 exception of an earlier instruction is pending (FSW.ES) and
 * CR0.NE is set: #MF, a fault on this instruction. (With CR0.NE clear a PC
 * would signal FERR#; emu does not: no #MF, the flags stay.) */
static inline int emu_x87_pending(emu_cpu *cpu)
{
	unsigned sw = cpu->fpu.fsw;

	/* ES, or an exception flag whose mask is clear (ES as hardware sets it) */
	if (EMU_UNLIKELY((sw & 0x80u) || (sw & ~cpu->fpu.fcw & 0x3fu)) && (cpu->cr0 & X86_CR0_NE))
		return emu_fault(cpu, X86_EXC_MF, 0, 0);
	return 0;
}

/* Ends the run with VMM_EXIT_INTERNAL_ERROR and a message. */
int emu_internal_error(emu_cpu *cpu, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Appends "[rip 0x...: <code bytes>]" to the internal error (run loop). */
void emu_internal_error_where(emu_cpu *cpu);

/* ---- Parts ------------------------------------------------------------------ */
/* flags.c */
uint64_t emu_flags_arith(const emu_cpu *cpu);
uint64_t emu_get_rflags(const emu_cpu *cpu);
void emu_set_rflags(emu_cpu *cpu, uint64_t v);
int emu_cond_slow(const emu_cpu *cpu, unsigned cc);
int emu_get_cf(const emu_cpu *cpu);

/* cpu.c */
void emu_update_mode(emu_cpu *cpu);
/* run.c: vmm__backend_ops.run */
int emu_run_loop(emu_cpu *cpu, vmm_exit *exit);
int emu_set_cr0(emu_cpu *cpu, uint64_t v);
int emu_set_cr3(emu_cpu *cpu, uint64_t v);
int emu_set_cr4(emu_cpu *cpu, uint64_t v);
/* The VM's CPU model: what CPUID reports and the instructions check. */
static inline const vmm__x86_cpu_model *emu_model(const emu_cpu *cpu)
{
	return &cpu->evm->model;
}
int emu_set_efer(emu_cpu *cpu, uint64_t v);
uint64_t emu_rdtsc(const emu_cpu *cpu);

/* except.c: delivers cpu->exc_* through the IDT. Returns EMU_OK, or
 * EMU_EXIT_JUMP for a triple fault (shutdown exit filled), or EMU_ERROR. */
int emu_deliver(emu_cpu *cpu, uint64_t rip);
/* Software interrupt INT n / INT3 / INTO / INT1 (return address next_rip);
 * check_dpl: the gate's DPL must be >= CPL (not for INT1). EMU_JUMP. */
int emu_soft_int(emu_cpu *cpu, unsigned vec, uint64_t next_rip, int check_dpl);

/* exec_seg.c: descriptor-table access and segment loads. */
int emu_read_desc(emu_cpu *cpu, uint16_t sel, int wide, uint64_t *lo, uint64_t *hi);
int emu_load_seg(emu_cpu *cpu, unsigned seg, uint16_t sel);
int emu_ss_for_cpl(emu_cpu *cpu, uint16_t sel, unsigned cpl, int allow_null,
		   vmm_segment *out);
/* exec_far.c: commits a new CS (and CPL); flushes what depends on it. */
void emu_set_cs(emu_cpu *cpu, const vmm_segment *cs, unsigned cpl);
/* exec_task.c: switches to the task of TSS selector sel (checked here);
 * eip is the outgoing task's resume address. EMU_JUMP or a fault. */
enum { EMU_TASK_JMP, EMU_TASK_CALL, EMU_TASK_IRET, EMU_TASK_INT };
int emu_task_switch(emu_cpu *cpu, uint16_t sel, unsigned reason, uint64_t eip);
/* exec_gate.c: far CALL (is_call) / JMP through the gate at selector sel. */
int emu_gate_transfer(emu_cpu *cpu, const emu_insn *ins, uint16_t sel, int is_call);
/* Clears DS/ES/FS/GS that the new (outer) CPL may not use. */
void emu_null_outer_segs(emu_cpu *cpu);
int emu_sys_read(emu_cpu *cpu, uint64_t la, void *buf, unsigned n);
int emu_sys_write(emu_cpu *cpu, uint64_t la, const void *buf, unsigned n);

/* cpu.c: MSRs; nonzero = #GP */
int emu_msr_read(emu_cpu *cpu, uint32_t msr, uint64_t *v);
int emu_msr_write(emu_cpu *cpu, uint32_t msr, uint64_t v);
void emu_msr_reset(emu_cpu *cpu);     /* table MSRs to their reset values */

/* step.c: one instruction at a time while cpu->stepping or RFLAGS.TF:
 * instruction and data breakpoints (DR0-3/DR7), single-step traps, the
 * trace hook. run.c calls emu_step_one instead of running blocks. */
int emu_step_one(emu_cpu *cpu);
void emu_dr_changed(emu_cpu *cpu);                 /* after a DR0-3/DR7 change */
int emu_dr_general_detect(emu_cpu *cpu);           /* DR7.GD: #DB raised, 1 */
int emu_watch_page(const emu_cpu *cpu, uint64_t la);   /* la's page is watched */
void emu_watch_check(emu_cpu *cpu, uint64_t la, unsigned n, int is_write);
int emu_set_trace(emu_cpu *cpu, vmm_trace_fn fn, void *opaque);
/* After a change of CR0.AM, RFLAGS.AC or CPL: alignment checking on or off. */
void emu_ac_update(emu_cpu *cpu);
/* Memory slow path with cpu->nofill: #AC for a misaligned access, watchpoints. */
int emu_slow_checks(emu_cpu *cpu, uint64_t la, unsigned n, int is_write);
/* run.c: executes one block (for step.c). */
int emu_run_block(emu_cpu *cpu, const emu_block *b);
/* cpu.c: up to 15 code bytes at RIP without side effects; returns how many. */
unsigned emu_code_bytes(const emu_cpu *cpu, uint8_t *buf);

/* cache.c */
int emu_cache_init(emu_cache *c);
void emu_cache_fini(emu_cache *c);
void emu_cache_flush(emu_cpu *cpu);
void emu_jc_flush(emu_cpu *cpu);
/* Finds or decodes the block at cpu->rip. EMU_OK and *out, or EMU_FAULT
 * (fetch fault) or EMU_ERROR. */
int emu_block_get(emu_cpu *cpu, emu_block **out);
/* Decodes one instruction at cpu->rip into buf (uncached), for replay. */
int emu_block_single(emu_cpu *cpu, emu_block *buf);
emu_page_info *emu_page_info_find(emu_vm *evm, uint64_t gpa);
void emu_code_written(emu_cpu *cpu, emu_vm *evm, uint64_t gpa);
void emu_pages_written(emu_vm *evm, uint64_t gpa, uint64_t len);
/* A wait inside the run loop (HLT, wait-for-SIPI) must be bracketed by
 * these: a vCPU that makes a page a code page does not wait for a quiet
 * vCPU, which drops its write-TLB entries in emu_quiet_end. */
void emu_quiet_begin(emu_cpu *cpu);
void emu_quiet_end(emu_cpu *cpu);

static inline int emu_block_valid(const emu_block *b)
{
	if (!b->gen[0] || atomic_load_explicit(b->gen[0], memory_order_relaxed) != b->gen_val[0])
		return 0;
	return b->npages < 2 ||
	       atomic_load_explicit(b->gen[1], memory_order_relaxed) == b->gen_val[1];
}

static inline unsigned emu_jc_index(uint64_t rip)
{
	return (unsigned)(rip ^ (rip >> EMU_JC_BITS) ^ (rip >> 24)) & ((1u << EMU_JC_BITS) - 1);
}

/* The jump-cache fast path of the run loop. */
static inline emu_block *emu_jc_lookup(emu_cpu *cpu)
{
	const emu_jc_entry *jc = &cpu->cache.jc[emu_jc_index(cpu->rip)];
	emu_block *b = jc->blk;

	if (EMU_LIKELY(jc->gen == cpu->cache.jc_gen && jc->rip == cpu->rip &&
		       b->mode_key == cpu->mode_key && emu_block_valid(b)))
		return b;
	return NULL;
}

/* Between blocks: a kick, a possibly deliverable interrupt or a new code
 * epoch sends the vCPU back to the run loop. */
static inline int emu_attention(const emu_cpu *cpu)
{
	return atomic_load_explicit(&cpu->vcpu->kicked, memory_order_relaxed) ||
	       atomic_load_explicit(&cpu->vcpu->intr_attention, memory_order_relaxed) ||
	       atomic_load_explicit(&cpu->evm->code_epoch, memory_order_relaxed) !=
		       cpu->code_epoch_seen;
}

/* Block chaining: a branch handler that set cpu->rip ends with
 * `return emu_chain(cpu)`, which enters the next block itself (a tail call)
 * when run_blocks would (no attention, a jump-cache hit) and cpu->chain_left
 * allows it; else EMU_JUMP back to run_blocks. Each branch then dispatches
 * its successor from its own call site, which the host's branch predictor
 * learns per guest branch; chain_left bounds the nesting where the compiler
 * makes no tail calls (-O1 builds). */
static inline __attribute__((always_inline)) int emu_chain(emu_cpu *cpu)
{
	emu_block *b;

	if (!cpu->chain_left || EMU_UNLIKELY(emu_attention(cpu)) || !(b = emu_jc_lookup(cpu)))
		return EMU_JUMP;
	cpu->chain_left--;
	cpu->blk = b;
	atomic_store_explicit(&cpu->exec_seq,
			      atomic_load_explicit(&cpu->exec_seq, memory_order_relaxed) + 1,
			      memory_order_release);
	cpu->cur = b->ins;
	return b->ins[0].fn(cpu, b->ins);
}

/* introspect.c (see there); run.c: emu_run_one runs the instruction at RIP
 * uncached. */
int emu_run_one(emu_cpu *cpu);
int emu_h_ix_break(emu_cpu *cpu, const emu_insn *ins);
unsigned emu_ix_break_here(emu_cpu *cpu, uint64_t la, uint64_t gpa);
int emu_ix_insn(emu_cpu *cpu, const emu_insn *ins, unsigned type, uint32_t index,
		uint64_t value);
int emu_ix_access(emu_cpu *cpu, uint64_t la, unsigned n, unsigned acc, uint64_t gpa0,
		  uint64_t gpa1, unsigned first);
int emu_ix_no_tlb(emu_cpu *cpu, uint64_t la, uint64_t gpa);
int emu_ix_fault(emu_cpu *cpu);
int emu_ix_step(emu_cpu *cpu);
void emu_ix_sync(emu_cpu *cpu);
void emu_ix_caps(vmm_vm *vm, vmm_hook_caps *caps);
int emu_ix_changed(vmm_vm *vm);

static inline int emu_ix_on(const emu_cpu *cpu, unsigned type)
{
	return EMU_UNLIKELY(atomic_load_explicit(&cpu->vm->ix_flags, memory_order_relaxed) &
			    (1u << type));
}

/* In an instruction handler, after its privilege checks: raise the event if
 * a hook wants it (the instruction then runs again once allowed). */
#define EMU_IX_CHECK(cpu, ins, type, index, value)                                 \
	do {                                                                       \
		if (emu_ix_on((cpu), (type))) {                                    \
			int ix_rc_ = emu_ix_insn((cpu), (ins), (type), (index), (value)); \
			if (ix_rc_)                                                \
				return ix_rc_;                                     \
		}                                                                  \
	} while (0)

/* bind.c: fills ins from a decoded instruction; returns flags below. */
struct emu_dec;
enum { EMU_BIND_END = 1u << 0 };
unsigned emu_bind(const struct emu_dec *d, const uint8_t *bytes, uint64_t rip,
		  emu_insn *ins);

/* Handlers shared between files. */
int emu_h_unsupported(emu_cpu *cpu, const emu_insn *ins);
int emu_h_ud(emu_cpu *cpu, const emu_insn *ins);
int emu_h_restart(emu_cpu *cpu, const emu_insn *ins);
int emu_h_next(emu_cpu *cpu, const emu_insn *ins);

#endif /* VMM_EMU_H */
