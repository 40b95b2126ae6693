//! Vm: an owned virtual machine, its memory, devices and runner.
use crate::device::{self, MmioAccess, PioAccess, Slot};
use crate::error::{check, cstr, Error, ErrorKind, Result};
use crate::irq::IrqSender;
use crate::vcpu::Vcpu;
use crate::Region;
use libvmm_sys as ffi;
use std::ffi::CString;
use std::os::raw::{c_char, c_void};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// VM flags (`VMM_VM_*`), or-ed into [`Config::flags`].
pub mod flags {
    use libvmm_sys as ffi;
    /// No built-in 16550 UART at 0x3f8.
    pub const NO_UART: u32 = ffi::VMM_VM_NO_UART;
    /// No built-in debug exit device at port 0xf4.
    pub const NO_DEBUG_EXIT: u32 = ffi::VMM_VM_NO_DEBUG_EXIT;
    /// PC interrupt controllers and timers.
    pub const IRQCHIP: u32 = ffi::VMM_VM_IRQCHIP;
    /// QEMU-compatible fw_cfg at port 0x510.
    pub const FW_CFG: u32 = ffi::VMM_VM_FW_CFG;
}

/// Memory protection (`VMM_MEM_*`).
pub mod prot {
    use libvmm_sys as ffi;
    /// Readable.
    pub const READ: u32 = ffi::VMM_MEM_READ;
    /// Writable.
    pub const WRITE: u32 = ffi::VMM_MEM_WRITE;
    /// Executable.
    pub const EXEC: u32 = ffi::VMM_MEM_EXEC;
    /// Read, write, execute.
    pub const RW: u32 = ffi::VMM_MEM_RW;
    /// Read-only: guest writes exit as MMIO.
    pub const RO: u32 = ffi::VMM_MEM_RO;
}

/// How a VM is made (`vmm_vm_config`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Number of vCPUs, 1..=64.
    pub vcpus: u32,
    /// Guest RAM at guest-physical 0, bytes.
    pub mem_size: u64,
    /// "auto", "emu" or "kvm".
    pub backend: String,
    /// kvm flavour required: "vtx", "svm", "pvm".
    pub require: Option<String>,
    /// [`flags`].
    pub flags: u32,
}

impl Default for Config {
    fn default() -> Config {
        Config { vcpus: 1, mem_size: 64 << 20, backend: "auto".into(), require: None, flags: 0 }
    }
}

impl Config {
    /// The default configuration: 1 vCPU, 64 MiB, backend "auto".
    pub fn new() -> Config {
        Config::default()
    }
    /// Sets the backend.
    pub fn backend(mut self, name: &str) -> Config {
        self.backend = name.into();
        self
    }
    /// Sets the vCPU count.
    pub fn vcpus(mut self, n: u32) -> Config {
        self.vcpus = n;
        self
    }
    /// Sets the RAM size in bytes.
    pub fn mem_size(mut self, bytes: u64) -> Config {
        self.mem_size = bytes;
        self
    }
    /// Adds [`flags`].
    pub fn flags(mut self, flags: u32) -> Config {
        self.flags |= flags;
        self
    }
}

/// Which Linux kernel [`Vm::load_linux`] boots, and how. Give the kernel
/// (and initrd) as a path or as bytes.
#[derive(Debug, Clone, Default)]
pub struct LinuxOptions<'a> {
    /// Path of a bzImage or a vmlinux with a PVH note.
    pub kernel: Option<String>,
    /// Path of an initrd.
    pub initrd: Option<String>,
    /// The kernel command line.
    pub cmdline: Option<String>,
    /// The kernel image, used when `kernel` is None.
    pub kernel_data: Option<&'a [u8]>,
    /// The initrd image, used when `initrd` is None.
    pub initrd_data: Option<&'a [u8]>,
    /// Guest-physical RSDP to hand over, or 0 (libvmm's own ACPI tables for
    /// a [`flags::IRQCHIP`] VM).
    pub acpi_rsdp: u64,
}

