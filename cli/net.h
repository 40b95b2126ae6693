/* net.h - `vmm run --net`: one network device's backend and options,
 * parsed from "tap=IFNAME", "pair=NAME" or "user[,hostfwd=...]..." with
 * ",mac=M", ",mtu=N" and ",offload=on|off" (cli/net.c, docs/cli.md). */
#ifndef VMM_CLI_NET_H
#define VMM_CLI_NET_H

#include <stddef.h>
#include <stdint.h>

#include "vmm.h"

#define CLI_MAX_NETS 8
#define CLI_MAX_FWD 16
#define CLI_TAP_MAX 15u          /* IFNAMSIZ - 1 */
#define CLI_PAIR_MAX 63u

enum { CLI_NET_PAIR = 1, CLI_NET_TAP, CLI_NET_USER };

typedef struct cli_net {
	int kind;                /* CLI_NET_* */
	char name[CLI_PAIR_MAX + 1];   /* pair name or tap interface */
	uint8_t mac[6];          /* all zero: chosen by libvmm */
	uint16_t mtu;            /* 0: default */
	int no_offload;
	vmm_net_fwd fwd[CLI_MAX_FWD];
	uint32_t nfwd;
} cli_net;

/* Parses one --net value; -1 with one line in err. */
int cli_net_parse(const char *arg, cli_net *n, char *err, size_t errlen);
/* Adds the device to vm; -1 with "--net ARG: why" in err. */
int cli_net_add(vmm_vm *vm, const cli_net *n, const char *arg, char *err, size_t errlen);
/* "52:54:00:12:34:56": 0, -1 malformed, -2 a multicast address. */
int cli_parse_mac(const char *s, uint8_t mac[6]);

#endif
