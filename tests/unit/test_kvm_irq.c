/* test_kvm_irq.c - the kvm backend's in-kernel interrupt controllers
 * (VMM_VM_IRQCHIP): a PIC line raised by vmm_irq_line from this and another
 * thread while the guest sits in HLT inside the kernel, the kick ending such
 * a HLT, irqfd and ioeventfd, vCPU start-up (runnable vCPUs run at once,
 * the others wait for INIT/SIPI; a SIPI to a running vCPU is ignored), an
 * interrupt storm from a host thread, and VMs without the flag. Real-mode
 * guests; skipped where /dev/kvm or its irqchip is unusable. */
#include <pthread.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "test_kvm_util.h"
#include "lib/platform/platform.h"
#include "backends/kvm/kvm_priv.h"

#define NO_DEVICES (VMM_VM_NO_UART | VMM_VM_NO_DEBUG_EXIT)
#define IRQ_VM (NO_DEVICES | VMM_VM_IRQCHIP)

static vmm_vm *irq_vm(uint32_t vcpus)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	vmm_vm *vm = NULL;
	int rc;

	kt_require_kvm();
	cfg.backend = "kvm";
	cfg.mem_size = KT_RAM;
	cfg.vcpus = vcpus;
	cfg.flags = IRQ_VM;
	rc = vmm_vm_create(&cfg, &vm);
	if (rc == VMM_ENOTSUP) {
		print_message("# SKIP reason: %s\n", vmm_last_error());
		skip();
	}
	if (rc)
		fail_msg("vmm_vm_create(kvm, IRQCHIP): %s", vmm_last_error());
	return vm;
}

/* PIC master at vector 0x30, IRQ 4 unmasked; vector 0x34 counts in BX,
 * EOIs and reports the count on port 0x81. Port 0x80 says "ready"; then
 * HLT forever with interrupts on. Port 0x90 / 0x91 writes come first
 * (ioeventfd test). */
GUEST16(g_pic,
	"xor %ax, %ax\n mov %ax, %ds\n mov %ax, %ss\n mov $0x7000, %sp\n"
	"movw $(pic_handler - g_pic + 0x1000), (0x34 * 4)\n movw $0, (0x34 * 4 + 2)\n"
	"xor %bx, %bx\n"
	"mov $0x11, %al\n out %al, $0x20\n mov $0x30, %al\n out %al, $0x21\n"
	"mov $0x04, %al\n out %al, $0x21\n mov $0x01, %al\n out %al, $0x21\n"
	"mov $0xef, %al\n out %al, $0x21\n"
	"mov $0x77, %al\n out %al, $0x90\n"
	"mov $1, %al\n out %al, $0x91\n mov $2, %al\n out %al, $0x91\n"
	"out %al, $0x80\n sti\n"
	"1: hlt\n jmp 1b\n"
	"pic_handler: inc %bx\n mov $0x20, %al\n out %al, $0x20\n mov %bx, %ax\n"
	" out %ax, $0x81\n iret");

static vmm_vcpu *pic_guest(vmm_vm *vm)
{
	vmm_vcpu *vcpu = kt_vcpu_real(vm, g_pic, GUEST_LEN(g_pic), KT_CODE);

	kt_expect_io(vcpu, 0x90, 1, VMM_IO_OUT, 0x77);
	kt_expect_io(vcpu, 0x91, 1, VMM_IO_OUT, 1);
	kt_expect_io(vcpu, 0x91, 1, VMM_IO_OUT, 2);
	kt_expect_io(vcpu, 0x80, 1, VMM_IO_OUT, 2);
	return vcpu;
}

static void pulse(vmm_vm *vm, uint32_t gsi)
{
	assert_int_equal(vmm_irq_line(vm, gsi, 1), 0);
	assert_int_equal(vmm_irq_line(vm, gsi, 0), 0);
}

