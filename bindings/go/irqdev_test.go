package vmm_test

// The conformance runner's interrupt device (tests/guests/testdev.h, ports
// 0x520-0x52f; the runner's is tests/conformance/src/irqdev.c) written in
// Go: lines and MSIs the guest asks for go through vm.IRQLine and
// vm.SendMSI, from the vCPU's thread or, for the storm, a goroutine.

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"libvmm.dev/vmm"
)

const (
	irqBase   = 0x520
	irqLen    = 16
	irqClock  = 0x520
	irqTol    = 0x524
	irqLine   = 0x525
	irqStatus = 0x526
	irqStorm  = 0x527
	irqMSIDat = 0x528
	irqMSIAdr = 0x52c
)

type irqDev struct {
	vm *vmm.VM
	t0 time.Time

	mu                   sync.Mutex
	status               uint32 // 0: the last LINE or MSI call succeeded
	msiData, msiAddr     uint32
	lines, msis          int // calls made from the vCPU
	stormRun, stormSent  atomic.Bool
	stormWG              sync.WaitGroup
	stormMu              sync.Mutex // serialises starting and stopping
	stormStarted         bool
	stormCalls, stormErr atomic.Int64
}

func newIRQDev(vm *vmm.VM) *irqDev {
	return &irqDev{vm: vm, t0: time.Now()}
}

func (d *irqDev) storm() {
	defer d.stormWG.Done()
	for d.stormRun.Load() {
		d.mu.Lock()
		addr, data := d.msiAddr, d.msiData
		d.mu.Unlock()
		d.stormCalls.Add(1)
		if d.vm.SendMSI(uint64(addr), data) == nil {
			d.stormSent.Store(true)
		} else {
			d.stormErr.Add(1)
		}
	}
}

// stopStorm ends the storm goroutine and waits for it (also after Run, so
// no SendMSI is in flight when the VM is closed).
func (d *irqDev) stopStorm() {
	d.stormMu.Lock()
	defer d.stormMu.Unlock()
	d.stormRun.Store(false)
	d.stormWG.Wait()
	d.stormStarted = false
}

func (d *irqDev) startStorm() {
	d.stormMu.Lock()
	defer d.stormMu.Unlock()
	if d.stormStarted {
		return
	}
	d.stormStarted = true
	d.stormRun.Store(true)
	d.stormWG.Add(1)
	go d.storm()
}

func status(err error) uint32 {
	if err != nil {
		return 1
	}
	return 0
}

func (d *irqDev) ReadPort(_ uint32, port uint16, size uint8) (uint32, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case port == irqClock && size == 4:
		return uint32(uint64(time.Since(d.t0).Microseconds())), nil
	case port == irqTol && size == 1:
		return 5, nil
	case port == irqStatus && size == 1:
		return d.status, nil
	case port == irqStorm && size == 1:
		if d.stormSent.Load() {
			return 1, nil
		}
		return 0, nil
	}
	return 0, vmm.ErrInval
}

func (d *irqDev) WritePort(_ uint32, port uint16, size uint8, v uint32) error {
	if port == irqStorm && size == 1 {
		if v&0xff != 0 {
			d.startStorm()
		} else {
			d.stopStorm() // waits: not under d.mu, which the storm takes
		}
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case port == irqLine && size == 1:
		d.status = status(d.vm.IRQLine(v&0x1f, v>>7 != 0))
		d.lines++
	case port == irqMSIDat && size == 4:
		d.msiData = v
	case port == irqMSIAdr && size == 4:
		d.msiAddr = v // the storm's address from now on
		d.status = status(d.vm.SendMSI(uint64(v), d.msiData))
		d.msis++
	default:
		return vmm.ErrInval
	}
	return nil
}

// knownEnd is the manifest's `known` line for ioapic_msi (tests/guests/manifest).
const (
	knownFlavour = "kvm_pvm"
	knownText    = "lapic_read(LAPIC_ISR + 0x20) & (1u << (V_LEVEL - 0x40))"
	knownReason  = "the PVM host's in-kernel local APIC does not keep an accepted " +
		"interrupt in ISR (the bit reads 0 right after delivery and a level " +
		"interrupt comes again without an EOI); the svm test host's KVM passes"
)

func flavour(backend string) string {
	for _, b := range vmm.Backends() {
		if b.Name == backend {
			return b.Flavour
		}
	}
	return ""
}

// TestIOAPICMSIGuest runs the conformance guest ioapic_msi (manifest: 1
// vCPU, 64 MiB, irq device, exit:0 in 30 s) in a FlagIRQChip VM with the
// Go interrupt device: the guest checks edge, level (remote IRR, EOI),
// masked pins, MSIs and a storm, and prints a line per part received.
func TestIOAPICMSIGuest(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b string) {
		vm, err := vmm.NewVM(vmm.Config{VCPUs: 1, MemSize: 64 << 20, Backend: b,
			Flags: vmm.FlagIRQChip})
		if err != nil {
			t.Fatal(err)
		}
		defer vm.Close()
		var out strings.Builder
		if err := vm.SetSerial(&out); err != nil {
			t.Fatal(err)
		}
		dev := newIRQDev(vm)
		if err := vm.RegisterPIO(irqBase, irqLen, dev); err != nil {
			t.Fatal(err)
		}
		if err := vm.LoadELF(guest(t, "ioapic_msi"), ""); err != nil {
			t.Fatal(err)
		}
		res, err := vm.Run(timeout(t, 30*time.Second))
		dev.stopStorm()
		if err != nil {
			t.Fatalf("Run: %v (%s)\nserial:\n%s", err, res.Message, out.String())
		}
		got := out.String()
		if flavour(b) == knownFlavour && res.End == vmm.EndDebugExit && res.Code == 1 &&
			strings.Contains(got, knownText) {
			t.Skipf("NOT RUN ioapic_msi on %s (known end exit:1 with %q): %s",
				knownFlavour, knownText, knownReason)
		}
		if res.End != vmm.EndDebugExit || res.Code != 0 {
			t.Errorf("end %d code %d (%s), want debug exit 0", res.End, res.Code, res.Message)
		}
		if want := expected(t, "ioapic_msi"); got != want {
			t.Errorf("serial:\n%s\nwant:\n%s", got, want)
		}
		// The guest sent 12 LINE writes (3 pulses on pin 5, pin 7 up and down,
		// a pulse and a level on pin 9) and 4 MSIs itself; the storm goroutine
		// delivered at least one (the guest checked its count too).
		if dev.lines != 12 || dev.msis != 4 {
			t.Errorf("device saw %d LINE and %d MSI calls, want 12 and 4", dev.lines, dev.msis)
		}
		if !dev.stormSent.Load() || dev.stormErr.Load() != 0 {
			t.Errorf("storm: %d calls, %d failed, sent=%v", dev.stormCalls.Load(),
				dev.stormErr.Load(), dev.stormSent.Load())
		}
		t.Logf("%s: storm goroutine sent %d MSIs", b, dev.stormCalls.Load())
	})
}
