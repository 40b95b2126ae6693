/* msr.c - the MSRs libvmm's x86 CPUs implement (one table), and the
 * architectural checks on writes to them (a failed check is #GP).
 *
 * Kinds: CPU - state the backend keeps itself (EFER, the SYSCALL MSRs, the
 * segment bases, TSC, ...); STORED - a per-vCPU value with a reset value
 * and reserved bits (MTRRs, MISC_ENABLE); CONST - reads give the value,
 * writes #GP; IGNORE - reads give the value, writes are dropped. What is
 * not in the table is #GP. Not here on purpose: MCG_* and the MC banks (no
 * MCE/MCA advertised), PLATFORM_INFO (not on this CPU model), TSC_ADJUST/TSC_DEADLINE, the
 * x2APIC range 0x800-0x8ff (the local APIC owns 0x1b, 0x6e0, 0x800-0x8ff:
 * lib/platform/platform.h).
 *
 * Speculation controls: a software CPU does not speculate, so it is immune
 * to every speculative-execution attack the ARCH_CAPABILITIES *_NO bits
 * name; it says so (as the CPUID model advertises ARCH_CAPABILITIES and
 * SPEC_CTRL), and a guest kernel then skips page-table isolation, buffer
 * clearing and branch thunks that cost an emulated CPU dearly. IBRS_ALL
 * (enhanced IBRS) is true for the same reason: SPEC_CTRL.IBRS is kept and
 * has nothing to restrict. */
#define ARCH_CAP_NO ((1ull << 0) | (1ull << 1) | (1ull << 3) | (1ull << 4) |   \
		     (1ull << 5) | (1ull << 6) | (1ull << 8) | (1ull << 13) |   \
		     (1ull << 14) | (1ull << 15) | (1ull << 20) | (1ull << 24) | \
		     (1ull << 26) | (1ull << 27) | (1ull << 62))
#include <stddef.h>

#include "arch/x86/msr.h"
#include "arch/x86/x86.h"

#define PHYS_RSVD (~((1ull << 40) - 1))   /* 40 physical address bits */

