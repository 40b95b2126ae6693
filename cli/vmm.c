/* vmm.c - the vmm command: run an ELF guest, list backends. Every failure
 * is one line on stderr and a documented exit status (docs/cli.md). */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/linux.h"
#include "cli/trace.h"
#include "vmm.h"

/* Exit statuses. Odd statuses belong to the guest ((value << 1) | 1 after
 * it writes value to port 0xf4); vmm's own failures are even. */
enum {
	ST_HALTED = 0,
	ST_USAGE = 2,        /* bad command line, VM settings or image */
	ST_TRIPLE_FAULT = 4,
	ST_TIMEOUT = 6,
	ST_INTERNAL = 8,     /* backend unusable, host or libvmm failure */
	ST_UNHANDLED = 10,   /* the guest did something vmm cannot handle */
	ST_REBOOT = 12,      /* the guest asked for a reboot */
};

static const char usage_text[] =
	"usage: vmm run [OPTIONS] IMAGE   run an ELF64 or Multiboot (ELF32) guest\n"
	"       vmm run --kernel KERNEL [--initrd FILE] [--disk FILE[,ro]]... [--rng]\n"
	"                                 boot Linux (bzImage or vmlinux) on the PC platform\n"
	"       vmm info                  list backends and whether they are usable\n"
	"       vmm --version | --help\n"
	"\n"
	"run options:\n"
	"  --backend auto|emu|kvm  backend (default auto: kvm with VT-x/SVM, else emu)\n"
	"  --mem SIZE              guest RAM, e.g. 64M, 1G, 512K or bytes (default 64M;\n"
	"                          a multiple of 4 KiB)\n"
	"  --cpus N                vCPUs, 1-64 (default 1)\n"
	"  --timeout SECONDS       stop the guest after SECONDS (default: never)\n"
	"  --cmdline STRING        command line given to the guest (docs/boot.md);\n"
	"                          with --kernel the kernel's (default console=ttyS0)\n"
	"  --kernel FILE           Linux bzImage or vmlinux (PVH); stdin goes to COM1\n"
	"  --initrd FILE           initial ramdisk for --kernel\n"
	"  --disk FILE[,ro]        a virtio-blk disk over a raw image (up to 8)\n"
	"  --rng                   a virtio-rng device\n"
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

