/* mmu.h - guest memory access from the executor: inline software-TLB fast
 * paths, and the slow paths (page walk, MMIO, page-crossing, faults). */
#ifndef VMM_EMU_MMU_H
#define VMM_EMU_MMU_H

#include "backends/emu/emu.h"

/* Access kinds */
enum {
	EMU_ACC_R = 0,
	EMU_ACC_W = 1u << 0,
	EMU_ACC_X = 1u << 1,
	EMU_ACC_SYS = 1u << 2     /* implicit supervisor access (tables, TSS) */
};

/* Slow paths for one access of 2^sz bytes: the value read is left in
 * cpu->mval (so callers never pass the address of a local, which would cost
 * every handler a stack-protector check). */
int emu_read_slow(emu_cpu *cpu, uint64_t la, unsigned sz);
int emu_write_slow(emu_cpu *cpu, uint64_t la, unsigned sz, uint64_t v);
/* Slow paths: n bytes (1..4096) at linear address la. */
int emu_mem_read_slow(emu_cpu *cpu, uint64_t la, void *buf, unsigned n, unsigned acc);
int emu_mem_write_slow(emu_cpu *cpu, uint64_t la, const void *buf, unsigned n,
		       unsigned acc);
/* Host pointer for an atomic read-modify-write of n bytes at la, with write
 * permission checked. *p = NULL (status EMU_OK) if the bytes are not plain
 * RAM within one page: the caller then uses emu_read/emu_write. */
int emu_mem_rmw_ptr(emu_cpu *cpu, uint64_t la, unsigned n, void **p);
/* Host address of la for a plain RAM access (EMU_ACC_R or EMU_ACC_W) by
 * way of the TLB, or NULL: the caller then takes the slow path. */
uint8_t *emu_tlb_host(emu_cpu *cpu, uint64_t la, unsigned acc);
/* Translates la for an instruction fetch: host pointer of its page and the
 * page's guest-physical address. */
int emu_fetch_page(emu_cpu *cpu, uint64_t la, const uint8_t **page, uint64_t *gpa);
/* Port I/O through the bus and the replay log. */
int emu_pio(emu_cpu *cpu, uint16_t port, unsigned size, int is_write, uint32_t *data);
/* Ends the I/O log's instruction (a REP iteration completed). */
static inline void emu_io_commit(emu_cpu *cpu)
{
	cpu->log.count = 0;
	cpu->log.pos = 0;
}

void emu_tlb_flush(emu_cpu *cpu);
void emu_tlb_flush_nonglobal(emu_cpu *cpu);
void emu_tlb_flush_page(emu_cpu *cpu, uint64_t la);
void emu_tlb_drop_writes(emu_cpu *cpu, uint64_t gpa_page);   /* all if ~0 */

/* The fast paths compare the tag with the page of the access's last byte:
 * one compare covers both the hit and "within one page". An access that
 * crosses into the next page never matches, since the entry at la's index
 * holds a page of that index and the next page has the next index. */
#define EMU_TLB_LAST(la, n) (((la) + (n) - 1) & ~0xfffull)

static inline int emu_read(emu_cpu *cpu, uint64_t la, unsigned sz, uint64_t *v)
{
	const emu_tlb_entry *e = &cpu->tlb[(la >> 12) & (EMU_TLB_SIZE - 1)];
	unsigned n = 1u << sz;
	int rc;

	if (EMU_LIKELY(e->tag_r == EMU_TLB_LAST(la, n))) {
		const uint8_t *p = (const uint8_t *)(uintptr_t)(la + e->addend);
		uint16_t v16;
		uint32_t v32;

		switch (sz) {
		case EMU_SZ8: *v = *p; break;
		case EMU_SZ16: memcpy(&v16, p, 2); *v = v16; break;
		case EMU_SZ32: memcpy(&v32, p, 4); *v = v32; break;
		default: memcpy(v, p, 8); break;
		}
		return EMU_OK;
	}
	rc = emu_read_slow(cpu, la, sz);
	*v = cpu->mval;
	return rc;
}

/* The TLB hit alone: the host address of n bytes at la within one page of
 * RAM readable (tag_r) or writable (tag_w) through the TLB, or NULL. For
 * handlers whose slow path is a separate (tail-called) function, so that
 * their fast path needs no stack frame. */
static inline uint8_t *emu_tlb_rptr(const emu_cpu *cpu, uint64_t la, unsigned n)
{
	const emu_tlb_entry *e = &cpu->tlb[(la >> 12) & (EMU_TLB_SIZE - 1)];

	if (EMU_LIKELY(e->tag_r == EMU_TLB_LAST(la, n)))
		return (uint8_t *)(uintptr_t)(la + e->addend);
	return NULL;
}

static inline uint8_t *emu_tlb_wptr(const emu_cpu *cpu, uint64_t la, unsigned n)
{
	const emu_tlb_entry *e = &cpu->tlb[(la >> 12) & (EMU_TLB_SIZE - 1)];

	if (EMU_LIKELY(e->tag_w == EMU_TLB_LAST(la, n)))
		return (uint8_t *)(uintptr_t)(la + e->addend);
	return NULL;
}

static inline uint64_t emu_load_sz(const uint8_t *p, unsigned sz)
{
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;

	switch (sz) {
	case EMU_SZ8: return *p;
	case EMU_SZ16: memcpy(&v16, p, 2); return v16;
	case EMU_SZ32: memcpy(&v32, p, 4); return v32;
	default: memcpy(&v64, p, 8); return v64;
	}
}

static inline void emu_store_sz(uint8_t *p, unsigned sz, uint64_t v)
{
	uint16_t v16 = (uint16_t)v;
	uint32_t v32 = (uint32_t)v;

	switch (sz) {
	case EMU_SZ8: *p = (uint8_t)v; break;
	case EMU_SZ16: memcpy(p, &v16, 2); break;
	case EMU_SZ32: memcpy(p, &v32, 4); break;
	default: memcpy(p, &v, 8); break;
	}
}

static inline int emu_write(emu_cpu *cpu, uint64_t la, unsigned sz, uint64_t v)
{
	const emu_tlb_entry *e = &cpu->tlb[(la >> 12) & (EMU_TLB_SIZE - 1)];
	unsigned n = 1u << sz;

	if (EMU_LIKELY(e->tag_w == EMU_TLB_LAST(la, n))) {
		emu_store_sz((uint8_t *)(uintptr_t)(la + e->addend), sz, v);
		return EMU_OK;
	}
	return emu_write_slow(cpu, la, sz, v);
}

/* Checks that a write of 2^sz bytes at la would succeed (no side effects
 * beyond A/D bits): used before committing multi-part updates. */
static inline int emu_probe_write(emu_cpu *cpu, uint64_t la, unsigned sz)
{
	const emu_tlb_entry *e = &cpu->tlb[(la >> 12) & (EMU_TLB_SIZE - 1)];
	unsigned n = 1u << sz;
	void *p;

	if (EMU_LIKELY(e->tag_w == EMU_TLB_LAST(la, n)))
		return EMU_OK;
	return emu_mem_rmw_ptr(cpu, la, n, &p);
}

#endif
