//! Real guests on the emu backend and, in the kvm_* tests, on kvm (make
//! rust-test skips those where kvm is not usable and says so).
mod common;

use common::*;
use libvmm::{flags, prot, Config, End, ErrorKind, Exit, LinuxOptions, Region, Vm};
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn run_hello(backend: &str) {
    let mut vm = Vm::new(&Config::new().backend(backend).vcpus(2)).unwrap();
    assert_eq!(vm.backend(), backend);
    let out = vm.capture_serial().unwrap();
    vm.load_elf(guest("hello"), None).unwrap();
    let res = vm.run(Some(Duration::from_secs(60))).unwrap();
    assert_eq!(res.end, End::Halted, "{}", res.message);
    assert_eq!(String::from_utf8_lossy(&out.lock().unwrap()), expected("hello"));
}

#[test]
fn hello_serial() {
    run_hello("emu");
}

#[test]
fn hide_cpu_features() {
    let mut vm = Vm::new(&Config::new().backend("emu")).unwrap();
    assert_eq!(vm.hide_cpu_features("nope").unwrap_err().kind(), ErrorKind::InvalidArgument);
    vm.hide_cpu_features("pcid,invpcid").unwrap();
    let out = vm.capture_serial().unwrap();
    vm.load_elf(guest("hello"), None).unwrap();
    assert_eq!(vm.hide_cpu_features("pcid").unwrap_err().kind(), ErrorKind::Busy);
    let res = vm.run(Some(Duration::from_secs(60))).unwrap();
    assert_eq!(res.end, End::Halted, "{}", res.message);
    assert_eq!(String::from_utf8_lossy(&out.lock().unwrap()), expected("hello"));
}

#[test]
fn kvm_hello_serial() {
    run_hello("kvm");
}

fn run_mmio_device(backend: &str) {
    let mut vm = Vm::new(&Config::new().backend(backend)).unwrap();
    let out = vm.capture_serial().unwrap();
    let dev = Arc::new(Mutex::new(MmioDev::new()));
    let d = dev.clone();
    vm.register_mmio(MMIO_BASE, MMIO_LEN, move |a| d.lock().unwrap().access(a)).unwrap();
    vm.load_elf(guest("mmio"), None).unwrap();
    let res = vm.run(Some(Duration::from_secs(120))).unwrap();
    assert_eq!((res.end, res.code), (End::DebugExit, 0), "{}", res.message);
    assert_eq!(String::from_utf8_lossy(&out.lock().unwrap()), expected("mmio"));
    assert!(dev.lock().unwrap().count > 40);
}

#[test]
fn closure_mmio_device() {
    run_mmio_device("emu");
}

#[test]
fn kvm_closure_mmio_device() {
    run_mmio_device("kvm");
}

#[test]
fn closure_port_device() {
    let mut vm = Vm::new(&Config::new().backend("emu")).unwrap();
    let out = vm.capture_serial().unwrap();
    let mut dev = PortDev::default();
    vm.register_pio(PIO_BASE, 8, move |a| dev.access(a)).unwrap();
    vm.load_elf(guest("pio"), None).unwrap();
    let res = vm.run(Some(Duration::from_secs(60))).unwrap();
    assert_eq!((res.end, res.code), (End::DebugExit, 0), "{}", res.message);
    assert_eq!(String::from_utf8_lossy(&out.lock().unwrap()), expected("pio"));
}

/// The same port device driven from a hand-written exit loop: IN exits
/// answered with Vcpu::respond, unclaimed ports with all ones.
#[test]
fn exit_loop_with_respond() {
    let mut vm = Vm::new(&Config::new().backend("emu")).unwrap();
    let out = vm.capture_serial().unwrap();
    vm.load_elf(guest("pio"), None).unwrap();
    let mut cpu = vm.vcpu(0).unwrap();
    let mut dev = PortDev::default();
    let code = loop {
        match cpu.run().unwrap() {
            Exit::Io { port, size, write } if (PIO_BASE..PIO_BASE + 8).contains(&port) => {
                let v = dev.access(libvmm::PioAccess { vcpu: 0, port, size, write }).unwrap();
                if write.is_none() {
                    cpu.respond(v as u64).unwrap();
                }
            }
            Exit::Io { size, write: None, .. } => cpu.respond((1u64 << (8 * size)) - 1).unwrap(),
            Exit::Io { .. } => {}
            Exit::DebugExit { code } => break code,
            e => panic!("unexpected exit {:?}", e),
        }
    };
    assert_eq!(code, 0);
    assert_eq!(cpu.respond(1).unwrap_err().kind(), ErrorKind::State);
    drop(cpu);
    assert_eq!(String::from_utf8_lossy(&out.lock().unwrap()), expected("pio"));
}

