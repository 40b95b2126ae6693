/* ioapic.c - the core's I/O APIC (82093AA style, version 0x11, 24 pins) at
 * 0xfec00000: IOREGSEL (offset 0x00) / IOWIN (0x10), ID, version,
 * arbitration ID and the redirection table. Edge pins deliver on a rising
 * input; level pins deliver while asserted and remote IRR is clear, and
 * remote IRR is cleared by the local APICs' EOI broadcast. Messages go to
 * the APIC bus with the IOAPIC's lock held (order: ioapic -> lapic). */
#include <stdlib.h>
#include <string.h>

#include "lib/platform/chips.h"
#include "lib/platform/state.h"

#define IOAPIC_VERSION (0x11u | ((VMM__NR_GSI - 1u) << 16))   /* 0x170011 */
#define IOAPIC_MMIO_LEN 0x100u

/* Redirection entry bits. */
#define RE_DELIVS (1ull << 12)
#define RE_REMOTE_IRR (1ull << 14)
#define RE_LEVEL (1ull << 15)
#define RE_MASKED (1ull << 16)
/* Writable: vector, delivery mode, dest mode, polarity, trigger, mask, dest. */
#define RE_WRITABLE (0xffull | (7ull << 8) | (1ull << 11) | (1ull << 13) | RE_LEVEL | \
		     RE_MASKED | (0xffull << 56))

struct vmm__ioapic {
	pthread_mutex_t lock;
	vmm_vm *vm;
	uint32_t ioregsel;
	uint32_t id;
	uint64_t redir[VMM__NR_GSI];
	uint32_t level;              /* input lines asserted, one bit per pin */
};

static void deliver(struct vmm__ioapic *io, unsigned pin)
{
	uint64_t e = io->redir[pin];
	vmm__apic_msg msg = {
		.dest = (uint32_t)(e >> 56),
		.vector = (uint8_t)e,
		.delivery = (uint8_t)((e >> 8) & 7),
		.logical = (uint8_t)((e >> 11) & 1),
		.level_trig = (uint8_t)((e & RE_LEVEL) != 0),
	};
	bool fixed = msg.delivery == VMM__DM_FIXED || msg.delivery == VMM__DM_LOWEST;

	if (e & RE_MASKED)
		return;
	if (e & RE_LEVEL) {
		if (fixed && (e & RE_REMOTE_IRR))
			return;   /* waits for the EOI */
		if (fixed)
			io->redir[pin] |= RE_REMOTE_IRR;
	}
	if (!fixed)
		msg.level_trig = 0;
	vmm__apic_bus_deliver(io->vm, &msg);
}

void vmm__ioapic_set_irq(vmm_vm *vm, unsigned pin, int level)
{
	struct vmm__ioapic *io = vm->platform ? vm->platform->ioapic : NULL;
	uint32_t bit = 1u << pin, old;

	if (!io || pin >= VMM__NR_GSI)
		return;
	pthread_mutex_lock(&io->lock);
	old = io->level & bit;
	io->level = level ? io->level | bit : io->level & ~bit;
	if (level && ((io->redir[pin] & RE_LEVEL) || !old))
		deliver(io, pin);
	pthread_mutex_unlock(&io->lock);
}

void vmm__ioapic_eoi(vmm_vm *vm, uint8_t vector)
{
	struct vmm__ioapic *io = vm->platform ? vm->platform->ioapic : NULL;

	if (!io)
		return;
	pthread_mutex_lock(&io->lock);
	for (unsigned pin = 0; pin < VMM__NR_GSI; pin++) {
		uint64_t e = io->redir[pin];

		if ((uint8_t)e != vector || !(e & RE_LEVEL) || !(e & RE_REMOTE_IRR))
			continue;
		io->redir[pin] &= ~RE_REMOTE_IRR;
		if (io->level & (1u << pin))
			deliver(io, pin);   /* still asserted: again */
	}
	pthread_mutex_unlock(&io->lock);
}

/* ---- Registers ------------------------------------------------------------- */

static uint32_t reg_read(const struct vmm__ioapic *io, uint32_t sel)
{
	unsigned pin = (sel - 0x10) / 2;

	switch (sel) {
	case 0: return io->id << 24;
	case 1: return IOAPIC_VERSION;
	case 2: return io->id << 24;   /* arbitration ID */
	}
	if (sel >= 0x10 && pin < VMM__NR_GSI)
		return (sel & 1) ? (uint32_t)(io->redir[pin] >> 32) : (uint32_t)io->redir[pin];
	return 0;
}

