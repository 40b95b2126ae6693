/* test_pic.c - the 8259A pair as a guest programs it through its ports, and
 * its output as the CPU side sees it (vmm__pic_has_intr, vmm__pic_inta).
 * Expected values follow the Intel 8259A datasheet. */
#include <stdlib.h>

#include "platform_fixture.h"

#define M 0x20
#define S 0xa0

static void set(unsigned irq, int level)
{
	vmm__pic_set_irq(pf.vm, irq, level);
}

static void test_init_and_mask(void **state)
{
	pic_init_pc(0x01);
	assert_int_equal(inb(0x21), 0x00);   /* ICW1 clears IMR */
	outb(0x21, 0xa5);
	outb(0xa1, 0x5a);
	assert_int_equal(inb(0x21), 0xa5);
	assert_int_equal(inb(0xa1), 0x5a);
	assert_int_equal(pic_irr(M), 0);
	assert_int_equal(pic_isr(M), 0);
	outb(0x20, 0x11);                    /* ICW1 again: IMR 0, ISR 0 */
	assert_int_equal(inb(0x21), 0x00);
	outb(0x21, 0x27);                    /* ICW2: low 3 bits ignored */
	outb(0x21, 0x04);
	outb(0x21, 0x01);
	set(6, 1);
	assert_true(vmm__pic_has_intr(pf.vm));
	assert_int_equal(vmm__pic_inta(pf.vm), 0x26);
	assert_false(vmm__pic_has_intr(pf.vm));
}

static void test_edge_priority_eoi(void **state)
{
	pic_init_pc(0x01);
	assert_false(vmm__pic_has_intr(pf.vm));
	set(3, 1);
	assert_int_equal(pic_irr(M), 0x08);
	assert_true(vmm__pic_has_intr(pf.vm));
	assert_int_equal(vmm__pic_inta(pf.vm), 0x23);
	assert_int_equal(pic_irr(M), 0x00);
	assert_int_equal(pic_isr(M), 0x08);
	set(3, 1);                           /* still high: no new edge */
	assert_int_equal(pic_irr(M), 0x00);
	set(4, 1);                           /* lower priority than 3: waits */
	assert_int_equal(pic_irr(M), 0x10);
	assert_false(vmm__pic_has_intr(pf.vm));
	set(1, 1);                           /* higher: nests */
	assert_true(vmm__pic_has_intr(pf.vm));
	assert_int_equal(vmm__pic_inta(pf.vm), 0x21);
	assert_int_equal(pic_isr(M), 0x0a);
	outb(M, 0x20);                       /* non-specific EOI: the highest, 1 */
	assert_int_equal(pic_isr(M), 0x08);
	assert_false(vmm__pic_has_intr(pf.vm));
	outb(M, 0x20);
	assert_int_equal(pic_isr(M), 0x00);
	assert_true(vmm__pic_has_intr(pf.vm));
	assert_int_equal(vmm__pic_inta(pf.vm), 0x24);
	outb(M, 0x64);                       /* specific EOI of 4 */
	assert_int_equal(pic_isr(M), 0x00);
	set(3, 0);
	set(3, 1);                           /* a new edge */
	assert_int_equal(pic_irr(M), 0x08);
	outb(0x21, 0x08);                    /* masked: requested, not signalled */
	assert_false(vmm__pic_has_intr(pf.vm));
	assert_int_equal(pic_irr(M), 0x08);
	outb(0x21, 0x00);
	assert_true(vmm__pic_has_intr(pf.vm));
}

static void test_cascade(void **state)
{
	pic_init_pc(0x01);
	set(10, 1);
	assert_int_equal(pic_irr(S), 0x04);
	assert_int_equal(pic_irr(M), 0x04);  /* the slave's INT on IRQ2 */
	assert_true(vmm__pic_has_intr(pf.vm));
	assert_int_equal(vmm__pic_inta(pf.vm), 0x2a);
	assert_int_equal(pic_isr(S), 0x04);
	assert_int_equal(pic_isr(M), 0x04);
	set(14, 1);                          /* lower on the slave: waits */
	assert_false(vmm__pic_has_intr(pf.vm));
	set(0, 1);                           /* IRQ0 beats the cascade */
	assert_int_equal(vmm__pic_inta(pf.vm), 0x20);
	outb(M, 0x20);                       /* EOI IRQ0 */
	outb(S, 0x20);
	assert_int_equal(pic_isr(S), 0x00);
	assert_false(vmm__pic_has_intr(pf.vm));  /* master ISR 2 still set */
	outb(M, 0x20);
	assert_true(vmm__pic_has_intr(pf.vm));
	assert_int_equal(vmm__pic_inta(pf.vm), 0x2e);
	outb(0xa1, 0x40);                    /* the slave's mask */
	set(14, 0);
	set(14, 1);
	assert_int_equal(pic_irr(S), 0x40);
	outb(S, 0x20);
	outb(M, 0x20);
	assert_false(vmm__pic_has_intr(pf.vm));
}

