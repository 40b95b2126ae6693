/* test_kvm_run.c - kvm backend exits on hand-made real-mode guests: port I/O
 * (single and string, claimed and unclaimed), MMIO, read-only memory, HLT,
 * triple fault, device stop and failure, registers. Skipped where /dev/kvm
 * is unusable. */
#include <errno.h>
#include <sys/ioctl.h>

#include "test_kvm_util.h"
#include "backends/kvm/kvm_priv.h"

#define NO_DEVICES (VMM_VM_NO_UART | VMM_VM_NO_DEBUG_EXIT)

GUEST16(g_out, "mov $0x3f8, %dx\n mov $0x41, %al\n out %al, (%dx)\n hlt");

static void test_out_then_hlt(void **state)
{
	vmm_vm *vm = kt_vm(NO_DEVICES);
	vmm_vcpu *vcpu = kt_vcpu_real(vm, g_out, GUEST_LEN(g_out), KT_CODE);
	vmm_exit *exit = kt_expect_io(vcpu, 0x3f8, 1, VMM_IO_OUT, 0x41);
	vmm_regs r;

	/* VT-x/SVM report the OUT instruction, PVM the one after it. */
	assert_int_equal(exit->rip, KT_CODE + (kt_is_pvm(vm) ? 6 : 5));
	kt_expect_hlt(vcpu);
	r = kt_regs(vcpu);
	assert_int_equal(r.rip, KT_CODE + GUEST_LEN(g_out));
	assert_int_equal(r.rax, 0x41);
	assert_int_equal(r.rdx, 0x3f8);
	vmm_vm_destroy(vm);
}

GUEST16(g_in, "mov $0x60, %dx\n in (%dx), %al\n mov %al, %bl\n in (%dx), %ax\n"
	      " mov %ax, %cx\n in (%dx), %eax\n hlt");

static void test_in_completed_by_caller(void **state)
{
	vmm_vm *vm = kt_vm(NO_DEVICES);
	vmm_vcpu *vcpu = kt_vcpu_real(vm, g_in, GUEST_LEN(g_in), KT_CODE);
	vmm_regs r;

	kt_expect_io(vcpu, 0x60, 1, VMM_IO_IN, 0)->io.data = 0xab;
	kt_expect_io(vcpu, 0x60, 2, VMM_IO_IN, 0)->io.data = 0xbeef;
	kt_expect_io(vcpu, 0x60, 4, VMM_IO_IN, 0)->io.data = 0xdeadbeef;
	kt_expect_hlt(vcpu);
	r = kt_regs(vcpu);
	assert_int_equal(r.rbx, 0xab);
	assert_int_equal(r.rcx, 0xbeef);
	assert_int_equal(r.rax, 0xdeadbeef);
	vmm_vm_destroy(vm);
}

/* DS = 0x9000: [0x90000, ...) is neither RAM nor a device. */
GUEST16(g_mmio, "mov $0x9000, %ax\n mov %ax, %ds\n movb $0x11, (0x10)\n"
		" movw $0x2233, (0x12)\n movl $0x44556677, (0x14)\n mov (0x20), %bl\n"
		" mov (0x22), %cx\n mov (0x24), %edx\n hlt");

static void test_mmio_unclaimed(void **state)
{
	vmm_vm *vm = kt_vm(NO_DEVICES);
	vmm_vcpu *vcpu = kt_vcpu_real(vm, g_mmio, GUEST_LEN(g_mmio), KT_CODE);
	vmm_regs r;

	kt_expect_mmio(vcpu, 0x90010, 1, 1, 0x11);
	kt_expect_mmio(vcpu, 0x90012, 2, 1, 0x2233);
	kt_expect_mmio(vcpu, 0x90014, 4, 1, 0x44556677);
	kt_expect_mmio(vcpu, 0x90020, 1, 0, 0)->mmio.data = 0x9a;
	kt_expect_mmio(vcpu, 0x90022, 2, 0, 0)->mmio.data = 0x1234;
	kt_expect_mmio(vcpu, 0x90024, 4, 0, 0)->mmio.data = 0x87654321;
	kt_expect_hlt(vcpu);
	r = kt_regs(vcpu);
	assert_int_equal(r.rbx & 0xff, 0x9a);
	assert_int_equal(r.rcx & 0xffff, 0x1234);
	assert_int_equal(r.rdx, 0x87654321);
	vmm_vm_destroy(vm);
}

