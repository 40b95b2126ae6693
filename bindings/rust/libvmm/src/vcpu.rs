//! Vcpu: one virtual CPU, borrowed from its Vm.
use crate::error::{check, cstr, Error, ErrorKind, Result};
use crate::vm::Vm;
use libvmm_sys as ffi;
use std::marker::PhantomData;
use std::os::raw::c_char;

/// General-purpose registers.
pub type Regs = ffi::vmm_regs;
/// System registers.
pub type SRegs = ffi::vmm_sregs;
/// A segment register.
pub type Segment = ffi::vmm_segment;

/// Why [`Vcpu::run`] returned. The fields are those of `vmm_exit`.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// Port I/O nobody registered. For IN (`write: None`), answer with
    /// [`Vcpu::respond`] before running again.
    Io { port: u16, size: u8, write: Option<u32> },
    /// Access to unmapped or read-only memory; answer reads with respond.
    Mmio { addr: u64, size: u8, write: Option<u64> },
    /// HLT.
    Hlt,
    /// Triple fault.
    Shutdown,
    /// VMCALL/VMMCALL; respond sets the guest's RAX.
    Hypercall { nr: u64, args: [u64; 4] },
    /// [`Kicker::kick`].
    Cancelled,
    /// Cannot continue.
    InternalError { suberror: u32, message: String },
    /// The hardware refused to enter the guest.
    FailEntry { hardware_reason: u64 },
    /// Power-off, reset or crash (`VMM_EVENT_*`).
    SystemEvent { kind: u32, data: u64 },
    /// The guest wrote `code` to port 0xf4.
    DebugExit { code: u32 },
    /// A reason this crate does not know.
    Other(u32),
}

/// A vCPU of a [`Vm`]. At most one `Vcpu` per index exists at a time and it
/// is driven through `&mut self`, matching libvmm's rule that one thread at
/// a time runs a vCPU; it is `Send`, so that thread can be any thread. The
/// borrow of the Vm makes a use after the Vm is dropped impossible:
///
/// ```compile_fail
/// let mut vm = libvmm::Vm::new(&libvmm::Config::new().backend("emu")).unwrap();
/// vm.load_elf("hello.elf", None).unwrap();
/// let mut cpu = vm.vcpu(0).unwrap();
/// drop(vm);          // error: vm is still borrowed by cpu
/// cpu.run().unwrap();
/// ```
pub struct Vcpu<'vm> {
    vm: &'vm Vm,
    raw: *mut ffi::vmm_vcpu,
    index: u32,
    exit: *mut ffi::vmm_exit,
}

// SAFETY: a vCPU may be driven from any thread, one at a time (&mut self);
// the &self methods (index, kicker) are safe from any thread.
unsafe impl Send for Vcpu<'_> {}
unsafe impl Sync for Vcpu<'_> {}

/// Kicks one vCPU out of [`Vcpu::run`] from any thread (`vmm_vcpu_kick`).
/// It borrows the Vm, so it cannot outlive it.
#[derive(Clone, Copy)]
pub struct Kicker<'vm> {
    raw: *mut ffi::vmm_vcpu,
    _vm: PhantomData<&'vm Vm>,
}

// SAFETY: vmm_vcpu_kick may be called from any thread at any time.
unsafe impl Send for Kicker<'_> {}
unsafe impl Sync for Kicker<'_> {}

impl Kicker<'_> {
    /// Makes a running (or the next) [`Vcpu::run`] return [`Exit::Cancelled`].
    pub fn kick(&self) -> Result<()> {
        // SAFETY: the VM (and so the vCPU) outlives 'vm.
        check(unsafe { ffi::vmm_vcpu_kick(self.raw) })
    }
}

impl<'vm> Vcpu<'vm> {
    pub(crate) fn new(vm: &'vm Vm, raw: *mut ffi::vmm_vcpu, index: u32) -> Vcpu<'vm> {
        Vcpu { vm, raw, index, exit: std::ptr::null_mut() }
    }

    /// The vCPU's index.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// A handle that kicks this vCPU from another thread.
    pub fn kicker(&self) -> Kicker<'vm> {
        Kicker { raw: self.raw, _vm: PhantomData }
    }

