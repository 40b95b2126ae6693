/* gdb_cmd.c - the GDB remote serial protocol commands the stub answers:
 * queries (qSupported, qXfer:features, threads), registers (g G p P),
 * memory by virtual address (m M), breakpoints and watchpoints (Z z),
 * execution (? c s, Ctrl-C in gdb.c), detach and kill (D k). Unknown
 * packets get the empty reply, as the protocol asks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/introspect/gdb_priv.h"

static vmm_vcpu *vcpu_of(vmm_gdb *g, uint32_t idx)
{
	vmm_vcpu *v = idx < VMM_MAX_VCPUS ? g->vm->vcpus[idx] : NULL;
	uint32_t i;

	for (i = 0; !v && i < VMM_MAX_VCPUS; i++)
		v = g->vm->vcpus[i];
	return v;
}

static void q_xfer_features(vmm_gdb *g, const char *args)
{
	const char *xml = gdb_target_xml(g->is64);
	size_t total = strlen(xml), off, len;
	char *buf;

	if (strncmp(args, "target.xml:", 11) ||
	    sscanf(args + 11, "%zx,%zx", &off, &len) != 2) {
		gdb_send_str(g, "E00");
		return;
	}
	if (off > total)
		off = total;
	if (len > GDB_PKT_MAX - 8)
		len = GDB_PKT_MAX - 8;
	if (len > total - off)
		len = total - off;
	buf = malloc(len + 2);
	if (!buf) {
		gdb_send_str(g, "E01");
		return;
	}
	buf[0] = off + len < total ? 'm' : 'l';
	memcpy(buf + 1, xml + off, len);
	gdb_send(g, buf, len + 1);
	free(buf);
}

static void q_threads(vmm_gdb *g)
{
	char buf[VMM_MAX_VCPUS * 4 + 4];
	size_t o = 0;

	buf[o++] = 'm';
	for (uint32_t i = 0; i < VMM_MAX_VCPUS; i++)
		if (g->vm->vcpus[i])
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%x", o > 1 ? "," : "",
					      i + 1);
	gdb_send(g, buf, o);
}

/* "monitor core PATH": a core file of the stopped VM (vmm_core_dump). */
static void monitor_cmd(vmm_gdb *g, const char *hex)
{
	char cmd[512], msg[600], out[2 * sizeof(msg) + 2];
	size_t n = strlen(hex) / 2;

	if (n >= sizeof(cmd) || gdb_unhex(cmd, hex, n)) {
		gdb_send_str(g, "E01");
		return;
	}
	cmd[n] = 0;
	if (strncmp(cmd, "core ", 5) || !cmd[5]) {
		snprintf(msg, sizeof(msg), "libvmm stub: monitor commands: core PATH\n");
	} else {
		pthread_mutex_lock(&g->lock);
		if (!g->stopped)
			snprintf(msg, sizeof(msg), "the target runs\n");
		else if (vmm__core_dump(g->vm, cmd + 5))
			snprintf(msg, sizeof(msg), "%s\n", vmm_last_error());
		else
			snprintf(msg, sizeof(msg), "core written to %s\n", cmd + 5);
		pthread_mutex_unlock(&g->lock);
	}
	out[0] = 'O';
	gdb_hex(out + 1, msg, strlen(msg));
	gdb_send(g, out, 1 + 2 * strlen(msg));
	gdb_send_str(g, "OK");
}

static void query(vmm_gdb *g, const char *p)
{
	char buf[64];

	if (!strncmp(p, "qSupported", 10)) {
		g->swbreak = strstr(p, "swbreak+") != NULL;
		/* The description matches the mode vCPU 0 is in now. */
		g->is64 = gdb_vcpu_is64(vcpu_of(g, 0));
		gdb_send_str(g, "PacketSize=4000;qXfer:features:read+;swbreak+;hwbreak+;"
			     "QStartNoAckMode+");
	} else if (!strncmp(p, "qXfer:features:read:", 20)) {
		q_xfer_features(g, p + 20);
	} else if (!strncmp(p, "qRcmd,", 6)) {
		monitor_cmd(g, p + 6);
	} else if (!strcmp(p, "qfThreadInfo")) {
		q_threads(g);
	} else if (!strcmp(p, "qsThreadInfo")) {
		gdb_send_str(g, "l");
	} else if (!strcmp(p, "qC")) {
		snprintf(buf, sizeof(buf), "QC%x", g->g_vcpu + 1);
		gdb_send_str(g, buf);
	} else if (!strcmp(p, "qAttached")) {
		gdb_send_str(g, "1");
	} else if (!strcmp(p, "QStartNoAckMode")) {
		gdb_send_str(g, "OK");
		g->no_ack = true;
	} else {
		gdb_send_str(g, "");
	}
}

