/* psp.c - the built-in path selection plugins: fixed, mru, rr
 * (vmm/storage.h). They run under the device lock. */
#include <stdlib.h>

#include "lib/storage/storage.h"

static bool fits(const vmm_storage_psp_request *r, uint32_t i, uint32_t state)
{
	return r->paths[i].state == state && !(r->excluded & (1ull << i));
}

/* The first path in the best usable state at or after `from`, cyclically. */
static int32_t first_usable(const vmm_storage_psp_request *r, uint32_t from)
{
	static const uint32_t order[2] = { VMM_STORAGE_ACTIVE, VMM_STORAGE_ACTIVE_NON_OPTIMIZED };

	for (int k = 0; k < 2; k++)
		for (uint32_t j = 0; j < r->npaths; j++) {
			uint32_t i = (from + j) % r->npaths;

			if (fits(r, i, order[k]))
				return (int32_t)i;
		}
	return -1;
}

/* Fixed: the preferred path (flag, else path 0) whenever it is usable, so
 * traffic fails back to it when it returns. */
static int32_t fixed_select(void *opaque, void *state, const vmm_storage_psp_request *r)
{
	uint32_t pref = 0;
	int32_t best = first_usable(r, 0);

	for (uint32_t i = 0; i < r->npaths; i++)
		if (r->paths[i].flags & VMM_STORAGE_PATH_PREFERRED) {
			pref = i;
			break;
		}
	if (best >= 0 && fits(r, pref, r->paths[best].state))
		return (int32_t)pref;
	return best;
}

/* MRU: the path of the previous request while it is usable. */
static int32_t mru_select(void *opaque, void *state, const vmm_storage_psp_request *r)
{
	uint32_t last = r->last_path;

	if (last < r->npaths && (fits(r, last, VMM_STORAGE_ACTIVE) ||
				 fits(r, last, VMM_STORAGE_ACTIVE_NON_OPTIMIZED)))
		return (int32_t)last;
	return first_usable(r, 0);
}

/* Round robin: stay on the current path for rr_requests requests (or
 * rr_bytes bytes), then move to the next path of the best usable state. */
typedef struct rr_state {
	uint32_t cur, count;
	uint64_t bytes;
	uint32_t per_requests;
	uint64_t per_bytes;
} rr_state;

static int rr_attach(void *opaque, const vmm_storage_config *config, void **state)
{
	rr_state *s = calloc(1, sizeof(*s));

	if (!s)
		return vmm__err(VMM_ENOMEM, "storage rr: out of memory");
	s->per_requests = config->rr_requests ? config->rr_requests : 1000;
	s->per_bytes = config->rr_bytes;
	*state = s;
	return 0;
}

static void rr_detach(void *opaque, void *state)
{
	free(state);
}

static int32_t rr_select(void *opaque, void *state, const vmm_storage_psp_request *r)
{
	rr_state *s = state;
	int32_t best = first_usable(r, 0);
	bool stay;

	if (best < 0)
		return -1;
	stay = s->cur < r->npaths && fits(r, s->cur, r->paths[best].state) &&
	       s->count < s->per_requests && (!s->per_bytes || s->bytes < s->per_bytes);
	if (!stay) {
		int32_t next = first_usable(r, s->cur + 1);

		/* first_usable prefers the best state, so next has best's state. */
		s->cur = (uint32_t)next;
		s->count = 0;
		s->bytes = 0;
	}
	s->count++;
	s->bytes += r->length;
	return (int32_t)s->cur;
}

const vmm_storage_psp vmm__psp_fixed = { VMM_STORAGE_PSP_VERSION, 0, "fixed", NULL, NULL,
					 fixed_select };
const vmm_storage_psp vmm__psp_mru = { VMM_STORAGE_PSP_VERSION, 0, "mru", NULL, NULL,
				       mru_select };
const vmm_storage_psp vmm__psp_rr = { VMM_STORAGE_PSP_VERSION, 0, "rr", rr_attach, rr_detach,
				      rr_select };
