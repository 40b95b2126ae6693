/* gdb_stop.c - how vCPUs stop for gdb and resume (all-stop mode). Every
 * event the stub asked for (breakpoints, watchpoints, steps, pauses) comes
 * to on_event on the vCPU's own thread. The first vCPU to stop records why,
 * asks the others to pause and wakes the service loop, which answers gdb;
 * each stopped vCPU then waits in its callback until a resume releases it.
 * Waits end too when the stub goes away or the run ends (vmm__ix_ending). */
#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "lib/introspect/gdb_priv.h"

static void wake_service(vmm_gdb *g)
{
	char c = 1;
	ssize_t n = write(g->wake[1], &c, 1);

	(void)n;   /* a full pipe already wakes it */
	pthread_cond_broadcast(&g->cond);
}

static const gdb_bp *bp_for_hook(const vmm_gdb *g, uint32_t hook)
{
	for (unsigned i = 0; i < GDB_MAX_BPS; i++)
		if (g->bps[i].used && g->bps[i].hook == hook)
			return &g->bps[i];
	return NULL;
}

static void record_stop(vmm_gdb *g, uint32_t vcpu, const vmm_event *ev)
{
	const gdb_bp *bp = bp_for_hook(g, ev->hook);
	static const char *const watch_kind[] = { "watch", "rwatch", "awatch" };

	g->stop_vcpu = vcpu;
	g->stop_extra[0] = 0;
	if (ev->type != VMM_EV_PAUSE)
		g->stop_sig = 5;   /* SIGTRAP */
	if (ev->type == VMM_EV_BREAK && g->swbreak)
		snprintf(g->stop_extra, sizeof(g->stop_extra), "swbreak:;");
	else if (ev->type == VMM_EV_HWBREAK)
		snprintf(g->stop_extra, sizeof(g->stop_extra), "hwbreak:;");
	else if (ev->type == VMM_EV_WATCH && bp && bp->ztype >= 2 && bp->ztype <= 4)
		snprintf(g->stop_extra, sizeof(g->stop_extra), "%s:%llx;",
			 watch_kind[bp->ztype - 2], (unsigned long long)bp->addr);
	g->stopped = true;
	for (uint32_t j = 0; j < VMM_MAX_VCPUS; j++) {
		vmm_vcpu *other = g->vm->vcpus[j];

		if (other && j != vcpu && !g->v[j].paused) {
			g->v[j].pause_epoch = g->epoch;
			vmm_vcpu_pause(other);
		}
	}
	wake_service(g);
}

static bool must_leave(vmm_gdb *g)
{
	return atomic_load(&g->quit) || g->kill || vmm__ix_ending(g->vm);
}

static void timed_wait(vmm_gdb *g, int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += ms * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&g->cond, &g->lock, &ts);
}

static uint32_t on_event(void *opaque, vmm_vcpu *vcpu, vmm_event *ev)
{
	vmm_gdb *g = opaque;
	gdb_vcpu *me = &g->v[vcpu->index];
	bool pending;
	uint32_t act;

	atomic_fetch_add(&g->in_callback, 1);
	pthread_mutex_lock(&g->lock);
	if (must_leave(g) || (ev->type == VMM_EV_PAUSE && !g->stopped &&
			      me->pause_epoch != g->epoch)) {
		act = g->kill ? VMM_ACT_STOP : VMM_ACT_CONTINUE;
		pthread_mutex_unlock(&g->lock);
		atomic_fetch_sub(&g->in_callback, 1);
		return act;   /* gone, or a pause from an earlier stop */
	}
	pending = ev->type != VMM_EV_PAUSE;
	for (;;) {
		if (!g->stopped && (pending || ev->type == VMM_EV_PAUSE)) {
			record_stop(g, vcpu->index, ev);
			pending = false;
		}
		me->paused = true;
		me->go = false;
		while (!me->go && !must_leave(g))
			timed_wait(g, 50);
		me->paused = false;
		if (!pending || must_leave(g))
			break;
		/* It hit its own event while another vCPU had stopped: report it
		 * now instead of running past it. */
	}
	act = g->kill ? VMM_ACT_STOP : VMM_ACT_CONTINUE;
	pthread_mutex_unlock(&g->lock);
	atomic_fetch_sub(&g->in_callback, 1);
	return act;
}

