/* fuzz_etcd.c - libFuzzer target for what the distributed switch reads from
 * etcd (make fuzz-etcd): the HTTP/1.1 response decoder (lib/net/http.c:
 * status line, headers, sized / chunked / to-EOF bodies, streamed lines),
 * the watch messages of etcd's JSON gateway and their base64 (etcd.c),
 * the values of the cluster's keys (cluster_cfg.c) and a port's exported
 * state (port_state_parse.c). The first byte picks the part:
 *   0 mod 4: an HTTP response, fed to the decoder through a socket in
 *            pieces of (second byte | 1) bytes, lines taken after each;
 *   1 mod 4: one watch message line;
 *   2 mod 4: "key\nvalue": a key relative to the switch and its JSON;
 *   3 mod 4: a port's state (vmm_net_port_state_import's JSON).
 * Checked: lines are NUL-terminated within the body and hold no newline;
 * watch events have NUL-terminated keys and values of their stated length;
 * base64 that decodes encodes back to itself. Any crash, hang or
 * sanitizer report is a bug. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/net/cluster.h"
#include "lib/net/etcd.h"
#include "lib/net/http.h"
#include "lib/net/port_state.h"

static void fuzz_http(const uint8_t *d, size_t n)
{
	size_t piece = n ? (size_t)(d[0] | 1) : 1, at = 0;
	vmm__http h;
	int sv[2];

	if (n)
		d++, n--;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	memset(&h, 0, sizeof(h));
	h.fd = sv[0];
	h.stop_fd = -1;
	for (;;) {
		size_t k = n - at < piece ? n - at : piece;
		char *line;
		size_t len;
		int rc;

		if (k && write(sv[1], d + at, k) != (ssize_t)k)
			abort();
		at += k;
		if (at == n)
			shutdown(sv[1], SHUT_WR);
		rc = vmm__http_pump(&h);
		while (vmm__http_line(&h, &line, &len)) {
			if (line[len] != 0 || memchr(line, '\n', len))
				abort();
		}
		if (rc < 0 || h.done || h.eof)
			break;
		if (at == n && rc == 0)
			break;                 /* nothing more will come */
	}
	vmm__http_close(&h);
	close(sv[1]);
}

static void on_event(void *opaque, int deleted, const char *key, const char *value, size_t vlen,
		     int64_t rev)
{
	(void)opaque;
	(void)deleted;
	(void)rev;
	if (!key || !value || strlen(value) != vlen || !strlen(key))
		abort();
}

static void b64_roundtrip(const char *s)
{
	size_t n = strlen(s);
	uint8_t *out = malloc(n / 4 * 3 + 1);
	char *back;
	long k;

	if (!out)
		return;
	if ((k = vmm__b64_decode(s, out)) >= 0) {
		back = malloc(4 * (((size_t)k + 2) / 3) + 1);
		if (back) {
			vmm__b64_encode(out, (size_t)k, back);
			if (strcmp(back, s))
				abort();
		}
		free(back);
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, *nl, err[CL_ERR];
	int64_t rev = 0;

	if (!size)
		return 0;
	if (data[0] % 4 == 0) {
		fuzz_http(data + 1, size - 1);
		return 0;
	}
	if (!(s = malloc(size)))
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = 0;
	if (data[0] % 4 == 3) {
		vmm__pstate *st = malloc(sizeof(*st));

		err[0] = 0;
		if (st && vmm__pstate_parse(s, st, err) == 0)
			vmm__pstate_free(st);
		else if (st && !err[0])
			abort();
		free(st);
	} else if (data[0] % 4 == 1) {
		vmm__etcd_watch_line(s, on_event, NULL, &rev);
		b64_roundtrip(s);
	} else if ((nl = strchr(s, '\n'))) {
		*nl = 0;
		err[0] = 0;
		if (vmm__cl_check(s, nl + 1, err) && !err[0])
			abort();               /* a refusal always says why */
	}
	free(s);
	return 0;
}
