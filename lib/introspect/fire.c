/* fire.c - delivering events to hooks, the lookups backends make from their
 * slow paths, pausing a vCPU, and the end of a run. */
#include <string.h>

#include "lib/introspect/ix.h"

static int vcpu_ok(const vmm_hook_config *c, uint32_t vcpu)
{
	return c->vcpu < 0 || (uint32_t)c->vcpu == vcpu;
}

static int overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static int matches(const vmm_hook_config *c, const vmm_event *ev)
{
	if (!vcpu_ok(c, ev->vcpu_index))
		return 0;
	switch (ev->type) {
	case VMM_EV_BREAK: case VMM_EV_HWBREAK:
		return (c->type == VMM_EV_BREAK || c->type == VMM_EV_HWBREAK) &&
		       c->addr == ev->addr;
	case VMM_EV_WATCH:   /* value: bytes accessed */
		return c->type == ev->type && (c->access & ev->access) &&
		       overlaps(c->addr, c->len, ev->addr, ev->value ? ev->value : 1);
	case VMM_EV_PAGE:
		return c->type == ev->type && (c->access & ev->access) &&
		       overlaps(c->addr, c->len, ev->addr, 1);
	case VMM_EV_CR_WRITE: case VMM_EV_MSR_WRITE: case VMM_EV_EXCEPTION:
		return c->type == ev->type && c->index == ev->index;
	default:
		return c->type == ev->type;
	}
}

static uint32_t stronger(uint32_t a, uint32_t b)
{
	static const uint8_t rank[] = { [VMM_ACT_CONTINUE] = 0, [VMM_ACT_SKIP] = 1,
					[VMM_ACT_INJECT] = 2, [VMM_ACT_STOP] = 3 };

	if (b > VMM_ACT_INJECT)
		b = VMM_ACT_CONTINUE;   /* unknown actions are ignored */
	return rank[b] > rank[a] ? b : a;
}

uint32_t vmm__ix_fire(vmm_vcpu *vcpu, vmm_event *ev)
{
	vmm__ix *ix = atomic_load(&vcpu->vm->ix);
	vmm__hook calls[16];
	unsigned n = 0;
	uint32_t act = VMM_ACT_CONTINUE;

	ev->size = sizeof(*ev);
	ev->vcpu_index = vcpu->index;
	if (!ix || atomic_load(&ix->ending))
		return act;
	pthread_mutex_lock(&ix->lock);
	for (unsigned i = 0; i < VMM_HOOK_MAX && n < 16; i++)
		if (ix->hooks[i].id && matches(&ix->hooks[i].cfg, ev))
			calls[n++] = ix->hooks[i];
	pthread_mutex_unlock(&ix->lock);
	for (unsigned i = 0; i < n; i++) {
		ev->hook = calls[i].id;
		act = stronger(act, calls[i].cfg.fn(calls[i].cfg.opaque, vcpu, ev));
	}
	return act;
}

/* Runs pred over the hooks under the lock; 1 if any matches. */
typedef struct query {
	uint32_t vcpu;
	uint64_t a, n;
	uint32_t acc, type;
} query;

static int any(vmm_vm *vm, const query *q, int (*pred)(const vmm_hook_config *, const query *),
	       uint32_t *acc_union)
{
	vmm__ix *ix = atomic_load(&vm->ix);
	int hit = 0;

	if (!ix)
		return 0;
	pthread_mutex_lock(&ix->lock);
	for (unsigned i = 0; i < VMM_HOOK_MAX; i++) {
		const vmm_hook_config *c = &ix->hooks[i].cfg;

		if (!ix->hooks[i].id || !vcpu_ok(c, q->vcpu) || !pred(c, q))
			continue;
		hit = 1;
		if (!acc_union)
			break;
		*acc_union |= c->access;
	}
	pthread_mutex_unlock(&ix->lock);
	return hit;
}

static int p_break(const vmm_hook_config *c, const query *q)
{
	return (c->type == VMM_EV_BREAK || c->type == VMM_EV_HWBREAK) && c->addr == q->a;
}

static int p_step(const vmm_hook_config *c, const query *q)
{
	return c->type == VMM_EV_STEP;
}

static int p_page(const vmm_hook_config *c, const query *q)
{
	return c->type == VMM_EV_PAGE && overlaps(c->addr, c->len, q->a, 4096);
}

