/* paging.c - the x86 page-table walk for every paging mode (Intel SDM vol. 3,
 * chapter 4): 32-bit (4 KiB and, with CR4.PSE, 4 MiB pages), PAE (4 KiB,
 * 2 MiB) and 4-level (4 KiB, 2 MiB, 1 GiB). Entries are untrusted guest
 * data: reserved bits give #PF with RSVD, tables outside RAM are reported. */
#include <string.h>

#include "arch/x86/paging.h"
#include "arch/x86/x86.h"

#define PTE_P   (1ull << 0)
#define PTE_RW  (1ull << 1)
#define PTE_US  (1ull << 2)
#define PTE_A   (1ull << 5)
#define PTE_D   (1ull << 6)
#define PTE_PS  (1ull << 7)
#define PTE_G   (1ull << 8)
#define PTE_NX  (1ull << 63)

#define PHYS_MASK (((1ull << VMM__X86_PHYS_BITS) - 1) & ~0xfffull)
#define RSVD_HIGH (((1ull << 52) - 1) & ~((1ull << VMM__X86_PHYS_BITS) - 1))

typedef struct walk {
	const vmm__x86_walk_env *env;
	unsigned access;
	void *ptr[4];          /* host pointers of the entries visited */
	int wide[4];           /* 8-byte entry (else 4-byte) */
	int levels;
	uint64_t rw, us, nx;   /* accumulated permissions */
	vmm__x86_walk_result *res;
} walk;

static uint32_t pfec_base(const walk *w)
{
	uint32_t pfec = 0;

	if (w->access & VMM__X86_ACC_WRITE)
		pfec |= X86_PF_W;
	if (w->access & VMM__X86_ACC_USER)
		pfec |= X86_PF_U;
	if ((w->access & VMM__X86_ACC_FETCH) &&
	    (((w->env->efer & X86_EFER_NXE) && (w->env->cr4 & X86_CR4_PAE)) ||
	     (w->env->cr4 & X86_CR4_SMEP)))      /* I/D: with NX or SMEP (SDM 4.7) */
		pfec |= X86_PF_I;
	return pfec;
}

static int fault(walk *w, uint32_t extra)
{
	w->res->pfec = pfec_base(w) | extra;
	return VMM__X86_WALK_FAULT;
}

/* Reads the entry at gpa; 1 on success, 0 if the table is not in RAM. */
static int read_entry(walk *w, uint64_t gpa, int wide, uint64_t *entry)
{
	void *p = w->env->pte_ptr(w->env->opaque, gpa);

	if (!p) {
		w->res->bad_gpa = gpa;
		return 0;
	}
	if (wide)
		*entry = __atomic_load_n((uint64_t *)p, __ATOMIC_RELAXED);
	else
		*entry = __atomic_load_n((uint32_t *)p, __ATOMIC_RELAXED);
	w->ptr[w->levels] = p;
	w->wide[w->levels] = wide;
	w->levels++;
	w->rw &= entry[0];
	w->us &= entry[0];
	w->nx |= entry[0];
	return 1;
}

static void set_bits(void *p, int wide, uint64_t bits)
{
	if (wide)
		__atomic_fetch_or((uint64_t *)p, bits, __ATOMIC_SEQ_CST);
	else
		__atomic_fetch_or((uint32_t *)p, (uint32_t)bits, __ATOMIC_SEQ_CST);
}

/* Protection keys (4-level paging; SDM 4.6.2): the leaf's key selects two
 * bits of PKRU (user pages, CR4.PKE) or PKRS (supervisor pages, CR4.PKS)
 * for data accesses. AD: no access; WD: no write by CPL 3, nor by CPL < 3
 * with CR0.WP. Returns 1 if this access is denied; clears res->writable
 * when a write would be. */
