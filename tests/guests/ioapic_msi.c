/* ioapic_msi.c - interrupts a device raises (run with the "irq" device):
 * through the IOAPIC with vmm_irq_line (edge; level with remote IRR and
 * EOI; masking) and as MSIs with vmm_msi_send (to this vCPU, to an absent
 * APIC ID, with an illegal vector, and a storm sent by a host thread while
 * the guest runs). */
#include "apic.h"

#define V_EDGE 0x41
#define V_LEVEL 0x42
#define V_MASK 0x43
#define V_MASKL 0x46
#define V_MSI 0x44
#define V_STORM 0x45
#define WAIT_US 200000u     /* an interrupt that is due comes long before */
#define QUIET_US 20000u     /* time given to one that must not come */

static uint64_t to_me(uint32_t vector, uint64_t flags)
{
	return vector | flags | (uint64_t)lapic_id() << 56;
}

static void pulse(uint32_t gsi)
{
	dev_line(gsi, 1);
	dev_line(gsi, 0);
	CHECK_EQ(dev_status(), 0);
}

static void edge(void)
{
	ioapic_route(5, to_me(V_EDGE, 0));
	pulse(5);
	CHECK_EQ(irq_wait_count(V_EDGE, 1, WAIT_US), 1);
	pulse(5);
	pulse(5);    /* two edges while IF=0: one interrupt in IRR, maybe two */
	CHECK(irq_wait_count(V_EDGE, 2, WAIT_US) >= 2);
	printf("ioapic_msi: edge pin 5 delivered\n");
}

static void level(void)
{
	ioapic_route(7, to_me(V_LEVEL, IOAPIC_LEVEL));
	dev_line(7, 1);
	CHECK_EQ(irq_wait_count(V_LEVEL, 1, WAIT_US), 1);
	CHECK(ioapic_entry(7) & IOAPIC_REMOTE_IRR);
	/* no second delivery while remote IRR is set */
	CHECK(lapic_read(LAPIC_ISR + 0x20) & (1u << (V_LEVEL - 0x40)));
	CHECK_EQ(irq_wait_count(V_LEVEL, 2, QUIET_US), 1);
	lapic_eoi();                 /* still asserted: delivered again */
	CHECK_EQ(irq_wait_count(V_LEVEL, 2, WAIT_US), 2);
	dev_line(7, 0);
	lapic_eoi();
	CHECK(!(ioapic_entry(7) & IOAPIC_REMOTE_IRR));
	CHECK_EQ(irq_wait_count(V_LEVEL, 3, QUIET_US), 2);
	printf("ioapic_msi: level pin 7, remote IRR and EOI\n");
}

static void masking(void)
{
	ioapic_route(9, to_me(V_MASK, IOAPIC_MASKED));
	pulse(9);                    /* an edge on a masked pin is lost */
	ioapic_route(9, to_me(V_MASK, 0));
	CHECK_EQ(irq_wait_count(V_MASK, 1, QUIET_US), 0);
	ioapic_route(9, to_me(V_MASKL, IOAPIC_MASKED | IOAPIC_LEVEL));
	dev_line(9, 1);              /* a level held while masked ... */
	CHECK_EQ(irq_wait_count(V_MASKL, 1, QUIET_US), 0);
	ioapic_route(9, to_me(V_MASKL, IOAPIC_LEVEL));
	CHECK_EQ(irq_wait_count(V_MASKL, 1, WAIT_US), 1);  /* ... comes on unmask */
	dev_line(9, 0);
	lapic_eoi();
	CHECK_EQ(irq_wait_count(V_MASKL, 2, QUIET_US), 1);
	printf("ioapic_msi: masked pins\n");
}

static void msi(void)
{
	dev_msi(0xfee00000u | lapic_id() << 12, V_MSI);
	CHECK_EQ(dev_status(), 0);
	CHECK_EQ(irq_wait_count(V_MSI, 1, WAIT_US), 1);
	dev_msi(0xfee00000u | 5u << 12, V_MSI);   /* APIC ID 5: nobody */
	CHECK_EQ(dev_status(), 0);
	CHECK_EQ(irq_wait_count(V_MSI, 2, QUIET_US), 1);
	/* vector 3 is illegal (0-15): hardware drops it with an APIC error */
	irq_tolerate_low = 1;
	irq_auto_eoi[3] = 1;
	dev_msi(0xfee00000u | lapic_id() << 12, 3);
	CHECK_EQ(dev_status(), 0);
	if (irq_wait_count(3, 1, QUIET_US))
		guest_note("an MSI with illegal vector 3 was delivered");
	printf("ioapic_msi: MSI delivered; MSI to an absent APIC ID dropped\n");
}

static void storm(void)
{
	uint32_t t0;

	irq_auto_eoi[V_STORM] = 1;
	/* sends one and latches data and address for the storm thread */
	dev_msi(0xfee00000u | lapic_id() << 12, V_STORM);
	outb(TESTDEV_IRQ_STORM, 1);
	t0 = clock_us();
	irq_enable();
	while (!inb(TESTDEV_IRQ_STORM) && clock_us() - t0 < 3000000u)
		cpu_pause();                  /* the thread has started sending */
	t0 = clock_us();
	while (clock_us() - t0 < 100000u)
		cpu_pause();
	irq_disable();
	outb(TESTDEV_IRQ_STORM, 0);
	CHECK_EQ(inb(TESTDEV_IRQ_STORM), 1);
	CHECK(irq_count[0][V_STORM] >= 1);
	printf("ioapic_msi: MSI storm from a host thread survived\n");
}

int guest_main(uint32_t index, uint32_t count)
{
	CHECK_EQ(index, 0);
	CHECK_EQ(count, 1);
	irq_install(0);
	lapic_enable();
	irq_auto_eoi[V_EDGE] = irq_auto_eoi[V_MASK] = irq_auto_eoi[V_MSI] = 1;
	edge();
	level();
	masking();
	msi();
	storm();
	CHECK_EQ(irq_total(0), irq_count[0][V_EDGE] + irq_count[0][V_LEVEL] +
		 irq_count[0][V_MASK] + irq_count[0][V_MASKL] + irq_count[0][V_MSI] +
		 irq_count[0][V_STORM]);
	guest_pass("ioapic_msi");
}
