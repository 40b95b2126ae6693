package vmm

/*
#include "shim.h"
*/
import "C"

import "unsafe"

// LinuxOptions say which Linux kernel to boot and how (vmm_linux_options).
// Give the kernel (and initrd) either as a path or as bytes.
type LinuxOptions struct {
	Kernel     string // path of a bzImage or a vmlinux with a PVH note
	Initrd     string // path, or ""
	Cmdline    string
	KernelData []byte // used when Kernel is ""
	InitrdData []byte // used when Initrd is ""
	ACPIRSDP   uint64 // guest-physical RSDP to hand over, or 0 (libvmm's own tables with FlagIRQChip)
}

// LoadLinux loads a Linux kernel by the x86 boot protocol and creates the
// vCPUs (vCPU 0 at the entry point, the others waiting for INIT/SIPI).
func (v *VM) LoadLinux(o LinuxOptions) error {
	vm, err := v.handle()
	if err != nil {
		return err
	}
	defer v.release()
	c := C.vmm_linux_options{size: C.uint32_t(unsafe.Sizeof(C.vmm_linux_options{})),
		acpi_rsdp: C.uint64_t(o.ACPIRSDP)}
	// cgo forbids handing C a struct that points to Go memory: strings and
	// images are copied to C memory for the call.
	cstr := func(s string) *C.char {
		if s == "" {
			return nil
		}
		return C.CString(s)
	}
	c.kernel, c.initrd, c.cmdline = cstr(o.Kernel), cstr(o.Initrd), cstr(o.Cmdline)
	defer C.free(unsafe.Pointer(c.kernel))
	defer C.free(unsafe.Pointer(c.initrd))
	defer C.free(unsafe.Pointer(c.cmdline))
	if o.Kernel == "" && len(o.KernelData) > 0 {
		c.kernel_data, c.kernel_size = C.CBytes(o.KernelData), C.uint64_t(len(o.KernelData))
		defer C.free(c.kernel_data)
	}
	if o.Initrd == "" && len(o.InitrdData) > 0 {
		c.initrd_data, c.initrd_size = C.CBytes(o.InitrdData), C.uint64_t(len(o.InitrdData))
		defer C.free(c.initrd_data)
	}
	var e C.vmmgo_err
	return check("LoadLinux", C.vmmgo_load_linux(vm, &c, &e), &e)
}
