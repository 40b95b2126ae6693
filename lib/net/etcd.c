/* etcd.c - etcd v3 through its JSON gateway (/v3/kv/range, put, txn,
 * deleterange; /v3/lease/grant, keepalive, revoke; /v3/watch), parsed
 * with json-c. Answers are checked: an HTTP status other than 200, an
 * "error" object, missing or mistyped fields and bad base64 are VMM_EIO
 * with what etcd said. */
#define _GNU_SOURCE
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/internal.h"
#include "lib/net/etcd.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void vmm__b64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t i = 0;

	for (; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		*out++ = b64[v >> 18];
		*out++ = b64[(v >> 12) & 63];
		*out++ = b64[(v >> 6) & 63];
		*out++ = b64[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);

		*out++ = b64[v >> 18];
		*out++ = b64[(v >> 12) & 63];
		*out++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		*out++ = '=';
	}
	*out = 0;
}

static int b64_val(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

long vmm__b64_decode(const char *s, uint8_t *out)
{
	size_t n = strlen(s), o = 0;

	if (n % 4)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		int v[4], pad = 0;

		for (int j = 0; j < 4; j++) {
			v[j] = b64_val(s[i + j]);
			if (s[i + j] == '=' && i + 4 == n && j >= 2 && (j == 3 || s[i + 3] == '=')) {
				v[j] = 0;
				pad++;
			} else if (v[j] < 0) {
				return -1;
			}
		}
		if ((pad == 2 && (v[1] & 15)) || (pad == 1 && (v[2] & 3)))
			return -1;             /* not canonical: bits after the end */
		out[o++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			out[o++] = (uint8_t)(v[1] << 4 | v[2] >> 2);
		if (pad < 1)
			out[o++] = (uint8_t)(v[2] << 6 | v[3]);
	}
	out[o] = 0;
	return (long)o;
}

/* A malloc'd base64 of a string. */
static char *enc(const char *s, size_t n)
{
	char *o = malloc(4 * ((n + 2) / 3) + 1);

	if (o)
		vmm__b64_encode((const uint8_t *)s, n, o);
	return o;
}

/* A decoded string field: malloc'd, NUL-terminated, *len bytes; NULL if absent/bad. */
static char *dec(json_object *o, const char *field, size_t *len)
{
	json_object *f;
	const char *s;
	uint8_t *out;
	long n;

	if (!json_object_object_get_ex(o, field, &f)) {
		*len = 0;
		return calloc(1, 1);       /* absent: empty (etcd omits empty values) */
	}
	if (!json_object_is_type(f, json_type_string) || !(s = json_object_get_string(f)) ||
	    !(out = malloc(strlen(s) / 4 * 3 + 1)))
		return NULL;
	if ((n = vmm__b64_decode(s, out)) < 0) {
		free(out);
		return NULL;
	}
	*len = (size_t)n;
	return (char *)out;
}

/* A 64-bit number field, a string as the gateway writes it (or a number). */
static int64_t num(json_object *o, const char *field)
{
	json_object *f;

	if (!json_object_object_get_ex(o, field, &f))
		return 0;
	if (json_object_is_type(f, json_type_string))
		return strtoll(json_object_get_string(f), NULL, 10);
	return json_object_get_int64(f);
}

/* POSTs body to path; *out the parsed answer (200 and no "error"). */
static int call(vmm__etcd *e, const char *path, const char *body, json_object **out)
{
	char *resp = NULL;
	int status = 0, rc = vmm__http_post(&e->url, e->stop_fd, e->timeout_ms, path, body,
					     &status, &resp);
	json_object *j, *err;

	*out = NULL;
	if (rc) {
		free(resp);
		return rc;
	}
	j = json_tokener_parse(resp);
	if (!j || !json_object_is_type(j, json_type_object)) {
		rc = vmm__err(VMM_EIO, "etcd %s: HTTP %d, not a JSON object: %.120s", path, status,
			      resp);
	} else if (status != 200 || json_object_object_get_ex(j, "error", &err)) {
		json_object *m = NULL;

		json_object_object_get_ex(j, "message", &m);
		rc = vmm__err(VMM_EIO, "etcd %s: HTTP %d: %.200s", path, status,
			      m ? json_object_get_string(m) : resp);
	}
	free(resp);
	if (rc) {
		json_object_put(j);
		return rc;
	}
	*out = j;
	return 0;
}

static char *range_end(const char *prefix)
{
	size_t n = strlen(prefix);
	char *e = malloc(n + 1);

	memcpy(e, prefix, n + 1);
	while (n && (uint8_t)e[n - 1] == 0xff)
		e[--n] = 0;
	if (n)
		e[n - 1]++;
	return e;
}

/* {"key": .., "range_end": ..} for a prefix. */
static char *prefix_json(const char *prefix, const char *extra)
{
	char *end = range_end(prefix), *k = enc(prefix, strlen(prefix));
	char *re = end ? enc(end, strlen(end)) : NULL, *out = NULL;

	if (k && re && asprintf(&out, "{\"key\":\"%s\",\"range_end\":\"%s\"%s}", k, re, extra) < 0)
		out = NULL;
	free(end);
	free(k);
	free(re);
	return out;
}

static int kv_one(json_object *o, vmm__kv *v)
{
	size_t kl;

	v->key = dec(o, "key", &kl);
	v->value = dec(o, "value", &v->vlen);
	if (!v->key || !v->value || strlen(v->key) != kl || !kl || strlen(v->value) != v->vlen)
		return vmm__err(VMM_EIO, "etcd: a key or value is not base64 or has a NUL");
	v->mod_rev = num(o, "mod_revision");
	v->lease = num(o, "lease");
	return 0;
}

static int kvs_parse(json_object *arr, vmm__kv **kvs, size_t *n)
{
	size_t len = arr ? json_object_array_length(arr) : 0;
	vmm__kv *v = calloc(len ? len : 1, sizeof(*v));
	int rc;

	*kvs = v;
	*n = 0;
	if (!v)
		return vmm__err(VMM_ENOMEM, "etcd: out of memory");
	for (size_t i = 0; i < len; i++) {
		*n = i + 1;
		if ((rc = kv_one(json_object_array_get_idx(arr, i), &v[i])))
			return rc;
	}
	return 0;
}

void vmm__kv_free(vmm__kv *kvs, size_t n)
{
	for (size_t i = 0; kvs && i < n; i++) {
		free(kvs[i].key);
		free(kvs[i].value);
	}
	free(kvs);
}

int vmm__etcd_range(vmm__etcd *e, const char *prefix, vmm__kv **kvs, size_t *n, int64_t *rev)
{
	char *body = prefix_json(prefix, "");
	json_object *j, *hdr, *arr = NULL;
	int rc;

	*kvs = NULL;
	*n = 0;
	if (!body)
		return vmm__err(VMM_ENOMEM, "etcd: out of memory");
	rc = call(e, "/v3/kv/range", body, &j);
	free(body);
	if (rc)
		return rc;
	if (!json_object_object_get_ex(j, "header", &hdr) || (*rev = num(hdr, "revision")) <= 0) {
		json_object_put(j);
		return vmm__err(VMM_EIO, "etcd: a range answer without a revision");
	}
	json_object_object_get_ex(j, "kvs", &arr);
	if (arr && !json_object_is_type(arr, json_type_array))
		rc = vmm__err(VMM_EIO, "etcd: kvs is not an array");
	else if ((rc = kvs_parse(arr, kvs, n))) {
		vmm__kv_free(*kvs, *n);
		*kvs = NULL;
		*n = 0;
	}
	json_object_put(j);
	return rc;
}

static char *put_json(const char *key, const char *value, int64_t lease)
{
	char *k = enc(key, strlen(key)), *v = enc(value, strlen(value)), *out = NULL;

	if (k && v && asprintf(&out, "{\"key\":\"%s\",\"value\":\"%s\",\"lease\":\"%lld\"}", k, v,
			       (long long)lease) < 0)
		out = NULL;
	free(k);
	free(v);
	return out;
}

static int simple(vmm__etcd *e, const char *path, char *body)
{
	json_object *j;
	int rc;

	if (!body)
		return vmm__err(VMM_ENOMEM, "etcd: out of memory");
	rc = call(e, path, body, &j);
	free(body);
	json_object_put(j);
	return rc;
}

int vmm__etcd_put(vmm__etcd *e, const char *key, const char *value, int64_t lease)
{
	return simple(e, "/v3/kv/put", put_json(key, value, lease));
}

int vmm__etcd_delete(vmm__etcd *e, const char *key, int prefix)
{
	char *k = enc(key, strlen(key)), *body = NULL;

	if (prefix)
		body = prefix_json(key, "");
	else if (k && asprintf(&body, "{\"key\":\"%s\"}", k) < 0)
		body = NULL;
	free(k);
	return simple(e, "/v3/kv/deleterange", body);
}

int vmm__etcd_create(vmm__etcd *e, const char *key, const char *value, int64_t lease,
		     char **existing)
{
	char *put = put_json(key, value, lease), *k = enc(key, strlen(key)), *body = NULL;
	json_object *j, *ok, *resps, *r, *kvs;
	vmm__kv *kv = NULL;
	size_t n = 0;
	int rc;

	*existing = NULL;
	if (put && k && asprintf(&body, "{\"compare\":[{\"key\":\"%s\",\"target\":\"CREATE\","
				 "\"create_revision\":\"0\",\"result\":\"EQUAL\"}],\"success\":"
				 "[{\"request_put\":%s}],\"failure\":[{\"request_range\":"
				 "{\"key\":\"%s\"}}]}", k, put, k) < 0)
		body = NULL;
	free(put);
	free(k);
	if (!body)
		return vmm__err(VMM_ENOMEM, "etcd: out of memory");
	rc = call(e, "/v3/kv/txn", body, &j);
	free(body);
	if (rc)
		return rc;
	if (json_object_object_get_ex(j, "succeeded", &ok) && json_object_get_boolean(ok)) {
		json_object_put(j);
		return 0;
	}
	if (json_object_object_get_ex(j, "responses", &resps) &&
	    json_object_is_type(resps, json_type_array) && json_object_array_length(resps) == 1 &&
	    (r = json_object_array_get_idx(resps, 0)) &&
	    json_object_object_get_ex(r, "response_range", &r) &&
	    json_object_object_get_ex(r, "kvs", &kvs) && json_object_is_type(kvs, json_type_array) &&
	    kvs_parse(kvs, &kv, &n) == 0 && n == 1) {
		*existing = kv[0].value;
		kv[0].value = NULL;
		rc = VMM_EEXIST;
	} else {
		rc = vmm__err(VMM_EIO, "etcd: a transaction failed without its key's value");
	}
	vmm__kv_free(kv, n);
	json_object_put(j);
	return rc;
}

int vmm__etcd_lease_grant(vmm__etcd *e, uint32_t ttl_s, int64_t *id)
{
	char body[64];
	json_object *j;
	int rc;

	snprintf(body, sizeof(body), "{\"TTL\":\"%u\"}", ttl_s);
	if ((rc = call(e, "/v3/lease/grant", body, &j)))
		return rc;
	*id = num(j, "ID");
	json_object_put(j);
	return *id ? 0 : vmm__err(VMM_EIO, "etcd: a lease grant without an ID");
}

int vmm__etcd_lease_keepalive(vmm__etcd *e, int64_t id, int64_t *ttl)
{
	char body[64];
	json_object *j, *res;
	int rc;

	snprintf(body, sizeof(body), "{\"ID\":\"%lld\"}", (long long)id);
	if ((rc = call(e, "/v3/lease/keepalive", body, &j)))
		return rc;
	/* A stream of one message: {"result": {..., "ID", "TTL"}}; no TTL: gone. */
	*ttl = json_object_object_get_ex(j, "result", &res) ? num(res, "TTL") : 0;
	json_object_put(j);
	return 0;
}

int vmm__etcd_lease_revoke(vmm__etcd *e, int64_t id)
{
	char body[64];

	snprintf(body, sizeof(body), "{\"ID\":\"%lld\"}", (long long)id);
	return simple(e, "/v3/lease/revoke", strdup(body));
}

int vmm__etcd_watch_open(vmm__etcd *e, vmm__http *h, const char *prefix, int64_t from)
{
	char extra[64], *req, *body = NULL;
	int rc;

	snprintf(extra, sizeof(extra), ",\"start_revision\":\"%lld\"", (long long)from);
	if (!(req = prefix_json(prefix, extra)) ||
	    asprintf(&body, "{\"create_request\":%s}", req) < 0)
		body = NULL;
	free(req);
	if (!body)
		return vmm__err(VMM_ENOMEM, "etcd: out of memory");
	rc = vmm__http_open(h, &e->url, e->stop_fd, e->timeout_ms, "/v3/watch", body);
	free(body);
	if (rc == 0 && h->status != 200) {
		rc = vmm__err(VMM_EIO, "etcd /v3/watch: HTTP %d", h->status);
		vmm__http_close(h);
	}
	return rc;
}

static int events(json_object *arr, vmm__etcd_event_fn fn, void *opaque, int64_t *rev)
{
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *ev = json_object_array_get_idx(arr, i), *kv, *type;
		vmm__kv k = { 0 };
		bool del = json_object_object_get_ex(ev, "type", &type) &&
			   !strcmp(json_object_get_string(type), "DELETE");
		int rc;

		if (!json_object_object_get_ex(ev, "kv", &kv))
			return vmm__err(VMM_EIO, "etcd: a watch event without kv");
		if ((rc = kv_one(kv, &k)) == 0) {
			if (k.mod_rev > *rev)
				*rev = k.mod_rev;
			fn(opaque, del, k.key, k.value, k.vlen, k.mod_rev);
		}
		free(k.key);
		free(k.value);
		if (rc)
			return rc;
	}
	return 0;
}

int vmm__etcd_watch_line(const char *line, vmm__etcd_event_fn fn, void *opaque, int64_t *rev)
{
	json_object *j = json_tokener_parse(line), *res, *f;
	int rc = 0;

	if (!j || !json_object_object_get_ex(j, "result", &res) ||
	    !json_object_is_type(res, json_type_object)) {
		json_object_put(j);
		return vmm__err(VMM_EIO, "etcd: a watch message without a result: %.120s", line);
	}
	if ((json_object_object_get_ex(res, "canceled", &f) && json_object_get_boolean(f)) ||
	    num(res, "compact_revision")) {
		json_object_put(j);
		return 1;
	}
	if (json_object_object_get_ex(res, "events", &f)) {
		if (!json_object_is_type(f, json_type_array))
			rc = vmm__err(VMM_EIO, "etcd: watch events is not an array");
		else
			rc = events(f, fn, opaque, rev);
	}
	json_object_put(j);
	return rc;
}
