package vmm

/*
#include "shim.h"
*/
import "C"

import "fmt"

// Code is one of libvmm's error codes (VMM_E*). A Code is itself an error,
// so errors.Is(err, vmm.ErrRange) matches any *Error with that code.
type Code int

// libvmm's error codes; values are fixed forever.
const (
	ErrInval    Code = C.VMM_EINVAL
	ErrNoMem    Code = C.VMM_ENOMEM
	ErrNotSup   Code = C.VMM_ENOTSUP
	ErrRange    Code = C.VMM_ERANGE
	ErrExist    Code = C.VMM_EEXIST
	ErrNoEnt    Code = C.VMM_ENOENT
	ErrBadImage Code = C.VMM_EBADIMAGE
	ErrBackend  Code = C.VMM_EBACKEND
	ErrIO       Code = C.VMM_EIO
	ErrState    Code = C.VMM_ESTATE
	ErrTimedOut Code = C.VMM_ETIMEDOUT
	ErrInternal Code = C.VMM_EINTERNAL
	ErrBusy     Code = C.VMM_EBUSY
)

// ErrClosed is returned by methods of a VM, VCPU or Region after Close. It
// carries the code ErrState.
var ErrClosed = &Error{Code: ErrState, Op: "vmm", Msg: "use of a closed object"}

func (c Code) Error() string { return C.GoString(C.vmm_strerror(C.int(c))) }

// Error is a failed libvmm call: the operation, libvmm's code and the
// message vmm_last_error() gave for it.
type Error struct {
	Code Code   // VMM_E* code
	Op   string // the Go method, e.g. "LoadELF"
	Msg  string // libvmm's message: what exactly failed
}

func (e *Error) Error() string {
	if e.Msg == "" {
		return fmt.Sprintf("vmm: %s: %v", e.Op, e.Code)
	}
	return fmt.Sprintf("vmm: %s: %s", e.Op, e.Msg)
}

// Is reports whether target is this error's Code (or an *Error with it).
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case Code:
		return e.Code == t
	case *Error:
		return t == e || (t.Code == e.Code && t.Msg == e.Msg)
	}
	return false
}

// Unwrap returns the Code, so errors.As(err, &code) works too.
func (e *Error) Unwrap() error { return e.Code }

// check turns a shim return value and its message into an error.
func check(op string, rc C.int, e *C.vmmgo_err) error {
	if rc >= 0 {
		return nil
	}
	return &Error{Code: Code(rc), Op: op, Msg: C.GoString(&e.msg[0])}
}

func errorf(op string, code Code, format string, a ...interface{}) error {
	return &Error{Code: code, Op: op, Msg: fmt.Sprintf(format, a...)}
}
