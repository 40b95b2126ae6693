/* cluster.h - `vmm cluster seed` (cli/cluster.c, docs/config.md). */
#ifndef VMM_CLI_CLUSTER_H
#define VMM_CLI_CLUSTER_H

/* argv[0] is "cluster". Returns the exit status. */
int cli_cluster(int argc, char **argv);

#endif
