/* test_acpi_s3.c - ACPI S3 (lib/platform/acpi_sleep.c) with real guests on
 * emu and, where usable, kvm: a real-mode BSP writes the FACS waking vector,
 * arms the RTC alarm (every second: all "don't care") with AIE, sets
 * PM1_EN.RTC_EN and writes SLP_TYP=S3|SLP_EN to PM1a_CNT while an AP
 * counts in RAM. The alarm wakes the VM; the resume code checks that it
 * runs at CS = vector >> 4, that RAM kept its contents, that nothing after
 * the sleeping OUT ran, that PM1_STS has WAK_STS and RTC_STS (and clears
 * them), that the APIC_BASE MSR is back to its power-on value (xAPIC, BSP)
 * and that the AP no longer runs (wait-for-SIPI); where CPUID has x2APIC it
 * then starts the AP with INIT/SIPI through the x2APIC ICR to APIC ID 1
 * (the AP's power-on ID must answer) and waits for it, then exits with
 * 0x5a on port 0xf4. Without RTC_EN nothing wakes the VM: the run times out with
 * the BSP stopped at the OUT. */
#include "tests/unit/test_kvm_util.h"

#include "lib/platform/acpi.h"
#include "lib/platform/platform.h"

#define WAKE_VECTOR 0x2010u      /* CS 0x201, IP 0 */
#define OK_CODE 0x5a

/* BSP: x2APIC on if CPUID has it; RAM marker at 0x700; FACS waking vector
 * (0xe010c) = 0x2010; RTC_EN; alarm every second with AIE; waits until the
 * AP counted; S3. %si = 1 says whether to set RTC_EN. */
GUEST16(g_sleep,
	"mov $1, %eax\n cpuid\n test $0x200000, %ecx\n jz 1f\n"
	"mov $0x1b, %ecx\n rdmsr\n or $0xc00, %eax\n wrmsr\n"
	"1: movl $0x12345678, 0x700\n"
	"mov $0xe010, %ax\n mov %ax, %ds\n movl $0x2010, 0xc\n xor %ax, %ax\n mov %ax, %ds\n"
	"test %si, %si\n jz 2f\n"
	"mov $0x602, %dx\n mov $0x400, %ax\n out %ax, %dx\n"
	"2: mov $1, %al\n out %al, $0x70\n mov $0xc0, %al\n out %al, $0x71\n"
	"mov $3, %al\n out %al, $0x70\n mov $0xc0, %al\n out %al, $0x71\n"
	"mov $5, %al\n out %al, $0x70\n mov $0xc0, %al\n out %al, $0x71\n"
	"mov $0xc, %al\n out %al, $0x70\n in $0x71, %al\n"
	"mov $0xb, %al\n out %al, $0x70\n in $0x71, %al\n or $0x20, %al\n mov %al, %ah\n"
	"mov $0xb, %al\n out %al, $0x70\n mov %ah, %al\n out %al, $0x71\n"
	"3: cmpl $0, 0x800\n je 3b\n"
	"mov $0x604, %dx\n mov $0x2400, %ax\n out %ax, %dx\n"
	"movb $1, 0x500\n"
	"4: jmp 4b");
/* The AP: x2APIC on if CPUID has it (so its power-on must bring back the
 * xAPIC ID), then counts at 0x800 for ever. */
GUEST16(g_count,
	"mov $1, %eax\n cpuid\n test $0x200000, %ecx\n jz 1f\n"
	"mov $0x1b, %ecx\n rdmsr\n or $0xc00, %eax\n wrmsr\n"
	"1: incl 0x800\n jmp 1b");
/* The AP's SIPI target after the resume (vector 4: 0x4000). */
GUEST16(g_started, "movl $0x5150, 0x900\n 1: hlt\n jmp 1b");
/* Resume code, copied to 0x2010: %bl numbers the check that failed. */
GUEST16(g_wake,
	"mov $1, %bl\n mov %cs, %ax\n cmp $0x201, %ax\n jne 9f\n"
	"mov $2, %bl\n cmpl $0x12345678, 0x700\n jne 9f\n"
	"mov $3, %bl\n cmpb $0, 0x500\n jne 9f\n"
	"mov $4, %bl\n mov $0x600, %dx\n in %dx, %ax\n and $0x8400, %ax\n cmp $0x8400, %ax\n jne 9f\n"
	"mov $5, %bl\n mov $0x8400, %ax\n out %ax, %dx\n in %dx, %ax\n test $0x8400, %ax\n jnz 9f\n"
	"mov $6, %bl\n mov $0x1b, %ecx\n rdmsr\n and $0xd00, %eax\n cmp $0x900, %eax\n jne 9f\n"
	"mov $7, %bl\n mov 0x800, %esi\n mov $0xffff, %cx\n 5: loop 5b\n cmp 0x800, %esi\n jne 9f\n"
	"mov $8, %bl\n mov $1, %eax\n cpuid\n test $0x200000, %ecx\n jz 8f\n"
	"mov $8, %bl\n mov $0x1b, %ecx\n rdmsr\n or $0xc00, %eax\n wrmsr\n"
	"mov $0x830, %ecx\n mov $1, %edx\n mov $0x4500, %eax\n wrmsr\n"
	"mov $0x4604, %eax\n wrmsr\n"
	"mov $0x400, %di\n 7: mov $0xffff, %cx\n 6: cmpl $0x5150, 0x900\n je 8f\n loop 6b\n"
	"dec %di\n jnz 7b\n jmp 9f\n"
	"8: mov $0x5a, %bl\n"
	"9: mov %bl, %al\n out %al, $0xf4\n"
	"5: hlt\n jmp 5b");

