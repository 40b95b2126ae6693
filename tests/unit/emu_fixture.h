/* emu_fixture.h - a VM on the emu backend with a vCPU in 64-bit long mode,
 * for unit tests and the emu benchmark: identity page tables with 2 MiB pages
 * over the first GiB (PML4 0x1000, PDPT 0x2000, PD 0x3000), flat segments,
 * code at FX_CODE, stack at the top of RAM. No cmocka here. */
#ifndef EMU_FIXTURE_H
#define EMU_FIXTURE_H

#include <stdint.h>
#include <string.h>

#include "vmm.h"

#define FX_PML4 0x1000ull
#define FX_PDPT 0x2000ull
#define FX_PD 0x3000ull
#define FX_CODE 0x100000ull
#define FX_DATA 0x200000ull

typedef struct emu_fx {
	vmm_vm *vm;
	vmm_vcpu *vcpu;
	uint64_t mem_size;
} emu_fx;

static inline void fx_flat_seg(vmm_segment *s, uint16_t sel, uint8_t type, int code64)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffffu;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->l = (uint8_t)code64;
	s->db = (uint8_t)!code64;
}

/* Identity map [0, 1 GiB) with 2 MiB pages (present, writable, user). */
static inline int fx_page_tables(vmm_vm *vm)
{
	uint64_t e;

	e = FX_PDPT | 7;
	if (vmm_mem_write(vm, FX_PML4, &e, 8))
		return -1;
	e = FX_PD | 7;
	if (vmm_mem_write(vm, FX_PDPT, &e, 8))
		return -1;
	for (uint64_t i = 0; i < 512; i++) {
		e = (i << 21) | 0x87;
		if (vmm_mem_write(vm, FX_PD + i * 8, &e, 8))
			return -1;
	}
	return 0;
}

static inline int fx_long_mode(vmm_vcpu *vcpu, uint64_t rip, uint64_t rsp)
{
	vmm_sregs s;
	vmm_regs r;

	if (vmm_vcpu_get_sregs(vcpu, &s))
		return -1;
	fx_flat_seg(&s.cs, 0x08, 0xb, 1);
	fx_flat_seg(&s.ds, 0x10, 0x3, 0);
	s.es = s.ss = s.fs = s.gs = s.ds;
	s.cr0 = 0x80050033;
	s.cr3 = FX_PML4;
	s.cr4 = 0x620;    /* PAE, OSFXSR, OSXMMEXCPT */
	s.efer = 0xd00;   /* LME | LMA | NXE */
	s.idt.base = 0;
	s.idt.limit = 0;
	if (vmm_vcpu_set_sregs(vcpu, &s))
		return -1;
	memset(&r, 0, sizeof(r));
	r.rip = rip;
	r.rsp = rsp;
	r.rflags = 2;
	return vmm_vcpu_set_regs(vcpu, &r);
}

/* A VM of mem_size bytes on emu with vCPU 0 in long mode at FX_CODE. */
static inline int fx_create(emu_fx *fx, uint64_t mem_size, uint32_t vcpus)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;

	memset(fx, 0, sizeof(*fx));
	cfg.backend = "emu";
	cfg.mem_size = mem_size;
	cfg.vcpus = vcpus;
	fx->mem_size = mem_size;
	if (vmm_vm_create(&cfg, &fx->vm))
		return -1;
	if (fx_page_tables(fx->vm) || vmm_vcpu_create(fx->vm, 0, &fx->vcpu))
		return -1;
	return fx_long_mode(fx->vcpu, FX_CODE, mem_size);
}

static inline void fx_destroy(emu_fx *fx)
{
	vmm_vm_destroy(fx->vm);
	fx->vm = NULL;
}

static inline int fx_code(emu_fx *fx, const void *code, size_t len)
{
	return vmm_mem_write(fx->vm, FX_CODE, code, len);
}

static inline vmm_exit *fx_run(emu_fx *fx)
{
	vmm_exit *exit = NULL;

	if (vmm_vcpu_run(fx->vcpu, &exit))
		return NULL;
	return exit;
}

static inline vmm_regs fx_regs(emu_fx *fx)
{
	vmm_regs r;

	memset(&r, 0, sizeof(r));
	vmm_vcpu_get_regs(fx->vcpu, &r);
	return r;
}

#endif
