/* cpu.c - the emu CPU's mode bookkeeping (derived state after CR0/CR4/EFER
 * and segment changes), control-register and MSR writes with their
 * architectural checks, and the run loop: find a block, execute it, act on
 * how it ended. */
#include <stdarg.h>
#include <stdio.h>
#include <x86intrin.h>

#include "arch/x86/cpuid.h"
#include "arch/x86/msr.h"
#include "arch/x86/paging.h"
#include "backends/emu/exec.h"
#include "backends/emu/intr.h"
#include "lib/platform/platform.h"

void emu_update_mode(emu_cpu *cpu)
{
	const vmm_segment *cs = &cpu->seg[X86_SEG_CS];
	uint64_t old_cs_base = cpu->segbase[X86_SEG_CS];

	cpu->long_mode = !!(cpu->efer & X86_EFER_LMA);
	if (cpu->long_mode && cs->l && (cpu->cr0 & X86_CR0_PE))
		cpu->code_sz = EMU_SZ64;
	else
		cpu->code_sz = cs->db ? EMU_SZ32 : EMU_SZ16;
	if (!(cpu->cr0 & X86_CR0_PE))
		cpu->cpl = 0;
	cpu->stack_sz = cpu->code_sz == EMU_SZ64 ? EMU_SZ64 :
			cpu->seg[X86_SEG_SS].db ? EMU_SZ32 : EMU_SZ16;
	cpu->linmask = cpu->long_mode ? ~0ull : 0xffffffffull;
	for (unsigned s = 0; s < 6; s++)
		cpu->segbase[s] = (cpu->code_sz == EMU_SZ64 && s < X86_SEG_FS) ? 0 :
				  cpu->seg[s].base;
	cpu->segbase[6] = cpu->segbase[7] = 0;
	if (cpu->code_sz != EMU_SZ64)
		for (unsigned s = 0; s < 6; s++)
			cpu->segbase[s] &= 0xffffffffull;
	cpu->tlb = cpu->tlbs[cpu->cpl == 3];
	cpu->mode_key = cpu->code_sz | ((cpu->cpl == 3) << 2);
	if ((cpu->cr0 & (X86_CR0_TS | X86_CR0_EM)) || !(cpu->cr4 & X86_CR4_OSFXSR))
		cpu->mode_key |= EMU_MODE_FPCHK;   /* cache.c binds #NM / #UD */
	emu_ac_update(cpu);
	if (old_cs_base != cpu->segbase[X86_SEG_CS])
		emu_jc_flush(cpu);
}

int emu_internal_error(emu_cpu *cpu, const char *fmt, ...)
{
	vmm_exit *exit = &cpu->vcpu->exit;
	va_list ap;

	exit->reason = VMM_EXIT_INTERNAL_ERROR;
	exit->internal.suberror = 0;
	va_start(ap, fmt);
	vsnprintf(exit->internal.message, sizeof(exit->internal.message), fmt, ap);
	va_end(ap);
	return EMU_ERROR;
}

static void *where_pte(void *opaque, uint64_t gpa)
{
	return vmm__gpa_to_hva(opaque, gpa, 4);   /* entries are aligned */
}

/* Up to 15 code bytes at RIP, read without side effects; returns how many. */
unsigned emu_code_bytes(const emu_cpu *cpu, uint8_t *buf)
{
	vmm__x86_walk_env env = { cpu->cr0, cpu->cr3, cpu->cr4, cpu->efer, where_pte, cpu->vm,
				  0, 0 };
	unsigned n = 0;

	while (n < 15) {
		uint64_t la = (cpu->segbase[X86_SEG_CS] + cpu->rip + n) & cpu->linmask;
		unsigned chunk = 4096 - (unsigned)(la & 0xfff);
		vmm__x86_walk_result w;
		const uint8_t *p;

		chunk = chunk < 15 - n ? chunk : 15 - n;
		if ((cpu->long_mode && !vmm__x86_canonical(la)) ||
		    vmm__x86_walk(&env, la, VMM__X86_ACC_NO_AD | VMM__X86_ACC_AC, &w) ||
		    !(p = vmm__gpa_to_hva(cpu->vm, w.gpa, chunk)))
			break;
		memcpy(buf + n, p, chunk);
		n += chunk;
	}
	return n;
}

