/* vmm.c - the vmm command: run an ELF guest, list backends. Every failure
 * is one line on stderr and a documented exit status (docs/cli.md). */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cluster.h"
#include "cli/common.h"
#include "cli/control.h"
#include "cli/disk.h"
#include "cli/linux.h"
#include "cli/testdev.h"
#include "cli/trace.h"
#include "cli/up.h"
#include "vmm.h"

static const char usage_text[] =
	"usage: vmm run [OPTIONS] IMAGE   run an ELF64 or Multiboot (ELF32) guest\n"
	"       vmm run --kernel KERNEL [--initrd FILE] [--disk FILE[,ro]]... [--rng]\n"
	"               [--net tap=IF|pair=NAME|user[,hostfwd=...]]... [--vsock CID,PATH]\n"
	"               [--scsi FILE[,ro]]... [--control PATH]\n"
	"                                 boot Linux (bzImage or vmlinux) on the PC platform\n"
	"       vmm up CONFIG.json        run the VMs and switches a JSON file describes\n"
	"                                 (docs/config.md)\n"
	"       vmm cluster seed --etcd URL [--prefix PREFIX] CONFIG.json\n"
	"                                 write a file's switches into etcd as distributed\n"
	"                                 switches' configuration (docs/net.md)\n"
	"       vmm info                  list backends and whether they are usable\n"
	"       vmm disk create|info|check|resize ...\n"
	"                                 raw and qcow2 image files (vmm disk --help)\n"
	"       vmm --version | --help\n"
	"\n"
	"run options:\n"
	"  --backend auto|emu|kvm  backend (default auto: kvm with VT-x/SVM, else emu)\n"
	"  --mem SIZE              guest RAM, e.g. 64M, 1G, 512K or bytes (default 64M;\n"
	"                          a multiple of 4 KiB)\n"
	"  --cpus N                vCPUs, 1-64 (default 1)\n"
	"  --timeout SECONDS       stop the guest after SECONDS (default: never)\n"
	"  --cmdline STRING        command line given to the guest (docs/boot.md); a\n"
	"                          Multiboot guest gets \"IMAGE STRING\", as from QEMU/GRUB\n"
	"  --fw-cfg                QEMU's fw_cfg device at ports 0x510-0x511\n"
	"  --test-devices          QEMU's pc-testdev (ports 0xe0-0xeb, 0x2000-0x2017,\n"
	"                          MMIO 0xff000000), as kvm-unit-tests expect\n"
	"  --cpu-hide LIST         CPU features the guest must not have, comma-separated:\n"
	"                          pcid, invpcid, pku (CPUID clear, their use faults)\n"
	"  --kernel FILE           Linux bzImage or vmlinux (PVH); stdin goes to COM1\n"
	"  --initrd FILE           initial ramdisk for --kernel\n"
	"  --disk FILE[,ro]        a virtio-blk disk over a raw image (up to 8)\n"
	"  --net BACKEND[,OPTION]...\n"
	"                          a virtio-net device (up to 8); BACKEND is tap=IFNAME\n"
	"                          (a TAP interface, needs CAP_NET_ADMIN), pair=NAME (the\n"
	"                          two devices naming it are linked in-process) or user\n"
	"                          (libslirp NAT, no rights: guest 10.0.2.15 by DHCP, host\n"
	"                          10.0.2.2); OPTIONs: mac=52:54:00:12:34:56, mtu=N,\n"
	"                          offload=on|off and, for user, up to 16\n"
	"                          hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT\n"
	"  --scsi FILE[,ro]        a LUN of one virtio-scsi controller (LUN 0, 1, ... in\n"
	"                          order, up to 8) over a raw or qcow2 image\n"
	"  --rng                   a virtio-rng device\n"
	"  --control PATH          a Unix socket through which 'vmm disk resize --control\n"
	"                          PATH FILE SIZE' grows a --disk or --scsi image live\n"
	"  --vsock CID,PATH        a virtio-vsock device: guest CID, host Unix socket\n"
	"                          (guest port P reaches PATH_P; docs/virtio.md)\n"
	"  --gdb tcp:HOST:PORT|unix:PATH\n"
	"                          serve the GDB remote protocol there (docs/introspect.md)\n"
	"  --gdb-wait              with --gdb: start with every vCPU stopped until gdb\n"
	"                          continues it\n"
	"  --trace[=FILE]          print every executed instruction (address, disassembly,\n"
	"                          registers it changed) to stderr or FILE (emu backend)\n"
	"\n"
	"The guest's serial port (COM1) is written to stdout.\n"
	"\n"
	"exit status:\n"
	"  0    the guest halted (every vCPU in HLT with interrupts off) or powered off\n"
	"  odd  (value << 1) | 1 when the guest writes value to port 0xf4\n"
	"       (value & 0x7f; like QEMU's isa-debug-exit)\n"
	"  2    bad usage or input: unknown command or option, bad value, VM settings\n"
	"       refused (e.g. more memory than the host has), image unreadable or invalid\n"
	"  4    the guest triple-faulted\n"
	"  6    --timeout expired\n"
	"  8    internal or host error: backend unusable here, libvmm failure\n"
	"  10   the guest made an exit vmm cannot handle\n"
	"  12   the guest asked for a reboot (ACPI reset register)\n"
	"Every non-zero status other than the guest's own comes with one line on stderr.\n";

