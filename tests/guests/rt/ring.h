/* ring.h - CPL 3 for 64-bit test guests (rt/ring64.c): a GDT laid out as
 * SYSCALL/SYSRET and SYSENTER/SYSEXIT expect it, a 64-bit TSS (RSP0, IST),
 * and user-accessible page tables for the first GiB of the boot map. */
#ifndef GUEST_RING_H
#define GUEST_RING_H

#include <stdint.h>

#define SEL_KCODE   0x08      /* 64-bit code, DPL 0 (= the boot GDT's) */
#define SEL_KDATA   0x10
#define SEL_UCODE32 0x1b      /* compatibility-mode code, DPL 3 */
#define SEL_UDATA   0x23      /* SYSRET's SS (STAR[63:48] + 8) */
#define SEL_UCODE64 0x2b      /* SYSRET's CS (STAR[63:48] + 16) */
#define SEL_UDATA2  0x33      /* SYSEXIT's 64-bit SS (SYSENTER_CS + 40) */
#define SEL_TSS     0x38
#define STAR_VALUE  ((0x18ull << 48) | ((uint64_t)SEL_KCODE << 32))

struct tss64 {
	uint32_t rsvd0;
	uint64_t rsp[3];
	uint64_t rsvd1;
	uint64_t ist[7];
	uint64_t rsvd2;
	uint16_t rsvd3, iomap;
} __attribute__((packed));

extern struct tss64 ring_tss;

/* Loads the GDT and TSS, reloads the segment registers, sets U/S on the
 * boot page tables of the first GiB; RSP0 = a kernel stack. */
void ring_setup(void);
/* Sets IDT gate vec (the IDT of idt_install) to handler with DPL dpl and
 * IST index ist. */
void ring_set_gate(unsigned vec, void *handler, unsigned dpl, unsigned ist);
uint64_t ring_rdmsr(uint32_t msr);
void ring_wrmsr(uint32_t msr, uint64_t v);

#endif
