/* test_emu_exits.c - what the emu backend hands to its caller: port I/O and
 * MMIO exits (and their completion on the next run, including
 * read-modify-write instructions replayed with a device in between),
 * hypercalls, HLT, internal errors naming the instruction, triple faults,
 * kicks from another thread, LOCK atomicity across vCPU threads, and
 * self-modifying code (guest writes and host writes). */
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/emu_test.h"

#define UNMAPPED 0x8000000ull   /* 128 MiB: paged, not RAM */

EMU_GUEST64(g_pio, "mov $0x3f8, %dx\n mov $0x41, %al\n out %al, (%dx)\n"
		"in $0x60, %al\n mov %al, %bl\n in (%dx), %eax\n mov $0x1234, %ax\n"
		"out %ax, $0x70\n hlt");

static void test_port_io(void **state)
{
	emu_fx fx;
	vmm_exit *e;
	vmm_regs r;

	et_setup(&fx, g_pio, EMU_LEN(g_pio));
	e = et_run(&fx, VMM_EXIT_IO);
	assert_int_equal(e->io.port, 0x3f8);
	assert_int_equal(e->io.size, 1);
	assert_int_equal(e->io.direction, VMM_IO_OUT);
	assert_int_equal(e->io.data, 0x41);
	assert_int_equal(e->rip, FX_CODE + 6);
	e = et_run(&fx, VMM_EXIT_IO);
	assert_int_equal(e->io.port, 0x60);
	assert_int_equal(e->io.direction, VMM_IO_IN);
	e->io.data = 0xab;
	e = et_run(&fx, VMM_EXIT_IO);
	assert_int_equal(e->io.port, 0x3f8);
	assert_int_equal(e->io.size, 4);
	e->io.data = 0xdeadbeef;
	e = et_run(&fx, VMM_EXIT_IO);
	assert_int_equal(e->io.port, 0x70);
	assert_int_equal(e->io.size, 2);
	assert_int_equal(e->io.data, 0x1234);
	et_run(&fx, VMM_EXIT_HLT);
	r = fx_regs(&fx);
	assert_int_equal(r.rbx, 0xab);
	assert_int_equal(r.rax, 0xdead1234);
	assert_int_equal(r.rip, FX_CODE + EMU_LEN(g_pio));
	fx_destroy(&fx);
}

EMU_GUEST64(g_mmio, "mov $0x8000000, %rsi\n movl $0x11223344, (%rsi)\n"
		"mov 8(%rsi), %rax\n add %eax, 16(%rsi)\n pushfq\n pop %rbx\n hlt");

static void test_mmio_read_modify_write(void **state)
{
	emu_fx fx;
	vmm_exit *e;
	vmm_regs r;

	et_setup(&fx, g_mmio, EMU_LEN(g_mmio));
	e = et_run(&fx, VMM_EXIT_MMIO);
	assert_int_equal(e->mmio.addr, UNMAPPED);
	assert_int_equal(e->mmio.size, 4);
	assert_int_equal(e->mmio.is_write, 1);
	assert_int_equal(e->mmio.data, 0x11223344);
	e = et_run(&fx, VMM_EXIT_MMIO);
	assert_int_equal(e->mmio.addr, UNMAPPED + 8);
	assert_int_equal(e->mmio.size, 8);
	assert_int_equal(e->mmio.is_write, 0);
	e->mmio.data = 0xfffffff0;
	e = et_run(&fx, VMM_EXIT_MMIO);          /* add: the read */
	assert_int_equal(e->mmio.addr, UNMAPPED + 16);
	assert_int_equal(e->mmio.size, 4);
	assert_int_equal(e->mmio.is_write, 0);
	e->mmio.data = 0x20;
	e = et_run(&fx, VMM_EXIT_MMIO);          /* add: the write, read replayed */
	assert_int_equal(e->mmio.addr, UNMAPPED + 16);
	assert_int_equal(e->mmio.is_write, 1);
	assert_int_equal(e->mmio.data, 0x10);
	et_run(&fx, VMM_EXIT_HLT);
	r = fx_regs(&fx);
	assert_int_equal(r.rax, 0xfffffff0);
	assert_int_equal(r.rbx & (FL_CF | FL_ZF), FL_CF);
	fx_destroy(&fx);
}

typedef struct counter_dev {
	int reads, writes;
	uint64_t last_write;
} counter_dev;

static int counter_mmio(void *opaque, vmm_vcpu *vcpu, uint64_t addr, uint8_t size,
			uint8_t is_write, uint64_t *data)
{
	counter_dev *dev = opaque;

	if (is_write) {
		dev->writes++;
		dev->last_write = *data;
	} else {
		dev->reads++;
		*data = 0x5000 + (uint64_t)dev->reads;
	}
	return 0;
}

