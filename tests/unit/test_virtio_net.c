/* test_virtio_net.c - virtio-net (lib/virtio/net*.c) driven through the PCI
 * transport: two VMs in one process joined by an in-process pair (frames
 * byte-exact with their header both ways, drops and errors counted,
 * checksum offload filled in for a peer that did not take it), hostile
 * transmit chains, random rings, user-mode networking (libslirp: ARP and a
 * forwarded port on loopback), and a real TAP interface in a fresh
 * network namespace seen through an AF_PACKET socket. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/ethernet.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/platform/pci.h"
#include "lib/platform/platform.h"
#include "lib/virtio/virtio_pci.h"

#include "virtio_multi.h"

#define F_CSUM (1ull << 0)
#define F_GUEST_CSUM (1ull << 1)
#define F_MTU (1ull << 3)
#define F_MAC (1ull << 5)
#define F_STATUS (1ull << 16)
#define F_ALL (F_CSUM | F_GUEST_CSUM | F_MTU | F_MAC | F_STATUS)
#define F_PAIR_GSO (0x7ull << 7 | 0x7ull << 11)   /* GUEST_ and HOST_ TSO4, TSO6, ECN */
#define RXBUF 0x100000ull           /* rx buffers: 0x1000 apart */
#define TXHDR 0x200000ull
#define TXDATA 0x201000ull
#define ETHERTYPE 0x88b5            /* IEEE local experimental */

static drv a, b;
static const uint8_t mac_a[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };

static int add_net(vmm_vm *vm, void *arg)
{
	return vmm_virtio_net_add(vm, arg);
}

static void open_pair(const char *name, uint32_t flags)
{
	vmm_net_config c = VMM_NET_CONFIG_INIT;

	c.pair = name;
	c.flags = flags;
	memcpy(c.mac, mac_a, 6);
	assert_int_equal(drv_open(&a, add_net, &c), 0);
	memset(c.mac, 0, 6);
	c.mtu = 9000;
	assert_int_equal(drv_open(&b, add_net, &c), 0);
}

static int teardown(void **state)
{
	if (a.vm)
		drv_close(&a);
	if (b.vm)
		drv_close(&b);
	return 0;
}

static vmm_net_stats stats(drv *d)
{
	vmm_net_stats s = { .size = sizeof(s) };

	assert_int_equal(vmm_virtio_net_stats(d->vm, 0, &s), 0);
	return s;
}

/* n receive buffers of len bytes each. */
static void post_rx(drv *d, unsigned n, uint32_t len)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t gpa = RXBUF + 0x1000ull * ((d->avail[0] + 0u) % 16u) * 16u;
		int wr = 1;

		drv_post(d, 0, 1, &gpa, &len, &wr);
	}
	drv_kick(d, 0);
}

static uint64_t rx_gpa(uint16_t i)
{
	return RXBUF + 0x1000ull * (i % 16u) * 16u;
}

/* Transmits header + frame as two descriptors and waits for the used entry. */
static void send_frame(drv *d, const uint8_t *hdr, uint32_t hlen, const uint8_t *f,
		       uint32_t flen)
{
	uint64_t gpa[2] = { TXHDR, TXDATA };
	uint32_t len[2] = { hlen, flen };
	int wr[2] = { 0, 0 };
	uint16_t want = (uint16_t)(d->avail[1] + 1);

	vmm_mem_write(d->vm, TXHDR, hdr, hlen);
	vmm_mem_write(d->vm, TXDATA, f, flen);
	drv_post(d, 1, flen ? 2 : 1, gpa, len, wr);
	drv_kick(d, 1);
	assert_true(drv_wait_used(d, 1, want));
}

static uint32_t make_frame(uint8_t *f, uint32_t len, uint8_t seed)
{
	memset(f, 0xff, 6);                              /* broadcast */
	memcpy(f + 6, mac_a, 6);
	f[12] = ETHERTYPE >> 8, f[13] = ETHERTYPE & 0xff;
	for (uint32_t i = 14; i < len; i++)
		f[i] = (uint8_t)(seed + i * 7);
	return len;
}

