/* http.c - an HTTP/1.1 client on plain sockets for etcd's JSON gateway
 * (http.h). One request per connection ("Connection: close" for unary
 * calls; a watch keeps its connection and streams). Responses are parsed
 * defensively: a status line and headers within 64 KiB, a chunked body
 * whose sizes are hex within bounds, a body and a line within
 * HTTP_BODY_MAX; anything else is VMM_EIO with the reason. */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/internal.h"
#include "lib/net/http.h"

#define HEAD_MAX 65536u

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int vmm__http_url_parse(const char *fn, const char *url, vmm__http_url *u)
{
	const char *h = url, *colon;
	size_t hl;

	if (!url)
		return vmm__err(VMM_EINVAL, "%s: the etcd endpoint is NULL", fn);
	if (!strncmp(h, "http://", 7))
		h += 7;
	else if (strstr(h, "://"))
		return vmm__err(VMM_EINVAL, "%s: etcd endpoint '%.80s': only http:// is spoken",
				fn, url);
	colon = strrchr(h, ':');
	hl = colon ? (size_t)(colon - h) : strcspn(h, "/");
	if (!hl || hl >= sizeof(u->host))
		return vmm__err(VMM_EINVAL, "%s: etcd endpoint '%.80s' has no host", fn, url);
	memcpy(u->host, h, hl);
	u->host[hl] = 0;
	snprintf(u->port, sizeof(u->port), "2379");
	if (colon) {
		char *end;
		unsigned long p = strtoul(colon + 1, &end, 10);

		if (end == colon + 1 || (*end && *end != '/') || !p || p > 65535)
			return vmm__err(VMM_EINVAL, "%s: etcd endpoint '%.80s': bad port", fn, url);
		snprintf(u->port, sizeof(u->port), "%lu", p);
	}
	return 0;
}

/* Waits for events on fd until the deadline: 0 ready, VMM_ETIMEDOUT, or
 * VMM_EIO when stopped. */
static int wait_fd(int fd, short ev, int stop_fd, uint64_t deadline)
{
	for (;;) {
		struct pollfd p[2] = { { fd, ev, 0 }, { stop_fd, POLLIN, 0 } };
		uint64_t t = now_ms();
		int r;

		if (t >= deadline)
			return vmm__err(VMM_ETIMEDOUT, "etcd: no answer in time");
		r = poll(p, stop_fd >= 0 ? 2 : 1, (int)(deadline - t));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return vmm__err(VMM_EIO, "etcd: poll: %s", strerror(errno));
		if (stop_fd >= 0 && p[1].revents)
			return vmm__err(VMM_EIO, "etcd: stopped");
		if (p[0].revents)
			return 0;
	}
}

