/* test_vm.c - VM and vCPU lifecycle: config validation through the registry,
 * and create/destroy/register forwarding on the fake backend. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_backend.h"

#define MIB (1024ull * 1024ull)

bool vmm__auto_picks_kvm(const vmm_backend_info *kvm, const char *require);

static void assert_error_has(const char *needle)
{
	if (!strstr(vmm_last_error(), needle))
		fail_msg("last error '%s' lacks '%s'", vmm_last_error(), needle);
}

static void expect_create_fails(const vmm_vm_config *cfg, int code, const char *a,
				const char *b)
{
	vmm_vm *vm = (vmm_vm *)1;

	assert_int_equal(vmm_vm_create(cfg, &vm), code);
	assert_null(vm);
	assert_error_has(a);
	if (b)
		assert_error_has(b);
}

static void test_create_bad_config(void **state)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	vmm_vm *vm;

	expect_create_fails(NULL, VMM_EINVAL, "config is NULL", NULL);
	assert_int_equal(vmm_vm_create(&cfg, NULL), VMM_EINVAL);
	cfg.size = 0;
	expect_create_fails(&cfg, VMM_EINVAL, "config->size is 0", "too small");
	cfg.size = sizeof(cfg) - 1;
	expect_create_fails(&cfg, VMM_EINVAL, "too small", NULL);
	cfg = (vmm_vm_config)VMM_VM_CONFIG_INIT;
	cfg.vcpus = 0;
	expect_create_fails(&cfg, VMM_EINVAL, "vcpus is 0", "1..64");
	cfg.vcpus = 65;
	expect_create_fails(&cfg, VMM_EINVAL, "vcpus is 65", "1..64");
	cfg.vcpus = 1;
	cfg.mem_size = 0;
	expect_create_fails(&cfg, VMM_EINVAL, "mem_size is 0", NULL);
	cfg.mem_size = 64 * MIB + 100;
	expect_create_fails(&cfg, VMM_EINVAL, "mem_size 0x4000064", "multiple of 4 KiB");
	cfg.mem_size = 64 * MIB;
	cfg.flags = 0x100;
	expect_create_fails(&cfg, VMM_EINVAL, "unknown flags 0x100", NULL);
	cfg.flags = 0;
	cfg.require = "vmx";
	expect_create_fails(&cfg, VMM_EINVAL, "require is 'vmx'", "\"vtx\"");
	(void)vm;
}

static void test_create_more_than_host_ram(void **state)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	uint64_t host = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
	char want[64];

	cfg.mem_size = (host + 2 * MIB) & ~(MIB - 1);
	snprintf(want, sizeof(want), "(%llu MiB)", (unsigned long long)(host / MIB));
	expect_create_fails(&cfg, VMM_ENOMEM, "more than the host's physical RAM", want);
	assert_error_has("MiB is more");
	cfg.mem_size = 1ull << 62;
	expect_create_fails(&cfg, VMM_ENOMEM, "4398046511104 MiB", want);
}

static void test_create_unknown_backend(void **state)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;

	cfg.backend = "xen";
	expect_create_fails(&cfg, VMM_ENOENT, "unknown backend 'xen' (known: emu, kvm)", NULL);
	cfg.backend = "";
	expect_create_fails(&cfg, VMM_ENOENT, "unknown backend ''", NULL);
}

/* A named backend either works here or fails with the probe's reason. */
static void check_named_backend(uint32_t index)
{
	vmm_backend_info info = VMM_BACKEND_INFO_INIT;
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	vmm_vm *vm = NULL;

	assert_int_equal(vmm_backends(index, &info), 0);
	cfg.backend = info.name;
	cfg.mem_size = 2 * MIB;
	if (!info.usable) {
		expect_create_fails(&cfg, VMM_EBACKEND, "is not usable here", info.reason);
		return;
	}
	assert_int_equal(vmm_vm_create(&cfg, &vm), 0);
	assert_string_equal(vmm_vm_backend(vm), info.name);
	vmm_vm_destroy(vm);
}

