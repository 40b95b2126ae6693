/* msr.c - MSR list and write checks shared by the backends. */
#include "arch/x86/msr.h"
#include "arch/x86/x86.h"

const uint32_t vmm__x86_msr_list[] = {
	X86_MSR_TSC, X86_MSR_APIC_BASE, X86_MSR_SYSENTER_CS, X86_MSR_SYSENTER_ESP,
	X86_MSR_SYSENTER_EIP, X86_MSR_PAT, X86_MSR_EFER, X86_MSR_STAR, X86_MSR_LSTAR,
	X86_MSR_CSTAR, X86_MSR_SFMASK, X86_MSR_FS_BASE, X86_MSR_GS_BASE,
	X86_MSR_KERNEL_GS_BASE, X86_MSR_TSC_AUX,
};
const uint32_t vmm__x86_msr_count = sizeof(vmm__x86_msr_list) / sizeof(vmm__x86_msr_list[0]);

int vmm__x86_msr_known(uint32_t msr)
{
	for (uint32_t i = 0; i < vmm__x86_msr_count; i++)
		if (vmm__x86_msr_list[i] == msr)
			return 1;
	return 0;
}

static int pat_ok(uint64_t pat)
{
	for (int i = 0; i < 8; i++) {
		uint8_t t = (pat >> (i * 8)) & 0xff;

		if (t != 0 && t != 1 && t != 4 && t != 5 && t != 6 && t != 7)
			return 0;
	}
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

int vmm__x86_msr_write_ok(uint32_t msr, uint64_t value, uint64_t efer, uint64_t cr0,
			  int nx)
{
	switch (msr) {
	case X86_MSR_EFER:
		return efer_ok(value, efer, cr0, nx);
	case X86_MSR_PAT:
		return pat_ok(value);
	case X86_MSR_APIC_BASE:
		return !(value & ~(0xfffffff000ull | (1ull << 8) | (1ull << 10) | (1ull << 11)));
	case X86_MSR_LSTAR: case X86_MSR_CSTAR: case X86_MSR_FS_BASE:
	case X86_MSR_GS_BASE: case X86_MSR_KERNEL_GS_BASE:
	case X86_MSR_SYSENTER_ESP: case X86_MSR_SYSENTER_EIP:
		return vmm__x86_canonical(value);
	case X86_MSR_TSC_AUX:
		return (value >> 32) == 0;
	case X86_MSR_SFMASK:
		return (value >> 32) == 0;
	case X86_MSR_SYSENTER_CS:
		return (value >> 32) == 0;
	case X86_MSR_STAR: case X86_MSR_TSC:
		return 1;
	}
	return 0;
}
