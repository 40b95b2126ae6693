/* test_decode.c - the emu decoder (backends/emu/decode.c): instruction
 * lengths agree with capstone on every instruction of real compiler output
 * (the host's libc .text in 64-bit mode, the 32-bit Multiboot test guest),
 * and prefixes, REX, operand/address sizes, ModRM/SIB/RIP-relative forms,
 * VEX, invalid opcodes and truncated or over-long input decode as the SDM
 * says. */
#include <capstone/capstone.h>
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backends/emu/decode.h"
#include "backends/emu/emu.h"

#define LIBC "/usr/lib/x86_64-linux-gnu/libc.so.6"
#define MB_GUEST "build/guests/multiboot.elf"

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = n > 0 ? malloc((size_t)n) : NULL;
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Offset and size of the .text section of an ELF32 or ELF64 file. */
static int find_text(const uint8_t *f, size_t len, size_t *off, size_t *size)
{
	int is64 = len > EI_CLASS && f[EI_CLASS] == ELFCLASS64;
	size_t shoff, shnum, shentsz, shstr, stroff;

	if (len < sizeof(Elf64_Ehdr) || memcmp(f, ELFMAG, SELFMAG))
		return -1;
	if (is64) {
		const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f;

		shoff = eh->e_shoff, shnum = eh->e_shnum, shentsz = eh->e_shentsize, shstr = eh->e_shstrndx;
	} else {
		const Elf32_Ehdr *eh = (const Elf32_Ehdr *)f;

		shoff = eh->e_shoff, shnum = eh->e_shnum, shentsz = eh->e_shentsize, shstr = eh->e_shstrndx;
	}
	if (shoff + shnum * shentsz > len || shstr >= shnum)
		return -1;
#define SH(i, field) (is64 ? (size_t)((const Elf64_Shdr *)(f + shoff + (i) * shentsz))->field \
			   : (size_t)((const Elf32_Shdr *)(f + shoff + (i) * shentsz))->field)
	stroff = SH(shstr, sh_offset);
	for (size_t i = 0; i < shnum; i++) {
		size_t name = stroff + SH(i, sh_name);

		if (name + 6 <= len && memcmp(f + name, ".text", 6) == 0) {
			*off = SH(i, sh_offset);
			*size = SH(i, sh_size);
			return *off + *size <= len ? 0 : -1;
		}
	}
#undef SH
	return -1;
}

/* Decodes the whole of text with capstone and emu; returns mismatches. */
static unsigned compare_lengths(const uint8_t *text, size_t size, cs_mode mode,
				unsigned code_sz, unsigned *total)
{
	unsigned bad = 0;
	const uint8_t *p = text;
	size_t n = size;
	uint64_t addr = 0;
	csh h;
	cs_insn *insn;

	assert_int_equal(cs_open(CS_ARCH_X86, mode, &h), CS_ERR_OK);
	insn = cs_malloc(h);
	*total = 0;
	while (n > 0) {
		const uint8_t *q = p;
		size_t nn = n;
		uint64_t a = addr;
		emu_dec d;
		int len;

		if (!cs_disasm_iter(h, &q, &nn, &a, insn)) {
			p++, n--, addr++;
			continue;
		}
		len = emu_decode(p, n < 15 ? (unsigned)n : 15, code_sz, &d);
		(*total)++;
		if (len != (int)insn->size && bad++ < 10)
			print_message("0x%llx %s %s: capstone %u bytes, emu %d\n",
				      (unsigned long long)addr, insn->mnemonic, insn->op_str,
				      insn->size, len);
		p = q, n = nn, addr = a;
	}
	cs_free(insn, 1);
	cs_close(&h);
	return bad;
}

