/* pci.c - PCI bus 0 of the PC platform: configuration space through
 * 0xcf8/0xcfc and ECAM, the host bridge, BAR sizing and decoding inside the
 * bus's fixed memory and I/O windows. MSI/MSI-X/INTx are in pci_msi.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/platform/acpi.h"
#include "lib/platform/pci.h"
#include "lib/platform/platform.h"
#include "lib/platform/state.h"

#define CMD_IO 0x1u
#define CMD_MEM 0x2u
#define CMD_WRITABLE 0x0547u         /* IO MEM MASTER PARITY SERR INTX_DISABLE */
#define CFG_CMD 0x04
#define CFG_BAR0 0x10
#define CFG_CAP_PTR 0x34
#define CFG_INT_LINE 0x3c
#define CFG_INT_PIN 0x3d
#define STATUS_CAP_LIST 0x10u

typedef struct vmm__pci {
	pthread_rwlock_t lock;           /* devs and BAR decoding */
	pthread_mutex_t cf8_lock;
	uint32_t cf8;
	vmm__pci_dev *devs[VMM__PCI_SLOTS];
	vmm__pci_dev host;
	uint64_t next_mem;
	uint32_t next_io;
} vmm__pci;

static uint32_t cfg32(const vmm__pci_dev *d, unsigned off)
{
	uint32_t v;

	memcpy(&v, d->cfg + off, 4);
	return v;
}

static void set_cfg(vmm__pci_dev *d, unsigned off, uint32_t v, unsigned len)
{
	memcpy(d->cfg + off, &v, len);
}

uint64_t vmm__pci_bar_addr(vmm__pci_dev *d, unsigned bar)
{
	const vmm__pci_bar *b = &d->bars[bar];
	uint32_t cmd = d->cfg[CFG_CMD];
	uint64_t lo = cfg32(d, CFG_BAR0 + 4 * bar);

	if (b->type == VMM__BAR_IO)
		return (cmd & CMD_IO) ? lo & ~3ull : 0;
	if (b->type == VMM__BAR_NONE || !(cmd & CMD_MEM))
		return 0;
	lo &= ~0xfull;
	if (b->type == VMM__BAR_MEM64)
		lo |= (uint64_t)cfg32(d, CFG_BAR0 + 4 * (bar + 1)) << 32;
	return lo;
}

/* A BAR register after a write: address bits above the size only. */
static void fix_bar(vmm__pci_dev *d, unsigned bar)
{
	const vmm__pci_bar *b = &d->bars[bar];
	unsigned off = CFG_BAR0 + 4 * bar;
	uint32_t v = cfg32(d, off);

	if (b->type == VMM__BAR_IO)
		v = (v & ~(uint32_t)(b->size - 1) & 0xffffu) | 1u;
	else if (b->type == VMM__BAR_MEM32 || b->type == VMM__BAR_MEM64)
		v = (v & ~(uint32_t)(b->size - 1)) | (b->type == VMM__BAR_MEM64 ? 4u : 0u);
	else
		v = 0;
	set_cfg(d, off, v, 4);
}

static void cfg_read(vmm__pci_dev *d, unsigned off, unsigned len, uint32_t *data)
{
	uint32_t v = 0;

	pthread_mutex_lock(&d->lock);
	if (off + len > 0x40 && d->ops && d->ops->config_read)
		d->ops->config_read(d, off, len);
	memcpy(&v, d->cfg + off, len);
	pthread_mutex_unlock(&d->lock);
	*data = v;
}

static void cfg_write(vmm__pci *pci, vmm__pci_dev *d, unsigned off, unsigned len,
		      uint32_t v)
{
	bool bars = off < CFG_BAR0 + 24 && off + len > CFG_BAR0;

	if (bars || off < CFG_CMD + 2)
		pthread_rwlock_wrlock(&pci->lock);   /* decoding may change */
	pthread_mutex_lock(&d->lock);
	for (unsigned i = 0; i < len; i++) {
		uint8_t m = d->wmask[off + i], b = (uint8_t)(v >> (8 * i));

		d->cfg[off + i] = (uint8_t)((d->cfg[off + i] & ~m) | (b & m));
	}
	for (unsigned bar = 0; bars && bar < 6; bar++)
		if (d->bars[bar].type != VMM__BAR_NONE)
			fix_bar(d, bar);
	if (d->msix_cap && off <= d->msix_cap + 3u && off + len > d->msix_cap + 2u)
		vmm__pci_msix_ctrl_written(d);
	pthread_mutex_unlock(&d->lock);
	if (bars || off < CFG_CMD + 2)
		pthread_rwlock_unlock(&pci->lock);
	if (off + len > 0x40 && d->ops && d->ops->config_write)
		d->ops->config_write(d, off, len);
}

