/* storage_fixture.h - helpers of the storage tests over real targets
 * (test_storage_nbd.c, test_storage_iscsi.c): a block pattern, a stream of
 * asynchronous writes with a window of requests in flight, read-back and
 * image checks. Each test defines img (the image file) and BS. */
#ifndef STORAGE_FIXTURE_H
#define STORAGE_FIXTURE_H

#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static vmm_storage_path_info path_info(vmm_storage_dev *dev, uint32_t i)
{
	vmm_storage_path_info in = VMM_STORAGE_PATH_INFO_INIT;

	assert_int_equal(vmm_storage_path_get_info(dev, i, &in), 0);
	return in;
}

static void fill(uint8_t *b, uint64_t block, uint32_t gen)
{
	for (uint32_t k = 0; k < BS; k += 8) {
		uint64_t v = (block << 32) ^ ((uint64_t)gen << 16) ^ k;

		memcpy(b + k, &v, 8);
	}
}

/* The image file itself holds exactly the pattern of gen for [0, blocks). */
static void check_file(uint64_t blocks, uint32_t gen)
{
	uint8_t want[BS], got[BS];
	int fd = open(img, O_RDONLY);

	assert_true(fd >= 0);
	for (uint64_t b = 0; b < blocks; b++) {
		fill(want, b, gen);
		assert_int_equal(pread(fd, got, BS, (off_t)(b * BS)), BS);
		if (memcmp(want, got, BS) != 0)
			fail_msg("block %llu differs in the image", (unsigned long long)b);
	}
	close(fd);
}

/* ---- An asynchronous writer with a window of requests in flight ---- */

typedef struct stream {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint32_t done, failed, inflight, max_attempts;
	bool busy[64];
	vmm_storage_req req[64];
	uint8_t buf[64][BS];
} stream;

static void stream_done(vmm_storage_req *r)
{
	stream *s = r->opaque;

	pthread_mutex_lock(&s->lock);
	s->done++;
	if (r->result)
		s->failed++;
	if (r->attempts > s->max_attempts)
		s->max_attempts = r->attempts;
	s->inflight--;
	s->busy[r - s->req] = false;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* Writes blocks [0, n) with gen's pattern, `window` at a time; calls
 * midway(arg) once when half are done. */
static void write_stream(vmm_storage_dev *dev, stream *s, uint32_t n, uint32_t gen,
			 void (*midway)(void), uint32_t window)
{
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->done = s->failed = s->inflight = s->max_attempts = 0;
	memset(s->busy, 0, sizeof(s->busy));
	for (uint32_t b = 0; b < n; b++) {
		uint32_t slot = 0;
		vmm_storage_req *r;

		pthread_mutex_lock(&s->lock);
		while (s->inflight == window)
			pthread_cond_wait(&s->cond, &s->lock);
		while (s->busy[slot])
			slot++;
		s->busy[slot] = true;
		s->inflight++;
		pthread_mutex_unlock(&s->lock);
		r = &s->req[slot];
		if (b == n / 2 && midway)
			midway();
		fill(s->buf[slot], b, gen);
		*r = (vmm_storage_req)VMM_STORAGE_REQ_INIT;
		r->op = VMM_STORAGE_OP_WRITE;
		r->offset = (uint64_t)b * BS;
		r->length = BS;
		r->buf = s->buf[slot];
		r->done = stream_done;
		r->opaque = s;
		assert_int_equal(vmm_storage_submit(dev, r), 0);
	}
	pthread_mutex_lock(&s->lock);
	while (s->inflight)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
}

static void read_back(vmm_storage_dev *dev, uint32_t n, uint32_t gen)
{
	uint8_t want[BS], got[BS];

	for (uint32_t b = 0; b < n; b++) {
		fill(want, b, gen);
		assert_int_equal(vmm_storage_io(dev, VMM_STORAGE_OP_READ, (uint64_t)b * BS, got,
						BS), 0);
		if (memcmp(want, got, BS) != 0)
			fail_msg("block %u reads back wrong", b);
	}
}

static uint32_t wait_state(vmm_storage_dev *dev, uint32_t path, uint32_t state, uint32_t ms)
{
	uint64_t end = now_ms() + ms;
	uint32_t st;

	while ((st = path_info(dev, path).state) != state && now_ms() < end)
		usleep(10000);
	return st;
}

#endif /* STORAGE_FIXTURE_H */
