/* apic_bus.c - the APIC bus of the core's interrupt controllers: which
 * local APICs a message names (physical, logical flat and cluster, x2APIC,
 * shorthands), lowest-priority arbitration, and what a vCPU takes at an
 * instruction boundary (vmm__intr_poll). */
#include "lib/platform/lapic.h"

/* With l->lock held. self: l is the sender (shorthands). */
bool lapic_matches(const struct vmm__lapic *l, const vmm__apic_msg *msg, bool self)
{
	uint32_t d = msg->dest;

	if (!lapic_hw_enabled(l))
		return false;
	switch (msg->shorthand) {
	case 1: return self;
	case 2: return true;
	case 3: return !self;
	}
	if (lapic_x2(l)) {
		if (d == 0xffffffffu || (d == 0xff && !msg->logical))
			return true;   /* 0xff: an xAPIC-format broadcast (IOAPIC, MSI) */
		if (!msg->logical)
			return d == l->vcpu->index;
		return (d >> 16) == (l->ldr >> 16) && (d & l->ldr & 0xffff);
	}
	d &= 0xff;
	if (d == 0xff)
		return true;
	if (!msg->logical)
		return d == l->id;
	if ((l->dfr >> 28) == 0xf)   /* flat */
		return (d & (l->ldr >> 24)) != 0;
	return (d >> 4) == (l->ldr >> 28) && (d & (l->ldr >> 24) & 0xf);   /* cluster */
}

static bool matches_locked(struct vmm__lapic *l, const vmm__apic_msg *msg, uint32_t *apr)
{
	bool m;

	pthread_mutex_lock(&l->lock);
	m = lapic_matches(l, msg, l->vcpu->index == msg->source);
	/* Arbitration priority for lowest-priority delivery (SDM 10.6.2.4). */
	*apr = lapic_ppr(l) & 0xf0;
	pthread_mutex_unlock(&l->lock);
	return m;
}

/* Lowest priority: the matching APIC with the lowest priority; a tie goes
 * to the lowest vCPU index (deterministic, unlike hardware's rotation). */
void vmm__apic_bus_deliver(vmm_vm *vm, const vmm__apic_msg *msg)
{
	struct vmm__lapic *best = NULL;
	uint32_t best_apr = UINT32_MAX, n = vm->config.vcpus;

	for (uint32_t i = 0; i < n && i < VMM_MAX_VCPUS; i++) {
		struct vmm__lapic *l = lapic_of(vm, i);
		uint32_t apr;

		if (!l || !matches_locked(l, msg, &apr))
			continue;
		if (msg->delivery != VMM__DM_LOWEST) {
			lapic_accept(l, msg);
		} else if (apr < best_apr) {
			best = l;
			best_apr = apr;
		}
	}
	if (best)
		lapic_accept(best, msg);
}

void vmm__pic_output_changed(vmm_vm *vm)
{
	struct vmm__lapic *l = lapic_of(vm, 0);

	if (l)
		vmm__vcpu_wake(l->vcpu);
}

/* ---- What the vCPU takes ------------------------------------------------------ */

/* INIT, SIPI and NMI (not gated by IF). With l->lock held. */
static int poll_events(struct vmm__lapic *l, bool nmi_blocked, uint8_t *vector)
{
	vmm_vcpu *vcpu = l->vcpu;

	if (l->init_pending) {
		bool sipi = l->sipi_pending;
		uint8_t sv = l->sipi_vector;

		l->init_pending = false;
		lapic_init_reset(l);
		l->sipi_pending = sipi;   /* a SIPI right behind the INIT counts */
		l->sipi_vector = sv;
		return VMM__INTR_INIT;
	}
	if (l->sipi_pending) {
		l->sipi_pending = false;
		if (!vcpu->runnable) {
			*vector = l->sipi_vector;
			return VMM__INTR_SIPI;
		}
		/* a running vCPU ignores a start-up IPI */
	}
	if (!vcpu->runnable)
		return VMM__INTR_NONE;   /* wait-for-SIPI: only INIT and SIPI */
	if (l->nmi_pending && !nmi_blocked) {
		l->nmi_pending--;
		return VMM__INTR_NMI;
	}
	if (l->nmi_pending > 1)
		l->nmi_pending = 1;    /* while one is handled, one more waits */
	return -1;
}

/* The highest IRR vector above the processor priority, moved to ISR. */
static int poll_fixed(struct vmm__lapic *l, uint8_t *vector)
{
	int v = lapic_highest(l->irr);

	if (v < 0 || (uint32_t)(v & 0xf0) <= (lapic_ppr(l) & 0xf0))
		return VMM__INTR_NONE;
	vec_clr(l->irr, (uint8_t)v);
	vec_set(l->isr, (uint8_t)v);
	*vector = (uint8_t)v;
	return VMM__INTR_EXT;
}

