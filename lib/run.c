/* run.c - the convenience runner: every runnable vCPU on its own thread until
 * the guest ends, an error occurs or the timeout expires. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/introspect/ix.h"
#include "lib/platform/platform.h"

typedef struct run_ctx run_ctx;

typedef struct run_thread {
	run_ctx *ctx;
	vmm_vcpu *vcpu;
	pthread_t tid;
} run_thread;

struct run_ctx {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;                 /* result (or err) recorded; others stop */
	uint32_t active;           /* threads that have not halted */
	int err;                   /* host failure: vmm_vm_run returns it */
	char err_msg[512];
	vmm_run_result res;
	run_thread threads[VMM_MAX_VCPUS];
	uint32_t nthreads;
};

enum { KEEP_RUNNING, STOP_THREAD };
typedef int (*exit_handler)(run_ctx *ctx, vmm_vcpu *vcpu, vmm_exit *exit);

/* Records the end of the run if nobody did yet. */
static void finish(run_ctx *ctx, const vmm_vcpu *vcpu, const vmm_exit *exit,
		   uint32_t end, uint32_t code, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
static void finish(run_ctx *ctx, const vmm_vcpu *vcpu, const vmm_exit *exit,
		   uint32_t end, uint32_t code, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&ctx->lock);
	if (!ctx->done) {
		ctx->done = true;
		ctx->res.end = end;
		ctx->res.code = code;
		ctx->res.vcpu_index = vcpu->index;
		ctx->res.rip = exit->rip;
		va_start(ap, fmt);
		vsnprintf(ctx->res.message, sizeof(ctx->res.message), fmt, ap);
		va_end(ap);
		pthread_cond_broadcast(&ctx->cond);
	}
	pthread_mutex_unlock(&ctx->lock);
}

static bool run_done(run_ctx *ctx)
{
	bool done;

	pthread_mutex_lock(&ctx->lock);
	done = ctx->done;
	pthread_mutex_unlock(&ctx->lock);
	return done;
}

static uint64_t ones(uint8_t size)
{
	return size >= 8 ? UINT64_MAX : (1ull << (size * 8)) - 1;
}

/* Unclaimed port: reads float high, writes vanish (as on a PC). */
static int on_io(run_ctx *ctx, vmm_vcpu *vcpu, vmm_exit *exit)
{
	if (exit->io.direction == VMM_IO_IN)
		exit->io.data = (uint32_t)ones(exit->io.size);
	return KEEP_RUNNING;
}

static int on_mmio(run_ctx *ctx, vmm_vcpu *vcpu, vmm_exit *exit)
{
	if (!exit->mmio.is_write)
		exit->mmio.data = ones(exit->mmio.size);
	return KEEP_RUNNING;
}

/* A hypercall nobody handles gets KVM's answer to one it does not know,
 * -KVM_ENOSYS (-1000), so a guest sees the same on every backend. */
static int on_hypercall(run_ctx *ctx, vmm_vcpu *vcpu, vmm_exit *exit)
{
	exit->hypercall.ret = (uint64_t)-1000;
	return KEEP_RUNNING;
}

static int on_cancelled(run_ctx *ctx, vmm_vcpu *vcpu, vmm_exit *exit)
{
	return run_done(ctx) ? STOP_THREAD : KEEP_RUNNING;
}

/* No interrupt source exists, so a halted vCPU stays halted. With
 * VMM_VM_IRQCHIP, HLT waits for an interrupt inside the backend; should a
 * backend still report it, the vCPU just runs on. */
static int on_hlt(run_ctx *ctx, vmm_vcpu *vcpu, vmm_exit *exit)
{
	vmm_regs regs;
	bool irq_on = vmm_vcpu_get_regs(vcpu, &regs) == 0 && (regs.rflags & (1u << 9));
	bool last;

	if (vcpu->vm->config.flags & VMM_VM_IRQCHIP)
		return KEEP_RUNNING;
	pthread_mutex_lock(&ctx->lock);
	last = --ctx->active == 0;
	pthread_mutex_unlock(&ctx->lock);
	if (last)
		finish(ctx, vcpu, exit, VMM_END_HALTED, 0, "all vCPUs halted; vCPU %u "
		       "halted last, %s", vcpu->index, irq_on ?
		       "with interrupts enabled and no interrupt source" :
		       "with interrupts disabled");
	return STOP_THREAD;
}

static int on_debug_exit(run_ctx *ctx, vmm_vcpu *vcpu, vmm_exit *exit)
{
	finish(ctx, vcpu, exit, VMM_END_DEBUG_EXIT, exit->debug_exit.code,
	       "vCPU %u wrote 0x%x to the debug exit port", vcpu->index,
	       exit->debug_exit.code);
	return STOP_THREAD;
}

static int on_shutdown(run_ctx *ctx, vmm_vcpu *vcpu, vmm_exit *exit)
{
	finish(ctx, vcpu, exit, VMM_END_SHUTDOWN, 0, "vCPU %u: triple fault (shutdown)",
	       vcpu->index);
	return STOP_THREAD;
}

