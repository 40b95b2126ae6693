/* platform_fixture.h - an emu VM with VMM_VM_IRQCHIP for the tests of the
 * legacy devices (test_pic, test_pit, test_rtc, test_pmtimer): port access
 * the way a guest's IN/OUT reaches them, and the PIC's registers. */
#ifndef PLATFORM_FIXTURE_H
#define PLATFORM_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "lib/platform/platform.h"

#define PF_FN static __attribute__((unused))

typedef struct pfix {
	vmm_vm *vm;
	vmm_vcpu *vcpu;
} pfix;

static pfix pf;

PF_FN int pf_setup_mem(void **state, uint64_t mem, uint32_t vcpus)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;

	cfg.backend = "emu";
	cfg.mem_size = mem;
	cfg.vcpus = vcpus;
	cfg.flags = VMM_VM_IRQCHIP;
	if (vmm_vm_create(&cfg, &pf.vm) != 0)
		return -1;
	if (vmm_vcpu_create(pf.vm, 0, &pf.vcpu) != 0)
		return -1;
	*state = &pf;
	return 0;
}

PF_FN int pf_setup(void **state)
{
	return pf_setup_mem(state, 64u << 20, 1);
}

PF_FN int pf_teardown(void **state)
{
	vmm_vm_destroy(((pfix *)*state)->vm);
	pf.vm = NULL;
	return 0;
}

PF_FN void outb(uint16_t port, uint32_t v)
{
	assert_int_equal(vmm__bus_pio(pf.vcpu, port, 1, 1, &v), VMM__BUS_DONE);
}

PF_FN uint32_t inb(uint16_t port)
{
	uint32_t v = 0x5a5a;

	assert_int_equal(vmm__bus_pio(pf.vcpu, port, 1, 0, &v), VMM__BUS_DONE);
	return v;
}

PF_FN uint32_t inl(uint16_t port)
{
	uint32_t v = 0x5a5a5a5a;

	assert_int_equal(vmm__bus_pio(pf.vcpu, port, 4, 0, &v), VMM__BUS_DONE);
	return v;
}

/* PIC: IRR and ISR through OCW3 (read register select). */
PF_FN uint8_t pic_irr(uint16_t cmd)
{
	outb(cmd, 0x0a);
	return (uint8_t)inb(cmd);
}

PF_FN uint8_t pic_isr(uint16_t cmd)
{
	uint8_t v;

	outb(cmd, 0x0b);
	v = (uint8_t)inb(cmd);
	outb(cmd, 0x0a);
	return v;
}

/* The usual PC setup: master vectors 0x20.., slave 0x28.., cascade on 2. */
PF_FN void pic_init_pc(uint8_t icw4)
{
	outb(0x20, 0x11); outb(0x21, 0x20); outb(0x21, 0x04); outb(0x21, icw4);
	outb(0xa0, 0x11); outb(0xa1, 0x28); outb(0xa1, 0x02); outb(0xa1, icw4);
}

PF_FN void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };

	while (nanosleep(&ts, &ts) != 0)
		;
}

#endif /* PLATFORM_FIXTURE_H */
