/* exec_sys.c - system instructions: HLT, CPUID, RDTSC(P), RDMSR/WRMSR, IN/OUT,
 * CLI/STI, VMCALL/VMMCALL, INT n/INT3/INTO/INT1, control and debug
 * registers, descriptor-table registers, INVLPG, SWAPGS, fences. */
#include "arch/x86/cpuid.h"
#include "arch/x86/msr.h"
#include "backends/emu/exec.h"
#include "backends/emu/exec_tab.h"
#include "backends/emu/intr.h"
#include "lib/platform/platform.h"

static int cpl0(const emu_cpu *cpu)
{
	return cpu->cpl == 0;
}

int emu_h_hlt(emu_cpu *cpu, const emu_insn *ins)
{
	if (!cpl0(cpu))
		return emu_gp(cpu, 0);
	EMU_IX_CHECK(cpu, ins, VMM_EV_HLT, 0, 0);
	if (cpu->vcpu->lapic) {
		cpu->halted = 1;     /* sleeps in the run loop until an interrupt */
		emu_intr_look(cpu);
		return EMU_NEXT;
	}
	cpu->vcpu->exit.reason = VMM_EXIT_HLT;
	return EMU_EXIT_NEXT;
}

int emu_h_cpuid(emu_cpu *cpu, const emu_insn *ins)
{
	uint32_t out[4];

	EMU_IX_CHECK(cpu, ins, VMM_EV_CPUID, (uint32_t)cpu->r[R_AX], cpu->r[R_CX]);
	vmm__x86_cpuid(emu_model(cpu), cpu->vcpu->index, cpu->vm->config.vcpus,
		       (uint32_t)cpu->r[R_AX], (uint32_t)cpu->r[R_CX], out);
	/* The APIC, x2APIC and TSC-deadline exist only with VMM_VM_IRQCHIP. */
	if ((uint32_t)cpu->r[R_AX] == 1 && cpu->vcpu->lapic) {
		out[2] |= (1u << 21) | (1u << 24);
		if (cpu->apic_base & (1ull << 11))
			out[3] |= 1u << 9;   /* clear while APIC_BASE.EN is, as hardware */
	}
	if ((uint32_t)cpu->r[R_AX] == 1 && (cpu->cr4 & X86_CR4_OSXSAVE))
		out[2] |= X86_CPUID_1_ECX_OSXSAVE;
	if ((uint32_t)cpu->r[R_AX] == 7 && out[2] && (cpu->cr4 & X86_CR4_PKE))
		out[2] |= X86_CPUID_7_ECX_OSPKE;
	cpu->r[R_AX] = out[0];
	cpu->r[R_BX] = out[1];
	cpu->r[R_CX] = out[2];
	cpu->r[R_DX] = out[3];
	return EMU_OK;
}

int emu_h_rdtsc(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t tsc;

	if ((cpu->cr4 & X86_CR4_TSD) && !cpl0(cpu))
		return emu_gp(cpu, 0);
	tsc = emu_rdtsc(cpu);
	cpu->r[R_AX] = tsc & 0xffffffffull;
	cpu->r[R_DX] = tsc >> 32;
	return EMU_OK;
}

int emu_h_rdtscp(emu_cpu *cpu, const emu_insn *ins)
{
	int rc = emu_h_rdtsc(cpu, ins);

	if (rc)
		return rc;
	cpu->r[R_CX] = cpu->tsc_aux & 0xffffffffull;
	return EMU_OK;
}

int emu_h_rdmsr(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t v;

	if (!cpl0(cpu) || emu_msr_read(cpu, (uint32_t)cpu->r[R_CX], &v))
		return emu_gp(cpu, 0);
	cpu->r[R_AX] = v & 0xffffffffull;
	cpu->r[R_DX] = v >> 32;
	return EMU_OK;
}

int emu_h_wrmsr(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t v = (cpu->r[R_AX] & 0xffffffffull) | (cpu->r[R_DX] << 32);

	if (!cpl0(cpu))
		return emu_gp(cpu, 0);
	EMU_IX_CHECK(cpu, ins, VMM_EV_MSR_WRITE, (uint32_t)cpu->r[R_CX], v);
	if (emu_msr_write(cpu, (uint32_t)cpu->r[R_CX], v))
		return emu_gp(cpu, 0);
	return EMU_NEXT;
}

/* ---- Port I/O ------------------------------------------------------------------ */

