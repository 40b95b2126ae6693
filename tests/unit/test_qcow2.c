/* test_qcow2.c - the qcow2 module against QEMU's own tools: images from
 * qemu-img are read and written, images libvmm writes pass qemu-img check,
 * thin allocation, discard, backing files, resize, locks, and SIGKILL in
 * the middle of writes. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/unit/qcow2_fixture.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

/* Writes of libvmm to a qemu-img image read back through qemu-img convert,
 * and qemu-io's writes read back through libvmm. */
static void test_qemu_image_rw(void **state)
{
	const char *img = qf_path("q.qcow2"), *raw = qf_path("q.raw");
	const uint64_t size = 64 * MiB;
	uint8_t *ref = calloc(1, size), *got = malloc(size);
	static const struct { uint64_t off, len; } w[] = {
		{ 0, 512 }, { 1000, 100000 }, { 65536 * 3 - 7, 70000 }, { 5 * MiB, 3 * MiB },
		{ 64 * MiB - 4096, 4096 }, { 1000, 10 },
	};
	vmm__qcow2 *q;

	QF_NEED_QEMU();
	assert_int_equal(qf_sh("qemu-img create -q -f qcow2 %s 64M", img), 0);
	assert_int_equal(qf_sh("qemu-io -c 'write -P 0x5a 20M 1M' %s >/dev/null", img), 0);
	memset(ref + 20 * MiB, 0x5a, MiB);
	assert_int_equal(vmm__qcow2_open(img, 0, &q), 0);
	assert_int_equal(vmm__qcow2_size(q), size);
	assert_int_equal(vmm__qcow2_read(q, 20 * MiB - 10, got, MiB + 20), 0);
	assert_memory_equal(got, ref + 20 * MiB - 10, MiB + 20);
	for (unsigned i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		qf_fill(ref + w[i].off, w[i].len, i + 1);
		assert_int_equal(vmm__qcow2_write(q, w[i].off, ref + w[i].off, w[i].len), 0);
	}
	assert_int_equal(vmm__qcow2_write(q, size - 1, ref, 2), VMM_ERANGE);
	assert_int_equal(vmm__qcow2_read(q, 0, got, size), 0);
	assert_memory_equal(got, ref, size);
	vmm__qcow2_close(q);
	assert_int_equal(qf_sh("qemu-img check -q %s", img), 0);
	assert_int_equal(qf_sh("qemu-img convert -O raw %s %s", img, raw), 0);
	int fd = open(raw, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, got, size, 0), (ssize_t)size);
	close(fd);
	assert_memory_equal(got, ref, size);
	free(ref);
	free(got);
}

/* Images libvmm creates (every cluster size, v2 and v3) and writes pass
 * qemu-img check; qemu-img info agrees on size and cluster size. */
static void test_created_pass_check(void **state)
{
	static const uint32_t bits[] = { 9, 12, 16, 21 };
	uint8_t *buf = malloc(3 * MiB);

	QF_NEED_QEMU();
	qf_fill(buf, 3 * MiB, 7);
	for (unsigned i = 0; i < 8; i++) {
		vmm__qcow2_create_opts o = { .cluster_bits = bits[i % 4], .version = i < 4 ? 3 : 2 };
		char name[32];
		const char *img;
		vmm__qcow2 *q;

		snprintf(name, sizeof(name), "c%u.qcow2", i);
		img = qf_path(name);
		assert_int_equal(vmm__qcow2_create(img, 3 * GiB + 512, &o), 0);
		assert_int_equal(vmm__qcow2_create(img, GiB, &o), VMM_EEXIST);
		assert_int_equal(qf_sh("qemu-img check -q %s", img), 0);
		assert_int_equal(vmm__qcow2_open(img, 0, &q), 0);
		assert_int_equal(vmm__qcow2_write(q, GiB - 5000, buf, 3 * MiB), 0);
		assert_int_equal(vmm__qcow2_write(q, 3 * GiB + 512 - 100, buf, 100), 0);
		vmm__qcow2_close(q);
		assert_int_equal(qf_sh("qemu-img check -q %s", img), 0);
		assert_int_equal(qf_info_num(img, "virtual-size"), 3 * GiB + 512);
		assert_int_equal(qf_info_num(img, "cluster-size"), 1ll << bits[i % 4]);
		assert_true(qf_info_has(img, i < 4 ? "\"compat\": \"1.1\"" : "\"compat\": \"0.10\""));
		assert_int_equal(qf_sh("qemu-io -r -c 'read -v 1073736824 16' %s | grep -q '%02x %02x'",
				       img, buf[0], buf[1]), 0);
	}
	free(buf);
}

