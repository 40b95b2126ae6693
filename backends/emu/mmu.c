/* mmu.c - the emu backend's memory slow paths: linear-to-physical
 * translation through the guest page tables (arch/x86/paging.c), software
 * TLB fills and flushes, RAM versus MMIO dispatch, accesses that cross a
 * page, and the MMIO/port I/O replay log that makes exits restartable. */
#include <stdio.h>

#include "arch/x86/msr.h"
#include "arch/x86/paging.h"
#include "backends/emu/mmu.h"

typedef struct xlat {
	uint64_t gpa;
	uint8_t *hva;        /* NULL: not RAM for this access (MMIO) */
} xlat;

/* Drops TLB entries, then the jump cache (a RIP may be other code now):
 * every entry (DROP_ALL), the non-global ones (MOV CR3, task switches,
 * INVPCID types 1 and 3), or those of the mapping that holds la, global
 * or not (INVLPG: for a large page each of its 4 KiB entries; tag_r is
 * valid whenever any tag of an entry is). */
enum { DROP_ALL, DROP_NONGLOBAL, DROP_PAGE };

static void tlb_drop(emu_cpu *cpu, int what, uint64_t la)
{
	for (unsigned s = 0; s < 2; s++)
		for (unsigned i = 0; i < EMU_TLB_SIZE; i++) {
			emu_tlb_entry *e = &cpu->tlbs[s][i];

			if ((what == DROP_NONGLOBAL && e->global) ||
			    (what == DROP_PAGE && (e->tag_r == EMU_TLB_INVALID ||
						   ((e->tag_r ^ la) & e->lmask))))
				continue;
			e->tag_r = e->tag_w = e->tag_x = EMU_TLB_INVALID;
		}
	emu_jc_flush(cpu);
}

void emu_tlb_flush(emu_cpu *cpu)
{
	tlb_drop(cpu, DROP_ALL, 0);
}

void emu_tlb_flush_nonglobal(emu_cpu *cpu)
{
	tlb_drop(cpu, DROP_NONGLOBAL, 0);
}

void emu_tlb_flush_page(emu_cpu *cpu, uint64_t la)
{
	tlb_drop(cpu, DROP_PAGE, la);
}

void emu_tlb_drop_writes(emu_cpu *cpu, uint64_t gpa_page)
{
	for (unsigned s = 0; s < 2; s++)
		for (unsigned i = 0; i < EMU_TLB_SIZE; i++) {
			emu_tlb_entry *e = &cpu->tlbs[s][i];

			if (gpa_page == ~0ull || e->gpa == gpa_page)
				e->tag_w = EMU_TLB_INVALID;
		}
}

static void *pte_ptr(void *opaque, uint64_t gpa)
{
	static __thread uint64_t rom_copy[4];   /* one per paging level */
	static __thread unsigned rom_next;
	emu_cpu *cpu = opaque;
	const vmm__memslot *slot = vmm__mem_find(cpu->vm, gpa);
	uint64_t *copy, left;

	/* Entries are naturally aligned: 4 bytes in the slot mean all of it. */
	if (!slot || (left = slot->gpa + slot->size - gpa) < 4)
		return NULL;
	if (slot->flags & VMM_MEM_WRITE)
		return slot->hva + (gpa - slot->gpa);
	/* Tables in read-only memory: A/D updates go to a copy (dropped, as
	 * writes to ROM are). */
	copy = &rom_copy[rom_next++ & 3];
	*copy = 0;
	memcpy(copy, slot->hva + (gpa - slot->gpa), left < 8 ? left : 8);
	return copy;
}

