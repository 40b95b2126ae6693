/* lapic_state.c - the save and load of a core local APIC (state.h): its
 * registers, pending events, and the timer as time since the count was
 * loaded and time left to expiry (the TSC deadline as TSC ticks left). */
#include <stdio.h>
#include <string.h>
#include <x86intrin.h>

#include "lib/platform/lapic.h"
#include "lib/platform/state.h"

#define MAX_PERIOD_NS (0xffffffffull * 128 * LAPIC_BUS_NS)
#define MAX_LEFT (1ull << 62)        /* keeps now + left far from overflow */

typedef struct lapic_regs {
	uint64_t base;
	uint32_t id, tpr, ldr, dfr, svr, esr, esr_pending, icr_lo, icr_hi;
	uint32_t lvt[LVT_COUNT];
	uint32_t irr[8], isr[8], tmr[8];
	uint32_t tdcr, ticr;
	uint64_t period, since, left, tsc_left;
	bool armed, tsc_armed, nmi, init, sipi, extint;
	uint8_t sipi_vector;
} lapic_regs;

static void save_words(vmm__sw *w, const uint32_t *v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		vmm__sw_u32(w, v[i]);
}

static int lapic_save(void *dev, vmm__sw *w)
{
	struct vmm__lapic *l = ((vmm_vcpu *)dev)->lapic;
	uint64_t now, tsc;

	pthread_mutex_lock(&l->lock);
	now = vmm__now_ns();
	tsc = __rdtsc();
	vmm__sw_u64(w, l->base);
	save_words(w, (const uint32_t[]){ l->id, l->tpr, l->ldr, l->dfr, l->svr, l->esr,
					  l->esr_pending, l->icr_lo, l->icr_hi }, 9);
	save_words(w, l->lvt, LVT_COUNT);
	save_words(w, l->irr, 8);
	save_words(w, l->isr, 8);
	save_words(w, l->tmr, 8);
	vmm__sw_u32(w, l->tdcr);
	vmm__sw_u32(w, l->ticr);
	vmm__sw_u64(w, l->t_period_ns);
	vmm__sw_time(w, vmm__state_since(now, l->t_start_ns));
	vmm__sw_bool(w, l->t_deadline_ns != 0);
	vmm__sw_time(w, l->t_deadline_ns > now ? l->t_deadline_ns - now : 0);
	vmm__sw_bool(w, l->tsc_deadline != 0);
	vmm__sw_time(w, l->tsc_deadline > tsc ? l->tsc_deadline - tsc : 0);
	vmm__sw_u8(w, (uint8_t)(l->nmi_pending | l->init_pending << 1 | l->sipi_pending << 2 |
				l->extint_pending << 3));
	vmm__sw_u8(w, l->sipi_vector);
	pthread_mutex_unlock(&l->lock);
	return 0;
}

static void load_words(vmm__sr *r, const char *field, uint32_t *v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		v[i] = vmm__sr_u32(r, field);
}

static void check_regs(vmm__sr *r, const lapic_regs *s, uint32_t index)
{
	static const uint32_t lvt_ok[LVT_COUNT] = {
		[LVT_TIMER] = 0x700ff, [LVT_THERMAL] = 0x107ff, [LVT_PERF] = 0x107ff,
		[LVT_LINT0] = 0x1e7ff, [LVT_LINT1] = 0x1e7ff, [LVT_ERROR] = 0x100ff,
	};
	bool en = s->base & LAPIC_BASE_EN, x2 = s->base & LAPIC_BASE_EXTD;
	uint32_t x2ldr = ((index >> 4) << 16) | (1u << (index & 15));

	vmm__sr_check(r, !(s->base & (~((1ull << 40) - 1) | 0x2ff)) && (en || !x2), "base",
		      "reserved bits, or x2APIC without enable");
	vmm__sr_check(r, s->id <= 0xff && s->tpr <= 0xff && s->svr <= 0x3ff, "id/tpr/svr",
		      "out of range");
	vmm__sr_check(r, x2 ? s->ldr == x2ldr : !(s->ldr & 0xffffff), "ldr", "reserved bits");
	vmm__sr_check(r, (s->dfr & 0x0fffffff) == 0x0fffffff, "dfr", "reserved bits not set");
	vmm__sr_check(r, s->esr <= 0xff && s->esr_pending <= 0xff, "esr", "reserved bits");
	vmm__sr_check(r, !(s->icr_lo & ~0x000ccfffu) && (x2 || !(s->icr_hi & 0xffffff)),
		      "icr", "reserved bits");
	for (unsigned i = 0; i < LVT_COUNT; i++)
		vmm__sr_check(r, !(s->lvt[i] & ~lvt_ok[i]), "lvt", "reserved bits");
	vmm__sr_check(r, !(s->irr[0] & 0xffff) && !(s->isr[0] & 0xffff) && !(s->tmr[0] & 0xffff),
		      "irr/isr/tmr", "vectors 0-15 cannot be pending");
	vmm__sr_check(r, !(s->tdcr & ~0xbu), "tdcr", "reserved bits");
	vmm__sr_check(r, s->period <= MAX_PERIOD_NS, "t_period_ns", "longer than any count");
	vmm__sr_check(r, s->left <= MAX_LEFT && s->tsc_left <= MAX_LEFT, "timer left",
		      "too far in the future");
}

