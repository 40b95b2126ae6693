/* test_elf.c - the ELF64 loader (lib/loaders/elf64.c, segments.c, load.c):
 * the good path with exact boot state, and every kind of bad image. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <cmocka.h>

#include "loader_fixture.h"

#define MIB (1ull << 20)
#define TEXT 0x100000ull
#define DATA 0x200000ull

static const uint8_t code[] = { 0xf4, 0xeb, 0xfd };   /* hlt; jmp $-1 */

/* A valid image: text (RX) at 1 MiB, data (RW) with bss at 2 MiB. */
static void good_image(test_img *t)
{
	elf64_init(t, TEXT);
	img_seg(t, PT_LOAD, PF_R | PF_X, TEXT, TEXT, code, sizeof(code), 0x1000);
	img_seg(t, PT_LOAD, PF_R | PF_W, DATA, DATA, NULL, 8, 0x2000);
}

static void test_good_memory(void **state)
{
	static test_img t;
	vmm_vm *vm = fake_vm(64 * MIB, 1);
	uint8_t buf[16], dirty[0x2000];

	good_image(&t);
	memset(dirty, 0xaa, sizeof(dirty));
	assert_int_equal(vmm_mem_write(vm, DATA, dirty, sizeof(dirty)), 0);
	assert_int_equal(vmm_load_elf_buffer(vm, t.data, t.len, NULL), 0);
	assert_int_equal(vmm_mem_read(vm, TEXT, buf, sizeof(code)), 0);
	assert_memory_equal(buf, code, sizeof(code));
	assert_int_equal(vmm_mem_read(vm, TEXT + 3, buf, 8), 0);   /* zeroed to memsz */
	assert_int_equal(peek64(vm, TEXT + 3), 0);
	assert_int_equal(peek64(vm, DATA), 0x1817161514131211ull);  /* the pattern */
	assert_int_equal(vmm_mem_read(vm, DATA + 8, dirty, sizeof(dirty) - 8), 0);
	for (size_t i = 0; i < sizeof(dirty) - 8; i++)
		assert_int_equal(dirty[i], 0);                      /* bss cleared */
	assert_int_equal(peek32(vm, 0) & 0xffff, 0x0b0f);           /* UD2 trap */
	vmm_vm_destroy(vm);
}

static void check_segment(const vmm_segment *s, uint16_t sel, uint8_t type, uint8_t l,
			  uint8_t db)
{
	assert_int_equal(s->base, 0);
	assert_int_equal(s->limit, 0xffffffffu);
	assert_int_equal(s->selector, sel);
	assert_int_equal(s->type, type);
	assert_int_equal(s->present, 1);
	assert_int_equal(s->dpl, 0);
	assert_int_equal(s->db, db);
	assert_int_equal(s->s, 1);
	assert_int_equal(s->l, l);
	assert_int_equal(s->g, 1);
	assert_int_equal(s->unusable, 0);
}

static void check_sregs(const vmm_sregs *s)
{
	check_segment(&s->cs, 0x08, 0xb, 1, 0);
	check_segment(&s->ds, 0x10, 0x3, 0, 1);
	check_segment(&s->es, 0x10, 0x3, 0, 1);
	check_segment(&s->fs, 0x10, 0x3, 0, 1);
	check_segment(&s->gs, 0x10, 0x3, 0, 1);
	check_segment(&s->ss, 0x10, 0x3, 0, 1);
	assert_int_equal(s->tr.base, 0x1080);
	assert_int_equal(s->tr.limit, 0x67);
	assert_int_equal(s->tr.selector, 0x20);
	assert_int_equal(s->tr.type, 0xb);
	assert_int_equal(s->tr.present, 1);
	assert_int_equal(s->tr.s, 0);
	assert_int_equal(s->ldt.unusable, 1);
	assert_int_equal(s->gdt.base, 0x1000);
	assert_int_equal(s->gdt.limit, 0x2f);
	assert_int_equal(s->idt.base, 0);
	assert_int_equal(s->idt.limit, 0);
	assert_int_equal(s->cr0, 0x80010033);
	assert_int_equal(s->cr3, 0x2000);
	assert_int_equal(s->cr4, 0x620);
	assert_int_equal(s->efer, 0xd00);
	assert_int_equal(s->cr2, 0);
	assert_int_equal(s->cr8, 0);
	assert_int_equal(s->apic_base, 0xfee00900);   /* kept from the backend */
}