/* movsl from a device to unclaimed MMIO: the device is read once even
 * though the instruction runs twice (the read is replayed). */
EMU_GUEST64(g_replay, "mov $0x9000000, %rsi\n mov $0x8000000, %rdi\n movsl\n"
		"incl (%rsi)\n hlt");

static void test_replay_does_not_repeat_device_access(void **state)
{
	counter_dev dev = { 0, 0, 0 };
	emu_fx fx;
	vmm_exit *e;
	vmm_regs r;

	et_setup(&fx, g_replay, EMU_LEN(g_replay));
	assert_int_equal(vmm_mmio_register(fx.vm, 0x9000000, 0x1000, counter_mmio, &dev), 0);
	e = et_run(&fx, VMM_EXIT_MMIO);
	assert_int_equal(e->mmio.addr, UNMAPPED);
	assert_int_equal(e->mmio.is_write, 1);
	assert_int_equal(e->mmio.data, 0x5001);
	assert_int_equal(dev.reads, 1);
	et_run(&fx, VMM_EXIT_HLT);
	assert_int_equal(dev.reads, 2);
	assert_int_equal(dev.writes, 1);
	assert_int_equal(dev.last_write, 0x5003);
	r = fx_regs(&fx);
	assert_int_equal(r.rsi, 0x9000004);
	assert_int_equal(r.rdi, UNMAPPED + 4);
	fx_destroy(&fx);
}

EMU_GUEST64(g_hcall, "mov $7, %eax\n mov $1, %ebx\n mov $2, %ecx\n mov $3, %edx\n"
		"mov $4, %esi\n vmcall\n mov %rax, %r8\n vmmcall\n hlt\n mov $5, %r9\n hlt");

static void test_hypercall_and_hlt(void **state)
{
	emu_fx fx;
	vmm_exit *e;
	vmm_regs r;

	et_setup(&fx, g_hcall, EMU_LEN(g_hcall));
	e = et_run(&fx, VMM_EXIT_HYPERCALL);
	assert_int_equal(e->hypercall.nr, 7);
	assert_int_equal(e->hypercall.args[0], 1);
	assert_int_equal(e->hypercall.args[1], 2);
	assert_int_equal(e->hypercall.args[2], 3);
	assert_int_equal(e->hypercall.args[3], 4);
	e->hypercall.ret = 42;
	e = et_run(&fx, VMM_EXIT_HYPERCALL);
	assert_int_equal(e->hypercall.nr, 42);
	e->hypercall.ret = 43;
	e = et_run(&fx, VMM_EXIT_HLT);
	r = fx_regs(&fx);
	assert_int_equal(r.r8, 42);
	assert_int_equal(r.rax, 43);
	assert_int_equal(r.rip, FX_CODE + EMU_LEN(g_hcall) - 8);   /* after the 1st HLT */
	assert_int_equal(e->rip, r.rip);
	et_run(&fx, VMM_EXIT_HLT);
	assert_int_equal(fx_regs(&fx).r9, 5);
	fx_destroy(&fx);
}

EMU_GUEST64(g_avx, "nop\n fnstenv (%rax)\n hlt");

static void test_unsupported_instruction_message(void **state)
{
	emu_fx fx;
	vmm_exit *e;

	et_setup(&fx, g_avx, EMU_LEN(g_avx));
	e = et_run(&fx, VMM_EXIT_INTERNAL_ERROR);
	assert_string_equal(e->internal.message,
			    "emu: unsupported instruction at rip 0x100001: d9 30 "
			    "(fnstenv [rax])");
	fx_destroy(&fx);
}

EMU_GUEST64(g_ud2, "mov $1, %eax\n ud2\n hlt");

static void test_triple_fault_without_idt(void **state)
{
	emu_fx fx;
	vmm_exit *e;

	et_setup(&fx, g_ud2, EMU_LEN(g_ud2));
	e = et_run(&fx, VMM_EXIT_SHUTDOWN);
	assert_int_equal(e->rip, FX_CODE + 5);
	assert_int_equal(fx_regs(&fx).rax, 1);
	fx_destroy(&fx);
}

/* ---- Kick ------------------------------------------------------------------- */

EMU_GUEST64(g_spin, "1: inc %rax\n jmp 1b");

