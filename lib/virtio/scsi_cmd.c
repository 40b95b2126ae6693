/* scsi_cmd.c - the commands of a virtio-scsi LUN (SPC-4, SBC-3): parsed
 * from the guest's CDB, checked (opcode, reserved and protection bits,
 * LBA ranges, transfer and allocation lengths, UNMAP parameter lists),
 * answered here when no I/O is needed and otherwise turned into an I/O
 * plan for virtio_scsi.c. See scsi.h. */
#include <string.h>

#include "lib/virtio/scsi.h"

void vmm__scsi_sense(vmm__scsi_cmd *c, uint8_t key, uint8_t asc, uint8_t ascq)
{
	c->status = VMM__SCSI_CHECK_CONDITION;
	c->io = VMM__SCSI_IO_NONE;
	c->datain_len = 0;
	memset(c->sense, 0, sizeof(c->sense));
	c->sense[0] = 0x70;            /* current error, fixed format */
	c->sense[2] = key;
	c->sense[7] = VMM__SCSI_SENSE_LEN - 8;
	c->sense[12] = asc;
	c->sense[13] = ascq;
}

static void bad_cdb(vmm__scsi_cmd *c)
{
	vmm__scsi_sense(c, VMM__SK_ILLEGAL_REQUEST, 0x24, 0x00);
}

static void bad_opcode(vmm__scsi_cmd *c)
{
	vmm__scsi_sense(c, VMM__SK_ILLEGAL_REQUEST, 0x20, 0x00);
}

static void out_of_range(vmm__scsi_cmd *c)
{
	vmm__scsi_sense(c, VMM__SK_ILLEGAL_REQUEST, 0x21, 0x00);
}

static void write_protected(vmm__scsi_cmd *c)
{
	vmm__scsi_sense(c, VMM__SK_DATA_PROTECT, 0x27, 0x00);
}

/* Copies an answer of n bytes, truncated to the allocation length and the
 * buffer. */
static void answer(const vmm__scsi_args *a, vmm__scsi_cmd *c, const uint8_t *data, uint32_t n,
		   uint32_t alloc)
{
	uint32_t len = n < alloc ? n : alloc;

	if (len > a->datain_cap)
		len = a->datain_cap;
	if (data != a->datain)
		memcpy(a->datain, data, len);
	c->datain_len = len;
}

static bool in_range(const vmm__scsi_lun *l, uint64_t lba, uint64_t n)
{
	return lba <= l->blocks && n <= l->blocks - lba;
}

/* ---- Commands without I/O ---- */

static void report_luns(const vmm__scsi_args *a, vmm__scsi_cmd *c)
{
	const uint8_t *cdb = a->cdb;
	uint32_t alloc = vmm__be32(cdb + 6), n = 0;
	uint8_t b[8 + 8 * VMM__SCSI_MAX_LUNS];

	if (alloc < 16 || cdb[2] > 2)
		return bad_cdb(c);
	memset(b, 0, sizeof(b));
	for (uint32_t i = 0; cdb[2] != 1 && i < a->nluns && i < VMM__SCSI_MAX_LUNS; i++) {
		uint32_t id = a->ids[i];

		b[8 + 8 * n] = id < 256 ? 0 : (uint8_t)(0x40 | (id >> 8));   /* flat space */
		b[9 + 8 * n] = (uint8_t)id;
		n++;
	}
	vmm__put_be32(b, 8 * n);
	answer(a, c, b, 8 + 8 * n, alloc);
}

static void read_capacity(const vmm__scsi_args *a, vmm__scsi_cmd *c, bool sixteen)
{
	const vmm__scsi_lun *l = a->lun;
	uint64_t last = l->blocks - 1;
	uint8_t b[32] = { 0 };

	if (!sixteen) {
		if (!(a->cdb[8] & 1) && vmm__be32(a->cdb + 2))
			return bad_cdb(c);      /* an LBA without PMI */
		vmm__put_be32(b, last > 0xffffffffu ? 0xffffffffu : (uint32_t)last);
		vmm__put_be32(b + 4, l->block_size);
		return answer(a, c, b, 8, 8);
	}
	vmm__put_be64(b, last);
	vmm__put_be32(b + 8, l->block_size);
	if (l->thin)
		b[14] = 0x80;                   /* LBPME */
	answer(a, c, b, 32, vmm__be32(a->cdb + 10));
}

