/* loader.h - what the ELF64 and Multiboot loaders share: the validated list
 * of segments to load, guest-memory writes and vCPU creation. */
#ifndef VMM_LOADERS_LOADER_H
#define VMM_LOADERS_LOADER_H

#include <gelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/internal.h"
#include "lib/loaders/boot.h"

typedef unsigned long long vmm__ull;

/* One non-empty loadable segment, checked against the file and guest RAM. */
typedef struct vmm__ldr_seg {
	uint64_t addr;      /* guest-physical load address */
	uint64_t vaddr;     /* the ELF virtual address (for the entry point) */
	uint64_t offset;    /* file offset of the first filesz bytes */
	uint64_t filesz;    /* copied from the file */
	uint64_t memsz;     /* >= filesz; the rest is zeroed */
	uint32_t index;     /* program header number, for messages */
	uint32_t flags;     /* PF_R / PF_W / PF_X */
} vmm__ldr_seg;

typedef struct vmm__ldr_image {
	const uint8_t *data;     /* the whole image file */
	size_t len;
	uint64_t ram;            /* guest RAM: [0, ram) */
	uint64_t limit;          /* every byte loaded lies below this */
	const char *what;        /* "ELF" or "Multiboot" in messages */
	vmm__ldr_seg segs[VMM__BOOT_MAX_SEGS];   /* sorted by addr once checked */
	uint32_t nsegs;
	uint64_t entry;          /* guest-physical entry point */
	const char *cmdline;     /* NULL or checked to fit VMM__BOOT_CMDLINE_MAX */
	uint32_t vcpus;          /* config.vcpus */
} vmm__ldr_image;

/* ---- segments.c ----------------------------------------------------------- */
/* Reads every PT_LOAD of elf into img->segs (skipping empty ones). Address:
 * p_paddr, or p_vaddr when p_paddr is 0 and vaddr_fallback. */
int vmm__ldr_read_segments(Elf *elf, vmm__ldr_image *img, bool vaddr_fallback);
/* Appends one segment after checking it like a PT_LOAD. */
int vmm__ldr_add_segment(vmm__ldr_image *img, const vmm__ldr_seg *seg);
/* Sorts the segments and fails if two overlap. */
int vmm__ldr_check_overlaps(vmm__ldr_image *img);
/* Fails if a segment overlaps [lo, hi), naming it as what. */
int vmm__ldr_check_clear(const vmm__ldr_image *img, uint64_t lo, uint64_t hi,
			 const char *what);
/* Sets img->entry: entry as a virtual address of a segment (translated to
 * its load address) or else as a load address; it must lie in an
 * executable segment. */
int vmm__ldr_find_entry(vmm__ldr_image *img, uint64_t entry);
/* Copies filesz bytes of every segment and zeroes the rest up to memsz. */
int vmm__ldr_copy_segments(vmm_vm *vm, const vmm__ldr_image *img);

/* ---- guest.c --------------------------------------------------------------- */
/* Writes len bytes at gpa (zeroes when src is NULL), across memory slots. */
int vmm__ldr_write(vmm_vm *vm, uint64_t gpa, const void *src, uint64_t len);
/* Creates the VM's vCPUs 0..config.vcpus-1 that do not exist yet. */
int vmm__ldr_create_vcpus(vmm_vm *vm);
/* Reads, edits and writes back a vCPU's registers through the public API. */
typedef void (*vmm__ldr_state_fn)(uint32_t index, vmm_regs *regs, vmm_sregs *sregs,
				  const void *ctx);
int vmm__ldr_set_state(vmm_vm *vm, uint32_t index, vmm__ldr_state_fn fn,
		       const void *ctx);
/* "64 MiB", "512 KiB", "4100 bytes": the largest unit that is exact. */
const char *vmm__ldr_size_str(uint64_t bytes, char *buf, size_t len);

/* ---- load.c ---------------------------------------------------------------- */
/* Reads a whole regular file (<= 4 GiB) into malloc'ed *out. */
int vmm__ldr_read_file(const char *path, uint8_t **out, size_t *len);
/* libelf over an image in memory (read in place), or NULL with the error
 * set. Release with elf_end. */
Elf *vmm__ldr_elf_memory(const uint8_t *data, size_t len);

/* ---- elf64.c / multiboot.c ----------------------------------------------- */
int vmm__load_elf64(vmm_vm *vm, Elf *elf, vmm__ldr_image *img);
/* elf is NULL for a non-ELF image (then the header must have flag 16). */
int vmm__load_multiboot(vmm_vm *vm, Elf *elf, vmm__ldr_image *img);
/* True if the image has a Multiboot v1 header magic in the search area. */
bool vmm__mb_has_header(const uint8_t *data, size_t len);

/* ---- boot64.c --------------------------------------------------------------- */
typedef struct vmm__b64_layout {
	uint64_t map_end;        /* identity map covers [0, map_end) */
	uint32_t npdpt, npd;     /* page-directory-pointer tables, directories */
	uint64_t boot_end;       /* end of the page tables: boot area [0, boot_end) */
	uint64_t stack_lo;       /* stacks occupy [stack_lo, stack_top) */
	uint64_t stack_top;
} vmm__b64_layout;
void vmm__b64_plan(uint64_t ram, uint32_t vcpus, vmm__b64_layout *out);
int vmm__b64_write_boot_area(vmm_vm *vm, const vmm__b64_layout *lay,
			     const char *cmdline);
int vmm__b64_start_vcpus(vmm_vm *vm, const vmm__b64_layout *lay, uint64_t entry,
			 bool has_cmdline);

/* ---- mbinfo.c --------------------------------------------------------------- */
/* Writes the boot page at base (GDT, TSS, info, mmap, name, cmdline) and
 * starts vCPU 0 at entry; other vCPUs stay stopped. */
int vmm__mb_boot(vmm_vm *vm, const vmm__ldr_image *img, uint64_t base);

#endif /* VMM_LOADERS_LOADER_H */
