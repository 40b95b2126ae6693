/* pci.c - the virtio PCI transport (virtio 1.2, 4.1): the capabilities,
 * BAR 4 (common configuration, ISR, device configuration, notifications),
 * MSI-X in BAR 1, interrupts, and the public device and queue calls. */
#include <stdlib.h>
#include <string.h>

#include "lib/platform/platform.h"
#include "lib/virtio/iothread.h"
#include "lib/virtio/virtio_pci.h"

#define CAP_VNDR 0x09
enum { CFG_COMMON = 1, CFG_NOTIFY = 2, CFG_ISR = 3, CFG_DEVICE = 4, CFG_PCI = 5 };

static vmm_virtio_dev *of(vmm__pci_dev *p)
{
	return (vmm_virtio_dev *)p;       /* pci is the first member */
}

int vmm__vpci_raise(vmm_virtio_dev *d, uint16_t vector, uint8_t isr_bit)
{
	uint16_t ctrl = 0;

	pthread_mutex_lock(&d->pci.lock);
	if (d->pci.msix_cap)
		memcpy(&ctrl, d->pci.cfg + d->pci.msix_cap + 2, 2);
	pthread_mutex_unlock(&d->pci.lock);
	if (ctrl & 0x8000)                /* MSI-X enabled: vectors only */
		return vector == VMM__VPCI_NO_VECTOR ? 0 : vmm__pci_notify(&d->pci, vector);
	pthread_mutex_lock(&d->lock);
	d->isr |= isr_bit;
	pthread_mutex_unlock(&d->lock);
	vmm__pci_intx(&d->pci, 1);
	return 0;
}

void vmm__vpci_broken(vmm_virtio_dev *d)
{
	d->status |= VMM__VIRTIO_NEEDS_RESET;
	d->generation++;
	d->raise_config = true;
}

/* Not under d->lock: the config-change interrupt a broken queue owes. */
static void settle(vmm_virtio_dev *d)
{
	bool raise;
	uint16_t vector;

	pthread_mutex_lock(&d->lock);
	raise = d->raise_config;
	d->raise_config = false;
	vector = d->config_msix;
	pthread_mutex_unlock(&d->lock);
	if (raise)
		vmm__vpci_raise(d, vector, 2);
}

/* The transport's side of a reset, under d->lock (ops->reset, the
 * device's side, is called by bar_write once the lock is dropped). */
void vmm__vpci_reset(vmm_virtio_dev *d)
{
	for (unsigned i = 0; i < d->ops->num_queues; i++) {
		vmm__vq_reset(&d->q[i].vq);
		d->q[i].epoch++;
		d->q[i].size = d->ops->queue_size;
		d->q[i].msix = VMM__VPCI_NO_VECTOR;
		d->q[i].enable = 0;
		d->q[i].epoch++;               /* inflight still counts what the
						  device holds from before */
	}
	d->status = 0;
	d->driver_features = 0;
	d->dfselect = d->gfselect = 0;
	d->config_msix = VMM__VPCI_NO_VECTOR;
	d->queue_sel = 0;
	d->isr = 0;
}

static uint8_t read_isr(vmm_virtio_dev *d)
{
	uint8_t v = d->isr;

	d->isr = 0;                       /* reading clears it and INTx */
	return v;
}

static int bar_read(vmm__pci_dev *p, unsigned bar, uint64_t off, uint8_t size, uint64_t *v)
{
	vmm_virtio_dev *d = of(p);
	bool isr = false;

	*v = 0;
	pthread_mutex_lock(&d->lock);
	if (off < VMM__VPCI_COMMON_LEN) {
		vmm__vpci_common_read(d, (uint32_t)off, size, v);
	} else if (off == VMM__VPCI_ISR) {
		*v = read_isr(d);
		isr = true;
	} else if (off >= VMM__VPCI_DEVICE && off + size <= VMM__VPCI_DEVICE + d->ops->config_size &&
		   d->ops->config_read) {
		d->ops->config_read(d->opaque, (uint32_t)(off - VMM__VPCI_DEVICE), v, size);
	}
	pthread_mutex_unlock(&d->lock);
	if (isr)
		vmm__pci_intx(p, 0);
	return 0;
}

