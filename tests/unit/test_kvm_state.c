/* test_kvm_state.c - kvm backend register state: the reset state, exact
 * round trips of vmm_regs/vmm_sregs, long mode set up by hand (8-byte MMIO,
 * 4-byte port I/O), MSRs, and rejected values. Skipped where /dev/kvm is
 * unusable. */
#include "test_kvm_util.h"

#define NO_DEVICES (VMM_VM_NO_UART | VMM_VM_NO_DEBUG_EXIT)

static void test_reset_state(void **state)
{
	vmm_vm *vm = kt_vm(NO_DEVICES);
	vmm_vcpu *vcpu = NULL;
	vmm_sregs s;
	vmm_regs r;

	assert_int_equal(vmm_vcpu_create(vm, 0, &vcpu), 0);
	r = kt_regs(vcpu);
	assert_int_equal(r.rip, 0xfff0);
	assert_int_equal(r.rflags, 0x2);
	assert_int_equal(vmm_vcpu_get_sregs(vcpu, &s), 0);
	assert_int_equal(s.cs.selector, 0xf000);
	assert_int_equal(s.cs.base, 0xffff0000);
	assert_int_equal(s.cs.limit, 0xffff);
	assert_int_equal(s.cs.type & ~1, 0xa);  /* accessed: VT-x and PVM yes, SVM no */
	assert_int_equal(s.cs.present, 1);
	assert_int_equal(s.cs.s, 1);
	assert_int_equal(s.ds.selector, 0);
	assert_int_equal(s.ds.base, 0);
	assert_int_equal(s.ds.limit, 0xffff);
	assert_int_equal(s.ds.type, 0x3);
	assert_int_equal(s.cr0 & 0x80000001, 0);  /* PE and PG clear */
	assert_int_equal(s.efer, 0);
	assert_int_equal(s.apic_base & 0xfffff000, 0xfee00000);
	vmm_vm_destroy(vm);
}

static void test_regs_round_trip(void **state)
{
	vmm_vm *vm = kt_vm(NO_DEVICES);
	vmm_vcpu *vcpu = NULL;
	vmm_regs in, out;
	uint64_t *w = (uint64_t *)&in;

	assert_int_equal(vmm_vcpu_create(vm, 0, &vcpu), 0);
	for (size_t i = 0; i < sizeof(in) / 8; i++)
		w[i] = 0x0101010101010101ull * (i + 1);
	in.rip = 0x1234;
	in.rflags = 0x246;
	assert_int_equal(vmm_vcpu_set_regs(vcpu, &in), 0);
	out = kt_regs(vcpu);
	assert_memory_equal(&in, &out, sizeof(in));
	vmm_vm_destroy(vm);
}

GUEST64(g_long, "mov $0x1122334455667788, %rax\n mov %rax, 0x90008\n"
		" mov 0x90010, %rbx\n mov $0x3f8, %dx\n out %eax, (%dx)\n hlt");

static void test_long_mode_by_hand(void **state)
{
	vmm_vm *vm = kt_vm(NO_DEVICES);
	vmm_vcpu *vcpu = kt_vcpu_long(vm, g_long, GUEST_LEN(g_long), KT_CODE);
	vmm_sregs s;
	vmm_regs r;

	assert_int_equal(vmm_vcpu_get_sregs(vcpu, &s), 0);
	assert_int_equal(s.cs.l, 1);
	assert_int_equal(s.cs.db, 0);
	assert_int_equal(s.cs.selector, 0x08);
	assert_int_equal(s.ss.selector, 0x10);
	assert_int_equal(s.efer & 0x500, 0x500);
	assert_int_equal(s.cr3, KT_PML4);
	assert_int_equal(s.gdt.base, KT_GDT);
	assert_int_equal(s.gdt.limit, 23);
	kt_expect_mmio(vcpu, 0x90008, 8, 1, 0x1122334455667788ull);
	kt_expect_mmio(vcpu, 0x90010, 8, 0, 0)->mmio.data = 0x8877665544332211ull;
	kt_expect_io(vcpu, 0x3f8, 4, VMM_IO_OUT, 0x55667788);
	kt_expect_hlt(vcpu);
	r = kt_regs(vcpu);
	assert_int_equal(r.rbx, 0x8877665544332211ull);
	assert_int_equal(r.rip, KT_CODE + GUEST_LEN(g_long));
	vmm_vm_destroy(vm);
}

