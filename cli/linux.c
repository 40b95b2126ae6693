/* linux.c - `vmm run --kernel`: a Linux VM on the PC platform: the kernel,
 * initrd and command line, virtio disks, network devices and entropy, and the host's stdin
 * typed into the serial console. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/linux.h"

/* "FILE" or "FILE,ro" (a path may contain commas: only a final ",ro" counts). */
static int add_disk(vmm_vm *vm, const char *arg, char *err, size_t errlen)
{
	vmm_blk_config c = VMM_BLK_CONFIG_INIT;
	char path[4096];
	size_t n = strlen(arg);

	if (n >= sizeof(path))
		return snprintf(err, errlen, "--disk %.64s...: path too long", arg), -1;
	memcpy(path, arg, n + 1);
	if (n > 3 && !strcmp(path + n - 3, ",ro")) {
		path[n - 3] = 0;
		c.flags = VMM_BLK_READONLY;
	}
	c.path = path;
	if (vmm_virtio_blk_add(vm, &c) != 0)
		return snprintf(err, errlen, "--disk %.200s: %s", arg, vmm_last_error()), -1;
	return 0;
}

/* --scsi: one storage device per LUN, destroyed after the VM. */
static vmm_storage_dev *scsi_devs[CLI_MAX_DISKS];
static uint32_t nscsi_devs;

/* The image's format by its first bytes: qcow2's magic, else raw. */
static uint32_t path_kind(const char *path)
{
	unsigned char m[4] = { 0 };
	FILE *f = fopen(path, "rb");

	if (f) {
		if (fread(m, 1, 4, f) != 4)
			m[0] = 0;
		fclose(f);
	}
	return memcmp(m, "QFI\xfb", 4) ? VMM_STORAGE_PATH_FILE : VMM_STORAGE_PATH_QCOW2;
}

static int add_scsi_lun(const char *arg, vmm_scsi_lun_config *lun, char *err, size_t errlen)
{
	vmm_storage_config sc = VMM_STORAGE_CONFIG_INIT;
	vmm_storage_path_config pc = VMM_STORAGE_PATH_CONFIG_INIT;
	vmm_storage_dev *dev;
	char path[4096], name[16];
	size_t n = strlen(arg);

	if (n >= sizeof(path))
		return snprintf(err, errlen, "--scsi %.64s...: path too long", arg), -1;
	memcpy(path, arg, n + 1);
	if (n > 3 && !strcmp(path + n - 3, ",ro")) {
		path[n - 3] = 0;
		sc.flags = VMM_STORAGE_READONLY;
	}
	snprintf(name, sizeof(name), "LUN %u", nscsi_devs);
	sc.name = name;
	pc.kind = path_kind(path);
	pc.target = path;
	if (vmm_storage_create(&sc, &dev) != 0)
		return snprintf(err, errlen, "--scsi %.200s: %s", arg, vmm_last_error()), -1;
	scsi_devs[nscsi_devs++] = dev;
	if (vmm_storage_add_path(dev, &pc, NULL) != 0)
		return snprintf(err, errlen, "--scsi %.200s: %s", arg, vmm_last_error()), -1;
	lun->storage = dev;
	return 0;
}

static int add_scsi(vmm_vm *vm, const cli_run_opts *o, char *err, size_t errlen)
{
	vmm_scsi_lun_config luns[CLI_MAX_DISKS];
	vmm_scsi_config c = VMM_SCSI_CONFIG_INIT;

	for (uint32_t i = 0; i < o->nscsi; i++) {
		luns[i] = (vmm_scsi_lun_config)VMM_SCSI_LUN_CONFIG_INIT;
		if (add_scsi_lun(o->scsi[i], &luns[i], err, errlen))
			return -1;
	}
	c.luns = luns;
	c.nluns = o->nscsi;
	if (vmm_virtio_scsi_add(vm, &c) != 0)
		return snprintf(err, errlen, "--scsi: %s", vmm_last_error()), -1;
	return 0;
}

vmm_storage_dev *cli_linux_scsi_dev(uint32_t i)
{
	return i < nscsi_devs ? scsi_devs[i] : NULL;
}

void cli_linux_cleanup(void)
{
	while (nscsi_devs)
		vmm_storage_destroy(scsi_devs[--nscsi_devs]);
}

/* "CID,PATH": the guest's CID (3 to 4294967294) and the Unix socket. */
static int add_vsock(vmm_vm *vm, const char *arg, char *err, size_t errlen)
{
	vmm_vsock_config c = VMM_VSOCK_CONFIG_INIT;
	unsigned long long cid;
	char *end;

	errno = 0;
	cid = strtoull(arg, &end, 10);
	if (arg[0] < '0' || arg[0] > '9' || errno || *end != ',' || !end[1] || cid > UINT32_MAX)
		return snprintf(err, errlen, "bad --vsock '%.64s': expected CID,PATH (e.g. "
				"3,/tmp/v.sock)", arg), -1;
	c.guest_cid = (uint32_t)cid;
	c.uds_path = end + 1;
	if (vmm_virtio_vsock_add(vm, &c) != 0)
		return snprintf(err, errlen, "--vsock %.200s: %s", arg, vmm_last_error()), -1;
	return 0;
}

int cli_linux_setup(vmm_vm *vm, const cli_run_opts *o, char *err, size_t errlen)
{
	vmm_linux_options lo = VMM_LINUX_OPTIONS_INIT;

	for (uint32_t i = 0; i < o->ndisks; i++)
		if (add_disk(vm, o->disks[i], err, errlen))
			return -1;
	for (uint32_t i = 0; i < o->nnets; i++)
		if (cli_net_add(vm, &o->nets[i], o->net_args[i], err, errlen))
			return -1;
	if (o->nscsi && add_scsi(vm, o, err, errlen))
		return -1;
	if (o->rng && vmm_virtio_rng_add(vm) != 0)
		return snprintf(err, errlen, "--rng: %s", vmm_last_error()), -1;
	if (o->vsock && add_vsock(vm, o->vsock, err, errlen))
		return -1;
	lo.kernel = o->kernel;
	lo.initrd = o->initrd;
	lo.cmdline = o->cmdline ? o->cmdline : "console=ttyS0";
	if (vmm_load_linux(vm, &lo) != 0)
		return snprintf(err, errlen, "%.200s: %s", o->kernel, vmm_last_error()), -1;
	return 0;
}

/* stdin -> COM1: a thread of the vmm command (not of the library). It
 * waits while the guest has not taken earlier input. */
static void *stdin_pump(void *arg)
{
	vmm_vm *vm = arg;
	char buf[256];

	for (;;) {
		ssize_t n = read(0, buf, sizeof(buf));
		size_t done = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		while (done < (size_t)n) {
			size_t took = 0;

			if (vmm_uart_input(vm, buf + done, (size_t)n - done, &took) != 0)
				return NULL;
			done += took;
			if (!took)
				usleep(10000);
		}
	}
}

void cli_linux_stdin(vmm_vm *vm)
{
	pthread_t t;
	pthread_attr_t attr;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* The process exits when the run ends; a read() blocked here with it. */
	pthread_create(&t, &attr, stdin_pump, vm);
	pthread_attr_destroy(&attr);
}