typedef struct mmio_log {
	uint64_t addr[8], data[8];
	uint8_t size[8], is_write[8];
	int n;
} mmio_log;

static int mmio_dev(void *opaque, vmm_vcpu *vcpu, uint64_t addr, uint8_t size,
		    uint8_t is_write, uint64_t *data)
{
	mmio_log *log = opaque;

	if (log->n >= 8)
		return VMM_EINVAL;
	log->addr[log->n] = addr;
	log->size[log->n] = size;
	log->is_write[log->n] = is_write;
	log->data[log->n] = is_write ? *data : 0;
	if (!is_write)
		*data = 0xfedcba98 & ((1ull << (size * 8)) - 1);
	log->n++;
	return 0;
}

static void test_mmio_claimed_by_device(void **state)
{
	vmm_vm *vm = kt_vm(NO_DEVICES);
	vmm_vcpu *vcpu = kt_vcpu_real(vm, g_mmio, GUEST_LEN(g_mmio), KT_CODE);
	mmio_log log = { .n = 0 };
	vmm_regs r;

	assert_int_equal(vmm_mmio_register(vm, 0x90000, 0x1000, mmio_dev, &log), 0);
	kt_expect_hlt(vcpu);  /* all six accesses handled without an exit */
	assert_int_equal(log.n, 6);
	assert_int_equal(log.addr[0], 0x90010);
	assert_int_equal(log.data[0], 0x11);
	assert_int_equal(log.size[1], 2);
	assert_int_equal(log.data[1], 0x2233);
	assert_int_equal(log.data[2], 0x44556677);
	assert_int_equal(log.is_write[5], 0);
	assert_int_equal(log.addr[5], 0x90024);
	r = kt_regs(vcpu);
	assert_int_equal(r.rbx & 0xff, 0x98);
	assert_int_equal(r.rcx & 0xffff, 0xba98);
	assert_int_equal(r.rdx, 0xfedcba98);
	vmm_vm_destroy(vm);
}

GUEST16(g_ro, "mov $0x8000, %ax\n mov %ax, %ds\n mov (0x0), %ebx\n"
	      " movl $0x12345678, (0x4)\n mov (0x4), %ecx\n hlt");

static void test_readonly_write_is_mmio(void **state)
{
	vmm_vm *vm = kt_vm(NO_DEVICES);
	vmm_vcpu *vcpu = kt_vcpu_real(vm, g_ro, GUEST_LEN(g_ro), KT_CODE);
	const uint32_t pattern[2] = { 0xa1b2c3d4, 0x0badf00d };
	uint32_t after[2];
	vmm_regs r;

	assert_int_equal(vmm_mem_map(vm, 0x80000, 0x1000, VMM_MEM_RO, NULL), 0);
	assert_int_equal(vmm_mem_write(vm, 0x80000, pattern, sizeof(pattern)), 0);
	kt_expect_mmio(vcpu, 0x80004, 4, 1, 0x12345678);
	kt_expect_hlt(vcpu);
	r = kt_regs(vcpu);
	assert_int_equal(r.rbx, 0xa1b2c3d4);   /* reads see the memory */
	assert_int_equal(r.rcx, 0x0badf00d);   /* the write did not land */
	assert_int_equal(vmm_mem_read(vm, 0x80000, after, sizeof(after)), 0);
	assert_memory_equal(after, pattern, sizeof(pattern));
	vmm_vm_destroy(vm);
}

GUEST16(g_read_twice, "mov $0x8000, %ax\n mov %ax, %ds\n mov (0x10), %ebx\n hlt\n"
		      " mov (0x10), %ecx\n hlt");

