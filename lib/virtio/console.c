/* console.c - virtio-console (virtio 1.2, 5.3) with one port and no
 * multiport: receiveq 0 carries input to the guest, transmitq 1 its output.
 * Output goes to the embedder's fd and callback on the vCPU thread that
 * notified; input (vmm_virtio_console_input, any thread) waits in a 4 KiB
 * buffer until the guest offers receive buffers. */
#include <stdlib.h>
#include <string.h>

#include "lib/platform/platform.h"
#include "lib/virtio/virtio_pci.h"

#define IN_SIZE 4096u
#define OUT_CHUNK 4096u
#define OUT_MAX (1u << 20)          /* per request: the rest is not read */

typedef struct console {
	vmm_virtio_dev *dev;
	pthread_mutex_t tx_lock;        /* the transmit queue */
	pthread_mutex_t rx_lock;        /* the receive queue and in[] */
	int out_fd;
	vmm_output_fn out_fn;
	void *out_opaque;
	uint32_t in_head, in_count;
	uint8_t in[IN_SIZE];
} console;

static void con_tx(console *c, vmm_virtio_dev *dev)
{
	vmm_virtq_elem *e;
	char buf[OUT_CHUNK];

	pthread_mutex_lock(&c->tx_lock);
	while (vmm_virtq_pop(dev, 1, &e) == 1) {
		uint64_t len = vmm_virtq_out_len(e), off = 0;

		if (len > OUT_MAX)
			len = OUT_MAX;
		while (off < len) {
			uint64_t n = vmm_virtq_read(e, off, buf, len - off < OUT_CHUNK ?
						    len - off : OUT_CHUNK);

			if (!n)
				break;
			if (c->out_fd >= 0)
				vmm__write_fd(c->out_fd, buf, (size_t)n);
			if (c->out_fn)
				c->out_fn(c->out_opaque, buf, (size_t)n);
			off += n;
		}
		vmm_virtq_push(dev, 1, e, 0);
	}
	vmm_virtio_interrupt(dev, 1);
	pthread_mutex_unlock(&c->tx_lock);
}

/* Under rx_lock: as much waiting input as the guest has buffers for. */
static void con_rx(console *c)
{
	vmm_virtq_elem *e;
	bool pushed = false;

	while (c->in_count && vmm_virtq_pop(c->dev, 0, &e) == 1) {
		uint64_t room = vmm_virtq_in_len(e), done = 0;

		while (c->in_count && done < room) {
			uint32_t run = IN_SIZE - c->in_head < c->in_count ?
				       IN_SIZE - c->in_head : c->in_count;
			uint64_t n = run < room - done ? run : room - done;

			vmm_virtq_write(e, done, c->in + c->in_head, n);
			done += n;
			c->in_head = (uint32_t)((c->in_head + n) % IN_SIZE);
			c->in_count -= (uint32_t)n;
		}
		vmm_virtq_push(c->dev, 0, e, (uint32_t)done);
		pushed = true;
		if (!room)
			break;                  /* a zero-length buffer: wait for more */
	}
	if (pushed)
		vmm_virtio_interrupt(c->dev, 0);
}

static void con_notify(void *opaque, vmm_virtio_dev *dev, uint16_t q)
{
	console *c = opaque;

	if (q == 1) {
		con_tx(c, dev);
		return;
	}
	pthread_mutex_lock(&c->rx_lock);
	con_rx(c);
	pthread_mutex_unlock(&c->rx_lock);
}

static const vmm_virtio_ops con_ops = {
	.version = VMM_VIRTIO_OPS_VERSION,
	.device_id = 3,
	.pci_class = 0x078000,
	.num_queues = 2,
	.queue_size = 64,
	.config_size = 12,              /* cols, rows, max_nr_ports, emerg_wr: zeros */
	.queue_notify = con_notify,
};

static console *find(vmm_vm *vm)
{
	for (vmm_virtio_dev *d = vm->platform ? vm->platform->virtio : NULL; d; d = d->next)
		if (d->ops == &con_ops)
			return d->opaque;
	return NULL;
}

static void con_fini(void *opaque)
{
	console *c = opaque;

	pthread_mutex_destroy(&c->tx_lock);
	pthread_mutex_destroy(&c->rx_lock);
	free(c);
}

/* Device state (lib/virtio/state.c): input not yet taken by the guest,
 * oldest first. Where output goes is the embedder's, not saved. */
static int con_state_save(void *opaque, vmm__sw *w)
{
	console *c = opaque;

	pthread_mutex_lock(&c->rx_lock);
	vmm__sw_u32(w, c->in_count);
	for (uint32_t i = 0; i < c->in_count; i++)
		vmm__sw_u8(w, c->in[(c->in_head + i) % IN_SIZE]);
	pthread_mutex_unlock(&c->rx_lock);
	return 0;
}

static int con_state_load(void *opaque, uint32_t version, vmm__sr *r)
{
	console *c = opaque;
	uint32_t n = (uint32_t)vmm__sr_max(r, "input length", IN_SIZE, 4);
	uint8_t in[IN_SIZE];

	(void)version;
	vmm__sr_bytes(r, "input", in, n);
	if (!vmm__sr_apply(r))
		return 0;
	pthread_mutex_lock(&c->rx_lock);
	memcpy(c->in, in, n);
	c->in_head = 0;
	c->in_count = n;
	pthread_mutex_unlock(&c->rx_lock);
	return 0;
}

static const vmm__vdev_state con_state = { "console", 1, con_state_save, con_state_load };

VMM_API int vmm_virtio_console_add(vmm_vm *vm, const vmm_console_config *cfg)
{
	console *c;
	int rc;

	if (!vm || !cfg || cfg->size < sizeof(*cfg) || cfg->flags)
		return vmm__err(VMM_EINVAL, "vmm_virtio_console_add: vm or config is NULL, or "
				"the config is too small or has flags");
	if (find(vm))
		return vmm__err(VMM_EBUSY, "vmm_virtio_console_add: the VM has a console");
	if (!(c = calloc(1, sizeof(*c))))
		return vmm__err(VMM_ENOMEM, "vmm_virtio_console_add: out of memory");
	pthread_mutex_init(&c->tx_lock, NULL);
	pthread_mutex_init(&c->rx_lock, NULL);
	c->out_fd = cfg->out_fd;
	c->out_fn = cfg->out_fn;
	c->out_opaque = cfg->out_opaque;
	rc = vmm_virtio_add(vm, &con_ops, c, &c->dev);
	if (rc) {
		con_fini(c);
		return rc;
	}
	vmm__virtio_set_fini(c->dev, con_fini);
	vmm__virtio_set_state(c->dev, &con_state);
	return 0;
}

VMM_API int vmm_virtio_console_input(vmm_vm *vm, const void *buf, size_t len,
				     size_t *accepted)
{
	const uint8_t *p = buf;
	console *c;
	size_t n = 0;

	if (accepted)
		*accepted = 0;
	if (!vm || (!buf && len))
		return vmm__err(VMM_EINVAL, "vmm_virtio_console_input: vm or buf is NULL");
	if (!(c = find(vm)))
		return vmm__err(VMM_ENOENT, "vmm_virtio_console_input: the VM has no "
				"virtio console");
	pthread_mutex_lock(&c->rx_lock);
	for (; n < len && c->in_count < IN_SIZE; n++, c->in_count++)
		c->in[(c->in_head + c->in_count) % IN_SIZE] = p[n];
	con_rx(c);
	pthread_mutex_unlock(&c->rx_lock);
	if (accepted)
		*accepted = n;
	return 0;
}