/* One line on stderr: newlines in library messages become spaces. */
static int fail(int status, const char *prefix, const char *msg)
{
	char line[768];

	snprintf(line, sizeof(line), "%s%s", prefix, msg);
	for (char *p = line; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	fprintf(stderr, "vmm: %s\n", line);
	return status;
}

/* Status for a library error before the guest ran. */
static int status_for(int err)
{
	switch (err) {
	case VMM_EINVAL: case VMM_ENOMEM: case VMM_ERANGE: case VMM_EEXIST:
	case VMM_ENOENT: case VMM_EBADIMAGE: case VMM_EIO:
		return ST_USAGE;
	default:
		return ST_INTERNAL;
	}
}

static int cmd_info(void)
{
	vmm_backend_info info = VMM_BACKEND_INFO_INIT;

	printf("%-8s %-7s %-12s %s\n", "backend", "usable", "flavour", "notes");
	for (uint32_t i = 0; vmm_backends(i, &info) == 0; i++)
		printf("%-8s %-7s %-12s %s\n", info.name, info.usable ? "yes" : "no",
		       info.flavour[0] ? info.flavour : "-", info.reason);
	return 0;
}

static int report_end(const vmm_run_result *res, const cli_run_opts *o)
{
	char msg[320];

	switch (res->end) {
	case VMM_END_DEBUG_EXIT:
		return (int)(((res->code & 0x7fu) << 1) | 1u);
	case VMM_END_HALTED:
	case VMM_END_POWEROFF:
		return ST_HALTED;
	case VMM_END_SHUTDOWN:
		snprintf(msg, sizeof(msg), "guest triple-faulted at rip 0x%llx (vCPU %u)",
			 (unsigned long long)res->rip, res->vcpu_index);
		return fail(ST_TRIPLE_FAULT, "", msg);
	case VMM_END_TIMEOUT:
		snprintf(msg, sizeof(msg), "timed out after %.64s s", o->timeout_arg);
		return fail(ST_TIMEOUT, "", msg);
	case VMM_END_INTERNAL_ERROR:
		return fail(ST_INTERNAL, "internal error: ", res->message);
	case VMM_END_UNHANDLED:
		return fail(ST_UNHANDLED, "unhandled guest exit: ", res->message);
	case VMM_END_RESET:
		return fail(ST_REBOOT, "", "the guest asked for a reboot");
	default:
		snprintf(msg, sizeof(msg), "run ended in an unknown way (%u): %.200s",
			 res->end, res->message);
		return fail(ST_UNHANDLED, "", msg);
	}
}

static int run_vm(vmm_vm *vm, const cli_run_opts *o)
{
	vmm_run_options ro = VMM_RUN_OPTIONS_INIT;
	vmm_run_result res = VMM_RUN_RESULT_INIT;
	cli_trace *trace = NULL;
	char prefix[300];
	int rc;

	rc = vmm_uart_output(vm, 1, NULL, NULL);
	if (rc)
		return fail(ST_INTERNAL, "", vmm_last_error());
	if (o->kernel) {
		char err[512];

		rc = cli_linux_setup(vm, o, err, sizeof(err));
		if (rc)
			return fail(status_for(vmm_last_error()[0] ? VMM_EINVAL : VMM_EINVAL), "", err);
		cli_linux_stdin(vm);
	} else {
		rc = vmm_load_elf(vm, o->image, o->cmdline);
	}
	if (rc) {
		snprintf(prefix, sizeof(prefix), "%.256s: ", o->image);
		return fail(status_for(rc), prefix, vmm_last_error());
	}
	if (o->trace) {
		trace = cli_trace_open(o->trace_file, prefix, sizeof(prefix));
		if (!trace)
			return fail(ST_USAGE, "", prefix);
		rc = cli_trace_attach(trace, vm, o->cpus);
		if (rc) {
			cli_trace_close(trace);
			return fail(rc == VMM_ENOTSUP ? ST_USAGE : ST_INTERNAL, "--trace: ",
				    vmm_last_error());
		}
	}
	ro.timeout_ms = o->timeout_ms;
	rc = vmm_vm_run(vm, &ro, &res);
	cli_trace_close(trace);
	if (rc)
		return fail(ST_INTERNAL, "run failed: ", vmm_last_error());
	return report_end(&res, o);
}

static int cmd_run(int argc, char **argv)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	cli_run_opts o;
	char err[256];
	vmm_vm *vm = NULL;
	int rc, status;

	if (cli_parse_run(argc, argv, &o, err, sizeof(err)) != 0)
		return fail(ST_USAGE, "", err);
	if (o.help) {
		fputs(usage_text, stdout);
		return 0;
	}
	cfg.vcpus = o.cpus;
	cfg.mem_size = o.mem;
	cfg.backend = o.backend;
	if (o.kernel)
		cfg.flags |= VMM_VM_IRQCHIP;    /* Linux needs the PC platform */
	rc = vmm_vm_create(&cfg, &vm);
	if (rc)
		return fail(status_for(rc), "cannot create the VM: ", vmm_last_error());
	status = run_vm(vm, &o);
	vmm_vm_destroy(vm);
	return status;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	signal(SIGPIPE, SIG_IGN);   /* a closed stdout must not kill the run */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!cmd)
		return fail(ST_USAGE, "", "missing command (try 'vmm --help')");
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
				 : fail(ST_USAGE, "", "'vmm info' takes no arguments");
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (cmd[0] == '-')
		return fail(ST_USAGE, "unknown option ", cmd);
	return fail(ST_USAGE, "unknown command ", cmd);
}
