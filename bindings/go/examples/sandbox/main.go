// Command sandbox runs untrusted functions in throw-away VMs from Go: the Go
// counterpart of examples/sandbox (same guests, same host-call ABI, see
// examples/sandbox/sandbox_abi.h). Each call creates a VM with a RAM cap
// and no UART, runs its vCPU on the calling goroutine with a time limit
// (a timer that kicks the vCPU) and closes it; any port but the host-call
// port and any access outside RAM is a violation.
//
//	go run ./examples/sandbox [-backend emu] [-n 1000] GUEST_DIR
package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"libvmm.dev/vmm"
)

const (
	sbxPort      = 0x700
	sbxGetInput  = 1
	sbxPutOutput = 2
	sbxMaxIO     = 4096
)

// Outcome of one sandboxed call.
type Outcome struct {
	Kind   string // "ok", "time limit", "violation"
	Code   uint32 // exit code when ok
	Output []byte
	Why    string
}

// Sandbox holds the limits every call gets.
type Sandbox struct {
	Backend string
	MemSize uint64
	Limit   time.Duration
}

// hostCall performs the call whose block the guest put at gpa.
func hostCall(vm *vmm.VM, gpa uint64, input []byte, out *Outcome) error {
	var blk [24]byte
	if err := vm.ReadMemory(gpa, blk[:]); err != nil {
		return fmt.Errorf("host call block at %#x: %w", gpa, err)
	}
	op, n, buf := binary.LittleEndian.Uint32(blk[0:]), binary.LittleEndian.Uint32(blk[4:]),
		binary.LittleEndian.Uint64(blk[8:])
	if n > sbxMaxIO {
		return fmt.Errorf("host call length %d", n)
	}
	ret := int64(-1)
	switch op {
	case sbxGetInput:
		if int(n) > len(input) {
			n = uint32(len(input))
		}
		if err := vm.WriteMemory(buf, input[:n]); err != nil {
			return fmt.Errorf("input buffer: %w", err)
		}
		ret = int64(n)
	case sbxPutOutput:
		if len(out.Output)+int(n) > sbxMaxIO {
			return errors.New("output too long")
		}
		b := make([]byte, n)
		if err := vm.ReadMemory(buf, b); err != nil {
			return fmt.Errorf("output buffer: %w", err)
		}
		out.Output, ret = append(out.Output, b...), 0
	}
	binary.LittleEndian.PutUint64(blk[16:], uint64(ret))
	return vm.WriteMemory(gpa+16, blk[16:])
}

// Call runs image with input in a fresh VM.
func (s *Sandbox) Call(image, input []byte) (Outcome, error) {
	vm, err := vmm.NewVM(vmm.Config{Backend: s.Backend, MemSize: s.MemSize, Flags: vmm.FlagNoUART})
	if err != nil {
		return Outcome{}, err
	}
	defer vm.Close()
	if err := vm.LoadELFBytes(image, ""); err != nil {
		return Outcome{}, err
	}
	cpu, err := vm.VCPU(0)
	if err != nil {
		return Outcome{}, err
	}
	var mu sync.Mutex // the timer must not kick once Call is closing the VM
	finished := false
	timer := time.AfterFunc(s.Limit, func() {
		mu.Lock()
		defer mu.Unlock()
		if !finished {
			_ = cpu.Kick()
		}
	})
	defer func() {
		timer.Stop()
		mu.Lock()
		finished = true
		mu.Unlock()
	}()
	var out Outcome
	for {
		x, err := cpu.Run()
		if err != nil {
			return out, err
		}
		switch {
		case x.Reason == vmm.ExitIO && x.IO.Port == sbxPort && x.IO.Write && x.IO.Size == 4:
			if err := hostCall(vm, uint64(x.IO.Data), input, &out); err != nil {
				out.Kind, out.Why = "violation", err.Error()
				return out, nil
			}
			continue
		case x.Reason == vmm.ExitDebugExit:
			out.Kind, out.Code = "ok", x.DebugExitCode
		case x.Reason == vmm.ExitCancelled:
			out.Kind, out.Why = "time limit", "still running after "+s.Limit.String()
		case x.Reason == vmm.ExitIO:
			out.Kind, out.Why = "violation", fmt.Sprintf("port %#x is not reachable", x.IO.Port)
		case x.Reason == vmm.ExitMMIO:
			out.Kind, out.Why = "violation", fmt.Sprintf("access at %#x outside its memory", x.MMIO.Addr)
		default:
			out.Kind, out.Why = "violation", fmt.Sprintf("exit %d at %#x", x.Reason, x.RIP)
		}
		return out, nil
	}
}

func main() {
	backend := flag.String("backend", "emu", "emu or kvm")
	runs := flag.Int("n", 1000, "sandboxes to create, run and destroy for the rate")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: sandbox [-backend emu|kvm] [-n RUNS] GUEST_DIR (build/examples/sandbox)")
		os.Exit(2)
	}
	load := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(flag.Arg(0), name))
		if err != nil {
			fmt.Fprintln(os.Stderr, "sandbox:", err)
			os.Exit(2)
		}
		return b
	}
	wordstat, spin, escape := load("wordstat.elf"), load("spin.elf"), load("escape.elf")
	s := &Sandbox{Backend: *backend, MemSize: 2 << 20, Limit: 100 * time.Millisecond}
	input := []byte("the quick brown fox\njumps over\tthe lazy dog\n")
	const want = "bytes=44 words=9 lines=2 fnv=beb7c29f2b8e9491"
	failed := 0
	expect := func(what string, o Outcome, err error, ok bool) {
		status := "ok  "
		if err != nil || !ok {
			status, failed = "FAIL", failed+1
		}
		fmt.Printf("%s %s: %s %s %v\n", status, what, o.Kind, o.Why, errOrEmpty(err))
	}
	o, err := s.Call(wordstat, input)
	expect("wordstat", o, err, o.Kind == "ok" && o.Code == 0 && string(o.Output) == want)
	o, err = s.Call(spin, nil)
	expect("spin", o, err, o.Kind == "time limit")
	for _, m := range []string{"m", "p", "c"} {
		o, err = s.Call(escape, []byte(m))
		expect("escape "+m, o, err, o.Kind == "violation")
	}
	start := time.Now()
	bad := 0
	for i := 0; i < *runs; i++ {
		o, err := s.Call(wordstat, input)
		if err != nil || string(o.Output) != want {
			bad++
		}
	}
	d := time.Since(start)
	fmt.Printf("rate: %d sandboxes in %v: %.0f runs/s (%d wrong)\n", *runs, d.Round(time.Millisecond),
		float64(*runs)/d.Seconds(), bad)
	if failed > 0 || bad > 0 {
		os.Exit(1)
	}
}

func errOrEmpty(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
