/* test_multiboot.c - the Multiboot v1 loader (lib/loaders/multiboot.c,
 * mbinfo.c): machine state, the information structure, memory map, boot
 * page placement, the a.out kludge, and bad headers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "loader_fixture.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define KERNEL 0x100000u

/* 32 bytes: a Multiboot header (12 bytes, or 32 with address fields) and
 * code. */
static void mb_header(uint8_t *p, uint32_t flags, const uint32_t *addr)
{
	uint32_t h[8] = { 0x1badb002, flags, (uint32_t)-(0x1badb002u + flags) };

	if (addr)
		memcpy(&h[3], addr, 5 * sizeof(uint32_t));
	memcpy(p, h, sizeof(h));
}

static void mb_elf(test_img *t, uint32_t flags, uint32_t at, uint32_t entry)
{
	uint8_t seg[64] = { 0 };

	mb_header(seg, flags, NULL);
	seg[32] = 0xf4;
	elf32_init(t, entry);
	img_seg(t, PT_LOAD, PF_R | PF_X, at, at, seg, sizeof(seg), 0x1000);
	img_seg(t, PT_LOAD, PF_R | PF_W, at + 0x1000, at + 0x1000, NULL, 8, 0x2000);
}

static void check_flat32(const vmm_segment *s, uint16_t sel, uint8_t type)
{
	assert_int_equal(s->base, 0);
	assert_int_equal(s->limit, 0xffffffffu);
	assert_int_equal(s->selector, sel);
	assert_int_equal(s->type, type);
	assert_int_equal(s->present, 1);
	assert_int_equal(s->dpl, 0);
	assert_int_equal(s->db, 1);
	assert_int_equal(s->s, 1);
	assert_int_equal(s->l, 0);
	assert_int_equal(s->g, 1);
	assert_int_equal(s->unusable, 0);
}

static void test_machine_state(void **state)
{
	static test_img t;
	vmm_vm *vm;
	vmm_regs want = { .rax = 0x2badb002, .rbx = 0x1100, .rip = KERNEL + 32,
			  .rflags = 2 };
	fake_vcpu *f;

	mb_elf(&t, 0x3, KERNEL, KERNEL + 32);
	assert_int_equal(load(&t, 64 * MIB, 3, NULL, &vm), 0);
	f = fake_of(vm, 0);
	assert_memory_equal(&f->regs, &want, sizeof(want));
	check_flat32(&f->sregs.cs, 0x08, 0xb);
	check_flat32(&f->sregs.ds, 0x10, 0x3);
	check_flat32(&f->sregs.es, 0x10, 0x3);
	check_flat32(&f->sregs.fs, 0x10, 0x3);
	check_flat32(&f->sregs.gs, 0x10, 0x3);
	check_flat32(&f->sregs.ss, 0x10, 0x3);
	assert_int_equal(f->sregs.tr.base, 0x1040);
	assert_int_equal(f->sregs.tr.limit, 0x67);
	assert_int_equal(f->sregs.tr.selector, 0x18);
	assert_int_equal(f->sregs.tr.type, 0xb);
	assert_int_equal(f->sregs.ldt.unusable, 1);
	assert_int_equal(f->sregs.gdt.base, 0x1000);
	assert_int_equal(f->sregs.gdt.limit, 0x1f);
	assert_int_equal(f->sregs.idt.limit, 0);
	assert_int_equal(f->sregs.cr0, 0x11);
	assert_int_equal(f->sregs.cr3, 0);
	assert_int_equal(f->sregs.cr4, 0);
	assert_int_equal(f->sregs.efer, 0);
	assert_int_equal(f->sregs.apic_base, 0xfee00900);
	assert_true(vmm_vcpu_get(vm, 0)->runnable);
	for (uint32_t i = 1; i < 3; i++) {    /* APs: created, stopped, untouched */
		assert_false(vmm_vcpu_get(vm, i)->runnable);
		assert_int_equal(fake_of(vm, i)->set_regs_calls, 0);
		assert_int_equal(fake_of(vm, i)->regs.rip, 0xfff0);
	}
	vmm_vm_destroy(vm);
}

