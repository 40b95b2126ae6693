/* test_timer.c - the platform timer service (lib/platform/timer.c): order of
 * expiry, re-arming, cancel, fini waiting for a running callback, guest time;
 * and the vCPU wait/wake primitive (lib/platform/platform.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/platform/platform.h"

#define MS 1000000ull

typedef struct probe {
	vmm_vm *vm;
	vmm__timer t;
	_Atomic int fired;
	_Atomic uint64_t when;
	int order_slot;
	uint64_t sleep_us;          /* the callback takes this long */
	uint64_t period_ns;         /* re-arm from the callback */
	int rearm_left;
} probe;

static _Atomic int order_next;
static int order[8];

static void on_fire(void *opaque, uint64_t now)
{
	probe *p = opaque;

	atomic_store(&p->when, now);
	if (p->order_slot >= 0)
		order[atomic_fetch_add(&order_next, 1) & 7] = p->order_slot;
	if (p->sleep_us)
		usleep((useconds_t)p->sleep_us);
	if (p->rearm_left > 0) {
		p->rearm_left--;
		vmm__timer_arm(p->vm, &p->t, p->t.deadline_ns + p->period_ns);
	}
	atomic_fetch_add(&p->fired, 1);
}

static vmm_vm *make_vm(void)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	vmm_vm *vm = NULL;

	cfg.backend = "emu";
	cfg.mem_size = 1u << 20;
	cfg.flags = VMM_VM_IRQCHIP;
	assert_int_equal(vmm_vm_create(&cfg, &vm), 0);
	assert_non_null(vm->platform);
	return vm;
}

static void wait_fired(probe *p, int n, uint64_t max_ms)
{
	uint64_t end = vmm__now_ns() + max_ms * MS;

	while (atomic_load(&p->fired) < n && vmm__now_ns() < end)
		usleep(1000);
	assert_int_equal(atomic_load(&p->fired), n);
}

static void probe_init(probe *p, vmm_vm *vm, int slot)
{
	memset(p, 0, sizeof(*p));
	p->vm = vm;
	p->order_slot = slot;
	vmm__timer_init(&p->t, on_fire, p);
}

/* Armed out of order, they fire in deadline order, not before it. */
static void test_order_and_deadline(void **state)
{
	vmm_vm *vm = make_vm();
	probe p[3];
	uint64_t now = vmm__now_ns();
	const uint64_t offs[3] = { 30 * MS, 10 * MS, 20 * MS };

	atomic_store(&order_next, 0);
	for (int i = 0; i < 3; i++) {
		probe_init(&p[i], vm, i);
		vmm__timer_arm(vm, &p[i].t, now + offs[i]);
	}
	for (int i = 0; i < 3; i++)
		wait_fired(&p[i], 1, 1000);
	assert_int_equal(order[0], 1);
	assert_int_equal(order[1], 2);
	assert_int_equal(order[2], 0);
	for (int i = 0; i < 3; i++)
		assert_true(atomic_load(&p[i].when) >= now + offs[i]);
	vmm_vm_destroy(vm);
}

/* A cancelled timer never fires; re-arming moves it. */
static void test_cancel_and_rearm(void **state)
{
	vmm_vm *vm = make_vm();
	probe a, b;
	uint64_t now = vmm__now_ns();

	probe_init(&a, vm, -1);
	probe_init(&b, vm, -1);
	vmm__timer_arm(vm, &a.t, now + 20 * MS);
	vmm__timer_arm(vm, &b.t, now + 5 * MS);
	vmm__timer_cancel(vm, &a.t);
	vmm__timer_arm(vm, &b.t, now + 40 * MS);   /* moved later */
	usleep(25 * 1000);
	assert_int_equal(atomic_load(&b.fired), 0);
	wait_fired(&b, 1, 1000);
	assert_true(atomic_load(&b.when) >= now + 40 * MS);
	usleep(10 * 1000);
	assert_int_equal(atomic_load(&a.fired), 0);
	vmm_vm_destroy(vm);
}

/* A periodic timer re-armed from its callback keeps its schedule. */
static void test_periodic_rate(void **state)
{
	vmm_vm *vm = make_vm();
	probe p;
	uint64_t start = vmm__now_ns();

	probe_init(&p, vm, -1);
	p.period_ns = 2 * MS;
	p.rearm_left = 49;
	vmm__timer_arm(vm, &p.t, start + 2 * MS);
	wait_fired(&p, 50, 2000);
	/* 50 periods of 2 ms: the last fired at or after 100 ms. */
	assert_true(atomic_load(&p.when) >= start + 100 * MS);
	assert_false(p.t.armed);
	vmm_vm_destroy(vm);
}

/* fini waits for a callback in progress. */
static void test_fini_waits(void **state)
{
	vmm_vm *vm = make_vm();
	probe p;

	probe_init(&p, vm, -1);
	p.sleep_us = 30 * 1000;
	vmm__timer_arm(vm, &p.t, vmm__now_ns());
	while (!atomic_load(&p.when))
		usleep(500);
	vmm__timer_fini(vm, &p.t);
	assert_int_equal(atomic_load(&p.fired), 1);
	vmm_vm_destroy(vm);
}

/* Destroying a VM with armed timers joins the thread and fires nothing. */
static void test_destroy_with_armed(void **state)
{
	vmm_vm *vm = make_vm();
	probe p;

	probe_init(&p, vm, -1);
	vmm__timer_arm(vm, &p.t, vmm__now_ns() + 3600ull * 1000 * MS);
	vmm_vm_destroy(vm);
	assert_int_equal(atomic_load(&p.fired), 0);
}

static void test_tsc_hz(void **state)
{
	uint64_t hz = vmm__tsc_hz();

	/* Any x86-64 host runs its TSC between 100 MHz and 10 GHz. */
	assert_true(hz > 100000000ull && hz < 10000000000ull);
	assert_int_equal(vmm__tsc_hz(), hz);
}

/* vmm__vcpu_wait returns on wake, on kick and at the deadline. */
static void test_vcpu_wait_wake(void **state)
{
	vmm_vm *vm = make_vm();
	vmm_vcpu *vcpu;
	uint64_t t0;

	assert_int_equal(vmm_vcpu_create(vm, 0, &vcpu), 0);
	t0 = vmm__now_ns();
	vmm__vcpu_wait(vcpu, t0 + 20 * MS);
	assert_true(vmm__now_ns() >= t0 + 20 * MS);
	vmm__vcpu_wake(vcpu);
	t0 = vmm__now_ns();
	vmm__vcpu_wait(vcpu, 0);    /* already woken: returns at once */
	assert_true(vmm__now_ns() - t0 < 100 * MS);
	atomic_store(&vcpu->intr_attention, 0);
	assert_int_equal(vmm_vcpu_kick(vcpu), 0);
	vmm__vcpu_wait(vcpu, 0);
	assert_int_equal(atomic_load(&vcpu->kicked), 1);
	vmm_vm_destroy(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_deadline),
		cmocka_unit_test(test_cancel_and_rearm),
		cmocka_unit_test(test_periodic_rate),
		cmocka_unit_test(test_fini_waits),
		cmocka_unit_test(test_destroy_with_armed),
		cmocka_unit_test(test_tsc_hz),
		cmocka_unit_test(test_vcpu_wait_wake),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
