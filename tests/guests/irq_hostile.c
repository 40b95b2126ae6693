/* irq_hostile.c - a guest that abuses its interrupt controllers (run with
 * the "irq" device, 2 vCPUs): the APIC timer and an IOAPIC pin programmed
 * with illegal vectors (0-15), IPIs and MSIs to absent APIC IDs, a SIPI to
 * a running vCPU, an INIT level de-assert, wild values in every local APIC
 * register; then the IDT is made garbage (limit 0) while interrupts keep
 * coming: the VM must end with a triple fault, never a host crash or hang.
 * Expected end: shutdown. vCPU 0 prints; vCPU 1 just spins, interrupts on. */
#include "apic.h"

#define V_OK 0x60

static volatile uint32_t ap_up;

static void wild_registers(void)
{
	static const uint32_t regs[] = {
		LAPIC_TPR, LAPIC_LDR, LAPIC_DFR, LAPIC_ESR, LAPIC_LVT_LINT1,
		LAPIC_LVT_ERR, LAPIC_TIMER_DIV, 0x330, 0x340, 0x3f0, 0x400, 0xff0
	};
	uint32_t x = 0x12345678u;

	for (int round = 0; round < 8; round++)
		for (unsigned i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			lapic_write(regs[i], x | LVT_MASKED);
		}
	lapic_enable();                         /* back to a sane state */
}

static void ap_main(void)
{
	irq_install(1);
	lapic_enable();
	ap_up = 1;
	irq_enable();
	for (;;)
		cpu_pause();
}

int guest_main(uint32_t index, uint32_t count)
{
	uint32_t t0;

	CHECK_EQ(count, 2);
	if (index == 1)
		ap_main();
	irq_install(0);
	lapic_enable();
	irq_tolerate_low = 1;                   /* an APIC delivering 1 or 3 is noted */
	t0 = clock_us();
	while (!ap_up && clock_us() - t0 < 2000000u)
		cpu_pause();
	CHECK(ap_up);
	/* the timer with vector 3, periodic, fast */
	lapic_write(LAPIC_TIMER_DIV, 0xb);
	lapic_write(LAPIC_LVT_TIMER, LVT_PERIODIC | 3);
	lapic_write(LAPIC_TIMER_INIT, 1000);
	irq_wait_count(V_OK, 1, 20000);
	lapic_write(LAPIC_TIMER_INIT, 0);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	/* an IOAPIC pin with vector 1, and MSIs and IPIs to nobody */
	ioapic_route(5, 1 | (uint64_t)lapic_id() << 56);
	dev_line(5, 1);
	dev_line(5, 0);
	ioapic_route(5, IOAPIC_MASKED);
	dev_msi(0xfee00000u | 0x3fu << 12, V_OK);
	lapic_ipi(0x3f, ICR_FIXED | V_OK);
	lapic_ipi(0x3f, ICR_NMI);
	lapic_ipi(1, ICR_SIPI | 0x10);          /* vCPU 1 runs: ignored */
	lapic_ipi(0, ICR_INIT | ICR_LEVEL | ICR_OTHERS);   /* INIT de-assert */
	irq_wait_count(V_OK, 1, 20000);
	CHECK_EQ(irq_count[0][V_OK], 0);
	if (irq_count[0][1] + irq_count[0][3])
		guest_note("the APIC delivered an illegal vector (hardware does not)");
	wild_registers();
	lapic_write(LAPIC_ESR, 0);
	printf("irq_hostile: illegal vectors, absent targets, wild registers survived\n");
	/* vCPU 1 still takes IPIs */
	lapic_ipi(1, ICR_FIXED | V_OK);
	t0 = clock_us();
	while (!irq_count[1][V_OK] && clock_us() - t0 < 500000u)
		cpu_pause();
	CHECK_EQ(irq_count[1][V_OK], 1);
	printf("irq_hostile: the other vCPU still takes IPIs\n");
	/* garbage IDT, then an interrupt: #GP, #DF, triple fault */
	printf("irq_hostile: garbage IDT with an interrupt coming\n");
	{
		struct { uint16_t limit; uint64_t base; } __attribute__((packed)) idtr = { 0, 0 };

		__asm__ volatile("lidt %0" : : "m"(idtr) : "memory");
	}
	lapic_write(LAPIC_LVT_TIMER, V_OK);
	lapic_write(LAPIC_TIMER_INIT, 100000);
	irq_enable();
	for (;;)
		cpu_pause();
}
