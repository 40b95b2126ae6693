/* linux.c - vmm_load_linux: options, files, the memory map, the boot area
 * both Linux entry paths share and the first vCPU's state. */
#include <stdlib.h>
#include <string.h>

#include "lib/loaders/linux.h"
#include "lib/platform/acpi.h"

#define MIB (1024ull * 1024ull)

/* RAM as vm.c mapped it: contiguous, or split at 3 GiB around the PC hole
 * (then the ECAM window and the APIC range are reserved in it). */
void vmm__lx_build_map(vmm__lx_boot *b)
{
	uint64_t top = b->ram, low = b->split ? VMM__RAM_LOW_MAX : top;
	uint32_t n = 0;

	b->map[n++] = (vmm__lx_e820){ 0, VMM__LX_LOW_END, VMM__E820_RAM };
	b->map[n++] = (vmm__lx_e820){ VMM__LX_LOW_END, 0xa0000 - VMM__LX_LOW_END,
				       VMM__E820_RESERVED };
	b->map[n++] = (vmm__lx_e820){ VMM__LX_BIOS, VMM__LX_HIGH - VMM__LX_BIOS,
				       VMM__E820_RESERVED };
	if (low > VMM__LX_MMIO_LO)
		low = VMM__LX_MMIO_LO;      /* contiguous RAM under the APICs */
	b->map[n++] = (vmm__lx_e820){ VMM__LX_HIGH, low - VMM__LX_HIGH, VMM__E820_RAM };
	if (b->split)
		b->map[n++] = (vmm__lx_e820){ VMM__LX_ECAM, VMM__LX_ECAM_SIZE,
					       VMM__E820_RESERVED };
	if (b->split || top > VMM__LX_MMIO_LO)
		b->map[n++] = (vmm__lx_e820){ VMM__LX_MMIO_LO,
					       VMM__LX_MMIO_HI - VMM__LX_MMIO_LO,
					       VMM__E820_RESERVED };
	if (b->split)
		b->map[n++] = (vmm__lx_e820){ VMM__LX_MMIO_HI, top - VMM__RAM_LOW_MAX,
					       VMM__E820_RAM };
	else if (top > VMM__LX_MMIO_HI)
		b->map[n++] = (vmm__lx_e820){ VMM__LX_MMIO_HI, top - VMM__LX_MMIO_HI,
					       VMM__E820_RAM };
	b->nmap = n;
	b->low_end = low;
}

int vmm__lx_place_initrd(vmm__lx_boot *b, uint64_t lo, uint64_t hi)
{
	uint64_t len = (b->initrd_len + VMM__PAGE_SIZE - 1) & ~(VMM__PAGE_SIZE - 1);
	char size[32], room[32];

	b->initrd_addr = 0;
	if (!b->initrd_len)
		return 0;
	if (hi > b->low_end)
		hi = b->low_end;
	hi &= ~(VMM__PAGE_SIZE - 1);
	if (hi < lo || hi - lo < len) {
		vmm__ldr_size_str(b->initrd_len, size, sizeof(size));
		vmm__ldr_size_str(hi > lo ? hi - lo : 0, room, sizeof(room));
		return vmm__err(VMM_ERANGE, "vmm_load_linux: the initrd (%s) does not fit "
				"between the kernel's end 0x%llx and 0x%llx (%s free); give "
				"the VM more memory", size, (vmm__ull)lo, (vmm__ull)hi, room);
	}
	b->initrd_addr = hi - len;
	return 0;
}

