/* blk.h - what virtio-blk over a raw image (blk.c) and over a storage
 * device (blk_storage.c) share: request types, status codes, features,
 * the device configuration. */
#ifndef VMM_VIRTIO_BLK_H
#define VMM_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/internal.h"

enum { T_IN = 0, T_OUT = 1, T_FLUSH = 4, T_GET_ID = 8, T_DISCARD = 11, T_WZ = 13 };
enum { S_OK = 0, S_IOERR = 1, S_UNSUPP = 2 };
#define F_SEG_MAX (1ull << 2)
#define F_RO (1ull << 5)
#define F_BLK_SIZE (1ull << 6)
#define F_FLUSH (1ull << 9)
#define F_DISCARD (1ull << 13)
#define F_WRITE_ZEROES (1ull << 14)
#define SECTOR 512ull
#define MAX_SEGS 32u                /* discard / write-zeroes segments */
#define CONFIG_LEN 60u
#define ID_LEN 20u

/* The device configuration: capacity in 512-byte sectors, blk_size. */
void vmm__blk_fill_config(uint8_t *config, uint64_t sectors, uint32_t blk_size);
/* vmm_virtio_blk_add with config->storage set. */
int vmm__blk_storage_add(vmm_vm *vm, const vmm_blk_config *c);
/* Whether dev is a virtio-blk disk over a storage device (blk_storage.c);
 * its resize (vmm_virtio_blk_resize). */
bool vmm__blk_storage_is(const vmm_virtio_dev *dev);
int vmm__blk_storage_resize(vmm_virtio_dev *dev, uint64_t new_size);

#endif /* VMM_VIRTIO_BLK_H */
