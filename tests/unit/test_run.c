/* test_run.c - the convenience runner driven by scripted fake vCPUs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "fake_backend.h"

static vmm_vm *vm_with_vcpus(uint32_t n, fake_script_fn script)
{
	vmm_vm *vm;

	fake_reset();
	fake.script = script;
	vm = fake_vm(1 << 20, n, 0);
	assert_non_null(vm);
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(vmm_vcpu_create(vm, i, NULL), 0);
	return vm;
}

/* What a backend does for OUT 0xf4: dispatch, and return the STOP exit. */
static int guest_out(vmm_vcpu *vcpu, vmm_exit *exit, uint16_t port, uint32_t value)
{
	int rc = vmm__bus_pio(vcpu, port, 1, 1, &value);

	if (rc == VMM__BUS_STOP)
		return 0;
	exit->reason = VMM_EXIT_INTERNAL_ERROR;
	snprintf(exit->internal.message, sizeof(exit->internal.message), "bus said %d", rc);
	return 0;
}

/* vCPU 0 spins until kicked; vCPU 1 does some I/O then exits with 0x2a. */
static int script_debug_exit_from_1(vmm_vcpu *vcpu, vmm_exit *exit, unsigned call)
{
	if (vcpu->index == 0)
		return fake_wait_for_kick(vcpu, exit);
	if (call < 3) {
		exit->reason = VMM_EXIT_IO;
		exit->io.direction = VMM_IO_OUT;
		exit->io.port = 0x80;
		exit->io.size = 1;
		return 0;
	}
	return guest_out(vcpu, exit, 0xf4, 0x2a);
}

static void test_debug_exit_ends_run_and_kicks_others(void **state)
{
	vmm_vm *vm = vm_with_vcpus(2, script_debug_exit_from_1);
	vmm_run_result res = VMM_RUN_RESULT_INIT;
	vmm_vcpu *v0 = vmm_vcpu_get(vm, 0), *v1 = vmm_vcpu_get(vm, 1);

	assert_int_equal(vmm_vm_run(vm, NULL, &res), 0);
	assert_int_equal(res.size, sizeof(res));
	assert_int_equal(res.end, VMM_END_DEBUG_EXIT);
	assert_int_equal(res.code, 0x2a);
	assert_int_equal(res.vcpu_index, 1);
	assert_int_equal(res.rip, 0x1003);
	assert_string_equal(res.message, "vCPU 1 wrote 0x2a to the debug exit port");
	assert_true(atomic_load(&fake_of(v0)->kicks) >= 1);
	assert_int_equal(fake_of(v1)->calls, 4);
	/* no kick is left pending for the next run */
	assert_int_equal(atomic_load(&v0->kicked), 0);
	assert_int_equal(atomic_load(&v1->kicked), 0);
	assert_int_equal(atomic_load(&v0->in_run), 0);
	vmm_vm_destroy(vm);
}

static int script_hlt(vmm_vcpu *vcpu, vmm_exit *exit, unsigned call)
{
	exit->reason = VMM_EXIT_HLT;
	return 0;
}

static void test_all_halted(void **state)
{
	vmm_vm *vm = vm_with_vcpus(3, script_hlt);
	vmm_run_result res = VMM_RUN_RESULT_INIT;
	vmm_run_options opt = VMM_RUN_OPTIONS_INIT;
	vmm_regs regs;

	opt.timeout_ms = 60000;
	assert_int_equal(vmm_vm_run(vm, &opt, &res), 0);
	assert_int_equal(res.end, VMM_END_HALTED);
	assert_non_null(strstr(res.message, "all vCPUs halted"));
	assert_non_null(strstr(res.message, "with interrupts disabled"));
	assert_true(res.vcpu_index < 3);
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(fake_of(vmm_vcpu_get(vm, i))->calls, 1);

	/* run again, now with IF set everywhere */
	for (uint32_t i = 0; i < 3; i++) {
		vmm_vcpu *v = vmm_vcpu_get(vm, i);

		assert_int_equal(vmm_vcpu_get_regs(v, &regs), 0);
		regs.rflags = 0x202;
		assert_int_equal(vmm_vcpu_set_regs(v, &regs), 0);
	}
	assert_int_equal(vmm_vm_run(vm, NULL, &res), 0);
	assert_int_equal(res.end, VMM_END_HALTED);
	assert_non_null(strstr(res.message,
			       "with interrupts enabled and no interrupt source"));
	vmm_vm_destroy(vm);
}

