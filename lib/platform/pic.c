/* pic.c - the PC's 8259A pair: master at 0x20/0x21, slave at 0xa0/0xa1 on
 * the master's IRQ2, and the PIIX/ICH edge/level control registers (ELCR)
 * at 0x4d0/0x4d1. Modelled: ICW1-ICW4, OCW1-OCW3 (mask, non-specific,
 * specific and rotating EOI, set priority, IRR/ISR read, poll, special mask
 * mode), edge and level triggering (ICW1 LTIM or ELCR), auto-EOI with
 * rotation, special fully nested mode, and the spurious IRQ7/IRQ15 of an
 * interrupt that went away before INTA. Not modelled: 8080/8085 call
 * addresses (ICW1 ADI, ICW2 A15-A8), buffered mode (ICW4 BUF, M/S), MCS-80
 * mode. One mutex guards the pair; the output notification
 * (vmm__pic_output_changed) is made with it released. */
#include <stdlib.h>

#include "lib/platform/platform.h"
#include "lib/platform/state.h"

typedef struct pic_chip {
	uint8_t irr, imr, isr;
	uint8_t lines;               /* input levels as last set */
	uint8_t elcr, elcr_mask;     /* level-triggered inputs; writable bits */
	uint8_t vector_base;         /* ICW2 & 0xf8 */
	uint8_t priority_add;        /* lowest-priority input + 1 (rotation) */
	uint8_t init_state;          /* 0 ready, 1-3: expecting ICW2..ICW4 */
	bool icw4_needed, single, ltim;
	bool auto_eoi, rotate_on_aeoi, sfnm;
	bool read_isr, poll, special_mask;
} pic_chip;

struct vmm__pic {
	pthread_mutex_t lock;
	pic_chip chip[2];            /* 0 master, 1 slave */
	bool output;                 /* master INT as last reported */
};

static uint8_t level_mask(const pic_chip *c)
{
	return c->ltim ? 0xff : c->elcr;
}

/* Priority 0 (highest) .. 7 of the highest set bit in mask, 8 if none. */
static int priority_of(const pic_chip *c, uint8_t mask)
{
	int p;

	if (!mask)
		return 8;
	for (p = 0; !(mask & (1u << ((p + c->priority_add) & 7))); p++)
		;
	return p;
}

/* The input the chip would present now, or -1. */
static int chip_pending(const pic_chip *c, bool master)
{
	int req = priority_of(c, c->irr & ~c->imr);
	uint8_t in_service = c->isr;

	if (req == 8)
		return -1;
	if (c->special_mask)
		in_service &= ~c->imr;
	if (c->sfnm && master)
		in_service &= ~(1u << 2);   /* the slave may nest its own */
	if (req < priority_of(c, in_service))
		return (req + c->priority_add) & 7;
	return -1;
}

static void chip_input(pic_chip *c, unsigned irq, int level)
{
	uint8_t bit = (uint8_t)(1u << irq);

	if (level_mask(c) & bit) {
		if (level)
			c->irr |= bit;
		else
			c->irr &= ~bit;
	} else if (level && !(c->lines & bit)) {
		c->irr |= bit;               /* rising edge */
	}
	if (level)
		c->lines |= bit;
	else
		c->lines &= ~bit;
}

/* The slave's INT drives master input 2. Returns the master's output. */
static bool pair_update(struct vmm__pic *pic)
{
	chip_input(&pic->chip[0], 2, chip_pending(&pic->chip[1], false) >= 0);
	return chip_pending(&pic->chip[0], true) >= 0;
}

/* Called with the lock held; unlocks, then reports an output change. */
static void unlock_and_report(vmm_vm *vm, struct vmm__pic *pic)
{
	bool out = pair_update(pic), changed = out != pic->output;

	pic->output = out;
	pthread_mutex_unlock(&pic->lock);
	if (changed)
		vmm__pic_output_changed(vm);
}

