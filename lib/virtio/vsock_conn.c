/* vsock_conn.c - virtio-vsock's connections (vsock.h): the guest's packets
 * checked and acted on, the host's Unix sockets read and written, with
 * credit-based flow control both ways. Every guest packet is hostile: a
 * short one is dropped, a bad length, an unknown operation, a packet for
 * no connection or more data than the credit we gave is answered with RST
 * (and the connection, if any, closed). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/virtio/vsock.h"

static void get_hdr(const uint8_t *b, vsock_hdr *h)
{
	memcpy(&h->src_cid, b + 0, 8);
	memcpy(&h->dst_cid, b + 8, 8);
	memcpy(&h->src_port, b + 16, 4);
	memcpy(&h->dst_port, b + 20, 4);
	memcpy(&h->len, b + 24, 4);
	memcpy(&h->type, b + 28, 2);
	memcpy(&h->op, b + 30, 2);
	memcpy(&h->flags, b + 32, 4);
	memcpy(&h->buf_alloc, b + 36, 4);
	memcpy(&h->fwd_cnt, b + 40, 4);
}

static vsock_conn *conn_new(vsock *v, int fd, int state)
{
	struct epoll_event ev = { .events = EPOLLIN };
	vsock_conn *c;
	unsigned i;

	for (i = 0; i < VSOCK_MAX_CONNS && v->conn[i]; i++)
		;
	if (i == VSOCK_MAX_CONNS || !(c = calloc(1, sizeof(*c))))
		return NULL;
	c->id = ++v->next_id;
	c->fd = fd;
	c->state = state;
	c->epoll_events = ev.events;
	ev.data.ptr = c;
	if (epoll_ctl(v->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		free(c);
		return NULL;
	}
	v->conn[i] = c;
	return c;
}

void vmm__vsock_conn_free(vsock *v, vsock_conn *c)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		if (v->conn[i] == c)
			v->conn[i] = NULL;
	if (!c->hup)
		epoll_ctl(v->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->stage);
	free(c);
}

/* RST to the guest, and the host's socket closed. */
static void reset_conn(vsock *v, vsock_conn *c)
{
	if (c->state != C_AWAIT_CMD)
		vmm__vsock_ctrl(v, c, NULL, VSOCK_OP_RST, 0);
	vmm__vsock_conn_free(v, c);
}

static void out_of_epoll(vsock *v, vsock_conn *c)
{
	if (!c->hup)
		epoll_ctl(v->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	c->hup = true;
}

static uint32_t credit(const vsock_conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

/* ---- guest -> host data ------------------------------------------------ */

/* Writes staged bytes to the host: 0, or -1 when the socket failed. */
static int stage_flush(vsock_conn *c)
{
	while (c->stage_len) {
		uint32_t run = VSOCK_BUF_ALLOC - c->stage_head;
		ssize_t n = send(c->fd, c->stage + c->stage_head,
				 run < c->stage_len ? run : c->stage_len,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		c->stage_head = (c->stage_head + (uint32_t)n) % VSOCK_BUF_ALLOC;
		c->stage_len -= (uint32_t)n;
		c->fwd_cnt += (uint32_t)n;
	}
	return 0;
}

static int host_write(vsock_conn *c, const uint8_t *p, uint32_t len)
{
	if (!c->stage_len) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (n > 0) {
			c->fwd_cnt += (uint32_t)n;
			p += n;
			len -= (uint32_t)n;
		}
	}
	if (len > VSOCK_BUF_ALLOC - c->stage_len ||
	    (len && !c->stage && !(c->stage = malloc(VSOCK_BUF_ALLOC))))
		return -1;                       /* more than the credit we gave */
	for (uint32_t i = 0; i < len; i++)
		c->stage[(c->stage_head + c->stage_len + i) % VSOCK_BUF_ALLOC] = p[i];
	c->stage_len += len;
	return 0;
}

/* The guest believes less than half our buffer is free but we forwarded
 * more: tell it, so that it never stalls on credit we have. */
static void maybe_credit_update(vsock *v, vsock_conn *c)
{
	if (c->rx_cnt - c->fwd_told > VSOCK_BUF_ALLOC / 2 && c->fwd_cnt != c->fwd_queued)
		vmm__vsock_ctrl(v, c, NULL, VSOCK_OP_CREDIT_UPDATE, 0);
}

/* After the guest's SHUTDOWN or a flush: half-close or finish. 1 if freed. */
static int settle(vsock *v, vsock_conn *c)
{
	if (c->stage_len)
		return 0;
	if ((c->guest_shut & VSOCK_SHUT_SEND) && !c->shut_wr_done) {
		shutdown(c->fd, SHUT_WR);
		c->shut_wr_done = true;
	}
	if (c->guest_shut == (VSOCK_SHUT_RCV | VSOCK_SHUT_SEND) ||
	    ((c->guest_shut & VSOCK_SHUT_SEND) && c->host_eof)) {
		reset_conn(v, c);                /* both are done: the RST ends it */
		return 1;
	}
	return 0;
}

static void on_rw(vsock *v, vsock_conn *c, const vsock_hdr *h, vmm_virtq_elem *e)
{
	if ((uint32_t)(c->rx_cnt + h->len - c->fwd_told) > VSOCK_BUF_ALLOC ||
	    (c->guest_shut & VSOCK_SHUT_SEND)) {
		reset_conn(v, c);                /* past its credit, or after SHUTDOWN */
		return;
	}
	if (vmm_virtq_read(e, VSOCK_HDR_LEN, v->scratch, h->len) != h->len ||
	    host_write(c, v->scratch, h->len)) {
		reset_conn(v, c);
		return;
	}
	c->rx_cnt += h->len;
	maybe_credit_update(v, c);
}

/* ---- the guest's packets ----------------------------------------------- */

static void on_request(vsock *v, const vsock_hdr *h)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	vsock_conn *c;
	int fd;

	snprintf(a.sun_path, sizeof(a.sun_path), "%.95s_%u", v->path, h->dst_port);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    !(c = conn_new(v, fd, C_OPEN))) {
		if (fd >= 0)
			close(fd);
		vmm__vsock_ctrl(v, NULL, h, VSOCK_OP_RST, 0);   /* nobody listens */
		return;
	}
	c->host_port = h->dst_port;
	c->guest_port = h->src_port;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	vmm__vsock_ctrl(v, c, NULL, VSOCK_OP_RESPONSE, 0);
}

