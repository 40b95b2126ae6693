/* switch_guests.c - tests/linux/run-switch's host: N Linux guests (emu)
 * in this one process, each with a virtio-net device on an access port of
 * one virtual switch; guest i gets "vmm_ip=10.0.0.<i+1>" and its peers on
 * the command line, and its console goes to DIR/guest<i>.log. Runs every
 * guest on its own thread until each powers off (or the timeout), then
 * prints the ports' counters.
 *   switch_guests KERNEL INITRD DIR TIMEOUT_S VLAN0 VLAN1 ... */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "vmm.h"

#define MAXG 4

typedef struct {
	vmm_vm *vm;
	vmm_net_port *port;
	uint64_t timeout_ms;
	vmm_run_result res;
	int rc;
} guest;

static void *run(void *arg)
{
	guest *g = arg;
	vmm_run_options o = VMM_RUN_OPTIONS_INIT;

	o.timeout_ms = g->timeout_ms;
	g->res = (vmm_run_result)VMM_RUN_RESULT_INIT;
	g->rc = vmm_vm_run(g->vm, &o, &g->res);
	return NULL;
}

static int setup(guest *g, vmm_switch *sw, int i, int n, const char *const *argv,
		 uint32_t vlan)
{
	vmm_vm_config vc = VMM_VM_CONFIG_INIT;
	vmm_net_port_config pc = VMM_NET_PORT_CONFIG_INIT;
	vmm_net_config nc = VMM_NET_CONFIG_INIT;
	vmm_linux_options lo = VMM_LINUX_OPTIONS_INIT;
	char cmd[512], path[512];
	int fd;

	vc.backend = "emu";
	vc.mem_size = 256u << 20;
	vc.flags = VMM_VM_IRQCHIP;
	uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, (uint8_t)(0x50 + i) };
	pc.kind = VMM_NET_PORT_VIRTIO;
	pc.vlan = vlan;
	memcpy(pc.mac, mac, 6);
	if (vmm_vm_create(&vc, &g->vm) || vmm_net_port_create(sw, &pc, &g->port))
		return fprintf(stderr, "guest %d: %s\n", i, vmm_last_error()), -1;
	nc.port = g->port;
	memcpy(nc.mac, mac, 6);
	snprintf(cmd, sizeof(cmd), "console=ttyS0 panic=-1 quiet vmm_ip=10.0.0.%d vmm_n=%d", i + 1, n);
	lo.kernel = argv[1];
	lo.initrd = argv[2];
	lo.cmdline = cmd;
	snprintf(path, sizeof(path), "%s/guest%d.log", argv[3], i);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || vmm_virtio_net_add(g->vm, &nc) || vmm_load_linux(g->vm, &lo) ||
	    vmm_uart_output(g->vm, fd, NULL, NULL))
		return fprintf(stderr, "guest %d: %s\n", i, vmm_last_error()), -1;
	return 0;
}

int main(int argc, char **argv)
{
	vmm_switch_config sc = VMM_SWITCH_CONFIG_INIT;
	guest g[MAXG] = { 0 };
	pthread_t t[MAXG];
	vmm_switch *sw;
	int n = argc - 5, bad = 0;

	if (argc < 7 || n > MAXG)
		return fprintf(stderr, "usage: %s KERNEL INITRD DIR TIMEOUT_S VLAN...(2-4)\n",
			       argv[0]), 2;
	if (vmm_switch_create(&sc, &sw))
		return fprintf(stderr, "switch: %s\n", vmm_last_error()), 1;
	for (int i = 0; i < n; i++) {
		g[i].timeout_ms = strtoull(argv[4], NULL, 0) * 1000;
		if (setup(&g[i], sw, i, n, (const char *const *)argv, (uint32_t)atoi(argv[5 + i])))
			return 1;
	}
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, run, &g[i]);
	for (int i = 0; i < n; i++) {
		vmm_net_port_stats st = { .size = sizeof(st) };

		pthread_join(t[i], NULL);
		vmm_net_port_stats_get(g[i].port, &st);
		printf("guest%d: end %u (%s) in %llu frames, out %llu, dropped in %llu out %llu\n",
		       i, g[i].res.end, g[i].res.message, (unsigned long long)st.in_frames,
		       (unsigned long long)st.out_frames, (unsigned long long)st.in_dropped,
		       (unsigned long long)st.out_dropped);
		bad |= g[i].rc != 0 || g[i].res.end != VMM_END_POWEROFF;
	}
	for (int i = 0; i < n; i++)
		vmm_vm_destroy(g[i].vm);
	vmm_switch_destroy(sw);
	return bad;
}
