/* step.c - running one instruction at a time: the debug registers
 * (instruction breakpoints, data watchpoints, DR6/DR7), the single-step
 * trap of RFLAGS.TF and the instruction trace hook (vmm/trace.h).
 *
 * The fast paths know nothing of this: while the trace hook is set or DR7
 * enables a breakpoint (cpu->stepping) or TF is set, the run loop calls
 * emu_step_one for each instruction instead of running cached blocks, and
 * pages holding a watched address get no software-TLB entry, so every
 * access to them takes the slow path, which checks the watchpoints. */
#include "backends/emu/exec.h"
#include "backends/emu/exec_tab.h"
#include "backends/emu/intr.h"

#define DR6_BD (1u << 13)
#define DR6_BS (1u << 14)
#define DR6_FIXED 0xffff0ff0ull
#define DR7_GD (1ull << 13)

static const unsigned bp_len[4] = { 1, 2, 8, 4 };   /* DR7 LENn encoding */

/* Breakpoint i is enabled (L or G) with access kind rw (0 exec, 1 write,
 * 3 read/write; 2 is I/O, not supported) and length len. */
static int bp_enabled(const emu_cpu *cpu, unsigned i, unsigned *rw, unsigned *len)
{
	uint64_t dr7 = cpu->dr[7];

	*rw = (unsigned)(dr7 >> (16 + i * 4)) & 3;
	*len = bp_len[(dr7 >> (18 + i * 4)) & 3];
	return ((dr7 >> (i * 2)) & 3) && *rw != 2;
}

static int data_bp(const emu_cpu *cpu, unsigned i, uint64_t *base, unsigned *len)
{
	unsigned rw;

	if (!bp_enabled(cpu, i, &rw, len) || rw == 0)
		return 0;
	*base = cpu->dr[i] & ~(uint64_t)(*len - 1);
	return 1;
}

static int data_bps_armed(const emu_cpu *cpu)
{
	uint64_t base;
	unsigned len;

	for (unsigned i = 0; i < 4; i++)
		if (data_bp(cpu, i, &base, &len))
			return 1;
	return 0;
}

void emu_dr_changed(emu_cpu *cpu)
{
	int armed = 0;

	for (unsigned i = 0; i < 4; i++) {
		unsigned rw, len;

		armed |= bp_enabled(cpu, i, &rw, &len);
	}
	cpu->stepping = armed || cpu->trace_fn;
	cpu->nofill = cpu->ac_check || data_bps_armed(cpu);
	emu_tlb_flush(cpu);    /* watched pages lose their entries; jc too */
}

void emu_ac_update(emu_cpu *cpu)
{
	int ac = (cpu->cr0 & X86_CR0_AM) && (cpu->rflags & X86_FL_AC) && cpu->cpl == 3;

	if (ac == cpu->ac_check)
		return;
	cpu->ac_check = (uint8_t)ac;
	cpu->nofill = cpu->ac_check || data_bps_armed(cpu);
	if (ac)
		emu_tlb_flush(cpu);    /* every access takes the slow path */
}

int emu_slow_checks(emu_cpu *cpu, uint64_t la, unsigned n, int is_write)
{
	if (cpu->ac_check && (n == 2 || n == 4 || n == 8) && (la & (n - 1)))
		return emu_fault(cpu, X86_EXC_AC, 1, 0);
	if (cpu->stepping)
		emu_watch_check(cpu, la, n, is_write);
	return EMU_OK;
}

int emu_set_trace(emu_cpu *cpu, vmm_trace_fn fn, void *opaque)
{
	cpu->trace_fn = fn;
	cpu->trace_opaque = opaque;
	emu_dr_changed(cpu);
	return 0;
}

int emu_watch_page(const emu_cpu *cpu, uint64_t la)
{
	uint64_t page = la & ~0xfffull, base;
	unsigned len;

	for (unsigned i = 0; i < 4; i++)
		if (data_bp(cpu, i, &base, &len) && base < page + 4096 && base + len > page)
			return 1;
	return 0;
}

void emu_watch_check(emu_cpu *cpu, uint64_t la, unsigned n, int is_write)
{
	uint64_t base;
	unsigned len;

	for (unsigned i = 0; i < 4; i++) {
		if (!data_bp(cpu, i, &base, &len))
			continue;
		if (!is_write && ((cpu->dr[7] >> (16 + i * 4)) & 3) == 1)
			continue;      /* write-only watchpoint */
		if (base < la + n && base + len > la)
			cpu->db_hits |= 1u << i;
	}
}

/* Instruction breakpoints matching the instruction at RIP. */
static uint32_t exec_bp_hits(const emu_cpu *cpu)
{
	uint64_t la = (cpu->segbase[X86_SEG_CS] + cpu->rip) & cpu->linmask;
	uint32_t hits = 0;

	for (unsigned i = 0; i < 4; i++) {
		unsigned rw, len;

		if (bp_enabled(cpu, i, &rw, &len) && rw == 0 && cpu->dr[i] == la)
			hits |= 1u << i;
	}
	return hits;
}

/* Raises #DB with DR6 status bits (B0-B3 replaced, BD/BS added). */
static int raise_db(emu_cpu *cpu, uint32_t bits)
{
	cpu->dr[6] = ((cpu->dr[6] & ~0xfull) | bits | DR6_FIXED) & 0xffffefffull;
	cpu->dr[7] &= ~DR7_GD;
	return emu_fault(cpu, X86_EXC_DB, 0, 0);
}

/* MOV to/from DRn with DR7.GD set: #DB (fault) with DR6.BD. */
int emu_dr_general_detect(emu_cpu *cpu)
{
	if (!(cpu->dr[7] & DR7_GD))
		return 0;
	raise_db(cpu, DR6_BD);
	return 1;
}

