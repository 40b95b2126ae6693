/* test_load_fuzz.c - the loaders never trust the image: thousands of
 * mutated and truncated ELF64, Multiboot and a.out-kludge images must each
 * load or fail with VMM_EBADIMAGE / VMM_ERANGE and a message, never crash
 * (run under ASan/UBSan by make check). Deterministic: fixed seed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "loader_fixture.h"

#define ROUNDS 20000

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void seed_elf64(test_img *t)
{
	static const uint8_t code[] = { 0xf4 };

	elf64_init(t, 0x100000);
	img_seg(t, PT_LOAD, PF_R | PF_X, 0x100000, 0x100000, code, 1, 0x1000);
	img_seg(t, PT_LOAD, PF_R | PF_W, 0x200000, 0x200000, NULL, 64, 0x3000);
}

static void seed_multiboot(test_img *t, uint32_t flags)
{
	uint32_t h[8] = { 0x1badb002, flags, (uint32_t)-(0x1badb002u + flags),
			  0x100000, 0x100000, 0, 0x104000, 0x100020 };
	uint8_t seg[64] = { 0 };

	memcpy(seg, h, sizeof(h));
	elf32_init(t, 0x100020);
	img_seg(t, PT_LOAD, PF_R | PF_X, 0x100000, 0x100000, seg, sizeof(seg), 0x1000);
}

/* Overwrites a few bytes of the ELF headers, the Multiboot header or
 * anywhere with random or boundary values, and sometimes truncates. */
static size_t mutate(test_img *t, size_t len)
{
	static const uint64_t edge[] = { 0, 1, 0x7fffffff, 0xffffffff, 0x100000000ull,
					 UINT64_MAX, UINT64_MAX - 0xfff, 0x1000, 0xfff };
	int n = 1 + (int)(next() % 4);

	for (int i = 0; i < n; i++) {
		uint64_t where = next() % 3;
		size_t off = where == 0 ? next() % 0x200 :               /* headers */
			     where == 1 ? IMG_DATA + next() % 0x40 :     /* Multiboot */
			     next() % len;
		uint64_t v = next() % 2 ? edge[next() % 9] : next();
		size_t w = (size_t)1 << (next() % 4);

		if (off + w <= len)
			memcpy(t->data + off, &v, w);
	}
	if (next() % 8 == 0)
		len = next() % (len + 1);
	return len;
}

static void fuzz(void (*seed)(test_img *, uint32_t), uint32_t arg, uint64_t mem)
{
	static test_img t;
	vmm_vm *vm = fake_vm(mem, 2);
	int ok = 0;

	assert_non_null(vm);
	for (int r = 0; r < ROUNDS; r++) {
		size_t len;
		int rc;

		seed(&t, arg);
		len = mutate(&t, t.len);
		rc = vmm_load_elf_buffer(vm, t.data, len, r % 2 ? "x" : NULL);
		if (rc == 0) {
			ok++;
			continue;
		}
		if (rc != VMM_EBADIMAGE && rc != VMM_ERANGE)
			fail_msg("round %d: rc %d: %s", r, rc, vmm_last_error());
		assert_true(vmm_last_error()[0] != '\0');
	}
	print_message("%d of %d mutated images still loaded\n", ok, ROUNDS);
	vmm_vm_destroy(vm);
}

static void seed64(test_img *t, uint32_t unused) { seed_elf64(t); }

static void test_fuzz_elf64(void **state) { fuzz(seed64, 0, 64ull << 20); }
static void test_fuzz_multiboot(void **state) { fuzz(seed_multiboot, 0x3, 64ull << 20); }
static void test_fuzz_aout(void **state) { fuzz(seed_multiboot, 0x10003, 8ull << 20); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fuzz_elf64),
		cmocka_unit_test(test_fuzz_multiboot),
		cmocka_unit_test(test_fuzz_aout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
