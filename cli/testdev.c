/* testdev.c - QEMU's pc-testdev for `vmm run --test-devices`, written as any
 * embedder would write a device: only the public API (vmm_pio_register,
 * vmm_mmio_register, vmm_irq_line). Ports and behaviour as QEMU's
 * hw/misc/pc-testdev.c, which kvm-unit-tests drive:
 *   0xe0-0xe3     a 32-bit scratch register, any access size
 *   0xe4-0xe7     "flush page": a 32-bit write of a guest-physical address
 *   0xe8-0xeb     the same register as 0xe0 (QEMU splits it into bytes)
 *   0x2000-0x2017 a byte written to 0x2000+N sets line N to !!byte
 *   0xff000000    64 KiB of scratch MMIO ("iomem"), any access size
 * Guest values are checked: an access is always inside its range (the bus
 * guarantees it), flush addresses outside RAM are ignored. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/testdev.h"

#define TD_IOPORT 0xe0
#define TD_FLUSH 0xe4
#define TD_IOPORT_BYTE 0xe8
#define TD_IRQ 0x2000
#define TD_IRQ_LEN 24
#define TD_IOMEM 0xff000000ull
#define TD_IOMEM_LEN 0x10000u

struct cli_testdev {
	pthread_mutex_t lock;
	vmm_vm *vm;
	uint32_t ioport_data;
	uint8_t iomem[TD_IOMEM_LEN];
};

static uint32_t lane_mask(uint8_t size)
{
	return size >= 4 ? UINT32_MAX : (1u << (size * 8)) - 1;
}

/* 0xe0 and 0xe8: bytes [port & 3, +size) of the register. */
static int td_ioport(void *opaque, vmm_vcpu *vcpu, uint16_t port, uint8_t size,
		     uint8_t is_write, uint32_t *data)
{
	cli_testdev *td = opaque;
	unsigned shift = (port & 3u) * 8;
	uint32_t mask = lane_mask(size) << shift;

	(void)vcpu;
	pthread_mutex_lock(&td->lock);
	if (is_write)
		td->ioport_data = (td->ioport_data & ~mask) | ((*data << shift) & mask);
	else
		*data = (td->ioport_data & mask) >> shift;
	pthread_mutex_unlock(&td->lock);
	return 0;
}

/* QEMU mprotects the page away and back, so that KVM must refault it.
 * libvmm's guest RAM stays mapped for the VM's lifetime and vCPU threads of
 * emu read it directly, so doing the same here could crash the process: the
 * write is accepted (4-byte writes only, as QEMU) and the page left as is;
 * its contents are unchanged either way. */
static int td_flush(void *opaque, vmm_vcpu *vcpu, uint16_t port, uint8_t size,
		    uint8_t is_write, uint32_t *data)
{
	(void)opaque, (void)vcpu, (void)port, (void)size;
	if (!is_write)
		*data = 0;
	return 0;
}

/* Byte N of a write sets line (port - 0x2000 + N): QEMU accepts byte
 * accesses only and splits wider ones (realmode.flat uses outl). */
static int td_irq(void *opaque, vmm_vcpu *vcpu, uint16_t port, uint8_t size,
		  uint8_t is_write, uint32_t *data)
{
	cli_testdev *td = opaque;
	int rc = 0;

	(void)vcpu;
	if (!is_write) {
		*data = 0;
		return 0;
	}
	for (uint8_t i = 0; i < size && rc == 0; i++)
		rc = vmm_irq_line(td->vm, (uint32_t)(port - TD_IRQ) + i,
				  ((*data >> (8 * i)) & 0xff) ? 1 : 0);
	return rc;
}

static int td_iomem(void *opaque, vmm_vcpu *vcpu, uint64_t addr, uint8_t size,
		    uint8_t is_write, uint64_t *data)
{
	cli_testdev *td = opaque;
	uint64_t off = addr - TD_IOMEM, v = 0;

	(void)vcpu;
	if (off >= TD_IOMEM_LEN || size > TD_IOMEM_LEN - off || size > sizeof(v))
		return 0;  /* the bus never passes such an access */
	pthread_mutex_lock(&td->lock);
	if (is_write) {
		v = *data;
		memcpy(&td->iomem[off], &v, size);
	} else {
		memcpy(&v, &td->iomem[off], size);
		*data = v;
	}
	pthread_mutex_unlock(&td->lock);
	return 0;
}

static int reg_pio(cli_testdev *td, uint16_t base, uint16_t len, vmm_pio_fn fn,
		   char *err, size_t errlen)
{
	if (vmm_pio_register(td->vm, base, len, fn, td) == 0)
		return 0;
	snprintf(err, errlen, "pc-testdev: ports 0x%x-0x%x: %s", base, base + len - 1,
		 vmm_last_error());
	return -1;
}

int cli_testdev_attach(vmm_vm *vm, cli_testdev **out, char *err, size_t errlen)
{
	cli_testdev *td = calloc(1, sizeof(*td));

	*out = NULL;
	if (!td) {
		snprintf(err, errlen, "pc-testdev: out of memory");
		return -1;
	}
	pthread_mutex_init(&td->lock, NULL);
	td->vm = vm;
	*out = td;   /* freed by cli_testdev_free, after the VM, even on failure */
	if (reg_pio(td, TD_IOPORT, 4, td_ioport, err, errlen) ||
	    reg_pio(td, TD_FLUSH, 4, td_flush, err, errlen) ||
	    reg_pio(td, TD_IOPORT_BYTE, 4, td_ioport, err, errlen) ||
	    reg_pio(td, TD_IRQ, TD_IRQ_LEN, td_irq, err, errlen))
		return -1;
	if (vmm_mmio_register(vm, TD_IOMEM, TD_IOMEM_LEN, td_iomem, td) != 0) {
		snprintf(err, errlen, "pc-testdev: iomem at 0x%llx: %s",
			 (unsigned long long)TD_IOMEM, vmm_last_error());
		return -1;
	}
	return 0;
}

void cli_testdev_free(cli_testdev *td)
{
	if (!td)
		return;
	pthread_mutex_destroy(&td->lock);
	free(td);
}
