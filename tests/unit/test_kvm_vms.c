/* test_kvm_vms.c - several kvm VMs at once, a shared region mapped in two
 * VMs, and kicks: from another thread while the guest spins, before a run,
 * and while an IN is being completed. Skipped where /dev/kvm is unusable. */
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "test_kvm_util.h"

#define NO_DEVICES (VMM_VM_NO_UART | VMM_VM_NO_DEBUG_EXIT)

GUEST16(g_out_a, "mov $0x3f8, %dx\n mov $0x61, %al\n out %al, (%dx)\n inc %al\n"
		 " out %al, (%dx)\n hlt");
GUEST16(g_out_b, "mov $0x2f8, %dx\n mov $0x7a, %al\n out %al, (%dx)\n dec %al\n"
		 " out %al, (%dx)\n hlt");

static void test_two_vms_interleaved(void **state)
{
	vmm_vm *a = kt_vm(NO_DEVICES), *b = kt_vm(NO_DEVICES);
	vmm_vcpu *ca = kt_vcpu_real(a, g_out_a, GUEST_LEN(g_out_a), KT_CODE);
	vmm_vcpu *cb = kt_vcpu_real(b, g_out_b, GUEST_LEN(g_out_b), KT_CODE);

	kt_expect_io(ca, 0x3f8, 1, VMM_IO_OUT, 'a');
	kt_expect_io(cb, 0x2f8, 1, VMM_IO_OUT, 'z');
	kt_expect_io(cb, 0x2f8, 1, VMM_IO_OUT, 'y');
	kt_expect_io(ca, 0x3f8, 1, VMM_IO_OUT, 'b');
	kt_expect_hlt(ca);
	vmm_vm_destroy(a);
	kt_expect_hlt(cb);  /* b is unaffected by a's destruction */
	vmm_vm_destroy(b);
}

/* DS = 0x8000: the shared page. A writes, B reads. */
GUEST16(g_share_w, "mov $0x8000, %ax\n mov %ax, %ds\n movl $0x11223344, (0x8)\n hlt");
GUEST16(g_share_r, "mov $0x8000, %ax\n mov %ax, %ds\n mov (0x8), %ebx\n"
		   " movl $0x55667788, (0xc)\n hlt");

static void test_shared_region_in_two_vms(void **state)
{
	vmm_vm *a = kt_vm(NO_DEVICES), *b = kt_vm(NO_DEVICES);
	vmm_vcpu *ca = kt_vcpu_real(a, g_share_w, GUEST_LEN(g_share_w), KT_CODE);
	vmm_vcpu *cb = kt_vcpu_real(b, g_share_r, GUEST_LEN(g_share_r), KT_CODE);
	vmm_region *region = NULL;
	uint32_t *host;

	assert_int_equal(vmm_region_create(0x2000, &region), 0);
	assert_int_equal(vmm_mem_share(a, region, 0x80000, 0x1000, 0x1000, VMM_MEM_RW), 0);
	assert_int_equal(vmm_mem_share(b, region, 0x80000, 0x1000, 0x1000, VMM_MEM_RW), 0);
	vmm_region_destroy(region);  /* the VMs keep it alive */
	host = (uint32_t *)((uint8_t *)vmm_region_host_ptr(region) + 0x1000);
	kt_expect_hlt(ca);
	assert_int_equal(host[2], 0x11223344);
	kt_expect_hlt(cb);
	assert_int_equal(kt_regs(cb).rbx, 0x11223344);
	assert_int_equal(host[3], 0x55667788);
	vmm_vm_destroy(a);
	vmm_vm_destroy(b);
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

typedef struct kicker {
	vmm_vcpu *vcpu;
	unsigned delay_us;
	double kicked_at;
} kicker;

static void *kick_later(void *arg)
{
	kicker *k = arg;

	usleep(k->delay_us);
	k->kicked_at = now_s();
	assert_int_equal(vmm_vcpu_kick(k->vcpu), 0);
	return NULL;
}

/* Runs the spinning vCPU, kicked from a thread after delay_us; the run must
 * return CANCELLED within 1 s of the kick. */
static void run_and_kick(vmm_vcpu *vcpu, unsigned delay_us)
{
	kicker k = { vcpu, delay_us, 0 };
	pthread_t thread;
	vmm_exit *exit;
	double done;

	alarm(10);  /* a lost kick ends the test (SIGALRM) instead of hanging */
	assert_int_equal(pthread_create(&thread, NULL, kick_later, &k), 0);
	exit = kt_run(vcpu);
	done = now_s();
	alarm(0);
	assert_int_equal(pthread_join(thread, NULL), 0);
	assert_int_equal(exit->reason, VMM_EXIT_CANCELLED);
	if (done - k.kicked_at > 1.0)
		fail_msg("CANCELLED came %.3f s after the kick", done - k.kicked_at);
}

GUEST16(g_spin, "1: jmp 1b");
GUEST64(g_spin64, "1: inc %rax\n jmp 1b");

static void test_kick_spinning_guest(void **state)
{
	vmm_vm *vm = kt_vm(NO_DEVICES);
	vmm_vcpu *vcpu = kt_vcpu_real(vm, g_spin, GUEST_LEN(g_spin), KT_CODE);

	run_and_kick(vcpu, 100000);
	assert_int_equal(kt_regs(vcpu).rip, KT_CODE);
	run_and_kick(vcpu, 1000);   /* again: the kick was consumed */
	run_and_kick(vcpu, 0);      /* racing with the start of the run */
	vmm_vm_destroy(vm);
}

static void test_kick_spinning_long_mode(void **state)
{
	vmm_vm *vm = kt_vm(NO_DEVICES);
	vmm_vcpu *vcpu = kt_vcpu_long(vm, g_spin64, GUEST_LEN(g_spin64), KT_CODE);
	uint64_t first;

	run_and_kick(vcpu, 100000);
	first = kt_regs(vcpu).rax;
	assert_true(first > 0);     /* it did run */
	run_and_kick(vcpu, 100000);
	assert_true(kt_regs(vcpu).rax > first);
	vmm_vm_destroy(vm);
}

GUEST16(g_in_then_out, "mov $0x60, %dx\n in (%dx), %al\n out %al, (%dx)\n hlt");

static void test_kick_before_run_and_during_completion(void **state)
{
	vmm_vm *vm = kt_vm(NO_DEVICES);
	vmm_vcpu *vcpu = kt_vcpu_real(vm, g_in_then_out, GUEST_LEN(g_in_then_out), KT_CODE);

	assert_int_equal(vmm_vcpu_kick(vcpu), 0);
	assert_int_equal(kt_run(vcpu)->reason, VMM_EXIT_CANCELLED);
	/* The kick is consumed: the guest now runs to its IN. */
	kt_expect_io(vcpu, 0x60, 1, VMM_IO_IN, 0)->io.data = 0x5c;
	assert_int_equal(vmm_vcpu_kick(vcpu), 0);
	assert_int_equal(kt_run(vcpu)->reason, VMM_EXIT_CANCELLED);
	/* The IN result given before the cancelled run still lands in AL. */
	kt_expect_io(vcpu, 0x60, 1, VMM_IO_OUT, 0x5c);
	kt_expect_hlt(vcpu);
	vmm_vm_destroy(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_vms_interleaved),
		cmocka_unit_test(test_shared_region_in_two_vms),
		cmocka_unit_test(test_kick_spinning_guest),
		cmocka_unit_test(test_kick_spinning_long_mode),
		cmocka_unit_test(test_kick_before_run_and_during_completion),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