/// How [`Vm::run`] ended (`VMM_END_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The guest wrote `code` to the debug exit port.
    DebugExit,
    /// Every vCPU halted.
    Halted,
    /// Triple fault.
    Shutdown,
    /// The timeout passed.
    Timeout,
    /// See the message.
    InternalError,
    /// ACPI power-off.
    PowerOff,
    /// An exit the runner cannot handle.
    Unhandled,
    /// The guest asked for a reboot.
    Reset,
    /// A value this crate does not know.
    Other(u32),
}

/// The result of [`Vm::run`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunResult {
    /// How the run ended.
    pub end: End,
    /// For [`End::DebugExit`]: the value written.
    pub code: u32,
    /// The vCPU that ended the run.
    pub vcpu: u32,
    /// Its RIP.
    pub rip: u64,
    /// What happened, in words.
    pub message: String,
}

/// A virtual machine. Dropping it destroys the VM and its vCPUs and frees its
/// devices; [`Vcpu`]s and [`Kicker`](crate::Kicker)s borrow it, so none can
/// outlive it.
///
/// `Vm` is `Send` and `Sync` because libvmm lets a VM be used from any thread:
/// the `&self` methods (guest memory reads and writes, interrupts, getting a
/// vCPU, names) are the ones libvmm allows while vCPUs run. Mapping,
/// device registration, loading and [`Vm::run`] take `&mut self`, so the
/// borrow checker keeps them from racing with running vCPUs, as the C API
/// requires:
///
/// ```compile_fail
/// let mut vm = libvmm::Vm::new(&libvmm::Config::new().backend("emu")).unwrap();
/// vm.load_elf("hello.elf", None).unwrap();
/// let cpu = vm.vcpu(0).unwrap();
/// vm.register_pio(0x600, 1, |_| Ok(0)).unwrap(); // error: vm is borrowed by cpu
/// drop(cpu);
/// ```
pub struct Vm {
    raw: *mut ffi::vmm_vm,
    taken: Mutex<u64>, // vCPU indices with a live Vcpu
    slots: Vec<Box<dyn Slot>>,
    irq: IrqSender,
}

// SAFETY: see the type's documentation: libvmm VMs may be used from any
// thread, and the methods taking &self are those libvmm allows concurrently.
unsafe impl Send for Vm {}
unsafe impl Sync for Vm {}

fn c_string(what: &str, s: &str) -> Result<CString> {
    CString::new(s)
        .map_err(|_| Error::new(ErrorKind::InvalidArgument, format!("{} contains a NUL byte", what)))
}

impl Vm {
    /// Creates a VM.
    pub fn new(config: &Config) -> Result<Vm> {
        let backend = c_string("backend", &config.backend)?;
        let require = match &config.require {
            Some(r) => Some(c_string("require", r)?),
            None => None,
        };
        let cfg = ffi::vmm_vm_config {
            size: std::mem::size_of::<ffi::vmm_vm_config>() as u32,
            vcpus: config.vcpus,
            mem_size: config.mem_size,
            backend: backend.as_ptr(),
            require: require.as_ref().map_or(std::ptr::null(), |r| r.as_ptr()),
            flags: config.flags,
            reserved: 0,
        };
        let mut raw = std::ptr::null_mut();
        // SAFETY: cfg and the strings it points to live across the call.
        check(unsafe { ffi::vmm_vm_create(&cfg, &mut raw) })?;
        Ok(Vm { raw, taken: Mutex::new(0), slots: Vec::new(), irq: IrqSender::new(raw) })
    }

    /// The backend the VM runs on ("emu", "kvm").
    pub fn backend(&self) -> String {
        // SAFETY: raw is a live VM; the string is owned by it.
        unsafe { cstr(ffi::vmm_vm_backend(self.raw)) }
    }

    /// The backend's flavour ("x86-64", "kvm_intel", "kvm_pvm", ...).
    pub fn flavour(&self) -> String {
        // SAFETY: as above.
        unsafe { cstr(ffi::vmm_vm_flavour(self.raw)) }
    }

    /// Hides CPU features from the guest, as on a CPU without them
    /// (`vmm_vm_hide_cpu_features`): a comma-separated list of "pcid",
    /// "invpcid" and "pku". Only before the vCPUs exist (before a load):
    /// `ErrorKind::Busy` afterwards, `InvalidArgument` for an unknown name.
    pub fn hide_cpu_features(&mut self, names: &str) -> Result<()> {
        let n = c_string("names", names)?;
        // SAFETY: raw is a live VM; the string lives across the call.
        check(unsafe { ffi::vmm_vm_hide_cpu_features(self.raw, n.as_ptr()) })
    }

