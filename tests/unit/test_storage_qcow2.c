/* test_storage_qcow2.c - a qcow2 image as a storage path
 * (lib/storage/path_qcow2.c over the qcow2 format): qemu-img creates a
 * 1 GiB thin image, the device writes 10 MiB through its path thread,
 * reads it back, discards part of it; qemu-img check finds the image
 * clean and qemu-img convert shows exactly the bytes written. The image
 * lock refuses a second writable path. Skipped without qemu-img. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm.h"

#define MiB (1u << 20)

static char dir[] = "/tmp/vmm-stqcow2-XXXXXX";
static char img[100], raw[100];

static int sh(const char *fmt, const char *a, const char *b)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	return system(cmd);
}

static int setup(void **state)
{
	if (system("command -v qemu-img >/dev/null 2>&1") != 0)
		return 0;
	assert_non_null(mkdtemp(dir));
	snprintf(img, sizeof(img), "%s/disk.qcow2", dir);
	snprintf(raw, sizeof(raw), "%s/disk.raw", dir);
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	if (*state && sh("rm -rf %s%s", dir, "") != 0)
		return -1;
	return 0;
}

static void fill(uint8_t *b, size_t len, uint32_t mb)
{
	for (size_t i = 0; i < len; i += 4) {
		uint32_t v = mb * 0x9e3779b9u ^ (uint32_t)i;

		memcpy(b + i, &v, 4);
	}
}

static void test_qcow2_path(void **state)
{
	static uint8_t buf[MiB], got[MiB], zero[MiB];
	vmm_storage_config c = VMM_STORAGE_CONFIG_INIT;
	vmm_storage_path_config pc = VMM_STORAGE_PATH_CONFIG_INIT;
	vmm_storage_info di = VMM_STORAGE_INFO_INIT;
	vmm_storage_path_info pi = VMM_STORAGE_PATH_INFO_INIT;
	vmm_storage_dev *dev;
	FILE *f;

	if (!*state) {
		print_message("skipped: qemu-img is not installed\n");
		skip();
	}
	assert_int_equal(sh("qemu-img create -q -f qcow2 %s 1G%s", img, ""), 0);
	assert_int_equal(vmm_storage_create(&c, &dev), 0);
	pc.kind = VMM_STORAGE_PATH_QCOW2;
	pc.target = img;
	assert_int_equal(vmm_storage_add_path(dev, &pc, NULL), 0);
	assert_int_equal(vmm_storage_add_path(dev, &pc, NULL), VMM_EBUSY);  /* locked */
	assert_int_equal(vmm_storage_get_info(dev, &di), 0);
	assert_int_equal(di.capacity, 1ull << 30);
	assert_int_equal(di.npaths, 1);
	for (uint32_t m = 0; m < 10; m++) {
		fill(buf, MiB, m);
		assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_WRITE, (uint64_t)m * 64 * MiB,
						buf, MiB), 0);
	}
	assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_FLUSH, 0, NULL, 0), 0);
	for (uint32_t m = 0; m < 10; m++) {
		fill(buf, MiB, m);
		assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_READ, (uint64_t)m * 64 * MiB,
						got, MiB), 0);
		assert_memory_equal(got, buf, MiB);
	}
	/* discard the 10th MiB: reads give zeros */
	assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_DISCARD, 9ull * 64 * MiB, NULL, MiB),
			 0);
	assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_READ, 9ull * 64 * MiB, got, MiB), 0);
	assert_memory_equal(got, zero, MiB);
	assert_int_equal(vmm_storage_path_get_info(dev, 0, &pi), 0);
	assert_int_equal(pi.kind, VMM_STORAGE_PATH_QCOW2);
	assert_int_equal(pi.writes, 10);
	assert_int_equal(pi.discards, 1);
	vmm_storage_destroy(dev);
	assert_int_equal(sh("qemu-img check -q %s%s", img, ""), 0);
	assert_int_equal(sh("qemu-img convert -f qcow2 -O raw %s %s", img, raw), 0);
	f = fopen(raw, "rb");
	assert_non_null(f);
	for (uint32_t m = 0; m < 10; m++) {
		fill(buf, MiB, m);
		assert_int_equal(fseek(f, (long)m * 64 * MiB, SEEK_SET), 0);
		assert_int_equal(fread(got, 1, MiB, f), MiB);
		assert_memory_equal(got, m == 9 ? zero : buf, MiB);
	}
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qcow2_path),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