static void chip_ack(pic_chip *c, int irq)
{
	uint8_t bit = (uint8_t)(1u << irq);

	if (c->auto_eoi) {
		if (c->rotate_on_aeoi)
			c->priority_add = (uint8_t)((irq + 1) & 7);
	} else {
		c->isr |= bit;
	}
	if (!(level_mask(c) & bit))
		c->irr &= ~bit;              /* a level input stays requested */
}

void vmm__pic_set_irq(vmm_vm *vm, unsigned irq, int level)
{
	struct vmm__pic *pic = vm->platform ? vm->platform->pic : NULL;

	if (!pic || irq >= 16)
		return;
	pthread_mutex_lock(&pic->lock);
	chip_input(&pic->chip[irq >> 3], irq & 7, level);
	unlock_and_report(vm, pic);
}

bool vmm__pic_has_intr(vmm_vm *vm)
{
	struct vmm__pic *pic = vm->platform ? vm->platform->pic : NULL;
	bool out;

	if (!pic)
		return false;
	pthread_mutex_lock(&pic->lock);
	out = chip_pending(&pic->chip[0], true) >= 0;
	pthread_mutex_unlock(&pic->lock);
	return out;
}

/* INTA: the vector, as the 8259A: a request that went away (or was masked)
 * before the acknowledge yields IRQ7 of the chip, without setting its ISR;
 * a spurious slave request still sets the master's ISR bit 2. */
uint8_t vmm__pic_inta(vmm_vm *vm)
{
	struct vmm__pic *pic = vm->platform ? vm->platform->pic : NULL;
	pic_chip *m, *s;
	int irq, irq2;
	uint8_t vector;

	if (!pic)
		return 0xff;
	pthread_mutex_lock(&pic->lock);
	m = &pic->chip[0];
	s = &pic->chip[1];
	irq = chip_pending(m, true);
	if (irq == 2 && !m->single) {
		irq2 = chip_pending(s, false);
		if (irq2 >= 0)
			chip_ack(s, irq2);
		else
			irq2 = 7;
		vector = (uint8_t)(s->vector_base + irq2);
		chip_ack(m, 2);
	} else if (irq >= 0) {
		vector = (uint8_t)(m->vector_base + irq);
		chip_ack(m, irq);
	} else {
		vector = (uint8_t)(m->vector_base + 7);
	}
	unlock_and_report(vm, pic);
	return vector;
}

/* ---- Guest ports ------------------------------------------------------------ */

/* ICW1: the chip forgets its state except the ELCR (8259A: IMR cleared,
 * IRQ7 lowest priority, special mask mode off, IRR read selected). */
static void write_icw1(pic_chip *c, uint8_t v)
{
	uint8_t elcr = c->elcr, elcr_mask = c->elcr_mask, lines = c->lines;

	*c = (pic_chip){ 0 };
	c->elcr = elcr;
	c->elcr_mask = elcr_mask;
	c->lines = lines;
	c->icw4_needed = v & 1;
	c->single = (v >> 1) & 1;
	c->ltim = (v >> 3) & 1;
	c->irr = c->lines & level_mask(c);   /* edges seen before are gone */
	c->init_state = 1;
}

static void write_ocw2(pic_chip *c, uint8_t v)
{
	unsigned cmd = v >> 5;
	int p, irq;

	switch (cmd) {
	case 0: case 4:                      /* rotate in auto-EOI clear / set */
		c->rotate_on_aeoi = cmd == 4;
		break;
	case 1: case 5:                      /* non-specific EOI (and rotate) */
		p = priority_of(c, c->isr);
		if (p == 8)
			break;
		irq = (p + c->priority_add) & 7;
		c->isr &= (uint8_t)~(1u << irq);
		if (cmd == 5)
			c->priority_add = (uint8_t)((irq + 1) & 7);
		break;
	case 3: case 7:                      /* specific EOI (and rotate) */
		c->isr &= (uint8_t)~(1u << (v & 7));
		if (cmd == 7)
			c->priority_add = (uint8_t)(((v & 7) + 1) & 7);
		break;
	case 6:                              /* set priority: v&7 lowest */
		c->priority_add = (uint8_t)(((v & 7) + 1) & 7);
		break;
	default:                             /* 2: no operation */
		break;
	}
}