static int script_spin(vmm_vcpu *vcpu, vmm_exit *exit, unsigned call)
{
	return fake_wait_for_kick(vcpu, exit);
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void test_timeout(void **state)
{
	vmm_vm *vm = vm_with_vcpus(2, script_spin);
	vmm_run_result res = VMM_RUN_RESULT_INIT;
	vmm_run_options opt = VMM_RUN_OPTIONS_INIT;
	double t0, elapsed;

	opt.timeout_ms = 100;
	t0 = now_s();
	assert_int_equal(vmm_vm_run(vm, &opt, &res), 0);
	elapsed = now_s() - t0;
	assert_int_equal(res.end, VMM_END_TIMEOUT);
	assert_string_equal(res.message, "timed out after 100 ms");
	assert_int_equal(res.vcpu_index, 0);
	assert_true(elapsed >= 0.1);
	assert_true(elapsed < 5.0);  /* "never kicked" would take 10 s */
	assert_int_equal(atomic_load(&fake_of(vmm_vcpu_get(vm, 0))->kicks), 1);
	assert_int_equal(atomic_load(&fake_of(vmm_vcpu_get(vm, 1))->kicks), 1);
	vmm_vm_destroy(vm);
}

static int script_internal_error(vmm_vcpu *vcpu, vmm_exit *exit, unsigned call)
{
	exit->reason = VMM_EXIT_INTERNAL_ERROR;
	snprintf(exit->internal.message, sizeof(exit->internal.message),
		 "emulation failed at 0xdead");
	return 0;
}

static void test_internal_error_message(void **state)
{
	vmm_vm *vm = vm_with_vcpus(1, script_internal_error);
	vmm_run_result res = VMM_RUN_RESULT_INIT;

	assert_int_equal(vmm_vm_run(vm, NULL, &res), 0);
	assert_int_equal(res.end, VMM_END_INTERNAL_ERROR);
	assert_string_equal(res.message, "vCPU 0: emulation failed at 0xdead");
	assert_int_equal(res.rip, 0x1000);
	vmm_vm_destroy(vm);
}

/* IN of sizes 1, 2, 4 and an 8-byte MMIO read, then report what was read. */
static int script_unclaimed(vmm_vcpu *vcpu, vmm_exit *exit, unsigned call)
{
	static const uint8_t sizes[] = { 1, 2, 4 };
	static uint64_t seen[4];

	if (call > 0 && call <= 3)
		seen[call - 1] = exit->io.data;
	if (call == 4)
		seen[3] = exit->mmio.data;
	if (call < 3) {
		exit->reason = VMM_EXIT_IO;
		exit->io.direction = VMM_IO_IN;
		exit->io.port = 0x1234;
		exit->io.size = sizes[call];
		exit->io.data = 0;
		return 0;
	}
	if (call == 3) {
		exit->reason = VMM_EXIT_MMIO;
		exit->mmio.addr = 0xfec00000;
		exit->mmio.size = 8;
		exit->mmio.is_write = 0;
		exit->mmio.data = 0;
		return 0;
	}
	/* exit code 1 if every read saw all ones */
	return guest_out(vcpu, exit, 0xf4, seen[0] == 0xff && seen[1] == 0xffff &&
			 seen[2] == 0xffffffff && seen[3] == UINT64_MAX);
}

static void test_unclaimed_reads_all_ones(void **state)
{
	vmm_vm *vm = vm_with_vcpus(1, script_unclaimed);
	vmm_run_result res = VMM_RUN_RESULT_INIT;

	assert_int_equal(vmm_vm_run(vm, NULL, &res), 0);
	assert_int_equal(res.end, VMM_END_DEBUG_EXIT);
	assert_int_equal(res.code, 1);
	assert_int_equal(fake_of(vmm_vcpu_get(vm, 0))->calls, 5);
	vmm_vm_destroy(vm);
}

/* Two hypercalls, then report the answers: -1000 (-KVM_ENOSYS) each time. */
static int script_hypercall(vmm_vcpu *vcpu, vmm_exit *exit, unsigned call)
{
	static uint64_t seen[2];

	if (call > 0 && call <= 2)
		seen[call - 1] = exit->hypercall.ret;
	if (call < 2) {
		exit->reason = VMM_EXIT_HYPERCALL;
		exit->hypercall.nr = call ? 10 : 0x12345;
		exit->hypercall.ret = 0;
		return 0;
	}
	return guest_out(vcpu, exit, 0xf4, seen[0] == (uint64_t)-1000 &&
			 seen[1] == (uint64_t)-1000);
}

static void test_hypercall_gets_enosys(void **state)
{
	vmm_vm *vm = vm_with_vcpus(1, script_hypercall);
	vmm_run_result res = VMM_RUN_RESULT_INIT;

	assert_int_equal(vmm_vm_run(vm, NULL, &res), 0);
	assert_int_equal(res.end, VMM_END_DEBUG_EXIT);
	assert_int_equal(res.code, 1);
	assert_int_equal(fake_of(vmm_vcpu_get(vm, 0))->calls, 3);
	vmm_vm_destroy(vm);
}

static uint32_t scripted_reason;
static uint32_t scripted_event;

static int script_one_exit(vmm_vcpu *vcpu, vmm_exit *exit, unsigned call)
{
	exit->reason = scripted_reason;
	exit->system_event.type = scripted_event;
	return 0;
}

static void expect_end(uint32_t reason, uint32_t event, uint32_t end, const char *msg)
{
	vmm_vm *vm = vm_with_vcpus(1, script_one_exit);
	vmm_run_result res = VMM_RUN_RESULT_INIT;

	scripted_reason = reason;
	scripted_event = event;
	assert_int_equal(vmm_vm_run(vm, NULL, &res), 0);
	assert_int_equal(res.end, end);
	if (!strstr(res.message, msg))
		fail_msg("message '%s' lacks '%s'", res.message, msg);
	vmm_vm_destroy(vm);
}

static void test_other_ends(void **state)
{
	expect_end(VMM_EXIT_SHUTDOWN, 0, VMM_END_SHUTDOWN, "triple fault");
	expect_end(VMM_EXIT_SYSTEM_EVENT, VMM_EVENT_POWEROFF, VMM_END_POWEROFF, "power off");
	expect_end(VMM_EXIT_SYSTEM_EVENT, VMM_EVENT_RESET, VMM_END_RESET,
		   "reboot requested");
	expect_end(VMM_EXIT_SYSTEM_EVENT, VMM_EVENT_CRASH, VMM_END_UNHANDLED,
		   "system event 3 (crash)");
	expect_end(VMM_EXIT_FAIL_ENTRY, 0, VMM_END_UNHANDLED, "exit 8 (fail entry)");
	expect_end(VMM_EXIT_NONE, 0, VMM_END_UNHANDLED, "exit 0 (none)");
	expect_end(999, 0, VMM_END_UNHANDLED, "exit 999 (unknown) at rip 0x1000");
}

static int script_host_failure(vmm_vcpu *vcpu, vmm_exit *exit, unsigned call)
{
	if (vcpu->index == 0)
		return fake_wait_for_kick(vcpu, exit);
	return vmm__err(VMM_EIO, "KVM_RUN failed: Bad address");
}

static void test_host_failure_is_returned(void **state)
{
	vmm_vm *vm = vm_with_vcpus(2, script_host_failure);
	vmm_run_result res = VMM_RUN_RESULT_INIT;

	assert_int_equal(vmm_vm_run(vm, NULL, &res), VMM_EIO);
	assert_string_equal(vmm_last_error(), "vmm_vm_run: vCPU 1: KVM_RUN failed: Bad address");
	assert_int_equal(res.end, 0);
	vmm_vm_destroy(vm);
}

static void test_bad_args(void **state)
{
	vmm_vm *vm;
	vmm_run_result res = VMM_RUN_RESULT_INIT;
	vmm_run_options opt = { 0 };

	fake_reset();
	fake.script = script_hlt;
	vm = fake_vm(1 << 20, 2, 0);
	assert_non_null(vm);
	assert_int_equal(vmm_vm_run(vm, NULL, &res), VMM_ESTATE);
	assert_string_equal(vmm_last_error(), "vmm_vm_run: no vCPUs: call vmm_load_elf or "
			    "vmm_vcpu_create first");
	assert_int_equal(vmm_vm_run(vm, NULL, NULL), VMM_EINVAL);
	res.size = 8;
	assert_int_equal(vmm_vm_run(vm, NULL, &res), VMM_EINVAL);
	assert_non_null(strstr(vmm_last_error(), "result->size is 8"));
	res.size = sizeof(res);
	assert_int_equal(vmm_vm_run(vm, &opt, &res), VMM_EINVAL);
	assert_non_null(strstr(vmm_last_error(), "options->size is 0"));
	assert_int_equal(vmm_vm_run(NULL, NULL, &res), VMM_EINVAL);
	/* a vCPU waiting for SIPI is not run */
	assert_int_equal(vmm_vcpu_create(vm, 0, NULL), 0);
	assert_int_equal(vmm_vcpu_create(vm, 1, NULL), 0);
	vmm_vcpu_get(vm, 1)->runnable = false;
	assert_int_equal(vmm_vm_run(vm, NULL, &res), 0);
	assert_int_equal(res.end, VMM_END_HALTED);
	assert_int_equal(res.vcpu_index, 0);
	assert_int_equal(fake_of(vmm_vcpu_get(vm, 1))->calls, 0);
	vmm_vcpu_get(vm, 0)->runnable = false;
	assert_int_equal(vmm_vm_run(vm, NULL, &res), VMM_ESTATE);
	assert_string_equal(vmm_last_error(), "vmm_vm_run: no runnable vCPU (all 2 wait "
			    "for a start-up IPI)");
	vmm_vm_destroy(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_debug_exit_ends_run_and_kicks_others),
		cmocka_unit_test(test_all_halted),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_internal_error_message),
		cmocka_unit_test(test_unclaimed_reads_all_ones),
		cmocka_unit_test(test_hypercall_gets_enosys),
		cmocka_unit_test(test_other_ends),
		cmocka_unit_test(test_host_failure_is_returned),
		cmocka_unit_test(test_bad_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