static void test_spurious(void **state)
{
	pic_init_pc(0x01);
	outb(0x4d0, 0x20);                   /* IRQ5 level-triggered */
	set(5, 1);
	assert_true(vmm__pic_has_intr(pf.vm));
	set(5, 0);                           /* gone before INTA */
	assert_false(vmm__pic_has_intr(pf.vm));
	assert_int_equal(vmm__pic_inta(pf.vm), 0x27);
	assert_int_equal(pic_isr(M), 0x00);  /* spurious 7 sets no ISR bit */
	set(3, 1);                           /* an edge request then masked */
	outb(0x21, 0x08);
	assert_int_equal(vmm__pic_inta(pf.vm), 0x27);
	assert_int_equal(pic_isr(M), 0x00);
	outb(0x21, 0x00);
	assert_int_equal(vmm__pic_inta(pf.vm), 0x23);
	outb(M, 0x20);
	outb(0x4d1, 0x08);                   /* IRQ11 level */
	set(11, 1);
	assert_true(vmm__pic_has_intr(pf.vm));
	set(11, 0);
	/* master input 2 is edge-triggered and stays latched: the master
	 * asks, the slave has nothing: slave spurious 15, master ISR 2 set */
	assert_true(vmm__pic_has_intr(pf.vm));
	assert_int_equal(vmm__pic_inta(pf.vm), 0x2f);
	assert_int_equal(pic_isr(M), 0x04);
	assert_int_equal(pic_isr(S), 0x00);
	outb(M, 0x20);
	assert_false(vmm__pic_has_intr(pf.vm));
}

/* The slave's request vanishes between the master's decision and the
 * slave's acknowledge: slave spurious 15, master ISR bit 2 set. */
static void test_spurious_slave(void **state)
{
	pic_init_pc(0x01);
	set(11, 1);                          /* edge: master IRQ2 latched */
	assert_int_equal(pic_irr(M), 0x04);
	outb(0xa1, 0x08);                    /* slave masks it */
	/* master input 2 is edge-latched, so the master still asks */
	assert_int_equal(pic_irr(M), 0x04);
	assert_true(vmm__pic_has_intr(pf.vm));
	assert_int_equal(vmm__pic_inta(pf.vm), 0x2f);
	assert_int_equal(pic_isr(M), 0x04);
	assert_int_equal(pic_isr(S), 0x00);
	outb(M, 0x20);
	assert_int_equal(pic_isr(M), 0x00);
}

static void test_level_and_elcr(void **state)
{
	pic_init_pc(0x01);
	outb(0x4d0, 0xff);
	outb(0x4d1, 0xff);
	assert_int_equal(inb(0x4d0), 0xf8);  /* IRQ 0-2 edge only */
	assert_int_equal(inb(0x4d1), 0xde);  /* IRQ 8, 13 edge only */
	outb(0x4d1, 0x02);                   /* IRQ9 level */
	set(9, 1);
	assert_int_equal(vmm__pic_inta(pf.vm), 0x29);
	assert_int_equal(pic_irr(S), 0x02);  /* a level request stays in IRR */
	assert_false(vmm__pic_has_intr(pf.vm));
	outb(S, 0x20);
	outb(M, 0x20);
	assert_true(vmm__pic_has_intr(pf.vm));   /* still asserted: again */
	assert_int_equal(vmm__pic_inta(pf.vm), 0x29);
	set(9, 0);
	assert_int_equal(pic_irr(S), 0x00);
	outb(S, 0x20);
	outb(M, 0x20);
	assert_false(vmm__pic_has_intr(pf.vm));
	/* ICW1 LTIM: every input level-triggered */
	outb(M, 0x19); outb(0x21, 0x20); outb(0x21, 0x04); outb(0x21, 0x01);
	set(4, 1);
	assert_int_equal(vmm__pic_inta(pf.vm), 0x24);
	assert_int_equal(pic_irr(M), 0x10);
	set(4, 0);
	assert_int_equal(pic_irr(M), 0x00);
	/* 2-byte ELCR access */
	uint32_t v = 0x0820;
	assert_int_equal(vmm__bus_pio(pf.vcpu, 0x4d0, 2, 1, &v), VMM__BUS_DONE);
	v = 0;
	assert_int_equal(vmm__bus_pio(pf.vcpu, 0x4d0, 2, 0, &v), VMM__BUS_DONE);
	assert_int_equal(v, 0x0820);
}