static void test_info_structure(void **state)
{
	static test_img t;
	static const uint64_t map[4][3] = {
		{ 0, 0x9fc00, 1 }, { 0x9fc00, 0x400, 2 }, { 0xf0000, 0x10000, 2 },
		{ 0x100000, 63 * MIB, 1 },
	};
	char buf[32] = "";
	vmm_vm *vm;

	mb_elf(&t, 0x3, KERNEL, KERNEL + 32);
	assert_int_equal(load(&t, 64 * MIB, 1, "root=/dev/vda quiet", &vm), 0);
	assert_int_equal(peek32(vm, 0x1100), 0x245);          /* mem, cmdline, mmap, name */
	assert_int_equal(peek32(vm, 0x1104), 639);            /* mem_lower, KiB */
	assert_int_equal(peek32(vm, 0x1108), 63 * 1024);      /* mem_upper, KiB */
	assert_int_equal(peek32(vm, 0x1110), 0x1800);         /* cmdline */
	assert_int_equal(vmm_mem_read(vm, 0x1800, buf, 20), 0);
	assert_string_equal(buf, "root=/dev/vda quiet");
	assert_int_equal(peek32(vm, 0x1100 + 44), 4 * 24);    /* mmap_length */
	assert_int_equal(peek32(vm, 0x1100 + 48), 0x1180);    /* mmap_addr */
	for (int i = 0; i < 4; i++) {
		uint64_t e = 0x1180 + 24 * i;

		assert_int_equal(peek32(vm, e), 20);
		assert_int_equal(peek64(vm, e + 4), map[i][0]);
		assert_int_equal(peek64(vm, e + 12), map[i][1]);
		assert_int_equal(peek32(vm, e + 20), map[i][2]);
	}
	assert_int_equal(peek32(vm, 0x1100 + 64), 0x11f0);    /* boot_loader_name */
	assert_int_equal(vmm_mem_read(vm, 0x11f0, buf, 7), 0);
	assert_string_equal(buf, "libvmm");
	assert_int_equal(peek64(vm, 0x1000), 0);
	assert_int_equal(peek64(vm, 0x1008), 0x00cf9b000000ffffull);
	assert_int_equal(peek64(vm, 0x1010), 0x00cf93000000ffffull);
	assert_int_equal(peek64(vm, 0x1018), 0x00008b0010400067ull);
	assert_int_equal(peek32(vm, 0x1040 + 0x64) >> 16, 0x68);    /* TSS iomap */
	assert_int_equal(peek32(vm, KERNEL), 0x1badb002);             /* kernel loaded */
	assert_int_equal(peek64(vm, KERNEL + 0x1000 + 8), 0);         /* bss */
	vmm_vm_destroy(vm);
}

static void test_info_without_cmdline_small_ram(void **state)
{
	static test_img t;
	vmm_vm *vm;

	mb_elf(&t, 0x3, 0x10000, 0x10020);                  /* kernel at 64 KiB */
	assert_int_equal(load(&t, 512 * 1024, 1, NULL, &vm), 0);
	assert_int_equal(peek32(vm, 0x1100), 0x241);
	assert_int_equal(peek32(vm, 0x1104), 512);
	assert_int_equal(peek32(vm, 0x1108), 0);
	assert_int_equal(peek32(vm, 0x1110), 0);
	assert_int_equal(peek32(vm, 0x1100 + 44), 3 * 24);  /* no entry above 1 MiB */
	assert_int_equal(peek64(vm, 0x1180 + 12), 512 * 1024);
	vmm_vm_destroy(vm);
}

