/* guest.c - the guest that examples/monitor watches: it switches page
 * tables (reloads CR3), then tries to overwrite `secret`, which sits alone
 * in its page. Under the monitor the write is blocked: it exits with 0 if
 * secret kept its value, 1 if the write went through. */
#include "common.h"

/* One page of its own: the monitor protects the whole page. */
volatile struct {
	uint64_t value;
	uint8_t pad[4096 - 8];
} secret __attribute__((aligned(4096))) = { 0x1234, { 0 } };

int guest_main(uint32_t index, uint32_t count)
{
	uint64_t cr3 = read_cr3();

	(void)index;
	(void)count;
	write_cr3(cr3);
	printf("guest: secret is 0x%x\n", (unsigned)secret.value);
	secret.value = 0xbad;
	printf("guest: after my write, secret is 0x%x\n", (unsigned)secret.value);
	write_cr3(cr3);
	return secret.value == 0x1234 ? 0 : 1;
}