static void test_auto_eoi_and_rotation(void **state)
{
	pic_init_pc(0x03);                   /* auto-EOI */
	set(5, 1);
	assert_int_equal(vmm__pic_inta(pf.vm), 0x25);
	assert_int_equal(pic_isr(M), 0x00);
	outb(M, 0x80);                       /* rotate in auto-EOI */
	set(3, 1);
	assert_int_equal(vmm__pic_inta(pf.vm), 0x23);   /* 3 becomes lowest */
	set(1, 1);
	set(4, 1);
	assert_int_equal(vmm__pic_inta(pf.vm), 0x24);   /* 4 is now highest */
	assert_int_equal(vmm__pic_inta(pf.vm), 0x21);
	outb(M, 0x00);                       /* rotation off */
	for (unsigned irq = 1; irq < 6; irq++)
		set(irq, 0);

	pic_init_pc(0x01);
	set(1, 1);
	assert_int_equal(vmm__pic_inta(pf.vm), 0x21);
	outb(M, 0xa0);                       /* rotate on non-specific EOI */
	assert_int_equal(pic_isr(M), 0x00);
	set(0, 1);
	set(3, 1);
	assert_int_equal(vmm__pic_inta(pf.vm), 0x23);   /* order 2..7,0,1 */
	outb(M, 0xe3);                       /* specific rotate at 3: lowest 3 */
	assert_int_equal(vmm__pic_inta(pf.vm), 0x20);
	outb(M, 0x60);
	outb(M, 0xc7);                       /* set priority: 7 lowest (reset) */
	set(6, 1);
	set(5, 1);
	assert_int_equal(vmm__pic_inta(pf.vm), 0x25);
	outb(M, 0x20);
	assert_int_equal(vmm__pic_inta(pf.vm), 0x26);
	outb(M, 0x20);
}

static void test_poll_and_special_mask(void **state)
{
	pic_init_pc(0x01);
	outb(M, 0x0c);                       /* poll: nothing pending */
	assert_int_equal(inb(M), 0x00);
	assert_int_equal(inb(0x21), 0x00);   /* poll is one read only: IMR */
	set(6, 1);
	outb(M, 0x0c);
	assert_int_equal(inb(0x21), 0x86);   /* either port answers a poll */
	assert_int_equal(pic_isr(M), 0x40);
	outb(M, 0x20);
	set(9, 1);
	outb(M, 0x0c);
	assert_int_equal(inb(M), 0x82);      /* the cascade; then the slave */
	outb(S, 0x0c);
	assert_int_equal(inb(S), 0x81);
	outb(S, 0x20);
	outb(M, 0x20);
	/* special mask mode: a masked in-service level lets lower ones in */
	set(0, 1);
	assert_int_equal(vmm__pic_inta(pf.vm), 0x20);
	set(4, 1);
	assert_false(vmm__pic_has_intr(pf.vm));
	outb(0x21, 0x01);
	assert_false(vmm__pic_has_intr(pf.vm));
	outb(M, 0x68);                       /* set SMM */
	assert_true(vmm__pic_has_intr(pf.vm));
	assert_int_equal(vmm__pic_inta(pf.vm), 0x24);
	outb(M, 0x64);
	outb(M, 0x48);                       /* reset SMM */
	outb(0x21, 0x00);
	assert_int_equal(pic_isr(M), 0x01);
	outb(M, 0x20);
	assert_int_equal(pic_isr(M), 0x00);
}

/* Special fully nested mode (master ICW4 bit 4): while the cascade is in
 * service, a higher-priority slave request still reaches the CPU. */
