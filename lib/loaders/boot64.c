/* boot64.c - the ELF64 boot area (trap page, GDT, TSS, command line,
 * identity page tables) and the long-mode state of every vCPU. */
#include <string.h>

#include "lib/loaders/loader.h"

static void put64(uint8_t *page, uint64_t off, uint64_t v)
{
	memcpy(page + off, &v, sizeof(v));   /* x86 hosts: little-endian */
}

/* GDT page: descriptors, the TSS they point to, the command line. */
static void build_gdt_page(uint8_t *page, const char *cmdline)
{
	const uint64_t tss = VMM__B64_TSS;
	uint64_t tss_lo = VMM__B64_TSS_LIMIT | (tss & 0xffffff) << 16 |
			  0x8bull << 40 |                  /* P=1, busy 64-bit TSS */
			  ((tss >> 24) & 0xff) << 56;
	uint16_t iomap = VMM__B64_TSS_LIMIT + 1;   /* no I/O permission bitmap */

	memset(page, 0, VMM__BOOT_PAGE);
	put64(page, VMM__B64_SEL_CODE64, VMM__DESC_CODE64);
	put64(page, VMM__B64_SEL_DATA, VMM__DESC_DATA);
	put64(page, VMM__B64_SEL_CODE32, VMM__DESC_CODE32);
	put64(page, VMM__B64_SEL_TSS, tss_lo);
	put64(page, VMM__B64_SEL_TSS + 8, tss >> 32);
	memcpy(page + (VMM__B64_TSS - VMM__B64_GDT) + 0x66, &iomap, sizeof(iomap));
	if (cmdline)
		memcpy(page + (VMM__B64_CMDLINE - VMM__B64_GDT), cmdline,
		       strlen(cmdline) + 1);   /* length checked on entry */
}

static uint64_t pd_base(const vmm__b64_layout *lay)
{
	return VMM__B64_PDPT + (uint64_t)lay->npdpt * VMM__BOOT_PAGE;
}

static int write_table_pages(vmm_vm *vm, const vmm__b64_layout *lay, uint8_t *page)
{
	const uint64_t flags = VMM__PTE_P | VMM__PTE_RW;
	uint64_t npages = (uint64_t)lay->npdpt + lay->npd;
	int rc;

	memset(page, 0, VMM__BOOT_PAGE);
	for (uint64_t i = 0; i < lay->npdpt; i++)
		put64(page, i * 8, (VMM__B64_PDPT + i * VMM__BOOT_PAGE) | flags);
	rc = vmm__ldr_write(vm, VMM__B64_PML4, page, VMM__BOOT_PAGE);
	/* Pages 0..npdpt-1 are PDPTs (entry n -> directory n), then directories
	 * (entry e of directory d -> the 2 MiB page d * 1 GiB + e * 2 MiB). */
	for (uint64_t p = 0; rc == 0 && p < npages; p++) {
		memset(page, 0, VMM__BOOT_PAGE);
		for (uint64_t e = 0; e < VMM__PTE_ENTRIES; e++) {
			uint64_t n = p * VMM__PTE_ENTRIES + e;

			if (p < lay->npdpt && n < lay->npd)
				put64(page, e * 8, (pd_base(lay) + n * VMM__BOOT_PAGE) | flags);
			else if (p >= lay->npdpt)
				put64(page, e * 8, ((p - lay->npdpt) << 30 | e << 21) |
				      flags | VMM__PTE_PS);
		}
		rc = vmm__ldr_write(vm, VMM__B64_PDPT + p * VMM__BOOT_PAGE, page,
				    VMM__BOOT_PAGE);
	}
	return rc;
}

int vmm__b64_write_boot_area(vmm_vm *vm, const vmm__b64_layout *lay,
			     const char *cmdline)
{
	static const uint8_t ud2[2] = { 0x0f, 0x0b };
	uint8_t page[VMM__BOOT_PAGE];
	int rc;

	memset(page, 0, sizeof(page));
	memcpy(page + VMM__B64_TRAP, ud2, sizeof(ud2));
	rc = vmm__ldr_write(vm, 0, page, sizeof(page));
	if (rc == 0) {
		build_gdt_page(page, cmdline);
		rc = vmm__ldr_write(vm, VMM__B64_GDT, page, sizeof(page));
	}
	if (rc == 0)
		rc = write_table_pages(vm, lay, page);
	/* Each stack starts with a null return address (RSP points at it). */
	for (uint32_t i = 0; rc == 0 && i < vm->config.vcpus; i++)
		rc = vmm__ldr_write(vm, lay->stack_top - (uint64_t)i * VMM__B64_STACK_SIZE -
				    VMM__B64_STACK_RET, NULL, VMM__B64_STACK_RET);
	return rc;
}

static vmm_segment flat_segment(uint16_t selector, uint8_t type, uint8_t l, uint8_t db)
{
	return (vmm_segment){
		.base = 0, .limit = 0xffffffffu, .selector = selector, .type = type,
		.present = 1, .dpl = 0, .db = db, .s = 1, .l = l, .g = 1,
	};
}

typedef struct b64_ctx {
	const vmm__b64_layout *lay;
	uint64_t entry;
	uint32_t count;
	bool has_cmdline;
} b64_ctx;

static void b64_state(uint32_t index, vmm_regs *regs, vmm_sregs *sregs, const void *p)
{
	const b64_ctx *ctx = p;

	memset(regs, 0, sizeof(*regs));
	regs->rip = ctx->entry;
	regs->rsp = ctx->lay->stack_top - (uint64_t)index * VMM__B64_STACK_SIZE -
		    VMM__B64_STACK_RET;
	regs->rdi = index;
	regs->rsi = ctx->count;
	regs->rdx = ctx->has_cmdline ? VMM__B64_CMDLINE : 0;
	regs->rflags = VMM__RFLAGS_FIXED;

	sregs->cs = flat_segment(VMM__B64_SEL_CODE64, 0xb, 1, 0);
	sregs->ds = flat_segment(VMM__B64_SEL_DATA, 0x3, 0, 1);
	sregs->es = sregs->fs = sregs->gs = sregs->ss = sregs->ds;
	sregs->tr = (vmm_segment){ .base = VMM__B64_TSS, .limit = VMM__B64_TSS_LIMIT,
				   .selector = VMM__B64_SEL_TSS, .type = 0xb,
				   .present = 1 };
	sregs->ldt = (vmm_segment){ .type = 0x2, .unusable = 1 };
	sregs->gdt = (vmm_dtable){ .base = VMM__B64_GDT, .limit = VMM__B64_GDT_LIMIT };
	sregs->idt = (vmm_dtable){ .base = 0, .limit = 0 };
	sregs->cr0 = VMM__B64_CR0;
	sregs->cr2 = 0;
	sregs->cr3 = VMM__B64_PML4;
	sregs->cr4 = VMM__B64_CR4;
	sregs->cr8 = 0;
	sregs->efer = VMM__B64_EFER;
}

int vmm__b64_start_vcpus(vmm_vm *vm, const vmm__b64_layout *lay, uint64_t entry,
			 bool has_cmdline)
{
	b64_ctx ctx = { lay, entry, vm->config.vcpus, has_cmdline };

	for (uint32_t i = 0; i < vm->config.vcpus; i++) {
		int rc = vmm__ldr_set_state(vm, i, b64_state, &ctx);

		if (rc)
			return rc;
		vmm_vcpu_get(vm, i)->runnable = true;
	}
	return 0;
}