static void fill_tlb(emu_cpu *cpu, uint64_t la, const vmm__x86_walk_result *w,
		     const vmm__memslot *slot, uint64_t gpa)
{
	emu_tlb_entry *e = &cpu->tlb[(la >> 12) & (EMU_TLB_SIZE - 1)];
	uint64_t page = la & ~0xfffull, gpage = gpa & ~0xfffull;
	emu_page_info *pi;

	if (EMU_UNLIKELY(cpu->nofill) && (cpu->ac_check || emu_watch_page(cpu, la)))
		return;   /* #AC or watched: every access takes the slow path (step.c) */
	if (e->gpa != gpage || e->tag_r != page)
		e->tag_w = e->tag_x = EMU_TLB_INVALID;
	e->tag_r = page;
	e->lmask = w->page_mask;
	e->global = w->global;
	e->addend = (uint64_t)(uintptr_t)(slot->hva + (gpage - slot->gpa)) - page;
	e->gpa = gpage;
	if (w->exec && (slot->flags & VMM_MEM_EXEC))
		e->tag_x = page;
	if (!w->writable || !w->dirty || !(slot->flags & VMM_MEM_WRITE))
		return;
	pi = emu_page_info_find(cpu->evm, gpage);
	if (pi && atomic_load_explicit(&pi->code[(gpage - pi->gpa) >> 12],
				       memory_order_relaxed))
		return;   /* code page: writes take the slow path */
	e->tag_w = page;
}

static int walk_error(emu_cpu *cpu, int rc, uint64_t la, const vmm__x86_walk_result *w)
{
	if (rc == VMM__X86_WALK_FAULT) {
		cpu->cr2 = la;
		return emu_fault(cpu, X86_EXC_PF, 1, w->pfec);
	}
	return emu_internal_error(cpu, "emu: page table at gpa 0x%llx (for linear "
				  "0x%llx) is not in guest RAM",
				  (unsigned long long)w->bad_gpa, (unsigned long long)la);
}

/* A non-canonical linear address: #SS(0) when the access goes through SS
 * (a memory operand based on RSP/RBP or with an SS override, or a stack
 * access near RSP: push, pop, call, ret), else #GP(0). Fetches and the
 * CPU's own accesses (descriptor tables, event delivery) are #GP. */
static int noncanonical(emu_cpu *cpu, uint64_t la, unsigned acc)
{
	const emu_insn *ins = cpu->cur;
	uint64_t sp = cpu->segbase[X86_SEG_SS] + cpu->r[4];

	if (acc & (EMU_ACC_X | EMU_ACC_SYS))
		return emu_gp(cpu, 0);
	if ((ins && ins->mem && ins->seg == X86_SEG_SS) || la - (sp - 0x10000) < 0x20000)
		return emu_fault(cpu, X86_EXC_SS, 1, 0);
	return emu_gp(cpu, 0);
}

/* Translates one byte's page for access acc; fills the TLB when the access
 * privilege matches the current one (with CR4.SMAP not for a supervisor
 * access to a user page: RFLAGS.AC decides each time). PKRU/PKRS and CR4
 * changes flush the TLB. */
static int translate(emu_cpu *cpu, uint64_t la, unsigned acc, xlat *out)
{
	vmm__x86_walk_env env = { cpu->cr0, cpu->cr3, cpu->cr4, cpu->efer, pte_ptr, cpu,
				  cpu->pkru, cpu->pkrs };
	vmm__x86_walk_result w;
	const vmm__memslot *slot;
	unsigned wacc = 0;
	int rc, user = cpu->cpl == 3 && !(acc & EMU_ACC_SYS);

	if (cpu->long_mode && !vmm__x86_canonical(la))
		return noncanonical(cpu, la, acc);
	if (acc & EMU_ACC_W)
		wacc |= VMM__X86_ACC_WRITE;
	if (acc & EMU_ACC_X)
		wacc |= VMM__X86_ACC_FETCH;
	if (user)
		wacc |= VMM__X86_ACC_USER;
	else if (cpu->cpl < 3 && (cpu->rflags & X86_FL_AC))
		wacc |= VMM__X86_ACC_AC;
	rc = vmm__x86_walk(&env, la, wacc, &w);
	if (rc)
		return walk_error(cpu, rc, la, &w);
	out->gpa = w.gpa;
	out->hva = NULL;
	slot = vmm__mem_find(cpu->vm, w.gpa);
	if (!slot)
		return EMU_OK;
	if ((acc & EMU_ACC_W) && !(slot->flags & VMM_MEM_WRITE))
		return EMU_OK;
	out->hva = slot->hva + (w.gpa - slot->gpa);
	if ((acc & EMU_ACC_W) && cpu->evm)
		emu_code_written(cpu, cpu->evm, w.gpa);
	if (user == (cpu->cpl == 3) && !(!user && w.user && (cpu->cr4 & X86_CR4_SMAP)) &&
	    !(EMU_UNLIKELY(atomic_load_explicit(&cpu->vm->ix_flags, memory_order_relaxed)) &&
	      emu_ix_no_tlb(cpu, la, w.gpa)))
		fill_tlb(cpu, la, &w, slot, w.gpa);   /* watched pages stay slow */
	return EMU_OK;
}

