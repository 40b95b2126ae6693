package vmm

import (
	"context"
	"fmt"
	"sync"
)

// How a run ended (VMM_END_*, plus EndCancelled for a cancelled context).
const (
	EndDebugExit     = 1 // Code = value written to port 0xf4
	EndHalted        = 2 // every vCPU halted
	EndShutdown      = 3 // triple fault
	EndTimeout       = 4
	EndInternalError = 5 // see Message
	EndPowerOff      = 6
	EndUnhandled     = 7 // an exit the runner cannot handle
	EndReset         = 8 // the guest asked for a reboot
	EndCancelled     = 100
)

// Result is how VM.Run ended.
type Result struct {
	End     int    // End*
	Code    uint32 // EndDebugExit: the value
	VCPU    uint32 // the vCPU that ended the run
	RIP     uint64
	Message string
}

// HypercallFunc answers a guest's VMCALL/VMMCALL (nr = RAX, args = RBX, RCX,
// RDX, RSI); its result becomes the guest's RAX. An error ends the run with
// EndInternalError. On kvm only the hypercalls KVM forwards reach it.
type HypercallFunc func(vcpu uint32, nr uint64, args [4]uint64) (uint64, error)

// SetHypercall installs the handler VM.Run uses for hypercall exits
// (without one they end the run with EndUnhandled). Call it before Run.
func (v *VM) SetHypercall(fn HypercallFunc) {
	v.mu.Lock()
	v.hypercall = fn
	v.mu.Unlock()
}

// runState is shared by the vCPU goroutines of one Run.
type runState struct {
	mu     sync.Mutex
	done   bool
	res    Result
	err    error
	active int
	cpus   []*VCPU
}

// finish records the end of the run once and kicks every vCPU.
func (s *runState) finish(res Result, err error) {
	s.mu.Lock()
	first := !s.done
	if first {
		s.done, s.res, s.err = true, res, err
	}
	s.mu.Unlock()
	if first {
		for _, c := range s.cpus {
			_ = c.Kick()
		}
	}
}

func (s *runState) isDone() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done
}

func ones(size uint8) uint64 {
	if size >= 8 {
		return ^uint64(0)
	}
	return 1<<(8*size) - 1
}

// Run runs every vCPU of the VM, each on its own goroutine, until the guest
// ends (debug exit, all halted, triple fault, power-off, error) or ctx is
// done: then every vCPU is kicked and Run returns Result{End: EndCancelled}
// with ctx.Err(). As with vmm_vm_run, unclaimed port and MMIO reads return
// all ones and writes are dropped. Use context.WithTimeout for a time limit.
func (v *VM) Run(ctx context.Context) (Result, error) {
	if _, err := v.handle(); err != nil {
		return Result{}, err
	}
	defer v.release() // the whole run: Close fails with ErrBusy meanwhile
	s := &runState{}
	for i := uint32(0); i < v.vcpus; i++ {
		if c, err := v.VCPU(i); err == nil {
			s.cpus = append(s.cpus, c)
		}
	}
	if len(s.cpus) == 0 {
		return Result{}, errorf("Run", ErrState, "Run: no vCPUs: call LoadELF or CreateVCPU first")
	}
	v.mu.Lock()
	hc := v.hypercall
	v.mu.Unlock()
	s.active = len(s.cpus)
	var wg sync.WaitGroup
	for _, c := range s.cpus {
		wg.Add(1)
		go func(c *VCPU) {
			defer wg.Done()
			runVCPU(s, c, hc)
		}(c)
	}
	stop := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			s.finish(Result{End: EndCancelled, Message: "cancelled: " + ctx.Err().Error()}, ctx.Err())
		case <-stop:
		}
	}()
	wg.Wait()
	close(stop)
	return s.res, s.err
}

// runVCPU is one vCPU's loop in Run.
func runVCPU(s *runState, c *VCPU, hc HypercallFunc) {
	for {
		x, err := c.Run()
		if err != nil {
			s.finish(Result{End: EndInternalError, VCPU: c.index, Message: err.Error()}, err)
			return
		}
		if stop := handleExit(s, c, x, hc); stop {
			return
		}
	}
}

// handleExit acts on one exit as vmm_vm_run does; true stops the vCPU.
func handleExit(s *runState, c *VCPU, x *Exit, hc HypercallFunc) bool {
	res := Result{VCPU: c.index, RIP: x.RIP}
	switch x.Reason {
	case ExitIO:
		if !x.IO.Write {
			x.IO.Data = uint32(ones(x.IO.Size))
		}
		return false
	case ExitMMIO:
		if !x.MMIO.Write {
			x.MMIO.Data = ones(x.MMIO.Size)
		}
		return false
	case ExitCancelled:
		return s.isDone()
	case ExitHLT:
		s.mu.Lock()
		s.active--
		last := s.active == 0
		s.mu.Unlock()
		if last {
			res.End, res.Message = EndHalted, fmt.Sprintf("all vCPUs halted; vCPU %d halted last", c.index)
			s.finish(res, nil)
		}
		return true
	case ExitHypercall:
		if hc != nil {
			ret, err := callHypercall(hc, c.index, x)
			if err == nil {
				x.Hypercall.Ret = ret
				return false
			}
			res.End, res.Message = EndInternalError, fmt.Sprintf("vCPU %d: hypercall %d: %v", c.index, x.Hypercall.Nr, err)
		} else {
			res.End, res.Message = EndUnhandled, fmt.Sprintf("vCPU %d: hypercall %d and no handler", c.index, x.Hypercall.Nr)
		}
	case ExitDebugExit:
		res.End, res.Code = EndDebugExit, x.DebugExitCode
		res.Message = fmt.Sprintf("vCPU %d wrote 0x%x to the debug exit port", c.index, x.DebugExitCode)
	case ExitShutdown:
		res.End, res.Message = EndShutdown, fmt.Sprintf("vCPU %d: triple fault (shutdown)", c.index)
	case ExitInternalError:
		res.End, res.Message = EndInternalError, fmt.Sprintf("vCPU %d: %s", c.index, x.InternalMessage)
	case ExitSystemEvent:
		if x.SystemEvent.Type == EventPowerOff {
			res.End, res.Message = EndPowerOff, fmt.Sprintf("vCPU %d: power off", c.index)
		} else if x.SystemEvent.Type == EventReset {
			res.End, res.Message = EndReset, fmt.Sprintf("vCPU %d: reboot requested", c.index)
		} else {
			res.End, res.Message = EndUnhandled, fmt.Sprintf("vCPU %d: system event %d", c.index, x.SystemEvent.Type)
		}
	default:
		res.End, res.Message = EndUnhandled, fmt.Sprintf("vCPU %d: unhandled exit %d at rip 0x%x", c.index, x.Reason, x.RIP)
	}
	s.finish(res, nil)
	return true
}

// callHypercall runs the handler, turning a panic into an error.
func callHypercall(hc HypercallFunc, cpu uint32, x *Exit) (ret uint64, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return hc(cpu, x.Hypercall.Nr, x.Hypercall.Args)
}