static void test_sregs_round_trip(void **state)
{
	vmm_vm *vm = kt_vm(NO_DEVICES);
	vmm_vcpu *vcpu = kt_vcpu_long(vm, g_long, GUEST_LEN(g_long), KT_CODE);
	vmm_sregs in, out;

	assert_int_equal(vmm_vcpu_get_sregs(vcpu, &in), 0);
	in.fs.base = 0x7f0000001000ull;
	in.gs.base = 0xffff800000002000ull;
	in.idt.base = 0x3000;
	in.idt.limit = 0xfff;
	in.cr2 = 0xdead000;
	in.cr8 = 5;
	in.ldt.unusable = 1;
	in.ldt.present = 0;
	assert_int_equal(vmm_vcpu_set_sregs(vcpu, &in), 0);
	assert_int_equal(vmm_vcpu_get_sregs(vcpu, &out), 0);
	assert_int_equal(out.fs.base, in.fs.base);
	assert_int_equal(out.gs.base, in.gs.base);
	assert_int_equal(out.idt.base, 0x3000);
	assert_int_equal(out.idt.limit, 0xfff);
	assert_int_equal(out.cr2, 0xdead000);
	assert_int_equal(out.cr8, 5);
	assert_int_equal(out.ldt.unusable, 1);
	assert_memory_equal(&out.cs, &in.cs, sizeof(in.cs));
	assert_memory_equal(&out.ss, &in.ss, sizeof(in.ss));
	vmm_vm_destroy(vm);
}

static void test_bad_sregs_rejected(void **state)
{
	vmm_vm *vm = kt_vm(NO_DEVICES);
	vmm_vcpu *vcpu = NULL;
	vmm_sregs s;

	assert_int_equal(vmm_vcpu_create(vm, 0, &vcpu), 0);
	assert_int_equal(vmm_vcpu_get_sregs(vcpu, &s), 0);
	s.cr0 = 0x80000000;  /* paging without protection */
	assert_int_equal(vmm_vcpu_set_sregs(vcpu, &s), VMM_EINVAL);
	if (!strstr(vmm_last_error(), "KVM_SET_SREGS on vCPU 0"))
		fail_msg("message '%s'", vmm_last_error());
	vmm_vm_destroy(vm);
}

GUEST16(g_rdmsr, "mov $0x277, %ecx\n rdmsr\n hlt");

static void test_set_msr(void **state)
{
	vmm_vm *vm = kt_vm(NO_DEVICES);
	vmm_vcpu *vcpu = kt_vcpu_real(vm, g_rdmsr, GUEST_LEN(g_rdmsr), KT_CODE);
	const uint64_t pat = 0x0006050400070106ull;  /* every byte a valid type */
	vmm_regs r;

	assert_non_null(vm->ops->set_msr);
	assert_int_equal(vm->ops->set_msr(vcpu, 0x277, pat), 0);
	kt_expect_hlt(vcpu);
	r = kt_regs(vcpu);
	assert_int_equal(r.rax, pat & 0xffffffff);
	assert_int_equal(r.rdx, pat >> 32);
	assert_int_equal(vm->ops->set_msr(vcpu, 0xdeadbeef, 1), VMM_EINVAL);
	if (!strstr(vmm_last_error(), "MSR 0xdeadbeef = 0x1 was refused"))
		fail_msg("message '%s'", vmm_last_error());
	vmm_vm_destroy(vm);
}

static void test_two_vcpus(void **state)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	vmm_vcpu *a = NULL, *b = NULL;
	vmm_vm *vm = NULL;
	vmm_regs r;

	kt_require_kvm();
	cfg.backend = "kvm";
	cfg.vcpus = 2;
	cfg.mem_size = KT_RAM;
	cfg.flags = NO_DEVICES;
	assert_int_equal(vmm_vm_create(&cfg, &vm), 0);
	assert_int_equal(vmm_vcpu_create(vm, 0, &a), 0);
	assert_int_equal(vmm_vcpu_create(vm, 1, &b), 0);
	r = kt_regs(a);
	r.rax = 0xaaaa;
	assert_int_equal(vmm_vcpu_set_regs(a, &r), 0);
	assert_int_equal(kt_regs(b).rax, 0);  /* separate state */
	assert_int_equal(kt_regs(a).rax, 0xaaaa);
	vmm_vm_destroy(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reset_state),
		cmocka_unit_test(test_regs_round_trip),
		cmocka_unit_test(test_long_mode_by_hand),
		cmocka_unit_test(test_sregs_round_trip),
		cmocka_unit_test(test_bad_sregs_rejected),
		cmocka_unit_test(test_set_msr),
		cmocka_unit_test(test_two_vcpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
