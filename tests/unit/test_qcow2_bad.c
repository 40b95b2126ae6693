/* test_qcow2_bad.c - malformed qcow2 images, made by patching bytes of real
 * qemu-img images, are refused with a message (never read out of bounds);
 * check counts what repair then fixes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/unit/qcow2_fixture.h"

/* A fresh qemu-img image (1 MiB, one cluster of data at 0) at name. */
static const char *fresh(const char *name)
{
	const char *img = qf_path(name);

	unlink(img);
	if (qf_sh("qemu-img create -q -f qcow2 %s 1M && qemu-io -c 'write -P 0x61 0 64k' %s >/dev/null",
		  img, img) != 0)
		fail_msg("qemu-img create");
	return img;
}

/* Opening img (writable and read-only) fails with code, the message naming
 * the problem. */
static void refused(const char *img, int code, const char *words)
{
	vmm__qcow2 *q = (vmm__qcow2 *)1;

	assert_int_equal(vmm__qcow2_open(img, VMM__QCOW2_RDONLY, &q), code);
	assert_null(q);
	if (!strstr(vmm_last_error(), words))
		fail_msg("message '%s' lacks '%s'", vmm_last_error(), words);
	assert_int_equal(vmm__qcow2_open(img, 0, &q), code);
}

static uint64_t l1_off(const char *img) { return qf_get(img, 40, 8); }
static uint64_t rt_off(const char *img) { return qf_get(img, 48, 8); }
static uint64_t l2_off(const char *img) { return qf_get(img, l1_off(img), 8) & 0x00fffffffffffe00ull; }

static void test_header_fields(void **state)
{
	const char *img;

	QF_NEED_QEMU();
	img = fresh("magic.qcow2");
	qf_put(img, 0, 4, 0x51464900);
	refused(img, VMM_EBADIMAGE, "magic");
	img = fresh("v4.qcow2");
	qf_put(img, 4, 4, 4);
	refused(img, VMM_ENOTSUP, "version 4");
	img = fresh("incompat.qcow2");
	qf_put(img, 72, 8, 1ull << 10);
	refused(img, VMM_ENOTSUP, "newer");
	img = fresh("order.qcow2");
	qf_put(img, 96, 4, 5);
	refused(img, VMM_ENOTSUP, "refcount width of 32 bits");
	img = fresh("crypt.qcow2");
	qf_put(img, 32, 4, 1);
	refused(img, VMM_ENOTSUP, "encrypted");
	img = fresh("extl2.qcow2");
	qf_put(img, 72, 8, 1ull << 4);
	refused(img, VMM_ENOTSUP, "extended L2");
	img = fresh("cbits.qcow2");
	qf_put(img, 20, 4, 30);
	refused(img, VMM_EBADIMAGE, "cluster_bits");
	img = fresh("hlen.qcow2");
	qf_put(img, 100, 4, 1u << 20);
	refused(img, VMM_EBADIMAGE, "header_length");
	img = fresh("size.qcow2");
	qf_put(img, 24, 8, 1ull << 40);   /* L1 of one entry cannot map 1 TiB */
	refused(img, VMM_EBADIMAGE, "L1 table too small");
	img = fresh("l1big.qcow2");
	qf_put(img, 36, 4, 0x7fffffff);
	refused(img, VMM_EBADIMAGE, "32 MiB");
	img = fresh("backing.qcow2");
	qf_put(img, 8, 8, 0xfff0);
	qf_put(img, 16, 4, 100);          /* name runs past the first cluster */
	refused(img, VMM_EBADIMAGE, "backing file name");
	img = fresh("ext.qcow2");
	qf_put(img, 112, 4, 0x12345678);
	qf_put(img, 116, 4, 0x10000);     /* extension longer than the cluster */
	refused(img, VMM_EBADIMAGE, "extension");
	img = fresh("short.qcow2");
	assert_int_equal(truncate(img, 50), 0);
	refused(img, VMM_EBADIMAGE, "too short");
}

