package vmm

/*
#cgo pkg-config: libvmm
#include "shim.h"
*/
import "C"

import (
	"io"
	"runtime/cgo"
	"sync"
	"unsafe"
)

// VM flags (VMM_VM_*).
const (
	FlagNoUART      = uint32(C.VMM_VM_NO_UART)       // no built-in 16550 at 0x3f8
	FlagNoDebugExit = uint32(C.VMM_VM_NO_DEBUG_EXIT) // no exit device at port 0xf4
	FlagIRQChip     = uint32(C.VMM_VM_IRQCHIP)       // PC interrupt controllers and timers
	FlagFWCfg       = uint32(C.VMM_VM_FW_CFG)        // fw_cfg at port 0x510
)

// Memory protection flags (VMM_MEM_*).
const (
	MemRead  = uint32(C.VMM_MEM_READ)
	MemWrite = uint32(C.VMM_MEM_WRITE)
	MemExec  = uint32(C.VMM_MEM_EXEC)
	MemRW    = uint32(C.VMM_MEM_RW)
	MemRO    = uint32(C.VMM_MEM_RO) // guest writes exit as MMIO
)

// MaxVCPUs is the largest vCPU count a VM can have.
const MaxVCPUs = C.VMM_MAX_VCPUS

// Config describes a VM. The zero value of a field means libvmm's default
// (1 vCPU, 64 MiB, backend "auto").
type Config struct {
	VCPUs   uint32 // 1..MaxVCPUs
	MemSize uint64 // guest RAM at guest-physical 0, bytes
	Backend string // "auto", "emu" or "kvm"
	Require string // kvm flavour required: "", "vtx", "svm", "pvm"
	Flags   uint32 // Flag*
}

// VM is a virtual machine. Create it with NewVM and release it with Close.
type VM struct {
	rw        sync.RWMutex // read-held by every C call, write-held by Close
	mu        sync.Mutex   // guards handles, cpus, hypercall
	vm        *C.vmm_vm
	vcpus     uint32
	irqchip   bool // FlagIRQChip: HLT waits for an interrupt in the backend
	handles   []cgo.Handle
	cpus      map[uint32]*VCPU
	hypercall HypercallFunc
}

// Version is libvmm's version, e.g. "1.0.0".
func Version() string { return C.GoString(C.vmm_version()) }

// NewVM creates a VM.
func NewVM(cfg Config) (*VM, error) {
	c := C.vmm_vm_config{size: C.uint32_t(unsafe.Sizeof(C.vmm_vm_config{})),
		vcpus: 1, mem_size: 64 << 20, flags: C.uint32_t(cfg.Flags)}
	if cfg.VCPUs != 0 {
		c.vcpus = C.uint32_t(cfg.VCPUs)
	}
	if cfg.MemSize != 0 {
		c.mem_size = C.uint64_t(cfg.MemSize)
	}
	if cfg.Backend != "" {
		c.backend = C.CString(cfg.Backend)
		defer C.free(unsafe.Pointer(c.backend))
	}
	if cfg.Require != "" {
		c.require = C.CString(cfg.Require)
		defer C.free(unsafe.Pointer(c.require))
	}
	var e C.vmmgo_err
	var vm *C.vmm_vm
	if err := check("NewVM", C.vmmgo_vm_create(&c, &vm, &e), &e); err != nil {
		return nil, err
	}
	return &VM{vm: vm, vcpus: uint32(c.vcpus), irqchip: cfg.Flags&FlagIRQChip != 0}, nil
}

// handle returns the C VM with the VM read-locked (release it with
// release), or ErrClosed. Every C call on the VM happens under this read
// lock, so Close cannot destroy the VM under a call in progress. Read locks
// nest (device callbacks call back into the VM) because Close never waits
// for the write lock: it only tries it.
func (v *VM) handle() (*C.vmm_vm, error) {
	v.rw.RLock()
	if v.vm == nil {
		v.rw.RUnlock()
		return nil, ErrClosed
	}
	return v.vm, nil
}

func (v *VM) release() { v.rw.RUnlock() }

// Close destroys the VM and releases its devices. It is safe to call twice.
// It fails with ErrBusy, and changes nothing, while another call on the VM
// (such as Run) is in progress.
func (v *VM) Close() error {
	if !v.rw.TryLock() {
		return errorf("Close", ErrBusy, "Close: a call on the VM (such as Run) is in progress")
	}
	defer v.rw.Unlock()
	if v.vm == nil {
		return nil
	}
	C.vmm_vm_destroy(v.vm)
	v.vm = nil
	for _, h := range v.handles {
		h.Delete()
	}
	v.handles = nil
	return nil
}

// keep records a handle to delete on Close.
func (v *VM) keep(h cgo.Handle) {
	v.mu.Lock()
	v.handles = append(v.handles, h)
	v.mu.Unlock()
}

