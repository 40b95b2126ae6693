/* test_virtio_vsock.c - virtio-vsock (lib/virtio/vsock*.c) driven through
 * the PCI transport as a guest driver would, against real Unix sockets:
 * a guest connection reaching PATH_P and data both ways with the credit
 * fields, a host "CONNECT P" answered "OK H", refusals as RST, and hostile
 * packets (short, bad lengths, unknown operations, spoofed CIDs, credit
 * lies, random headers) answered with RST or dropped; a driver reset ends
 * every connection at once. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/platform/pci.h"
#include "lib/platform/platform.h"
#include "lib/virtio/virtio_pci.h"

#include "virtio_multi.h"

#define CID 3u
#define RXBUF(slot) (0x200000ull + (uint64_t)(slot) * 0x2000ull)
#define RXLEN 4096u
#define TXBUF(slot) (0x400000ull + (uint64_t)(slot) * 0x20000ull)
enum { REQUEST = 1, RESPONSE, RST, SHUTDOWN, RW, CREDIT_UPDATE, CREDIT_REQUEST };

typedef struct pkt {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
	uint8_t data[RXLEN];
} pkt;

static drv d;
static char dir[64], path[128];
static uint16_t rx_seen;

static int add_vsock(vmm_vm *vm, void *arg)
{
	vmm_vsock_config c = VMM_VSOCK_CONFIG_INIT;

	c.guest_cid = CID;
	c.uds_path = path;
	return vmm_virtio_vsock_add(vm, &c);
}

static int setup(void **state)
{
	strcpy(dir, "/tmp/vmm-vsock-test.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/v.sock", dir);
	assert_int_equal(drv_open(&d, add_vsock, NULL), 0);
	drv_start(&d, 0, 3);
	rx_seen = 0;
	return 0;
}

static int teardown(void **state)
{
	char cmd[160];

	drv_close(&d);
	assert_int_equal(access(path, F_OK), -1);   /* the device removed its socket */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void put_hdr(uint8_t *b, const pkt *p)
{
	memcpy(b + 0, &p->src_cid, 8);
	memcpy(b + 8, &p->dst_cid, 8);
	memcpy(b + 16, &p->src_port, 4);
	memcpy(b + 20, &p->dst_port, 4);
	memcpy(b + 24, &p->len, 4);
	memcpy(b + 28, &p->type, 2);
	memcpy(b + 30, &p->op, 2);
	memcpy(b + 32, &p->flags, 4);
	memcpy(b + 36, &p->buf_alloc, 4);
	memcpy(b + 40, &p->fwd_cnt, 4);
}

/* Receive buffers of RXLEN bytes until n are outstanding (the fixture has
 * 16 descriptor slots per queue), then a kick. */
static void post_rx(unsigned n)
{
	while ((uint16_t)(d.avail[0] - drv_used_idx(&d, 0)) < n) {
		uint64_t gpa = RXBUF(d.avail[0] % 16);
		uint32_t len = RXLEN;
		int wr = 1;

		drv_post(&d, 0, 1, &gpa, &len, &wr);
	}
	drv_kick(&d, 0);
}

/* A raw packet of total bytes (header and payload) in two descriptors. */
static void send_raw(const uint8_t *b, uint32_t hdr_len, const void *data, uint32_t len)
{
	uint64_t base = TXBUF(d.avail[1] % 16), gpa[2] = { base, base + 0x1000 };
	uint32_t l[2] = { hdr_len, len };
	int wr[2] = { 0, 0 };
	uint16_t want = (uint16_t)(d.avail[1] + 1);

	vmm_mem_write(d.vm, gpa[0], b, hdr_len);
	if (len)
		vmm_mem_write(d.vm, gpa[1], data, len);
	drv_post(&d, 1, len ? 2 : 1, gpa, l, wr);
	drv_kick(&d, 1);
	assert_true(drv_wait_used(&d, 1, want));
}

