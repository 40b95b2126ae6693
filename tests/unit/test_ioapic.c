/* test_ioapic.c - the core's IOAPIC (lib/platform/ioapic.c) and the GSI /
 * MSI routing (lib/platform/irq.c) on an emu VM with VMM_VM_IRQCHIP:
 * IOREGSEL/IOWIN, ID, version, redirection entries and their read-only
 * bits, edge and level pins, remote IRR cleared by EOI (and a held level
 * line delivered again), masking, GSI 0 on pin 2, MSIs (destination,
 * delivery mode), NMI and ExtINT entries, hostile values. */
#include "tests/unit/apic_fixture.h"

static uint32_t io_rd(apic_fx *fx, uint32_t reg)
{
	mmio_wr(fx->cpu[0], IOAPIC, reg);
	return mmio_rd(fx->cpu[0], IOAPIC + 0x10);
}

static void io_wr(apic_fx *fx, uint32_t reg, uint32_t v)
{
	mmio_wr(fx->cpu[0], IOAPIC, reg);
	mmio_wr(fx->cpu[0], IOAPIC + 0x10, v);
}

static void route(apic_fx *fx, unsigned pin, uint64_t e)
{
	io_wr(fx, 0x11 + 2 * pin, (uint32_t)(e >> 32));
	io_wr(fx, 0x10 + 2 * pin, (uint32_t)e);
}

static void setup(apic_fx *fx, uint32_t n)
{
	afx_create(fx, n);
	for (uint32_t i = 0; i < n; i++)
		apic_on(fx->cpu[i]);
	aw(fx->cpu[0], 0x350, 0x10700);   /* LINT0 masked: the PIC stays out */
}

static void test_registers(void **state)
{
	apic_fx fx;

	setup(&fx, 1);
	assert_int_equal(io_rd(&fx, 1), 0x170011);
	assert_int_equal(io_rd(&fx, 0), 0);
	io_wr(&fx, 0, 0xff000000u);
	assert_int_equal(io_rd(&fx, 0), 0x0f000000u);
	assert_int_equal(io_rd(&fx, 2), 0x0f000000u);   /* arbitration ID */
	for (unsigned pin = 0; pin < 24; pin++)
		assert_int_equal(io_rd(&fx, 0x10 + 2 * pin), 0x10000);
	io_wr(&fx, 0x10 + 2 * 23, 0xffffffffu);
	assert_int_equal(io_rd(&fx, 0x10 + 2 * 23), 0x1afff);   /* no DS, RIRR, bits 17+ */
	io_wr(&fx, 0x11 + 2 * 23, 0xffffffffu);
	assert_int_equal(io_rd(&fx, 0x11 + 2 * 23), 0xff000000u);
	assert_int_equal(io_rd(&fx, 0x10 + 2 * 24), 0);  /* past the table */
	io_wr(&fx, 0x3f, 1);                             /* ignored */
	mmio_wr(fx.cpu[0], IOAPIC, 0x1);
	assert_int_equal(mmio_rd(fx.cpu[0], IOAPIC), 0x1);   /* IOREGSEL reads back */
	afx_destroy(&fx);
}

static void test_edge(void **state)
{
	apic_fx fx;
	uint8_t v;

	setup(&fx, 2);
	route(&fx, 5, 0x45 | (1ull << 56));              /* vCPU 1, edge, fixed */
	assert_int_equal(vmm_irq_line(fx.vm, 5, 1), 0);
	assert_true(vec_bit(fx.cpu[1], 0x200, 0x45));
	assert_false(vec_bit(fx.cpu[1], 0x180, 0x45));   /* TMR: edge */
	assert_int_equal(take(fx.cpu[1], &v), VMM__INTR_EXT);
	assert_int_equal(v, 0x45);
	aw(fx.cpu[1], 0xb0, 0);
	assert_int_equal(vmm_irq_line(fx.vm, 5, 1), 0);  /* still high: no edge */
	assert_false(vec_bit(fx.cpu[1], 0x200, 0x45));
	assert_int_equal(vmm_irq_line(fx.vm, 5, 0), 0);
	assert_int_equal(vmm_irq_line(fx.vm, 5, 1), 0);
	assert_true(vec_bit(fx.cpu[1], 0x200, 0x45));
	assert_int_equal(vmm_irq_line(fx.vm, 5, 0), 0);
	/* masked: the edge is lost, unmasking does not bring it back */
	route(&fx, 6, 0x46 | (1ull << 56) | (1ull << 16));
	assert_int_equal(vmm_irq_line(fx.vm, 6, 1), 0);
	assert_int_equal(vmm_irq_line(fx.vm, 6, 0), 0);
	route(&fx, 6, 0x46 | (1ull << 56));
	assert_false(vec_bit(fx.cpu[1], 0x200, 0x46));
	afx_destroy(&fx);
}

