/* rng.c - virtio-rng (virtio 1.2, 5.4): one queue; each request's writable
 * buffers are filled from getrandom(2). Written against the public virtio
 * device interface, as an embedder's device would be. */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "lib/internal.h"
#include "lib/virtio/virtio_pci.h"

#define RNG_CHUNK 4096u
#define RNG_MAX_REQ (64u * 1024u)       /* per request: a guest cannot make us
					   generate gigabytes in one go */

static void rng_notify(void *opaque, vmm_virtio_dev *dev, uint16_t q)
{
	vmm_virtq_elem *e;
	uint8_t buf[RNG_CHUNK];

	while (vmm_virtq_pop(dev, q, &e) == 1) {
		uint64_t want = vmm_virtq_in_len(e), done = 0;

		if (want > RNG_MAX_REQ)
			want = RNG_MAX_REQ;
		while (done < want) {
			size_t n = want - done < sizeof(buf) ? (size_t)(want - done) : sizeof(buf);
			ssize_t got = getrandom(buf, n, 0);

			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0)
				break;
			done += vmm_virtq_write(e, done, buf, (uint64_t)got);
		}
		vmm_virtq_push(dev, q, e, (uint32_t)done);
	}
	vmm_virtio_interrupt(dev, q);
}

static const vmm_virtio_ops rng_ops = {
	.version = VMM_VIRTIO_OPS_VERSION,
	.device_id = 4,
	.pci_class = 0x00ff00,
	.num_queues = 1,
	.queue_size = 256,
	.queue_notify = rng_notify,
};

/* Device state (lib/virtio/state.c): the transport is all there is. */
static int rng_state_save(void *opaque, vmm__sw *w)
{
	return 0;
}

static int rng_state_load(void *opaque, uint32_t version, vmm__sr *r)
{
	return 0;
}

static const vmm__vdev_state rng_state = { "rng", 1, rng_state_save, rng_state_load };

VMM_API int vmm_virtio_rng_add(vmm_vm *vm)
{
	vmm_virtio_dev *dev;
	int rc = vmm_virtio_add(vm, &rng_ops, NULL, &dev);

	if (rc == 0)
		vmm__virtio_set_state(dev, &rng_state);
	return rc;
}