static int cmd_info(void)
{
	vmm_backend_info info = VMM_BACKEND_INFO_INIT;

	printf("%-8s %-7s %-12s %s\n", "backend", "usable", "flavour", "notes");
	for (uint32_t i = 0; vmm_backends(i, &info) == 0; i++)
		printf("%-8s %-7s %-12s %s\n", info.name, info.usable ? "yes" : "no",
		       info.flavour[0] ? info.flavour : "-", info.reason);
	return 0;
}

static int load_image(vmm_vm *vm, const cli_run_opts *o)
{
	static char cmdline[8192];
	const char *cl;
	char prefix[300];
	int rc;

	if (o->kernel) {
		char err[512];

		if (cli_linux_setup(vm, o, err, sizeof(err)) != 0)
			return cli_fail(ST_USAGE, "", err);
		cli_linux_stdin(vm);
		return 0;
	}
	cl = cli_guest_cmdline(o->image, o->cmdline, cmdline, sizeof(cmdline));
	if (!cl && o->cmdline)
		return cli_fail(ST_USAGE, "", "--cmdline: IMAGE and the command line are too "
			    "long together");
	rc = vmm_load_elf(vm, o->image, cl);
	if (rc) {
		snprintf(prefix, sizeof(prefix), "%.256s: ", o->image);
		return cli_fail(cli_status_for(rc), prefix, vmm_last_error());
	}
	return 0;
}

/* --gdb: the stub listens before the guest runs; its address on stderr. */
static int start_gdb(vmm_vm *vm, const cli_run_opts *o, vmm_gdb **out)
{
	vmm_gdb_config gc = VMM_GDB_CONFIG_INIT;

	*out = NULL;
	if (!o->gdb) {
		if (o->gdb_wait)
			return cli_fail(ST_USAGE, "", "--gdb-wait needs --gdb");
		return 0;
	}
	gc.address = o->gdb;
	gc.flags = o->gdb_wait ? VMM_GDB_WAIT : 0;
	if (vmm_gdb_start(vm, &gc, out))
		return cli_fail(ST_USAGE, "--gdb: ", vmm_last_error());
	fprintf(stderr, "vmm: gdb stub listening on %s\n", vmm_gdb_address(*out));
	return 0;
}

