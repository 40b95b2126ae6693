/* cache.c - the decoded-block cache. Blocks are keyed by guest-physical
 * address (plus RIP and decode mode), found quickly through a per-vCPU jump
 * cache indexed by RIP, and invalidated per guest page: every RAM page has a
 * "holds code" flag and a write generation; writing a code page bumps its
 * generation, which makes every block decoded from it stale. */
#include <linux/membarrier.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backends/emu/bind.h"
#include "backends/emu/decode.h"
#include "backends/emu/mmu.h"

#define ARENA_SIZE (16u << 20)   /* a Linux boot decodes ~100k blocks: one flush, not 13 (4 MiB) */
#define HASH_SIZE (1u << EMU_HASH_BITS)
#define JC_SIZE (1u << EMU_JC_BITS)

int emu_cache_init(emu_cache *c)
{
	c->arena = malloc(ARENA_SIZE);
	c->hash = calloc(HASH_SIZE, sizeof(*c->hash));
	c->jc = calloc(JC_SIZE, sizeof(*c->jc));
	if (!c->arena || !c->hash || !c->jc) {
		emu_cache_fini(c);
		return vmm__err(VMM_ENOMEM, "emu: cannot allocate the block cache (%u MiB)",
				ARENA_SIZE >> 20);
	}
	c->arena_size = ARENA_SIZE;
	c->arena_used = 0;
	c->jc_gen = 1;                       /* the zeroed entries are invalid */
	return 0;
}

void emu_cache_fini(emu_cache *c)
{
	free(c->arena);
	free(c->hash);
	free(c->jc);
	c->arena = NULL;
	c->hash = NULL;
	c->jc = NULL;
}

void emu_jc_flush(emu_cpu *cpu)
{
	cpu->cache.jc_gen++;
}

void emu_cache_flush(emu_cpu *cpu)
{
	emu_cache *c = &cpu->cache;

	c->arena_used = 0;
	memset(c->hash, 0, HASH_SIZE * sizeof(*c->hash));
	emu_jc_flush(cpu);
	c->flushes++;
}

/* ---- Code pages -------------------------------------------------------- */

emu_page_info *emu_page_info_find(emu_vm *evm, uint64_t gpa)
{
	for (uint32_t i = 0; i < evm->npage_infos; i++) {
		emu_page_info *pi = &evm->pages[i];

		if (gpa >= pi->gpa && gpa - pi->gpa < (pi->npages << 12))
			return pi;
	}
	return NULL;
}

/* Stops the block being executed after the current instruction. */
static void stop_current_block(emu_cpu *cpu, const _Atomic uint32_t *gen)
{
	emu_block *b = (emu_block *)cpu->blk;

	if (!b || (b->gen[0] != gen && (b->npages < 2 || b->gen[1] != gen)))
		return;
	for (unsigned i = 0; i <= b->ninsns; i++)
		b->ins[i].fn = emu_h_restart;
}

static int page_written(emu_vm *evm, uint64_t gpa, _Atomic uint32_t **genp)
{
	emu_page_info *pi = emu_page_info_find(evm, gpa);
	uint64_t idx;
	uint8_t state;

	if (!pi)
		return 0;
	idx = (gpa - pi->gpa) >> 12;
	state = atomic_load_explicit(&pi->code[idx], memory_order_relaxed);
	if (state == EMU_PAGE_DATA)
		return 0;
	/* A code page becomes data; one being marked stays so (its writes
	 * keep taking the slow path until the marking completes). */
	if (state == EMU_PAGE_CODE)
		atomic_compare_exchange_strong(&pi->code[idx], &state, EMU_PAGE_DATA);
	atomic_fetch_add(&pi->gen[idx], 1);
	*genp = &pi->gen[idx];
	return 1;
}

void emu_code_written(emu_cpu *cpu, emu_vm *evm, uint64_t gpa)
{
	_Atomic uint32_t *gen;

	if (page_written(evm, gpa, &gen))
		stop_current_block(cpu, gen);
}

