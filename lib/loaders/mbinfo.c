/* mbinfo.c - the Multiboot boot page (GDT, TSS, multiboot_info, memory map,
 * loader name, command line) and the machine state of the spec's "Machine
 * state" section for vCPU 0; the other vCPUs stay stopped. */
#include <string.h>

#include "lib/loaders/loader.h"

/* multiboot_info field offsets and flags (Multiboot 0.6.96, section 3.3). */
enum {
	MBI_FLAGS = 0, MBI_MEM_LOWER = 4, MBI_MEM_UPPER = 8, MBI_CMDLINE = 16,
	MBI_MMAP_LENGTH = 44, MBI_MMAP_ADDR = 48, MBI_LOADER_NAME = 64,
};
#define MBI_F_MEM     (1u << 0)
#define MBI_F_CMDLINE (1u << 2)
#define MBI_F_MMAP    (1u << 6)
#define MBI_F_NAME    (1u << 9)
#define MMAP_ENTRY    24u        /* size field + 20 bytes */
#define MMAP_RAM      1u
#define MMAP_RESERVED 2u

static void put32(uint8_t *p, uint32_t off, uint32_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

static void put64(uint8_t *p, uint32_t off, uint64_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

static uint32_t mmap_entry(uint8_t *page, uint32_t n, uint64_t base, uint64_t end,
			   uint32_t type)
{
	uint32_t off = VMM__MB_OFF_MMAP + n * MMAP_ENTRY;

	put32(page, off, MMAP_ENTRY - 4);
	put64(page, off + 4, base);
	put64(page, off + 12, end - base);
	put32(page, off + 20, type);
	return n + 1;
}

/* The e820-style map of flat RAM [0, ram). */
static uint32_t build_mmap(uint8_t *page, uint64_t ram)
{
	uint32_t n = 0;

	n = mmap_entry(page, n, 0, ram < VMM__MB_LOW_END ? ram : VMM__MB_LOW_END,
		       MMAP_RAM);
	n = mmap_entry(page, n, VMM__MB_LOW_END, VMM__MB_EBDA_END, MMAP_RESERVED);
	n = mmap_entry(page, n, VMM__MB_BIOS, VMM__MB_HIGH, MMAP_RESERVED);
	if (ram > VMM__MB_HIGH)
		n = mmap_entry(page, n, VMM__MB_HIGH, ram, MMAP_RAM);
	return n * MMAP_ENTRY;
}

static void build_info(uint8_t *page, uint64_t base, uint64_t ram, const char *cmdline)
{
	uint8_t *info = page + VMM__MB_OFF_INFO;
	uint64_t upper = ram > VMM__MB_HIGH ? (ram - VMM__MB_HIGH) / 1024 : 0;
	uint32_t flags = MBI_F_MEM | MBI_F_MMAP | MBI_F_NAME;

	put32(info, MBI_MEM_LOWER,
	      (uint32_t)((ram < VMM__MB_LOW_END ? ram : VMM__MB_LOW_END) / 1024));
	put32(info, MBI_MEM_UPPER, upper > UINT32_MAX ? UINT32_MAX : (uint32_t)upper);
	put32(info, MBI_MMAP_LENGTH, build_mmap(page, ram));
	put32(info, MBI_MMAP_ADDR, (uint32_t)(base + VMM__MB_OFF_MMAP));
	memcpy(page + VMM__MB_OFF_NAME, "libvmm", sizeof("libvmm"));
	put32(info, MBI_LOADER_NAME, (uint32_t)(base + VMM__MB_OFF_NAME));
	if (cmdline) {
		flags |= MBI_F_CMDLINE;
		memcpy(page + VMM__MB_OFF_CMDLINE, cmdline, strlen(cmdline) + 1);
		put32(info, MBI_CMDLINE, (uint32_t)(base + VMM__MB_OFF_CMDLINE));
	}
	put32(info, MBI_FLAGS, flags);
}

static void build_gdt(uint8_t *page, uint64_t base)
{
	uint64_t tss = base + VMM__MB_OFF_TSS;
	uint64_t tss_desc = VMM__MB_TSS_LIMIT | (tss & 0xffffff) << 16 |
			    0x8bull << 40 |              /* P=1, busy 32-bit TSS */
			    ((tss >> 24) & 0xff) << 56;
	uint16_t iomap = VMM__MB_TSS_LIMIT + 1;     /* no I/O permission bitmap */

	put64(page, VMM__MB_OFF_GDT + VMM__MB_SEL_CODE, VMM__DESC_CODE32);
	put64(page, VMM__MB_OFF_GDT + VMM__MB_SEL_DATA, VMM__DESC_DATA);
	put64(page, VMM__MB_OFF_GDT + VMM__MB_SEL_TSS, tss_desc);
	memcpy(page + VMM__MB_OFF_TSS + 0x66, &iomap, sizeof(iomap));
}

static vmm_segment flat32(uint16_t selector, uint8_t type)
{
	return (vmm_segment){
		.base = 0, .limit = 0xffffffffu, .selector = selector, .type = type,
		.present = 1, .db = 1, .s = 1, .g = 1,
	};
}

typedef struct mb_ctx {
	uint64_t base, entry;
} mb_ctx;

static void mb_state(uint32_t index, vmm_regs *regs, vmm_sregs *sregs, const void *p)
{
	const mb_ctx *ctx = p;

	memset(regs, 0, sizeof(*regs));
	regs->rax = VMM__MB_BOOT_MAGIC;
	regs->rbx = ctx->base + VMM__MB_OFF_INFO;
	regs->rip = ctx->entry;
	regs->rflags = VMM__RFLAGS_FIXED;
	sregs->cs = flat32(VMM__MB_SEL_CODE, 0xb);
	sregs->ds = flat32(VMM__MB_SEL_DATA, 0x3);
	sregs->es = sregs->fs = sregs->gs = sregs->ss = sregs->ds;
	sregs->tr = (vmm_segment){ .base = ctx->base + VMM__MB_OFF_TSS,
				   .limit = VMM__MB_TSS_LIMIT, .selector = VMM__MB_SEL_TSS,
				   .type = 0xb, .present = 1 };
	sregs->ldt = (vmm_segment){ .type = 0x2, .unusable = 1 };
	sregs->gdt = (vmm_dtable){ .base = ctx->base + VMM__MB_OFF_GDT,
				   .limit = VMM__MB_GDT_LIMIT };
	sregs->idt = (vmm_dtable){ .base = 0, .limit = 0 };
	sregs->cr0 = VMM__MB_CR0;
	sregs->cr2 = sregs->cr3 = sregs->cr4 = sregs->cr8 = 0;
	sregs->efer = 0;
}

int vmm__mb_boot(vmm_vm *vm, const vmm__ldr_image *img, uint64_t base)
{
	uint8_t page[VMM__BOOT_PAGE];
	mb_ctx ctx = { base, img->entry };
	int rc;

	memset(page, 0, sizeof(page));
	build_gdt(page, base);
	build_info(page, base, img->ram, img->cmdline);
	rc = vmm__ldr_write(vm, base, page, sizeof(page));
	if (rc == 0)
		rc = vmm__ldr_set_state(vm, 0, mb_state, &ctx);
	if (rc)
		return rc;
	vmm_vcpu_get(vm, 0)->runnable = true;
	/* The spec says nothing of other processors: they wait, like APs. */
	for (uint32_t i = 1; i < vm->config.vcpus; i++)
		vmm_vcpu_get(vm, i)->runnable = false;
	return 0;
}