static int dial(const vmm__http_url *u, int stop_fd, uint64_t deadline)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai, *a;
	int fd = -1, rc, err = 0;

	if ((err = getaddrinfo(u->host, u->port, &hints, &ai)))
		return vmm__err(VMM_EIO, "etcd: %s:%s: %s", u->host, u->port, gai_strerror(err));
	for (a = ai; a; a = a->ai_next) {
		socklen_t el = sizeof(err);

		if ((fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		if ((err = errno) == EINPROGRESS) {
			if ((rc = wait_fd(fd, POLLOUT, stop_fd, deadline))) {
				close(fd);
				freeaddrinfo(ai);
				return rc;             /* timed out or stopped */
			}
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0)
				break;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		return vmm__err(VMM_EIO, "etcd: cannot connect to %s:%s: %s", u->host, u->port,
				strerror(err));
	return fd;
}

static int send_all(int fd, const char *b, size_t n, int stop_fd, uint64_t deadline)
{
	while (n) {
		ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
		int rc;

		if (k > 0) {
			b += k;
			n -= (size_t)k;
		} else if (k < 0 && errno == EAGAIN) {
			if ((rc = wait_fd(fd, POLLOUT, stop_fd, deadline)))
				return rc;
		} else if (k < 0 && errno != EINTR) {
			return vmm__err(VMM_EIO, "etcd: send: %s", strerror(errno));
		}
	}
	return 0;
}

static int grow(char **b, size_t *cap, size_t need, size_t max)
{
	size_t n = *cap ? *cap : 4096;
	char *nb;

	if (need <= *cap)
		return 0;
	if (need > max)
		return vmm__err(VMM_EIO, "etcd: a response is over %zu bytes", max);
	while (n < need)
		n *= 2;
	if (!(nb = realloc(*b, n)))
		return vmm__err(VMM_ENOMEM, "etcd: out of memory");
	*b = nb;
	*cap = n;
	return 0;
}

static int body_add(vmm__http *h, const char *d, size_t n)
{
	int rc;

	if (h->body_at && h->body_at == h->body_len)
		h->body_at = h->body_len = 0;
	if (h->body_at > (1u << 16)) {
		memmove(h->body, h->body + h->body_at, h->body_len - h->body_at);
		h->body_len -= h->body_at;
		h->body_at = 0;
	}
	if ((rc = grow(&h->body, &h->body_cap, h->body_len + n + 1, HTTP_BODY_MAX + 1)))
		return rc;
	memcpy(h->body + h->body_len, d, n);
	h->body_len += n;
	return 0;
}

static int parse_headers(vmm__http *h, size_t end)
{
	char *line = h->raw, *next;
	int maj, min, st;

	h->raw[end] = 0;
	if (sscanf(line, "HTTP/%d.%d %d", &maj, &min, &st) != 3 || st < 100 || st > 599)
		return vmm__err(VMM_EIO, "etcd: not an HTTP response");
	h->status = st;
	for (; (next = strstr(line, "\r\n")); line = next + 2) {
		*next = 0;
		if (!strncasecmp(line, "Content-Length:", 15)) {
			char *e;
			unsigned long long v = strtoull(line + 15, &e, 10);

			if (e == line + 15 || v > HTTP_BODY_MAX)
				return vmm__err(VMM_EIO, "etcd: a bad Content-Length");
			h->sized = true;
			h->left = v;
		} else if (!strncasecmp(line, "Transfer-Encoding:", 18) && strcasestr(line, "chunked")) {
			h->chunked = true;
		}
	}
	if (h->chunked)
		h->sized = false;
	h->done = h->sized && h->left == 0;
	h->headers = true;
	return 0;
}

/* Decodes what can be decoded of raw[*at..raw_len). */
static int decode_chunked(vmm__http *h, size_t *at)
{
	while (*at < h->raw_len && !h->done) {
		char *p = h->raw + *at, *crlf;
		size_t avail = h->raw_len - *at;
		int rc;

		if (h->chunk_state == 1) {
			size_t n = avail < h->left ? avail : (size_t)h->left;

			if ((rc = body_add(h, p, n)))
				return rc;
			*at += n;
			if (!(h->left -= n))
				h->chunk_state = 2;
			continue;
		}
		if (!(crlf = memmem(p, avail, "\r\n", 2))) {
			if (avail > 1024)
				return vmm__err(VMM_EIO, "etcd: a chunk header is too long");
			return 0;
		}
		if (h->chunk_state == 2 || h->chunk_state == 3) {
			if (crlf != p && h->chunk_state == 2)
				return vmm__err(VMM_EIO, "etcd: chunk data overran its size");
			if (h->chunk_state == 3 && crlf == p)
				h->done = true;        /* the empty line after trailers */
			h->chunk_state = h->chunk_state == 2 ? 0 : 3;
		} else {
			char *e;
			unsigned long long v = strtoull(p, &e, 16);

			if (e == p || (e != crlf && *e != ';') || v > HTTP_BODY_MAX)
				return vmm__err(VMM_EIO, "etcd: a bad chunk size");
			h->left = v;
			h->chunk_state = v ? 1 : 3;
		}
		*at += (size_t)(crlf - p) + 2;
	}
	return 0;
}

static int decode(vmm__http *h)
{
	size_t at = 0;
	int rc = 0;

	if (!h->headers) {
		char *e = memmem(h->raw, h->raw_len, "\r\n\r\n", 4);

		if (!e)
			return h->raw_len > HEAD_MAX ? vmm__err(VMM_EIO, "etcd: headers too long") : 0;
		if ((rc = parse_headers(h, (size_t)(e - h->raw) + 2)))
			return rc;
		at = (size_t)(e - h->raw) + 4;
	}
	if (h->chunked) {
		rc = decode_chunked(h, &at);
	} else if (at < h->raw_len && !h->done) {
		size_t n = h->raw_len - at;

		if (h->sized && n > h->left)
			n = (size_t)h->left;
		rc = body_add(h, h->raw + at, n);
		at += n;
		if (h->sized && !(h->left -= n))
			h->done = true;
	}
	memmove(h->raw, h->raw + at, h->raw_len - at);
	h->raw_len -= at;
	return rc;
}

int vmm__http_pump(vmm__http *h)
{
	bool got = false;
	int rc;

	for (;;) {
		ssize_t k;

		if ((rc = grow(&h->raw, &h->raw_cap, h->raw_len + 16384, HTTP_BODY_MAX + HEAD_MAX)))
			return rc;
		k = recv(h->fd, h->raw + h->raw_len, h->raw_cap - h->raw_len, MSG_DONTWAIT);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN)
			break;
		if (k <= 0) {
			h->eof = true;
			if ((rc = decode(h)))
				return rc;
			if (!h->sized && !h->chunked && h->headers)
				h->done = true;
			if (h->done)
				return 1;
			return vmm__err(VMM_EIO, "etcd: the connection %s",
					k ? "broke" : "was closed");
		}
		h->raw_len += (size_t)k;
		got = true;
		if ((rc = decode(h)))
			return rc;
	}
	return got;
}

int vmm__http_line(vmm__http *h, char **line, size_t *len)
{
	char *s, *nl;

	if (!h->body || h->body_at >= h->body_len)
		return 0;
	s = h->body + h->body_at;
	if (!(nl = memchr(s, '\n', h->body_len - h->body_at)))
		return 0;
	*nl = 0;
	*line = s;
	*len = (size_t)(nl - s);
	h->body_at += *len + 1;
	return 1;
}

int vmm__http_open(vmm__http *h, const vmm__http_url *u, int stop_fd, uint32_t timeout_ms,
		   const char *path, const char *json)
{
	uint64_t deadline = now_ms() + timeout_ms;
	size_t jl = strlen(json);
	char head[512];
	int n, rc;

	memset(h, 0, sizeof(*h));
	h->stop_fd = stop_fd;
	if ((h->fd = dial(u, stop_fd, deadline)) < 0) {
		rc = h->fd;
		h->fd = -1;
		return rc;
	}
	n = snprintf(head, sizeof(head), "POST %s HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: "
		     "application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		     path, u->host, u->port, jl);
	if ((rc = send_all(h->fd, head, (size_t)n, stop_fd, deadline)) ||
	    (rc = send_all(h->fd, json, jl, stop_fd, deadline)))
		goto fail;
	while (!h->headers) {
		if ((rc = wait_fd(h->fd, POLLIN, stop_fd, deadline)) ||
		    ((rc = vmm__http_pump(h)) < 0 && !h->headers))
			goto fail;
	}
	return 0;
fail:
	vmm__http_close(h);
	return rc;
}

int vmm__http_post(const vmm__http_url *u, int stop_fd, uint32_t timeout_ms, const char *path,
		   const char *json, int *status, char **body)
{
	uint64_t deadline = now_ms() + timeout_ms;
	vmm__http h;
	int rc;

	*body = NULL;
	if ((rc = vmm__http_open(&h, u, stop_fd, timeout_ms, path, json)))
		return rc;
	rc = 0;
	while (!h.done && !h.eof) {
		if ((rc = wait_fd(h.fd, POLLIN, stop_fd, deadline)) || (rc = vmm__http_pump(&h)) < 0)
			break;
		rc = 0;
	}
	if (h.done && (rc = body_add(&h, "", 1)) == 0) {
		*status = h.status;
		*body = h.body;
		h.body = NULL;
	}
	vmm__http_close(&h);
	return h.done ? rc : rc ? rc : vmm__err(VMM_EIO, "etcd: the answer was cut short");
}

void vmm__http_close(vmm__http *h)
{
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
	free(h->raw);
	free(h->body);
	h->raw = h->body = NULL;
	h->raw_len = h->raw_cap = h->body_len = h->body_cap = h->body_at = 0;
}
