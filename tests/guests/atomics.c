/* atomics.c - SMP atomicity (run with 2 vCPUs). After a start barrier every
 * vCPU does ITERATIONS rounds of: lock xadd on one counter, lock inc on a
 * second, and a plain increment of a third inside a lock built on
 * lock cmpxchg. vCPU 0 then checks the exact totals, and that the values
 * xadd returned were each handed out once (their sum is 0+1+...+total-1);
 * the other vCPUs halt. vCPU 0 also checks cmpxchg failure results and
 * cmpxchg8b (cmpxchg16b needs CPUID.CX16: cpufeat.c). Expected end: debug exit 0; a failed CHECK exits 1. */
#include "common.h"

#define ITERATIONS 1000000ull

static volatile uint64_t xadd_counter, inc_counter, locked_counter;
static volatile uint32_t cas_lock;
static volatile uint64_t xadd_sums[GUEST_MAX_VCPUS];
static volatile uint32_t finished;
static barrier_t start = BARRIER_INIT;

static uint64_t lock_xadd(volatile uint64_t *p, uint64_t v)
{
	__asm__ volatile("lock xaddq %0, %1" : "+r"(v), "+m"(*p) : : "memory");
	return v;
}

static void cas_acquire(volatile uint32_t *lock)
{
	uint32_t old;

	for (;;) {
		old = 0;
		__asm__ volatile("lock cmpxchgl %2, %1"
				 : "+a"(old), "+m"(*lock) : "r"(1u) : "memory");
		if (old == 0)
			return;
		while (*lock)
			cpu_pause();
	}
}

static void cas_release(volatile uint32_t *lock)
{
	__asm__ volatile("" ::: "memory");
	*lock = 0;
}

static void worker(uint32_t index)
{
	uint64_t sum = 0;

	for (uint64_t i = 0; i < ITERATIONS; i++) {
		sum += lock_xadd(&xadd_counter, 1);
		__asm__ volatile("lock incq %0" : "+m"(inc_counter) : : "memory");
		cas_acquire(&cas_lock);
		locked_counter = locked_counter + 1;
		cas_release(&cas_lock);
	}
	xadd_sums[index] = sum;
	__atomic_add_fetch(&finished, 1, __ATOMIC_RELEASE);
}

static void test_cmpxchg_forms(void)
{
	static volatile uint64_t word = 5;
	static volatile uint64_t qword = 1;
	uint64_t rax = 4, rdx, f;

	/* failure: RAX gets the current value, ZF clear, memory unchanged */
	__asm__ volatile("lock cmpxchgq %3, %1; pushfq; pop %2"
			 : "+a"(rax), "+m"(word), "=r"(f) : "r"(9ull) : "memory");
	CHECK_EQ(rax, 5);
	CHECK_EQ(f & 0x40, 0);
	CHECK_EQ(word, 5);
	/* cmpxchg8b on the low quadword: EDX:EAX = 0:1 matches */
	rax = 1;
	rdx = 0;
	__asm__ volatile("lock cmpxchg8b %2" : "+a"(rax), "+d"(rdx), "+m"(qword)
			 : "b"(0x33333333u), "c"(0x44444444u) : "memory");
	CHECK_EQ(qword, 0x4444444433333333ull);
	printf("atomics: cmpxchg forms ok\n");
}

int guest_main(uint32_t index, uint32_t count)
{
	uint32_t sense = 0;
	uint64_t total = ITERATIONS * count, sum = 0;

	if (count > GUEST_MAX_VCPUS)
		return GUEST_FAIL;
	if (index == 0) {
		printf("atomics: %u vCPUs x %llu iterations\n", count,
		       (unsigned long long)ITERATIONS);
		test_cmpxchg_forms();
	}
	barrier_wait(&start, count, &sense);
	worker(index);
	if (index != 0)
		halt();
	while (__atomic_load_n(&finished, __ATOMIC_ACQUIRE) != count)
		cpu_pause();
	for (uint32_t i = 0; i < count; i++)
		sum += xadd_sums[i];
	printf("atomics: xadd %llu, inc %llu, locked %llu\n",
	       (unsigned long long)xadd_counter, (unsigned long long)inc_counter,
	       (unsigned long long)locked_counter);
	CHECK_EQ(xadd_counter, total);
	CHECK_EQ(inc_counter, total);
	CHECK_EQ(locked_counter, total);
	CHECK_EQ(sum, total * (total - 1) / 2);
	guest_pass("atomics");
}