void emu_pages_written(emu_vm *evm, uint64_t gpa, uint64_t len)
{
	_Atomic uint32_t *gen;
	uint64_t end = gpa + len;

	if (len == 0 || end < gpa)
		return;
	atomic_thread_fence(memory_order_seq_cst);   /* the host's stores first */
	for (uint64_t p = gpa & ~0xfffull; p < end; p += 4096)
		page_written(evm, p, &gen);
}

/* ---- Making a page a code page -------------------------------------------
 * Another vCPU may hold a write-TLB entry for the page, filled while it was
 * data: its fast-path writes would change the code without invalidating the
 * blocks. So the page is marked (EMU_PAGE_MARKING: new fills stay read-only,
 * slow-path writes invalidate), code_epoch is bumped (every vCPU drops its
 * write entries at its next block boundary), and the marking vCPU waits
 * until each other vCPU is out of its run loop, quiet, or has started two
 * blocks since: the second block start comes after a block-boundary check
 * that saw the new epoch. membarrier() (private expedited) orders the other
 * vCPUs' plain stores against ours, so they need no fence of their own;
 * without it a third block start is awaited. The decode only reads the page
 * after that, and the page becomes EMU_PAGE_CODE. */

static int others_running(const emu_cpu *cpu)
{
	for (unsigned i = 0; i < VMM_MAX_VCPUS; i++) {
		emu_cpu *o = atomic_load(&cpu->evm->cpus[i]);

		if (o && o != cpu && atomic_load(&o->vcpu->in_run))
			return 1;
	}
	return 0;
}

static int busy(const emu_cpu *o, uint64_t snap, uint64_t need)
{
	return atomic_load(&o->vcpu->in_run) && !atomic_load(&o->quiet) &&
	       atomic_load_explicit(&o->exec_seq, memory_order_acquire) - snap < need;
}

/* 0, or -1 if this vCPU was kicked while waiting. */
static int wait_others(emu_cpu *cpu)
{
	emu_vm *evm = cpu->evm;
	uint64_t snap[VMM_MAX_VCPUS], need = evm->membarrier_ok ? 2 : 3;

	if (!others_running(cpu))
		return 0;
	if (evm->membarrier_ok)
		syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
	for (unsigned i = 0; i < VMM_MAX_VCPUS; i++) {
		emu_cpu *o = atomic_load(&evm->cpus[i]);

		snap[i] = o ? atomic_load(&o->exec_seq) : 0;
	}
	for (unsigned spins = 0;; spins++) {
		unsigned i;

		for (i = 0; i < VMM_MAX_VCPUS; i++) {
			emu_cpu *o = atomic_load(&evm->cpus[i]);

			if (o && o != cpu && busy(o, snap[i], need))
				break;
		}
		if (i == VMM_MAX_VCPUS)
			return 0;
		if (atomic_load(&cpu->vcpu->kicked))
			return -1;
		if (spins < 64)
			__builtin_ia32_pause();
		else
			sched_yield();
	}
}

static void drop_all_writes(emu_cpu *cpu)
{
	cpu->code_epoch_seen = atomic_load(&cpu->evm->code_epoch);
	emu_tlb_drop_writes(cpu, ~0ull);
}

void emu_quiet_begin(emu_cpu *cpu)
{
	atomic_store(&cpu->quiet, 1);
}

void emu_quiet_end(emu_cpu *cpu)
{
	atomic_store(&cpu->quiet, 0);
	drop_all_writes(cpu);
}

static int make_code_shared(emu_cpu *cpu, _Atomic uint8_t *state)
{
	int rc = 0;

	emu_quiet_begin(cpu);       /* nobody waits for us while we wait */
	pthread_mutex_lock(&cpu->evm->code_lock);
	atomic_store(&cpu->quiet, 0);
	if (atomic_load(state) != EMU_PAGE_CODE) {
		/* Only this (locked) path sets MARKING and CODE; writes only
		 * turn CODE into DATA, so MARKING holds until the store below. */
		atomic_store(state, EMU_PAGE_MARKING);
		atomic_fetch_add(&cpu->evm->code_epoch, 1);
		rc = wait_others(cpu);
		if (!rc)
			atomic_store(state, EMU_PAGE_CODE);
	}
	drop_all_writes(cpu);
	pthread_mutex_unlock(&cpu->evm->code_lock);
	return rc;
}

