/* test_devstate.c - device state save/load (lib/platform/state.h) on emu
 * with VMM_VM_IRQCHIP: every device programmed through its registers as a
 * guest would, saved, loaded into a second VM of the same configuration;
 * then the second VM's stream equals the first's (moving timer fields
 * within a margin) and its registers read back the same through the bus.
 * A guest counting PIT interrupts goes on counting in the second VM (emu
 * and kvm), one counting APIC timer interrupts too (emu); kvm's in-kernel chips round-trip; a virtio request in flight
 * makes the save wait, then refuse; a saved VM's virtio devices take
 * nothing until it runs again; a running vCPU makes save and load refuse.
 * Hostile streams: test_devstate_hostile.c. */
#include <pthread.h>
#include <x86intrin.h>

#include "tests/unit/devstate_fixture.h"
#include "tests/unit/test_kvm_util.h"
#include "tests/unit/emu_fixture.h"
#include "lib/platform/acpi.h"
#include "lib/virtio/virtio_pci.h"

#define ALL_FLAGS (VMM_VM_IRQCHIP | VMM_VM_FW_CFG | VMM_VM_NO_DEBUG_EXIT)
#define LAPIC_BASE 0xfee00000ull
#define IOAPIC_BASE 0xfec00000ull

/* ---- Programming every device -------------------------------------------- */

static void program_pic(ds_vm *t)
{
	vmm_vcpu *c = t->cpu[0];
	static const uint8_t seq[][2] = {
		{ 0x20, 0x11 }, { 0x21, 0x20 }, { 0x21, 0x04 }, { 0x21, 0x01 },
		{ 0xa0, 0x11 }, { 0xa1, 0x28 }, { 0xa1, 0x02 }, { 0xa1, 0x01 },
		{ 0x21, 0xb0 }, { 0xa1, 0x5d },
	};

	for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++)
		pio(c, seq[i][0], 1, 1, seq[i][1]);
	pio(c, 0x4d0, 1, 1, 0x20);                   /* IRQ 5 level */
	pio(c, 0x4d1, 1, 1, 0x02);                   /* IRQ 9 level */
	assert_int_equal(vmm_irq_line(t->vm, 3, 1), 0);
	assert_int_equal(vmm__pic_inta(t->vm), 0x23);   /* IRQ 3 in service */
	assert_int_equal(vmm_irq_line(t->vm, 6, 1), 0); /* IRQ 6 requested */
	pio(c, 0xa0, 1, 1, 0x0b);                    /* slave: read ISR next */
}

static void program_ioapic(ds_vm *t)
{
	vmm_vcpu *c = t->cpu[0];

	mmio(c, IOAPIC_BASE, 4, 1, 0);
	mmio(c, IOAPIC_BASE + 0x10, 4, 1, 0x05000000);
	for (uint32_t pin = 0; pin < VMM__NR_GSI; pin++) {
		mmio(c, IOAPIC_BASE, 4, 1, 0x10 + 2 * pin);
		mmio(c, IOAPIC_BASE + 0x10, 4, 1, 0x10000 | (0x30 + pin) | (pin & 1) << 15 |
						   (pin % 3) << 8);
		mmio(c, IOAPIC_BASE, 4, 1, 0x11 + 2 * pin);
		mmio(c, IOAPIC_BASE + 0x10, 4, 1, pin << 24);
	}
	mmio(c, IOAPIC_BASE, 4, 1, 0x13);
}

static void program_lapic(vmm_vcpu *c, uint32_t k)
{
	mmio(c, LAPIC_BASE + 0xf0, 4, 1, 0x1ff);     /* SVR: on, spurious 0xff */
	mmio(c, LAPIC_BASE + 0x80, 4, 1, 0x20 + k);  /* TPR */
	mmio(c, LAPIC_BASE + 0xd0, 4, 1, (3u + k) << 24);
	mmio(c, LAPIC_BASE + 0xe0, 4, 1, 0x0fffffff);
	mmio(c, LAPIC_BASE + 0x360, 4, 1, 0x400);    /* LINT1 NMI */
	mmio(c, LAPIC_BASE + 0x370, 4, 1, 0xfe);     /* error vector */
	mmio(c, LAPIC_BASE + 0x330, 4, 1, 0x10033);
	mmio(c, LAPIC_BASE + 0x310, 4, 1, 0x02000000);
	mmio(c, LAPIC_BASE + 0x3e0, 4, 1, 0xa);      /* divide by 128 */
	mmio(c, LAPIC_BASE + 0x320, 4, 1, 0x40 + k); /* one-shot, unmasked */
	mmio(c, LAPIC_BASE + 0x380, 4, 1, 0xffffffff);   /* ~550 s */
}