static void test_config_and_features(void **state)
{
	uint8_t cfg[12];
	uint64_t feat;

	open_pair("cfg", 0);
	assert_int_equal(drv_cfg(&a, 0, 4, 0, 0), 0x10411af4);      /* 1af4:1041 */
	assert_int_equal(drv_cfg(&a, 0x08, 4, 0, 0) >> 8, 0x020000); /* network */
	for (unsigned i = 0; i < 12; i++)
		cfg[i] = (uint8_t)drv_bar(&a, VMM__VPCI_DEVICE + i, 1, 0, 0);
	assert_memory_equal(cfg, mac_a, 6);
	assert_int_equal(cfg[6] | cfg[7] << 8, 1);                   /* LINK_UP */
	assert_int_equal(cfg[8] | cfg[9] << 8, 1);                   /* one pair */
	assert_int_equal(cfg[10] | cfg[11] << 8, 1500);
	assert_int_equal(drv_bar(&b, VMM__VPCI_DEVICE + 10, 2, 0, 0), 9000);
	assert_int_equal(drv_bar(&b, VMM__VPCI_DEVICE, 1, 0, 0), 0x52);   /* generated */
	feat = drv_features(&a);
	assert_int_equal(feat & 0xffffffu, F_ALL | F_PAIR_GSO);
	assert_int_equal(drv_bar(&a, 18, 2, 0, 0), 2);               /* rx + tx */
	drv_close(&a), drv_close(&b);
	open_pair("cfg2", VMM_NET_NO_OFFLOAD);
	assert_int_equal(drv_features(&a) & 0xffffffu, F_MTU | F_MAC | F_STATUS);
}

static void test_pair_frames(void **state)
{
	uint8_t hdr[12] = { 0 }, f[200], got[300];
	vmm_net_stats s;

	open_pair("pair1", 0);
	drv_start(&a, F_ALL, 2);
	drv_start(&b, F_ALL, 2);
	post_rx(&b, 2, 2048);
	send_frame(&a, hdr, 12, f, make_frame(f, 200, 1));
	assert_int_equal(drv_used_idx(&b, 0), 1);
	assert_int_equal(drv_used_len(&b, 0, 0, NULL), 212);
	vmm_mem_read(b.vm, rx_gpa(0), got, 212);
	assert_int_equal(got[10] | got[11] << 8, 1);                 /* num_buffers */
	got[10] = 0;
	assert_memory_equal(got, hdr, 10);
	assert_memory_equal(got + 12, f, 200);
	assert_int_equal(drv_bar(&b, VMM__VPCI_ISR, 1, 0, 0) & 1, 1);   /* INTx: queue */
	/* And back, B to A, a minimum-size frame in one descriptor. */
	post_rx(&a, 1, 2048);
	memcpy(got, hdr, 12);
	make_frame(got + 12, 14, 9);
	send_frame(&b, got, 26, NULL, 0);
	assert_int_equal(drv_used_len(&a, 0, 0, NULL), 26);
	vmm_mem_read(a.vm, rx_gpa(0) + 12, f, 14);
	assert_memory_equal(f, got + 12, 14);
	s = stats(&a);
	assert_int_equal(s.tx_frames, 1);
	assert_int_equal(s.tx_bytes, 200);
	assert_int_equal(s.rx_frames, 1);
	assert_int_equal(s.rx_bytes, 14);
	s = stats(&b);
	assert_int_equal(s.rx_frames, 1);
	assert_int_equal(s.tx_frames, 1);
	assert_int_equal(s.rx_dropped + s.tx_dropped + s.rx_errors, 0);
}

static vmm_vm *msi_vm;
static uint32_t msi_last;
static int msi_count;

static int fake_msi(vmm_vm *vm, uint64_t addr, uint32_t data)
{
	assert_int_equal(addr, 0xfee00000);
	msi_vm = vm;
	msi_last = data;
	msi_count++;
	return 0;
}

/* B's receive queue on MSI-X vector 0 (data 0x41), transmit on 1 (0x42):
 * A's frame raises exactly B's receive vector, B's transmit its own. */
static void test_pair_msix(void **state)
{
	uint8_t hdr[12] = { 0 }, f[64];

	open_pair("msix", 0);
	drv_start(&a, F_ALL, 2);
	b.vector0 = 0;
	drv_start(&b, F_ALL, 2);
	assert_int_equal(drv_bar(&b, 26, 2, 0, 0), 1);       /* queue 1 (selected last) */
	drv_msix(&b, 0, 0x41);
	drv_msix(&b, 1, 0x42);
	vmm__pci_msi_fn = fake_msi;
	msi_count = 0;
	post_rx(&b, 1, 2048);
	send_frame(&a, hdr, 12, f, make_frame(f, 64, 8));
	assert_int_equal(msi_count, 1);
	assert_ptr_equal(msi_vm, b.vm);
	assert_int_equal(msi_last, 0x41);
	send_frame(&b, hdr, 12, f, 64);                     /* A has no buffer */
	assert_int_equal(msi_count, 2);
	assert_int_equal(msi_last, 0x42);
	assert_int_equal(stats(&a).rx_dropped, 1);
	vmm__pci_msi_fn = vmm__msi_send;
}