/* Thin provisioning: 10 MiB written to a 1 GiB image grows the file by about
 * 10 MiB; discarding it gives the host blocks back. */
static void test_thin_and_discard(void **state)
{
	const char *img = qf_path("thin.qcow2");
	uint8_t *buf = malloc(10 * MiB), *back = malloc(10 * MiB);
	vmm__qcow2_stats st;
	uint64_t before, after;
	vmm__qcow2 *q;

	QF_NEED_QEMU();
	qf_fill(buf, 10 * MiB, 3);
	assert_int_equal(vmm__qcow2_create(img, GiB, NULL), 0);
	before = qf_blocks(img);
	assert_int_equal(vmm__qcow2_open(img, 0, &q), 0);
	assert_int_equal(vmm__qcow2_write(q, 100 * MiB, buf, 10 * MiB), 0);
	after = qf_blocks(img);
	assert_true(after - before >= 10 * MiB);
	assert_true(after - before <= 10 * MiB + 512 * 1024);   /* + an L2 table or two */
	assert_true(qf_fsize(img) <= 10 * MiB + 5 * 65536);
	vmm__qcow2_get_stats(q, &st);
	assert_int_equal(st.virtual_size, GiB);
	assert_true(st.allocated_bytes >= 10 * MiB && st.allocated_bytes <= 10 * MiB + 6 * 65536);
	assert_int_equal(vmm__qcow2_discard(q, 100 * MiB, 10 * MiB), 0);
	assert_true(qf_blocks(img) <= before + 128 * 1024);
	vmm__qcow2_get_stats(q, &st);
	assert_true(st.allocated_bytes <= 6 * 65536);
	assert_int_equal(vmm__qcow2_read(q, 100 * MiB, back, 10 * MiB), 0);
	memset(buf, 0, 10 * MiB);
	assert_memory_equal(back, buf, 10 * MiB);
	/* Freed clusters are reused: writing again does not grow the file. */
	uint64_t fs = qf_fsize(img);
	assert_int_equal(vmm__qcow2_write(q, 300 * MiB, back, 5 * MiB), 0);
	assert_true(qf_fsize(img) <= fs + 65536);
	vmm__qcow2_close(q);
	assert_int_equal(qf_sh("qemu-img check -q %s", img), 0);
	free(buf);
	free(back);
}

/* Write-zeroes: whole clusters take the zero flag, the edges are written. */
static void test_write_zeroes(void **state)
{
	const char *img = qf_path("z.qcow2");
	uint8_t *buf = malloc(4 * MiB);
	vmm__qcow2 *q;

	QF_NEED_QEMU();
	memset(buf, 0x11, 4 * MiB);
	assert_int_equal(qf_sh("qemu-img create -q -f qcow2 %s 16M", img), 0);
	assert_int_equal(vmm__qcow2_open(img, 0, &q), 0);
	assert_int_equal(vmm__qcow2_write(q, 0, buf, 4 * MiB), 0);
	assert_int_equal(vmm__qcow2_write_zeroes(q, 1000, 2 * MiB), 0);
	vmm__qcow2_close(q);
	assert_int_equal(qf_sh("qemu-img check -q %s", img), 0);
	assert_int_equal(qf_sh("qemu-io -r -c 'read -P 0x11 0 1000' -c 'read -P 0 1000 2M' "
			       "-c 'read -P 0x11 2098152 2096152' %s >/dev/null", img), 0);
	assert_true(qf_sh("qemu-img map --output=json %s | grep -q '\"zero\": true, \"data\": false'", img) == 0);
	free(buf);
}