static void program_pit(ds_vm *t)
{
	vmm_vcpu *c = t->cpu[0];

	pio(c, 0x43, 1, 1, 0x30);                    /* ch0 mode 0, lo/hi */
	pio(c, 0x40, 1, 1, 0x00);
	pio(c, 0x40, 1, 1, 0x10);                    /* 0x1000: ~3.4 ms */
	pio(c, 0x43, 1, 1, 0x74);                    /* ch1 mode 2 */
	pio(c, 0x41, 1, 1, 0x34);
	pio(c, 0x41, 1, 1, 0x12);
	pio(c, 0x43, 1, 1, 0x40);                    /* ch1 count latched */
	pio(c, 0x61, 1, 1, 0x01);                    /* ch2 gate */
	pio(c, 0x43, 1, 1, 0xb6);                    /* ch2 mode 3 */
	pio(c, 0x42, 1, 1, 0x00);
	pio(c, 0x42, 1, 1, 0x08);
	pio(c, 0x43, 1, 1, 0xe8);                    /* ch2 status latched */
}

static void program_rtc(ds_vm *t)
{
	static const uint8_t regs[][2] = {
		{ 0x0b, 0x82 }, { 0x00, 0x45 }, { 0x02, 0x30 }, { 0x04, 0x12 },
		{ 0x07, 0x15 }, { 0x08, 0x06 }, { 0x09, 0x24 }, { 0x32, 0x20 },
		{ 0x0a, 0x2a }, { 0x01, 0x59 },
	};
	vmm_vcpu *c = t->cpu[0];

	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		pio(c, 0x70, 1, 1, regs[i][0]);
		pio(c, 0x71, 1, 1, regs[i][1]);
	}
	for (uint32_t i = 0x40; i < 0x50; i++) {
		pio(c, 0x70, 1, 1, i);
		pio(c, 0x71, 1, 1, i * 7);
	}
	pio(c, 0x70, 1, 1, 0x80 | 0x0b);             /* NMIs masked, index B */
}

static void program_misc(ds_vm *t)
{
	vmm_vcpu *c = t->cpu[0];

	pio(c, VMM__ACPI_PM1_EVT + 2, 2, 1, 0x0121);
	pio(c, VMM__ACPI_PM1_CNT, 2, 1, 0x0400);
	pio(c, 0x3fb, 1, 1, 0x83);                   /* UART: DLAB */
	pio(c, 0x3f8, 1, 1, 0x0c);
	pio(c, 0x3f9, 1, 1, 0x00);
	pio(c, 0x3fb, 1, 1, 0x03);
	pio(c, 0x3f9, 1, 1, 0x05);
	pio(c, 0x3fc, 1, 1, 0x0b);
	pio(c, 0x3ff, 1, 1, 0x77);
	pio(c, 0x3fa, 1, 1, 0x01);
	assert_int_equal(vmm_uart_input(t->vm, "xyz", 3, NULL), 0);
	pio(c, 0x510, 2, 1, 0x0000);                 /* fw_cfg signature */
	assert_int_equal(pio(c, 0x511, 1, 0, 0), 'Q');
	assert_int_equal(pio(c, 0x511, 1, 0, 0), 'E');
}

static void program_all(ds_vm *t)
{
	program_pic(t);
	program_ioapic(t);
	program_lapic(t->cpu[0], 0);
	program_lapic(t->cpu[1], 1);
	program_pit(t);
	program_rtc(t);
	program_misc(t);
	program_virtio(t);
	ds_sleep_ms(20);   /* PIT counter 0 reached terminal count; RTC PF set */
}

/* ---- Reading every device back ---------------------------------------------- */

typedef struct rb {
	uint64_t v[2048];
	unsigned n;
	uint32_t tccr[2], pit_live, pmtimer;
} rb;

static void put(rb *b, uint64_t v)
{
	assert_true(b->n < 2048);
	b->v[b->n++] = v;
}

static void read_chips(ds_vm *t, rb *b)
{
	vmm_vcpu *c = t->cpu[0];

	put(b, pio(c, 0xa0, 1, 0, 0));               /* slave ISR (selected) */
	put(b, pio(c, 0x21, 1, 0, 0));
	put(b, pio(c, 0xa1, 1, 0, 0));
	put(b, pio(c, 0x4d0, 2, 0, 0));
	for (uint16_t cmd = 0x20; cmd <= 0xa0; cmd += 0x80) {
		pio(c, cmd, 1, 1, 0x0a);
		put(b, pio(c, cmd, 1, 0, 0));
		pio(c, cmd, 1, 1, 0x0b);
		put(b, pio(c, cmd, 1, 0, 0));
	}
	put(b, mmio(c, IOAPIC_BASE, 4, 0, 0));
	for (uint32_t sel = 0; sel < 0x10 + 2 * VMM__NR_GSI; sel++) {
		mmio(c, IOAPIC_BASE, 4, 1, sel);
		put(b, mmio(c, IOAPIC_BASE + 0x10, 4, 0, 0));
	}
	for (int k = 0; k < 2; k++) {
		static const uint32_t regs[] = { 0x20, 0x80, 0xa0, 0xd0, 0xe0, 0xf0, 0x280,
						 0x310, 0x320, 0x330, 0x340, 0x350, 0x360,
						 0x370, 0x380, 0x3e0 };

		for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
			put(b, mmio(t->cpu[k], LAPIC_BASE + regs[i], 4, 0, 0));
		for (uint32_t off = 0x100; off < 0x280; off += 0x10)
			put(b, mmio(t->cpu[k], LAPIC_BASE + off, 4, 0, 0));
		b->tccr[k] = (uint32_t)mmio(t->cpu[k], LAPIC_BASE + 0x390, 4, 0, 0);
	}
}

