/* hypercall.h - what the conformance runner's "hypercall" host test and
 * the hypercall guest agree on. Plain C99, shared by host and guest code. */
#ifndef HYPERCALL_H
#define HYPERCALL_H

#include <stdint.h>

#define HYPERCALL_NR 0x4c00ull       /* first call's number; then +1, +2 */
#define HYPERCALL_CALLS 3u

static inline uint64_t hypercall_answer(uint64_t nr, uint64_t a0, uint64_t a1,
					uint64_t a2, uint64_t a3)
{
	return nr * 3 + a0 + (a1 << 1) + (a2 ^ a3);
}

#endif /* HYPERCALL_H */
