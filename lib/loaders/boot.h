/* boot.h - the guest-physical boot layouts and initial CPU state the ELF64
 * and Multiboot loaders build. docs/boot.md explains each number; every
 * number lives here and nowhere else. */
#ifndef VMM_LOADERS_BOOT_H
#define VMM_LOADERS_BOOT_H

#define VMM__BOOT_PAGE          0x1000ull
#define VMM__BOOT_CMDLINE_MAX   2048u          /* bytes, with the NUL */
#define VMM__BOOT_MAX_PHDRS     256u           /* program headers per image */
#define VMM__BOOT_MAX_SEGS      64u            /* non-empty PT_LOAD segments */
#define VMM__BOOT_MAX_FILE      (4ull << 30)   /* image file size */

/* ---- Control-register bits used below ------------------------------------ */
#define VMM__CR0_PE   (1ull << 0)
#define VMM__CR0_MP   (1ull << 1)
#define VMM__CR0_ET   (1ull << 4)
#define VMM__CR0_NE   (1ull << 5)
#define VMM__CR0_WP   (1ull << 16)
#define VMM__CR0_PG   (1ull << 31)
#define VMM__CR4_PAE  (1ull << 5)
#define VMM__CR4_OSFXSR     (1ull << 9)
#define VMM__CR4_OSXMMEXCPT (1ull << 10)
#define VMM__EFER_LME (1ull << 8)
#define VMM__EFER_LMA (1ull << 10)
#define VMM__EFER_NXE (1ull << 11)
#define VMM__RFLAGS_FIXED 0x2ull               /* bit 1 always set; IF=0 */

/* ---- ELF64: 64-bit long mode ---------------------------------------------- */
/* 0x0000: UD2 (0f 0b), the target of the null return address at [RSP]. */
#define VMM__B64_TRAP         0x0000ull
#define VMM__B64_GDT          0x1000ull
#define VMM__B64_TSS          0x1080ull        /* in the GDT page */
#define VMM__B64_TSS_LIMIT    0x67u            /* 104-byte 64-bit TSS */
#define VMM__B64_CMDLINE      0x1800ull        /* in the GDT page, <= 2 KiB */
#define VMM__B64_PML4         0x2000ull
#define VMM__B64_PDPT         0x3000ull        /* PDPTs, then page directories */
#define VMM__B64_LOW_MAP      (4ull << 30)     /* always mapped (MMIO below 4 GiB) */
#define VMM__B64_MAP_ALIGN    (1ull << 30)     /* RAM mapping rounded up to 1 GiB */
#define VMM__B64_STACK_SIZE   0x10000ull       /* per vCPU, at the top of RAM */
#define VMM__B64_STACK_RET    8ull             /* RSP = stack top - 8 (SysV entry) */

#define VMM__B64_SEL_CODE64   0x08u
#define VMM__B64_SEL_DATA     0x10u
#define VMM__B64_SEL_CODE32   0x18u
#define VMM__B64_SEL_TSS      0x20u            /* 16-byte descriptor: 0x20-0x2f */
#define VMM__B64_GDT_ENTRIES  6u               /* null, code64, data, code32, tss x2 */
#define VMM__B64_GDT_LIMIT    (VMM__B64_GDT_ENTRIES * 8u - 1u)

/* Descriptors are stored with the accessed bit set, as the CPU leaves them
 * after loading; they then equal the hidden state the vCPU starts with. */
#define VMM__DESC_CODE64      0x00af9b000000ffffull  /* L=1 D=0 G=1 P=1 type 0xb */
#define VMM__DESC_DATA        0x00cf93000000ffffull  /* D/B=1 G=1 P=1 type 0x3 */
#define VMM__DESC_CODE32      0x00cf9b000000ffffull  /* D/B=1 G=1 P=1 type 0xb */

#define VMM__B64_CR0  (VMM__CR0_PE | VMM__CR0_MP | VMM__CR0_ET | VMM__CR0_NE | \
		       VMM__CR0_WP | VMM__CR0_PG)                 /* 0x80010033 */
#define VMM__B64_CR4  (VMM__CR4_PAE | VMM__CR4_OSFXSR | VMM__CR4_OSXMMEXCPT) /* 0x620 */
#define VMM__B64_EFER (VMM__EFER_LME | VMM__EFER_LMA | VMM__EFER_NXE)  /* 0xd00 */

#define VMM__PTE_P    0x1ull
#define VMM__PTE_RW   0x2ull
#define VMM__PTE_PS   0x80ull                  /* 2 MiB page in a PDE */
#define VMM__PTE_ENTRIES 512ull

