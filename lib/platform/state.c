/* state.c - the device state stream (state.h): the field writer and
 * reader, the device list, and the VM's save and two-pass load. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/platform/platform.h"
#include "lib/platform/state.h"
#include "lib/virtio/virtio_pci.h"

/* ---- Writer ---------------------------------------------------------------- */

static bool sw_grow(vmm__sw *w, size_t n)
{
	size_t cap = w->cap ? w->cap : 4096;
	uint8_t *p;

	if (w->failed)
		return false;
	if (w->len + n <= w->cap)
		return true;
	while (cap < w->len + n)
		cap *= 2;
	if (!(p = realloc(w->data, cap))) {
		w->failed = true;
		return false;
	}
	w->data = p;
	w->cap = cap;
	return true;
}

static void sw_le(vmm__sw *w, uint64_t v, unsigned n)
{
	if (!sw_grow(w, n))
		return;
	for (unsigned i = 0; i < n; i++)
		w->data[w->len++] = (uint8_t)(v >> (8 * i));
}

void vmm__sw_u8(vmm__sw *w, uint8_t v) { sw_le(w, v, 1); }
void vmm__sw_u16(vmm__sw *w, uint16_t v) { sw_le(w, v, 2); }
void vmm__sw_u32(vmm__sw *w, uint32_t v) { sw_le(w, v, 4); }
void vmm__sw_u64(vmm__sw *w, uint64_t v) { sw_le(w, v, 8); }
void vmm__sw_bool(vmm__sw *w, bool v) { sw_le(w, v ? 1 : 0, 1); }

void vmm__sw_bytes(vmm__sw *w, const void *p, size_t n)
{
	if (!n || !sw_grow(w, n))
		return;
	memcpy(w->data + w->len, p, n);
	w->len += n;
}

void vmm__sw_time(vmm__sw *w, uint64_t v)
{
	if (w->ntime == w->time_cap) {
		size_t cap = w->time_cap ? w->time_cap * 2 : 32;
		size_t *p = realloc(w->time_off, cap * sizeof(*p));

		if (!p) {
			w->failed = true;
			return;
		}
		w->time_off = p;
		w->time_cap = cap;
	}
	w->time_off[w->ntime++] = w->len;
	vmm__sw_u64(w, v);
}

void vmm__sw_free(vmm__sw *w)
{
	free(w->data);
	free(w->time_off);
	memset(w, 0, sizeof(*w));
}

static void sw_patch32(vmm__sw *w, size_t at, uint32_t v)
{
	if (w->failed)
		return;
	for (unsigned i = 0; i < 4; i++)
		w->data[at + i] = (uint8_t)(v >> (8 * i));
}

/* ---- Reader ---------------------------------------------------------------- */

static void sr_fail(vmm__sr *r, const char *field, const char *why)
{
	if (!r->failed)
		snprintf(r->msg, sizeof(r->msg), "%s: %s", field, why);
	r->failed = true;
}

static uint64_t sr_le(vmm__sr *r, const char *field, unsigned n)
{
	uint64_t v = 0;

	if (r->failed)
		return 0;
	if (r->len - r->pos < n) {
		sr_fail(r, field, "the record ends inside this field (truncated)");
		return 0;
	}
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)r->p[r->pos++] << (8 * i);
	return v;
}

uint8_t vmm__sr_u8(vmm__sr *r, const char *f) { return (uint8_t)sr_le(r, f, 1); }
uint16_t vmm__sr_u16(vmm__sr *r, const char *f) { return (uint16_t)sr_le(r, f, 2); }
uint32_t vmm__sr_u32(vmm__sr *r, const char *f) { return (uint32_t)sr_le(r, f, 4); }
uint64_t vmm__sr_u64(vmm__sr *r, const char *f) { return sr_le(r, f, 8); }

bool vmm__sr_bool(vmm__sr *r, const char *field)
{
	uint8_t v = vmm__sr_u8(r, field);

	if (v > 1)
		sr_fail(r, field, "not a boolean (0 or 1)");
	return v == 1 && !r->failed;
}

void vmm__sr_bytes(vmm__sr *r, const char *field, void *p, size_t n)
{
	if (!r->failed && r->len - r->pos < n)
		sr_fail(r, field, "the record ends inside this field (truncated)");
	if (r->failed) {
		memset(p, 0, n);
		return;
	}
	memcpy(p, r->p + r->pos, n);
	r->pos += n;
}

uint64_t vmm__sr_max(vmm__sr *r, const char *field, uint64_t max, unsigned width)
{
	uint64_t v = sr_le(r, field, width);

	if (v > max) {
		char why[96];

		snprintf(why, sizeof(why), "%llu is out of range (at most %llu)",
			 (unsigned long long)v, (unsigned long long)max);
		sr_fail(r, field, why);
		return 0;
	}
	return r->failed ? 0 : v;
}

bool vmm__sr_check(vmm__sr *r, bool ok, const char *field, const char *why)
{
	if (!ok)
		sr_fail(r, field, why);
	return ok && !r->failed;
}

uint64_t vmm__state_since(uint64_t now, uint64_t since)
{
	return since < now ? now - since : 0;
}

