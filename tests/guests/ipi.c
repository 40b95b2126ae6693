/* ipi.c - inter-processor interrupts between 4 vCPUs (run with 4): fixed
 * IPIs by physical and logical (flat) destination, the self, all and
 * all-but-self shorthands, an IPI to an absent APIC ID (dropped) and one
 * with an illegal vector (0-15: not delivered on hardware; a backend that
 * delivers it is noted); then the same in x2APIC mode when CPUID offers it
 * (physical, cluster-logical, the SELF IPI register). vCPU 0 prints. */
#include "apic.h"

#define QUIET_US 20000u
#define WAIT_US 500000u

static barrier_t bar = BARRIER_INIT;
static uint32_t ncpu;
static volatile uint32_t x2_ok;

static void sync(uint32_t *sense)
{
	barrier_wait(&bar, ncpu, sense);
}

/* Every vCPU checks it got vector exactly want (0 or 1) times. */
static void expect(uint32_t me, uint32_t vector, uint32_t want)
{
	CHECK_EQ(irq_wait_count(vector, want ? want : 1, want ? WAIT_US : QUIET_US), want);
	(void)me;
}

static void xapic_phase(uint32_t me, uint32_t *sense)
{
	lapic_write(LAPIC_DFR, 0xffffffffu);          /* flat model */
	lapic_write(LAPIC_LDR, (1u << me) << 24);
	sync(sense);
	if (me == 0)
		for (uint32_t d = 1; d < ncpu; d++)
			lapic_ipi(d, ICR_FIXED | 0x50);
	expect(me, 0x50, me != 0);
	sync(sense);
	if (me == 0) {
		printf("ipi: physical destination\n");
		lapic_ipi(0x0a, ICR_FIXED | ICR_LOGICAL | 0x51);   /* vCPUs 1 and 3 */
	}
	expect(me, 0x51, me == 1 || me == 3);
	sync(sense);
	if (me == 0)
		printf("ipi: logical destination\n");
	lapic_ipi(0, ICR_FIXED | ICR_SELF | 0x52);
	expect(me, 0x52, 1);
	sync(sense);
	if (me == 0) {
		printf("ipi: self\n");
		lapic_ipi(0, ICR_FIXED | ICR_ALL | 0x53);
	}
	expect(me, 0x53, 1);
	sync(sense);
	if (me == 1)
		lapic_ipi(0, ICR_FIXED | ICR_OTHERS | 0x54);
	expect(me, 0x54, me != 1);
	sync(sense);
	if (me == 0) {
		printf("ipi: all including self, all but self\n");
		lapic_ipi(7, ICR_FIXED | 0x55);         /* no APIC ID 7 */
		lapic_ipi(1, ICR_FIXED | 3);            /* illegal vector */
	}
	expect(me, 0x55, 0);
	if (me == 1 && irq_wait_count(3, 1, QUIET_US))
		guest_note("an IPI with illegal vector 3 was delivered");
	sync(sense);
	if (me == 0)
		printf("ipi: absent APIC ID and illegal vector dropped\n");
}

static void x2apic_phase(uint32_t me, uint32_t *sense)
{
	if (me == 0)
		x2_ok = cpu_has_x2apic();
	sync(sense);
	if (!x2_ok) {
		if (me == 0)
			guest_note("no x2APIC in CPUID: x2APIC IPIs not run");
		return;
	}
	lapic_x2apic();
	CHECK(lapic_is_x2apic());
	CHECK_EQ(lapic_id(), me);
	/* cluster logical ID: cluster id >> 4 in bits 31:16, 1 << (id & 15) */
	CHECK_EQ(lapic_read(LAPIC_LDR), (me >> 4) << 16 | 1u << (me & 15));
	sync(sense);
	if (me == 0)
		lapic_ipi(2, ICR_FIXED | 0x60);
	expect(me, 0x60, me == 2);
	sync(sense);
	if (me == 3)
		lapic_ipi(0x3, ICR_FIXED | ICR_LOGICAL | 0x61);   /* vCPUs 0 and 1 */
	expect(me, 0x61, me <= 1);
	sync(sense);
	wrmsr(0x83f, 0x62);                             /* SELF IPI register */
	expect(me, 0x62, 1);
	sync(sense);
	if (me == 2)
		lapic_ipi(0, ICR_FIXED | ICR_OTHERS | 0x63);
	expect(me, 0x63, me != 2);
	if (me == 0)
		lapic_ipi(0x40, ICR_FIXED | 0x64);      /* x2APIC ID 0x40: absent */
	expect(me, 0x64, 0);
	sync(sense);
}

int guest_main(uint32_t index, uint32_t count)
{
	uint32_t sense = 0;

	if (count != 4 || index >= count)
		return GUEST_FAIL;
	ncpu = count;
	irq_install(index);
	lapic_enable();
	irq_tolerate_low = 1;
	for (int v = 0x50; v < 0x70; v++)
		irq_auto_eoi[v] = 1;
	irq_auto_eoi[3] = 1;
	CHECK_EQ(lapic_id(), index);
	xapic_phase(index, &sense);
	x2apic_phase(index, &sense);
	if (index != 0)
		halt();
	printf("ipi: x2APIC phase done\n");
	guest_pass("ipi");
}
