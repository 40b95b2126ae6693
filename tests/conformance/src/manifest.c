/* manifest.c - reads tests/guests/manifest (format described in that file)
 * and each case's NAME.expected from the manifest's folder. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/conformance/src/conform.h"

#define MAX_WORDS 8

static int bad(const char *path, unsigned line, const char *what, const char *word)
{
	fprintf(stderr, "conform: %s:%u: %s%s%s\n", path, line, what,
		word ? ": " : "", word ? word : "");
	return -1;
}

/* Splits s at blanks into at most max words; *rest points after word max-1. */
static unsigned split(char *s, char **words, unsigned max, char **rest)
{
	unsigned n = 0;

	*rest = NULL;
	while (n < max) {
		s += strspn(s, " \t\r\n");
		if (!*s)
			break;
		words[n++] = s;
		s += strcspn(s, " \t\r\n");
		if (!*s)
			break;
		*s++ = 0;
	}
	if (n == max && *s) {
		s += strspn(s, " \t");
		s[strcspn(s, "\r\n")] = 0;
		*rest = *s ? s : NULL;
	}
	return n;
}

static int parse_u32(const char *s, uint32_t *out, uint32_t min, uint32_t max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_end(const char *s, uint32_t *end, uint32_t *code)
{
	static const struct { const char *name; uint32_t end; } names[] = {
		{ "halted", VMM_END_HALTED }, { "shutdown", VMM_END_SHUTDOWN },
		{ "timeout", VMM_END_TIMEOUT }, { "internal", VMM_END_INTERNAL_ERROR },
		{ "poweroff", VMM_END_POWEROFF }, { "unhandled", VMM_END_UNHANDLED },
	};

	*code = 0;
	if (strncmp(s, "exit:", 5) == 0) {
		*end = VMM_END_DEBUG_EXIT;
		return parse_u32(s + 5, code, 0, UINT32_MAX);
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i].name) == 0) {
			*end = names[i].end;
			return 0;
		}
	return -1;
}

static int parse_devices(const char *s, uint32_t *mask)
{
	char buf[64], *tok, *save = NULL;

	*mask = 0;
	if (strcmp(s, "-") == 0)
		return 0;
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "pio") == 0)
			*mask |= CONFORM_DEV_PIO;
		else if (strcmp(tok, "mmio") == 0)
			*mask |= CONFORM_DEV_MMIO;
		else if (strcmp(tok, "irq") == 0)
			*mask |= CONFORM_DEV_IRQ;
		else if (strcmp(tok, "irqchip") == 0)
			*mask |= CONFORM_OPT_IRQCHIP;
		else if (strcmp(tok, "sipi") == 0)
			*mask |= CONFORM_OPT_SIPI;
		else if (strcmp(tok, "utc") == 0)
			*mask |= CONFORM_DEV_UTC;
		else
			return -1;
	}
	return 0;
}

static int read_file(const char *path, char **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (!f)
		return -1;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return -1;
	}
	*data = malloc((size_t)n + 1);
	if (!*data || fread(*data, 1, (size_t)n, f) != (size_t)n) {
		free(*data);
		*data = NULL;
		fclose(f);
		return -1;
	}
	(*data)[n] = 0;
	*len = (size_t)n;
	fclose(f);
	return 0;
}

static int load_expected(const char *manifest_path, conform_case *c)
{
	char path[4096];
	const char *slash = strrchr(manifest_path, '/');
	int dirlen = slash ? (int)(slash - manifest_path) : 1;

	snprintf(path, sizeof(path), "%.*s/%s.expected", dirlen,
		 slash ? manifest_path : ".", c->name);
	if (read_file(path, &c->expected, &c->expected_len) == 0)
		return 0;
	fprintf(stderr, "conform: cannot read %s: %s\n", path, strerror(errno));
	return -1;
}

