/* args.c - option parsing for the vmm command. Every value is checked; a
 * bad one yields a one-line message naming the option and the value. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/args.h"
#include "vmm.h"

#define FAIL(...) (snprintf(err, errlen, __VA_ARGS__), -1)

static int size_shift(const char *suffix, unsigned *shift)
{
	static const char units[] = "KMGT";
	const char *u;

	*shift = 0;
	if (*suffix == '\0')
		return 0;
	u = strchr(units, toupper((unsigned char)*suffix));
	if (!u)
		return -1;
	*shift = 10u * (unsigned)(u - units + 1);
	suffix++;
	return (*suffix == '\0' || strcasecmp(suffix, "B") == 0 ||
		strcasecmp(suffix, "iB") == 0) ? 0 : -1;
}

int cli_parse_size(const char *s, uint64_t *out, char *err, size_t errlen)
{
	unsigned long long n;
	unsigned shift;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return FAIL("bad size '%.64s': expected a number with an optional K, M, G "
			    "or T suffix (e.g. 64M)", s);
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno == ERANGE || size_shift(end, &shift) != 0)
		return FAIL("bad size '%.64s': expected a number with an optional K, M, G "
			    "or T suffix (e.g. 64M)", s);
	if (n > (UINT64_MAX >> shift))
		return FAIL("bad size '%.64s': too large", s);
	n <<= shift;
	if (n == 0)
		return FAIL("bad size '%.64s': guest RAM must be more than 0 bytes", s);
	if (n % 4096)
		return FAIL("bad size '%.64s': must be a multiple of 4 KiB", s);
	*out = n;
	return 0;
}

int cli_parse_cpus(const char *s, uint32_t *out, char *err, size_t errlen)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = isdigit((unsigned char)s[0]) ? strtoul(s, &end, 10) : 0;
	if (!isdigit((unsigned char)s[0]) || errno || *end || n < 1 || n > VMM_MAX_VCPUS)
		return FAIL("bad vCPU count '%.64s': expected a number from 1 to %d", s,
			    VMM_MAX_VCPUS);
	*out = (uint32_t)n;
	return 0;
}

int cli_parse_timeout(const char *s, uint64_t *ms, char *err, size_t errlen)
{
	double sec;
	char *end;

	errno = 0;
	sec = (isdigit((unsigned char)s[0]) || s[0] == '.') ? strtod(s, &end) : -1;
	if (sec < 0 || errno || *end || !isfinite(sec) || sec <= 0 || sec > 1e9)
		return FAIL("bad timeout '%.64s': expected a number of seconds > 0 "
			    "(e.g. 10 or 0.5)", s);
	*ms = (uint64_t)ceil(sec * 1000.0);
	return 0;
}

static int check_backend(const char *name, char *err, size_t errlen)
{
	vmm_backend_info info = VMM_BACKEND_INFO_INIT;

	if (strcmp(name, "auto") == 0)
		return 0;
	for (uint32_t i = 0; vmm_backends(i, &info) == 0; i++)
		if (strcmp(info.name, name) == 0)
			return 0;
	return FAIL("unknown backend '%.32s' (choose auto, emu or kvm; see 'vmm info')",
		    name);
}

static const struct option run_options[] = {
	{ "backend", required_argument, NULL, 'b' },
	{ "mem", required_argument, NULL, 'm' },
	{ "cpus", required_argument, NULL, 'c' },
	{ "timeout", required_argument, NULL, 't' },
	{ "cmdline", required_argument, NULL, 'a' },
	{ "kernel", required_argument, NULL, 'k' },
	{ "initrd", required_argument, NULL, 'i' },
	{ "disk", required_argument, NULL, 'd' },
	{ "net", required_argument, NULL, 'n' },
	{ "scsi", required_argument, NULL, 's' },
	{ "control", required_argument, NULL, 'C' },
	{ "rng", no_argument, NULL, 'r' },
	{ "vsock", required_argument, NULL, 'v' },
	{ "fw-cfg", no_argument, NULL, 'f' },
	{ "test-devices", no_argument, NULL, 'D' },
	{ "trace", optional_argument, NULL, 'T' },
	{ "help", no_argument, NULL, 'h' },
	{ "gdb", required_argument, NULL, 'g' },
	{ "gdb-wait", no_argument, NULL, 'w' },
	{ "cpu-hide", required_argument, NULL, 'H' },
	{ NULL, 0, NULL, 0 },
};

static int run_option(int c, const char *arg, cli_run_opts *o, char *err, size_t errlen)
{
	switch (c) {
	case 'b': o->backend = arg; return check_backend(arg, err, errlen);
	case 'm': return cli_parse_size(arg, &o->mem, err, errlen);
	case 'c': return cli_parse_cpus(arg, &o->cpus, err, errlen);
	case 't': o->timeout_arg = arg; return cli_parse_timeout(arg, &o->timeout_ms, err, errlen);
	case 'a': o->cmdline = arg; return 0;
	case 'k': o->kernel = arg; return 0;
	case 'i': o->initrd = arg; return 0;
	case 'r': o->rng = 1; return 0;
	case 'v': o->vsock = arg; return 0;
	case 'C': o->control = arg; return 0;
	case 'd':
		if (o->ndisks == CLI_MAX_DISKS)
			return FAIL("more than %d --disk options", CLI_MAX_DISKS);
		o->disks[o->ndisks++] = arg;
		return 0;
	case 'n':
		if (o->nnets == CLI_MAX_NETS)
			return FAIL("more than %d --net options", CLI_MAX_NETS);
		o->net_args[o->nnets] = arg;
		return cli_net_parse(arg, &o->nets[o->nnets++], err, errlen);
	case 's':
		if (o->nscsi == CLI_MAX_DISKS)
			return FAIL("more than %d --scsi options", CLI_MAX_DISKS);
		o->scsi[o->nscsi++] = arg;
		return 0;
	case 'f': o->fw_cfg = 1; return 0;
	case 'D': o->test_devices = 1; return 0;
	case 'T':
		o->trace = 1;
		o->trace_file = arg;
		if (arg && !*arg)
			return FAIL("option '--trace=' needs a file name");
		return 0;
	case 'h': o->help = 1; return 0;
	case 'g':
		if (strncmp(arg, "tcp:", 4) && strncmp(arg, "unix:", 5))
			return FAIL("bad --gdb '%.64s': expected tcp:HOST:PORT or unix:PATH", arg);
		o->gdb = arg;
		return 0;
	case 'w': o->gdb_wait = 1; return 0;
	case 'H': o->cpu_hide = arg; return 0;   /* names checked by the library */
	default: return FAIL("internal: option %d", c);
	}
}

