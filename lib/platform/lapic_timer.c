/* lapic_timer.c - the local APIC timer: one-shot and periodic counting at
 * the 1 GHz APIC bus clock through the divide configuration, and
 * TSC-deadline mode (MSR 0x6e0). Counts follow the host clock: the current
 * count is computed from CLOCK_MONOTONIC, expiry is a vmm-timer callback
 * that sets IRR and wakes the vCPU. Every function but timer_fire runs with
 * l->lock held. */
#include <x86intrin.h>

#include "lib/platform/lapic.h"

static unsigned timer_mode(const struct vmm__lapic *l)
{
	unsigned m = (l->lvt[LVT_TIMER] >> 17) & 3;

	return m == 3 ? TIMER_ONESHOT : m;   /* 3 is reserved */
}

static uint64_t tick_ns(const struct vmm__lapic *l)
{
	uint32_t v = (l->tdcr & 3) | ((l->tdcr & 8) >> 1);

	return (1ull << ((v + 1) & 7)) * LAPIC_BUS_NS;
}

static void arm(struct vmm__lapic *l, uint64_t deadline)
{
	l->t_deadline_ns = deadline ? deadline : 1;
	vmm__timer_arm(l->vcpu->vm, &l->timer, l->t_deadline_ns);
}

static uint64_t period_of(const struct vmm__lapic *l)
{
	uint64_t p = l->t_period_ns;

	return p < LAPIC_MIN_PERIOD_NS ? LAPIC_MIN_PERIOD_NS : p;
}

/* The count reached 0 (or the deadline passed) at now: IRR unless masked,
 * the next period armed. Returns whether the vCPU must look. */
static bool expire(struct vmm__lapic *l, uint64_t now)
{
	uint32_t lvt = l->lvt[LVT_TIMER];
	bool wake = false;

	if (!(lvt & LVT_MASKED)) {
		lapic_set_irr(l, (uint8_t)lvt, false);
		wake = true;
	}
	if (timer_mode(l) == TIMER_PERIODIC && l->t_period_ns) {
		uint64_t p = period_of(l), next = l->t_deadline_ns + p;

		if (next <= now)
			next = now + p;   /* fell behind: ticks are lost, not queued */
		l->t_start_ns = next - p;
		arm(l, next);
	} else {
		l->t_deadline_ns = 0;
		l->tsc_deadline = 0;
	}
	return wake;
}

static void timer_fire(void *opaque, uint64_t now)
{
	struct vmm__lapic *l = opaque;
	bool wake = false;

	pthread_mutex_lock(&l->lock);
	if (l->t_deadline_ns && now >= l->t_deadline_ns)
		wake = expire(l, now);   /* else cancelled, re-armed later or done */
	pthread_mutex_unlock(&l->lock);
	if (wake)
		vmm__vcpu_wake(l->vcpu);
}

/* The vCPU's own thread, when it looks for interrupts or changes the timer:
 * an expiry the timer thread has not run yet (a loaded host schedules it
 * late) happens now; then the vCPU is told to look (intr_attention: no
 * wait_lock taken, l->lock may be held). */
void lapic_timer_catch_up(struct vmm__lapic *l)
{
	uint64_t now;

	if (!l->t_deadline_ns)
		return;
	now = vmm__now_ns();
	if (now >= l->t_deadline_ns && expire(l, now))
		atomic_store_explicit(&l->vcpu->intr_attention, 1, memory_order_release);
}

void lapic_timer_init(struct vmm__lapic *l)
{
	vmm__timer_init(&l->timer, timer_fire, l);
}

void lapic_timer_stop(struct vmm__lapic *l)
{
	if (l->t_deadline_ns)
		vmm__timer_cancel(l->vcpu->vm, &l->timer);
	l->t_deadline_ns = 0;
	l->ticr = 0;
	l->t_period_ns = 0;
	l->tsc_deadline = 0;
}

void lapic_timer_set_icr(struct vmm__lapic *l, uint32_t count)
{
	uint64_t now;

	if (timer_mode(l) == TIMER_TSC_DEADLINE)
		return;   /* ignored in TSC-deadline mode */
	lapic_timer_stop(l);
	l->ticr = count;
	if (!count)
		return;
	now = vmm__now_ns();
	l->t_period_ns = (uint64_t)count * tick_ns(l);
	l->t_start_ns = now;
	arm(l, now + (timer_mode(l) == TIMER_PERIODIC ? period_of(l) : l->t_period_ns));
}

void lapic_timer_set_lvt(struct vmm__lapic *l, uint32_t value)
{
	bool was_tsc = timer_mode(l) == TIMER_TSC_DEADLINE;

	lapic_timer_catch_up(l);   /* a count that reached 0 did so in the old mode */
	l->lvt[LVT_TIMER] = value;
	if (was_tsc != (timer_mode(l) == TIMER_TSC_DEADLINE))
		lapic_timer_stop(l);   /* to or from TSC-deadline mode: disarmed */
}

void lapic_timer_set_dcr(struct vmm__lapic *l, uint32_t value)
{
	l->tdcr = value & 0xb;   /* takes effect at the next count load */
}

uint32_t lapic_timer_ccr(const struct vmm__lapic *l)
{
	uint64_t now, rem, count;

	if (timer_mode(l) == TIMER_TSC_DEADLINE || !l->t_deadline_ns || !l->ticr)
		return 0;
	now = vmm__now_ns();
	if (timer_mode(l) == TIMER_PERIODIC) {
		uint64_t p = period_of(l);

		rem = now >= l->t_start_ns ? p - (now - l->t_start_ns) % p : p;
	} else {
		rem = now < l->t_deadline_ns ? l->t_deadline_ns - now : 0;
	}
	count = (rem + tick_ns(l) - 1) / tick_ns(l);
	return count > l->ticr ? l->ticr : (uint32_t)count;
}

/* host_tsc: the deadline in host TSC units (the backend converts from the
 * guest's); 0 disarms. A deadline in the past fires at once. */
void lapic_timer_set_deadline(struct vmm__lapic *l, uint64_t host_tsc)
{
	uint64_t tsc, now, delta_ns;
	unsigned __int128 ns;

	if (timer_mode(l) != TIMER_TSC_DEADLINE)
		return;   /* writes are ignored in the other modes */
	if (l->t_deadline_ns)
		vmm__timer_cancel(l->vcpu->vm, &l->timer);
	l->t_deadline_ns = 0;
	l->tsc_deadline = host_tsc;
	if (!host_tsc)
		return;
	tsc = __rdtsc();
	now = vmm__now_ns();
	if (host_tsc <= tsc) {        /* passed: the interrupt is due now */
		l->t_deadline_ns = now ? now : 1;
		lapic_timer_catch_up(l);
		return;
	}
	ns = (unsigned __int128)(host_tsc - tsc) * 1000000000u / vmm__tsc_hz();
	delta_ns = ns > UINT64_MAX - now ? UINT64_MAX - now : (uint64_t)ns;
	arm(l, now + delta_ns);
}
