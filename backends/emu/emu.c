/* emu.c - the emu backend's ops table: VM and vCPU lifecycle, guest memory
 * notifications, register access. The CPU itself lives in the other files
 * of this folder. */
#include <linux/membarrier.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "arch/x86/msr.h"
#include "backends/emu/intr.h"
#include "backends/emu/mmu.h"
#include "lib/platform/platform.h"

static void emu_probe(vmm_backend_info *info)
{
	info->usable = 1;
	snprintf(info->flavour, sizeof(info->flavour), "x86-64");
	snprintf(info->reason, sizeof(info->reason),
		 "software CPU: x86-64-v2 (x87, MMX, SSE to SSE4.2, XSAVE), "
		 "no virtualization hardware needed");
}

static int emu_vm_create(vmm_vm *vm)
{
	emu_vm *evm;

	if (vm->config.require)
		return vmm__err(VMM_EBACKEND, "emu: require=\"%.16s\" asks for a kvm flavour; "
				"the emu backend is a software CPU", vm->config.require);
	evm = calloc(1, sizeof(*evm));
	if (!evm)
		return vmm__err(VMM_ENOMEM, "emu: out of memory for the VM state");
	pthread_mutex_init(&evm->code_lock, NULL);
	evm->model = vmm__x86_emu_model;
	/* Idempotent per process; lets make_code order other vCPUs' stores. */
	evm->membarrier_ok = vm->config.vcpus > 1 &&
		syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
	vm->backend_priv = evm;
	snprintf(vm->flavour, sizeof(vm->flavour), "x86-64");
	return 0;
}

static void free_page_info(emu_page_info *pi)
{
	free((void *)pi->code);
	free((void *)pi->gen);
}

static void emu_vm_destroy(vmm_vm *vm)
{
	emu_vm *evm = vm->backend_priv;

	if (!evm)
		return;
	for (uint32_t i = 0; i < evm->npage_infos; i++)
		free_page_info(&evm->pages[i]);
	pthread_mutex_destroy(&evm->code_lock);
	free(evm);
	vm->backend_priv = NULL;
}

static int emu_mem_map(vmm_vm *vm, const vmm__memslot *slot)
{
	emu_vm *evm = vm->backend_priv;
	emu_page_info *pi;

	if (evm->npage_infos >= VMM__MAX_MEMSLOTS)
		return vmm__err(VMM_ENOMEM, "emu: more than %d memory slots", VMM__MAX_MEMSLOTS);
	pi = &evm->pages[evm->npage_infos];
	pi->gpa = slot->gpa;
	pi->npages = slot->size >> 12;
	pi->code = calloc(pi->npages, sizeof(*pi->code));
	pi->gen = calloc(pi->npages, sizeof(*pi->gen));
	if (!pi->code || !pi->gen) {
		free_page_info(pi);
		return vmm__err(VMM_ENOMEM, "emu: out of memory tracking %llu pages",
				(unsigned long long)pi->npages);
	}
	evm->npage_infos++;
	atomic_fetch_add(&evm->map_epoch, 1);
	return 0;
}

static void emu_mem_unmap(vmm_vm *vm, const vmm__memslot *slot)
{
	emu_vm *evm = vm->backend_priv;

	for (uint32_t i = 0; i < evm->npage_infos; i++) {
		if (evm->pages[i].gpa != slot->gpa)
			continue;
		free_page_info(&evm->pages[i]);
		evm->pages[i] = evm->pages[--evm->npage_infos];
		break;
	}
	atomic_fetch_add(&evm->map_epoch, 1);
}

static void emu_mem_written(vmm_vm *vm, uint64_t gpa, uint64_t len)
{
	emu_pages_written(vm->backend_priv, gpa, len);
}

/* vmm_regs order (rax rbx rcx rdx rsi rdi rsp rbp) to encoding order. */
static uint64_t *reg_slot(vmm_regs *regs, unsigned n)
{
	uint64_t *const slots[16] = {
		&regs->rax, &regs->rcx, &regs->rdx, &regs->rbx, &regs->rsp, &regs->rbp,
		&regs->rsi, &regs->rdi, &regs->r8, &regs->r9, &regs->r10, &regs->r11,
		&regs->r12, &regs->r13, &regs->r14, &regs->r15
	};

	return slots[n];
}

