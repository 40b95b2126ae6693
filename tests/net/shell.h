/* shell.h - run one shell command built printf-style, for the network
 * tests that set up namespaces, veth pairs, bridges and vxlan devices with
 * ip(8) (tests/unit/test_switch_vxlan.c, test_switch_dist.c). */
#ifndef NET_SHELL_H
#define NET_SHELL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

/* The command's exit status, or -1 if it did not exit normally. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));
static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

#endif