/* ---- Device list ------------------------------------------------------------ */

static bool name_ok(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > VMM__STATE_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789.:_-", name[i]))
			return false;
	return true;
}

static vmm__state_dev *find(const vmm__state_list *l, const char *name, size_t len)
{
	for (size_t i = 0; i < l->n; i++)
		if (strlen(l->v[i].name) == len && !memcmp(l->v[i].name, name, len))
			return &l->v[i];
	return NULL;
}

int vmm__state_add(vmm__state_list *l, const char *name, const vmm__state_ops *ops, void *dev)
{
	if (!name_ok(name) || find(l, name, strlen(name)) || !ops || !ops->version)
		return vmm__err(VMM_EINTERNAL, "state: bad or duplicate device name '%.40s'", name);
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		vmm__state_dev *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return vmm__err(VMM_ENOMEM, "state: out of memory");
		l->v = v;
		l->cap = cap;
	}
	memset(&l->v[l->n], 0, sizeof(l->v[0]));
	memcpy(l->v[l->n].name, name, strlen(name));
	l->v[l->n].ops = ops;
	l->v[l->n].dev = dev;
	l->n++;
	return 0;
}

/* The interrupt controllers first, as load applies in this order. */
static int collect(vmm_vm *vm, vmm__state_list *l)
{
	static int (*const adders[])(vmm_vm *, vmm__state_list *) = {
		vmm__lapic_state_add, vmm__ioapic_state_add, vmm__pic_state_add,
		vmm__pit_state_add, vmm__rtc_state_add, vmm__pmtimer_state_add,
		vmm__acpi_pm_state_add, vmm__uart_state_add, vmm__fw_cfg_state_add,
		vmm__pci_state_add, vmm__virtio_state_add,
	};
	int rc = 0;

	memset(l, 0, sizeof(*l));
	if (vm->ops->version >= 3 && vm->ops->state_add)
		rc = vm->ops->state_add(vm, l);
	for (size_t i = 0; rc == 0 && i < sizeof(adders) / sizeof(adders[0]); i++)
		rc = adders[i](vm, l);
	if (rc)
		free(l->v);
	return rc;
}

static int check_stopped(vmm_vm *vm, const char *what)
{
	for (uint32_t i = 0; i < VMM_MAX_VCPUS; i++) {
		vmm_vcpu *c = __atomic_load_n(&vm->vcpus[i], __ATOMIC_ACQUIRE);

		if (c && atomic_load(&c->in_run))
			return vmm__err(VMM_ESTATE, "%s: vCPU %u is running (stop every vCPU "
					"first)", what, i);
	}
	return 0;
}

/* ---- Save ------------------------------------------------------------------- */

static int save_one(vmm__sw *w, const vmm__state_dev *d)
{
	size_t n = strlen(d->name), len_at, start;
	int rc;

	vmm__sw_u8(w, (uint8_t)n);
	vmm__sw_bytes(w, d->name, n);
	vmm__sw_u32(w, d->ops->version);
	len_at = w->len;
	vmm__sw_u32(w, 0);
	start = w->len;
	rc = d->ops->save(d->dev, w);
	if (rc)
		return rc;
	if (!w->failed && w->len - start > VMM__STATE_MAX_RECORD)
		return vmm__err(VMM_EINTERNAL, "state: record '%s' is too large", d->name);
	sw_patch32(w, len_at, (uint32_t)(w->len - start));
	return 0;
}

int vmm__vm_state_save(vmm_vm *vm, vmm__sw *w)
{
	vmm__state_list l;
	int rc;

	memset(w, 0, sizeof(*w));
	if ((rc = check_stopped(vm, "state save")) || (rc = collect(vm, &l)))
		return rc;
	vmm__sw_bytes(w, VMM__STATE_MAGIC, 8);
	vmm__sw_u32(w, VMM__STATE_FORMAT);
	vmm__sw_u32(w, (uint32_t)l.n);
	for (size_t i = 0; rc == 0 && i < l.n; i++)
		rc = save_one(w, &l.v[i]);
	free(l.v);
	if (rc == 0 && w->failed)
		rc = vmm__err(VMM_ENOMEM, "state save: out of memory");
	if (vm->platform)   /* the devices saved so far froze themselves */
		atomic_store(&vm->platform->state_frozen, true);
	if (rc) {
		vmm__sw_free(w);
		vmm__vm_state_thaw(vm);
	}
	return rc;
}

void vmm__vm_state_thaw(vmm_vm *vm)
{
	if (vm->platform && atomic_exchange(&vm->platform->state_frozen, false))
		vmm__virtio_thaw_all(vm);
}

/* ---- Load ------------------------------------------------------------------- */

typedef struct rec {
	vmm__state_dev *dev;
	uint32_t version;
	const uint8_t *payload;
	uint32_t len;
} rec;

/* Splits the stream into records, each matched to one device of the VM:
 * recs has room for l->n (a record past that is unknown or a duplicate). */
