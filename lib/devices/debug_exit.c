/* debug_exit.c - the built-in exit device: a write to port 0xf4 ends the
 * vCPU's run with VMM_EXIT_DEBUG_EXIT carrying the value written. */
#include "lib/internal.h"

#define DEBUG_EXIT_PORT 0xf4
#define DEBUG_EXIT_LEN 4   /* 0xf4..0xf7, so 2- and 4-byte writes at 0xf4 fit */

static int debug_exit_io(void *opaque, vmm_vcpu *vcpu, uint16_t port, uint8_t size,
			 uint8_t is_write, uint32_t *data)
{
	uint32_t mask = size >= 4 ? UINT32_MAX : (1u << (size * 8)) - 1;

	if (!is_write) {
		*data = mask;
		return 0;
	}
	if (port != DEBUG_EXIT_PORT)
		return 0;  /* writes to 0xf5..0xf7 alone are ignored */
	vcpu->exit.reason = VMM_EXIT_DEBUG_EXIT;
	vcpu->exit.debug_exit.code = *data & mask;
	return 1;
}

int vmm__debug_exit_init(vmm_vm *vm)
{
	return vmm__pio_register_internal(vm, DEBUG_EXIT_PORT, DEBUG_EXIT_LEN, debug_exit_io, NULL);
}