    /// Loads an ELF image and creates the vCPUs with their boot state.
    pub fn load_elf(&mut self, path: impl AsRef<Path>, cmdline: Option<&str>) -> Result<()> {
        let p = CString::new(path.as_ref().as_os_str().as_bytes())
            .map_err(|_| Error::new(ErrorKind::InvalidArgument, "path contains a NUL byte"))?;
        let cl = match cmdline {
            Some(c) => Some(c_string("cmdline", c)?),
            None => None,
        };
        let clp = cl.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
        // SAFETY: the strings live across the call.
        check(unsafe { ffi::vmm_load_elf(self.raw, p.as_ptr(), clp) })
    }

    /// Loads an ELF image from memory.
    pub fn load_elf_bytes(&mut self, image: &[u8], cmdline: Option<&str>) -> Result<()> {
        let cl = match cmdline {
            Some(c) => Some(c_string("cmdline", c)?),
            None => None,
        };
        let clp = cl.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
        // SAFETY: image and the string live across the call.
        check(unsafe {
            ffi::vmm_load_elf_buffer(self.raw, image.as_ptr() as *const c_void, image.len() as _, clp)
        })
    }

    /// Loads a Linux kernel by the x86 boot protocol (`vmm_load_linux`) and
    /// creates the vCPUs: vCPU 0 at the entry point, the others waiting for
    /// INIT/SIPI.
    pub fn load_linux(&mut self, o: &LinuxOptions<'_>) -> Result<()> {
        let opt = |what: &str, s: &Option<String>| -> Result<Option<CString>> {
            match s {
                Some(s) => Ok(Some(c_string(what, s)?)),
                None => Ok(None),
            }
        };
        let (kernel, initrd, cmdline) =
            (opt("kernel", &o.kernel)?, opt("initrd", &o.initrd)?, opt("cmdline", &o.cmdline)?);
        let ptr = |c: &Option<CString>| c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
        let data = |d: Option<&[u8]>| d.map_or((std::ptr::null(), 0), |d| (d.as_ptr() as *const c_void, d.len() as u64));
        let (kd, ks) = data(o.kernel_data);
        let (id, is) = data(o.initrd_data);
        let c = ffi::vmm_linux_options {
            size: std::mem::size_of::<ffi::vmm_linux_options>() as u32,
            flags: 0,
            kernel: ptr(&kernel),
            initrd: ptr(&initrd),
            cmdline: ptr(&cmdline),
            kernel_data: kd,
            kernel_size: ks,
            initrd_data: id,
            initrd_size: is,
            acpi_rsdp: o.acpi_rsdp,
        };
        // SAFETY: every pointer in c lives across the call.
        check(unsafe { ffi::vmm_load_linux(self.raw, &c) })
    }

    /// Creates vCPU `index` in its reset state (for hand-built guests).
    pub fn create_vcpu(&mut self, index: u32) -> Result<()> {
        let mut v = std::ptr::null_mut();
        // SAFETY: raw is live; v receives a vCPU owned by the VM.
        check(unsafe { ffi::vmm_vcpu_create(self.raw, index, &mut v) })
    }

