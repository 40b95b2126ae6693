/* cpuid.h - CPU models: what CPUID reports to a guest. A model is plain data
 * (vendor, family/model/stepping, feature words); vmm__x86_cpuid() answers
 * any leaf from it. The emu backend uses vmm__x86_emu_model; the kvm backend
 * can copy a model and AND its feature words with the host's via
 * vmm__x86_cpu_model_filter() so both backends describe CPUs the same way. */
#ifndef VMM_ARCH_X86_CPUID_H
#define VMM_ARCH_X86_CPUID_H

#include <stddef.h>
#include <stdint.h>

typedef struct vmm__x86_cpu_model {
	const char *name;
	char vendor[13];            /* 12 characters + NUL */
	char brand[49];             /* 48 characters + NUL */
	uint32_t family, model, stepping;
	uint32_t max_leaf;          /* highest basic leaf */
	uint32_t max_ext_leaf;      /* highest 0x8000000x leaf */
	/* Feature words */
	uint32_t leaf1_ecx, leaf1_edx;
	uint32_t leaf7_ebx, leaf7_ecx, leaf7_edx;
	uint32_t ext1_ecx, ext1_edx;     /* leaf 0x80000001 */
	uint32_t ext7_edx;               /* leaf 0x80000007 (invariant TSC) */
	uint8_t phys_bits, virt_bits;    /* leaf 0x80000008 */
	uint32_t tsc_khz;                /* leaf 0x40000010, 0 = not reported */
	uint32_t xcr0_mask;              /* leaf 0xD.0 EAX: XSAVE state components */
	uint32_t xsave_ext;              /* leaf 0xD.1 EAX: XSAVEOPT ... */
} vmm__x86_cpu_model;

/* Hypervisor signature in leaf 0x40000000 (EBX, ECX, EDX). */
#define VMM__X86_HV_SIGNATURE "libvmmlibvmm"

/* Feature bits (leaf 1 EDX) */
#define X86_CPUID_1_EDX_FPU   (1u << 0)
#define X86_CPUID_1_EDX_PSE   (1u << 3)
#define X86_CPUID_1_EDX_TSC   (1u << 4)
#define X86_CPUID_1_EDX_MSR   (1u << 5)
#define X86_CPUID_1_EDX_PAE   (1u << 6)
#define X86_CPUID_1_EDX_CX8   (1u << 8)
#define X86_CPUID_1_EDX_APIC  (1u << 9)
#define X86_CPUID_1_EDX_SEP   (1u << 11)
#define X86_CPUID_1_EDX_MTRR  (1u << 12)
#define X86_CPUID_1_EDX_PGE   (1u << 13)
#define X86_CPUID_1_EDX_CMOV  (1u << 15)
#define X86_CPUID_1_EDX_PAT   (1u << 16)
#define X86_CPUID_1_EDX_CLFSH (1u << 19)
#define X86_CPUID_1_EDX_FXSR  (1u << 24)
#define X86_CPUID_1_EDX_SSE   (1u << 25)
#define X86_CPUID_1_EDX_SSE2  (1u << 26)
/* leaf 1 ECX */
#define X86_CPUID_1_ECX_SSE3   (1u << 0)
#define X86_CPUID_1_ECX_SSSE3  (1u << 9)
#define X86_CPUID_1_ECX_CX16   (1u << 13)
#define X86_CPUID_1_ECX_PCID   (1u << 17)
#define X86_CPUID_1_ECX_SSE41  (1u << 19)
#define X86_CPUID_1_ECX_SSE42  (1u << 20)
#define X86_CPUID_1_ECX_MOVBE  (1u << 22)
#define X86_CPUID_1_ECX_POPCNT (1u << 23)
#define X86_CPUID_1_ECX_XSAVE  (1u << 26)
#define X86_CPUID_1_ECX_OSXSAVE (1u << 27)
#define X86_CPUID_1_ECX_RDRAND (1u << 30)
#define X86_CPUID_1_ECX_HYPERVISOR (1u << 31)
#define X86_CPUID_1_EDX_MMX   (1u << 23)
/* leaf 7 EBX */
#define X86_CPUID_7_EBX_SMEP (1u << 7)
#define X86_CPUID_7_EBX_INVPCID (1u << 10)
#define X86_CPUID_7_EBX_SMAP (1u << 20)
#define X86_CPUID_7_EBX_RDSEED (1u << 18)
/* leaf 7 EDX */
#define X86_CPUID_7_EDX_SPEC_CTRL (1u << 26)   /* IBRS/IBPB: SPEC_CTRL, PRED_CMD */
#define X86_CPUID_7_EDX_ARCH_CAP (1u << 29)    /* IA32_ARCH_CAPABILITIES */
/* leaf 7 ECX */
#define X86_CPUID_7_ECX_PKU (1u << 3)
#define X86_CPUID_7_ECX_OSPKE (1u << 4)    /* CR4.PKE, filled in by the backend */
#define X86_CPUID_7_ECX_PKS (1u << 31)
#define X86_CPUID_7_EBX_CLFLUSHOPT (1u << 23)
/* leaf 0xD */
#define X86_XCR0_X87 1u
#define X86_XCR0_SSE 2u
#define X86_CPUID_D1_EAX_XSAVEOPT 1u
/* leaf 0x80000001 */
#define X86_CPUID_E1_ECX_LAHF  (1u << 0)
#define X86_CPUID_E1_ECX_ABM   (1u << 5)
#define X86_CPUID_E1_EDX_SYSCALL (1u << 11)
#define X86_CPUID_E1_EDX_NX    (1u << 20)
#define X86_CPUID_E1_EDX_PDPE1GB (1u << 26)
#define X86_CPUID_E1_EDX_RDTSCP (1u << 27)
#define X86_CPUID_E1_EDX_LM    (1u << 29)
/* leaf 0x80000007 */
#define X86_CPUID_E7_EDX_INVTSC (1u << 8)