static int io_allowed(const emu_cpu *cpu)
{
	unsigned iopl = (unsigned)(cpu->rflags >> 12) & 3;

	return !(cpu->cr0 & X86_CR0_PE) || cpu->cpl <= iopl;
}

static uint16_t io_port(const emu_cpu *cpu, const emu_insn *ins)
{
	return ins->aux ? (uint16_t)(ins->imm & 0xff) : (uint16_t)cpu->r[R_DX];
}

int emu_h_in(emu_cpu *cpu, const emu_insn *ins)
{
	uint32_t v = 0;
	int rc;

	if (!io_allowed(cpu))
		return emu_gp(cpu, 0);
	rc = emu_pio(cpu, io_port(cpu, ins), 1u << ins->osz, 0, &v);
	if (rc)
		return rc;
	emu_reg_set(cpu, R_AX * 8, ins->osz, v);
	return EMU_OK;
}

int emu_h_out(emu_cpu *cpu, const emu_insn *ins)
{
	uint32_t v = (uint32_t)emu_reg_get(cpu, R_AX * 8, ins->osz);

	if (!io_allowed(cpu))
		return emu_gp(cpu, 0);
	return emu_pio(cpu, io_port(cpu, ins), 1u << ins->osz, 1, &v);
}

int emu_h_cli(emu_cpu *cpu, const emu_insn *ins)
{
	if (!io_allowed(cpu))
		return emu_gp(cpu, 0);
	cpu->rflags &= ~X86_FL_IF;
	return EMU_OK;
}

int emu_h_sti(emu_cpu *cpu, const emu_insn *ins)
{
	if (!io_allowed(cpu))
		return emu_gp(cpu, 0);
	if (!(cpu->rflags & X86_FL_IF) && cpu->vcpu->lapic) {
		/* The block ends here; the run loop runs the shadowed
		 * instruction alone, then looks for interrupts. */
		emu_shadow_start(cpu);
		cpu->shadow_ss = 0;
		emu_intr_look(cpu);
		cpu->rflags |= X86_FL_IF;
		return EMU_NEXT;
	}
	cpu->rflags |= X86_FL_IF;
	return EMU_OK;
}

/* VMCALL / VMMCALL: a hypercall exit (nr RAX, args RBX RCX RDX RSI); the
 * caller's result goes to RAX on the next run. From CPL > 0 the guest gets
 * -1 (as KVM answers -KVM_EPERM) without an exit. */
int emu_h_vmcall(emu_cpu *cpu, const emu_insn *ins)
{
	vmm_exit *exit = &cpu->vcpu->exit;

	if (!cpl0(cpu)) {
		cpu->r[R_AX] = ~0ull;
		return EMU_OK;
	}
	/* KVM_HC_SEND_IPI: answered here, as KVM's in-kernel APIC does */
	if (cpu->vcpu->lapic && (uint32_t)cpu->r[R_AX] == 10) {
		int op64 = cpu->code_sz == EMU_SZ64;
		int64_t n = vmm__lapic_pv_send_ipi(cpu->vcpu, cpu->r[R_BX], cpu->r[R_CX],
						   (uint32_t)cpu->r[R_DX], cpu->r[R_SI], op64);

		cpu->r[R_AX] = op64 ? (uint64_t)n : (uint32_t)n;
		return EMU_OK;
	}
	exit->reason = VMM_EXIT_HYPERCALL;
	exit->hypercall.nr = cpu->r[R_AX];
	exit->hypercall.args[0] = cpu->r[R_BX];
	exit->hypercall.args[1] = cpu->r[R_CX];
	exit->hypercall.args[2] = cpu->r[R_DX];
	exit->hypercall.args[3] = cpu->r[R_SI];
	exit->hypercall.ret = 0;
	cpu->pending_hypercall = 1;
	return EMU_EXIT_NEXT;
}

/* INT3, INTO and INT1 raise exceptions (#BP, #OF, #DB): EXCEPTION hooks
 * see them before delivery, as the faults (introspect.c). */
int emu_h_int3(emu_cpu *cpu, const emu_insn *ins)
{
	EMU_IX_CHECK(cpu, ins, VMM_EV_EXCEPTION, X86_EXC_BP, 0);
	return emu_soft_int(cpu, X86_EXC_BP, emu_next_rip(cpu, ins), 1);
}