/* Marks the page holding gpa as code; *gen = its generation counter (NULL
 * outside RAM). EMU_OK, or EMU_RESTART if kicked while waiting. */
static int mark_code(emu_cpu *cpu, uint64_t gpa, _Atomic uint32_t **gen)
{
	emu_page_info *pi = emu_page_info_find(cpu->evm, gpa);
	_Atomic uint8_t *state;
	uint64_t idx;

	*gen = NULL;
	if (!pi)
		return EMU_OK;
	idx = (gpa - pi->gpa) >> 12;
	state = &pi->code[idx];
	if (atomic_load_explicit(state, memory_order_acquire) != EMU_PAGE_CODE) {
		if (cpu->vm->config.vcpus > 1) {
			if (make_code_shared(cpu, state))
				return EMU_RESTART;
		} else {
			atomic_store(state, EMU_PAGE_CODE);
			atomic_fetch_add(&cpu->evm->code_epoch, 1);
			emu_tlb_drop_writes(cpu, gpa & ~0xfffull);
		}
	}
	*gen = &pi->gen[idx];
	return EMU_OK;
}

static unsigned hash_index(uint64_t gpa)
{
	return (unsigned)((gpa * 0x9e3779b97f4a7c15ull) >> (64 - EMU_HASH_BITS));
}

/* ---- Decoding a block ---------------------------------------------------- */

static int h_gp0(emu_cpu *cpu, const emu_insn *ins)
{
	return emu_gp(cpu, 0);
}

static uint64_t code_lin(const emu_cpu *cpu, uint64_t rip)
{
	return (cpu->segbase[X86_SEG_CS] + rip) & cpu->linmask;
}

typedef struct tx {
	emu_cpu *cpu;
	emu_block *b;
	const uint8_t *page;   /* host page of the instruction being decoded */
	int track;             /* mark pages as code (cached blocks) */
} tx;

static int add_page(tx *t, uint64_t gpage)
{
	unsigned i = t->b->npages++;
	int rc = EMU_OK;

	t->b->gen[i] = NULL;
	if (t->track)
		rc = mark_code(t->cpu, gpage, &t->b->gen[i]);
	if (rc) {
		t->b->npages--;
		return rc;
	}
	t->b->gen_val[i] = t->b->gen[i] ? atomic_load(t->b->gen[i]) : 0;
	return rc;
}

/* Copies the bytes of the instruction at la (crossing into the next page
 * if needed). Returns the decoder's result; *crossed if it used page 2. */
static int fetch_decode(tx *t, uint64_t la, uint8_t bytes[15], emu_dec *d, int *crossed)
{
	unsigned pofs = la & 0xfff, avail = 4096 - pofs;
	const uint8_t *page2;
	uint64_t gpage2;
	int len, rc;

	if (avail > 15)
		avail = 15;
	memcpy(bytes, t->page + pofs, avail);
	len = emu_decode(bytes, avail, t->cpu->code_sz, d);
	*crossed = 0;
	if (len != EMU_DEC_MORE)
		return len;
	rc = emu_fetch_page(t->cpu, (la + avail) & t->cpu->linmask, &page2, &gpage2);
	if (rc)
		return rc == EMU_FAULT ? -100 - EMU_FAULT : -100 - rc;
	rc = add_page(t, gpage2);
	if (rc)
		return -100 - rc;
	memcpy(bytes + avail, page2, 15 - avail);
	*crossed = 1;
	return emu_decode(bytes, 15, t->cpu->code_sz, d);
}

static int h_nm(emu_cpu *cpu, const emu_insn *ins)
{
	return emu_fault(cpu, X86_EXC_NM, 0, 0);
}