static void on_response(vsock *v, vsock_conn *c)
{
	char ok[24];
	int n = snprintf(ok, sizeof(ok), "OK %u\n", c->host_port);

	if (c->state != C_GUEST_PENDING ||
	    send(c->fd, ok, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n) {
		reset_conn(v, c);
		return;
	}
	c->state = C_OPEN;
}

static void on_shutdown(vsock *v, vsock_conn *c, const vsock_hdr *h)
{
	if (c->state != C_OPEN || (h->flags & ~3u)) {
		reset_conn(v, c);
		return;
	}
	c->guest_shut |= (uint8_t)h->flags;
	settle(v, c);
}

/* A packet for connection c (NULL: none matches). */
static void dispatch(vsock *v, vsock_conn *c, const vsock_hdr *h, vmm_virtq_elem *e)
{
	if (h->op == VSOCK_OP_RST) {
		if (c)
			vmm__vsock_conn_free(v, c);
		return;
	}
	if (h->op == VSOCK_OP_REQUEST && !c) {
		on_request(v, h);
		return;
	}
	if (!c || (h->op != VSOCK_OP_RW && h->len) ||
	    (c->state != C_OPEN && h->op != VSOCK_OP_RESPONSE)) {
		if (c)
			reset_conn(v, c);
		else
			vmm__vsock_ctrl(v, NULL, h, VSOCK_OP_RST, 0);
		return;
	}
	switch (h->op) {
	case VSOCK_OP_RESPONSE: on_response(v, c); break;
	case VSOCK_OP_SHUTDOWN: on_shutdown(v, c, h); break;
	case VSOCK_OP_RW: on_rw(v, c, h, e); break;
	case VSOCK_OP_CREDIT_UPDATE: break;     /* the credit was taken above */
	case VSOCK_OP_CREDIT_REQUEST:
		vmm__vsock_ctrl(v, c, NULL, VSOCK_OP_CREDIT_UPDATE, 0);
		break;
	default: reset_conn(v, c); break;       /* a second REQUEST, unknown ops */
	}
}

void vmm__vsock_guest_packet(vsock *v, vmm_virtq_elem *e)
{
	uint8_t b[VSOCK_HDR_LEN];
	uint64_t out = vmm_virtq_out_len(e);
	vsock_conn *c;
	vsock_hdr h;

	if (out < VSOCK_HDR_LEN || vmm_virtq_read(e, 0, b, VSOCK_HDR_LEN) != VSOCK_HDR_LEN)
		return;                          /* not even a header: dropped */
	get_hdr(b, &h);
	if (h.src_cid != v->guest_cid)
		return;                          /* spoofed source: dropped */
	c = vmm__vsock_find(v, h.dst_port, h.src_port);
	if (h.dst_cid != VSOCK_HOST_CID || h.type != VSOCK_TYPE_STREAM ||
	    h.len > VSOCK_MAX_PKT || h.len > out - VSOCK_HDR_LEN) {
		if (h.op == VSOCK_OP_RST)
			return;
		if (c)
			reset_conn(v, c);
		else
			vmm__vsock_ctrl(v, NULL, &h, VSOCK_OP_RST, 0);
		return;
	}
	if (c) {
		c->peer_buf_alloc = h.buf_alloc;
		c->peer_fwd_cnt = h.fwd_cnt;
	}
	dispatch(v, c, &h, e);
}

/* ---- the host's side ------------------------------------------------- */

void vmm__vsock_accept(vsock *v)
{
	int fd;

	while ((fd = accept4(v->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
		if (!conn_new(v, fd, C_AWAIT_CMD))
			close(fd);                   /* too many connections */
}

static uint32_t new_host_port(vsock *v, uint32_t guest_port)
{
	for (;;) {
		uint32_t p = v->next_host_port++;

		if (v->next_host_port == UINT32_MAX)
			v->next_host_port = VSOCK_HOST_PORT0;
		if (!vmm__vsock_find(v, p, guest_port))
			return p;
	}
}

/* "CONNECT PORT\n", read a byte at a time so that no data after it is
 * taken; anything else closes the host's connection. */
static void read_cmd(vsock *v, vsock_conn *c)
{
	char *end;
	unsigned long port;

	for (;;) {
		ssize_t n = recv(c->fd, c->cmd + c->cmd_len, 1, MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0 || c->cmd_len + 1 >= sizeof(c->cmd)) {
			vmm__vsock_conn_free(v, c);
			return;
		}
		if (c->cmd[c->cmd_len++] == '\n')
			break;
	}
	c->cmd[c->cmd_len - 1] = 0;
	port = strncmp(c->cmd, "CONNECT ", 8) || c->cmd[8] < '0' || c->cmd[8] > '9' ? 0
	       : strtoul(c->cmd + 8, &end, 10);
	if (!port || *end || port > UINT32_MAX) {
		vmm__vsock_conn_free(v, c);
		return;
	}
	c->guest_port = (uint32_t)port;
	c->host_port = new_host_port(v, c->guest_port);
	c->state = C_GUEST_PENDING;
	c->peer_buf_alloc = 0;
	vmm__vsock_ctrl(v, c, NULL, VSOCK_OP_REQUEST, 0);
}

void vmm__vsock_host_event(vsock *v, vsock_conn *c, uint32_t events)
{
	if (c->state == C_AWAIT_CMD) {
		read_cmd(v, c);
		return;
	}
	if ((events & EPOLLOUT) && stage_flush(c)) {
		reset_conn(v, c);
		return;
	}
	if (c->state == C_OPEN && (events & EPOLLOUT)) {
		maybe_credit_update(v, c);
		if (settle(v, c))
			return;
	}
	if (events & (EPOLLHUP | EPOLLERR)) {
		if (c->state != C_OPEN || c->stage_len) {
			reset_conn(v, c);            /* undeliverable */
			return;
		}
		out_of_epoll(v, c);              /* read what is left, to EOF */
	}
}

/* Up to one packet from c: 1 sent, 0 nothing to send now, -1 no rx buffer. */
static int host_read(vsock *v, vsock_conn *c)
{
	uint32_t cr = credit(c), n;
	vmm_virtq_elem *e;
	vsock_hdr h;
	ssize_t r;

	if (c->state != C_OPEN || c->host_eof || (c->guest_shut & VSOCK_SHUT_RCV) || !cr)
		return 0;
	if (!(e = vmm__vsock_rx_buf(v)))
		return -1;
	n = (uint32_t)(vmm_virtq_in_len(e) - VSOCK_HDR_LEN);
	n = n < cr ? n : cr;
	n = n < VSOCK_MAX_PKT ? n : VSOCK_MAX_PKT;
	r = recv(c->fd, v->scratch, n, MSG_DONTWAIT);
	v->spare = r > 0 ? NULL : e;
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (r <= 0) {
		if (r < 0) {
			reset_conn(v, c);
			return 0;
		}
		c->host_eof = true;              /* the host sends no more */
		vmm__vsock_ctrl(v, c, NULL, VSOCK_OP_SHUTDOWN,
				VSOCK_SHUT_SEND | (c->hup ? VSOCK_SHUT_RCV : 0));
		settle(v, c);
		return 0;
	}
	h = (vsock_hdr){ .src_cid = VSOCK_HOST_CID, .dst_cid = v->guest_cid,
			 .src_port = c->host_port, .dst_port = c->guest_port,
			 .len = (uint32_t)r, .type = VSOCK_TYPE_STREAM, .op = VSOCK_OP_RW,
			 .buf_alloc = VSOCK_BUF_ALLOC, .fwd_cnt = c->fwd_cnt };
	c->fwd_queued = c->fwd_cnt;
	c->tx_cnt += (uint32_t)r;
	vmm__vsock_rx_push(v, e, &h, v->scratch, (uint32_t)r, c->id);
	return 1;
}

/* Round robin, a packet per connection per turn, while buffers last. */
void vmm__vsock_host_to_guest(vsock *v)
{
	for (int busy = 1; busy;) {
		busy = 0;
		for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
			int rc = v->conn[i] ? host_read(v, v->conn[i]) : 0;

			if (rc < 0)
				return;
			busy |= rc;
		}
	}
}

void vmm__vsock_update_epoll(vsock *v, vsock_conn *c)
{
	struct epoll_event ev = { .events = 0, .data.ptr = c };

	if (c->hup)
		return;
	if (c->state == C_AWAIT_CMD)
		ev.events = EPOLLIN;
	if (c->state == C_OPEN && credit(c) && !v->rx_starved && !c->host_eof &&
	    !(c->guest_shut & VSOCK_SHUT_RCV))
		ev.events |= EPOLLIN;
	if (c->stage_len)
		ev.events |= EPOLLOUT;
	if (ev.events != c->epoll_events && epoll_ctl(v->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->epoll_events = ev.events;
}