static void read_timers(ds_vm *t, rb *b)
{
	vmm_vcpu *c = t->cpu[0];

	put(b, pio(c, 0x41, 1, 0, 0));               /* the latched count */
	put(b, pio(c, 0x41, 1, 0, 0));
	put(b, pio(c, 0x42, 1, 0, 0));               /* ch2's latched status */
	pio(c, 0x43, 1, 1, 0xe2);                    /* ch0 status */
	put(b, pio(c, 0x40, 1, 0, 0));
	b->pit_live = pio(c, 0x41, 1, 0, 0);
	b->pit_live |= pio(c, 0x41, 1, 0, 0) << 8;
	put(b, pio(c, 0x61, 1, 0, 0) & 0x0f);
	b->pmtimer = pio(c, VMM__PMTIMER_PORT, 4, 0, 0);
	for (uint32_t i = 0; i < 0x80; i++) {
		if (i == 0x0c)
			continue;                    /* read below, it clears */
		pio(c, 0x70, 1, 1, i);
		put(b, pio(c, 0x71, 1, 0, 0) & (i == 0x0a ? 0x7f : 0xff));
	}
	put(b, vmm__rtc_nmi_masked(t->vm));
	pio(c, 0x70, 1, 1, 0x0c);
	put(b, pio(c, 0x71, 1, 0, 0));
}

static void read_misc(ds_vm *t, rb *b)
{
	vmm_vcpu *c = t->cpu[0];

	put(b, pio(c, VMM__ACPI_PM1_EVT, 4, 0, 0));
	put(b, pio(c, VMM__ACPI_PM1_CNT, 2, 0, 0));
	for (uint16_t p = 0x3f9; p <= 0x3ff; p++)
		put(b, pio(c, p, 1, 0, 0));
	for (int i = 0; i < 4; i++)
		put(b, pio(c, 0x3f8, 1, 0, 0));      /* x, y, z, then 0 */
	put(b, pio(c, 0x3fd, 1, 0, 0));
	pio(c, 0x3fb, 1, 1, 0x83);
	put(b, pio(c, 0x3f8, 1, 0, 0));
	put(b, pio(c, 0x3f9, 1, 0, 0));
	put(b, pio(c, 0x511, 1, 0, 0));              /* 'M' */
	put(b, pio(c, 0x511, 1, 0, 0));              /* 'U' */
}

static void read_pci(ds_vm *t, rb *b)
{
	vmm_vcpu *c = t->cpu[0];
	uint64_t b4 = bar4_of(c, RNG_SLOT), b1 = ecam(c, RNG_SLOT, 0x14, 4, 0, 0) & ~0xfu;

	for (unsigned s = 0; s <= 5; s++)
		for (unsigned reg = 0; reg < 256; reg += 4)
			put(b, ecam(c, s, reg, 4, 0, 0));
	for (unsigned off = 0; off < 0x38; off += 2)
		put(b, mmio(c, b4 + off, 2, 0, 0));
	mmio(c, b4 + 22, 2, 1, 0);
	for (unsigned off = 24; off < 0x38; off += 2)
		put(b, mmio(c, b4 + off, 2, 0, 0));
	for (unsigned off = 0; off < 32; off += 4)
		put(b, mmio(c, b1 + off, 4, 0, 0));
	put(b, mmio(c, b1 + 0x800, 8, 0, 0));        /* PBA */
}

static void read_all(ds_vm *t, rb *b)
{
	memset(b, 0, sizeof(*b));
	read_chips(t, b);
	read_timers(t, b);
	read_misc(t, b);
	read_pci(t, b);
}

static uint16_t used_idx(ds_vm *t)
{
	uint16_t used = 0;

	assert_int_equal(vmm_mem_read(t->vm, USED + 2, &used, 2), 0);
	return used;
}

/* A second buffer made available and notified: the rng takes it as entry 1
 * of the used ring only if the loaded indexes are right. */
static uint16_t rng_second_request(ds_vm *t)
{
	uint16_t head = 0, idx = 2;

	assert_int_equal(vmm_mem_write(t->vm, AVAIL + 6, &head, 2), 0);
	assert_int_equal(vmm_mem_write(t->vm, AVAIL + 2, &idx, 2), 0);
	mmio(t->cpu[0], bar4_of(t->cpu[0], RNG_SLOT) + 0x3000, 2, 1, 0);
	return used_idx(t);
}

