/* state.c - the device state of the in-kernel chips (ops->state_add,
 * lib/platform/state.h): "kvm-pic" (KVM_GET/SET_IRQCHIP, both 8259As),
 * "kvm-ioapic" (the same calls), "kvm-pit" (KVM_GET/SET_PIT2) and
 * "kvm-lapic.N" (KVM_GET/SET_LAPIC, the 1 KiB register page, its current
 * count moved to a count-left field) in the VM's stream, field by field.
 * KVM_SET_LAPIC restarts the APIC timer from that current count, so it
 * keeps what it counted down. The PIT's count load time (host ktime) is
 * saved as the ns since then, but KVM_SET_PIT2 restarts each counter from
 * its full count: a PIT period in progress starts over on kvm (an
 * interrupt up to one period late), unlike on the core's models. Every
 * vCPU's registers (with APIC_BASE in sregs) should be set before the
 * load. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "backends/kvm/kvm_priv.h"
#include "lib/platform/platform.h"
#include "lib/platform/state.h"

static int ioctl_err(const char *what)
{
	return vmm__err(errno == EINVAL ? VMM_EINVAL : VMM_EINTERNAL, "kvm: %s: %s", what,
			strerror(errno));
}

static int get_chip(vmm_vm *vm, uint32_t id, struct kvm_irqchip *c)
{
	memset(c, 0, sizeof(*c));
	c->chip_id = id;
	return ioctl(kvm__vm_of(vm)->fd, KVM_GET_IRQCHIP, c) < 0 ? ioctl_err("KVM_GET_IRQCHIP") : 0;
}

static int set_chip(vmm_vm *vm, struct kvm_irqchip *c)
{
	return ioctl(kvm__vm_of(vm)->fd, KVM_SET_IRQCHIP, c) < 0 ? ioctl_err("KVM_SET_IRQCHIP") : 0;
}

/* ---- PIC ------------------------------------------------------------------- */

#define PIC_FIELDS 16   /* struct kvm_pic_state: 16 bytes, in this order */

static void pic_fields(struct kvm_pic_state *p, uint8_t **f)
{
	uint8_t *v[PIC_FIELDS] = {
		&p->last_irr, &p->irr, &p->imr, &p->isr, &p->priority_add, &p->irq_base,
		&p->read_reg_select, &p->poll, &p->special_mask, &p->init_state, &p->auto_eoi,
		&p->rotate_on_auto_eoi, &p->special_fully_nested_mode, &p->init4, &p->elcr,
		&p->elcr_mask,
	};

	memcpy(f, v, sizeof(v));
}

static int pic_save(void *dev, vmm__sw *w)
{
	struct kvm_irqchip c;
	uint8_t *f[PIC_FIELDS];
	int rc;

	for (uint32_t id = KVM_IRQCHIP_PIC_MASTER; id <= KVM_IRQCHIP_PIC_SLAVE; id++) {
		if ((rc = get_chip(dev, id, &c)))
			return rc;
		pic_fields(&c.chip.pic, f);
		for (unsigned i = 0; i < PIC_FIELDS; i++)
			vmm__sw_u8(w, *f[i]);
	}
	return 0;
}

static void pic_check(vmm__sr *r, const struct kvm_pic_state *p, uint8_t elcr_mask)
{
	vmm__sr_check(r, p->priority_add <= 7 && !(p->irq_base & 7) && p->init_state <= 3,
		      "pic", "priority, vector base or init state out of range");
	vmm__sr_check(r, p->read_reg_select <= 1 && p->poll <= 1 && p->special_mask <= 1 &&
			 p->auto_eoi <= 1 && p->rotate_on_auto_eoi <= 1 &&
			 p->special_fully_nested_mode <= 1 && p->init4 <= 1,
		      "pic", "a flag is not 0 or 1");
	vmm__sr_check(r, p->elcr_mask == elcr_mask && !(p->elcr & ~elcr_mask), "pic elcr",
		      "sets an edge-only input");
}

