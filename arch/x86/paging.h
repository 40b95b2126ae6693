/* paging.h - the x86 page-table walk (32-bit, PAE and 4-level paging), with
 * permission checks (U/S, R/W with CR0.WP, NX, SMEP, SMAP, protection keys
 * with CR4.PKE/PKS), reserved-bit checks, A/D updates and #PF error codes.
 * Page tables are guest data: every entry is checked, every table address is
 * resolved through the caller's callback (NULL = not RAM). */
#ifndef VMM_ARCH_X86_PAGING_H
#define VMM_ARCH_X86_PAGING_H

#include <stdint.h>

/* Physical-address width the CPU models report (CPUID 0x80000008). */
#define VMM__X86_PHYS_BITS 40

/* Access kinds (bitmask) */
enum {
	VMM__X86_ACC_WRITE = 1u << 0,
	VMM__X86_ACC_USER = 1u << 1,   /* CPL 3 access (not implicit supervisor) */
	VMM__X86_ACC_FETCH = 1u << 2,
	VMM__X86_ACC_NO_AD = 1u << 3,  /* do not set Accessed/Dirty (debug walks) */
	VMM__X86_ACC_AC = 1u << 4      /* CPL < 3 with RFLAGS.AC: SMAP allows it */
};

typedef struct vmm__x86_walk_env {
	uint64_t cr0, cr3, cr4, efer;
	/* Host pointer to the naturally aligned 8 (or 4) bytes at gpa, or NULL
	 * if gpa is not guest RAM. */
	void *(*pte_ptr)(void *opaque, uint64_t gpa);
	void *opaque;
	uint32_t pkru, pkrs;   /* protection-key rights (CR4.PKE / CR4.PKS) */
} vmm__x86_walk_env;

typedef struct vmm__x86_walk_result {
	uint64_t gpa;          /* translated address */
	uint64_t page_mask;    /* ~(page size - 1) of the mapping */
	uint8_t writable;      /* a write by this access kind would be allowed */
	uint8_t user;          /* U/S=1 on every level */
	uint8_t exec;          /* fetch allowed (no NX on any level) */
	uint8_t dirty;         /* the leaf has D=1 (after this walk) */
	uint8_t global;        /* the leaf has G=1 and CR4.PGE is set */
	uint32_t pfec;         /* #PF error code when VMM__X86_WALK_FAULT */
	uint64_t bad_gpa;      /* table address when VMM__X86_WALK_BAD_TABLE */
} vmm__x86_walk_result;

enum {
	VMM__X86_WALK_OK = 0,
	VMM__X86_WALK_FAULT = 1,      /* page fault: res->pfec */
	VMM__X86_WALK_BAD_TABLE = 2   /* a paging structure is not in RAM */
};

/* Translates linear address va. With paging off (CR0.PG=0) returns va
 * (truncated to 32 bits) with all permissions. */
int vmm__x86_walk(const vmm__x86_walk_env *env, uint64_t va, unsigned access,
		  vmm__x86_walk_result *res);

#endif
