/* test_virtio_scsi.c - virtio-scsi over storage devices
 * (lib/virtio/virtio_scsi.c, scsi_cmd.c, scsi_page.c), driven through the
 * PCI transport as Linux's virtio_scsi driver does: three LUNs (a raw
 * file, a 64 MiB qcow2 image from qemu-img, a read-only raw file);
 * INQUIRY and its VPD pages, REPORT LUNS, READ CAPACITY(10/16), MODE SENSE
 * as sd asks, READ/WRITE(10/16) with the bytes in the files checked,
 * SYNCHRONIZE CACHE, UNMAP and WRITE SAME(16) with UNMAP freeing qcow2
 * clusters (the image's allocation shrinks, qemu-img check is clean), WRITE
 * SAME(10) with a pattern, bad CDBs and headers (CHECK CONDITION with the
 * right sense, BAD_TARGET, OVERRUN), task management, and the sense data
 * of an iSCSI target (tgtd with a read-only LUN) passed to the guest. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
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

#define MiB (1u << 20)
#define RAW_SIZE (4u * MiB)
#define CDESC 0x13000ull
#define CAVAIL 0x14000ull
#define CUSED 0x15000ull
#define REQHDR 0x30000ull
#define RESP 0x31000ull
#define DOUT 0x100000ull
#define DIN 0x600000ull
#define RESP_LEN (12u + 96u)

static char dir[] = "/tmp/vmm-vscsi-XXXXXX";
static char raw[120], qcow[120], ro[120];
static vmm_storage_dev *luns[3];
static uint32_t nluns;
static uint16_t avail_idx[3];
static uint16_t notify_off[3];
static bool have_qemu_img;

static vmm_storage_dev *open_dev(const char *file, uint32_t kind, uint32_t flags)
{
	vmm_storage_config c = VMM_STORAGE_CONFIG_INIT;
	vmm_storage_path_config pc = VMM_STORAGE_PATH_CONFIG_INIT;
	vmm_storage_dev *dev;

	c.flags = flags;
	assert_int_equal(vmm_storage_create(&c, &dev), 0);
	pc.kind = kind;
	pc.target = file;
	if (vmm_storage_add_path(dev, &pc, NULL) != 0)
		fail_msg("%s: %s", file, vmm_last_error());
	return dev;
}

static int add_scsi(vmm_vm *v)
{
	vmm_scsi_lun_config l[3] = { VMM_SCSI_LUN_CONFIG_INIT, VMM_SCSI_LUN_CONFIG_INIT,
				     VMM_SCSI_LUN_CONFIG_INIT };
	vmm_scsi_config c = VMM_SCSI_CONFIG_INIT;

	for (uint32_t i = 0; i < nluns; i++)
		l[i].storage = luns[i];
	l[0].serial = "raw-lun-0";
	c.luns = l;
	c.nluns = nluns;
	return vmm_virtio_scsi_add(v, &c);
}

static void make_raw(const char *path, uint32_t size)
{
	uint8_t b[4096];
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	for (uint32_t off = 0; off < size; off += sizeof(b)) {
		memset(b, (int)((off / 512) & 0xff), sizeof(b));
		for (unsigned s = 0; s < 8; s++)
			b[s * 512] = (uint8_t)((off / 512 + s) & 0xff);
		assert_int_equal(write(fd, b, sizeof(b)), sizeof(b));
	}
	close(fd);
}

static void setup_q(uint16_t q, uint64_t d, uint64_t a, uint64_t u)
{
	uint16_t zero = 0;

	vmm_mem_write(vm, a + 2, &zero, 2);
	bar(22, 2, 1, q);
	assert_int_equal(bar(24, 2, 0, 0), 256);
	bar(24, 2, 1, 8);
	bar(26, 2, 1, VMM__VPCI_NO_VECTOR);
	bar(32, 4, 1, d), bar(36, 4, 1, 0);
	bar(40, 8, 1, a);
	bar(48, 4, 1, u), bar(52, 4, 1, 0);
	bar(28, 2, 1, 1);
	notify_off[q] = (uint16_t)bar(30, 2, 0, 0);
}

static int setup(void **state)
{
	have_qemu_img = system("command -v qemu-img >/dev/null 2>&1") == 0;
	assert_non_null(mkdtemp(dir));
	snprintf(raw, sizeof(raw), "%s/lun0.raw", dir);
	snprintf(qcow, sizeof(qcow), "%s/lun1.qcow2", dir);
	snprintf(ro, sizeof(ro), "%s/lun2.raw", dir);
	make_raw(raw, RAW_SIZE);
	make_raw(ro, MiB);
	luns[0] = open_dev(raw, VMM_STORAGE_PATH_FILE, 0);
	nluns = 1;
	if (have_qemu_img) {
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "qemu-img create -q -f qcow2 %s 64M", qcow);
		assert_int_equal(system(cmd), 0);
		luns[1] = open_dev(qcow, VMM_STORAGE_PATH_QCOW2, 0);
		luns[2] = open_dev(ro, VMM_STORAGE_PATH_FILE, VMM_STORAGE_READONLY);
		nluns = 3;
	}
	memset(avail_idx, 0, sizeof(avail_idx));
	driver_setup(add_scsi);
	negotiate(1);
	setup_q(0, CDESC, CAVAIL, CUSED);
	setup_q(2, DESC, AVAIL, USED);
	bar(20, 1, 1, 1 | 2 | 8 | 4);                    /* DRIVER_OK */
	return 0;
}