static void test_level_remote_irr(void **state)
{
	apic_fx fx;
	uint8_t v;

	setup(&fx, 1);
	route(&fx, 9, 0x59 | (1ull << 15));              /* level, vCPU 0 */
	assert_int_equal(vmm_irq_line(fx.vm, 9, 1), 0);
	assert_true(io_rd(&fx, 0x10 + 18) & (1u << 14)); /* remote IRR */
	assert_true(vec_bit(fx.cpu[0], 0x180, 0x59));    /* TMR: level */
	assert_int_equal(take(fx.cpu[0], &v), VMM__INTR_EXT);
	assert_int_equal(v, 0x59);
	assert_false(vec_bit(fx.cpu[0], 0x200, 0x59));
	aw(fx.cpu[0], 0xb0, 0);                          /* EOI, line still high */
	assert_true(io_rd(&fx, 0x10 + 18) & (1u << 14));
	assert_true(vec_bit(fx.cpu[0], 0x200, 0x59));    /* delivered again */
	assert_int_equal(take(fx.cpu[0], &v), VMM__INTR_EXT);
	assert_int_equal(vmm_irq_line(fx.vm, 9, 0), 0);
	aw(fx.cpu[0], 0xb0, 0);
	assert_false(io_rd(&fx, 0x10 + 18) & (1u << 14));
	assert_false(vec_bit(fx.cpu[0], 0x200, 0x59));
	/* TMR survives the EOI; an edge acceptance of the vector clears it */
	assert_true(vec_bit(fx.cpu[0], 0x180, 0x59));
	route(&fx, 9, 0x59);                             /* edge */
	assert_int_equal(vmm_irq_line(fx.vm, 9, 1), 0);
	assert_true(vec_bit(fx.cpu[0], 0x200, 0x59));
	assert_false(vec_bit(fx.cpu[0], 0x180, 0x59));
	assert_int_equal(take(fx.cpu[0], &v), VMM__INTR_EXT);
	assert_int_equal(vmm_irq_line(fx.vm, 9, 0), 0);
	aw(fx.cpu[0], 0xb0, 0);
	/* a masked level line is delivered once unmasked */
	route(&fx, 10, 0x5a | (1ull << 15) | (1ull << 16));
	assert_int_equal(vmm_irq_line(fx.vm, 10, 1), 0);
	assert_false(vec_bit(fx.cpu[0], 0x200, 0x5a));
	route(&fx, 10, 0x5a | (1ull << 15));
	assert_true(vec_bit(fx.cpu[0], 0x200, 0x5a));
	afx_destroy(&fx);
}

static void test_gsi_routing(void **state)
{
	apic_fx fx;

	setup(&fx, 1);
	route(&fx, 0, 0x60);
	route(&fx, 2, 0x62);
	assert_int_equal(vmm_irq_line(fx.vm, 0, 1), 0);  /* ISA IRQ 0 -> pin 2 */
	assert_true(vec_bit(fx.cpu[0], 0x200, 0x62));
	assert_false(vec_bit(fx.cpu[0], 0x200, 0x60));
	assert_int_equal(vmm_irq_line(fx.vm, 0, 0), 0);
	route(&fx, 2, 0x63);
	assert_int_equal(vmm_irq_line(fx.vm, 2, 1), 0);  /* GSI 2: unconnected */
	assert_false(vec_bit(fx.cpu[0], 0x200, 0x63));
	route(&fx, 23, 0x77);
	assert_int_equal(vmm_irq_line(fx.vm, 23, 1), 0);
	assert_true(vec_bit(fx.cpu[0], 0x200, 0x77));
	assert_int_equal(vmm_irq_line(fx.vm, 24, 1), VMM_ERANGE);
	assert_int_equal(vmm_irq_line(fx.vm, 3, 2), VMM_EINVAL);
	afx_destroy(&fx);
}