/* Decoding with EMU_MODE_FPCHK: x87 instructions raise #NM with CR0.EM or
 * TS (WAIT with TS and MP); SSE ones #UD with EM or without CR4.OSFXSR,
 * else #NM with TS; FXSAVE/FXRSTOR #NM with EM or TS; the XSAVE family #NM
 * with TS; CLFLUSHOPT none. */
static void fp_check(const emu_cpu *cpu, const emu_dec *d, const uint8_t *bytes,
		     emu_insn *ins)
{
	uint64_t cr0 = cpu->cr0;
	int ts = !!(cr0 & X86_CR0_TS), em = !!(cr0 & X86_CR0_EM);
	emu_insn tmp;
	unsigned fl;

	if (d->map == EMU_MAP_1 && d->opcode >= 0xd8 && d->opcode <= 0xdf) {
		if (ts || em)
			ins->fn = h_nm;
		return;
	}
	if (d->map == EMU_MAP_1 && d->opcode == 0x9b) {
		if (ts && (cr0 & X86_CR0_MP))
			ins->fn = h_nm;
		return;
	}
	memset(&tmp, 0, sizeof(tmp));
	if (d->map != EMU_MAP_0F || !emu_bind_sse(d, bytes, &tmp, &fl))
		return;
	if (d->opcode == 0xae && (d->reg & 7) < 2) {
		if (ts || em)
			ins->fn = h_nm;
		return;
	}
	if (d->opcode == 0xae && (d->reg & 7) == 7)
		return;                 /* CLFLUSHOPT: no x87/SSE checks */
	if (d->opcode == 0xae && (d->reg & 7) >= 4) {
		if (ts)                 /* XSAVE family: #NM with TS (OSXSAVE: handler) */
			ins->fn = h_nm;
		return;
	}
	if (em || !(cpu->cr4 & X86_CR4_OSFXSR))
		ins->fn = emu_h_ud;
	else if (ts)
		ins->fn = h_nm;
}

static void bind_error(emu_insn *ins, int len)
{
	ins->fn = len == EMU_DEC_TOOLONG ? h_gp0 : emu_h_ud;
	ins->len = 0;
}

/* A breakpoint (or an execute-protected page) at la: ends the block before
 * it, or makes it the block's only, event-raising, instruction. */
static int ix_break(tx *t, uint64_t la, uint64_t off, unsigned n)
{
	emu_insn *ins = &t->b->ins[0];
	unsigned kind = emu_ix_break_here(t->cpu, la, (t->b->gpa & ~0xfffull) | (la & 0xfff));

	if (!kind)
		return 0;
	if (n)
		return 1;
	memset(ins, 0, sizeof(*ins));
	ins->fn = emu_h_ix_break;
	ins->aux = (uint8_t)kind;
	return 1;
}

/* Decodes up to max instructions from b->rip into b. */
static int decode_block(tx *t, unsigned max)
{
	emu_cpu *cpu = t->cpu;
	emu_block *b = t->b;
	uint64_t off = 0, gpage;
	unsigned n = 0;
	int rc = emu_fetch_page(cpu, code_lin(cpu, b->rip), &t->page, &gpage);

	if (rc)
		return rc;
	b->gpa = gpage | (code_lin(cpu, b->rip) & 0xfff);
	b->npages = 0;
	rc = add_page(t, gpage);
	if (rc)
		return rc;
	for (;;) {
		uint64_t la = code_lin(cpu, b->rip + off);
		uint8_t bytes[15];
		emu_dec d;
		int crossed, len;
		unsigned flags;

		if (off && !(la & 0xfff))
			break;    /* the next instruction starts on the next page */
		if (EMU_UNLIKELY(atomic_load_explicit(&cpu->vm->ix_flags, memory_order_relaxed) &
				 EMU_IX_EXEC_EVENTS) && ix_break(t, la, off, n)) {
			n += !n;  /* a breakpoint starts its own block */
			break;
		}
		len = fetch_decode(t, la, bytes, &d, &crossed);
		if (len <= -100) {
			if (n)
				break;     /* fault when it runs first in its own block */
			return -100 - len;
		}
		b->ins[n].off = (uint16_t)off;
		if (len < 0) {
			bind_error(&b->ins[n++], len);
			break;
		}
		flags = emu_bind(&d, bytes, b->rip + off, &b->ins[n]);
		if (EMU_UNLIKELY(cpu->mode_key & EMU_MODE_FPCHK))
			fp_check(cpu, &d, bytes, &b->ins[n]);
		b->ins[n].off = (uint16_t)off;
		b->ins[n].len = (uint8_t)len;
		n++;
		off += (unsigned)len;
		if ((flags & EMU_BIND_END) || crossed || n == max)
			break;
	}
	emu_live_flags(b->ins, n);
	memset(&b->ins[n], 0, sizeof(b->ins[n]));
	b->ins[n].fn = emu_h_restart;
	b->ins[n].off = (uint16_t)off;
	b->ninsns = (uint16_t)n;
	return EMU_OK;
}

