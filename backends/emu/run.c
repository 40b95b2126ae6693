/* run.c - the emu run loop: complete the previous exit, then find and execute
 * blocks until something needs the caller. Kicks are noticed between blocks;
 * a block never runs unbounded (blocks end at branches, REP loops yield). */
#include "backends/emu/exec.h"
#include "backends/emu/intr.h"

/* Executes block b from its first instruction; sets cpu->rip for how it
 * ended and returns the status. */
static inline __attribute__((always_inline)) int run_block(emu_cpu *cpu,
							   const emu_block *b)
{
	const emu_insn *ins = b->ins;
	uint64_t rip;
	int st;

	cpu->blk = b;
	atomic_store_explicit(&cpu->exec_seq,
			      atomic_load_explicit(&cpu->exec_seq, memory_order_relaxed) + 1,
			      memory_order_release);
	cpu->cur = ins;
	for (;;) {
		st = ins->fn(cpu, ins);
		if (EMU_UNLIKELY(st))
			break;
		ins = cpu->cur + 1;
		cpu->cur = ins;
	}
	ins = cpu->cur;
	b = cpu->blk;              /* a branch may have chained into another block */
	if (EMU_LIKELY(st == EMU_JUMP))
		return st;
	switch (st) {
	case EMU_EXIT_JUMP:
		return st;
	case EMU_NEXT: case EMU_EXIT_NEXT:
		rip = b->rip + ins->off + ins->len;
		break;
	default:
		rip = b->rip + ins->off;
		break;
	}
	cpu->rip = (b->mode_key & 3) == EMU_SZ64 ? rip : rip & 0xffffffffull;
	return st;
}

int emu_run_block(emu_cpu *cpu, const emu_block *b)
{
	return run_block(cpu, b);
}

/* Blocks a chain of branches may enter before returning here (emu_chain). */
#define CHAIN_MAX 64

/* Executes b and the blocks that follow it through the jump cache, until
 * something other than a branch ends a block or the run loop must look.
 * Branch handlers chain into the next block themselves (emu_chain) up to
 * CHAIN_MAX times; this loop takes over when they do not. */
static int run_blocks(emu_cpu *cpu, const emu_block *b)
{
	int st;

	for (;;) {
		cpu->chain_left = CHAIN_MAX;
		st = run_block(cpu, b);
		if (EMU_UNLIKELY(st > EMU_RESTART))
			break;
		st = EMU_OK;
		if (EMU_UNLIKELY(emu_attention(cpu)))
			break;
		b = emu_jc_lookup(cpu);
		if (EMU_UNLIKELY(!b))
			break;
	}
	cpu->chain_left = 0;
	return st;
}

/* Executes the one instruction at RIP again, replaying its logged device
 * accesses (after an MMIO/port exit). */
static int run_replay(emu_cpu *cpu)
{
	emu_one_block one;
	emu_io_log *log = &cpu->log;
	int st;

	log->replay = 0;
	if (cpu->rip != log->rip) {
		log->count = 0;     /* the caller moved RIP: forget the access */
		return EMU_OK;
	}
	st = emu_block_single(cpu, &one.b);
	if (st)
		return st;
	log->pos = 0;
	log->adopt = 1;
	st = run_block(cpu, &one.b);
	log->adopt = 0;
	cpu->blk = NULL;
	if (!log->replay)
		log->count = 0;
	return st;
}

/* Executes the one instruction at RIP alone, decoded uncached: the one in an
 * interrupt shadow (then the run loop looks for interrupts again), or one
 * an introspection event stepped over (introspect.c). */
int emu_run_one(emu_cpu *cpu)
{
	emu_one_block one;
	int st = emu_block_single(cpu, &one.b);

	if (st)
		return st;
	st = run_block(cpu, &one.b);
	cpu->blk = NULL;
	return st;
}

