/* net_slirp.c - virtio-net's user-mode backend: libslirp's NAT (10.0.2.0/24,
 * gateway 10.0.2.2, DNS 10.0.2.3, DHCP from 10.0.2.15) with host port
 * forwarding, needing no rights. libslirp is not thread-safe: every call
 * into it is made under s->lock, from the vCPU thread that transmits
 * (slirp_input) or from the backend's thread "vmm-slirpN", which polls the
 * sockets libslirp asks for and runs its timers. Frames libslirp sends
 * reach the guest through vmm__net_receive (dropped, counted, when the
 * guest has no buffer: TCP retransmits). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <slirp/libslirp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "lib/virtio/netdev.h"

#define MAX_WAIT_MS 1000u

typedef struct stimer {
	SlirpTimerCb cb;
	void *cb_opaque;
	int64_t expire_ms;
	bool armed;
	struct stimer *next;
} stimer;

struct vmm__net_slirp {
	vmm__net *n;
	Slirp *slirp;
	pthread_mutex_t lock;           /* every libslirp call, timers, rxbuf */
	pthread_t thread;
	bool started;
	int kick_fd, stop_fd;
	struct pollfd *fds;             /* the thread's, rebuilt every round */
	size_t nfds, cap;
	stimer *timers;
	uint8_t rxbuf[VMM__NET_HDR + VMM__NET_MAX_FRAME];
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static ssize_t cb_send(const void *buf, size_t len, void *opaque)
{
	vmm__net_slirp *s = opaque;

	if (len > VMM__NET_MAX_FRAME) {
		atomic_fetch_add(&s->n->rx_errors, 1);
		return (ssize_t)len;
	}
	memset(s->rxbuf, 0, VMM__NET_HDR);
	memcpy(s->rxbuf + VMM__NET_HDR, buf, len);
	vmm__net_receive(s->n, s->rxbuf, VMM__NET_HDR + len, false);
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	atomic_fetch_add(&((vmm__net_slirp *)opaque)->n->tx_dropped, 1);
}

static int64_t cb_clock(void *opaque)
{
	return now_ns();
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	vmm__net_slirp *s = opaque;
	stimer *t = calloc(1, sizeof(*t));

	if (t) {
		t->cb = cb;
		t->cb_opaque = cb_opaque;
		t->next = s->timers;
		s->timers = t;
	}
	return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
	vmm__net_slirp *s = opaque;

	for (stimer **at = &s->timers; *at; at = &(*at)->next)
		if (*at == timer) {
			*at = ((stimer *)timer)->next;
			free(timer);
			return;
		}
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	((stimer *)timer)->expire_ms = expire_ms;
	((stimer *)timer)->armed = true;
}

static void cb_poll_fd(int fd, void *opaque)
{
}