static int teardown(void **state)
{
	char cmd[200];

	driver_teardown();
	for (uint32_t i = 0; i < nluns; i++)
		vmm_storage_destroy(luns[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	strcpy(dir, "/tmp/vmm-vscsi-XXXXXX");
	return system(cmd) == 0 ? 0 : -1;
}

static void desc_at(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		    uint16_t next)
{
	uint8_t d[16];

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
	vmm_mem_write(vm, table + 16 * i, d, 16);
}

/* Makes chain 0 of queue q available, notifies, waits for it to be used. */
static uint32_t kick_wait(uint16_t q, uint64_t avail, uint64_t used)
{
	uint16_t head = 0, idx = 0;
	uint32_t ent[2] = { 0 };

	vmm_mem_write(vm, avail + 4 + 2 * (avail_idx[q] % 8), &head, 2);
	avail_idx[q]++;
	vmm_mem_write(vm, avail + 2, &avail_idx[q], 2);
	bar(VMM__VPCI_NOTIFY + notify_off[q] * VMM__VPCI_NOTIFY_MULT, 2, 1, q);
	for (int tries = 0; tries < 30000; tries++) {
		vmm_mem_read(vm, used + 2, &idx, 2);
		if (idx == avail_idx[q])
			break;
		usleep(1000);
	}
	assert_int_equal(idx, avail_idx[q]);
	vmm_mem_read(vm, used + 4 + 8 * ((avail_idx[q] - 1) % 8), ent, 8);
	return ent[1];
}

typedef struct resp {
	uint32_t sense_len, residual, used;
	uint8_t status, response;
	uint8_t sense[96];
} resp;

static const uint8_t *lun_addr(uint32_t n)
{
	static uint8_t a[8];

	memset(a, 0, 8);
	a[0] = 1;
	a[2] = (uint8_t)(0x40 | n >> 8);
	a[3] = (uint8_t)n;
	return a;
}

/* One command on the request queue: header (LUN, 32-byte CDB), data-out,
 * response, data-in (at DIN, din bytes). */
static resp scsi_addr(const uint8_t *lun8, const uint8_t *cdb, unsigned cdb_len,
		      const void *out, uint32_t out_len, uint32_t din)
{
	uint8_t hdr[51] = { 0 }, r[RESP_LEN];
	unsigned n = 0;
	resp x;

	memcpy(hdr, lun8, 8);
	hdr[8] = 0x11;                                   /* id */
	memcpy(hdr + 19, cdb, cdb_len);
	vmm_mem_write(vm, REQHDR, hdr, sizeof(hdr));
	memset(r, 0xee, sizeof(r));
	vmm_mem_write(vm, RESP, r, sizeof(r));
	desc_at(DESC, n, REQHDR, sizeof(hdr), VMM__VRING_DESC_F_NEXT, (uint16_t)(n + 1)), n++;
	if (out_len) {
		vmm_mem_write(vm, DOUT, out, out_len);
		desc_at(DESC, n, DOUT, out_len, VMM__VRING_DESC_F_NEXT, (uint16_t)(n + 1)), n++;
	}
	desc_at(DESC, n, RESP, RESP_LEN, (uint16_t)(VMM__VRING_DESC_F_WRITE |
						     (din ? VMM__VRING_DESC_F_NEXT : 0)),
		(uint16_t)(n + 1)), n++;
	if (din)
		desc_at(DESC, n, DIN, din, VMM__VRING_DESC_F_WRITE, 0);
	x.used = kick_wait(2, AVAIL, USED);
	vmm_mem_read(vm, RESP, r, sizeof(r));
	memcpy(&x.sense_len, r, 4);
	memcpy(&x.residual, r + 4, 4);
	x.status = r[10];
	x.response = r[11];
	memcpy(x.sense, r + 12, 96);
	return x;
}

static resp scsi(uint32_t lun, const uint8_t *cdb, unsigned cdb_len, const void *out,
		 uint32_t out_len, uint32_t din)
{
	return scsi_addr(lun_addr(lun), cdb, cdb_len, out, out_len, din);
}

static void expect_good(resp r)
{
	assert_int_equal(r.response, 0);
	if (r.status)
		fail_msg("CHECK CONDITION %x/%02x/%02x", r.sense[2] & 0xf, r.sense[12], r.sense[13]);
}

static void expect_sense(resp r, uint8_t key, uint8_t asc, uint8_t ascq)
{
	assert_int_equal(r.response, 0);
	assert_int_equal(r.status, 2);
	assert_int_equal(r.sense_len, 18);
	assert_int_equal(r.sense[0], 0x70);
	assert_int_equal(r.sense[2] & 0xf, key);
	assert_int_equal(r.sense[12], asc);
	assert_int_equal(r.sense[13], ascq);
}

static void din(void *b, uint32_t n)
{
	vmm_mem_read(vm, DIN, b, n);
}

static void test_inquiry(void **state)
{
	uint8_t inq[6] = { 0x12, 0, 0, 0, 96, 0 }, b[256];
	resp r;

	r = scsi(0, inq, 6, NULL, 0, 96);
	expect_good(r);
	assert_int_equal(r.residual, 0);
	assert_int_equal(r.used, RESP_LEN + 96);
	din(b, 96);
	assert_int_equal(b[0], 0x00);                    /* direct access */
	assert_int_equal(b[2], 6);                       /* SPC-4 */
	assert_memory_equal(b + 8, "LIBVMM  VIRTUAL DISK    ", 24);
	/* a LUN that is not there: qualifier 3 */
	expect_good(scsi(9, inq, 6, NULL, 0, 96));
	din(b, 1);
	assert_int_equal(b[0], 0x7f);
	/* the allocation length truncates, the residual says so */
	inq[4] = 36;
	r = scsi(0, inq, 6, NULL, 0, 96);
	expect_good(r);
	assert_int_equal(r.residual, 60);
	/* VPD pages */
	inq[1] = 1, inq[2] = 0x00, inq[4] = 255;
	expect_good(scsi(0, inq, 6, NULL, 0, 255));
	din(b, 10);
	assert_int_equal(b[1], 0x00);
	assert_int_equal(b[3], 6);
	assert_memory_equal(b + 4, "\x00\x80\x83\xb0\xb1\xb2", 6);
	inq[2] = 0x80;
	expect_good(scsi(0, inq, 6, NULL, 0, 255));
	din(b, 13);
	assert_int_equal(b[3], 9);
	assert_memory_equal(b + 4, "raw-lun-0", 9);
	inq[2] = 0x83;
	expect_good(scsi(0, inq, 6, NULL, 0, 255));
	din(b, 40);
	assert_int_equal(b[4] & 0xf, 1);                 /* binary */
	assert_int_equal(b[5] & 0xf, 3);                 /* NAA */
	assert_int_equal(b[8] >> 4, 3);                  /* locally assigned */
	assert_int_equal(b[17] & 0xf, 1);                /* T10 vendor ID */
	assert_memory_equal(b + 20, "LIBVMM  raw-lun-0", 17);
	inq[2] = 0xb0;
	expect_good(scsi(0, inq, 6, NULL, 0, 255));
	din(b, 64);
	assert_int_equal(b[3], 0x3c);
	assert_int_equal((uint32_t)b[8] << 24 | b[9] << 16 | b[10] << 8 | b[11], 65536);
	assert_int_equal((uint32_t)b[24] << 24 | b[25] << 16 | b[26] << 8 | b[27], 64);
	inq[2] = 0xb2;
	expect_good(scsi(0, inq, 6, NULL, 0, 255));
	din(b, 8);
	assert_int_equal(b[5], 0xc0);                    /* LBPU, LBPWS */
	assert_int_equal(b[6] & 7, 2);                   /* thin */
	/* bad fields */
	inq[2] = 0x99;
	expect_sense(scsi(0, inq, 6, NULL, 0, 255), 5, 0x24, 0);
	inq[1] = 0, inq[2] = 0x80;
	expect_sense(scsi(0, inq, 6, NULL, 0, 255), 5, 0x24, 0);
}

static void test_report_luns_capacity(void **state)
{
	uint8_t rl[12] = { 0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0 }, b[64];
	uint8_t rc10[10] = { 0x25 }, rc16[16] = { 0x9e, 0x10 };

	expect_good(scsi(0, rl, 12, NULL, 0, 256));
	din(b, 8 + 8 * nluns);
	assert_int_equal(b[3], 8 * nluns);
	for (uint32_t i = 0; i < nluns; i++)
		assert_int_equal(b[8 + 8 * i + 1], i);
	rl[9] = 8;                                       /* allocation length below 16 */
	rl[8] = 0;
	expect_sense(scsi(0, rl, 12, NULL, 0, 256), 5, 0x24, 0);
	expect_good(scsi(0, rc10, 10, NULL, 0, 8));
	din(b, 8);
	assert_memory_equal(b, "\x00\x00\x1f\xff\x00\x00\x02\x00", 8);   /* 8191, 512 */
	rc16[13] = 32;
	expect_good(scsi(0, rc16, 16, NULL, 0, 32));
	din(b, 32);
	assert_memory_equal(b, "\x00\x00\x00\x00\x00\x00\x1f\xff\x00\x00\x02\x00", 12);
	assert_int_equal(b[14] & 0x80, 0x80);            /* LBPME */
	if (!have_qemu_img)
		return;
	expect_good(scsi(1, rc16, 16, NULL, 0, 32));
	din(b, 8);
	assert_memory_equal(b, "\x00\x00\x00\x00\x00\x01\xff\xff", 8);   /* 64 MiB */
}

static void test_mode_sense(void **state)
{
	uint8_t ms6[6] = { 0x1a, 0, 0x3f, 0, 255 }, ms10[10] = { 0x5a, 0x08, 0x08, 0, 0, 0, 0, 0, 64 };
	uint8_t b[256];
	resp r;

	r = scsi(0, ms6, 6, NULL, 0, 255);
	expect_good(r);
	din(b, 64);
	assert_int_equal(b[0] + 1, 255 - r.residual);    /* mode data length */
	assert_int_equal(b[2] & 0x80, 0);                /* not write-protected */
	assert_int_equal(b[3], 8);                       /* a block descriptor */
	assert_int_equal(b[4 + 6] << 8 | b[4 + 7], 512);
	/* pages 0x01, 0x08, 0x0a in order; caching has WCE */
	assert_int_equal(b[12], 0x01);
	assert_int_equal(b[24], 0x08);
	assert_int_equal(b[26] & 0x04, 0x04);
	assert_int_equal(b[44], 0x0a);
	expect_good(scsi(0, ms10, 10, NULL, 0, 64));
	din(b, 28);
	assert_int_equal(b[7], 0);                       /* DBD: no descriptor */
	assert_int_equal(b[8], 0x08);
	ms6[2] = 0xff;                                   /* saved values */
	expect_sense(scsi(0, ms6, 6, NULL, 0, 255), 5, 0x39, 0);
	ms6[2] = 0x1c;                                   /* a page we do not have */
	expect_sense(scsi(0, ms6, 6, NULL, 0, 255), 5, 0x24, 0);
	if (!have_qemu_img)
		return;
	ms6[2] = 0x3f;
	expect_good(scsi(2, ms6, 6, NULL, 0, 255));
	din(b, 4);
	assert_int_equal(b[2] & 0x80, 0x80);             /* write-protected */
}

static uint8_t file_byte(const char *f, uint64_t off)
{
	uint8_t c = 0;
	int fd = open(f, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, (off_t)off), 1);
	close(fd);
	return c;
}

static void test_read_write(void **state)
{
	static uint8_t data[64 * 1024], got[64 * 1024];
	uint8_t r10[10] = { 0x28, 0, 0, 0, 0, 100, 0, 0, 16 };
	uint8_t w16[16] = { 0x8a, 0x08, 0, 0, 0, 0, 0, 0, 0, 200, 0, 0, 0, 128 };
	uint8_t sync[10] = { 0x35 }, tur[6] = { 0 };
	resp r;

	expect_good(scsi(0, tur, 6, NULL, 0, 0));
	r = scsi(0, r10, 10, NULL, 0, 16 * 512);
	expect_good(r);
	assert_int_equal(r.residual, 0);
	din(got, 16 * 512);
	for (int s = 0; s < 16; s++)
		assert_int_equal(got[s * 512], (100 + s) & 0xff);
	/* WRITE(16) with FUA of 64 KiB at LBA 200 */
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13 + 7);
	expect_good(scsi(0, w16, 16, data, sizeof(data), 0));
	for (unsigned i = 0; i < sizeof(data); i += 4099)
		assert_int_equal(file_byte(raw, 200 * 512 + i), data[i]);
	expect_good(scsi(0, sync, 10, NULL, 0, 0));
	/* read back with a bigger buffer than asked: residual */
	r10[5] = 200, r10[8] = 128;
	r = scsi(0, r10, 10, NULL, 0, 128 * 512 + 1000);
	expect_good(r);
	assert_int_equal(r.residual, 1000);
	din(got, sizeof(got));
	assert_memory_equal(got, data, sizeof(data));
	/* the buffer is too small for the transfer */
	assert_int_equal(scsi(0, r10, 10, NULL, 0, 512).response, 1);   /* OVERRUN */
	/* a zero-length transfer */
	r10[8] = 0;
	expect_good(scsi(0, r10, 10, NULL, 0, 0));
}

