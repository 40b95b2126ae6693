/* escape.c - a hostile function that tries what the sandbox forbids, chosen
 * by its input's first byte: 'm' writes past its RAM cap, 'p' uses a port
 * other than the host-call port, 'c' hands the host a call whose buffer
 * lies outside its memory. Each must end the run as a violation. */
#include "common.h"
#include "sandbox_abi.h"

int guest_main(uint32_t index, uint32_t count)
{
	volatile char mode = 0;
	volatile struct sbx_call c = { SBX_GET_INPUT, 1, (uint64_t)(uintptr_t)&mode, -1 };


	(void)index;
	(void)count;
	outl(SBX_PORT, (uint32_t)(uintptr_t)&c);
	if (mode == 'm')
		*(volatile uint64_t *)(64ull << 20) = 1;   /* beyond any cap we give */
	if (mode == 'p')
		outb(0x3f8, 'x');                          /* the UART does not exist */
	if (mode == 'c') {
		c.op = SBX_PUT_OUTPUT;
		c.buf = 1ull << 40;
		c.len = 16;
		outl(SBX_PORT, (uint32_t)(uintptr_t)&c);
	}
	return 0;  /* reached only if the host let it through */
}
