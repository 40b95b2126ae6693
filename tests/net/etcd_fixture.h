/* etcd_fixture.h - a real etcd (Debian's etcd-server) for the distributed
 * switch's tests: started on 127.0.0.1 of the caller's network namespace
 * with its own data directory, stopped (SIGKILL or SIGTERM) and restarted
 * on the same data; etcdctl for writing keys the way an administrator
 * would. */
#ifndef ETCD_FIXTURE_H
#define ETCD_FIXTURE_H

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct etcd_fx {
	pid_t pid;
	int port;
	char dir[128];
	char url[64];
	char also[32];                 /* another address to listen on ("10.77.0.254"); "" none */
	char url_also[64];             /* its URL, for hosts in other namespaces */
} etcd_fx;

static inline bool etcd_fx_have(void)
{
	return access("/usr/bin/etcd", X_OK) == 0 && access("/usr/bin/etcdctl", X_OK) == 0;
}

static inline int etcd_fx_ctl(const etcd_fx *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline int etcd_fx_ctl(const etcd_fx *e, const char *fmt, ...)
{
	char args[4096], cmd[4300];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "ETCDCTL_API=3 etcdctl --endpoints=127.0.0.1:%d %s >/dev/null 2>&1",
		 e->port, args);
	rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* Starts etcd (again, on the same data) and waits until it answers. */
static inline bool etcd_fx_start(etcd_fx *e)
{
	char client[64], listen[160], peer[64], cluster[96], log[160];

	snprintf(client, sizeof(client), "http://127.0.0.1:%d", e->port);
	snprintf(listen, sizeof(listen), "%s", client);
	if (e->also[0]) {
		snprintf(e->url_also, sizeof(e->url_also), "http://%s:%d", e->also, e->port);
		snprintf(listen, sizeof(listen), "%s,%s", client, e->url_also);
	}
	snprintf(peer, sizeof(peer), "http://127.0.0.1:%d", e->port + 1);
	snprintf(cluster, sizeof(cluster), "fx=%s", peer);
	snprintf(log, sizeof(log), "%s.log", e->dir);
	snprintf(e->url, sizeof(e->url), "%s", client);
	if ((e->pid = fork()) == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		prctl(PR_SET_PDEATHSIG, SIGKILL);      /* never outlives the test */

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl("/usr/bin/etcd", "etcd", "--name", "fx", "--data-dir", e->dir,
		      "--listen-client-urls", listen, "--advertise-client-urls", client,
		      "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		      "--initial-cluster", cluster, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 300; i++) {
		if (etcd_fx_ctl(e, "endpoint health") == 0)
			return true;
		usleep(50000);
	}
	return false;
}

/* also: another address to listen on too, or NULL. */
static inline bool etcd_fx_init(etcd_fx *e, int port, const char *also)
{
	memset(e, 0, sizeof(*e));
	e->port = port;
	snprintf(e->also, sizeof(e->also), "%s", also ? also : "");
	snprintf(e->dir, sizeof(e->dir), "/tmp/vmm-etcd-%d-%d", (int)getpid(), port);
	return etcd_fx_have() && etcd_fx_start(e);
}

static inline void etcd_fx_stop(etcd_fx *e, int sig)
{
	if (e->pid > 0) {
		kill(e->pid, sig);
		waitpid(e->pid, NULL, 0);
	}
	e->pid = 0;
}

static inline void etcd_fx_fini(etcd_fx *e)
{
	char cmd[300];

	etcd_fx_stop(e, SIGKILL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s.log", e->dir, e->dir);
	if (e->dir[0])
		(void)!system(cmd);
}

#endif /* ETCD_FIXTURE_H */
