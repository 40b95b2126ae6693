package vmm_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"libvmm.dev/vmm"
)

// guestDir holds the test guests (make guests): VMM_GUESTS or ../../build/guests.
func guestDir() string {
	if d := os.Getenv("VMM_GUESTS"); d != "" {
		return d
	}
	return "../../build/guests"
}

func guest(t *testing.T, name string) string {
	p := filepath.Join(guestDir(), name+".elf")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("guest %s not built (make guests): %v", p, err)
	}
	return p
}

func expected(t *testing.T, name string) string {
	b, err := os.ReadFile(filepath.Join("../../tests/guests", name+".expected"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// forEachBackend runs f on emu and, where usable, on kvm; an unusable kvm is
// reported as a skip with its reason.
func forEachBackend(t *testing.T, f func(t *testing.T, backend string)) {
	for _, b := range []string{"emu", "kvm"} {
		b := b
		t.Run(b, func(t *testing.T) {
			if ok, why := vmm.Usable(b); !ok {
				t.Skipf("backend %s not usable here: %s", b, why)
			}
			f(t, b)
		})
	}
}

// runGuest creates a VM, loads name, runs it and returns result and output.
func runGuest(t *testing.T, ctx context.Context, cfg vmm.Config, name string,
	setup func(vm *vmm.VM)) (vmm.Result, string, error) {
	vm, err := vmm.NewVM(cfg)
	if err != nil {
		t.Fatalf("NewVM(%+v): %v", cfg, err)
	}
	defer vm.Close()
	var out bytes.Buffer
	if err := vm.SetSerial(&out); err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(vm)
	}
	if err := vm.LoadELF(guest(t, name), ""); err != nil {
		t.Fatal(err)
	}
	res, err := vm.Run(ctx)
	return res, out.String(), err
}

func timeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestVersionAndBackends(t *testing.T) {
	if v := vmm.Version(); v != "1.0.0" {
		t.Errorf("Version() = %q, want 1.0.0", v)
	}
	bs := vmm.Backends()
	if len(bs) < 2 || bs[0].Name != "emu" || !bs[0].Usable || bs[1].Name != "kvm" {
		t.Errorf("Backends() = %+v, want emu (usable) then kvm", bs)
	}
}

func TestHelloSerial(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b string) {
		res, out, err := runGuest(t, timeout(t, 60*time.Second),
			vmm.Config{VCPUs: 2, MemSize: 64 << 20, Backend: b}, "hello", nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.End != vmm.EndHalted {
			t.Errorf("end %d (%s), want EndHalted", res.End, res.Message)
		}
		if want := expected(t, "hello"); out != want {
			t.Errorf("serial %q, want %q", out, want)
		}
	})
}

func TestLoaderRegisters(t *testing.T) {
	vm, err := vmm.NewVM(vmm.Config{VCPUs: 2, Backend: "emu"})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	if err := vm.LoadELF(guest(t, "hello"), ""); err != nil {
		t.Fatal(err)
	}
	for i := uint32(0); i < 2; i++ {
		c, err := vm.VCPU(i)
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Regs()
		if err != nil {
			t.Fatal(err)
		}
		// The ELF64 loader's contract: RDI = vCPU index, RSI = vCPU count,
		// RIP = the entry point, linked at 1 MiB.
		if r.RDI != uint64(i) || r.RSI != 2 || r.RIP < 0x100000 {
			t.Errorf("vCPU %d: RDI=%d RSI=%d RIP=%#x", i, r.RDI, r.RSI, r.RIP)
		}
		s, err := c.SRegs()
		if err != nil {
			t.Fatal(err)
		}
		if s.EFER&(1<<10) == 0 || s.CS.L != 1 { // LMA, 64-bit code segment
			t.Errorf("vCPU %d not in long mode: EFER=%#x CS.L=%d", i, s.EFER, s.CS.L)
		}
	}
}

func TestGoMMIODevice(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b string) {
		dev := newMMIODev()
		res, out, err := runGuest(t, timeout(t, 120*time.Second), vmm.Config{Backend: b}, "mmio",
			func(vm *vmm.VM) {
				if err := vm.RegisterMMIO(mmioBase, mmioLen, dev); err != nil {
					t.Fatal(err)
				}
			})
		if err != nil {
			t.Fatal(err)
		}
		if res.End != vmm.EndDebugExit || res.Code != 0 {
			t.Errorf("end %d code %d (%s), want debug exit 0", res.End, res.Code, res.Message)
		}
		if want := expected(t, "mmio"); out != want {
			t.Errorf("serial:\n%s\nwant:\n%s", out, want)
		}
		if dev.count < 40 {
			t.Errorf("device saw %d counted accesses", dev.count)
		}
	})
}