static void test_roundtrip_every_device(void **state)
{
	ds_vm a, b;
	vmm__sw sa, sb;
	static rb ra, rbk;

	(void)state;
	ds_image_create();
	ds_create(&a, "emu", ALL_FLAGS, 1, 2);
	ds_create(&b, "emu", ALL_FLAGS, 1, 2);
	program_all(&a);
	ds_save(a.vm, &sa);
	ds_copy_cpu_and_ram(&a, &b, DS_MEM, 2);
	ds_load(b.vm, &sa);
	ds_save(b.vm, &sb);
	ds_compare(&sa, &sb);
	print_message("# stream: %zu bytes, %zu moving fields\n", sa.len, sa.ntime);
	read_all(&a, &ra);
	read_all(&b, &rbk);
	assert_int_equal(ra.n, rbk.n);
	for (unsigned i = 0; i < ra.n; i++)
		if (ra.v[i] != rbk.v[i])
			fail_msg("readback %u: 0x%llx on the first VM, 0x%llx on the second", i,
				 (unsigned long long)ra.v[i], (unsigned long long)rbk.v[i]);
	for (int k = 0; k < 2; k++) {
		assert_true(ra.tccr[k] > 0xffffffffu - 200000000u);   /* < 25 s counted */
		assert_true(rbk.tccr[k] > 0xffffffffu - 200000000u);
		assert_true(rbk.tccr[k] <= (uint64_t)ra.tccr[k] + 160000000u);  /* 20 s */
	}
	assert_true(rbk.pit_live >= 1 && rbk.pit_live <= 0x1234);
	/* Time stood still between save and load: the second VM is behind. */
	assert_true(((ra.pmtimer - rbk.pmtimer) & 0xffffff) < 3579545u * 4);
	/* The saved VM's devices are frozen until it runs again (or thaws). */
	assert_int_equal(rng_second_request(&a), 1);
	vmm__vm_state_thaw(a.vm);
	assert_int_equal(used_idx(&a), 2);           /* taken at the thaw */
	vmm__vm_state_thaw(b.vm);                    /* b was saved as well */
	assert_int_equal(rng_second_request(&b), 2);
	vmm__sw_free(&sa);
	vmm__sw_free(&sb);
	ds_destroy(&a);
	ds_destroy(&b);
	ds_image_remove();
}

/* Some of the values read back are what was programmed, not only equal. */
static void test_readback_values(void **state)
{
	ds_vm a, b;
	vmm__sw s;
	vmm_vcpu *c;
	uint64_t deadline, got = 0;

	(void)state;
	ds_create(&a, "emu", ALL_FLAGS, 0, 2);
	ds_create(&b, "emu", ALL_FLAGS, 0, 2);
	program_pic(&a);
	program_ioapic(&a);
	program_lapic(a.cpu[0], 0);
	program_lapic(a.cpu[1], 1);
	program_rtc(&a);
	program_misc(&a);
	mmio(a.cpu[0], LAPIC_BASE + 0x320, 4, 1, 0x40050);   /* TSC-deadline mode */
	deadline = __rdtsc() + 300ull * 1000000000ull;
	assert_int_equal(vmm__lapic_msr_write(a.cpu[0], 0x6e0, deadline), 0);
	ds_save(a.vm, &s);
	ds_load(b.vm, &s);
	c = b.cpu[0];
	/* The deadline is as far ahead of the loading moment as it was of the
	 * saving one (in host TSC units here; the backend adds its offset). */
	assert_int_equal(vmm__lapic_msr_read(c, 0x6e0, &got), 0);
	assert_true(got >= deadline && got - deadline < 20000000000ull);
	assert_int_equal(mmio(c, LAPIC_BASE + 0x320, 4, 0, 0), 0x40050);
	assert_int_equal(pio(c, 0x21, 1, 0, 0), 0xb0);
	assert_int_equal(pio(c, 0xa1, 1, 0, 0), 0x5d);
	pio(c, 0x20, 1, 1, 0x0b);
	assert_int_equal(pio(c, 0x20, 1, 0, 0), 0x08);           /* ISR: IRQ 3 */
	pio(c, 0x20, 1, 1, 0x0a);
	assert_int_equal(pio(c, 0x20, 1, 0, 0) & 0x48, 0x40);    /* IRR: IRQ 6 */
	mmio(c, IOAPIC_BASE, 4, 1, 0x10 + 2 * 7);
	assert_int_equal(mmio(c, IOAPIC_BASE + 0x10, 4, 0, 0), 0x18137);
	mmio(c, IOAPIC_BASE, 4, 1, 0x11 + 2 * 7);
	assert_int_equal(mmio(c, IOAPIC_BASE + 0x10, 4, 0, 0), 7u << 24);
	assert_int_equal(mmio(c, LAPIC_BASE + 0x80, 4, 0, 0), 0x20);
	assert_int_equal(mmio(b.cpu[1], LAPIC_BASE + 0x80, 4, 0, 0), 0x21);
	assert_int_equal(mmio(b.cpu[1], LAPIC_BASE + 0x320, 4, 0, 0), 0x41);
	assert_int_equal(mmio(b.cpu[1], LAPIC_BASE + 0x380, 4, 0, 0), 0xffffffffu);
	pio(c, 0x70, 1, 1, 0x0a);
	assert_int_equal(pio(c, 0x71, 1, 0, 0) & 0x7f, 0x2a);    /* 64 Hz */
	pio(c, 0x70, 1, 1, 0x04);
	assert_int_equal(pio(c, 0x71, 1, 0, 0), 0x12);
	assert_int_equal(pio(c, 0x3fc, 1, 0, 0), 0x0b);
	assert_int_equal(pio(c, 0x3f8, 1, 0, 0), 'x');
	assert_int_equal(pio(c, 0x511, 1, 0, 0), 'M');
	vmm__sw_free(&s);
	ds_destroy(&a);
	ds_destroy(&b);
}

