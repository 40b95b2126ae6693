/* hello.c - the smallest libvmm guest: prints a greeting on the serial port
 * and halts. Build: `make` (-> build/guests/hello.elf); run: build/vmm
 * build/guests/hello.elf. Every vCPU runs guest_main; vCPU 0 greets, the
 * others halt at once. */
#include "common.h"

int guest_main(uint32_t index, uint32_t count)
{
	(void)count;
	if (index == 0)
		printf("Hello from a libvmm guest!\n");
	halt();
}
