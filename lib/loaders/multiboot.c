/* multiboot.c - the Multiboot v1 loader: finds and checks the header, loads
 * the kernel from its ELF32 program headers or from the header's address
 * fields (flag bit 16), and picks the page for the boot information. */
#include <string.h>

#include "lib/loaders/loader.h"
#include "lib/platform/acpi.h"

/* Multiboot header fields, as 32-bit words from the header start. */
enum { MB_MAGIC, MB_FLAGS, MB_CHECKSUM, MB_HEADER_ADDR, MB_LOAD_ADDR,
       MB_LOAD_END_ADDR, MB_BSS_END_ADDR, MB_ENTRY_ADDR, MB_AOUT_WORDS };

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Offset of the first header with a valid checksum, or of the first magic
 * (then *valid is false), or -1. */
static long find_header(const uint8_t *data, size_t len, bool *valid)
{
	size_t end = len < VMM__MB_SEARCH ? len : VMM__MB_SEARCH;
	long first = -1;

	*valid = false;
	for (size_t off = 0; off + 12 <= end; off += 4) {
		const uint8_t *h = data + off;

		if (get32(h) != VMM__MB_HEADER_MAGIC)
			continue;
		if ((uint32_t)(get32(h) + get32(h + 4) + get32(h + 8)) == 0) {
			*valid = true;
			return (long)off;
		}
		if (first < 0)
			first = (long)off;
	}
	return first;
}

bool vmm__mb_has_header(const uint8_t *data, size_t len)
{
	bool valid;

	return find_header(data, len, &valid) >= 0;
}

static int check_flags(uint32_t flags)
{
	uint32_t unsupported = flags & 0xffffu & ~VMM__MB_REQ_SUPPORTED;

	if (unsupported & VMM__MB_FLAG_VIDEO)
		return vmm__err(VMM_EBADIMAGE, "Multiboot header requires video mode "
				"information (flag bit 2), which libvmm cannot provide: "
				"the VM has no display");
	if (unsupported)
		return vmm__err(VMM_EBADIMAGE, "Multiboot header requires unknown features "
				"(flag bits 0x%x in the required range 0-15)", unsupported);
	return 0;
}

/* The a.out kludge: the header's address fields say what to load where. */
static int aout_segment(vmm__ldr_image *img, const uint8_t *h, size_t off)
{
	uint32_t hdr = get32(h + 4 * MB_HEADER_ADDR), load = get32(h + 4 * MB_LOAD_ADDR);
	uint32_t load_end = get32(h + 4 * MB_LOAD_END_ADDR);
	uint32_t bss_end = get32(h + 4 * MB_BSS_END_ADDR);
	vmm__ldr_seg seg = { .addr = load, .vaddr = load, .flags = PF_R | PF_W | PF_X };

	if (load > hdr || hdr - load > off)
		return vmm__err(VMM_EBADIMAGE, "Multiboot header_addr 0x%x and load_addr "
				"0x%x put the load start outside the file (header at file "
				"offset 0x%zx)", hdr, load, off);
	seg.offset = off - (hdr - load);
	if (load_end != 0 && load_end < load)
		return vmm__err(VMM_EBADIMAGE, "Multiboot load_end_addr 0x%x is below "
				"load_addr 0x%x", load_end, load);
	seg.filesz = load_end ? load_end - load : img->len - seg.offset;
	if (bss_end != 0 && bss_end < load + seg.filesz)
		return vmm__err(VMM_EBADIMAGE, "Multiboot bss_end_addr 0x%x is below the "
				"end of the loaded data 0x%llx", bss_end,
				(vmm__ull)(load + seg.filesz));
	seg.memsz = bss_end ? bss_end - load : seg.filesz;
	if (seg.memsz == 0)
		return vmm__err(VMM_EBADIMAGE, "Multiboot address fields load nothing");
	return vmm__ldr_add_segment(img, &seg);
}

static int elf_segments(vmm__ldr_image *img, Elf *elf, uint64_t *entry)
{
	GElf_Ehdr eh;

	if (!elf)
		return vmm__err(VMM_EBADIMAGE, "not an ELF file, and its Multiboot header "
				"has no load addresses (flag bit 16)");
	if (!gelf_getehdr(elf, &eh))
		return vmm__err(VMM_EBADIMAGE, "malformed ELF header (libelf: %s)",
				elf_errmsg(-1));
	*entry = eh.e_entry;
	return vmm__ldr_read_segments(elf, img, false);
}