static void test_good_registers(void **state)
{
	static test_img t;
	vmm_vm *vm;

	good_image(&t);
	assert_int_equal(load(&t, 64 * MIB, 3, NULL, &vm), 0);
	for (uint32_t i = 0; i < 3; i++) {
		fake_vcpu *f = fake_of(vm, i);
		vmm_regs want = { .rip = TEXT, .rsp = 64 * MIB - i * 0x10000 - 8,
				  .rdi = i, .rsi = 3, .rflags = 2 };

		assert_non_null(f);
		assert_int_equal(f->set_regs_calls, 1);
		assert_int_equal(f->set_sregs_calls, 1);
		assert_memory_equal(&f->regs, &want, sizeof(want));
		check_sregs(&f->sregs);
		assert_true(vmm_vcpu_get(vm, i)->runnable);
		assert_int_equal(peek64(vm, want.rsp), 0);        /* null return address */
		assert_int_equal((want.rsp + 8) % 16, 0);         /* SysV entry alignment */
	}
	assert_null(vmm_vcpu_get(vm, 3));
	vmm_vm_destroy(vm);
}

static void test_cmdline(void **state)
{
	static test_img t;
	char buf[32] = "";
	vmm_vm *vm;

	good_image(&t);
	assert_int_equal(load(&t, 64 * MIB, 1, "console=ttyS0 quiet", &vm), 0);
	assert_int_equal(fake_of(vm, 0)->regs.rdx, 0x1800);
	assert_int_equal(vmm_mem_read(vm, 0x1800, buf, 20), 0);
	assert_string_equal(buf, "console=ttyS0 quiet");
	vmm_vm_destroy(vm);
}

static void test_cmdline_too_long(void **state)
{
	static test_img t;
	char *line = malloc(4096);

	good_image(&t);
	memset(line, 'x', 2048);
	line[2048] = '\0';
	EXPECT_FAIL(load(&t, 64 * MIB, 1, line, NULL), VMM_EINVAL, "cmdline");
	line[2047] = '\0';                               /* 2047 + NUL fits */
	assert_int_equal(load(&t, 64 * MIB, 1, line, NULL), 0);
	free(line);
}

static void test_existing_vcpu_kept(void **state)
{
	static test_img t;
	vmm_vm *vm = fake_vm(64 * MIB, 2);
	vmm_vcpu *v0;

	good_image(&t);
	assert_int_equal(vmm_vcpu_create(vm, 0, &v0), 0);
	assert_int_equal(vmm_load_elf_buffer(vm, t.data, t.len, NULL), 0);
	assert_ptr_equal(vmm_vcpu_get(vm, 0), v0);
	assert_int_equal(fake_of(vm, 0)->regs.rip, TEXT);
	assert_int_equal(fake_of(vm, 1)->regs.rdi, 1);
	vmm_vm_destroy(vm);
}

static void test_vaddr_fallback_and_translation(void **state)
{
	static test_img t;
	const uint64_t high = 0xffffffff80000000ull;
	vmm_vm *vm;

	/* p_paddr 0: loaded at p_vaddr. */
	elf64_init(&t, TEXT + 1);
	img_seg(&t, PT_LOAD, PF_R | PF_X, 0, TEXT, code, sizeof(code), sizeof(code));
	assert_int_equal(load(&t, 64 * MIB, 1, NULL, &vm), 0);
	assert_int_equal(peek32(vm, TEXT) & 0xffffff, 0xfdebf4);
	assert_int_equal(fake_of(vm, 0)->regs.rip, TEXT + 1);
	vmm_vm_destroy(vm);
	/* Higher-half link address: the entry is translated to its load address. */
	elf64_init(&t, high + TEXT + 1);
	img_seg(&t, PT_LOAD, PF_R | PF_X, TEXT, high + TEXT, code, sizeof(code), 0x100);
	assert_int_equal(load(&t, 64 * MIB, 1, NULL, &vm), 0);
	assert_int_equal(fake_of(vm, 0)->regs.rip, TEXT + 1);
	vmm_vm_destroy(vm);
}

