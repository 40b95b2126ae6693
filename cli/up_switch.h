/* up_switch.h - the switches of a `vmm up` file, created before its VMs
 * (cli/up_switch.c). */
#ifndef VMM_CLI_UP_SWITCH_H
#define VMM_CLI_UP_SWITCH_H

#include "cli/config.h"

typedef struct up_switches {
	vmm_switch *sw[CFG_MAX_SWITCHES];
	vmm_net_port *port[CFG_MAX_SWITCHES][CFG_MAX_PORTS];
	vmm_net_port *uplink[CFG_MAX_SWITCHES];      /* NULL: none */
	vmm_net_cluster *cl[CFG_MAX_SWITCHES];       /* NULL: standalone */
} up_switches;

/* Every switch and port of c; the exit status (0, or 2/8 with "switches[i]
 * (NAME): ..." in err). What was created is left for up_switches_destroy. */
int up_switches_create(const cfg *c, up_switches *s, char *err, size_t errlen);
/* After the VMs are destroyed; a switch in a cluster leaves it first. */
void up_switches_destroy(up_switches *s);

#endif
