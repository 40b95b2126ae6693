//! Shared by the integration tests: guest paths and the conformance test
//! devices, written here from their specification in tests/guests/testdev.h.
#![allow(dead_code)]
use libvmm::{Error, ErrorKind, MmioAccess, PioAccess, Result};
use std::path::PathBuf;

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
