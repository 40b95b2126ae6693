//! IrqSender: raising a VM's interrupts from device closures and other
//! threads, which cannot borrow the Vm.
use crate::error::{check, Error, ErrorKind, Result};
use libvmm_sys as ffi;
use std::sync::{Arc, RwLock};

struct Raw(*mut ffi::vmm_vm);

// SAFETY: vmm_irq_line and vmm_msi_send may be called from any thread at any
// time while the VM exists (vmm/irq.h); the RwLock keeps the pointer from
// being used once the Vm has been dropped.
unsafe impl Send for Raw {}
unsafe impl Sync for Raw {}

/// Raises interrupts in a [`Vm`](crate::Vm) (`vmm_irq_line`,
/// `vmm_msi_send`) from anywhere: `Clone + Send + Sync + 'static`, so a
/// device closure or a thread can own one. Get it with
/// [`Vm::irq_sender`](crate::Vm::irq_sender). Once the Vm is dropped its
/// calls fail with [`ErrorKind::State`]; dropping the Vm waits for a call in
/// progress.
#[derive(Clone)]
pub struct IrqSender(Arc<RwLock<Raw>>);

impl IrqSender {
    pub(crate) fn new(raw: *mut ffi::vmm_vm) -> IrqSender {
        IrqSender(Arc::new(RwLock::new(Raw(raw))))
    }

    /// Called by Vm::drop before vmm_vm_destroy.
    pub(crate) fn close(&self) {
        self.0.write().unwrap_or_else(|e| e.into_inner()).0 = std::ptr::null_mut();
    }

    fn with(&self, f: impl FnOnce(*mut ffi::vmm_vm) -> i32) -> Result<()> {
        let g = self.0.read().unwrap_or_else(|e| e.into_inner());
        if g.0.is_null() {
            return Err(Error::new(ErrorKind::State, "IrqSender: the VM has been dropped"));
        }
        check(f(g.0))
    }

    /// Sets interrupt line gsi (0..=23); needs [`flags::IRQCHIP`](crate::flags::IRQCHIP).
    pub fn irq_line(&self, gsi: u32, level: bool) -> Result<()> {
        // SAFETY: the VM is live while the read lock is held (see Raw).
        self.with(|vm| unsafe { ffi::vmm_irq_line(vm, gsi, level as u32) })
    }

    /// Sends a message-signalled interrupt (addr in 0xfee00000..=0xfeefffff).
    pub fn msi_send(&self, addr: u64, data: u32) -> Result<()> {
        // SAFETY: as above.
        self.with(|vm| unsafe { ffi::vmm_msi_send(vm, addr, data) })
    }
}
