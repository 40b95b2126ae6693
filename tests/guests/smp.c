/* smp.c - every vCPU starts (run with 4): each prints its index in index
 * order, taking turns under a spinlock, and checks it got a distinct stack
 * and the vCPU count the loader passed; vCPU 0 prints a summary once all
 * have checked in, then every vCPU halts. Expected end: halted. */
#include "common.h"

static spinlock_t lock = SPINLOCK_INIT;
static volatile uint32_t turn;
static volatile uint64_t stacks[GUEST_MAX_VCPUS];

static void wait_turn(uint32_t index)
{
	for (;;) {
		spin_lock(&lock);
		if (turn == index)
			return; /* keeps the lock */
		spin_unlock(&lock);
		cpu_pause();
	}
}

int guest_main(uint32_t index, uint32_t count)
{
	uint64_t sp;

	if (count == 0 || count > GUEST_MAX_VCPUS || index >= count)
		return GUEST_FAIL;
	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
	wait_turn(index);
	stacks[index] = sp;
	printf("smp: vCPU %u of %u\n", index, count);
	turn = index + 1;
	spin_unlock(&lock);
	if (index != 0)
		halt();
	while (turn != count)
		cpu_pause();
	/* each vCPU has its own 64 KiB stack: samples taken at the same call
	 * depth lie at least (almost) 64 KiB apart */
	for (uint32_t i = 0; i < count; i++)
		for (uint32_t j = i + 1; j < count; j++) {
			uint64_t d = stacks[i] > stacks[j] ? stacks[i] - stacks[j] :
							     stacks[j] - stacks[i];
			CHECK(d >= 0xf000);
		}
	printf("smp: all %u vCPUs checked in\n", count);
	halt();
}