/* Without VMM_VM_IRQCHIP only the UART (and fw_cfg) have state. */
static void test_no_platform(void **state)
{
	ds_vm a, b;
	vmm__sw s;

	(void)state;
	ds_create(&a, "emu", VMM_VM_FW_CFG, 0, 1);
	ds_create(&b, "emu", VMM_VM_FW_CFG, 0, 1);
	pio(a.cpu[0], 0x3ff, 1, 1, 0x42);
	pio(a.cpu[0], 0x510, 2, 1, 0x0001);
	ds_save(a.vm, &s);
	assert_int_equal(s.data[12], 2);             /* uart, fw-cfg */
	ds_load(b.vm, &s);
	assert_int_equal(pio(b.cpu[0], 0x3ff, 1, 0, 0), 0x42);
	assert_int_equal(pio(b.cpu[0], 0x511, 1, 0, 0), pio(a.cpu[0], 0x511, 1, 0, 0));
	vmm__sw_free(&s);
	ds_destroy(&a);
	ds_destroy(&b);
}

/* ---- A running guest --------------------------------------------------------- */

/* Real mode: PIC at 0x20 with only IRQ 0 open, PIT counter 0 at ~500 Hz;
 * vector 0x20 counts at 0x500 and EOIs; out 0x80 says ready, then HLT. */
GUEST16(g_count,
	"xor %ax, %ax\n mov %ax, %ds\n mov %ax, %ss\n mov $0x7000, %sp\n"
	"movw $(count_isr - g_count + 0x1000), (0x20 * 4)\n movw $0, (0x20 * 4 + 2)\n"
	"movw $0, (0x500)\n"
	"mov $0x11, %al\n out %al, $0x20\n mov $0x20, %al\n out %al, $0x21\n"
	"mov $0x04, %al\n out %al, $0x21\n mov $0x01, %al\n out %al, $0x21\n"
	"mov $0xfe, %al\n out %al, $0x21\n"
	"mov $0x34, %al\n out %al, $0x43\n mov $0x52, %al\n out %al, $0x40\n"
	"mov $0x09, %al\n out %al, $0x40\n"
	"out %al, $0x80\n sti\n"
	"1: hlt\n jmp 1b\n"
	"count_isr: incw (0x500)\n push %ax\n mov $0x20, %al\n out %al, $0x20\n pop %ax\n iret");

typedef struct runner {
	vmm_vcpu *cpu;
	pthread_t thread;
	int reason;
} runner;

static void *run_thread(void *arg)
{
	runner *r = arg;
	vmm_exit *exit = NULL;

	r->reason = vmm_vcpu_run(r->cpu, &exit) == 0 ? (int)exit->reason : -1;
	return NULL;
}

static uint16_t guest_count(vmm_vm *vm)
{
	uint16_t v = 0;

	assert_int_equal(vmm_mem_read(vm, 0x500, &v, 2), 0);
	return v;
}

/* Runs until kicked after ms; meanwhile save and load must refuse. */
static void run_for(ds_vm *t, unsigned ms)
{
	runner r = { t->cpu[0], 0, 0 };
	vmm__sw w;

	assert_int_equal(pthread_create(&r.thread, NULL, run_thread, &r), 0);
	ds_sleep_ms(ms / 2);
	assert_int_equal(vmm__vm_state_save(t->vm, &w), VMM_ESTATE);
	assert_int_equal(vmm__vm_state_load(t->vm, "x", 1), VMM_ESTATE);
	ds_sleep_ms(ms / 2);
	assert_int_equal(vmm_vcpu_kick(t->cpu[0]), 0);
	assert_int_equal(pthread_join(r.thread, NULL), 0);
	assert_int_equal(r.reason, VMM_EXIT_CANCELLED);
}

static void counting_guest(const char *backend)
{
	ds_vm a, b;
	vmm__sw s;
	vmm_exit *exit;
	uint16_t before, after;
	uint32_t flags = VMM_VM_IRQCHIP | VMM_VM_NO_UART | VMM_VM_NO_DEBUG_EXIT;

	ds_create(&a, backend, flags, 0, 1);
	ds_create(&b, backend, flags, 0, 1);
	assert_int_equal(vmm_mem_write(a.vm, KT_CODE, g_count, GUEST_LEN(g_count)), 0);
	{
		vmm_sregs sr;

		assert_int_equal(vmm_vcpu_get_sregs(a.cpu[0], &sr), 0);
		sr.cs.selector = 0;
		sr.cs.base = 0;
		assert_int_equal(vmm_vcpu_set_sregs(a.cpu[0], &sr), 0);
		kt_set_real_ip(a.cpu[0], KT_CODE);
	}
	assert_int_equal(vmm_vcpu_run(a.cpu[0], &exit), 0);
	assert_int_equal(exit->reason, VMM_EXIT_IO);
	assert_int_equal(exit->io.port, 0x80);
	run_for(&a, 300);
	before = guest_count(a.vm);
	assert_true(before >= 10);
	ds_save(a.vm, &s);
	ds_copy_cpu_and_ram(&a, &b, 1 << 20, 1);
	ds_load(b.vm, &s);
	run_for(&b, 300);
	after = guest_count(b.vm);
	print_message("# %s: %u interrupts before the save, %u after the load\n", backend,
		      before, (unsigned)(after - before));
	assert_true((uint16_t)(after - before) >= 10);
	vmm__sw_free(&s);
	ds_destroy(&a);
	ds_destroy(&b);
}

