/* apic.h - interrupts for the interrupt-architecture guests: an IDT with
 * all 256 vectors, per-vCPU interrupt counts, the local APIC (xAPIC MMIO or
 * x2APIC MSRs), the IOAPIC and the runner's interrupt device (testdev.h).
 *
 * irq_install() loads the IDT on the calling vCPU and gives it a per-vCPU
 * block (GS base) so handlers know which vCPU they run on. An exception
 * (vectors 0-31) ends the run with a FAIL line. Every other vector
 * increments irq_count[cpu][vector], records the order in which it came
 * (irq_last[cpu]), then calls irq_hook[vector] if set; handlers do not EOI
 * unless irq_auto_eoi[vector] is set. */
#ifndef GUEST_APIC_H
#define GUEST_APIC_H

#include <stdint.h>

#include "common.h"
#include "../testdev.h"

#define APIC_CPUS 8
#define LAPIC_BASE 0xfee00000ull
#define IOAPIC_BASE 0xfec00000ull

/* Local APIC registers (xAPIC offsets; x2APIC MSR 0x800 + off / 16). */
enum {
	LAPIC_ID = 0x20, LAPIC_VER = 0x30, LAPIC_TPR = 0x80, LAPIC_EOI = 0xb0,
	LAPIC_LDR = 0xd0, LAPIC_DFR = 0xe0, LAPIC_SVR = 0xf0, LAPIC_ISR = 0x100,
	LAPIC_TMR = 0x180, LAPIC_IRR = 0x200, LAPIC_ESR = 0x280,
	LAPIC_ICR_LO = 0x300, LAPIC_ICR_HI = 0x310, LAPIC_LVT_TIMER = 0x320,
	LAPIC_LVT_LINT0 = 0x350, LAPIC_LVT_LINT1 = 0x360, LAPIC_LVT_ERR = 0x370,
	LAPIC_TIMER_INIT = 0x380, LAPIC_TIMER_CUR = 0x390, LAPIC_TIMER_DIV = 0x3e0
};
/* ICR fields */
#define ICR_FIXED 0x000u
#define ICR_NMI 0x400u
#define ICR_INIT 0x500u
#define ICR_SIPI 0x600u
#define ICR_LOGICAL (1u << 11)
#define ICR_PENDING (1u << 12)
#define ICR_ASSERT (1u << 14)
#define ICR_LEVEL (1u << 15)
#define ICR_SELF (1u << 18)
#define ICR_ALL (2u << 18)
#define ICR_OTHERS (3u << 18)
#define LVT_MASKED (1u << 16)
#define LVT_PERIODIC (1u << 17)
#define LVT_TSC_DEADLINE (2u << 17)
#define LVT_EXTINT 0x700u
#define MSR_APIC_BASE 0x1b
#define MSR_TSC_DEADLINE 0x6e0

extern volatile uint32_t irq_count[APIC_CPUS][256];
extern volatile uint8_t irq_last[APIC_CPUS];
extern void (*volatile irq_hook[256])(uint32_t cpu, uint32_t vector);
extern volatile uint8_t irq_auto_eoi[256];
/* Nonzero: vectors 1 and 3 arriving as interrupts (an APIC that delivers
 * an illegal vector) are counted instead of failing the run. */
extern volatile uint8_t irq_tolerate_low;
/* Enables interrupts until irq_count[cpu][vector] reaches n or timeout_us
 * of the runner's clock pass; returns the count. */
uint32_t irq_wait_count(uint32_t vector, uint32_t n, uint32_t timeout_us);

/* Loads the IDT and sets this vCPU's number (GS base block). */
void irq_install(uint32_t cpu);
uint32_t irq_cpu(void);
static inline void irq_enable(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void irq_disable(void) { __asm__ volatile("cli" ::: "memory"); }
/* sti; hlt (the interrupt shadow makes it atomic); then cli. */
static inline void irq_wait(void) { __asm__ volatile("sti; hlt; cli" ::: "memory"); }
uint32_t irq_total(uint32_t cpu);

/* Local APIC: xAPIC unless lapic_x2apic() switched this vCPU over. */
uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t v);
/* Software-enables the APIC (SVR = 0x1ff), TPR 0, LVTs masked; masks
 * the PIC pair (LINT0 masked too: no ExtINT from it). */
void lapic_enable(void);
void lapic_eoi(void);
uint32_t lapic_id(void);
/* x2APIC: 1 if CPUID offers it and this vCPU now runs in x2APIC mode. */
int cpu_has_x2apic(void);
int cpu_has_tsc_deadline(void);
void lapic_x2apic(void);
int lapic_is_x2apic(void);
/* Sends an IPI: icr is the low word (vector, mode, shorthand), dest the
 * destination (xAPIC: 8 bits, x2APIC: 32). Waits for delivery (xAPIC). */
void lapic_ipi(uint32_t dest, uint32_t icr);

/* IOAPIC redirection entries. */
uint32_t ioapic_read(uint32_t reg);
void ioapic_write(uint32_t reg, uint32_t v);
void ioapic_route(uint32_t pin, uint64_t entry);
uint64_t ioapic_entry(uint32_t pin);
#define IOAPIC_MASKED (1ull << 16)
#define IOAPIC_LEVEL (1ull << 15)
#define IOAPIC_REMOTE_IRR (1ull << 14)

/* The runner's interrupt device. */
static inline uint32_t clock_us(void) { return inl(TESTDEV_IRQ_CLOCK); }
static inline uint32_t clock_tolerance(void) { return inb(TESTDEV_IRQ_TOL); }
static inline void dev_line(uint32_t gsi, uint32_t level)
{
	outb(TESTDEV_IRQ_LINE, (uint8_t)(gsi | (level << 7)));
}
static inline void dev_msi(uint32_t addr, uint32_t data)
{
	outl(TESTDEV_IRQ_MSIDAT, data);
	outl(TESTDEV_IRQ_MSIADR, addr);
}
static inline uint8_t dev_status(void) { return inb(TESTDEV_IRQ_STATUS); }
/* 1 if measured is within the runner's tolerance of expected. */
int within_tolerance(uint64_t measured, uint64_t expected);
/* CHECK(within_tolerance(m, e)), printing both values when it fails. */
#define CHECK_NEAR(m, e)                                                     \
	do {                                                                 \
		uint64_t _nm = (uint64_t)(m), _ne = (uint64_t)(e);           \
		if (!within_tolerance(_nm, _ne))                             \
			check_fail(__FILE_NAME__, __LINE__, #m " ~ " #e, _nm, \
				   _ne, 1);                                  \
	} while (0)
/* Runs a timed phase (which returns what it measured) up to 3 times until
 * a measurement lies within the tolerance of expected; fails with the last
 * one otherwise. A loaded host can hold a vCPU back for a while, so one
 * measurement off is retried; a backend that is systematically off fails
 * every try. */
void check_timed(uint64_t (*phase)(uint32_t arg), uint32_t arg, uint64_t expected);
/* Busy-waits us microseconds of the runner's clock. */
void delay_us(uint32_t us);
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

#endif /* GUEST_APIC_H */
