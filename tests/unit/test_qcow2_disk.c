/* test_qcow2_disk.c - the public vmm_disk_* API (vmm/disk.h) and the
 * `vmm disk` command (its exit statuses follow qemu-img check's). */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/unit/qcow2_fixture.h"

static char vmm_cli[512];

/* build/tests/unit/test_qcow2_disk -> build/vmm (build/asan/vmm likewise). */
static int find_cli(void)
{
	char self[400];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *p;

	if (n <= 0)
		return -1;
	self[n] = '\0';
	for (int i = 0; i < 3 && (p = strrchr(self, '/')); i++)
		*p = '\0';
	snprintf(vmm_cli, sizeof(vmm_cli), "%s/vmm", self);
	return access(vmm_cli, X_OK);
}

static void test_api_raw(void **state)
{
	vmm_disk_config c = VMM_DISK_CONFIG_INIT;
	vmm_disk_image_info in = VMM_DISK_IMAGE_INFO_INIT;
	vmm_disk_check_result r = VMM_DISK_CHECK_RESULT_INIT;
	const char *img = qf_path("api.raw");

	c.format = VMM_DISK_RAW;
	c.virtual_size = 3 << 20;
	assert_int_equal(vmm_disk_create(img, &c), 0);
	assert_int_equal(vmm_disk_create(img, &c), VMM_EEXIST);
	assert_int_equal(vmm_disk_info(img, &in), 0);
	assert_int_equal(in.format, VMM_DISK_RAW);
	assert_int_equal(in.virtual_size, 3 << 20);
	assert_true(in.allocated_bytes < 65536);   /* sparse */
	assert_int_equal(vmm_disk_resize(img, 5 << 20), 0);
	assert_int_equal(vmm_disk_resize(img, 1 << 20), VMM_ENOTSUP);
	assert_int_equal(qf_fsize(img), 5 << 20);
	assert_int_equal(vmm_disk_check(img, 0, &r), VMM_ENOTSUP);
	assert_non_null(strstr(vmm_last_error(), "raw image"));
}

static void test_api_qcow2(void **state)
{
	vmm_disk_config c = VMM_DISK_CONFIG_INIT;
	vmm_disk_image_info in = VMM_DISK_IMAGE_INFO_INIT;
	vmm_disk_check_result r = VMM_DISK_CHECK_RESULT_INIT;
	const char *base = qf_path("apibase.qcow2"), *ov = qf_path("apiov.qcow2");

	QF_NEED_QEMU();
	c.virtual_size = 1ull << 30;
	c.cluster_size = 4096;
	assert_int_equal(vmm_disk_create(base, &c), 0);
	c.virtual_size = 0;
	c.cluster_size = 0;
	c.backing_file = "apibase.qcow2";
	assert_int_equal(vmm_disk_create(ov, &c), 0);
	assert_int_equal(vmm_disk_info(ov, &in), 0);
	assert_int_equal(in.format, VMM_DISK_QCOW2);
	assert_int_equal(in.virtual_size, 1ull << 30);
	assert_int_equal(in.cluster_size, 65536);
	assert_int_equal(in.qcow2_version, 3);
	assert_string_equal(in.backing_file, "apibase.qcow2");
	assert_int_equal(in.backing_format, VMM_DISK_QCOW2);
	assert_int_equal(in.allocated_bytes, 4 * 65536);   /* header, refcounts, L1 */
	assert_int_equal(vmm_disk_info(base, &in), 0);
	assert_int_equal(in.cluster_size, 4096);
	assert_string_equal(in.backing_file, "");
	assert_int_equal(vmm_disk_resize(ov, 3ull << 30), 0);
	assert_int_equal(qf_info_num(ov, "virtual-size"), 3ll << 30);
	assert_int_equal(vmm_disk_check(ov, 0, &r), 0);
	assert_int_equal(r.leaks + r.corruptions, 0);
	assert_int_equal(qf_sh("qemu-img check -q %s", ov), 0);

	/* Bad input. */
	vmm_disk_config bad = VMM_DISK_CONFIG_INIT;
	bad.size = 4;
	assert_int_equal(vmm_disk_create(qf_path("x"), &bad), VMM_EINVAL);
	bad = (vmm_disk_config)VMM_DISK_CONFIG_INIT;
	bad.virtual_size = 1 << 20;
	bad.cluster_size = 3000;
	assert_int_equal(vmm_disk_create(qf_path("x"), &bad), VMM_EINVAL);
	bad.cluster_size = 256;
	assert_int_equal(vmm_disk_create(qf_path("x"), &bad), VMM_EINVAL);
	bad.cluster_size = 0;
	bad.format = 9;
	assert_int_equal(vmm_disk_create(qf_path("x"), &bad), VMM_EINVAL);
	bad.format = VMM_DISK_QCOW2;
	bad.backing_file = "no-such-base";
	assert_int_equal(vmm_disk_create(qf_path("x"), &bad), VMM_ENOENT);
	assert_int_equal(access(qf_path("x"), F_OK), -1);
	assert_int_equal(vmm_disk_info(qf_path("none"), &in), VMM_ENOENT);
	in.size = 0;
	assert_int_equal(vmm_disk_info(ov, &in), VMM_EINVAL);
}