static int emu_get_regs(vmm_vcpu *vcpu, vmm_regs *regs)
{
	emu_cpu *cpu = vcpu->backend_priv;

	for (unsigned i = 0; i < 16; i++)
		*reg_slot(regs, i) = cpu->r[i];
	regs->rip = cpu->rip;
	regs->rflags = emu_get_rflags(cpu);
	return 0;
}

static int emu_set_regs(vmm_vcpu *vcpu, const vmm_regs *regs)
{
	emu_cpu *cpu = vcpu->backend_priv;

	for (unsigned i = 0; i < 16; i++)
		cpu->r[i] = *reg_slot((vmm_regs *)regs, i);
	cpu->r[EMU_REG_NONE] = 0;
	cpu->rip = regs->rip;
	emu_set_rflags(cpu, regs->rflags);
	return 0;
}

static int emu_get_sregs(vmm_vcpu *vcpu, vmm_sregs *s)
{
	emu_cpu *cpu = vcpu->backend_priv;

	s->es = cpu->seg[X86_SEG_ES];
	s->cs = cpu->seg[X86_SEG_CS];
	s->ss = cpu->seg[X86_SEG_SS];
	s->ds = cpu->seg[X86_SEG_DS];
	s->fs = cpu->seg[X86_SEG_FS];
	s->gs = cpu->seg[X86_SEG_GS];
	s->tr = cpu->tr;
	s->ldt = cpu->ldt;
	s->gdt = cpu->gdt;
	s->idt = cpu->idt;
	s->cr0 = cpu->cr0;
	s->cr2 = cpu->cr2;
	s->cr3 = cpu->cr3;
	s->cr4 = cpu->cr4;
	s->cr8 = cpu->vcpu->lapic ? vmm__lapic_get_cr8(vcpu) : cpu->cr8;
	s->efer = cpu->efer;
	s->apic_base = cpu->apic_base;
	if (cpu->vcpu->lapic)
		vmm__lapic_msr_read(vcpu, X86_MSR_APIC_BASE, &s->apic_base);
	return 0;
}

static int emu_set_sregs(vmm_vcpu *vcpu, const vmm_sregs *s)
{
	emu_cpu *cpu = vcpu->backend_priv;

	cpu->seg[X86_SEG_ES] = s->es;
	cpu->seg[X86_SEG_CS] = s->cs;
	cpu->seg[X86_SEG_SS] = s->ss;
	cpu->seg[X86_SEG_DS] = s->ds;
	cpu->seg[X86_SEG_FS] = s->fs;
	cpu->seg[X86_SEG_GS] = s->gs;
	cpu->tr = s->tr;
	cpu->ldt = s->ldt;
	cpu->gdt = s->gdt;
	cpu->idt = s->idt;
	cpu->cr0 = s->cr0 | X86_CR0_ET;
	cpu->cr2 = s->cr2;
	cpu->cr3 = s->cr3;
	cpu->cr4 = s->cr4;
	cpu->cr8 = s->cr8 & 0xf;
	cpu->efer = s->efer;
	if (cpu->vcpu->lapic) {
		uint64_t base = 0;

		vmm__lapic_set_cr8(vcpu, (uint8_t)cpu->cr8);
		vmm__lapic_msr_read(vcpu, X86_MSR_APIC_BASE, &base);
		if (base != s->apic_base)
			vmm__lapic_msr_write(vcpu, X86_MSR_APIC_BASE, s->apic_base);
	}
	cpu->apic_base = s->apic_base;
	cpu->cpl = (cpu->cr0 & X86_CR0_PE) ? (s->cs.selector & 3) : 0;
	emu_update_mode(cpu);
	emu_tlb_flush(cpu);
	return 0;
}

