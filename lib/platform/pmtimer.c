/* pmtimer.c - the ACPI PM timer: a free-running 24-bit up-counter at
 * 3.579545 MHz (as QEMU's PIIX4 and ICH9 models, FADT TMR_VAL_EXT = 0),
 * read at VMM__PMTIMER_PORT (PMBASE 0x600 + 8), computed from the host's
 * monotonic clock so a guest's measurement against it is real time. Reads
 * of 1, 2 or 4 bytes at any of its 4 ports return those bytes of the 32-bit
 * register (bits 31-24 read 0); writes are ignored (the register is
 * read-only). Not modelled: TMR_STS / TMR_EN (the PM1 event block's
 * overflow SCI), which belongs to the ACPI PM1 device. */
#include <stdlib.h>

#include "lib/platform/platform.h"
#include "lib/platform/state.h"

struct vmm__pmtimer {
	uint64_t start_ns;           /* the counter read 0 then */
};

static uint32_t pmtimer_value(const struct vmm__pmtimer *t, uint64_t now)
{
	uint64_t ns = now - t->start_ns;

	return (uint32_t)((unsigned __int128)ns * VMM__PMTIMER_HZ / 1000000000ull) &
	       0xffffff;
}

static int pmtimer_port(void *opaque, vmm_vcpu *vcpu, uint16_t port, uint8_t size,
			uint8_t is_write, uint32_t *data)
{
	const struct vmm__pmtimer *t = opaque;
	unsigned shift = (unsigned)(port - VMM__PMTIMER_PORT) * 8;

	(void)vcpu;
	(void)size;   /* the bus masks the result to the access size */
	if (!is_write)
		*data = pmtimer_value(t, vmm__now_ns()) >> shift;
	return 0;
}

void vmm__pmtimer_fini(vmm_vm *vm)
{
	free(vm->platform->pmtimer);
	vm->platform->pmtimer = NULL;
}

int vmm__pmtimer_init(vmm_vm *vm)
{
	struct vmm__pmtimer *t = calloc(1, sizeof(*t));

	if (!t)
		return vmm__err(VMM_ENOMEM, "pmtimer: out of memory");
	t->start_ns = vmm__now_ns();
	vm->platform->pmtimer = t;
	return vmm__pio_register_internal(vm, VMM__PMTIMER_PORT, 4, pmtimer_port, t);
}

/* ---- Device state (state.h): the ns since the counter read 0. vCPUs are
 * stopped, so no port access reads start_ns meanwhile. */

static int pmtimer_save(void *dev, vmm__sw *w)
{
	const struct vmm__pmtimer *t = dev;

	vmm__sw_time(w, vmm__now_ns() - t->start_ns);
	return 0;
}

static int pmtimer_load(void *dev, uint32_t version, vmm__sr *r)
{
	struct vmm__pmtimer *t = dev;
	uint64_t since = vmm__sr_u64(r, "since_ns");

	(void)version;
	if (vmm__sr_apply(r))
		t->start_ns = vmm__now_ns() - since;   /* wraps like the counter */
	return 0;
}

static const vmm__state_ops pmtimer_state = { 1, pmtimer_save, pmtimer_load };

int vmm__pmtimer_state_add(vmm_vm *vm, vmm__state_list *l)
{
	struct vmm__pmtimer *t = vm->platform ? vm->platform->pmtimer : NULL;

	return t ? vmm__state_add(l, "pmtimer", &pmtimer_state, t) : 0;
}
