/* vmm/linux.h - booting Linux kernels (included by vmm.h).
 *
 * vmm_load_linux loads a kernel as the Linux x86 boot protocol says and
 * creates the vCPUs: a bzImage (boot protocol 2.12 or later) through its
 * 64-bit entry point, or an uncompressed vmlinux ELF through its PVH entry
 * (the XEN_ELFNOTE_PHYS32_ENTRY note: 32-bit protected mode, paging off).
 * vCPU 0 starts at the entry; the others wait for INIT/SIPI, so SMP needs a
 * VM created with VMM_VM_IRQCHIP. The memory map (e820 / PVH memmap) is
 * RAM [0, mem_size) with the legacy hole [0x9fc00, 0x100000) and the
 * interrupt controllers' window [0xfec00000, 4 GiB) reserved. docs/boot.md
 * gives the guest-physical layout.
 *
 * Everything is checked before guest memory is written: VMM_EBADIMAGE for
 * a kernel that is neither, VMM_ERANGE for a kernel or initrd that does not
 * fit, VMM_EINVAL for a command line over the kernel's limit.
 */
#ifndef VMM_LINUX_H
#define VMM_LINUX_H

#ifndef VMM_H
#error "include <vmm.h>, not <vmm/linux.h>"
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vmm_linux_options {
	uint32_t size;             /* sizeof(vmm_linux_options) */
	uint32_t flags;            /* reserved, 0 */
	const char *kernel;        /* path of a bzImage or a vmlinux with PVH */
	const char *initrd;        /* path, or NULL */
	const char *cmdline;       /* NULL: empty */
	/* Instead of paths: images in memory (used when the path is NULL). */
	const void *kernel_data;
	uint64_t kernel_size;
	const void *initrd_data;
	uint64_t initrd_size;
	uint64_t acpi_rsdp;        /* guest-physical RSDP to hand over, or 0: a
				      VMM_VM_IRQCHIP VM then gets libvmm's own
				      ACPI tables (MADT, FADT, DSDT) at 0xe0000 */
} vmm_linux_options;
#define VMM_LINUX_OPTIONS_INIT { sizeof(vmm_linux_options), 0, NULL, NULL, NULL, \
				 NULL, 0, NULL, 0, 0 }

VMM_API int vmm_load_linux(vmm_vm *vm, const vmm_linux_options *options);

#ifdef __cplusplus
}
#endif
#endif /* VMM_LINUX_H */