static int p_watch_page(const vmm_hook_config *c, const query *q)
{
	return c->type == VMM_EV_WATCH && overlaps(c->addr, c->len, q->a, 4096);
}

static int p_watch_hit(const vmm_hook_config *c, const query *q)
{
	return c->type == VMM_EV_WATCH && (c->access & q->acc) &&
	       overlaps(c->addr, c->len, q->a, q->n);
}

static int p_index(const vmm_hook_config *c, const query *q)
{
	return c->type == q->type && c->index == q->acc;
}

int vmm__ix_break_at(vmm_vm *vm, uint32_t vcpu, uint64_t va)
{
	query q = { vcpu, va, 0, 0, 0 };

	return any(vm, &q, p_break, NULL);
}

int vmm__ix_stepping(vmm_vm *vm, uint32_t vcpu)
{
	query q = { vcpu, 0, 0, 0, 0 };

	return (atomic_load(&vm->ix_flags) & VMM__IX_BIT(VMM_EV_STEP)) &&
	       any(vm, &q, p_step, NULL);
}

uint32_t vmm__ix_page_access(vmm_vm *vm, uint32_t vcpu, uint64_t gpa)
{
	query q = { vcpu, gpa & ~0xfffull, 0, 0, 0 };
	uint32_t acc = 0;

	any(vm, &q, p_page, &acc);
	return acc;
}

int vmm__ix_watch_page(vmm_vm *vm, uint32_t vcpu, uint64_t va)
{
	query q = { vcpu, va & ~0xfffull, 0, 0, 0 };

	return any(vm, &q, p_watch_page, NULL);
}

int vmm__ix_watch_hit(vmm_vm *vm, uint32_t vcpu, uint64_t va, uint64_t n, uint32_t acc)
{
	query q = { vcpu, va, n, acc, 0 };

	return any(vm, &q, p_watch_hit, NULL);
}

int vmm__ix_index_hooked(vmm_vm *vm, uint32_t type, uint32_t vcpu, uint32_t index)
{
	query q = { vcpu, 0, 0, index, type };

	return (atomic_load(&vm->ix_flags) & VMM__IX_BIT(type)) && any(vm, &q, p_index, NULL);
}

/* ---- Pausing and the end of a run ----------------------------------------- */

VMM_API int vmm_vcpu_pause(vmm_vcpu *vcpu)
{
	if (!vcpu)
		return vmm__err(VMM_EINVAL, "vmm_vcpu_pause: vcpu is NULL");
	atomic_store(&vcpu->ix_pause, 1);
	atomic_store(&vcpu->kicked, 1);
	if (vcpu->vm->ops->kick)
		vcpu->vm->ops->kick(vcpu);
	return 0;
}

void vmm__ix_pause_point(vmm_vcpu *vcpu)
{
	vmm_event ev;
	vmm_regs regs;
	uint32_t act;

	memset(&ev, 0, sizeof(ev));
	atomic_store(&vcpu->ix_pause, 0);
	ev.type = VMM_EV_PAUSE;
	if (vcpu->vm->ops->get_regs && vcpu->vm->ops->get_regs(vcpu, &regs) == 0)
		ev.rip = ev.addr = regs.rip;
	act = vmm__ix_fire(vcpu, &ev);
	memset(&vcpu->exit, 0, sizeof(vcpu->exit));
	vcpu->exit.reason = act == VMM_ACT_STOP ? VMM_EXIT_STOPPED : VMM_EXIT_CANCELLED;
	vcpu->exit.vcpu_index = vcpu->index;
	vcpu->exit.rip = ev.rip;
}

void vmm__ix_run_begin(vmm_vm *vm)
{
	vmm__ix *ix = atomic_load(&vm->ix);

	if (ix)
		atomic_store(&ix->ending, 0);
}

void vmm__ix_run_end(vmm_vm *vm, uint32_t end, uint32_t code)
{
	vmm__ix *ix = atomic_load(&vm->ix);

	if (!ix)
		return;
	ix->end = end;
	ix->code = code;
	atomic_store(&ix->ending, 1);
}

int vmm__ix_ending(const vmm_vm *vm)
{
	vmm__ix *ix = atomic_load(&((vmm_vm *)vm)->ix);

	return ix && atomic_load(&ix->ending);
}