static int pk_denied(walk *w, uint64_t leaf)
{
	const vmm__x86_walk_env *env = w->env;
	unsigned key = (unsigned)(leaf >> 59) & 15, bits;
	int user = !!(w->access & VMM__X86_ACC_USER), wd;

	if (!(env->efer & X86_EFER_LMA) || (w->access & VMM__X86_ACC_FETCH))
		return 0;
	if (w->res->user ? !(env->cr4 & X86_CR4_PKE) : !(env->cr4 & X86_CR4_PKS))
		return 0;
	bits = ((w->res->user ? env->pkru : env->pkrs) >> (2 * key)) & 3;
	wd = (bits & 2) && (user || (env->cr0 & X86_CR0_WP));
	if (wd)
		w->res->writable = 0;
	return (bits & 1) || (wd && (w->access & VMM__X86_ACC_WRITE));
}

/* Permission check on the accumulated bits, then A/D updates. A
 * supervisor access to a user page: no fetch with CR4.SMEP; with CR4.SMAP
 * no data access unless CPL < 3 and RFLAGS.AC (VMM__X86_ACC_AC). */
static int finish(walk *w, uint64_t leaf)
{
	const vmm__x86_walk_env *env = w->env;
	vmm__x86_walk_result *res = w->res;
	int user = !!(w->access & VMM__X86_ACC_USER);
	int nxe = (env->efer & X86_EFER_NXE) && (env->cr4 & X86_CR4_PAE);
	int fetch = !!(w->access & VMM__X86_ACC_FETCH), pk;

	res->user = !!(w->us & PTE_US);
	res->writable = (w->rw & PTE_RW) || (!user && !(env->cr0 & X86_CR0_WP));
	if (user && !res->user)
		res->writable = 0;
	res->exec = !(nxe && (w->nx & PTE_NX)) && (!user || res->user) &&
		    !(!user && res->user && (env->cr4 & X86_CR4_SMEP));
	if (user && !res->user)
		return fault(w, X86_PF_P);
	if (!user && !fetch && res->user && (env->cr4 & X86_CR4_SMAP) &&
	    !(w->access & VMM__X86_ACC_AC))
		return fault(w, X86_PF_P);
	pk = pk_denied(w, leaf);
	if ((w->access & VMM__X86_ACC_WRITE) && !res->writable)
		return fault(w, X86_PF_P | (pk ? X86_PF_PK : 0));
	if (pk)
		return fault(w, X86_PF_P | X86_PF_PK);
	if (fetch && !res->exec)
		return fault(w, X86_PF_P);
	res->dirty = !!(leaf & PTE_D);
	res->global = (leaf & PTE_G) && (env->cr4 & X86_CR4_PGE);
	if (w->access & VMM__X86_ACC_NO_AD)
		return VMM__X86_WALK_OK;
	for (int i = 0; i < w->levels; i++) {
		int is_leaf = i == w->levels - 1;
		uint64_t want = PTE_A;

		if (is_leaf && (w->access & VMM__X86_ACC_WRITE))
			want |= PTE_D;
		if (w->wide[i] == 2)   /* PAE PDPTE: no A bit */
			continue;
		set_bits(w->ptr[i], w->wide[i], want);
	}
	if (w->access & VMM__X86_ACC_WRITE)
		res->dirty = 1;
	return VMM__X86_WALK_OK;
}

static int walk_32(walk *w, uint64_t va)
{
	uint64_t pde, pte;
	uint64_t pd = w->env->cr3 & 0xfffff000ull;

	va &= 0xffffffffull;
	if (!read_entry(w, pd + ((va >> 22) << 2), 0, &pde))
		return VMM__X86_WALK_BAD_TABLE;
	if (!(pde & PTE_P))
		return fault(w, 0);
	if ((pde & PTE_PS) && (w->env->cr4 & X86_CR4_PSE)) {
		if (pde & 0x3fe000ull)       /* bits 21:13 without PSE-36 */
			return fault(w, X86_PF_P | X86_PF_RSVD);
		w->res->gpa = (pde & 0xffc00000ull) | (va & 0x3fffffull);
		w->res->page_mask = ~0x3fffffull;
		return finish(w, pde);
	}
	if (!read_entry(w, (pde & 0xfffff000ull) + (((va >> 12) & 0x3ff) << 2), 0, &pte))
		return VMM__X86_WALK_BAD_TABLE;
	if (!(pte & PTE_P))
		return fault(w, 0);
	w->res->gpa = (pte & 0xfffff000ull) | (va & 0xfffull);
	w->res->page_mask = ~0xfffull;
	return finish(w, pte);
}

