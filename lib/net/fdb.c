/* fdb.c - the MAC table: (MAC, VLAN) -> port id with the time last seen,
 * lock-free. Open addressing over a power-of-two array; a key lives in
 * one of the PROBE entries after its hash. Learning refreshes an entry in
 * place (the time only when it is a millisecond old, to keep the cache
 * line quiet), moves it to a new port, or claims an empty or aged-out
 * entry with a compare-and-swap. Two threads learning one new key at once
 * may both claim an entry: lookups take the first, the other ages out.
 * Entries of destroyed ports are ignored by the caller (ids are never
 * reused). */
#include <stdlib.h>

#include "lib/net/net.h"

#define PROBE 8u
#define REFRESH_NS 1000000u
#define BUSY 1u                        /* an entry being filled */

typedef struct {
	_Atomic uint64_t key;              /* 1 << 63 | vlan << 48 | mac; 0 empty, BUSY */
	_Atomic uint32_t port;
	_Atomic uint64_t seen;
} fdb_entry;

struct vmm__fdb {
	uint32_t mask;
	fdb_entry e[];
};

struct vmm__fdb *vmm__fdb_new(uint32_t size)
{
	uint32_t n = 64;
	struct vmm__fdb *f;

	while (n < size && n < (1u << 20))
		n <<= 1;
	f = calloc(1, sizeof(*f) + (size_t)n * sizeof(fdb_entry));
	if (f)
		f->mask = n - 1;
	return f;
}

void vmm__fdb_free(struct vmm__fdb *f)
{
	free(f);
}

static uint64_t key_of(uint64_t mac, uint32_t vlan)
{
	return 1ull << 63 | (uint64_t)vlan << 48 | mac;
}

static uint32_t hash_of(uint64_t key)
{
	key ^= key >> 29;
	key *= 0xbf58476d1ce4e5b9ull;
	key ^= key >> 32;
	return (uint32_t)key;
}

static bool alive(const fdb_entry *e, uint64_t now, uint64_t ageing)
{
	uint64_t seen = atomic_load_explicit(&e->seen, memory_order_relaxed);

	return now < seen || now - seen < ageing;
}

uint32_t vmm__fdb_lookup(struct vmm__fdb *f, uint64_t mac, uint32_t vlan, uint64_t now,
			 uint64_t ageing)
{
	uint64_t key = key_of(mac, vlan);
	uint32_t h = hash_of(key);

	for (uint32_t i = 0; i < PROBE; i++) {
		fdb_entry *e = &f->e[(h + i) & f->mask];

		if (atomic_load_explicit(&e->key, memory_order_acquire) == key) {
			uint32_t port = atomic_load_explicit(&e->port, memory_order_relaxed);

			if (!alive(e, now, ageing))
				return 0;
			return atomic_load_explicit(&e->key, memory_order_acquire) == key ? port : 0;
		}
	}
	return 0;
}

static int refresh(fdb_entry *e, uint32_t port, uint64_t now, uint64_t ageing)
{
	bool was_alive = alive(e, now, ageing);
	bool moved = atomic_load_explicit(&e->port, memory_order_relaxed) != port;

	if (moved)
		atomic_store_explicit(&e->port, port, memory_order_relaxed);
	if (moved || !was_alive ||
	    now - atomic_load_explicit(&e->seen, memory_order_relaxed) > REFRESH_NS)
		atomic_store_explicit(&e->seen, now, memory_order_relaxed);
	return moved || !was_alive;
}

int vmm__fdb_learn(struct vmm__fdb *f, uint64_t mac, uint32_t vlan, uint32_t port,
		   uint64_t now, uint64_t ageing)
{
	uint64_t key = key_of(mac, vlan);
	uint32_t h = hash_of(key);

	for (uint32_t i = 0; i < PROBE; i++) {
		fdb_entry *e = &f->e[(h + i) & f->mask];

		if (atomic_load_explicit(&e->key, memory_order_acquire) == key)
			return refresh(e, port, now, ageing);
	}
	for (uint32_t i = 0; i < PROBE; i++) {
		fdb_entry *e = &f->e[(h + i) & f->mask];
		uint64_t old = atomic_load_explicit(&e->key, memory_order_acquire);

		if (old == BUSY || (old && alive(e, now, ageing)))
			continue;
		/* Claim it (BUSY keeps other learners off), fill it, publish. */
		if (atomic_compare_exchange_strong(&e->key, &old, BUSY)) {
			atomic_store_explicit(&e->port, port, memory_order_relaxed);
			atomic_store_explicit(&e->seen, now, memory_order_relaxed);
			atomic_store_explicit(&e->key, key, memory_order_release);
			return 1;
		}
	}
	return -1;
}

void vmm__fdb_forget(struct vmm__fdb *f, uint32_t value)
{
	for (uint32_t i = 0; i <= f->mask; i++) {
		fdb_entry *e = &f->e[i];
		uint64_t key = atomic_load_explicit(&e->key, memory_order_acquire);

		if (key > BUSY && atomic_load_explicit(&e->port, memory_order_relaxed) == value)
			atomic_compare_exchange_strong(&e->key, &key, 0);
	}
}