static void check_file(const char *path, cs_mode mode, unsigned code_sz, unsigned min)
{
	size_t len = 0, off = 0, size = 0;
	uint8_t *f = read_file(path, &len);
	unsigned total, bad;

	if (!f) {
		print_message("%s not readable here\n", path);
		skip();
	}
	assert_int_equal(find_text(f, len, &off, &size), 0);
	bad = compare_lengths(f + off, size, mode, code_sz, &total);
	print_message("%s: %u instructions, %u length mismatches\n", path, total, bad);
	assert_true(total >= min);
	assert_int_equal(bad, 0);
	free(f);
}

static void test_libc_64(void **state)
{
	check_file(LIBC, CS_MODE_64, EMU_SZ64, 10000);
}

static void test_multiboot_guest_32(void **state)
{
	check_file(MB_GUEST, CS_MODE_32, EMU_SZ32, 100);
}

static emu_dec dec(const char *bytes, unsigned n, unsigned code_sz, int want_len)
{
	emu_dec d;

	assert_int_equal(emu_decode((const uint8_t *)bytes, n, code_sz, &d), want_len);
	return d;
}

static void test_prefixes_and_sizes(void **state)
{
	emu_dec d;

	d = dec("\x48\x01\xc8", 3, EMU_SZ64, 3);               /* add rax, rcx */
	assert_int_equal(d.osz, EMU_SZ64);
	assert_int_equal(d.reg, 1);
	assert_int_equal(d.rm, 0);
	d = dec("\x66\x01\xc8", 3, EMU_SZ64, 3);               /* add ax, cx */
	assert_int_equal(d.osz, EMU_SZ16);
	d = dec("\x48\x66\x01\xc8", 4, EMU_SZ64, 4);           /* REX before 66: ignored */
	assert_int_equal(d.osz, EMU_SZ16);
	assert_int_equal(d.rex, 0);
	d = dec("\x66\x48\x01\xc8", 4, EMU_SZ64, 4);           /* REX.W beats 66 */
	assert_int_equal(d.osz, EMU_SZ64);
	d = dec("\x40\x88\xf7", 3, EMU_SZ64, 3);               /* mov dil, sil */
	assert_int_equal(d.rex, 0x40);
	d = dec("\x66\x50", 2, EMU_SZ64, 2);                   /* push ax */
	assert_int_equal(d.osz, EMU_SZ16);
	d = dec("\x50", 1, EMU_SZ64, 1);                       /* push rax */
	assert_int_equal(d.osz, EMU_SZ64);
	d = dec("\x50", 1, EMU_SZ32, 1);                       /* push eax */
	assert_int_equal(d.osz, EMU_SZ32);
	d = dec("\x66\x50", 2, EMU_SZ16, 2);                   /* push eax, 16-bit code */
	assert_int_equal(d.osz, EMU_SZ32);
	d = dec("\x48\xb8\x88\x77\x66\x55\x44\x33\x22\x11", 10, EMU_SZ64, 10);
	assert_int_equal(d.imm, 0x1122334455667788ull);
	d = dec("\xc7\xc0\xff\xff\xff\xff", 6, EMU_SZ64, 6);
	assert_int_equal(d.imm, 0xffffffffffffffffull);        /* sign-extended */
	d = dec("\xa1\x88\x77\x66\x55\x44\x33\x22\x11", 9, EMU_SZ64, 9);   /* moffs64 */
	assert_int_equal(d.imm, 0x1122334455667788ull);
	d = dec("\x67\xa1\x44\x33\x22\x11", 6, EMU_SZ64, 6);   /* moffs32 */
	assert_int_equal(d.asz, EMU_SZ32);
	d = dec("\x64\x48\x8b\x04\x25\x28\x00\x00\x00", 9, EMU_SZ64, 9);   /* mov rax, fs:0x28 */
	assert_int_equal(d.seg, X86_SEG_FS);
	assert_int_equal(d.base, EMU_REG_NONE);
	assert_int_equal(d.index, EMU_REG_NONE);
	assert_int_equal(d.disp, 0x28);
}

