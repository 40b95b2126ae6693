/* guest_io.c - `make bench-storage`'s guest side: a static program in the
 * benchmark guest's initramfs (tests/bench/init-bench-storage.sh) that
 * measures one block device with O_DIRECT, one request at a time: 4 KiB
 * random reads and writes (IOPS) over the first 64 MiB, then 1 MiB
 * sequential reads and writes (MiB/s), each for SECONDS. Prints
 * "T: NAME rand-read IOPS rand-write IOPS seq-read MiB/s seq-write MiB/s".
 *   guest_io DEVICE NAME SECONDS */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SPAN (64ull << 20)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Requests of len per second for secs (random offsets or sequential). */
static double run(int fd, void *buf, size_t len, int write, int random, double secs)
{
	unsigned long long x = 88172645463325252ull, n = 0, blocks = SPAN / len;
	double start = now(), t;

	do {
		off_t off;
		ssize_t r;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		off = (off_t)((random ? x % blocks : n % blocks) * len);
		r = write ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);
		if (r != (ssize_t)len) {
			perror("guest_io");
			exit(1);
		}
		n++;
		t = now();
	} while (t - start < secs);
	return (double)n / (t - start);
}

int main(int argc, char **argv)
{
	double secs = argc == 4 ? atof(argv[3]) : 0, rr, rw, sr, sw;
	void *buf;
	int fd;

	if (argc != 4 || secs <= 0 || (fd = open(argv[1], O_RDWR | O_DIRECT)) < 0 ||
	    posix_memalign(&buf, 4096, 1 << 20)) {
		fprintf(stderr, "usage: guest_io DEVICE NAME SECONDS (O_DIRECT open)\n");
		return 2;
	}
	memset(buf, 0x5a, 1 << 20);
	rr = run(fd, buf, 4096, 0, 1, secs);
	rw = run(fd, buf, 4096, 1, 1, secs);
	sr = run(fd, buf, 1 << 20, 0, 0, secs);
	sw = run(fd, buf, 1 << 20, 1, 0, secs);
	printf("T: %s rand-read %.0f IOPS rand-write %.0f IOPS seq-read %.1f MiB/s seq-write %.1f MiB/s\n",
	       argv[2], rr, rw, sr, sw);
	return 0;
}