static void test_pair_drops(void **state)
{
	uint8_t hdr[12] = { 0 }, f[1514];
	vmm_net_stats s;

	open_pair("drops", 0);
	drv_start(&a, F_ALL, 2);
	drv_start(&b, F_ALL, 2);
	for (int i = 0; i < 3; i++)                      /* B offers no buffer */
		send_frame(&a, hdr, 12, f, make_frame(f, 100, (uint8_t)i));
	s = stats(&b);
	assert_int_equal(s.rx_dropped, 3);
	assert_int_equal(s.rx_frames, 0);
	assert_int_equal(stats(&a).tx_frames, 3);
	post_rx(&b, 1, 100);                             /* too small for 12 + 1514 */
	send_frame(&a, hdr, 12, f, make_frame(f, 1514, 4));
	assert_int_equal(drv_used_idx(&b, 0), 1);
	assert_int_equal(drv_used_len(&b, 0, 0, NULL), 0);
	assert_int_equal(stats(&b).rx_errors, 1);
	post_rx(&b, 1, 1526);                            /* exactly enough */
	send_frame(&a, hdr, 12, f, 1514);
	assert_int_equal(drv_used_len(&b, 0, 1, NULL), 1526);
	assert_int_equal(stats(&b).rx_frames, 1);
	/* A device that left: the other end's frames are dropped at the sender. */
	drv_close(&b);
	send_frame(&a, hdr, 12, f, 100);
	assert_int_equal(stats(&a).tx_dropped, 1);
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | (i + 1 < n ? p[i + 1] : 0));
	return sum;
}

/* Eth + IPv4 + UDP with 20 bytes of data; *want the true UDP checksum; the
 * checksum field holds the pseudo-header sum, as a driver offloading it. */
static uint32_t udp_frame(uint8_t *f, uint16_t *want)
{
	static const uint8_t ip[20] = { 0x45, 0, 0, 48, 0, 0, 0, 0, 64, 17, 0, 0,
					10, 0, 0, 1, 10, 0, 0, 2 };
	uint8_t *u = f + 34, pseudo[12] = { 10, 0, 0, 1, 10, 0, 0, 2, 0, 17, 0, 28 };
	uint16_t p;

	make_frame(f, 62, 3);
	f[12] = 0x08, f[13] = 0x00;
	memcpy(f + 14, ip, 20);
	u[0] = 0x30, u[1] = 0x39, u[2] = 0x00, u[3] = 0x35, u[4] = 0, u[5] = 28;
	u[6] = u[7] = 0;
	*want = (uint16_t)~fold(sum16(u, 28, sum16(pseudo, 12, 0)));
	p = fold(sum16(pseudo, 12, 0));
	u[6] = (uint8_t)(p >> 8), u[7] = (uint8_t)p;
	return 62;
}

static void test_checksum_offload(void **state)
{
	uint8_t hdr[12] = { 3, 0, 0, 0, 0, 0, 34, 0, 6, 0, 0, 0 }, f[62], got[74];   /* + DATA_VALID */
	uint16_t want;

	open_pair("csum", 0);
	drv_start(&a, F_ALL, 2);
	drv_start(&b, F_MAC, 2);                         /* B takes no GUEST_CSUM */
	post_rx(&b, 1, 2048);
	send_frame(&a, hdr, 12, f, udp_frame(f, &want));
	vmm_mem_read(b.vm, rx_gpa(0), got, 74);
	assert_int_equal(got[0], 0);                     /* NEEDS_CSUM done */
	assert_int_equal(got[12 + 40] << 8 | got[12 + 41], want);
	assert_memory_equal(got + 12, f, 40);
	assert_memory_equal(got + 12 + 42, f + 42, 20);
	/* A peer that took GUEST_CSUM gets the partial checksum as it was. */
	post_rx(&a, 1, 2048);
	drv_start(&b, F_ALL, 2);
	send_frame(&b, hdr, 12, f, 62);
	vmm_mem_read(a.vm, rx_gpa(0), got, 74);
	assert_int_equal(got[0], 1);
	assert_int_equal(got[6], 34);
	assert_memory_equal(got + 12, f, 62);
	/* B did not take CSUM: a NEEDS_CSUM frame from it is dropped. */
	drv_start(&b, F_MAC, 2);
	send_frame(&b, hdr, 12, f, 62);
	assert_int_equal(stats(&b).tx_dropped, 1);
}

