/* lapic.h - the core's local APIC model, shared by lapic.c (registers,
 * acceptance, EOI), lapic_timer.c (the APIC timer) and apic_bus.c
 * (destination matching, the APIC bus, vmm__intr_poll). Private to
 * lib/platform/. */
#ifndef VMM_PLATFORM_LAPIC_H
#define VMM_PLATFORM_LAPIC_H

#include "lib/platform/chips.h"

/* APIC_BASE MSR bits. */
#define LAPIC_BASE_BSP (1ull << 8)
#define LAPIC_BASE_EXTD (1ull << 10)
#define LAPIC_BASE_EN (1ull << 11)

/* xAPIC register offsets (x2APIC MSR = 0x800 + offset / 16). */
enum {
	LAPIC_ID = 0x20, LAPIC_VER = 0x30, LAPIC_TPR = 0x80, LAPIC_APR = 0x90,
	LAPIC_PPR = 0xa0, LAPIC_EOI = 0xb0, LAPIC_RRD = 0xc0, LAPIC_LDR = 0xd0,
	LAPIC_DFR = 0xe0, LAPIC_SVR = 0xf0, LAPIC_ISR = 0x100, LAPIC_TMR = 0x180,
	LAPIC_IRR = 0x200, LAPIC_ESR = 0x280, LAPIC_CMCI = 0x2f0, LAPIC_ICR = 0x300,
	LAPIC_ICR2 = 0x310, LAPIC_LVT_TIMER = 0x320, LAPIC_LVT_THERMAL = 0x330,
	LAPIC_LVT_PERF = 0x340, LAPIC_LVT_LINT0 = 0x350, LAPIC_LVT_LINT1 = 0x360,
	LAPIC_LVT_ERROR = 0x370, LAPIC_TICR = 0x380, LAPIC_TCCR = 0x390,
	LAPIC_TDCR = 0x3e0, LAPIC_SELF_IPI = 0x3f0
};

/* LVT indexes (lvt[] order = register order from 0x320). */
enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_COUNT };

#define LVT_MASKED (1u << 16)
#define LAPIC_VERSION (0x14u | ((LVT_COUNT - 1u) << 16))   /* 0x50014 */
#define SVR_ENABLE (1u << 8)

/* ESR bits. */
#define ESR_SEND_ILLEGAL (1u << 5)
#define ESR_RECV_ILLEGAL (1u << 6)
#define ESR_ILLEGAL_REG (1u << 7)

/* Timer modes (LVT timer bits 18:17). */
enum { TIMER_ONESHOT = 0, TIMER_PERIODIC = 1, TIMER_TSC_DEADLINE = 2 };

/* The APIC bus runs at 1 GHz (one count per ns at divide 1), as KVM's. */
#define LAPIC_BUS_NS 1ull
/* A periodic timer fires at most every 200 us (as KVM's default
 * min_timer_period_us): a guest cannot turn it into a host storm. */
#define LAPIC_MIN_PERIOD_NS 200000ull

struct vmm__lapic {
	pthread_mutex_t lock;
	vmm_vcpu *vcpu;
	uint64_t base;               /* APIC_BASE MSR */
	uint32_t id;                 /* xAPIC: bits 31:24 of the register */
	uint32_t tpr, ldr, dfr, svr;
	uint32_t esr, esr_pending;   /* readable ESR / errors since last write */
	uint32_t icr_lo, icr_hi;
	uint32_t lvt[LVT_COUNT];
	uint32_t irr[8], isr[8], tmr[8];
	/* timer */
	uint32_t tdcr, ticr;
	uint64_t t_start_ns;         /* the count was (re)loaded at */
	uint64_t t_period_ns;        /* ticr * divisor in ns */
	uint64_t t_deadline_ns;      /* armed expiry, 0: not armed */
	uint64_t tsc_deadline;       /* MSR 0x6e0 value (host TSC units) */
	vmm__timer timer;
	/* events */
	/* NMIs latched, at most 2: one that hardware would have taken at once
	 * and one held behind it (as KVM counts); 1 while an NMI handler runs */
	uint8_t nmi_pending;
	bool init_pending, sipi_pending, extint_pending;
	uint8_t sipi_vector;
};

static inline bool lapic_hw_enabled(const struct vmm__lapic *l)
{
	return (l->base & LAPIC_BASE_EN) != 0;
}

static inline bool lapic_x2(const struct vmm__lapic *l)
{
	return (l->base & LAPIC_BASE_EXTD) != 0;
}

static inline bool lapic_sw_enabled(const struct vmm__lapic *l)
{
	return lapic_hw_enabled(l) && (l->svr & SVR_ENABLE);
}

static inline void vec_set(uint32_t *bits, uint8_t v) { bits[v >> 5] |= 1u << (v & 31); }
static inline void vec_clr(uint32_t *bits, uint8_t v) { bits[v >> 5] &= ~(1u << (v & 31)); }
static inline bool vec_test(const uint32_t *bits, uint8_t v)
{
	return (bits[v >> 5] >> (v & 31)) & 1;
}

/* Highest set vector, or -1. */
int lapic_highest(const uint32_t *bits);

/* lapic.c; with l->lock held. */
uint32_t lapic_ppr(const struct vmm__lapic *l);
/* Sets IRR for a fixed interrupt from this APIC's own sources (LVT, self
 * IPI) or the bus; an illegal vector logs ESR_RECV_ILLEGAL instead. */
void lapic_set_irr(struct vmm__lapic *l, uint8_t vector, bool level);
void lapic_error(struct vmm__lapic *l, uint32_t bits);
/* Accepts a bus message (takes the lock, wakes the vCPU). */
void lapic_accept(struct vmm__lapic *l, const vmm__apic_msg *msg);
/* The vCPU's lapic, or NULL (absent, destroyed or no core APIC). */
struct vmm__lapic *lapic_of(vmm_vm *vm, uint32_t index);

/* With l->lock held: the INIT state of the registers (ID, base stay). */
void lapic_init_reset(struct vmm__lapic *l);

/* lapic_timer.c; with l->lock held. */
void lapic_timer_init(struct vmm__lapic *l);
void lapic_timer_stop(struct vmm__lapic *l);
void lapic_timer_set_icr(struct vmm__lapic *l, uint32_t count);
void lapic_timer_set_lvt(struct vmm__lapic *l, uint32_t value);
void lapic_timer_set_dcr(struct vmm__lapic *l, uint32_t value);
uint32_t lapic_timer_ccr(const struct vmm__lapic *l);
void lapic_timer_set_deadline(struct vmm__lapic *l, uint64_t host_tsc);
void lapic_timer_catch_up(struct vmm__lapic *l);

/* apic_bus.c */
bool lapic_matches(const struct vmm__lapic *l, const vmm__apic_msg *msg, bool self);

#endif /* VMM_PLATFORM_LAPIC_H */