static void test_boot_page_placement(void **state)
{
	static test_img t;
	vmm_vm *vm;

	mb_elf(&t, 0x3, 0x1000, 0x1020);                    /* [0x1000, 0x4000) */
	assert_int_equal(load(&t, 64 * MIB, 1, NULL, &vm), 0);
	assert_int_equal(fake_of(vm, 0)->regs.rbx, 0x4100);
	assert_int_equal(fake_of(vm, 0)->sregs.gdt.base, 0x4000);
	vmm_vm_destroy(vm);
	/* Conventional memory full: the page goes above the kernel at 1 MiB. */
	elf32_init(&t, 0x1020);
	{
		uint8_t seg[64] = { 0 };

		mb_header(seg, 0x3, NULL);
		img_seg(&t, PT_LOAD, PF_R | PF_X, 0x1000, 0x1000, seg, 64, 0x9e000);
		img_seg(&t, PT_LOAD, PF_R | PF_W, KERNEL, KERNEL, NULL, 8, 0x1800);
	}
	assert_int_equal(load(&t, 64 * MIB, 1, NULL, &vm), 0);
	assert_int_equal(fake_of(vm, 0)->regs.rbx, KERNEL + 0x2000 + 0x100);
	vmm_vm_destroy(vm);
	EXPECT_FAIL(load(&t, MIB + 0x2000, 1, NULL, NULL), VMM_ERANGE,
		    "no free 4 KiB page");
}

static void test_aout_kludge(void **state)
{
	static test_img t;
	const uint32_t addr[5] = { KERNEL + 0x10, KERNEL, 0, KERNEL + 0x3000, KERNEL + 0x30 };
	vmm_vm *vm;

	memset(&t, 0, sizeof(t));
	memcpy(t.data, "not an ELF file.", 16);
	mb_header(t.data + 0x10, 0x10003, addr);
	t.data[0x30] = 0xf4;
	t.len = 0x40;
	assert_int_equal(load(&t, 64 * MIB, 1, NULL, &vm), 0);
	assert_int_equal(fake_of(vm, 0)->regs.rip, KERNEL + 0x30);
	assert_int_equal(peek64(vm, KERNEL), 0x45206e6120746f6eull);  /* "not an E" */
	assert_int_equal(peek32(vm, KERNEL + 0x10), 0x1badb002);
	assert_int_equal(peek32(vm, KERNEL + 0x30), 0xf4);
	assert_int_equal(peek64(vm, KERNEL + 0x2ff8), 0);
	vmm_vm_destroy(vm);
}

static void test_aout_errors(void **state)
{
	static test_img t;
	uint32_t addr[5] = { KERNEL, KERNEL + 4, 0, 0, KERNEL };

	memset(&t, 0, sizeof(t));
	t.len = 0x40;
	mb_header(t.data, 0x10000, addr);                 /* load_addr > header_addr */
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_EBADIMAGE,
		    "put the load start outside the file");
	addr[1] = KERNEL - 4;                            /* before the file start */
	mb_header(t.data, 0x10000, addr);
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_EBADIMAGE, "outside the file");
	addr[1] = KERNEL;
	addr[2] = KERNEL - 1;
	mb_header(t.data, 0x10000, addr);
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_EBADIMAGE,
		    "load_end_addr 0xfffff is below load_addr");
	addr[2] = KERNEL + 0x1000;                       /* past the end of the file */
	mb_header(t.data, 0x10000, addr);
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_EBADIMAGE,
		    "truncated Multiboot: segment 0 data [0x0, +0x1000)");
	addr[2] = KERNEL + 0x20;
	addr[3] = KERNEL + 0x10;
	mb_header(t.data, 0x10000, addr);
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_EBADIMAGE,
		    "bss_end_addr 0x100010 is below");
	addr[3] = 0;
	addr[4] = KERNEL + 0x40;                         /* entry past the data */
	mb_header(t.data, 0x10000, addr);
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_EBADIMAGE,
		    "entry point 0x100040 is not inside any loaded segment");
	t.len = 0x1c;                                    /* address fields cut off */
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_EBADIMAGE,
		    "truncated Multiboot header");
	t.len = 0x40;
	mb_header(t.data, 0x3, NULL);                    /* raw image, no bit 16 */
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_EBADIMAGE,
		    "not an ELF file, and its Multiboot header has no load addresses");
}

