/* hlt.c - prints one line and halts with interrupts off.
 * Expected end: halted (every vCPU halted). */
#include "common.h"

int guest_main(uint32_t index, uint32_t count)
{
	printf("hlt: vCPU %u of %u halting\n", index, count);
	halt();
}
