/* test_virtio_blk_storage.c - virtio-blk over a storage device
 * (lib/virtio/blk_storage.c), driven through the PCI transport as a driver
 * would: over a raw file path, read, write, flush, GET_ID, discard and
 * write-zeroes with the bytes on disk checked, a read-only device, bad
 * requests; over two NBD paths (nbdkit) in round robin, SIGKILL of one
 * server in the middle of the driver's writes: every request completes
 * with status OK and the image holds every byte. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/platform/pci.h"
#include "lib/platform/platform.h"
#include "lib/virtio/virtio_pci.h"

#include "virtio_driver.h"

#define IMG_SECTORS 2048u          /* 1 MiB */
#define HDR 0x30000ull
#define STATUS 0x31000ull
#define DATA 0x40000ull

static char img[] = "/tmp/vmm-sblk-XXXXXX";
static char sock[2][64];
static pid_t server[2];
static vmm_storage_dev *sdev;
static uint32_t blk_flags;
static uint16_t next_avail;

static int add_blk(vmm_vm *v)
{
	vmm_blk_config c = VMM_BLK_CONFIG_INIT;

	c.storage = sdev;
	c.flags = blk_flags;
	c.serial = "storage-disk-01";
	return vmm_virtio_blk_add(v, &c);
}

static vmm_storage_dev *make_dev(uint32_t flags, uint32_t kind, int npaths)
{
	vmm_storage_config c = VMM_STORAGE_CONFIG_INIT;
	vmm_storage_dev *dev;
	char uri[120];

	c.flags = flags;
	c.psp = "rr";
	c.rr_requests = 1;
	c.probe_ms = 100;
	assert_int_equal(vmm_storage_create(&c, &dev), 0);
	for (int i = 0; i < npaths; i++) {
		vmm_storage_path_config pc = VMM_STORAGE_PATH_CONFIG_INIT;

		snprintf(uri, sizeof(uri), "nbd+unix:///?socket=%.60s", sock[i]);
		pc.kind = kind;
		pc.target = kind == VMM_STORAGE_PATH_FILE ? img : uri;
		assert_int_equal(vmm_storage_add_path(dev, &pc, NULL), 0);
	}
	return dev;
}

static int setup(void **state)
{
	int fd = mkstemp(img);
	uint8_t sector[512];

	assert_true(fd >= 0);
	for (unsigned s = 0; s < IMG_SECTORS; s++) {
		memset(sector, (int)(s & 0xff), sizeof(sector));
		assert_int_equal(write(fd, sector, sizeof(sector)), sizeof(sector));
	}
	close(fd);
	for (int i = 0; i < 2; i++)
		snprintf(sock[i], sizeof(sock[i]), "%s.s%d", img, i);
	blk_flags = 0;
	next_avail = 0;
	return 0;
}

static void kill_server(int i)
{
	if (server[i] > 0) {
		kill(server[i], SIGKILL);
		waitpid(server[i], NULL, 0);
	}
	server[i] = 0;
}

static int teardown(void **state)
{
	driver_teardown();
	vmm_storage_destroy(sdev);
	sdev = NULL;
	kill_server(0);
	kill_server(1);
	unlink(sock[0]);
	unlink(sock[1]);
	unlink(img);
	strcpy(img, "/tmp/vmm-sblk-XXXXXX");
	return 0;
}

static void desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t d[16];

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
	vmm_mem_write(vm, DESC + 16 * i, d, 16);
}

/* Submits header (+ data) + status and waits for the used entry; returns
 * the status byte, *used_len the length the device reported. */
static int request(uint32_t type, uint64_t sector, uint32_t data_len, int data_writable,
		   uint32_t *used_len)
{
	uint8_t hdr[16] = { 0 }, st = 0xee;
	uint16_t head = 0, idx;
	uint32_t ent[2] = { 0 };

	memcpy(hdr, &type, 4);
	memcpy(hdr + 8, &sector, 8);
	vmm_mem_write(vm, HDR, hdr, 16);
	vmm_mem_write(vm, STATUS, &st, 1);
	desc(0, HDR, 16, VMM__VRING_DESC_F_NEXT, 1);
	if (data_len) {
		desc(1, DATA, data_len, (uint16_t)(VMM__VRING_DESC_F_NEXT |
				(data_writable ? VMM__VRING_DESC_F_WRITE : 0)), 2);
		desc(2, STATUS, 1, VMM__VRING_DESC_F_WRITE, 0);
	} else {
		desc(1, STATUS, 1, VMM__VRING_DESC_F_WRITE, 0);
	}
	vmm_mem_write(vm, AVAIL + 4 + 2 * (next_avail % 8), &head, 2);
	next_avail++;
	vmm_mem_write(vm, AVAIL + 2, &next_avail, 2);
	bar(VMM__VPCI_NOTIFY, 2, 1, 0);
	for (int tries = 0; tries < 20000; tries++) {
		vmm_mem_read(vm, USED + 2, &idx, 2);
		if (idx == next_avail)
			break;
		usleep(1000);
	}
	assert_int_equal(idx, next_avail);
	vmm_mem_read(vm, USED + 4 + 8 * ((next_avail - 1) % 8), ent, 8);
	if (used_len)
		*used_len = ent[1];
	vmm_mem_read(vm, STATUS, &st, 1);
	return st;
}