static void test_special_fully_nested(void **state)
{
	outb(M, 0x11); outb(0x21, 0x20); outb(0x21, 0x04); outb(0x21, 0x11);
	outb(S, 0x11); outb(0xa1, 0x28); outb(0xa1, 0x02); outb(0xa1, 0x01);
	set(12, 1);
	assert_int_equal(vmm__pic_inta(pf.vm), 0x2c);
	set(9, 1);                           /* above 12 on the slave */
	assert_true(vmm__pic_has_intr(pf.vm));
	assert_int_equal(vmm__pic_inta(pf.vm), 0x29);
	assert_int_equal(pic_isr(S), 0x12);
	set(14, 1);                          /* below 12: still waits */
	assert_false(vmm__pic_has_intr(pf.vm));
	/* without SFNM the master's ISR bit 2 blocks the nested request */
	for (unsigned irq = 9; irq < 15; irq++)
		set(irq, 0);
	pic_init_pc(0x01);
	set(12, 1);
	assert_int_equal(vmm__pic_inta(pf.vm), 0x2c);
	set(9, 1);
	assert_false(vmm__pic_has_intr(pf.vm));
}

static void test_irq_line_routing(void **state)
{
	pic_init_pc(0x01);
	assert_int_equal(vmm_irq_line(pf.vm, 4, 1), 0);
	assert_int_equal(pic_irr(M), 0x10);
	assert_int_equal(vmm_irq_line(pf.vm, 4, 0), 0);
	assert_int_equal(vmm_irq_line(pf.vm, 12, 1), 0);
	assert_int_equal(pic_irr(S), 0x10);
	/* IRQ4's edge is latched; the cascade (IRQ2) ranks above it */
	assert_int_equal(vmm__pic_inta(pf.vm), 0x2c);
	assert_int_equal(vmm__pic_inta(pf.vm), 0x27);   /* 4 below ISR 2 */
	outb(S, 0x20);
	outb(M, 0x20);
	assert_int_equal(vmm__pic_inta(pf.vm), 0x24);
	assert_int_equal(vmm_irq_line(pf.vm, 24, 1), VMM_ERANGE);
}

/* Random guest writes to every port, interleaved with line changes and
 * acknowledges: no crash, no sanitizer report, and the registers stay
 * consistent (the IRR read back never has a masked-out bit asserted by a
 * level input that is low). */
static void test_hostile(void **state)
{
	static const uint16_t ports[] = { 0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1 };
	unsigned seed = 12345;

	for (int i = 0; i < 200000; i++) {
		unsigned r = rand_r(&seed);

		switch (r % 5) {
		case 0: case 1:
			outb(ports[(r >> 3) % 6], (r >> 8) & 0xff);
			break;
		case 2:
			(void)inb(ports[(r >> 3) % 6]);
			break;
		case 3:
			set((r >> 3) % 16, (r >> 8) & 1);
			break;
		default:
			if (vmm__pic_has_intr(pf.vm))
				(void)vmm__pic_inta(pf.vm);
			else
				(void)vmm__pic_inta(pf.vm);   /* spurious */
			break;
		}
	}
	pic_init_pc(0x01);
	outb(0x4d0, 0);
	outb(0x4d1, 0);
	for (unsigned irq = 0; irq < 16; irq++)
		set(irq, 0);
	pic_init_pc(0x01);
	assert_int_equal(pic_irr(M), 0);
	assert_int_equal(pic_isr(M), 0);
	assert_int_equal(pic_irr(S), 0);
	set(1, 1);
	assert_int_equal(vmm__pic_inta(pf.vm), 0x21);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init_and_mask, pf_setup, pf_teardown),
		cmocka_unit_test_setup_teardown(test_edge_priority_eoi, pf_setup, pf_teardown),
		cmocka_unit_test_setup_teardown(test_cascade, pf_setup, pf_teardown),
		cmocka_unit_test_setup_teardown(test_spurious, pf_setup, pf_teardown),
		cmocka_unit_test_setup_teardown(test_spurious_slave, pf_setup, pf_teardown),
		cmocka_unit_test_setup_teardown(test_level_and_elcr, pf_setup, pf_teardown),
		cmocka_unit_test_setup_teardown(test_auto_eoi_and_rotation, pf_setup, pf_teardown),
		cmocka_unit_test_setup_teardown(test_poll_and_special_mask, pf_setup, pf_teardown),
		cmocka_unit_test_setup_teardown(test_special_fully_nested, pf_setup, pf_teardown),
		cmocka_unit_test_setup_teardown(test_irq_line_routing, pf_setup, pf_teardown),
		cmocka_unit_test_setup_teardown(test_hostile, pf_setup, pf_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
