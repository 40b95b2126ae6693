/* wordstat.c - the "untrusted function" the sandbox example runs: reads its
 * input from the host, counts bytes, words and lines, hashes it (FNV-1a 64)
 * and returns "bytes=B words=W lines=L fnv=HEX" as its output. */
#include "common.h"
#include "sandbox_abi.h"

static int64_t host_call(uint32_t op, void *buf, uint32_t len)
{
	volatile struct sbx_call c = { op, len, (uint64_t)(uintptr_t)buf, -1 };

	outl(SBX_PORT, (uint32_t)(uintptr_t)&c);
	__asm__ volatile("" : : : "memory");  /* the host wrote our memory */
	return c.ret;
}

static char input[SBX_MAX_IO];

int guest_main(uint32_t index, uint32_t count)
{
	char out[128];
	uint64_t words = 0, lines = 0, hash = 0xcbf29ce484222325ull;
	int in_word = 0;
	int64_t n = host_call(SBX_GET_INPUT, input, sizeof(input));

	(void)index;
	(void)count;
	if (n < 0)
		return 2;
	for (int64_t i = 0; i < n; i++) {
		char ch = input[i];
		int space = ch == ' ' || ch == '\n' || ch == '\t';

		hash = (hash ^ (uint8_t)ch) * 0x100000001b3ull;
		lines += ch == '\n';
		words += !space && !in_word;
		in_word = !space;
	}
	int len = snprintf(out, sizeof(out), "bytes=%lld words=%llu lines=%llu fnv=%llx",
			   (long long)n, (unsigned long long)words,
			   (unsigned long long)lines, (unsigned long long)hash);
	return host_call(SBX_PUT_OUTPUT, out, (uint32_t)len) == 0 ? 0 : 3;
}
