/* shim.c - see shim.h. */
#include <string.h>

#include "shim.h"
#include "_cgo_export.h"

static int ret(int rc, vmmgo_err *e)
{
	if (rc < 0 && e) {
		const char *m = vmm_last_error();

		strncpy(e->msg, m ? m : "", sizeof(e->msg) - 1);
		e->msg[sizeof(e->msg) - 1] = 0;
	}
	return rc;
}

int vmmgo_vm_create(const vmm_vm_config *cfg, vmm_vm **out, vmmgo_err *e)
{ return ret(vmm_vm_create(cfg, out), e); }
int vmmgo_mem_map(vmm_vm *vm, uint64_t gpa, uint64_t size, uint32_t flags, vmmgo_err *e)
{ return ret(vmm_mem_map(vm, gpa, size, flags, NULL), e); }
int vmmgo_mem_unmap(vmm_vm *vm, uint64_t gpa, uint64_t size, vmmgo_err *e)
{ return ret(vmm_mem_unmap(vm, gpa, size), e); }
int vmmgo_mem_read(vmm_vm *vm, uint64_t gpa, void *buf, size_t len, vmmgo_err *e)
{ return ret(vmm_mem_read(vm, gpa, buf, len), e); }
int vmmgo_mem_write(vmm_vm *vm, uint64_t gpa, const void *buf, size_t len, vmmgo_err *e)
{ return ret(vmm_mem_write(vm, gpa, buf, len), e); }
int vmmgo_mem_host_ptr(vmm_vm *vm, uint64_t gpa, size_t len, void **out, vmmgo_err *e)
{ return ret(vmm_mem_host_ptr(vm, gpa, len, out), e); }
int vmmgo_region_create(uint64_t size, vmm_region **out, vmmgo_err *e)
{ return ret(vmm_region_create(size, out), e); }
int vmmgo_mem_share(vmm_vm *vm, vmm_region *r, uint64_t gpa, uint64_t off,
		    uint64_t size, uint32_t flags, vmmgo_err *e)
{ return ret(vmm_mem_share(vm, r, gpa, off, size, flags), e); }
int vmmgo_vcpu_create(vmm_vm *vm, uint32_t index, vmm_vcpu **out, vmmgo_err *e)
{ return ret(vmm_vcpu_create(vm, index, out), e); }
int vmmgo_vcpu_get_regs(vmm_vcpu *v, vmm_regs *r, vmmgo_err *e)
{ return ret(vmm_vcpu_get_regs(v, r), e); }
int vmmgo_vcpu_set_regs(vmm_vcpu *v, const vmm_regs *r, vmmgo_err *e)
{ return ret(vmm_vcpu_set_regs(v, r), e); }
int vmmgo_vcpu_get_sregs(vmm_vcpu *v, vmm_sregs *r, vmmgo_err *e)
{ return ret(vmm_vcpu_get_sregs(v, r), e); }
int vmmgo_vcpu_set_sregs(vmm_vcpu *v, const vmm_sregs *r, vmmgo_err *e)
{ return ret(vmm_vcpu_set_sregs(v, r), e); }
int vmmgo_vcpu_run(vmm_vcpu *v, vmm_exit **exit, vmmgo_err *e)
{ return ret(vmm_vcpu_run(v, exit), e); }
int vmmgo_vcpu_kick(vmm_vcpu *v, vmmgo_err *e)
{ return ret(vmm_vcpu_kick(v), e); }
int vmmgo_backends(uint32_t index, vmm_backend_info *info, vmmgo_err *e)
{ return ret(vmm_backends(index, info), e); }
int vmmgo_load_elf(vmm_vm *vm, const char *path, const char *cmdline, vmmgo_err *e)
{ return ret(vmm_load_elf(vm, path, cmdline), e); }
int vmmgo_load_elf_buffer(vmm_vm *vm, const void *image, size_t len,
			  const char *cmdline, vmmgo_err *e)
{ return ret(vmm_load_elf_buffer(vm, image, len, cmdline), e); }
int vmmgo_load_linux(vmm_vm *vm, const vmm_linux_options *o, vmmgo_err *e)
{ return ret(vmm_load_linux(vm, o), e); }
int vmmgo_irq_line(vmm_vm *vm, uint32_t gsi, uint32_t level, vmmgo_err *e)
{ return ret(vmm_irq_line(vm, gsi, level), e); }
int vmmgo_msi_send(vmm_vm *vm, uint64_t addr, uint32_t data, vmmgo_err *e)
{ return ret(vmm_msi_send(vm, addr, data), e); }
int vmmgo_hide_cpu_features(vmm_vm *vm, const char *names, vmmgo_err *e)
{ return ret(vmm_vm_hide_cpu_features(vm, names), e); }

/* ---- trampolines into Go ---- */

static int pio_tramp(void *opaque, vmm_vcpu *vcpu, uint16_t port, uint8_t size,
		     uint8_t is_write, uint32_t *data)
{
	return goPIO((uintptr_t)opaque, vmm_vcpu_index(vcpu), port, size, is_write, data);
}

static int mmio_tramp(void *opaque, vmm_vcpu *vcpu, uint64_t addr, uint8_t size,
		      uint8_t is_write, uint64_t *data)
{
	return goMMIO((uintptr_t)opaque, vmm_vcpu_index(vcpu), addr, size, is_write, data);
}

static void uart_tramp(void *opaque, const char *buf, size_t len)
{
	goSerial((uintptr_t)opaque, (char *)buf, len);
}

int vmmgo_pio_register(vmm_vm *vm, uint16_t base, uint16_t len, uintptr_t h, vmmgo_err *e)
{ return ret(vmm_pio_register(vm, base, len, pio_tramp, (void *)h), e); }
int vmmgo_pio_unregister(vmm_vm *vm, uint16_t base, vmmgo_err *e)
{ return ret(vmm_pio_unregister(vm, base), e); }
int vmmgo_mmio_register(vmm_vm *vm, uint64_t base, uint64_t len, uintptr_t h, vmmgo_err *e)
{ return ret(vmm_mmio_register(vm, base, len, mmio_tramp, (void *)h), e); }
int vmmgo_mmio_unregister(vmm_vm *vm, uint64_t base, vmmgo_err *e)
{ return ret(vmm_mmio_unregister(vm, base), e); }
int vmmgo_uart_output(vmm_vm *vm, uintptr_t h, vmmgo_err *e)
{ return ret(vmm_uart_output(vm, -1, uart_tramp, (void *)h), e); }
int vmmgo_uart_off(vmm_vm *vm, vmmgo_err *e)
{ return ret(vmm_uart_output(vm, -1, NULL, NULL), e); }