/* Config access to bus 0 slot/function/register; absent ones read ~0. */
static void cfg_access(vmm__pci *pci, unsigned slot, unsigned fn, unsigned reg,
		       unsigned len, int is_write, uint32_t *data)
{
	vmm__pci_dev *d = slot < VMM__PCI_SLOTS && fn == 0 ? pci->devs[slot] : NULL;

	if (!d || reg + len > VMM__PCI_CFG_SIZE) {
		if (!is_write)
			*data = len == 4 ? ~0u : (1u << (8 * len)) - 1;
		return;
	}
	if (is_write)
		cfg_write(pci, d, reg, len, *data);
	else
		cfg_read(d, reg, len, data);
}

static int cf8_io(void *opaque, vmm_vcpu *vcpu, uint16_t port, uint8_t size,
		  uint8_t is_write, uint32_t *data)
{
	vmm__pci *pci = opaque;
	uint32_t addr;

	if (port == VMM__ACPI_RESET_PORT && size == 1)
		return vmm__acpi_reset_io(vcpu, is_write, data);
	pthread_mutex_lock(&pci->cf8_lock);
	if (port == 0xcf8 && size == 4) {
		if (is_write)
			pci->cf8 = *data & 0x80fffffcu;
		else
			*data = pci->cf8;
		pthread_mutex_unlock(&pci->cf8_lock);
		return 0;
	}
	addr = pci->cf8;
	pthread_mutex_unlock(&pci->cf8_lock);
	if (port < 0xcfc || !(addr & 0x80000000u) || ((addr >> 16) & 0xff) != 0 ||
	    (port & 3) + size > 4) {
		if (!is_write)
			*data = size == 4 ? ~0u : (1u << (8 * size)) - 1;
		return 0;
	}
	cfg_access(pci, (addr >> 11) & 31, (addr >> 8) & 7, (addr & 0xfc) + (port & 3),
		   size, is_write, data);
	return 0;
}

static int ecam_mmio(void *opaque, vmm_vcpu *vcpu, uint64_t addr, uint8_t size,
		     uint8_t is_write, uint64_t *data)
{
	uint64_t off = addr - VMM__PCI_ECAM_BASE;
	uint32_t v = (uint32_t)*data;

	if (size > 4 || (off & (size - 1))) {   /* ECAM takes aligned dwords or less */
		if (!is_write)
			*data = ~0ull;
		return 0;
	}
	cfg_access(opaque, (off >> 15) & 31, (off >> 12) & 7, off & 0xfff, size,
		   is_write, &v);
	if (!is_write)
		*data = v;
	return 0;
}

/* Finds the BAR decoding addr (I/O or memory); caller holds the read lock. */
static vmm__pci_dev *decode(vmm__pci *pci, uint64_t addr, bool io, unsigned *bar,
			    uint64_t *off)
{
	for (unsigned s = 0; s < VMM__PCI_SLOTS; s++) {
		vmm__pci_dev *d = pci->devs[s];

		for (unsigned b = 0; d && b < 6; b++) {
			uint64_t base;

			if ((d->bars[b].type == VMM__BAR_IO) != io || !d->bars[b].size)
				continue;
			base = vmm__pci_bar_addr(d, b);
			if (base && addr >= base && addr - base < d->bars[b].size) {
				*bar = b;
				*off = addr - base;
				return d;
			}
		}
	}
	return NULL;
}

static int bar_access(vmm__pci *pci, uint64_t addr, bool io, uint8_t size,
		      uint8_t is_write, uint64_t *data)
{
	unsigned bar = 0;
	uint64_t off = 0;
	vmm__pci_dev *d;
	int rc = 0;

	pthread_rwlock_rdlock(&pci->lock);
	d = decode(pci, addr, io, &bar, &off);
	if (!d) {
		if (!is_write)
			*data = ~0ull;
	} else if (vmm__pci_msix_access(d, bar, off, size, is_write, data)) {
		rc = 0;
	} else if (is_write) {
		rc = d->ops->bar_write ? d->ops->bar_write(d, bar, off, size, *data) : 0;
	} else {
		*data = ~0ull;
		rc = d->ops->bar_read ? d->ops->bar_read(d, bar, off, size, data) : 0;
	}
	pthread_rwlock_unlock(&pci->lock);
	return rc;
}

