/* elf64.c - the ELF64 loader: checks that the image, the boot area and the
 * vCPU stacks fit in guest RAM without overlapping, then loads it and
 * starts every vCPU in long mode (docs/boot.md). */
#include "lib/loaders/loader.h"

#define GIB (1ull << 30)

static int check_ram(const vmm__ldr_image *img, const vmm__b64_layout *lay)
{
	uint64_t stacks = (uint64_t)img->vcpus * VMM__B64_STACK_SIZE;
	char ram[32], need[32];

	if (img->ram > (1ull << 48))
		return vmm__err(VMM_ERANGE, "guest RAM (%s) is larger than the 256 TiB "
				"the ELF64 boot page tables can map",
				vmm__ldr_size_str(img->ram, ram, sizeof(ram)));
	if (img->ram < lay->boot_end || img->ram - lay->boot_end < stacks)
		return vmm__err(VMM_ERANGE, "guest RAM (%s) is too small for the ELF64 "
				"boot area [0, 0x%llx) and %u vCPU stack%s of 64 KiB "
				"(needs at least %s)",
				vmm__ldr_size_str(img->ram, ram, sizeof(ram)),
				(vmm__ull)lay->boot_end, img->vcpus, img->vcpus == 1 ? "" : "s",
				vmm__ldr_size_str(lay->boot_end + stacks, need, sizeof(need)));
	return 0;
}

static int check_image(Elf *elf, vmm__ldr_image *img, const vmm__b64_layout *lay)
{
	GElf_Ehdr eh;
	int rc;

	if (!gelf_getehdr(elf, &eh))
		return vmm__err(VMM_EBADIMAGE, "malformed ELF header (libelf: %s)",
				elf_errmsg(-1));
	rc = vmm__ldr_read_segments(elf, img, true);
	if (rc == 0)
		rc = vmm__ldr_check_overlaps(img);
	if (rc == 0)
		rc = vmm__ldr_check_clear(img, 0, lay->boot_end,
					  "the boot area (GDT, TSS, page tables)");
	if (rc == 0)
		rc = vmm__ldr_check_clear(img, lay->stack_lo, lay->stack_top,
					  "the vCPU stacks");
	if (rc == 0)
		rc = vmm__ldr_find_entry(img, eh.e_entry);
	return rc;
}

void vmm__b64_plan(uint64_t ram, uint32_t vcpus, vmm__b64_layout *out)
{
	uint64_t gib = ram / GIB + (ram % GIB != 0);

	if (gib < VMM__B64_LOW_MAP / GIB)
		gib = VMM__B64_LOW_MAP / GIB;
	out->npd = (uint32_t)(gib > (1ull << 18) ? (1ull << 18) : gib);
	out->npdpt = (out->npd + (uint32_t)VMM__PTE_ENTRIES - 1) / (uint32_t)VMM__PTE_ENTRIES;
	out->map_end = (uint64_t)out->npd * GIB;
	out->boot_end = VMM__B64_PDPT + ((uint64_t)out->npdpt + out->npd) * VMM__BOOT_PAGE;
	out->stack_top = ram & ~(VMM__BOOT_PAGE - 1);
	out->stack_lo = out->stack_top - (uint64_t)vcpus * VMM__B64_STACK_SIZE;
	if (out->stack_lo > out->stack_top)
		out->stack_lo = 0;   /* RAM too small: check_ram reports it */
}

int vmm__load_elf64(vmm_vm *vm, Elf *elf, vmm__ldr_image *img)
{
	vmm__b64_layout lay;
	int rc;

	img->what = "ELF";
	vmm__b64_plan(img->ram, img->vcpus, &lay);
	rc = check_ram(img, &lay);
	if (rc == 0)
		rc = check_image(elf, img, &lay);
	if (rc == 0)
		rc = vmm__ldr_copy_segments(vm, img);
	if (rc == 0)
		rc = vmm__b64_write_boot_area(vm, &lay, img->cmdline);
	if (rc == 0)
		rc = vmm__ldr_create_vcpus(vm);
	if (rc == 0)
		rc = vmm__b64_start_vcpus(vm, &lay, img->entry, img->cmdline != NULL);
	return rc;
}
