//! Run x86-64 virtual machines inside your process: the safe Rust binding
//! of [libvmm](https://libvmm.dev), on its software CPU (`emu`) or Linux KVM.
//!
//! ```no_run
//! use libvmm::{Config, End, Vm};
//! use std::time::Duration;
//!
//! let mut vm = Vm::new(&Config::new().backend("emu").mem_size(16 << 20))?;
//! let out = vm.capture_serial()?;
//! vm.register_mmio(0xd000_0000, 0x1000, |acc| Ok(acc.addr))?; // a device closure
//! vm.load_elf("guest.elf", None)?;
//! let res = vm.run(Some(Duration::from_secs(5)))?;
//! assert_eq!(res.end, End::DebugExit);
//! print!("{}", String::from_utf8_lossy(&out.lock().unwrap()));
//! # Ok::<(), libvmm::Error>(())
//! ```
//!
//! Ownership follows the C API's rules: a [`Vm`] owns its vCPUs and device
//! closures and frees them on drop; a [`Vcpu`] and a [`Kicker`] borrow the
//! Vm; methods that must not race with running vCPUs (mapping, devices,
//! loading, [`Vm::run`]) take `&mut Vm`. Every failure is an [`Error`]
//! carrying libvmm's code and message.
#![warn(missing_docs)]

mod device;
mod error;
mod region;
mod vcpu;
mod vm;

pub use device::{MmioAccess, PioAccess};
pub use error::{Error, ErrorKind, Result};
pub use libvmm_sys as sys;
pub use region::Region;
pub use vcpu::{Exit, Kicker, Regs, SRegs, Segment, Vcpu};
pub use vm::{flags, prot, Config, End, LinuxOptions, RunResult, Vm};

use error::cstr;

/// libvmm's version ("1.0.0").
pub fn version() -> String {
    // SAFETY: a static string.
    unsafe { cstr(sys::vmm_version()) }
}

/// One backend built into libvmm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendInfo {
    /// "emu", "kvm".
    pub name: String,
    /// "x86-64", "kvm_intel", "kvm_amd", "kvm_pvm".
    pub flavour: String,
    /// Whether a VM can be created on it here.
    pub usable: bool,
    /// Why not, or notes.
    pub reason: String,
}

/// The backends built into libvmm, in order.
pub fn backends() -> Vec<BackendInfo> {
    let mut out = Vec::new();
    for i in 0.. {
        let mut info = sys::vmm_backend_info {
            size: std::mem::size_of::<sys::vmm_backend_info>() as u32,
            ..Default::default()
        };
        // SAFETY: info is a valid, sized vmm_backend_info.
        if unsafe { sys::vmm_backends(i, &mut info) } != 0 {
            break;
        }
        // SAFETY: libvmm NUL-terminates the fields.
        unsafe {
            out.push(BackendInfo {
                name: cstr(info.name.as_ptr()),
                flavour: cstr(info.flavour.as_ptr()),
                usable: info.usable != 0,
                reason: cstr(info.reason.as_ptr()),
            });
        }
    }
    out
}
