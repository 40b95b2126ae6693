/* linux_bzimage.c - a bzImage through the Linux x86 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst): the setup header is checked, the
 * protected-mode kernel loaded, boot_params filled with the e820 map, the
 * command line and the initrd, and vCPU 0 enters at load address + 0x200. */
#include <string.h>

#include "lib/loaders/linux.h"

/* Offsets in the file's first sector and in boot_params (the "zero page"). */
enum {
	BP_ACPI_RSDP = 0x070, BP_EXT_RAMDISK = 0x0c0, BP_EXT_RAMDISK_SIZE = 0x0c4,
	BP_EXT_CMDLINE = 0x0c8, BP_E820_ENTRIES = 0x1e8, HDR = 0x1f1,
	HDR_BOOT_FLAG = 0x1fe, HDR_JUMP = 0x200, HDR_MAGIC = 0x202,
	HDR_VERSION = 0x206, HDR_LOADER = 0x210, HDR_LOADFLAGS = 0x211,
	HDR_RAMDISK = 0x218, HDR_RAMDISK_SIZE = 0x21c, HDR_CMDLINE = 0x228,
	HDR_INITRD_MAX = 0x22c, HDR_ALIGN = 0x230, HDR_RELOCATABLE = 0x234,
	HDR_XLOADFLAGS = 0x236, HDR_CMDLINE_SIZE = 0x238, HDR_PREF_ADDR = 0x258,
	HDR_INIT_SIZE = 0x260, HDR_MIN_LEN = 0x264, HDR_MAX_END = 0x290,
	BP_E820 = 0x2d0, E820_ENTRY = 20
};
#define PROTO_MIN 0x020c           /* 2.12: xloadflags, 64-bit entry */
#define PROTO_RSDP 0x020e          /* 2.14: acpi_rsdp_addr */
#define XLF_KERNEL_64 0x1
#define LOADED_HIGH 0x1
#define ENTRY_64 0x200

static uint16_t get16(const uint8_t *d, size_t off) { uint16_t v; memcpy(&v, d + off, 2); return v; }
static uint32_t get32(const uint8_t *d, size_t off) { uint32_t v; memcpy(&v, d + off, 4); return v; }
static uint64_t get64(const uint8_t *d, size_t off) { uint64_t v; memcpy(&v, d + off, 8); return v; }
static void put32(uint8_t *d, size_t off, uint32_t v) { memcpy(d + off, &v, 4); }
static void put64(uint8_t *d, size_t off, uint64_t v) { memcpy(d + off, &v, 8); }

bool vmm__lx_is_bzimage(const uint8_t *d, size_t len)
{
	return len >= HDR_MIN_LEN && memcmp(d + HDR_MAGIC, "HdrS", 4) == 0;
}

typedef struct bz_image {
	uint64_t load, need, entry;   /* load address, bytes from it, entry */
	size_t setup_len;             /* file bytes before the 32/64-bit code */
	uint16_t version;
} bz_image;

static int check_header(const vmm__lx_boot *b, bz_image *bz)
{
	const uint8_t *d = b->kernel;
	unsigned sects = d[HDR] ? d[HDR] : 4;

	bz->version = get16(d, HDR_VERSION);
	if (get16(d, HDR_BOOT_FLAG) != 0xaa55)
		return vmm__err(VMM_EBADIMAGE, "vmm_load_linux: bzImage boot flag is 0x%04x, "
				"not 0xaa55", get16(d, HDR_BOOT_FLAG));
	if (bz->version < PROTO_MIN)
		return vmm__err(VMM_EBADIMAGE, "vmm_load_linux: bzImage boot protocol %u.%02u "
				"is older than 2.12, which has the 64-bit entry",
				bz->version >> 8, bz->version & 0xff);
	if (!(get16(d, HDR_XLOADFLAGS) & XLF_KERNEL_64))
		return vmm__err(VMM_EBADIMAGE, "vmm_load_linux: the bzImage has no 64-bit "
				"entry point (xloadflags lacks XLF_KERNEL_64)");
	if (!(d[HDR_LOADFLAGS] & LOADED_HIGH))
		return vmm__err(VMM_EBADIMAGE, "vmm_load_linux: a zImage (loaded at 0x10000) "
				"is not supported; build a bzImage");
	bz->setup_len = (size_t)(sects + 1) * 512;
	if (bz->setup_len >= b->kernel_len)
		return vmm__err(VMM_EBADIMAGE, "vmm_load_linux: bzImage setup (%u sectors) "
				"covers the whole %zu-byte file", sects, b->kernel_len);
	return 0;
}

