package vmm

/*
#include "shim.h"
*/
import "C"

import (
	"sync"
	"unsafe"
)

// MapMemory maps zeroed library-allocated memory at [gpa, gpa+size) (page
// aligned) with MemRead|MemWrite|MemExec flags.
func (v *VM) MapMemory(gpa, size uint64, flags uint32) error {
	vm, err := v.handle()
	if err != nil {
		return err
	}
	defer v.release()
	var e C.vmmgo_err
	return check("MapMemory", C.vmmgo_mem_map(vm, C.uint64_t(gpa), C.uint64_t(size),
		C.uint32_t(flags), &e), &e)
}

// Unmap removes the mapping [gpa, gpa+size).
func (v *VM) Unmap(gpa, size uint64) error {
	vm, err := v.handle()
	if err != nil {
		return err
	}
	defer v.release()
	var e C.vmmgo_err
	return check("Unmap", C.vmmgo_mem_unmap(vm, C.uint64_t(gpa), C.uint64_t(size), &e), &e)
}

// ReadMemory copies guest memory at gpa into buf (the whole range must be
// mapped; ErrRange otherwise).
func (v *VM) ReadMemory(gpa uint64, buf []byte) error {
	vm, err := v.handle()
	if err != nil {
		return err
	}
	defer v.release()
	if len(buf) == 0 {
		return nil
	}
	var e C.vmmgo_err
	return check("ReadMemory", C.vmmgo_mem_read(vm, C.uint64_t(gpa), unsafe.Pointer(&buf[0]),
		C.size_t(len(buf)), &e), &e)
}

// WriteMemory copies buf into guest memory at gpa.
func (v *VM) WriteMemory(gpa uint64, buf []byte) error {
	vm, err := v.handle()
	if err != nil {
		return err
	}
	defer v.release()
	if len(buf) == 0 {
		return nil
	}
	var e C.vmmgo_err
	return check("WriteMemory", C.vmmgo_mem_write(vm, C.uint64_t(gpa), unsafe.Pointer(&buf[0]),
		C.size_t(len(buf)), &e), &e)
}

// Memory returns guest memory [gpa, gpa+n) as a slice aliasing it (inside
// one mapping). The slice is valid until the mapping is removed or the VM is
// closed; the guest may change it at any time.
func (v *VM) Memory(gpa uint64, n int) ([]byte, error) {
	vm, err := v.handle()
	if err != nil {
		return nil, err
	}
	defer v.release()
	if n <= 0 {
		return nil, errorf("Memory", ErrInval, "Memory: length %d", n)
	}
	var e C.vmmgo_err
	var p unsafe.Pointer
	if err := check("Memory", C.vmmgo_mem_host_ptr(vm, C.uint64_t(gpa), C.size_t(n), &p, &e), &e); err != nil {
		return nil, err
	}
	return unsafe.Slice((*byte)(p), n), nil
}

// Region is shared memory (memfd-backed) that can be mapped into several
// VMs and is visible to the host through Bytes.
type Region struct {
	mu sync.Mutex
	r  *C.vmm_region
}

// NewRegion creates a shared region of size bytes (page multiple).
func NewRegion(size uint64) (*Region, error) {
	var e C.vmmgo_err
	var r *C.vmm_region
	if err := check("NewRegion", C.vmmgo_region_create(C.uint64_t(size), &r, &e), &e); err != nil {
		return nil, err
	}
	return &Region{r: r}, nil
}

// Bytes is the region's memory. It stays valid while the region is open or
// mapped by a VM.
func (r *Region) Bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.r == nil {
		return nil
	}
	return unsafe.Slice((*byte)(C.vmm_region_host_ptr(r.r)), int(C.vmm_region_size(r.r)))
}

// Size is the region's size in bytes (0 after Close).
func (r *Region) Size() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.r == nil {
		return 0
	}
	return uint64(C.vmm_region_size(r.r))
}

// FD is the region's memfd (owned by the region), -1 after Close.
func (r *Region) FD() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.r == nil {
		return -1
	}
	return int(C.vmm_region_fd(r.r))
}

// Close drops the caller's reference; VMs still mapping the region keep it
// alive. Safe to call twice.
func (r *Region) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	C.vmm_region_destroy(r.r)
	r.r = nil
	return nil
}

// Share maps [offset, offset+size) of r at gpa in the VM.
func (v *VM) Share(r *Region, gpa, offset, size uint64, flags uint32) error {
	vm, err := v.handle()
	if err != nil {
		return err
	}
	defer v.release()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.r == nil {
		return ErrClosed
	}
	var e C.vmmgo_err
	return check("Share", C.vmmgo_mem_share(vm, r.r, C.uint64_t(gpa), C.uint64_t(offset),
		C.uint64_t(size), C.uint32_t(flags), &e), &e)
}