extern const vmm__x86_cpu_model vmm__x86_emu_model;

/* CPUID for leaf/subleaf on vCPU vcpu_index of a VM with vcpu_count vCPUs:
 * out[0..3] = EAX, EBX, ECX, EDX. Unknown leaves above the maximum answer
 * like the highest basic leaf, as Intel CPUs do. */
void vmm__x86_cpuid(const vmm__x86_cpu_model *m, uint32_t vcpu_index,
		    uint32_t vcpu_count, uint32_t leaf, uint32_t subleaf,
		    uint32_t out[4]);

/* ANDs m's feature words with what host_cpuid reports for the same leaves
 * (e.g. KVM_GET_SUPPORTED_CPUID), so a guest is never promised a feature the
 * host cannot give. */
typedef void (*vmm__x86_cpuid_fn)(void *opaque, uint32_t leaf, uint32_t subleaf,
				  uint32_t out[4]);
void vmm__x86_cpu_model_filter(vmm__x86_cpu_model *m, vmm__x86_cpuid_fn host_cpuid,
			       void *opaque);

/* Features a VM can hide (vmm_vm_hide_cpu_features): a bit per name of
 * vmm__x86_hideable[], in table order. Only features whose absence the
 * backends also enforce are listed (emu checks the VM's model; KVM checks
 * the CPUID table it is given). */
typedef struct vmm__x86_hideable_feature {
	const char *name;
	uint8_t word;               /* VMM__X86_W_* */
	uint32_t bit;
} vmm__x86_hideable_feature;
enum { VMM__X86_W_1ECX, VMM__X86_W_1EDX, VMM__X86_W_7EBX, VMM__X86_W_7ECX };
extern const vmm__x86_hideable_feature vmm__x86_hideable[];
extern const unsigned vmm__x86_hideable_count;
/* Parses a comma-separated list of names into *mask; returns 0, or -1 with
 * the first unknown name (at most len - 1 bytes) in bad. */
int vmm__x86_hide_parse(const char *names, uint64_t *mask, char *bad, size_t len);
/* Clears the features of mask in m. */
void vmm__x86_cpu_model_hide(vmm__x86_cpu_model *m, uint64_t mask);

#endif
