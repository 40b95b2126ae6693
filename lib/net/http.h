/* http.h - the smallest HTTP/1.1 client the etcd v3 JSON gateway needs
 * (http.c): POST a JSON body over plain TCP, read a response whose body is
 * sized, chunked or ends with the connection, either whole (unary calls)
 * or as newline-delimited messages while it streams (watch). Every wait
 * is bounded by a deadline and can be cut short by a stop eventfd. */
#ifndef VMM_NET_HTTP_H
#define VMM_NET_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_BODY_MAX (32u << 20)     /* a response (or one streamed line) */

typedef struct vmm__http_url {
	char host[256];
	char port[8];
} vmm__http_url;

typedef struct vmm__http {
	int fd;
	int stop_fd;                      /* -1: none */
	int status;                       /* the response's status code */
	bool headers, chunked, sized, done, eof;
	uint64_t left;                    /* sized: body bytes to come; chunked: of this chunk */
	int chunk_state;                  /* 0 size line, 1 data, 2 CRLF after data, 3 trailers */
	char *raw;                        /* received, not yet decoded */
	size_t raw_len, raw_cap;
	char *body;                       /* decoded body */
	size_t body_at, body_len, body_cap;
} vmm__http;

/* "http://host:port" or "host:port" (port default 2379). 0 or VMM_EINVAL. */
int vmm__http_url_parse(const char *fn, const char *url, vmm__http_url *u);
/* Connects, sends POST path with the JSON body and reads the headers. */
int vmm__http_open(vmm__http *h, const vmm__http_url *u, int stop_fd, uint32_t timeout_ms,
		   const char *path, const char *json);
/* Reads what has arrived (never waits): 1 something, 0 nothing yet,
 * VMM_EIO when the connection ended or broke (h->eof) or lied. */
int vmm__http_pump(vmm__http *h);
/* The next whole line of the body (NUL-terminated in place, valid until
 * the next pump): 1, or 0 if none is complete yet. */
int vmm__http_line(vmm__http *h, char **line, size_t *len);
/* A unary call: the whole body (NUL-terminated, malloc'd) and status. */
int vmm__http_post(const vmm__http_url *u, int stop_fd, uint32_t timeout_ms, const char *path,
		   const char *json, int *status, char **body);
void vmm__http_close(vmm__http *h);

#endif /* VMM_NET_HTTP_H */