static void test_ignores_other_headers(void **state)
{
	static test_img t;

	good_image(&t);
	img_seg(&t, PT_NOTE, PF_R, 0, 0, NULL, 16, 16);
	img_seg(&t, PT_LOAD, PF_R, 0x7000000, 0x7000000, NULL, 0, 0);  /* empty */
	img_seg(&t, PT_GNU_STACK, PF_R | PF_W, 0, 0, NULL, 0, 0);
	assert_int_equal(load(&t, 64 * MIB, 1, NULL, NULL), 0);
}

static void test_not_elf(void **state)
{
	static test_img t;
	vmm_vm *vm = fake_vm(64 * MIB, 1);

	EXPECT_FAIL(vmm_load_elf_buffer(vm, "hello world\n", 12, NULL), VMM_EBADIMAGE,
		    "not an ELF file: bad magic 68 65 6c 6c");
	EXPECT_FAIL(vmm_load_elf_buffer(vm, "", 0, NULL), VMM_EBADIMAGE, "empty");
	EXPECT_FAIL(vmm_load_elf_buffer(vm, "\177EL", 3, NULL), VMM_EBADIMAGE,
		    "not an ELF file");
	good_image(&t);
	t.data[0] = 0x7e;
	EXPECT_FAIL(vmm_load_elf_buffer(vm, t.data, t.len, NULL), VMM_EBADIMAGE,
		    "bad magic 7e 45 4c 46");
	vmm_vm_destroy(vm);
}

static void test_truncated(void **state)
{
	static test_img t;
	vmm_vm *vm = fake_vm(64 * MIB, 1);

	good_image(&t);
	EXPECT_FAIL(vmm_load_elf_buffer(vm, t.data, 10, NULL), VMM_EBADIMAGE,
		    "truncated ELF");
	EXPECT_FAIL(vmm_load_elf_buffer(vm, t.data, 40, NULL), VMM_EBADIMAGE,
		    "truncated ELF: the image is 40 bytes, shorter than the ELF64 header");
	EXPECT_FAIL(vmm_load_elf_buffer(vm, t.data, 100, NULL), VMM_EBADIMAGE,
		    "truncated ELF: program headers [0x40, +0x70) extend past the end");
	EXPECT_FAIL(vmm_load_elf_buffer(vm, t.data, IMG_DATA + 2, NULL), VMM_EBADIMAGE,
		    "truncated ELF: segment 0 data [0x1000, +0x3) extends past the end "
		    "of the file (0x1002 bytes)");
	ph64(&t, 1)->p_offset = UINT64_MAX - 2;           /* offset + size wraps */
	EXPECT_FAIL(vmm_load_elf_buffer(vm, t.data, t.len, NULL), VMM_EBADIMAGE,
		    "truncated ELF: segment 1");
	good_image(&t);
	eh64(&t)->e_phoff = UINT64_MAX - 8;
	EXPECT_FAIL(vmm_load_elf_buffer(vm, t.data, t.len, NULL), VMM_EBADIMAGE,
		    "program headers");
	vmm_vm_destroy(vm);
}

static void test_wrong_ident(void **state)
{
	static test_img t;

	good_image(&t);
	t.data[EI_CLASS] = 3;
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_EBADIMAGE, "ELF class 3");
	good_image(&t);
	t.data[EI_DATA] = ELFDATA2MSB;
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_EBADIMAGE, "data encoding 2");
	good_image(&t);
	t.data[EI_VERSION] = 0;
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_EBADIMAGE, "ELF version 0");
	good_image(&t);
	eh64(&t)->e_machine = EM_AARCH64;
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_EBADIMAGE,
		    "ELF64 machine 183 is not x86-64");
	good_image(&t);
	eh64(&t)->e_type = ET_DYN;
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_EBADIMAGE,
		    "ELF type 3 (ET_DYN, a shared object or PIE) is not supported");
	good_image(&t);
	eh64(&t)->e_type = ET_REL;
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_EBADIMAGE, "ET_REL");
}