static void kick(int fd)
{
	uint64_t one = 1;

	while (write(fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

static void cb_notify(void *opaque)
{
	kick(((vmm__net_slirp *)opaque)->kick_fd);
}

static const SlirpCb callbacks = {
	.send_packet = cb_send, .guest_error = cb_guest_error, .clock_get_ns = cb_clock,
	.timer_new = cb_timer_new, .timer_free = cb_timer_free, .timer_mod = cb_timer_mod,
	.register_poll_fd = cb_poll_fd, .unregister_poll_fd = cb_poll_fd,
	.notify = cb_notify,
};

static int add_poll(int fd, int events, void *opaque)
{
	vmm__net_slirp *s = opaque;
	short ev = (short)(((events & SLIRP_POLL_IN) ? POLLIN : 0) |
			   ((events & SLIRP_POLL_OUT) ? POLLOUT : 0) |
			   ((events & SLIRP_POLL_PRI) ? POLLPRI : 0));

	if (s->nfds == s->cap) {
		size_t cap = s->cap * 2;
		struct pollfd *f = realloc(s->fds, cap * sizeof(*f));

		if (!f)
			return -1;
		s->fds = f;
		s->cap = cap;
	}
	s->fds[s->nfds] = (struct pollfd){ fd, ev, 0 };
	return (int)s->nfds++;
}

static int get_revents(int idx, void *opaque)
{
	vmm__net_slirp *s = opaque;
	short r;

	if (idx < 2 || (size_t)idx >= s->nfds)
		return 0;
	r = s->fds[idx].revents;
	return ((r & POLLIN) ? SLIRP_POLL_IN : 0) | ((r & POLLOUT) ? SLIRP_POLL_OUT : 0) |
	       ((r & POLLPRI) ? SLIRP_POLL_PRI : 0) | ((r & POLLERR) ? SLIRP_POLL_ERR : 0) |
	       ((r & POLLHUP) ? SLIRP_POLL_HUP : 0);
}

/* Under s->lock: fires due timers (a callback may change the list, so the
 * walk restarts); returns the ms until the next one, at most cap. */
static uint32_t run_timers(vmm__net_slirp *s, uint32_t cap)
{
	int64_t now = now_ns() / 1000000;
	stimer *t;

again:
	for (t = s->timers; t; t = t->next)
		if (t->armed && t->expire_ms <= now) {
			t->armed = false;
			t->cb(t->cb_opaque);
			goto again;
		}
	for (t = s->timers; t; t = t->next)
		if (t->armed && (uint64_t)(t->expire_ms - now) < cap)
			cap = (uint32_t)(t->expire_ms - now);
	return cap;
}

static void *slirp_loop(void *arg)
{
	vmm__net_slirp *s = arg;

	for (;;) {
		uint32_t wait = MAX_WAIT_MS;
		uint64_t v;
		int rc;

		pthread_mutex_lock(&s->lock);
		s->nfds = 2;
		s->fds[0] = (struct pollfd){ s->kick_fd, POLLIN, 0 };
		s->fds[1] = (struct pollfd){ s->stop_fd, POLLIN, 0 };
		slirp_pollfds_fill(s->slirp, &wait, add_poll, s);
		wait = run_timers(s, wait < MAX_WAIT_MS ? wait : MAX_WAIT_MS);
		pthread_mutex_unlock(&s->lock);
		rc = poll(s->fds, s->nfds, (int)wait);
		if (rc > 0 && s->fds[1].revents)
			break;
		if (rc > 0 && s->fds[0].revents)
			while (read(s->kick_fd, &v, sizeof(v)) < 0 && errno == EINTR)
				;
		pthread_mutex_lock(&s->lock);
		slirp_pollfds_poll(s->slirp, rc < 0, get_revents, s);
		run_timers(s, 0);
		pthread_mutex_unlock(&s->lock);
	}
	return NULL;
}

static struct in_addr ip4(uint32_t host_order)
{
	return (struct in_addr){ htonl(host_order) };
}

static int add_forwards(vmm__net_slirp *s, const vmm_net_fwd *fwd, uint32_t nfwd)
{
	for (uint32_t i = 0; i < nfwd; i++) {
		const vmm_net_fwd *f = &fwd[i];

		if (f->udp > 1 || !f->host_port || !f->guest_port ||
		    slirp_add_hostfwd(s->slirp, (int)f->udp, ip4(f->host_addr), f->host_port,
				      ip4(f->guest_addr ? f->guest_addr : 0x0a00020f),
				      f->guest_port) != 0)
			return vmm__err(VMM_EBUSY, "vmm_virtio_net_add: cannot forward host %s "
					"port %u to the guest (bad entry %u, or the port is "
					"in use)", f->udp ? "UDP" : "TCP", f->host_port, i);
	}
	return 0;
}

static int start(vmm__net_slirp *s, const char *name)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&s->thread, NULL, slirp_loop, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return vmm__err(VMM_ENOMEM, "%s: cannot start its thread: %s", name,
				strerror(rc));
	pthread_setname_np(s->thread, name);
	s->started = true;
	return 0;
}

int vmm__net_slirp_open(vmm__net *n, const vmm_net_config *c, const char *name)
{
	SlirpConfig cfg = {
		.version = 1, .in_enabled = true,
		.vnetwork = ip4(0x0a000200), .vnetmask = ip4(0xffffff00),
		.vhost = ip4(0x0a000202), .vdhcp_start = ip4(0x0a00020f),
		.vnameserver = ip4(0x0a000203),
	};
	vmm__net_slirp *s = calloc(1, sizeof(*s));

	if (!s || !(s->fds = calloc(8, sizeof(*s->fds)))) {
		free(s);
		return vmm__err(VMM_ENOMEM, "vmm_virtio_net_add: out of memory");
	}
	n->slirp = s;
	s->n = n;
	s->cap = 8;
	s->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&s->lock, NULL);
	if (s->kick_fd < 0 || s->stop_fd < 0)
		return vmm__err(VMM_ENOMEM, "vmm_virtio_net_add: eventfd: %s", strerror(errno));
	if (!(s->slirp = slirp_new(&cfg, &callbacks, s)))
		return vmm__err(VMM_ENOMEM, "vmm_virtio_net_add: libslirp failed to start");
	if (add_forwards(s, c->fwd, c->nfwd))
		return VMM_EBUSY;
	return start(s, name);
}

int vmm__net_slirp_send(vmm__net *n, const uint8_t *pkt, size_t len)
{
	vmm__net_slirp *s = n->slirp;

	pthread_mutex_lock(&s->lock);
	slirp_input(s->slirp, pkt + VMM__NET_HDR, (int)(len - VMM__NET_HDR));
	pthread_mutex_unlock(&s->lock);
	kick(s->kick_fd);
	return 0;
}

void vmm__net_slirp_close(vmm__net *n)
{
	vmm__net_slirp *s = n->slirp;

	if (!s)
		return;
	if (s->started) {
		kick(s->stop_fd);
		pthread_join(s->thread, NULL);
	}
	if (s->slirp)
		slirp_cleanup(s->slirp);
	while (s->timers)
		cb_timer_free(s->timers, s);
	if (s->kick_fd >= 0)
		close(s->kick_fd);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	pthread_mutex_destroy(&s->lock);
	free(s->fds);
	free(s);
	n->slirp = NULL;
}