    /// Reads the general-purpose registers.
    pub fn regs(&mut self) -> Result<Regs> {
        let mut r = Regs::default();
        // SAFETY: r is a valid vmm_regs.
        check(unsafe { ffi::vmm_vcpu_get_regs(self.raw, &mut r) })?;
        Ok(r)
    }

    /// Writes the general-purpose registers.
    pub fn set_regs(&mut self, r: &Regs) -> Result<()> {
        // SAFETY: r is a valid vmm_regs.
        check(unsafe { ffi::vmm_vcpu_set_regs(self.raw, r) })
    }

    /// Reads the system registers.
    pub fn sregs(&mut self) -> Result<SRegs> {
        let mut r = SRegs::default();
        // SAFETY: r is a valid vmm_sregs.
        check(unsafe { ffi::vmm_vcpu_get_sregs(self.raw, &mut r) })?;
        Ok(r)
    }

    /// Writes the system registers.
    pub fn set_sregs(&mut self, r: &SRegs) -> Result<()> {
        // SAFETY: r is a valid vmm_sregs.
        check(unsafe { ffi::vmm_vcpu_set_sregs(self.raw, r) })
    }

    /// Runs the vCPU on this thread until an exit libvmm does not handle.
    pub fn run(&mut self) -> Result<Exit> {
        let mut x = std::ptr::null_mut();
        // SAFETY: &mut self: this is the only thread driving the vCPU.
        check(unsafe { ffi::vmm_vcpu_run(self.raw, &mut x) })?;
        self.exit = x;
        // SAFETY: x points into the vCPU and stays valid until the next run.
        let e = unsafe { &*x };
        Ok(match e.reason {
            ffi::VMM_EXIT_IO => Exit::Io {
                port: e.io.port,
                size: e.io.size,
                write: if e.io.direction == ffi::VMM_IO_OUT as u8 { Some(e.io.data) } else { None },
            },
            ffi::VMM_EXIT_MMIO => Exit::Mmio {
                addr: e.mmio.addr,
                size: e.mmio.size,
                write: if e.mmio.is_write != 0 { Some(e.mmio.data) } else { None },
            },
            ffi::VMM_EXIT_HLT => Exit::Hlt,
            ffi::VMM_EXIT_SHUTDOWN => Exit::Shutdown,
            ffi::VMM_EXIT_HYPERCALL => Exit::Hypercall { nr: e.hypercall.nr, args: e.hypercall.args },
            ffi::VMM_EXIT_CANCELLED => Exit::Cancelled,
            ffi::VMM_EXIT_INTERNAL_ERROR => Exit::InternalError {
                suberror: e.internal.suberror,
                // SAFETY: libvmm NUL-terminates the message.
                message: unsafe { cstr(e.internal.message.as_ptr() as *const c_char) },
            },
            ffi::VMM_EXIT_FAIL_ENTRY => Exit::FailEntry { hardware_reason: e.fail_entry.hardware_reason },
            ffi::VMM_EXIT_SYSTEM_EVENT => {
                Exit::SystemEvent { kind: e.system_event.type_, data: e.system_event.data }
            }
            ffi::VMM_EXIT_DEBUG_EXIT => Exit::DebugExit { code: e.debug_exit.code },
            r => Exit::Other(r),
        })
    }

    /// Answers the last exit: the value of a port IN or MMIO read, or a
    /// hypercall's result. `State` if the last exit takes no answer.
    pub fn respond(&mut self, value: u64) -> Result<()> {
        if self.exit.is_null() {
            return Err(Error::new(ErrorKind::State, "respond: the vCPU has not exited yet"));
        }
        // SAFETY: exit stays valid until the next run, which needs &mut self.
        let e = unsafe { &mut *self.exit };
        match e.reason {
            ffi::VMM_EXIT_IO if e.io.direction == ffi::VMM_IO_IN as u8 => e.io.data = value as u32,
            ffi::VMM_EXIT_MMIO if e.mmio.is_write == 0 => e.mmio.data = value,
            ffi::VMM_EXIT_HYPERCALL => e.hypercall.ret = value,
            r => {
                return Err(Error::new(ErrorKind::State, format!("respond: exit {} takes no answer", r)));
            }
        }
        Ok(())
    }
}

impl Drop for Vcpu<'_> {
    fn drop(&mut self) {
        self.vm.release_vcpu(self.index);
    }
}