static int mem_window(void *opaque, vmm_vcpu *vcpu, uint64_t addr, uint8_t size,
		      uint8_t is_write, uint64_t *data)
{
	return bar_access(opaque, addr, false, size, is_write, data);
}

static int io_window(void *opaque, vmm_vcpu *vcpu, uint16_t port, uint8_t size,
		     uint8_t is_write, uint32_t *data)
{
	uint64_t v = *data;
	int rc = bar_access(opaque, port, true, size, is_write, &v);

	*data = (uint32_t)v;
	return rc;
}

/* Standard header: IDs, class, interrupt pin, writable bits. */
static void init_header(vmm__pci_dev *d)
{
	memset(d->cfg, 0, sizeof(d->cfg));
	memset(d->wmask, 0, sizeof(d->wmask));
	set_cfg(d, 0x00, d->vendor, 2);
	set_cfg(d, 0x02, d->device, 2);
	set_cfg(d, 0x08, d->class_rev, 4);
	set_cfg(d, 0x2c, d->subsys_vendor, 2);
	set_cfg(d, 0x2e, d->subsys, 2);
	d->wmask[CFG_CMD] = CMD_WRITABLE & 0xff;
	d->wmask[CFG_CMD + 1] = CMD_WRITABLE >> 8;
	d->wmask[CFG_INT_LINE] = 0xff;
	d->cap_next = 0x40;
}

static int assign_bar(vmm__pci *pci, vmm__pci_dev *d, unsigned b)
{
	vmm__pci_bar *bar = &d->bars[b];
	uint64_t size = bar->size, addr;

	if (bar->type == VMM__BAR_NONE)
		return 0;
	if (size & (size - 1) || size < (bar->type == VMM__BAR_IO ? 4 : 16) ||
	    (bar->type == VMM__BAR_MEM64 && b == 5) || size > VMM__PCI_MMIO_SIZE / 2)
		return vmm__err(VMM_EINVAL, "pci: BAR %u of %04x:%04x has a bad size 0x%llx "
				"or type", b, d->vendor, d->device, (unsigned long long)size);
	if (bar->type == VMM__BAR_IO) {
		addr = (pci->next_io + size - 1) & ~(size - 1);
		if (addr + size > 0x10000)
			return vmm__err(VMM_ENOMEM, "pci: the I/O window is full");
		pci->next_io = (uint32_t)(addr + size);
	} else {
		size = size < 4096 ? 4096 : size;       /* one BAR per page */
		addr = (pci->next_mem + size - 1) & ~(size - 1);
		if (addr + size > VMM__PCI_MMIO_BASE + VMM__PCI_MMIO_SIZE)
			return vmm__err(VMM_ENOMEM, "pci: the memory window is full");
		pci->next_mem = addr + size;
	}
	memset(d->wmask + CFG_BAR0 + 4 * b, 0xff, bar->type == VMM__BAR_MEM64 ? 8 : 4);
	set_cfg(d, CFG_BAR0 + 4 * b, (uint32_t)addr, 4);
	fix_bar(d, b);
	return 0;
}

int vmm__pci_add(vmm_vm *vm, vmm__pci_dev *d)
{
	vmm__pci *pci = vm->platform ? vm->platform->pci : NULL;
	unsigned slot;
	int rc = 0;

	if (!pci)
		return vmm__err(VMM_ESTATE, "pci: the VM has no PCI bus (VMM_VM_IRQCHIP)");
	pthread_rwlock_wrlock(&pci->lock);
	for (slot = 0; slot < VMM__PCI_SLOTS && pci->devs[slot]; slot++)
		;
	if (slot == VMM__PCI_SLOTS)
		rc = vmm__err(VMM_ENOMEM, "pci: all %u slots of bus 0 are in use",
			      VMM__PCI_SLOTS);
	for (unsigned b = 0; rc == 0 && b < 6; b++)
		rc = assign_bar(pci, d, b);
	if (rc == 0) {
		d->vm = vm;
		d->slot = (uint8_t)slot;
		d->cfg[CFG_INT_PIN] = 1;             /* INTA */
		d->cfg[CFG_INT_LINE] = (uint8_t)VMM__PCI_INTX_GSI(slot, 0);
		pci->devs[slot] = d;
	}
	pthread_rwlock_unlock(&pci->lock);
	return rc;
}

