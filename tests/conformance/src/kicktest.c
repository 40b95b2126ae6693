/* kicktest.c - host test "kick": vmm_vcpu_kick from another thread makes a
 * vmm_vcpu_run that is spinning in the guest return VMM_EXIT_CANCELLED
 * within 1 s; a kick while the vCPU is not running makes the next run
 * return VMM_EXIT_CANCELLED at once; and the guest then runs on. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tests/conformance/src/conform.h"

#define KICK_LIMIT_S 1.0

typedef struct kick_job {
	vmm_vcpu *vcpu;
	atomic_int done;
	int rc;
	uint32_t reason;
	char err[256];
	pthread_t tid;
} kick_job;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *run_thread(void *arg)
{
	kick_job *j = arg;
	vmm_exit *e = NULL;

	j->rc = vmm_vcpu_run(j->vcpu, &e);
	if (j->rc)
		snprintf(j->err, sizeof(j->err), "%s", vmm_last_error());
	else
		j->reason = e->reason;
	atomic_store(&j->done, 1);
	return NULL;
}

/* Waits for the run to return, kicking again every 100 ms after limit so
 * a broken kick cannot hang the runner; returns the seconds it took. */
static double wait_run(kick_job *j, double since, double limit)
{
	struct timespec step = { 0, 1000000 };
	double t, last = 0;

	while (!atomic_load(&j->done)) {
		nanosleep(&step, NULL);
		t = now() - since;
		if (t > limit && t - last > 0.1) {
			vmm_vcpu_kick(j->vcpu);
			last = t;
		}
	}
	pthread_join(j->tid, NULL);
	return now() - since;
}

/* One run on a thread; kick_before: kick before starting it, else after
 * the guest has been running for a while. */
static int kicked_run(vmm_vcpu *vcpu, int kick_before, const char *what, outcome *out)
{
	kick_job j;
	struct timespec settle = { 0, 100 * 1000000 };
	double t0, took;

	memset(&j, 0, sizeof(j));
	j.vcpu = vcpu;
	if (kick_before)
		vmm_vcpu_kick(vcpu);
	t0 = now();
	if (pthread_create(&j.tid, NULL, run_thread, &j))
		return outcome_fail(out, "pthread_create failed");
	if (!kick_before) {
		nanosleep(&settle, NULL);
		t0 = now();
		vmm_vcpu_kick(vcpu);
	}
	took = wait_run(&j, t0, KICK_LIMIT_S);
	if (j.rc)
		return outcome_fail(out, "%s: vmm_vcpu_run: %s", what, j.err);
	if (j.reason != VMM_EXIT_CANCELLED)
		return outcome_fail(out, "%s: exit %u, expected VMM_EXIT_CANCELLED (%u)",
				    what, j.reason, VMM_EXIT_CANCELLED);
	if (took > KICK_LIMIT_S)
		return outcome_fail(out, "%s: vmm_vcpu_run returned %.3f s after the kick",
				    what, took);
	return OUTCOME_PASS;
}

void host_test_kick(const conform_opts *o, const conform_manifest *m,
		    const char *backend, outcome *out)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	vmm_vm *vm = NULL;
	capture cap;
	char path[4096];

	capture_init(&cap);
	cfg.backend = backend;
	if (vmm_vm_create(&cfg, &vm) || capture_attach(&cap, vm))
		outcome_fail(out, "vmm_vm_create: %s", vmm_last_error());
	else if (vmm_load_elf(vm, guest_path(o, "loop", path, sizeof(path)), NULL))
		outcome_fail(out, "vmm_load_elf %s: %s", path, vmm_last_error());
	else if (kicked_run(vmm_vcpu_get(vm, 0), 0, "kick while running", out) ==
		 OUTCOME_PASS &&
		 kicked_run(vmm_vcpu_get(vm, 0), 1, "kick before running", out) ==
		 OUTCOME_PASS &&
		 kicked_run(vmm_vcpu_get(vm, 0), 0, "kick after a cancelled run", out) ==
		 OUTCOME_PASS && !capture_wait_for(&cap, "loop: spinning\n", 0))
		outcome_fail(out, "the guest never printed \"loop: spinning\"");
	vmm_vm_destroy(vm);
	capture_fini(&cap);
}