static void write_cmd(pic_chip *c, uint8_t v)
{
	if (v & 0x10) {
		write_icw1(c, v);
	} else if (v & 0x08) {               /* OCW3 */
		if (v & 0x04)
			c->poll = true;
		if (v & 0x02)
			c->read_isr = v & 1;
		if (v & 0x40)
			c->special_mask = (v >> 5) & 1;
	} else {
		write_ocw2(c, v);
	}
}

static void write_data(pic_chip *c, uint8_t v)
{
	switch (c->init_state) {
	case 1:                              /* ICW2 */
		c->vector_base = v & 0xf8;
		c->init_state = c->single ? (c->icw4_needed ? 3 : 0) : 2;
		break;
	case 2:                              /* ICW3: cascade wiring, fixed */
		c->init_state = c->icw4_needed ? 3 : 0;
		break;
	case 3:                              /* ICW4 */
		c->auto_eoi = (v >> 1) & 1;
		c->sfnm = (v >> 4) & 1;
		c->init_state = 0;
		break;
	default:                             /* OCW1 */
		c->imr = v;
		break;
	}
}

/* Poll command: the next read is an INTA without the vector: 0x80 | level,
 * or 0 when nothing is pending. The master answers 2 for its slave; the
 * slave is polled on its own port. */
static uint8_t read_poll(pic_chip *c, bool master)
{
	int irq = chip_pending(c, master);

	c->poll = false;
	if (irq < 0)
		return 0;
	chip_ack(c, irq);
	return (uint8_t)(0x80 | irq);
}

static int pic_port(void *opaque, vmm_vcpu *vcpu, uint16_t port, uint8_t size,
		    uint8_t is_write, uint32_t *data)
{
	struct vmm__pic *pic = opaque;
	unsigned idx = port >= 0xa0;
	pic_chip *c = &pic->chip[idx];
	uint8_t v = (uint8_t)*data;

	(void)size;   /* wider accesses act on the first port, low byte */
	pthread_mutex_lock(&pic->lock);
	if (is_write && (port & 1))
		write_data(c, v);
	else if (is_write)
		write_cmd(c, v);
	else if (c->poll)
		*data = read_poll(c, idx == 0);
	else if (port & 1)
		*data = c->imr;
	else
		*data = c->read_isr ? c->isr : c->irr;
	unlock_and_report(vcpu->vm, pic);
	return 0;
}

static int elcr_port(void *opaque, vmm_vcpu *vcpu, uint16_t port, uint8_t size,
		     uint8_t is_write, uint32_t *data)
{
	struct vmm__pic *pic = opaque;
	unsigned first = port - 0x4d0;

	pthread_mutex_lock(&pic->lock);
	for (unsigned i = first; i < 2 && i - first < size; i++) {
		pic_chip *c = &pic->chip[i];
		unsigned shift = (i - first) * 8;

		if (is_write) {
			c->elcr = (uint8_t)(*data >> shift) & c->elcr_mask;
			c->irr = (uint8_t)((c->irr & ~level_mask(c)) |
					   (c->lines & level_mask(c)));
		} else {
			*data = (*data & ~(0xffu << shift)) | ((uint32_t)c->elcr << shift);
		}
	}
	unlock_and_report(vcpu->vm, pic);
	return 0;
}

void vmm__pic_fini(vmm_vm *vm)
{
	struct vmm__pic *pic = vm->platform->pic;

	if (!pic)
		return;
	vm->platform->pic = NULL;
	pthread_mutex_destroy(&pic->lock);
	free(pic);
}

int vmm__pic_init(vmm_vm *vm)
{
	struct vmm__pic *pic = calloc(1, sizeof(*pic));
	int rc;

	if (!pic)
		return vmm__err(VMM_ENOMEM, "pic: out of memory");
	pthread_mutex_init(&pic->lock, NULL);
	/* IRQ0, 1, 2 (timer, keyboard, cascade) and 8, 13 (RTC, FPU) are
	 * edge-only on PIIX/ICH. */
	pic->chip[0].elcr_mask = 0xf8;
	pic->chip[1].elcr_mask = 0xde;
	vm->platform->pic = pic;
	rc = vmm__pio_register_internal(vm, 0x20, 2, pic_port, pic);
	if (!rc)
		rc = vmm__pio_register_internal(vm, 0xa0, 2, pic_port, pic);
	if (!rc)
		rc = vmm__pio_register_internal(vm, 0x4d0, 2, elcr_port, pic);
	return rc;
}