static void test_hostile_tx(void **state)
{
	uint8_t hdr[12] = { 0 }, *f = calloc(1, 70000);
	vmm_net_stats s;
	uint64_t gpa[3] = { TXHDR, TXDATA, TXDATA };
	uint32_t len[3] = { 12, 40, 40 };
	int wr[3] = { 0, 0, 0 };

	open_pair("hostile", 0);
	drv_start(&a, F_MAC, 2);
	drv_start(&b, F_ALL, 2);
	post_rx(&b, 8, 4000);
	send_frame(&a, hdr, 8, NULL, 0);                 /* header of 8 bytes */
	send_frame(&a, hdr, 11, NULL, 0);
	send_frame(&a, hdr, 12, f, 13);                  /* no Ethernet header */
	send_frame(&a, hdr, 12, f, make_frame(f, 65537, 0));   /* over 64 KiB */
	hdr[1] = 1;                                      /* GSO TCPv4: not offered */
	send_frame(&a, hdr, 12, f, 100);
	hdr[1] = 0, hdr[0] = 1;                          /* NEEDS_CSUM without CSUM */
	send_frame(&a, hdr, 12, f, 100);
	hdr[0] = 0x80;                                   /* unknown flag */
	send_frame(&a, hdr, 12, f, 100);
	hdr[0] = 0;
	s = stats(&a);
	assert_int_equal(s.tx_dropped, 7);
	assert_int_equal(s.tx_frames, 0);
	assert_int_equal(stats(&b).rx_frames, 0);
	/* Writable descriptors on the transmit queue: read as nothing. */
	wr[1] = 1;
	drv_post(&a, 1, 2, gpa, len, wr);
	drv_kick(&a, 1);
	assert_int_equal(stats(&a).tx_dropped, 8);
	assert_int_equal(drv_status(&a) & 0x40, 0);      /* not broken by bad frames */
	/* A descriptor loop breaks the device: NEEDS_RESET, nothing crashes. */
	{
		uint8_t d[16] = { 0 };
		uint16_t next = 0, flags = 1;
		uint16_t head = 0, idx = (uint16_t)(a.avail[1] + 1);
		uint32_t l = 16;
		uint64_t g = TXHDR;

		memcpy(d, &g, 8), memcpy(d + 8, &l, 4), memcpy(d + 12, &flags, 2);
		memcpy(d + 14, &next, 2);
		vmm_mem_write(a.vm, QBASE(1), d, 16);
		vmm_mem_write(a.vm, QAVAIL(1) + 4 + 2 * (a.avail[1] % QSIZE), &head, 2);
		vmm_mem_write(a.vm, QAVAIL(1) + 2, &idx, 2);
		drv_kick(&a, 1);
	}
	assert_int_equal(drv_status(&a) & 0x40, 0x40);
	free(f);
}

/* Random rings on both queues of both ends; they must not crash the host
 * (run under ASan+UBSan by make check-asan), whatever they contain. */
static void test_random_rings(void **state)
{
	static uint8_t junk[0x3000];
	unsigned seed = 777;

	open_pair("random", 0);
	for (int round = 0; round < 400; round++) {
		drv *d = round & 1 ? &a : &b;

		drv_start(&a, F_ALL, 2);
		drv_start(&b, round & 2 ? F_ALL : F_MAC, 2);
		for (unsigned q = 0; q < 2; q++) {
			for (size_t i = 0; i < sizeof(junk); i++) {
				seed = seed * 1103515245u + 12345u;
				junk[i] = (uint8_t)(seed >> 16);
			}
			for (unsigned i = 0; i < QSIZE; i++) {   /* addresses mostly in RAM */
				junk[16 * i + 3] = junk[16 * i + 4] = junk[16 * i + 5] = 0;
				junk[16 * i + 6] = junk[16 * i + 7] = 0;
				junk[16 * i + 2] &= 0x0f;
				if (i & 1)
					junk[16 * i + 9] = junk[16 * i + 10] = junk[16 * i + 11] = 0;
			}
			vmm_mem_write(d->vm, QBASE(q), junk, 0x1000);
			vmm_mem_write(d->vm, QAVAIL(q), junk + 0x1000, 0x1000);
			vmm_mem_write(d->vm, TXHDR, junk + 0x2000, 0x1000);
		}
		drv_kick(d, 0);
		drv_kick(d, 1);
	}
	/* Still sane after all that: a clean frame goes through. */
	{
		uint8_t hdr[12] = { 0 }, f[64], got[76];

		drv_start(&a, F_ALL, 2);
		drv_start(&b, F_ALL, 2);
		post_rx(&b, 1, 2048);
		send_frame(&a, hdr, 12, f, make_frame(f, 64, 5));
		vmm_mem_read(b.vm, rx_gpa(0), got, 76);
		assert_memory_equal(got + 12, f, 64);
	}
}

