//! Device closures behind libvmm's C callbacks.
//!
//! Each closure lives in a boxed slot owned by the Vm; the slot's address is
//! the callback's opaque pointer. Callbacks run on vCPU threads, possibly
//! several at once, so each closure sits behind a Mutex (accesses to one
//! device are serialised) and must be Send. A panic is caught at the FFI
//! boundary (unwinding into C is undefined) and stops the vCPU with an
//! internal error.
use crate::error::{Error, Result};
use libvmm_sys as ffi;
use std::os::raw::{c_char, c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;

/// One port access given to a device closure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PioAccess {
    /// The vCPU that made it.
    pub vcpu: u32,
    /// The port.
    pub port: u16,
    /// 1, 2 or 4 bytes.
    pub size: u8,
    /// `Some(value)` for OUT, `None` for IN (return the value).
    pub write: Option<u32>,
}

/// One MMIO access given to a device closure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MmioAccess {
    /// The vCPU that made it.
    pub vcpu: u32,
    /// Guest-physical address.
    pub addr: u64,
    /// 1, 2, 4 or 8 bytes.
    pub size: u8,
    /// `Some(value)` for a write, `None` for a read (return the value).
    pub write: Option<u64>,
}

/// Anything a Vm keeps alive for libvmm's callbacks.
pub(crate) trait Slot: Send + Sync {}

type PioFn = Box<dyn FnMut(PioAccess) -> Result<u32> + Send>;
type MmioFn = Box<dyn FnMut(MmioAccess) -> Result<u64> + Send>;
type SerialFn = Box<dyn FnMut(&[u8]) + Send>;

pub(crate) struct PioSlot(Mutex<PioFn>);
pub(crate) struct MmioSlot(Mutex<MmioFn>);
pub(crate) struct SerialSlot(Mutex<SerialFn>);

impl PioSlot {
    pub(crate) fn new(f: PioFn) -> PioSlot {
        PioSlot(Mutex::new(f))
    }
}
impl MmioSlot {
    pub(crate) fn new(f: MmioFn) -> MmioSlot {
        MmioSlot(Mutex::new(f))
    }
}
impl SerialSlot {
    pub(crate) fn new(f: SerialFn) -> SerialSlot {
        SerialSlot(Mutex::new(f))
    }
}
impl Slot for PioSlot {}
impl Slot for MmioSlot {}
impl Slot for SerialSlot {}

/// Calls f under the slot's lock; maps errors and panics to VMM_E* codes.
fn call<F, T>(lock: &Mutex<F>, f: impl FnOnce(&mut F) -> Result<T>) -> std::result::Result<T, c_int> {
    let r = catch_unwind(AssertUnwindSafe(|| {
        let mut g = lock.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut g)
    }));
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(code_of(&e)),
        Err(_) => Err(ffi::VMM_EINTERNAL),
    }
}

fn code_of(e: &Error) -> c_int {
    if e.code() < 0 {
        e.code()
    } else {
        ffi::VMM_EIO
    }
}

pub(crate) unsafe extern "C" fn pio_tramp(
    opaque: *mut c_void,
    vcpu: *mut ffi::vmm_vcpu,
    port: u16,
    size: u8,
    is_write: u8,
    data: *mut u32,
) -> c_int {
    let slot = &*(opaque as *const PioSlot);
    let acc = PioAccess {
        vcpu: ffi::vmm_vcpu_index(vcpu),
        port,
        size,
        write: if is_write != 0 { Some(*data) } else { None },
    };
    match call(&slot.0, |f| f(acc)) {
        Ok(v) => {
            if is_write == 0 {
                *data = v;
            }
            0
        }
        Err(c) => c,
    }
}

pub(crate) unsafe extern "C" fn mmio_tramp(
    opaque: *mut c_void,
    vcpu: *mut ffi::vmm_vcpu,
    addr: u64,
    size: u8,
    is_write: u8,
    data: *mut u64,
) -> c_int {
    let slot = &*(opaque as *const MmioSlot);
    let acc = MmioAccess {
        vcpu: ffi::vmm_vcpu_index(vcpu),
        addr,
        size,
        write: if is_write != 0 { Some(*data) } else { None },
    };
    match call(&slot.0, |f| f(acc)) {
        Ok(v) => {
            if is_write == 0 {
                *data = v;
            }
            0
        }
        Err(c) => c,
    }
}

pub(crate) unsafe extern "C" fn serial_tramp(opaque: *mut c_void, buf: *const c_char, len: ffi::size_t) {
    let slot = &*(opaque as *const SerialSlot);
    let bytes = std::slice::from_raw_parts(buf as *const u8, len as usize);
    let _ = call(&slot.0, |f| {
        f(bytes);
        Ok(())
    });
}