static void expect_count(vmm_vcpu *vcpu, uint32_t n)
{
	kt_expect_io(vcpu, 0x81, 2, VMM_IO_OUT, n);
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

typedef struct runner {
	vmm_vcpu *vcpu;
	unsigned guard_ms;
	vmm_exit exit;
	atomic_int done;
	pthread_t tid;
} runner;

static void *runner_thread(void *arg)
{
	runner *r = arg;

	r->exit = *kt_run_guarded(r->vcpu, r->guard_ms);
	atomic_store(&r->done, 1);
	return NULL;
}

static void runner_start(runner *r, vmm_vcpu *vcpu, unsigned guard_ms)
{
	memset(r, 0, sizeof(*r));
	r->vcpu = vcpu;
	r->guard_ms = guard_ms;
	assert_int_equal(pthread_create(&r->tid, NULL, runner_thread, r), 0);
}

static void runner_join(runner *r)
{
	assert_int_equal(pthread_join(r->tid, NULL), 0);
}

static void test_line_wakes_hlt_in_kernel(void **state)
{
	vmm_vm *vm = irq_vm(1);
	vmm_vcpu *vcpu = pic_guest(vm);
	runner r;

	pulse(vm, 4);                 /* pending before the run */
	expect_count(vcpu, 1);
	runner_start(&r, vcpu, 5000); /* now in HLT, in the kernel */
	usleep(100 * 1000);
	assert_int_equal(atomic_load(&r.done), 0);  /* HLT did not exit */
	pulse(vm, 4);                 /* from this thread, while it runs */
	runner_join(&r);
	assert_int_equal(r.exit.reason, VMM_EXIT_IO);
	assert_int_equal(r.exit.io.port, 0x81);
	assert_int_equal(r.exit.io.data, 2);
	pulse(vm, 3);                 /* masked at the PIC: nothing */
	pulse(vm, 4);
	expect_count(vcpu, 3);
	vmm_vm_destroy(vm);
}

static void test_kick_ends_hlt_in_kernel(void **state)
{
	vmm_vm *vm = irq_vm(1);
	vmm_vcpu *vcpu = pic_guest(vm);
	double t0 = now_s();

	assert_int_equal(kt_run_guarded(vcpu, 100)->reason, VMM_EXIT_CANCELLED);
	assert_true(now_s() - t0 < 2.0);
	/* The vCPU is still fine: the next interrupt is taken. */
	pulse(vm, 4);
	expect_count(vcpu, 1);
	vmm_vm_destroy(vm);
}

static void test_irqfd(void **state)
{
	vmm_vm *vm = irq_vm(1);
	vmm_vcpu *vcpu = pic_guest(vm);
	int fd = eventfd(0, EFD_CLOEXEC);
	uint64_t one = 1;

	assert_true(fd >= 0);
	assert_int_equal(vmm__irqfd_add(vm, fd, 4), 0);
	assert_int_equal(vmm__irqfd_add(vm, fd, 24), VMM_ERANGE);
	assert_int_equal(write(fd, &one, 8), 8);
	expect_count(vcpu, 1);
	assert_int_equal(write(fd, &one, 8), 8);
	expect_count(vcpu, 2);
	assert_int_equal(vmm__irqfd_remove(vm, fd, 4), 0);
	assert_int_equal(write(fd, &one, 8), 8);   /* unbound: no interrupt */
	assert_int_equal(kt_run_guarded(vcpu, 200)->reason, VMM_EXIT_CANCELLED);
	close(fd);
	vmm_vm_destroy(vm);
}

static void test_ioeventfd(void **state)
{
	vmm_vm *vm = irq_vm(1);
	int any = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int two = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vmm__ioeventfd e_any = { .addr = 0x90, .len = 1, .is_pio = 1, .fd = any };
	vmm__ioeventfd e_two = { .addr = 0x91, .len = 1, .is_pio = 1, .datamatch = 2,
				 .has_datamatch = 1, .fd = two };
	vmm__ioeventfd bad = { .addr = 0x90, .len = 3, .is_pio = 1, .fd = any };
	uint64_t n = 0;

	assert_true(any >= 0 && two >= 0);
	assert_int_equal(vmm__ioeventfd_add(vm, &e_any), 0);
	assert_int_equal(vmm__ioeventfd_add(vm, &e_two), 0);
	assert_int_equal(vmm__ioeventfd_add(vm, &bad), VMM_EINVAL);
	/* The OUT to 0x90 and the matching OUT to 0x91 never exit. */
	kt_vcpu_real(vm, g_pic, GUEST_LEN(g_pic), KT_CODE);
	kt_expect_io(vmm_vcpu_get(vm, 0), 0x91, 1, VMM_IO_OUT, 1);
	kt_expect_io(vmm_vcpu_get(vm, 0), 0x80, 1, VMM_IO_OUT, 2);
	assert_int_equal(read(any, &n, 8), 8);
	assert_int_equal(n, 1);
	assert_int_equal(read(two, &n, 8), 8);
	assert_int_equal(n, 1);
	assert_int_equal(vmm__ioeventfd_remove(vm, &e_any), 0);
	assert_int_equal(vmm__ioeventfd_remove(vm, &e_two), 0);
	close(any);
	close(two);
	vmm_vm_destroy(vm);
}

/* ---- Start-up: runnable and wait-for-SIPI ---------------------------------- */

/* x2APIC on (APIC_BASE |= EN | EXTD), SVR = 0x1ff, ready on 0x80; then
 * INIT and SIPI (vector 2: 0x2000) to APIC ID 1 through the x2APIC ICR
 * (MSR 0x830), done on 0x84, a second SIPI (ignored: vCPU 1 runs), 0x85. */
GUEST16(g_bsp,
	"mov $0x1b, %ecx\n rdmsr\n or $0xc00, %eax\n wrmsr\n"
	"mov $0x80f, %ecx\n mov $0x1ff, %eax\n xor %edx, %edx\n wrmsr\n"
	"out %al, $0x80\n"
	"mov $0x830, %ecx\n mov $1, %edx\n mov $0x4500, %eax\n wrmsr\n"
	"mov $0x4602, %eax\n wrmsr\n"
	"out %al, $0x84\n"
	"mov $0x4603, %eax\n wrmsr\n"
	"out %al, $0x85\n"
	"1: hlt\n jmp 1b");
/* The AP's SIPI target: reports CS on 0x82, then counts on 0x86. */
GUEST16(g_ap, "mov %cs, %ax\n out %ax, $0x82\n xor %ax, %ax\n"
	      "1: inc %ax\n out %ax, $0x86\n jmp 1b");
/* Where the AP's registers point before its SIPI: must never run. */
GUEST16(g_never, "out %al, $0x83\n hlt");

/* x2APIC as KVM offers it to guests (it emulates x2APIC even where the
 * host CPU lacks it). */
static int has_x2apic(void)
{
	const struct kvm_cpuid2 *c = kvm__host_get()->supported;

	for (uint32_t i = 0; c && i < c->nent; i++)
		if (c->entries[i].function == 1)
			return (c->entries[i].ecx >> 21) & 1;
	return 0;
}

static vmm_vcpu *ap_vcpu(vmm_vm *vm, bool runnable)
{
	vmm_vcpu *ap = NULL;
	vmm_sregs s;

	assert_int_equal(vmm_vcpu_create(vm, 1, &ap), 0);
	assert_int_equal(vmm_mem_write(vm, 0x3000, g_never, GUEST_LEN(g_never)), 0);
	assert_int_equal(vmm_mem_write(vm, 0x2000, g_ap, GUEST_LEN(g_ap)), 0);
	assert_int_equal(vmm_vcpu_get_sregs(ap, &s), 0);
	s.cs.selector = 0;
	s.cs.base = 0;
	assert_int_equal(vmm_vcpu_set_sregs(ap, &s), 0);
	kt_set_real_ip(ap, 0x3000);
	ap->runnable = runnable;
	return ap;
}

static void test_runnable_ap_starts_at_once(void **state)
{
	vmm_vm *vm = irq_vm(2);
	vmm_vcpu *ap;

	kt_vcpu_real(vm, g_bsp, GUEST_LEN(g_bsp), KT_CODE);
	ap = ap_vcpu(vm, true);
	kt_expect_io(ap, 0x83, 1, VMM_IO_OUT, 0);
	vmm_vm_destroy(vm);
}

static void test_ap_waits_for_sipi(void **state)
{
	vmm_vm *vm = irq_vm(2);
	vmm_vcpu *bsp = kt_vcpu_real(vm, g_bsp, GUEST_LEN(g_bsp), KT_CODE);
	vmm_vcpu *ap = ap_vcpu(vm, false);
	runner r;

	if (!has_x2apic()) {
		vmm_vm_destroy(vm);
		print_message("# SKIP reason: this host's KVM offers no x2APIC\n");
		skip();
	}
	runner_start(&r, ap, 10000);
	kt_expect_io(bsp, 0x80, 1, VMM_IO_OUT, 0xff);
	usleep(150 * 1000);
	assert_int_equal(atomic_load(&r.done), 0);  /* waits for its SIPI */
	kt_expect_io(bsp, 0x84, 1, VMM_IO_OUT, 0x02);
	runner_join(&r);
	assert_int_equal(r.exit.reason, VMM_EXIT_IO);
	assert_int_equal(r.exit.io.port, 0x82);
	assert_int_equal(r.exit.io.data, 0x200);     /* CS = vector << 8 */
	kt_expect_io(ap, 0x86, 2, VMM_IO_OUT, 1);
	kt_expect_io(bsp, 0x85, 1, VMM_IO_OUT, 0x03);
	/* The second SIPI did not restart the running AP: it counts on. */
	kt_expect_io(ap, 0x86, 2, VMM_IO_OUT, 2);
	kt_expect_io(ap, 0x86, 2, VMM_IO_OUT, 3);
	vmm_vm_destroy(vm);
}

/* A wait-for-SIPI vCPU that never gets one still ends at a kick. */
static void test_kick_ends_wait_for_sipi(void **state)
{
	vmm_vm *vm = irq_vm(2);
	vmm_vcpu *ap;
	double t0 = now_s();

	kt_vcpu_real(vm, g_bsp, GUEST_LEN(g_bsp), KT_CODE);
	ap = ap_vcpu(vm, false);
	assert_int_equal(kt_run_guarded(ap, 100)->reason, VMM_EXIT_CANCELLED);
	assert_true(now_s() - t0 < 2.0);
	vmm_vm_destroy(vm);
}

/* ---- Hostile host-side use ---------------------------------------------------- */

typedef struct storm {
	vmm_vm *vm;
	atomic_int stop;
	atomic_uint sent, failed;
} storm;

static void *storm_thread(void *arg)
{
	storm *s = arg;

	while (!atomic_load(&s->stop)) {
		/* lines, and MSIs to present, absent and broadcast APIC IDs with
		 * legal and illegal vectors (the LAPIC is software-disabled:
		 * all dropped, as on hardware) */
		uint32_t n = atomic_fetch_add(&s->sent, 1);
		int rc = vmm_irq_line(s->vm, 4, 1) | vmm_irq_line(s->vm, 4, 0) |
			 vmm_msi_send(s->vm, 0xfee00000u | ((n & 0xff) << 12), n & 0xff);

		if (rc)
			atomic_fetch_add(&s->failed, 1);
	}
	return NULL;
}

static void test_interrupt_storm(void **state)
{
	vmm_vm *vm = irq_vm(1);
	vmm_vcpu *vcpu = pic_guest(vm);
	storm s = { .vm = vm };
	pthread_t tid;
	uint32_t last = 0;
	double t0 = now_s();

	assert_int_equal(pthread_create(&tid, NULL, storm_thread, &s), 0);
	while (now_s() - t0 < 0.3) {
		vmm_exit *exit = kt_run_guarded(vcpu, 2000);

		assert_int_equal(exit->reason, VMM_EXIT_IO);
		assert_int_equal(exit->io.port, 0x81);
		assert_int_equal(exit->io.data, (last + 1) & 0xffff);
		last = exit->io.data;
	}
	atomic_store(&s.stop, 1);
	assert_int_equal(pthread_join(tid, NULL), 0);
	assert_int_equal(atomic_load(&s.failed), 0);
	assert_true(last > 0);
	print_message("# storm: %u pulses+MSIs sent, %u interrupts taken\n",
		      atomic_load(&s.sent), last);
	vmm_vm_destroy(vm);
}

static void test_without_irqchip_flag(void **state)
{
	vmm_vm *vm = kt_vm(NO_DEVICES);
	int fd = eventfd(0, EFD_CLOEXEC);

	assert_int_equal(vmm_irq_line(vm, 4, 1), VMM_ESTATE);
	assert_int_equal(vmm_msi_send(vm, 0xfee00000, 0x40), VMM_ESTATE);
	assert_int_equal(vmm__irqfd_add(vm, fd, 4), VMM_ESTATE);
	close(fd);
	vmm_vm_destroy(vm);
}

static void test_argument_checks(void **state)
{
	vmm_vm *vm = irq_vm(1);

	assert_int_equal(vmm_irq_line(vm, 24, 1), VMM_ERANGE);
	assert_int_equal(vmm_irq_line(vm, 4, 2), VMM_EINVAL);
	assert_int_equal(vmm_msi_send(vm, 0xfed00000, 0x40), VMM_EINVAL);
	assert_int_equal(vmm_msi_send(vm, 0xfee01000, 0x40), 0);  /* absent: dropped */
	vmm_vm_destroy(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_wakes_hlt_in_kernel),
		cmocka_unit_test(test_kick_ends_hlt_in_kernel),
		cmocka_unit_test(test_irqfd),
		cmocka_unit_test(test_ioeventfd),
		cmocka_unit_test(test_runnable_ap_starts_at_once),
		cmocka_unit_test(test_ap_waits_for_sipi),
		cmocka_unit_test(test_kick_ends_wait_for_sipi),
		cmocka_unit_test(test_interrupt_storm),
		cmocka_unit_test(test_without_irqchip_flag),
		cmocka_unit_test(test_argument_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