/* With CR4.SMAP and RFLAGS.AC, a supervisor access to a user page is
 * allowed but never enters the TLB (AC decides each time: translate()), so
 * copies to and from user memory (copy_to_user's REP MOVS) would go one
 * element at a time through page walks. AC cannot change during one string
 * instruction: its chunk may use the translation. Not when the fill was
 * refused for another reason: watched or hooked pages, #AC checks, a write
 * to a page that holds (or is becoming) code. */
static uint8_t *smap_override(emu_cpu *cpu, const xlat *x, unsigned acc)
{
	emu_page_info *pi;

	if (cpu->cpl == 3 || !(cpu->cr4 & X86_CR4_SMAP) || !(cpu->rflags & X86_FL_AC) ||
	    cpu->nofill || atomic_load_explicit(&cpu->vm->ix_flags, memory_order_relaxed))
		return NULL;
	if ((acc & EMU_ACC_W) && cpu->evm && (pi = emu_page_info_find(cpu->evm, x->gpa)) &&
	    atomic_load(&pi->code[(x->gpa - pi->gpa) >> 12]) != EMU_PAGE_DATA)
		return NULL;
	return x->hva;
}

/* The host address of la for a plain access through the TLB, filling the
 * entry with a walk on a miss; NULL when the access must take the slow path
 * (MMIO, a write to a code page, a watched or hooked page, a fault: the
 * slow path raises it again). The pointer stays valid until the guest runs,
 * even if a later fill evicts its entry. */
uint8_t *emu_tlb_host(emu_cpu *cpu, uint64_t la, unsigned acc)
{
	const emu_tlb_entry *e = &cpu->tlb[(la >> 12) & (EMU_TLB_SIZE - 1)];
	uint64_t page = la & ~0xfffull;
	xlat x;

	if ((acc & EMU_ACC_W ? e->tag_w : e->tag_r) == page)
		return (uint8_t *)(uintptr_t)(la + e->addend);
	if (translate(cpu, la, acc, &x) || !x.hva)
		return NULL;
	if ((acc & EMU_ACC_W ? e->tag_w : e->tag_r) == page)
		return (uint8_t *)(uintptr_t)(la + e->addend);
	return smap_override(cpu, &x, acc);
}

int emu_fetch_page(emu_cpu *cpu, uint64_t la, const uint8_t **page, uint64_t *gpa)
{
	const vmm__memslot *slot;
	xlat x;
	int rc = translate(cpu, la, EMU_ACC_X, &x);

	if (rc)
		return rc;
	slot = vmm__mem_find(cpu->vm, x.gpa);
	if (!x.hva || !slot || !(slot->flags & VMM_MEM_EXEC))
		return emu_internal_error(cpu, "emu: instruction fetch at rip 0x%llx from "
					  "gpa 0x%llx, which is not executable guest RAM",
					  (unsigned long long)cpu->rip,
					  (unsigned long long)x.gpa);
	*page = x.hva - (x.gpa & 0xfff);
	*gpa = x.gpa & ~0xfffull;
	return EMU_OK;
}

/* ---- MMIO and port I/O with the replay log ------------------------------ */

static int io_exit(emu_cpu *cpu, emu_io_rec *rec)
{
	vmm_exit *exit = &cpu->vcpu->exit;

	exit->reason = rec->is_pio ? VMM_EXIT_IO : VMM_EXIT_MMIO;
	if (rec->is_pio) {
		exit->io.port = (uint16_t)rec->addr;
		exit->io.size = rec->size;
		exit->io.direction = rec->is_write ? VMM_IO_OUT : VMM_IO_IN;
		exit->io.data = rec->is_write ? (uint32_t)rec->data : 0;
	} else {
		exit->mmio.addr = rec->addr;
		exit->mmio.size = rec->size;
		exit->mmio.is_write = rec->is_write;
		exit->mmio.data = rec->is_write ? rec->data : 0;
	}
	cpu->log.replay = 1;
	return EMU_EXIT_RESTART;
}