int emu_h_intn(emu_cpu *cpu, const emu_insn *ins)
{
	return emu_soft_int(cpu, (unsigned)ins->imm & 0xff, emu_next_rip(cpu, ins), 1);
}

int emu_h_into(emu_cpu *cpu, const emu_insn *ins)
{
	if (!emu_cond(cpu, 0))
		return EMU_OK;
	EMU_IX_CHECK(cpu, ins, VMM_EV_EXCEPTION, X86_EXC_OF, 0);
	return emu_soft_int(cpu, X86_EXC_OF, emu_next_rip(cpu, ins), 1);
}

int emu_h_int1(emu_cpu *cpu, const emu_insn *ins)
{
	EMU_IX_CHECK(cpu, ins, VMM_EV_EXCEPTION, X86_EXC_DB, 0);
	return emu_soft_int(cpu, X86_EXC_DB, emu_next_rip(cpu, ins), 0);
}

/* ---- Control and debug registers ------------------------------------------------ */

int emu_h_mov_from_cr(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned sz = cpu->code_sz == EMU_SZ64 ? EMU_SZ64 : EMU_SZ32;
	uint64_t v;

	if (!cpl0(cpu))
		return emu_gp(cpu, 0);
	switch (ins->op) {
	case 0: v = cpu->cr0; break;
	case 2: v = cpu->cr2; break;
	case 3: v = cpu->cr3; break;
	case 4: v = cpu->cr4; break;
	case 8: v = cpu->vcpu->lapic ? vmm__lapic_get_cr8(cpu->vcpu) : cpu->cr8; break;
	default: return emu_ud(cpu);
	}
	emu_reg_set(cpu, ins->rm, sz, v);
	return EMU_OK;
}

int emu_h_mov_to_cr(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t v = cpu->r[ins->rm >> 3];
	int rc;

	if (cpu->code_sz != EMU_SZ64)
		v &= 0xffffffffull;
	if (!cpl0(cpu))
		return emu_gp(cpu, 0);
	if (ins->op == 0 || ins->op == 3 || ins->op == 4)
		EMU_IX_CHECK(cpu, ins, VMM_EV_CR_WRITE, ins->op, v);
	switch (ins->op) {
	case 0: rc = emu_set_cr0(cpu, v); break;
	case 2: cpu->cr2 = v; rc = EMU_OK; break;
	case 3: rc = emu_set_cr3(cpu, v); break;
	case 4: rc = emu_set_cr4(cpu, v); break;
	case 8:
		if (v & ~0xfull)
			return emu_gp(cpu, 0);
		cpu->cr8 = v;
		if (cpu->vcpu->lapic)
			vmm__lapic_set_cr8(cpu->vcpu, (uint8_t)v);
		rc = EMU_OK;
		break;
	default: return emu_ud(cpu);
	}
	return rc ? rc : EMU_NEXT;
}

int emu_h_mov_from_dr(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned n = ins->op;

	if (!cpl0(cpu))
		return emu_gp(cpu, 0);
	if (n > 7 || ((n == 4 || n == 5) && (cpu->cr4 & X86_CR4_DE)))
		return emu_ud(cpu);
	if (emu_dr_general_detect(cpu))
		return EMU_FAULT;
	if (n == 4 || n == 5)
		n += 2;
	emu_reg_set(cpu, ins->rm, cpu->code_sz == EMU_SZ64 ? EMU_SZ64 : EMU_SZ32, cpu->dr[n]);
	return EMU_OK;
}

int emu_h_mov_to_dr(emu_cpu *cpu, const emu_insn *ins)
{
	unsigned n = ins->op;
	uint64_t v = cpu->r[ins->rm >> 3];

	if (!cpl0(cpu))
		return emu_gp(cpu, 0);
	if (n > 7 || ((n == 4 || n == 5) && (cpu->cr4 & X86_CR4_DE)))
		return emu_ud(cpu);
	if (emu_dr_general_detect(cpu))
		return EMU_FAULT;
	if (n == 4 || n == 5)
		n += 2;
	if (cpu->code_sz != EMU_SZ64)
		v &= 0xffffffffull;
	if ((n == 6 || n == 7) && (v >> 32))
		return emu_gp(cpu, 0);
	if (n == 6)
		v = (v & 0xe00full) | 0xffff0ff0ull;   /* B0-3, BD, BS, BT; fixed ones */
	if (n == 7)
		v = (v & 0xffff23ffull) | 0x400;       /* no RTM; bit 10 is one */
	cpu->dr[n] = v;
	if (n != 6)
		emu_dr_changed(cpu);
	return EMU_NEXT;
}

