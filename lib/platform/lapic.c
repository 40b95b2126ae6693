/* lapic.c - the core's local APIC, one per vCPU (vcpu->lapic), for backends
 * without an in-kernel irqchip: xAPIC registers at the APIC base (MMIO) and
 * x2APIC through MSRs 0x800-0x8ff, APIC_BASE, priorities, EOI, ESR, ICR
 * (IPIs leave through the APIC bus, apic_bus.c) and the LVT. The timer is
 * in lapic_timer.c.
 *
 * Locking: l->lock guards everything below. Messages to other APICs (IPIs)
 * and EOIs to the IOAPIC are sent after it is dropped (lock order: ioapic ->
 * lapic). */
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

#include "lib/platform/lapic.h"

int lapic_highest(const uint32_t *bits)
{
	for (int i = 7; i >= 0; i--)
		if (bits[i])
			return i * 32 + 31 - __builtin_clz(bits[i]);
	return -1;
}

struct vmm__lapic *lapic_of(vmm_vm *vm, uint32_t index)
{
	vmm_vcpu *vcpu;

	if (index >= VMM_MAX_VCPUS)
		return NULL;
	vcpu = __atomic_load_n(&vm->vcpus[index], __ATOMIC_ACQUIRE);
	return vcpu ? __atomic_load_n(&vcpu->lapic, __ATOMIC_ACQUIRE) : NULL;
}

static uint32_t isrv(const struct vmm__lapic *l)
{
	int v = lapic_highest(l->isr);

	return v < 0 ? 0 : (uint32_t)v;
}

uint32_t lapic_ppr(const struct vmm__lapic *l)
{
	uint32_t isr = isrv(l);

	return (l->tpr & 0xf0) >= (isr & 0xf0) ? l->tpr & 0xff : isr & 0xf0;
}

static uint32_t lapic_apr(const struct vmm__lapic *l)
{
	int irr = lapic_highest(l->irr);
	uint32_t irrv = irr < 0 ? 0 : (uint32_t)irr, isr = isrv(l), tpr = l->tpr & 0xff;

	if ((tpr & 0xf0) >= (irrv & 0xf0) && (tpr & 0xf0) > (isr & 0xf0))
		return tpr;
	tpr &= 0xf0;
	isr &= 0xf0;
	irrv &= 0xf0;
	return tpr > isr ? (tpr > irrv ? tpr : irrv) : (isr > irrv ? isr : irrv);
}

/* Makes the vCPU look again (an interrupt may have become deliverable). */
static void attention(struct vmm__lapic *l)
{
	atomic_store_explicit(&l->vcpu->intr_attention, 1, memory_order_release);
}

void lapic_error(struct vmm__lapic *l, uint32_t bits)
{
	uint32_t lvt = l->lvt[LVT_ERROR];

	l->esr_pending |= bits;
	if (lvt & LVT_MASKED)
		return;
	if ((lvt & 0xff) < 16) {
		l->esr_pending |= ESR_RECV_ILLEGAL;   /* no recursion */
		return;
	}
	vec_set(l->irr, (uint8_t)lvt);
	vec_clr(l->tmr, (uint8_t)lvt);
}

void lapic_set_irr(struct vmm__lapic *l, uint8_t vector, bool level)
{
	if (vector < 16) {
		lapic_error(l, ESR_RECV_ILLEGAL);
		return;
	}
	vec_set(l->irr, vector);
	if (level)
		vec_set(l->tmr, vector);
	else
		vec_clr(l->tmr, vector);
}

void lapic_accept(struct vmm__lapic *l, const vmm__apic_msg *msg)
{
	pthread_mutex_lock(&l->lock);
	if (!lapic_hw_enabled(l)) {
		pthread_mutex_unlock(&l->lock);
		return;
	}
	switch (msg->delivery) {
	case VMM__DM_FIXED: case VMM__DM_LOWEST:
		if (lapic_sw_enabled(l))
			lapic_set_irr(l, msg->vector, msg->level_trig);
		break;
	case VMM__DM_NMI:
		if (l->nmi_pending < 2)
			l->nmi_pending++;
		break;
	case VMM__DM_INIT: l->init_pending = true; break;
	case VMM__DM_SIPI:
		l->sipi_pending = true;
		l->sipi_vector = msg->vector;
		break;
	case VMM__DM_EXTINT: l->extint_pending = true; break;
	default: break;   /* SMI and reserved modes: not modelled, dropped */
	}
	pthread_mutex_unlock(&l->lock);
	vmm__vcpu_wake(l->vcpu);
}

