/* segments.c - the list of segments an image loads: read from PT_LOAD
 * program headers (or a Multiboot header), each checked against the file
 * and guest RAM, then against each other and the loader's own areas. */
#include <string.h>

#include "lib/loaders/loader.h"

static uint64_t seg_end(const vmm__ldr_seg *s)
{
	return s->addr + s->memsz;   /* no wrap: checked by vmm__ldr_add_segment */
}

static int check_file_range(const vmm__ldr_image *img, const vmm__ldr_seg *s)
{
	if (s->filesz > s->memsz)
		return vmm__err(VMM_EBADIMAGE, "%s segment %u: p_filesz 0x%llx is larger "
				"than p_memsz 0x%llx", img->what, s->index,
				(vmm__ull)s->filesz, (vmm__ull)s->memsz);
	if (s->offset > img->len || s->filesz > img->len - s->offset)
		return vmm__err(VMM_EBADIMAGE, "truncated %s: segment %u data [0x%llx, "
				"+0x%llx) extends past the end of the file (0x%zx bytes)",
				img->what, s->index, (vmm__ull)s->offset,
				(vmm__ull)s->filesz, img->len);
	return 0;
}

static int check_guest_range(const vmm__ldr_image *img, const vmm__ldr_seg *s)
{
	char ram[32];

	vmm__ldr_size_str(img->ram, ram, sizeof(ram));
	if (s->memsz > UINT64_MAX - s->addr)
		return vmm__err(VMM_EBADIMAGE, "%s segment %u [0x%llx, +0x%llx) wraps "
				"around the address space", img->what, s->index,
				(vmm__ull)s->addr, (vmm__ull)s->memsz);
	if (s->addr >= img->ram)
		return vmm__err(VMM_ERANGE, "%s segment %u [0x%llx, 0x%llx) lies outside "
				"guest RAM (%s)", img->what, s->index, (vmm__ull)s->addr,
				(vmm__ull)seg_end(s), ram);
	if (seg_end(s) > img->ram)
		return vmm__err(VMM_ERANGE, "%s segment %u [0x%llx, 0x%llx) ends past "
				"guest RAM (%s)", img->what, s->index, (vmm__ull)s->addr,
				(vmm__ull)seg_end(s), ram);
	if (seg_end(s) > img->limit)
		return vmm__err(VMM_ERANGE, "%s segment %u [0x%llx, 0x%llx) ends past "
				"0x%llx, the highest address the kernel can reach at entry",
				img->what, s->index, (vmm__ull)s->addr,
				(vmm__ull)seg_end(s), (vmm__ull)img->limit);
	return 0;
}

int vmm__ldr_add_segment(vmm__ldr_image *img, const vmm__ldr_seg *seg)
{
	int rc = check_file_range(img, seg);

	if (rc == 0)
		rc = check_guest_range(img, seg);
	if (rc)
		return rc;
	if (img->nsegs == VMM__BOOT_MAX_SEGS)
		return vmm__err(VMM_EBADIMAGE, "%s image has more than %u non-empty "
				"PT_LOAD segments", img->what, VMM__BOOT_MAX_SEGS);
	img->segs[img->nsegs++] = *seg;
	return 0;
}

int vmm__ldr_read_segments(Elf *elf, vmm__ldr_image *img, bool vaddr_fallback)
{
	size_t phnum;
	GElf_Phdr ph;
	int rc;

	if (elf_getphdrnum(elf, &phnum) != 0)
		return vmm__err(VMM_EBADIMAGE, "malformed ELF program headers (libelf: %s)",
				elf_errmsg(-1));
	for (size_t i = 0; i < phnum; i++) {
		vmm__ldr_seg seg;

		if (!gelf_getphdr(elf, (int)i, &ph))
			return vmm__err(VMM_EBADIMAGE, "malformed ELF program header %zu "
					"(libelf: %s)", i, elf_errmsg(-1));
		if (ph.p_type != PT_LOAD || (ph.p_memsz == 0 && ph.p_filesz == 0))
			continue;
		seg = (vmm__ldr_seg){
			.addr = ph.p_paddr, .vaddr = ph.p_vaddr, .offset = ph.p_offset,
			.filesz = ph.p_filesz, .memsz = ph.p_memsz, .index = (uint32_t)i,
			.flags = ph.p_flags,
		};
		if (seg.addr == 0 && vaddr_fallback)
			seg.addr = ph.p_vaddr;
		rc = vmm__ldr_add_segment(img, &seg);
		if (rc)
			return rc;
	}
	if (img->nsegs == 0)
		return vmm__err(VMM_EBADIMAGE, "%s image has no PT_LOAD segment with "
				"contents: nothing to load", img->what);
	return 0;
}