static void test_bad_commands(void **state)
{
	uint8_t cdb[16] = { 0xd5 }, r10[10] = { 0x28, 0, 0, 0, 0x1f, 0xff, 0, 0, 2 };
	uint8_t w10[10] = { 0x2a, 0, 0, 0, 0, 0, 0, 0, 1 }, un[10] = { 0x42, 0, 0, 0, 0, 0, 0, 0, 4 };
	uint8_t bad_target[8] = { 1, 1, 0x40, 0 }, bad_bus[8] = { 2, 0, 0x40, 0 };
	uint8_t block[512] = { 0 }, r16[16] = { 0x88 };

	expect_sense(scsi(0, cdb, 16, NULL, 0, 0), 5, 0x20, 0);           /* opcode */
	expect_sense(scsi(0, r10, 10, NULL, 0, 1024), 5, 0x21, 0);        /* past the end */
	r10[1] = 0x20;                                                   /* RDPROTECT */
	r10[4] = 0;
	expect_sense(scsi(0, r10, 10, NULL, 0, 1024), 5, 0x24, 0);
	expect_sense(scsi(7, w10, 10, block, 512, 0), 5, 0x25, 0);        /* no LUN 7 */
	expect_sense(scsi(0, un, 10, block, 4, 0), 5, 0x1a, 0);           /* short UNMAP list */
	assert_int_equal(scsi_addr(bad_target, w10, 10, block, 512, 0).response, 3);
	assert_int_equal(scsi_addr(bad_bus, w10, 10, block, 512, 0).response, 3);
	/* data-out and data-in together (no INOUT feature): failure */
	assert_int_equal(scsi(0, r10, 10, block, 512, 512).response, 9);
	if (!have_qemu_img)
		return;
	expect_sense(scsi(2, w10, 10, block, 512, 0), 7, 0x27, 0);        /* read-only */
	r16[11] = 1, r16[13] = 1;                                        /* 32 MiB + 512 */
	expect_sense(scsi(1, r16, 16, NULL, 0, 1024), 5, 0x24, 0);
	assert_int_equal(file_byte(ro, 0), 0);
}

