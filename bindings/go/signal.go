package vmm

/*
#include <signal.h>
#include <stdint.h>
#include <string.h>

static int vmmgo_sig_flags(int sig, unsigned long *flags, uintptr_t *handler)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	if (sigaction(sig, NULL, &sa) != 0)
		return -1;
	*flags = (unsigned long)sa.sa_flags;
	*handler = (uintptr_t)sa.sa_handler;
	return 0;
}
static int vmmgo_kick_signal(void) { return SIGRTMIN + 6; }
static unsigned long vmmgo_sa_onstack(void) { return SA_ONSTACK; }
*/
import "C"

// kickSignal reports the handler installed now for libvmm's kvm kick signal
// (SIGRTMIN+6) and whether it has SA_ONSTACK, which the Go runtime needs of
// every handler installed by C code. For the tests.
func kickSignal() (handler uintptr, onstack bool, sig int) {
	var flags C.ulong
	var h C.uintptr_t
	s := C.vmmgo_kick_signal()
	if C.vmmgo_sig_flags(s, &flags, &h) != 0 {
		return 0, false, int(s)
	}
	return uintptr(h), flags&C.ulong(C.vmmgo_sa_onstack()) != 0, int(s)
}