static void request_sense(const vmm__scsi_args *a, vmm__scsi_cmd *c)
{
	uint8_t b[VMM__SCSI_SENSE_LEN] = { 0x70, 0, VMM__SK_NO_SENSE, 0, 0, 0, 0,
					   VMM__SCSI_SENSE_LEN - 8 };

	if (a->cdb[1] & 1)
		return bad_cdb(c);              /* descriptor format: not supported */
	if (!a->lun) {
		b[2] = VMM__SK_ILLEGAL_REQUEST;
		b[12] = 0x25;                   /* logical unit not supported */
	}
	answer(a, c, b, sizeof(b), a->cdb[4]);
}

/* ---- Commands with I/O ---- */

/* READ and WRITE (6), (10), (12), (16); VERIFY (10), (16). */
static void rw(const vmm__scsi_args *a, vmm__scsi_cmd *c, bool write, bool verify)
{
	const vmm__scsi_lun *l = a->lun;
	const uint8_t *cdb = a->cdb;
	uint64_t lba, n;
	uint8_t flags = 0;

	switch (cdb[0]) {
	case 0x08: case 0x0a:
		lba = (uint64_t)(cdb[1] & 0x1f) << 16 | vmm__be16(cdb + 2);
		n = cdb[4] ? cdb[4] : 256;
		break;
	case 0x28: case 0x2a: case 0x2f:
		flags = cdb[1];
		lba = vmm__be32(cdb + 2);
		n = vmm__be16(cdb + 7);
		break;
	case 0xa8: case 0xaa:
		flags = cdb[1];
		lba = vmm__be32(cdb + 2);
		n = vmm__be32(cdb + 6);
		break;
	default:   /* 0x88, 0x8a, 0x8f */
		flags = cdb[1];
		lba = vmm__be64(cdb + 2);
		n = vmm__be32(cdb + 10);
		break;
	}
	if (flags & 0xe0)
		return bad_cdb(c);              /* RD/WR/VRPROTECT: no protection information */
	if (verify && (flags & 0x06))
		return bad_cdb(c);              /* BYTCHK: no compare */
	if (!in_range(l, lba, n))
		return out_of_range(c);
	if (n * l->block_size > VMM__SCSI_MAX_XFER)
		return bad_cdb(c);              /* past the block limits' maximum transfer */
	if (write && l->readonly)
		return write_protected(c);
	if (verify || !n)
		return;                         /* GOOD, nothing to move */
	c->offset = lba * l->block_size;
	c->length = n * l->block_size;
	if ((write && a->dataout_len < c->length) || (!write && a->datain_total < c->length)) {
		c->overrun = true;
		return;
	}
	c->io = write ? VMM__SCSI_IO_WRITE : VMM__SCSI_IO_READ;
	c->fua = write && (flags & 0x08);
}