uint8_t vmm__pci_add_cap(vmm__pci_dev *d, uint8_t id, uint8_t len)
{
	uint8_t at = d->cap_next, *p;

	if (!at || at + len > 0x100 || len < 2)
		return 0;
	/* Link from the pointer at 0x34 through each capability's next byte. */
	for (p = &d->cfg[CFG_CAP_PTR]; *p; p = &d->cfg[*p + 1])
		;
	*p = at;
	d->cfg[at] = id;
	d->cfg[at + 1] = 0;
	d->cfg[0x06] |= STATUS_CAP_LIST;
	d->cap_next = (uint8_t)((at + len + 3) & ~3u);
	return at;
}

/* The device's header must be set up before its capabilities are added. */
void vmm__pci_dev_init(vmm__pci_dev *d)
{
	pthread_mutex_init(&d->lock, NULL);
	init_header(d);
}

void vmm__pci_dev_fini(vmm__pci_dev *d)
{
	free(d->msix_mem);
	d->msix_mem = NULL;
	pthread_mutex_destroy(&d->lock);
}

int vmm__pci_init(vmm_vm *vm)
{
	vmm__pci *pci = calloc(1, sizeof(*pci));
	int rc;

	if (!pci)
		return vmm__err(VMM_ENOMEM, "pci: out of memory");
	pthread_rwlock_init(&pci->lock, NULL);
	pthread_mutex_init(&pci->cf8_lock, NULL);
	pci->next_mem = VMM__PCI_MMIO_BASE;
	pci->next_io = VMM__PCI_IO_BASE;
	pci->host.vendor = 0x1b36;                   /* QEMU PCIe host bridge ID */
	pci->host.device = 0x0008;
	pci->host.class_rev = 0x06000000;            /* bridge: host */
	vmm__pci_dev_init(&pci->host);
	vm->platform->pci = pci;
	rc = vmm__pci_add(vm, &pci->host);
	if (rc == 0)
		rc = vmm__pio_register_internal(vm, 0xcf8, 8, cf8_io, pci);
	if (rc == 0)
		rc = vmm_mmio_register(vm, VMM__PCI_ECAM_BASE, VMM__PCI_ECAM_SIZE, ecam_mmio, pci);
	if (rc == 0)
		rc = vmm_mmio_register(vm, VMM__PCI_MMIO_BASE, VMM__PCI_MMIO_SIZE, mem_window, pci);
	if (rc == 0)
		rc = vmm__pio_register_internal(vm, VMM__PCI_IO_BASE,
						(uint16_t)(0x10000 - VMM__PCI_IO_BASE), io_window, pci);
	return rc;
}

void vmm__pci_fini(vmm_vm *vm)
{
	vmm__pci *pci = vm->platform->pci;

	if (!pci)
		return;
	vmm__pci_dev_fini(&pci->host);
	pthread_rwlock_destroy(&pci->lock);
	pthread_mutex_destroy(&pci->cf8_lock);
	free(pci);
	vm->platform->pci = NULL;
}

/* ---- Device state (state.h) ------------------------------------------------------
 * One record per function ("pci.0:03.0"): the first 256 bytes of config
 * space (the rest is never written), the INTx level, and the MSI-X table
 * and PBA. Loading takes only the guest-writable bits, as a config write
 * would (BARs fixed up the same way); every read-only byte must equal this
 * VM's, or the stream is of another device. */
#define STATE_CFG 256u
#define STATUS_INTX 0x08u

static size_t msix_len(const vmm__pci_dev *d)
{
	return d->msix_mem ? (size_t)d->msix_vectors * 16 + ((size_t)d->msix_vectors + 63) / 64 * 8 : 0;
}

static int pci_dev_save(void *dev, vmm__sw *w)
{
	vmm__pci_dev *d = dev;

	pthread_mutex_lock(&d->lock);
	vmm__sw_bytes(w, d->cfg, STATE_CFG);
	vmm__sw_bool(w, d->intx_level);
	vmm__sw_u16(w, d->msix_mem ? d->msix_vectors : 0);
	vmm__sw_bytes(w, d->msix_mem, msix_len(d));
	pthread_mutex_unlock(&d->lock);
	return 0;
}

