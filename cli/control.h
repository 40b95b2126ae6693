/* control.h - `vmm run --control PATH` and its client, `vmm disk resize
 * --control PATH` (cli/control.c). */
#ifndef VMM_CLI_CONTROL_H
#define VMM_CLI_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

#include "cli/args.h"
#include "vmm.h"

/* Listens on o->control and serves requests for vm's disks; -1 with err. */
int cli_control_start(vmm_vm *vm, const cli_run_opts *o, char *err, size_t errlen);
/* Stops and joins the thread, removes the socket; before the VM goes. */
void cli_control_stop(void);
/* Asks the vmm serving sock to grow its disk FILE to SIZE (as typed): 0
 * with "ok BYTES" in reply, or -1 with "error ..." there. */
int cli_control_resize(const char *sock, const char *file, const char *size, char *reply,
		       size_t replylen);

#endif
