/* virtqueue.c - the split virtqueue: descriptor chains (direct and
 * indirect) taken from the available ring, completions put on the used
 * ring, interrupt suppression by flags or event index. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/virtio/virtqueue.h"

#define DESC_LEN 16u
#define AVAIL_F_NO_INTERRUPT 1u

static int broken(vmm__vq *vq, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int broken(vmm__vq *vq, const char *fmt, ...)
{
	va_list ap;

	if (!vq->broken) {
		va_start(ap, fmt);
		vsnprintf(vq->why, sizeof(vq->why), fmt, ap);
		va_end(ap);
	}
	vq->broken = true;
	return vmm__err(VMM_EINVAL, "virtqueue: %s", vq->why);
}

static uint16_t ld16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static uint16_t ld16_acquire(const uint8_t *p)
{
	return __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE);
}

static void st16_release(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, v, __ATOMIC_RELEASE);
}

void vmm__vq_reset(vmm__vq *vq)
{
	vmm_vm *vm = vq->vm;

	memset(vq, 0, sizeof(*vq));
	vq->vm = vm;
}

int vmm__vq_enable(vmm__vq *vq)
{
	uint64_t n = vq->size, ev = vq->event_idx ? 2 : 0;

	vq->ready = false;
	if (n == 0 || n > VMM__VQ_MAX_SIZE || (n & (n - 1)))
		return broken(vq, "queue size %u is not a power of two up to 32768",
			      vq->size);
	if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3))
		return broken(vq, "ring addresses 0x%llx/0x%llx/0x%llx are misaligned",
			      (unsigned long long)vq->desc_gpa,
			      (unsigned long long)vq->avail_gpa,
			      (unsigned long long)vq->used_gpa);
	vq->desc = vmm__gpa_to_hva(vq->vm, vq->desc_gpa, n * DESC_LEN);
	vq->avail = vmm__gpa_to_hva(vq->vm, vq->avail_gpa, 4 + 2 * n + ev);
	vq->used = vmm__gpa_to_hva(vq->vm, vq->used_gpa, 4 + 8 * n + ev);
	if (!vq->desc || !vq->avail || !vq->used)
		return broken(vq, "a ring of a %u-entry queue lies outside guest RAM",
			      vq->size);
	vq->last_avail = ld16(vq->avail + 2);
	vq->used_idx = ld16(vq->used + 2);
	vq->signalled_used = vq->used_idx;
	vq->signalled_valid = false;
	vq->ready = true;
	return 0;
}

/* One descriptor of a table (direct or indirect) of n entries. */
static void get_desc(const uint8_t *table, uint32_t i, uint64_t *addr, uint32_t *len,
		     uint16_t *flags, uint16_t *next)
{
	const uint8_t *d = table + (size_t)i * DESC_LEN;

	memcpy(addr, d, 8);
	memcpy(len, d + 8, 4);
	memcpy(flags, d + 12, 2);
	memcpy(next, d + 14, 2);
}

static int add_buf(vmm__vq *vq, vmm__vq_elem *e, uint64_t addr, uint32_t len,
		   uint16_t flags)
{
	bool w = flags & VMM__VRING_DESC_F_WRITE;
	uint8_t *hva = len ? vmm__gpa_to_hva(vq->vm, addr, len) : NULL;

	if (len && !hva)
		return broken(vq, "descriptor buffer [0x%llx, +%u) is not in guest RAM",
			      (unsigned long long)addr, len);
	if (!w && e->nin)
		return broken(vq, "a device-readable descriptor follows a writable one");
	if ((w ? e->nin : e->nout) == VMM__VQ_MAX_SG)
		return broken(vq, "a chain has more than %u buffers", VMM__VQ_MAX_SG);
	if (w) {
		e->in[e->nin++] = (vmm__vq_buf){ hva, len };
		e->in_len += len;
	} else {
		e->out[e->nout++] = (vmm__vq_buf){ hva, len };
		e->out_len += len;
	}
	if (e->in_len + e->out_len > 0xffffffffull)
		return broken(vq, "a chain's buffers add up past 4 GiB");
	return 0;
}

/* Walks the indirect table [addr, +len) as the whole chain. */
static int walk_indirect(vmm__vq *vq, vmm__vq_elem *e, uint64_t addr, uint32_t len)
{
	uint32_t n = len / DESC_LEN, i = 0, steps = 0;
	const uint8_t *table;

	if (!vq->indirect)
		return broken(vq, "an indirect descriptor without VIRTIO_F_INDIRECT_DESC");
	if (len == 0 || len % DESC_LEN || n > VMM__VQ_MAX_SIZE)
		return broken(vq, "an indirect table of %u bytes", len);
	table = vmm__gpa_to_hva(vq->vm, addr, len);
	if (!table)
		return broken(vq, "an indirect table at 0x%llx is not in guest RAM",
			      (unsigned long long)addr);
	for (;;) {
		uint64_t a;
		uint32_t l;
		uint16_t f, next;
		int rc;

		get_desc(table, i, &a, &l, &f, &next);
		if (f & VMM__VRING_DESC_F_INDIRECT)
			return broken(vq, "an indirect descriptor inside an indirect table");
		rc = add_buf(vq, e, a, l, f);
		if (rc)
			return rc;
		if (!(f & VMM__VRING_DESC_F_NEXT))
			return 0;
		if (next >= n || ++steps >= n)
			return broken(vq, "an indirect chain loops or leaves its table");
		i = next;
	}
}