static void test_bad_configs(void **state)
{
	vmm_net_config c = VMM_NET_CONFIG_INIT;
	vmm_net_stats s = { .size = sizeof(s) };
	drv x;

	open_pair("full", 0);
	c.pair = "full";
	assert_int_equal(drv_open(&x, add_net, &c), VMM_EBUSY);     /* a third end */
	assert_int_equal(vmm_virtio_net_stats(x.vm, 0, &s), VMM_ENOENT);
	c.tap = "tap0";                                            /* two backends */
	assert_int_equal(vmm_virtio_net_add(x.vm, &c), VMM_EINVAL);
	c.tap = c.pair = NULL;
	assert_int_equal(vmm_virtio_net_add(x.vm, &c), VMM_EINVAL);
	c.pair = "p";
	c.mtu = 67;
	assert_int_equal(vmm_virtio_net_add(x.vm, &c), VMM_EINVAL);
	c.mtu = 0;
	c.mac[0] = 1;                                              /* multicast */
	assert_int_equal(vmm_virtio_net_add(x.vm, &c), VMM_EINVAL);
	c.mac[0] = 0;
	c.pair = "";
	assert_int_equal(vmm_virtio_net_add(x.vm, &c), VMM_EINVAL);
	c.pair = NULL;
	c.tap = "a-name-longer-than-15";
	assert_int_equal(vmm_virtio_net_add(x.vm, &c), VMM_EINVAL);
	assert_int_equal(vmm_virtio_net_stats(a.vm, 1, &s), VMM_ENOENT);
	drv_close(&x);
	/* The pair's name is free again once both ends are gone. */
	drv_close(&a), drv_close(&b);
	open_pair("full", 0);
}

/* ---- user-mode networking (libslirp) ------------------------------------ */

/* Scans queue 0's used entries from *next for a frame f matches (3 s). */
static bool rx_find(drv *d, uint16_t *next, bool (*match)(const uint8_t *f, uint32_t len))
{
	uint8_t got[2048];

	for (int tries = 0; tries < 3000; tries++) {
		while (*next != drv_used_idx(d, 0)) {
			uint32_t len = drv_used_len(d, 0, *next, NULL);

			vmm_mem_read(d->vm, rx_gpa(*next), got, sizeof(got));
			(*next)++;
			if (len > 12 && len <= sizeof(got) && match(got + 12, len - 12))
				return true;
		}
		usleep(1000);
	}
	return false;
}

static bool is_arp_reply(const uint8_t *f, uint32_t len)
{
	static const uint8_t gw[4] = { 10, 0, 2, 2 }, guest[4] = { 10, 0, 2, 15 };

	return len >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[21] == 2 &&
	       !memcmp(f, mac_a, 6) && !memcmp(f + 28, gw, 4) && !memcmp(f + 32, mac_a, 6) &&
	       !memcmp(f + 38, guest, 4);
}

static bool is_syn_to_80(const uint8_t *f, uint32_t len)
{
	static const uint8_t guest[4] = { 10, 0, 2, 15 };

	return len >= 54 && f[12] == 0x08 && f[13] == 0x00 && f[23] == 6 &&
	       !memcmp(f + 30, guest, 4) && f[36] == 0 && f[37] == 80 && (f[47] & 0x02);
}

static uint16_t free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sin);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &sl), 0);
	close(s);
	return ntohs(sin.sin_port);
}

static void test_user_net(void **state)
{
	static const uint8_t arp[28] = { 0, 1, 8, 0, 6, 4, 0, 1, 0x02, 0x11, 0x22, 0x33, 0x44,
					 0x55, 10, 0, 2, 15, 0, 0, 0, 0, 0, 0, 10, 0, 2, 2 };
	vmm_net_fwd fwd = { .udp = 0, .host_addr = 0x7f000001, .guest_port = 80 };
	vmm_net_config c = VMM_NET_CONFIG_INIT;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	uint8_t hdr[12] = { 0 }, f[60];
	uint16_t next = 0;
	int s;

	fwd.host_port = free_port();
	c.flags = VMM_NET_USER;
	c.fwd = &fwd;
	c.nfwd = 1;
	memcpy(c.mac, mac_a, 6);
	assert_int_equal(drv_open(&a, add_net, &c), 0);
	assert_int_equal(drv_features(&a) & 0xffffffu, F_CSUM | F_MTU | F_MAC | F_STATUS);
	drv_start(&a, F_CSUM | F_MAC, 2);
	post_rx(&a, 8, 2048);
	/* ARP for the gateway: libslirp answers with its MAC. */
	make_frame(f, 60, 0);
	f[12] = 0x08, f[13] = 0x06;
	memcpy(f + 14, arp, 28);
	memset(f + 42, 0, 18);
	send_frame(&a, hdr, 12, f, 60);
	assert_true(rx_find(&a, &next, is_arp_reply));
	/* A connection to the forwarded host port arrives as a SYN to port 80. */
	sin.sin_port = htons(fwd.host_port);
	s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(connect(s, (struct sockaddr *)&sin, sizeof(sin)) == 0 || errno == EINPROGRESS);
	assert_true(rx_find(&a, &next, is_syn_to_80));
	close(s);
	assert_true(stats(&a).rx_frames >= 2);
	/* The same host port cannot be forwarded twice. */
	assert_int_equal(drv_open(&b, add_net, &c), VMM_EBUSY);
	c.nfwd = 0;
	c.mtu = 9000;
	assert_int_equal(vmm_virtio_net_add(b.vm, &c), VMM_EINVAL);
}

