/* config.c - reading a `vmm up` file (config.h, docs/config.md): the JSON
 * text with json-c's strict tokenizer (a syntax error names its line and
 * column), the top level ("version", "switches" (cli/config_switch.c),
 * "vms" (cli/config_vm.c), and "storage", which a later release fills),
 * and the typed getters the other parts use. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/config.h"

#define MAX_FILE (4u << 20)

int cfg_fail(cfg_ctx *x, const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(x->err, x->errlen, "%s%s%s", path, *path ? ": " : "", msg);
	return -1;
}

static const char *type_name(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null: return "null";
	case json_type_boolean: return "a boolean";
	case json_type_double: return "a number with a fraction";
	case json_type_int: return "an integer";
	case json_type_object: return "an object";
	case json_type_array: return "an array";
	case json_type_string: return "a string";
	}
	return "something else";
}

int cfg_check_keys(cfg_ctx *x, const char *path, json_object *obj, const char *const *names)
{
	json_object_object_foreach(obj, key, val) {
		unsigned i;

		(void)val;
		for (i = 0; names[i] && strcmp(names[i], key); i++)
			;
		if (!names[i]) {
			char known[400] = "";

			for (i = 0; names[i]; i++)
				snprintf(known + strlen(known), sizeof(known) - strlen(known),
					 "%s%s", i ? ", " : "", names[i]);
			return cfg_fail(x, path, "unknown key \"%.64s\" (known here: %s)", key,
					known);
		}
	}
	return 0;
}

/* The member key of obj: 0 with *v set, 1 if absent. */
static int member(json_object *obj, const char *key, json_object **v)
{
	return json_object_object_get_ex(obj, key, v) ? 0 : 1;
}

static const char *sub(char *buf, size_t len, const char *path, const char *key)
{
	snprintf(buf, len, "%.100s%s%.40s", path, *path ? "." : "", key);
	return buf;
}

int cfg_get_str(cfg_ctx *x, const char *path, json_object *obj, const char *key,
		const char **out)
{
	char p[160];
	json_object *v;

	if (member(obj, key, &v))
		return 1;
	if (!json_object_is_type(v, json_type_string))
		return cfg_fail(x, sub(p, sizeof(p), path, key), "expected a string, got %s",
				type_name(v));
	*out = json_object_get_string(v);
	if (strlen(*out) != (size_t)json_object_get_string_len(v))
		return cfg_fail(x, sub(p, sizeof(p), path, key), "the string contains a NUL "
				"character");
	return 0;
}

int cfg_get_bool(cfg_ctx *x, const char *path, json_object *obj, const char *key, int *out)
{
	char p[160];
	json_object *v;

	if (member(obj, key, &v))
		return 1;
	if (!json_object_is_type(v, json_type_boolean))
		return cfg_fail(x, sub(p, sizeof(p), path, key), "expected true or false, "
				"got %s", type_name(v));
	*out = json_object_get_boolean(v);
	return 0;
}

int cfg_get_uint(cfg_ctx *x, const char *path, json_object *obj, const char *key,
		 uint64_t min, uint64_t max, uint64_t *out)
{
	char p[160];
	json_object *v;
	int64_t n;

	if (member(obj, key, &v))
		return 1;
	if (!json_object_is_type(v, json_type_int))
		return cfg_fail(x, sub(p, sizeof(p), path, key), "expected an integer, got %s",
				type_name(v));
	n = json_object_get_int64(v);
	errno = 0;
	if (n < 0 || (uint64_t)n < min || (uint64_t)n > max ||
	    (n == INT64_MAX && max > (uint64_t)INT64_MAX - 1))
		return cfg_fail(x, sub(p, sizeof(p), path, key), "%s is out of range (%llu "
				"to %llu)", json_object_to_json_string(v),
				(unsigned long long)min, (unsigned long long)max);
	*out = (uint64_t)n;
	return 0;
}

char *cfg_path(cfg_ctx *x, const char *s)
{
	char *r;

	if (s[0] == '/' || !x->dir[0])
		return strdup(s);
	return asprintf(&r, "%s/%s", x->dir, s) < 0 ? NULL : r;
}