static void *kicker(void *arg)
{
	usleep(50 * 1000);
	vmm_vcpu_kick(arg);
	return NULL;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void test_kick_from_another_thread(void **state)
{
	emu_fx fx;
	pthread_t t;
	double t0, dt;

	et_setup(&fx, g_spin, EMU_LEN(g_spin));
	t0 = now_s();
	assert_int_equal(pthread_create(&t, NULL, kicker, fx.vcpu), 0);
	et_run(&fx, VMM_EXIT_CANCELLED);
	dt = now_s() - t0;
	pthread_join(t, NULL);
	assert_true(dt < 2.0);
	assert_true(fx_regs(&fx).rax > 1000);
	/* The kick is consumed: the next run continues until kicked again. */
	assert_int_equal(pthread_create(&t, NULL, kicker, fx.vcpu), 0);
	et_run(&fx, VMM_EXIT_CANCELLED);
	pthread_join(t, NULL);
	fx_destroy(&fx);
}

/* ---- LOCK across threads ------------------------------------------------------ */

EMU_GUEST64(g_lockinc, "mov $1000000, %ecx\n1: lock incq 0x200000\n lock addl $2, 0x200008\n"
		"dec %ecx\n jnz 1b\n hlt");

static void *run_vcpu(void *arg)
{
	vmm_exit *e = NULL;

	if (vmm_vcpu_run(arg, &e) || e->reason != VMM_EXIT_HLT)
		return (void *)1;
	return NULL;
}

static void test_lock_atomic_across_vcpus(void **state)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	vmm_vcpu *v1;
	pthread_t t0, t1;
	void *r0, *r1;
	emu_fx fx;

	cfg.backend = "emu";
	cfg.vcpus = 2;
	cfg.flags = VMM_VM_NO_UART | VMM_VM_NO_DEBUG_EXIT;
	assert_int_equal(vmm_vm_create(&cfg, &fx.vm), 0);
	fx.mem_size = cfg.mem_size;
	assert_int_equal(fx_page_tables(fx.vm), 0);
	assert_int_equal(vmm_vcpu_create(fx.vm, 0, &fx.vcpu), 0);
	assert_int_equal(vmm_vcpu_create(fx.vm, 1, &v1), 0);
	assert_int_equal(fx_long_mode(fx.vcpu, FX_CODE, fx.mem_size), 0);
	assert_int_equal(fx_long_mode(v1, FX_CODE, fx.mem_size - 0x10000), 0);
	assert_int_equal(fx_code(&fx, g_lockinc, EMU_LEN(g_lockinc)), 0);
	assert_int_equal(pthread_create(&t0, NULL, run_vcpu, fx.vcpu), 0);
	assert_int_equal(pthread_create(&t1, NULL, run_vcpu, v1), 0);
	pthread_join(t0, &r0);
	pthread_join(t1, &r1);
	assert_null(r0);
	assert_null(r1);
	assert_int_equal(et_mem64(&fx, 0x200000), 2000000);
	assert_int_equal(et_mem64(&fx, 0x200008), 4000000);
	fx_destroy(&fx);
}

/* ---- Self-modifying code ------------------------------------------------------- */

EMU_GUEST64(g_smc, "movb $0x2a, 1f+1(%rip)\n1: mov $0, %al\n"
		"lea 2f(%rip), %rbx\n call *%rbx\n mov %ecx, %edx\n"
		"movb $0x07, 2f+1(%rip)\n call *%rbx\n jmp 3f\n"
		"2: mov $3, %cl\n ret\n 3: hlt");

static void test_self_modifying_code(void **state)
{
	vmm_regs r = et_exec(g_smc, EMU_LEN(g_smc), NULL);

	assert_int_equal(r.rax & 0xff, 0x2a);
	assert_int_equal(r.rdx & 0xff, 3);
	assert_int_equal(r.rcx & 0xff, 7);
}

EMU_GUEST64(g_v1, "mov $1, %eax\n hlt");
EMU_GUEST64(g_v2, "mov $2, %eax\n hlt");

static void test_host_write_invalidates_code(void **state)
{
	emu_fx fx;
	vmm_regs r;

	et_setup(&fx, g_v1, EMU_LEN(g_v1));
	et_run(&fx, VMM_EXIT_HLT);
	assert_int_equal(fx_regs(&fx).rax, 1);
	assert_int_equal(fx_code(&fx, g_v2, EMU_LEN(g_v2)), 0);
	r = fx_regs(&fx);
	r.rip = FX_CODE;
	assert_int_equal(vmm_vcpu_set_regs(fx.vcpu, &r), 0);
	et_run(&fx, VMM_EXIT_HLT);
	assert_int_equal(fx_regs(&fx).rax, 2);
	fx_destroy(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_port_io),
		cmocka_unit_test(test_mmio_read_modify_write),
		cmocka_unit_test(test_replay_does_not_repeat_device_access),
		cmocka_unit_test(test_hypercall_and_hlt),
		cmocka_unit_test(test_unsupported_instruction_message),
		cmocka_unit_test(test_triple_fault_without_idt),
		cmocka_unit_test(test_kick_from_another_thread),
		cmocka_unit_test(test_lock_atomic_across_vcpus),
		cmocka_unit_test(test_self_modifying_code),
		cmocka_unit_test(test_host_write_invalidates_code),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