/* `vmm disk ...`: status of a command line, stdout into out. */
static int cli(char *out, size_t outlen, const char *args)
{
	char cmd[2048];
	FILE *f;
	size_t n;
	int st;

	snprintf(cmd, sizeof(cmd), "cd %s && %s disk %s 2>/dev/null", qf_dir, vmm_cli, args);
	f = popen(cmd, "r");
	assert_non_null(f);
	n = fread(out, 1, outlen - 1, f);
	out[n] = '\0';
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_cli(void **state)
{
	const char *img = qf_path("cli.qcow2");
	char out[4096];
	uint64_t rb, l2;

	QF_NEED_QEMU();
	if (find_cli() != 0) {
		print_message("skipped: the vmm command is not built next to the tests (%s)\n", vmm_cli);
		skip();
	}
	assert_int_equal(cli(out, sizeof(out), "create -f qcow2 -c 64K cli.qcow2 1G"), 0);
	assert_int_equal(cli(out, sizeof(out), "create cli.qcow2 1G"), 2);       /* exists */
	assert_int_equal(cli(out, sizeof(out), "create -c 3K x.qcow2 1G"), 2);
	assert_int_equal(cli(out, sizeof(out), "frobnicate"), 2);
	assert_int_equal(cli(out, sizeof(out), "info cli.qcow2"), 0);
	assert_non_null(strstr(out, "format: qcow2\nvirtual size: 1073741824\n"));
	assert_non_null(strstr(out, "cluster size: 65536\n"));
	assert_int_equal(cli(out, sizeof(out), "create -b cli.qcow2 clone.qcow2"), 0);
	assert_int_equal(cli(out, sizeof(out), "info clone.qcow2"), 0);
	assert_non_null(strstr(out, "backing file: cli.qcow2\nbacking file format: qcow2\n"));
	assert_int_equal(cli(out, sizeof(out), "check cli.qcow2"), 0);
	assert_int_equal(cli(out, sizeof(out), "resize cli.qcow2 2G"), 0);
	assert_int_equal(qf_info_num(img, "virtual-size"), 2ll << 30);
	assert_int_equal(cli(out, sizeof(out), "resize cli.qcow2 1G"), 2);

	/* A leak: exit 3; repaired: 0. */
	assert_int_equal(qf_sh("qemu-io -c 'write 0 64k' %s >/dev/null", img), 0);
	assert_int_equal(truncate(img, 8 * 65536), 0);
	rb = qf_get(img, qf_get(img, 48, 8), 8);
	qf_put(img, rb + 2 * 7, 2, 1);
	assert_int_equal(cli(out, sizeof(out), "check cli.qcow2"), 3);
	assert_non_null(strstr(out, "1 leaked clusters"));
	assert_int_equal(cli(out, sizeof(out), "check --repair cli.qcow2"), 0);
	assert_int_equal(cli(out, sizeof(out), "check cli.qcow2"), 0);
	/* A corruption (the data cluster's refcount is 0): exit 2; repaired: 0. */
	l2 = qf_get(img, qf_get(img, 40, 8), 8) & 0x00fffffffffffe00ull;
	qf_put(img, rb + 2 * ((qf_get(img, l2, 8) & 0x00fffffffffffe00ull) >> 16), 2, 0);
	assert_int_equal(cli(out, sizeof(out), "check cli.qcow2"), 2);
	assert_int_equal(qf_sh("qemu-img check -q %s >/dev/null 2>&1", img), 2);
	assert_int_equal(cli(out, sizeof(out), "check -r cli.qcow2"), 0);
	assert_int_equal(qf_sh("qemu-img check -q %s", img), 0);
	/* Cannot check: a raw image (63, as qemu-img), no image (1). */
	assert_int_equal(cli(out, sizeof(out), "create -f raw r.raw 1M"), 0);
	assert_int_equal(cli(out, sizeof(out), "check r.raw"), 63);
	assert_int_equal(cli(out, sizeof(out), "check nothing.qcow2"), 1);
	qf_put(img, 0, 4, 0);
	assert_int_equal(cli(out, sizeof(out), "info cli.qcow2"), 0);   /* now raw */
	assert_non_null(strstr(out, "format: raw\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_api_raw),
		cmocka_unit_test(test_api_qcow2),
		cmocka_unit_test(test_cli),
	};

	return cmocka_run_group_tests(tests, qf_setup, qf_teardown);
}
