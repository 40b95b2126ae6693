/* share.h - layout of the shared region of the conformance runner's
 * "shared-region" test: vmm_region_create, mapped at SHARE_GPA into two
 * VMs; share_writer.c runs in one, share_reader.c in the other, both at
 * the same time, and the host checks the result through the region's host
 * pointer. Plain C99, shared by host and guest code. */
#ifndef SHARE_H
#define SHARE_H

#include <stdint.h>

#define SHARE_GPA 0x10000000ull         /* 256 MiB: above RAM, below 4 GiB */
#define SHARE_SIZE 0x200000ull
#define SHARE_MAGIC_OFF 0x000            /* u64 written by the host first */
#define SHARE_DONE_OFF 0x008             /* u64: 1 once the writer wrote */
#define SHARE_ACK_OFF 0x010              /* u64: 1 once the reader checked */
#define SHARE_WRITER_OFF 0x1000          /* 512 u64 from the writer */
#define SHARE_READER_OFF 0x2000          /* 1024 u32 from the reader */
#define SHARE_WORDS 512
#define SHARE_MAGIC 0x54534f4820534d56ull  /* "VMS HOST" */

static inline uint64_t share_writer_word(uint32_t i)
{
	return (uint64_t)i * 0x9e3779b97f4a7c15ull ^ 0x1111;
}

static inline uint32_t share_reader_word(uint32_t i)
{
	return ~i * 2654435761u;
}

#endif /* SHARE_H */
