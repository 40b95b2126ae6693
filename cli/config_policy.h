/* config_policy.h - a port's "policy" object (cli/config_policy.c). */
#ifndef VMM_CLI_CONFIG_POLICY_H
#define VMM_CLI_CONFIG_POLICY_H

#include "cli/config.h"

/* Fills port->policy (and the arrays it points into) from o; -1 with err. */
int cfg_policy_parse(cfg_ctx *x, const char *path, struct json_object *o, cfg_port *port);

#endif
