/* test_linux.c - vmm_load_linux (lib/loaders/linux*.c): bzImage boot_params,
 * e820, initrd placement and entry state; PVH start info and entry state;
 * every refusal before guest memory is touched. Images are built here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "loader_fixture.h"
#include "lib/loaders/linux.h"

#define MIB (1024ull * 1024ull)
#define SETUP_SECTS 4
#define BZ_LEN (((SETUP_SECTS + 1) * 512) + 4096)

static uint8_t bz[BZ_LEN];

static void p16(uint8_t *d, size_t o, uint16_t v) { memcpy(d + o, &v, 2); }
static void p32(uint8_t *d, size_t o, uint32_t v) { memcpy(d + o, &v, 4); }
static void p64(uint8_t *d, size_t o, uint64_t v) { memcpy(d + o, &v, 8); }
static uint8_t peek8(vmm_vm *vm, uint64_t gpa) { uint8_t v = 0xee; vmm_mem_read(vm, gpa, &v, 1); return v; }

/* A relocatable protocol-2.15 bzImage whose 64-bit code is a pattern. */
static void make_bz(uint32_t init_size)
{
	memset(bz, 0, sizeof(bz));
	bz[0x1f1] = SETUP_SECTS;
	p16(bz, 0x1fe, 0xaa55);
	bz[0x200] = 0xeb;
	bz[0x201] = 0x6a;                      /* header ends at 0x26c */
	memcpy(bz + 0x202, "HdrS", 4);
	p16(bz, 0x206, 0x020f);
	bz[0x211] = 0x01;                      /* LOADED_HIGH */
	p32(bz, 0x22c, 0x7fffffff);
	p32(bz, 0x230, 0x200000);
	bz[0x234] = 1;                         /* relocatable */
	p16(bz, 0x236, 0x7f);                  /* XLF_KERNEL_64 and friends */
	p32(bz, 0x238, 2047);
	p64(bz, 0x258, 0x1000000);
	p32(bz, 0x260, init_size);
	for (size_t i = (SETUP_SECTS + 1) * 512; i < BZ_LEN; i++)
		bz[i] = (uint8_t)(i * 7);
}

static int load_bz(vmm_vm *vm, const char *cmdline, const void *initrd, size_t ilen)
{
	vmm_linux_options o = VMM_LINUX_OPTIONS_INIT;

	o.kernel_data = bz;
	o.kernel_size = sizeof(bz);
	o.cmdline = cmdline;
	o.initrd_data = initrd;
	o.initrd_size = ilen;
	o.acpi_rsdp = 0xe0000;
	return vmm_load_linux(vm, &o);
}

static void test_bzimage_params(void **state)
{
	static uint8_t initrd[10000];
	vmm_vm *vm = fake_vm(128 * MIB, 2);
	fake_vcpu *v0, *v1;
	const uint64_t bp = VMM__LX_PARAMS;
	uint64_t rd;

	memset(initrd, 0x5a, sizeof(initrd));
	make_bz(8 * MIB);
	assert_int_equal(load_bz(vm, "console=ttyS0", initrd, sizeof(initrd)), 0);
	/* The setup header is copied, loader fields filled. */
	assert_int_equal(peek32(vm, bp + 0x202), 0x53726448);   /* "HdrS" */
	assert_int_equal(peek8(vm, bp + 0x210), 0xff);
	assert_int_equal(peek32(vm, bp + 0x228), VMM__LX_CMDLINE);
	assert_int_equal(peek64(vm, VMM__LX_CMDLINE), 0x3d656c6f736e6f63ull); /* "console=" */
	assert_int_equal(peek64(vm, bp + 0x070), 0xe0000);
	/* The initrd: page aligned, at the top of RAM, copied. */
	rd = peek32(vm, bp + 0x218);
	assert_int_equal(peek32(vm, bp + 0x21c), sizeof(initrd));
	assert_int_equal(rd, 128 * MIB - 3 * 4096);
	assert_int_equal(peek8(vm, rd + sizeof(initrd) - 1), 0x5a);
	/* e820: low RAM, EBDA, BIOS area, RAM from 1 MiB to the end. */
	assert_int_equal(peek8(vm, bp + 0x1e8), 4);
	assert_int_equal(peek64(vm, bp + 0x2d0 + 0), 0);
	assert_int_equal(peek64(vm, bp + 0x2d0 + 8), 0x9fc00);
	assert_int_equal(peek32(vm, bp + 0x2d0 + 16), 1);
	assert_int_equal(peek32(vm, bp + 0x2d0 + 20 + 16), 2);
	assert_int_equal(peek64(vm, bp + 0x2d0 + 60), 0x100000);
	assert_int_equal(peek64(vm, bp + 0x2d0 + 68), 127 * MIB);
	/* The 64-bit code at 1 MiB, entry at +0x200. */
	assert_int_equal(peek8(vm, 0x100000 + 5), (uint8_t)(((SETUP_SECTS + 1) * 512 + 5) * 7));
	v0 = fake_of(vm, 0);
	v1 = fake_of(vm, 1);
	assert_int_equal(v0->regs.rip, 0x100200);
	assert_int_equal(v0->regs.rsi, bp);
	assert_int_equal(v0->regs.rflags, 2);
	assert_int_equal(v0->sregs.cs.selector, 0x10);
	assert_int_equal(v0->sregs.cs.l, 1);
	assert_int_equal(v0->sregs.ds.selector, 0x18);
	assert_int_equal(v0->sregs.ss.selector, 0x18);
	assert_true(v0->sregs.efer & VMM__EFER_LMA);
	assert_int_equal(v0->sregs.cr3, VMM__LX_PML4);
	/* Identity map: the PD entry for 1 GiB + 2 MiB maps that address. */
	assert_int_equal(peek64(vm, VMM__LX_PD + 4096 + 8), (1ull << 30 | 2 * MIB) | 0x83);
	assert_true(vmm_vcpu_get(vm, 0)->runnable);
	assert_false(vmm_vcpu_get(vm, 1)->runnable);
	assert_int_equal(v1->set_regs_calls, 0);
	vmm_vm_destroy(vm);
}