static int bar_write(vmm__pci_dev *p, unsigned bar, uint64_t off, uint8_t size, uint64_t v)
{
	vmm_virtio_dev *d = of(p);
	uint64_t q = (off - VMM__VPCI_NOTIFY) / VMM__VPCI_NOTIFY_MULT;
	bool notify = false, started = false, reset = false;

	pthread_mutex_lock(&d->lock);
	if (off < VMM__VPCI_COMMON_LEN) {
		uint8_t before = d->status;

		vmm__vpci_common_write(d, (uint32_t)off, size, v);
		started = !(before & VMM__VIRTIO_DRIVER_OK) &&
			  (d->status & VMM__VIRTIO_DRIVER_OK);
		reset = d->reset_owed;
		d->reset_owed = false;
	} else if (off >= VMM__VPCI_DEVICE && off + size <= VMM__VPCI_DEVICE + d->ops->config_size) {
		if (d->ops->config_write)
			d->ops->config_write(d->opaque, (uint32_t)(off - VMM__VPCI_DEVICE), &v, size);
	} else if (off >= VMM__VPCI_NOTIFY && q < d->ops->num_queues) {
		notify = d->q[q].enable && (d->status & VMM__VIRTIO_DRIVER_OK);
	}
	pthread_mutex_unlock(&d->lock);
	settle(d);
	/* Before the write completes: a driver that reads status 0 back finds
	 * the device's side reset too. */
	if (reset && d->ops->reset)
		d->ops->reset(d->opaque, d);
	if (notify)
		d->ops->queue_notify(d->opaque, d, (uint16_t)q);
	/* Buffers made available before DRIVER_OK are looked at now. */
	for (unsigned i = 0; started && i < d->ops->num_queues; i++)
		if (d->q[i].enable)
			d->ops->queue_notify(d->opaque, d, (uint16_t)i);
	return 0;
}

/* VIRTIO_PCI_CAP_PCI_CFG: a window onto the BARs through config space. */
static void cfg_window(vmm__pci_dev *p, uint32_t off, uint32_t len, bool is_write)
{
	uint8_t c = of(p)->cfg_cap;
	uint32_t boff, blen;
	uint64_t v = 0;

	if (!c || off + len <= c + 16u || off >= c + 20u)
		return;
	memcpy(&boff, p->cfg + c + 8, 4);
	memcpy(&blen, p->cfg + c + 12, 4);
	if (p->cfg[c + 4] != VMM__VPCI_BAR || (blen != 1 && blen != 2 && blen != 4) ||
	    (uint64_t)boff + blen > VMM__VPCI_BAR_SIZE)
		return;
	if (is_write) {
		memcpy(&v, p->cfg + c + 16, blen);
		bar_write(p, VMM__VPCI_BAR, boff, (uint8_t)blen, v);
	} else {
		bar_read(p, VMM__VPCI_BAR, boff, (uint8_t)blen, &v);
		memcpy(p->cfg + c + 16, &v, blen);
	}
}

static void config_write(vmm__pci_dev *p, uint32_t off, uint32_t len)
{
	cfg_window(p, off, len, true);
}

static void config_read(vmm__pci_dev *p, uint32_t off, uint32_t len)
{
	cfg_window(p, off, len, false);
}

static const vmm__pci_ops vpci_ops = { bar_read, bar_write, config_write, config_read };

static uint8_t add_vcap(vmm__pci_dev *p, uint8_t type, uint32_t off, uint32_t len,
			uint8_t caplen)
{
	uint8_t at = vmm__pci_add_cap(p, CAP_VNDR, caplen);

	if (!at)
		return 0;
	p->cfg[at + 2] = caplen;
	p->cfg[at + 3] = type;
	p->cfg[at + 4] = VMM__VPCI_BAR;
	memcpy(p->cfg + at + 8, &off, 4);
	memcpy(p->cfg + at + 12, &len, 4);
	return at;
}

static int add_caps(vmm_virtio_dev *d)
{
	vmm__pci_dev *p = &d->pci;
	uint32_t mult = VMM__VPCI_NOTIFY_MULT;
	uint8_t n;

	if (!add_vcap(p, CFG_COMMON, VMM__VPCI_COMMON, VMM__VPCI_COMMON_LEN, 16) ||
	    !(n = add_vcap(p, CFG_NOTIFY, VMM__VPCI_NOTIFY, mult * d->ops->num_queues, 20)) ||
	    !add_vcap(p, CFG_ISR, VMM__VPCI_ISR, 1, 16) ||
	    (d->ops->config_size &&
	     !add_vcap(p, CFG_DEVICE, VMM__VPCI_DEVICE, d->ops->config_size, 16)) ||
	    !(d->cfg_cap = add_vcap(p, CFG_PCI, 0, 0, 20)))
		return vmm__err(VMM_ENOMEM, "virtio: no room for the capabilities");
	memcpy(p->cfg + n + 16, &mult, 4);
	/* The PCI_CFG window: bar, offset, length and data are the driver's. */
	p->wmask[d->cfg_cap + 4] = 0xff;
	memset(p->wmask + d->cfg_cap + 8, 0xff, 12);
	p->cfg[d->cfg_cap + 4] = 0;
	return vmm__pci_add_msix(p, (uint16_t)(d->ops->num_queues + 1), VMM__VPCI_MSIX_BAR,
				 0, 0x800);
}

