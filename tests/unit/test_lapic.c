/* test_lapic.c - the core's local APIC (lib/platform/lapic.c,
 * lapic_timer.c, apic_bus.c) on an emu VM with VMM_VM_IRQCHIP: register
 * reset values and write masks, APIC_BASE transitions and x2APIC MSRs,
 * priorities, IRR -> ISR -> EOI, ESR for illegal vectors, IPIs between
 * vCPUs (physical, logical flat and cluster, shorthands, lowest priority,
 * NMI, absent targets), INIT/SIPI, CR8, and the timer in one-shot,
 * periodic and TSC-deadline mode against the host clock. */
#include <x86intrin.h>

#include "tests/unit/apic_fixture.h"

static void test_reset_values(void **state)
{
	apic_fx fx;

	afx_create(&fx, 2);
	assert_int_equal(ar(fx.cpu[0], 0x20), 0);
	assert_int_equal(ar(fx.cpu[1], 0x20), 1u << 24);
	assert_int_equal(ar(fx.cpu[0], 0x30), 0x50014);
	assert_int_equal(ar(fx.cpu[0], 0xf0), 0xff);
	assert_int_equal(ar(fx.cpu[0], 0xe0), 0xffffffffu);
	assert_int_equal(ar(fx.cpu[0], 0x320), 0x10000);
	assert_int_equal(ar(fx.cpu[0], 0x350), 0x700);      /* BSP: virtual wire */
	assert_int_equal(ar(fx.cpu[1], 0x350), 0x10000);
	assert_int_equal(ar(fx.cpu[0], 0x370), 0x10000);
	/* software-disabled: LVT writes stay masked */
	aw(fx.cpu[0], 0x320, 0x40);
	assert_int_equal(ar(fx.cpu[0], 0x320), 0x10040);
	apic_on(fx.cpu[0]);
	aw(fx.cpu[0], 0x320, 0x40);
	assert_int_equal(ar(fx.cpu[0], 0x320), 0x40);
	/* clearing SVR.8 masks every LVT again */
	aw(fx.cpu[0], 0xf0, 0xff);
	assert_int_equal(ar(fx.cpu[0], 0x320), 0x10040);
	afx_destroy(&fx);
}

static void test_register_masks(void **state)
{
	apic_fx fx;
	vmm_vcpu *c;

	afx_create(&fx, 1);
	c = fx.cpu[0];
	apic_on(c);
	aw(c, 0x80, 0x12345);
	assert_int_equal(ar(c, 0x80), 0x45);
	assert_int_equal(ar(c, 0xa0), 0x45);                 /* PPR = TPR, no ISR */
	aw(c, 0xd0, 0x12345678);
	assert_int_equal(ar(c, 0xd0), 0x12000000);
	aw(c, 0xe0, 0);
	assert_int_equal(ar(c, 0xe0), 0x0fffffff);
	aw(c, 0x30, 0);                                      /* read-only */
	assert_int_equal(ar(c, 0x30), 0x50014);
	aw(c, 0x20, 0x05000000);                             /* xAPIC ID is writable */
	assert_int_equal(ar(c, 0x20), 0x05000000);
	aw(c, 0x3e0, 0xff);
	assert_int_equal(ar(c, 0x3e0), 0xb);
	aw(c, 0x350, 0xffffffff);                            /* LINT0: no remote IRR/DS */
	assert_int_equal(ar(c, 0x350), 0x1a7ff);
	assert_int_equal(ar(c, 0x400), 0);                   /* outside the registers */
	afx_destroy(&fx);
}

