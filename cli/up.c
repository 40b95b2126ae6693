/* up.c - `vmm up CONFIG.json`: every VM of the file (cli/config.h) is set
 * up first, after the file's switches and their ports (cli/up_switch.c;
 * any error: status 2 before a guest runs), then each runs with
 * its own runner on its own thread of this process; the command ends when
 * all have ended. Output of several VMs on stdout is prefixed line by line
 * with the VM's name. A file of switches alone runs them until SIGINT or
 * SIGTERM (then leaves their clusters). docs/config.md. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/common.h"
#include "cli/config.h"
#include "cli/testdev.h"
#include "cli/up.h"
#include "cli/up_switch.h"

/* Where a VM's serial or console output goes: an fd, whole lines with the
 * VM's name in front when several VMs share stdout. */
typedef struct sink {
	int opened, fd, own_fd;
	const char *prefix;       /* NULL: bytes as they come */
	pthread_mutex_t lock;
	size_t len;
	char line[1024];
} sink;

typedef struct up_vm {
	const cfg_vm *c;
	const up_switches *sw;    /* the file's switches: ports for its nets */
	vmm_vm *vm;
	cli_testdev *td;
	pthread_t thread;
	int started, rc;
	char run_err[300];
	vmm_run_result res;
	char who[CFG_NAME_MAX + 3];
	sink serial, console;
} up_vm;

static pthread_mutex_t stdout_lock = PTHREAD_MUTEX_INITIALIZER;

static void sink_flush(sink *s)
{
	pthread_mutex_lock(&stdout_lock);
	if (write(s->fd, s->prefix, strlen(s->prefix)) >= 0)
		(void)!write(s->fd, s->line, s->len);   /* stdout closed: nothing to do */
	pthread_mutex_unlock(&stdout_lock);
	s->len = 0;
}

static void sink_out(void *opaque, const char *buf, size_t len)
{
	sink *s = opaque;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < len; i++) {
		s->line[s->len++] = buf[i];
		if (buf[i] == '\n' || s->len == sizeof(s->line))
			sink_flush(s);
	}
	pthread_mutex_unlock(&s->lock);
}