/* ---- TAP ---------------------------------------------------------------- */

#define F_GUEST_TSO4 (1ull << 7)
#define F_HOST_TSO4 (1ull << 11)
#define TSO_PAYLOAD 3000u

/* Eth + IPv4 + TCP (loopback addresses, ports 40000 -> 40001, seq 1) with
 * TSO_PAYLOAD bytes; the header asks for TSO4 in 1000-byte segments. */
static uint32_t tso_frame(uint8_t *f, uint8_t *hdr)
{
	uint8_t *ip = f + 14, *tcp = f + 34;
	uint16_t tot = 20 + 20 + TSO_PAYLOAD, c;
	uint8_t pseudo[12] = { 127, 0, 0, 2, 127, 0, 0, 1, 0, 6, (20 + TSO_PAYLOAD) >> 8,
			       (20 + TSO_PAYLOAD) & 0xff };

	make_frame(f, 54 + TSO_PAYLOAD, 11);
	f[12] = 0x08, f[13] = 0x00;
	memset(ip, 0, 40);
	ip[0] = 0x45, ip[2] = (uint8_t)(tot >> 8), ip[3] = (uint8_t)tot, ip[6] = 0x40;
	ip[8] = 64, ip[9] = 6;
	memcpy(ip + 12, pseudo, 8);
	c = (uint16_t)~fold(sum16(ip, 20, 0));
	ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
	tcp[0] = 40000 >> 8, tcp[1] = 40000 & 0xff, tcp[2] = 40001 >> 8, tcp[3] = 40001 & 0xff;
	tcp[7] = 1, tcp[12] = 5 << 4, tcp[13] = 0x18, tcp[14] = tcp[15] = 0xff;
	c = fold(sum16(pseudo, 12, 0));
	tcp[16] = (uint8_t)(c >> 8), tcp[17] = (uint8_t)c;
	memset(hdr, 0, 12);
	hdr[0] = 1, hdr[1] = 1;                             /* NEEDS_CSUM, TCPV4 */
	hdr[2] = 54, hdr[4] = 1000 & 0xff, hdr[5] = 1000 >> 8;
	hdr[6] = 34, hdr[8] = 16;
	return 54 + TSO_PAYLOAD;
}

/* TCP payload bytes to port 40001 in a captured frame, checked against
 * the pattern of tso_frame at their sequence offset; -1 if not ours. */
static int tso_payload(const uint8_t *g, size_t n, const uint8_t *want)
{
	uint32_t seq, len;

	if (n < 54 || g[12] != 0x08 || g[13] != 0x00 || g[23] != 6 || g[36] != (40001 >> 8) ||
	    g[37] != (40001 & 0xff))
		return -1;
	seq = (uint32_t)g[38] << 24 | g[39] << 16 | g[40] << 8 | g[41];
	len = (uint32_t)(g[16] << 8 | g[17]) - 40;
	if (seq < 1 || seq - 1 + len > TSO_PAYLOAD || 54 + len > n ||
	    memcmp(g + 54, want + 54 + seq - 1, len))
		return -1;
	return (int)len;
}

