/* pci_msi.c - how PCI devices interrupt: MSI-X (capability, table and PBA
 * in a BAR, per-vector and function masks with pending bits) and INTx
 * (level on the GSI the DSDT's _PRT names). */
#include <stdlib.h>
#include <string.h>

#include "lib/platform/pci.h"
#include "lib/platform/platform.h"

#define CAP_MSIX 0x11
#define MSIX_ENABLE 0x8000u
#define MSIX_MASKALL 0x4000u
#define ENTRY 16u
#define CMD_INTX_DISABLE 0x0400u
#define STATUS_INTX 0x08u

int (*vmm__pci_msi_fn)(vmm_vm *vm, uint64_t addr, uint32_t data) = vmm__msi_send;

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint16_t msix_ctrl(const vmm__pci_dev *d)
{
	uint16_t v;

	memcpy(&v, d->cfg + d->msix_cap + 2, 2);
	return v;
}

static size_t pba_len(uint16_t nvec)
{
	return ((size_t)nvec + 63) / 64 * 8;
}

int vmm__pci_add_msix(vmm__pci_dev *d, uint16_t nvec, uint8_t bar, uint32_t table_off,
		      uint32_t pba_off)
{
	size_t tlen = (size_t)nvec * ENTRY;
	uint16_t ctrl = (uint16_t)(nvec - 1);
	uint32_t t = table_off | bar, p = pba_off | bar;
	uint8_t at;

	if (nvec == 0 || nvec > 2048 || bar > 5 || (table_off & 7) || (pba_off & 7) ||
	    !d->bars[bar].size || table_off + tlen > d->bars[bar].size ||
	    pba_off + pba_len(nvec) > d->bars[bar].size ||
	    (pba_off < table_off + tlen && table_off < pba_off + pba_len(nvec)))
		return vmm__err(VMM_EINVAL, "pci: MSI-X table (%u vectors) or PBA does not "
				"fit BAR %u", nvec, bar);
	at = vmm__pci_add_cap(d, CAP_MSIX, 12);
	if (!at)
		return vmm__err(VMM_ENOMEM, "pci: no room for the MSI-X capability");
	d->msix_mem = calloc(1, tlen + pba_len(nvec));
	if (!d->msix_mem)
		return vmm__err(VMM_ENOMEM, "pci: out of memory for the MSI-X table");
	for (uint16_t i = 0; i < nvec; i++)
		d->msix_mem[i * ENTRY + 12] = 1;     /* vectors start masked */
	memcpy(d->cfg + at + 2, &ctrl, 2);
	memcpy(d->cfg + at + 4, &t, 4);
	memcpy(d->cfg + at + 8, &p, 4);
	d->wmask[at + 3] = 0xc0;                     /* enable, function mask */
	d->msix_cap = at;
	d->msix_bar = bar;
	d->msix_vectors = nvec;
	d->msix_table = table_off;
	d->msix_pba = pba_off;
	return 0;
}

static uint8_t *pba_byte(vmm__pci_dev *d, uint16_t vec)
{
	return d->msix_mem + (size_t)d->msix_vectors * ENTRY + vec / 8;
}

/* Under d->lock: the message of vec if it may be sent now, else pending. */
static bool take_message(vmm__pci_dev *d, uint16_t vec, uint64_t *addr, uint32_t *data)
{
	const uint8_t *e = d->msix_mem + (size_t)vec * ENTRY;

	if ((msix_ctrl(d) & MSIX_MASKALL) || (e[12] & 1)) {
		*pba_byte(d, vec) |= (uint8_t)(1u << (vec % 8));
		return false;
	}
	*addr = rd32(e) | (uint64_t)rd32(e + 4) << 32;
	*data = rd32(e + 8);
	return true;
}

/* Sends what became deliverable after an unmask (vector or function). */
static void flush_pending(vmm__pci_dev *d)
{
	for (uint16_t v = 0; v < d->msix_vectors; v++) {
		uint64_t addr;
		uint32_t data;
		uint8_t *pb = pba_byte(d, v), bit = (uint8_t)(1u << (v % 8));

		if (!(*pb & bit))
			continue;
		*pb &= (uint8_t)~bit;
		if (take_message(d, v, &addr, &data))
			vmm__pci_msi_fn(d->vm, addr, data);
	}
}

void vmm__pci_msix_ctrl_written(vmm__pci_dev *d)
{
	if (d->msix_cap && d->msix_mem)
		flush_pending(d);
}

bool vmm__pci_msix_access(vmm__pci_dev *d, unsigned bar, uint64_t off, uint8_t size,
			  bool is_write, uint64_t *data)
{
	uint64_t tlen = (uint64_t)d->msix_vectors * ENTRY;

	if (!d->msix_cap || bar != d->msix_bar)
		return false;
	pthread_mutex_lock(&d->lock);
	if (off >= d->msix_table && off + size <= d->msix_table + tlen) {
		uint64_t o = off - d->msix_table;
		uint8_t *e = d->msix_mem + o;

		if (!is_write) {
			*data = 0;
			memcpy(data, e, size);
		} else if (size == 4 || size == 8) {
			if ((o & 15) == 12 || ((o & 15) == 8 && size == 8)) {
				uint8_t *ctl = d->msix_mem + (o & ~15ull) + 12;
				uint32_t v = (uint32_t)(size == 8 ? *data >> 32 : *data);

				if ((o & 15) == 8)
					memcpy(e, data, 4);
				*ctl = (uint8_t)((*ctl & ~1u) | (v & 1u));
			} else {
				memcpy(e, data, size);
			}
			flush_pending(d);
		}
	} else if (off >= d->msix_pba && off + size <= d->msix_pba + pba_len(d->msix_vectors)) {
		if (!is_write) {
			*data = 0;
			memcpy(data, d->msix_mem + tlen + (off - d->msix_pba), size);
		}
	} else {
		pthread_mutex_unlock(&d->lock);
		return false;
	}
	pthread_mutex_unlock(&d->lock);
	return true;
}

void vmm__pci_intx(vmm__pci_dev *d, int level)
{
	uint16_t cmd;
	bool assert;

	pthread_mutex_lock(&d->lock);
	memcpy(&cmd, d->cfg + 4, 2);
	d->intx_level = level != 0;
	if (d->intx_level)
		d->cfg[6] |= STATUS_INTX;
	else
		d->cfg[6] &= (uint8_t)~STATUS_INTX;
	assert = d->intx_level && !(cmd & CMD_INTX_DISABLE);
	pthread_mutex_unlock(&d->lock);
	vmm__irq_set(d->vm, VMM__PCI_INTX_GSI(d->slot, 0), assert);
}

int vmm__pci_notify(vmm__pci_dev *d, uint16_t vec)
{
	uint64_t addr = 0;
	uint32_t data = 0;
	bool send;

	pthread_mutex_lock(&d->lock);
	if (!d->msix_cap || !(msix_ctrl(d) & MSIX_ENABLE)) {
		pthread_mutex_unlock(&d->lock);
		vmm__pci_intx(d, 1);
		return 0;
	}
	if (vec >= d->msix_vectors) {
		pthread_mutex_unlock(&d->lock);
		return vmm__err(VMM_ERANGE, "pci: MSI-X vector %u of a device with %u", vec,
				d->msix_vectors);
	}
	/* Config writes (the function mask) run under d->lock as well. */
	send = take_message(d, vec, &addr, &data);
	pthread_mutex_unlock(&d->lock);
	return send ? vmm__pci_msi_fn(d->vm, addr, data) : 0;
}
