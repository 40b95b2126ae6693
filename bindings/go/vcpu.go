package vmm

/*
#include "shim.h"
*/
import "C"

import (
	"sync"
	"unsafe"
)

// Regs are the general-purpose registers (layout of vmm_regs).
type Regs struct {
	RAX, RBX, RCX, RDX, RSI, RDI, RSP, RBP uint64
	R8, R9, R10, R11, R12, R13, R14, R15   uint64
	RIP, RFlags                            uint64
}

// Segment is a segment register (layout of vmm_segment).
type Segment struct {
	Base                                 uint64
	Limit                                uint32
	Selector                             uint16
	Type, Present, DPL, DB, S, L, G, AVL uint8
	Unusable                             uint8
	_                                    [3]uint8
}

// DTable is a descriptor-table register (layout of vmm_dtable).
type DTable struct {
	Base  uint64
	Limit uint16
	_     [3]uint16
}

// SRegs are the system registers (layout of vmm_sregs).
type SRegs struct {
	CS, DS, ES, FS, GS, SS, TR, LDT Segment
	GDT, IDT                        DTable
	CR0, CR2, CR3, CR4, CR8         uint64
	EFER                            uint64
	APICBase                        uint64
}

// The Go mirrors must have the C layouts exactly (a size mismatch fails the
// build here).
var (
	_ [unsafe.Sizeof(Regs{}) - unsafe.Sizeof(C.vmm_regs{})]byte
	_ [unsafe.Sizeof(C.vmm_regs{}) - unsafe.Sizeof(Regs{})]byte
	_ [unsafe.Sizeof(SRegs{}) - unsafe.Sizeof(C.vmm_sregs{})]byte
	_ [unsafe.Sizeof(C.vmm_sregs{}) - unsafe.Sizeof(SRegs{})]byte
)

// VCPU is one virtual CPU of a VM; it lives as long as its VM.
type VCPU struct {
	vm    *VM
	c     *C.vmm_vcpu
	index uint32
	mu    sync.Mutex // one Run at a time
	exit  Exit
	cexit *C.vmm_exit
}

// VCPU returns the vCPU with this index, created by LoadELF or CreateVCPU.
func (v *VM) VCPU(index uint32) (*VCPU, error) {
	vm, err := v.handle()
	if err != nil {
		return nil, err
	}
	defer v.release()
	if index >= MaxVCPUs {
		return nil, errorf("VCPU", ErrNoEnt, "VCPU: index %d >= %d", index, MaxVCPUs)
	}
	c := C.vmm_vcpu_get(vm, C.uint32_t(index))
	if c == nil {
		return nil, errorf("VCPU", ErrNoEnt, "VCPU: no vCPU %d (load an image or CreateVCPU first)", index)
	}
	return v.wrapVCPU(c, index), nil
}

// CreateVCPU creates vCPU index in its reset state (for hand-built guests).
func (v *VM) CreateVCPU(index uint32) (*VCPU, error) {
	vm, err := v.handle()
	if err != nil {
		return nil, err
	}
	defer v.release()
	var e C.vmmgo_err
	var c *C.vmm_vcpu
	if err := check("CreateVCPU", C.vmmgo_vcpu_create(vm, C.uint32_t(index), &c, &e), &e); err != nil {
		return nil, err
	}
	return v.wrapVCPU(c, index), nil
}

// wrapVCPU returns the one Go VCPU for a C vCPU (so its Run lock is shared).
func (v *VM) wrapVCPU(c *C.vmm_vcpu, index uint32) *VCPU {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cpus == nil {
		v.cpus = make(map[uint32]*VCPU)
	}
	if cpu, ok := v.cpus[index]; ok && cpu.c == c {
		return cpu
	}
	cpu := &VCPU{vm: v, c: c, index: index}
	v.cpus[index] = cpu
	return cpu
}

// Index is the vCPU's index in its VM.
func (c *VCPU) Index() uint32 { return c.index }

// live read-locks the VM for a C call on the vCPU (release with c.vm.release).
func (c *VCPU) live() error {
	_, err := c.vm.handle()
	return err
}

// Regs reads the general-purpose registers.
func (c *VCPU) Regs() (Regs, error) {
	var r Regs
	if err := c.live(); err != nil {
		return r, err
	}
	defer c.vm.release()
	var e C.vmmgo_err
	return r, check("Regs", C.vmmgo_vcpu_get_regs(c.c, (*C.vmm_regs)(unsafe.Pointer(&r)), &e), &e)
}

// SetRegs writes the general-purpose registers.
func (c *VCPU) SetRegs(r Regs) error {
	if err := c.live(); err != nil {
		return err
	}
	defer c.vm.release()
	var e C.vmmgo_err
	return check("SetRegs", C.vmmgo_vcpu_set_regs(c.c, (*C.vmm_regs)(unsafe.Pointer(&r)), &e), &e)
}

// SRegs reads the system registers.
func (c *VCPU) SRegs() (SRegs, error) {
	var r SRegs
	if err := c.live(); err != nil {
		return r, err
	}
	defer c.vm.release()
	var e C.vmmgo_err
	return r, check("SRegs", C.vmmgo_vcpu_get_sregs(c.c, (*C.vmm_sregs)(unsafe.Pointer(&r)), &e), &e)
}

// SetSRegs writes the system registers.
func (c *VCPU) SetSRegs(r SRegs) error {
	if err := c.live(); err != nil {
		return err
	}
	defer c.vm.release()
	var e C.vmmgo_err
	return check("SetSRegs", C.vmmgo_vcpu_set_sregs(c.c, (*C.vmm_sregs)(unsafe.Pointer(&r)), &e), &e)
}

// Kick makes a running (or the next) Run return ExitCancelled. Safe from
// any goroutine at any time.
func (c *VCPU) Kick() error {
	if err := c.live(); err != nil {
		return err
	}
	defer c.vm.release()
	var e C.vmmgo_err
	return check("Kick", C.vmmgo_vcpu_kick(c.c, &e), &e)
}
