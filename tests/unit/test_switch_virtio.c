/* test_switch_virtio.c - virtio-net devices on virtual switch ports
 * (lib/virtio/net_switch.c): two VMs and an embedder port on one switch,
 * frames byte-exact with their header both ways, the switch's MTU offered
 * to the guest, a partial checksum completed, forged transmits rejected on
 * the guest's port, no receive buffer counted, a port that takes one
 * device only, and the port outliving (or not) its VM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/platform/pci.h"
#include "lib/platform/platform.h"
#include "lib/virtio/virtio_pci.h"

#include "switch_fixture.h"
#include "virtio_multi.h"

#define F_CSUM (1ull << 0)
#define F_MTU (1ull << 3)
#define F_MAC (1ull << 5)
#define F_STATUS (1ull << 16)
#define F_ALL (F_CSUM | F_MTU | F_MAC | F_STATUS)
#define RXBUF 0x100000ull
#define TXHDR 0x200000ull
#define TXDATA 0x201000ull

static drv a, b;
static sink host;
static vmm_switch *sw;
static vmm_net_port *pa, *pb, *ph;

static int add_net(vmm_vm *vm, void *arg)
{
	return vmm_virtio_net_add(vm, arg);
}

static vmm_net_port *virtio_port(const uint8_t *mac, const vmm_net_policy *pol)
{
	vmm_net_port_config c = VMM_NET_PORT_CONFIG_INIT;
	vmm_net_port *p = NULL;

	c.kind = VMM_NET_PORT_VIRTIO;
	memcpy(c.mac, mac, 6);
	c.policy = pol;
	assert_int_equal(vmm_net_port_create(sw, &c, &p), 0);
	return p;
}

static void open_vm(drv *d, vmm_net_port *p, const uint8_t *mac)
{
	vmm_net_config c = VMM_NET_CONFIG_INIT;

	c.port = p;
	memcpy(c.mac, mac, 6);
	assert_int_equal(drv_open(d, add_net, &c), 0);
	drv_start(d, F_ALL, 2);
}

static int setup(void **state)
{
	vmm_net_policy reject = VMM_NET_POLICY_INIT;

	reject.flags = VMM_NET_SEC_MAC_CHANGES;                 /* forged: reject */
	sink_reset(&host);
	sw = make_switch(9000, false);
	pa = virtio_port(MAC1, &reject);
	pb = virtio_port(MAC2, NULL);
	ph = make_port(sw, &host, NULL, 0, NULL, 0, NULL);
	open_vm(&a, pa, MAC1);
	open_vm(&b, pb, MAC2);
	return 0;
}

static int teardown(void **state)
{
	if (a.vm)
		drv_close(&a);
	if (b.vm)
		drv_close(&b);
	vmm_switch_destroy(sw);
	return 0;
}

static void post_rx(drv *d, unsigned n, uint32_t len)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t gpa = RXBUF + 0x4000ull * ((d->avail[0] + 0u) % 16u);
		int wr = 1;

		drv_post(d, 0, 1, &gpa, &len, &wr);
	}
	drv_kick(d, 0);
}

static uint64_t rx_gpa(uint16_t i)
{
	return RXBUF + 0x4000ull * (i % 16u);
}

static void send_frame(drv *d, const uint8_t *hdr, const uint8_t *f, uint32_t flen)
{
	uint64_t gpa[2] = { TXHDR, TXDATA };
	uint32_t len[2] = { 12, flen };
	int wr[2] = { 0, 0 };
	uint16_t want = (uint16_t)(d->avail[1] + 1);

	vmm_mem_write(d->vm, TXHDR, hdr, 12);
	vmm_mem_write(d->vm, TXDATA, f, flen);
	drv_post(d, 1, 2, gpa, len, wr);
	drv_kick(d, 1);
	assert_true(drv_wait_used(d, 1, want));
}