static void test_create_named_backends(void **state)
{
	vmm_backend_info info = VMM_BACKEND_INFO_INIT;

	check_named_backend(0);
	check_named_backend(1);
	assert_int_equal(vmm_backends(2, &info), VMM_ENOENT);
}

/* auto never picks kvm on PVM (or any flavour that is not hardware). */
static void test_create_auto(void **state)
{
	vmm_backend_info emu = VMM_BACKEND_INFO_INIT, kvm = VMM_BACKEND_INFO_INIT;
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	vmm_vm *vm = NULL;
	bool hw;
	int rc;

	assert_int_equal(vmm_backends(0, &emu), 0);
	assert_int_equal(vmm_backends(1, &kvm), 0);
	assert_string_equal(emu.name, "emu");
	assert_string_equal(kvm.name, "kvm");
	hw = kvm.usable && (!strcmp(kvm.flavour, "kvm_intel") || !strcmp(kvm.flavour, "kvm_amd"));
	cfg.mem_size = 2 * MIB;
	cfg.backend = NULL;
	rc = vmm_vm_create(&cfg, &vm);
	if (!hw && !emu.usable) {
		assert_int_equal(rc, VMM_EBACKEND);
		assert_error_has("no usable backend: emu: ");
		assert_error_has(emu.reason);
		return;
	}
	assert_int_equal(rc, 0);
	assert_string_equal(vmm_vm_backend(vm), hw ? "kvm" : "emu");
	assert_string_equal(vmm_vm_flavour(vm), hw ? kvm.flavour : emu.flavour);
	vmm_vm_destroy(vm);
}

static void test_auto_choice(void **state)
{
	vmm_backend_info kvm = VMM_BACKEND_INFO_INIT;

	kvm.usable = 1;
	strcpy(kvm.flavour, "kvm_intel");
	assert_true(vmm__auto_picks_kvm(&kvm, NULL));
	strcpy(kvm.flavour, "kvm_amd");
	assert_true(vmm__auto_picks_kvm(&kvm, NULL));
	strcpy(kvm.flavour, "kvm_pvm");
	assert_false(vmm__auto_picks_kvm(&kvm, NULL));
	assert_true(vmm__auto_picks_kvm(&kvm, "pvm"));
	kvm.usable = 0;
	strcpy(kvm.flavour, "kvm_intel");
	assert_false(vmm__auto_picks_kvm(&kvm, NULL));
	assert_true(vmm__auto_picks_kvm(&kvm, "vtx"));  /* fails later, with the reason */
}

static void test_fake_vm_basics(void **state)
{
	vmm_vm *vm, *vm2;

	fake_reset();
	vm = fake_vm(4 * MIB, 2, 0);
	vm2 = fake_vm(1 * MIB, 1, 0);
	assert_non_null(vm);
	assert_non_null(vm2);
	assert_string_equal(vmm_vm_backend(vm), "fake");
	assert_string_equal(vmm_vm_flavour(vm), "fake");
	assert_int_equal(vm->config.mem_size, 4 * MIB);
	assert_string_equal(vm->config.backend, "fake");
	assert_null(vm->config.require);
	assert_int_equal(vm->pio.count, 2);  /* UART and debug exit */
	assert_int_equal(vm->pio.ranges[0].base, 0xf4);
	assert_int_equal(vm->pio.ranges[1].base, 0x3f8);
	/* independent memory */
	assert_int_equal(vmm_mem_write(vm, 0x100, "A", 1), 0);
	assert_int_equal(vmm_mem_write(vm2, 0x100, "B", 1), 0);
	assert_int_equal(*(char *)vmm__gpa_to_hva(vm, 0x100, 1), 'A');
	assert_int_equal(*(char *)vmm__gpa_to_hva(vm2, 0x100, 1), 'B');
	vmm_vm_destroy(vm);
	vmm_vm_destroy(vm2);
	vmm_vm_destroy(NULL);
	assert_int_equal(fake.vm_creates, 2);
	assert_int_equal(fake.vm_destroys, 2);
	assert_int_equal(fake.mem_unmaps, 2);
	assert_string_equal(vmm_vm_backend(NULL), "");
}