#[test]
fn concurrent_vms_on_threads() {
    let names = ["mmio", "arith", "pio", "mmio"];
    std::thread::scope(|s| {
        let handles: Vec<_> = names
            .iter()
            .map(|&name| {
                s.spawn(move || {
                    let mut vm = Vm::new(&Config::new().backend("emu")).unwrap();
                    let out = vm.capture_serial().unwrap();
                    let mut m = MmioDev::new();
                    let mut p = PortDev::default();
                    vm.register_mmio(MMIO_BASE, MMIO_LEN, move |a| m.access(a)).unwrap();
                    vm.register_pio(PIO_BASE, 8, move |a| p.access(a)).unwrap();
                    vm.load_elf(guest(name), None).unwrap();
                    let res = vm.run(Some(Duration::from_secs(120))).unwrap();
                    let text = String::from_utf8_lossy(&out.lock().unwrap()).into_owned();
                    (name, res, text)
                })
            })
            .collect();
        for h in handles {
            let (name, res, text) = h.join().unwrap();
            assert_eq!((res.end, res.code), (End::DebugExit, 0), "{}: {}", name, res.message);
            assert_eq!(text, expected(name), "{}", name);
        }
    });
}

fn kick_running_vcpu(backend: &str) {
    let mut vm = Vm::new(&Config::new().backend(backend)).unwrap();
    vm.load_elf(guest("loop"), None).unwrap();
    let mut cpu = vm.vcpu(0).unwrap();
    let kicker = cpu.kicker();
    std::thread::scope(|s| {
        let t = s.spawn(move || loop {
            if let Exit::Cancelled = cpu.run().unwrap() {
                return cpu;
            }
        });
        std::thread::sleep(Duration::from_millis(200));
        let start = Instant::now();
        kicker.kick().unwrap();
        let cpu = t.join().unwrap();
        assert!(start.elapsed() < Duration::from_secs(20));
        assert_eq!(cpu.index(), 0);
    });
}

#[test]
fn kick_from_another_thread() {
    kick_running_vcpu("emu");
}

#[test]
fn kvm_kick_from_another_thread() {
    kick_running_vcpu("kvm");
}

#[test]
fn run_timeout() {
    let mut vm = Vm::new(&Config::new().backend("emu")).unwrap();
    let out = vm.capture_serial().unwrap();
    vm.load_elf(guest("loop"), None).unwrap();
    let start = Instant::now();
    let res = vm.run(Some(Duration::from_millis(200))).unwrap();
    assert_eq!(res.end, End::Timeout);
    assert!(start.elapsed() >= Duration::from_millis(200));
    assert_eq!(String::from_utf8_lossy(&out.lock().unwrap()), "loop: spinning\n");
}