/* Reserved bits of a present 64-bit entry at level (4=PML4 .. 1=PT). */
static uint64_t rsvd_mask(const walk *w, int level, int large)
{
	uint64_t m = RSVD_HIGH;

	if (!(w->env->efer & X86_EFER_NXE))
		m |= PTE_NX;
	if (level == 4)
		m |= PTE_PS;
	if (large && level == 3)
		m |= 0x3fffe000ull;   /* 1 GiB page: bits 29:13 */
	if (large && level == 2)
		m |= 0x1fe000ull;     /* 2 MiB page: bits 20:13 */
	return m;
}

/* Walks from the table at 'table' down to the leaf, levels 'level'..1. */
static int walk_levels(walk *w, uint64_t va, uint64_t table, int level)
{
	for (;; level--) {
		uint64_t e, idx = (va >> (12 + 9 * (level - 1))) & 0x1ff;
		int large;

		if (!read_entry(w, table + idx * 8, 1, &e))
			return VMM__X86_WALK_BAD_TABLE;
		if (!(e & PTE_P))
			return fault(w, 0);
		large = (level == 2 || level == 3) && (e & PTE_PS);
		if (e & rsvd_mask(w, level, large))
			return fault(w, X86_PF_P | X86_PF_RSVD);
		if (large || level == 1) {
			uint64_t size = 1ull << (12 + 9 * (level - 1));

			w->res->gpa = (e & PHYS_MASK & ~(size - 1)) | (va & (size - 1));
			w->res->page_mask = ~(size - 1);
			return finish(w, e);
		}
		table = e & PHYS_MASK;
	}
}

static int walk_pae(walk *w, uint64_t va)
{
	uint64_t pdpte;
	uint64_t rsvd = RSVD_HIGH | PTE_NX | 0x1e6ull;  /* bits 2:1, 8:5 */

	va &= 0xffffffffull;
	if (!read_entry(w, (w->env->cr3 & 0xffffffe0ull) + ((va >> 30) << 3), 1, &pdpte))
		return VMM__X86_WALK_BAD_TABLE;
	w->wide[w->levels - 1] = 2;   /* no A bit in a PDPTE */
	w->rw = w->us = ~0ull;        /* a PDPTE carries no R/W, U/S */
	w->nx = 0;
	if (!(pdpte & PTE_P))
		return fault(w, 0);
	if (pdpte & rsvd)
		return fault(w, X86_PF_P | X86_PF_RSVD);
	return walk_levels(w, va, pdpte & PHYS_MASK, 2);
}

int vmm__x86_walk(const vmm__x86_walk_env *env, uint64_t va, unsigned access,
		  vmm__x86_walk_result *res)
{
	walk w;

	memset(res, 0, sizeof(*res));
	memset(&w, 0, sizeof(w));
	w.env = env;
	w.access = access;
	w.res = res;
	w.rw = w.us = ~0ull;
	if (!(env->cr0 & X86_CR0_PG)) {
		res->gpa = (env->efer & X86_EFER_LMA) ? va : (va & 0xffffffffull);
		res->page_mask = ~0xfffull;
		res->writable = res->user = res->exec = res->dirty = 1;
		return VMM__X86_WALK_OK;
	}
	if (!(env->cr4 & X86_CR4_PAE))
		return walk_32(&w, va);
	if (!(env->efer & X86_EFER_LMA))
		return walk_pae(&w, va);
	return walk_levels(&w, va, env->cr3 & PHYS_MASK, 4);
}