static void test_delivery_modes(void **state)
{
	apic_fx fx;
	uint8_t v;

	setup(&fx, 2);
	route(&fx, 11, (4ull << 8) | (1ull << 56));      /* NMI to vCPU 1 */
	assert_int_equal(vmm_irq_line(fx.vm, 11, 1), 0);
	assert_int_equal(vmm__intr_poll(fx.cpu[1], false, false, &v), VMM__INTR_NMI);
	route(&fx, 12, 0x80 | (1ull << 11) | (2ull << 56));   /* logical, LDR bit 1 */
	aw(fx.cpu[1], 0xd0, 0x02000000u);
	assert_int_equal(vmm_irq_line(fx.vm, 12, 1), 0);
	assert_true(vec_bit(fx.cpu[1], 0x200, 0x80));
	assert_false(vec_bit(fx.cpu[0], 0x200, 0x80));
	route(&fx, 13, 0x81 | (0xffull << 56));          /* physical broadcast */
	assert_int_equal(vmm_irq_line(fx.vm, 13, 1), 0);
	assert_true(vec_bit(fx.cpu[0], 0x200, 0x81) && vec_bit(fx.cpu[1], 0x200, 0x81));
	route(&fx, 14, 0x04);                            /* illegal vector */
	assert_int_equal(vmm_irq_line(fx.vm, 14, 1), 0);
	aw(fx.cpu[0], 0x280, 0);
	assert_int_equal(ar(fx.cpu[0], 0x280), 0x40);
	/* MSI: dest 1 physical, vector 0x90, fixed */
	assert_int_equal(vmm_msi_send(fx.vm, 0xfee01000ull, 0x4090), 0);
	assert_true(vec_bit(fx.cpu[1], 0x200, 0x90));
	assert_false(vec_bit(fx.cpu[1], 0x180, 0x90));
	assert_int_equal(vmm_msi_send(fx.vm, 0xfee09000ull, 0x0091), 0);   /* absent */
	assert_int_equal(vmm_msi_send(fx.vm, 0xfed00000ull, 0x0091), VMM_EINVAL);
	assert_int_equal(vmm_msi_send(fx.vm, 0xfee01000ull, 0x0500), 0);   /* INIT */
	assert_int_equal(take(fx.cpu[1], &v), VMM__INTR_INIT);
	afx_destroy(&fx);
}

/* The PIC (its IRQ 1 = GSI 1) reaches vCPU 0 through LINT0 in ExtINT mode. */
static void test_pic_through_lint0(void **state)
{
	apic_fx fx;
	uint8_t v;
	uint32_t d;

	afx_create(&fx, 1);
	/* ICW1-4: vectors 0x20-0x27, then unmask IRQ 1 only */
	d = 0x11; vmm__bus_pio(fx.cpu[0], 0x20, 1, 1, &d);
	d = 0x20; vmm__bus_pio(fx.cpu[0], 0x21, 1, 1, &d);
	d = 0x04; vmm__bus_pio(fx.cpu[0], 0x21, 1, 1, &d);
	d = 0x01; vmm__bus_pio(fx.cpu[0], 0x21, 1, 1, &d);
	d = 0xfd; vmm__bus_pio(fx.cpu[0], 0x21, 1, 1, &d);
	assert_int_equal(vmm_irq_line(fx.vm, 1, 1), 0);
	assert_int_equal(vmm__intr_poll(fx.cpu[0], false, false, &v), VMM__INTR_NONE);
	assert_int_equal(take(fx.cpu[0], &v), VMM__INTR_EXT);
	assert_int_equal(v, 0x21);
	aw(fx.cpu[0], 0x350, 0x10700);                   /* masked LINT0: nothing */
	assert_int_equal(vmm_irq_line(fx.vm, 1, 0), 0);
	d = 0x20; vmm__bus_pio(fx.cpu[0], 0x20, 1, 1, &d);   /* EOI */
	assert_int_equal(vmm_irq_line(fx.vm, 1, 1), 0);
	assert_int_equal(take(fx.cpu[0], &v), VMM__INTR_NONE);
	afx_destroy(&fx);
}

static void test_no_irqchip(void **state)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	vmm_vm *vm;
	vmm_vcpu *c;

	cfg.backend = "emu";
	assert_int_equal(vmm_vm_create(&cfg, &vm), 0);
	assert_int_equal(vmm_vcpu_create(vm, 0, &c), 0);
	assert_null(c->lapic);
	assert_int_equal(vmm_irq_line(vm, 1, 1), VMM_ESTATE);
	assert_int_equal(vmm_msi_send(vm, 0xfee00000ull, 0x40), VMM_ESTATE);
	vmm_vm_destroy(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registers),
		cmocka_unit_test(test_edge),
		cmocka_unit_test(test_level_remote_irr),
		cmocka_unit_test(test_gsi_routing),
		cmocka_unit_test(test_delivery_modes),
		cmocka_unit_test(test_pic_through_lint0),
		cmocka_unit_test(test_no_irqchip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
