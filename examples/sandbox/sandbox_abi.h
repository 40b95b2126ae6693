/* sandbox_abi.h - the only interface between a sandboxed function and its
 * host. The guest fills a struct sbx_call in its own memory and writes the
 * struct's guest-physical address to port SBX_PORT with a 32-bit OUT; the
 * host checks and performs the call and stores the result in `ret` before
 * the guest continues. The function ends by writing its exit code to the
 * debug exit port 0xf4 (guest_exit). Nothing else exists: no UART, no other
 * port, no memory beyond the VM's RAM cap. Shared by host and guest code. */
#ifndef SANDBOX_ABI_H
#define SANDBOX_ABI_H

#include <stdint.h>

#define SBX_PORT 0x700
#define SBX_MAX_IO 4096 /* largest input or output of one call */

enum {
	SBX_GET_INPUT = 1,  /* copy the input (at most len bytes) to buf; ret = its length */
	SBX_PUT_OUTPUT = 2, /* append [buf, buf+len) to the output; ret = 0 */
};

struct sbx_call {
	uint32_t op;  /* SBX_* */
	uint32_t len; /* bytes at buf */
	uint64_t buf; /* guest-physical address */
	int64_t ret;  /* >= 0 result, < 0 error (-1: bad call) */
};

#endif