static int walk(vmm__vq *vq, vmm__vq_elem *e, uint16_t head)
{
	uint32_t steps = 0;
	uint16_t i = head;

	for (;;) {
		uint64_t a;
		uint32_t l;
		uint16_t f, next;
		int rc;

		get_desc(vq->desc, i, &a, &l, &f, &next);
		if (f & VMM__VRING_DESC_F_INDIRECT) {
			if (f & VMM__VRING_DESC_F_NEXT || e->nout || e->nin)
				return broken(vq, "an indirect descriptor chained to others");
			return walk_indirect(vq, e, a, l);
		}
		rc = add_buf(vq, e, a, l, f);
		if (rc)
			return rc;
		if (!(f & VMM__VRING_DESC_F_NEXT))
			return 0;
		if (next >= vq->size || ++steps >= vq->size)
			return broken(vq, "descriptor chain from %u loops or is longer than "
				      "the queue", head);
		i = next;
	}
}

int vmm__vq_pop(vmm__vq *vq, vmm__vq_elem *e)
{
	uint16_t avail_idx, head;

	if (vq->broken)
		return VMM_EINVAL;
	if (!vq->ready)
		return 0;
	avail_idx = ld16_acquire(vq->avail + 2);
	if (avail_idx == vq->last_avail)
		return 0;
	if ((uint16_t)(avail_idx - vq->last_avail) > vq->size)
		return broken(vq, "available index moved by %u on a %u-entry queue",
			      (uint16_t)(avail_idx - vq->last_avail), vq->size);
	head = ld16(vq->avail + 4 + 2 * (vq->last_avail % vq->size));
	if (head >= vq->size)
		return broken(vq, "available head %u is past the queue (%u)", head, vq->size);
	e->head = head;
	e->nout = e->nin = 0;
	e->out_len = e->in_len = 0;
	if (walk(vq, e, head))
		return VMM_EINVAL;
	vq->last_avail++;
	if (vq->event_idx)              /* avail_event: tell the driver where we are */
		st16_release(vq->used + 4 + 8 * vq->size, vq->last_avail);
	return 1;
}

void vmm__vq_push(vmm__vq *vq, uint16_t head, uint32_t len)
{
	uint8_t *slot;
	uint32_t id = head;

	if (!vq->ready || vq->broken)
		return;
	slot = vq->used + 4 + 8 * (vq->used_idx % vq->size);
	memcpy(slot, &id, 4);
	memcpy(slot + 4, &len, 4);
	vq->used_idx++;
	st16_release(vq->used + 2, vq->used_idx);
}

bool vmm__vq_need_interrupt(vmm__vq *vq)
{
	uint16_t old = vq->signalled_used, now = vq->used_idx, event;
	bool valid = vq->signalled_valid;

	if (!vq->ready || vq->broken || now == old)
		return false;                        /* nothing new on the used ring */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);     /* used idx before the flags */
	vq->signalled_used = now;
	vq->signalled_valid = true;
	if (!vq->event_idx)
		return !(ld16(vq->avail) & AVAIL_F_NO_INTERRUPT);
	event = ld16(vq->avail + 4 + 2 * vq->size);
	/* vring_need_event(): the driver asked when used passes event. */
	return !valid || (uint16_t)(now - event - 1) < (uint16_t)(now - old);
}

static uint64_t copy(const vmm__vq_buf *bufs, unsigned n, uint64_t off, void *p,
		     uint64_t len, bool to_guest)
{
	uint64_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		uint64_t take;

		if (off >= bufs[i].len) {
			off -= bufs[i].len;
			continue;
		}
		take = bufs[i].len - off;
		if (take > len - done)
			take = len - done;
		if (to_guest)
			memcpy(bufs[i].hva + off, (const uint8_t *)p + done, take);
		else
			memcpy((uint8_t *)p + done, bufs[i].hva + off, take);
		done += take;
		off = 0;
	}
	return done;
}

uint64_t vmm__vq_read(const vmm__vq_elem *e, uint64_t off, void *buf, uint64_t len)
{
	return copy(e->out, e->nout, off, buf, len, false);
}

uint64_t vmm__vq_write(const vmm__vq_elem *e, uint64_t off, const void *buf, uint64_t len)
{
	return copy(e->in, e->nin, off, (void *)buf, len, true);
}