/* ---- Trace events ---------------------------------------------------------- */

static void get_regs(const emu_cpu *cpu, vmm_regs *g)
{
	static const uint8_t order[16] = { 0, 3, 1, 2, 6, 7, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15 };
	uint64_t *slots = &g->rax;

	for (unsigned i = 0; i < 16; i++)
		slots[i] = cpu->r[order[i]];
	g->rip = cpu->rip;
	g->rflags = emu_get_rflags(cpu);
}

static void trace_begin(const emu_cpu *cpu, vmm_trace_insn *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->size = sizeof(*ev);
	ev->cs_base = cpu->segbase[X86_SEG_CS];
	ev->mode = 8u << cpu->code_sz;
	ev->len = emu_code_bytes(cpu, ev->bytes);
	get_regs(cpu, &ev->before);
}

static void trace_end(emu_cpu *cpu, vmm_trace_insn *ev, unsigned len, int st, int done)
{
	if (!cpu->trace_fn)
		return;
	if (len && len < ev->len)
		ev->len = len;
	ev->end = done ? VMM_TRACE_RETIRED : st == EMU_FAULT ? VMM_TRACE_EXCEPTION :
		  VMM_TRACE_PARTIAL;
	ev->vector = st == EMU_FAULT ? cpu->exc_vec : 0;
	get_regs(cpu, &ev->after);
	cpu->trace_fn(cpu->trace_opaque, cpu->vcpu, ev);
}

/* ---- One instruction --------------------------------------------------------- */

static int is_soft_int(emu_fn fn)
{
	return fn == emu_h_intn || fn == emu_h_int3 || fn == emu_h_into || fn == emu_h_int1;
}

/* Whether the instruction completed (RIP moved on), by run_block's status. */
static int completed(const emu_cpu *cpu, const emu_block *b, int st)
{
	switch (st) {
	case EMU_JUMP: case EMU_NEXT: case EMU_EXIT_NEXT: case EMU_EXIT_JUMP:
		return 1;
	case EMU_RESTART:
		return cpu->cur != b->ins;    /* at the terminator */
	}
	return 0;
}

/* The instruction at RIP follows a MOV SS / POP SS (its shadow). */
static int in_ss_shadow(const emu_cpu *cpu)
{
	return cpu->shadow_ss && emu_shadow_active(cpu);
}

/* After a completed instruction: RF cleared (unless IRET set it), then #DB for watchpoint hits
 * and the single-step trap (not after INT n/INT3/INTO/INT1, which clear
 * TF themselves); owed until the next run if the instruction exited.
 * MOV SS / POP SS blocks its own #DB traps (as Intel CPUs do): its
 * single-step trap is lost, its data breakpoint hits come after the next
 * instruction (at the handler's entry if that is INT n or INT3; an ICEBP's
 * own #DB reports them). */
static int after_insn(emu_cpu *cpu, const emu_block *b, int st, uint64_t tf)
{
	emu_fn fn = b->ins[0].fn;
	uint32_t bits = cpu->db_hits | (fn == emu_h_int1 ? 0 : cpu->db_deferred);

	cpu->db_deferred = 0;
	if (fn != emu_h_iret)     /* IRET loads RF from the frame */
		cpu->rflags &= ~X86_FL_RF;
	if (tf && !is_soft_int(fn))
		bits |= DR6_BS;
	if (cpu->shadow_ss && cpu->shadow_seq == cpu->exec_seq) {
		cpu->db_deferred = bits & ~DR6_BS;
		return st;
	}
	if (!bits)
		return st;
	if (st == EMU_EXIT_NEXT || st == EMU_EXIT_JUMP) {
		cpu->pending_db = bits;
		return st;
	}
	return raise_db(cpu, bits);
}

static int prepare(emu_cpu *cpu, int *replay)
{
	emu_io_log *log = &cpu->log;
	uint32_t hits;

	*replay = log->replay;
	if (cpu->pending_db) {
		hits = cpu->pending_db;
		cpu->pending_db = 0;
		return raise_db(cpu, hits);
	}
	if (*replay) {
		log->replay = 0;
		if (cpu->rip != log->rip) {
			log->count = 0;     /* the caller moved RIP: forget the access */
			*replay = 0;
		}
	}
	if (!in_ss_shadow(cpu)) {
		cpu->db_deferred = 0;      /* the shadowed instruction faulted */
		/* instruction breakpoints: not in a MOV SS shadow (Intel) */
		if (!*replay && !(cpu->rflags & X86_FL_RF) && (hits = exec_bp_hits(cpu)))
			return raise_db(cpu, hits);
	}
	return EMU_OK;
}

int emu_step_one(emu_cpu *cpu)
{
	emu_one_block one;
	emu_io_log *log = &cpu->log;
	uint64_t tf = cpu->rflags & X86_FL_TF;
	vmm_trace_insn ev = { 0 };
	int st, replay, done;

	st = prepare(cpu, &replay);
	if (st)
		return st;
	if (cpu->trace_fn)
		trace_begin(cpu, &ev);
	st = emu_block_single(cpu, &one.b);
	if (st) {
		trace_end(cpu, &ev, 0, st, 0);
		return st;
	}
	cpu->db_hits = 0;
	if (replay) {
		log->pos = 0;
		log->adopt = 1;
	}
	st = emu_run_block(cpu, &one.b);
	log->adopt = 0;
	cpu->blk = NULL;
	if (replay && !log->replay)
		log->count = 0;
	done = completed(cpu, &one.b, st);
	trace_end(cpu, &ev, one.b.ins[0].len, st, done);
	return done ? after_insn(cpu, &one.b, st, tf) : st;
}
