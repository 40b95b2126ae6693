/* test_emu_random.c - random bytes as guest code: in 64-bit and 32-bit mode,
 * with random registers, with and without an IDT, every run ends in a
 * well-formed exit (a watchdog thread kicks runs that loop), and the host
 * never crashes, hangs or touches memory it should not (run it under
 * ASan/UBSan). Device exits are answered and resumed a few times. */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/emu_test.h"

#define ROUNDS 1500       /* EMU_FUZZ_ROUNDS overrides */
#define RUN_LIMIT_MS 20

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* ---- Watchdog: kicks a run that takes longer than RUN_LIMIT_MS ----------------- */

static struct {
	pthread_mutex_t lock;
	vmm_vcpu *vcpu;          /* running, or NULL */
	struct timespec start;
	int stop;
} wd = { PTHREAD_MUTEX_INITIALIZER, NULL, { 0, 0 }, 0 };

static double ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) * 1e3 + (double)(now.tv_nsec - t->tv_nsec) / 1e6;
}

static void *watchdog(void *arg)
{
	for (;;) {
		usleep(2000);
		pthread_mutex_lock(&wd.lock);
		if (wd.stop) {
			pthread_mutex_unlock(&wd.lock);
			return NULL;
		}
		if (wd.vcpu && ms_since(&wd.start) > RUN_LIMIT_MS)
			vmm_vcpu_kick(wd.vcpu);
		pthread_mutex_unlock(&wd.lock);
	}
}

static vmm_exit *guarded_run(vmm_vcpu *vcpu)
{
	vmm_exit *e = NULL;

	pthread_mutex_lock(&wd.lock);
	wd.vcpu = vcpu;
	clock_gettime(CLOCK_MONOTONIC, &wd.start);
	pthread_mutex_unlock(&wd.lock);
	assert_int_equal(vmm_vcpu_run(vcpu, &e), 0);
	pthread_mutex_lock(&wd.lock);
	wd.vcpu = NULL;
	pthread_mutex_unlock(&wd.lock);
	return e;
}

/* ---- One round ---------------------------------------------------------------------- */

static void random_regs(emu_fx *fx)
{
	vmm_regs r = fx_regs(fx);
	uint64_t *g = &r.rax;

	for (int i = 0; i < 16; i++)
		g[i] = (rnd() & 1) ? rnd() : (rnd() & 0x3ffffff);
	r.rsp = (rnd() & 1) ? 0x3ff0000 : rnd();
	r.rflags = 2 | (rnd() & 0xcd5);
	r.rip = FX_CODE;
	assert_int_equal(vmm_vcpu_set_regs(fx->vcpu, &r), 0);
}

static void check_exit(const vmm_exit *e, unsigned *counts)
{
	switch (e->reason) {
	case VMM_EXIT_IO:
		assert_true(e->io.size == 1 || e->io.size == 2 || e->io.size == 4);
		break;
	case VMM_EXIT_MMIO:
		assert_true(e->mmio.size == 1 || e->mmio.size == 2 || e->mmio.size == 4 ||
			    e->mmio.size == 8);
		break;
	case VMM_EXIT_INTERNAL_ERROR:
		assert_memory_equal(e->internal.message, "emu: ", 5);
		break;
	case VMM_EXIT_HLT: case VMM_EXIT_SHUTDOWN: case VMM_EXIT_HYPERCALL:
	case VMM_EXIT_CANCELLED:
		break;
	default:
		fail_msg("unexpected exit reason %u", e->reason);
	}
	counts[e->reason]++;
}

static void one_round(emu_fx *fx, int mode32, unsigned *counts)
{
	uint8_t code[4096];
	vmm_sregs s;

	for (size_t i = 0; i < sizeof(code); i += 8) {
		uint64_t v = rnd();

		memcpy(code + i, &v, 8);
	}
	assert_int_equal(fx_code(fx, code, sizeof(code)), 0);
	assert_int_equal(vmm_vcpu_get_sregs(fx->vcpu, &s), 0);
	fx_flat_seg(&s.cs, 0x08, 0xb, !mode32);
	s.idt.base = (rnd() & 1) ? FX_CODE : 0;
	s.idt.limit = s.idt.base ? 0xfff : 0;
	s.gdt.base = FX_CODE + 0x800;
	s.gdt.limit = 0x7ff;
	if (mode32) {
		s.efer = 0;
		s.cr0 = 0x11;
		s.cr4 = 0;
	} else {
		s.efer = 0xd00;
		s.cr0 = 0x80050033;
		s.cr4 = 0x20;
	}
	assert_int_equal(vmm_vcpu_set_sregs(fx->vcpu, &s), 0);
	random_regs(fx);
	for (int k = 0; k < 4; k++) {
		vmm_exit *e = guarded_run(fx->vcpu);

		check_exit(e, counts);
		if (e->reason == VMM_EXIT_SHUTDOWN || e->reason == VMM_EXIT_INTERNAL_ERROR ||
		    e->reason == VMM_EXIT_CANCELLED)
			break;
		e->io.data = (uint32_t)rnd();
		e->mmio.data = rnd();
	}
}

static void test_random_code(void **state)
{
	unsigned counts[16] = { 0 };
	const char *env = getenv("EMU_FUZZ_ROUNDS");
	int rounds = env ? atoi(env) : ROUNDS;
	pthread_t t;
	emu_fx fx;

	et_setup(&fx, (const uint8_t *)"\xf4", 1);
	assert_int_equal(pthread_create(&t, NULL, watchdog, NULL), 0);
	for (int i = 0; i < rounds; i++) {
		one_round(&fx, i & 1, counts);
		if (i % 100 == 99) {        /* fresh page tables now and then */
			assert_int_equal(fx_page_tables(fx.vm), 0);
		}
	}
	pthread_mutex_lock(&wd.lock);
	wd.stop = 1;
	pthread_mutex_unlock(&wd.lock);
	pthread_join(t, NULL);
	print_message("exits: io %u mmio %u hlt %u shutdown %u hypercall %u cancelled %u "
		      "internal %u\n", counts[VMM_EXIT_IO], counts[VMM_EXIT_MMIO],
		      counts[VMM_EXIT_HLT], counts[VMM_EXIT_SHUTDOWN], counts[VMM_EXIT_HYPERCALL],
		      counts[VMM_EXIT_CANCELLED], counts[VMM_EXIT_INTERNAL_ERROR]);
	assert_true(counts[VMM_EXIT_SHUTDOWN] > 0);
	fx_destroy(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_code),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
