/* disk.c - `vmm disk create|info|check|resize`: image files (vmm/disk.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/control.h"
#include "cli/disk.h"
#include "vmm.h"

static const char disk_usage[] =
	"usage: vmm disk create [-f raw|qcow2] [-c CLUSTER] [-b BACKING [-F raw|qcow2]] [--compat 2|3]\n"
	"                       FILE [SIZE]    (SIZE may be left out with -b: the backing file's)\n"
	"       vmm disk info FILE\n"
	"       vmm disk check [--repair] FILE\n"
	"       vmm disk resize [--control SOCKET] FILE SIZE   (grow only; --control: the\n"
	"                       image of a running 'vmm run --control SOCKET', whose guest\n"
	"                       sees the new size)\n"
	"exit status of check: 0 no errors, 2 corruptions, 3 leaked clusters only,\n"
	"  1 the check could not be done (unreadable or unusable image), 63 raw image\n";

enum { DS_OK = 0, DS_CHECK_FAILED = 1, DS_USAGE = 2, DS_CORRUPT = 2, DS_LEAKS = 3,
       DS_INTERNAL = 8, DS_NOCHECK = 63 };

static int disk_fail(int status, const char *what, const char *msg)
{
	fprintf(stderr, "vmm: disk %s: %s\n", what, msg);
	return status;
}

static int disk_lib_fail(const char *what, int err)
{
	return disk_fail(err == VMM_EINTERNAL || err == VMM_ENOMEM ? DS_INTERNAL : DS_USAGE,
			 what, vmm_last_error()[0] ? vmm_last_error() : vmm_strerror(err));
}

static int disk_format(const char *s, uint32_t *out)
{
	if (!strcmp(s, "raw"))
		*out = VMM_DISK_RAW;
	else if (!strcmp(s, "qcow2"))
		*out = VMM_DISK_QCOW2;
	else
		return -1;
	return 0;
}

/* Options with a value: -f, -c, -b, -F, --compat. */
static int create_opt(vmm_disk_config *c, const char *opt, const char *val, char *err, size_t errlen)
{
	uint64_t v;

	if (!strcmp(opt, "-f") && disk_format(val, &c->format) == 0)
		return 0;
	if (!strcmp(opt, "-F") && disk_format(val, &c->backing_format) == 0)
		return 0;
	if (!strcmp(opt, "-b")) {
		c->backing_file = val;
		return 0;
	}
	if (!strcmp(opt, "-c") && cli_parse_size(val, &v, err, errlen) == 0) {
		c->cluster_size = v > UINT32_MAX ? 0 : (uint32_t)v;
		if (c->cluster_size)
			return 0;
	}
	if (!strcmp(opt, "--compat") && (!strcmp(val, "2") || !strcmp(val, "3"))) {
		c->qcow2_version = (uint32_t)(val[0] - '0');
		return 0;
	}
	snprintf(err, errlen, "bad value '%s' for %s", val, opt);
	return -1;
}

static int cmd_create(int argc, char **argv)
{
	vmm_disk_config c = VMM_DISK_CONFIG_INIT;
	const char *file = NULL, *size = NULL;
	char err[256];
	int rc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] == '-' && a[1]) {
			if (i + 1 >= argc)
				return disk_fail(DS_USAGE, "create", "option needs a value");
			if (create_opt(&c, a, argv[++i], err, sizeof(err)) < 0)
				return disk_fail(DS_USAGE, "create", err);
		} else if (!file) {
			file = a;
		} else if (!size) {
			size = a;
		} else {
			return disk_fail(DS_USAGE, "create", "too many arguments");
		}
	}
	if (!file || (!size && !c.backing_file))
		return disk_fail(DS_USAGE, "create", "FILE and SIZE are needed (see vmm disk --help)");
	if (size && cli_parse_size(size, &c.virtual_size, err, sizeof(err)) < 0)
		return disk_fail(DS_USAGE, "create", err);
	if ((rc = vmm_disk_create(file, &c)) < 0)
		return disk_lib_fail("create", rc);
	vmm_disk_image_info in = VMM_DISK_IMAGE_INFO_INIT;
	if (vmm_disk_info(file, &in) == 0)   /* the size a backing file gave */
		c.virtual_size = in.virtual_size;
	printf("created %s: %s, %llu bytes\n", file, c.format == VMM_DISK_RAW ? "raw" : "qcow2",
	       (unsigned long long)c.virtual_size);
	return DS_OK;
}

static const char *fmt_name(uint32_t f)
{
	return f == VMM_DISK_RAW ? "raw" : f == VMM_DISK_QCOW2 ? "qcow2" : "probed";
}

