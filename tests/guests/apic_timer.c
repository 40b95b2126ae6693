/* apic_timer.c - the local APIC timer (run with the "irq" device, whose
 * clock is the time reference): its count rate measured against the
 * clock, a one-shot that fires once after the programmed time, a periodic
 * timer whose interrupt rate matches the clock, a masked timer that counts
 * down without interrupts, and the TSC-deadline mode when CPUID offers it
 * (a deadline that fires on time, one that is disarmed by writing 0).
 * Times are compared within the runner's tolerance (TESTDEV_IRQ_TOL), a
 * phase retried up to 3 times (check_timed), and never printed. */
#include "apic.h"

#define V_ONESHOT 0x70
#define V_PERIODIC 0x71
#define V_DEADLINE 0x72
#define DIV_16 0x3
#define PERIODS 20u

static volatile uint32_t stamp[PERIODS + 2];
static volatile uint32_t nstamp;

static void record(uint32_t cpu, uint32_t vector)
{
	uint32_t n = nstamp;

	if (n < PERIODS + 2)
		stamp[n] = clock_us();
	nstamp = n + 1;
	lapic_eoi();
	(void)cpu;
	(void)vector;
}

/* The clock and the current count read together: retried until the two
 * clock reads around the count lie within 200 us (a host that preempted
 * the vCPU in between would skew the rate). */
static void sample(uint32_t *t, uint32_t *c)
{
	uint32_t ta, tb;

	for (int i = 0; i < 50; i++) {
		ta = clock_us();
		*c = lapic_read(LAPIC_TIMER_CUR);
		tb = clock_us();
		if (tb - ta <= 200)
			break;
	}
	*t = ta + (tb - ta) / 2;
}

static void sample_tsc(uint32_t *t, uint64_t *tsc)
{
	uint32_t ta, tb;

	for (int i = 0; i < 50; i++) {
		ta = clock_us();
		*tsc = rdtsc();
		tb = clock_us();
		if (tb - ta <= 200)
			break;
	}
	*t = ta + (tb - ta) / 2;
}

/* Timer ticks per millisecond at divide-by-16, measured over 200 ms. */
static uint32_t ticks_per_ms(void)
{
	uint32_t c0, c1, t0, t1;

	lapic_write(LAPIC_TIMER_DIV, DIV_16);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | V_ONESHOT);
	lapic_write(LAPIC_TIMER_INIT, 0xffffffffu);
	sample(&t0, &c0);
	delay_us(200000);
	sample(&t1, &c1);
	lapic_write(LAPIC_TIMER_INIT, 0);
	CHECK(c0 > c1);
	return (uint32_t)((uint64_t)(c0 - c1) * 1000 / (t1 - t0));
}

static void arm(uint32_t lvt, uint32_t count)
{
	nstamp = 0;
	lapic_write(LAPIC_LVT_TIMER, lvt);
	stamp[PERIODS + 1] = clock_us();
	lapic_write(LAPIC_TIMER_INIT, count);
}

static uint64_t one_shot_once(uint32_t tpm)
{
	uint32_t armed;

	irq_count[0][V_ONESHOT] = 0;
	arm(V_ONESHOT, tpm * 300);            /* 300 ms */
	armed = stamp[PERIODS + 1];
	CHECK_EQ(irq_wait_count(V_ONESHOT, 1, 3000000), 1);
	CHECK_EQ(irq_wait_count(V_ONESHOT, 2, 150000), 1);   /* once only */
	CHECK_EQ(lapic_read(LAPIC_TIMER_CUR), 0);
	return stamp[0] - armed;
}

static void one_shot(uint32_t tpm)
{
	check_timed(one_shot_once, tpm, 300000);
	printf("apic_timer: one-shot fired once, on time\n");
}

static uint64_t periodic_once(uint32_t tpm)
{
	uint32_t n;

	irq_count[0][V_PERIODIC] = 0;
	arm(V_PERIODIC | LVT_PERIODIC, tpm * 20);  /* 20 ms */
	CHECK(irq_wait_count(V_PERIODIC, PERIODS + 1, 4000000) >= PERIODS + 1);
	lapic_write(LAPIC_TIMER_INIT, 0);          /* stops it */
	/* one already raised may still come; then nothing for 4 periods */
	irq_wait_count(V_PERIODIC, 0xffffffffu, 20000);
	n = irq_count[0][V_PERIODIC];
	CHECK_EQ(irq_wait_count(V_PERIODIC, n + 1, 80000), n);
	return stamp[PERIODS] - stamp[0];
}

static void periodic(uint32_t tpm)
{
	check_timed(periodic_once, tpm, PERIODS * 20000);
	printf("apic_timer: periodic rate matches the host clock\n");
}

static void masked(uint32_t tpm)
{
	uint32_t before = irq_total(0);

	arm(LVT_MASKED | V_ONESHOT, tpm * 20);
	CHECK(lapic_read(LAPIC_TIMER_CUR) > 0);
	irq_wait_count(V_ONESHOT, 100, 60000);
	CHECK_EQ(lapic_read(LAPIC_TIMER_CUR), 0);
	CHECK_EQ(irq_total(0), before);
	printf("apic_timer: masked timer counts down silently\n");
}

static uint64_t deadline_once(uint32_t per_ms)
{
	uint32_t armed;

	irq_count[0][V_DEADLINE] = 0;
	nstamp = 0;
	lapic_write(LAPIC_LVT_TIMER, LVT_TSC_DEADLINE | V_DEADLINE);
	armed = clock_us();
	wrmsr(MSR_TSC_DEADLINE, rdtsc() + (uint64_t)per_ms * 300);
	CHECK_EQ(irq_wait_count(V_DEADLINE, 1, 3000000), 1);
	CHECK_EQ(rdmsr(MSR_TSC_DEADLINE), 0);     /* cleared when it fires */
	return stamp[0] - armed;
}

static void tsc_deadline(void)
{
	uint64_t tsc0, tsc1, per_ms;
	uint32_t t0, t1;

	if (!cpu_has_tsc_deadline()) {
		guest_note("no TSC-deadline in CPUID: not run");
		return;
	}
	sample_tsc(&t0, &tsc0);
	delay_us(200000);
	sample_tsc(&t1, &tsc1);
	per_ms = (tsc1 - tsc0) * 1000 / (t1 - t0);
	CHECK(per_ms > 0 && per_ms < 0xffffffffu);
	check_timed(deadline_once, (uint32_t)per_ms, 300000);
	wrmsr(MSR_TSC_DEADLINE, rdtsc() + per_ms * 30);
	wrmsr(MSR_TSC_DEADLINE, 0);               /* disarmed */
	CHECK_EQ(irq_wait_count(V_DEADLINE, 2, 100000), 1);
}

int guest_main(uint32_t index, uint32_t count)
{
	uint32_t tpm;

	CHECK_EQ(index, 0);
	CHECK_EQ(count, 1);
	irq_install(0);
	lapic_enable();
	irq_hook[V_ONESHOT] = irq_hook[V_PERIODIC] = irq_hook[V_DEADLINE] = record;
	tpm = ticks_per_ms();
	CHECK(tpm >= 10);                      /* at least a 160 kHz timer */
	one_shot(tpm);
	periodic(tpm);
	masked(tpm);
	tsc_deadline();
	printf("apic_timer: TSC-deadline phase done\n");
	guest_pass("apic_timer");
}