static int tap_prepare(const char *name, int *ifindex)
{
	struct ifreq ifr;
	char path[96];
	int s, fd;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
	if ((fd = open(path, O_WRONLY)) >= 0) {          /* no router solicitations */
		assert_int_equal(write(fd, "1", 1), 1);
		close(fd);
	}
	s = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, name);
	assert_int_equal(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	assert_int_equal(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	assert_int_equal(ioctl(s, SIOCGIFINDEX, &ifr), 0);
	*ifindex = ifr.ifr_ifindex;
	close(s);
	return 0;
}

/* TSO both ways: a 3,000-byte TCP frame the guest asks to be segmented
 * comes out as its 3,000 payload bytes (whole or in segments, as the
 * kernel hands them to packet sockets), and one sent to the tap with a
 * GSO header (PACKET_VNET_HDR) reaches the guest unsegmented with it. */
static void tap_tso(int ps, int ifindex)
{
	static uint8_t f[54 + TSO_PAYLOAD], got[8192];
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_ifindex = ifindex };
	uint8_t hdr[12], out[12 + sizeof(f)];
	struct pollfd pfd = { ps, POLLIN, 0 };
	uint32_t bytes = 0, len;
	int vs, one = 1;

	send_frame(&a, hdr, 12, f, tso_frame(f, hdr));
	assert_int_equal(stats(&a).tx_dropped, 0);
	while (bytes < TSO_PAYLOAD && poll(&pfd, 1, 2000) == 1) {
		ssize_t n = recv(ps, got, sizeof(got), 0);
		int p = tso_payload(got, n > 0 ? (size_t)n : 0, f);

		bytes += p > 0 ? (uint32_t)p : 0;
	}
	assert_int_equal(bytes, TSO_PAYLOAD);
	/* Host to guest, into a fresh queue of 64 KiB buffers: a small frame
	 * first (so the I/O thread has set the offloads of this negotiation),
	 * then one of 3,066 bytes that stays one TSO frame (TCPV4, 1000). */
	drv_start(&a, F_ALL | F_HOST_TSO4 | F_GUEST_TSO4, 2);
	post_rx(&a, 2, 0x10000);
	make_frame(got, 120, 5);
	memcpy(got, mac_a, 6);
	assert_int_equal(send(ps, got, 120, 0), 120);
	assert_true(drv_wait_used(&a, 0, 1));
	vs = socket(AF_PACKET, SOCK_RAW, 0);
	assert_int_equal(setsockopt(vs, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)), 0);
	memcpy(out, hdr, 10);                                /* struct virtio_net_hdr */
	memcpy(out + 10, f, sizeof(f));
	memcpy(out + 10, mac_a, 6);
	assert_int_equal(sendto(vs, out, 10 + sizeof(f), 0, (struct sockaddr *)&sll,
				sizeof(sll)), 10 + sizeof(f));
	close(vs);
	assert_true(drv_wait_used(&a, 0, 2));
	len = drv_used_len(&a, 0, 1, NULL);
	vmm_mem_read(a.vm, rx_gpa(1), got, 12 + sizeof(f));
	assert_int_equal(len, 12 + sizeof(f));
	assert_int_equal(got[1] & 0x7f, 1);                  /* still one TSO frame */
	assert_int_equal(got[4] | got[5] << 8, 1000);
	assert_memory_equal(got + 12 + 54, f + 54, TSO_PAYLOAD);
}

static void test_tap(void **state)
{
	vmm_net_config c = VMM_NET_CONFIG_INIT;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	uint8_t hdr[12] = { 0 }, f[300], got[2048];
	struct pollfd pfd;
	int ps, ifindex, rc;
	bool seen = false;

	if (access("/dev/net/tun", R_OK | W_OK) != 0) {
		printf("NOT RUN test_tap: /dev/net/tun is absent or not accessible\n");
		skip();
	}
	if (unshare(CLONE_NEWNET) != 0) {
		printf("NOT RUN test_tap: cannot make a network namespace: %s\n",
		       strerror(errno));
		skip();
	}
	c.tap = "vmmtap0";
	memcpy(c.mac, mac_a, 6);
	rc = drv_open(&a, add_net, &c);
	if (rc == VMM_EIO && strstr(vmm_last_error(), "CAP_NET_ADMIN")) {
		printf("NOT RUN test_tap: %s\n", vmm_last_error());
		skip();
	}
	assert_int_equal(rc, 0);
	assert_int_equal(tap_prepare("vmmtap0", &ifindex), 0);
	sll.sll_ifindex = ifindex;
	ps = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	assert_true(ps >= 0);
	assert_int_equal(bind(ps, (struct sockaddr *)&sll, sizeof(sll)), 0);
	assert_int_equal(drv_features(&a) & 0xffffffu,           /* + TSO4/6, ECN */
			 F_ALL | (7ull << 7) | (7ull << 11));
	drv_start(&a, F_ALL | F_HOST_TSO4 | F_GUEST_TSO4, 2);
	/* Guest to host: the frame comes out of the tap into the kernel. */
	send_frame(&a, hdr, 12, f, make_frame(f, 300, 42));
	assert_int_equal(stats(&a).tx_frames, 1);
	pfd = (struct pollfd){ ps, POLLIN, 0 };
	while (!seen && poll(&pfd, 1, 2000) == 1) {
		ssize_t n = recv(ps, got, sizeof(got), 0);

		seen = n == 300 && memcmp(got, f, 300) == 0;
	}
	assert_true(seen);
	/* Host to guest: a frame sent on the interface reaches an rx buffer. */
	post_rx(&a, 4, 2048);
	make_frame(f, 120, 77);
	memcpy(f, mac_a, 6);
	assert_int_equal(send(ps, f, 120, 0), 120);
	seen = false;
	for (uint16_t i = 0; i < 4 && !seen && drv_wait_used(&a, 0, (uint16_t)(i + 1)); i++) {
		vmm_mem_read(a.vm, rx_gpa(i), got, 132);
		seen = drv_used_len(&a, 0, i, NULL) == 132 && memcmp(got + 12, f, 120) == 0;
	}
	assert_true(seen);
	assert_true(stats(&a).rx_frames >= 1);
	tap_tso(ps, ifindex);
	close(ps);
}