static int emu_vcpu_create(vmm_vcpu *vcpu)
{
	emu_cpu *cpu = calloc(1, sizeof(*cpu));
	vmm_regs regs;
	vmm_sregs sregs;

	if (!cpu)
		return vmm__err(VMM_ENOMEM, "emu: out of memory for vCPU %u", vcpu->index);
	if (emu_cache_init(&cpu->cache)) {
		free(cpu);
		return VMM_ENOMEM;
	}
	cpu->vcpu = vcpu;
	cpu->vm = vcpu->vm;
	cpu->evm = vcpu->vm->backend_priv;
	if (!cpu->evm->model_fixed) {     /* first vCPU (vm->lock held) */
		vmm__x86_cpu_model_hide(&cpu->evm->model, vcpu->vm->cpu_hidden);
		cpu->evm->model_fixed = 1;
	}
	cpu->map_epoch_seen = atomic_load(&cpu->evm->map_epoch);
	cpu->code_epoch_seen = atomic_load(&cpu->evm->code_epoch);
	cpu->pat = 0x0007040600070406ull;
	emu_msr_reset(cpu);
	cpu->dr[6] = 0xffff0ff0ull;
	cpu->dr[7] = 0x400;
	cpu->fpu.fcw = 0x40;           /* power-on: FINIT gives 0x37f */
	cpu->fpu.empty = 0xff;
	cpu->fpu.mxcsr = 0x1f80;
	cpu->shadow_seq = ~0ull;
	cpu->xcr0 = 1;
	vcpu->backend_priv = cpu;
	if (vcpu->index < VMM_MAX_VCPUS)
		atomic_store(&cpu->evm->cpus[vcpu->index], cpu);
	vmm__x86_reset_state(&regs, &sregs);
	if (vcpu->index != 0)
		sregs.apic_base &= ~(1ull << 8);
	emu_set_regs(vcpu, &regs);
	emu_set_sregs(vcpu, &sregs);
	return 0;
}

/* INIT: the reset state of registers, segments, control and debug
 * registers and EFER; x87/SSE state, PAT, the TSC and the APIC base stay
 * (SDM table 9-1). The vCPU then waits for a SIPI. */
void emu_init_reset(emu_cpu *cpu)
{
	vmm_regs regs;
	vmm_sregs sregs;

	vmm__x86_reset_state(&regs, &sregs);
	sregs.apic_base = cpu->apic_base;
	sregs.cr0 |= cpu->cr0 & (X86_CR0_CD | X86_CR0_NW);
	emu_set_regs(cpu->vcpu, &regs);
	emu_set_sregs(cpu->vcpu, &sregs);
	cpu->dr[0] = cpu->dr[1] = cpu->dr[2] = cpu->dr[3] = 0;
	cpu->dr[6] = 0xffff0ff0ull;
	cpu->dr[7] = 0x400;
	cpu->halted = 0;
	cpu->nmi_blocked = 0;
	cpu->pending_hypercall = 0;
	cpu->log.replay = 0;
	cpu->log.count = cpu->log.pos = 0;
	emu_jc_flush(cpu);
}

/* SIPI: real mode at vector << 12 (CS = vector << 8, IP = 0). */
void emu_sipi(emu_cpu *cpu, uint8_t vector)
{
	cpu->seg[X86_SEG_CS].selector = (uint16_t)(vector << 8);
	cpu->seg[X86_SEG_CS].base = (uint64_t)vector << 12;
	cpu->rip = 0;
	cpu->halted = 0;
	emu_update_mode(cpu);
	emu_jc_flush(cpu);
}

/* Power-on (S3 resume): INIT's clearing, then the given registers; the
 * APIC base first, so neither step writes the old one back. */
static int emu_vcpu_power_on(vmm_vcpu *vcpu, const vmm_regs *regs, const vmm_sregs *sregs)
{
	emu_cpu *cpu = vcpu->backend_priv;

	cpu->apic_base = sregs->apic_base;
	emu_init_reset(cpu);
	emu_set_regs(vcpu, regs);
	emu_set_sregs(vcpu, sregs);
	emu_jc_flush(cpu);
	return 0;
}

static void emu_vcpu_destroy(vmm_vcpu *vcpu)
{
	emu_cpu *cpu = vcpu->backend_priv;

	if (!cpu)
		return;
	if (vcpu->index < VMM_MAX_VCPUS)
		atomic_store(&cpu->evm->cpus[vcpu->index], NULL);
	emu_cache_fini(&cpu->cache);
	free(cpu);
	vcpu->backend_priv = NULL;
}

static int emu_run(vmm_vcpu *vcpu, vmm_exit *exit)
{
	return emu_run_loop(vcpu->backend_priv, exit);
}

static void emu_kick(vmm_vcpu *vcpu)
{
	/* The run loop polls vcpu->kicked between blocks. */
}

static int emu_set_trace_op(vmm_vcpu *vcpu, vmm_trace_fn fn, void *opaque)
{
	return emu_set_trace(vcpu->backend_priv, fn, opaque);
}

static int emu_set_msr(vmm_vcpu *vcpu, uint32_t msr, uint64_t value)
{
	if (emu_msr_write(vcpu->backend_priv, msr, value))
		return vmm__err(VMM_EINVAL, "emu: MSR 0x%x cannot be set to 0x%llx", msr,
				(unsigned long long)value);
	return 0;
}

