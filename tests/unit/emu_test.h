/* emu_test.h - helpers for the emu backend's cmocka tests: guest snippets
 * assembled by GNU as into the test binary (EMU_GUEST64 / EMU_GUEST32),
 * a long-mode VM (emu_fixture.h) and run-until-exit checks. */
#ifndef EMU_TEST_H
#define EMU_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/emu_fixture.h"

#define EMU_GUEST(name, mode, text)                                           \
	extern const uint8_t name[], name##_end[];                            \
	__asm__(".pushsection .rodata\n" mode "\n" #name ":\n" text "\n"      \
		#name "_end:\n.code64\n.popsection\n")
#define EMU_GUEST64(name, text) EMU_GUEST(name, ".code64", text)
#define EMU_GUEST32(name, text) EMU_GUEST(name, ".code32", text)
#define EMU_LEN(name) ((size_t)(name##_end - name))

#define FL_CF 0x001ull
#define FL_PF 0x004ull
#define FL_AF 0x010ull
#define FL_ZF 0x040ull
#define FL_SF 0x080ull
#define FL_OF 0x800ull
#define FL_ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

/* A 64 MiB emu VM (no built-in devices) with code loaded at FX_CODE. */
static inline void et_setup(emu_fx *fx, const uint8_t *code, size_t len)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;

	memset(fx, 0, sizeof(*fx));
	cfg.backend = "emu";
	cfg.flags = VMM_VM_NO_UART | VMM_VM_NO_DEBUG_EXIT;
	fx->mem_size = cfg.mem_size;
	assert_int_equal(vmm_vm_create(&cfg, &fx->vm), 0);
	assert_int_equal(fx_page_tables(fx->vm), 0);
	assert_int_equal(vmm_vcpu_create(fx->vm, 0, &fx->vcpu), 0);
	assert_int_equal(fx_long_mode(fx->vcpu, FX_CODE, fx->mem_size), 0);
	assert_int_equal(vmm_mem_write(fx->vm, FX_CODE, code, len), 0);
}

/* Runs; the exit must have the given reason. */
static inline vmm_exit *et_run(emu_fx *fx, uint32_t reason)
{
	vmm_exit *exit = NULL;

	assert_int_equal(vmm_vcpu_run(fx->vcpu, &exit), 0);
	if (exit->reason != reason)
		fail_msg("exit reason %u, expected %u (rip 0x%llx, message '%s')",
			 exit->reason, reason, (unsigned long long)exit->rip,
			 exit->reason == VMM_EXIT_INTERNAL_ERROR ? exit->internal.message : "");
	return exit;
}

/* Runs snippet code (which must end in HLT) with registers *in; returns the
 * registers at the HLT. */
static inline vmm_regs et_exec(const uint8_t *code, size_t len, const vmm_regs *in)
{
	emu_fx fx;
	vmm_regs r;

	et_setup(&fx, code, len);
	if (in) {
		r = *in;
		r.rip = FX_CODE;
		if (!r.rsp)
			r.rsp = fx.mem_size;
		r.rflags |= 2;
		assert_int_equal(vmm_vcpu_set_regs(fx.vcpu, &r), 0);
	}
	et_run(&fx, VMM_EXIT_HLT);
	r = fx_regs(&fx);
	assert_int_equal(r.rip, FX_CODE + len);
	fx_destroy(&fx);
	return r;
}

static inline uint64_t et_mem64(emu_fx *fx, uint64_t gpa)
{
	uint64_t v = 0;

	assert_int_equal(vmm_mem_read(fx->vm, gpa, &v, 8), 0);
	return v;
}

#endif