static int on_internal_error(run_ctx *ctx, vmm_vcpu *vcpu, vmm_exit *exit)
{
	finish(ctx, vcpu, exit, VMM_END_INTERNAL_ERROR, 0, "vCPU %u: %.*s", vcpu->index,
	       (int)sizeof(exit->internal.message), exit->internal.message);
	return STOP_THREAD;
}

static const char *const exit_names[] = {
	"none", "io", "mmio", "hlt", "shutdown", "hypercall", "cancelled",
	"internal error", "fail entry", "system event", "debug exit", "stopped",
};
static const char *const event_names[] = { "?", "poweroff", "reset", "crash" };

static int on_unhandled(run_ctx *ctx, vmm_vcpu *vcpu, vmm_exit *exit)
{
	uint32_t r = exit->reason;
	const char *name = r < sizeof(exit_names) / sizeof(exit_names[0]) ?
			   exit_names[r] : "unknown";

	finish(ctx, vcpu, exit, VMM_END_UNHANDLED, 0, "vCPU %u: unhandled exit %u (%s) "
	       "at rip 0x%llx", vcpu->index, r, name, (unsigned long long)exit->rip);
	return STOP_THREAD;
}

static int on_system_event(run_ctx *ctx, vmm_vcpu *vcpu, vmm_exit *exit)
{
	uint32_t t = exit->system_event.type;

	if (t == VMM_EVENT_POWEROFF)
		finish(ctx, vcpu, exit, VMM_END_POWEROFF, 0, "vCPU %u: power off",
		       vcpu->index);
	else if (t == VMM_EVENT_RESET)
		finish(ctx, vcpu, exit, VMM_END_RESET, 0, "vCPU %u: reboot requested",
		       vcpu->index);
	else
		finish(ctx, vcpu, exit, VMM_END_UNHANDLED, 0, "vCPU %u: unhandled system "
		       "event %u (%s)", vcpu->index, t,
		       t < sizeof(event_names) / sizeof(event_names[0]) ? event_names[t] : "?");
	return STOP_THREAD;
}

static int on_stopped(run_ctx *ctx, vmm_vcpu *vcpu, vmm_exit *exit)
{
	finish(ctx, vcpu, exit, VMM_END_STOPPED, 0, "vCPU %u: stopped by a hook at rip "
	       "0x%llx", vcpu->index, (unsigned long long)exit->rip);
	return STOP_THREAD;
}

static const exit_handler handlers[] = {
	[VMM_EXIT_IO] = on_io,
	[VMM_EXIT_MMIO] = on_mmio,
	[VMM_EXIT_HLT] = on_hlt,
	[VMM_EXIT_HYPERCALL] = on_hypercall,
	[VMM_EXIT_SHUTDOWN] = on_shutdown,
	[VMM_EXIT_CANCELLED] = on_cancelled,
	[VMM_EXIT_INTERNAL_ERROR] = on_internal_error,
	[VMM_EXIT_SYSTEM_EVENT] = on_system_event,
	[VMM_EXIT_DEBUG_EXIT] = on_debug_exit,
	[VMM_EXIT_STOPPED] = on_stopped,
};

static void host_failure(run_ctx *ctx, const vmm_vcpu *vcpu, int rc)
{
	pthread_mutex_lock(&ctx->lock);
	if (!ctx->done) {
		ctx->done = true;
		ctx->err = rc;
		snprintf(ctx->err_msg, sizeof(ctx->err_msg), "vmm_vm_run: vCPU %u: %s",
			 vcpu->index, vmm_last_error());
		pthread_cond_broadcast(&ctx->cond);
	}
	pthread_mutex_unlock(&ctx->lock);
}

static void *vcpu_thread(void *arg)
{
	run_thread *t = arg;

	for (;;) {
		vmm_exit *exit;
		exit_handler h;
		int rc = vmm_vcpu_run(t->vcpu, &exit);

		if (rc < 0) {
			host_failure(t->ctx, t->vcpu, rc);
			break;
		}
		h = exit->reason < sizeof(handlers) / sizeof(handlers[0]) ?
		    handlers[exit->reason] : NULL;
		if ((h ? h : on_unhandled)(t->ctx, t->vcpu, exit) == STOP_THREAD)
			break;
	}
	return NULL;
}

/* Waits until a vCPU ends the run or the deadline passes. */
static void wait_for_end(run_ctx *ctx, uint64_t timeout_ms)
{
	struct timespec deadline;
	const uint64_t max_ms = 1000ull * 3600 * 24 * 365 * 100;  /* 100 years */

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	if (timeout_ms > max_ms)
		timeout_ms = max_ms;
	deadline.tv_sec += (time_t)(timeout_ms / 1000);
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&ctx->lock);
	while (!ctx->done) {
		if (!timeout_ms) {
			pthread_cond_wait(&ctx->cond, &ctx->lock);
		} else if (pthread_cond_timedwait(&ctx->cond, &ctx->lock, &deadline) ==
			   ETIMEDOUT && !ctx->done) {
			ctx->done = true;
			ctx->res.end = VMM_END_TIMEOUT;
			snprintf(ctx->res.message, sizeof(ctx->res.message),
				 "timed out after %llu ms", (unsigned long long)timeout_ms);
		}
	}
	pthread_mutex_unlock(&ctx->lock);
}