void emu_internal_error_where(emu_cpu *cpu)
{
	char *msg = cpu->vcpu->exit.internal.message;
	size_t size = sizeof(cpu->vcpu->exit.internal.message), len = strlen(msg);
	uint8_t bytes[15];
	unsigned n;

	if (strstr(msg, "unsupported instruction at rip 0x"))
		return;   /* names its RIP and bytes already */
	n = emu_code_bytes(cpu, bytes);
	len += (size_t)snprintf(msg + len, size - len, " [rip 0x%llx:%s",
				(unsigned long long)cpu->rip, n ? "" : " bytes unreadable");
	for (unsigned i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(msg + len, size - len, " %02x", bytes[i]);
	if (len < size)
		snprintf(msg + len, size - len, "]");
}

/* ---- Control registers --------------------------------------------------------- */

#define CR4_ALLOWED (X86_CR4_TSD | X86_CR4_DE | X86_CR4_PSE | X86_CR4_PAE | X86_CR4_MCE | \
		     X86_CR4_PGE | X86_CR4_PCE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT | \
		     X86_CR4_PCIDE | X86_CR4_OSXSAVE | X86_CR4_SMEP | X86_CR4_SMAP | \
		     X86_CR4_PKE | X86_CR4_PKS)
/* CR4 bits the page walk reads: a change flushes the TLB (PCIDE 1 -> 0
 * invalidates every PCID's entries) */
#define CR4_PAGING (X86_CR4_PAE | X86_CR4_PSE | X86_CR4_PGE | X86_CR4_SMEP | X86_CR4_SMAP | \
		    X86_CR4_PKE | X86_CR4_PKS | X86_CR4_PCIDE)
#define CR3_NOFLUSH (1ull << 63)

int emu_set_cr0(emu_cpu *cpu, uint64_t v)
{
	uint64_t changed;

	v |= X86_CR0_ET;
	if ((v >> 32) || ((v & X86_CR0_PG) && !(v & X86_CR0_PE)) ||
	    ((v & X86_CR0_NW) && !(v & X86_CR0_CD)))
		return emu_gp(cpu, 0);
	if (!(v & X86_CR0_PG) && (cpu->cr4 & X86_CR4_PCIDE))
		return emu_gp(cpu, 0);
	if ((v & X86_CR0_PG) && !(cpu->cr0 & X86_CR0_PG) && (cpu->efer & X86_EFER_LME)) {
		if (!(cpu->cr4 & X86_CR4_PAE))
			return emu_gp(cpu, 0);
		cpu->efer |= X86_EFER_LMA;
	}
	if (!(v & X86_CR0_PG) && (cpu->efer & X86_EFER_LMA)) {
		if (cpu->code_sz == EMU_SZ64)
			return emu_gp(cpu, 0);
		cpu->efer &= ~X86_EFER_LMA;
	}
	changed = cpu->cr0 ^ v;
	cpu->cr0 = v;
	if (changed & (X86_CR0_PG | X86_CR0_WP | X86_CR0_PE))
		emu_tlb_flush(cpu);
	emu_update_mode(cpu);
	return EMU_OK;
}

/* With CR4.PCIDE, bits 11:0 are the PCID and bit 63 (not stored) asks to
 * keep the TLB entries of that PCID. The emu TLB holds only the current
 * address space's entries, so every load flushes its non-global ones:
 * flushing more than asked is architecturally allowed (a TLB may drop
 * entries at any time), and no entry of another PCID can be used after
 * the switch. Global entries (CR4.PGE, G=1) are shared by every address
 * space and PCID, and stay. */