/* The PIC's INTR reaches this vCPU: an ExtINT message, or vCPU 0's LINT0 in
 * ExtINT mode (virtual wire), or vCPU 0 with its APIC disabled. */
static bool pic_wired(const struct vmm__lapic *l)
{
	uint32_t lint0 = l->lvt[LVT_LINT0];

	if (l->extint_pending)
		return true;
	if (l->vcpu->index != 0)
		return false;
	return !lapic_hw_enabled(l) ||
	       (!(lint0 & LVT_MASKED) && ((lint0 >> 8) & 7) == VMM__DM_EXTINT);
}

int vmm__intr_poll(vmm_vcpu *vcpu, bool if_on, bool nmi_blocked, uint8_t *vector)
{
	struct vmm__lapic *l = vcpu->lapic;
	bool pic = false;
	int r;

	atomic_store_explicit(&vcpu->intr_attention, 0, memory_order_relaxed);
	if (!l)
		return VMM__INTR_NONE;
	pthread_mutex_lock(&l->lock);
	lapic_timer_catch_up(l);
	r = poll_events(l, nmi_blocked, vector);
	if (r < 0 && if_on)
		pic = pic_wired(l);
	pthread_mutex_unlock(&l->lock);
	if (r < 0 && pic && vcpu->vm->platform && vcpu->vm->platform->pic) {
		if (vmm__pic_has_intr(vcpu->vm)) {
			pthread_mutex_lock(&l->lock);
			l->extint_pending = false;
			pthread_mutex_unlock(&l->lock);
			*vector = vmm__pic_inta(vcpu->vm);
			r = VMM__INTR_EXT;
		}
	}
	if (r < 0 && if_on) {
		pthread_mutex_lock(&l->lock);
		l->extint_pending = false;   /* nothing behind it at the PIC */
		r = poll_fixed(l, vector);
		pthread_mutex_unlock(&l->lock);
	} else if (r < 0) {
		r = VMM__INTR_NONE;
	}
	/* Something taken: look again at the next boundary (more may wait). */
	if (r != VMM__INTR_NONE)
		atomic_store_explicit(&vcpu->intr_attention, 1, memory_order_relaxed);
	return r;
}

/* ---- KVM's paravirtual IPI hypercall (KVM_HC_SEND_IPI) ---------------------- */

static uint32_t apic_id_of(struct vmm__lapic *l)
{
	uint32_t id;

	pthread_mutex_lock(&l->lock);
	id = !lapic_hw_enabled(l) ? UINT32_MAX : lapic_x2(l) ? l->vcpu->index : l->id;
	pthread_mutex_unlock(&l->lock);
	return id;
}

/* Sends the fixed/NMI/... interrupt of icr to APIC ID min + i for each bit
 * i of the bitmap of bits bits (KVM: kvm_pv_send_ipi). */
static int64_t pv_ipi_bits(vmm_vm *vm, uint64_t map, unsigned bits, uint64_t min,
			   const vmm__apic_msg *msg)
{
	int64_t count = 0;

	for (unsigned i = 0; i < bits; i++) {
		if (!((map >> i) & 1))
			continue;
		for (uint32_t v = 0; v < vm->config.vcpus && v < VMM_MAX_VCPUS; v++) {
			struct vmm__lapic *l = lapic_of(vm, v);

			if (l && (uint64_t)apic_id_of(l) == min + i) {
				lapic_accept(l, msg);
				count++;
				break;
			}
		}
	}
	return count;
}

int64_t vmm__lapic_pv_send_ipi(vmm_vcpu *vcpu, uint64_t low, uint64_t high, uint32_t min,
			       uint64_t icr, int op64)
{
	vmm__apic_msg msg = { 0 };
	unsigned bits = op64 ? 64 : 32;

	if (icr & ((1u << 11) | (3u << 18)))    /* logical destination, shorthand */
		return -22;                     /* -KVM_EINVAL */
	msg.vector = (uint8_t)icr;
	msg.delivery = (uint8_t)((icr >> 8) & 7);
	msg.level_trig = (icr >> 15) & 1;
	msg.source = (uint8_t)vcpu->index;
	if (!op64) {
		low = (uint32_t)low;
		high = (uint32_t)high;
	}
	return pv_ipi_bits(vcpu->vm, low, bits, min, &msg) +
	       pv_ipi_bits(vcpu->vm, high, bits, (uint64_t)min + bits, &msg);
}