func TestGoPortDevice(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b string) {
		res, out, err := runGuest(t, timeout(t, 120*time.Second), vmm.Config{Backend: b}, "pio",
			func(vm *vmm.VM) {
				if err := vm.RegisterPIO(pioBase, 8, &portDev{}); err != nil {
					t.Fatal(err)
				}
			})
		if err != nil {
			t.Fatal(err)
		}
		if res.End != vmm.EndDebugExit || res.Code != 0 {
			t.Errorf("end %d code %d (%s), want debug exit 0", res.End, res.Code, res.Message)
		}
		if want := expected(t, "pio"); out != want {
			t.Errorf("serial:\n%s\nwant:\n%s", out, want)
		}
	})
}

// Two VMs, each on its own goroutine, at the same time; each with its own
// Go device, so a mix-up between them shows in the output.
func TestConcurrentVMs(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for _, name := range []string{"mmio", "arith", "mmio", "pio"} {
		name := name
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, out, err := runGuest(t, timeout(t, 120*time.Second), vmm.Config{Backend: "emu"}, name,
				func(vm *vmm.VM) {
					if err := vm.RegisterMMIO(mmioBase, mmioLen, newMMIODev()); err != nil {
						errs <- err
					}
					if err := vm.RegisterPIO(pioBase, 8, &portDev{}); err != nil {
						errs <- err
					}
				})
			switch {
			case err != nil:
				errs <- err
			case res.End != vmm.EndDebugExit || res.Code != 0:
				errs <- errors.New(name + ": " + res.Message)
			case out != expected(t, name):
				errs <- errors.New(name + ": wrong output: " + out)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// loop.elf spins without exits: only a kick ends it.
func TestRunCancelledByContext(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b string) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			time.Sleep(300 * time.Millisecond)
			cancel()
		}()
		start := time.Now()
		res, out, err := runGuest(t, ctx, vmm.Config{VCPUs: 2, Backend: b}, "loop", nil)
		if !errors.Is(err, context.Canceled) || res.End != vmm.EndCancelled {
			t.Fatalf("Run = %+v, %v; want EndCancelled, context.Canceled", res, err)
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("cancel took %v", d)
		}
		if out != "loop: spinning\n" {
			t.Errorf("serial %q", out)
		}
	})
}

func TestRunDeadline(t *testing.T) {
	res, _, err := runGuest(t, timeout(t, 200*time.Millisecond), vmm.Config{Backend: "emu"}, "loop", nil)
	if !errors.Is(err, context.DeadlineExceeded) || res.End != vmm.EndCancelled {
		t.Fatalf("Run = %+v, %v; want EndCancelled, DeadlineExceeded", res, err)
	}
}