#define CPU(m, n) { m, VMM__MSR_CPU, 0, 0, 0, n }
#define STORED(m, slot, reset, rsvd, n) { m, VMM__MSR_STORED, slot, reset, rsvd, n }
#define MTRR_VAR(i)                                                                   \
	STORED(0x200 + 2 * (i), 12 + 2 * (i), 0, PHYS_RSVD | 0xf00, "MTRR_PHYSBASE" #i), \
	STORED(0x201 + 2 * (i), 13 + 2 * (i), 0, PHYS_RSVD | 0x7ff, "MTRR_PHYSMASK" #i)

const vmm__x86_msr_desc vmm__x86_msrs[] = {
	CPU(X86_MSR_TSC, "TSC"),
	{ 0x17, VMM__MSR_CONST, 0, 0, 0, "PLATFORM_ID" },
	CPU(X86_MSR_APIC_BASE, "APIC_BASE"),
	{ 0x3a, VMM__MSR_CONST, 0, 1, 0, "FEATURE_CONTROL" },   /* locked, no VMX */
	STORED(0x48, 29, 0, ~1ull, "SPEC_CTRL"),                 /* IBRS */
	{ 0x49, VMM__MSR_WONLY, 0, 0, ~1ull, "PRED_CMD" },       /* IBPB */
	{ 0x8b, VMM__MSR_IGNORE, 0, 0, 0, "BIOS_SIGN_ID" },     /* microcode rev 0 */
	/* RDCL_NO IBRS_ALL SKIP_L1DFL_VMENTRY SSB_NO MDS_NO IF_PSCHANGE_MC_NO
	 * TAA_NO SBDR_SSDP_NO FBSDP_NO PSDP_NO BHI_NO PBRSB_NO GDS_NO RFDS_NO
	 * ITS_NO */
	{ 0x10a, VMM__MSR_CONST, 0, ARCH_CAP_NO, 0, "ARCH_CAPABILITIES" },
	{ X86_MSR_MTRRCAP, VMM__MSR_CONST, 0, 0x508, 0, "MTRRCAP" },   /* 8 var, fixed, WC */
	/* no machine-check banks: CPUID shows no MCE/MCA, but as under KVM the
	 * count reads 0 (kvm-unit-tests' msr reads it unconditionally) and
	 * every MCi_* MSR (0x400-0x47f) raises #GP */
	{ 0x179, VMM__MSR_CONST, 0, 0, 0, "MCG_CAP" },
	CPU(X86_MSR_SYSENTER_CS, "SYSENTER_CS"),
	CPU(X86_MSR_SYSENTER_ESP, "SYSENTER_ESP"),
	CPU(X86_MSR_SYSENTER_EIP, "SYSENTER_EIP"),
	/* fast strings; BTS and PEBS unavailable */
	STORED(X86_MSR_MISC_ENABLE, 0, 0x1801, 0, "MISC_ENABLE"),
	MTRR_VAR(0), MTRR_VAR(1), MTRR_VAR(2), MTRR_VAR(3),
	MTRR_VAR(4), MTRR_VAR(5), MTRR_VAR(6), MTRR_VAR(7),
	STORED(0x250, 1, 0, 0, "MTRR_FIX64K_00000"),
	STORED(0x258, 2, 0, 0, "MTRR_FIX16K_80000"),
	STORED(0x259, 3, 0, 0, "MTRR_FIX16K_A0000"),
	STORED(0x268, 4, 0, 0, "MTRR_FIX4K_C0000"),
	STORED(0x269, 5, 0, 0, "MTRR_FIX4K_C8000"),
	STORED(0x26a, 6, 0, 0, "MTRR_FIX4K_D0000"),
	STORED(0x26b, 7, 0, 0, "MTRR_FIX4K_D8000"),
	STORED(0x26c, 8, 0, 0, "MTRR_FIX4K_E0000"),
	STORED(0x26d, 9, 0, 0, "MTRR_FIX4K_E8000"),
	STORED(0x26e, 10, 0, 0, "MTRR_FIX4K_F0000"),
	STORED(0x26f, 11, 0, 0, "MTRR_FIX4K_F8000"),
	CPU(X86_MSR_PAT, "PAT"),
	STORED(X86_MSR_MTRR_DEF_TYPE, 28, 0, ~0xcffull, "MTRR_DEF_TYPE"),
	CPU(X86_MSR_EFER, "EFER"),
	CPU(X86_MSR_STAR, "STAR"),
	CPU(X86_MSR_LSTAR, "LSTAR"),
	CPU(X86_MSR_CSTAR, "CSTAR"),
	CPU(X86_MSR_SFMASK, "SFMASK"),
	CPU(X86_MSR_FS_BASE, "FS_BASE"),
	CPU(X86_MSR_GS_BASE, "GS_BASE"),
	CPU(X86_MSR_KERNEL_GS_BASE, "KERNEL_GS_BASE"),
	CPU(X86_MSR_TSC_AUX, "TSC_AUX"),
};
const uint32_t vmm__x86_msr_count = sizeof(vmm__x86_msrs) / sizeof(vmm__x86_msrs[0]);

const vmm__x86_msr_desc *vmm__x86_msr_find(uint32_t msr)
{
	for (uint32_t i = 0; i < vmm__x86_msr_count; i++)
		if (vmm__x86_msrs[i].msr == msr)
			return &vmm__x86_msrs[i];
	return NULL;
}

int vmm__x86_msr_known(uint32_t msr)
{
	return vmm__x86_msr_find(msr) != NULL;
}

/* Memory types valid in PAT entries and MTRRs: UC WC WT WP WB (and UC-, 7,
 * in the PAT only). */
static int mem_type_ok(uint8_t t, int pat)
{
	return t == 0 || t == 1 || t == 4 || t == 5 || t == 6 || (pat && t == 7);
}

static int types_ok(uint64_t v, unsigned n, int pat)
{
	for (unsigned i = 0; i < n; i++)
		if (!mem_type_ok((uint8_t)(v >> (i * 8)), pat))
			return 0;
	return 1;
}

static int efer_ok(uint64_t value, uint64_t efer, uint64_t cr0, int nx)
{
	uint64_t allowed = X86_EFER_SCE | X86_EFER_LME | X86_EFER_LMA |
			   (nx ? X86_EFER_NXE : 0);

	if (value & ~allowed)
		return 0;
	if ((cr0 & X86_CR0_PG) && ((value ^ efer) & X86_EFER_LME))
		return 0;
	return 1;
}

static int stored_ok(const vmm__x86_msr_desc *d, uint64_t value)
{
	if (value & d->rsvd)
		return 0;
	if (d->msr >= 0x250 && d->msr <= 0x26f)
		return types_ok(value, 8, 0);               /* fixed-range MTRRs */
	if (d->msr == X86_MSR_MTRR_DEF_TYPE || (d->msr >= 0x200 && d->msr < 0x210 && !(d->msr & 1)))
		return types_ok(value, 1, 0);               /* default / PHYSBASE type */
	return 1;
}

int vmm__x86_msr_write_ok(uint32_t msr, uint64_t value, uint64_t efer, uint64_t cr0,
			  int nx)
{
	const vmm__x86_msr_desc *d = vmm__x86_msr_find(msr);

	if (!d || d->kind == VMM__MSR_CONST)
		return 0;
	if (d->kind == VMM__MSR_STORED)
		return stored_ok(d, value);
	if (d->kind == VMM__MSR_WONLY)
		return !(value & d->rsvd);
	switch (msr) {
	case X86_MSR_EFER:
		return efer_ok(value, efer, cr0, nx);
	case X86_MSR_PAT:
		return types_ok(value, 8, 1);
	case X86_MSR_APIC_BASE:
		return !(value & ~(0xfffffff000ull | (1ull << 8) | (1ull << 10) | (1ull << 11)));
	case X86_MSR_LSTAR: case X86_MSR_CSTAR: case X86_MSR_FS_BASE:
	case X86_MSR_GS_BASE: case X86_MSR_KERNEL_GS_BASE:
	case X86_MSR_SYSENTER_ESP: case X86_MSR_SYSENTER_EIP:
		return vmm__x86_canonical(value);
	case X86_MSR_TSC_AUX: case X86_MSR_SFMASK: case X86_MSR_SYSENTER_CS:
		return (value >> 32) == 0;
	}
	return 1;    /* STAR, TSC, IGNORE kinds */
}