static void test_bad_counts(void **state)
{
	static test_img t;

	good_image(&t);
	eh64(&t)->e_phnum = 0;
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_EBADIMAGE,
		    "no program headers");
	good_image(&t);
	eh64(&t)->e_phnum = 300;
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_EBADIMAGE,
		    "claims 300 program headers; at most 256");
	good_image(&t);
	eh64(&t)->e_phnum = 0xffff;                        /* PN_XNUM */
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_EBADIMAGE, "65535");
	good_image(&t);
	eh64(&t)->e_phentsize = 32;
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_EBADIMAGE,
		    "program header size is 32 bytes; expected 56");
	elf64_init(&t, TEXT);
	img_seg(&t, PT_NOTE, PF_R, TEXT, TEXT, NULL, 4, 4);
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_EBADIMAGE, "no PT_LOAD");
	elf64_init(&t, TEXT);
	for (int i = 0; i < 65; i++)
		img_seg(&t, PT_LOAD, PF_R | PF_X, TEXT + i * 0x1000ull,
			TEXT + i * 0x1000ull, NULL, 1, 1);
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_EBADIMAGE,
		    "more than 64 non-empty PT_LOAD");
}

static void test_filesz_over_memsz(void **state)
{
	static test_img t;

	good_image(&t);
	ph64(&t, 1)->p_memsz = 4;
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_EBADIMAGE,
		    "ELF segment 1: p_filesz 0x8 is larger than p_memsz 0x4");
}

static void test_outside_ram(void **state)
{
	static test_img t;

	good_image(&t);
	ph64(&t, 1)->p_paddr = 0x400000;
	ph64(&t, 1)->p_memsz = 0x9000000;
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_ERANGE,
		    "ELF segment 1 [0x400000, 0x9400000) ends past guest RAM (64 MiB)");
	good_image(&t);
	ph64(&t, 1)->p_paddr = 0x10000000;
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_ERANGE,
		    "ELF segment 1 [0x10000000, 0x10002000) lies outside guest RAM (64 MiB)");
	good_image(&t);
	ph64(&t, 1)->p_paddr = UINT64_MAX - 0x10;
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_EBADIMAGE,
		    "wraps around the address space");
	good_image(&t);   /* 64 MiB minus one stack is fine; minus none is not */
	ph64(&t, 1)->p_paddr = 64 * MIB - 0x10000 - 0x2000;
	assert_int_equal(load(&t, 64 * MIB, 1, NULL, NULL), 0);
}

static void test_overlaps(void **state)
{
	static test_img t;

	good_image(&t);
	ph64(&t, 1)->p_paddr = TEXT + 0x800;
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_EBADIMAGE,
		    "ELF segments 0 [0x100000, 0x101000) and 1 [0x100800, 0x102800) overlap");
	good_image(&t);
	ph64(&t, 1)->p_paddr = 0x7000;
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_ERANGE,
		    "ELF segment 1 [0x7000, 0x9000) overlaps the boot area (GDT, TSS, "
		    "page tables) [0x0, 0x8000)");
	good_image(&t);
	ph64(&t, 1)->p_paddr = 64 * MIB - 2 * 0x10000 - 0x1000;
	EXPECT_FAIL(load(&t, 64 * MIB, 2, NULL, NULL), VMM_ERANGE,
		    "overlaps the vCPU stacks [0x3fe0000, 0x4000000)");
	good_image(&t);   /* just below the boot area end: fine */
	ph64(&t, 1)->p_paddr = 0x8000;
	assert_int_equal(load(&t, 64 * MIB, 1, NULL, NULL), 0);
}

static void test_entry(void **state)
{
	static test_img t;

	good_image(&t);
	eh64(&t)->e_entry = 0x10000000;
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_ERANGE,
		    "ELF entry point 0x10000000 is outside guest RAM (64 MiB)");
	good_image(&t);
	eh64(&t)->e_entry = 0x300000;
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_EBADIMAGE,
		    "ELF entry point 0x300000 is not inside any loaded segment");
	good_image(&t);
	eh64(&t)->e_entry = DATA + 4;
	EXPECT_FAIL(load(&t, 64 * MIB, 1, NULL, NULL), VMM_EBADIMAGE,
		    "inside segment 1 [0x200000, 0x202000), which is not executable");
	good_image(&t);   /* the last byte of the text segment's memsz is inside */
	eh64(&t)->e_entry = TEXT + 0xfff;
	assert_int_equal(load(&t, 64 * MIB, 1, NULL, NULL), 0);
}