/* ---- Reset ------------------------------------------------------------------ */

/* Power-up / INIT / disable state of the registers; ID and base stay. */
static void lapic_reset_regs(struct vmm__lapic *l)
{
	lapic_timer_stop(l);
	l->tpr = 0;
	l->ldr = lapic_x2(l) ? (((l->vcpu->index >> 4) << 16) | (1u << (l->vcpu->index & 15)))
			     : 0;
	l->dfr = 0xffffffffu;
	l->svr = 0xff;
	l->esr = l->esr_pending = 0;
	l->icr_lo = l->icr_hi = 0;
	for (int i = 0; i < LVT_COUNT; i++)
		l->lvt[i] = LVT_MASKED;
	/* No firmware programs virtual wire mode: the BSP's LINT0 starts as
	 * ExtINT, unmasked (as KVM's reset does), so the PIC reaches vCPU 0. */
	if (l->vcpu->index == 0)
		l->lvt[LVT_LINT0] = VMM__DM_EXTINT << 8;
	memset(l->irr, 0, sizeof(l->irr));
	memset(l->isr, 0, sizeof(l->isr));
	memset(l->tmr, 0, sizeof(l->tmr));
	l->tdcr = 0;
	l->nmi_pending = 0;
	l->sipi_pending = l->extint_pending = false;
}

/* INIT from the bus (the vCPU's own thread, in vmm__intr_poll). */
void lapic_init_reset(struct vmm__lapic *l)
{
	lapic_reset_regs(l);
}

/* ---- Register access --------------------------------------------------------- */

enum { R = 1, W = 2, XR = 4, XW = 8 };    /* xAPIC read/write, x2APIC read/write */

static unsigned access_of(uint32_t off)
{
	if ((off >= LAPIC_ISR && off < LAPIC_IRR + 0x80))
		return R | XR;
	switch (off) {
	case LAPIC_ID: return R | W | XR;
	case LAPIC_VER: case LAPIC_PPR: case LAPIC_TCCR: return R | XR;
	case LAPIC_APR: case LAPIC_RRD: return R;
	case LAPIC_TPR: case LAPIC_SVR: case LAPIC_ESR: case LAPIC_LVT_TIMER:
	case LAPIC_LVT_THERMAL: case LAPIC_LVT_PERF: case LAPIC_LVT_LINT0:
	case LAPIC_LVT_LINT1: case LAPIC_LVT_ERROR: case LAPIC_TICR: case LAPIC_TDCR:
	case LAPIC_ICR:
		return R | W | XR | XW;
	case LAPIC_EOI: return W | XW;
	case LAPIC_LDR: return R | W | XR;
	case LAPIC_DFR: case LAPIC_ICR2: return R | W;
	case LAPIC_SELF_IPI: return XW;
	}
	return 0;
}

static uint32_t reg_read(struct vmm__lapic *l, uint32_t off)
{
	if (off >= LAPIC_ISR && off < LAPIC_IRR + 0x80) {
		const uint32_t *bits = off < LAPIC_TMR ? l->isr : off < LAPIC_IRR ? l->tmr : l->irr;

		return bits[(off >> 4) & 7];
	}
	switch (off) {
	case LAPIC_ID: return lapic_x2(l) ? l->vcpu->index : l->id << 24;
	case LAPIC_VER: return LAPIC_VERSION;
	case LAPIC_TPR: return l->tpr;
	case LAPIC_APR: return lapic_apr(l);
	case LAPIC_PPR: return lapic_ppr(l);
	case LAPIC_LDR: return l->ldr;
	case LAPIC_DFR: return l->dfr;
	case LAPIC_SVR: return l->svr;
	case LAPIC_ESR: return l->esr;
	case LAPIC_ICR: return l->icr_lo & ~(1u << 12);   /* delivery is instant */
	case LAPIC_ICR2: return l->icr_hi;
	case LAPIC_TICR: return l->ticr;
	case LAPIC_TCCR: return lapic_timer_ccr(l);
	case LAPIC_TDCR: return l->tdcr;
	}
	if (off >= LAPIC_LVT_TIMER && off <= LAPIC_LVT_ERROR)
		return l->lvt[(off - LAPIC_LVT_TIMER) >> 4];
	return 0;
}

