/* cpuid.c - CPU models and the CPUID instruction's answers.
 *
 * The emu model ("libvmm-emu"): vendor GenuineIntel, family 6 model 15
 * stepping 11 (a Core 2 generation identity, the first Intel x86-64 family
 * without SSE-era surprises), advertising only what the emu backend
 * executes:
 *   leaf 1 EDX: FPU PSE TSC MSR PAE CX8 SEP MTRR PGE CMOV PAT CLFSH MMX FXSR
 *               SSE SSE2
 *   leaf 1 ECX: SSE3 SSSE3 CX16 PCID SSE4.1 SSE4.2 MOVBE POPCNT XSAVE RDRAND
 *               HYPERVISOR (OSXSAVE: CR4.OSXSAVE, filled in by the backend)
 *   leaf 7:     EBX SMEP INVPCID SMAP RDSEED CLFLUSHOPT; ECX PKU PKS (OSPKE
 *               as CR4.PKE is set). With PKU kvm-unit-tests' access test
 *               checks 10 times as many cases: about 180 s on emu, over
 *               its 90 s (QEMU TCG times out too), while pku passes.
 *               EDX SPEC_CTRL (IBRS/IBPB) ARCH_CAPABILITIES: immune to
 *               speculative attacks (arch/x86/msr.c)
 *   leaf 0xB:   x2APIC topology (a core per vCPU, EDX the x2APIC ID)
 *   leaf 0xD:   XCR0 components x87 and SSE (576-byte area), XSAVEOPT
 *   0x80000001: EDX SYSCALL NX PDPE1GB RDTSCP LM; ECX LAHF/SAHF, ABM (LZCNT)
 *   0x80000007: invariant TSC
 *   0x80000008: 40 physical, 48 linear address bits
 *   0x40000000: max 0x40000010, signature "libvmmlibvmm"
 *   0x40000010: TSC frequency in kHz (EAX), as VMware/KVM report it
 * No AVX, no MONITOR/MWAIT, no XSAVEC/XSAVES. */
#include <stdio.h>
#include <string.h>

#include "arch/x86/cpuid.h"

const vmm__x86_cpu_model vmm__x86_emu_model = {
	.name = "libvmm-emu",
	.vendor = "GenuineIntel",
	.brand = "libvmm emu x86-64 software CPU",
	.family = 6, .model = 15, .stepping = 11,
	.max_leaf = 0xd,
	.max_ext_leaf = 0x80000008,
	.leaf1_edx = X86_CPUID_1_EDX_FPU | X86_CPUID_1_EDX_PSE | X86_CPUID_1_EDX_TSC |
		     X86_CPUID_1_EDX_MSR | X86_CPUID_1_EDX_PAE | X86_CPUID_1_EDX_CX8 |
		     X86_CPUID_1_EDX_SEP | X86_CPUID_1_EDX_MTRR |
		     X86_CPUID_1_EDX_PGE | X86_CPUID_1_EDX_CMOV | X86_CPUID_1_EDX_PAT |
		     X86_CPUID_1_EDX_CLFSH | X86_CPUID_1_EDX_MMX | X86_CPUID_1_EDX_FXSR | X86_CPUID_1_EDX_SSE |
		     X86_CPUID_1_EDX_SSE2,
	.leaf1_ecx = X86_CPUID_1_ECX_SSE3 | X86_CPUID_1_ECX_SSSE3 | X86_CPUID_1_ECX_CX16 |
		     X86_CPUID_1_ECX_PCID | X86_CPUID_1_ECX_SSE41 | X86_CPUID_1_ECX_SSE42 |
		     X86_CPUID_1_ECX_MOVBE | X86_CPUID_1_ECX_POPCNT | X86_CPUID_1_ECX_XSAVE |
		     X86_CPUID_1_ECX_RDRAND | X86_CPUID_1_ECX_HYPERVISOR,
	.leaf7_ebx = X86_CPUID_7_EBX_SMEP | X86_CPUID_7_EBX_INVPCID | X86_CPUID_7_EBX_SMAP |
		     X86_CPUID_7_EBX_RDSEED | X86_CPUID_7_EBX_CLFLUSHOPT,
	.leaf7_ecx = X86_CPUID_7_ECX_PKS | X86_CPUID_7_ECX_PKU,
	.leaf7_edx = X86_CPUID_7_EDX_SPEC_CTRL | X86_CPUID_7_EDX_ARCH_CAP,
	.ext1_edx = X86_CPUID_E1_EDX_SYSCALL | X86_CPUID_E1_EDX_NX |
		    X86_CPUID_E1_EDX_PDPE1GB | X86_CPUID_E1_EDX_RDTSCP | X86_CPUID_E1_EDX_LM,
	.ext1_ecx = X86_CPUID_E1_ECX_LAHF | X86_CPUID_E1_ECX_ABM,
	.ext7_edx = X86_CPUID_E7_EDX_INVTSC,
	.phys_bits = 40, .virt_bits = 48,
	.tsc_khz = 0,
	.xcr0_mask = X86_XCR0_X87 | X86_XCR0_SSE,
	.xsave_ext = X86_CPUID_D1_EAX_XSAVEOPT,
};

