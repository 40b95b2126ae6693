/* hypercall.c - runner-only guest (host test "hypercall"): VMCALL (VMMCALL
 * on an AMD vendor string) with nr in RAX and arguments in RBX, RCX, RDX,
 * RSI must reach the embedder as VMM_EXIT_HYPERCALL; the runner answers
 * hypercall_answer() (hypercall.h) and the guest checks RAX, and that the
 * other registers are unchanged. Expected end: debug exit 0. */
#include "common.h"
#include "hypercall.h"

static int amd_vendor(void)
{
	uint32_t r[4];

	cpuid(0, 0, r);
	return r[1] == 0x68747541; /* "Auth" of AuthenticAMD */
}

static uint64_t hypercall(int amd, uint64_t nr, uint64_t a0, uint64_t a1,
			  uint64_t a2, uint64_t a3)
{
	uint64_t b = a0, c = a1, d = a2, s = a3;

	if (amd)
		__asm__ volatile("vmmcall" : "+a"(nr), "+b"(b), "+c"(c), "+d"(d), "+S"(s)
				 : : "memory");
	else
		__asm__ volatile("vmcall" : "+a"(nr), "+b"(b), "+c"(c), "+d"(d), "+S"(s)
				 : : "memory");
	CHECK_EQ(b, a0);
	CHECK_EQ(c, a1);
	CHECK_EQ(d, a2);
	CHECK_EQ(s, a3);
	return nr;
}

int guest_main(uint32_t index, uint32_t count)
{
	int amd = amd_vendor();

	(void)index;
	(void)count;
	for (uint64_t i = 0; i < HYPERCALL_CALLS; i++) {
		uint64_t nr = HYPERCALL_NR + i, a = 0x1111111111111111ull * (i + 1);
		uint64_t ret = hypercall(amd, nr, a, a + 1, a + 2, ~a);

		CHECK_EQ(ret, hypercall_answer(nr, a, a + 1, a + 2, ~a));
	}
	printf("hypercall: %u calls answered\n", HYPERCALL_CALLS);
	guest_pass("hypercall");
}