/* An unmapped slot is gone for the guest; the gpa can be mapped again. */
static void test_unmap_then_remap(void **state)
{
	vmm_vm *vm = kt_vm(NO_DEVICES);
	vmm_vcpu *vcpu = kt_vcpu_real(vm, g_read_twice, GUEST_LEN(g_read_twice), KT_CODE);
	const uint32_t v1 = 0x01020304, v2 = 0x0a0b0c0d;

	assert_int_equal(vmm_mem_map(vm, 0x80000, 0x1000, VMM_MEM_RW, NULL), 0);
	assert_int_equal(vmm_mem_write(vm, 0x80010, &v1, 4), 0);
	kt_expect_hlt(vcpu);
	assert_int_equal(kt_regs(vcpu).rbx, v1);
	assert_int_equal(vmm_mem_unmap(vm, 0x80000, 0x1000), 0);
	kt_expect_mmio(vcpu, 0x80010, 4, 0, 0)->mmio.data = 0x77;
	kt_expect_hlt(vcpu);
	assert_int_equal(kt_regs(vcpu).rcx, 0x77);
	/* Unmap and map again without running in between. */
	assert_int_equal(vmm_mem_map(vm, 0x80000, 0x2000, VMM_MEM_RO, NULL), 0);
	assert_int_equal(vmm_mem_unmap(vm, 0x80000, 0x2000), 0);
	assert_int_equal(vmm_mem_map(vm, 0x80000, 0x1000, VMM_MEM_RW, NULL), 0);
	assert_int_equal(vmm_mem_write(vm, 0x80010, &v2, 4), 0);
	kt_set_real_ip(vcpu, KT_CODE);
	kt_expect_hlt(vcpu);
	assert_int_equal(kt_regs(vcpu).rbx, v2);
	vmm_vm_destroy(vm);
}

/* An IDT limit of 0 makes UD2 fault, then double fault, then shut down.
 * (In long mode: PVM emulates real mode and reports a failed emulation.) */
GUEST64(g_triple, "lidt 0x1000 + (1f - g_triple)\n ud2\n hlt\n"
		  "1: .word 0\n .quad 0");

static void test_triple_fault_is_shutdown(void **state)
{
	vmm_vm *vm = kt_vm(NO_DEVICES);
	vmm_vcpu *vcpu = kt_vcpu_long(vm, g_triple, GUEST_LEN(g_triple), KT_CODE);

	assert_int_equal(kt_run(vcpu)->reason, VMM_EXIT_SHUTDOWN);
	vmm_vm_destroy(vm);
}

/* rep outsb of "abc" then rep insb of 3 bytes to 0x2000, port 0x500. */
GUEST16(g_string, "cld\n mov $0x500, %dx\n mov $(0x1000 + (1f - g_string)), %si\n"
		  " mov $3, %cx\n rep outsb\n mov $0x2000, %di\n mov $3, %cx\n"
		  " rep insb\n hlt\n 1: .ascii \"abc\"");

static void test_string_io_one_element_per_exit(void **state)
{
	vmm_vm *vm = kt_vm(NO_DEVICES);
	vmm_vcpu *vcpu = kt_vcpu_real(vm, g_string, GUEST_LEN(g_string), KT_CODE);
	char got[4] = "";

	kt_expect_io(vcpu, 0x500, 1, VMM_IO_OUT, 'a');
	kt_expect_io(vcpu, 0x500, 1, VMM_IO_OUT, 'b');
	kt_expect_io(vcpu, 0x500, 1, VMM_IO_OUT, 'c');
	kt_expect_io(vcpu, 0x500, 1, VMM_IO_IN, 0)->io.data = 'x';
	kt_expect_io(vcpu, 0x500, 1, VMM_IO_IN, 0)->io.data = 'y';
	kt_expect_io(vcpu, 0x500, 1, VMM_IO_IN, 0)->io.data = 'z';
	kt_expect_hlt(vcpu);
	assert_int_equal(vmm_mem_read(vm, 0x2000, got, 3), 0);
	assert_string_equal(got, "xyz");
	assert_int_equal(kt_regs(vcpu).rcx & 0xffff, 0);
	vmm_vm_destroy(vm);
}

