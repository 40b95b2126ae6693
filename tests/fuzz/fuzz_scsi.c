/* fuzz_scsi.c - libFuzzer target for virtio-scsi's CDB parser (make fuzz,
 * run-checks step fuzz-scsi): the input is a LUN's shape, a CDB, the
 * data-out head (UNMAP descriptors, WRITE SAME's block) and the guest's
 * buffer sizes; vmm__scsi_exec runs it under ASan and UBSan and every
 * answer is checked against what a guest may be told: a known status,
 * fixed-format sense with CHECK CONDITION, no more data than the buffer
 * and the allocation length allow, and I/O only inside the LUN, aligned,
 * within the block limits, and no writes to a read-only LUN. Any crash,
 * sanitizer report or broken rule is a bug. Seeds: tests/fuzz/scsi-seeds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/virtio/scsi.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static uint64_t get(const uint8_t *d, size_t size, size_t *pos, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << 8 | (*pos < size ? d[(*pos)++] : 0);
	return v;
}

static void check_io(const vmm__scsi_lun *l, const vmm__scsi_cmd *c, uint64_t in_total,
		     uint64_t out_len)
{
	uint64_t cap = l->blocks * l->block_size;

	CHECK(c->status == VMM__SCSI_GOOD);
	switch (c->io) {
	case VMM__SCSI_IO_READ: case VMM__SCSI_IO_WRITE: case VMM__SCSI_IO_WRITE_SAME:
		CHECK(c->length && c->offset <= cap && c->length <= cap - c->offset);
		CHECK(c->offset % l->block_size == 0 && c->length % l->block_size == 0);
		CHECK(c->io == VMM__SCSI_IO_WRITE_SAME ? c->length <= VMM__SCSI_MAX_WS_BYTES
						       : c->length <= VMM__SCSI_MAX_XFER);
		CHECK(c->io != VMM__SCSI_IO_READ || c->length <= in_total);
		CHECK(c->io != VMM__SCSI_IO_WRITE || c->length <= out_len);
		CHECK(c->io == VMM__SCSI_IO_READ || !l->readonly);
		CHECK(!c->unmap || (l->thin && c->zero));
		break;
	case VMM__SCSI_IO_UNMAP:
		CHECK(l->thin && !l->readonly && c->ndesc && c->ndesc <= VMM__SCSI_MAX_UNMAP_DESC);
		for (uint32_t i = 0; i < c->ndesc; i++) {
			const vmm__scsi_range *r = &c->desc[i];

			CHECK(r->length && r->offset <= cap && r->length <= cap - r->offset);
			CHECK(r->length <= VMM__SCSI_MAX_UNMAP_BYTES);
			CHECK(r->offset % l->block_size == 0 && r->length % l->block_size == 0);
		}
		break;
	case VMM__SCSI_IO_FLUSH:
		break;
	default:
		CHECK(c->io == VMM__SCSI_IO_NONE);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t cdb[VMM__SCSI_CDB_MAX], out[VMM__SCSI_DATAOUT_HEAD], in[8192];
	static const uint32_t ids[VMM__SCSI_MAX_LUNS] = { 0, 1, 2, 300, 16383 };
	static vmm__scsi_cmd c;
	vmm__scsi_lun l = { 0 };
	vmm__scsi_args a = { 0 };
	size_t pos = 0;
	uint8_t flags = (uint8_t)get(data, size, &pos, 1);

	l.block_size = flags & 1 ? 4096 : 512;
	l.readonly = flags & 2;
	l.thin = flags & 4;
	l.blocks = get(data, size, &pos, 8) % (1ull << 40) + 1;
	l.unmap_granularity = 128;
	l.naa = 0x3000000000000000ull | l.blocks;
	memcpy(l.serial, "fuzz-serial-0123456789abcdef", 29);
	a.lun = flags & 8 ? NULL : &l;
	a.ids = ids;
	a.nluns = (flags >> 4) % 6;
	a.datain_cap = (uint32_t)get(data, size, &pos, 2) % (sizeof(in) + 1);
	a.datain_total = a.datain_cap + get(data, size, &pos, 4);
	a.dataout_len = get(data, size, &pos, 4);
	memset(cdb, 0, sizeof(cdb));
	for (unsigned i = 0; i < 16; i++)
		cdb[i] = (uint8_t)get(data, size, &pos, 1);
	memset(out, 0, sizeof(out));
	a.dataout_head = (uint32_t)(size - pos < sizeof(out) ? size - pos : sizeof(out));
	if (a.dataout_head > a.dataout_len)
		a.dataout_head = (uint32_t)a.dataout_len;
	memcpy(out, data + pos, a.dataout_head);
	a.cdb = cdb;
	a.dataout = out;
	a.datain = in;
	memset(in, 0xa5, sizeof(in));
	vmm__scsi_exec(&a, &c);
	CHECK(c.status == VMM__SCSI_GOOD || c.status == VMM__SCSI_CHECK_CONDITION);
	CHECK(c.datain_len <= a.datain_cap);
	for (uint32_t i = a.datain_cap; i < sizeof(in); i++)
		CHECK(in[i] == 0xa5);          /* nothing written past the buffer */
	if (c.status == VMM__SCSI_CHECK_CONDITION) {
		CHECK(c.sense[0] == 0x70 && c.sense[7] == VMM__SCSI_SENSE_LEN - 8);
		CHECK(c.sense[2] && c.sense[2] <= 0xf);
		CHECK(c.io == VMM__SCSI_IO_NONE && !c.datain_len);
	} else if (!c.overrun) {
		CHECK(a.lun || c.io == VMM__SCSI_IO_NONE);
		if (c.io != VMM__SCSI_IO_NONE)
			check_io(&l, &c, a.datain_total, a.dataout_len);
	} else {
		CHECK(c.io == VMM__SCSI_IO_NONE);
	}
	return 0;
}