int emu_h_clts(emu_cpu *cpu, const emu_insn *ins)
{
	if (!cpl0(cpu))
		return emu_gp(cpu, 0);
	EMU_IX_CHECK(cpu, ins, VMM_EV_CR_WRITE, 0, cpu->cr0 & ~X86_CR0_TS);
	cpu->cr0 &= ~X86_CR0_TS;
	emu_update_mode(cpu);      /* blocks decoded with TS set raise #NM */
	return EMU_NEXT;
}

int emu_h_invlpg(emu_cpu *cpu, const emu_insn *ins)
{
	if (!cpl0(cpu))
		return emu_gp(cpu, 0);
	emu_tlb_flush_page(cpu, emu_ea(cpu, ins));
	return EMU_NEXT;
}

/* INVPCID (66 0F 38 82 /r, memory operand only): the register is the type
 * (64-bit in 64-bit mode), the operand a 16-byte descriptor: PCID in bits
 * 11:0 (63:12 reserved), the linear address in the second quadword. #GP
 * for CPL > 0, a type above 3, reserved bits, a non-canonical address for
 * type 0, or a non-zero PCID for types 0-1 while CR4.PCIDE is clear. Every
 * type flushes the whole emu TLB (it holds only the current PCID's
 * entries; flushing more is allowed). */
int emu_h_invpcid(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t type = cpu->r[ins->reg >> 3], la = emu_ea(cpu, ins), pcid, addr;
	int rc;

	if (!(emu_model(cpu)->leaf7_ebx & X86_CPUID_7_EBX_INVPCID))
		return emu_ud(cpu);
	if (!cpl0(cpu))
		return emu_gp(cpu, 0);
	if (cpu->code_sz != EMU_SZ64)
		type &= 0xffffffffull;
	if (type > 3)
		return emu_gp(cpu, 0);
	rc = emu_read(cpu, la, EMU_SZ64, &pcid);
	if (!rc)
		rc = emu_read(cpu, (la + 8) & cpu->linmask, EMU_SZ64, &addr);
	if (rc)
		return rc;
	if ((pcid >> 12) || (type == 0 && !vmm__x86_canonical(addr)) ||
	    (type < 2 && (pcid & 0xfff) && !(cpu->cr4 & X86_CR4_PCIDE)))
		return emu_gp(cpu, 0);
	if (type == 0)
		emu_tlb_flush_page(cpu, addr);      /* with its global entry: more than asked */
	else if (type == 2)
		emu_tlb_flush(cpu);
	else
		emu_tlb_flush_nonglobal(cpu);       /* 1 (any PCID's: more) and 3 */
	return EMU_NEXT;
}

int emu_h_wbinvd(emu_cpu *cpu, const emu_insn *ins)
{
	return cpl0(cpu) ? EMU_OK : emu_gp(cpu, 0);
}

int emu_h_fence(emu_cpu *cpu, const emu_insn *ins)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return EMU_OK;
}

/* ---- Descriptor-table registers ----------------------------------------------------- */

static int load_dtable(emu_cpu *cpu, const emu_insn *ins, vmm_dtable *dt)
{
	uint64_t la = emu_ea(cpu, ins), limit, base;
	int rc;

	if (!cpl0(cpu))
		return emu_gp(cpu, 0);
	rc = emu_read(cpu, la, EMU_SZ16, &limit);
	if (!rc)
		rc = emu_read(cpu, (la + 2) & cpu->linmask,
			      cpu->code_sz == EMU_SZ64 ? EMU_SZ64 : EMU_SZ32, &base);
	if (rc)
		return rc;
	if (cpu->code_sz != EMU_SZ64 && ins->osz == EMU_SZ16)
		base &= 0xffffff;
	if (cpu->code_sz == EMU_SZ64 && !vmm__x86_canonical(base))
		return emu_gp(cpu, 0);
	dt->base = base;
	dt->limit = (uint16_t)limit;
	return EMU_NEXT;
}

