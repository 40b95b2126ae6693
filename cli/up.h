/* up.h - `vmm up CONFIG.json` (cli/up.c, docs/config.md). */
#ifndef VMM_CLI_UP_H
#define VMM_CLI_UP_H

/* argv[0] is "up". Returns the exit status. */
int cli_cmd_up(int argc, char **argv);

#endif