static void reg_write(struct vmm__ioapic *io, uint32_t sel, uint32_t v)
{
	unsigned pin = (sel - 0x10) / 2;
	uint64_t e, ro;

	if (sel == 0) {
		io->id = (v >> 24) & 0xf;
		return;
	}
	if (sel < 0x10 || pin >= VMM__NR_GSI)
		return;
	e = io->redir[pin];
	ro = e & ~RE_WRITABLE;
	if (sel & 1)
		e = (e & 0xffffffffull) | ((uint64_t)v << 32);
	else
		e = (e & ~0xffffffffull) | v;
	e = (e & RE_WRITABLE) | (ro & RE_REMOTE_IRR);
	if (!(e & RE_LEVEL))
		e &= ~RE_REMOTE_IRR;
	io->redir[pin] = e;
	/* Unmasked (or switched to level) while the line is asserted. */
	if ((e & RE_LEVEL) && (io->level & (1u << pin)))
		deliver(io, pin);
}

static int ioapic_mmio(void *opaque, vmm_vcpu *vcpu, uint64_t addr, uint8_t size,
		       uint8_t is_write, uint64_t *data)
{
	struct vmm__ioapic *io = opaque;
	uint64_t off = addr - VMM__IOAPIC_BASE;

	pthread_mutex_lock(&io->lock);
	if (off == 0x00) {
		if (is_write)
			io->ioregsel = (uint32_t)*data & 0xff;
		else
			*data = io->ioregsel;
	} else if (off >= 0x10 && off < 0x14) {
		if (is_write && size == 4 && off == 0x10)
			reg_write(io, io->ioregsel, (uint32_t)*data);
		else if (!is_write)
			*data = reg_read(io, io->ioregsel) >> ((off - 0x10) * 8);
	} else if (!is_write) {
		*data = 0;
	}
	pthread_mutex_unlock(&io->lock);
	return 0;
}

/* ---- Lifecycle ----------------------------------------------------------------- */

int vmm__ioapic_init(vmm_vm *vm)
{
	struct vmm__ioapic *io = calloc(1, sizeof(*io));
	int rc;

	if (!io)
		return vmm__err(VMM_ENOMEM, "ioapic: out of memory");
	pthread_mutex_init(&io->lock, NULL);
	io->vm = vm;
	for (unsigned i = 0; i < VMM__NR_GSI; i++)
		io->redir[i] = RE_MASKED;
	rc = vmm__mmio_register_internal(vm, VMM__IOAPIC_BASE, IOAPIC_MMIO_LEN, ioapic_mmio, io);
	if (rc) {
		pthread_mutex_destroy(&io->lock);
		free(io);
		return rc;
	}
	vm->platform->ioapic = io;
	return 0;
}

void vmm__ioapic_fini(vmm_vm *vm)
{
	struct vmm__ioapic *io = vm->platform->ioapic;

	if (!io)
		return;
	vm->platform->ioapic = NULL;
	vmm_mmio_unregister(vm, VMM__IOAPIC_BASE);
	pthread_mutex_destroy(&io->lock);
	free(io);
}

/* ---- Device state (state.h) -------------------------------------------------- */

static int ioapic_save(void *dev, vmm__sw *w)
{
	struct vmm__ioapic *io = dev;

	pthread_mutex_lock(&io->lock);
	vmm__sw_u32(w, io->ioregsel);
	vmm__sw_u32(w, io->id);
	vmm__sw_u32(w, io->level);
	for (unsigned i = 0; i < VMM__NR_GSI; i++)
		vmm__sw_u64(w, io->redir[i]);
	pthread_mutex_unlock(&io->lock);
	return 0;
}

/* Nothing is delivered: what was pending is in the local APICs' state. */
static int ioapic_load(void *dev, uint32_t version, vmm__sr *r)
{
	struct vmm__ioapic *io = dev;
	uint32_t sel, id, level;
	uint64_t redir[VMM__NR_GSI];

	(void)version;
	sel = (uint32_t)vmm__sr_max(r, "ioregsel", 0xff, 4);
	id = (uint32_t)vmm__sr_max(r, "id", 0xf, 4);
	level = (uint32_t)vmm__sr_max(r, "level", (1u << VMM__NR_GSI) - 1, 4);
	for (unsigned i = 0; i < VMM__NR_GSI; i++) {
		uint64_t e = redir[i] = vmm__sr_u64(r, "redir");

		vmm__sr_check(r, !(e & ~(RE_WRITABLE | RE_REMOTE_IRR)), "redir",
			      "sets read-only or reserved bits");
		vmm__sr_check(r, !(e & RE_REMOTE_IRR) || (e & RE_LEVEL), "redir",
			      "remote IRR on an edge-triggered pin");
	}
	if (!vmm__sr_apply(r))
		return 0;
	pthread_mutex_lock(&io->lock);
	io->ioregsel = sel;
	io->id = id;
	io->level = level;
	memcpy(io->redir, redir, sizeof(redir));
	pthread_mutex_unlock(&io->lock);
	return 0;
}

static const vmm__state_ops ioapic_state = { 1, ioapic_save, ioapic_load };

int vmm__ioapic_state_add(vmm_vm *vm, vmm__state_list *l)
{
	struct vmm__ioapic *io = vm->platform ? vm->platform->ioapic : NULL;

	return io ? vmm__state_add(l, "ioapic", &ioapic_state, io) : 0;
}
