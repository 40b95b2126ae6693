/* linux.h - `vmm run --kernel` (cli/linux.c). */
#ifndef VMM_CLI_LINUX_H
#define VMM_CLI_LINUX_H

#include "cli/args.h"
#include "vmm.h"

/* Disks, rng, then the kernel; -1 with err set. */
int cli_linux_setup(vmm_vm *vm, const cli_run_opts *o, char *err, size_t errlen);
/* Frees what setup made for the VM (--scsi storage devices); after the
 * VM is destroyed. */
void cli_linux_cleanup(void);
/* The storage device of --scsi LUN i (NULL if there is none). */
vmm_storage_dev *cli_linux_scsi_dev(uint32_t i);
/* Starts forwarding the process's stdin to the guest's COM1. */
void cli_linux_stdin(vmm_vm *vm);

#endif
