/* acpi_aml.c - a small writer of ACPI Machine Language (ACPI 6.4, chapter
 * 20): names, integers, scopes, devices, buffers and packages: what a
 * DSDT describing fixed devices needs. */
#include <string.h>

#include "lib/platform/acpi.h"

enum {
	AML_ZERO = 0x00, AML_ONE = 0x01, AML_ONES = 0xff, AML_NAME = 0x08,
	AML_BYTE = 0x0a, AML_WORD = 0x0b, AML_DWORD = 0x0c, AML_QWORD = 0x0e,
	AML_SCOPE = 0x10, AML_BUFFER = 0x11, AML_PACKAGE = 0x12,
	AML_EXT = 0x5b, AML_DEVICE = 0x82, AML_ROOT = '\\'
};

void vmm__aml_init(vmm__aml *a, uint8_t *buf, size_t cap)
{
	memset(a, 0, sizeof(*a));
	a->buf = buf;
	a->cap = cap;
}

void vmm__aml_bytes(vmm__aml *a, const void *p, size_t n)
{
	if (a->err || n > a->cap - a->len) {
		a->err = 1;
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void byte(vmm__aml *a, uint8_t b)
{
	vmm__aml_bytes(a, &b, 1);
}

/* One NameSeg: up to 4 characters [A-Z0-9_], padded with '_'. */
static void name_seg(vmm__aml *a, const char *s, size_t n)
{
	char seg[4] = { '_', '_', '_', '_' };

	if (n == 0 || n > 4)
		a->err = 1;
	for (size_t i = 0; i < n && i < 4; i++)
		seg[i] = s[i];
	vmm__aml_bytes(a, seg, 4);
}

/* "\\_SB_.PCI0" style paths: optional root, segments split by '.'. */
void vmm__aml_name(vmm__aml *a, const char *path)
{
	const char *p = path;
	unsigned segs = 1;

	if (*p == '\\') {
		byte(a, AML_ROOT);
		p++;
	}
	for (const char *q = p; *q; q++)
		segs += *q == '.';
	if (segs == 2)
		byte(a, 0x2e);                  /* DualNamePrefix */
	else if (segs > 2) {
		byte(a, 0x2f);                  /* MultiNamePrefix */
		byte(a, (uint8_t)segs);
	}
	while (*p) {
		size_t n = strcspn(p, ".");

		name_seg(a, p, n);
		p += n + (p[n] == '.');
	}
}

void vmm__aml_integer(vmm__aml *a, uint64_t v)
{
	uint8_t le[8];

	memcpy(le, &v, 8);
	if (v == 0 || v == 1)
		byte(a, v ? AML_ONE : AML_ZERO);
	else if (v <= 0xff)
		byte(a, AML_BYTE), byte(a, (uint8_t)v);
	else if (v <= 0xffff)
		byte(a, AML_WORD), vmm__aml_bytes(a, le, 2);
	else if (v <= 0xffffffffu)
		byte(a, AML_DWORD), vmm__aml_bytes(a, le, 4);
	else
		byte(a, AML_QWORD), vmm__aml_bytes(a, le, 8);
}

/* Opens a package: remembers where its PkgLength will be inserted. */
static void open_pkg(vmm__aml *a)
{
	if (a->depth == VMM__AML_DEPTH) {
		a->err = 1;
		return;
	}
	a->open[a->depth++] = a->len;
}

/* PkgLength (20.2.4) counts itself: 1 byte up to 63, else 2-4 bytes. */
void vmm__aml_close(vmm__aml *a)
{
	size_t at, body, n, total;
	uint8_t enc[4];

	if (a->err || a->depth == 0) {
		a->err = 1;
		return;
	}
	at = a->open[--a->depth];
	body = a->len - at;
	n = body + 1 <= 63 ? 1 : body + 2 < (1u << 12) ? 2 : body + 3 < (1u << 20) ? 3 : 4;
	total = body + n;
	if (n == 1) {
		enc[0] = (uint8_t)total;
	} else {
		enc[0] = (uint8_t)(((n - 1) << 6) | (total & 0xf));
		for (size_t i = 1; i < n; i++)
			enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	if (n > a->cap - a->len) {
		a->err = 1;
		return;
	}
	memmove(a->buf + at + n, a->buf + at, body);
	memcpy(a->buf + at, enc, n);
	a->len += n;
}

void vmm__aml_scope(vmm__aml *a, const char *path)
{
	byte(a, AML_SCOPE);
	open_pkg(a);
	vmm__aml_name(a, path);
}

void vmm__aml_device(vmm__aml *a, const char *name)
{
	byte(a, AML_EXT);
	byte(a, AML_DEVICE);
	open_pkg(a);
	vmm__aml_name(a, name);
}

void vmm__aml_name_int(vmm__aml *a, const char *name, uint64_t v)
{
	byte(a, AML_NAME);
	vmm__aml_name(a, name);
	vmm__aml_integer(a, v);
}

/* EISA ID: three letters in 5 bits each, four hex digits, big-endian. */
uint32_t vmm__aml_eisaid(const char *id)
{
	uint32_t v = ((uint32_t)(id[0] - '@') << 26) | ((uint32_t)(id[1] - '@') << 21) |
		     ((uint32_t)(id[2] - '@') << 16);

	for (int i = 3; i < 7; i++) {
		char c = id[i];

		v |= (uint32_t)(c <= '9' ? c - '0' : c - 'A' + 10) << (4 * (6 - i));
	}
	return __builtin_bswap32(v);
}

void vmm__aml_name_eisaid(vmm__aml *a, const char *name, const char *id)
{
	uint32_t v = vmm__aml_eisaid(id);

	byte(a, AML_NAME);
	vmm__aml_name(a, name);
	byte(a, AML_DWORD);
	vmm__aml_bytes(a, &v, 4);
}

void vmm__aml_name_buffer(vmm__aml *a, const char *name, const uint8_t *p, size_t n)
{
	byte(a, AML_NAME);
	vmm__aml_name(a, name);
	byte(a, AML_BUFFER);
	open_pkg(a);
	vmm__aml_integer(a, n);
	vmm__aml_bytes(a, p, n);
	vmm__aml_close(a);
}

void vmm__aml_name_package(vmm__aml *a, const char *name, const uint64_t *v, unsigned n)
{
	byte(a, AML_NAME);
	vmm__aml_name(a, name);
	byte(a, AML_PACKAGE);
	open_pkg(a);
	byte(a, (uint8_t)n);
	for (unsigned i = 0; i < n; i++)
		vmm__aml_integer(a, v[i]);
	vmm__aml_close(a);
}

void vmm__aml_name_open(vmm__aml *a, const char *name)
{
	byte(a, AML_NAME);
	vmm__aml_name(a, name);
}

void vmm__aml_package(vmm__aml *a, unsigned n)
{
	if (n > 255)
		a->err = 1;
	byte(a, AML_PACKAGE);
	open_pkg(a);
	byte(a, (uint8_t)n);
}
