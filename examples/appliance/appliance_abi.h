/* appliance_abi.h - the appliance's device model as the guest sees it.
 * Shared by the host program (appliance.c) and the guest (guest.c).
 *
 * Shared memory: a region of SHM_SIZE bytes at guest-physical SHM_GPA, the
 * same pages the host sees. The host produces records into a ring there
 * while the guest runs; the guest consumes them (struct shm below).
 *
 * Control device: MMIO at DEV_GPA, 4-byte registers:
 *   DEV_ID      (R)  DEV_ID_VALUE
 *   DEV_COUNT   (R)  how many records the host will send
 *   DEV_RESULT  (W)  the guest's CRC-32 over every record's payload
 *   DEV_STATUS  (R)  0 while no result, 1 the host's CRC agrees, 2 it does not
 * Other offsets and sizes are refused (the access stops the vCPU). */
#ifndef APPLIANCE_ABI_H
#define APPLIANCE_ABI_H

#include <stdint.h>

#define SHM_GPA 0x80000000ull
#define SHM_SIZE 0x10000u
#define DEV_GPA 0xd0001000ull
#define DEV_LEN 0x1000u

#define DEV_ID 0x00
#define DEV_COUNT 0x04
#define DEV_RESULT 0x08
#define DEV_STATUS 0x0c
#define DEV_ID_VALUE 0x4c505041u /* "APPL" */

#define RING_SLOTS 64
#define REC_DATA 56

struct rec {
	uint32_t seq;            /* record number, from 0 */
	uint32_t len;            /* payload bytes, <= REC_DATA */
	uint8_t data[REC_DATA];
};

struct shm {
	uint32_t head;           /* written by the host: records produced */
	uint32_t tail;           /* written by the guest: records consumed */
	uint32_t pad[14];
	struct rec ring[RING_SLOTS];  /* record n is in slot n % RING_SLOTS */
};

#endif