static void test_ram_too_small(void **state)
{
	static test_img t;

	elf64_init(&t, 0x8000);
	img_seg(&t, PT_LOAD, PF_R | PF_X, 0x8000, 0x8000, code, sizeof(code), 0x1000);
	EXPECT_FAIL(load(&t, 64 * 1024, 1, NULL, NULL), VMM_ERANGE,
		    "guest RAM (64 KiB) is too small for the ELF64 boot area [0, 0x8000) "
		    "and 1 vCPU stack of 64 KiB (needs at least 96 KiB)");
	EXPECT_FAIL(load(&t, 128 * 1024, 2, NULL, NULL), VMM_ERANGE, "2 vCPU stacks");
	assert_int_equal(load(&t, 100 * 1024, 1, NULL, NULL), 0);
}

static void test_nothing_written_on_error(void **state)
{
	static test_img t;
	vmm_vm *vm;

	good_image(&t);
	eh64(&t)->e_entry = 0x300000;
	assert_int_not_equal(load(&t, 64 * MIB, 1, NULL, &vm), 0);
	assert_int_equal(peek64(vm, TEXT), 0);
	assert_int_equal(peek64(vm, 0x2000), 0);
	assert_null(vmm_vcpu_get(vm, 0));
	vmm_vm_destroy(vm);
}

static void test_bad_args(void **state)
{
	static test_img t;
	vmm_vm *vm = fake_vm(64 * MIB, 1);

	good_image(&t);
	EXPECT_FAIL(vmm_load_elf_buffer(NULL, t.data, t.len, NULL), VMM_EINVAL, "vm is NULL");
	EXPECT_FAIL(vmm_load_elf_buffer(vm, NULL, 10, NULL), VMM_EINVAL, "image is NULL");
	EXPECT_FAIL(vmm_load_elf(vm, NULL, NULL), VMM_EINVAL, "path is NULL");
	EXPECT_FAIL(vmm_load_elf(NULL, "x", NULL), VMM_EINVAL, "vm is NULL");
	vmm_vm_destroy(vm);
}

static void test_from_file(void **state)
{
	static test_img t;
	char path[] = "/tmp/test_elf_XXXXXX";
	vmm_vm *vm = fake_vm(64 * MIB, 1);
	int fd = mkstemp(path);

	good_image(&t);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, t.data, t.len), (ssize_t)t.len);
	close(fd);
	assert_int_equal(vmm_load_elf(vm, path, NULL), 0);
	assert_int_equal(fake_of(vm, 0)->regs.rip, TEXT);
	assert_int_equal(truncate(path, 100), 0);
	EXPECT_FAIL(vmm_load_elf(vm, path, NULL), VMM_EBADIMAGE, "truncated ELF");
	unlink(path);
	EXPECT_FAIL(vmm_load_elf(vm, path, NULL), VMM_ENOENT,
		    "No such file or directory");
	EXPECT_FAIL(vmm_load_elf(vm, "/tmp", NULL), VMM_EINVAL, "not a regular file");
	vmm_vm_destroy(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_memory),
		cmocka_unit_test(test_good_registers),
		cmocka_unit_test(test_cmdline),
		cmocka_unit_test(test_cmdline_too_long),
		cmocka_unit_test(test_existing_vcpu_kept),
		cmocka_unit_test(test_vaddr_fallback_and_translation),
		cmocka_unit_test(test_ignores_other_headers),
		cmocka_unit_test(test_not_elf),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_wrong_ident),
		cmocka_unit_test(test_bad_counts),
		cmocka_unit_test(test_filesz_over_memsz),
		cmocka_unit_test(test_outside_ram),
		cmocka_unit_test(test_overlaps),
		cmocka_unit_test(test_entry),
		cmocka_unit_test(test_ram_too_small),
		cmocka_unit_test(test_nothing_written_on_error),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_from_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