static void test_tables(void **state)
{
	const char *img;

	QF_NEED_QEMU();
	img = fresh("overlap.qcow2");
	qf_put(img, 40, 8, rt_off(img));   /* L1 on top of the refcount table */
	refused(img, VMM_EBADIMAGE, "overlap");
	img = fresh("l1past.qcow2");
	qf_put(img, 40, 8, 1ull << 40);
	refused(img, VMM_EBADIMAGE, "L1 table offset");
	img = fresh("l1odd.qcow2");
	qf_put(img, 40, 8, l1_off(img) + 8);
	refused(img, VMM_EBADIMAGE, "L1 table offset");
	img = fresh("rtpast.qcow2");
	qf_put(img, 48, 8, 1ull << 40);
	refused(img, VMM_EBADIMAGE, "refcount table offset");
	img = fresh("rbpast.qcow2");
	qf_put(img, rt_off(img), 8, 1ull << 40);
	refused(img, VMM_EBADIMAGE, "refcount block");
	img = fresh("l1entry.qcow2");
	qf_put(img, l1_off(img), 8, (1ull << 63) | (1ull << 40));
	refused(img, VMM_EBADIMAGE, "L1 entry 0");
	img = fresh("l2past.qcow2");
	qf_put(img, l2_off(img), 8, (1ull << 63) | (1ull << 44));   /* data past the end */
	refused(img, VMM_EBADIMAGE, "past the end of the file");
	img = fresh("l2odd.qcow2");
	qf_put(img, l2_off(img), 8, (1ull << 63) | (l2_off(img) + 512));
	refused(img, VMM_EBADIMAGE, "malformed");
	img = fresh("l2l1.qcow2");   /* the data cluster is the L1 table */
	qf_put(img, l2_off(img), 8, (1ull << 63) | l1_off(img));
	refused(img, VMM_EBADIMAGE, "used 2 times");
}

/* A refcount that lies (the data cluster's refcount is 0): refused; check
 * counts one corruption; repair fixes it and qemu-img check is clean. */
static void test_lying_refcount(void **state)
{
	vmm__qcow2_check_result r;
	const char *img;
	uint64_t data, rb;
	vmm__qcow2 *q;
	uint8_t b[16];

	QF_NEED_QEMU();
	img = fresh("lie.qcow2");
	data = qf_get(img, l2_off(img), 8) & 0x00fffffffffffe00ull;
	rb = qf_get(img, rt_off(img), 8);
	qf_put(img, rb + 2 * (data >> 16), 2, 0);
	refused(img, VMM_EBADIMAGE, "refcount");
	assert_int_equal(qf_sh("qemu-img check -q %s >/dev/null 2>&1", img), 2);
	assert_int_equal(vmm__qcow2_check(img, false, &r), 0);
	assert_true(r.corruptions >= 1);   /* the refcount, and the COPIED flag with it */
	assert_int_equal(r.corruptions_fixed, 0);
	assert_int_equal(vmm__qcow2_check(img, true, &r), 0);
	assert_true(r.corruptions >= 1 && r.corruptions_fixed == r.corruptions);
	assert_int_equal(qf_sh("qemu-img check -q %s", img), 0);
	assert_int_equal(vmm__qcow2_open(img, 0, &q), 0);
	assert_int_equal(vmm__qcow2_read(q, 0, b, sizeof(b)), 0);
	assert_int_equal(b[0], 0x61);
	vmm__qcow2_close(q);

	/* A leak (refcount of an unused cluster) is accepted and repaired. */
	assert_int_equal(truncate(img, 8 * 65536), 0);
	qf_put(img, rb + 2 * 6, 2, 1);
	assert_int_equal(qf_sh("qemu-img check -q %s >/dev/null 2>&1", img), 3);
	assert_int_equal(vmm__qcow2_open(img, 0, &q), 0);
	vmm__qcow2_close(q);
	assert_int_equal(vmm__qcow2_check(img, true, &r), 0);
	assert_int_equal(r.leaks, 1);
	assert_int_equal(r.leaks_fixed, 1);
	assert_int_equal(qf_sh("qemu-img check -q %s", img), 0);

	/* An L2 entry past the end: check counts it, repair drops it. */
	qf_put(img, l2_off(img) + 8, 8, (1ull << 63) | (1ull << 44));
	assert_int_equal(vmm__qcow2_check(img, true, &r), 0);
	assert_true(r.corruptions >= 1 && r.corruptions_fixed == r.corruptions);
	assert_int_equal(qf_sh("qemu-img check -q %s", img), 0);
}