static void start(void)
{
	driver_setup(add_blk);
	negotiate(1);
	setup_queue(VMM__VPCI_NO_VECTOR);
}

static uint8_t disk_byte(uint64_t off)
{
	FILE *f = fopen(img, "rb");
	int c;

	assert_non_null(f);
	fseek(f, (long)off, SEEK_SET);
	c = fgetc(f);
	fclose(f);
	return (uint8_t)c;
}

static void put_segment(uint64_t sector, uint32_t num, uint32_t flags)
{
	uint8_t seg[16];

	memcpy(seg, &sector, 8);
	memcpy(seg + 8, &num, 4);
	memcpy(seg + 12, &flags, 4);
	vmm_mem_write(vm, DATA, seg, 16);
}

static void test_over_file_path(void **state)
{
	vmm_storage_path_info pi = VMM_STORAGE_PATH_INFO_INIT;
	uint8_t buf[1024], cap[8];
	uint32_t len = 0;
	char id[21] = "";

	sdev = make_dev(0, VMM_STORAGE_PATH_FILE, 1);
	start();
	for (int i = 0; i < 8; i++)
		cap[i] = (uint8_t)bar(VMM__VPCI_DEVICE + (unsigned)i, 1, 0, 0);
	assert_int_equal(cap[0] | cap[1] << 8, IMG_SECTORS);
	assert_int_equal(request(0, 3, 1024, 1, &len), 0);
	assert_int_equal(len, 1025);
	vmm_mem_read(vm, DATA, buf, sizeof(buf));
	assert_int_equal(buf[0], 3);
	assert_int_equal(buf[511], 3);
	assert_int_equal(buf[512], 4);
	memset(buf, 0xab, sizeof(buf));
	vmm_mem_write(vm, DATA, buf, 512);
	assert_int_equal(request(1, 100, 512, 0, &len), 0);
	assert_int_equal(len, 1);
	assert_int_equal(disk_byte(100 * 512 + 7), 0xab);
	assert_int_equal(disk_byte(101 * 512), 101);
	assert_int_equal(request(4, 0, 0, 0, NULL), 0);             /* flush */
	assert_int_equal(request(8, 0, 20, 1, &len), 0);            /* GET_ID */
	vmm_mem_read(vm, DATA, id, 20);
	assert_string_equal(id, "storage-disk-01");
	put_segment(512, 512, 0);                                    /* discard 256 KiB */
	assert_int_equal(request(11, 0, 16, 0, NULL), 0);
	assert_int_equal(disk_byte(512 * 512 + 100), 0);
	put_segment(10, 2, 1);                                       /* write-zeroes */
	assert_int_equal(request(13, 0, 16, 0, NULL), 0);
	assert_int_equal(disk_byte(10 * 512 + 1), 0);
	assert_int_equal(disk_byte(12 * 512), 12);
	put_segment(IMG_SECTORS - 1, 2, 0);                          /* past the end */
	assert_int_equal(request(13, 0, 16, 0, NULL), 2);
	assert_int_equal(request(0, IMG_SECTORS - 1, 1024, 1, NULL), 1);   /* past the end */
	assert_int_equal(request(99, 0, 0, 0, NULL), 2);             /* unknown type */
	assert_int_equal(vmm_storage_path_get_info(sdev, 0, &pi), 0);
	assert_int_equal(pi.reads, 1);
	assert_int_equal(pi.writes, 1);
	assert_int_equal(pi.flushes, 1);
	assert_int_equal(pi.discards, 1);
	assert_int_equal(pi.write_zeroes, 1);
}