static int pic_load(void *dev, uint32_t version, vmm__sr *r)
{
	struct kvm_irqchip c[2], cur;
	uint8_t *f[PIC_FIELDS];
	int rc;

	(void)version;
	for (unsigned k = 0; k < 2; k++) {
		if ((rc = get_chip(dev, KVM_IRQCHIP_PIC_MASTER + k, &cur)))
			return rc;
		c[k] = cur;
		pic_fields(&c[k].chip.pic, f);
		for (unsigned i = 0; i < PIC_FIELDS; i++)
			*f[i] = vmm__sr_u8(r, "pic");
		pic_check(r, &c[k].chip.pic, cur.chip.pic.elcr_mask);
	}
	for (unsigned k = 0; k < 2 && vmm__sr_apply(r); k++)
		if ((rc = set_chip(dev, &c[k])))
			return rc;
	return 0;
}

static const vmm__state_ops pic_state = { 1, pic_save, pic_load };

/* ---- IOAPIC ------------------------------------------------------------------ */

static int ioapic_save(void *dev, vmm__sw *w)
{
	struct kvm_irqchip c;
	const struct kvm_ioapic_state *s = &c.chip.ioapic;
	int rc = get_chip(dev, KVM_IRQCHIP_IOAPIC, &c);

	if (rc)
		return rc;
	vmm__sw_u64(w, s->base_address);
	vmm__sw_u32(w, s->ioregsel);
	vmm__sw_u32(w, s->id);
	vmm__sw_u32(w, s->irr);
	for (unsigned i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
		vmm__sw_u64(w, s->redirtbl[i].bits);
	return 0;
}

static int ioapic_load(void *dev, uint32_t version, vmm__sr *r)
{
	struct kvm_irqchip c;
	struct kvm_ioapic_state *s = &c.chip.ioapic;
	int rc = get_chip(dev, KVM_IRQCHIP_IOAPIC, &c);

	(void)version;
	if (rc)
		return rc;
	vmm__sr_check(r, vmm__sr_u64(r, "base_address") == s->base_address, "base_address",
		      "the IOAPIC sits elsewhere here");
	s->ioregsel = (uint32_t)vmm__sr_max(r, "ioregsel", 0xff, 4);
	s->id = (uint32_t)vmm__sr_max(r, "id", 0xff, 4);
	s->irr = (uint32_t)vmm__sr_max(r, "irr", (1u << KVM_IOAPIC_NUM_PINS) - 1, 4);
	for (unsigned i = 0; i < KVM_IOAPIC_NUM_PINS; i++) {
		s->redirtbl[i].bits = vmm__sr_u64(r, "redirtbl");
		vmm__sr_check(r, !(s->redirtbl[i].bits & 0x00fffffffffe0000ull), "redirtbl",
			      "reserved bits");
	}
	return vmm__sr_apply(r) ? set_chip(dev, &c) : 0;
}

static const vmm__state_ops ioapic_state = { 1, ioapic_save, ioapic_load };

/* ---- PIT --------------------------------------------------------------------- */

static int pit_save(void *dev, vmm__sw *w)
{
	struct kvm_pit_state2 ps;
	uint64_t now;

	memset(&ps, 0, sizeof(ps));
	if (ioctl(kvm__vm_of(dev)->fd, KVM_GET_PIT2, &ps) < 0)
		return ioctl_err("KVM_GET_PIT2");
	now = vmm__now_ns();
	for (unsigned i = 0; i < 3; i++) {
		const struct kvm_pit_channel_state *c = &ps.channels[i];

		vmm__sw_u32(w, c->count);
		vmm__sw_u16(w, c->latched_count);
		vmm__sw_bytes(w, (const uint8_t[]){ c->count_latched, c->status_latched,
						    c->status, c->read_state, c->write_state,
						    c->write_latch, c->rw_mode, c->mode, c->bcd,
						    c->gate }, 10);
		vmm__sw_time(w, vmm__state_since(now, (uint64_t)c->count_load_time));
	}
	vmm__sw_u32(w, ps.flags);
	return 0;
}

static int pit_load(void *dev, uint32_t version, vmm__sr *r)
{
	struct kvm_pit_state2 ps;
	uint64_t now = vmm__now_ns();

	(void)version;
	memset(&ps, 0, sizeof(ps));
	for (unsigned i = 0; i < 3; i++) {
		struct kvm_pit_channel_state *c = &ps.channels[i];
		uint8_t b[10];

		c->count = (uint32_t)vmm__sr_max(r, "count", 0x10000, 4);
		c->latched_count = vmm__sr_u16(r, "latched_count");
		vmm__sr_bytes(r, "channel", b, sizeof(b));
		vmm__sr_check(r, b[0] <= 4 && b[1] <= 1 && b[3] <= 4 && b[4] <= 4 && b[6] <= 3 &&
				 (b[7] <= 5 || b[7] == 0xff) && b[8] <= 1 && b[9] <= 1,
			      "channel", "a latch, access state, mode or gate out of range");
		c->count_latched = b[0], c->status_latched = b[1], c->status = b[2];
		c->read_state = b[3], c->write_state = b[4], c->write_latch = b[5];
		c->rw_mode = b[6], c->mode = b[7], c->bcd = b[8], c->gate = b[9];
		c->count_load_time = (int64_t)vmm__state_since(now, vmm__sr_u64(r, "since_ns"));
	}
	ps.flags = (uint32_t)vmm__sr_max(r, "flags", 3, 4);
	if (vmm__sr_apply(r) && ioctl(kvm__vm_of(dev)->fd, KVM_SET_PIT2, &ps) < 0)
		return ioctl_err("KVM_SET_PIT2");
	return 0;
}

static const vmm__state_ops pit_state = { 1, pit_save, pit_load };

/* ---- Local APICs -------------------------------------------------------------- */

#define LAPIC_WORDS (KVM_APIC_REG_SIZE / 4)

#define TMCCT 0x390u                 /* current count: moves with time */

/* The register page, TMCCT as 0 in it and then as a count left. */
static int lapic_save(void *dev, vmm__sw *w)
{
	struct kvm_lapic_state s;
	uint32_t ccr;

	if (ioctl(kvm__vcpu_of(dev)->fd, KVM_GET_LAPIC, &s) < 0)
		return ioctl_err("KVM_GET_LAPIC");
	memcpy(&ccr, s.regs + TMCCT, 4);
	memset(s.regs + TMCCT, 0, 4);
	for (unsigned i = 0; i < LAPIC_WORDS; i++) {
		uint32_t v;

		memcpy(&v, s.regs + 4 * i, 4);
		vmm__sw_u32(w, v);
	}
	vmm__sw_time(w, ccr);
	return 0;
}

static int lapic_load(void *dev, uint32_t version, vmm__sr *r)
{
	struct kvm_lapic_state s;

	(void)version;
	for (unsigned i = 0; i < LAPIC_WORDS; i++) {
		uint32_t v = vmm__sr_u32(r, "regs");

		memcpy(s.regs + 4 * i, &v, 4);
	}
	{
		uint32_t ccr = (uint32_t)vmm__sr_max(r, "tmcct", 0xffffffffu, 8);

		memcpy(s.regs + TMCCT, &ccr, 4);   /* KVM restarts the timer from it */
	}
	/* ISR 0x100, TMR 0x180, IRR 0x200: vectors 0-15 are never pending. */
	for (unsigned off = 0x100; off <= 0x200; off += 0x80) {
		uint32_t v;

		memcpy(&v, s.regs + off, 4);
		vmm__sr_check(r, !(v & 0xffff), "regs", "vectors 0-15 in ISR, TMR or IRR");
	}
	if (vmm__sr_apply(r) && ioctl(kvm__vcpu_of(dev)->fd, KVM_SET_LAPIC, &s) < 0)
		return ioctl_err("KVM_SET_LAPIC");
	return 0;
}

static const vmm__state_ops lapic_state = { 1, lapic_save, lapic_load };

int kvm__state_add(vmm_vm *vm, vmm__state_list *l)
{
	char name[16];
	int rc;

	if (!kvm__vm_of(vm)->irqchip)
		return 0;
	if ((rc = vmm__state_add(l, "kvm-pic", &pic_state, vm)) ||
	    (rc = vmm__state_add(l, "kvm-ioapic", &ioapic_state, vm)) ||
	    (rc = vmm__state_add(l, "kvm-pit", &pit_state, vm)))
		return rc;
	for (uint32_t i = 0; i < VMM_MAX_VCPUS; i++) {
		vmm_vcpu *c = __atomic_load_n(&vm->vcpus[i], __ATOMIC_ACQUIRE);

		if (!c)
			continue;
		snprintf(name, sizeof(name), "kvm-lapic.%u", i);
		if ((rc = vmm__state_add(l, name, &lapic_state, c)))
			return rc;
	}
	return 0;
}
