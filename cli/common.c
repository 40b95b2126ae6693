/* common.c - exit statuses and failure lines shared by `vmm run` and
 * `vmm up` (common.h, docs/cli.md). */
#include <stdio.h>
#include <string.h>

#include "cli/common.h"

/* One line on stderr: newlines in library messages become spaces. */
int cli_fail(int status, const char *prefix, const char *msg)
{
	char line[768];

	snprintf(line, sizeof(line), "%s%s", prefix, msg);
	for (char *p = line; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	fprintf(stderr, "vmm: %s\n", line);
	return status;
}

/* Status for a library error before the guest ran. */
int cli_status_for(int err)
{
	switch (err) {
	case VMM_EINVAL: case VMM_ENOMEM: case VMM_ERANGE: case VMM_EEXIST:
	case VMM_ENOENT: case VMM_EBADIMAGE: case VMM_EIO:
		return ST_USAGE;
	default:
		return ST_INTERNAL;
	}
}

static int with_who(int status, const char *who, const char *what, const char *msg)
{
	char pre[128];

	snprintf(pre, sizeof(pre), "%s%s", who, what);
	return cli_fail(status, pre, msg);
}

int cli_report_end(const vmm_run_result *res, const char *timeout_arg, const char *who)
{
	char msg[400];

	switch (res->end) {
	case VMM_END_DEBUG_EXIT:
		return (int)(((res->code & 0x7fu) << 1) | 1u);
	case VMM_END_HALTED:
	case VMM_END_POWEROFF:
		return ST_HALTED;
	case VMM_END_SHUTDOWN:
		snprintf(msg, sizeof(msg), "guest triple-faulted at rip 0x%llx (vCPU %u)",
			 (unsigned long long)res->rip, res->vcpu_index);
		return cli_fail(ST_TRIPLE_FAULT, who, msg);
	case VMM_END_TIMEOUT:
		snprintf(msg, sizeof(msg), "timed out after %.64s s", timeout_arg);
		return cli_fail(ST_TIMEOUT, who, msg);
	case VMM_END_INTERNAL_ERROR:
		return with_who(ST_INTERNAL, who, "internal error: ", res->message);
	case VMM_END_UNHANDLED:
		return with_who(ST_UNHANDLED, who, "unhandled guest exit: ", res->message);
	case VMM_END_RESET:
		return cli_fail(ST_REBOOT, who, "the guest asked for a reboot");
	case VMM_END_STOPPED:
		return cli_fail(ST_UNHANDLED, who, res->message);
	default:
		snprintf(msg, sizeof(msg), "run ended in an unknown way (%u): %.200s",
			 res->end, res->message);
		return cli_fail(ST_UNHANDLED, who, msg);
	}
}

/* A Multiboot (ELF32) image gets "IMAGE[ STRING]" as its command line, the
 * way GRUB and QEMU pass it (programs such as kvm-unit-tests take argv[0]
 * from it); an ELF64 image gets STRING as given. */
static int is_elf32(const char *path)
{
	unsigned char id[5];
	FILE *f = fopen(path, "rb");
	size_t n = f ? fread(id, 1, sizeof(id), f) : 0;

	if (f)
		fclose(f);
	return n == sizeof(id) && memcmp(id, "\177ELF", 4) == 0 && id[4] == 1;
}

const char *cli_guest_cmdline(const char *image, const char *cmdline, char *buf, size_t len)
{
	int n;

	if (!is_elf32(image))
		return cmdline;
	n = snprintf(buf, len, "%s%s%s", image, cmdline ? " " : "",
		     cmdline ? cmdline : "");
	return n >= 0 && (size_t)n < len ? buf : NULL;
}