/* Applies what the caller supplied for the previous exit. */
static void complete_exit(emu_cpu *cpu, const vmm_exit *exit)
{
	emu_io_log *log = &cpu->log;

	if (cpu->pending_hypercall) {
		cpu->r[0] = exit->hypercall.ret;
		cpu->pending_hypercall = 0;
	}
	if (log->replay && log->count > 0) {
		emu_io_rec *rec = &log->rec[log->count - 1];

		if (!rec->done && !rec->is_write) {
			uint64_t mask = rec->size == 8 ? ~0ull : (1ull << (rec->size * 8)) - 1;

			rec->data = (rec->is_pio ? exit->io.data : exit->mmio.data) & mask;
		}
		rec->done = 1;
	}
}

static void check_epochs(emu_cpu *cpu)
{
	uint64_t map = atomic_load_explicit(&cpu->evm->map_epoch, memory_order_acquire);
	uint64_t code = atomic_load(&cpu->evm->code_epoch);   /* after in_run = 1 */

	if (EMU_UNLIKELY(map != cpu->map_epoch_seen)) {
		cpu->map_epoch_seen = map;
		emu_tlb_flush(cpu);
		emu_cache_flush(cpu);
		emu_ix_sync(cpu);     /* hooks may have changed */
	}
	if (EMU_UNLIKELY(code != cpu->code_epoch_seen)) {
		cpu->code_epoch_seen = code;
		emu_tlb_drop_writes(cpu, ~0ull);
	}
}

/* One step: a replay, or a block. */
static int step(emu_cpu *cpu)
{
	emu_block *b;
	int st;

	/* RF (set by IRET) lasts one instruction: emu_step_one clears it */
	if (EMU_UNLIKELY(cpu->stepping | (cpu->rflags & (X86_FL_TF | X86_FL_RF))))
		return emu_step_one(cpu);
	if (EMU_UNLIKELY(cpu->log.replay))
		return run_replay(cpu);
	if (EMU_UNLIKELY(cpu->ix.slow))
		return emu_ix_step(cpu);
	b = emu_jc_lookup(cpu);
	if (EMU_UNLIKELY(!b)) {
		st = emu_block_get(cpu, &b);
		if (st)
			return st;
	}
	return run_blocks(cpu, b);
}

int emu_run_loop(emu_cpu *cpu, vmm_exit *exit)
{
	vmm_vcpu *vcpu = cpu->vcpu;
	int st;

	complete_exit(cpu, exit);
	exit->reason = VMM_EXIT_NONE;
	exit->vcpu_index = vcpu->index;
	for (;;) {
		if (EMU_UNLIKELY(atomic_load_explicit(&vcpu->kicked, memory_order_relaxed))) {
			exit->reason = VMM_EXIT_CANCELLED;
			break;
		}
		check_epochs(cpu);
		if (EMU_UNLIKELY(emu_intr_pending(cpu))) {
			if (emu_shadow_active(cpu)) {
				/* traced and single-stepped like any other */
				st = EMU_UNLIKELY(cpu->stepping | (cpu->rflags & X86_FL_TF)) ?
				     emu_step_one(cpu) : emu_run_one(cpu);
			} else {
				st = emu_intr_step(cpu);
				if (st != EMU_OK)
					break;
				continue;
			}
		} else {
			st = step(cpu);
		}
		if (EMU_LIKELY(st <= EMU_RESTART))
			continue;
		if (st == EMU_FAULT) {
			st = EMU_UNLIKELY(cpu->ix.fault |
					  atomic_load_explicit(&cpu->vm->ix_flags,
							       memory_order_relaxed)) ?
			     emu_ix_fault(cpu) : emu_deliver(cpu, cpu->rip);
			if (st == EMU_OK)
				continue;
		}
		if (st == EMU_EXIT_RESTART && cpu->log.replay)
			cpu->log.rip = cpu->rip;
		break;
	}
	exit->rip = cpu->rip;
	if (exit->reason == VMM_EXIT_INTERNAL_ERROR)
		emu_internal_error_where(cpu);
	return 0;
}