static int run_vm(vmm_vm *vm, const cli_run_opts *o)
{
	vmm_run_options ro = VMM_RUN_OPTIONS_INIT;
	vmm_run_result res = VMM_RUN_RESULT_INIT;
	vmm_gdb *gdb = NULL;
	cli_trace *trace = NULL;
	char err[300];
	int rc;

	rc = vmm_uart_output(vm, 1, NULL, NULL);
	if (rc)
		return cli_fail(ST_INTERNAL, "", vmm_last_error());
	rc = load_image(vm, o);
	if (rc)
		return rc;
	if (o->trace) {
		trace = cli_trace_open(o->trace_file, err, sizeof(err));
		if (!trace)
			return cli_fail(ST_USAGE, "", err);
		rc = cli_trace_attach(trace, vm, o->cpus);
		if (rc) {
			cli_trace_close(trace);
			return cli_fail(rc == VMM_ENOTSUP ? ST_USAGE : ST_INTERNAL, "--trace: ",
				    vmm_last_error());
		}
	}
	ro.timeout_ms = o->timeout_ms;
	rc = start_gdb(vm, o, &gdb);
	if (!rc && o->control && cli_control_start(vm, o, err, sizeof(err)))
		rc = cli_fail(ST_USAGE, "", err);
	if (rc) {
		cli_control_stop();
		vmm_gdb_destroy(gdb);
		cli_trace_close(trace);
		return rc;
	}
	rc = vmm_vm_run(vm, &ro, &res);
	cli_control_stop();
	vmm_gdb_destroy(gdb);   /* tells gdb how the guest ended */
	cli_trace_close(trace);
	if (rc)
		return cli_fail(ST_INTERNAL, "run failed: ", vmm_last_error());
	return cli_report_end(&res, o->timeout_arg, "");
}

/* --fw-cfg and --test-devices want the PC's interrupt controllers too: ask
 * for VMM_VM_IRQCHIP, and create the VM without it where it is refused (a
 * test device's interrupt line then reports that it has nowhere to go). */
static int create_vm(const cli_run_opts *o, vmm_vm **vm)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;

	cfg.vcpus = o->cpus;
	cfg.mem_size = o->mem;
	cfg.backend = o->backend;
	cfg.flags = o->fw_cfg ? VMM_VM_FW_CFG : 0;
	if (o->kernel) {
		cfg.flags |= VMM_VM_IRQCHIP;    /* Linux needs the PC platform */
		return vmm_vm_create(&cfg, vm);
	}
	if (o->test_devices) {           /* test suites want APICs and the PIC */
		cfg.flags |= VMM_VM_IRQCHIP;
		if (vmm_vm_create(&cfg, vm) == 0)
			return 0;
		cfg.flags &= ~(uint32_t)VMM_VM_IRQCHIP;
	}
	return vmm_vm_create(&cfg, vm);
}

static int cmd_run(int argc, char **argv)
{
	cli_run_opts o;
	cli_testdev *td = NULL;
	char err[256];
	vmm_vm *vm = NULL;
	int rc, status;

	if (cli_parse_run(argc, argv, &o, err, sizeof(err)) != 0)
		return cli_fail(ST_USAGE, "", err);
	if (o.help) {
		fputs(usage_text, stdout);
		return 0;
	}
	rc = create_vm(&o, &vm);
	if (rc)
		return cli_fail(cli_status_for(rc), "cannot create the VM: ", vmm_last_error());
	if (o.cpu_hide && (rc = vmm_vm_hide_cpu_features(vm, o.cpu_hide)) != 0) {
		status = cli_fail(cli_status_for(rc), "--cpu-hide: ", vmm_last_error());
		vmm_vm_destroy(vm);
		return status;
	}
	if (o.test_devices && cli_testdev_attach(vm, &td, err, sizeof(err)) != 0)
		status = cli_fail(ST_INTERNAL, "", err);
	else
		status = run_vm(vm, &o);
	vmm_vm_destroy(vm);
	cli_linux_cleanup();    /* the storage devices outlive the VM */
	cli_testdev_free(td);
	return status;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	signal(SIGPIPE, SIG_IGN);   /* a closed stdout must not kill the run */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!cmd)
		return cli_fail(ST_USAGE, "", "missing command (try 'vmm --help')");
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V") || !strcmp(cmd, "version")) {
		printf("vmm (libvmm) %s\n", vmm_version());
		return 0;
	}
	if (!strcmp(cmd, "info"))
		return argc == 2 ? cmd_info()
				 : cli_fail(ST_USAGE, "", "'vmm info' takes no arguments");
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "up"))
		return cli_cmd_up(argc - 1, argv + 1);
	if (!strcmp(cmd, "cluster"))
		return cli_cluster(argc - 1, argv + 1);
	if (!strcmp(cmd, "disk"))
		return cli_disk(argc - 1, argv + 1);
	if (cmd[0] == '-')
		return cli_fail(ST_USAGE, "unknown option ", cmd);
	return cli_fail(ST_USAGE, "unknown command ", cmd);
}