static int add_catch(vmm_gdb *g, uint32_t type, int32_t vcpu, uint32_t *id)
{
	vmm_hook_config c = VMM_HOOK_CONFIG_INIT;

	c.type = type;
	c.vcpu = vcpu;
	c.fn = on_event;
	c.opaque = g;
	return vmm_hook_add(g->vm, &c, id);
}

int gdb_stop_hooks_add(vmm_gdb *g)
{
	return add_catch(g, VMM_EV_PAUSE, -1, &g->hooks[0]);
}

void gdb_stop_hooks_del(vmm_gdb *g)
{
	for (unsigned i = 0; i < sizeof(g->hooks) / sizeof(g->hooks[0]); i++)
		if (g->hooks[i]) {
			vmm_hook_del(g->vm, g->hooks[i]);
			g->hooks[i] = 0;
		}
}

/* A hook for a Z packet: type BREAK/HWBREAK/WATCH. */
int gdb_hook_for_bp(vmm_gdb *g, gdb_bp *bp)
{
	static const uint32_t types[] = { VMM_EV_BREAK, VMM_EV_HWBREAK, VMM_EV_WATCH,
					  VMM_EV_WATCH, VMM_EV_WATCH };
	static const uint32_t access[] = { 0, 0, VMM_MEM_WRITE, VMM_MEM_READ,
					   VMM_MEM_READ | VMM_MEM_WRITE };
	vmm_hook_config c = VMM_HOOK_CONFIG_INIT;

	c.type = types[bp->ztype];
	c.addr = bp->addr;
	c.len = bp->ztype >= 2 ? bp->len : 0;
	c.access = access[bp->ztype];
	c.fn = on_event;
	c.opaque = g;
	return vmm_hook_add(g->vm, &c, &bp->hook);
}

void gdb_pause_all(vmm_gdb *g, uint8_t sig)
{
	if (g->stopped)
		return;
	g->stop_sig = sig;
	for (uint32_t j = 0; j < VMM_MAX_VCPUS; j++) {
		if (!g->vm->vcpus[j])
			continue;
		g->v[j].pause_epoch = g->epoch;
		vmm_vcpu_pause(g->vm->vcpus[j]);
	}
}

static void drop_step_hooks(vmm_gdb *g)
{
	for (uint32_t j = 0; j < VMM_MAX_VCPUS; j++)
		if (g->v[j].step_hook) {
			vmm_hook_del(g->vm, g->v[j].step_hook);
			g->v[j].step_hook = 0;
		}
}

void gdb_resume(vmm_gdb *g, int step_vcpu)
{
	drop_step_hooks(g);
	if (step_vcpu >= 0 && g->vm->vcpus[step_vcpu] &&
	    add_catch(g, VMM_EV_STEP, step_vcpu, &g->v[step_vcpu].step_hook))
		g->v[step_vcpu].step_hook = 0;
	g->stopped = false;
	g->epoch++;
	for (uint32_t j = 0; j < VMM_MAX_VCPUS; j++)
		if (g->v[j].paused && (step_vcpu < 0 || (uint32_t)step_vcpu == j))
			g->v[j].go = true;
	pthread_cond_broadcast(&g->cond);
}

int gdb_wait_stop(vmm_gdb *g, int ms)
{
	for (int waited = 0; !g->stopped && waited < ms; waited += 20)
		timed_wait(g, 20);
	return g->stopped;
}

void gdb_stop_reply(vmm_gdb *g)
{
	char buf[128];

	drop_step_hooks(g);
	snprintf(buf, sizeof(buf), "T%02xthread:%x;%s", g->stop_sig, g->stop_vcpu + 1,
		 g->stop_extra);
	g->g_vcpu = g->stop_vcpu;
	g->c_vcpu = g->stop_vcpu;
	gdb_send_str(g, buf);
}

void gdb_release_all(vmm_gdb *g)
{
	pthread_mutex_lock(&g->lock);
	drop_step_hooks(g);
	g->stopped = false;
	g->epoch++;
	for (uint32_t j = 0; j < VMM_MAX_VCPUS; j++)
		g->v[j].go = true;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}