static int ctx_init(run_ctx *ctx, vmm_vm *vm)
{

	uint32_t created = 0;

	memset(ctx, 0, sizeof(*ctx));
	for (uint32_t i = 0; i < VMM_MAX_VCPUS; i++) {
		vmm_vcpu *vcpu = vm->vcpus[i];

		created += vcpu != NULL;
		/* With VMM_VM_IRQCHIP a vCPU waiting for SIPI gets a thread too:
		 * it starts when another vCPU sends INIT/SIPI. */
		if (vcpu && (vcpu->runnable || (vm->config.flags & VMM_VM_IRQCHIP))) {
			ctx->threads[ctx->nthreads].ctx = ctx;
			ctx->threads[ctx->nthreads++].vcpu = vcpu;
		}
	}
	if (created == 0)
		return vmm__err(VMM_ESTATE, "vmm_vm_run: no vCPUs: call vmm_load_elf or "
				"vmm_vcpu_create first");
	if (ctx->nthreads == 0)
		return vmm__err(VMM_ESTATE, "vmm_vm_run: no runnable vCPU (all %u wait for "
				"a start-up IPI)", created);
	ctx->active = ctx->nthreads;
	pthread_mutex_init(&ctx->lock, NULL);
	vmm__cond_init_monotonic(&ctx->cond);
	return 0;
}

/* Starts one thread per vCPU; on failure marks the run done with an error. */
static uint32_t start_threads(run_ctx *ctx)
{
	uint32_t n;

	for (n = 0; n < ctx->nthreads; n++) {
		int e = pthread_create(&ctx->threads[n].tid, NULL, vcpu_thread,
				       &ctx->threads[n]);
		if (e) {
			pthread_mutex_lock(&ctx->lock);
			if (!ctx->done) {
				ctx->done = true;
				ctx->err = VMM_ENOMEM;
				snprintf(ctx->err_msg, sizeof(ctx->err_msg), "vmm_vm_run: cannot "
					 "start a thread for vCPU %u: %s",
					 ctx->threads[n].vcpu->index, strerror(e));
			}
			pthread_mutex_unlock(&ctx->lock);
			break;
		}
	}
	return n;
}

static int check_run_args(vmm_vm *vm, const vmm_run_options *options,
			  vmm_run_result *result)
{
	if (!vm || !result)
		return vmm__err(VMM_EINVAL, "vmm_vm_run: vm or result is NULL");
	if (result->size < sizeof(vmm_run_result))
		return vmm__err(VMM_EINVAL, "vmm_vm_run: result->size is %u, expected %zu "
				"(initialise with VMM_RUN_RESULT_INIT)", result->size,
				sizeof(vmm_run_result));
	if (options && options->size < sizeof(vmm_run_options))
		return vmm__err(VMM_EINVAL, "vmm_vm_run: options->size is %u, expected %zu "
				"(initialise with VMM_RUN_OPTIONS_INIT)", options->size,
				sizeof(vmm_run_options));
	return 0;
}

static void finish_timeout_result(run_ctx *ctx)
{
	vmm_regs regs;
	vmm_vcpu *vcpu = ctx->threads[0].vcpu;

	ctx->res.vcpu_index = vcpu->index;
	if (vmm_vcpu_get_regs(vcpu, &regs) == 0)
		ctx->res.rip = regs.rip;
}

VMM_API int vmm_vm_run(vmm_vm *vm, const vmm_run_options *options,
		       vmm_run_result *result)
{
	run_ctx *ctx;
	uint32_t started;
	int rc = check_run_args(vm, options, result);

	if (rc)
		return rc;
	ctx = malloc(sizeof(*ctx));
	if (!ctx)
		return vmm__err(VMM_ENOMEM, "vmm_vm_run: out of memory");
	rc = ctx_init(ctx, vm);
	if (rc) {
		free(ctx);
		return rc;
	}
	vmm__ix_run_begin(vm);
	started = start_threads(ctx);
	wait_for_end(ctx, options ? options->timeout_ms : 0);
	vmm__ix_run_end(vm, ctx->res.end, ctx->res.code);   /* hooks stop waiting */
	for (uint32_t i = 0; i < started; i++)
		vmm_vcpu_kick(ctx->threads[i].vcpu);
	for (uint32_t i = 0; i < started; i++)
		pthread_join(ctx->threads[i].tid, NULL);
	for (uint32_t i = 0; i < ctx->nthreads; i++)
		atomic_store(&ctx->threads[i].vcpu->kicked, 0);
	if (ctx->res.end == VMM_END_TIMEOUT)
		finish_timeout_result(ctx);
	rc = ctx->err ? vmm__err(ctx->err, "%s", ctx->err_msg) : 0;
	if (rc == 0) {
		ctx->res.size = result->size;
		memcpy(result, &ctx->res, sizeof(ctx->res));
	}
	pthread_cond_destroy(&ctx->cond);
	pthread_mutex_destroy(&ctx->lock);
	free(ctx);
	return rc;
}