// A vCPU driven directly from a goroutine, kicked from another: on kvm the
// kick is a signal to the goroutine's OS thread, whose handler must have
// SA_ONSTACK or the Go runtime crashes.
func TestKickRunningVCPU(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b string) {
		h0, _, _ := vmm.KickSignal()
		vm, err := vmm.NewVM(vmm.Config{Backend: b})
		if err != nil {
			t.Fatal(err)
		}
		defer vm.Close()
		if b == "kvm" {
			h, onstack, sig := vmm.KickSignal()
			if h == h0 || !onstack {
				t.Errorf("signal %d: handler %#x (before the VM %#x), SA_ONSTACK %v", sig, h, h0, onstack)
			}
		}
		if err := vm.LoadELF(guest(t, "loop"), ""); err != nil {
			t.Fatal(err)
		}
		c, err := vm.VCPU(0)
		if err != nil {
			t.Fatal(err)
		}
		for round := 0; round < 3; round++ {
			done := make(chan *vmm.Exit)
			go func() {
				for {
					x, err := c.Run()
					if err != nil {
						t.Error(err)
						done <- nil
						return
					}
					if x.Reason == vmm.ExitCancelled {
						done <- x
						return
					}
					if x.Reason == vmm.ExitIO && !x.IO.Write {
						x.IO.Data = 0xff // UART status etc.: not registered as the guest is bare
					}
				}
			}()
			time.Sleep(100 * time.Millisecond)
			garbage := make([][]byte, 0, 1000) // keep the Go runtime busy meanwhile
			for i := 0; i < 1000; i++ {
				garbage = append(garbage, make([]byte, 4096))
			}
			_ = garbage
			if err := c.Kick(); err != nil {
				t.Fatal(err)
			}
			select {
			case x := <-done:
				if x == nil {
					return
				}
			case <-time.After(30 * time.Second):
				t.Fatal("kick did not stop the vCPU")
			}
		}
	})
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name string
		cfg  vmm.Config
		want vmm.Code
	}{
		{"too many vCPUs", vmm.Config{VCPUs: 1000}, vmm.ErrInval},
		{"unknown backend", vmm.Config{Backend: "nope"}, vmm.ErrNoEnt},
		{"absurd memory", vmm.Config{MemSize: 1 << 62, Backend: "emu"}, vmm.ErrNoMem},
	}
	for _, c := range cases {
		vm, err := vmm.NewVM(c.cfg)
		if err == nil {
			vm.Close()
			t.Errorf("%s: NewVM succeeded", c.name)
			continue
		}
		var e *vmm.Error
		if !errors.Is(err, c.want) || !errors.As(err, &e) || e.Msg == "" {
			t.Errorf("%s: got %v (%#v), want %v with a message", c.name, err, err, c.want)
		}
	}

	vm, err := vmm.NewVM(vmm.Config{MemSize: 2 << 20, Backend: "emu"})
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, err error, want vmm.Code) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Errorf("%s: got %v, want %v", what, err, want)
		} else if !strings.Contains(err.Error(), "vmm: ") {
			t.Errorf("%s: message %q", what, err)
		}
	}
	check("LoadELF missing", vm.LoadELF("/nonexistent/guest.elf", ""), vmm.ErrNoEnt)
	check("LoadELFBytes garbage", vm.LoadELFBytes([]byte("not an ELF image at all, sorry"), ""), vmm.ErrBadImage)
	check("LoadELFBytes empty", vm.LoadELFBytes(nil, ""), vmm.ErrBadImage)
	check("ReadMemory past RAM", vm.ReadMemory(4<<20, make([]byte, 8)), vmm.ErrRange)
	check("WriteMemory past RAM", vm.WriteMemory(2<<20-4, make([]byte, 8)), vmm.ErrRange)
	_, err = vm.Memory(1<<40, 16)
	check("Memory past RAM", err, vmm.ErrRange)
	check("MapMemory unaligned", vm.MapMemory(0x10000123, 4096, vmm.MemRW), vmm.ErrInval)
	check("MapMemory overlap", vm.MapMemory(0, 4096, vmm.MemRW), vmm.ErrExist)
	check("IRQLine without irqchip", vm.IRQLine(4, true), vmm.ErrState)
	check("SendMSI without irqchip", vm.SendMSI(0xfee00000, 0x30), vmm.ErrState)
	check("RegisterMMIO zero length", vm.RegisterMMIO(0xd0000000, 0, newMMIODev()), vmm.ErrInval)
	check("RegisterPIO twice", func() error {
		if err := vm.RegisterPIO(0x600, 4, &portDev{}); err != nil {
			return err
		}
		return vm.RegisterPIO(0x602, 1, &portDev{})
	}(), vmm.ErrExist)
	check("RegisterPIO nil", vm.RegisterPIO(0x600, 1, nil), vmm.ErrInval)
	_, err = vm.VCPU(0)
	check("VCPU before load", err, vmm.ErrNoEnt)
	_, err = vm.Run(context.Background())
	check("Run without vCPUs", err, vmm.ErrState)
	if err := vm.Close(); err != nil {
		t.Fatal(err)
	}
	if err := vm.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	check("LoadELF after Close", vm.LoadELF(guest(t, "hello"), ""), vmm.ErrState)
	if !errors.Is(vm.LoadELF("x", ""), vmm.ErrClosed) {
		t.Error("use after Close is not ErrClosed")
	}
	_, err = vm.Run(context.Background())
	check("Run after Close", err, vmm.ErrState)
}