static void test_apic_base_and_x2apic(void **state)
{
	apic_fx fx;
	vmm_vcpu *c;
	uint64_t v;

	afx_create(&fx, 2);
	c = fx.cpu[1];
	assert_int_equal(vmm__lapic_msr_read(c, 0x1b, &v), 0);
	assert_int_equal(v, 0xfee00800ull);                 /* enabled, not BSP */
	assert_int_equal(vmm__lapic_msr_read(fx.cpu[0], 0x1b, &v), 0);
	assert_int_equal(v, 0xfee00900ull);
	assert_int_equal(vmm__lapic_msr_read(c, 0x802, &v), -1);   /* not in x2APIC mode */
	assert_int_equal(vmm__lapic_msr_write(c, 0x1b, 0xfee00400ull), -1);  /* EXTD w/o EN */
	assert_int_equal(vmm__lapic_msr_write(c, 0x1b, 0xfee00a00ull), -1);  /* bit 9 reserved */
	assert_int_equal(vmm__lapic_msr_write(c, 0x1b, 0xfee00c00ull), 0);   /* x2APIC */
	assert_int_equal(vmm__lapic_msr_read(c, 0x802, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(vmm__lapic_msr_read(c, 0x80d, &v), 0);
	assert_int_equal(v, 2);                              /* cluster 0, bit 1 */
	assert_int_equal(vmm__lapic_msr_read(c, 0x80e, &v), -1);   /* no DFR */
	assert_int_equal(vmm__lapic_msr_write(c, 0x802, 5), -1);   /* ID read-only */
	assert_int_equal(vmm__lapic_msr_read(c, 0x80b, &v), -1);   /* EOI write-only */
	assert_int_equal(vmm__lapic_msr_write(c, 0x80b, 1), -1);   /* EOI must be 0 */
	assert_int_equal(vmm__lapic_msr_write(c, 0x808, 1ull << 32), -1);   /* TPR: 32 bits */
	assert_int_equal(vmm__lapic_msr_write(c, 0x832, ~0ull), -1);        /* LVT timer */
	assert_int_equal(vmm__lapic_msr_write(c, 0x83f, 0x100), -1);        /* SELF IPI: vector only */
	assert_int_equal(vmm__lapic_msr_write(c, 0x80b, 0), 0);
	assert_int_equal(mmio_rd(c, LAPIC + 0x30), 0xffffffffu);   /* no MMIO in x2APIC */
	assert_int_equal(vmm__lapic_msr_write(c, 0x1b, 0xfee00800ull), -1);  /* x2 -> xAPIC */
	assert_int_equal(vmm__lapic_msr_write(c, 0x80f, 0x1ff), 0);
	assert_int_equal(vmm__lapic_msr_write(c, 0x1b, 0xfee00000ull), 0);   /* disable */
	assert_int_equal(vmm__lapic_msr_write(c, 0x1b, 0xfee00c00ull), -1);  /* off -> x2 */
	assert_int_equal(vmm__lapic_msr_write(c, 0x1b, 0xfee00800ull), 0);
	assert_int_equal(ar(c, 0xf0), 0xff);                 /* disable reset the APIC */
	/* relocation: the page moves for this vCPU only */
	assert_int_equal(vmm__lapic_msr_write(c, 0x1b, 0xfed00800ull), 0);
	assert_int_equal(mmio_rd(c, 0xfed00030ull), 0x50014);
	assert_int_equal(mmio_rd(c, LAPIC + 0x30), 0xffffffffu);
	assert_int_equal(ar(fx.cpu[0], 0x30), 0x50014);
	afx_destroy(&fx);
}

static void test_priority_and_eoi(void **state)
{
	apic_fx fx;
	vmm_vcpu *c;
	uint8_t v;

	afx_create(&fx, 1);
	c = fx.cpu[0];
	apic_on(c);
	aw(c, 0x300, 0x40041);                               /* self IPI 0x41 */
	aw(c, 0x300, 0x40052);
	assert_true(vec_bit(c, 0x200, 0x41) && vec_bit(c, 0x200, 0x52));
	assert_int_equal(vmm__intr_poll(c, false, false, &v), VMM__INTR_NONE);  /* IF off */
	assert_int_equal(take(c, &v), VMM__INTR_EXT);
	assert_int_equal(v, 0x52);
	assert_true(vec_bit(c, 0x100, 0x52));
	assert_false(vec_bit(c, 0x200, 0x52));
	assert_int_equal(ar(c, 0xa0), 0x50);                 /* PPR from ISR */
	assert_int_equal(take(c, &v), VMM__INTR_NONE);       /* 0x41 is below class 5 */
	aw(c, 0xb0, 0);
	assert_false(vec_bit(c, 0x100, 0x52));
	aw(c, 0x80, 0x40);                                   /* TPR class 4 blocks 0x41 */
	assert_int_equal(take(c, &v), VMM__INTR_NONE);
	assert_int_equal(vmm__lapic_get_cr8(c), 4);
	vmm__lapic_set_cr8(c, 3);
	assert_int_equal(ar(c, 0x80), 0x30);
	assert_int_equal(take(c, &v), VMM__INTR_EXT);
	assert_int_equal(v, 0x41);
	aw(c, 0xb0, 0);
	aw(c, 0xb0, 0);                                      /* EOI with empty ISR */
	assert_int_equal(take(c, &v), VMM__INTR_NONE);
	afx_destroy(&fx);
}

static void test_illegal_vectors(void **state)
{
	apic_fx fx;
	uint8_t v;

	afx_create(&fx, 2);
	apic_on(fx.cpu[0]);
	apic_on(fx.cpu[1]);
	aw(fx.cpu[0], 0x310, 1u << 24);
	aw(fx.cpu[0], 0x300, 0x0005);                        /* fixed vector 5 to vCPU 1 */
	assert_int_equal(ar(fx.cpu[0], 0x280), 0);           /* not latched before a write */
	aw(fx.cpu[0], 0x280, 0);
	assert_int_equal(ar(fx.cpu[0], 0x280), 0x20);        /* send illegal vector */
	aw(fx.cpu[0], 0x280, 0);
	assert_int_equal(ar(fx.cpu[0], 0x280), 0);
	assert_int_equal(take(fx.cpu[1], &v), VMM__INTR_NONE);
	assert_int_equal(vmm_msi_send(fx.vm, 0xfee01000ull, 0x0003), 0);
	aw(fx.cpu[1], 0x280, 0);
	assert_int_equal(ar(fx.cpu[1], 0x280), 0x40);        /* receive illegal vector */
	/* the error LVT raises its vector for a new error */
	aw(fx.cpu[1], 0x370, 0xfe);
	assert_int_equal(vmm_msi_send(fx.vm, 0xfee01000ull, 0x000f), 0);
	assert_int_equal(take(fx.cpu[1], &v), VMM__INTR_EXT);
	assert_int_equal(v, 0xfe);
	/* an error LVT with an illegal vector only logs */
	aw(fx.cpu[1], 0x370, 0x02);
	assert_int_equal(vmm_msi_send(fx.vm, 0xfee01000ull, 0x0001), 0);
	assert_int_equal(take(fx.cpu[1], &v), VMM__INTR_NONE);
	afx_destroy(&fx);
}

static void test_ipi_destinations(void **state)
{
	apic_fx fx;
	uint8_t v;

	afx_create(&fx, 4);
	for (int i = 0; i < 4; i++)
		apic_on(fx.cpu[i]);
	/* physical */
	aw(fx.cpu[0], 0x310, 2u << 24);
	aw(fx.cpu[0], 0x300, 0x61);
	assert_true(vec_bit(fx.cpu[2], 0x200, 0x61));
	assert_false(vec_bit(fx.cpu[1], 0x200, 0x61) || vec_bit(fx.cpu[3], 0x200, 0x61));
	assert_int_equal(ar(fx.cpu[0], 0x300) & (1u << 12), 0);   /* delivered */
	/* logical flat: LDR bits 1 << i */
	for (int i = 0; i < 4; i++)
		aw(fx.cpu[i], 0xd0, (1u << i) << 24);
	aw(fx.cpu[0], 0x310, 0x0au << 24);
	aw(fx.cpu[0], 0x300, 0x862);
	assert_true(vec_bit(fx.cpu[1], 0x200, 0x62) && vec_bit(fx.cpu[3], 0x200, 0x62));
	assert_false(vec_bit(fx.cpu[0], 0x200, 0x62) || vec_bit(fx.cpu[2], 0x200, 0x62));
	/* cluster: vCPUs 2, 3 in cluster 1 (members 1, 2) */
	for (int i = 0; i < 4; i++) {
		aw(fx.cpu[i], 0xe0, 0x0fffffff);
		aw(fx.cpu[i], 0xd0, (i < 2 ? 0x01000000u << i : (0x10u | (1u << (i - 2))) << 24));
	}
	aw(fx.cpu[0], 0x310, 0x12u << 24);
	aw(fx.cpu[0], 0x300, 0x863);
	assert_true(vec_bit(fx.cpu[3], 0x200, 0x63));
	assert_false(vec_bit(fx.cpu[1], 0x200, 0x63) || vec_bit(fx.cpu[2], 0x200, 0x63));
	/* shorthands: all but self, all */
	aw(fx.cpu[1], 0x300, 0xc0064);
	assert_false(vec_bit(fx.cpu[1], 0x200, 0x64));
	assert_true(vec_bit(fx.cpu[0], 0x200, 0x64) && vec_bit(fx.cpu[3], 0x200, 0x64));
	aw(fx.cpu[1], 0x300, 0x80065);
	for (int i = 0; i < 4; i++)
		assert_true(vec_bit(fx.cpu[i], 0x200, 0x65));
	/* an absent APIC ID: nobody */
	aw(fx.cpu[0], 0x310, 9u << 24);
	aw(fx.cpu[0], 0x300, 0x66);
	for (int i = 0; i < 4; i++)
		assert_false(vec_bit(fx.cpu[i], 0x200, 0x66));
	/* NMI */
	aw(fx.cpu[0], 0x310, 3u << 24);
	aw(fx.cpu[0], 0x300, 0x400);
	assert_int_equal(vmm__intr_poll(fx.cpu[3], false, true, &v), VMM__INTR_NONE);
	assert_int_equal(vmm__intr_poll(fx.cpu[3], false, false, &v), VMM__INTR_NMI);
	afx_destroy(&fx);
}

static void test_lowest_priority(void **state)
{
	apic_fx fx;

	afx_create(&fx, 3);
	for (int i = 0; i < 3; i++) {
		apic_on(fx.cpu[i]);
		aw(fx.cpu[i], 0xd0, 0x01000000u << i);
	}
	aw(fx.cpu[0], 0x80, 0x30);
	aw(fx.cpu[1], 0x80, 0x20);
	aw(fx.cpu[2], 0x80, 0x20);
	aw(fx.cpu[0], 0x310, 0x07u << 24);
	aw(fx.cpu[0], 0x300, 0x971);                         /* lowest, logical */
	assert_true(vec_bit(fx.cpu[1], 0x200, 0x71));        /* tie: the lower index */
	assert_false(vec_bit(fx.cpu[0], 0x200, 0x71) || vec_bit(fx.cpu[2], 0x200, 0x71));
	aw(fx.cpu[1], 0x80, 0x40);
	assert_int_equal(vmm_msi_send(fx.vm, 0xfee0700cull, 0x0072), 0);  /* RH + logical */
	assert_true(vec_bit(fx.cpu[2], 0x200, 0x72));
	assert_false(vec_bit(fx.cpu[0], 0x200, 0x72) || vec_bit(fx.cpu[1], 0x200, 0x72));
	afx_destroy(&fx);
}

static void test_init_sipi(void **state)
{
	apic_fx fx;
	uint8_t v;

	afx_create(&fx, 2);
	apic_on(fx.cpu[1]);
	aw(fx.cpu[1], 0x80, 0x20);
	/* SIPI to a running vCPU: ignored */
	aw(fx.cpu[0], 0x310, 1u << 24);
	aw(fx.cpu[0], 0x300, 0x69a);
	assert_int_equal(take(fx.cpu[1], &v), VMM__INTR_NONE);
	/* INIT level de-assert: no effect */
	aw(fx.cpu[0], 0x300, 0x8500);
	assert_int_equal(take(fx.cpu[1], &v), VMM__INTR_NONE);
	assert_int_equal(ar(fx.cpu[1], 0x80), 0x20);
	/* INIT then SIPI: INIT first (the APIC resets), then the start vector */
	aw(fx.cpu[0], 0x300, 0x4500);
	aw(fx.cpu[0], 0x300, 0x69a);
	assert_int_equal(take(fx.cpu[1], &v), VMM__INTR_INIT);
	assert_int_equal(ar(fx.cpu[1], 0x80), 0);
	assert_int_equal(ar(fx.cpu[1], 0xf0), 0xff);
	fx.cpu[1]->runnable = false;                         /* as emu does at INIT */
	assert_int_equal(take(fx.cpu[1], &v), VMM__INTR_SIPI);
	assert_int_equal(v, 0x9a);
	afx_destroy(&fx);
}

/* ---- Timer --------------------------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Waits up to ms for vector in IRR; returns the ns it took, or 0. */
static uint64_t wait_irr(vmm_vcpu *c, uint8_t vector, unsigned ms)
{
	uint64_t t0 = now_ns();

	while (now_ns() - t0 < ms * 1000000ull) {
		if (vec_bit(c, 0x200, vector))
			return now_ns() - t0;
		sleep_ms(1);
	}
	return 0;
}

static void test_timer_oneshot(void **state)
{
	apic_fx fx;
	vmm_vcpu *c;
	uint32_t c1, c2;
	uint64_t t, armed, waited;

	afx_create(&fx, 1);
	c = fx.cpu[0];
	apic_on(c);
	aw(c, 0x3e0, 0xb);                                   /* divide by 1: 1 GHz */
	aw(c, 0x320, 0x50);
	armed = now_ns();
	aw(c, 0x380, 30000000);                              /* 30 ms */
	c1 = ar(c, 0x390);
	sleep_ms(5);
	c2 = ar(c, 0x390);
	assert_true(c1 <= 30000000 && c2 < c1 && c1 - c2 >= 4000000);
	waited = now_ns() - armed;
	t = wait_irr(c, 0x50, 2000);
	assert_true(t > 0);
	/* Not early: 30 ms from the arming, however long the sleep took. */
	assert_true(waited + t >= 29000000ull);
	assert_int_equal(ar(c, 0x390), 0);
	aw(c, 0x3e0, 0x3);                                   /* divide by 16 */
	aw(c, 0x380, 1000000);
	assert_true(ar(c, 0x390) > 900000);
	aw(c, 0x380, 0);                                     /* stop */
	assert_int_equal(ar(c, 0x390), 0);
	afx_destroy(&fx);
}

static void test_timer_periodic(void **state)
{
	apic_fx fx;
	vmm_vcpu *c;
	unsigned fires = 0;
	uint64_t t0;
	uint8_t v;

	afx_create(&fx, 1);
	c = fx.cpu[0];
	apic_on(c);
	aw(c, 0x3e0, 0xb);
	aw(c, 0x320, 0x20051);                               /* periodic */
	aw(c, 0x380, 10000000);                              /* 10 ms */
	t0 = now_ns();
	while (now_ns() - t0 < 205000000ull) {
		if (take(c, &v) == VMM__INTR_EXT) {
			assert_int_equal(v, 0x51);
			fires++;
			aw(c, 0xb0, 0);
		}
		sleep_ms(1);
	}
	/* 20 in 205 ms; a loaded host may lose some, never gain */
	assert_true(fires >= 12 && fires <= 21);
	assert_true(ar(c, 0x390) <= 10000000);
	/* masked: keeps counting, no interrupts */
	aw(c, 0x320, 0x30051);
	while (take(c, &v) == VMM__INTR_EXT)
		aw(c, 0xb0, 0);
	sleep_ms(30);
	assert_int_equal(take(c, &v), VMM__INTR_NONE);
	/* a 1 ns period is held to 200 us: no host storm */
	aw(c, 0x320, 0x20051);
	aw(c, 0x380, 1);
	sleep_ms(20);
	assert_true(ar(c, 0x390) <= 1);
	afx_destroy(&fx);
}

static void test_timer_tsc_deadline(void **state)
{
	apic_fx fx;
	vmm_vcpu *c;
	uint64_t hz = vmm__tsc_hz(), v, t;
	uint8_t vec;

	afx_create(&fx, 1);
	c = fx.cpu[0];
	apic_on(c);
	aw(c, 0x380, 5000000);                               /* one-shot running ... */
	aw(c, 0x320, 0x40052);                               /* ... mode change stops it */
	assert_int_equal(ar(c, 0x380), 0);
	aw(c, 0x380, 5000000);                               /* ignored in this mode */
	assert_int_equal(ar(c, 0x390), 0);
	assert_int_equal(vmm__lapic_msr_write(c, 0x6e0, __rdtsc() + hz / 50), 0);  /* 20 ms */
	assert_int_equal(vmm__lapic_msr_read(c, 0x6e0, &v), 0);
	assert_true(v != 0);
	t = wait_irr(c, 0x52, 2000);
	assert_true(t >= 10000000ull);
	assert_int_equal(vmm__lapic_msr_read(c, 0x6e0, &v), 0);
	assert_int_equal(v, 0);                              /* cleared when it fired */
	assert_int_equal(take(c, &vec), VMM__INTR_EXT);
	assert_int_equal(vec, 0x52);
	aw(c, 0xb0, 0);
	assert_int_equal(vmm__lapic_msr_write(c, 0x6e0, __rdtsc() + hz / 100), 0);
	assert_int_equal(vmm__lapic_msr_write(c, 0x6e0, 0), 0);  /* disarmed */
	assert_int_equal(wait_irr(c, 0x52, 40), 0);
	assert_int_equal(vmm__lapic_msr_write(c, 0x6e0, 1), 0);  /* the past: at once */
	assert_true(wait_irr(c, 0x52, 1000) > 0 || vec_bit(c, 0x200, 0x52));
	afx_destroy(&fx);
}

/* What kvm-unit-tests' apic test asks and a loaded host must not break:
 * a TSC deadline in the past is in IRR when the WRMSR returns (no timer
 * thread involved), a one-shot count that reached 0 stays 0 when the mode
 * becomes periodic, and re-enabling the APIC restores the initial ID. */
static void test_timer_immediate_and_id_reset(void **state)
{
	apic_fx fx;
	vmm_vcpu *c;
	uint64_t v;

	afx_create(&fx, 2);
	c = fx.cpu[1];
	apic_on(c);
	aw(c, 0x320, 0x40052);
	assert_int_equal(vmm__lapic_msr_write(c, 0x6e0, __rdtsc()), 0);
	assert_int_equal(vec_bit(c, 0x200, 0x52), 1);      /* at once */
	assert_int_equal(vmm__lapic_msr_read(c, 0x6e0, &v), 0);
	assert_int_equal(v, 0);
	aw(c, 0x320, 0x10053);                              /* one-shot, masked */
	aw(c, 0x3e0, 0xb);                                  /* divide by 1 */
	aw(c, 0x380, 1000);                                 /* ~1 us at 1 GHz */
	sleep_ms(5);
	assert_int_equal(ar(c, 0x390), 0);
	aw(c, 0x320, 0x30053);                              /* periodic now */
	assert_int_equal(ar(c, 0x390), 0);                  /* stays at zero */
	aw(c, 0x20, 7u << 24);                              /* ID 7 */
	assert_int_equal(ar(c, 0x20), 7u << 24);
	assert_int_equal(vmm__lapic_msr_read(c, 0x1b, &v), 0);
	assert_int_equal(vmm__lapic_msr_write(c, 0x1b, v & ~(1ull << 11)), 0);   /* off */
	assert_int_equal(vmm__lapic_msr_write(c, 0x1b, v), 0);                   /* on */
	assert_int_equal(ar(c, 0x20), 1u << 24);            /* the initial ID again */
	afx_destroy(&fx);
}

/* KVM_HC_SEND_IPI as KVM answers it: a fixed IPI to APIC IDs min + bit,
 * the count of APICs reached, none past the last ID, -22 for a logical
 * destination or a shorthand. */
static void test_pv_send_ipi(void **state)
{
	apic_fx fx;

	afx_create(&fx, 3);
	for (uint32_t i = 0; i < 3; i++)
		apic_on(fx.cpu[i]);
	assert_int_equal(vmm__lapic_pv_send_ipi(fx.cpu[0], 0x6, 0, 0, 0x61, 1), 2);
	assert_int_equal(vec_bit(fx.cpu[0], 0x200, 0x61), 0);
	assert_int_equal(vec_bit(fx.cpu[1], 0x200, 0x61), 1);
	assert_int_equal(vec_bit(fx.cpu[2], 0x200, 0x61), 1);
	assert_int_equal(vmm__lapic_pv_send_ipi(fx.cpu[0], 1, 0, 2, 0x62, 1), 1);
	assert_int_equal(vec_bit(fx.cpu[2], 0x200, 0x62), 1);
	assert_int_equal(vmm__lapic_pv_send_ipi(fx.cpu[0], 0xffffffff, 0, 0xffffffff, 0, 1), 0);
	assert_int_equal(vmm__lapic_pv_send_ipi(fx.cpu[0], 1, 0, 0, 0x862, 1), -22);
	assert_int_equal(vmm__lapic_pv_send_ipi(fx.cpu[0], 1, 0, 0, 0xc0062, 1), -22);
	assert_int_equal(vmm__lapic_pv_send_ipi(fx.cpu[0], 1ull << 40, 0, 0, 0x63, 0), 0);
	afx_destroy(&fx);
}

/* Hostile: every register of both APIC modes, the IOAPIC and the MSRs get
 * random values (wild vectors, modes, destinations, timer counts) while
 * events are taken; nothing may crash, hang or trip a sanitizer. */
static void test_random_writes(void **state)
{
	apic_fx fx;
	uint64_t x = 0x9e3779b97f4a7c15ull, v;
	uint8_t vec;

	afx_create(&fx, 3);
	for (int i = 0; i < 20000; i++) {
		vmm_vcpu *c;
		uint32_t reg;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		c = fx.cpu[x % 3];
		reg = (uint32_t)(x >> 8) & 0x3f0;
		if (reg == 0x380)
			v = (x >> 20) & 0xffff;     /* keep timers short or off */
		else
			v = x >> 16;
		switch ((x >> 40) % 6) {
		case 0: aw(c, reg, (uint32_t)v); break;
		case 1: (void)ar(c, reg); break;
		case 2: vmm__lapic_msr_write(c, 0x800 + (reg >> 4), v & 0xffffffffull); break;
		case 3: vmm__lapic_msr_write(c, 0x1b, (v & 0xc00) | 0xfee00000ull |
					     (c->index ? 0 : 0x100)); break;
		case 4: vmm_msi_send(fx.vm, 0xfee00000ull | ((v & 0xff) << 12) | (v & 0xc),
				     (uint32_t)(v >> 8)); break;
		default:
			mmio_wr(c, IOAPIC, (uint32_t)v & 0x3f);
			mmio_wr(c, IOAPIC + 0x10, (uint32_t)(v >> 8));
			vmm_irq_line(fx.vm, (uint32_t)(v % 24), (uint32_t)(v >> 5) & 1);
			break;
		}
		if (vmm__intr_poll(c, (x >> 50) & 1, (x >> 51) & 1, &vec) == VMM__INTR_INIT)
			c->runnable = false;
		if ((x >> 52) % 7 == 0)
			c->runnable = true;
	}
	afx_destroy(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reset_values),
		cmocka_unit_test(test_register_masks),
		cmocka_unit_test(test_apic_base_and_x2apic),
		cmocka_unit_test(test_priority_and_eoi),
		cmocka_unit_test(test_illegal_vectors),
		cmocka_unit_test(test_ipi_destinations),
		cmocka_unit_test(test_lowest_priority),
		cmocka_unit_test(test_init_sipi),
		cmocka_unit_test(test_timer_oneshot),
		cmocka_unit_test(test_timer_periodic),
		cmocka_unit_test(test_timer_tsc_deadline),
		cmocka_unit_test(test_timer_immediate_and_id_reset),
		cmocka_unit_test(test_pv_send_ipi),
		cmocka_unit_test(test_random_writes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
