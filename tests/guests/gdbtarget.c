/* gdbtarget.c - the guest the gdb tests (tests/gdb/) debug: a function with
 * an argument to break at and change, a counter to watch, a result that
 * shows what the debugger changed. Alone it prints the result and exits
 * with 0; with x changed to 20 in compute() it exits with 3.
 * Expected end: exit:0. */
#include "common.h"

volatile uint64_t seed = 13;
volatile uint64_t counter;
volatile uint64_t result;

__attribute__((noinline)) uint64_t compute(uint64_t x)
{
	__asm__ volatile("" : "+r"(x));
	return x * 3 + 1;
}

__attribute__((noinline)) void bump(void)
{
	counter = counter + 1;
}

int guest_main(uint32_t index, uint32_t count)
{
	(void)index;
	(void)count;
	result = compute(seed);
	for (int i = 0; i < 3; i++)
		bump();
	printf("gdbtarget: counter %u result %u\n", (unsigned)counter, (unsigned)result);
	return result == 40 ? 0 : 3;
}