static int bus_call(emu_cpu *cpu, emu_io_rec *rec)
{
	uint64_t data = rec->data;
	uint32_t d32 = (uint32_t)rec->data;
	int rc;

	if (rec->is_pio) {
		rc = vmm__bus_pio(cpu->vcpu, (uint16_t)rec->addr, rec->size, rec->is_write, &d32);
		data = d32;
	} else {
		rc = vmm__bus_mmio(cpu->vcpu, rec->addr, rec->size, rec->is_write, &data);
	}
	if (rc < 0)
		return emu_internal_error(cpu, "emu: device at %s 0x%llx failed: %s",
					  rec->is_pio ? "port" : "gpa",
					  (unsigned long long)rec->addr, vmm_last_error());
	if (!rec->is_write && rc != VMM__BUS_UNCLAIMED)
		rec->data = data & (rec->size == 8 ? ~0ull : (1ull << (rec->size * 8)) - 1);
	if (rc == VMM__BUS_DONE) {
		rec->done = 1;
		return EMU_OK;
	}
	if (rc == VMM__BUS_STOP) {
		rec->done = 1;
		cpu->log.replay = 1;
		return EMU_EXIT_RESTART;
	}
	return io_exit(cpu, rec);
}

/* One device access of size 1/2/4/8 bytes; *data in/out. */
static int io_access(emu_cpu *cpu, int is_pio, uint64_t addr, unsigned size,
		     int is_write, uint64_t *data)
{
	emu_io_log *log = &cpu->log;
	uint64_t seq = atomic_load_explicit(&cpu->exec_seq, memory_order_relaxed);
	emu_io_rec *rec;
	int rc;

	if (log->adopt) {
		log->adopt = 0;
		log->seq = seq;
		log->ins = cpu->cur;
	}
	if (log->seq != seq || log->ins != cpu->cur) {
		log->count = log->pos = 0;
		log->seq = seq;
		log->ins = cpu->cur;
	}
	if (log->pos < log->count) {
		rec = &log->rec[log->pos];
		if (rec->addr == addr && rec->size == size && rec->is_write == is_write &&
		    rec->is_pio == is_pio && rec->done) {
			log->pos++;
			if (!is_write)
				*data = rec->data;
			return EMU_OK;
		}
		log->count = log->pos;   /* diverged: forget the rest */
	}
	if (log->count == EMU_LOG_MAX)
		return emu_internal_error(cpu, "emu: the instruction makes more than %d "
					  "device accesses", EMU_LOG_MAX);
	rec = &log->rec[log->count++];
	log->pos = log->count;
	*rec = (emu_io_rec){ addr, is_write ? *data : 0, (uint8_t)size, (uint8_t)is_write,
			     (uint8_t)is_pio, 0 };
	rc = bus_call(cpu, rec);
	if (!is_write)
		*data = rec->data;
	return rc;
}

int emu_pio(emu_cpu *cpu, uint16_t port, unsigned size, int is_write, uint32_t *data)
{
	uint64_t d = *data;
	int rc = io_access(cpu, 1, port, size, is_write, &d);

	*data = (uint32_t)d;
	return rc;
}

/* MMIO for n bytes: one access if n is 1, 2, 4 or 8, else 8/4/2/1 pieces. */
static int mmio(emu_cpu *cpu, uint64_t gpa, uint8_t *buf, unsigned n, int is_write)
{
	while (n) {
		unsigned size = n >= 8 ? 8 : n >= 4 ? 4 : n >= 2 ? 2 : 1;
		uint64_t data = 0;
		int rc;

		memcpy(&data, buf, size);
		rc = io_access(cpu, 0, gpa, size, is_write, &data);
		if (rc)
			return rc;
		if (!is_write)
			memcpy(buf, &data, size);
		gpa += size;
		buf += size;
		n -= size;
	}
	return EMU_OK;
}

/* ---- Slow paths ----------------------------------------------------------- */

