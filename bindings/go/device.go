package vmm

/*
#include "shim.h"
*/
import "C"

import (
	"errors"
	"runtime/cgo"
)

// PortDevice is a port I/O device written in Go. Methods run on the thread
// of the vCPU that made the access. An error (or a panic) stops that vCPU
// with an internal-error exit; the code of a vmm error is kept, others
// become ErrIO.
type PortDevice interface {
	ReadPort(vcpu uint32, port uint16, size uint8) (uint32, error)
	WritePort(vcpu uint32, port uint16, size uint8, value uint32) error
}

// MMIODevice is a memory-mapped device written in Go; see PortDevice.
type MMIODevice interface {
	ReadMMIO(vcpu uint32, addr uint64, size uint8) (uint64, error)
	WriteMMIO(vcpu uint32, addr uint64, size uint8, value uint64) error
}

// RegisterPIO claims ports [base, base+n) for dev. Call it before Run.
func (v *VM) RegisterPIO(base, n uint16, dev PortDevice) error {
	vm, err := v.handle()
	if err != nil {
		return err
	}
	defer v.release()
	if dev == nil {
		return errorf("RegisterPIO", ErrInval, "RegisterPIO: nil device")
	}
	h := cgo.NewHandle(dev)
	var e C.vmmgo_err
	if err := check("RegisterPIO", C.vmmgo_pio_register(vm, C.uint16_t(base), C.uint16_t(n),
		C.uintptr_t(h), &e), &e); err != nil {
		h.Delete()
		return err
	}
	v.keep(h)
	return nil
}

// UnregisterPIO removes the port device registered at base.
func (v *VM) UnregisterPIO(base uint16) error {
	vm, err := v.handle()
	if err != nil {
		return err
	}
	defer v.release()
	var e C.vmmgo_err
	return check("UnregisterPIO", C.vmmgo_pio_unregister(vm, C.uint16_t(base), &e), &e)
}

// RegisterMMIO claims guest-physical [base, base+n) for dev (outside RAM
// mappings). Call it before Run.
func (v *VM) RegisterMMIO(base, n uint64, dev MMIODevice) error {
	vm, err := v.handle()
	if err != nil {
		return err
	}
	defer v.release()
	if dev == nil {
		return errorf("RegisterMMIO", ErrInval, "RegisterMMIO: nil device")
	}
	h := cgo.NewHandle(dev)
	var e C.vmmgo_err
	if err := check("RegisterMMIO", C.vmmgo_mmio_register(vm, C.uint64_t(base), C.uint64_t(n),
		C.uintptr_t(h), &e), &e); err != nil {
		h.Delete()
		return err
	}
	v.keep(h)
	return nil
}

// UnregisterMMIO removes the MMIO device registered at base.
func (v *VM) UnregisterMMIO(base uint64) error {
	vm, err := v.handle()
	if err != nil {
		return err
	}
	defer v.release()
	var e C.vmmgo_err
	return check("UnregisterMMIO", C.vmmgo_mmio_unregister(vm, C.uint64_t(base), &e), &e)
}

// codeOf maps a device's error to a libvmm code.
func codeOf(err error) C.int {
	var c Code
	if errors.As(err, &c) {
		return C.int(c)
	}
	return C.int(ErrIO)
}

//export goPIO
func goPIO(h C.uintptr_t, vcpu C.uint32_t, port C.uint16_t, size C.uint8_t,
	write C.uint8_t, data *C.uint32_t) (rc C.int) {
	defer func() {
		if recover() != nil {
			rc = C.int(ErrInternal)
		}
	}()
	dev := cgo.Handle(h).Value().(PortDevice)
	if write != 0 {
		if err := dev.WritePort(uint32(vcpu), uint16(port), uint8(size), uint32(*data)); err != nil {
			return codeOf(err)
		}
		return 0
	}
	val, err := dev.ReadPort(uint32(vcpu), uint16(port), uint8(size))
	if err != nil {
		return codeOf(err)
	}
	*data = C.uint32_t(val)
	return 0
}

//export goMMIO
func goMMIO(h C.uintptr_t, vcpu C.uint32_t, addr C.uint64_t, size C.uint8_t,
	write C.uint8_t, data *C.uint64_t) (rc C.int) {
	defer func() {
		if recover() != nil {
			rc = C.int(ErrInternal)
		}
	}()
	dev := cgo.Handle(h).Value().(MMIODevice)
	if write != 0 {
		if err := dev.WriteMMIO(uint32(vcpu), uint64(addr), uint8(size), uint64(*data)); err != nil {
			return codeOf(err)
		}
		return 0
	}
	val, err := dev.ReadMMIO(uint32(vcpu), uint64(addr), uint8(size))
	if err != nil {
		return codeOf(err)
	}
	*data = C.uint64_t(val)
	return 0
}