static uint64_t allocated(vmm_storage_dev *d)
{
	vmm_storage_space s = VMM_STORAGE_SPACE_INIT;

	assert_int_equal(vmm_storage_get_space(d, &s), 0);
	return s.allocated;
}

/* UNMAP and WRITE SAME with UNMAP on the qcow2 LUN free its clusters. */
static void test_unmap_write_same(void **state)
{
	static uint8_t data[MiB], got[MiB];
	uint8_t w10[10] = { 0x2a, 0, 0, 0, 0x20, 0, 0, 0x08, 0 };   /* LBA 8192, 2048 blocks */
	uint8_t r10[10] = { 0x28, 0, 0, 0, 0x20, 0, 0, 0x08, 0 };
	uint8_t un[10] = { 0x42, 0, 0, 0, 0, 0, 0, 0, 24 }, list[24] = { 0, 22, 0, 16 };
	uint8_t ws16[16] = { 0x93, 0x08, 0, 0, 0, 0, 0, 0, 0x20, 0, 0, 0, 0x08, 0 };
	uint8_t ws10[10] = { 0x41, 0, 0, 0, 0, 64, 0, 0, 16 }, block[512] = { 0 };
	uint64_t a0, a1;
	char cmd[300];

	if (!have_qemu_img) {
		print_message("skipped: qemu-img is not installed\n");
		skip();
	}
	memset(data, 0x5a, sizeof(data));
	a0 = allocated(luns[1]);
	expect_good(scsi(1, w10, 10, data, MiB, 0));
	a1 = allocated(luns[1]);
	assert_true(a1 >= a0 + MiB);
	/* UNMAP [8192, +2048): the clusters go, reads give zeros */
	list[8 + 6] = 0x20;                                  /* LBA 8192 */
	list[8 + 10] = 0x08;                                 /* 2048 blocks */
	expect_good(scsi(1, un, 10, list, sizeof(list), 0));
	assert_int_equal(allocated(luns[1]), a1 - MiB);
	expect_good(scsi(1, r10, 10, NULL, 0, MiB));
	din(got, MiB);
	memset(data, 0, sizeof(data));
	assert_memory_equal(got, data, MiB);
	/* write again, then WRITE SAME(16) with UNMAP and a zero block */
	memset(data, 0x6b, sizeof(data));
	expect_good(scsi(1, w10, 10, data, MiB, 0));
	assert_int_equal(allocated(luns[1]), a1);
	expect_good(scsi(1, ws16, 16, block, 512, 0));
	assert_int_equal(allocated(luns[1]), a1 - MiB);
	expect_good(scsi(1, r10, 10, NULL, 0, MiB));
	din(got, MiB);
	memset(data, 0, sizeof(data));
	assert_memory_equal(got, data, MiB);
	/* WRITE SAME(10) with a pattern: written 16 times on LUN 0 */
	memset(block, 0xc3, sizeof(block));
	expect_good(scsi(0, ws10, 10, block, 512, 0));
	for (int s = 0; s < 16; s++)
		assert_int_equal(file_byte(raw, (64 + s) * 512 + 100), 0xc3);
	assert_int_equal(file_byte(raw, 80 * 512), 80);
	/* descriptors past the end and too many */
	list[8 + 6] = 0xff, list[8 + 5] = 0xff;
	expect_sense(scsi(1, un, 10, list, sizeof(list), 0), 5, 0x21, 0);
	snprintf(cmd, sizeof(cmd), "qemu-img check -U -q %s", qcow);
	assert_int_equal(system(cmd), 0);
}