/* A TSO frame over the pair: whole to a peer that took GUEST_TSO4, cut
 * into its three segments (checksums completed) for one that did not. */
static void test_pair_tso(void **state)
{
	uint8_t f[54 + TSO_PAYLOAD], hdr[12], got[12 + 54 + 1000];

	open_pair("tso", 0);
	drv_start(&a, F_ALL | F_HOST_TSO4, 2);
	drv_start(&b, F_MAC, 2);                          /* no GUEST_TSO4, no GUEST_CSUM */
	post_rx(&b, 4, 2048);
	send_frame(&a, hdr, 12, f, tso_frame(f, hdr));
	assert_int_equal(drv_used_idx(&b, 0), 3);
	for (uint16_t i = 0; i < 3; i++) {
		uint8_t *ip = got + 12 + 14, *tcp = got + 12 + 34;
		uint8_t pseudo[12] = { 127, 0, 0, 2, 127, 0, 0, 1, 0, 6, 1020 >> 8, 1020 & 0xff };
		uint32_t seq;

		assert_int_equal(drv_used_len(&b, 0, i, NULL), 12 + 54 + 1000);
		vmm_mem_read(b.vm, rx_gpa(i), got, sizeof(got));
		assert_int_equal(got[0] | got[1], 0);        /* complete, no GSO */
		assert_int_equal(ip[2] << 8 | ip[3], 1040);
		assert_int_equal(fold(sum16(ip, 20, 0)), 0xffff);
		seq = (uint32_t)tcp[4] << 24 | tcp[5] << 16 | tcp[6] << 8 | tcp[7];
		assert_int_equal(seq, 1 + 1000u * i);
		assert_int_equal(tcp[13], i == 2 ? 0x18 : 0x10);   /* PSH on the last */
		assert_int_equal(fold(sum16(tcp, 1020, sum16(pseudo, 12, 0))), 0xffff);
		assert_memory_equal(got + 12 + 54, f + 54 + 1000 * i, 1000);
	}
	assert_int_equal(stats(&b).rx_frames, 3);
	/* A peer that took GUEST_TSO4 gets the frame as it was sent. */
	drv_start(&b, F_ALL | F_GUEST_TSO4, 2);
	post_rx(&b, 1, 8192);
	send_frame(&a, hdr, 12, f, tso_frame(f, hdr));
	assert_int_equal(drv_used_idx(&b, 0), 1);
	assert_int_equal(drv_used_len(&b, 0, 0, NULL), 12 + 54 + TSO_PAYLOAD);
	vmm_mem_read(b.vm, rx_gpa(0), got, 12);
	assert_int_equal(got[1], 1);                     /* GSO_TCPV4 */
	assert_int_equal(got[4] | got[5] << 8, 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_config_and_features, teardown),
		cmocka_unit_test_teardown(test_pair_frames, teardown),
		cmocka_unit_test_teardown(test_pair_msix, teardown),
		cmocka_unit_test_teardown(test_pair_drops, teardown),
		cmocka_unit_test_teardown(test_checksum_offload, teardown),
		cmocka_unit_test_teardown(test_hostile_tx, teardown),
		cmocka_unit_test_teardown(test_random_rings, teardown),
		cmocka_unit_test_teardown(test_bad_configs, teardown),
		cmocka_unit_test_teardown(test_user_net, teardown),
		cmocka_unit_test_teardown(test_pair_tso, teardown),
		cmocka_unit_test_teardown(test_tap, teardown),   /* last: leaves the netns */
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