/* Leaf 0xD: subleaf 0 the components and area sizes (legacy region plus
 * header: 576 bytes for x87 and SSE), 1 the extensions. */
static void xsave_leaf(const vmm__x86_cpu_model *m, uint32_t subleaf, uint32_t out[4])
{
	if (!(m->leaf1_ecx & X86_CPUID_1_ECX_XSAVE))
		return;
	if (subleaf == 0) {
		out[0] = m->xcr0_mask;
		out[1] = out[2] = 576;
	} else if (subleaf == 1) {
		out[0] = m->xsave_ext;
	}
}

/* Leaf 0xB, x2APIC topology: one thread per core, every vCPU a core of one
 * package; EDX the x2APIC ID (the vCPU index) on every subleaf. */
static void topology_leaf(uint32_t index, uint32_t count, uint32_t subleaf,
			  uint32_t out[4])
{
	uint32_t shift = 0;

	while (shift < 31 && (1u << shift) < count)
		shift++;
	out[2] = subleaf & 0xff;
	out[3] = index;
	if (subleaf == 0) {                 /* SMT level */
		out[1] = 1;
		out[2] |= 1u << 8;
	} else if (subleaf == 1) {          /* core level */
		out[0] = shift;
		out[1] = count ? count : 1;
		out[2] |= 2u << 8;
	}
}

static uint32_t str4(const char *s)
{
	uint32_t v;

	memcpy(&v, s, 4);
	return v;
}

static void leaf1(const vmm__x86_cpu_model *m, uint32_t index, uint32_t count,
		  uint32_t out[4])
{
	uint32_t fam = m->family, mod = m->model;
	uint32_t sig = (m->stepping & 0xf) | ((mod & 0xf) << 4) | ((fam > 15 ? 15 : fam) << 8);

	if (fam == 6 || fam >= 15)
		sig |= ((mod >> 4) & 0xf) << 16;
	if (fam > 15)
		sig |= ((fam - 15) & 0xff) << 20;
	out[0] = sig;
	out[1] = (8u << 8) | ((count > 255 ? 255 : count) << 16) | ((index & 0xff) << 24);
	out[2] = m->leaf1_ecx;
	out[3] = m->leaf1_edx;
}

static void brand(const vmm__x86_cpu_model *m, uint32_t part, uint32_t out[4])
{
	char buf[48];

	memset(buf, 0, sizeof(buf));
	memcpy(buf, m->brand, strnlen(m->brand, sizeof(buf) - 1));
	for (int i = 0; i < 4; i++)
		out[i] = str4(buf + part * 16 + i * 4);
}

static void ext_leaf(const vmm__x86_cpu_model *m, uint32_t leaf, uint32_t out[4])
{
	switch (leaf) {
	case 0x80000000:
		out[0] = m->max_ext_leaf;
		break;
	case 0x80000001:
		out[2] = m->ext1_ecx;
		out[3] = m->ext1_edx;
		break;
	case 0x80000002: case 0x80000003: case 0x80000004:
		brand(m, leaf - 0x80000002, out);
		break;
	case 0x80000007:
		out[3] = m->ext7_edx;
		break;
	case 0x80000008:
		out[0] = m->phys_bits | ((uint32_t)m->virt_bits << 8);
		break;
	}
}

static void hv_leaf(const vmm__x86_cpu_model *m, uint32_t leaf, uint32_t out[4])
{
	if (leaf == 0x40000000) {
		out[0] = 0x40000010;
		out[1] = str4(VMM__X86_HV_SIGNATURE);
		out[2] = str4(VMM__X86_HV_SIGNATURE + 4);
		out[3] = str4(VMM__X86_HV_SIGNATURE + 8);
	} else if (leaf == 0x40000010) {
		out[0] = m->tsc_khz;
	}
}