static void test_running_guest_emu(void **state)
{
	(void)state;
	counting_guest("emu");
}

static void test_running_guest_kvm(void **state)
{
	(void)state;
	kt_require_kvm();
	counting_guest("kvm");
}

/* 64-bit: the APIC timer periodic every 2 ms on vector 0x42; every vector
 * goes to a handler counting at 0x5000 that EOIs; HLT in a loop. */
GUEST64(g_apic_timer,
	"mov $0xfee00000, %esi\n movl $0x1ff, 0x0f0(%rsi)\n movl $0x10700, 0x350(%rsi)\n"
	"movl $0xb, 0x3e0(%rsi)\n movl $0x20042, 0x320(%rsi)\n"
	"movl $2000000, 0x380(%rsi)\n 1: sti\n hlt\n jmp 1b");
GUEST64(g_apic_isr, "incq 0x5000\n push %rax\n mov $0xfee00000, %eax\n"
	"movl $0, 0xb0(%rax)\n pop %rax\n iretq");

static void put64(vmm_vm *vm, uint64_t gpa, uint64_t v)
{
	assert_int_equal(vmm_mem_write(vm, gpa, &v, 8), 0);
}

/* Long mode, GDT at 0, IDT at 0x4000 to the handler at 0x180000, the 4th
 * GiB mapped (uncached) for the APIC page. */
static void long_mode_vm(ds_vm *t)
{
	vmm_sregs s;

	assert_int_equal(fx_page_tables(t->vm), 0);
	put64(t->vm, FX_PDPT + 3 * 8, 0x6000 | 7);
	for (uint64_t i = 0; i < 512; i++)
		put64(t->vm, 0x6000 + i * 8, (0xc0000000ull + (i << 21)) | 0x9f);
	put64(t->vm, 0x08, 0x00209a0000000000ull);
	put64(t->vm, 0x10, 0x00cf92000000ffffull);
	assert_int_equal(vmm_mem_write(t->vm, 0x180000, g_apic_isr, GUEST_LEN(g_apic_isr)), 0);
	for (unsigned v = 0; v < 256; v++) {
		put64(t->vm, 0x4000 + v * 16, 0x0000 | (0x08ull << 16) | (0x8eull << 40) |
			  (0x18ull << 48));
		put64(t->vm, 0x4000 + v * 16 + 8, 0);
	}
	assert_int_equal(fx_long_mode(t->cpu[0], FX_CODE, DS_MEM), 0);
	assert_int_equal(vmm_vcpu_get_sregs(t->cpu[0], &s), 0);
	s.gdt.base = 0;
	s.gdt.limit = 0x17;
	s.idt.base = 0x4000;
	s.idt.limit = 0xfff;
	assert_int_equal(vmm_vcpu_set_sregs(t->cpu[0], &s), 0);
	assert_int_equal(vmm_mem_write(t->vm, FX_CODE, g_apic_timer, GUEST_LEN(g_apic_timer)), 0);
}

static uint64_t apic_ticks(vmm_vm *vm)
{
	uint64_t v = 0;

	assert_int_equal(vmm_mem_read(vm, 0x5000, &v, 8), 0);
	return v;
}

static void test_running_apic_timer_emu(void **state)
{
	uint32_t flags = VMM_VM_IRQCHIP | VMM_VM_NO_UART | VMM_VM_NO_DEBUG_EXIT;
	ds_vm a, b;
	vmm__sw s;
	uint64_t before, after;

	(void)state;
	ds_create(&a, "emu", flags, 0, 1);
	ds_create(&b, "emu", flags, 0, 1);
	long_mode_vm(&a);
	run_for(&a, 300);
	before = apic_ticks(a.vm);
	assert_true(before >= 10);
	ds_save(a.vm, &s);
	ds_copy_cpu_and_ram(&a, &b, DS_MEM, 1);
	ds_load(b.vm, &s);
	run_for(&b, 300);
	after = apic_ticks(b.vm);
	print_message("# APIC timer: %llu interrupts before the save, %llu after the load\n",
		      (unsigned long long)before, (unsigned long long)(after - before));
	assert_true(after >= before + 10);
	vmm__sw_free(&s);
	ds_destroy(&a);
	ds_destroy(&b);
}

/* ---- kvm's in-kernel chips ---------------------------------------------------- */

/* Real mode: PIC initialised at 0x40/0x48 with masks 0x5a / 0xa5, PIT
 * counter 2 in mode 3, then out 0x80. */
GUEST16(g_prog,
	"mov $0x11, %al\n out %al, $0x20\n mov $0x40, %al\n out %al, $0x21\n"
	"mov $0x04, %al\n out %al, $0x21\n mov $0x01, %al\n out %al, $0x21\n"
	"mov $0x11, %al\n out %al, $0xa0\n mov $0x48, %al\n out %al, $0xa1\n"
	"mov $0x02, %al\n out %al, $0xa1\n mov $0x01, %al\n out %al, $0xa1\n"
	"mov $0x5a, %al\n out %al, $0x21\n mov $0xa5, %al\n out %al, $0xa1\n"
	"mov $0xb6, %al\n out %al, $0x43\n mov $0x00, %al\n out %al, $0x42\n"
	"mov $0x08, %al\n out %al, $0x42\n"
	"out %al, $0x80\n hlt");