static vmm_vm *s3_vm(const char *backend)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	vmm_vm *vm = NULL;
	uint64_t rsdp = 0;

	if (!strcmp(backend, "kvm"))
		kt_require_kvm();
	cfg.backend = backend;
	cfg.vcpus = 2;
	cfg.mem_size = 2u << 20;
	cfg.flags = VMM_VM_IRQCHIP;
	if (vmm_vm_create(&cfg, &vm) != 0)
		fail_msg("vmm_vm_create(%s): %s", backend, vmm_last_error());
	assert_int_equal(vmm__acpi_build(vm, &rsdp), 0);
	return vm;
}

/* Runs the sleeping guest; rtc_en: whether it sets PM1_EN.RTC_EN. */
static void run_s3(vmm_vm *vm, int rtc_en, uint64_t timeout_ms, vmm_run_result *res)
{
	vmm_run_options ro = VMM_RUN_OPTIONS_INIT;
	vmm_vcpu *bsp;
	vmm_regs r;

	assert_int_equal(vmm_mem_write(vm, 0x1000, g_sleep, GUEST_LEN(g_sleep)), 0);
	assert_int_equal(vmm_mem_write(vm, 0x3000, g_count, GUEST_LEN(g_count)), 0);
	assert_int_equal(vmm_mem_write(vm, WAKE_VECTOR, g_wake, GUEST_LEN(g_wake)), 0);
	assert_int_equal(vmm_mem_write(vm, 0x4000, g_started, GUEST_LEN(g_started)), 0);
	bsp = kt_vcpu_real_at(vm, 0, 0x1000);
	kt_vcpu_real_at(vm, 1, 0x3000);
	assert_int_equal(vmm_vcpu_get_regs(bsp, &r), 0);
	r.rsi = (uint64_t)rtc_en;
	assert_int_equal(vmm_vcpu_set_regs(bsp, &r), 0);
	ro.timeout_ms = timeout_ms;
	assert_int_equal(vmm_vm_run(vm, &ro, res), 0);
}

static void s3_wakes(const char *backend)
{
	vmm_vm *vm = s3_vm(backend);
	vmm_run_result res = VMM_RUN_RESULT_INIT;
	vmm_sregs s;
	uint32_t count = 0, started = 0;

	run_s3(vm, 1, 20000, &res);
	if (res.end != VMM_END_DEBUG_EXIT)
		fail_msg("%s: the run ended with %u (%s), not the resume code's exit",
			 backend, res.end, res.message);
	if (res.code != OK_CODE)
		fail_msg("%s: resume check %u failed", backend, res.code);
	/* The AP powered on into wait-for-SIPI (reset state, not the BSP), and
	 * with x2APIC the resume code started it at 0x4000. */
	assert_int_equal(vmm_mem_read(vm, 0x900, &started, 4), 0);
	assert_int_equal(vmm_vcpu_get_sregs(vmm_vcpu_get(vm, 1), &s), 0);
	assert_int_equal(s.apic_base & 0x900, 0x800);
	if (started == 0x5150) {
		assert_int_equal(s.cs.selector, 0x400);   /* SIPI vector 4 */
	} else {
		print_message("# %s: no x2APIC in CPUID: the AP was not restarted\n", backend);
		assert_false(vmm_vcpu_get(vm, 1)->runnable);
		assert_int_equal(s.cs.selector, 0xf000);
	}
	assert_int_equal(vmm_mem_read(vm, 0x800, &count, 4), 0);
	assert_true(count > 0);                      /* it ran before the sleep */
	vmm_vm_destroy(vm);
}

static void s3_no_wake_source(const char *backend)
{
	vmm_vm *vm = s3_vm(backend);
	vmm_run_result res = VMM_RUN_RESULT_INIT, again = VMM_RUN_RESULT_INIT;
	vmm_run_options ro = VMM_RUN_OPTIONS_INIT;
	uint8_t after = 0xff;
	uint32_t count[2], sts = 0;

	/* 1.5 s: the alarm comes within 1 s of the sleep, and must not wake. */
	run_s3(vm, 0, 1500, &res);
	assert_int_equal(res.end, VMM_END_TIMEOUT);
	assert_int_equal(vmm_mem_read(vm, 0x500, &after, 1), 0);
	assert_int_equal(after, 0);                  /* stopped at the OUT */
	/* The AP stopped too: a second run, still asleep, moves nothing. */
	assert_int_equal(vmm_mem_read(vm, 0x800, &count[0], 4), 0);
	ro.timeout_ms = 300;
	assert_int_equal(vmm_vm_run(vm, &ro, &again), 0);
	assert_int_equal(again.end, VMM_END_TIMEOUT);
	assert_int_equal(vmm_mem_read(vm, 0x800, &count[1], 4), 0);
	assert_int_equal(count[0], count[1]);
	/* The alarm set RTC_STS, and no WAK_STS: no wake. */
	assert_int_equal(vmm__bus_pio(vmm_vcpu_get(vm, 0), VMM__ACPI_PM1_EVT, 2, 0, &sts),
			 VMM__BUS_DONE);
	assert_int_equal(sts & 0x8400, 0x0400);
	vmm_vm_destroy(vm);
}

static void test_s3_wake_emu(void **state) { s3_wakes("emu"); }
static void test_s3_wake_kvm(void **state) { s3_wakes("kvm"); }
static void test_s3_no_wake_emu(void **state) { s3_no_wake_source("emu"); }
static void test_s3_no_wake_kvm(void **state) { s3_no_wake_source("kvm"); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_s3_wake_emu),
		cmocka_unit_test(test_s3_no_wake_emu),
		cmocka_unit_test(test_s3_wake_kvm),
		cmocka_unit_test(test_s3_no_wake_kvm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
