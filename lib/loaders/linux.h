/* linux.h - what the bzImage and PVH loaders share (lib/loaders/linux*.c). */
#ifndef VMM_LOADERS_LINUX_H
#define VMM_LOADERS_LINUX_H

#include "lib/loaders/loader.h"

enum { VMM__E820_RAM = 1, VMM__E820_RESERVED = 2 };

typedef struct vmm__lx_e820 {
	uint64_t addr, size;
	uint32_t type;
} vmm__lx_e820;

typedef struct vmm__lx_boot {
	const uint8_t *kernel;
	size_t kernel_len;
	const uint8_t *initrd;
	size_t initrd_len;
	const char *cmdline;       /* never NULL */
	size_t cmdline_len;        /* without the NUL */
	uint64_t ram;              /* guest RAM bytes (config.mem_size) */
	bool split;                /* RAM past 3 GiB is at 4 GiB (VMM_VM_IRQCHIP) */
	uint64_t low_end;          /* end of RAM below 4 GiB, by build_map */
	uint64_t rsdp;
	uint64_t initrd_addr;      /* set by vmm__lx_place_initrd */
	vmm__lx_e820 map[8];
	uint32_t nmap;
} vmm__lx_boot;

/* linux.c */
void vmm__lx_build_map(vmm__lx_boot *b);
/* Puts the initrd as high as possible in RAM within [lo, hi), page aligned. */
int vmm__lx_place_initrd(vmm__lx_boot *b, uint64_t lo, uint64_t hi);
/* GDT (+ TSS, + identity page tables for long mode), command line, initrd. */
int vmm__lx_write_common(vmm_vm *vm, const vmm__lx_boot *b, bool long_mode);
/* vCPU 0 at entry in long mode (rsi = boot_params) or 32-bit protected mode
 * (ebx = start info); the others wait for SIPI. */
int vmm__lx_start(vmm_vm *vm, uint64_t entry, bool long_mode, uint64_t params);

/* linux_bzimage.c */
bool vmm__lx_is_bzimage(const uint8_t *d, size_t len);
int vmm__lx_load_bzimage(vmm_vm *vm, vmm__lx_boot *b);
/* linux_pvh.c */
int vmm__lx_load_pvh(vmm_vm *vm, vmm__lx_boot *b);

#endif /* VMM_LOADERS_LINUX_H */