func TestIRQLineWithIRQChip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b string) {
		vm, err := vmm.NewVM(vmm.Config{Backend: b, Flags: vmm.FlagIRQChip})
		if err != nil {
			if errors.Is(err, vmm.ErrNotSup) || errors.Is(err, vmm.ErrInval) {
				t.Skipf("VMM_VM_IRQCHIP not accepted by this libvmm yet: %v", err)
			}
			t.Fatal(err)
		}
		defer vm.Close()
		if err := vm.SendMSI(0x1000, 0x30); !errors.Is(err, vmm.ErrInval) {
			t.Errorf("SendMSI(0x1000) = %v, want ErrInval", err)
		}
		if err := vm.IRQLine(24, true); !errors.Is(err, vmm.ErrRange) {
			t.Errorf("IRQLine(24) = %v, want ErrRange", err)
		}
		err = vm.IRQLine(4, true)
		if errors.Is(err, vmm.ErrNotSup) {
			t.Skipf("interrupt controller not on %s yet: %v", b, err)
		}
		if err != nil {
			t.Errorf("IRQLine(4, true) = %v", err)
		}
		if err := vm.IRQLine(4, false); err != nil {
			t.Errorf("IRQLine(4, false) = %v", err)
		}
	})
}

// A device whose method panics stops the guest with an internal error; the
// test process survives.
type panicDev struct{}

func (panicDev) ReadMMIO(uint32, uint64, uint8) (uint64, error) { panic("device bug") }
func (panicDev) WriteMMIO(uint32, uint64, uint8, uint64) error  { panic("device bug") }

func TestDevicePanicIsAnError(t *testing.T) {
	res, _, err := runGuest(t, timeout(t, 60*time.Second), vmm.Config{Backend: "emu"}, "mmio",
		func(vm *vmm.VM) {
			if err := vm.RegisterMMIO(mmioBase, mmioLen, panicDev{}); err != nil {
				t.Fatal(err)
			}
		})
	if err != nil || res.End != vmm.EndInternalError {
		t.Fatalf("Run = %+v, %v; want EndInternalError", res, err)
	}
}