/* Line and column (from 1) of byte off in text. */
static void position(const char *text, size_t off, unsigned *line, unsigned *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && text[i]; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static int only_space(const char *text, size_t from)
{
	for (const char *p = text + from; *p; p++)
		if (!isspace((unsigned char)*p))
			return 0;
	return 1;
}

static json_object *parse_text(cfg_ctx *x, const char *text, size_t len)
{
	json_tokener *tok = json_tokener_new();
	enum json_tokener_error e;
	json_object *root;
	unsigned line, col;

	if (!tok)
		return cfg_fail(x, "", "out of memory"), NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
	root = json_tokener_parse_ex(tok, text, (int)len);
	e = json_tokener_get_error(tok);
	if (!root || e != json_tokener_success || !only_space(text, json_tokener_get_parse_end(tok))) {
		size_t end = json_tokener_get_parse_end(tok);

		while (e == json_tokener_success && isspace((unsigned char)text[end]))
			end++;                       /* point at what follows the value */

		position(text, end ? end - 1 : 0, &line, &col);
		if (e == json_tokener_continue)
			cfg_fail(x, "", "line %u: the JSON text ends too early", line);
		else if (e == json_tokener_success)
			cfg_fail(x, "", "line %u, column %u: text after the JSON value", line,
				 col + 1);
		else
			cfg_fail(x, "", "line %u, column %u: bad JSON: %s", line, col,
				 json_tokener_error_desc(e));
		json_object_put(root);
		root = NULL;
	}
	json_tokener_free(tok);
	return root;
}

static char *read_file(cfg_ctx *x, const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	if (!f)
		return cfg_fail(x, "", "cannot open: %s", strerror(errno)), NULL;
	buf = malloc(MAX_FILE + 1);
	*len = buf ? fread(buf, 1, MAX_FILE + 1, f) : 0;
	if (!buf || ferror(f) || *len > MAX_FILE) {
		cfg_fail(x, "", !buf ? "out of memory" : ferror(f) ? "cannot read: %s"
			 : "larger than 4 MiB", strerror(errno));
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[*len] = 0;
	return buf;
}

static int check_names(cfg_ctx *x, const cfg *c)
{
	for (uint32_t i = 0; i < c->nvms; i++)
		for (uint32_t j = 0; j < i; j++)
			if (!strcmp(c->vms[i].name, c->vms[j].name)) {
				char p[32];

				snprintf(p, sizeof(p), "vms[%u].name", i);
				return cfg_fail(x, p, "\"%s\" is the name of vms[%u] too",
						c->vms[i].name, j);
			}
	return 0;
}

static int parse_vms(cfg_ctx *x, json_object *root, cfg *c)
{
	json_object *vms;
	size_t n;

	if (member(root, "vms", &vms))     /* a file of switches alone runs them */
		return c->nswitches ? 0 : cfg_fail(x, "", "missing key \"vms\" (an array of "
						   "VMs)");
	if (!json_object_is_type(vms, json_type_array))
		return cfg_fail(x, "vms", "expected an array of VMs, got %s", type_name(vms));
	n = json_object_array_length(vms);
	if ((n < 1 && !c->nswitches) || n > CFG_MAX_VMS)
		return cfg_fail(x, "vms", "has %zu VMs (1 to %d allowed; none only in a file "
				"with switches)", n, CFG_MAX_VMS);
	for (size_t i = 0; i < n; i++) {
		char p[32];

		snprintf(p, sizeof(p), "vms[%zu]", i);
		c->nvms = (uint32_t)i + 1;
		if (cfg_vm_parse(x, p, json_object_array_get_idx(vms, i), (uint32_t)i,
				 &c->vms[i]))
			return -1;
	}
	return check_names(x, c);
}

static int parse_top(cfg_ctx *x, json_object *root, cfg *c)
{
	static const char *const keys[] = { "version", "vms", "switches", "storage", NULL };
	json_object *v;
	uint64_t version = 1;

	if (!json_object_is_type(root, json_type_object))
		return cfg_fail(x, "", "expected a JSON object at the top, got %s",
				type_name(root));
	if (cfg_check_keys(x, "", root, keys))
		return -1;
	if (!member(root, "storage", &v))
		return cfg_fail(x, "storage", "not supported yet by this vmm (%s)", vmm_version());
	if (cfg_get_uint(x, "", root, "version", 1, 1, &version) < 0 ||
	    cfg_switches_parse(x, root, c) || parse_vms(x, root, c))
		return -1;
	return cfg_switches_link(x, c);
}

cfg *cfg_load(const char *path, char *err, size_t errlen)
{
	char msg[600], *text = NULL, *dir, *slash;
	cfg_ctx x = { err, errlen, "" };
	json_object *root = NULL;
	size_t len;
	cfg *c = calloc(1, sizeof(*c));
	int rc = -1;

	dir = strdup(path);
	if (!c || !dir) {
		snprintf(err, errlen, "%.256s: out of memory", path);
		free(c);
		free(dir);
		return NULL;
	}
	slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = 0;
	x.dir = slash ? dir : "";
	if ((text = read_file(&x, path, &len)) && (root = parse_text(&x, text, len)))
		rc = parse_top(&x, root, c);
	json_object_put(root);
	free(text);
	free(dir);
	if (rc) {
		snprintf(msg, sizeof(msg), "%s", err);
		snprintf(err, errlen, "%.256s: %s", path, msg);
		cfg_free(c);
		return NULL;
	}
	return c;
}

void cfg_free(cfg *c)
{
	if (!c)
		return;
	for (uint32_t i = 0; i < c->nvms; i++)
		cfg_vm_free(&c->vms[i]);
	cfg_switches_free(c);
	free(c);
}