static void test_guests_and_host(void **state)
{
	uint8_t hdr[12] = { 0 }, f[1600], got[1700];
	size_t n;

	assert_int_equal(drv_features(&a) & 0xffffffu, F_ALL);   /* no GUEST_CSUM */
	assert_int_equal(drv_bar(&a, VMM__VPCI_DEVICE + 10, 2, 0, 0), 9000);
	post_rx(&b, 4, 0x4000);
	/* A to everyone: B's guest and the host port. */
	n = udp(f, BCAST, MAC1, IP(10, 0, 0, 1), 68, 0xffffffff, 67, 100);
	send_frame(&a, hdr, f, (uint32_t)n);
	assert_int_equal(drv_used_idx(&b, 0), 1);
	assert_int_equal(drv_used_len(&b, 0, 0, NULL), n + 12);
	vmm_mem_read(b.vm, rx_gpa(0), got, n + 12);
	assert_int_equal(got[0], 0);
	assert_memory_equal(got + 12, f, n);
	assert_int_equal(host.count, 1);
	assert_memory_equal(host.frame[0], f, n);
	/* The host to A: learned, unicast, no buffer posted yet: dropped. */
	n = udp(f, MAC1, MAC3, IP(10, 0, 0, 3), 1, IP(10, 0, 0, 1), 2, 30);
	vmm_net_port_send(ph, f, n);
	assert_int_equal(drops(pa, VMM_NET_DROP_ENDPOINT), 1);
	post_rx(&a, 2, 0x4000);
	vmm_net_port_send(ph, f, n);
	assert_int_equal(drv_used_idx(&a, 0), 1);
	vmm_mem_read(a.vm, rx_gpa(0) + 12, got, n);
	assert_memory_equal(got, f, n);
	assert_int_equal(drv_used_idx(&b, 0), 1);               /* unicast: not B */
	/* A partial checksum from B is completed on the way. */
	n = udp(f, MAC1, MAC2, IP(10, 0, 0, 2), 7, IP(10, 0, 0, 1), 9, 20);
	hdr[0] = 1;                                             /* NEEDS_CSUM */
	hdr[6] = 34, hdr[8] = 6;                                /* csum_start, csum_offset */
	f[40] = f[41] = 0;
	send_frame(&b, hdr, f, (uint32_t)n);
	assert_int_equal(drv_used_idx(&a, 0), 2);
	vmm_mem_read(a.vm, rx_gpa(1) + 12, got, n);
	assert_true(got[40] | got[41]);
	assert_int_equal(ips_csum(got + 34, n - 34), 0);
	/* A forged source from A's guest is dropped by its port's policy. */
	hdr[0] = 0;
	n = eth(f, BCAST, MACX, 0x88b5, 50);
	send_frame(&a, hdr, f, (uint32_t)n);
	assert_int_equal(drops(pa, VMM_NET_DROP_FORGED), 1);
	assert_int_equal(host.count, 1);
	/* A jumbo frame within the switch's 9000. */
	static uint8_t big[9100], bigot[9200];
	n = eth(big, MAC2, MAC1, 0x88b5, 9000);
	send_frame(&a, hdr, big, (uint32_t)n);
	assert_int_equal(drv_used_idx(&b, 0), 2);
	assert_int_equal(drv_used_len(&b, 0, 1, NULL), n + 12);
	vmm_mem_read(b.vm, rx_gpa(1) + 12, bigot, n);
	assert_memory_equal(bigot, big, n);
}

static void test_one_device_per_port(void **state)
{
	vmm_net_config c = VMM_NET_CONFIG_INIT;
	drv d;

	c.port = pa;
	assert_int_equal(drv_open(&d, add_net, &c), VMM_EBUSY);
	drv_close(&d);
	c.port = ph;                                            /* an embedder port */
	assert_int_equal(drv_open(&d, add_net, &c), VMM_EINVAL);
	drv_close(&d);
	c.port = pb;
	c.pair = "x";
	assert_int_equal(drv_open(&d, add_net, &c), VMM_EINVAL);
	drv_close(&d);
}

static void test_vm_gone(void **state)
{
	uint8_t f[128];
	size_t n = eth(f, MAC2, MAC3, 0x88b5, 50);

	drv_close(&b);                                          /* the port stays */
	vmm_net_port_send(ph, f, n);
	assert_int_equal(drops(pb, VMM_NET_DROP_NO_LINK), 1);
	/* The port destroyed while A's VM still runs: its frames go nowhere. */
	vmm_net_port_destroy(pa);
	uint8_t hdr[12] = { 0 };
	n = eth(f, BCAST, MAC1, 0x88b5, 50);
	send_frame(&a, hdr, f, (uint32_t)n);
	assert_int_equal(host.count, 0);
	drv_close(&a);                                          /* frees the port */
}

/* The switch destroyed first: the VMs keep their ports' memory, their
 * frames go nowhere, and destroying them afterwards frees everything. */
static void test_switch_gone_first(void **state)
{
	uint8_t hdr[12] = { 0 }, f[128];
	size_t n = eth(f, BCAST, MAC1, 0x88b5, 50);

	vmm_switch_destroy(sw);
	sw = NULL;
	send_frame(&a, hdr, f, (uint32_t)n);
	assert_int_equal(drv_used_idx(&b, 0), 0);
	drv_close(&a);
	drv_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_guests_and_host, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_device_per_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_switch_gone_first, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
