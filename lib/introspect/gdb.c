/* gdb.c - the gdb stub's lifecycle, its socket (TCP or Unix), packet
 * framing ($data#cs, acks, Ctrl-C) and the service loop, run by the stub's
 * own thread or by the embedder (VMM_GDB_NO_THREAD). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/introspect/gdb_priv.h"

/* ---- Sending -------------------------------------------------------------- */

static void write_all(int fd, const char *p, size_t n)
{
	while (n && fd >= 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

void gdb_send(vmm_gdb *g, const char *payload, size_t len)
{
	uint8_t sum = 0;
	size_t o = 0;

	if (len > sizeof(g->out) - 4)
		len = sizeof(g->out) - 4;
	g->out[o++] = '$';
	for (size_t i = 0; i < len; i++) {
		sum += (uint8_t)payload[i];
		g->out[o++] = payload[i];
	}
	o += (size_t)snprintf(g->out + o, 4, "#%02x", sum);
	write_all(g->cfd, g->out, o);
}

void gdb_send_str(vmm_gdb *g, const char *payload)
{
	gdb_send(g, payload, strlen(payload));
}

/* ---- Receiving ------------------------------------------------------------ */

static void drop_connection(vmm_gdb *g)
{
	if (g->cfd < 0)
		return;
	close(g->cfd);
	g->cfd = -1;
	pthread_mutex_lock(&g->lock);
	gdb_bps_clear(g);
	g->waiting = false;
	pthread_mutex_unlock(&g->lock);
	gdb_release_all(g);   /* gdb is gone: the guest runs on */
}

static void on_interrupt(vmm_gdb *g)
{
	pthread_mutex_lock(&g->lock);
	gdb_pause_all(g, 2);   /* SIGINT */
	pthread_mutex_unlock(&g->lock);
}

/* Takes complete packets out of g->in. */
static void parse_input(vmm_gdb *g)
{
	size_t i = 0;

	while (i < g->in_len) {
		char c = g->in[i];
		char *hash;
		size_t start, end;

		if (c == 0x03) {
			on_interrupt(g);
			i++;
			continue;
		}
		if (c != '$') {
			i++;         /* '+', '-' and noise */
			continue;
		}
		start = i + 1;
		hash = memchr(g->in + start, '#', g->in_len - start);
		if (!hash || (size_t)(hash - g->in) + 3 > g->in_len)
			break;   /* incomplete */
		end = (size_t)(hash - g->in);
		if (!g->no_ack)
			write_all(g->cfd, "+", 1);
		g->in[end] = 0;
		gdb_command(g, g->in + start, end - start);
		if (g->cfd < 0)
			return;
		i = end + 3;
	}
	memmove(g->in, g->in + i, g->in_len - i);
	g->in_len -= i;
}

static void read_input(vmm_gdb *g)
{
	ssize_t n;

	if (g->in_len >= sizeof(g->in) - 1)
		g->in_len = 0;   /* an oversized packet: drop it */
	n = recv(g->cfd, g->in + g->in_len, sizeof(g->in) - 1 - g->in_len, 0);
	if (n <= 0) {
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		drop_connection(g);
		return;
	}
	g->in_len += (size_t)n;
	parse_input(g);
}

/* ---- The service loop ------------------------------------------------------ */

static void accept_connection(vmm_gdb *g)
{
	int fd = accept4(g->lfd, NULL, NULL, SOCK_CLOEXEC);
	int one = 1;

	if (fd < 0)
		return;
	if (g->cfd >= 0) {
		close(fd);   /* one gdb at a time */
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	g->cfd = fd;
	g->in_len = 0;
	g->no_ack = false;
	g->swbreak = false;
	g->exited = false;
	g->kill = false;
	pthread_mutex_lock(&g->lock);
	gdb_stop_now(g);
	pthread_mutex_unlock(&g->lock);
}

/* Reports a stop or the end of the guest to a gdb waiting for one. */
static void report(vmm_gdb *g)
{
	char buf[16];

	pthread_mutex_lock(&g->lock);
	if (g->cfd >= 0 && g->waiting && vmm__ix_ending(g->vm) && !g->exited) {
		vmm__ix *ix = atomic_load(&g->vm->ix);

		if (ix && ix->end == VMM_END_DEBUG_EXIT)
			snprintf(buf, sizeof(buf), "W%02x", ix->code & 0xff);
		else
			snprintf(buf, sizeof(buf), ix && ix->end == VMM_END_HALTED ? "W00" : "X09");
		gdb_send_str(g, buf);
		g->exited = true;
		g->waiting = false;
	} else if (g->cfd >= 0 && g->waiting && g->stopped) {
		g->waiting = false;
		gdb_stop_reply(g);
	}
	pthread_mutex_unlock(&g->lock);
}

VMM_API int vmm_gdb_service(vmm_gdb *g)
{
	struct pollfd p[3];
	char drain[64];

	if (!g)
		return vmm__err(VMM_EINVAL, "vmm_gdb_service: gdb is NULL");
	p[0] = (struct pollfd){ g->wake[0], POLLIN, 0 };
	p[1] = (struct pollfd){ g->cfd >= 0 ? g->cfd : g->lfd, POLLIN, 0 };
	if (poll(p, 2, 100) < 0 && errno != EINTR)
		return vmm__err(VMM_EIO, "vmm_gdb_service: poll: %s", strerror(errno));
	if (p[0].revents & POLLIN)
		while (read(g->wake[0], drain, sizeof(drain)) == (ssize_t)sizeof(drain))
			;
	if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
		if (g->cfd >= 0)
			read_input(g);
		else
			accept_connection(g);
	}
	report(g);
	return 0;
}

static void *service_thread(void *arg)
{
	vmm_gdb *g = arg;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 6);   /* the kick signal is for vCPU threads */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	while (!atomic_load(&g->quit))
		vmm_gdb_service(g);
	return NULL;
}

/* ---- Listening -------------------------------------------------------------- */

static int listen_tcp(vmm_gdb *g, const char *spec)
{
	char host[64];
	const char *colon = strrchr(spec, ':');
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	char *end;
	long port;
	int one = 1;

	if (!colon || (size_t)(colon - spec) >= sizeof(host))
		return vmm__err(VMM_EINVAL, "vmm_gdb_start: \"tcp:%s\" is not tcp:HOST:PORT", spec);
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = 0;
	port = strtol(colon + 1, &end, 10);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (*end || port < 0 || port > 65535 || colon[1] == 0 ||
	    inet_pton(AF_INET, strcmp(host, "localhost") ? host : "127.0.0.1", &sa.sin_addr) != 1)
		return vmm__err(VMM_EINVAL, "vmm_gdb_start: \"tcp:%s\": HOST must be an IPv4 "
				"address or localhost and PORT 0-65535", spec);
	g->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (g->lfd < 0)
		return vmm__err(VMM_EIO, "vmm_gdb_start: socket: %s", strerror(errno));
	setsockopt(g->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(g->lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(g->lfd, 1) ||
	    getsockname(g->lfd, (struct sockaddr *)&sa, &sl))
		return vmm__err(VMM_EIO, "vmm_gdb_start: cannot listen on %s:%ld: %s", host,
				port, strerror(errno));
	snprintf(g->address, sizeof(g->address), "tcp:%s:%u", host, ntohs(sa.sin_port));
	return 0;
}

static int listen_unix(vmm_gdb *g, const char *path)
{
	struct sockaddr_un sa;

	if (!*path || strlen(path) >= sizeof(sa.sun_path))
		return vmm__err(VMM_EINVAL, "vmm_gdb_start: unix socket path \"%s\" is empty "
				"or longer than %zu bytes", path, sizeof(sa.sun_path) - 1);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	g->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (g->lfd < 0)
		return vmm__err(VMM_EIO, "vmm_gdb_start: socket: %s", strerror(errno));
	if (bind(g->lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(g->lfd, 1))
		return vmm__err(VMM_EIO, "vmm_gdb_start: cannot listen on %s: %s", path,
				strerror(errno));
	snprintf(g->unix_path, sizeof(g->unix_path), "%s", path);
	snprintf(g->address, sizeof(g->address), "unix:%s", path);
	return 0;
}

static int open_listener(vmm_gdb *g, const char *address)
{
	if (!strncmp(address, "tcp:", 4))
		return listen_tcp(g, address + 4);
	if (!strncmp(address, "unix:", 5))
		return listen_unix(g, address + 5);
	return vmm__err(VMM_EINVAL, "vmm_gdb_start: address \"%s\" is not tcp:HOST:PORT or "
			"unix:PATH", address);
}

/* ---- Lifecycle ---------------------------------------------------------------- */

static int stub_init(vmm_gdb *g, vmm_vm *vm, const vmm_gdb_config *cfg)
{
	g->vm = vm;
	g->flags = cfg->flags;
	g->lfd = g->cfd = -1;
	g->wake[0] = g->wake[1] = -1;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	if (pipe2(g->wake, O_NONBLOCK | O_CLOEXEC))
		return vmm__err(VMM_EIO, "vmm_gdb_start: pipe: %s", strerror(errno));
	return open_listener(g, cfg->address);
}

static void wait_mode(vmm_gdb *g)
{
	pthread_mutex_lock(&g->lock);
	g->stopped = true;
	g->stop_vcpu = 0;
	g->stop_sig = 5;
	for (uint32_t j = 0; j < VMM_MAX_VCPUS; j++)
		if (g->vm->vcpus[j]) {
			g->v[j].pause_epoch = g->epoch;
			vmm_vcpu_pause(g->vm->vcpus[j]);
		}
	pthread_mutex_unlock(&g->lock);
}

static int check_start(vmm_vm *vm, const vmm_gdb_config *cfg, vmm_gdb **out)
{
	vmm__ix *ix;

	if (!vm || !cfg || !out)
		return vmm__err(VMM_EINVAL, "vmm_gdb_start: vm, config or out is NULL");
	*out = NULL;
	if (cfg->size < sizeof(*cfg))
		return vmm__err(VMM_EINVAL, "vmm_gdb_start: config->size %u, expected %zu "
				"(use VMM_GDB_CONFIG_INIT)", cfg->size, sizeof(*cfg));
	if (!cfg->address)
		return vmm__err(VMM_EINVAL, "vmm_gdb_start: config->address is NULL");
	if (cfg->flags & ~(uint32_t)(VMM_GDB_WAIT | VMM_GDB_NO_THREAD))
		return vmm__err(VMM_EINVAL, "vmm_gdb_start: unknown flags 0x%x", cfg->flags);
	ix = vmm__ix_get(vm);
	if (!ix)
		return vmm__err(VMM_ENOMEM, "vmm_gdb_start: out of memory");
	if (ix->gdb)
		return vmm__err(VMM_EBUSY, "vmm_gdb_start: the VM has a gdb stub already");
	return 0;
}

VMM_API int vmm_gdb_start(vmm_vm *vm, const vmm_gdb_config *cfg, vmm_gdb **out)
{
	vmm_gdb *g;
	int rc = check_start(vm, cfg, out);

	if (rc)
		return rc;
	g = calloc(1, sizeof(*g));
	if (!g)
		return vmm__err(VMM_ENOMEM, "vmm_gdb_start: out of memory");
	rc = stub_init(g, vm, cfg);
	if (!rc)
		rc = gdb_stop_hooks_add(g);
	if (rc) {
		vmm_gdb_destroy(g);
		return rc;
	}
	if (cfg->flags & VMM_GDB_WAIT)
		wait_mode(g);
	if (!(cfg->flags & VMM_GDB_NO_THREAD)) {
		int e = pthread_create(&g->thread, NULL, service_thread, g);

		if (e) {
			vmm_gdb_destroy(g);
			return vmm__err(VMM_ENOMEM, "vmm_gdb_start: cannot start its thread: %s",
					strerror(e));
		}
		pthread_setname_np(g->thread, "vmm-gdb");
		g->has_thread = true;
	}
	atomic_load(&vm->ix)->gdb = g;
	*out = g;
	return 0;
}

VMM_API void vmm_gdb_destroy(vmm_gdb *g)
{
	vmm__ix *ix;

	if (!g)
		return;
	atomic_store(&g->quit, 1);
	if (g->has_thread)
		pthread_join(g->thread, NULL);
	if (g->cfd >= 0)
		report(g);   /* the guest's end, if gdb waits for it */
	gdb_stop_hooks_del(g);
	pthread_mutex_lock(&g->lock);
	gdb_bps_clear(g);
	pthread_mutex_unlock(&g->lock);
	gdb_release_all(g);
	while (atomic_load(&g->in_callback))
		usleep(1000);   /* callbacks see quit and leave */
	if (g->cfd >= 0)
		close(g->cfd);
	if (g->lfd >= 0)
		close(g->lfd);
	if (g->unix_path[0])
		unlink(g->unix_path);
	for (int i = 0; i < 2; i++)
		if (g->wake[i] >= 0)
			close(g->wake[i]);
	ix = atomic_load(&g->vm->ix);
	if (ix && ix->gdb == g)
		ix->gdb = NULL;
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

VMM_API const char *vmm_gdb_address(const vmm_gdb *g)
{
	return g ? g->address : "";
}

VMM_API int vmm_gdb_fd(const vmm_gdb *g)
{
	if (!g)
		return vmm__err(VMM_EINVAL, "vmm_gdb_fd: gdb is NULL");
	return g->cfd >= 0 ? g->cfd : g->lfd;
}
