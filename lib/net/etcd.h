/* etcd.h - the parts of etcd's v3 API the distributed switch uses, through
 * its JSON gateway (etcd.c over http.c): range over a prefix, put, a
 * create-if-absent transaction, delete, leases (grant, keep-alive,
 * revoke) and a watch on a prefix. Keys and values are base64 in the
 * JSON, 64-bit numbers are strings; both are decoded here. */
#ifndef VMM_NET_ETCD_H
#define VMM_NET_ETCD_H

#include <stddef.h>
#include <stdint.h>

#include "lib/net/http.h"

typedef struct vmm__etcd {
	vmm__http_url url;
	int stop_fd;                      /* cuts every wait short; -1: none */
	uint32_t timeout_ms;              /* each request */
} vmm__etcd;

typedef struct vmm__kv {
	char *key;                        /* NUL-terminated */
	char *value;                      /* NUL-terminated; vlen bytes */
	size_t vlen;
	int64_t mod_rev, lease;
} vmm__kv;

/* Every key under prefix, and the store's revision then. */
int vmm__etcd_range(vmm__etcd *e, const char *prefix, vmm__kv **kvs, size_t *n, int64_t *rev);
void vmm__kv_free(vmm__kv *kvs, size_t n);
int vmm__etcd_put(vmm__etcd *e, const char *key, const char *value, int64_t lease);
int vmm__etcd_delete(vmm__etcd *e, const char *key, int prefix);
/* Creates key if absent: 0, or VMM_EEXIST with its value (malloc'd). */
int vmm__etcd_create(vmm__etcd *e, const char *key, const char *value, int64_t lease,
		     char **existing);
int vmm__etcd_lease_grant(vmm__etcd *e, uint32_t ttl_s, int64_t *id);
/* *ttl 0: the lease is gone (expired, revoked, or etcd lost it). */
int vmm__etcd_lease_keepalive(vmm__etcd *e, int64_t id, int64_t *ttl);
int vmm__etcd_lease_revoke(vmm__etcd *e, int64_t id);

/* Opens a watch of prefix from revision from (inclusive). */
int vmm__etcd_watch_open(vmm__etcd *e, vmm__http *h, const char *prefix, int64_t from);
typedef void (*vmm__etcd_event_fn)(void *opaque, int deleted, const char *key,
				   const char *value, size_t vlen, int64_t rev);
/* One streamed watch message: its events through fn, *rev the latest
 * revision it names. 0; 1 the watch was canceled or compacted (resync);
 * VMM_EIO for a message that is not what etcd sends. */
int vmm__etcd_watch_line(const char *line, vmm__etcd_event_fn fn, void *opaque, int64_t *rev);

/* base64 (RFC 4648, padded): out needs 4 * ((n + 2) / 3) + 1 bytes. */
void vmm__b64_encode(const uint8_t *in, size_t n, char *out);
/* -1 if s is not base64; else the length written to out (len(s)/4*3 + 1). */
long vmm__b64_decode(const char *s, uint8_t *out);

#endif /* VMM_NET_ETCD_H */
