/* xmodify.c - cross-modifying code (run with 2 vCPUs): vCPU 1 rewrites the
 * immediate of "mov $imm32, %eax; ret" in a code page 1000 times; after
 * each rewrite it posts the new value, and vCPU 0, which keeps running that
 * code, sees the post, executes CPUID (the serializing instruction the
 * Intel SDM asks for in 8.1.3, "Handling Cross-Modifying Code") and must
 * then get exactly the new value from the code.
 * Expected end: debug exit 0; a failed CHECK exits 1. */
#include "common.h"

#define ROUNDS 1000u

static uint8_t code[4096] __attribute__((aligned(4096)));
static volatile uint32_t posted, seen, ready;

static uint32_t run_code(void)
{
	uint32_t (*fn)(void) = (uint32_t (*)(void))(uintptr_t)code;

	return fn();
}

static void writer(void)
{
	for (uint32_t k = 1; k <= ROUNDS; k++) {
		*(volatile uint32_t *)(code + 1) = 0x5a000000u + k;
		__atomic_store_n(&posted, k, __ATOMIC_RELEASE);
		while (__atomic_load_n(&seen, __ATOMIC_ACQUIRE) != k)
			cpu_pause();
	}
	halt();
}

static void executor(void)
{
	uint32_t r[4];

	for (uint32_t k = 1; k <= ROUNDS; k++) {
		/* the code runs (and may be cached) while vCPU 1 rewrites it */
		while (__atomic_load_n(&posted, __ATOMIC_ACQUIRE) != k)
			(void)run_code();
		cpuid(0, 0, r);
		CHECK_EQ(run_code(), 0x5a000000u + k);
		__atomic_store_n(&seen, k, __ATOMIC_RELEASE);
	}
}

int guest_main(uint32_t index, uint32_t count)
{
	if (count < 2)
		return GUEST_FAIL;
	if (index == 0) {
		code[0] = 0xb8;                        /* mov $imm32, %eax */
		*(volatile uint32_t *)(code + 1) = 0x5a000000u;
		code[5] = 0xc3;                        /* ret */
		CHECK_EQ(run_code(), 0x5a000000u);
		printf("xmodify: vCPU 1 rewrites code vCPU 0 runs, %u times\n", ROUNDS);
		__atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
		executor();
		guest_pass("xmodify");
	}
	if (index == 1) {
		/* start once vCPU 0 has built the code and runs it */
		while (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE))
			cpu_pause();
		writer();
	}
	halt();
}