static int sink_open(sink *s, const cfg_out *o, const char *prefix, char *err, size_t errlen)
{
	s->fd = s->own_fd = -1;
	s->opened = 1;
	pthread_mutex_init(&s->lock, NULL);
	if (o->kind == CFG_OUT_STDOUT) {
		s->fd = 1;
		s->prefix = prefix;
	} else if (o->kind == CFG_OUT_FILE) {
		s->fd = s->own_fd = open(o->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (s->fd < 0)
			return snprintf(err, errlen, "%.200s: cannot create: %s", o->path,
					strerror(errno)), -1;
	}
	return 0;
}

static void sink_close(sink *s)
{
	if (!s->opened)
		return;
	s->opened = 0;
	if (s->prefix && s->len) {
		s->line[s->len++] = '\n';
		sink_flush(s);
	}
	if (s->own_fd >= 0)
		close(s->own_fd);
	pthread_mutex_destroy(&s->lock);
}

static int attach_out(up_vm *u, int console)
{
	sink *s = console ? &u->console : &u->serial;
	vmm_console_config cc = VMM_CONSOLE_CONFIG_INIT;
	int fd = s->prefix ? -1 : s->fd;
	vmm_output_fn fn = s->prefix ? sink_out : NULL;

	if (!console)
		return vmm_uart_output(u->vm, fd, fn, s);
	if (u->c->console.kind == CFG_OUT_NONE)
		return 0;
	cc.out_fd = fd;
	cc.out_fn = fn;
	cc.out_opaque = s;
	return vmm_virtio_console_add(u->vm, &cc);
}

#define SETUP_FAIL(...) (snprintf(err, errlen, __VA_ARGS__), -1)

static int add_nets(up_vm *u, char *err, size_t errlen)
{
	for (uint32_t i = 0; i < u->c->nnets; i++) {
		const cfg_net *n = &u->c->nets[i];
		vmm_net_config nc = VMM_NET_CONFIG_INIT;

		memcpy(nc.mac, n->mac, 6);
		nc.mtu = n->mtu;
		nc.flags = n->no_offload ? VMM_NET_NO_OFFLOAD : 0;
		if (n->kind == CFG_NET_PAIR)
			nc.pair = n->name;
		else if (n->kind == CFG_NET_TAP)
			nc.tap = n->name;
		else if (n->kind == CFG_NET_SWITCH)
			nc.port = u->sw->port[n->sw][n->sw_port];
		else
			nc.flags |= VMM_NET_USER;
		nc.fwd = n->fwd;
		nc.nfwd = n->nfwd;
		if (vmm_virtio_net_add(u->vm, &nc))
			return SETUP_FAIL("nets[%u]: %s", i, vmm_last_error());
	}
	return 0;
}

static int add_devices(up_vm *u, char *err, size_t errlen)
{
	const cfg_vm *c = u->c;

	if (attach_out(u, 0))
		return SETUP_FAIL("serial: %s", vmm_last_error());
	if (attach_out(u, 1))
		return SETUP_FAIL("console: %s", vmm_last_error());
	for (uint32_t i = 0; i < c->ndisks; i++) {
		vmm_blk_config bc = VMM_BLK_CONFIG_INIT;

		bc.path = c->disks[i].path;
		bc.serial = c->disks[i].serial;
		bc.flags = c->disks[i].readonly ? VMM_BLK_READONLY : 0;
		if (vmm_virtio_blk_add(u->vm, &bc))
			return SETUP_FAIL("disks[%u]: %s", i, vmm_last_error());
	}
	if (add_nets(u, err, errlen))
		return -1;
	if (c->rng && vmm_virtio_rng_add(u->vm))
		return SETUP_FAIL("rng: %s", vmm_last_error());
	if (c->has_vsock) {
		vmm_vsock_config vc = VMM_VSOCK_CONFIG_INIT;

		vc.guest_cid = c->vsock_cid;
		vc.uds_path = c->vsock_socket;
		if (vmm_virtio_vsock_add(u->vm, &vc))
			return SETUP_FAIL("vsock: %s", vmm_last_error());
	}
	if (c->test_devices && cli_testdev_attach(u->vm, &u->td, err, errlen))
		return -1;
	return 0;
}

static int load(up_vm *u, char *err, size_t errlen)
{
	const cfg_vm *c = u->c;
	char buf[8192];
	const char *cl;

	if (c->kernel) {
		vmm_linux_options lo = VMM_LINUX_OPTIONS_INIT;

		lo.kernel = c->kernel;
		lo.initrd = c->initrd;
		lo.cmdline = c->cmdline ? c->cmdline : "console=ttyS0";
		if (vmm_load_linux(u->vm, &lo))
			return SETUP_FAIL("kernel %.200s: %s", c->kernel, vmm_last_error());
		return 0;
	}
	if (!(cl = cli_guest_cmdline(c->elf, c->cmdline, buf, sizeof(buf))) && c->cmdline)
		return SETUP_FAIL("cmdline: the image path and the command line are too long");
	if (vmm_load_elf(u->vm, c->elf, cl))
		return SETUP_FAIL("elf %.200s: %s", c->elf, vmm_last_error());
	return 0;
}

/* Creates and fills one VM; -1 with "vms[i] (NAME): ..." in err. */
static int setup(up_vm *u, const char *prefix, char *err, size_t errlen)
{
	const cfg_vm *c = u->c;
	vmm_vm_config vc = VMM_VM_CONFIG_INIT;
	char e[600];
	int rc;

	vc.vcpus = c->cpus;
	vc.mem_size = c->mem;
	vc.backend = c->backend;
	vc.flags = (c->fw_cfg ? VMM_VM_FW_CFG : 0) |
		   (c->kernel || c->test_devices ? VMM_VM_IRQCHIP : 0);
	rc = vmm_vm_create(&vc, &u->vm);
	if (rc && c->elf && c->test_devices) {  /* as `vmm run`: without the PC chips */
		vc.flags &= ~(uint32_t)VMM_VM_IRQCHIP;
		rc = vmm_vm_create(&vc, &u->vm);
	}
	if (rc) {
		snprintf(e, sizeof(e), "cannot create the VM: %s", vmm_last_error());
		return snprintf(err, errlen, "%.500s", e), cli_status_for(rc);
	}
	if (sink_open(&u->serial, &c->serial, prefix, e, sizeof(e)) ||
	    sink_open(&u->console, &c->console, prefix, e, sizeof(e)) ||
	    add_devices(u, e, sizeof(e)) || load(u, e, sizeof(e)))
		return snprintf(err, errlen, "%.500s", e), ST_USAGE;
	return 0;
}

static void *run_thread(void *arg)
{
	up_vm *u = arg;
	vmm_run_options ro = VMM_RUN_OPTIONS_INIT;

	ro.timeout_ms = u->c->timeout_ms;
	u->rc = vmm_vm_run(u->vm, &ro, &u->res);
	if (u->rc)
		snprintf(u->run_err, sizeof(u->run_err), "%s", vmm_last_error());
	return NULL;
}

/* One status for the file: 0 when every VM ended with 0, otherwise the
 * first non-zero status in the file's order. Each VM's failure has its
 * own line, starting with its name. */
static int finish(up_vm *u, uint32_t n)
{
	int status = 0;

	for (uint32_t i = 0; i < n; i++) {
		int st;

		if (!u[i].started)
			continue;
		pthread_join(u[i].thread, NULL);
		sink_close(&u[i].serial);
		sink_close(&u[i].console);
		if (u[i].rc) {
			char pre[64];

			snprintf(pre, sizeof(pre), "%srun failed: ", u[i].who);
			st = cli_fail(ST_INTERNAL, pre, u[i].run_err);
		} else {
			st = cli_report_end(&u[i].res, u[i].c->timeout_arg, u[i].who);
		}
		if (!status)
			status = st;
	}
	return status;
}

static int start_all(up_vm *u, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		vmm_run_result r = VMM_RUN_RESULT_INIT;

		u[i].res = r;
		if (pthread_create(&u[i].thread, NULL, run_thread, &u[i]) != 0) {
			finish(u, i);
			return cli_fail(ST_INTERNAL, u[i].who, "cannot start a thread for the VM");
		}
		u[i].started = 1;
	}
	return finish(u, n);
}