static int parse(const vmm__state_list *l, const uint8_t *p, size_t len, rec *recs)
{
	vmm__sr r = { .p = p, .len = len, .dev = "stream" };
	char magic[8];
	uint32_t format, count;

	vmm__sr_bytes(&r, "magic", magic, 8);
	format = vmm__sr_u32(&r, "format");
	count = vmm__sr_u32(&r, "record count");
	if (r.failed || memcmp(magic, VMM__STATE_MAGIC, 8))
		return vmm__err(VMM_EINVAL, "state load: not a device state stream (%s)",
				r.failed ? "shorter than its header" : "bad magic");
	if (format != VMM__STATE_FORMAT)
		return vmm__err(VMM_EINVAL, "state load: stream format %u, this library reads %u",
				format, VMM__STATE_FORMAT);
	for (uint32_t i = 0; i < count; i++) {
		char name[VMM__STATE_NAME_MAX + 1] = { 0 };
		uint8_t n = (uint8_t)vmm__sr_max(&r, "record name length", VMM__STATE_NAME_MAX, 1);
		uint32_t version, rlen;
		vmm__state_dev *d;

		vmm__sr_bytes(&r, "record name", name, n);
		version = vmm__sr_u32(&r, "record version");
		rlen = vmm__sr_u32(&r, "record length");
		if (r.failed)
			return vmm__err(VMM_EINVAL, "state load: record %u of %u: %s", i + 1,
					count, r.msg);
		if (!(d = find(l, name, n)))
			return vmm__err(VMM_EINVAL, "state load: record '%s' names no device of "
					"this VM (not the same configuration)", name);
		for (uint32_t j = 0; j < i; j++)
			if (recs[j].dev == d)
				return vmm__err(VMM_EINVAL, "state load: record '%s' appears "
						"twice", name);
		if (!version || version > d->ops->version)
			return vmm__err(VMM_EINVAL, "state load: record '%s' has version %u; "
					"this library reads versions 1 to %u", name, version,
					d->ops->version);
		if (rlen > r.len - r.pos)
			return vmm__err(VMM_EINVAL, "state load: record '%s' claims %u bytes, "
					"the stream has %zu left (truncated)", name, rlen,
					r.len - r.pos);
		recs[i] = (rec){ d, version, p + r.pos, rlen };
		r.pos += rlen;
	}
	if (r.pos != len)
		return vmm__err(VMM_EINVAL, "state load: %zu bytes after the last record",
				len - r.pos);
	for (size_t k = 0; count < l->n && k < l->n; k++) {
		bool seen = false;

		for (uint32_t j = 0; j < count; j++)
			seen |= recs[j].dev == &l->v[k];
		if (!seen)
			return vmm__err(VMM_EINVAL, "state load: the stream has no record for "
					"'%s' (not the same configuration)", l->v[k].name);
	}
	return 0;
}

static int load_pass(const rec *recs, size_t n, bool dry)
{
	for (size_t i = 0; i < n; i++) {
		vmm__sr r = { .p = recs[i].payload, .len = recs[i].len, .dry = dry,
			      .dev = recs[i].dev->name };
		int rc = recs[i].dev->ops->load(recs[i].dev->dev, recs[i].version, &r);

		if (rc && !dry) {
			char why[200];

			snprintf(why, sizeof(why), "%s", vmm_last_error());
			return vmm__err(rc, "state load: applying '%s': %s (the VM is partly "
					"loaded)", r.dev, why);
		}
		if (rc)
			return rc;
		if (r.failed)
			return vmm__err(VMM_EINVAL, "state load: '%s' (version %u): %s%s",
					r.dev, recs[i].version, r.msg,
					dry ? "" : " (the VM is partly loaded)");
		if (r.pos != r.len)
			return vmm__err(VMM_EINVAL, "state load: '%s' (version %u): %zu bytes "
					"left over (wrong record length)", r.dev,
					recs[i].version, r.len - r.pos);
	}
	return 0;
}

int vmm__vm_state_load(vmm_vm *vm, const void *buf, size_t len)
{
	vmm__state_list l;
	rec *recs;
	int rc;

	if (!buf && len)
		return vmm__err(VMM_EINVAL, "state load: buf is NULL");
	if ((rc = check_stopped(vm, "state load")) || (rc = collect(vm, &l)))
		return rc;
	if (!(recs = calloc(l.n ? l.n : 1, sizeof(*recs)))) {
		free(l.v);
		return vmm__err(VMM_ENOMEM, "state load: out of memory");
	}
	rc = parse(&l, buf, len, recs);
	if (rc == 0)
		rc = load_pass(recs, l.n, true);    /* every check, nothing changed */
	if (rc == 0)
		rc = load_pass(recs, l.n, false);    /* loaded devices are not frozen */
	if (rc == 0 && vm->platform)
		atomic_store(&vm->platform->state_frozen, false);
	free(recs);
	free(l.v);
	for (uint32_t i = 0; rc == 0 && i < VMM_MAX_VCPUS; i++) {
		vmm_vcpu *c = __atomic_load_n(&vm->vcpus[i], __ATOMIC_ACQUIRE);

		if (c)
			vmm__vcpu_wake(c);   /* pending interrupts are looked at again */
	}
	return rc;
}