static void test_task_management(void **state)
{
	uint8_t tmf[24] = { 0 }, an[16] = { 1 }, resp5[5];
	uint8_t resp1 = 0xee;
	uint32_t sub = 5;                                    /* LOGICAL UNIT RESET */

	memcpy(tmf + 4, &sub, 4);
	memcpy(tmf + 8, lun_addr(0), 8);
	vmm_mem_write(vm, REQHDR, tmf, sizeof(tmf));
	vmm_mem_write(vm, RESP, &resp1, 1);
	desc_at(CDESC, 0, REQHDR, sizeof(tmf), VMM__VRING_DESC_F_NEXT, 1);
	desc_at(CDESC, 1, RESP, 1, VMM__VRING_DESC_F_WRITE, 0);
	assert_int_equal(kick_wait(0, CAVAIL, CUSED), 1);
	vmm_mem_read(vm, RESP, &resp1, 1);
	assert_int_equal(resp1, 0);                          /* FUNCTION COMPLETE */
	memcpy(tmf + 8, lun_addr(33), 8);
	vmm_mem_write(vm, REQHDR, tmf, sizeof(tmf));
	assert_int_equal(kick_wait(0, CAVAIL, CUSED), 1);
	vmm_mem_read(vm, RESP, &resp1, 1);
	assert_int_equal(resp1, 12);                         /* INCORRECT LUN */
	/* asynchronous notification query: no events */
	memcpy(an + 4, lun_addr(0), 8);
	vmm_mem_write(vm, REQHDR, an, sizeof(an));
	memset(resp5, 0xee, 5);
	vmm_mem_write(vm, RESP, resp5, 5);
	desc_at(CDESC, 0, REQHDR, sizeof(an), VMM__VRING_DESC_F_NEXT, 1);
	desc_at(CDESC, 1, RESP, 5, VMM__VRING_DESC_F_WRITE, 0);
	assert_int_equal(kick_wait(0, CAVAIL, CUSED), 5);
	vmm_mem_read(vm, RESP, resp5, 5);
	assert_memory_equal(resp5, "\0\0\0\0\0", 5);
}