/* No VMs: the switches (TAP ports, uplinks, clusters) run until SIGINT or
 * SIGTERM, blocked before any thread started so only sigwait sees them. */
static int serve_switches(const char *file, const cfg *c, const sigset_t *sigs)
{
	int sig = 0;

	fprintf(stderr, "vmm: %s: %u switch%s up, no VMs: running until SIGINT or SIGTERM\n",
		file, c->nswitches, c->nswitches == 1 ? "" : "es");
	while (sigwait(sigs, &sig) != 0)
		;
	return 0;
}

static int run_config(const char *file, const cfg *c)
{
	up_vm *u = calloc(c->nvms ? c->nvms : 1, sizeof(*u));
	up_switches *sw = calloc(1, sizeof(*sw));
	char err[700], msg[900];
	sigset_t sigs;
	int status = 0;
	uint32_t i;

	if (!u || !sw) {
		free(u);
		free(sw);
		return cli_fail(ST_INTERNAL, "", "out of memory");
	}
	if (!c->nvms) {
		sigemptyset(&sigs);
		sigaddset(&sigs, SIGINT);
		sigaddset(&sigs, SIGTERM);
		pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	}
	if ((status = up_switches_create(c, sw, err, sizeof(err)))) {
		snprintf(msg, sizeof(msg), "%.200s: %.600s", file, err);
		cli_fail(status, "", msg);
	}
	for (i = 0; i < c->nvms && !status; i++) {
		u[i].c = &c->vms[i];
		u[i].sw = sw;
		if (c->nvms > 1)
			snprintf(u[i].who, sizeof(u[i].who), "%s: ", c->vms[i].name);
		status = setup(&u[i], u[i].who, err, sizeof(err));
		if (status) {
			snprintf(msg, sizeof(msg), "%.200s: vms[%u] (%s): %.600s", file, i,
				 c->vms[i].name, err);
			cli_fail(status, "", msg);
		}
	}
	if (!status)
		status = c->nvms ? start_all(u, c->nvms) : serve_switches(file, c, &sigs);
	for (i = 0; i < c->nvms; i++) {
		vmm_vm_destroy(u[i].vm);
		cli_testdev_free(u[i].td);
		sink_close(&u[i].serial);
		sink_close(&u[i].console);
	}
	up_switches_destroy(sw);
	free(sw);
	free(u);
	return status;
}

int cli_cmd_up(int argc, char **argv)
{
	char err[800];
	cfg *c;
	int status;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs("usage: vmm up CONFIG.json   run the VMs the file describes "
		      "(docs/config.md)\n", stdout);
		return 0;
	}
	if (argc != 2)
		return cli_fail(ST_USAGE, "", argc < 2 ? "missing CONFIG (usage: vmm up "
				"CONFIG.json)" : "'vmm up' takes one CONFIG file");
	if (!(c = cfg_load(argv[1], err, sizeof(err))))
		return cli_fail(ST_USAGE, "", err);
	status = run_config(argv[1], c);
	cfg_free(c);
	return status;
}