/* A clone over a backing file (qcow2 or raw) reads the base and writes
 * only to the overlay; the base is unchanged. */
static void test_backing_clone(void **state)
{
	const char *base = qf_path("base.qcow2"), *ov = qf_path("ov.qcow2");
	const char *rawb = qf_path("base.raw"), *ov2 = qf_path("ov2.qcow2");
	vmm__qcow2_create_opts o = { .backing = "base.qcow2" };
	uint8_t buf[8192];
	vmm__qcow2 *q;

	QF_NEED_QEMU();
	assert_int_equal(qf_sh("qemu-img create -q -f qcow2 %s 32M && "
			       "qemu-io -c 'write -P 0x42 0 32M' %s >/dev/null", base, base), 0);
	assert_int_equal(vmm__qcow2_create(ov, 0, &o), 0);
	assert_int_equal(qf_info_num(ov, "virtual-size"), 32 * MiB);
	assert_true(qf_info_has(ov, "\"backing-filename\": \"base.qcow2\""));
	assert_true(qf_info_has(ov, "\"backing-filename-format\": \"qcow2\""));
	assert_int_equal(vmm__qcow2_open(ov, 0, &q), 0);
	assert_int_equal(vmm__qcow2_read(q, 12345, buf, sizeof(buf)), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0x42);
	memset(buf, 0x99, 100);
	assert_int_equal(vmm__qcow2_write(q, 70000, buf, 100), 0);   /* COW of one cluster */
	assert_int_equal(vmm__qcow2_discard(q, 4 * MiB, 65536), 0); /* v3: reads zeros after */
	vmm__qcow2_close(q);
	assert_true(qf_fsize(ov) <= 6 * 65536);
	assert_int_equal(qf_sh("qemu-img check -q %s && qemu-img check -q %s", ov, base), 0);
	assert_int_equal(qf_sh("qemu-io -r -c 'read -P 0x42 0 70000' -c 'read -P 0x99 70000 100' "
			       "-c 'read -P 0x42 70100 4124204' -c 'read -P 0 4M 64k' "
			       "-c 'read -P 0x42 4259840 1M' %s >/dev/null", ov), 0);
	assert_int_equal(qf_sh("qemu-io -r -c 'read -P 0x42 0 32M' %s >/dev/null", base), 0);

	/* Raw base, named with its format. */
	assert_int_equal(qf_sh("qemu-img convert -O raw %s %s", base, rawb), 0);
	o.backing = rawb;
	o.backing_fmt = VMM__QCOW2_FMT_RAW;
	assert_int_equal(vmm__qcow2_create(ov2, 64 * MiB, &o), 0);
	assert_true(qf_info_has(ov2, "\"backing-filename-format\": \"raw\""));
	assert_int_equal(vmm__qcow2_open(ov2, 0, &q), 0);
	assert_int_equal(vmm__qcow2_write(q, 32 * MiB - 50, buf, 100), 0);   /* straddles the base's end */
	vmm__qcow2_close(q);
	assert_int_equal(qf_sh("qemu-img check -q %s", ov2), 0);
	assert_int_equal(qf_sh("qemu-io -r -c 'read -P 0x42 0 33554382' -c 'read -P 0x99 33554382 100' "
			       "-c 'read -P 0 33554482 1M' %s >/dev/null", ov2), 0);
}

/* Resize grows the virtual size (with a bigger L1 table where needed);
 * data stays; qemu-img agrees. */
