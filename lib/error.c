/* error.c - error codes, their names, and the per-thread last-error message. */
#include <stdarg.h>
#include <stdio.h>

#include "lib/internal.h"

static _Thread_local char last_error[512];

static const char *const error_names[] = {
	[0] = "VMM_OK: success",
	[1] = "VMM_EINVAL: invalid argument",
	[2] = "VMM_ENOMEM: out of memory or beyond what the host allows",
	[3] = "VMM_ENOTSUP: not supported",
	[4] = "VMM_ERANGE: outside guest memory",
	[5] = "VMM_EEXIST: overlaps an existing mapping or device",
	[6] = "VMM_ENOENT: no such object",
	[7] = "VMM_EBADIMAGE: malformed or unfitting guest image",
	[8] = "VMM_EBACKEND: backend unusable here",
	[9] = "VMM_EIO: host I/O error",
	[10] = "VMM_ESTATE: invalid in the current state",
	[11] = "VMM_ETIMEDOUT: timed out",
	[12] = "VMM_EINTERNAL: internal error",
	[13] = "VMM_EBUSY: resource busy",
};

VMM_API const char *vmm_strerror(int err)
{
	unsigned idx = err <= 0 ? 0u - (unsigned)err : ~0u;

	if (idx < sizeof(error_names) / sizeof(error_names[0]))
		return error_names[idx];
	return "VMM_E?: unknown error code";
}

VMM_API const char *vmm_last_error(void)
{
	return last_error;
}

VMM_API const char *vmm_version(void)
{
	return "1.0.0";
}

int vmm__err(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return code;
}

void vmm__clear_error(void)
{
	last_error[0] = '\0';
}
