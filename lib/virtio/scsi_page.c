/* scsi_page.c - the pages a virtio-scsi LUN answers with (SPC-4, SBC-3):
 * standard INQUIRY data, the VPD pages 0x00 (supported pages), 0x80 (unit
 * serial number), 0x83 (device identification: NAA and T10 vendor ID),
 * 0xb0 (block limits), 0xb1 (block device characteristics), 0xb2
 * (logical block provisioning), and the mode pages Linux's sd driver asks
 * for (0x01 error recovery, 0x08 caching, 0x0a control, 0x3f all) with
 * MODE SENSE(6) and (10). */
#include <string.h>

#include "lib/virtio/scsi.h"

#define VENDOR "LIBVMM  "
#define PRODUCT "VIRTUAL DISK    "
#define REVISION "1.0 "

static const uint8_t vpd_pages[] = { 0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2 };

static int bad_field(vmm__scsi_cmd *c)
{
	vmm__scsi_sense(c, VMM__SK_ILLEGAL_REQUEST, 0x24, 0x00);   /* invalid field in CDB */
	return -1;
}

/* Standard INQUIRY data: 96 bytes with version descriptors. */
static int standard(const vmm__scsi_lun *lun, uint8_t *b)
{
	static const uint16_t versions[] = { 0x00a0 /* SAM-5 */, 0x0460 /* SPC-4 */,
					     0x04c0 /* SBC-3 */ };

	memset(b, 0, 96);
	b[0] = lun ? 0x00 : 0x7f;      /* direct access; or no LUN here (qualifier 3) */
	b[2] = 0x06;                   /* SPC-4 */
	b[3] = 0x12;                   /* HISUP, response data format 2 */
	b[4] = 96 - 5;
	b[7] = 0x02;                   /* CMDQUE */
	memcpy(b + 8, VENDOR, 8);
	memcpy(b + 16, PRODUCT, 16);
	memcpy(b + 32, REVISION, 4);
	for (unsigned i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		vmm__put_be16(b + 58 + 2 * i, versions[i]);
	return 96;
}

/* Device identification: NAA 3 (locally assigned) and T10 vendor ID. */
static int vpd_ident(const vmm__scsi_lun *lun, uint8_t *b)
{
	uint32_t n = 4, slen = (uint32_t)strlen(lun->serial);

	b[n++] = 0x01;                 /* code set binary */
	b[n++] = 0x03;                 /* association LU, type NAA */
	b[n++] = 0;
	b[n++] = 8;
	vmm__put_be64(b + n, lun->naa);
	n += 8;
	b[n++] = 0x02;                 /* code set ASCII */
	b[n++] = 0x01;                 /* association LU, type T10 vendor ID */
	b[n++] = 0;
	b[n++] = (uint8_t)(8 + slen);
	memcpy(b + n, VENDOR, 8);
	memcpy(b + n + 8, lun->serial, slen);
	n += 8 + slen;
	return (int)n;
}

static int vpd_limits(const vmm__scsi_lun *lun, uint8_t *b)
{
	uint32_t bs = lun->block_size;

	memset(b + 4, 0, 0x3c);
	b[4] = 0x01;                                   /* WSNZ: WRITE SAME of 0 blocks is refused */
	vmm__put_be32(b + 8, VMM__SCSI_MAX_XFER / bs);  /* maximum transfer length */
	if (lun->thin) {
		vmm__put_be32(b + 20, VMM__SCSI_MAX_UNMAP_BYTES / bs);
		vmm__put_be32(b + 24, VMM__SCSI_MAX_UNMAP_DESC);
		vmm__put_be32(b + 28, lun->unmap_granularity);
		vmm__put_be32(b + 32, 0x80000000u);    /* UGAVALID, alignment 0 */
	}
	vmm__put_be64(b + 36, VMM__SCSI_MAX_WS_BYTES / bs);   /* maximum write same length */
	return 4 + 0x3c;
}

/* The VPD page into b (at least 512 bytes); -1 if there is no such page. */
static int vpd(const vmm__scsi_lun *lun, uint8_t page, uint8_t *b)
{
	int n;

	b[0] = 0x00;
	b[1] = page;
	b[2] = 0;
	switch (page) {
	case 0x00:
		memcpy(b + 4, vpd_pages, sizeof(vpd_pages));
		n = 4 + (int)sizeof(vpd_pages);
		break;
	case 0x80:
		n = 4 + (int)strlen(lun->serial);
		memcpy(b + 4, lun->serial, (size_t)n - 4);
		break;
	case 0x83:
		n = vpd_ident(lun, b);
		break;
	case 0xb0:
		n = vpd_limits(lun, b);
		break;
	case 0xb1:
		memset(b + 4, 0, 0x3c);
		b[5] = 1;                      /* non-rotating medium */
		n = 4 + 0x3c;
		break;
	case 0xb2:
		memset(b + 4, 0, 4);
		b[5] = lun->thin ? 0xc0 : 0;   /* LBPU (UNMAP), LBPWS (WRITE SAME(16) with UNMAP) */
		b[6] = lun->thin ? 0x02 : 0;   /* thin provisioned */
		n = 8;
		break;
	default:
		return -1;
	}
	vmm__put_be16(b + 2, (uint32_t)n - 4);
	return n;
}

int vmm__scsi_inquiry(const vmm__scsi_lun *lun, const uint8_t *cdb, uint8_t *buf, uint32_t cap,
		      vmm__scsi_cmd *c)
{
	uint8_t page[512];
	int n;

	if (cdb[1] & 0xfe)                      /* obsolete CMDDT and reserved bits */
		return bad_field(c);
	if (!(cdb[1] & 1)) {
		if (cdb[2])
			return bad_field(c);     /* a page code without EVPD */
		n = standard(lun, page);
	} else if (!lun) {
		vmm__scsi_sense(c, VMM__SK_ILLEGAL_REQUEST, 0x25, 0x00);   /* LU not supported */
		return -1;
	} else if ((n = vpd(lun, cdb[2], page)) < 0) {
		return bad_field(c);
	}
	memcpy(buf, page, (uint32_t)n < cap ? (uint32_t)n : cap);
	return n;
}

/* ---- MODE SENSE ---- */

/* One mode page (current or, pc 1, changeable: all zero) into b. */
static int mode_page(const vmm__scsi_lun *lun, uint8_t code, bool changeable, uint8_t *b)
{
	int len;

	switch (code) {
	case 0x01: len = 12; break;    /* read-write error recovery */
	case 0x08: len = 20; break;    /* caching */
	case 0x0a: len = 12; break;    /* control */
	default: return -1;
	}
	memset(b, 0, (size_t)len);
	b[0] = code;
	b[1] = (uint8_t)(len - 2);
	if (!changeable && code == 0x08)
		b[2] = 0x04;                    /* WCE: a write cache, flushed by SYNCHRONIZE CACHE */
	if (!changeable && code == 0x0a)
		b[8] = 0xff, b[9] = 0xff;       /* busy timeout period: unlimited */
	return len;
}

static int mode_pages(const vmm__scsi_lun *lun, uint8_t page, bool changeable, uint8_t *b)
{
	static const uint8_t all[] = { 0x01, 0x08, 0x0a };
	int n = 0;

	if (page != 0x3f)
		return mode_page(lun, page, changeable, b);
	for (unsigned i = 0; i < sizeof(all); i++)
		n += mode_page(lun, all[i], changeable, b + n);
	return n;
}

/* MODE SENSE(6) (0x1a) and (10) (0x5a). */
int vmm__scsi_mode_sense(const vmm__scsi_lun *lun, const uint8_t *cdb, uint8_t *buf,
			 uint32_t cap, vmm__scsi_cmd *c)
{
	bool ten = cdb[0] == 0x5a, dbd = cdb[1] & 0x08;
	uint8_t pc = cdb[2] >> 6, code = cdb[2] & 0x3f, sub = cdb[3], out[256];
	uint32_t hdr = ten ? 8 : 4, bd = dbd ? 0 : 8;
	int n;

	if (pc == 3) {
		vmm__scsi_sense(c, VMM__SK_ILLEGAL_REQUEST, 0x39, 0x00);   /* saving not supported */
		return -1;
	}
	if ((sub && sub != 0xff) || (cdb[1] & ~(ten ? 0x18 : 0x08)))
		return bad_field(c);
	memset(out, 0, hdr + bd);
	n = mode_pages(lun, code, pc == 1, out + hdr + bd);
	if (n < 0)
		return bad_field(c);
	n += (int)(hdr + bd);
	if (bd) {
		uint64_t blocks = lun->blocks > 0xffffff ? 0xffffff : lun->blocks;

		out[hdr + 1] = (uint8_t)(blocks >> 16);
		vmm__put_be16(out + hdr + 2, (uint32_t)blocks & 0xffff);
		out[hdr + 5] = (uint8_t)(lun->block_size >> 16);
		vmm__put_be16(out + hdr + 6, lun->block_size & 0xffff);
	}
	if (ten) {
		vmm__put_be16(out, (uint32_t)n - 2);
		out[3] = (lun->readonly ? 0x80 : 0) | 0x10;   /* WP, DPOFUA */
		vmm__put_be16(out + 6, bd);
	} else {
		out[0] = (uint8_t)(n - 1);
		out[2] = (lun->readonly ? 0x80 : 0) | 0x10;
		out[3] = (uint8_t)bd;
	}
	memcpy(buf, out, (uint32_t)n < cap ? (uint32_t)n : cap);
	return n;
}
