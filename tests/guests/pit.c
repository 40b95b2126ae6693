/* pit.c - the 8254 PIT (run with the "irq" device, whose clock is the time
 * reference): channel 0 in rate-generator mode interrupting through the
 * IOAPIC (ISA IRQ 0 = IOAPIC pin 2, the ACPI override) and then through the
 * PIC pair and LINT0 in virtual-wire (ExtINT) mode, each at the programmed
 * rate within the runner's tolerance (up to 3 tries, check_timed); channel 2 with its gate and output on
 * port 0x61 (gate, output) and the read-back command. */
#include "apic.h"

#define PIT_HZ 1193182u
#define V_IOAPIC 0x30
#define V_PIC 0x20          /* PIC master base: IRQ 0 */
#define TICKS 60u

static volatile uint32_t stamp[TICKS + 1];
static volatile uint32_t nstamp;

static void record(uint32_t cpu, uint32_t vector)
{
	if (nstamp <= TICKS)
		stamp[nstamp] = clock_us();
	nstamp++;
	if (vector == V_PIC)
		outb(0x20, 0x20);   /* PIC EOI */
	else
		lapic_eoi();
	(void)cpu;
}

static void channel0(uint16_t divisor)
{
	outb(0x43, 0x34);        /* channel 0, lobyte/hibyte, mode 2 */
	outb(0x40, (uint8_t)divisor);
	outb(0x40, (uint8_t)(divisor >> 8));
}

/* Mode 0 with a count of 1: one last edge at terminal count, then none.
 * (A control word alone does not stop every model's periodic timer.) */
static void channel0_stop(void)
{
	outb(0x43, 0x30);
	outb(0x40, 0x01);
	outb(0x40, 0x00);
}

/* After a stop: whatever was already raised has come within 30 ms, and
 * nothing comes in the next 30 ms. */
static void check_stopped(uint32_t vector)
{
	uint32_t n;

	irq_wait_count(vector, 0xffffffffu, 30000);
	n = irq_count[0][vector];
	CHECK_EQ(irq_wait_count(vector, n + 1, 30000), n);
}

/* TICKS periods of channel 0 on vector (divisor << 8 | vector): the time
 * they took. */
static uint64_t measure_once(uint32_t arg)
{
	uint32_t vector = arg & 0xff;

	nstamp = 0;
	irq_count[0][vector] = 0;
	channel0((uint16_t)(arg >> 8));
	CHECK(irq_wait_count(vector, TICKS + 1, 5000000) >= TICKS + 1);
	channel0_stop();
	check_stopped(vector);
	return stamp[TICKS] - stamp[0];
}

static void measure(uint32_t vector, uint16_t divisor)
{
	check_timed(measure_once, (uint32_t)divisor << 8 | vector,
		    (uint64_t)TICKS * divisor * 1000000u / PIT_HZ);
}

static void through_ioapic(void)
{
	ioapic_route(2, V_IOAPIC | (uint64_t)lapic_id() << 56);
	measure(V_IOAPIC, 11932);                /* 100 Hz */
	ioapic_route(2, V_IOAPIC | IOAPIC_MASKED);
	printf("pit: channel 0 through the IOAPIC at the programmed rate\n");
}

static void pic_init(void)
{
	outb(0x20, 0x11); outb(0x21, V_PIC); outb(0x21, 0x04); outb(0x21, 0x01);
	outb(0xa0, 0x11); outb(0xa1, 0x28); outb(0xa1, 0x02); outb(0xa1, 0x01);
	outb(0x21, 0xfe);        /* only IRQ 0 */
	outb(0xa1, 0xff);
}

static void through_pic(void)
{
	uint32_t before = irq_count[0][V_IOAPIC];

	pic_init();
	lapic_write(LAPIC_LVT_LINT0, LVT_EXTINT);    /* virtual wire */
	measure(V_PIC, 5966);                        /* 200 Hz */
	outb(0x21, 0xff);
	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED | LVT_EXTINT);
	CHECK_EQ(irq_count[0][V_IOAPIC], before);   /* pin 2 stayed masked */
	printf("pit: channel 0 through the PIC at the programmed rate\n");
}

/* Read-back status of channel 2: OUT in bit 7, access and mode below. */
static uint8_t ch2_status(void)
{
	outb(0x43, 0xe8);
	return inb(0x42);
}

static uint16_t ch2_count(void)
{
	uint8_t lo, hi;

	outb(0x43, 0x80);        /* latch channel 2 */
	lo = inb(0x42);
	hi = inb(0x42);
	return (uint16_t)(hi << 8 | lo);
}

static void channel2(void)
{
	uint16_t a, b;

	/* Gate high, speaker off. (A low gate pausing mode 0 is not checked:
	 * KVM's and QEMU's PITs do not model it.) */
	outb(0x61, (inb(0x61) & 0x0c) | 1);
	outb(0x43, 0xb0);                       /* channel 2, lo/hi, mode 0 */
	outb(0x42, 0xff);
	outb(0x42, 0xff);                       /* 65535: 55 ms */
	CHECK_EQ(ch2_status() & 0x3f, 0x30);
	CHECK_EQ(inb(0x61) & 0x20, 0);          /* OUT low while counting */
	a = ch2_count();
	delay_us(2000);
	b = ch2_count();
	CHECK(a != b && (uint16_t)(a - b) < 0x8000);   /* counts down */
	delay_us(60000);
	CHECK(inb(0x61) & 0x20);                /* terminal count reached */
	CHECK(ch2_status() & 0x80);
	CHECK_EQ(inb(0x61) & 1, 1);             /* the gate reads back */
	outb(0x61, inb(0x61) & 0x0c);
	printf("pit: channel 2 gate and output on port 0x61\n");
}

int guest_main(uint32_t index, uint32_t count)
{
	CHECK_EQ(index, 0);
	CHECK_EQ(count, 1);
	irq_install(0);
	lapic_enable();
	irq_hook[V_IOAPIC] = irq_hook[V_PIC] = record;
	through_ioapic();
	through_pic();
	channel2();
	guest_pass("pit");
}