/* Translates the (at most two) pages of [la, la+n), n <= 4096. */
static int translate_span(emu_cpu *cpu, uint64_t la, unsigned n, unsigned acc,
			  xlat x[2], unsigned *first)
{
	int rc;

	*first = 4096 - (unsigned)(la & 0xfff);
	if (*first > n)
		*first = n;
	rc = translate(cpu, la, acc, &x[0]);
	if (!rc && *first < n)
		rc = translate(cpu, (la + *first) & cpu->linmask, acc, &x[1]);
	if (!rc && EMU_UNLIKELY(atomic_load_explicit(&cpu->vm->ix_flags, memory_order_relaxed)))
		rc = emu_ix_access(cpu, la, n, acc, x[0].gpa, x[1].gpa, *first);
	return rc;
}

static int access_part(emu_cpu *cpu, const xlat *x, uint8_t *buf, unsigned n, int is_write)
{
	if (!x->hva)
		return mmio(cpu, x->gpa, buf, n, is_write);
	if (is_write)
		memcpy(x->hva, buf, n);
	else
		memcpy(buf, x->hva, n);
	return EMU_OK;
}

int emu_mem_read_slow(emu_cpu *cpu, uint64_t la, void *buf, unsigned n, unsigned acc)
{
	xlat x[2];
	unsigned first;
	int rc = translate_span(cpu, la, n, acc, x, &first);

	if (rc)
		return rc;
	if (EMU_UNLIKELY(cpu->nofill | cpu->stepping) && !(acc & (EMU_ACC_SYS | EMU_ACC_X)) &&
	    (rc = emu_slow_checks(cpu, la, n, 0)))
		return rc;
	rc = access_part(cpu, &x[0], buf, first, 0);
	if (rc || first == n)
		return rc;
	return access_part(cpu, &x[1], (uint8_t *)buf + first, n - first, 0);
}

/* After a store to RAM: another vCPU may have decoded the page between the
 * invalidation in translate() and the store, seeing the old bytes. */
static void written_again(emu_cpu *cpu, const xlat *x)
{
	if (!x->hva || !cpu->evm)
		return;
	atomic_thread_fence(memory_order_seq_cst);
	emu_code_written(cpu, cpu->evm, x->gpa);
}

/* Writes never modify buf: access_part and mmio only read it for writes. */
int emu_mem_write_slow(emu_cpu *cpu, uint64_t la, const void *buf, unsigned n,
		       unsigned acc)
{
	uint8_t *src = (uint8_t *)(uintptr_t)buf;
	xlat x[2];
	unsigned first;
	int rc = translate_span(cpu, la, n, acc | EMU_ACC_W, x, &first);

	if (rc)
		return rc;
	if (EMU_UNLIKELY(cpu->nofill | cpu->stepping) && !(acc & EMU_ACC_SYS) &&
	    (rc = emu_slow_checks(cpu, la, n, 1)))
		return rc;
	rc = access_part(cpu, &x[0], src, first, 1);
	if (!rc && first < n)
		rc = access_part(cpu, &x[1], src + first, n - first, 1);
	written_again(cpu, &x[0]);
	if (first < n)
		written_again(cpu, &x[1]);
	return rc;
}

int emu_read_slow(emu_cpu *cpu, uint64_t la, unsigned sz)
{
	uint64_t v = 0;
	int rc = emu_mem_read_slow(cpu, la, &v, 1u << sz, EMU_ACC_R);

	cpu->mval = v;
	return rc;
}

int emu_write_slow(emu_cpu *cpu, uint64_t la, unsigned sz, uint64_t v)
{
	return emu_mem_write_slow(cpu, la, &v, 1u << sz, EMU_ACC_W);
}

int emu_mem_rmw_ptr(emu_cpu *cpu, uint64_t la, unsigned n, void **p)
{
	xlat x[2];
	unsigned first;
	int rc = translate_span(cpu, la, n, EMU_ACC_W, x, &first);

	*p = NULL;
	if (rc)
		return rc;
	if (EMU_UNLIKELY(cpu->nofill))
		return EMU_OK;   /* the caller's emu_read/emu_write check #AC, watchpoints */
	if (first == n && x[0].hva)
		*p = x[0].hva;
	return EMU_OK;
}