void vmm__x86_cpuid(const vmm__x86_cpu_model *m, uint32_t vcpu_index,
		    uint32_t vcpu_count, uint32_t leaf, uint32_t subleaf,
		    uint32_t out[4])
{
	out[0] = out[1] = out[2] = out[3] = 0;
	if (leaf >= 0x40000000 && leaf <= 0x400000ff) {
		hv_leaf(m, leaf, out);
		return;
	}
	if (leaf >= 0x80000000) {
		if (leaf <= m->max_ext_leaf)
			ext_leaf(m, leaf, out);
		return;
	}
	if (leaf > m->max_leaf)
		leaf = m->max_leaf;
	switch (leaf) {
	case 0:
		out[0] = m->max_leaf;
		out[1] = str4(m->vendor);
		out[2] = str4(m->vendor + 8);
		out[3] = str4(m->vendor + 4);
		break;
	case 1:
		leaf1(m, vcpu_index, vcpu_count, out);
		break;
	case 7:
		if (subleaf == 0) {
			out[1] = m->leaf7_ebx;
			out[2] = m->leaf7_ecx;
			out[3] = m->leaf7_edx;
		}
		break;
	case 0xb:
		topology_leaf(vcpu_index, vcpu_count, subleaf, out);
		break;
	case 0xd:
		xsave_leaf(m, subleaf, out);
		break;
	}
}

void vmm__x86_cpu_model_filter(vmm__x86_cpu_model *m, vmm__x86_cpuid_fn host_cpuid,
			       void *opaque)
{
	uint32_t r[4];

	host_cpuid(opaque, 1, 0, r);
	m->leaf1_ecx &= r[2] | X86_CPUID_1_ECX_HYPERVISOR;
	m->leaf1_edx &= r[3];
	host_cpuid(opaque, 7, 0, r);
	m->leaf7_ebx &= r[1];
	m->leaf7_ecx &= r[2];
	m->leaf7_edx &= r[3];
	host_cpuid(opaque, 0xd, 0, r);
	m->xcr0_mask &= r[0];
	host_cpuid(opaque, 0xd, 1, r);
	m->xsave_ext &= r[0];
	host_cpuid(opaque, 0x80000001, 0, r);
	m->ext1_ecx &= r[2];
	m->ext1_edx &= r[3];
	host_cpuid(opaque, 0x80000007, 0, r);
	m->ext7_edx &= r[3];
	host_cpuid(opaque, 0x80000008, 0, r);
	if ((r[0] & 0xff) && (r[0] & 0xff) < m->phys_bits)
		m->phys_bits = r[0] & 0xff;
}

/* ---- Hiding features -------------------------------------------------------- */

const vmm__x86_hideable_feature vmm__x86_hideable[] = {
	{ "pcid", VMM__X86_W_1ECX, X86_CPUID_1_ECX_PCID },
	{ "invpcid", VMM__X86_W_7EBX, X86_CPUID_7_EBX_INVPCID },
	{ "pku", VMM__X86_W_7ECX, X86_CPUID_7_ECX_PKU },
};
const unsigned vmm__x86_hideable_count =
	sizeof(vmm__x86_hideable) / sizeof(vmm__x86_hideable[0]);

int vmm__x86_hide_parse(const char *names, uint64_t *mask, char *bad, size_t len)
{
	const char *p = names;

	*mask = 0;
	if (!*p)
		return 0;
	for (;;) {
		size_t n = strcspn(p, ",");
		unsigned i;

		for (i = 0; i < vmm__x86_hideable_count; i++)
			if (strlen(vmm__x86_hideable[i].name) == n &&
			    !strncmp(p, vmm__x86_hideable[i].name, n))
				break;
		if (i == vmm__x86_hideable_count) {
			if (len)
				snprintf(bad, len, "%.*s", (int)(n < 64 ? n : 64), p);
			return -1;
		}
		*mask |= 1ull << i;
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

void vmm__x86_cpu_model_hide(vmm__x86_cpu_model *m, uint64_t mask)
{
	for (unsigned i = 0; i < vmm__x86_hideable_count; i++) {
		const vmm__x86_hideable_feature *f = &vmm__x86_hideable[i];

		if (!(mask & (1ull << i)))
			continue;
		switch (f->word) {
		case VMM__X86_W_1ECX: m->leaf1_ecx &= ~f->bit; break;
		case VMM__X86_W_1EDX: m->leaf1_edx &= ~f->bit; break;
		case VMM__X86_W_7EBX: m->leaf7_ebx &= ~f->bit; break;
		case VMM__X86_W_7ECX: m->leaf7_ecx &= ~f->bit; break;
		}
	}
}
