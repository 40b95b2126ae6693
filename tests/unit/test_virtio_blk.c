/* test_virtio_blk.c - virtio-blk (lib/virtio/blk.c) over a real image file,
 * driven through the PCI transport as a driver would: read, write, flush,
 * GET_ID, discard and write-zeroes with the exact bytes on disk checked;
 * read-only disks, requests past the end, bad lengths and headers; the
 * image lock between two VMs; the I/O thread joined on destroy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

static char img[] = "/tmp/vmm-blk-XXXXXX";
static uint32_t blk_flags;
static uint16_t next_avail;

static int add_blk(vmm_vm *v)
{
	vmm_blk_config c = VMM_BLK_CONFIG_INIT;

	c.path = img;
	c.flags = blk_flags;
	c.serial = "libvmm-disk-0001";
	return vmm_virtio_blk_add(v, &c);
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
	blk_flags = 0;
	next_avail = 0;
	return 0;
}

static int teardown(void **state)
{
	driver_teardown();
	unlink(img);
	strcpy(img, "/tmp/vmm-blk-XXXXXX");
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
	for (int tries = 0; tries < 5000; tries++) {
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

static void test_read_write_flush_id(void **state)
{
	uint8_t buf[1024], cap[8];
	uint32_t len = 0;
	char id[21] = "";

	start();
	/* Capacity in the device configuration. */
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
	assert_string_equal(id, "libvmm-disk-0001");
}

static void put_segment(uint64_t sector, uint32_t num, uint32_t flags)
{
	uint8_t seg[16];

	memcpy(seg, &sector, 8);
	memcpy(seg + 8, &num, 4);
	memcpy(seg + 12, &flags, 4);
	vmm_mem_write(vm, DATA, seg, 16);
}

static void test_discard_write_zeroes(void **state)
{
	struct stat st;
	blkcnt_t before;

	start();
	stat(img, &st);
	before = st.st_blocks;
	put_segment(512, 512, 0);                                    /* 256 KiB */
	assert_int_equal(request(11, 0, 16, 0, NULL), 0);
	assert_int_equal(disk_byte(512 * 512 + 100), 0);
	stat(img, &st);
	assert_true(st.st_blocks < before);                          /* space freed */
	assert_int_equal(st.st_size, IMG_SECTORS * 512);
	put_segment(10, 2, 0);
	assert_int_equal(request(13, 0, 16, 0, NULL), 0);
	assert_int_equal(disk_byte(10 * 512 + 1), 0);
	assert_int_equal(disk_byte(12 * 512), 12);
	put_segment(IMG_SECTORS - 1, 2, 0);                          /* past the end */
	assert_int_equal(request(13, 0, 16, 0, NULL), 2);
	put_segment(10, 1, 4);                                       /* unknown flag */
	assert_int_equal(request(11, 0, 16, 0, NULL), 2);
}

static void test_bad_requests(void **state)
{
	start();
	assert_int_equal(request(0, IMG_SECTORS - 1, 1024, 1, NULL), 1);   /* past end */
	assert_int_equal(request(0, ~0ull, 512, 1, NULL), 1);              /* huge sector */
	assert_int_equal(request(0, 0, 100, 1, NULL), 1);                  /* not 512 */
	assert_int_equal(request(1, 0, 511, 0, NULL), 1);
	assert_int_equal(request(99, 0, 0, 0, NULL), 2);                   /* unsupported */
	assert_int_equal(disk_byte(0), 0);                                 /* untouched */
}

static void test_read_only_and_lock(void **state)
{
	vmm_vm_config c = VMM_VM_CONFIG_INIT;
	vmm_blk_config bc = VMM_BLK_CONFIG_INIT;
	vmm_vm *other;
	uint8_t buf[512];

	blk_flags = VMM_BLK_READONLY;
	start();
	memset(buf, 0x77, sizeof(buf));
	vmm_mem_write(vm, DATA, buf, sizeof(buf));
	assert_int_equal(request(1, 5, 512, 0, NULL), 1);
	assert_int_equal(disk_byte(5 * 512), 5);
	put_segment(0, 1, 0);
	assert_int_equal(request(11, 0, 16, 0, NULL), 1);
	assert_int_equal(request(0, 5, 512, 1, NULL), 0);            /* reads work */
	/* A second VM: read-only may share, read-write may not. */
	c.backend = "emu";
	c.mem_size = 1u << 20;
	c.flags = VMM_VM_IRQCHIP;
	assert_int_equal(vmm_vm_create(&c, &other), 0);
	bc.path = img;
	assert_int_equal(vmm_virtio_blk_add(other, &bc), VMM_EBUSY);
	assert_non_null(strstr(vmm_last_error(), "in use"));
	bc.flags = VMM_BLK_READONLY;
	assert_int_equal(vmm_virtio_blk_add(other, &bc), 0);
	vmm_vm_destroy(other);
	/* Bad configs. */
	bc.path = "/nonexistent/disk.img";
	assert_int_equal(vmm_virtio_blk_add(vm, &bc), VMM_ENOENT);
	bc.path = img;
	bc.serial = "123456789012345678901";
	assert_int_equal(vmm_virtio_blk_add(vm, &bc), VMM_EINVAL);
}

static uint64_t capacity(void)
{
	uint64_t c = 0;

	for (int i = 0; i < 8; i++)
		c |= (uint64_t)bar(VMM__VPCI_DEVICE + (unsigned)i, 1, 0, 0) << (8 * i);
	return c;
}

/* vmm_virtio_blk_resize: the image grows, the configuration says so, its
 * generation moves and the configuration-change interrupt is raised. */
static void test_resize(void **state)
{
	uint32_t gen;
	struct stat st;
	uint8_t buf[512];

	start();
	gen = (uint32_t)bar(21, 1, 0, 0);
	assert_int_equal(bar(VMM__VPCI_ISR, 1, 0, 0), 0);
	assert_int_equal(request(0, 3000, 512, 1, NULL), 1);        /* past the end */
	assert_int_equal(vmm_virtio_blk_resize(vm, 0, 2u << 20), 0);
	assert_int_equal(capacity(), 4096);
	assert_int_equal(bar(21, 1, 0, 0), (gen + 1) & 0xff);
	assert_int_equal(bar(VMM__VPCI_ISR, 1, 0, 0) & 2, 2);       /* configuration change */
	assert_int_equal(stat(img, &st), 0);
	assert_int_equal(st.st_size, 2u << 20);
	memset(buf, 0x5c, sizeof(buf));
	vmm_mem_write(vm, DATA, buf, sizeof(buf));
	assert_int_equal(request(1, 3000, 512, 0, NULL), 0);
	assert_int_equal(disk_byte(3000 * 512 + 9), 0x5c);
	/* grown by its owner: 0 picks the size up */
	assert_int_equal(truncate(img, 3u << 20), 0);
	assert_int_equal(vmm_virtio_blk_resize(vm, 0, 0), 0);
	assert_int_equal(capacity(), 6144);
	assert_int_equal(vmm_virtio_blk_resize(vm, 0, 1u << 20), VMM_ENOTSUP);
	assert_int_equal(vmm_virtio_blk_resize(vm, 0, (4u << 20) + 1), VMM_EINVAL);
	assert_int_equal(vmm_virtio_blk_resize(vm, 1, 4u << 20), VMM_ENOENT);
	assert_int_equal(vmm_virtio_blk_resize(NULL, 0, 4u << 20), VMM_EINVAL);
	assert_int_equal(capacity(), 6144);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_write_flush_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discard_write_zeroes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only_and_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resize, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