/* What a register write leaves to do once the lock is dropped. */
typedef struct deferred {
	bool send;
	vmm__apic_msg msg;
	int eoi_vector;              /* level-triggered EOI for the IOAPIC, or -1 */
} deferred;

static void do_eoi(struct vmm__lapic *l, deferred *d)
{
	int v = lapic_highest(l->isr);

	if (v < 0)
		return;
	vec_clr(l->isr, (uint8_t)v);
	/* TMR stays: only the next acceptance of the vector changes it
	 * (SDM 11.8.4); a set bit sends the EOI to the IOAPICs */
	if (vec_test(l->tmr, (uint8_t)v))
		d->eoi_vector = v;
	attention(l);
}

static void lvt_write(struct vmm__lapic *l, unsigned i, uint32_t v)
{
	static const uint32_t mask[LVT_COUNT] = {
		[LVT_TIMER] = 0x700ff, [LVT_THERMAL] = 0x107ff, [LVT_PERF] = 0x107ff,
		[LVT_LINT0] = 0x1a7ff, [LVT_LINT1] = 0x1a7ff, [LVT_ERROR] = 0x100ff,
	};
	uint32_t ro = l->lvt[i] & (1u << 14);   /* LINT remote IRR */

	v &= mask[i];
	if (!(l->svr & SVR_ENABLE))
		v |= LVT_MASKED;
	if (i == LVT_TIMER) {
		lapic_timer_set_lvt(l, v);
		return;
	}
	l->lvt[i] = v | ro;
	attention(l);   /* LINT0 may now pass the PIC's output */
}

/* Builds the IPI the ICR describes; vector checks and the sender's ESR. */
static void icr_send(struct vmm__lapic *l, deferred *d)
{
	vmm__apic_msg *m = &d->msg;
	uint32_t lo = l->icr_lo;

	m->vector = (uint8_t)lo;
	m->delivery = (uint8_t)((lo >> 8) & 7);
	m->logical = (lo >> 11) & 1;
	m->level_trig = 0;   /* IPIs are edge: no TMR, no EOI to the IOAPIC */
	m->shorthand = (uint8_t)((lo >> 18) & 3);
	m->source = (uint8_t)l->vcpu->index;
	m->dest = lapic_x2(l) ? l->icr_hi : l->icr_hi >> 24;
	/* INIT level de-assert: no effect on processors since the Pentium 4. */
	if (m->delivery == VMM__DM_INIT && !((lo >> 14) & 1) && ((lo >> 15) & 1))
		return;
	if ((m->delivery == VMM__DM_FIXED || m->delivery == VMM__DM_LOWEST) && m->vector < 16) {
		lapic_error(l, ESR_SEND_ILLEGAL);
		return;
	}
	d->send = true;
}

static void self_ipi(struct vmm__lapic *l, uint32_t v)
{
	lapic_set_irr(l, (uint8_t)v, false);
	attention(l);
}

static void svr_write(struct vmm__lapic *l, uint32_t v)
{
	l->svr = v & 0x3ff;
	if (!(v & SVR_ENABLE)) {
		for (int i = 0; i < LVT_COUNT; i++)
			l->lvt[i] |= LVT_MASKED;
		lapic_timer_set_lvt(l, l->lvt[LVT_TIMER]);
	}
	attention(l);
}

