//! Errors: libvmm's code and the message vmm_last_error() gave for it.
use libvmm_sys as ffi;
use std::ffi::CStr;
use std::fmt;

/// libvmm's error codes (`VMM_E*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// VMM_EINVAL: invalid argument
    InvalidArgument,
    /// VMM_ENOMEM: out of host memory
    OutOfMemory,
    /// VMM_ENOTSUP: not supported by this backend or build
    NotSupported,
    /// VMM_ERANGE: address or size outside guest memory
    OutOfRange,
    /// VMM_EEXIST: overlaps something already there
    Exists,
    /// VMM_ENOENT: no such thing
    NotFound,
    /// VMM_EBADIMAGE: malformed guest image
    BadImage,
    /// VMM_EBACKEND: backend unusable here
    Backend,
    /// VMM_EIO: host I/O error
    Io,
    /// VMM_ESTATE: not valid in the object's current state
    State,
    /// VMM_ETIMEDOUT
    TimedOut,
    /// VMM_EINTERNAL: bug or unexpected host failure
    Internal,
    /// VMM_EBUSY: resource in use
    Busy,
    /// a code this crate does not know
    Other(i32),
}

impl ErrorKind {
    /// The kind of a negative VMM_E* code.
    pub fn from_code(code: i32) -> ErrorKind {
        match code {
            ffi::VMM_EINVAL => ErrorKind::InvalidArgument,
            ffi::VMM_ENOMEM => ErrorKind::OutOfMemory,
            ffi::VMM_ENOTSUP => ErrorKind::NotSupported,
            ffi::VMM_ERANGE => ErrorKind::OutOfRange,
            ffi::VMM_EEXIST => ErrorKind::Exists,
            ffi::VMM_ENOENT => ErrorKind::NotFound,
            ffi::VMM_EBADIMAGE => ErrorKind::BadImage,
            ffi::VMM_EBACKEND => ErrorKind::Backend,
            ffi::VMM_EIO => ErrorKind::Io,
            ffi::VMM_ESTATE => ErrorKind::State,
            ffi::VMM_ETIMEDOUT => ErrorKind::TimedOut,
            ffi::VMM_EINTERNAL => ErrorKind::Internal,
            ffi::VMM_EBUSY => ErrorKind::Busy,
            c => ErrorKind::Other(c),
        }
    }

    /// The VMM_E* code.
    pub fn code(self) -> i32 {
        match self {
            ErrorKind::InvalidArgument => ffi::VMM_EINVAL,
            ErrorKind::OutOfMemory => ffi::VMM_ENOMEM,
            ErrorKind::NotSupported => ffi::VMM_ENOTSUP,
            ErrorKind::OutOfRange => ffi::VMM_ERANGE,
            ErrorKind::Exists => ffi::VMM_EEXIST,
            ErrorKind::NotFound => ffi::VMM_ENOENT,
            ErrorKind::BadImage => ffi::VMM_EBADIMAGE,
            ErrorKind::Backend => ffi::VMM_EBACKEND,
            ErrorKind::Io => ffi::VMM_EIO,
            ErrorKind::State => ffi::VMM_ESTATE,
            ErrorKind::TimedOut => ffi::VMM_ETIMEDOUT,
            ErrorKind::Internal => ffi::VMM_EINTERNAL,
            ErrorKind::Busy => ffi::VMM_EBUSY,
            ErrorKind::Other(c) => c,
        }
    }
}

/// A failed libvmm call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

/// `Result<T, libvmm::Error>`.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error of this kind with this message (for device callbacks).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, message: message.into() }
    }

    /// The kind (libvmm's code).
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The negative VMM_E* code.
    pub fn code(&self) -> i32 {
        self.kind.code()
    }

    /// What exactly failed, as libvmm said.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The error of the libvmm call that just returned rc on this thread.
    pub(crate) fn last(rc: i32) -> Error {
        // SAFETY: vmm_last_error returns a NUL-terminated thread-local string.
        let msg = unsafe { cstr(ffi::vmm_last_error()) };
        Error { kind: ErrorKind::from_code(rc), message: msg }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // SAFETY: vmm_strerror returns a static string for any code.
        let name = unsafe { cstr(ffi::vmm_strerror(self.code())) };
        if self.message.is_empty() {
            write!(f, "{}", name)
        } else {
            write!(f, "{}", self.message)
        }
    }
}

impl std::error::Error for Error {}

/// Turns a libvmm return code into a Result (the message read at once, on
/// the same thread).
pub(crate) fn check(rc: i32) -> Result<()> {
    if rc < 0 {
        Err(Error::last(rc))
    } else {
        Ok(())
    }
}

/// Copies a C string (NULL: empty).
///
/// # Safety
/// p is NULL or a valid NUL-terminated string.
pub(crate) unsafe fn cstr(p: *const std::os::raw::c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}
