/* timer.c - guest time and the VM's timer service: one thread ("vmm-timer")
 * that sleeps until the earliest armed deadline and runs its callback. PIT,
 * RTC and local APIC timers of the core's models all use it. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>
#include <cpuid.h>

#include "lib/platform/platform.h"

uint64_t vmm__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* CPUID 0x15 (crystal * ratio) when the host states it, else calibrated
 * against CLOCK_MONOTONIC over 20 ms (error well under 0.1%). */
static uint64_t tsc_hz_cpuid(void)
{
	unsigned a, b, c, d;

	if (__get_cpuid_max(0, NULL) < 0x15)
		return 0;
	__cpuid(0x15, a, b, c, d);
	return (a && b && c) ? (uint64_t)c * b / a : 0;
}

static uint64_t tsc_hz_measured(void)
{
	uint64_t t0 = vmm__now_ns(), c0 = __rdtsc(), t1, c1;
	struct timespec pause = { 0, 20 * 1000 * 1000 };

	nanosleep(&pause, NULL);
	t1 = vmm__now_ns();
	c1 = __rdtsc();
	return t1 > t0 ? (c1 - c0) * 1000000000ull / (t1 - t0) : 1000000000ull;
}

static uint64_t tsc_hz_value;
static pthread_once_t tsc_hz_once = PTHREAD_ONCE_INIT;

static void tsc_hz_init(void)
{
	tsc_hz_value = tsc_hz_cpuid();
	if (!tsc_hz_value)
		tsc_hz_value = tsc_hz_measured();
}

uint64_t vmm__tsc_hz(void)
{
	pthread_once(&tsc_hz_once, tsc_hz_init);
	return tsc_hz_value;
}

/* ---- The service ----------------------------------------------------------- */

void vmm__timer_init(vmm__timer *t, vmm__timer_fn fn, void *opaque)
{
	t->fn = fn;
	t->opaque = opaque;
	t->deadline_ns = 0;
	t->armed = false;
	t->next = NULL;
}

static void list_remove(vmm__timer_svc *svc, vmm__timer *t)
{
	vmm__timer **pp;

	for (pp = &svc->head; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	t->next = NULL;
	t->armed = false;
}

void vmm__timer_arm(vmm_vm *vm, vmm__timer *t, uint64_t deadline_ns)
{
	vmm__timer_svc *svc = &vm->platform->timers;
	vmm__timer **pp;

	pthread_mutex_lock(&svc->lock);
	if (t->armed)
		list_remove(svc, t);
	t->deadline_ns = deadline_ns;
	for (pp = &svc->head; *pp && (*pp)->deadline_ns <= deadline_ns; pp = &(*pp)->next)
		;
	t->next = *pp;
	*pp = t;
	t->armed = true;
	if (svc->head == t)
		pthread_cond_signal(&svc->cond);
	pthread_mutex_unlock(&svc->lock);
}

void vmm__timer_cancel(vmm_vm *vm, vmm__timer *t)
{
	vmm__timer_svc *svc = &vm->platform->timers;

	pthread_mutex_lock(&svc->lock);
	if (t->armed)
		list_remove(svc, t);
	pthread_mutex_unlock(&svc->lock);
}

void vmm__timer_fini(vmm_vm *vm, vmm__timer *t)
{
	vmm__timer_svc *svc = &vm->platform->timers;

	/* A running callback may re-arm t: remove it again after each wait. */
	pthread_mutex_lock(&svc->lock);
	for (;;) {
		if (t->armed)
			list_remove(svc, t);
		if (svc->running != t)
			break;
		pthread_cond_wait(&svc->idle, &svc->lock);
	}
	pthread_mutex_unlock(&svc->lock);
}

struct timespec vmm__ns_to_timespec(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };

	return ts;
}

void vmm__cond_init_monotonic(pthread_cond_t *cond)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}

/* Pops and runs every expired timer; sleeps until the next deadline. */
static void *timer_thread(void *arg)
{
	vmm__timer_svc *svc = arg;

	pthread_mutex_lock(&svc->lock);
	while (!svc->stop) {
		vmm__timer *t = svc->head;
		uint64_t now = vmm__now_ns();

		if (t && t->deadline_ns <= now) {
			list_remove(svc, t);
			svc->running = t;
			pthread_mutex_unlock(&svc->lock);
			t->fn(t->opaque, now);
			pthread_mutex_lock(&svc->lock);
			svc->running = NULL;
			pthread_cond_broadcast(&svc->idle);
		} else if (t) {
			struct timespec ts = vmm__ns_to_timespec(t->deadline_ns);

			pthread_cond_timedwait(&svc->cond, &svc->lock, &ts);
		} else {
			pthread_cond_wait(&svc->cond, &svc->lock);
		}
	}
	pthread_mutex_unlock(&svc->lock);
	return NULL;
}

int vmm__timer_svc_start(vmm__timer_svc *svc)
{
	sigset_t all, old;
	int rc;

	pthread_mutex_init(&svc->lock, NULL);
	vmm__cond_init_monotonic(&svc->cond);
	pthread_cond_init(&svc->idle, NULL);
	svc->head = svc->running = NULL;
	svc->stop = false;
	/* The thread takes no signals: the kick signal and the embedder's
	 * stay with their own threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&svc->thread, NULL, timer_thread, svc);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		pthread_cond_destroy(&svc->cond);
		pthread_cond_destroy(&svc->idle);
		pthread_mutex_destroy(&svc->lock);
		return vmm__err(VMM_ENOMEM, "platform: cannot start the timer thread: %s",
				strerror(rc));
	}
	pthread_setname_np(svc->thread, "vmm-timer");
	svc->started = true;
	return 0;
}

void vmm__timer_svc_stop(vmm__timer_svc *svc)
{
	if (!svc->started)
		return;
	pthread_mutex_lock(&svc->lock);
	svc->stop = true;
	pthread_cond_signal(&svc->cond);
	pthread_mutex_unlock(&svc->lock);
	pthread_join(svc->thread, NULL);
	pthread_cond_destroy(&svc->cond);
	pthread_cond_destroy(&svc->idle);
	pthread_mutex_destroy(&svc->lock);
	svc->started = false;
}
