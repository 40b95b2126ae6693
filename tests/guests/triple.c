/* triple.c - triple-faults on purpose: with no IDT, ud2 raises #UD, whose
 * delivery faults, whose delivery faults again: the VM shuts down.
 * Expected end: shutdown (triple fault). */
#include "common.h"

int guest_main(uint32_t index, uint32_t count)
{
	(void)index;
	(void)count;
	printf("triple: ud2 with no IDT\n");
	__asm__ volatile("ud2");
	printf("triple: still running\n"); /* not reached */
	return GUEST_FAIL;
}
