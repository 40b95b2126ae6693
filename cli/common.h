/* common.h - what `vmm run` and `vmm up` share (cli/common.c): the exit
 * statuses of docs/cli.md, the one stderr line of a failure, and how a
 * run's end becomes a status. */
#ifndef VMM_CLI_COMMON_H
#define VMM_CLI_COMMON_H

#include <stddef.h>

#include "vmm.h"

/* Exit statuses. Odd statuses belong to the guest ((value << 1) | 1 after
 * it writes value to port 0xf4); vmm's own failures are even. */
enum {
	ST_HALTED = 0,
	ST_USAGE = 2,        /* bad command line, VM settings or image */
	ST_TRIPLE_FAULT = 4,
	ST_TIMEOUT = 6,
	ST_INTERNAL = 8,     /* backend unusable, host or libvmm failure */
	ST_UNHANDLED = 10,   /* the guest did something vmm cannot handle */
	ST_REBOOT = 12,      /* the guest asked for a reboot */
};

/* Prints "vmm: PREFIXMSG" (newlines become spaces); returns status. */
int cli_fail(int status, const char *prefix, const char *msg);
/* Status for a library error before the guest ran (2 or 8). */
int cli_status_for(int err);
/* The status for how a run ended, printing its line; who ("" or "NAME: ")
 * starts the line; timeout_arg is the timeout as the user wrote it. */
int cli_report_end(const vmm_run_result *res, const char *timeout_arg, const char *who);
/* A Multiboot (ELF32) image gets "IMAGE[ CMDLINE]" as its command line, the
 * way GRUB and QEMU pass it; an ELF64 image gets cmdline as given. NULL if
 * buf is too small. */
const char *cli_guest_cmdline(const char *image, const char *cmdline, char *buf, size_t len);

#endif
