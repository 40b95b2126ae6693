/* probe.c - compiled with every debug type kept, so abidw sees all of
 * include/vmm.h (structs, enums and their values, callback types) and
 * nothing of libvmm's internals. tests/check-abi compares it strictly. */
#include "vmm.h"

__attribute__((visibility("default"))) int vmm_abi_probe(void)
{
	return 0;
}