static void test_header_errors(void **state)
{
	static test_img t;

	mb_elf(&t, 0x3, KERNEL, KERNEL + 32);
	t.data[IMG_DATA + 8] ^= 1;                        /* checksum */
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_EBADIMAGE,
		    "Multiboot header at file offset 0x1000 has a bad checksum");
	mb_elf(&t, 0x7, KERNEL, KERNEL + 32);
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_EBADIMAGE,
		    "requires video mode information (flag bit 2)");
	mb_elf(&t, 0x23, KERNEL, KERNEL + 32);
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_EBADIMAGE,
		    "requires unknown features (flag bits 0x20");
	mb_elf(&t, 0x80000003, KERNEL, KERNEL + 32);     /* optional bits: ignored */
	assert_int_equal(load(&t, 64 * MIB, 1, NULL, NULL), 0);
	mb_elf(&t, 0x3, KERNEL, KERNEL + 32);
	eh32(&t)->e_machine = EM_X86_64;
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_EBADIMAGE,
		    "ELF32 machine 62 is not i386");
	mb_elf(&t, 0x3, KERNEL, KERNEL + 32);
	memset(t.data + IMG_DATA, 0, 12);                 /* no header at all */
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_EBADIMAGE,
		    "32-bit ELF image without a Multiboot v1 header");
}

static void test_header_beyond_8k(void **state)
{
	static test_img t;
	uint8_t seg[64] = { 0 };

	mb_header(seg, 0x3, NULL);
	elf32_init(&t, KERNEL);
	t.next = 8192 - 8;                                /* header crosses 8192 */
	img_seg(&t, PT_LOAD, PF_R | PF_X, KERNEL, KERNEL, seg, sizeof(seg), 0x1000);
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_EBADIMAGE,
		    "without a Multiboot v1 header");
	elf32_init(&t, KERNEL);
	t.next = 8192 - 12;                               /* ends exactly at 8192 */
	img_seg(&t, PT_LOAD, PF_R | PF_X, KERNEL, KERNEL, seg, sizeof(seg), 0x1000);
	assert_int_equal(load(&t, 64 * MIB, 1, NULL, NULL), 0);
}

static void test_segments(void **state)
{
	static test_img t;

	mb_elf(&t, 0x3, 0x3fff000, 0x3fff020);
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_ERANGE,
		    "Multiboot segment 1 [0x4000000, 0x4002000) lies outside guest RAM "
		    "(64 MiB)");
	mb_elf(&t, 0x3, KERNEL, KERNEL + 32);
	ph32(&t, 1)->p_paddr = KERNEL + 0x800;
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_EBADIMAGE, "overlap");
	mb_elf(&t, 0x3, KERNEL, KERNEL + 32);
	ph32(&t, 0)->p_flags = PF_R;
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_EBADIMAGE, "not executable");
	mb_elf(&t, 0x3, KERNEL, 0x8000000);
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_ERANGE,
		    "entry point 0x8000000 is outside guest RAM");
	/* Multiboot uses p_paddr only: 0 means 0, not p_vaddr. */
	mb_elf(&t, 0x3, KERNEL, KERNEL + 32);
	ph32(&t, 1)->p_paddr = 0;
	assert_int_equal(load(&t, 64 * MIB, 1, NULL, NULL), 0);
}

static void test_4g_limit(void **state)
{
	static test_img t;
	vmm_vm *vm = fake_vm(5 * GIB, 1);

	if (!vm)
		skip();   /* the host has less than 5 GiB of RAM */
	vmm_vm_destroy(vm);
	mb_elf(&t, 0x3, KERNEL, KERNEL + 32);
	ph32(&t, 1)->p_paddr = 0xfffff000u;
	EXPECT_FAIL(load(&t, 5 * GIB, 1, NULL, NULL), VMM_ERANGE,
		    "Multiboot segment 1 [0xfffff000, 0x100001000) ends past 0x100000000");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_machine_state),
		cmocka_unit_test(test_info_structure),
		cmocka_unit_test(test_info_without_cmdline_small_ram),
		cmocka_unit_test(test_boot_page_placement),
		cmocka_unit_test(test_aout_kludge),
		cmocka_unit_test(test_aout_errors),
		cmocka_unit_test(test_header_errors),
		cmocka_unit_test(test_header_beyond_8k),
		cmocka_unit_test(test_segments),
		cmocka_unit_test(test_4g_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