static void test_resize(void **state)
{
	const char *img = qf_path("r.qcow2");
	vmm__qcow2_create_opts o = { .cluster_bits = 9 };
	uint8_t buf[1000];
	vmm__qcow2 *q;

	QF_NEED_QEMU();
	memset(buf, 0x77, sizeof(buf));
	assert_int_equal(vmm__qcow2_create(img, MiB, &o), 0);
	assert_int_equal(vmm__qcow2_open(img, 0, &q), 0);
	assert_int_equal(vmm__qcow2_write(q, 1000, buf, sizeof(buf)), 0);
	assert_int_equal(vmm__qcow2_resize(q, 4 * GiB), 0);   /* L1: 8 -> 131072 entries */
	assert_int_equal(vmm__qcow2_resize(q, GiB), VMM_ENOTSUP);
	assert_int_equal(vmm__qcow2_size(q), 4 * GiB);
	assert_int_equal(vmm__qcow2_write(q, 4 * GiB - 1000, buf, sizeof(buf)), 0);
	vmm__qcow2_close(q);
	assert_int_equal(qf_sh("qemu-img check -q %s", img), 0);
	assert_int_equal(qf_info_num(img, "virtual-size"), 4 * GiB);
	assert_int_equal(qf_sh("qemu-io -r -c 'read -P 0x77 1000 1000' -c 'read -P 0x77 4294966296 1000' "
			       "-c 'read -P 0 2000 1M' %s >/dev/null", img), 0);
}

/* A second writer is refused while the first is open, QEMU's tools too;
 * afterwards the image opens again. */
static void test_lock(void **state)
{
	const char *img = qf_path("lock.qcow2");
	vmm__qcow2 *q, *q2, *q3;

	QF_NEED_QEMU();
	assert_int_equal(vmm__qcow2_create(img, MiB, NULL), 0);
	assert_int_equal(vmm__qcow2_open(img, 0, &q), 0);
	assert_int_equal(vmm__qcow2_open(img, 0, &q2), VMM_EBUSY);
	assert_non_null(strstr(vmm_last_error(), "in use"));
	assert_int_equal(vmm__qcow2_open(img, VMM__QCOW2_RDONLY, &q2), VMM_EBUSY);
	assert_int_not_equal(qf_sh("qemu-io -c 'write 0 512' %s >/dev/null 2>&1", img), 0);
	assert_int_not_equal(qf_sh("qemu-img info %s >/dev/null 2>&1", img), 0);
	vmm__qcow2_close(q);
	/* Two readers share; a writer is refused while they are there. */
	assert_int_equal(vmm__qcow2_open(img, VMM__QCOW2_RDONLY, &q), 0);
	assert_int_equal(vmm__qcow2_open(img, VMM__QCOW2_RDONLY, &q2), 0);
	assert_int_equal(vmm__qcow2_open(img, 0, &q3), VMM_EBUSY);
	vmm__qcow2_close(q);
	assert_int_equal(vmm__qcow2_open(img, 0, &q), VMM_EBUSY);   /* q2 still reads */
	vmm__qcow2_close(q2);
	assert_int_equal(vmm__qcow2_open(img, 0, &q), 0);
	vmm__qcow2_close(q);
}

/* A child writing (and discarding) in a loop, killed with SIGKILL: the image
 * has at most leaked clusters; repair makes qemu-img check clean. */
static void test_sigkill(void **state)
{
	const char *img = qf_path("kill.qcow2");

	QF_NEED_QEMU();
	for (int round = 0; round < 4; round++) {
		vmm_disk_check_result r = VMM_DISK_CHECK_RESULT_INIT;
		pid_t pid;
		int st;

		unlink(img);
		assert_int_equal(vmm__qcow2_create(img, GiB, &(vmm__qcow2_create_opts){
			.cluster_bits = round % 2 ? 12 : 16 }), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			static uint8_t buf[200000];
			unsigned s = (unsigned)round;
			vmm__qcow2 *q;

			if (vmm__qcow2_open(img, 0, &q) < 0)
				_exit(1);
			for (;;) {
				s = s * 1103515245u + 12345u;
				uint64_t off = (uint64_t)(s % (GiB / 4096 - 64)) * 4096 + (s >> 28);
				memset(buf, (int)s, sizeof(buf));
				if (vmm__qcow2_write(q, off, buf, (s >> 8) % sizeof(buf) + 1) < 0)
					_exit(2);
				if ((s >> 4) % 5 == 0 && vmm__qcow2_discard(q, off, 300000) < 0)
					_exit(3);
			}
		}
		usleep(300000 + (useconds_t)round * 150000);
		assert_int_equal(waitpid(pid, &st, WNOHANG), 0);   /* still writing */
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &st, 0), pid);
		int qc = qf_sh("qemu-img check -q %s >/dev/null 2>&1", img);
		assert_true(qc == 0 || qc == 3);
		assert_int_equal(vmm_disk_check(img, 1, &r), 0);
		print_message("kill %d: qemu-img check %d, %llu leaked clusters repaired\n", round, qc,
			      (unsigned long long)r.leaks_fixed);
		assert_int_equal(r.corruptions, 0);
		assert_int_equal(r.leaks_fixed, r.leaks);
		assert_int_equal(qf_sh("qemu-img check -q %s", img), 0);
		assert_int_equal(vmm_disk_check(img, 0, &r), 0);
		assert_int_equal(r.leaks + r.corruptions, 0);
	}
}