static void read_regs(vmm__sr *r, lapic_regs *s)
{
	uint32_t regs[9];
	uint8_t ev;

	s->base = vmm__sr_u64(r, "base");
	load_words(r, "registers", regs, 9);
	s->id = regs[0], s->tpr = regs[1], s->ldr = regs[2], s->dfr = regs[3];
	s->svr = regs[4], s->esr = regs[5], s->esr_pending = regs[6];
	s->icr_lo = regs[7], s->icr_hi = regs[8];
	load_words(r, "lvt", s->lvt, LVT_COUNT);
	load_words(r, "irr", s->irr, 8);
	load_words(r, "isr", s->isr, 8);
	load_words(r, "tmr", s->tmr, 8);
	s->tdcr = vmm__sr_u32(r, "tdcr");
	s->ticr = vmm__sr_u32(r, "ticr");
	s->period = vmm__sr_u64(r, "t_period_ns");
	s->since = vmm__sr_u64(r, "t_since_ns");
	s->armed = vmm__sr_bool(r, "t_armed");
	s->left = vmm__sr_u64(r, "t_left_ns");
	s->tsc_armed = vmm__sr_bool(r, "tsc_armed");
	s->tsc_left = vmm__sr_u64(r, "tsc_left");
	ev = (uint8_t)vmm__sr_max(r, "events", 15, 1);
	s->nmi = ev & 1, s->init = ev >> 1 & 1, s->sipi = ev >> 2 & 1, s->extint = ev >> 3 & 1;
	s->sipi_vector = vmm__sr_u8(r, "sipi_vector");
}

static void apply(struct vmm__lapic *l, const lapic_regs *s)
{
	uint64_t now = vmm__now_ns();

	if (l->t_deadline_ns)
		vmm__timer_cancel(l->vcpu->vm, &l->timer);
	__atomic_store_n(&l->base, s->base, __ATOMIC_RELAXED);
	l->id = s->id, l->tpr = s->tpr, l->ldr = s->ldr, l->dfr = s->dfr, l->svr = s->svr;
	l->esr = s->esr, l->esr_pending = s->esr_pending;
	l->icr_lo = s->icr_lo, l->icr_hi = s->icr_hi;
	memcpy(l->lvt, s->lvt, sizeof(l->lvt));
	memcpy(l->irr, s->irr, sizeof(l->irr));
	memcpy(l->isr, s->isr, sizeof(l->isr));
	memcpy(l->tmr, s->tmr, sizeof(l->tmr));
	l->tdcr = s->tdcr, l->ticr = s->ticr, l->t_period_ns = s->period;
	l->t_start_ns = vmm__state_since(now, s->since);
	l->tsc_deadline = s->tsc_armed ? __rdtsc() + s->tsc_left : 0;
	if (s->tsc_armed && !l->tsc_deadline)
		l->tsc_deadline = 1;
	l->t_deadline_ns = s->armed ? now + (s->left ? s->left : 1) : 0;
	if (l->t_deadline_ns)
		vmm__timer_arm(l->vcpu->vm, &l->timer, l->t_deadline_ns);
	l->nmi_pending = s->nmi, l->init_pending = s->init;
	l->sipi_pending = s->sipi, l->extint_pending = s->extint;
	l->sipi_vector = s->sipi_vector;
}

static int lapic_load(void *dev, uint32_t version, vmm__sr *r)
{
	vmm_vcpu *vcpu = dev;
	struct vmm__lapic *l = vcpu->lapic;
	lapic_regs s;

	(void)version;
	memset(&s, 0, sizeof(s));
	read_regs(r, &s);
	if (!r->failed)
		check_regs(r, &s, vcpu->index);
	if (!vmm__sr_apply(r))
		return 0;
	pthread_mutex_lock(&l->lock);
	apply(l, &s);
	pthread_mutex_unlock(&l->lock);
	vmm__vcpu_wake(vcpu);
	return 0;
}

static const vmm__state_ops lapic_state = { 1, lapic_save, lapic_load };

int vmm__lapic_state_add(vmm_vm *vm, vmm__state_list *l)
{
	char name[16];
	int rc = 0;

	for (uint32_t i = 0; rc == 0 && i < VMM_MAX_VCPUS; i++) {
		vmm_vcpu *c = __atomic_load_n(&vm->vcpus[i], __ATOMIC_ACQUIRE);

		if (!c || !c->lapic)
			continue;
		snprintf(name, sizeof(name), "lapic.%u", i);
		rc = vmm__state_add(l, name, &lapic_state, c);
	}
	return rc;
}