/* A header shorter than the CDB size and a response buffer too small. */
static void test_bad_headers(void **state)
{
	uint8_t hdr[51] = { 1, 0, 0x40, 0 };

	vmm_mem_write(vm, REQHDR, hdr, sizeof(hdr));
	desc_at(DESC, 0, REQHDR, 20, VMM__VRING_DESC_F_NEXT, 1);
	desc_at(DESC, 1, RESP, RESP_LEN, VMM__VRING_DESC_F_WRITE, 0);
	assert_int_equal(kick_wait(2, AVAIL, USED), RESP_LEN);
	assert_int_equal(file_byte(raw, 0), 0);              /* nothing happened */
	desc_at(DESC, 0, REQHDR, sizeof(hdr), VMM__VRING_DESC_F_NEXT, 1);
	desc_at(DESC, 1, RESP, 8, VMM__VRING_DESC_F_WRITE, 0);
	assert_int_equal(kick_wait(2, AVAIL, USED), 0);      /* no room for a response */
	/* the driver's cdb_size and sense_size are taken (and bounded) */
	bar(VMM__VPCI_DEVICE + 24, 4, 1, 16);
	assert_int_equal(bar(VMM__VPCI_DEVICE + 24, 4, 0, 0), 16);
	bar(VMM__VPCI_DEVICE + 20, 4, 1, 100000);
	assert_int_equal(bar(VMM__VPCI_DEVICE + 20, 4, 0, 0), 252);
	bar(VMM__VPCI_DEVICE + 20, 4, 1, 96);
	bar(VMM__VPCI_DEVICE + 24, 4, 1, 32);
	assert_int_equal(bar(VMM__VPCI_DEVICE + 0, 4, 0, 0), 1);   /* num_queues */
}

