/* linux_pvh.c - an uncompressed vmlinux through its PVH entry point: the
 * XEN_ELFNOTE_PHYS32_ENTRY note gives a 32-bit physical entry that takes
 * an hvm_start_info (version 1, with the memory map) in EBX, in 32-bit
 * protected mode with paging off (xen/include/public/arch-x86/hvm/start_info.h). */
#include <stdlib.h>
#include <string.h>

#include "lib/loaders/linux.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC 0x336ec578u
#define START_INFO_LEN 56u
#define MEMMAP_ENTRY 24u

static uint32_t get32(const uint8_t *d, size_t off) { uint32_t v; memcpy(&v, d + off, 4); return v; }
static void put32(uint8_t *d, size_t off, uint32_t v) { memcpy(d + off, &v, 4); }
static void put64(uint8_t *d, size_t off, uint64_t v) { memcpy(d + off, &v, 8); }

/* Scans one PT_NOTE segment [off, off+len) of the file for the PVH entry. */
static bool scan_notes(const uint8_t *d, uint64_t off, uint64_t len, uint64_t *entry)
{
	uint64_t p = off, end = off + len;

	while (end - p >= 12) {
		uint32_t nsz = get32(d, p), dsz = get32(d, p + 4), type = get32(d, p + 8);
		uint64_t name = p + 12, desc = name + ((nsz + 3ull) & ~3ull);
		uint64_t next = desc + ((dsz + 3ull) & ~3ull);

		if (next > end || next <= p)
			return false;
		if (type == XEN_ELFNOTE_PHYS32_ENTRY && nsz == 4 &&
		    memcmp(d + name, "Xen", 4) == 0 && (dsz == 4 || dsz == 8)) {
			*entry = get32(d, desc);
			return true;
		}
		p = next;
	}
	return false;
}

static int find_entry(Elf *elf, const vmm__lx_boot *b, uint64_t *entry)
{
	size_t phnum;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &phnum) != 0)
		return vmm__err(VMM_EBADIMAGE, "vmm_load_linux: malformed vmlinux program "
				"headers (libelf: %s)", elf_errmsg(-1));
	for (size_t i = 0; i < phnum; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_NOTE)
			continue;
		if (ph.p_offset > b->kernel_len || ph.p_filesz > b->kernel_len - ph.p_offset)
			return vmm__err(VMM_EBADIMAGE, "vmm_load_linux: vmlinux note segment %zu "
					"lies past the end of the file", i);
		if (scan_notes(b->kernel, ph.p_offset, ph.p_filesz, entry))
			return 0;
	}
	return vmm__err(VMM_EBADIMAGE, "vmm_load_linux: the vmlinux ELF has no PVH entry "
			"(XEN_ELFNOTE_PHYS32_ENTRY note): build with CONFIG_PVH=y, or boot "
			"the bzImage");
}

static int check_segments(Elf *elf, vmm__ldr_image *img, uint64_t entry)
{
	int rc = vmm__ldr_read_segments(elf, img, false);

	if (rc == 0)
		rc = vmm__ldr_check_overlaps(img);
	if (rc == 0)
		rc = vmm__ldr_check_clear(img, 0, VMM__LX_HIGH,
					  "the boot area below 1 MiB (GDT, start info, "
					  "command line)");
	if (rc == 0)
		rc = vmm__ldr_find_entry(img, entry);
	return rc;
}

static uint64_t image_end(const vmm__ldr_image *img)
{
	uint64_t end = 0;

	for (uint32_t i = 0; i < img->nsegs; i++)
		if (img->segs[i].addr + img->segs[i].memsz > end)
			end = img->segs[i].addr + img->segs[i].memsz;
	return (end + VMM__PAGE_SIZE - 1) & ~(VMM__PAGE_SIZE - 1);
}

/* hvm_start_info and its memory map, in one page. */
static void build_start_info(uint8_t *page, const vmm__lx_boot *b)
{
	uint8_t *mm = page + (VMM__LX_MEMMAP - VMM__LX_PARAMS);

	memset(page, 0, VMM__BOOT_PAGE);
	put32(page, 0, HVM_START_MAGIC);
	put32(page, 4, 1);                                     /* version */
	put32(page, 12, b->initrd_len ? 1 : 0);                /* nr_modules */
	put64(page, 16, b->initrd_len ? VMM__LX_PARAMS + START_INFO_LEN : 0);
	put64(page, 24, VMM__LX_CMDLINE);
	put64(page, 32, b->rsdp);
	put64(page, 40, VMM__LX_MEMMAP);
	put32(page, 48, b->nmap);
	if (b->initrd_len) {                                   /* hvm_modlist_entry */
		put64(page, START_INFO_LEN, b->initrd_addr);
		put64(page, START_INFO_LEN + 8, b->initrd_len);
	}
	for (uint32_t i = 0; i < b->nmap; i++) {
		put64(mm, i * MEMMAP_ENTRY, b->map[i].addr);
		put64(mm, i * MEMMAP_ENTRY + 8, b->map[i].size);
		put32(mm, i * MEMMAP_ENTRY + 16, b->map[i].type);
	}
}

static int load_checked(vmm_vm *vm, vmm__lx_boot *b, vmm__ldr_image *img)
{
	uint8_t page[VMM__BOOT_PAGE];
	int rc = vmm__lx_place_initrd(b, image_end(img), VMM__LX_MMIO_LO);

	if (rc)
		return rc;
	build_start_info(page, b);
	rc = vmm__lx_write_common(vm, b, false);
	if (rc == 0)
		rc = vmm__ldr_copy_segments(vm, img);
	if (rc == 0)
		rc = vmm__ldr_write(vm, VMM__LX_PARAMS, page, sizeof(page));
	if (rc == 0)
		rc = vmm__lx_start(vm, img->entry, false, VMM__LX_PARAMS);
	return rc;
}

int vmm__lx_load_pvh(vmm_vm *vm, vmm__lx_boot *b)
{
	vmm__ldr_image *img = calloc(1, sizeof(*img));
	uint64_t entry = 0;
	Elf *elf;
	int rc;

	if (!img)
		return vmm__err(VMM_ENOMEM, "vmm_load_linux: out of memory");
	elf = vmm__ldr_elf_memory(b->kernel, b->kernel_len);
	if (!elf) {
		free(img);
		return VMM_EBADIMAGE;
	}
	*img = (vmm__ldr_image){ .data = b->kernel, .len = b->kernel_len, .ram = b->ram,
				 .limit = b->low_end, .what = "vmlinux",
				 .vcpus = vm->config.vcpus };
	rc = find_entry(elf, b, &entry);
	if (rc == 0)
		rc = check_segments(elf, img, entry);
	if (rc == 0)
		rc = load_checked(vm, b, img);
	elf_end(elf);
	free(img);
	return rc;
}
