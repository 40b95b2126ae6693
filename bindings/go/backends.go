package vmm

/*
#include "shim.h"
*/
import "C"

import "unsafe"

// BackendInfo describes one backend (vmm_backend_info).
type BackendInfo struct {
	Name    string // "emu", "kvm"
	Flavour string // "x86-64", "kvm_intel", "kvm_amd", "kvm_pvm"
	Usable  bool   // a VM can be created on it here
	Reason  string // why not usable, or notes when usable
}

// Backends lists the backends built into libvmm.
func Backends() []BackendInfo {
	var out []BackendInfo
	for i := uint32(0); ; i++ {
		info := C.vmm_backend_info{size: C.uint32_t(unsafe.Sizeof(C.vmm_backend_info{}))}
		var e C.vmmgo_err
		if C.vmmgo_backends(C.uint32_t(i), &info, &e) != 0 {
			return out
		}
		out = append(out, BackendInfo{Name: C.GoString(&info.name[0]),
			Flavour: C.GoString(&info.flavour[0]), Usable: info.usable != 0,
			Reason: C.GoString(&info.reason[0])})
	}
}

// Usable reports whether backend name can create VMs here, and why not.
func Usable(name string) (bool, string) {
	for _, b := range Backends() {
		if b.Name == name {
			return b.Usable, b.Reason
		}
	}
	return false, "not built in"
}
