/* scsi.h - the SCSI disk a virtio-scsi LUN shows (lib/virtio/scsi_*.c):
 * CDBs parsed and answered without I/O (scsi_cmd.c, scsi_page.c), or
 * turned into an I/O plan that virtio_scsi.c runs on the LUN's storage
 * device. The CDB, the data-out (UNMAP descriptors, WRITE SAME's block)
 * and every length come from the guest: each is checked here, bad ones get
 * CHECK CONDITION with ILLEGAL REQUEST sense, never an access outside the
 * buffers given. No locks, no allocation, no I/O: the fuzz target
 * (tests/fuzz/fuzz_scsi.c) calls vmm__scsi_exec directly. */
#ifndef VMM_VIRTIO_SCSI_H
#define VMM_VIRTIO_SCSI_H

#include <stdbool.h>
#include <stdint.h>

#define VMM__SCSI_CDB_MAX 32u            /* bytes of CDB looked at (zero padded) */
#define VMM__SCSI_SENSE_LEN 18u          /* fixed-format sense */
#define VMM__SCSI_MAX_XFER (32u << 20)   /* READ/WRITE: bytes per command */
#define VMM__SCSI_MAX_UNMAP_DESC 64u     /* descriptors per UNMAP */
#define VMM__SCSI_MAX_UNMAP_BYTES (1u << 30)   /* per descriptor */
#define VMM__SCSI_MAX_WS_BYTES (1u << 30)      /* WRITE SAME */
#define VMM__SCSI_DATAOUT_HEAD 4096u     /* data-out bytes exec may look at */
#define VMM__SCSI_MAX_LUNS 64u

enum {
	VMM__SCSI_GOOD = 0x00,
	VMM__SCSI_CHECK_CONDITION = 0x02
};

enum {
	VMM__SK_NO_SENSE = 0x0, VMM__SK_NOT_READY = 0x2, VMM__SK_MEDIUM_ERROR = 0x3,
	VMM__SK_HARDWARE_ERROR = 0x4, VMM__SK_ILLEGAL_REQUEST = 0x5,
	VMM__SK_UNIT_ATTENTION = 0x6, VMM__SK_DATA_PROTECT = 0x7,
	VMM__SK_ABORTED_COMMAND = 0xb
};

/* What a LUN is. */
typedef struct vmm__scsi_lun {
	uint64_t blocks;            /* capacity in blocks (>= 1) */
	uint32_t block_size;        /* 512 or 4096 */
	uint32_t unmap_granularity; /* blocks; >= 1 */
	bool readonly;
	bool thin;                  /* UNMAP and WRITE SAME with UNMAP work */
	char serial[33];            /* VPD 0x80: printable ASCII, NUL-terminated */
	uint64_t naa;               /* VPD 0x83: NAA 3 (locally assigned) identifier */
} vmm__scsi_lun;

/* The I/O a command needs (status GOOD so far). */
enum {
	VMM__SCSI_IO_NONE = 0,      /* answered: status, sense, datain_len */
	VMM__SCSI_IO_READ,          /* [offset, +length) into the data-in buffer */
	VMM__SCSI_IO_WRITE,         /* [offset, +length) from the data-out buffer */
	VMM__SCSI_IO_FLUSH,
	VMM__SCSI_IO_UNMAP,         /* desc[0..ndesc) */
	VMM__SCSI_IO_WRITE_SAME     /* the block at the start of data-out (or
				       zeros), repeated over [offset, +length) */
};

typedef struct vmm__scsi_range {
	uint64_t offset, length;    /* bytes */
} vmm__scsi_range;

typedef struct vmm__scsi_cmd {
	uint8_t status;             /* VMM__SCSI_GOOD or CHECK_CONDITION */
	bool overrun;               /* the guest's buffers cannot hold the transfer */
	uint8_t sense[VMM__SCSI_SENSE_LEN];   /* with CHECK CONDITION */
	uint32_t datain_len;        /* IO_NONE: bytes put into datain */
	uint32_t io;                /* VMM__SCSI_IO_* */
	uint64_t offset, length;    /* READ, WRITE, WRITE_SAME: bytes */
	bool fua;                   /* WRITE: flush when written */
	bool unmap;                 /* WRITE_SAME: the range may be deallocated */
	bool zero;                  /* WRITE_SAME: the block is all zeros */
	uint32_t ndesc;
	vmm__scsi_range desc[VMM__SCSI_MAX_UNMAP_DESC];
} vmm__scsi_cmd;

/* Runs one command. lun NULL: the addressed LUN does not exist (INQUIRY
 * answers "no device", REPORT LUNS works, the rest fail). ids[nluns]: the
 * LUN numbers for REPORT LUNS. cdb: VMM__SCSI_CDB_MAX bytes (zero padded).
 * dataout: the first dataout_head bytes of the data-out (at most
 * VMM__SCSI_DATAOUT_HEAD) of dataout_len in all. datain: where answers
 * go, datain_cap bytes (the guest's data-in buffer may be larger:
 * datain_total, for the transfer checks). */
typedef struct vmm__scsi_args {
	const vmm__scsi_lun *lun;
	const uint32_t *ids;
	uint32_t nluns;
	const uint8_t *cdb;
	const uint8_t *dataout;
	uint32_t dataout_head;
	uint64_t dataout_len;
	uint8_t *datain;
	uint32_t datain_cap;
	uint64_t datain_total;
} vmm__scsi_args;

void vmm__scsi_exec(const vmm__scsi_args *a, vmm__scsi_cmd *out);

/* Fixed-format sense into c (status CHECK CONDITION). */
void vmm__scsi_sense(vmm__scsi_cmd *c, uint8_t key, uint8_t asc, uint8_t ascq);

/* scsi_page.c: answers built into buf (at most cap bytes); the length of
 * the whole answer (the caller truncates to the allocation length), or -1
 * with the sense set for a field the device does not support. */
int vmm__scsi_inquiry(const vmm__scsi_lun *lun, const uint8_t *cdb, uint8_t *buf, uint32_t cap,
		      vmm__scsi_cmd *c);
int vmm__scsi_mode_sense(const vmm__scsi_lun *lun, const uint8_t *cdb, uint8_t *buf,
			 uint32_t cap, vmm__scsi_cmd *c);

static inline uint32_t vmm__be16(const uint8_t *b)
{
	return (uint32_t)b[0] << 8 | b[1];
}
static inline uint32_t vmm__be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}
static inline uint64_t vmm__be64(const uint8_t *b)
{
	return (uint64_t)vmm__be32(b) << 32 | vmm__be32(b + 4);
}
static inline void vmm__put_be16(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}
static inline void vmm__put_be32(uint8_t *b, uint32_t v)
{
	vmm__put_be16(b, v >> 16);
	vmm__put_be16(b + 2, v & 0xffff);
}
static inline void vmm__put_be64(uint8_t *b, uint64_t v)
{
	vmm__put_be32(b, (uint32_t)(v >> 32));
	vmm__put_be32(b + 4, (uint32_t)v);
}

#endif /* VMM_VIRTIO_SCSI_H */
