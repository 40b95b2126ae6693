// Package vmm runs x86-64 virtual machines inside a Go program through
// libvmm (https://libvmm.dev), on its software CPU ("emu") or on Linux KVM.
//
//	vm, err := vmm.NewVM(vmm.Config{MemSize: 16 << 20, Backend: "emu"})
//	if err != nil { ... }
//	defer vm.Close()
//	vm.SetSerial(os.Stdout)
//	if err := vm.LoadELF("guest.elf", ""); err != nil { ... }
//	res, err := vm.Run(ctx)   // ctx cancellation kicks every vCPU
//
// Errors returned by this package are *Error values carrying libvmm's code
// and message; test them with errors.Is(err, vmm.ErrRange) and friends.
//
// # Thread safety
//
// The rules are libvmm's (see vmm.h):
//   - Different VMs are independent and may be used from any goroutines at
//     the same time.
//   - A VCPU is driven by one goroutine at a time (VCPU.Run, Regs, SetRegs).
//     VCPU.Kick may be called from any goroutine at any time.
//   - ReadMemory, WriteMemory, Memory, IRQLine and SendMSI may be called from
//     any goroutine while vCPUs run.
//   - MapMemory, Unmap, Share, RegisterPIO, RegisterMMIO and SetSerial must
//     not race with running vCPUs of the same VM: call them before Run.
//   - Device methods and the serial writer are called on the goroutine (OS
//     thread) of the vCPU that made the access, so a device used by a VM with
//     several vCPUs must do its own locking. A panic in a device method stops
//     that vCPU with an internal error; it does not crash the program.
//   - Close may be called from any goroutine; it is idempotent. While another
//     call on the VM is in progress (a Run, say) it fails with ErrBusy and
//     changes nothing, so no call ever runs on a destroyed VM. Methods of a
//     closed VM return ErrClosed. Slices from Memory and Region.Bytes alias
//     guest memory and must not be used after Close.
//
// # Signals
//
// While a kvm VM exists libvmm owns SIGRTMIN+6 (installed with SA_ONSTACK, as
// the Go runtime requires of C signal handlers) to kick vCPUs out of KVM_RUN.
// Do not use that signal with os/signal.
//
// # Building
//
// The package uses cgo and pkg-config: it builds against an installed libvmm
// (libvmm.pc) or, in the libvmm tree, against build/ with
// PKG_CONFIG_PATH=build/pkgconfig (make go-test does this).
package vmm
