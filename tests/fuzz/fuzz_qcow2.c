/* fuzz_qcow2.c - libFuzzer target for the qcow2 parser (make fuzz): the
 * input is an image file in a memfd, opened writable (no backing files, no
 * locks, no syncs); a few clusters are read, written, discarded and zeroed,
 * the image grown, then checked and repaired through /proc/self/fd. Any
 * crash, sanitizer report, leak or hang is a bug: bad images must be
 * refused with an error. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/storage/qcow2.h"

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static void exercise(vmm__qcow2 *q, uint64_t seed)
{
	static uint8_t buf[3 * 65536 + 17];
	uint64_t size = vmm__qcow2_size(q);
	vmm__qcow2_stats st;

	for (int i = 0; i < 6 && size; i++) {
		uint64_t off = mix(seed + i) % size, len = mix(seed ^ (i * 77u)) % sizeof(buf);

		if (len > size - off)
			len = size - off;
		switch (i % 6) {
		case 0: case 3:
			(void)vmm__qcow2_read(q, off, buf, len);
			break;
		case 1: case 4:
			memset(buf, (int)i, len);
			(void)vmm__qcow2_write(q, off, buf, len);
			break;
		case 2:
			(void)vmm__qcow2_discard(q, off, len);
			break;
		default:
			(void)vmm__qcow2_write_zeroes(q, off, len);
		}
	}
	(void)vmm__qcow2_resize(q, size + (mix(seed) % (64u << 20)));
	(void)vmm__qcow2_read(q, 0, buf, size < sizeof(buf) ? size : sizeof(buf));
	(void)vmm__qcow2_get_stats(q, &st);
	(void)vmm__qcow2_flush(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-qcow2", MFD_CLOEXEC);
	unsigned fl = VMM__QCOW2_NOBACKING | VMM__QCOW2_NOLOCK | VMM__QCOW2_NOSYNC;
	vmm__qcow2_check_result r;
	char path[64];
	vmm__qcow2 *q;
	uint64_t seed = size;

	if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	for (size_t i = 0; i < size && i < 64; i++)
		seed = seed * 131 + data[i];
	if (vmm__qcow2_open_fd(fd, VMM__QCOW2_RDONLY | fl, NULL, &q) == 0) {
		uint8_t b[4096];

		(void)vmm__qcow2_read(q, 0, b, vmm__qcow2_size(q) < sizeof(b) ? vmm__qcow2_size(q) : sizeof(b));
		vmm__qcow2_close(q);
	}
	if (vmm__qcow2_open_fd(fd, fl, NULL, &q) == 0) {
		exercise(q, seed);
		vmm__qcow2_close(q);
	}
	/* check, repair, and the repaired image must then open. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (vmm__qcow2_check(path, false, &r) == 0 && vmm__qcow2_check(path, true, &r) == 0 &&
	    vmm__qcow2_check(path, false, &r) == 0 && getenv("FUZZ_QCOW2_STRICT") &&
	    r.corruptions + r.leaks != 0)
		abort();   /* repair left inconsistencies */
	close(fd);
	return 0;
}
