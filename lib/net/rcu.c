/* rcu.c - grace periods for the switch's read-mostly tables (port table,
 * policies, filter chains, endpoints, the forwarder): readers count
 * themselves in one of 32 per-epoch slots (a cache line each, picked per
 * thread) around a frame's trip through the switch; a writer publishes
 * the new table, flips the epoch and waits until the old epoch's readers
 * are gone, then frees the old copy. Readers never wait; writers are
 * serialised by the switch's control lock. Nesting (a callback sending a
 * frame) just counts twice. */
#include <sched.h>
#include <time.h>

#include "lib/net/net.h"

static atomic_uint slot_next;
static _Thread_local unsigned my_slot = ~0u;

vmm__rcu_token vmm__rcu_enter(vmm__rcu *r)
{
	vmm__rcu_token t;

	if (my_slot == ~0u)
		my_slot = atomic_fetch_add(&slot_next, 1) % SW_RCU_SLOTS;
	t.slot = my_slot;
	t.epoch = atomic_load(&r->epoch) & 1;
	atomic_fetch_add(&r->slot[t.epoch][t.slot].n, 1);   /* seq_cst: before any table load */
	return t;
}

void vmm__rcu_exit(vmm__rcu *r, vmm__rcu_token t)
{
	atomic_fetch_sub_explicit(&r->slot[t.epoch][t.slot].n, 1, memory_order_release);
}

static bool drained(vmm__rcu *r, unsigned e)
{
	for (unsigned i = 0; i < SW_RCU_SLOTS; i++)
		if (atomic_load(&r->slot[e][i].n))
			return false;
	return true;
}

/* A reader that took the old epoch loaded its tables after counting
 * itself (both seq_cst), so it either shows in the old epoch's slots or
 * saw the new tables. */
void vmm__rcu_sync(vmm__rcu *r)
{
	unsigned old = atomic_fetch_add(&r->epoch, 1) & 1;

	for (unsigned spins = 0; !drained(r, old); spins++) {
		if (spins < 100)
			sched_yield();
		else
			nanosleep(&(struct timespec){ 0, 50000 }, NULL);
	}
}

/* A spin lock's slow path: yield, the holder may be preempted. */
void vmm__spin_wait(vmm__spin *l)
{
	while (atomic_flag_test_and_set_explicit(&l->f, memory_order_acquire))
		sched_yield();
}
