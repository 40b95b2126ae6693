/* shim.h - C side of the Go binding. Each vmmgo_* call makes one libvmm call
 * and, when it fails, copies vmm_last_error() into err in the same C call:
 * goroutines move between OS threads between cgo calls, so reading the
 * thread-local message in a second call could read another thread's. The
 * trampolines turn libvmm callbacks into calls of exported Go functions;
 * opaque pointers carry a cgo.Handle (an integer, never a Go pointer). */
#ifndef VMMGO_SHIM_H
#define VMMGO_SHIM_H

#include <stdint.h>
#include <stdlib.h>
#include <vmm.h>

typedef struct vmmgo_err {
	char msg[512];
} vmmgo_err;

int vmmgo_vm_create(const vmm_vm_config *cfg, vmm_vm **out, vmmgo_err *e);
int vmmgo_mem_map(vmm_vm *vm, uint64_t gpa, uint64_t size, uint32_t flags, vmmgo_err *e);
int vmmgo_mem_unmap(vmm_vm *vm, uint64_t gpa, uint64_t size, vmmgo_err *e);
int vmmgo_mem_read(vmm_vm *vm, uint64_t gpa, void *buf, size_t len, vmmgo_err *e);
int vmmgo_mem_write(vmm_vm *vm, uint64_t gpa, const void *buf, size_t len, vmmgo_err *e);
int vmmgo_mem_host_ptr(vmm_vm *vm, uint64_t gpa, size_t len, void **out, vmmgo_err *e);
int vmmgo_region_create(uint64_t size, vmm_region **out, vmmgo_err *e);
int vmmgo_mem_share(vmm_vm *vm, vmm_region *r, uint64_t gpa, uint64_t off,
		    uint64_t size, uint32_t flags, vmmgo_err *e);
int vmmgo_vcpu_create(vmm_vm *vm, uint32_t index, vmm_vcpu **out, vmmgo_err *e);
int vmmgo_vcpu_get_regs(vmm_vcpu *v, vmm_regs *r, vmmgo_err *e);
int vmmgo_vcpu_set_regs(vmm_vcpu *v, const vmm_regs *r, vmmgo_err *e);
int vmmgo_vcpu_get_sregs(vmm_vcpu *v, vmm_sregs *r, vmmgo_err *e);
int vmmgo_vcpu_set_sregs(vmm_vcpu *v, const vmm_sregs *r, vmmgo_err *e);
int vmmgo_vcpu_run(vmm_vcpu *v, vmm_exit **exit, vmmgo_err *e);
int vmmgo_vcpu_kick(vmm_vcpu *v, vmmgo_err *e);
int vmmgo_backends(uint32_t index, vmm_backend_info *info, vmmgo_err *e);
int vmmgo_load_elf(vmm_vm *vm, const char *path, const char *cmdline, vmmgo_err *e);
int vmmgo_load_elf_buffer(vmm_vm *vm, const void *image, size_t len,
			  const char *cmdline, vmmgo_err *e);
int vmmgo_load_linux(vmm_vm *vm, const vmm_linux_options *o, vmmgo_err *e);
int vmmgo_irq_line(vmm_vm *vm, uint32_t gsi, uint32_t level, vmmgo_err *e);
int vmmgo_msi_send(vmm_vm *vm, uint64_t addr, uint32_t data, vmmgo_err *e);
int vmmgo_hide_cpu_features(vmm_vm *vm, const char *names, vmmgo_err *e);

/* Devices and serial output: h is a cgo.Handle for the Go device. */
int vmmgo_pio_register(vmm_vm *vm, uint16_t base, uint16_t len, uintptr_t h, vmmgo_err *e);
int vmmgo_pio_unregister(vmm_vm *vm, uint16_t base, vmmgo_err *e);
int vmmgo_mmio_register(vmm_vm *vm, uint64_t base, uint64_t len, uintptr_t h, vmmgo_err *e);
int vmmgo_mmio_unregister(vmm_vm *vm, uint64_t base, vmmgo_err *e);
int vmmgo_uart_output(vmm_vm *vm, uintptr_t h, vmmgo_err *e);
int vmmgo_uart_off(vmm_vm *vm, vmmgo_err *e);

#endif