static int bad_option(int c, char **argv, char *err, size_t errlen)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		return FAIL("option '%.64s' needs a value", arg);
	if (optopt)
		return FAIL("unknown option '-%c' (try 'vmm --help')", optopt);
	return FAIL("unknown option '%.64s' (try 'vmm --help')", arg);
}

int cli_parse_run(int argc, char **argv, cli_run_opts *o, char *err, size_t errlen)
{
	int c;

	*o = (cli_run_opts){ .backend = "auto", .mem = 64ull << 20, .cpus = 1 };
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", run_options, NULL)) != -1) {
		if (c == '?' || c == ':')
			return bad_option(c, argv, err, errlen);
		if (run_option(c, optarg, o, err, errlen) != 0)
			return -1;
	}
	if (o->help)
		return 0;
	if (!o->kernel && (o->initrd || o->ndisks || o->nnets || o->nscsi || o->rng ||
			   o->vsock || o->control))
		return FAIL("--initrd, --disk, --net, --scsi, --rng, --vsock and --control need --kernel");
	if (o->kernel && optind < argc)
		return FAIL("unexpected argument '%.64s': --kernel takes the place of IMAGE",
			    argv[optind]);
	if (o->kernel)
		return 0;
	if (optind >= argc)
		return FAIL("missing IMAGE (usage: vmm run [OPTIONS] IMAGE)");
	if (argc - optind > 1)
		return FAIL("unexpected argument '%.64s' after IMAGE", argv[optind + 1]);
	o->image = argv[optind];
	return 0;
}