static bool all_zero(const uint8_t *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* WRITE SAME (10) 0x41 and (16) 0x93. */
static void write_same(const vmm__scsi_args *a, vmm__scsi_cmd *c)
{
	const vmm__scsi_lun *l = a->lun;
	const uint8_t *cdb = a->cdb;
	bool sixteen = cdb[0] == 0x93, ndob = sixteen && (cdb[1] & 1);
	uint64_t lba = sixteen ? vmm__be64(cdb + 2) : vmm__be32(cdb + 2);
	uint64_t n = sixteen ? vmm__be32(cdb + 10) : vmm__be16(cdb + 7);

	if ((cdb[1] & 0xe0) || (cdb[1] & 0x10) || (cdb[1] & 0x06) || (!sixteen && (cdb[1] & 1)))
		return bad_cdb(c);              /* WRPROTECT, ANCHOR, LBDATA/PBDATA, reserved */
	if (!n || n * l->block_size > VMM__SCSI_MAX_WS_BYTES)
		return bad_cdb(c);              /* WSNZ; the maximum write same length */
	if (!in_range(l, lba, n))
		return out_of_range(c);
	if (l->readonly)
		return write_protected(c);
	if (!ndob && a->dataout_len < l->block_size) {
		c->overrun = true;
		return;
	}
	if (!ndob && a->dataout_head < l->block_size)
		return bad_cdb(c);              /* cannot happen with a 4 KiB head */
	c->io = VMM__SCSI_IO_WRITE_SAME;
	c->offset = lba * l->block_size;
	c->length = n * l->block_size;
	c->zero = ndob || all_zero(a->dataout, l->block_size);
	c->unmap = (cdb[1] & 0x08) && l->thin && c->zero;
}

static void param_error(vmm__scsi_cmd *c, uint8_t asc)
{
	vmm__scsi_sense(c, VMM__SK_ILLEGAL_REQUEST, asc, 0x00);
}

/* UNMAP 0x42: the parameter list in data-out, every descriptor checked. */
static void unmap(const vmm__scsi_args *a, vmm__scsi_cmd *c)
{
	const vmm__scsi_lun *l = a->lun;
	uint32_t len = vmm__be16(a->cdb + 7), bdl, nd;

	if (!l->thin)
		return bad_opcode(c);
	if (a->cdb[1] & 0x01)
		return bad_cdb(c);              /* ANCHOR */
	if (l->readonly)
		return write_protected(c);
	if (!len)
		return;
	if (len < 8 || len > a->dataout_len || len > a->dataout_head)
		return param_error(c, 0x1a);    /* parameter list length error */
	bdl = vmm__be16(a->dataout + 2);
	if (bdl > len - 8)
		bdl = len - 8;
	nd = bdl / 16;
	if (nd > VMM__SCSI_MAX_UNMAP_DESC)
		return param_error(c, 0x26);    /* invalid field in parameter list */
	for (uint32_t i = 0; i < nd; i++) {
		const uint8_t *d = a->dataout + 8 + 16 * i;
		uint64_t lba = vmm__be64(d), n = vmm__be32(d + 8);

		if (!in_range(l, lba, n))
			return out_of_range(c);
		if (n * l->block_size > VMM__SCSI_MAX_UNMAP_BYTES)
			return param_error(c, 0x26);
		if (n)
			c->desc[c->ndesc++] = (vmm__scsi_range){ lba * l->block_size,
								 n * l->block_size };
	}
	if (c->ndesc)
		c->io = VMM__SCSI_IO_UNMAP;
}

static void sync_cache(const vmm__scsi_args *a, vmm__scsi_cmd *c)
{
	const uint8_t *cdb = a->cdb;
	bool sixteen = cdb[0] == 0x91;
	uint64_t lba = sixteen ? vmm__be64(cdb + 2) : vmm__be32(cdb + 2);
	uint64_t n = sixteen ? vmm__be32(cdb + 10) : vmm__be16(cdb + 7);

	if (!in_range(a->lun, lba, n))
		return out_of_range(c);
	c->io = VMM__SCSI_IO_FLUSH;     /* the whole cache: a superset of the range */
}

/* ---- Dispatch ---- */

static void immediate(const vmm__scsi_args *a, vmm__scsi_cmd *c, int n, uint32_t alloc)
{
	if (n >= 0)
		c->datain_len = (uint32_t)n < alloc ? (uint32_t)n : alloc;
	if (c->datain_len > a->datain_cap)
		c->datain_len = a->datain_cap;
}

/* Commands any LUN number takes, present or not. true when handled. */
static bool any_lun(const vmm__scsi_args *a, vmm__scsi_cmd *c)
{
	switch (a->cdb[0]) {
	case 0x12:   /* INQUIRY */
		immediate(a, c, vmm__scsi_inquiry(a->lun, a->cdb, a->datain, a->datain_cap, c),
			  vmm__be16(a->cdb + 3));
		return true;
	case 0xa0: report_luns(a, c); return true;
	case 0x03: request_sense(a, c); return true;
	default: return false;
	}
}

void vmm__scsi_exec(const vmm__scsi_args *a, vmm__scsi_cmd *c)
{
	const uint8_t *cdb = a->cdb;

	memset(c, 0, sizeof(*c));
	if (any_lun(a, c))
		return;
	if (!a->lun)
		return vmm__scsi_sense(c, VMM__SK_ILLEGAL_REQUEST, 0x25, 0x00);
	switch (cdb[0]) {
	case 0x00: return;                                  /* TEST UNIT READY */
	case 0x1b: case 0x1e: return;                       /* START STOP, PREVENT ALLOW */
	case 0x1a: case 0x5a:                               /* MODE SENSE (6), (10) */
		immediate(a, c, vmm__scsi_mode_sense(a->lun, cdb, a->datain, a->datain_cap, c),
			  cdb[0] == 0x1a ? cdb[4] : vmm__be16(cdb + 7));
		return;
	case 0x25: return read_capacity(a, c, false);
	case 0x9e:                                          /* SERVICE ACTION IN (16) */
		if ((cdb[1] & 0x1f) == 0x10)
			return read_capacity(a, c, true);
		return bad_cdb(c);
	case 0x08: case 0x28: case 0xa8: case 0x88: return rw(a, c, false, false);
	case 0x0a: case 0x2a: case 0xaa: case 0x8a: return rw(a, c, true, false);
	case 0x2f: case 0x8f: return rw(a, c, false, true);
	case 0x35: case 0x91: return sync_cache(a, c);
	case 0x41: case 0x93: return write_same(a, c);
	case 0x42: return unmap(a, c);
	default: return bad_opcode(c);
	}
}
