/* qcow2_fixture.h - shared helpers of the qcow2 tests: a scratch folder,
 * running qemu-img/qemu-io, and reading/patching image bytes. */
#ifndef QCOW2_FIXTURE_H
#define QCOW2_FIXTURE_H

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/storage/qcow2.h"
#include "vmm.h"

static char qf_dir[64];

/* Runs a shell command built from fmt; returns its exit status. */
__attribute__((format(printf, 1, 2))) static int qf_sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static __attribute__((unused)) int qf_have_qemu(void)
{
	return qf_sh("command -v qemu-img >/dev/null 2>&1 && command -v qemu-io >/dev/null 2>&1") == 0;
}

#define QF_NEED_QEMU()                                                              \
	do {                                                                        \
		if (!qf_have_qemu()) {                                              \
			print_message("skipped: qemu-img/qemu-io (qemu-utils) not installed\n"); \
			skip();                                                     \
		}                                                                   \
	} while (0)

/* dir/name; the strings live until the test program ends. */
static const char *qf_path(const char *name)
{
	static char buf[256][160];
	static unsigned n;
	char *p = buf[n++ % 256];

	snprintf(p, 160, "%s/%s", qf_dir, name);
	return p;
}

static __attribute__((unused)) int qf_setup(void **state)
{
	snprintf(qf_dir, sizeof(qf_dir), "/tmp/vmm-qcow2-XXXXXX");
	return mkdtemp(qf_dir) ? 0 : -1;
}

static __attribute__((unused)) int qf_teardown(void **state)
{
	return qf_sh("rm -rf '%s'", qf_dir) == 0 ? 0 : -1;
}

static __attribute__((unused)) uint64_t qf_be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Reads n (<= 8) big-endian bytes at off of the file. */
static __attribute__((unused)) uint64_t qf_get(const char *path, uint64_t off, int n)
{
	uint8_t b[8] = { 0 };
	int fd = open(path, O_RDONLY);

	if (fd < 0 || pread(fd, b, (size_t)n, (off_t)off) != n)
		fail_msg("read %s at %llu", path, (unsigned long long)off);
	close(fd);
	return qf_be(b, n);
}

/* Writes v as n big-endian bytes at off. */
static __attribute__((unused)) void qf_put(const char *path, uint64_t off, int n, uint64_t v)
{
	uint8_t b[8];
	int fd = open(path, O_WRONLY);

	for (int i = n - 1; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
	if (fd < 0 || pwrite(fd, b, (size_t)n, (off_t)off) != n)
		fail_msg("patch %s at %llu", path, (unsigned long long)off);
	close(fd);
}

static __attribute__((unused)) uint64_t qf_blocks(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (uint64_t)st.st_blocks * 512;
}

static __attribute__((unused)) uint64_t qf_fsize(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (uint64_t)st.st_size;
}

/* A field of `qemu-img info --output=json PATH` (a number), or -1. */
static __attribute__((unused)) long long qf_info_num(const char *path, const char *key)
{
	char cmd[600], out[8192], *p;
	size_t n;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "qemu-img info --output=json '%s' 2>/dev/null", path);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	n = fread(out, 1, sizeof(out) - 1, f);
	pclose(f);
	out[n] = '\0';
	snprintf(cmd, sizeof(cmd), "\"%s\": ", key);
	p = strstr(out, cmd);
	return p ? strtoll(p + strlen(cmd), NULL, 10) : -1;
}

/* Whether `qemu-img info --output=json` contains the text s. */
static __attribute__((unused)) int qf_info_has(const char *path, const char *s)
{
	return qf_sh("qemu-img info --output=json '%s' 2>/dev/null | grep -qF '%s'", path, s) == 0;
}

static __attribute__((unused)) void qf_fill(uint8_t *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (uint8_t)(seed >> 16);
	}
}

#endif