// Backend is the name of the backend the VM runs on ("emu", "kvm").
func (v *VM) Backend() string {
	vm, err := v.handle()
	if err != nil {
		return ""
	}
	defer v.release()
	return C.GoString(C.vmm_vm_backend(vm))
}

// Flavour is the backend's flavour, e.g. "x86-64", "kvm_intel", "kvm_pvm".
func (v *VM) Flavour() string {
	vm, err := v.handle()
	if err != nil {
		return ""
	}
	defer v.release()
	return C.GoString(C.vmm_vm_flavour(vm))
}

// NumVCPUs is the vCPU count of the configuration.
func (v *VM) NumVCPUs() uint32 { return v.vcpus }

// LoadELF loads an ELF image (ELF64 or Multiboot ELF32) and creates the
// vCPUs with their boot state; cmdline may be empty.
func (v *VM) LoadELF(path, cmdline string) error {
	vm, err := v.handle()
	if err != nil {
		return err
	}
	defer v.release()
	p := C.CString(path)
	defer C.free(unsafe.Pointer(p))
	var cl *C.char
	if cmdline != "" {
		cl = C.CString(cmdline)
		defer C.free(unsafe.Pointer(cl))
	}
	var e C.vmmgo_err
	return check("LoadELF", C.vmmgo_load_elf(vm, p, cl, &e), &e)
}

// LoadELFBytes is LoadELF from an image in memory.
func (v *VM) LoadELFBytes(image []byte, cmdline string) error {
	vm, err := v.handle()
	if err != nil {
		return err
	}
	defer v.release()
	if len(image) == 0 {
		return errorf("LoadELFBytes", ErrBadImage, "LoadELFBytes: empty image")
	}
	var cl *C.char
	if cmdline != "" {
		cl = C.CString(cmdline)
		defer C.free(unsafe.Pointer(cl))
	}
	var e C.vmmgo_err
	return check("LoadELFBytes", C.vmmgo_load_elf_buffer(vm, unsafe.Pointer(&image[0]),
		C.size_t(len(image)), cl, &e), &e)
}

// HideCPUFeatures hides CPU features from the guest, as on a CPU without
// them (vmm_vm_hide_cpu_features): names is a comma-separated list of
// "pcid", "invpcid" and "pku". Only before the vCPUs exist (before LoadELF):
// ErrBusy afterwards, ErrInval for an unknown name.
func (v *VM) HideCPUFeatures(names string) error {
	vm, err := v.handle()
	if err != nil {
		return err
	}
	defer v.release()
	n := C.CString(names)
	defer C.free(unsafe.Pointer(n))
	var e C.vmmgo_err
	return check("HideCPUFeatures", C.vmmgo_hide_cpu_features(vm, n, &e), &e)
}

// IRQLine sets interrupt line gsi (0..23) to level (true: asserted). It
// needs FlagIRQChip (ErrState without it). Safe from any goroutine.
func (v *VM) IRQLine(gsi uint32, level bool) error {
	vm, err := v.handle()
	if err != nil {
		return err
	}
	defer v.release()
	l := C.uint32_t(0)
	if level {
		l = 1
	}
	var e C.vmmgo_err
	return check("IRQLine", C.vmmgo_irq_line(vm, C.uint32_t(gsi), l, &e), &e)
}

// SendMSI sends a message-signalled interrupt (addr in 0xfee00000..0xfeefffff).
func (v *VM) SendMSI(addr uint64, data uint32) error {
	vm, err := v.handle()
	if err != nil {
		return err
	}
	defer v.release()
	var e C.vmmgo_err
	return check("SendMSI", C.vmmgo_msi_send(vm, C.uint64_t(addr), C.uint32_t(data), &e), &e)
}

// serialSink serialises writes from several vCPU threads into one writer.
type serialSink struct {
	mu sync.Mutex
	w  io.Writer
}

// SetSerial sends the built-in UART's output to w (nil: discard). Writes
// come from vCPU threads; they are serialised, so w need not be safe for
// concurrent use. Call it before Run.
func (v *VM) SetSerial(w io.Writer) error {
	vm, err := v.handle()
	if err != nil {
		return err
	}
	defer v.release()
	var e C.vmmgo_err
	if w == nil {
		return check("SetSerial", C.vmmgo_uart_off(vm, &e), &e)
	}
	s := &serialSink{w: w}
	h := cgo.NewHandle(s)
	if err := check("SetSerial", C.vmmgo_uart_output(vm, C.uintptr_t(h), &e), &e); err != nil {
		h.Delete()
		return err
	}
	v.keep(h)
	return nil
}

//export goSerial
func goSerial(h C.uintptr_t, buf *C.char, n C.size_t) {
	s := cgo.Handle(h).Value().(*serialSink)
	b := C.GoBytes(unsafe.Pointer(buf), C.int(n))
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() { _ = recover() }() // a panicking writer loses output, not the process
	_, _ = s.w.Write(b)
}