typedef struct pio_log {
	uint32_t data[16];
	uint8_t size[16];
	int n, reads;
} pio_log;

static int pio_dev(void *opaque, vmm_vcpu *vcpu, uint16_t port, uint8_t size,
		   uint8_t is_write, uint32_t *data)
{
	pio_log *log = opaque;

	if (log->n >= 16)
		return VMM_EINVAL;
	log->size[log->n] = size;
	log->data[log->n++] = is_write ? *data : 0;
	if (!is_write)
		*data = 0x7100 + (uint32_t)log->reads++;
	return 0;
}

/* rep outsw of 4 words, then rep insw of 2 words, to a device at 0x510. */
GUEST16(g_string_dev, "cld\n mov $0x510, %dx\n mov $(0x1000 + (1f - g_string_dev)), %si\n"
		      " mov $4, %cx\n rep outsw\n mov $0x2000, %di\n mov $2, %cx\n"
		      " rep insw\n hlt\n 1: .word 0x1111, 0x2222, 0x3333, 0x4444");

static void test_string_io_claimed_by_device(void **state)
{
	vmm_vm *vm = kt_vm(NO_DEVICES);
	vmm_vcpu *vcpu = kt_vcpu_real(vm, g_string_dev, GUEST_LEN(g_string_dev), KT_CODE);
	const uint16_t want[2] = { 0x7100, 0x7101 };
	uint16_t got[2];
	pio_log log = { .n = 0 };

	assert_int_equal(vmm_pio_register(vm, 0x510, 2, pio_dev, &log), 0);
	kt_expect_hlt(vcpu);
	assert_int_equal(log.n, 6);
	assert_int_equal(log.size[0], 2);
	assert_int_equal(log.data[0], 0x1111);
	assert_int_equal(log.data[3], 0x4444);
	assert_int_equal(vmm_mem_read(vm, 0x2000, got, sizeof(got)), 0);
	assert_memory_equal(got, want, sizeof(want));
	vmm_vm_destroy(vm);
}

GUEST16(g_debug_exit, "mov $0x2a, %al\n out %al, $0xf4\n mov $0x3f8, %dx\n"
		      " mov $0x4b, %al\n out %al, (%dx)\n hlt");

static void uart_sink(void *opaque, const char *buf, size_t len)
{
	strncat(opaque, buf, len);
}

static void test_builtin_devices_stop_and_claim(void **state)
{
	vmm_vm *vm = kt_vm(0);
	vmm_vcpu *vcpu = kt_vcpu_real(vm, g_debug_exit, GUEST_LEN(g_debug_exit), KT_CODE);
	char out[16] = "";
	vmm_exit *exit;

	assert_int_equal(vmm_uart_output(vm, -1, uart_sink, out), 0);
	exit = kt_run(vcpu);
	assert_int_equal(exit->reason, VMM_EXIT_DEBUG_EXIT);
	assert_int_equal(exit->debug_exit.code, 0x2a);
	kt_expect_hlt(vcpu);  /* the UART claimed 0x3f8 */
	assert_string_equal(out, "K");
	vmm_vm_destroy(vm);
}

static int failing_dev(void *opaque, vmm_vcpu *vcpu, uint16_t port, uint8_t size,
		       uint8_t is_write, uint32_t *data)
{
	return VMM_EIO;
}

GUEST16(g_out520, "mov $0x520, %dx\n out %al, (%dx)\n hlt");

static void test_device_failure_is_internal_error(void **state)
{
	vmm_vm *vm = kt_vm(NO_DEVICES);
	vmm_vcpu *vcpu = kt_vcpu_real(vm, g_out520, GUEST_LEN(g_out520), KT_CODE);
	vmm_exit *exit;

	assert_int_equal(vmm_pio_register(vm, 0x520, 1, failing_dev, NULL), 0);
	exit = kt_run(vcpu);
	assert_int_equal(exit->reason, VMM_EXIT_INTERNAL_ERROR);
	if (!strstr(exit->internal.message, "port 0x520"))
		fail_msg("message '%s' does not name port 0x520", exit->internal.message);
	vmm_vm_destroy(vm);
}