static int store_dtable(emu_cpu *cpu, const emu_insn *ins, const vmm_dtable *dt)
{
	uint64_t la = emu_ea(cpu, ins);
	unsigned bsz = cpu->code_sz == EMU_SZ64 ? EMU_SZ64 : EMU_SZ32;
	int rc = emu_probe_write(cpu, (la + 2) & cpu->linmask, bsz);

	if (!rc)
		rc = emu_write(cpu, la, EMU_SZ16, dt->limit);
	if (!rc)
		rc = emu_write(cpu, (la + 2) & cpu->linmask, bsz, dt->base);
	return rc;
}

int emu_h_lgdt(emu_cpu *cpu, const emu_insn *ins) { return load_dtable(cpu, ins, &cpu->gdt); }
int emu_h_lidt(emu_cpu *cpu, const emu_insn *ins) { return load_dtable(cpu, ins, &cpu->idt); }
int emu_h_sgdt(emu_cpu *cpu, const emu_insn *ins) { return store_dtable(cpu, ins, &cpu->gdt); }
int emu_h_sidt(emu_cpu *cpu, const emu_insn *ins) { return store_dtable(cpu, ins, &cpu->idt); }

int emu_h_smsw(emu_cpu *cpu, const emu_insn *ins)
{
	if (!ins->mem)
		return emu_rm_write(cpu, ins, ins->osz, cpu->cr0 & emu_sz_mask(ins->osz));
	return emu_rm_write(cpu, ins, EMU_SZ16, cpu->cr0 & 0xffff);
}

int emu_h_lmsw(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t v, keep_pe = cpu->cr0 & X86_CR0_PE;
	int rc;

	if (!cpl0(cpu))
		return emu_gp(cpu, 0);
	rc = emu_rm_read(cpu, ins, EMU_SZ16, &v);
	if (rc)
		return rc;
	EMU_IX_CHECK(cpu, ins, VMM_EV_CR_WRITE, 0, (cpu->cr0 & ~0xeull) | (v & 0xf) | keep_pe);
	rc = emu_set_cr0(cpu, (cpu->cr0 & ~0xeull) | (v & 0xf) | keep_pe);
	return rc ? rc : EMU_NEXT;
}

int emu_h_swapgs(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t t = cpu->seg[X86_SEG_GS].base;

	if (cpu->code_sz != EMU_SZ64)
		return emu_ud(cpu);
	if (!cpl0(cpu))
		return emu_gp(cpu, 0);
	cpu->seg[X86_SEG_GS].base = cpu->kernel_gs_base;
	cpu->kernel_gs_base = t;
	emu_update_mode(cpu);
	return EMU_OK;
}

/* CLAC (0F 01 CA), STAC (CB): CPL 0 only; the new AC matters at the next
 * access (supervisor TLB entries of user pages are not kept with SMAP). */
static int stac_clac(emu_cpu *cpu, int set)
{
	if (cpu->cpl)
		return emu_ud(cpu);
	if (set)
		cpu->rflags |= X86_FL_AC;
	else
		cpu->rflags &= ~X86_FL_AC;
	return EMU_OK;
}

/* RDPKRU (0F 01 EE), WRPKRU (EF): #UD without CR4.PKE, #GP unless ECX (and
 * for WRPKRU EDX) is 0. A new PKRU flushes the TLB. */
static int pkru_op(emu_cpu *cpu, int write)
{
	if (!(cpu->cr4 & X86_CR4_PKE))
		return emu_ud(cpu);
	if ((uint32_t)cpu->r[R_CX] || (write && (uint32_t)cpu->r[R_DX]))
		return emu_gp(cpu, 0);
	if (write) {
		cpu->pkru = (uint32_t)cpu->r[R_AX];
		emu_tlb_flush(cpu);
	} else {
		cpu->r[R_AX] = cpu->pkru;
		cpu->r[R_DX] = 0;
	}
	return EMU_OK;
}

/* 0F 01 with mod == 3: the register-form encodings of group 7. */
int emu_h_grp7_reg(emu_cpu *cpu, const emu_insn *ins)
{
	switch (ins->aux) {
	case 0xc1: case 0xd9: return emu_h_vmcall(cpu, ins);
	case 0xca: case 0xcb: return stac_clac(cpu, ins->aux & 1);
	case 0xee: case 0xef: return pkru_op(cpu, ins->aux & 1);
	case 0xf8: return emu_h_swapgs(cpu, ins);
	case 0xf9: return emu_h_rdtscp(cpu, ins);
	}
	return emu_ud(cpu);
}