static void test_create_failures_unwind(void **state)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	vmm_vm *vm = (vmm_vm *)1;

	fake_reset();
	cfg.mem_size = 1 * MIB;
	fake.fail_vm_create = 1;
	assert_int_equal(vmm__vm_create_with_ops(&cfg, &fake_ops, &vm), VMM_EBACKEND);
	assert_null(vm);
	assert_int_equal(fake.vm_destroys, 0);
	fake.fail_vm_create = 0;
	fake.fail_mem_map = 1;
	assert_int_equal(vmm__vm_create_with_ops(&cfg, &fake_ops, &vm), VMM_EBACKEND);
	assert_error_has("fake: mem_map refused");
	assert_int_equal(fake.vm_destroys, 1);
	assert_int_equal(vmm__vm_create_with_ops(&cfg, NULL, &vm), VMM_EINVAL);
	cfg.mem_size = 0;
	fake.fail_mem_map = 0;
	assert_int_equal(vmm__vm_create_with_ops(&cfg, &fake_ops, &vm), VMM_EINVAL);
	assert_int_equal(fake.vm_creates, 1);
}

static void test_vcpus(void **state)
{
	vmm_vm *vm;
	vmm_vcpu *a = NULL, *b = NULL, *c = (vmm_vcpu *)1;
	vmm_regs regs = { .rax = 1, .rip = 0x1234, .rflags = 0x202 }, back;
	vmm_sregs sregs = { .cr0 = 0x80000011, .efer = 0x500 }, sback;

	fake_reset();
	vm = fake_vm(1 * MIB, 2, 0);
	assert_non_null(vm);
	assert_null(vmm_vcpu_get(vm, 0));
	assert_int_equal(vmm_vcpu_create(vm, 1, &b), 0);
	assert_int_equal(vmm_vcpu_create(vm, 0, &a), 0);
	assert_ptr_equal(vmm_vcpu_get(vm, 0), a);
	assert_ptr_equal(vmm_vcpu_get(vm, 1), b);
	assert_null(vmm_vcpu_get(vm, 2));
	assert_null(vmm_vcpu_get(vm, 1000));
	assert_int_equal(vmm_vcpu_index(b), 1);
	assert_true(b->runnable);
	assert_int_equal(vmm_vcpu_create(vm, 1, &c), VMM_EEXIST);
	assert_null(c);
	assert_error_has("vCPU 1 already exists");
	assert_int_equal(vmm_vcpu_create(vm, 2, &c), VMM_ENOENT);
	assert_error_has("index 2");

	assert_int_equal(vmm_vcpu_set_regs(a, &regs), 0);
	assert_int_equal(vmm_vcpu_get_regs(a, &back), 0);
	assert_memory_equal(&back, &regs, sizeof(regs));
	assert_int_equal(vmm_vcpu_set_sregs(a, &sregs), 0);
	assert_int_equal(vmm_vcpu_get_sregs(a, &sback), 0);
	assert_memory_equal(&sback, &sregs, sizeof(sregs));
	assert_int_equal(vmm_vcpu_get_regs(a, NULL), VMM_EINVAL);
	assert_int_equal(vmm_vcpu_get_regs(NULL, &back), VMM_EINVAL);

	vmm_vcpu_destroy(b);
	assert_null(vmm_vcpu_get(vm, 1));
	assert_int_equal(fake.vcpu_destroys, 1);
	fake.fail_vcpu_create = 1;
	assert_int_equal(vmm_vcpu_create(vm, 1, &b), VMM_EBACKEND);
	assert_null(vmm_vcpu_get(vm, 1));
	vmm_vcpu_destroy(NULL);
	vmm_vm_destroy(vm);  /* destroys vCPU 0 */
	assert_int_equal(fake.vcpu_destroys, 2);
}