/* Reads the masks and counter 2's status back: out 0x81, 0x82, 0x83. */
GUEST16(g_read,
	"in $0x21, %al\n out %al, $0x81\n in $0xa1, %al\n out %al, $0x82\n"
	"mov $0xe8, %al\n out %al, $0x43\n in $0x42, %al\n out %al, $0x83\n hlt");

static void real_at(vmm_vcpu *c, vmm_vm *vm, const uint8_t *code, size_t len)
{
	vmm_sregs sr;

	assert_int_equal(vmm_mem_write(vm, KT_CODE, code, len), 0);
	assert_int_equal(vmm_vcpu_get_sregs(c, &sr), 0);
	sr.cs.selector = 0;
	sr.cs.base = 0;
	assert_int_equal(vmm_vcpu_set_sregs(c, &sr), 0);
	kt_set_real_ip(c, KT_CODE);
}

static void test_kvm_irqchip_roundtrip(void **state)
{
	uint32_t flags = VMM_VM_IRQCHIP | VMM_VM_NO_UART | VMM_VM_NO_DEBUG_EXIT;
	ds_vm a, b;
	vmm__sw sa, sb;

	(void)state;
	kt_require_kvm();
	ds_create(&a, "kvm", flags, 0, 1);
	ds_create(&b, "kvm", flags, 0, 1);
	real_at(a.cpu[0], a.vm, g_prog, GUEST_LEN(g_prog));
	kt_expect_io(a.cpu[0], 0x80, 1, VMM_IO_OUT, 0x08);
	ds_save(a.vm, &sa);
	ds_load(b.vm, &sa);
	ds_save(b.vm, &sb);
	ds_compare(&sa, &sb);
	print_message("# kvm stream: %zu bytes\n", sa.len);
	real_at(b.cpu[0], b.vm, g_read, GUEST_LEN(g_read));
	kt_expect_io(b.cpu[0], 0x81, 1, VMM_IO_OUT, 0x5a);
	kt_expect_io(b.cpu[0], 0x82, 1, VMM_IO_OUT, 0xa5);
	{
		vmm_exit *e = kt_run(b.cpu[0]);

		assert_int_equal(e->reason, VMM_EXIT_IO);
		assert_int_equal(e->io.port, 0x83);
		assert_int_equal(e->io.data & 0x3f, 0x36);   /* lo/hi, mode 3, binary */
	}
	vmm__sw_free(&sa);
	vmm__sw_free(&sb);
	ds_destroy(&a);
	ds_destroy(&b);
}

/* Real mode, x2APIC through MSRs: one-shot masked, divide 128, count
 * 0xffffffff (about 550 s); out 0x80. */
GUEST16(g_x2timer,
	"mov $0x1b, %ecx\n rdmsr\n or $0xc00, %eax\n wrmsr\n"
	"xor %edx, %edx\n mov $0x83e, %ecx\n mov $0xa, %eax\n wrmsr\n"
	"mov $0x832, %ecx\n mov $0x10040, %eax\n wrmsr\n"
	"mov $0x838, %ecx\n mov $0xffffffff, %eax\n wrmsr\n"
	"out %al, $0x80\n hlt");

/* Reads the current count: out 0x84 (32 bits). */
GUEST16(g_x2ccr, "mov $0x839, %ecx\n rdmsr\n out %eax, $0x84\n hlt");

static uint32_t kvm_ccr(vmm_vcpu *c)
{
	vmm_exit *e = kt_run(c);

	assert_int_equal(e->reason, VMM_EXIT_IO);
	assert_int_equal(e->io.port, 0x84);
	return (uint32_t)e->io.data;
}

/* The in-kernel APIC timer keeps what it counted down: the loaded VM's
 * count goes on from the saved one (KVM_SET_LAPIC restarts from TMCCT). */
static void test_kvm_apic_timer_count(void **state)
{
	uint32_t flags = VMM_VM_IRQCHIP | VMM_VM_NO_UART | VMM_VM_NO_DEBUG_EXIT;
	ds_vm a, b;
	vmm__sw sa, sb;
	uint32_t ca, cb;

	(void)state;
	kt_require_kvm();
	ds_create(&a, "kvm", flags, 0, 1);
	ds_create(&b, "kvm", flags, 0, 1);
	real_at(a.cpu[0], a.vm, g_x2timer, GUEST_LEN(g_x2timer));
	kt_expect_io(a.cpu[0], 0x80, 1, VMM_IO_OUT, 0xff);
	ds_sleep_ms(1000);                           /* ~7.8 M counts */
	ds_save(a.vm, &sa);
	ds_copy_cpu_and_ram(&a, &b, 64 << 10, 1);
	ds_load(b.vm, &sa);
	ds_save(b.vm, &sb);
	ds_compare(&sa, &sb);
	real_at(a.cpu[0], a.vm, g_x2ccr, GUEST_LEN(g_x2ccr));
	real_at(b.cpu[0], b.vm, g_x2ccr, GUEST_LEN(g_x2ccr));
	ca = kvm_ccr(a.cpu[0]);
	cb = kvm_ccr(b.cpu[0]);
	print_message("# kvm APIC timer: 0x%x counted in the first VM, 0x%x in the second\n",
		      0xffffffffu - ca, 0xffffffffu - cb);
	assert_true(0xffffffffu - cb >= 7000000u);   /* the saved second was kept */
	assert_true(0xffffffffu - cb <= 0xffffffffu - ca + 80000000u);
	vmm__sw_free(&sa);
	vmm__sw_free(&sb);
	ds_destroy(&a);
	ds_destroy(&b);
}

