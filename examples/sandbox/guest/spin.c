/* spin.c - a hostile function that never returns: the sandbox's time limit
 * must stop it. */
#include "common.h"

volatile uint64_t spin_counter;

int guest_main(uint32_t index, uint32_t count)
{
	(void)index;
	(void)count;
	for (;;)
		spin_counter++;
}
