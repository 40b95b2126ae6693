//! Shared by the integration tests: guest paths and the conformance test
//! devices, written here from their specification in tests/guests/testdev.h.
#![allow(dead_code)]
use libvmm::{Error, ErrorKind, IrqSender, MmioAccess, PioAccess, Result};
use std::path::PathBuf;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

pub fn top() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

pub fn guest(name: &str) -> PathBuf {
    let dir = std::env::var("VMM_GUESTS").map(PathBuf::from).unwrap_or_else(|_| top().join("build/guests"));
    let p = dir.join(format!("{}.elf", name));
    assert!(p.exists(), "guest {} not built (make guests)", p.display());
    p
}

pub fn expected(name: &str) -> String {
    std::fs::read_to_string(top().join(format!("tests/guests/{}.expected", name))).unwrap()
}

pub const PIO_BASE: u16 = 0x500;
pub const MMIO_BASE: u64 = 0xd000_0000;
pub const MMIO_LEN: u64 = 0x1000;

fn mask32(size: u8) -> u32 {
    if size >= 4 {
        u32::MAX
    } else {
        (1u32 << (8 * size)) - 1
    }
}

fn inval() -> Error {
    Error::new(ErrorKind::InvalidArgument, "testdev: bad access")
}

#[derive(Default)]
pub struct PortDev {
    data: u32,
    seq_n: u32,
    sum: u32,
    count: u32,
}

impl PortDev {
    pub fn access(&mut self, a: PioAccess) -> Result<u32> {
        let (port, size) = (a.port, a.size);
        if port < PIO_BASE + 4 {
            if port as u32 + size as u32 > PIO_BASE as u32 + 4 {
                return Err(inval());
            }
            let shift = (port - PIO_BASE) as u32 * 8;
            let mask = mask32(size) << shift;
            return Ok(match a.write {
                Some(v) => {
                    self.data = (self.data & !mask) | ((v << shift) & mask);
                    0
                }
                None => ((self.data ^ 0x5a5a_5a5a) & mask) >> shift,
            });
        }
        match (port - PIO_BASE, a.write) {
            (4, Some(v)) => {
                self.sum = (self.sum.wrapping_mul(31).wrapping_add(v & mask32(size))) & 0xffff;
                self.count += 1;
                Ok(0)
            }
            (4, None) => {
                let n = self.seq_n;
                self.seq_n += 1;
                Ok(n.wrapping_mul(0x9e37_79b1).wrapping_add(0x0123_4567) & mask32(size))
            }
            (6, Some(_)) => {
                self.seq_n = 0;
                self.sum = 0;
                self.count = 0;
                Ok(0)
            }
            (6, None) if size == 2 => Ok(self.sum),
            (7, None) if size == 1 => Ok(self.count & 0xff),
            _ => Err(inval()),
        }
    }
}

pub struct MmioDev {
    mem: Vec<u8>,
    pub count: u64,
    last: u64,
}

impl Default for MmioDev {
    fn default() -> MmioDev {
        MmioDev::new()
    }
}

impl MmioDev {
    pub fn new() -> MmioDev {
        MmioDev {
            mem: (0..0xf00u32).map(|i| if i < 0x800 { (i * 13 + 7) as u8 } else { 0 }).collect(),
            count: 0,
            last: 0,
        }
    }

    pub fn access(&mut self, a: MmioAccess) -> Result<u64> {
        let off = a.addr - MMIO_BASE;
        let size = a.size as u64;
        let xor = (0x800..0xf00).contains(&off);
        let end = if xor { 0xf00 } else { 0x800 };
        let mut out = 0u64;
        if off < 0xf00 && off + size > end {
            return Err(inval());
        }
        if off >= 0xf00 {
            if size != 8 || (a.write.is_some() && off != 0xf10) {
                return Err(inval());
            }
            match off {
                0xf00 => return Ok(self.count),
                0xf08 => return Ok(self.last),
                0xf10 => out = 0x4d4d_494f_5445_5354,
                _ => return Err(inval()),
            }
        } else if let Some(v) = a.write {
            for i in 0..size {
                self.mem[(off + i) as usize] = (v >> (8 * i)) as u8;
            }
        } else {
            for i in (0..size).rev() {
                let b = self.mem[(off + i) as usize] ^ if xor { 0xa5 } else { 0 };
                out = out << 8 | b as u64;
            }
        }
        self.count += 1;
        self.last = off << 16 | size << 8 | a.write.is_some() as u64;
        Ok(out)
    }
}

/// The interrupt device (ports 0x520-0x52f; the runner's is
/// tests/conformance/src/irqdev.c): lines and MSIs through an IrqSender,
/// the storm from a thread.
pub const IRQ_BASE: u16 = 0x520;
pub const IRQ_LEN: u16 = 16;

#[derive(Default)]
pub struct Storm {
    pub addr: AtomicU32,
    pub data: AtomicU32,
    pub run: AtomicBool,
    pub sent: AtomicBool,
    pub calls: AtomicU64,
    pub failed: AtomicU64,
}

pub struct IrqDev {
    irq: IrqSender,
    t0: Instant,
    status: u32,
    pub lines: u32,
    pub msis: u32,
    pub storm: Arc<Storm>,
    thread: Option<JoinHandle<()>>,
}

fn status(r: Result<()>) -> u32 {
    r.is_err() as u32
}

impl IrqDev {
    pub fn new(irq: IrqSender) -> IrqDev {
        IrqDev { irq, t0: Instant::now(), status: 0, lines: 0, msis: 0, storm: Arc::default(), thread: None }
    }

    fn start_storm(&mut self) {
        if self.thread.is_some() {
            return;
        }
        let (s, irq) = (self.storm.clone(), self.irq.clone());
        s.run.store(true, SeqCst);
        self.thread = Some(std::thread::spawn(move || {
            while s.run.load(SeqCst) {
                s.calls.fetch_add(1, SeqCst);
                if irq.msi_send(s.addr.load(SeqCst) as u64, s.data.load(SeqCst)).is_ok() {
                    s.sent.store(true, SeqCst);
                } else {
                    s.failed.fetch_add(1, SeqCst);
                }
            }
        }));
    }

    /// Ends the storm thread and waits for it (also after the run).
    pub fn stop_storm(&mut self) {
        self.storm.run.store(false, SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }

    pub fn access(&mut self, a: PioAccess) -> Result<u32> {
        match (a.port, a.size, a.write) {
            (0x520, 4, None) => Ok(self.t0.elapsed().as_micros() as u32),
            (0x524, 1, None) => Ok(5),
            (0x525, 1, Some(v)) => {
                self.status = status(self.irq.irq_line(v & 0x1f, v >> 7 != 0));
                self.lines += 1;
                Ok(0)
            }
            (0x526, 1, None) => Ok(self.status),
            (0x527, 1, Some(v)) => {
                if v & 0xff != 0 {
                    self.start_storm();
                } else {
                    self.stop_storm();
                }
                Ok(0)
            }
            (0x527, 1, None) => Ok(self.storm.sent.load(SeqCst) as u32),
            (0x528, 4, Some(v)) => {
                self.storm.data.store(v, SeqCst);
                Ok(0)
            }
            (0x52c, 4, Some(v)) => {
                self.storm.addr.store(v, SeqCst); // the storm's address from now on
                self.status = status(self.irq.msi_send(v as u64, self.storm.data.load(SeqCst)));
                self.msis += 1;
                Ok(0)
            }
            _ => Err(inval()),
        }
    }
}
