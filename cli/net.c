/* net.c - `vmm run --net` (net.h): the backend first, then options, all
 * comma-separated; every part is checked here so a bad value is one line
 * naming it before any VM exists. hostfwd follows QEMU's syntax:
 * hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/net.h"

#define FAIL(...) (snprintf(err, errlen, __VA_ARGS__), -1)
#define FWD_SYNTAX "hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT"

int cli_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned b[6];
	char end;

	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2],
				      &b[3], &b[4], &b[5], &end) != 6)
		return -1;
	for (int i = 0; i < 17; i++)
		if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
			return -1;
	if (b[0] & 1)
		return -2;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

/* A decimal number lo..hi, the whole string. */
static int number(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || *end || *out < lo || *out > hi ? -1 : 0;
}

/* "" (every address, or the default guest) or dotted IPv4. */
static int ipv4(const char *s, uint32_t *out)
{
	struct in_addr a;

	*out = 0;
	if (!*s)
		return 0;
	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*out = ntohl(a.s_addr);
	return 0;
}

static int parse_fwd(const char *arg, char *v, vmm_net_fwd *f, char *err, size_t errlen)
{
	char *haddr, *hport, *gaddr, *gport;
	unsigned long hp, gp;

	if (!(haddr = strchr(v, ':')) || !(hport = strchr(haddr + 1, ':')) ||
	    !(gaddr = strchr(hport + 1, '-')) || !(gport = strchr(gaddr + 1, ':')))
		return FAIL("bad --net '%.64s': hostfwd=%.40s: expected %s", arg, v, FWD_SYNTAX);
	*haddr++ = *hport++ = *gaddr++ = *gport++ = 0;
	if (*v && strcmp(v, "tcp") && strcmp(v, "udp"))
		return FAIL("bad --net '%.64s': hostfwd protocol '%.16s': expected tcp or udp",
			    arg, v);
	f->udp = v[0] == 'u';
	if (ipv4(haddr, &f->host_addr) || ipv4(gaddr, &f->guest_addr))
		return FAIL("bad --net '%.64s': hostfwd address '%.40s' is not an IPv4 "
			    "address", arg, ipv4(haddr, &f->host_addr) ? haddr : gaddr);
	if (number(hport, 1, 65535, &hp) || number(gport, 1, 65535, &gp))
		return FAIL("bad --net '%.64s': hostfwd port '%.16s' is not a number from 1 "
			    "to 65535", arg, number(hport, 1, 65535, &hp) ? hport : gport);
	f->host_port = (uint16_t)hp;
	f->guest_port = (uint16_t)gp;
	return 0;
}

/* The first part: user, tap=IFNAME or pair=NAME. */
static int parse_backend(const char *arg, char *b, cli_net *n, char *err, size_t errlen)
{
	char *val = strchr(b, '=');
	size_t max;

	if (!strcmp(b, "user")) {
		n->kind = CLI_NET_USER;
		return 0;
	}
	if (val)
		*val++ = 0;
	if (!val || (strcmp(b, "tap") && strcmp(b, "pair")))
		return FAIL("bad --net '%.64s': expected tap=IFNAME, pair=NAME or "
			    "user[,hostfwd=...] first", arg);
	n->kind = b[0] == 't' ? CLI_NET_TAP : CLI_NET_PAIR;
	max = n->kind == CLI_NET_TAP ? CLI_TAP_MAX : CLI_PAIR_MAX;
	if (!*val || strlen(val) > max)
		return FAIL("bad --net '%.64s': the %s name must be 1 to %zu bytes", arg,
			    n->kind == CLI_NET_TAP ? "tap" : "pair", max);
	strcpy(n->name, val);
	return 0;
}

static int parse_option(const char *arg, char *o, cli_net *n, char *err, size_t errlen)
{
	char *v = strchr(o, '=');
	unsigned long mtu;
	int rc;

	if (!v)
		return FAIL("bad --net '%.64s': option '%.32s' needs a value (KEY=VALUE)", arg, o);
	*v++ = 0;
	if (!strcmp(o, "hostfwd")) {
		if (n->kind != CLI_NET_USER)
			return FAIL("bad --net '%.64s': hostfwd needs the user backend", arg);
		if (n->nfwd == CLI_MAX_FWD)
			return FAIL("bad --net '%.64s': more than %d hostfwd", arg, CLI_MAX_FWD);
		return parse_fwd(arg, v, &n->fwd[n->nfwd++], err, errlen);
	}
	if (!strcmp(o, "mac")) {
		if ((rc = cli_parse_mac(v, n->mac)))
			return FAIL("bad --net '%.64s': mac '%.32s' %s", arg, v, rc == -2 ?
				    "is a multicast address" : "is not six hex bytes such as "
				    "52:54:00:12:34:56");
		return 0;
	}
	if (!strcmp(o, "mtu")) {
		if (number(v, 68, 65518, &mtu))
			return FAIL("bad --net '%.64s': mtu '%.16s' is not a number from 68 to "
				    "65518", arg, v);
		if (n->kind == CLI_NET_USER && mtu != 1500)
			return FAIL("bad --net '%.64s': user-mode networking has MTU 1500", arg);
		n->mtu = (uint16_t)mtu;
		return 0;
	}
	if (!strcmp(o, "offload")) {
		if (strcmp(v, "on") && strcmp(v, "off"))
			return FAIL("bad --net '%.64s': offload '%.16s': expected on or off", arg, v);
		n->no_offload = v[1] == 'f';
		return 0;
	}
	return FAIL("bad --net '%.64s': unknown option '%.32s' (known: mac, mtu, offload, "
		    "hostfwd)", arg, o);
}

int cli_net_parse(const char *arg, cli_net *n, char *err, size_t errlen)
{
	char buf[1024], *save = NULL, *part;

	memset(n, 0, sizeof(*n));
	if (strlen(arg) >= sizeof(buf))
		return FAIL("bad --net '%.64s...': longer than %zu bytes", arg, sizeof(buf) - 1);
	strcpy(buf, arg);
	if (!buf[0] || buf[0] == ',' || strstr(buf, ",,") || buf[strlen(buf) - 1] == ',')
		return FAIL("bad --net '%.64s': an empty part (expected tap=IFNAME, pair=NAME "
			    "or user[,hostfwd=...])", arg);
	part = strtok_r(buf, ",", &save);
	if (parse_backend(arg, part, n, err, errlen))
		return -1;
	while ((part = strtok_r(NULL, ",", &save)))
		if (parse_option(arg, part, n, err, errlen))
			return -1;
	return 0;
}

int cli_net_add(vmm_vm *vm, const cli_net *n, const char *arg, char *err, size_t errlen)
{
	vmm_net_config c = VMM_NET_CONFIG_INIT;

	memcpy(c.mac, n->mac, 6);
	c.mtu = n->mtu;
	c.flags = n->no_offload ? VMM_NET_NO_OFFLOAD : 0;
	if (n->kind == CLI_NET_TAP)
		c.tap = n->name;
	else if (n->kind == CLI_NET_PAIR)
		c.pair = n->name;
	else
		c.flags |= VMM_NET_USER;
	c.fwd = n->fwd;
	c.nfwd = n->nfwd;
	if (vmm_virtio_net_add(vm, &c) != 0)
		return FAIL("--net %.200s: %s", arg, vmm_last_error());
	return 0;
}