/* ---- Device state (state.h) -------------------------------------------------- */

static void chip_save(vmm__sw *w, const pic_chip *c)
{
	vmm__sw_u8(w, c->irr);
	vmm__sw_u8(w, c->imr);
	vmm__sw_u8(w, c->isr);
	vmm__sw_u8(w, c->lines);
	vmm__sw_u8(w, c->elcr);
	vmm__sw_u8(w, c->vector_base);
	vmm__sw_u8(w, c->priority_add);
	vmm__sw_u8(w, c->init_state);
	vmm__sw_u8(w, (uint8_t)(c->icw4_needed | c->single << 1 | c->ltim << 2 |
				c->auto_eoi << 3 | c->rotate_on_aeoi << 4 | c->sfnm << 5 |
				c->read_isr << 6 | c->poll << 7));
	vmm__sw_bool(w, c->special_mask);
}

static int pic_save(void *dev, vmm__sw *w)
{
	struct vmm__pic *pic = ((vmm_vm *)dev)->platform->pic;

	pthread_mutex_lock(&pic->lock);
	chip_save(w, &pic->chip[0]);
	chip_save(w, &pic->chip[1]);
	pthread_mutex_unlock(&pic->lock);
	return 0;
}

/* Into c, whose elcr_mask (fixed by the board) is already set. */
static void chip_load(vmm__sr *r, pic_chip *c)
{
	uint8_t flags;

	c->irr = vmm__sr_u8(r, "irr");
	c->imr = vmm__sr_u8(r, "imr");
	c->isr = vmm__sr_u8(r, "isr");
	c->lines = vmm__sr_u8(r, "lines");
	c->elcr = vmm__sr_u8(r, "elcr");
	vmm__sr_check(r, !(c->elcr & ~c->elcr_mask), "elcr", "sets an edge-only input");
	c->vector_base = vmm__sr_u8(r, "vector_base");
	vmm__sr_check(r, !(c->vector_base & 7), "vector_base", "not a multiple of 8");
	c->priority_add = (uint8_t)vmm__sr_max(r, "priority_add", 7, 1);
	c->init_state = (uint8_t)vmm__sr_max(r, "init_state", 3, 1);
	flags = vmm__sr_u8(r, "flags");
	c->icw4_needed = flags & 1;
	c->single = flags >> 1 & 1;
	c->ltim = flags >> 2 & 1;
	c->auto_eoi = flags >> 3 & 1;
	c->rotate_on_aeoi = flags >> 4 & 1;
	c->sfnm = flags >> 5 & 1;
	c->read_isr = flags >> 6 & 1;
	c->poll = flags >> 7 & 1;
	c->special_mask = vmm__sr_bool(r, "special_mask");
}

static int pic_load(void *dev, uint32_t version, vmm__sr *r)
{
	vmm_vm *vm = dev;
	struct vmm__pic *pic = vm->platform->pic;
	pic_chip c[2] = { { .elcr_mask = pic->chip[0].elcr_mask },
			  { .elcr_mask = pic->chip[1].elcr_mask } };

	(void)version;
	chip_load(r, &c[0]);
	chip_load(r, &c[1]);
	if (!vmm__sr_apply(r))
		return 0;
	pthread_mutex_lock(&pic->lock);
	pic->chip[0] = c[0];
	pic->chip[1] = c[1];
	unlock_and_report(vm, pic);     /* the output from the new state */
	return 0;
}

static const vmm__state_ops pic_state = { 1, pic_save, pic_load };

int vmm__pic_state_add(vmm_vm *vm, vmm__state_list *l)
{
	struct vmm__pic *pic = vm->platform ? vm->platform->pic : NULL;

	return pic ? vmm__state_add(l, "pic", &pic_state, vm) : 0;
}