/* cfg: the stream's bytes, merged into this device's under its wmask. */
static void merge_cfg(vmm__sr *r, vmm__pci_dev *d, uint8_t *cfg, bool intx)
{
	char field[24];

	for (unsigned i = 0; i < STATE_CFG && !r->failed; i++) {
		uint8_t ro = (uint8_t)~d->wmask[i], cur = d->cfg[i];

		if (i == 0x06)
			ro &= (uint8_t)~STATUS_INTX;   /* the device's own bit */
		snprintf(field, sizeof(field), "cfg[0x%02x]", i);
		vmm__sr_check(r, (cfg[i] & ro) == (cur & ro), field,
			      "a read-only byte differs (another device?)");
		cfg[i] = (uint8_t)((cur & ro) | (cfg[i] & ~ro));
	}
	vmm__sr_check(r, !!(cfg[0x06] & STATUS_INTX) == intx, "cfg[0x06]",
		      "INTx status does not match the INTx level");
}

static void check_msix(vmm__sr *r, const vmm__pci_dev *d, const uint8_t *m)
{
	const uint8_t *pba = m + (size_t)d->msix_vectors * 16;

	for (unsigned v = 0; v < d->msix_vectors; v++) {
		const uint8_t *e = m + (size_t)v * 16;

		vmm__sr_check(r, !(e[12] & ~1u) && !e[13] && !e[14] && !e[15], "msix table",
			      "vector control has reserved bits");
	}
	for (unsigned v = d->msix_vectors; v < (d->msix_vectors + 63u) / 64 * 64; v++)
		vmm__sr_check(r, !(pba[v / 8] & (1u << (v % 8))), "msix pba",
			      "a pending bit past the last vector");
}

static int pci_dev_load(void *dev, uint32_t version, vmm__sr *r)
{
	vmm__pci_dev *d = dev;
	vmm__pci *pci = d->vm->platform->pci;
	uint8_t cfg[STATE_CFG], *msix = NULL;
	size_t mlen = msix_len(d);
	uint16_t nvec;
	bool intx;

	(void)version;
	vmm__sr_bytes(r, "cfg", cfg, STATE_CFG);
	intx = vmm__sr_bool(r, "intx_level");
	nvec = vmm__sr_u16(r, "msix_vectors");
	vmm__sr_check(r, nvec == (d->msix_mem ? d->msix_vectors : 0), "msix_vectors",
		      "not this device's number of MSI-X vectors");
	if (!r->failed && mlen && !(msix = malloc(mlen)))
		return vmm__err(VMM_ENOMEM, "state load: out of memory");
	if (msix) {
		vmm__sr_bytes(r, "msix", msix, mlen);
		if (!r->failed)
			check_msix(r, d, msix);
	}
	pthread_mutex_lock(&d->lock);        /* stable wmask/cfg to merge with */
	if (!r->failed)
		merge_cfg(r, d, cfg, intx);
	pthread_mutex_unlock(&d->lock);
	if (vmm__sr_apply(r)) {
		pthread_rwlock_wrlock(&pci->lock);   /* BAR decoding changes */
		pthread_mutex_lock(&d->lock);
		memcpy(d->cfg, cfg, STATE_CFG);
		for (unsigned bar = 0; bar < 6; bar++)
			if (d->bars[bar].type != VMM__BAR_NONE)
				fix_bar(d, bar);
		d->intx_level = intx;
		if (msix)
			memcpy(d->msix_mem, msix, mlen);
		pthread_mutex_unlock(&d->lock);
		pthread_rwlock_unlock(&pci->lock);
	}
	free(msix);
	return 0;
}

static const vmm__state_ops pci_dev_state = { 1, pci_dev_save, pci_dev_load };

int vmm__pci_state_add(vmm_vm *vm, vmm__state_list *l)
{
	vmm__pci *pci = vm->platform ? vm->platform->pci : NULL;
	char name[16];
	int rc = 0;

	if (!pci)
		return 0;
	pthread_rwlock_rdlock(&pci->lock);
	for (unsigned slot = 0; rc == 0 && slot < VMM__PCI_SLOTS; slot++) {
		if (!pci->devs[slot])
			continue;
		snprintf(name, sizeof(name), "pci.0:%02x.0", slot);
		rc = vmm__state_add(l, name, &pci_dev_state, pci->devs[slot]);
	}
	pthread_rwlock_unlock(&pci->lock);
	return rc;
}