static uint32_t thread_arg(vmm_gdb *g, const char *p)
{
	long t = strtol(p, NULL, 16);

	if (t <= 0 || t > VMM_MAX_VCPUS || !g->vm->vcpus[t - 1])
		return g->stop_vcpu;   /* 0 ("any") and -1 ("all") */
	return (uint32_t)(t - 1);
}

static void set_thread(vmm_gdb *g, const char *p)
{
	if (p[0] == 'g')
		g->g_vcpu = thread_arg(g, p + 1);
	else if (p[0] == 'c')
		g->c_vcpu = thread_arg(g, p + 1);
	gdb_send_str(g, "OK");
}

static void regs_cmd(vmm_gdb *g, char *p)
{
	vmm_vcpu *v = vcpu_of(g, g->g_vcpu);
	char buf[2 * 1024];
	unsigned n;
	char *eq;

	if (!v) {
		gdb_send_str(g, "E01");
		return;
	}
	switch (p[0]) {
	case 'g':
		gdb_send_str(g, gdb_regs_get(v, g->is64, buf, sizeof(buf)) ? "E02" : buf);
		break;
	case 'G':
		gdb_send_str(g, gdb_regs_set(v, g->is64, p + 1) ? "E03" : "OK");
		break;
	case 'p':
		n = (unsigned)strtoul(p + 1, NULL, 16);
		gdb_send_str(g, gdb_reg_get(v, g->is64, n, buf, sizeof(buf)) ? "E04" : buf);
		break;
	default:   /* P n=value */
		n = (unsigned)strtoul(p + 1, &eq, 16);
		gdb_send_str(g, *eq != '=' || gdb_reg_set(v, g->is64, n, eq + 1) ? "E05" : "OK");
		break;
	}
}

static void mem_cmd(vmm_gdb *g, char *p)
{
	vmm_vcpu *v = vcpu_of(g, g->g_vcpu);
	unsigned long long addr;
	size_t len;
	int used = 0;
	uint8_t data[GDB_PKT_MAX / 2];
	char hex[GDB_PKT_MAX + 1];

	if (!v || sscanf(p + 1, "%llx,%zx%n", &addr, &len, &used) != 2 ||
	    len > sizeof(data) - 8) {
		gdb_send_str(g, "E01");
		return;
	}
	if (p[0] == 'm') {
		if (vmm_virt_read(v, addr, data, len)) {
			gdb_send_str(g, "E14");   /* EFAULT */
			return;
		}
		gdb_hex(hex, data, len);
		gdb_send(g, hex, 2 * len);
		return;
	}
	if (p[1 + used] != ':' || strlen(p + 2 + used) < 2 * len ||
	    gdb_unhex(data, p + 2 + used, len) || vmm_virt_write(v, addr, data, len))
		gdb_send_str(g, "E14");
	else
		gdb_send_str(g, "OK");
}

void gdb_bps_clear(vmm_gdb *g)
{
	for (unsigned i = 0; i < GDB_MAX_BPS; i++)
		if (g->bps[i].used) {
			vmm_hook_del(g->vm, g->bps[i].hook);
			g->bps[i].used = 0;
		}
}

static gdb_bp *bp_find(vmm_gdb *g, unsigned type, uint64_t addr, uint64_t len)
{
	for (unsigned i = 0; i < GDB_MAX_BPS; i++)
		if (g->bps[i].used && g->bps[i].ztype == type && g->bps[i].addr == addr &&
		    (type < 2 || g->bps[i].len == len))
			return &g->bps[i];
	return NULL;
}