static emu_block *hash_lookup(emu_cpu *cpu, uint64_t gpa)
{
	emu_block **pp = &cpu->cache.hash[hash_index(gpa)];

	/* The key first: checking each block's page generation on the way
	 * costs a dependent cache miss per link. A stale block is unlinked
	 * when its key is looked up again (its successor is decoded then). */
	for (emu_block *b = *pp; b; b = *pp) {
		if (b->gpa == gpa && b->rip == cpu->rip && b->mode_key == cpu->mode_key) {
			if (emu_block_valid(b))
				return b;
			*pp = b->hnext;
			continue;
		}
		pp = &b->hnext;
	}
	return NULL;
}

static int new_block(emu_cpu *cpu, emu_block **out)
{
	union { emu_block b; uint8_t raw[sizeof(emu_block) +
					 (EMU_BLOCK_MAX_INSNS + 1) * sizeof(emu_insn)]; } tmp;
	emu_cache *c = &cpu->cache;
	tx t = { cpu, &tmp.b, NULL, 1 };
	size_t size;
	emu_block *b;
	int rc;

	memset(&tmp.b, 0, sizeof(tmp.b));
	tmp.b.rip = cpu->rip;
	tmp.b.mode_key = cpu->mode_key;
	rc = decode_block(&t, EMU_BLOCK_MAX_INSNS);
	if (rc)
		return rc;
	size = sizeof(emu_block) + (tmp.b.ninsns + 1u) * sizeof(emu_insn);
	if (c->arena_used + size > c->arena_size)
		emu_cache_flush(cpu);
	b = (emu_block *)(c->arena + c->arena_used);
	c->arena_used += size;
	memcpy(b, &tmp.b, size);
	b->hnext = c->hash[hash_index(b->gpa)];
	c->hash[hash_index(b->gpa)] = b;
	*out = b;
	return EMU_OK;
}

int emu_block_get(emu_cpu *cpu, emu_block **out)
{
	uint64_t la = code_lin(cpu, cpu->rip);
	const emu_tlb_entry *e = &cpu->tlb[(la >> 12) & (EMU_TLB_SIZE - 1)];
	emu_jc_entry *jc = &cpu->cache.jc[emu_jc_index(cpu->rip)];
	const uint8_t *page;
	uint64_t gpa;
	emu_block *b;
	int rc;

	if (e->tag_x == (la & ~0xfffull)) {
		gpa = e->gpa | (la & 0xfff);
	} else {
		rc = emu_fetch_page(cpu, la, &page, &gpa);
		if (rc)
			return rc;
		gpa |= la & 0xfff;
	}
	b = hash_lookup(cpu, gpa);
	if (!b) {
		rc = new_block(cpu, &b);
		if (rc)
			return rc;
	}
	jc->rip = cpu->rip;
	jc->blk = b;
	jc->gen = cpu->cache.jc_gen;
	*out = b;
	return EMU_OK;
}

int emu_block_single(emu_cpu *cpu, emu_block *buf)
{
	tx t = { cpu, buf, NULL, 0 };

	memset(buf, 0, sizeof(*buf));
	buf->rip = cpu->rip;
	buf->mode_key = cpu->mode_key;
	return decode_block(&t, 1);
}