static int check_fit(const vmm__lx_boot *b, bz_image *bz)
{
	const uint8_t *d = b->kernel;
	uint64_t code = b->kernel_len - bz->setup_len, init = get32(d, HDR_INIT_SIZE);
	uint64_t align = get32(d, HDR_ALIGN);
	char ram[32];

	bz->load = d[HDR_RELOCATABLE] ? VMM__LX_KERNEL : get64(d, HDR_PREF_ADDR);
	if (bz->load < VMM__LX_KERNEL || bz->load >= VMM__LX_MMIO_LO ||
	    (!d[HDR_RELOCATABLE] && align && (bz->load & (align - 1))))
		return vmm__err(VMM_EBADIMAGE, "vmm_load_linux: a non-relocatable bzImage "
				"wants address 0x%llx, which libvmm cannot load it at",
				(vmm__ull)bz->load);
	bz->need = init > code ? init : code;
	vmm__ldr_size_str(b->ram, ram, sizeof(ram));
	if (bz->load + bz->need > b->ram)
		return vmm__err(VMM_ERANGE, "vmm_load_linux: the kernel needs [0x%llx, 0x%llx) "
				"(init_size %llu MiB) but guest RAM is %s",
				(vmm__ull)bz->load, (vmm__ull)(bz->load + bz->need),
				(vmm__ull)(bz->need >> 20), ram);
	if (bz->version >= 0x0206 && b->cmdline_len > get32(d, HDR_CMDLINE_SIZE))
		return vmm__err(VMM_EINVAL, "vmm_load_linux: the command line is %zu bytes; "
				"this kernel takes at most %u", b->cmdline_len,
				get32(d, HDR_CMDLINE_SIZE));
	bz->entry = bz->load + ENTRY_64;
	return 0;
}

static void fill_params(uint8_t *bp, const vmm__lx_boot *b, const bz_image *bz)
{
	const uint8_t *d = b->kernel;
	size_t end = HDR_JUMP + 2 + d[HDR_JUMP + 1];

	memset(bp, 0, VMM__BOOT_PAGE);
	if (end > HDR_MAX_END)
		end = HDR_MAX_END;
	memcpy(bp + HDR, d + HDR, end - HDR);
	bp[HDR_LOADER] = 0xff;                     /* no registered loader ID */
	put32(bp, HDR_CMDLINE, (uint32_t)VMM__LX_CMDLINE);
	put32(bp, BP_EXT_CMDLINE, (uint32_t)(VMM__LX_CMDLINE >> 32));
	put32(bp, HDR_RAMDISK, (uint32_t)b->initrd_addr);
	put32(bp, HDR_RAMDISK_SIZE, (uint32_t)b->initrd_len);
	put32(bp, BP_EXT_RAMDISK, (uint32_t)(b->initrd_addr >> 32));
	put32(bp, BP_EXT_RAMDISK_SIZE, (uint32_t)((uint64_t)b->initrd_len >> 32));
	if (b->rsdp && bz->version >= PROTO_RSDP)
		put64(bp, BP_ACPI_RSDP, b->rsdp);
	bp[BP_E820_ENTRIES] = (uint8_t)b->nmap;
	for (uint32_t i = 0; i < b->nmap; i++) {
		uint8_t *e = bp + BP_E820 + i * E820_ENTRY;

		put64(e, 0, b->map[i].addr);
		put64(e, 8, b->map[i].size);
		put32(e, 16, b->map[i].type);
	}
}

int vmm__lx_load_bzimage(vmm_vm *vm, vmm__lx_boot *b)
{
	uint8_t params[VMM__BOOT_PAGE];
	bz_image bz = { 0 };
	uint64_t max;
	int rc = check_header(b, &bz);

	if (rc == 0)
		rc = check_fit(b, &bz);
	if (rc)
		return rc;
	max = (uint64_t)get32(b->kernel, HDR_INITRD_MAX) + 1;
	rc = vmm__lx_place_initrd(b, bz.load + bz.need, max);
	if (rc)
		return rc;
	fill_params(params, b, &bz);
	rc = vmm__lx_write_common(vm, b, true);
	if (rc == 0)
		rc = vmm__ldr_write(vm, bz.load, b->kernel + bz.setup_len,
				    b->kernel_len - bz.setup_len);
	if (rc == 0)
		rc = vmm__ldr_write(vm, VMM__LX_PARAMS, params, sizeof(params));
	if (rc == 0)
		rc = vmm__lx_start(vm, bz.entry, true, VMM__LX_PARAMS);
	return rc;
}