/* Returns 0, or -1 (x2APIC: #GP). */
static int reg_write(struct vmm__lapic *l, uint32_t off, uint64_t v64, deferred *d)
{
	uint32_t v = (uint32_t)v64;
	bool x2 = lapic_x2(l);

	switch (off) {
	case LAPIC_ID: l->id = v >> 24; return 0;
	case LAPIC_TPR: l->tpr = v & 0xff; attention(l); return 0;
	case LAPIC_EOI:
		if (x2 && v)
			return -1;
		do_eoi(l, d);
		return 0;
	case LAPIC_LDR: l->ldr = v & 0xff000000u; return 0;
	case LAPIC_DFR: l->dfr = (v & 0xf0000000u) | 0x0fffffffu; return 0;
	case LAPIC_SVR: svr_write(l, v); return 0;
	case LAPIC_ESR:
		if (x2 && v)
			return -1;
		l->esr = l->esr_pending;
		l->esr_pending = 0;
		return 0;
	case LAPIC_ICR2: l->icr_hi = v & 0xff000000u; return 0;
	case LAPIC_ICR:
		l->icr_lo = v & 0x000ccfffu;
		if (x2)
			l->icr_hi = (uint32_t)(v64 >> 32);
		icr_send(l, d);
		return 0;
	case LAPIC_TICR: lapic_timer_set_icr(l, v); return 0;
	case LAPIC_TDCR: lapic_timer_set_dcr(l, v); return 0;
	case LAPIC_SELF_IPI: self_ipi(l, v & 0xff); return 0;
	}
	if (off >= LAPIC_LVT_TIMER && off <= LAPIC_LVT_ERROR)
		lvt_write(l, (off - LAPIC_LVT_TIMER) >> 4, v);
	return 0;
}

static void run_deferred(struct vmm__lapic *l, const deferred *d)
{
	vmm_vm *vm = l->vcpu->vm;

	if (d->eoi_vector >= 0)
		vmm__ioapic_eoi(vm, (uint8_t)d->eoi_vector);
	if (d->send)
		vmm__apic_bus_deliver(vm, &d->msg);
}

/* One register write from MMIO (x2 false) or an MSR. -1: #GP. */
static int lapic_write(struct vmm__lapic *l, uint32_t off, uint64_t v, bool x2)
{
	deferred d = { false, { 0 }, -1 };
	unsigned acc = access_of(off);
	int rc = 0;

	pthread_mutex_lock(&l->lock);
	if (lapic_x2(l) != x2 || !lapic_hw_enabled(l))
		rc = x2 ? -1 : 0;
	else if (!(acc & (x2 ? XW : W)))
		rc = x2 ? -1 : 0;   /* xAPIC: read-only or reserved, ignored */
	else
		rc = reg_write(l, off, v, &d);
	pthread_mutex_unlock(&l->lock);
	run_deferred(l, &d);
	return rc;
}

static int lapic_read(struct vmm__lapic *l, uint32_t off, bool x2, uint64_t *v)
{
	unsigned acc = access_of(off);
	int rc = 0;

	pthread_mutex_lock(&l->lock);
	*v = 0;
	if (lapic_x2(l) != x2 || !lapic_hw_enabled(l))
		rc = x2 ? -1 : 0;
	else if (!(acc & (x2 ? XR : R)))
		rc = x2 ? -1 : 0;
	else if (x2 && off == LAPIC_ICR)
		*v = reg_read(l, off) | ((uint64_t)l->icr_hi << 32);
	else
		*v = reg_read(l, off);
	pthread_mutex_unlock(&l->lock);
	return rc;
}

/* ---- MMIO -------------------------------------------------------------------- */

/* The xAPIC page of the accessing vCPU. Accesses while that APIC is
 * disabled, in x2APIC mode or relocated elsewhere read all ones and do
 * nothing. Registers are 32 bits at 16-byte steps; narrower reads return
 * part of one, other writes than aligned 32-bit ones are ignored. */
static int lapic_mmio_access(struct vmm__lapic *l, uint64_t addr, uint8_t size,
			     uint8_t is_write, uint64_t *data)
{
	uint32_t off = (uint32_t)(addr & 0xfff), reg = off & 0xff0, shift = (off & 3) * 8;
	uint64_t v = 0;

	if ((addr & ~0xfffull) != (l->base & ~0xfffull) || lapic_x2(l) || !lapic_hw_enabled(l)) {
		if (!is_write)
			*data = ~0ull;
		return 0;
	}
	if (is_write) {
		if (size == 4 && !(off & 0xf))
			lapic_write(l, reg, *data, false);
		return 0;
	}
	if ((off & 0xf) + size > 4) {
		*data = 0;
		return 0;
	}
	lapic_read(l, reg, false, &v);
	*data = (v >> shift) & (size >= 4 ? 0xffffffffull : (1ull << (size * 8)) - 1);
	return 0;
}

