//! Region: shared memory (memfd) that VMs map and the host reads and writes.
use crate::error::{check, Error, ErrorKind, Result};
use libvmm_sys as ffi;

/// A shared memory region. VMs that map it ([`Vm::share`](crate::Vm::share))
/// keep their own reference, so dropping the Region while they run is safe.
/// The guest may change the memory at any time, so the host reaches it by
/// copies ([`Region::read`], [`Region::write`]) rather than by a slice.
pub struct Region {
    raw: *mut ffi::vmm_region,
    size: u64,
    ptr: *mut u8,
}

// SAFETY: the region's memory is plain shared memory; the C object is
// reference-counted and immutable after creation.
unsafe impl Send for Region {}
unsafe impl Sync for Region {}

impl Region {
    /// Creates a region of `size` bytes (a multiple of the page size).
    pub fn new(size: u64) -> Result<Region> {
        let mut raw = std::ptr::null_mut();
        // SAFETY: raw receives a new region.
        check(unsafe { ffi::vmm_region_create(size, &mut raw) })?;
        // SAFETY: raw is a live region.
        let (size, ptr) = unsafe { (ffi::vmm_region_size(raw), ffi::vmm_region_host_ptr(raw) as *mut u8) };
        Ok(Region { raw, size, ptr })
    }

    pub(crate) fn raw(&self) -> *mut ffi::vmm_region {
        self.raw
    }

    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The host address of the memory (for code that shares it further).
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr
    }

    fn check_range(&self, offset: u64, len: usize) -> Result<()> {
        match offset.checked_add(len as u64) {
            Some(end) if end <= self.size => Ok(()),
            _ => Err(Error::new(
                ErrorKind::OutOfRange,
                format!("region: [{:#x}, +{:#x}) outside its {:#x} bytes", offset, len, self.size),
            )),
        }
    }

    /// Copies region memory at offset into buf.
    pub fn read(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.check_range(offset, buf.len())?;
        // SAFETY: the range is inside the mapping, which lives as long as self.
        unsafe { std::ptr::copy_nonoverlapping(self.ptr.add(offset as usize), buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }

    /// Copies data into region memory at offset.
    pub fn write(&self, offset: u64, data: &[u8]) -> Result<()> {
        self.check_range(offset, data.len())?;
        // SAFETY: as above.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.ptr.add(offset as usize), data.len()) };
        Ok(())
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: drops our reference; mapping VMs keep theirs.
        unsafe { ffi::vmm_region_destroy(self.raw) }
    }
}