static int script_io_then_hlt(vmm_vcpu *vcpu, vmm_exit *exit, unsigned call)
{
	exit->reason = call == 0 ? VMM_EXIT_IO : VMM_EXIT_HLT;
	exit->io.direction = VMM_IO_IN;
	exit->io.port = 0x60;
	exit->io.size = 1;
	return 0;
}

static void test_vcpu_run_and_kick(void **state)
{
	vmm_vm *vm;
	vmm_vcpu *v;
	vmm_exit *exit = NULL;

	fake_reset();
	fake.script = script_io_then_hlt;
	vm = fake_vm(1 * MIB, 1, 0);
	assert_non_null(vm);
	assert_int_equal(vmm_vcpu_create(vm, 0, &v), 0);
	assert_int_equal(vmm_vcpu_run(v, &exit), 0);
	assert_ptr_equal(exit, &v->exit);
	assert_int_equal(exit->reason, VMM_EXIT_IO);
	assert_int_equal(exit->io.port, 0x60);
	assert_int_equal(exit->vcpu_index, 0);
	assert_int_equal(atomic_load(&v->in_run), 0);
	exit->io.data = 0x42;  /* the caller completes the IN */
	assert_int_equal(vmm_vcpu_run(v, &exit), 0);
	assert_int_equal(fake_of(v)->last_in_data, 0x42);
	assert_int_equal(exit->reason, VMM_EXIT_HLT);
	/* a kick before run makes the next run return CANCELLED, once */
	assert_int_equal(vmm_vcpu_kick(v), 0);
	assert_int_equal(atomic_load(&fake_of(v)->kicks), 1);
	assert_int_equal(vmm_vcpu_run(v, &exit), 0);
	assert_int_equal(exit->reason, VMM_EXIT_CANCELLED);
	assert_int_equal(atomic_load(&v->kicked), 0);
	assert_int_equal(vmm_vcpu_run(v, &exit), 0);
	assert_int_equal(exit->reason, VMM_EXIT_HLT);
	assert_int_equal(vmm_vcpu_run(v, NULL), VMM_EINVAL);
	assert_int_equal(vmm_vcpu_kick(NULL), VMM_EINVAL);
	vmm_vm_destroy(vm);
}

/* Many VMs, created and used from several threads at once, stay apart. */
static void *vm_churn(void *arg)
{
	uintptr_t id = (uintptr_t)arg;

	for (int i = 0; i < 20; i++) {
		vmm_vm *vm = fake_vm(1 * MIB, 1, 0);
		uint64_t v = id * 1000 + (uint64_t)i, back = 0;

		if (!vm)
			return (void *)1;
		if (vmm_mem_map(vm, 4 * MIB, 4096, VMM_MEM_RW, NULL) ||
		    vmm_mem_write(vm, 4 * MIB + 8, &v, 8) || vmm_vcpu_create(vm, 0, NULL) ||
		    vmm_mem_read(vm, 4 * MIB + 8, &back, 8) || back != v)
			return (void *)2;
		vmm_vm_destroy(vm);
	}
	return NULL;
}

static void test_vms_in_parallel(void **state)
{
	pthread_t t[4];
	void *ret;

	fake_reset();
	for (uintptr_t i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, vm_churn, (void *)i), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], &ret), 0);
		assert_null(ret);
	}
	assert_int_equal(fake.vm_creates, 80);
	assert_int_equal(fake.vm_destroys, 80);
	assert_int_equal(fake.mem_unmaps, 160);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_bad_config),
		cmocka_unit_test(test_create_more_than_host_ram),
		cmocka_unit_test(test_create_unknown_backend),
		cmocka_unit_test(test_create_named_backends),
		cmocka_unit_test(test_create_auto),
		cmocka_unit_test(test_auto_choice),
		cmocka_unit_test(test_fake_vm_basics),
		cmocka_unit_test(test_create_failures_unwind),
		cmocka_unit_test(test_vcpus),
		cmocka_unit_test(test_vcpu_run_and_kick),
		cmocka_unit_test(test_vms_in_parallel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