static int lapic_mmio(void *opaque, vmm_vcpu *vcpu, uint64_t addr, uint8_t size,
		      uint8_t is_write, uint64_t *data)
{
	if (!vcpu || !vcpu->lapic) {
		if (!is_write)
			*data = ~0ull;
		return 0;
	}
	return lapic_mmio_access(vcpu->lapic, addr, size, is_write, data);
}

/* A relocated APIC page: bus.c asks before its own ranges. */
bool vmm__lapic_mmio_relocated(vmm_vcpu *vcpu, uint64_t addr, uint8_t size,
			       uint8_t is_write, uint64_t *data)
{
	struct vmm__lapic *l = vcpu->lapic;
	uint64_t base = __atomic_load_n(&l->base, __ATOMIC_RELAXED);

	if ((base & ~0xfffull) == VMM__APIC_DEFAULT_BASE || (addr & ~0xfffull) != (base & ~0xfffull) ||
	    !(base & LAPIC_BASE_EN) || (base & LAPIC_BASE_EXTD))
		return false;
	lapic_mmio_access(l, addr, size, is_write, data);
	return true;
}

/* ---- MSRs --------------------------------------------------------------------- */

#define MSR_APIC_BASE 0x1bu
#define MSR_TSC_DEADLINE 0x6e0u

bool vmm__lapic_msr_is_ours(uint32_t msr)
{
	return msr == MSR_APIC_BASE || msr == MSR_TSC_DEADLINE || (msr >= 0x800 && msr <= 0x8ff);
}

/* The SDM's APIC_BASE state machine: disabled, xAPIC, x2APIC; EXTD without
 * EN is invalid, and so are x2APIC -> xAPIC and disabled -> x2APIC. */
static int base_write(struct vmm__lapic *l, uint64_t v)
{
	uint64_t old = l->base, reserved = ~((1ull << 40) - 1) | 0x2ff;
	bool en = v & LAPIC_BASE_EN, x2 = v & LAPIC_BASE_EXTD;

	if ((v & reserved & ~LAPIC_BASE_BSP) || (x2 && !en))
		return -1;
	if ((old & LAPIC_BASE_EXTD) && en && !x2)
		return -1;
	if (!(old & LAPIC_BASE_EN) && x2)
		return -1;
	__atomic_store_n(&l->base, v, __ATOMIC_RELAXED);
	if ((old & LAPIC_BASE_EN) && !en)
		lapic_reset_regs(l);
	if (!(old & LAPIC_BASE_EN) && en)   /* enabled again: the initial APIC ID, as KVM */
		l->id = l->vcpu->index;
	if (x2 && !(old & LAPIC_BASE_EXTD))
		l->ldr = ((l->vcpu->index >> 4) << 16) | (1u << (l->vcpu->index & 15));
	attention(l);
	return 0;
}

int vmm__lapic_msr_read(vmm_vcpu *vcpu, uint32_t msr, uint64_t *value)
{
	struct vmm__lapic *l = vcpu->lapic;

	*value = 0;
	if (!l)
		return -1;
	if (msr == MSR_APIC_BASE || msr == MSR_TSC_DEADLINE) {
		pthread_mutex_lock(&l->lock);
		*value = msr == MSR_APIC_BASE ? l->base :
			 ((l->lvt[LVT_TIMER] >> 17) & 3) == TIMER_TSC_DEADLINE ? l->tsc_deadline : 0;
		pthread_mutex_unlock(&l->lock);
		return 0;
	}
	return lapic_read(l, (msr - 0x800) << 4, true, value);
}