int vmm__ldr_check_overlaps(vmm__ldr_image *img)
{
	/* Insertion sort by address: at most VMM__BOOT_MAX_SEGS entries. */
	for (uint32_t i = 1; i < img->nsegs; i++) {
		vmm__ldr_seg cur = img->segs[i];
		uint32_t j = i;

		for (; j > 0 && img->segs[j - 1].addr > cur.addr; j--)
			img->segs[j] = img->segs[j - 1];
		img->segs[j] = cur;
	}
	for (uint32_t i = 1; i < img->nsegs; i++) {
		const vmm__ldr_seg *a = &img->segs[i - 1], *b = &img->segs[i];

		if (b->addr < seg_end(a))
			return vmm__err(VMM_EBADIMAGE, "%s segments %u [0x%llx, 0x%llx) and "
					"%u [0x%llx, 0x%llx) overlap", img->what, a->index,
					(vmm__ull)a->addr, (vmm__ull)seg_end(a), b->index,
					(vmm__ull)b->addr, (vmm__ull)seg_end(b));
	}
	return 0;
}

int vmm__ldr_check_clear(const vmm__ldr_image *img, uint64_t lo, uint64_t hi,
			 const char *what)
{
	for (uint32_t i = 0; i < img->nsegs; i++) {
		const vmm__ldr_seg *s = &img->segs[i];

		if (s->addr < hi && lo < seg_end(s))
			return vmm__err(VMM_ERANGE, "%s segment %u [0x%llx, 0x%llx) overlaps "
					"%s [0x%llx, 0x%llx)", img->what, s->index,
					(vmm__ull)s->addr, (vmm__ull)seg_end(s), what,
					(vmm__ull)lo, (vmm__ull)hi);
	}
	return 0;
}

static const vmm__ldr_seg *entry_segment(const vmm__ldr_image *img, uint64_t entry,
					 uint64_t *phys)
{
	for (uint32_t i = 0; i < img->nsegs; i++) {
		const vmm__ldr_seg *s = &img->segs[i];

		if (entry >= s->vaddr && entry - s->vaddr < s->memsz) {
			*phys = s->addr + (entry - s->vaddr);
			return s;
		}
	}
	for (uint32_t i = 0; i < img->nsegs; i++) {
		const vmm__ldr_seg *s = &img->segs[i];

		if (entry >= s->addr && entry - s->addr < s->memsz) {
			*phys = entry;
			return s;
		}
	}
	return NULL;
}

int vmm__ldr_find_entry(vmm__ldr_image *img, uint64_t entry)
{
	uint64_t phys = 0;
	const vmm__ldr_seg *s = entry_segment(img, entry, &phys);
	char ram[32];

	if (!s && entry >= img->ram)
		return vmm__err(VMM_ERANGE, "%s entry point 0x%llx is outside guest RAM "
				"(%s) and inside no loaded segment", img->what,
				(vmm__ull)entry, vmm__ldr_size_str(img->ram, ram, sizeof(ram)));
	if (!s)
		return vmm__err(VMM_EBADIMAGE, "%s entry point 0x%llx is not inside any "
				"loaded segment", img->what, (vmm__ull)entry);
	if (!(s->flags & PF_X))
		return vmm__err(VMM_EBADIMAGE, "%s entry point 0x%llx is inside segment %u "
				"[0x%llx, 0x%llx), which is not executable (no PF_X)",
				img->what, (vmm__ull)entry, s->index, (vmm__ull)s->addr,
				(vmm__ull)seg_end(s));
	img->entry = phys;
	return 0;
}

int vmm__ldr_copy_segments(vmm_vm *vm, const vmm__ldr_image *img)
{
	for (uint32_t i = 0; i < img->nsegs; i++) {
		const vmm__ldr_seg *s = &img->segs[i];
		int rc = vmm__ldr_write(vm, s->addr, img->data + s->offset, s->filesz);

		if (rc == 0)
			rc = vmm__ldr_write(vm, s->addr + s->filesz, NULL,
					    s->memsz - s->filesz);
		if (rc)
			return rc;
	}
	return 0;
}