#[test]
fn bad_input_is_an_error() {
    let kind = |c: Config| Vm::new(&c).err().map(|e| (e.kind(), e.message().is_empty()));
    assert_eq!(kind(Config::new().vcpus(1000)), Some((ErrorKind::InvalidArgument, false)));
    assert_eq!(kind(Config::new().backend("nope")), Some((ErrorKind::NotFound, false)));
    assert_eq!(kind(Config::new().backend("emu").mem_size(1 << 62)), Some((ErrorKind::OutOfMemory, false)));
    assert_eq!(kind(Config::new().backend("em\0u")), Some((ErrorKind::InvalidArgument, false)));

    let mut vm = Vm::new(&Config::new().backend("emu").mem_size(2 << 20)).unwrap();
    let e = vm.load_elf("/nonexistent/guest.elf", None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.to_string().contains("/nonexistent/guest.elf"), "{}", e);
    assert_eq!(vm.load_elf_bytes(b"not an ELF image at all", None).unwrap_err().kind(), ErrorKind::BadImage);
    let mut buf = [0u8; 8];
    assert_eq!(vm.read(4 << 20, &mut buf).unwrap_err().kind(), ErrorKind::OutOfRange);
    assert_eq!(vm.write((2 << 20) - 4, &buf).unwrap_err().kind(), ErrorKind::OutOfRange);
    assert_eq!(vm.map(0x1000_0123, 4096, prot::RW).unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(vm.map(0, 4096, prot::RW).unwrap_err().kind(), ErrorKind::Exists);
    assert_eq!(vm.irq_line(4, true).unwrap_err().kind(), ErrorKind::State);
    assert_eq!(vm.msi_send(0xfee0_0000, 0x30).unwrap_err().kind(), ErrorKind::State);
    assert_eq!(vm.vcpu(0).err().unwrap().kind(), ErrorKind::NotFound);
    assert_eq!(vm.vcpu(64).err().unwrap().kind(), ErrorKind::NotFound);
    assert_eq!(vm.run(None).unwrap_err().kind(), ErrorKind::State);
    vm.register_pio(0x600, 4, |_| Ok(0)).unwrap();
    assert_eq!(vm.register_pio(0x602, 1, |_| Ok(0)).unwrap_err().kind(), ErrorKind::Exists);
    assert_eq!(vm.load_elf("a\0b", None).unwrap_err().kind(), ErrorKind::InvalidArgument);
}

fn irq_line_with_irqchip(backend: &str) {
    let vm = match Vm::new(&Config::new().backend(backend).flags(flags::IRQCHIP)) {
        Ok(vm) => vm,
        // Where the interrupt platform has not landed, libvmm refuses the flag.
        Err(e) => {
            assert!(matches!(e.kind(), ErrorKind::InvalidArgument | ErrorKind::NotSupported), "{:?}", e);
            return;
        }
    };
    assert_eq!(vm.irq_line(24, true).unwrap_err().kind(), ErrorKind::OutOfRange);
    assert_eq!(vm.msi_send(0x1000, 0x30).unwrap_err().kind(), ErrorKind::InvalidArgument);
    match vm.irq_line(4, true) {
        Ok(()) => vm.irq_line(4, false).unwrap(),
        // The controllers are not on this backend yet: a clear error.
        Err(e) => assert_eq!(e.kind(), ErrorKind::NotSupported, "{}", e),
    }
}

#[test]
fn irq_line_errors() {
    irq_line_with_irqchip("emu");
}

#[test]
fn kvm_irq_line_errors() {
    irq_line_with_irqchip("kvm");
}

#[test]
fn load_linux_errors() {
    fn vm_kind(vm: &mut Vm, o: LinuxOptions) -> ErrorKind {
        vm.load_linux(&o).unwrap_err().kind()
    }
    let mut vm = Vm::new(&Config::new().backend("emu")).unwrap();
    assert_eq!(vm_kind(&mut vm, LinuxOptions::default()), ErrorKind::InvalidArgument);
    let missing = LinuxOptions { kernel: Some("/nonexistent/bzImage".into()), ..Default::default() };
    assert_eq!(vm_kind(&mut vm, missing), ErrorKind::NotFound);
    let junk = b"not a kernel ".repeat(400);
    let o = LinuxOptions { kernel_data: Some(&junk), cmdline: Some("console=ttyS0".into()), ..Default::default() };
    assert_eq!(vm_kind(&mut vm, o), ErrorKind::BadImage);
}

#[test]
fn one_vcpu_handle_at_a_time() {
    let mut vm = Vm::new(&Config::new().backend("emu").vcpus(2)).unwrap();
    vm.load_elf(guest("hello"), None).unwrap();
    let mut a = vm.vcpu(0).unwrap();
    assert_eq!(vm.vcpu(0).err().unwrap().kind(), ErrorKind::Busy);
    let mut b = vm.vcpu(1).unwrap();
    // The ELF64 loader's contract: RDI = index, RSI = count, long mode.
    let (ra, rb) = (a.regs().unwrap(), b.regs().unwrap());
    assert_eq!((ra.rdi, ra.rsi, rb.rdi, rb.rsi), (0, 2, 1, 2));
    assert!(ra.rip >= 0x10_0000);
    let s = a.sregs().unwrap();
    assert!(s.efer & (1 << 10) != 0 && s.cs.l == 1);
    drop(a);
    let a = vm.vcpu(0).unwrap();
    assert_eq!(a.index(), 0);
}

#[test]
fn failing_and_panicking_devices_stop_the_guest() {
    for panics in [false, true] {
        let mut vm = Vm::new(&Config::new().backend("emu")).unwrap();
        vm.register_mmio(MMIO_BASE, MMIO_LEN, move |_| {
            if panics {
                panic!("device bug");
            }
            Err(libvmm::Error::new(ErrorKind::Io, "device says no"))
        })
        .unwrap();
        vm.load_elf(guest("mmio"), None).unwrap();
        let res = vm.run(Some(Duration::from_secs(60))).unwrap();
        assert_eq!(res.end, End::InternalError, "{}", res.message);
    }
}

#[test]
fn shared_region() {
    let r = Region::new(1 << 20).unwrap();
    let mut a = Vm::new(&Config::new().backend("emu").mem_size(2 << 20)).unwrap();
    let mut b = Vm::new(&Config::new().backend("emu").mem_size(2 << 20)).unwrap();
    a.share(&r, 0x4000_0000, 0, 1 << 20, prot::RW).unwrap();
    b.share(&r, 0x4000_0000, 0, 1 << 20, prot::RW).unwrap();
    r.write(100, b"from the host").unwrap();
    a.write(0x4000_0000 + 200, b"from vm a").unwrap();
    let mut buf = [0u8; 13];
    b.read(0x4000_0000 + 100, &mut buf).unwrap();
    assert_eq!(&buf, b"from the host");
    let mut buf = [0u8; 9];
    r.read(200, &mut buf).unwrap();
    assert_eq!(&buf, b"from vm a");
    assert_eq!(r.read((1 << 20) - 4, &mut buf).unwrap_err().kind(), ErrorKind::OutOfRange);
    drop(r); // the VMs keep the memory alive
    let mut buf = [0u8; 13];
    b.read(0x4000_0000 + 100, &mut buf).unwrap();
    assert_eq!(&buf, b"from the host");
}

#[test]
fn version_and_backends() {
    assert_eq!(libvmm::version(), "1.0.0");
    let b = libvmm::backends();
    assert_eq!(b[0].name, "emu");
    assert!(b[0].usable);
    assert_eq!(b[1].name, "kvm");
}

// The manifest's `known` line for ioapic_msi (tests/guests/manifest).
const KNOWN_FLAVOUR: &str = "kvm_pvm";
const KNOWN_TEXT: &str = "lapic_read(LAPIC_ISR + 0x20) & (1u << (V_LEVEL - 0x40))";
const KNOWN_REASON: &str = "the PVM host's in-kernel local APIC does not keep an accepted interrupt \
     in ISR (the bit reads 0 right after delivery and a level interrupt comes again without an EOI); \
     the svm test host's KVM passes";

/// The conformance guest ioapic_msi (manifest: 1 vCPU, 64 MiB, irq device,
/// exit:0 in 30 s) in an IRQCHIP VM with the interrupt device as a closure
/// raising lines and MSIs through an IrqSender, the storm from a thread.
fn run_ioapic_msi(backend: &str) {
    let mut vm =
        Vm::new(&Config::new().backend(backend).vcpus(1).mem_size(64 << 20).flags(flags::IRQCHIP)).unwrap();
    let out = vm.capture_serial().unwrap();
    let dev = Arc::new(Mutex::new(IrqDev::new(vm.irq_sender())));
    let d = dev.clone();
    vm.register_pio(IRQ_BASE, IRQ_LEN, move |a| d.lock().unwrap().access(a)).unwrap();
    vm.load_elf(guest("ioapic_msi"), None).unwrap();
    let res = vm.run(Some(Duration::from_secs(30))).unwrap();
    let mut dev = dev.lock().unwrap();
    dev.stop_storm();
    let got = String::from_utf8_lossy(&out.lock().unwrap()).into_owned();
    if vm.flavour() == KNOWN_FLAVOUR && (res.end, res.code) == (End::DebugExit, 1) && got.contains(KNOWN_TEXT)
    {
        eprintln!("NOT RUN {}/ioapic_msi (known end exit:1 on {}): {}", backend, KNOWN_FLAVOUR, KNOWN_REASON);
        return;
    }
    assert_eq!((res.end, res.code), (End::DebugExit, 0), "{}\nserial:\n{}", res.message, got);
    assert_eq!(got, expected("ioapic_msi"));
    // 12 LINE writes (3 pulses on pin 5, pin 7 up and down, a pulse and a
    // level on pin 9) and 4 MSIs from the vCPU; the storm thread's MSIs all
    // succeeded and at least one was sent (the guest counted them too).
    assert_eq!((dev.lines, dev.msis), (12, 4));
    let s = &dev.storm;
    assert!(
        s.sent.load(SeqCst) && s.failed.load(SeqCst) == 0,
        "storm: {} calls, {} failed",
        s.calls.load(SeqCst),
        s.failed.load(SeqCst)
    );
}

#[test]
fn ioapic_msi_guest() {
    run_ioapic_msi("emu");
}

#[test]
fn kvm_ioapic_msi_guest() {
    run_ioapic_msi("kvm");
}

/// An IrqSender outlives its Vm safely: its calls then fail with State.
#[test]
fn irq_sender_after_drop() {
    let vm = Vm::new(&Config::new().backend("emu").flags(flags::IRQCHIP)).unwrap();
    let irq = vm.irq_sender();
    irq.irq_line(4, true).unwrap();
    irq.irq_line(4, false).unwrap();
    assert_eq!(irq.irq_line(24, true).unwrap_err().kind(), ErrorKind::OutOfRange);
    assert_eq!(irq.msi_send(0x1000, 0x30).unwrap_err().kind(), ErrorKind::InvalidArgument);
    std::thread::spawn(move || irq.msi_send(0xfee0_0000, 0x30)).join().unwrap().unwrap();
    let irq = vm.irq_sender();
    drop(vm);
    assert_eq!(irq.irq_line(4, true).unwrap_err().kind(), ErrorKind::State);
    assert_eq!(irq.msi_send(0xfee0_0000, 0x30).unwrap_err().kind(), ErrorKind::State);
}