/* qemu-img's v2 images, compressed clusters (refused on read, with a
 * message) and internal snapshots (read-only). */
static void test_v2_compressed_snapshots(void **state)
{
	const char *v2 = qf_path("v2.qcow2"), *raw = qf_path("c.raw"), *comp = qf_path("c.qcow2");
	uint8_t buf[4096];
	vmm__qcow2 *q;

	QF_NEED_QEMU();
	assert_int_equal(qf_sh("qemu-img create -q -f qcow2 -o compat=0.10 %s 8M", v2), 0);
	assert_int_equal(vmm__qcow2_open(v2, 0, &q), 0);
	memset(buf, 0x3c, sizeof(buf));
	assert_int_equal(vmm__qcow2_write(q, 4096, buf, sizeof(buf)), 0);
	assert_int_equal(vmm__qcow2_write_zeroes(q, 0, 8 * MiB - 65536), 0);
	assert_int_equal(vmm__qcow2_write(q, 4096, buf, sizeof(buf)), 0);
	vmm__qcow2_close(q);
	assert_int_equal(qf_sh("qemu-img check -q %s", v2), 0);
	assert_int_equal(qf_sh("qemu-io -r -c 'read -P 0x3c 4096 4096' -c 'read -P 0 8192 1M' %s >/dev/null", v2), 0);

	assert_int_equal(qf_sh("yes compressible | head -c 1M > %s && qemu-img convert -c -O qcow2 %s %s",
			       raw, raw, comp), 0);
	assert_int_equal(vmm__qcow2_open(comp, VMM__QCOW2_RDONLY, &q), 0);
	assert_int_equal(vmm__qcow2_read(q, 0, buf, sizeof(buf)), VMM_ENOTSUP);
	assert_non_null(strstr(vmm_last_error(), "compressed"));
	vmm__qcow2_close(q);
	assert_int_equal(vmm__qcow2_open(comp, 0, &q), 0);
	memset(buf, 1, sizeof(buf));
	assert_int_equal(vmm__qcow2_write(q, 0, buf, 512), VMM_ENOTSUP);   /* needs the old data */
	vmm__qcow2_close(q);
	assert_int_equal(qf_sh("qemu-img check -q %s", comp), 0);

	assert_int_equal(qf_sh("qemu-img snapshot -c snap1 %s", v2), 0);
	assert_int_equal(vmm__qcow2_open(v2, 0, &q), VMM_ENOTSUP);
	assert_non_null(strstr(vmm_last_error(), "snapshot"));
	assert_int_equal(vmm__qcow2_open(v2, VMM__QCOW2_RDONLY, &q), 0);
	assert_int_equal(vmm__qcow2_read(q, 4096, buf, sizeof(buf)), 0);
	assert_int_equal(buf[0], 0x3c);
	vmm__qcow2_close(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qemu_image_rw),
		cmocka_unit_test(test_created_pass_check),
		cmocka_unit_test(test_thin_and_discard),
		cmocka_unit_test(test_write_zeroes),
		cmocka_unit_test(test_backing_clone),
		cmocka_unit_test(test_resize),
		cmocka_unit_test(test_lock),
		cmocka_unit_test(test_sigkill),
		cmocka_unit_test(test_v2_compressed_snapshots),
	};

	return cmocka_run_group_tests(tests, qf_setup, qf_teardown);
}
