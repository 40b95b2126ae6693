/* loop.c - prints one line, then spins forever without exits: the runner
 * uses it for timeouts and vmm_vcpu_kick. Expected end: timeout. */
#include "common.h"

volatile uint64_t loop_counter;

int guest_main(uint32_t index, uint32_t count)
{
	(void)count;
	if (index == 0)
		printf("loop: spinning\n");
	for (;;)
		loop_counter++;
}
