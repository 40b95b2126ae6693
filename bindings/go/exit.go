package vmm

/*
#include "shim.h"
*/
import "C"

// Exit reasons (VMM_EXIT_*).
const (
	ExitNone          = uint32(C.VMM_EXIT_NONE)
	ExitIO            = uint32(C.VMM_EXIT_IO)
	ExitMMIO          = uint32(C.VMM_EXIT_MMIO)
	ExitHLT           = uint32(C.VMM_EXIT_HLT)
	ExitShutdown      = uint32(C.VMM_EXIT_SHUTDOWN)
	ExitHypercall     = uint32(C.VMM_EXIT_HYPERCALL)
	ExitCancelled     = uint32(C.VMM_EXIT_CANCELLED)
	ExitInternalError = uint32(C.VMM_EXIT_INTERNAL_ERROR)
	ExitFailEntry     = uint32(C.VMM_EXIT_FAIL_ENTRY)
	ExitSystemEvent   = uint32(C.VMM_EXIT_SYSTEM_EVENT)
	ExitDebugExit     = uint32(C.VMM_EXIT_DEBUG_EXIT)
)

// System event types (VMM_EVENT_*).
const (
	EventPowerOff = uint32(C.VMM_EVENT_POWEROFF)
	EventReset    = uint32(C.VMM_EVENT_RESET)
	EventCrash    = uint32(C.VMM_EVENT_CRASH)
)

// Exit says why VCPU.Run returned. For a port IN or an MMIO read, set
// IO.Data / MMIO.Data before the next Run; for a hypercall, Hypercall.Ret
// (the guest's RAX).
type Exit struct {
	Reason uint32 // Exit*
	VCPU   uint32
	RIP    uint64
	IO     struct {
		Port  uint16
		Size  uint8 // 1, 2 or 4
		Write bool
		Data  uint32
	}
	MMIO struct {
		Addr  uint64
		Size  uint8 // 1, 2, 4 or 8
		Write bool
		Data  uint64
	}
	Hypercall struct {
		Nr   uint64
		Args [4]uint64
		Ret  uint64
	}
	SystemEvent struct {
		Type uint32
		Data uint64
	}
	DebugExitCode   uint32
	HardwareReason  uint64 // ExitFailEntry
	InternalMessage string // ExitInternalError
}

func (x *Exit) load(c *C.vmm_exit) {
	*x = Exit{Reason: uint32(c.reason), VCPU: uint32(c.vcpu_index), RIP: uint64(c.rip)}
	switch x.Reason {
	case ExitIO:
		x.IO.Port, x.IO.Size = uint16(c.io.port), uint8(c.io.size)
		x.IO.Write, x.IO.Data = c.io.direction == C.VMM_IO_OUT, uint32(c.io.data)
	case ExitMMIO:
		x.MMIO.Addr, x.MMIO.Size = uint64(c.mmio.addr), uint8(c.mmio.size)
		x.MMIO.Write, x.MMIO.Data = c.mmio.is_write != 0, uint64(c.mmio.data)
	case ExitHypercall:
		x.Hypercall.Nr = uint64(c.hypercall.nr)
		for i := range x.Hypercall.Args {
			x.Hypercall.Args[i] = uint64(c.hypercall.args[i])
		}
		x.Hypercall.Ret = uint64(c.hypercall.ret)
	case ExitSystemEvent:
		x.SystemEvent.Type, x.SystemEvent.Data = uint32(c.system_event._type), uint64(c.system_event.data)
	case ExitDebugExit:
		x.DebugExitCode = uint32(c.debug_exit.code)
	case ExitFailEntry:
		x.HardwareReason = uint64(c.fail_entry.hardware_reason)
	case ExitInternalError:
		x.InternalMessage = C.GoString(&c.internal.message[0])
	}
}

// store writes the caller's answers back for the next run.
func (x *Exit) store(c *C.vmm_exit) {
	switch x.Reason {
	case ExitIO:
		c.io.data = C.uint32_t(x.IO.Data)
	case ExitMMIO:
		c.mmio.data = C.uint64_t(x.MMIO.Data)
	case ExitHypercall:
		c.hypercall.ret = C.uint64_t(x.Hypercall.Ret)
	}
}

// Run runs the vCPU on the calling goroutine until an exit libvmm does not
// handle itself. The returned Exit belongs to the vCPU and is reused by the
// next Run; the answers stored in it (IO.Data, MMIO.Data, Hypercall.Ret)
// are passed to the guest then.
func (c *VCPU) Run() (*Exit, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.live(); err != nil {
		return nil, err
	}
	defer c.vm.release()
	if c.cexit != nil {
		c.exit.store(c.cexit)
	}
	var e C.vmmgo_err
	var x *C.vmm_exit
	if err := check("Run", C.vmmgo_vcpu_run(c.c, &x, &e), &e); err != nil {
		return nil, err
	}
	c.cexit = x
	c.exit.load(x)
	return &c.exit, nil
}