static void send_pkt(uint16_t op, uint32_t sport, uint32_t dport, const void *data,
		     uint32_t len)
{
	pkt p = { .src_cid = CID, .dst_cid = 2, .src_port = sport, .dst_port = dport,
		  .len = len, .type = 1, .op = op, .buf_alloc = 65536 };
	uint8_t b[44];

	put_hdr(b, &p);
	send_raw(b, 44, data, len);
}

/* The next packet the device gave the guest, waiting up to ms. */
static bool recv_pkt(pkt *p, int ms)
{
	uint8_t b[44];
	uint32_t id, len;

	for (int i = 0; i < ms && drv_used_idx(&d, 0) == rx_seen; i++)
		usleep(1000);
	if (drv_used_idx(&d, 0) == rx_seen)
		return false;
	len = drv_used_len(&d, 0, rx_seen++, &id);
	assert_true(len >= 44 && len <= RXLEN);
	vmm_mem_read(d.vm, RXBUF(id / 4), b, 44);
	memcpy(&p->src_cid, b + 0, 8);
	memcpy(&p->dst_cid, b + 8, 8);
	memcpy(&p->src_port, b + 16, 4);
	memcpy(&p->dst_port, b + 20, 4);
	memcpy(&p->len, b + 24, 4);
	memcpy(&p->type, b + 28, 2);
	memcpy(&p->op, b + 30, 2);
	memcpy(&p->flags, b + 32, 4);
	memcpy(&p->buf_alloc, b + 36, 4);
	memcpy(&p->fwd_cnt, b + 40, 4);
	assert_int_equal(p->len, len - 44);
	vmm_mem_read(d.vm, RXBUF(id / 4) + 44, p->data, p->len);
	return true;
}

static void expect_pkt(uint16_t op, uint32_t sport, uint32_t dport, pkt *p)
{
	assert_true(recv_pkt(p, 3000));
	assert_int_equal(p->op, op);
	assert_int_equal(p->src_cid, 2);
	assert_int_equal(p->dst_cid, CID);
	assert_int_equal(p->type, 1);
	if (sport)
		assert_int_equal(p->src_port, sport);
	assert_int_equal(p->dst_port, dport);
}

static int unix_listen(const char *p)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(a.sun_path, p);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static int unix_connect(const char *p)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(a.sun_path, p);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* read() with a 3 s limit: bytes read, 0 at EOF, -1 on timeout. */
static ssize_t read_wait(int fd, void *buf, size_t len)
{
	struct pollfd p = { fd, POLLIN, 0 };

	if (poll(&p, 1, 3000) != 1)
		return -1;
	return read(fd, buf, len);
}

static void test_identity(void **state)
{
	uint64_t cid = drv_bar(&d, VMM__VPCI_DEVICE, 8, 0, 0);

	assert_int_equal(drv_cfg(&d, 0x00, 2, 0, 0), 0x1af4);
	assert_int_equal(drv_cfg(&d, 0x02, 2, 0, 0), 0x1040 + 19);
	assert_int_equal(cid, CID);
	assert_int_equal(access(path, F_OK), 0);     /* listening */
}