static int parse_guest(conform_manifest *m, char *args, const char *path, unsigned line)
{
	char *w[MAX_WORDS], *rest = NULL;
	unsigned n = args ? 1 + split(args, w + 1, 6, &rest) : 1;
	conform_case *c;
	uint32_t mem_mib;

	if (n != 7)
		return bad(path, line, "a guest line needs 6 fields and an optional command line", NULL);
	if (m->ncases == CONFORM_MAX_CASES)
		return bad(path, line, "too many guests", NULL);
	c = &m->cases[m->ncases];
	memset(c, 0, sizeof(*c));
	if (strlen(w[1]) >= sizeof(c->name) || manifest_find(m, w[1]))
		return bad(path, line, "bad or repeated guest name", w[1]);
	snprintf(c->name, sizeof(c->name), "%s", w[1]);
	if (parse_u32(w[2], &c->vcpus, 1, VMM_MAX_VCPUS))
		return bad(path, line, "bad vCPU count", w[2]);
	if (parse_u32(w[3], &mem_mib, 1, 1u << 20))
		return bad(path, line, "bad memory size (MiB)", w[3]);
	c->mem = (uint64_t)mem_mib << 20;
	if (parse_end(w[4], &c->end, &c->code))
		return bad(path, line, "bad end (exit:N, halted, shutdown, timeout)", w[4]);
	if (parse_u32(w[5], &c->timeout_s, 1, 3600))
		return bad(path, line, "bad timeout (seconds)", w[5]);
	if (parse_devices(w[6], &c->devices))
		return bad(path, line, "bad devices (pio, mmio, irq, irqchip, sipi, utc or -)",
			   w[6]);
	if (rest && strlen(rest) >= sizeof(c->cmdline))
		return bad(path, line, "command line too long", NULL);
	snprintf(c->cmdline, sizeof(c->cmdline), "%s", rest ? rest : "");
	if (load_expected(path, c))
		return -1;
	m->ncases++;
	return 0;
}

/* Takes a leading "quoted text" off *rest into buf ("" if none). */
static int take_quoted(char **rest, char *buf, size_t len)
{
	char *end;

	buf[0] = 0;
	if (!*rest || **rest != '"')
		return 0;
	end = strchr(*rest + 1, '"');
	if (!end || (size_t)(end - *rest - 1) >= len)
		return -1;
	snprintf(buf, len, "%.*s", (int)(end - *rest - 1), *rest + 1);
	*rest = end + 1 + strspn(end + 1, " \t");
	return 0;
}

static int parse_known(conform_manifest *m, char *args, const char *path, unsigned line)
{
	char *w[MAX_WORDS], *rest = NULL;
	unsigned n = args ? 1 + split(args, w + 1, 3, &rest) : 1;
	conform_case *c;
	conform_known *k;

	if (n != 4 || !rest)
		return bad(path, line, "known needs NAME FLAVOUR END [\"TEXT\"] REASON", NULL);
	c = (conform_case *)manifest_find(m, w[1]);
	if (!c)
		return bad(path, line, "known names a guest not listed above", w[1]);
	if (c->nknown == CONFORM_MAX_KNOWN)
		return bad(path, line, "too many known lines for", w[1]);
	k = &c->known[c->nknown];
	if (strlen(w[2]) >= sizeof(k->flavour) || parse_end(w[3], &k->end, &k->code))
		return bad(path, line, "bad flavour or end", NULL);
	if (take_quoted(&rest, k->output, sizeof(k->output)) || !*rest)
		return bad(path, line, "bad \"TEXT\" or no reason", NULL);
	snprintf(k->flavour, sizeof(k->flavour), "%s", w[2]);
	snprintf(k->reason, sizeof(k->reason), "%s", rest);
	c->nknown++;
	return 0;
}

int manifest_load(const char *path, conform_manifest *m)
{
	FILE *f = fopen(path, "r");
	char buf[1024], *w[1], *rest;
	unsigned line = 0, n;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	if (!f) {
		fprintf(stderr, "conform: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && fgets(buf, sizeof(buf), f)) {
		line++;
		if (buf[0] == '#')
			continue;
		n = split(buf, w, 1, &rest);
		if (n == 0)
			continue;
		if (strcmp(w[0], "guest") == 0)
			rc = parse_guest(m, rest, path, line);
		else if (strcmp(w[0], "known") == 0)
			rc = parse_known(m, rest, path, line);
		else
			rc = bad(path, line, "unknown line kind", w[0]);
	}
	fclose(f);
	if (rc)
		manifest_free(m);
	return rc;
}

void manifest_free(conform_manifest *m)
{
	for (uint32_t i = 0; i < m->ncases; i++)
		free(m->cases[i].expected);
	m->ncases = 0;
}

const conform_case *manifest_find(const conform_manifest *m, const char *name)
{
	for (uint32_t i = 0; i < m->ncases; i++)
		if (strcmp(m->cases[i].name, name) == 0)
			return &m->cases[i];
	return NULL;
}

const char *end_name(uint32_t end, uint32_t code, char *buf, size_t len)
{
	static const char *const names[] = {
		"?", "exit", "halted", "shutdown", "timeout", "internal error",
		"poweroff", "unhandled exit"
	};

	if (end == VMM_END_DEBUG_EXIT)
		snprintf(buf, len, "exit:0x%x", code);
	else
		snprintf(buf, len, "%s", end < sizeof(names) / sizeof(names[0]) ?
			 names[end] : "?");
	return buf;
}