static int check_ops(const vmm_virtio_ops *o)
{
	if (!o || o->version < 1 || !o->queue_notify || !o->num_queues ||
	    o->num_queues > VMM_VIRTIO_MAX_QUEUES || !o->queue_size ||
	    o->queue_size > VMM__VQ_MAX_SIZE || (o->queue_size & (o->queue_size - 1)) ||
	    o->config_size > 0x1000 || !o->device_id || o->device_id > 0x3f)
		return vmm__err(VMM_EINVAL, "vmm_virtio_add: ops are NULL or invalid (need "
				"version, device_id 1-63, queue_notify, 1-%d queues of a "
				"power-of-two size, config_size <= 4096)",
				VMM_VIRTIO_MAX_QUEUES);
	if (o->features & (0xffffffffull << 24) & ~(0x3fffull << 50))
		return vmm__err(VMM_EINVAL, "vmm_virtio_add: features 0x%llx use transport "
				"bits (24-49)", (unsigned long long)o->features);
	return 0;
}

static void init_pci_ids(vmm_virtio_dev *d)
{
	d->pci.ops = &vpci_ops;
	d->pci.vendor = 0x1af4;
	d->pci.device = (uint16_t)(0x1040 + d->ops->device_id);
	d->pci.class_rev = d->ops->pci_class << 8 | 1;   /* revision 1: modern */
	d->pci.subsys_vendor = 0x1af4;
	d->pci.subsys = 0x1100;
	d->pci.bars[VMM__VPCI_MSIX_BAR] = (vmm__pci_bar){ 0x1000, VMM__BAR_MEM32 };
	d->pci.bars[VMM__VPCI_BAR] = (vmm__pci_bar){ VMM__VPCI_BAR_SIZE, VMM__BAR_MEM64 };
	vmm__pci_dev_init(&d->pci);
}

VMM_API int vmm_virtio_add(vmm_vm *vm, const vmm_virtio_ops *ops, void *opaque,
			   vmm_virtio_dev **out)
{
	vmm_virtio_dev *d;
	int rc;

	if (!vm || !out)
		return vmm__err(VMM_EINVAL, "vmm_virtio_add: vm or out is NULL");
	*out = NULL;
	if (!vm->platform)
		return vmm__err(VMM_ESTATE, "vmm_virtio_add: the VM has no PCI bus (create "
				"it with VMM_VM_IRQCHIP)");
	rc = check_ops(ops);
	if (rc || !(d = calloc(1, sizeof(*d))))
		return rc ? rc : vmm__err(VMM_ENOMEM, "vmm_virtio_add: out of memory");
	d->ops = ops;
	d->opaque = opaque;
	d->vm = vm;
	d->device_features = ops->features | VMM__VIRTIO_F_VERSION_1 |
			     VMM__VIRTIO_F_INDIRECT | VMM__VIRTIO_F_EVENT_IDX;
	pthread_mutex_init(&d->lock, NULL);
	for (unsigned i = 0; i < VMM_VIRTIO_MAX_QUEUES; i++)
		d->q[i].vq.vm = vm;
	vmm__vpci_reset(d);
	init_pci_ids(d);
	rc = add_caps(d);
	if (rc == 0)
		rc = vmm__pci_add(vm, &d->pci);
	if (rc) {
		vmm__pci_dev_fini(&d->pci);
		pthread_mutex_destroy(&d->lock);
		free(d);
		return rc;
	}
	d->next = vm->platform->virtio;
	vm->platform->virtio = d;
	*out = d;
	return 0;
}

void vmm__virtio_set_fini(vmm_virtio_dev *d, void (*fini)(void *opaque))
{
	d->fini = fini;
}

void vmm__virtio_set_iothread(vmm_virtio_dev *d, struct vmm__iothread *io)
{
	d->io = io;
}

void vmm__virtio_flush(vmm_virtio_dev *d)
{
	if (d->io)
		vmm__iothread_flush(d->io);
}

void vmm__virtio_destroy_all(vmm_vm *vm)
{
	vmm_virtio_dev *d = vm->platform->virtio, *next;

	/* Every device's threads stop before any device is freed. */
	for (vmm_virtio_dev *p = d; p; p = p->next)
		if (p->fini)
			p->fini(p->opaque);
	for (; d; d = next) {
		next = d->next;
		vmm__pci_dev_fini(&d->pci);
		pthread_mutex_destroy(&d->lock);
		free(d);
	}
	vm->platform->virtio = NULL;
}