/* Fetching code from a guest-physical address that is not memory. */
GUEST16(g_jump_nowhere, "ljmp $0x9000, $0");

static void test_code_outside_ram_is_internal_error(void **state)
{
	vmm_vm *vm = kt_vm(NO_DEVICES);
	vmm_vcpu *vcpu = kt_vcpu_real(vm, g_jump_nowhere, GUEST_LEN(g_jump_nowhere), KT_CODE);
	vmm_exit *exit = kt_run(vcpu);

	assert_int_equal(exit->reason, VMM_EXIT_INTERNAL_ERROR);
	if (strncmp(exit->internal.message, "kvm: KVM_EXIT_INTERNAL_ERROR suberror ", 38))
		fail_msg("message '%s'", exit->internal.message);
	assert_int_equal(exit->rip, 0);  /* CS base 0x90000, IP 0 */
	vmm_vm_destroy(vm);
}

/* KVM forwards only hypercalls it is told to (KVM_CAP_EXIT_HYPERCALL, for
 * KVM_HC_MAP_GPA_RANGE = 12); enabling that shows the translation and the
 * caller's result landing in RAX. */
GUEST64(g_vmcall, "mov $12, %eax\n mov $0x80000, %ebx\n mov $2, %ecx\n xor %edx, %edx\n"
		  " mov $7, %esi\n vmcall\n hlt");

static void test_forwarded_hypercall(void **state)
{
	vmm_vm *vm = kt_vm(NO_DEVICES);
	vmm_vcpu *vcpu = kt_vcpu_long(vm, g_vmcall, GUEST_LEN(g_vmcall), KT_CODE);
	struct kvm_enable_cap cap = { .cap = KVM_CAP_EXIT_HYPERCALL, .args = { 1u << 12 } };
	vmm_exit *exit;

	if (ioctl(kvm__vm_of(vm)->fd, KVM_ENABLE_CAP, &cap) != 0) {
		print_message("# SKIP reason: KVM_CAP_EXIT_HYPERCALL: %s\n", strerror(errno));
		vmm_vm_destroy(vm);
		skip();
	}
	exit = kt_run_guarded(vcpu, 2000);
	if (exit->reason == VMM_EXIT_CANCELLED) {
		print_message("# SKIP reason: VMCALL did not reach the caller in 2 s on %s "
			      "(RIP 0x%llx)\n", vmm_vm_flavour(vm),
			      (unsigned long long)kt_regs(vcpu).rip);
		vmm_vm_destroy(vm);
		skip();
	}
	assert_int_equal(exit->reason, VMM_EXIT_HYPERCALL);
	assert_int_equal(exit->hypercall.nr, 12);
	assert_int_equal(exit->hypercall.args[0], 0x80000);
	assert_int_equal(exit->hypercall.args[1], 2);
	assert_int_equal(exit->hypercall.args[2], 0);
	exit->hypercall.ret = 0x1234;
	kt_expect_hlt(vcpu);
	assert_int_equal(kt_regs(vcpu).rax, 0x1234);
	vmm_vm_destroy(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_out_then_hlt),
		cmocka_unit_test(test_in_completed_by_caller),
		cmocka_unit_test(test_mmio_unclaimed),
		cmocka_unit_test(test_mmio_claimed_by_device),
		cmocka_unit_test(test_readonly_write_is_mmio),
		cmocka_unit_test(test_unmap_then_remap),
		cmocka_unit_test(test_triple_fault_is_shutdown),
		cmocka_unit_test(test_string_io_one_element_per_exit),
		cmocka_unit_test(test_string_io_claimed_by_device),
		cmocka_unit_test(test_builtin_devices_stop_and_claim),
		cmocka_unit_test(test_device_failure_is_internal_error),
		cmocka_unit_test(test_code_outside_ram_is_internal_error),
		cmocka_unit_test(test_forwarded_hypercall),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