/* ---- Sense data from an iSCSI target ---- */

static pid_t tgtd;
static int tgt_ctl;

static int tgtadm(const char *args)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "tgtadm -C %d --lld iscsi %s >/dev/null 2>&1", tgt_ctl, args);
	return system(cmd);
}

/* tgtd on loopback exporting lun0.raw as a read-only LUN 1; LUN 0 of the
 * controller is that iSCSI LUN. */
static int setup_iscsi(void **state)
{
	char portal[64], url[160], args[300];
	int port;

	*state = NULL;
	if (geteuid() != 0 || system("command -v tgtd >/dev/null && command -v tgtadm "
				     ">/dev/null") != 0)
		return 0;
	assert_non_null(mkdtemp(dir));
	snprintf(raw, sizeof(raw), "%s/lun0.raw", dir);
	make_raw(raw, RAW_SIZE);
	tgt_ctl = 3000 + getpid() % 5000;
	port = 30000 + getpid() % 5000;
	snprintf(portal, sizeof(portal), "portal=127.0.0.1:%d", port);
	tgtd = fork();
	assert_true(tgtd >= 0);
	if (tgtd == 0) {
		char c[16];
		int fd = open("/dev/null", O_WRONLY);

		snprintf(c, sizeof(c), "%d", tgt_ctl);
		dup2(fd, 1);
		dup2(fd, 2);
		execlp("tgtd", "tgtd", "-f", "-C", c, "--iscsi", portal, (char *)NULL);
		_exit(127);
	}
	for (int t = 0; t < 300 && tgtadm("--op show --mode sys") != 0; t++)
		usleep(20000);
	assert_int_equal(tgtadm("--op new --mode target --tid 1 -T iqn.2024-01.org.libvmm:vscsi"), 0);
	snprintf(args, sizeof(args), "--op new --mode logicalunit --tid 1 --lun 1 -b %s", raw);
	assert_int_equal(tgtadm(args), 0);
	assert_int_equal(tgtadm("--op bind --mode target --tid 1 -I ALL"), 0);
	assert_int_equal(tgtadm("--op update --mode logicalunit --tid 1 --lun 1 --params "
				"readonly=1"), 0);
	snprintf(url, sizeof(url), "iscsi://127.0.0.1:%d/iqn.2024-01.org.libvmm:vscsi/1", port);
	luns[0] = open_dev(url, VMM_STORAGE_PATH_ISCSI, 0);
	nluns = 1;
	have_qemu_img = false;
	memset(avail_idx, 0, sizeof(avail_idx));
	driver_setup(add_scsi);
	negotiate(1);
	setup_q(0, CDESC, CAVAIL, CUSED);
	setup_q(2, DESC, AVAIL, USED);
	bar(20, 1, 1, 1 | 2 | 8 | 4);
	*state = dir;
	return 0;
}

