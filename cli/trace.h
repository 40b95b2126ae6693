/* trace.h - `vmm run --trace[=FILE]`: one line per executed guest
 * instruction (capstone disassembly, the registers it changed). */
#ifndef VMM_CLI_TRACE_H
#define VMM_CLI_TRACE_H

#include <stdio.h>

#include "vmm.h"

typedef struct cli_trace cli_trace;

/* Opens the output (path NULL: stderr). NULL with err set on failure. */
cli_trace *cli_trace_open(const char *path, char *err, size_t errlen);
/* Traces every vCPU of vm; 0 or a VMM_E* code (the backend cannot trace). */
int cli_trace_attach(cli_trace *t, vmm_vm *vm, uint32_t vcpus);
void cli_trace_close(cli_trace *t);

#endif
