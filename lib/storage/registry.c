/* registry.c - SATPs and PSPs registered by name (vmm/storage.h): the
 * built-ins first, then the embedder's; a device holds a reference to the
 * two it uses so that they cannot be unregistered under it. */
#include <string.h>

#include "lib/storage/storage.h"

#define MAX_PLUGINS 32

typedef struct plugin {
	const char *name;
	const void *table;          /* vmm_storage_satp or vmm_storage_psp */
	void *opaque;
	uint32_t users;
	bool builtin;
} plugin;

typedef struct registry {
	plugin p[MAX_PLUGINS];
	uint32_t n;
} registry;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static registry satps = { { { "default", &vmm__satp_default, NULL, 0, true },
			    { "alua", &vmm__satp_alua, NULL, 0, true } }, 2 };
static registry psps = { { { "fixed", &vmm__psp_fixed, NULL, 0, true },
			   { "mru", &vmm__psp_mru, NULL, 0, true },
			   { "rr", &vmm__psp_rr, NULL, 0, true } }, 3 };

static plugin *find(registry *r, const char *name)
{
	for (uint32_t i = 0; i < r->n; i++)
		if (strcmp(r->p[i].name, name) == 0)
			return &r->p[i];
	return NULL;
}

static int check_name(const char *what, const char *name)
{
	if (!name || !name[0] || strlen(name) > 31)
		return vmm__err(VMM_EINVAL, "storage %s: name must be 1..31 bytes", what);
	return 0;
}

static int add(registry *r, const char *what, const char *name, const void *table,
	       void *opaque)
{
	int rc = check_name(what, name);

	if (rc)
		return rc;
	pthread_mutex_lock(&lock);
	if (find(r, name)) {
		pthread_mutex_unlock(&lock);
		return vmm__err(VMM_EEXIST, "storage %s \"%s\" is already registered", what, name);
	}
	if (r->n == MAX_PLUGINS) {
		pthread_mutex_unlock(&lock);
		return vmm__err(VMM_ENOMEM, "storage %s: at most %d registered", what, MAX_PLUGINS);
	}
	r->p[r->n++] = (plugin){ name, table, opaque, 0, false };
	pthread_mutex_unlock(&lock);
	return 0;
}

static int del(registry *r, const char *what, const char *name)
{
	plugin *p;
	int rc = 0;

	if (!name)
		return vmm__err(VMM_EINVAL, "storage %s: name is NULL", what);
	pthread_mutex_lock(&lock);
	p = find(r, name);
	if (!p)
		rc = vmm__err(VMM_ENOENT, "storage %s \"%s\" is not registered", what, name);
	else if (p->builtin)
		rc = vmm__err(VMM_EINVAL, "storage %s \"%s\" is built in", what, name);
	else if (p->users)
		rc = vmm__err(VMM_EBUSY, "storage %s \"%s\" is used by %u device(s)", what, name,
			      p->users);
	else
		*p = r->p[--r->n];
	pthread_mutex_unlock(&lock);
	return rc;
}

VMM_API int vmm_storage_register_satp(const vmm_storage_satp *satp, void *opaque)
{
	if (!satp || satp->version < 1 || !satp->path_state || !satp->request_failed)
		return vmm__err(VMM_EINVAL, "storage SATP: version >= 1, path_state and "
			       "request_failed are required");
	return add(&satps, "SATP", satp->name, satp, opaque);
}

VMM_API int vmm_storage_register_psp(const vmm_storage_psp *psp, void *opaque)
{
	if (!psp || psp->version < 1 || !psp->select)
		return vmm__err(VMM_EINVAL, "storage PSP: version >= 1 and select are required");
	return add(&psps, "PSP", psp->name, psp, opaque);
}

VMM_API int vmm_storage_unregister_satp(const char *name)
{
	return del(&satps, "SATP", name);
}

VMM_API int vmm_storage_unregister_psp(const char *name)
{
	return del(&psps, "PSP", name);
}

int vmm__storage_plugins_get(const char *satp, const char *psp, vmm_storage_dev *dev)
{
	plugin *s, *p;

	pthread_mutex_lock(&lock);
	s = find(&satps, satp);
	p = find(&psps, psp);
	if (s && p) {
		s->users++;
		p->users++;
		dev->satp = s->table;
		dev->satp_opaque = s->opaque;
		dev->psp = p->table;
		dev->psp_opaque = p->opaque;
	}
	pthread_mutex_unlock(&lock);
	if (!s)
		return vmm__err(VMM_ENOENT, "storage: no SATP named \"%s\"", satp);
	if (!p)
		return vmm__err(VMM_ENOENT, "storage: no PSP named \"%s\"", psp);
	return 0;
}

void vmm__storage_plugins_put(vmm_storage_dev *dev)
{
	plugin *s, *p;

	if (!dev->satp)
		return;
	pthread_mutex_lock(&lock);
	s = find(&satps, dev->satp->name);
	p = find(&psps, dev->psp->name);
	if (s && s->users)
		s->users--;
	if (p && p->users)
		p->users--;
	pthread_mutex_unlock(&lock);
	dev->satp = NULL;
	dev->psp = NULL;
}