static int read_header(vmm__ldr_image *img, Elf *elf, uint64_t *entry)
{
	bool valid;
	long off = find_header(img->data, img->len, &valid);
	size_t avail = img->len < VMM__MB_SEARCH ? img->len : VMM__MB_SEARCH;
	const uint8_t *h;
	int rc;

	if (off < 0)
		return vmm__err(VMM_EBADIMAGE, "no Multiboot header in the first %u bytes",
				VMM__MB_SEARCH);
	h = img->data + off;
	if (!valid)
		return vmm__err(VMM_EBADIMAGE, "Multiboot header at file offset 0x%lx has a "
				"bad checksum (magic + flags + checksum must be 0 mod 2^32)",
				off);
	rc = check_flags(get32(h + 4));
	if (rc)
		return rc;
	if (!(get32(h + 4) & VMM__MB_FLAG_AOUT))
		return elf_segments(img, elf, entry);
	if ((size_t)off + 4 * MB_AOUT_WORDS > avail)
		return vmm__err(VMM_EBADIMAGE, "truncated Multiboot header at file offset "
				"0x%lx: its address fields (flag bit 16) pass the end of the "
				"file or of its first %u bytes", off, VMM__MB_SEARCH);
	*entry = get32(h + 4 * MB_ENTRY_ADDR);
	return aout_segment(img, h, (size_t)off);
}

/* The lowest free page for the boot information: first in conventional
 * memory [4 KiB, 0x9fc00), then from 1 MiB up to RAM end or 4 GiB. */
static int find_boot_page(const vmm__ldr_image *img, uint64_t *out)
{
	const uint64_t windows[2][2] = {
		{ VMM__BOOT_PAGE, VMM__MB_LOW_END },
		{ VMM__MB_HIGH, VMM__MB_ADDR_LIMIT },
	};

	for (int w = 0; w < 2; w++) {
		uint64_t p = windows[w][0];
		uint64_t hi = windows[w][1] < img->ram ? windows[w][1] : img->ram;

		for (uint32_t i = 0; i < img->nsegs && p + VMM__BOOT_PAGE <= hi; i++) {
			const vmm__ldr_seg *s = &img->segs[i];   /* sorted by addr */

			if (s->addr < p + VMM__BOOT_PAGE && p < s->addr + s->memsz)
				p = (s->addr + s->memsz + VMM__BOOT_PAGE - 1) &
				    ~(VMM__BOOT_PAGE - 1);
		}
		if (p + VMM__BOOT_PAGE <= hi) {
			*out = p;
			return 0;
		}
	}
	return vmm__err(VMM_ERANGE, "no free 4 KiB page of guest RAM below 4 GiB for the "
			"Multiboot information: the kernel fills it");
}

/* A VM with the PC platform gets its ACPI tables at VMM__ACPI_BASE (outside
 * the memory map's RAM), as a PC's firmware leaves them for a Multiboot
 * kernel (kvm-unit-tests looks there), unless RAM ends before their end
 * or the kernel loads over them. */
static int mb_acpi(vmm_vm *vm, const vmm__ldr_image *img)
{
	uint64_t rsdp, lo = VMM__ACPI_BASE, hi = VMM__ACPI_BASE + VMM__ACPI_SIZE;

	if (!vm->platform || img->ram < hi)
		return 0;
	for (uint32_t i = 0; i < img->nsegs; i++)
		if (img->segs[i].addr < hi && lo < img->segs[i].addr + img->segs[i].memsz)
			return 0;
	return vmm__acpi_build(vm, &rsdp);
}

int vmm__load_multiboot(vmm_vm *vm, Elf *elf, vmm__ldr_image *img)
{
	uint64_t entry = 0, base = 0;
	int rc;

	img->what = "Multiboot";
	img->limit = VMM__MB_ADDR_LIMIT;
	rc = read_header(img, elf, &entry);
	if (rc == 0)
		rc = vmm__ldr_check_overlaps(img);
	if (rc == 0)
		rc = vmm__ldr_find_entry(img, entry);
	if (rc == 0)
		rc = find_boot_page(img, &base);
	if (rc == 0)
		rc = vmm__ldr_copy_segments(vm, img);
	if (rc == 0)
		rc = mb_acpi(vm, img);
	if (rc == 0)
		rc = vmm__ldr_create_vcpus(vm);
	if (rc == 0)
		rc = vmm__mb_boot(vm, img, base);
	return rc;
}