/* Guest connects to port 5000: PATH_5000 accepts, data flows both ways. */
static void test_guest_connect(void **state)
{
	char p5000[160], buf[16];
	int lfd, hfd;
	pkt p;

	snprintf(p5000, sizeof(p5000), "%s_5000", path);
	lfd = unix_listen(p5000);
	post_rx(8);
	send_pkt(REQUEST, 1234, 5000, NULL, 0);
	expect_pkt(RESPONSE, 5000, 1234, &p);
	assert_int_equal(p.buf_alloc, 256 * 1024);
	hfd = accept(lfd, NULL, NULL);
	assert_true(hfd >= 0);
	send_pkt(RW, 1234, 5000, "hello", 5);
	assert_int_equal(read_wait(hfd, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(write(hfd, "world!", 6), 6);
	expect_pkt(RW, 5000, 1234, &p);
	assert_int_equal(p.len, 6);
	assert_memory_equal(p.data, "world!", 6);
	assert_int_equal(p.fwd_cnt, 5);               /* the 5 bytes reached the host */
	/* The guest closes: SHUTDOWN both ways, answered with RST. */
	pkt q = { .src_cid = CID, .dst_cid = 2, .src_port = 1234, .dst_port = 5000,
		  .type = 1, .op = SHUTDOWN, .flags = 3, .buf_alloc = 65536, .fwd_cnt = 6 };
	uint8_t b[44];

	put_hdr(b, &q);
	send_raw(b, 44, NULL, 0);
	expect_pkt(RST, 5000, 1234, &p);
	assert_int_equal(read_wait(hfd, buf, sizeof(buf)), 0);   /* host sees EOF */
	close(hfd);
	close(lfd);
}

/* The driver resets the device and starts it again at once: the reset
 * callback has closed the host's side before the restart, so the I/O
 * thread never sees a connection the new driver does not know. */
static void test_reset_ends_connections(void **state)
{
	char p5000[160], buf[16];
	int lfd, hfd;
	pkt p;

	snprintf(p5000, sizeof(p5000), "%s_5000", path);
	lfd = unix_listen(p5000);
	post_rx(8);
	send_pkt(REQUEST, 1234, 5000, NULL, 0);
	expect_pkt(RESPONSE, 5000, 1234, &p);
	hfd = accept(lfd, NULL, NULL);
	assert_true(hfd >= 0);
	drv_start(&d, 0, 3);                         /* status 0, then DRIVER_OK */
	{
		struct pollfd pf = { hfd, POLLIN, 0 };

		assert_int_equal(poll(&pf, 1, 0), 1);    /* EOF already there */
	}
	assert_int_equal(read(hfd, buf, sizeof(buf)), 0);
	close(hfd);
	close(lfd);
}

static void test_refused(void **state)
{
	pkt p;

	post_rx(4);
	send_pkt(REQUEST, 77, 5999, NULL, 0);          /* nobody at PATH_5999 */
	expect_pkt(RST, 5999, 77, &p);
	send_pkt(RW, 77, 5999, "x", 1);                /* no such connection */
	expect_pkt(RST, 5999, 77, &p);
}

/* Host connects through PATH with "CONNECT 7777": REQUEST to the guest,
 * RESPONSE, "OK H" to the host, data both ways, the host's EOF. */
static void test_host_connect(void **state)
{
	char buf[64];
	uint32_t hport;
	int fd;
	pkt p;

	post_rx(8);
	fd = unix_connect(path);
	assert_int_equal(write(fd, "CONNECT 7777\nping", 17), 17);
	expect_pkt(REQUEST, 0, 7777, &p);
	hport = p.src_port;
	assert_int_equal(hport, 1u << 30);
	send_pkt(RESPONSE, 7777, hport, NULL, 0);
	assert_int_equal(read_wait(fd, buf, sizeof(buf)), 14);
	assert_memory_equal(buf, "OK 1073741824\n", 14);
	expect_pkt(RW, hport, 7777, &p);                /* the bytes after the line */
	assert_int_equal(p.len, 4);
	assert_memory_equal(p.data, "ping", 4);
	send_pkt(RW, 7777, hport, "pong", 4);
	assert_int_equal(read_wait(fd, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "pong", 4);
	shutdown(fd, SHUT_WR);
	expect_pkt(SHUTDOWN, hport, 7777, &p);
	assert_true(p.flags & 2);                       /* the host sends no more */
	send_pkt(SHUTDOWN, 7777, hport, NULL, 0);       /* flags 0: nothing new */
	send_pkt(RST, 7777, hport, NULL, 0);
	assert_int_equal(read_wait(fd, buf, sizeof(buf)), 0);
	close(fd);
	/* The guest refuses the next one: the host's socket is closed. */
	fd = unix_connect(path);
	assert_int_equal(write(fd, "CONNECT 7778\n", 13), 13);
	expect_pkt(REQUEST, 0, 7778, &p);
	assert_int_equal(p.src_port, (1u << 30) + 1);
	send_pkt(RST, 7778, p.src_port, NULL, 0);
	assert_int_equal(read_wait(fd, buf, sizeof(buf)), 0);
	close(fd);
}

static void test_bad_connect_lines(void **state)
{
	static const char *const lines[] = {
		"HELLO 5\n", "CONNECT\n", "CONNECT x1\n", "CONNECT 99999999999\n",
		"CONNECT 5 6\n", "CONNECT 0000000000000000000000000012\n",
	};
	char buf[8];
	pkt p;

	post_rx(4);
	for (unsigned i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		int fd = unix_connect(path);

		assert_int_equal(write(fd, lines[i], strlen(lines[i])), (ssize_t)strlen(lines[i]));
		ssize_t r = read_wait(fd, buf, sizeof(buf));

		/* closed: EOF, or a reset when it closed with the rest unread */
		assert_true(r == 0 || (r < 0 && errno == ECONNRESET));
		close(fd);
	}
	assert_false(recv_pkt(&p, 100));                /* the guest saw nothing */
}

static void test_hostile_packets(void **state)
{
	uint8_t b[64] = { 0 }, big[70000] = { 0 };
	pkt p, q = { .src_cid = CID, .dst_cid = 2, .src_port = 9, .dst_port = 5000,
		     .type = 1, .op = RW, .len = 100, .buf_alloc = 65536 };

	post_rx(12);
	send_raw(b, 20, NULL, 0);                       /* shorter than a header */
	assert_false(recv_pkt(&p, 100));
	put_hdr(b, &q);
	send_raw(b, 44, "0123456789", 10);              /* len 100, 10 bytes there */
	expect_pkt(RST, 5000, 9, &p);
	q.op = 99, q.len = 0;                           /* unknown operation */
	put_hdr(b, &q);
	send_raw(b, 44, NULL, 0);
	expect_pkt(RST, 5000, 9, &p);
	q.op = REQUEST, q.type = 2;                     /* SEQPACKET: not offered */
	put_hdr(b, &q);
	send_raw(b, 44, NULL, 0);
	expect_pkt(RST, 5000, 9, &p);
	q.type = 1, q.dst_cid = 7;                      /* another VM's CID */
	put_hdr(b, &q);
	send_raw(b, 44, NULL, 0);
	expect_pkt(RST, 5000, 9, &p);
	q.dst_cid = 2, q.src_cid = 5;                   /* spoofed source: dropped */
	put_hdr(b, &q);
	send_raw(b, 44, NULL, 0);
	q.src_cid = CID, q.op = RST;                    /* an RST for nothing */
	put_hdr(b, &q);
	send_raw(b, 44, NULL, 0);
	q.op = RW, q.len = sizeof(big);                 /* over 64 KiB */
	put_hdr(b, &q);
	send_raw(b, 44, big, sizeof(big));
	expect_pkt(RST, 5000, 9, &p);
	assert_false(recv_pkt(&p, 100));
	assert_false(drv_status(&d) & VMM__VIRTIO_NEEDS_RESET);
}

/* More data than the 256 KiB of credit we gave: RST, the host gets what
 * was written before and then EOF. */
static void test_credit_lie(void **state)
{
	static uint8_t chunk[65536];
	char p5000[160];
	int lfd, hfd, rst = 0;
	size_t got = 0;
	ssize_t n;
	pkt p;

	snprintf(p5000, sizeof(p5000), "%s_5000", path);
	lfd = unix_listen(p5000);
	post_rx(1);
	send_pkt(REQUEST, 40, 5000, NULL, 0);
	expect_pkt(RESPONSE, 5000, 40, &p);
	hfd = accept(lfd, NULL, NULL);
	for (int i = 0; i < 5; i++)                     /* no rx buffers: no updates */
		send_pkt(RW, 40, 5000, chunk, sizeof(chunk));
	post_rx(8);
	while (recv_pkt(&p, 500))
		rst |= p.op == RST && p.dst_port == 40;
	assert_true(rst);
	while ((n = read_wait(hfd, chunk, sizeof(chunk))) > 0)
		got += (size_t)n;
	assert_int_equal(n, 0);
	assert_true(got > 0 && got <= 4 * sizeof(chunk));   /* staged bytes are dropped */
	close(hfd);
	close(lfd);
}

/* A CREDIT_UPDATE queued for a connection (the guest gave no rx buffer)
 * reached the guest after the guest reset it and connected again with the
 * same ports: its fwd_cnt counted as told to the new connection, whose
 * first packet then looked past its credit (reset), or, had that packet
 * been as large as the stale count, let it take more than the 256 KiB of
 * credit it was given. Now the packet counts only for its own connection. */
static void test_stale_credit(void **state)
{
	static uint8_t chunk[4096];
	char p5001[160], buf[4096];
	int lfd, h1, h2;
	bool rst = false;
	pkt p;

	snprintf(p5001, sizeof(p5001), "%s_5001", path);
	lfd = unix_listen(p5001);
	post_rx(1);
	send_pkt(REQUEST, 1234, 5001, NULL, 0);
	expect_pkt(RESPONSE, 5001, 1234, &p);
	h1 = accept(lfd, NULL, NULL);
	for (int i = 0; i < 16; i++)                 /* 64 KiB reach the host */
		send_pkt(RW, 1234, 5001, chunk, sizeof(chunk));
	send_pkt(CREDIT_REQUEST, 1234, 5001, NULL, 0);   /* queued: no rx buffer */
	send_pkt(RST, 1234, 5001, NULL, 0);
	send_pkt(REQUEST, 1234, 5001, NULL, 0);          /* the same ports again */
	h2 = accept(lfd, NULL, NULL);
	post_rx(2);
	expect_pkt(CREDIT_UPDATE, 5001, 1234, &p);       /* the old connection's */
	assert_int_equal(p.fwd_cnt, 65536);
	expect_pkt(RESPONSE, 5001, 1234, &p);
	send_pkt(RW, 1234, 5001, chunk, sizeof(chunk));  /* within the new credit */
	assert_int_equal(read_wait(h2, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	for (int i = 1; i < 64 + 1; i++)                 /* to 256 KiB, then 4 more */
		send_pkt(RW, 1234, 5001, chunk, sizeof(chunk));
	for (int got = 1; got;) {                         /* the updates queued, then RST */
		post_rx(8);
		for (got = 0; got < 8 && recv_pkt(&p, 300); got++)
			rst |= p.op == RST && p.dst_port == 1234;
	}
	assert_true(rst);
	close(h1);
	close(h2);
	close(lfd);
}

/* A reset at once followed by DRIVER_OK: the I/O thread never saw the
 * driver not ready, so the guest's connection stayed open on the host.
 * The transport now calls the device's reset: the host sees EOF. */
static void test_reset_closes(void **state)
{
	char p5002[160], buf[8];
	int lfd, hfd;
	pkt p;

	snprintf(p5002, sizeof(p5002), "%s_5002", path);
	lfd = unix_listen(p5002);
	post_rx(2);
	send_pkt(REQUEST, 1234, 5002, NULL, 0);
	expect_pkt(RESPONSE, 5002, 1234, &p);
	hfd = accept(lfd, NULL, NULL);
	assert_true(hfd >= 0);
	drv_start(&d, 0, 3);                          /* reset, set up, DRIVER_OK */
	assert_int_equal(read_wait(hfd, buf, sizeof(buf)), 0);
	close(hfd);
	close(lfd);
}

static void test_random_headers(void **state)
{
	uint32_t seed = 12345;
	uint8_t b[44], data[256];
	pkt p;

	for (int round = 0; round < 1500; round++) {
		pkt q;

		for (unsigned i = 0; i < sizeof(b); i++) {
			seed = seed * 1103515245u + 12345u;
			b[i] = (uint8_t)(seed >> 16);
		}
		memcpy(&q, &(pkt){ .src_cid = CID, .dst_cid = 2, .type = 1 }, sizeof(q));
		q.op = (uint16_t)(b[0] % 9);
		q.src_port = b[1] % 4;
		q.dst_port = b[2] % 4;
		q.len = b[3] % 2 ? (uint32_t)(b[4] % 255) : b[5] * 1000u;
		q.flags = b[6] % 5;
		q.buf_alloc = b[7] * 1000u;
		q.fwd_cnt = b[8] * 100u;
		if (b[9] % 8 == 0)
			q.src_cid = b[10];
		put_hdr(b, &q);
		send_raw(b, 44, data, (uint32_t)(b[11] % 255));
		if (round % 8 == 0)
			post_rx(4);
		while (recv_pkt(&p, 0))
			assert_int_equal(p.dst_cid, CID);
	}
	assert_false(drv_status(&d) & VMM__VIRTIO_NEEDS_RESET);
	/* Still works: the replies queued meanwhile come out, then a refusal
	 * as usual. */
	for (int n = 1; n;) {
		post_rx(16);
		for (n = 0; recv_pkt(&p, 200); n++)
			;
	}
	send_pkt(REQUEST, 1, 5999, NULL, 0);
	expect_pkt(RST, 5999, 1, &p);
}

static void test_config_errors(void **state)
{
	vmm_vsock_config c = VMM_VSOCK_CONFIG_INIT;
	char longp[200];

	c.uds_path = "/tmp/x";
	for (uint32_t cid = 0; cid < 3; cid++) {
		c.guest_cid = cid;
		assert_int_equal(vmm_virtio_vsock_add(d.vm, &c), VMM_EINVAL);
	}
	c.guest_cid = UINT32_MAX;
	assert_int_equal(vmm_virtio_vsock_add(d.vm, &c), VMM_EINVAL);
	c.guest_cid = 4;
	c.uds_path = NULL;
	assert_int_equal(vmm_virtio_vsock_add(d.vm, &c), VMM_EINVAL);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = 0;
	c.uds_path = longp;
	assert_int_equal(vmm_virtio_vsock_add(d.vm, &c), VMM_EINVAL);
	c.uds_path = "/tmp/x";
	assert_int_equal(vmm_virtio_vsock_add(d.vm, &c), VMM_EBUSY);   /* one per VM */
	assert_non_null(strstr(vmm_last_error(), "has a vsock"));
	c.flags = 1;
	assert_int_equal(vmm_virtio_vsock_add(d.vm, &c), VMM_EINVAL);
	assert_int_equal(vmm_virtio_vsock_add(NULL, &c), VMM_EINVAL);
}

static void test_bad_path(void **state)
{
	vmm_vsock_config c = VMM_VSOCK_CONFIG_INIT;
	vmm_vm_config vc = VMM_VM_CONFIG_INIT;
	vmm_vm *vm;

	vc.backend = "emu";
	vc.mem_size = 16u << 20;
	vc.flags = VMM_VM_IRQCHIP;
	assert_int_equal(vmm_vm_create(&vc, &vm), 0);
	c.guest_cid = 3;
	c.uds_path = "/nonexistent-dir/v.sock";
	assert_int_equal(vmm_virtio_vsock_add(vm, &c), VMM_EIO);
	assert_non_null(strstr(vmm_last_error(), "/nonexistent-dir/v.sock"));
	vmm_vm_destroy(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_connect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_ends_connections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_connect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_connect_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_packets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_credit_lie, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_credit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_closes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
		cmocka_unit_test(test_bad_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
