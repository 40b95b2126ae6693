/* virtqueue.h - split virtqueues (virtio 1.2, section 2.7): one
 * implementation every libvmm virtio device uses. Everything the driver put
 * in guest memory is hostile: indexes, chains, lengths and addresses are
 * checked, and a driver that breaks the rules marks the queue broken (the
 * transport then sets DEVICE_NEEDS_RESET) with a message; nothing is ever
 * read or written outside guest RAM or outside a descriptor's buffer.
 *
 * A queue is used by one thread at a time (its device serialises access). */
#ifndef VMM_VIRTQUEUE_H
#define VMM_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/internal.h"

#define VMM__VQ_MAX_SIZE 32768u     /* the spec's maximum queue size */
#define VMM__VQ_MAX_SG 256u         /* buffers in one chain we accept */

enum {
	VMM__VRING_DESC_F_NEXT = 1, VMM__VRING_DESC_F_WRITE = 2,
	VMM__VRING_DESC_F_INDIRECT = 4
};

typedef struct vmm__vq_buf {
	uint8_t *hva;                  /* inside guest RAM, len bytes valid */
	uint32_t len;
} vmm__vq_buf;

/* One request: out[] the device reads, then in[] it writes. */
typedef struct vmm__vq_elem {
	uint16_t head;
	uint16_t nout, nin;
	uint64_t out_len, in_len;      /* sums, never past 4 GiB */
	vmm__vq_buf out[VMM__VQ_MAX_SG];
	vmm__vq_buf in[VMM__VQ_MAX_SG];
} vmm__vq_elem;

typedef struct vmm__vq {
	vmm_vm *vm;
	uint16_t size;                 /* entries, power of two */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool event_idx, indirect;      /* negotiated features */
	bool ready, broken;
	char why[160];                 /* first rule the driver broke */
	/* Valid while ready: */
	uint8_t *desc, *avail, *used;
	uint16_t last_avail;           /* next avail entry to take */
	uint16_t used_idx;             /* our copy of used->idx */
	uint16_t signalled_used;       /* used_idx at the last interrupt */
	bool signalled_valid;
} vmm__vq;

/* Maps the rings (size and the three addresses set, features set): checks
 * sizes, alignment and that each lies in guest RAM. 0, or VMM_EINVAL with
 * the queue broken. */
int vmm__vq_enable(vmm__vq *vq);
void vmm__vq_reset(vmm__vq *vq);
/* Takes the next available chain: 1 with *elem filled, 0 if none, or
 * VMM_EINVAL when the driver broke a rule (queue broken, message set). */
int vmm__vq_pop(vmm__vq *vq, vmm__vq_elem *elem);
/* Returns a chain to the driver with len bytes written into its in[]. */
void vmm__vq_push(vmm__vq *vq, uint16_t head, uint32_t len);
/* After pushes: must the driver be interrupted (flags / used_event)? */
bool vmm__vq_need_interrupt(vmm__vq *vq);
/* Copies up to len bytes out of / into an element's buffers. */
uint64_t vmm__vq_read(const vmm__vq_elem *e, uint64_t off, void *buf, uint64_t len);
uint64_t vmm__vq_write(const vmm__vq_elem *e, uint64_t off, const void *buf, uint64_t len);

#endif /* VMM_VIRTQUEUE_H */