int vmm__lapic_msr_write(vmm_vcpu *vcpu, uint32_t msr, uint64_t value)
{
	struct vmm__lapic *l = vcpu->lapic;
	uint32_t reg;
	int rc = 0;

	if (!l)
		return -1;
	if (msr == MSR_APIC_BASE || msr == MSR_TSC_DEADLINE) {
		pthread_mutex_lock(&l->lock);
		if (msr == MSR_APIC_BASE)
			rc = base_write(l, value);
		else if (lapic_hw_enabled(l))
			lapic_timer_set_deadline(l, value);
		pthread_mutex_unlock(&l->lock);
		return rc;
	}
	reg = (msr - 0x800) << 4;
	if (reg == LAPIC_ICR && lapic_x2(l) && (value & 0xfff32000ull))
		return -1;   /* x2APIC ICR reserved bits 13, 16, 17, 20-31 */
	/* every other x2APIC register is 32 bits: bits 63:32 set is #GP, and
	 * SELF IPI takes only a vector (bits 31:8 reserved), as KVM checks */
	if (reg != LAPIC_ICR && (value >> 32))
		return -1;
	if (reg == LAPIC_SELF_IPI && (value & ~0xffull))
		return -1;
	return lapic_write(l, reg, value, true);
}

uint8_t vmm__lapic_get_cr8(vmm_vcpu *vcpu)
{
	struct vmm__lapic *l = vcpu->lapic;
	uint8_t v;

	if (!l)
		return 0;
	pthread_mutex_lock(&l->lock);
	v = (uint8_t)((l->tpr >> 4) & 0xf);
	pthread_mutex_unlock(&l->lock);
	return v;
}

void vmm__lapic_set_cr8(vmm_vcpu *vcpu, uint8_t cr8)
{
	struct vmm__lapic *l = vcpu->lapic;

	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	l->tpr = (uint32_t)(cr8 & 0xf) << 4;
	attention(l);
	pthread_mutex_unlock(&l->lock);
}

/* APIC_BASE at power-on: enabled xAPIC at the default base, BSP on vCPU 0. */
static uint64_t power_on_base(const vmm_vcpu *vcpu)
{
	return VMM__APIC_DEFAULT_BASE | LAPIC_BASE_EN | (vcpu->index == 0 ? LAPIC_BASE_BSP : 0);
}

/* The power-on state (S3 resume): power_on_base, the initial ID, every
 * register reset, nothing pending, the timers stopped. */
void vmm__lapic_power_on(vmm_vcpu *vcpu)
{
	struct vmm__lapic *l = vcpu->lapic;

	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	__atomic_store_n(&l->base, power_on_base(vcpu), __ATOMIC_RELAXED);
	l->id = vcpu->index;
	lapic_reset_regs(l);
	l->init_pending = false;
	l->tsc_deadline = 0;
	pthread_mutex_unlock(&l->lock);
}

/* ---- Lifecycle ------------------------------------------------------------------ */

int vmm__lapic_create(vmm_vcpu *vcpu)
{
	struct vmm__lapic *l = calloc(1, sizeof(*l));

	if (!l)
		return vmm__err(VMM_ENOMEM, "lapic: out of memory for vCPU %u", vcpu->index);
	pthread_mutex_init(&l->lock, NULL);
	l->vcpu = vcpu;
	l->id = vcpu->index;
	l->base = power_on_base(vcpu);
	lapic_timer_init(l);
	lapic_reset_regs(l);
	__atomic_store_n(&vcpu->lapic, l, __ATOMIC_RELEASE);
	return 0;
}

void vmm__lapic_destroy(vmm_vcpu *vcpu)
{
	struct vmm__lapic *l = vcpu->lapic;

	if (!l)
		return;
	__atomic_store_n(&vcpu->lapic, NULL, __ATOMIC_RELEASE);
	vmm__timer_fini(vcpu->vm, &l->timer);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

/* The xAPIC page at its default base, one range for every vCPU. */
int vmm__lapic_device_init(vmm_vm *vm)
{
	return vmm__mmio_register_internal(vm, VMM__APIC_DEFAULT_BASE, 0x1000, lapic_mmio, NULL);
}

void vmm__lapic_device_fini(vmm_vm *vm)
{
}