static void bp_cmd(vmm_gdb *g, const char *p)
{
	unsigned type;
	unsigned long long addr, len;
	gdb_bp *bp;

	if (sscanf(p + 1, "%u,%llx,%llx", &type, &addr, &len) != 3 || type > 4) {
		gdb_send_str(g, "");
		return;
	}
	pthread_mutex_lock(&g->lock);
	bp = bp_find(g, type, addr, len);
	if (p[0] == 'z') {
		if (bp) {
			vmm_hook_del(g->vm, bp->hook);
			bp->used = 0;
		}
		gdb_send_str(g, "OK");
	} else if (bp) {
		gdb_send_str(g, "OK");
	} else {
		for (unsigned i = 0; i < GDB_MAX_BPS && !bp; i++)
			if (!g->bps[i].used)
				bp = &g->bps[i];
		if (bp) {
			*bp = (gdb_bp){ 1, (uint8_t)type, addr, len, 0 };
			if (gdb_hook_for_bp(g, bp))
				bp->used = 0;
		}
		gdb_send_str(g, bp && bp->used ? "OK" : "E01");
	}
	pthread_mutex_unlock(&g->lock);
}

/* Stops the target if it runs (lock held): gdb expects it stopped when it
 * connects, and kvm vCPUs can only be inspected outside KVM_RUN. */
void gdb_stop_now(vmm_gdb *g)
{
	if (g->stopped)
		return;
	gdb_pause_all(g, 5);
	if (!gdb_wait_stop(g, 2000)) {
		g->stopped = true;     /* no vCPU runs now: stopped as it is */
		g->stop_vcpu = vcpu_of(g, 0) ? vcpu_of(g, 0)->index : 0;
		g->stop_extra[0] = 0;
	}
}

/* '?': report the stop. */
static void why_stopped(vmm_gdb *g)
{
	pthread_mutex_lock(&g->lock);
	gdb_stop_now(g);
	gdb_stop_reply(g);
	pthread_mutex_unlock(&g->lock);
}

static void resume_cmd(vmm_gdb *g, char c)
{
	pthread_mutex_lock(&g->lock);
	g->waiting = true;
	if (c == 's')
		gdb_resume(g, (int)(g->c_vcpu < VMM_MAX_VCPUS ? g->c_vcpu : g->stop_vcpu));
	else
		gdb_resume(g, -1);
	pthread_mutex_unlock(&g->lock);
}

/* Registers and memory only while the target is stopped: a running vCPU's
 * state belongs to its thread (and kvm's is inside KVM_RUN). */
static bool target_stopped(vmm_gdb *g)
{
	bool stopped;

	pthread_mutex_lock(&g->lock);
	stopped = g->stopped;
	pthread_mutex_unlock(&g->lock);
	if (!stopped)
		gdb_send_str(g, "E10");
	return stopped;
}

void gdb_command(vmm_gdb *g, char *p, size_t len)
{
	(void)len;
	if (strchr("gGpPmM", p[0]) && !target_stopped(g))
		return;
	switch (p[0]) {
	case 'q': case 'Q': query(g, p); break;
	case '?': why_stopped(g); break;
	case 'H': set_thread(g, p + 1); break;
	case 'T': gdb_send_str(g, "OK"); break;
	case 'g': case 'G': case 'p': case 'P': regs_cmd(g, p); break;
	case 'm': case 'M': mem_cmd(g, p); break;
	case 'Z': case 'z': bp_cmd(g, p); break;
	case 'c': case 's': resume_cmd(g, p[0]); break;
	case 'D':
		gdb_send_str(g, "OK");
		pthread_mutex_lock(&g->lock);
		gdb_bps_clear(g);
		pthread_mutex_unlock(&g->lock);
		gdb_release_all(g);
		break;
	case 'k':
		pthread_mutex_lock(&g->lock);
		g->kill = true;
		gdb_bps_clear(g);
		pthread_mutex_unlock(&g->lock);
		gdb_release_all(g);
		break;
	default: gdb_send_str(g, ""); break;
	}
}