    /// The vCPU `index` (created by a loader or [`Vm::create_vcpu`]). Only one
    /// `Vcpu` per index exists at a time (`Busy` otherwise), because libvmm
    /// lets only one thread at a time drive a vCPU.
    pub fn vcpu(&self, index: u32) -> Result<Vcpu<'_>> {
        if index >= ffi::VMM_MAX_VCPUS {
            return Err(Error::new(ErrorKind::NotFound, format!("vCPU index {} >= 64", index)));
        }
        // SAFETY: raw is live; vmm_vcpu_get only reads the VM's vCPU table.
        let raw = unsafe { ffi::vmm_vcpu_get(self.raw, index) };
        if raw.is_null() {
            return Err(Error::new(ErrorKind::NotFound, format!("no vCPU {}: load an image first", index)));
        }
        let mut taken = self.taken.lock().unwrap_or_else(|e| e.into_inner());
        if *taken & (1u64 << index) != 0 {
            return Err(Error::new(ErrorKind::Busy, format!("vCPU {} is already held by a Vcpu", index)));
        }
        *taken |= 1u64 << index;
        Ok(Vcpu::new(self, raw, index))
    }

    pub(crate) fn release_vcpu(&self, index: u32) {
        let mut taken = self.taken.lock().unwrap_or_else(|e| e.into_inner());
        *taken &= !(1u64 << index);
    }

    /// Maps zeroed memory at [gpa, gpa+size) (page aligned) with [`prot`].
    pub fn map(&mut self, gpa: u64, size: u64, prot: u32) -> Result<()> {
        // SAFETY: host_ptr NULL: the library allocates and owns the memory.
        check(unsafe { ffi::vmm_mem_map(self.raw, gpa, size, prot, std::ptr::null_mut()) })
    }

    /// Removes the mapping [gpa, gpa+size).
    pub fn unmap(&mut self, gpa: u64, size: u64) -> Result<()> {
        // SAFETY: raw is live.
        check(unsafe { ffi::vmm_mem_unmap(self.raw, gpa, size) })
    }

    /// Maps [offset, offset+size) of a shared region at gpa.
    pub fn share(&mut self, region: &Region, gpa: u64, offset: u64, size: u64, prot: u32) -> Result<()> {
        // SAFETY: both live; the VM takes its own reference on the region.
        check(unsafe { ffi::vmm_mem_share(self.raw, region.raw(), gpa, offset, size, prot) })
    }

    /// Copies guest memory at gpa into buf (bounds-checked).
    pub fn read(&self, gpa: u64, buf: &mut [u8]) -> Result<()> {
        // SAFETY: buf is writable for its length.
        check(unsafe { ffi::vmm_mem_read(self.raw, gpa, buf.as_mut_ptr() as *mut c_void, buf.len() as _) })
    }

    /// Copies data into guest memory at gpa (bounds-checked).
    pub fn write(&self, gpa: u64, data: &[u8]) -> Result<()> {
        // SAFETY: data is readable for its length.
        check(unsafe { ffi::vmm_mem_write(self.raw, gpa, data.as_ptr() as *const c_void, data.len() as _) })
    }

    /// Host address of guest memory [gpa, gpa+len) inside one mapping. The
    /// guest may change it at any time; dereferencing it is up to you.
    pub fn host_ptr(&self, gpa: u64, len: usize) -> Result<*mut u8> {
        let mut p = std::ptr::null_mut();
        // SAFETY: p receives an address; nothing is dereferenced here.
        check(unsafe { ffi::vmm_mem_host_ptr(self.raw, gpa, len as _, &mut p) })?;
        Ok(p as *mut u8)
    }

    /// Sets interrupt line gsi (0..=23); needs [`flags::IRQCHIP`].
    pub fn irq_line(&self, gsi: u32, level: bool) -> Result<()> {
        // SAFETY: callable from any thread at any time (vmm/irq.h).
        check(unsafe { ffi::vmm_irq_line(self.raw, gsi, level as u32) })
    }

    /// Sends a message-signalled interrupt.
    pub fn msi_send(&self, addr: u64, data: u32) -> Result<()> {
        // SAFETY: as above.
        check(unsafe { ffi::vmm_msi_send(self.raw, addr, data) })
    }

    /// A handle that raises this VM's interrupts from device closures and
    /// other threads (which cannot borrow the Vm).
    pub fn irq_sender(&self) -> IrqSender {
        self.irq.clone()
    }

    /// Sends the built-in UART's output to `f`, called on vCPU threads.
    pub fn set_serial(&mut self, f: impl FnMut(&[u8]) + Send + 'static) -> Result<()> {
        let slot = Box::new(device::SerialSlot::new(Box::new(f)));
        let opaque = &*slot as *const device::SerialSlot as *mut c_void;
        // SAFETY: the slot is kept until the VM is destroyed.
        check(unsafe { ffi::vmm_uart_output(self.raw, -1, Some(device::serial_tramp), opaque) })?;
        self.slots.push(slot);
        Ok(())
    }

    /// Collects the UART's output into a shared buffer and returns it.
    pub fn capture_serial(&mut self) -> Result<Arc<Mutex<Vec<u8>>>> {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let b = buf.clone();
        self.set_serial(move |data| b.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(data))?;
        Ok(buf)
    }

    /// Claims ports [base, base+len) for a device closure: it gets each
    /// access and returns the value of a read (ignored for writes). An
    /// `Err` or a panic stops the vCPU with an internal error.
    pub fn register_pio(
        &mut self,
        base: u16,
        len: u16,
        f: impl FnMut(PioAccess) -> Result<u32> + Send + 'static,
    ) -> Result<()> {
        let slot = Box::new(device::PioSlot::new(Box::new(f)));
        let opaque = &*slot as *const device::PioSlot as *mut c_void;
        // SAFETY: the slot is kept until the VM is destroyed.
        check(unsafe { ffi::vmm_pio_register(self.raw, base, len, Some(device::pio_tramp), opaque) })?;
        self.slots.push(slot);
        Ok(())
    }

    /// Removes the port device at base (its closure is freed with the VM).
    pub fn unregister_pio(&mut self, base: u16) -> Result<()> {
        // SAFETY: raw is live.
        check(unsafe { ffi::vmm_pio_unregister(self.raw, base) })
    }

    /// Claims guest-physical [base, base+len) for an MMIO device closure.
    pub fn register_mmio(
        &mut self,
        base: u64,
        len: u64,
        f: impl FnMut(MmioAccess) -> Result<u64> + Send + 'static,
    ) -> Result<()> {
        let slot = Box::new(device::MmioSlot::new(Box::new(f)));
        let opaque = &*slot as *const device::MmioSlot as *mut c_void;
        // SAFETY: the slot is kept until the VM is destroyed.
        check(unsafe { ffi::vmm_mmio_register(self.raw, base, len, Some(device::mmio_tramp), opaque) })?;
        self.slots.push(slot);
        Ok(())
    }

    /// Removes the MMIO device at base (its closure is freed with the VM).
    pub fn unregister_mmio(&mut self, base: u64) -> Result<()> {
        // SAFETY: raw is live.
        check(unsafe { ffi::vmm_mmio_unregister(self.raw, base) })
    }

    /// Runs every vCPU on its own thread (`vmm_vm_run`) until the guest ends
    /// or `timeout` passes.
    pub fn run(&mut self, timeout: Option<Duration>) -> Result<RunResult> {
        let opts = ffi::vmm_run_options {
            size: std::mem::size_of::<ffi::vmm_run_options>() as u32,
            reserved: 0,
            timeout_ms: timeout.map_or(0, |t| (t.as_millis() as u64).max(1)),
        };
        let mut res = ffi::vmm_run_result {
            size: std::mem::size_of::<ffi::vmm_run_result>() as u32,
            ..Default::default()
        };
        // SAFETY: &mut self: no Vcpu of this VM is being driven elsewhere.
        check(unsafe { ffi::vmm_vm_run(self.raw, &opts, &mut res) })?;
        let end = match res.end {
            ffi::VMM_END_DEBUG_EXIT => End::DebugExit,
            ffi::VMM_END_HALTED => End::Halted,
            ffi::VMM_END_SHUTDOWN => End::Shutdown,
            ffi::VMM_END_TIMEOUT => End::Timeout,
            ffi::VMM_END_INTERNAL_ERROR => End::InternalError,
            ffi::VMM_END_POWEROFF => End::PowerOff,
            ffi::VMM_END_UNHANDLED => End::Unhandled,
            ffi::VMM_END_RESET => End::Reset,
            e => End::Other(e),
        };
        // SAFETY: message is NUL-terminated by libvmm.
        let message = unsafe { cstr(res.message.as_ptr() as *const c_char) };
        Ok(RunResult { end, code: res.code, vcpu: res.vcpu_index, rip: res.rip, message })
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        // Waits for an interrupt call another thread is making; later ones fail.
        self.irq.close();
        // SAFETY: no Vcpu or Kicker can exist (they borrow self); the device
        // slots are dropped after this, when nothing can call them.
        unsafe { ffi::vmm_vm_destroy(self.raw) }
    }
}