static void test_bzimage_refusals(void **state)
{
	static uint8_t big_initrd[4 * 1024 * 1024];
	char longline[3000];
	vmm_vm *vm = fake_vm(32 * MIB, 1);
	vmm_linux_options o = VMM_LINUX_OPTIONS_INIT;

	make_bz(8 * MIB);
	bz[0x1fe] = 0;
	EXPECT_FAIL(load_bz(vm, NULL, NULL, 0), VMM_EBADIMAGE, "boot flag");
	make_bz(8 * MIB);
	p16(bz, 0x206, 0x020a);
	EXPECT_FAIL(load_bz(vm, NULL, NULL, 0), VMM_EBADIMAGE, "older than 2.12");
	make_bz(8 * MIB);
	p16(bz, 0x236, 0);
	EXPECT_FAIL(load_bz(vm, NULL, NULL, 0), VMM_EBADIMAGE, "no 64-bit entry");
	make_bz(8 * MIB);
	bz[0x211] = 0;
	EXPECT_FAIL(load_bz(vm, NULL, NULL, 0), VMM_EBADIMAGE, "zImage");
	make_bz(8 * MIB);
	bz[0x1f1] = 200;
	EXPECT_FAIL(load_bz(vm, NULL, NULL, 0), VMM_EBADIMAGE, "covers the whole");
	make_bz(64 * MIB);
	EXPECT_FAIL(load_bz(vm, NULL, NULL, 0), VMM_ERANGE, "init_size 64 MiB");
	make_bz(8 * MIB);
	memset(longline, 'x', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = 0;
	EXPECT_FAIL(load_bz(vm, longline, NULL, 0), VMM_EINVAL, "at most 2047");
	p32(bz, 0x22c, 0x1000000 - 1);          /* initrd_addr_max 16 MiB */
	EXPECT_FAIL(load_bz(vm, NULL, big_initrd, 8 * MIB), VMM_ERANGE, "does not fit");
	/* Nothing was written by any refusal. */
	assert_int_equal(peek32(vm, VMM__LX_PARAMS + 0x202), 0);
	assert_null(vmm_vcpu_get(vm, 0));
	/* Neither bzImage nor ELF; options checks. */
	memset(bz, 0, sizeof(bz));
	EXPECT_FAIL(load_bz(vm, NULL, NULL, 0), VMM_EBADIMAGE, "neither a bzImage");
	EXPECT_FAIL(vmm_load_linux(vm, &o), VMM_EINVAL, "no kernel");
	o.size = 8;
	EXPECT_FAIL(vmm_load_linux(vm, &o), VMM_EINVAL, "too small");
	EXPECT_FAIL(vmm_load_linux(NULL, &o), VMM_EINVAL, "NULL");
	o = (vmm_linux_options)VMM_LINUX_OPTIONS_INIT;
	o.kernel = "/nonexistent/vmlinuz";
	EXPECT_FAIL(vmm_load_linux(vm, &o), VMM_ENOENT, "/nonexistent/vmlinuz");
	vmm_vm_destroy(vm);
	vm = fake_vm(8 * MIB, 1);
	make_bz(1 * MIB);
	EXPECT_FAIL(load_bz(vm, NULL, NULL, 0), VMM_ERANGE, "at least 16 MiB");
	vmm_vm_destroy(vm);
}

/* A vmlinux with a PVH note: 32-bit entry, start info in EBX. */
static void pvh_image(test_img *t, int with_note)
{
	uint8_t note[20];

	elf64_init(t, 0xffffffff81000000ull);
	img_seg(t, PT_LOAD, PF_R | PF_X, 0x1000000, 0xffffffff81000000ull, NULL, 0x800, 0x3000);
	memset(note, 0, sizeof(note));
	p32(note, 0, 4);            /* namesz */
	p32(note, 4, 4);            /* descsz */
	p32(note, 8, with_note ? 18 : 17);
	memcpy(note + 12, "Xen", 4);
	p32(note, 16, 0x1000040);   /* entry */
	img_seg(t, PT_NOTE, PF_R, 0, 0, note, sizeof(note), sizeof(note));
}

static void test_pvh(void **state)
{
	static test_img t;
	static const uint8_t initrd[5000] = { 1, 2, 3 };
	vmm_vm *vm = fake_vm(64 * MIB, 1);
	vmm_linux_options o = VMM_LINUX_OPTIONS_INIT;
	fake_vcpu *v0;
	const uint64_t si = VMM__LX_PARAMS;

	pvh_image(&t, 1);
	o.kernel_data = t.data;
	o.kernel_size = t.len;
	o.initrd_data = initrd;
	o.initrd_size = sizeof(initrd);
	o.cmdline = "quiet";
	assert_int_equal(vmm_load_linux(vm, &o), 0);
	v0 = fake_of(vm, 0);
	assert_int_equal(v0->regs.rip, 0x1000040);
	assert_int_equal(v0->regs.rbx, si);
	assert_int_equal(v0->sregs.cs.l, 0);
	assert_int_equal(v0->sregs.cs.db, 1);
	assert_int_equal(v0->sregs.cr0 & (VMM__CR0_PE | VMM__CR0_PG), VMM__CR0_PE);
	assert_int_equal(v0->sregs.efer, 0);
	assert_int_equal(v0->sregs.tr.base, 0);
	assert_int_equal(v0->sregs.tr.limit, 0x67);
	assert_int_equal(peek32(vm, si), 0x336ec578);
	assert_int_equal(peek32(vm, si + 4), 1);
	assert_int_equal(peek32(vm, si + 12), 1);                 /* one module */
	assert_int_equal(peek64(vm, si + 24), VMM__LX_CMDLINE);
	assert_int_equal(peek32(vm, si + 48), 4);                 /* memmap entries */
	assert_int_equal(peek64(vm, peek64(vm, si + 40) + 3 * 24 + 8), 63 * MIB);
	assert_int_equal(peek64(vm, peek64(vm, si + 16) + 8), sizeof(initrd));
	assert_int_equal(peek8(vm, peek64(vm, peek64(vm, si + 16)) + 2), 3);
	assert_int_equal(peek8(vm, 0x1000000 + 3), 0x11 + 3);    /* the segment */
	vmm_vm_destroy(vm);
	/* Without the note: refused, naming CONFIG_PVH. */
	vm = fake_vm(64 * MIB, 1);
	pvh_image(&t, 0);
	o.kernel_data = t.data;
	o.kernel_size = t.len;
	EXPECT_FAIL(vmm_load_linux(vm, &o), VMM_EBADIMAGE, "CONFIG_PVH");
	/* A note whose size runs past its segment is not followed. */
	pvh_image(&t, 1);
	p32(t.data + ph64(&t, 1)->p_offset, 4, 0x7fffffff);
	EXPECT_FAIL(vmm_load_linux(vm, &o), VMM_EBADIMAGE, "no PVH entry");
	vmm_vm_destroy(vm);
}

/* RAM over the interrupt controllers' window: it is reserved in e820. */
static void test_e820_hole(void **state)
{
	vmm__lx_e820 expect[6] = {
		{ 0, 0x9fc00, 1 }, { 0x9fc00, 0x400, 2 }, { 0xe0000, 0x20000, 2 },
		{ 0x100000, 0xfec00000 - 0x100000, 1 },
		{ 0xfec00000, 0x1400000, 2 }, { 1ull << 32, 1ull << 30, 1 },
	};
	vmm__lx_boot b = { .ram = 5ull << 30 };

	vmm__lx_build_map(&b);
	assert_int_equal(b.nmap, 6);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(b.map[i].addr, expect[i].addr);
		assert_int_equal(b.map[i].size, expect[i].size);
		assert_int_equal(b.map[i].type, expect[i].type);
	}
}

/* The PC platform's split RAM: [3 GiB, 4 GiB) holds ECAM and the APICs. */
static void test_e820_split(void **state)
{
	vmm__lx_e820 expect[7] = {
		{ 0, 0x9fc00, 1 }, { 0x9fc00, 0x400, 2 }, { 0xe0000, 0x20000, 2 },
		{ 0x100000, 0xc0000000 - 0x100000, 1 }, { 0xe0000000, 0x100000, 2 },
		{ 0xfec00000, 0x1400000, 2 }, { 1ull << 32, 2ull << 30, 1 },
	};
	vmm__lx_boot b = { .ram = 5ull << 30, .split = true };

	vmm__lx_build_map(&b);
	assert_int_equal(b.nmap, 7);
	assert_int_equal(b.low_end, 0xc0000000);
	for (int i = 0; i < 7; i++) {
		assert_int_equal(b.map[i].addr, expect[i].addr);
		assert_int_equal(b.map[i].size, expect[i].size);
		assert_int_equal(b.map[i].type, expect[i].type);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bzimage_params),
		cmocka_unit_test(test_bzimage_refusals),
		cmocka_unit_test(test_pvh),
		cmocka_unit_test(test_e820_hole),
		cmocka_unit_test(test_e820_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