static void put64(uint8_t *p, uint64_t off, uint64_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

/* GDT page: __BOOT_CS (64-bit, or 32-bit for PVH), __BOOT_DS, a TSS. */
static void build_gdt(uint8_t *page, bool long_mode)
{
	uint64_t tss = long_mode ? VMM__LX_TSS : 0;   /* PVH: base 0, limit 0x67 */
	uint64_t tss_lo = 0x67 | (tss & 0xffffff) << 16 | 0x8bull << 40 |
			  ((tss >> 24) & 0xff) << 56;

	memset(page, 0, VMM__BOOT_PAGE);
	put64(page, VMM__LX_SEL_CODE, long_mode ? VMM__DESC_CODE64 : VMM__DESC_CODE32);
	put64(page, VMM__LX_SEL_DATA, VMM__DESC_DATA);
	put64(page, VMM__LX_SEL_TSS, tss_lo);
}

/* PML4 -> one PDPT -> 4 directories of 2 MiB pages: [0, 4 GiB). */
static int write_page_tables(vmm_vm *vm, uint8_t *page)
{
	const uint64_t rw = VMM__PTE_P | VMM__PTE_RW;
	int rc;

	memset(page, 0, VMM__BOOT_PAGE);
	put64(page, 0, VMM__LX_PDPT | rw);
	rc = vmm__ldr_write(vm, VMM__LX_PML4, page, VMM__BOOT_PAGE);
	memset(page, 0, VMM__BOOT_PAGE);
	for (uint64_t i = 0; i < 4; i++)
		put64(page, i * 8, (VMM__LX_PD + i * VMM__BOOT_PAGE) | rw);
	if (rc == 0)
		rc = vmm__ldr_write(vm, VMM__LX_PDPT, page, VMM__BOOT_PAGE);
	for (uint64_t d = 0; rc == 0 && d < 4; d++) {
		for (uint64_t e = 0; e < VMM__PTE_ENTRIES; e++)
			put64(page, e * 8, (d << 30 | e << 21) | rw | VMM__PTE_PS);
		rc = vmm__ldr_write(vm, VMM__LX_PD + d * VMM__BOOT_PAGE, page,
				    VMM__BOOT_PAGE);
	}
	return rc;
}

int vmm__lx_write_common(vmm_vm *vm, const vmm__lx_boot *b, bool long_mode)
{
	uint8_t page[VMM__BOOT_PAGE];
	int rc;

	build_gdt(page, long_mode);
	rc = vmm__ldr_write(vm, VMM__LX_GDT, page, sizeof(page));
	if (rc == 0 && long_mode)
		rc = write_page_tables(vm, page);
	if (rc == 0)
		rc = vmm__ldr_write(vm, VMM__LX_CMDLINE, b->cmdline, b->cmdline_len + 1);
	if (rc == 0 && b->initrd_len)
		rc = vmm__ldr_write(vm, b->initrd_addr, b->initrd, b->initrd_len);
	return rc;
}

typedef struct lx_ctx {
	uint64_t entry, params;
	bool long_mode;
} lx_ctx;

static vmm_segment flat(uint16_t sel, uint8_t type, uint8_t l, uint8_t db)
{
	return (vmm_segment){ .limit = 0xffffffffu, .selector = sel, .type = type,
			      .present = 1, .db = db, .s = 1, .l = l, .g = 1 };
}

static void lx_state(uint32_t index, vmm_regs *regs, vmm_sregs *sregs, const void *p)
{
	const lx_ctx *c = p;

	memset(regs, 0, sizeof(*regs));
	regs->rip = c->entry;
	regs->rflags = VMM__RFLAGS_FIXED;
	regs->rsp = VMM__LX_STACK_TOP;
	if (c->long_mode)
		regs->rsi = c->params;
	else
		regs->rbx = c->params;
	sregs->cs = c->long_mode ? flat(VMM__LX_SEL_CODE, 0xb, 1, 0) :
				   flat(VMM__LX_SEL_CODE, 0xb, 0, 1);
	sregs->ds = flat(VMM__LX_SEL_DATA, 0x3, 0, 1);
	sregs->es = sregs->fs = sregs->gs = sregs->ss = sregs->ds;
	sregs->tr = (vmm_segment){ .base = c->long_mode ? VMM__LX_TSS : 0, .limit = 0x67,
				   .selector = VMM__LX_SEL_TSS, .type = 0xb, .present = 1 };
	sregs->ldt = (vmm_segment){ .type = 0x2, .unusable = 1 };
	sregs->gdt = (vmm_dtable){ .base = VMM__LX_GDT, .limit = VMM__LX_GDT_LIMIT };
	sregs->idt = (vmm_dtable){ 0 };
	sregs->cr0 = c->long_mode ? VMM__LX_CR0 : (VMM__CR0_PE | VMM__CR0_ET);
	sregs->cr3 = c->long_mode ? VMM__LX_PML4 : 0;
	sregs->cr4 = c->long_mode ? VMM__LX_CR4 : 0;
	sregs->cr2 = sregs->cr8 = 0;
	sregs->efer = c->long_mode ? VMM__LX_EFER : 0;
}

int vmm__lx_start(vmm_vm *vm, uint64_t entry, bool long_mode, uint64_t params)
{
	lx_ctx ctx = { entry, params, long_mode };
	int rc = vmm__ldr_create_vcpus(vm);

	if (rc == 0)
		rc = vmm__ldr_set_state(vm, 0, lx_state, &ctx);
	if (rc)
		return rc;
	vmm_vcpu_get(vm, 0)->runnable = true;
	for (uint32_t i = 1; i < vm->config.vcpus; i++)
		vmm_vcpu_get(vm, i)->runnable = false;   /* wait for INIT/SIPI */
	return 0;
}

/* ---- The public entry point ------------------------------------------------ */

static int check_options(vmm_vm *vm, const vmm_linux_options *o)
{
	if (!vm || !o)
		return vmm__err(VMM_EINVAL, "vmm_load_linux: vm or options is NULL");
	if (o->size < sizeof(*o))
		return vmm__err(VMM_EINVAL, "vmm_load_linux: options->size is %u, too small "
				"(expected %zu; initialise with VMM_LINUX_OPTIONS_INIT)",
				o->size, sizeof(*o));
	if (o->flags)
		return vmm__err(VMM_EINVAL, "vmm_load_linux: unknown flags 0x%x", o->flags);
	if (!o->kernel && !o->kernel_data)
		return vmm__err(VMM_EINVAL, "vmm_load_linux: no kernel (neither kernel nor "
				"kernel_data is set)");
	if (vm->config.mem_size < 16 * MIB)
		return vmm__err(VMM_ERANGE, "vmm_load_linux: the VM has %llu KiB of RAM; "
				"Linux needs at least 16 MiB",
				(vmm__ull)(vm->config.mem_size >> 10));
	return 0;
}

/* Reads path into *buf (malloc'ed) unless data is given. */
static int get_image(const char *path, const void *data, uint64_t size,
		     const uint8_t **out, size_t *len, uint8_t **owned)
{
	*owned = NULL;
	if (path) {
		int rc = vmm__ldr_read_file(path, owned, len);

		*out = *owned;
		return rc;
	}
	if (size > VMM__BOOT_MAX_FILE)
		return vmm__err(VMM_EBADIMAGE, "vmm_load_linux: an image of %llu bytes is "
				"over the 4 GiB limit", (vmm__ull)size);
	*out = data;
	*len = data ? (size_t)size : 0;
	return 0;
}

static int load(vmm_vm *vm, vmm__lx_boot *b)
{
	if (vmm__lx_is_bzimage(b->kernel, b->kernel_len))
		return vmm__lx_load_bzimage(vm, b);
	if (b->kernel_len >= 4 && memcmp(b->kernel, "\177ELF", 4) == 0)
		return vmm__lx_load_pvh(vm, b);
	return vmm__err(VMM_EBADIMAGE, "vmm_load_linux: the kernel is neither a bzImage "
			"(no 'HdrS' boot header at 0x202) nor a vmlinux ELF");
}

VMM_API int vmm_load_linux(vmm_vm *vm, const vmm_linux_options *o)
{
	vmm__lx_boot b = { .cmdline = "" };
	uint8_t *kbuf = NULL, *ibuf = NULL;
	int rc = check_options(vm, o);

	if (rc)
		return rc;
	b.ram = vm->config.mem_size;
	b.split = (vm->config.flags & VMM_VM_IRQCHIP) && b.ram > VMM__RAM_LOW_MAX;
	b.rsdp = o->acpi_rsdp;
	if (o->cmdline)
		b.cmdline = o->cmdline;
	b.cmdline_len = strnlen(b.cmdline, VMM__LX_CMDLINE_MAX);
	if (b.cmdline_len >= VMM__LX_CMDLINE_MAX)
		return vmm__err(VMM_EINVAL, "vmm_load_linux: the command line is %u bytes or "
				"longer", VMM__LX_CMDLINE_MAX);
	rc = get_image(o->kernel, o->kernel_data, o->kernel_size, &b.kernel,
		       &b.kernel_len, &kbuf);
	if (rc == 0 && (o->initrd || o->initrd_data))
		rc = get_image(o->initrd, o->initrd_data, o->initrd_size, &b.initrd,
			       &b.initrd_len, &ibuf);
	/* A VM with the PC platform describes it in ACPI tables of its own. */
	if (rc == 0 && !b.rsdp && (vm->config.flags & VMM_VM_IRQCHIP))
		rc = vmm__acpi_build(vm, &b.rsdp);
	if (rc == 0) {
		vmm__lx_build_map(&b);
		rc = load(vm, &b);
	}
	free(kbuf);
	free(ibuf);
	return rc;
}