/* ---- Requests in flight ----------------------------------------------------- */

static void noop_notify(void *opaque, vmm_virtio_dev *dev, uint16_t q)
{
}

static const vmm_virtio_ops slow_ops = {
	.version = VMM_VIRTIO_OPS_VERSION, .device_id = 30, .pci_class = 0xff0000,
	.num_queues = 1, .queue_size = 8, .queue_notify = noop_notify,
};

typedef struct pusher {
	vmm_virtio_dev *dev;
	vmm_virtq_elem *e;
} pusher;

static void *push_later(void *arg)
{
	pusher *p = arg;

	ds_sleep_ms(300);
	vmm_virtq_push(p->dev, 0, p->e, 0);
	return NULL;
}

static void test_inflight_waits_then_refuses(void **state)
{
	ds_vm a;
	vmm_virtio_dev *dev;
	vmm_virtq_elem *e;
	vmm_exit *ex;
	vmm__sw w;
	pusher p;
	pthread_t th;
	uint64_t b4;
	uint8_t d[16] = { 0 };
	uint64_t addr = BUF;
	uint32_t len = 16;
	uint16_t head = 0, idx = 1;

	(void)state;
	ds_create(&a, "emu", VMM_VM_IRQCHIP, 0, 1);
	assert_int_equal(vmm_virtio_add(a.vm, &slow_ops, NULL, &dev), 0);
	ecam(a.cpu[0], 1, 0x04, 2, 1, 0x6);
	b4 = bar4_of(a.cpu[0], 1);
	mmio(a.cpu[0], b4 + 20, 1, 1, 3);
	mmio(a.cpu[0], b4 + 8, 4, 1, 1);             /* features 32-63: VERSION_1 */
	mmio(a.cpu[0], b4 + 12, 4, 1, 1);
	mmio(a.cpu[0], b4 + 20, 1, 1, 11);
	mmio(a.cpu[0], b4 + 32, 8, 1, DESC);
	mmio(a.cpu[0], b4 + 40, 8, 1, AVAIL);
	mmio(a.cpu[0], b4 + 48, 8, 1, USED);
	mmio(a.cpu[0], b4 + 28, 2, 1, 1);
	mmio(a.cpu[0], b4 + 20, 1, 1, 15);
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	assert_int_equal(vmm_mem_write(a.vm, DESC, d, 16), 0);
	assert_int_equal(vmm_mem_write(a.vm, AVAIL + 4, &head, 2), 0);
	assert_int_equal(vmm_mem_write(a.vm, AVAIL + 2, &idx, 2), 0);
	assert_int_equal(vmm_virtq_pop(dev, 0, &e), 1);
	assert_int_equal(vmm__vm_state_save(a.vm, &w), VMM_EBUSY);
	assert_non_null(strstr(vmm_last_error(), "in flight"));
	p = (pusher){ dev, e };
	assert_int_equal(pthread_create(&th, NULL, push_later, &p), 0);
	ds_save(a.vm, &w);                           /* waits for the push */
	assert_int_equal(pthread_join(th, NULL), 0);
	vmm__sw_free(&w);
	/* Saved: frozen, a new buffer is not taken until a vCPU runs. */
	idx = 2;
	assert_int_equal(vmm_mem_write(a.vm, AVAIL + 6, &head, 2), 0);
	assert_int_equal(vmm_mem_write(a.vm, AVAIL + 2, &idx, 2), 0);
	assert_int_equal(vmm_virtq_pop(dev, 0, &e), 0);
	real_at(a.cpu[0], a.vm, (const uint8_t[]){ 0xe6, 0x80 }, 2);   /* out 0x80 */
	assert_int_equal(vmm_vcpu_run(a.cpu[0], &ex), 0);
	assert_int_equal(ex->reason, VMM_EXIT_IO);
	assert_int_equal(vmm_virtq_pop(dev, 0, &e), 1);
	vmm_virtq_push(dev, 0, e, 0);
	ds_destroy(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_every_device),
		cmocka_unit_test(test_readback_values),
		cmocka_unit_test(test_no_platform),
		cmocka_unit_test(test_running_guest_emu),
		cmocka_unit_test(test_running_guest_kvm),
		cmocka_unit_test(test_running_apic_timer_emu),
		cmocka_unit_test(test_kvm_irqchip_roundtrip),
		cmocka_unit_test(test_kvm_apic_timer_count),
		cmocka_unit_test(test_inflight_waits_then_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
