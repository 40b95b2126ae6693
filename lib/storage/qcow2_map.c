/* qcow2_map.c - guest cluster to L2 entry: the L1 table (in memory) and a
 * small LRU cache of whole L2 tables, written through entry by entry. */
#include <stdlib.h>
#include <string.h>

#include "lib/storage/qcow2_priv.h"

int q_l2_cache_init(vmm__qcow2 *q)
{
	unsigned n = (unsigned)((2u << 20) >> q->cluster_bits);

	q->l2_slots = n < 4 ? 4 : n > Q_L2_SLOTS_MAX ? Q_L2_SLOTS_MAX : n;
	for (unsigned i = 0; i < q->l2_slots; i++) {
		q->l2c[i].tab = malloc(q->cluster_size);
		if (!q->l2c[i].tab)
			return vmm__err(VMM_ENOMEM, "qcow2: out of memory for the L2 cache");
		q->l2c[i].off = 0;
	}
	return 0;
}

void q_l2_cache_free(vmm__qcow2 *q)
{
	for (unsigned i = 0; i < Q_L2_SLOTS_MAX; i++) {
		free(q->l2c[i].tab);
		q->l2c[i].tab = NULL;
	}
}

void q_l2_forget(vmm__qcow2 *q, uint64_t off)
{
	for (unsigned i = 0; i < q->l2_slots; i++)
		if (q->l2c[i].off == off)
			q->l2c[i].off = 0;
}

static q_l2slot *q_l2_slot(vmm__qcow2 *q, uint64_t off)
{
	q_l2slot *victim = &q->l2c[0];

	for (unsigned i = 0; i < q->l2_slots; i++) {
		q_l2slot *s = &q->l2c[i];

		if (s->off == off) {
			s->used = ++q->l2_clock;
			return s;
		}
		if (!s->off || (victim->off && s->used < victim->used))
			victim = s;
	}
	victim->off = 0;
	if (q_pread(q, victim->tab, q->cluster_size, off) < 0)
		return NULL;
	victim->off = off;
	victim->used = ++q->l2_clock;
	return victim;
}

const uint64_t *q_l2_table(vmm__qcow2 *q, uint64_t off)
{
	q_l2slot *s = q_l2_slot(q, off);

	return s ? s->tab : NULL;
}

int q_l2_get(vmm__qcow2 *q, uint64_t vcl, uint64_t *entry)
{
	uint64_t i1 = vcl >> q->l2_bits, l2;
	q_l2slot *s;

	*entry = 0;
	if (i1 >= q->l1_size)
		return vmm__err(VMM_ERANGE, "qcow2: cluster %llu is past the L1 table",
				(unsigned long long)vcl);
	l2 = q->l1[i1] & Q_OFFSET_MASK;
	if (!l2)
		return 0;
	if (!(s = q_l2_slot(q, l2)))
		return VMM_EIO;
	*entry = q_be64(&s->tab[vcl & (q->l2_entries - 1)]);
	return 0;
}

/* The L2 table must exist (the caller allocated it and set the L1 entry in
 * memory). */
int q_l2_set(vmm__qcow2 *q, uint64_t vcl, uint64_t entry)
{
	uint64_t i1 = vcl >> q->l2_bits, l2, idx = vcl & (q->l2_entries - 1);
	q_l2slot *s;
	uint64_t be;
	int rc;

	if (i1 >= q->l1_size || !(l2 = q->l1[i1] & Q_OFFSET_MASK))
		return vmm__err(VMM_EINTERNAL, "qcow2: no L2 table for cluster %llu",
				(unsigned long long)vcl);
	q_put64(&be, entry);
	if ((rc = q_pwrite(q, &be, 8, l2 + 8 * idx)) < 0)
		return rc;
	if ((s = q_l2_slot(q, l2)) == NULL)
		return VMM_EIO;
	s->tab[idx] = be;
	return 0;
}
