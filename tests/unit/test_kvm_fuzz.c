/* test_kvm_fuzz.c - whatever the guest does, the kvm backend returns
 * well-formed exits and never takes the host down: guests made of random
 * bytes, in real mode and in long mode, run until they stop, each exit
 * checked and answered. Skipped where /dev/kvm is unusable. */
#include <pthread.h>
#include <unistd.h>

#include "test_kvm_util.h"

#define NO_DEVICES (VMM_VM_NO_UART | VMM_VM_NO_DEBUG_EXIT)
#define MAX_EXITS 2000

static uint64_t rng_state;

static uint32_t rng(void)
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(rng_state >> 33);
}

static void fill_random(vmm_vm *vm, uint64_t gpa, size_t len)
{
	uint8_t buf[4096];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rng();
	assert_int_equal(vmm_mem_write(vm, gpa, buf, len < sizeof(buf) ? len : sizeof(buf)), 0);
}

static atomic_int guest_done;

/* Kicks a guest still running after 200 ms. */
static void *kick_after(void *arg)
{
	for (int i = 0; i < 20 && !atomic_load(&guest_done); i++)
		usleep(10000);
	if (!atomic_load(&guest_done))
		vmm_vcpu_kick(arg);
	return NULL;
}

static void check_exit(const vmm_exit *exit)
{
	switch (exit->reason) {
	case VMM_EXIT_IO:
		assert_true(exit->io.size == 1 || exit->io.size == 2 || exit->io.size == 4);
		assert_true(exit->io.direction == VMM_IO_IN || exit->io.direction == VMM_IO_OUT);
		break;
	case VMM_EXIT_MMIO:
		assert_in_range(exit->mmio.size, 1, 8);
		assert_in_range(exit->mmio.is_write, 0, 1);
		break;
	case VMM_EXIT_INTERNAL_ERROR:
		assert_true(exit->internal.message[0] != '\0');
		break;
	default:
		assert_in_range(exit->reason, VMM_EXIT_HLT, VMM_EXIT_DEBUG_EXIT);
	}
	assert_int_equal(exit->vcpu_index, 0);
}

/* Runs until the guest stops by itself or is kicked; returns the exit
 * count. Every exit gets an answer (reads: a random value). */
static int run_guest(vmm_vcpu *vcpu)
{
	pthread_t thread;
	vmm_exit *exit;
	int n;

	atomic_store(&guest_done, 0);
	assert_int_equal(pthread_create(&thread, NULL, kick_after, vcpu), 0);
	for (n = 1; n <= MAX_EXITS; n++) {
		assert_int_equal(vmm_vcpu_run(vcpu, &exit), 0);
		check_exit(exit);
		if (exit->reason != VMM_EXIT_IO && exit->reason != VMM_EXIT_MMIO)
			break;
		exit->io.data = rng();
		exit->mmio.data = ((uint64_t)rng() << 32) | rng();
	}
	atomic_store(&guest_done, 1);
	assert_int_equal(pthread_join(thread, NULL), 0);
	return n;
}

static void fuzz(int long_mode, uint64_t seed)
{
	vmm_vm *vm = kt_vm(NO_DEVICES);
	uint8_t nop = 0x90;
	vmm_vcpu *vcpu = long_mode ? kt_vcpu_long(vm, &nop, 1, KT_CODE) :
				     kt_vcpu_real(vm, &nop, 1, KT_CODE);

	rng_state = seed;
	fill_random(vm, KT_CODE, 0x1000);
	fill_random(vm, 0, 0x400);        /* the real-mode IVT */
	print_message("# seed %llu (%s): %d exits\n", (unsigned long long)seed,
		      long_mode ? "long mode" : "real mode", run_guest(vcpu));
	vmm_vm_destroy(vm);
}

static void test_random_real_mode(void **state)
{
	for (uint64_t seed = 1; seed <= 40; seed++)
		fuzz(0, seed);
}

static void test_random_long_mode(void **state)
{
	for (uint64_t seed = 100; seed <= 140; seed++)
		fuzz(1, seed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_real_mode),
		cmocka_unit_test(test_random_long_mode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
