/* testdev.h - QEMU-compatible test devices for `vmm run --test-devices`
 * (cli/testdev.c), built on libvmm's public device and interrupt API. */
#ifndef VMM_CLI_TESTDEV_H
#define VMM_CLI_TESTDEV_H

#include <stddef.h>

#include "vmm.h"

typedef struct cli_testdev cli_testdev;

/* Registers pc-testdev's ports and MMIO in vm. *out is set even when it
 * fails (free it with cli_testdev_free after destroying the VM). Returns 0,
 * or -1 with a one-line message in err. */
int cli_testdev_attach(vmm_vm *vm, cli_testdev **out, char *err, size_t errlen);
void cli_testdev_free(cli_testdev *td);

#endif