static int emu_get_msr(vmm_vcpu *vcpu, uint32_t msr, uint64_t *value)
{
	if (emu_msr_read(vcpu->backend_priv, msr, value))
		return vmm__err(VMM_EINVAL, "emu: MSR 0x%x does not exist (RDMSR would #GP)",
				msr);
	return 0;
}

static int emu_get_dregs(vmm_vcpu *vcpu, vmm_dregs *d)
{
	emu_cpu *cpu = vcpu->backend_priv;

	memcpy(d->dr, cpu->dr, sizeof(d->dr));
	d->dr[4] = d->dr[5] = 0;
	return 0;
}

/* Tag of a non-empty x87 register: 0 valid, 1 zero, 2 special. */
static unsigned x87_tag(const uint8_t *v)
{
	uint16_t exp;
	uint64_t mant;

	memcpy(&mant, v, 8);
	memcpy(&exp, v + 8, 2);
	exp &= 0x7fff;
	if (exp == 0x7fff || (exp == 0 && mant) || (exp && !(mant >> 63)))
		return 2;
	return exp == 0 && !mant ? 1 : 0;
}

static int emu_get_fpu(vmm_vcpu *vcpu, vmm_fpu *f)
{
	const emu_fpu *e = &((emu_cpu *)vcpu->backend_priv)->fpu;

	memset(f, 0, sizeof(*f));
	for (unsigned i = 0; i < 8; i++)
		memcpy(f->st[i], &e->st[(e->top + i) & 7], 10);
	for (unsigned r = 0; r < 8; r++) {
		unsigned tag = (e->empty >> r) & 1 ? 3 : x87_tag(f->st[(r - e->top) & 7]);

		f->ftw |= (uint16_t)(tag << (2 * r));
	}
	f->fcw = e->fcw;
	f->fsw = (uint16_t)((e->fsw & ~0x3800u) | ((unsigned)e->top << 11));
	f->fop = e->fop;
	f->mxcsr = e->mxcsr;
	memcpy(f->xmm, e->xmm, sizeof(f->xmm));
	return 0;
}

static int emu_set_fpu(vmm_vcpu *vcpu, const vmm_fpu *f)
{
	emu_fpu *e = &((emu_cpu *)vcpu->backend_priv)->fpu;

	if (f->mxcsr & ~0xffffu)
		return vmm__err(VMM_EINVAL, "emu: MXCSR 0x%x has reserved bits set", f->mxcsr);
	e->top = (uint8_t)((f->fsw >> 11) & 7);
	e->fsw = (uint16_t)(f->fsw & ~0x3800u);
	e->fcw = f->fcw;
	e->fop = f->fop;
	e->mxcsr = f->mxcsr;
	e->empty = 0;
	for (unsigned i = 0; i < 8; i++) {
		unsigned r = (e->top + i) & 7;

		memset(&e->st[r], 0, sizeof(e->st[r]));
		memcpy(&e->st[r], f->st[i], 10);
		if (((f->ftw >> (2 * r)) & 3) == 3)
			e->empty |= (uint8_t)(1u << r);
	}
	memcpy(e->xmm, f->xmm, sizeof(e->xmm));
	return 0;
}

const vmm__backend_ops vmm__emu_ops = {
	.version = VMM__BACKEND_OPS_VERSION,
	.name = "emu",
	.probe = emu_probe,
	.vm_create = emu_vm_create,
	.vm_destroy = emu_vm_destroy,
	.mem_map = emu_mem_map,
	.mem_unmap = emu_mem_unmap,
	.mem_written = emu_mem_written,
	.vcpu_create = emu_vcpu_create,
	.vcpu_destroy = emu_vcpu_destroy,
	.get_regs = emu_get_regs,
	.set_regs = emu_set_regs,
	.get_sregs = emu_get_sregs,
	.set_sregs = emu_set_sregs,
	.run = emu_run,
	.kick = emu_kick,
	.set_msr = emu_set_msr,
	.ix_caps = emu_ix_caps,
	.ix_changed = emu_ix_changed,
	.get_msr = emu_get_msr,
	.get_fpu = emu_get_fpu,
	.set_fpu = emu_set_fpu,
	.get_dregs = emu_get_dregs,
	.set_trace = emu_set_trace_op,
	.vcpu_power_on = emu_vcpu_power_on,
};
