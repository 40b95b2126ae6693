/* watchdog.c - bounds a vmm_vcpu_run loop driven by a host test: after the
 * deadline it kicks the vCPU (every 100 ms until stopped), so a guest that
 * never exits ends with VMM_EXIT_CANCELLED instead of hanging the runner. */
#include <time.h>

#include "tests/conformance/src/conform.h"

static void *watchdog_thread(void *arg)
{
	watchdog *w = arg;
	struct timespec step = { 0, 1000000 };
	unsigned waited = 0;

	while (!atomic_load(&w->stop)) {
		nanosleep(&step, NULL);
		if (++waited >= w->ms && (waited - w->ms) % 100 == 0) {
			atomic_store(&w->fired, 1);
			vmm_vcpu_kick(w->vcpu);
		}
	}
	return NULL;
}

int watchdog_start(watchdog *w, vmm_vcpu *vcpu, unsigned ms)
{
	w->vcpu = vcpu;
	w->ms = ms;
	atomic_store(&w->stop, 0);
	atomic_store(&w->fired, 0);
	return pthread_create(&w->tid, NULL, watchdog_thread, w) ? -1 : 0;
}

int watchdog_stop(watchdog *w)
{
	atomic_store(&w->stop, 1);
	pthread_join(w->tid, NULL);
	return atomic_load(&w->fired);
}