/* ---- Multiboot v1: 32-bit protected mode, paging off ----------------------- */
#define VMM__MB_HEADER_MAGIC  0x1badb002u
#define VMM__MB_BOOT_MAGIC    0x2badb002u      /* EAX at entry */
#define VMM__MB_SEARCH        8192u            /* header lies in these bytes */
#define VMM__MB_FLAG_ALIGN    (1u << 0)        /* modules page aligned: no modules */
#define VMM__MB_FLAG_MEMINFO  (1u << 1)        /* always provided */
#define VMM__MB_FLAG_VIDEO    (1u << 2)        /* unsupported: no video */
#define VMM__MB_FLAG_AOUT     (1u << 16)       /* load from header address fields */
#define VMM__MB_REQ_SUPPORTED (VMM__MB_FLAG_ALIGN | VMM__MB_FLAG_MEMINFO)

/* One "boot page" holds everything the loader gives the kernel. Its base is
 * the lowest free page (see docs/boot.md); offsets within it: */
#define VMM__MB_OFF_GDT       0x000u           /* null, code32 0x08, data 0x10, tss 0x18 */
#define VMM__MB_OFF_TSS       0x040u           /* 104-byte 32-bit TSS */
#define VMM__MB_OFF_INFO      0x100u           /* multiboot_info, 116 bytes */
#define VMM__MB_OFF_MMAP      0x180u           /* up to 4 entries of 24 bytes */
#define VMM__MB_OFF_NAME      0x1f0u           /* "libvmm" */
#define VMM__MB_OFF_CMDLINE   0x800u           /* <= 2 KiB */
#define VMM__MB_SEL_CODE      0x08u
#define VMM__MB_SEL_DATA      0x10u
#define VMM__MB_SEL_TSS       0x18u
#define VMM__MB_GDT_LIMIT     0x1fu
#define VMM__MB_TSS_LIMIT     0x67u
#define VMM__MB_CR0           (VMM__CR0_PE | VMM__CR0_ET)          /* 0x11 */
#define VMM__MB_LOW_END       0x9fc00ull       /* end of available low memory */
#define VMM__MB_EBDA_END      0xa0000ull
#define VMM__MB_BIOS          0xf0000ull
#define VMM__MB_HIGH          0x100000ull      /* 1 MiB */
#define VMM__MB_ADDR_LIMIT    (4ull << 30)     /* everything below 4 GiB */

/* ---- Linux: bzImage 64-bit entry and PVH (lib/loaders/linux*.c) ------------ */
#define VMM__LX_GDT           0x1000ull        /* null, null, code 0x10, data 0x18, tss 0x20 */
#define VMM__LX_TSS           0x1080ull        /* 64-bit entry only; PVH's has base 0 */
#define VMM__LX_SEL_CODE      0x10u            /* __BOOT_CS */
#define VMM__LX_SEL_DATA      0x18u            /* __BOOT_DS */
#define VMM__LX_SEL_TSS       0x20u
#define VMM__LX_GDT_LIMIT     0x2fu
#define VMM__LX_PML4          0x2000ull        /* identity map of 4 GiB, 2 MiB pages */
#define VMM__LX_PDPT          0x3000ull
#define VMM__LX_PD            0x4000ull        /* 4 directories: 0x4000-0x7fff */
#define VMM__LX_PARAMS        0x8000ull        /* boot_params / hvm_start_info */
#define VMM__LX_MEMMAP        0x8800ull        /* PVH memory map */
#define VMM__LX_STACK_TOP     0x1f000ull       /* RSP at entry (the kernel sets its own) */
#define VMM__LX_CMDLINE       0x20000ull
#define VMM__LX_CMDLINE_MAX   0x10000u         /* our room for it, NUL included */
#define VMM__LX_KERNEL        0x100000ull      /* relocatable bzImage load address */
#define VMM__LX_LOW_END       0x9fc00ull
#define VMM__LX_BIOS          0xe0000ull       /* reserved: ACPI tables live here */
#define VMM__LX_HIGH          0x100000ull
#define VMM__LX_MMIO_LO       0xfec00000ull    /* IOAPIC..4 GiB reserved */
#define VMM__LX_ECAM          0xe0000000ull    /* = VMM__PCI_ECAM_BASE */
#define VMM__LX_ECAM_SIZE     0x100000ull
#define VMM__LX_MMIO_HI       (4ull << 30)
#define VMM__LX_E820_MAX      128u
#define VMM__LX_CR0 VMM__B64_CR0
#define VMM__LX_CR4 VMM__CR4_PAE
#define VMM__LX_EFER (VMM__EFER_LME | VMM__EFER_LMA)

#endif /* VMM_LOADERS_BOOT_H */