func TestSharedRegion(t *testing.T) {
	r, err := vmm.NewRegion(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	vms := make([]*vmm.VM, 2)
	for i := range vms {
		if vms[i], err = vmm.NewVM(vmm.Config{MemSize: 2 << 20, Backend: "emu"}); err != nil {
			t.Fatal(err)
		}
		defer vms[i].Close()
		if err := vms[i].Share(r, 0x40000000, 0, 1<<20, vmm.MemRW); err != nil {
			t.Fatal(err)
		}
	}
	copy(r.Bytes()[100:], "from the host")
	if err := vms[0].WriteMemory(0x40000000+200, []byte("from vm0")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 13)
	if err := vms[1].ReadMemory(0x40000000+100, buf); err != nil || string(buf) != "from the host" {
		t.Errorf("vm1 reads %q, %v", buf, err)
	}
	if got := string(r.Bytes()[200:208]); got != "from vm0" {
		t.Errorf("host sees %q", got)
	}
	if r.Size() != 1<<20 || r.FD() < 0 {
		t.Errorf("Size %d FD %d", r.Size(), r.FD())
	}
	r.Close()
	r.Close()
	if err := vms[0].Share(r, 0x50000000, 0, 4096, vmm.MemRW); !errors.Is(err, vmm.ErrClosed) {
		t.Errorf("Share of a closed region: %v", err)
	}
}

// Close while a Run is in progress is refused (ErrBusy) and harmless; once
// the run is cancelled Close succeeds, and calls racing with it get either
// a result or ErrClosed, never a destroyed VM.
func TestCloseWhileRunning(t *testing.T) {
	vm, err := vmm.NewVM(vmm.Config{Backend: "emu"})
	if err != nil {
		t.Fatal(err)
	}
	if err := vm.LoadELF(guest(t, "loop"), ""); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := vm.Run(ctx)
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	if err := vm.Close(); !errors.Is(err, vmm.ErrBusy) {
		t.Errorf("Close during Run = %v, want ErrBusy", err)
	}
	buf := make([]byte, 8)
	if err := vm.ReadMemory(0x100000, buf); err != nil {
		t.Errorf("ReadMemory during Run: %v", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v", err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				if err := vm.ReadMemory(0x100000, buf[:1:1]); err != nil && !errors.Is(err, vmm.ErrClosed) {
					t.Errorf("ReadMemory racing Close: %v", err)
					return
				}
			}
		}()
	}
	for vm.Close() != nil {
		time.Sleep(time.Millisecond) // ErrBusy while a ReadMemory is in flight
	}
	wg.Wait()
	if err := vm.ReadMemory(0x100000, buf); !errors.Is(err, vmm.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

// vmm_load_linux's checks, through the binding: no kernel, a missing file,
// bytes that are no kernel. (Booting Linux is tested by libvmm's own tests.)
func TestLoadLinuxErrors(t *testing.T) {
	vm, err := vmm.NewVM(vmm.Config{Backend: "emu"})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	if err := vm.LoadLinux(vmm.LinuxOptions{}); !errors.Is(err, vmm.ErrInval) {
		t.Errorf("no kernel: %v, want ErrInval", err)
	}
	if err := vm.LoadLinux(vmm.LinuxOptions{Kernel: "/nonexistent/bzImage"}); !errors.Is(err, vmm.ErrNoEnt) {
		t.Errorf("missing kernel: %v, want ErrNoEnt", err)
	}
	junk := bytes.Repeat([]byte("not a kernel "), 400)
	if err := vm.LoadLinux(vmm.LinuxOptions{KernelData: junk, Cmdline: "console=ttyS0"}); !errors.Is(err, vmm.ErrBadImage) {
		t.Errorf("junk kernel: %v, want ErrBadImage", err)
	}
}

func TestHideCPUFeatures(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b string) {
		res, out, err := runGuest(t, timeout(t, 60*time.Second),
			vmm.Config{VCPUs: 1, MemSize: 64 << 20, Backend: b}, "hello",
			func(vm *vmm.VM) {
				if err := vm.HideCPUFeatures("nope"); !errors.Is(err, vmm.ErrInval) {
					t.Errorf("HideCPUFeatures(nope): %v, want ErrInval", err)
				}
				if err := vm.HideCPUFeatures("pcid,invpcid"); err != nil {
					t.Errorf("HideCPUFeatures: %v", err)
				}
			})
		if err != nil || res.End != vmm.EndHalted || out != expected(t, "hello") {
			t.Errorf("hello with hidden features: %v, end %d, serial %q", err, res.End, out)
		}
	})
	vm, err := vmm.NewVM(vmm.Config{Backend: "emu"})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	if err := vm.LoadELF(guest(t, "hello"), ""); err != nil {
		t.Fatal(err)
	}
	if err := vm.HideCPUFeatures("pcid"); !errors.Is(err, vmm.ErrBusy) {
		t.Errorf("HideCPUFeatures after LoadELF: %v, want ErrBusy", err)
	}
}