static int teardown_iscsi(void **state)
{
	if (!*state)
		return 0;
	teardown(state);
	kill(tgtd, SIGKILL);
	waitpid(tgtd, NULL, 0);
	return 0;
}

/* The target refuses the write (DATA PROTECT, write protected): the guest
 * gets that sense, though the LUN itself is not read-only here. */
static void test_iscsi_sense(void **state)
{
	vmm_storage_path_info pi = VMM_STORAGE_PATH_INFO_INIT;
	uint8_t w10[10] = { 0x2a, 0, 0, 0, 0, 8, 0, 0, 1 }, r10[10] = { 0x28, 0, 0, 0, 0, 8, 0, 0, 1 };
	uint8_t block[512], got[512];

	if (!*state) {
		print_message("skipped: needs root and tgt (tgtd, tgtadm)\n");
		skip();
	}
	memset(block, 0x77, sizeof(block));
	expect_sense(scsi(0, w10, 10, block, 512, 0), 7, 0x27, 0x00);
	assert_int_equal(file_byte(raw, 8 * 512 + 1), 8);    /* unchanged */
	assert_int_equal(vmm_storage_path_get_info(luns[0], 0, &pi), 0);
	assert_true(pi.errors >= 1);
	assert_non_null(strstr(pi.last_error_msg, "sense 7/27/00"));
	assert_int_equal(pi.state, VMM_STORAGE_ACTIVE);      /* the path is fine */
	expect_good(scsi(0, r10, 10, NULL, 0, 512));
	din(got, 512);
	assert_int_equal(got[0], 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_inquiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_luns_capacity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode_sense, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmap_write_same, setup, teardown),
		cmocka_unit_test_setup_teardown(test_task_management, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iscsi_sense, setup_iscsi, teardown_iscsi),
	};

	(void)setup_queue;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
