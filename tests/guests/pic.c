/* pic.c - the legacy interrupt path: the 8254's counter 0 through the
 * 8259A pair and LINT0 in virtual-wire (ExtINT) mode to the CPU: delivery,
 * masking (the request waits in IRR), a missing EOI blocking its level (ISR)
 * until the EOI, a level-triggered input (ELCR) redelivered until it is
 * lowered, and the spurious IRQ15 of a slave request masked after the
 * master latched the cascade (vector 0x2f, master ISR bit 2 set, slave ISR
 * clear). Run with the "irq" device (line control, clock).
 * Expected end: debug exit 0. */
#include "apic.h"

#define V_MASTER 0x20
#define V_SLAVE 0x28

static volatile int eoi_in_handler = 1;
static volatile uint8_t spurious_master_isr, spurious_slave_isr;
static volatile uint32_t level_calls;

static uint8_t pic_reg(uint16_t cmd, uint8_t ocw3)
{
	uint8_t v;

	outb(cmd, ocw3);
	v = inb(cmd);
	outb(cmd, 0x0a);
	return v;
}

static void on_irq0(uint32_t cpu, uint32_t vector)
{
	if (eoi_in_handler)
		outb(0x20, 0x20);
	(void)cpu;
	(void)vector;
}

static void on_spurious15(uint32_t cpu, uint32_t vector)
{
	spurious_master_isr = pic_reg(0x20, 0x0b);
	spurious_slave_isr = pic_reg(0xa0, 0x0b);
	outb(0x20, 0x20);        /* the master's cascade needs its EOI */
	(void)cpu;
	(void)vector;
}

static void on_irq10(uint32_t cpu, uint32_t vector)
{
	if (++level_calls == 3)
		dev_line(10, 0);
	outb(0xa0, 0x20);
	outb(0x20, 0x20);
	(void)cpu;
	(void)vector;
}

/* Interrupts on for us of the runner's clock. */
static void window_us(uint32_t us)
{
	uint32_t t0 = clock_us(), now;

	do {
		irq_enable();
		now = clock_us();
		irq_disable();
	} while (now - t0 < us);
}

static void pic_init(void)
{
	outb(0x20, 0x11); outb(0x21, V_MASTER); outb(0x21, 0x04); outb(0x21, 0x01);
	outb(0xa0, 0x11); outb(0xa1, V_SLAVE); outb(0xa1, 0x02); outb(0xa1, 0x01);
	outb(0x21, 0xfe);        /* IRQ 0 only */
	outb(0xa1, 0xff);
}

static void timer_delivery_and_mask(void)
{
	uint32_t n;

	outb(0x43, 0x34);        /* counter 0, mode 2, 100 Hz */
	outb(0x40, 0x9c);
	outb(0x40, 0x2e);
	CHECK_EQ(irq_wait_count(V_MASTER, 10, 5000000), 10);
	outb(0x21, 0xff);        /* masked */
	window_us(2000);         /* one in flight may still land */
	n = irq_count[0][V_MASTER];
	window_us(50000);
	CHECK_EQ(irq_count[0][V_MASTER], n);
	CHECK_EQ(pic_reg(0x20, 0x0a) & 1, 1);   /* waiting in IRR */
	outb(0x21, 0xfe);
	CHECK_EQ(irq_wait_count(V_MASTER, n + 1, 1000000), n + 1);
	printf("pic: timer interrupts through the PIC; masked ones wait in IRR\n");
}

static void missing_eoi(void)
{
	uint32_t n;

	eoi_in_handler = 0;
	n = irq_count[0][V_MASTER];
	CHECK_EQ(irq_wait_count(V_MASTER, n + 1, 1000000), n + 1);
	window_us(50000);        /* five periods: blocked by ISR bit 0 */
	CHECK_EQ(irq_count[0][V_MASTER], n + 1);
	CHECK_EQ(pic_reg(0x20, 0x0b), 0x01);
	eoi_in_handler = 1;
	outb(0x20, 0x20);        /* non-specific EOI */
	CHECK_EQ(pic_reg(0x20, 0x0b), 0x00);
	CHECK_EQ(irq_wait_count(V_MASTER, n + 2, 1000000), n + 2);
	outb(0x21, 0xff);
	outb(0x43, 0x30);        /* counter 0 stops (mode 0, no count) */
	window_us(20000);
	printf("pic: no EOI, no further interrupt of that level until the EOI\n");
}

static void level_triggered(void)
{
	outb(0x4d1, 0x04);       /* IRQ 10 level-triggered */
	outb(0x21, 0xfb);        /* cascade */
	outb(0xa1, 0xfb);        /* IRQ 10 */
	dev_line(10, 1);
	CHECK_EQ(irq_wait_count(V_SLAVE + 2, 3, 1000000), 3);
	window_us(20000);
	CHECK_EQ(irq_count[0][V_SLAVE + 2], 3);  /* lowered in the 3rd */
	CHECK_EQ(level_calls, 3);
	outb(0xa1, 0xff);
	outb(0x4d1, 0x00);
	printf("pic: a level-triggered input is redelivered until lowered\n");
}

static void spurious_slave(void)
{
	outb(0x21, 0xfb);        /* cascade only */
	outb(0xa1, 0xf7);        /* IRQ 11 */
	dev_line(11, 1);         /* the master latches IRQ 2 (an edge) */
	outb(0xa1, 0xff);        /* gone from the slave before the INTA */
	dev_line(11, 0);
	CHECK_EQ(irq_wait_count(V_SLAVE + 7, 1, 1000000), 1);
	CHECK_EQ(irq_count[0][V_SLAVE + 3], 0);
	CHECK_EQ(spurious_master_isr, 0x04);
	CHECK_EQ(spurious_slave_isr, 0x00);
	CHECK_EQ(pic_reg(0x20, 0x0b), 0x00);
	outb(0x21, 0xff);
	printf("pic: a vanished slave request is spurious IRQ 15, master ISR 2 set\n");
}

int guest_main(uint32_t index, uint32_t count)
{
	CHECK_EQ(index, 0);
	CHECK_EQ(count, 1);
	irq_install(0);
	lapic_enable();
	irq_hook[V_MASTER] = on_irq0;
	irq_hook[V_SLAVE + 7] = on_spurious15;
	irq_hook[V_SLAVE + 2] = on_irq10;
	pic_init();
	lapic_write(LAPIC_LVT_LINT0, LVT_EXTINT);    /* virtual wire */
	timer_delivery_and_mask();
	missing_eoi();
	level_triggered();
	spurious_slave();
	guest_pass("pic");
}