static void test_read_only_device(void **state)
{
	uint8_t buf[512];

	sdev = make_dev(VMM_STORAGE_READONLY, VMM_STORAGE_PATH_FILE, 1);
	driver_setup(add_blk);
	bar(0, 4, 1, 0);                                 /* device features 0..31 */
	assert_true(bar(4, 4, 0, 0) & (1u << 5));        /* VIRTIO_BLK_F_RO */
	negotiate(1);
	setup_queue(VMM__VPCI_NO_VECTOR);
	memset(buf, 0xcc, sizeof(buf));
	vmm_mem_write(vm, DATA, buf, 512);
	assert_int_equal(request(1, 7, 512, 0, NULL), 1);
	assert_int_equal(disk_byte(7 * 512), 7);         /* unchanged */
	assert_int_equal(request(0, 7, 512, 1, NULL), 0);
	vmm_mem_read(vm, DATA, buf, 512);
	assert_int_equal(buf[100], 7);
}

static void test_bad_configs(void **state)
{
	vmm_blk_config c = VMM_BLK_CONFIG_INIT;
	vmm_storage_config sc = VMM_STORAGE_CONFIG_INIT;
	vmm_vm_config vc = VMM_VM_CONFIG_INIT;
	vmm_storage_dev *empty;

	vc.backend = "emu";
	vc.flags = VMM_VM_IRQCHIP;
	assert_int_equal(vmm_vm_create(&vc, &vm), 0);
	sdev = make_dev(0, VMM_STORAGE_PATH_FILE, 1);
	c.storage = sdev;
	c.path = img;                               /* both */
	assert_int_equal(vmm_virtio_blk_add(vm, &c), VMM_EINVAL);
	c.path = NULL;
	c.storage = NULL;                           /* neither */
	assert_int_equal(vmm_virtio_blk_add(vm, &c), VMM_EINVAL);
	assert_int_equal(vmm_storage_create(&sc, &empty), 0);
	c.storage = empty;                          /* no path */
	assert_int_equal(vmm_virtio_blk_add(vm, &c), VMM_ESTATE);
	vmm_storage_destroy(empty);
	/* an embedder built against the older, smaller config */
	c.storage = NULL;
	c.path = img;
	c.size = offsetof(vmm_blk_config, storage);
	assert_int_equal(vmm_virtio_blk_add(vm, &c), 0);
}

static void start_nbdkit(int i)
{
	unlink(sock[i]);
	server[i] = fork();
	assert_true(server[i] >= 0);
	if (server[i] == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0)
			dup2(fd, 2);
		execlp("nbdkit", "nbdkit", "--exit-with-parent", "-f", "-U", sock[i], "file", img,
		       (char *)NULL);
		_exit(127);
	}
	for (int t = 0; t < 500 && access(sock[i], F_OK) != 0; t++)
		usleep(10000);
	assert_int_equal(access(sock[i], F_OK), 0);
}

/* The driver writes 200 sectors one request at a time while one of the
 * two NBD servers is killed: every request is OK, every byte lands. */
static void test_nbd_failover(void **state)
{
	vmm_storage_path_info a = VMM_STORAGE_PATH_INFO_INIT, b = VMM_STORAGE_PATH_INFO_INIT;
	uint8_t buf[512];

	if (system("command -v nbdkit >/dev/null 2>&1") != 0) {
		print_message("skipped: nbdkit is not installed\n");
		skip();
	}
	start_nbdkit(0);
	start_nbdkit(1);
	sdev = make_dev(0, VMM_STORAGE_PATH_NBD, 2);
	start();
	for (uint32_t s = 0; s < 200; s++) {
		if (s == 100)
			kill_server(1);
		memset(buf, (int)(0x80 ^ s), sizeof(buf));
		vmm_mem_write(vm, DATA, buf, 512);
		assert_int_equal(request(1, 1000 + s, 512, 0, NULL), 0);
	}
	assert_int_equal(request(4, 0, 0, 0, NULL), 0);
	for (uint32_t s = 0; s < 200; s++)
		assert_int_equal(disk_byte((1000 + s) * 512ull + 5), (0x80 ^ s) & 0xff);
	assert_int_equal(vmm_storage_path_get_info(sdev, 0, &a), 0);
	assert_int_equal(vmm_storage_path_get_info(sdev, 1, &b), 0);
	assert_int_equal(b.state, VMM_STORAGE_DEAD);
	assert_true(b.writes >= 40 && a.writes >= 100);
	assert_int_equal(a.writes + b.writes, 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_over_file_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_configs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nbd_failover, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
