/* disk.h - `vmm disk create|info|check|resize` (cli/disk.c). */
#ifndef VMM_CLI_DISK_H
#define VMM_CLI_DISK_H

/* argv[0] is "disk". Returns the exit status (docs/cli.md). */
int cli_disk(int argc, char **argv);

#endif
