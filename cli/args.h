/* args.h - the vmm command's option parsing: sizes, counts, durations and
 * the options of `vmm run`. Errors are one line of text in err. */
#ifndef VMM_CLI_ARGS_H
#define VMM_CLI_ARGS_H

#include <stddef.h>
#include <stdint.h>

#include "cli/net.h"

#define CLI_MAX_DISKS 8

typedef struct cli_run_opts {
	const char *backend;     /* "auto", "emu", "kvm" */
	uint64_t mem;            /* bytes, multiple of 4 KiB */
	uint32_t cpus;
	uint64_t timeout_ms;     /* 0: none */
	const char *timeout_arg; /* as typed, for the timeout message */
	const char *cmdline;     /* NULL: none */
	const char *image;       /* NULL with --kernel */
	const char *kernel;      /* --kernel: a Linux bzImage or vmlinux */
	const char *initrd;
	const char *disks[CLI_MAX_DISKS];   /* --disk FILE[,ro], as typed */
	uint32_t ndisks;
	cli_net nets[CLI_MAX_NETS];         /* --net, parsed */
	const char *net_args[CLI_MAX_NETS]; /* as typed, for messages */
	uint32_t nnets;
	const char *scsi[CLI_MAX_DISKS];    /* --scsi FILE[,ro]: LUNs 0.. of one controller */
	uint32_t nscsi;
	int rng;                 /* --rng: a virtio-rng device */
	const char *vsock;       /* --vsock CID,PATH, as typed */
	const char *control;     /* --control PATH: vmm disk resize --control */
	int fw_cfg;              /* --fw-cfg: QEMU's fw_cfg at 0x510 */
	int test_devices;        /* --test-devices: QEMU's pc-testdev */
	int trace;               /* --trace given */
	const char *trace_file;  /* --trace=FILE; NULL: stderr */
	int help;                /* --help given: print usage, run nothing */
	const char *gdb;         /* --gdb ADDRESS, or NULL */
	int gdb_wait;            /* --gdb-wait */
	const char *cpu_hide;    /* --cpu-hide LIST, or NULL */
} cli_run_opts;

/* "64M", "1G", "512K", "1T", "4096": binary units, optional "B"/"iB". */
int cli_parse_size(const char *s, uint64_t *out, char *err, size_t errlen);
int cli_parse_cpus(const char *s, uint32_t *out, char *err, size_t errlen);
int cli_parse_timeout(const char *s, uint64_t *ms, char *err, size_t errlen);
/* argv[0] is "run". Returns 0 or -1 with err set. */
int cli_parse_run(int argc, char **argv, cli_run_opts *opts, char *err, size_t errlen);

#endif
