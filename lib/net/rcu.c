/* rcu.c - grace periods for the switch's read-mostly tables (port table,
 * policies, filter chains, endpoints, the forwarder): readers count
 * themselves in one of 32 per-epoch slots (a cache line each, picked per
 * thread) around a frame's trip through the switch; a writer publishes
 * the new table, flips the epoch and waits until the old epoch's readers
 * are gone, then frees the old copy. Readers never wait; writers are
 * serialised by the switch's control lock. Nesting (a callback sending a
 * frame) just counts twice. A reader's slot is its thread's index modulo
 * 32; the index (the lowest free one, given back when the thread exits)
 * also picks the thread's shaping credit on each port. */
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include "lib/net/net.h"

#define TIDS 1024u                     /* reusable indexes, then shared ones */

static pthread_mutex_t tid_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t tid_used[TIDS / 64];
static unsigned tid_spill;             /* past TIDS: only the RCU slot matters */
static bool tid_reuse;
static pthread_key_t tid_key;
static pthread_once_t tid_once = PTHREAD_ONCE_INIT;
static _Thread_local unsigned my_tid = ~0u;

/* The thread exits: its index is free (its credit slots go with it to the
 * next thread that takes it, which is sound: one live thread per index). */
static void tid_release(void *v)
{
	unsigned id = (unsigned)((uintptr_t)v - 1);

	pthread_mutex_lock(&tid_lock);
	tid_used[id / 64] &= ~(1ull << (id % 64));
	pthread_mutex_unlock(&tid_lock);
	my_tid = ~0u;
}

static void tid_init(void)
{
	tid_reuse = pthread_key_create(&tid_key, tid_release) == 0;
}

/* The lowest free index, or (none free, or no destructor to give it back)
 * one at TIDS or above, shared, that no credit slot has. */
static __attribute__((noinline)) unsigned tid_take(void)
{
	unsigned id = ~0u;

	pthread_once(&tid_once, tid_init);
	pthread_mutex_lock(&tid_lock);
	for (unsigned w = 0; tid_reuse && w < TIDS / 64 && id == ~0u; w++)
		if (~tid_used[w]) {
			id = w * 64 + (unsigned)__builtin_ctzll(~tid_used[w]);
			tid_used[w] |= 1ull << (id % 64);
		}
	if (id != ~0u && pthread_setspecific(tid_key, (void *)(uintptr_t)(id + 1)) != 0) {
		tid_used[id / 64] &= ~(1ull << (id % 64));
		id = ~0u;
	}
	if (id == ~0u)
		id = TIDS + tid_spill++ % SW_RCU_SLOTS;
	pthread_mutex_unlock(&tid_lock);
	return my_tid = id;
}

unsigned vmm__thread_id(void)
{
	return my_tid != ~0u ? my_tid : tid_take();
}

vmm__rcu_token vmm__rcu_enter(vmm__rcu *r)
{
	vmm__rcu_token t;

	t.tid = vmm__thread_id();
	t.epoch = atomic_load(&r->epoch) & 1;
	/* seq_cst: before any table load */
	atomic_fetch_add(&r->slot[t.epoch][t.tid % SW_RCU_SLOTS].n, 1);
	return t;
}

void vmm__rcu_exit(vmm__rcu *r, vmm__rcu_token t)
{
	atomic_fetch_sub_explicit(&r->slot[t.epoch][t.tid % SW_RCU_SLOTS].n, 1,
				  memory_order_release);
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
