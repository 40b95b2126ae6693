/* iothread.c - the I/O thread a device runs its requests on (iothread.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/internal.h"
#include "lib/virtio/iothread.h"

static void drain(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
}

/* One work() pass; passes asked for before it began are then done. */
static void pass(vmm__iothread *t)
{
	uint64_t asked;

	pthread_mutex_lock(&t->pass_lock);
	asked = t->pass_asked;
	pthread_mutex_unlock(&t->pass_lock);
	t->work(t->opaque);
	pthread_mutex_lock(&t->pass_lock);
	t->pass_done = asked;
	pthread_cond_broadcast(&t->pass_cond);
	pthread_mutex_unlock(&t->pass_lock);
}

static void *loop(void *arg)
{
	vmm__iothread *t = arg;
	struct pollfd fds[3] = { { t->kick_fd, POLLIN, 0 }, { t->stop_fd, POLLIN, 0 },
				 { t->fd, POLLIN, 0 } };

	for (;;) {
		bool extra = t->fd >= 0 && t->fd_wanted;

		if (poll(fds, extra ? 3 : 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[1].revents)
			break;
		if (fds[0].revents & POLLIN) {
			drain(t->kick_fd);
			pass(t);
		} else if (extra && fds[2].revents) {
			pass(t);
		}
	}
	return NULL;
}

int vmm__iothread_start(vmm__iothread *t, const char *name, void (*work)(void *),
			void *opaque)
{
	return vmm__iothread_start_fd(t, name, work, opaque, -1);
}

int vmm__iothread_start_fd(vmm__iothread *t, const char *name, void (*work)(void *),
			   void *opaque, int fd)
{
	sigset_t all, old;
	int rc;

	memset(t, 0, sizeof(*t));
	t->work = work;
	t->opaque = opaque;
	t->fd = fd;
	t->fd_wanted = true;
	pthread_mutex_init(&t->pass_lock, NULL);
	pthread_cond_init(&t->pass_cond, NULL);
	t->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	t->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->kick_fd < 0 || t->stop_fd < 0) {
		rc = vmm__err(VMM_ENOMEM, "%s: eventfd: %s", name, strerror(errno));
		goto fail;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&t->thread, NULL, loop, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		rc = vmm__err(VMM_ENOMEM, "%s: cannot start its I/O thread: %s", name,
			      strerror(rc));
		goto fail;
	}
	pthread_setname_np(t->thread, name);
	t->started = true;
	return 0;
fail:
	if (t->kick_fd >= 0)
		close(t->kick_fd);
	if (t->stop_fd >= 0)
		close(t->stop_fd);
	t->kick_fd = t->stop_fd = -1;
	pthread_cond_destroy(&t->pass_cond);
	pthread_mutex_destroy(&t->pass_lock);
	return rc;
}

void vmm__iothread_kick(vmm__iothread *t)
{
	uint64_t one = 1;

	if (t->started)
		while (write(t->kick_fd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
}

void vmm__iothread_flush(vmm__iothread *t)
{
	uint64_t mine;

	if (!t->started)
		return;
	pthread_mutex_lock(&t->pass_lock);
	mine = ++t->pass_asked;
	pthread_mutex_unlock(&t->pass_lock);
	vmm__iothread_kick(t);
	pthread_mutex_lock(&t->pass_lock);
	while (t->pass_done < mine)
		pthread_cond_wait(&t->pass_cond, &t->pass_lock);
	pthread_mutex_unlock(&t->pass_lock);
}

void vmm__iothread_stop(vmm__iothread *t)
{
	uint64_t one = 1;

	if (!t->started)
		return;
	while (write(t->stop_fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
	pthread_join(t->thread, NULL);
	close(t->kick_fd);
	close(t->stop_fd);
	pthread_cond_destroy(&t->pass_cond);
	pthread_mutex_destroy(&t->pass_lock);
	t->started = false;
}