int emu_set_cr3(emu_cpu *cpu, uint64_t v)
{
	if (cpu->cr4 & X86_CR4_PCIDE)
		v &= ~CR3_NOFLUSH;
	if (cpu->long_mode && (v >> 52))
		return emu_gp(cpu, 0);
	cpu->cr3 = v;
	emu_tlb_flush_nonglobal(cpu);
	return EMU_OK;
}

/* CR4 bits of features the CPU model (CPUID) may leave out. */
static uint64_t cr4_allowed(const emu_cpu *cpu)
{
	const vmm__x86_cpu_model *m = emu_model(cpu);
	uint64_t v = CR4_ALLOWED;

	if (!(m->leaf7_ebx & X86_CPUID_7_EBX_SMEP))
		v &= ~X86_CR4_SMEP;
	if (!(m->leaf7_ebx & X86_CPUID_7_EBX_SMAP))
		v &= ~X86_CR4_SMAP;
	if (!(m->leaf7_ecx & X86_CPUID_7_ECX_PKU))
		v &= ~X86_CR4_PKE;
	if (!(m->leaf7_ecx & X86_CPUID_7_ECX_PKS))
		v &= ~X86_CR4_PKS;
	if (!(m->leaf1_ecx & X86_CPUID_1_ECX_PCID))
		v &= ~X86_CR4_PCIDE;
	return v;
}

/* #GP for reserved or unadvertised bits, for clearing PAE in long mode,
 * and for setting PCIDE outside long mode or while CR3[11:0] is not 0. */
int emu_set_cr4(emu_cpu *cpu, uint64_t v)
{
	if ((v & ~cr4_allowed(cpu)) || (cpu->long_mode && !(v & X86_CR4_PAE)))
		return emu_gp(cpu, 0);
	if ((v & X86_CR4_PCIDE) && !(cpu->cr4 & X86_CR4_PCIDE) &&
	    (!cpu->long_mode || (cpu->cr3 & 0xfff)))
		return emu_gp(cpu, 0);
	if ((cpu->cr4 ^ v) & CR4_PAGING)
		emu_tlb_flush(cpu);
	cpu->cr4 = v;
	emu_update_mode(cpu);
	return EMU_OK;
}

int emu_set_efer(emu_cpu *cpu, uint64_t v)
{
	if (!vmm__x86_msr_write_ok(X86_MSR_EFER, v, cpu->efer, cpu->cr0, 1))
		return emu_gp(cpu, 0);
	v = (v & ~X86_EFER_LMA) | (cpu->efer & X86_EFER_LMA);
	if ((v ^ cpu->efer) & X86_EFER_NXE)
		emu_tlb_flush(cpu);
	cpu->efer = v;
	emu_update_mode(cpu);
	return EMU_OK;
}

uint64_t emu_rdtsc(const emu_cpu *cpu)
{
	return __rdtsc() + (uint64_t)cpu->tsc_offset;
}

/* ---- MSRs ------------------------------------------------------------------------ */

void emu_msr_reset(emu_cpu *cpu)
{
	for (uint32_t i = 0; i < vmm__x86_msr_count; i++)
		if (vmm__x86_msrs[i].kind == VMM__MSR_STORED)
			cpu->msr_val[vmm__x86_msrs[i].slot] = vmm__x86_msrs[i].reset;
}

/* MSRs the table describes completely (not kept in emu_cpu fields). */
static int msr_table_read(emu_cpu *cpu, uint32_t msr, uint64_t *v)
{
	const vmm__x86_msr_desc *d = vmm__x86_msr_find(msr);

	if (!d || d->kind == VMM__MSR_CPU || d->kind == VMM__MSR_WONLY)
		return -1;
	*v = d->kind == VMM__MSR_STORED ? cpu->msr_val[d->slot] : d->reset;
	return 0;
}

static int msr_table_write(emu_cpu *cpu, uint32_t msr, uint64_t v)
{
	const vmm__x86_msr_desc *d = vmm__x86_msr_find(msr);

	if (!d || d->kind == VMM__MSR_CPU)
		return -1;
	if (d->kind == VMM__MSR_STORED)
		cpu->msr_val[d->slot] = v;
	return 0;    /* IGNORE; CONST failed vmm__x86_msr_write_ok already */
}