static void test_addressing(void **state)
{
	emu_dec d;

	d = dec("\x48\x8b\x05\xf0\xff\xff\xff", 7, EMU_SZ64, 7);    /* rip-relative */
	assert_true(d.riprel);
	assert_int_equal(d.disp, -16);
	d = dec("\x8b\x05\x10\x00\x00\x00", 6, EMU_SZ32, 6);        /* absolute in 32 */
	assert_false(d.riprel);
	assert_int_equal(d.base, EMU_REG_NONE);
	d = dec("\x42\x8b\x44\xa5\x08", 5, EMU_SZ64, 5);            /* [rbp+r12*4+8] */
	assert_int_equal(d.base, 5);
	assert_int_equal(d.index, 12);
	assert_int_equal(d.scale, 2);
	assert_int_equal(d.disp, 8);
	assert_true(d.seg_default_ss);
	d = dec("\x41\x8b\x45\x00", 4, EMU_SZ64, 4);                /* [r13+0]: DS */
	assert_int_equal(d.base, 13);
	assert_false(d.seg_default_ss);
	d = dec("\x8b\x04\x24", 3, EMU_SZ64, 3);                    /* [rsp] */
	assert_int_equal(d.base, 4);
	assert_int_equal(d.index, EMU_REG_NONE);
	d = dec("\x8b\x04\x65\x00\x01\x00\x00", 7, EMU_SZ32, 7);   /* [disp32 + 0] no base */
	assert_int_equal(d.base, EMU_REG_NONE);
	assert_int_equal(d.index, EMU_REG_NONE);
	d = dec("\x8b\x42\x10", 3, EMU_SZ16, 3);                    /* [bp+si+0x10] */
	assert_int_equal(d.base, 5);
	assert_int_equal(d.index, 6);
	assert_true(d.seg_default_ss);
	d = dec("\x8b\x06\x34\x12", 4, EMU_SZ16, 4);                /* [0x1234] */
	assert_int_equal(d.base, EMU_REG_NONE);
	assert_int_equal(d.disp, 0x1234);
	d = dec("\x0f\x20\xc0", 3, EMU_SZ64, 3);                    /* mov rax, cr0 */
	assert_false(d.has_mem);
	d = dec("\x0f\x22\x18", 3, EMU_SZ32, 3);                    /* mod ignored */
	assert_false(d.has_mem);
}

static void test_invalid_and_truncated(void **state)
{
	emu_dec d;

	dec("\x06", 1, EMU_SZ64, EMU_DEC_UD);                  /* push es */
	dec("\x06", 1, EMU_SZ32, 1);
	dec("\xd6", 1, EMU_SZ32, 1);                           /* salc (exec_bcd.c) */
	dec("\xd6", 1, EMU_SZ64, EMU_DEC_UD);                  /* not in 64-bit mode */
	dec("\x48\x8b", 2, EMU_SZ64, EMU_DEC_MORE);
	dec("\x0f", 1, EMU_SZ64, EMU_DEC_MORE);
	dec("\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x90", 15,
	    EMU_SZ64, 15);
	dec("\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x90", 16,
	    EMU_SZ64, EMU_DEC_TOOLONG);
	d = dec("\xc5\xf8\x77", 3, EMU_SZ64, 3);               /* vzeroupper */
	assert_int_equal(d.vex, 2);
	d = dec("\xc4\xe2\x79\x18\x05\x00\x00\x00\x00", 9, EMU_SZ64, 9);
	assert_int_equal(d.vex, 2);
	d = dec("\xc5\x05", 2, EMU_SZ32, EMU_DEC_MORE);        /* LDS: needs disp32 */
	assert_int_equal(emu_decode((const uint8_t *)"\xc5\x05\x00\x10\x00\x00", 6,
				    EMU_SZ32, &d), 6);
	assert_int_equal(d.vex, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_libc_64),
		cmocka_unit_test(test_multiboot_guest_32),
		cmocka_unit_test(test_prefixes_and_sizes),
		cmocka_unit_test(test_addressing),
		cmocka_unit_test(test_invalid_and_truncated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