/* Dirty images (lazy refcounts) open read-only only; repair clears it. */
static void test_dirty(void **state)
{
	vmm__qcow2_check_result r;
	const char *img;
	vmm__qcow2 *q;

	QF_NEED_QEMU();
	img = fresh("dirty.qcow2");
	qf_put(img, 72, 8, 1);
	assert_int_equal(vmm__qcow2_open(img, 0, &q), VMM_EBADIMAGE);
	assert_non_null(strstr(vmm_last_error(), "dirty"));
	assert_int_equal(vmm__qcow2_open(img, VMM__QCOW2_RDONLY, &q), 0);
	vmm__qcow2_close(q);
	assert_int_equal(vmm__qcow2_check(img, true, &r), 0);
	assert_int_equal(qf_get(img, 72, 8), 0);
	assert_int_equal(vmm__qcow2_open(img, 0, &q), 0);
	vmm__qcow2_close(q);
}

/* Backing chains that loop, or go deeper than 16, are refused. */
static void test_backing_chains(void **state)
{
	const char *a = qf_path("a.qcow2"), *b = qf_path("b.qcow2");
	char name[32], prev[32] = "";
	vmm__qcow2 *q;

	QF_NEED_QEMU();
	assert_int_equal(qf_sh("cd %s && qemu-img create -q -f qcow2 a.qcow2 1M && "
			       "qemu-img create -q -f qcow2 -b a.qcow2 -F qcow2 b.qcow2 && "
			       "qemu-img rebase -u -b b.qcow2 -F qcow2 a.qcow2", qf_dir), 0);
	refused(b, VMM_EBADIMAGE, "loops");
	refused(a, VMM_EBADIMAGE, "loops");
	assert_int_equal(qf_sh("cd %s && qemu-img rebase -u -b a.qcow2 -F qcow2 a.qcow2", qf_dir), 0);
	refused(a, VMM_EBADIMAGE, "loops");
	for (int i = 0; i <= VMM__QCOW2_MAX_CHAIN + 1; i++) {
		snprintf(name, sizeof(name), "d%d.qcow2", i);
		assert_int_equal(vmm__qcow2_create(qf_path(name), 1 << 20,
						   &(vmm__qcow2_create_opts){ .backing = prev[0] ? prev : NULL }), 0);
		if (i == VMM__QCOW2_MAX_CHAIN) {   /* 16 backing files below: fine */
			assert_int_equal(vmm__qcow2_open(qf_path(name), 0, &q), 0);
			vmm__qcow2_close(q);
		}
		snprintf(prev, sizeof(prev), "%s", name);
	}
	refused(qf_path(name), VMM_EBADIMAGE, "deeper");
	assert_int_equal(qf_sh("cd %s && qemu-img rebase -u -b missing.qcow2 -F qcow2 b.qcow2", qf_dir), 0);
	refused(b, VMM_ENOENT, "missing.qcow2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_fields),
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_lying_refcount),
		cmocka_unit_test(test_dirty),
		cmocka_unit_test(test_backing_chains),
	};

	return cmocka_run_group_tests(tests, qf_setup, qf_teardown);
}