int emu_msr_read(emu_cpu *cpu, uint32_t msr, uint64_t *v)
{
	if (cpu->vcpu->lapic && vmm__lapic_msr_is_ours(msr))
		return emu_lapic_msr_read(cpu, msr, v);
	switch (msr) {
	case X86_MSR_TSC: *v = emu_rdtsc(cpu); break;
	case X86_MSR_APIC_BASE: *v = cpu->apic_base; break;
	case X86_MSR_SYSENTER_CS: *v = cpu->sysenter_cs; break;
	case X86_MSR_SYSENTER_ESP: *v = cpu->sysenter_esp; break;
	case X86_MSR_SYSENTER_EIP: *v = cpu->sysenter_eip; break;
	case X86_MSR_PAT: *v = cpu->pat; break;
	case X86_MSR_EFER: *v = cpu->efer; break;
	case X86_MSR_STAR: *v = cpu->star; break;
	case X86_MSR_LSTAR: *v = cpu->lstar; break;
	case X86_MSR_CSTAR: *v = cpu->cstar; break;
	case X86_MSR_SFMASK: *v = cpu->sfmask; break;
	case X86_MSR_FS_BASE: *v = cpu->seg[X86_SEG_FS].base; break;
	case X86_MSR_GS_BASE: *v = cpu->seg[X86_SEG_GS].base; break;
	case X86_MSR_KERNEL_GS_BASE: *v = cpu->kernel_gs_base; break;
	case X86_MSR_TSC_AUX: *v = cpu->tsc_aux; break;
	case X86_MSR_PKRS: *v = cpu->pkrs; break;
	default: return msr_table_read(cpu, msr, v);
	}
	return 0;
}

int emu_msr_write(emu_cpu *cpu, uint32_t msr, uint64_t v)
{
	if (cpu->vcpu->lapic && vmm__lapic_msr_is_ours(msr))
		return emu_lapic_msr_write(cpu, msr, v);
	if (msr == X86_MSR_PKRS) {             /* emu's own: only it has PKS */
		if (v >> 32)
			return -1;
		cpu->pkrs = (uint32_t)v;
		emu_tlb_flush(cpu);
		return 0;
	}
	if (!vmm__x86_msr_write_ok(msr, v, cpu->efer, cpu->cr0, 1))
		return -1;
	switch (msr) {
	case X86_MSR_TSC: cpu->tsc_offset = (int64_t)(v - __rdtsc()); break;
	case X86_MSR_APIC_BASE: cpu->apic_base = v; break;
	case X86_MSR_SYSENTER_CS: cpu->sysenter_cs = v; break;
	case X86_MSR_SYSENTER_ESP: cpu->sysenter_esp = v; break;
	case X86_MSR_SYSENTER_EIP: cpu->sysenter_eip = v; break;
	case X86_MSR_PAT: cpu->pat = v; break;
	case X86_MSR_EFER: return emu_set_efer(cpu, v) ? -1 : 0;
	case X86_MSR_STAR: cpu->star = v; break;
	case X86_MSR_LSTAR: cpu->lstar = v; break;
	case X86_MSR_CSTAR: cpu->cstar = v; break;
	case X86_MSR_SFMASK: cpu->sfmask = v; break;
	case X86_MSR_FS_BASE: cpu->seg[X86_SEG_FS].base = v; emu_update_mode(cpu); break;
	case X86_MSR_GS_BASE: cpu->seg[X86_SEG_GS].base = v; emu_update_mode(cpu); break;
	case X86_MSR_KERNEL_GS_BASE: cpu->kernel_gs_base = v; break;
	case X86_MSR_TSC_AUX: cpu->tsc_aux = v; break;
	default: return msr_table_write(cpu, msr, v);
	}
	return 0;
}