static int cmd_info(int argc, char **argv)
{
	vmm_disk_image_info in = VMM_DISK_IMAGE_INFO_INIT;
	int rc;

	if (argc != 2)
		return disk_fail(DS_USAGE, "info", "usage: vmm disk info FILE");
	if ((rc = vmm_disk_info(argv[1], &in)) < 0)
		return disk_lib_fail("info", rc);
	printf("image: %s\nformat: %s\nvirtual size: %llu\nallocated bytes: %llu\nfile bytes: %llu\n",
	       argv[1], fmt_name(in.format), (unsigned long long)in.virtual_size,
	       (unsigned long long)in.allocated_bytes, (unsigned long long)in.file_bytes);
	if (in.format == VMM_DISK_QCOW2)
		printf("cluster size: %u\nqcow2 version: %u\n", in.cluster_size, in.qcow2_version);
	if (in.backing_file[0])
		printf("backing file: %s\nbacking file format: %s\n", in.backing_file,
		       fmt_name(in.backing_format));
	return DS_OK;
}

static int cmd_check(int argc, char **argv)
{
	vmm_disk_check_result r = VMM_DISK_CHECK_RESULT_INIT;
	const char *file = NULL;
	int repair = 0, rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--repair") || !strcmp(argv[i], "-r"))
			repair = 1;
		else if (!file && argv[i][0] != '-')
			file = argv[i];
		else
			return disk_fail(DS_USAGE, "check", "usage: vmm disk check [--repair] FILE");
	}
	if (!file)
		return disk_fail(DS_USAGE, "check", "usage: vmm disk check [--repair] FILE");
	rc = vmm_disk_check(file, repair, &r);
	if (rc == VMM_ENOTSUP && strstr(vmm_last_error(), "raw image"))
		return disk_fail(DS_NOCHECK, "check", vmm_last_error());
	if (rc < 0)
		return disk_fail(DS_CHECK_FAILED, "check", vmm_last_error());
	if (repair && (r.leaks_fixed || r.corruptions_fixed))
		printf("repaired: %llu leaked clusters, %llu corruptions\n",
		       (unsigned long long)r.leaks_fixed, (unsigned long long)r.corruptions_fixed);
	r.leaks -= r.leaks_fixed;
	r.corruptions -= r.corruptions_fixed;
	if (!r.leaks && !r.corruptions) {
		printf("no errors were found on the image\n");
		return DS_OK;
	}
	printf("%llu leaked clusters, %llu corruptions%s\n", (unsigned long long)r.leaks,
	       (unsigned long long)r.corruptions, repair ? " remain" : " (vmm disk check --repair fixes them)");
	return r.corruptions ? DS_CORRUPT : DS_LEAKS;
}

static int cmd_resize(int argc, char **argv)
{
	const char *sock = NULL;
	char err[600];
	uint64_t size;
	int rc;

	if (argc == 5 && !strcmp(argv[1], "--control")) {
		sock = argv[2];
		argv += 2;
		argc -= 2;
	}
	if (argc != 3)
		return disk_fail(DS_USAGE, "resize", "usage: vmm disk resize [--control SOCKET] FILE SIZE");
	if (cli_parse_size(argv[2], &size, err, sizeof(err)) < 0)
		return disk_fail(DS_USAGE, "resize", err);
	if (sock) {
		if (cli_control_resize(sock, argv[1], argv[2], err, sizeof(err)) < 0)
			return disk_fail(DS_USAGE, "resize", strncmp(err, "error ", 6) ? err : err + 6);
		return DS_OK;
	}
	if ((rc = vmm_disk_resize(argv[1], size)) < 0) {
		if (rc == VMM_EBUSY) {
			snprintf(err, sizeof(err), "%.300s (a running VM grows it with vmm run "
				 "--control SOCKET and vmm disk resize --control SOCKET FILE SIZE)",
				 vmm_last_error());
			return disk_fail(DS_USAGE, "resize", err);
		}
		return disk_lib_fail("resize", rc);
	}
	return DS_OK;
}

int cli_disk(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
		fputs(disk_usage, sub ? stdout : stderr);
		return sub ? DS_OK : DS_USAGE;
	}
	if (!strcmp(sub, "create"))
		return cmd_create(argc - 1, argv + 1);
	if (!strcmp(sub, "info"))
		return cmd_info(argc - 1, argv + 1);
	if (!strcmp(sub, "check"))
		return cmd_check(argc - 1, argv + 1);
	if (!strcmp(sub, "resize"))
		return cmd_resize(argc - 1, argv + 1);
	return disk_fail(DS_USAGE, sub, "unknown disk command (create, info, check, resize)");
}
