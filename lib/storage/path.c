/* path.c - a path's thread (vmm/storage.h): issues the path's queued
 * requests to its backend (at most queue_depth in flight), waits for the
 * answers or their deadline, hands failures to the SATP, closes the
 * connection when it is lost or hangs, and re-opens a dead path every
 * probe_ms. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/platform/platform.h"
#include "lib/storage/storage.h"

#define NS_PER_MS 1000000ull

void vmm__path_kick(vmm__path *p)
{
	uint64_t one = 1;

	if (p->kick_fd >= 0 && write(p->kick_fd, &one, sizeof(one)) < 0) {
		/* the counter is saturated: the thread is awake anyway */
	}
}

void vmm__path_finish(vmm__path *p, vmm__sreq *r)
{
	pthread_mutex_lock(&p->dev->lock);
	vmm__sq_remove(&p->inflight, r);
	pthread_mutex_unlock(&p->dev->lock);
	vmm__sq_push(&p->finished, r);
}

void vmm__path_fail(vmm__path *p, vmm__sreq *r, int code, uint32_t ev_kind, int sys_errno,
		    const char *msg)
{
	r->result = code;
	r->ev_kind = ev_kind;
	r->sys_errno = sys_errno;
	snprintf(r->msg, sizeof(r->msg), "%s", msg);
	vmm__path_finish(p, r);
}

void vmm__path_close(vmm__path *p)
{
	pthread_mutex_lock(&p->be_lock);
	if (p->open)
		p->ops->close(p);
	p->open = false;
	pthread_mutex_unlock(&p->be_lock);
}

/* The connection is gone (lost, hung, or closed on purpose): every request
 * in flight on it fails with kind. */
static void conn_failed(vmm__path *p, uint32_t kind, const char *why)
{
	uint64_t now = vmm__now_ns();
	vmm__sreq *r;

	vmm__path_close(p);
	p->next_probe_ns = now + p->dev->config.probe_ms * NS_PER_MS;
	pthread_mutex_lock(&p->dev->lock);
	while ((r = vmm__sq_pop(&p->inflight))) {
		bool late = kind == VMM_STORAGE_EV_TIMEOUT && r->deadline_ns <= now;

		r->result = late ? VMM_ETIMEDOUT : VMM_EIO;
		r->ev_kind = kind;
		r->sys_errno = late ? ETIMEDOUT : ECONNRESET;
		snprintf(r->msg, sizeof(r->msg), "%s", why);
		vmm__sq_push(&p->finished, r);
	}
	snprintf(p->info.last_error_msg, sizeof(p->info.last_error_msg), "%s", why);
	p->info.last_error = kind == VMM_STORAGE_EV_TIMEOUT ? VMM_ETIMEDOUT : VMM_EIO;
	pthread_mutex_unlock(&p->dev->lock);
}

static void count_success(vmm__path *p, vmm__sreq *r, uint64_t now)
{
	vmm_storage_path_info *in = &p->info;
	uint64_t lat = now - r->start_ns;
	uint64_t len = r->req->length;

	switch (r->req->op) {
	case VMM_STORAGE_OP_READ: in->reads++; in->bytes_read += len; break;
	case VMM_STORAGE_OP_WRITE: in->writes++; in->bytes_written += len; break;
	case VMM_STORAGE_OP_FLUSH: in->flushes++; break;
	case VMM_STORAGE_OP_DISCARD: in->discards++; break;
	default: in->write_zeroes++; break;
	}
	in->latency_last_ns = lat;
	in->latency_avg_ns = in->latency_avg_ns ? in->latency_avg_ns - in->latency_avg_ns / 16 +
						  lat / 16 : lat;
	if (lat > in->latency_max_ns)
		in->latency_max_ns = lat;
}

static void retry(vmm__path *p, vmm__sreq *r, bool exclude, vmm__post *post)
{
	vmm_storage_dev *dev = p->dev;

	if (exclude)
		r->excluded |= 1ull << p->index;
	if (r->attempts >= dev->config.max_attempts) {
		vmm__storage_finish(dev, r, r->result, post);
		return;
	}
	p->info.failovers++;
	dev->failovers++;
	vmm__storage_dispatch(dev, r, post);
}

static void recheck_all(vmm_storage_dev *dev)
{
	for (uint32_t i = 0; i < dev->npaths; i++) {
		dev->paths[i]->recheck = true;
		vmm__path_kick(dev->paths[i]);
	}
}

void vmm__path_failed_locked(vmm__path *p, vmm__sreq *r, vmm__post *post)
{
	vmm_storage_dev *dev = p->dev;
	vmm_storage_event ev = { sizeof(ev), r->ev_kind, p->index, p->state, p->config.kind,
				 r->req->op, r->result, r->sys_errno, r->scsi_status,
				 r->sense_key, r->asc, r->ascq, p->info.alua_state };
	vmm_storage_decision d = { sizeof(d), p->state, VMM_STORAGE_RETRY, 0 };
	bool lost = r->ev_kind == VMM_STORAGE_EV_CONN_LOST || r->ev_kind == VMM_STORAGE_EV_TIMEOUT;

	p->info.errors++;
	if (r->result == VMM_ETIMEDOUT)
		p->info.timeouts++;
	p->info.last_error = r->result;
	snprintf(p->info.last_error_msg, sizeof(p->info.last_error_msg), "%s", r->msg);
	if (r->direct) {
		vmm__storage_finish(dev, r, r->result, post);
		return;
	}
	dev->satp->request_failed(dev->satp_opaque, &ev, &d);
	if (lost || d.state > VMM_STORAGE_DEAD)
		d.state = lost ? VMM_STORAGE_DEAD : p->state;
	vmm__storage_set_state(dev, p, d.state, post);
	switch (d.action) {
	case VMM_STORAGE_FAIL:
		vmm__storage_finish(dev, r, r->result, post);
		break;
	case VMM_STORAGE_RETRY_SAME:
		if (vmm__storage_usable(p->state) && r->attempts < dev->config.max_attempts) {
			vmm__sq_push(&p->pending, r);
			break;
		}
		retry(p, r, false, post);
		break;
	case VMM_STORAGE_RECHECK:
		/* wait (parked) until every open path has re-read its state */
		recheck_all(dev);
		if (r->attempts >= dev->config.max_attempts) {
			vmm__storage_finish(dev, r, r->result, post);
			break;
		}
		r->deadline_ns = vmm__now_ns() + dev->config.no_path_ms * NS_PER_MS;
		vmm__sq_push(&dev->parked, r);
		break;
	default:
		retry(p, r, !lost, post);
		break;
	}
}

/* Handles the answered requests; moves the queue of a path that cannot
 * take requests any more to other paths. */
static void handle_finished(vmm__path *p)
{
	vmm_storage_dev *dev = p->dev;
	vmm__post post = { 0 };
	uint64_t now = vmm__now_ns();
	vmm__sreq *r;

	pthread_mutex_lock(&dev->lock);
	while ((r = vmm__sq_pop(&p->finished))) {
		if (r->result) {
			vmm__path_failed_locked(p, r, &post);
			continue;
		}
		count_success(p, r, now);
		r->req->path = p->index;
		vmm__storage_finish(dev, r, 0, &post);
	}
	if (!p->open)
		vmm__storage_set_state(dev, p, VMM_STORAGE_DEAD, &post);
	if (!vmm__storage_usable(p->state) && p->pending.n) {
		vmm__sq q = p->pending;

		memset(&p->pending, 0, sizeof(p->pending));
		while ((r = vmm__sq_pop(&q))) {
			if (r->direct && p->open)
				vmm__sq_push(&p->pending, r);
			else if (r->direct)
				vmm__storage_finish(dev, r, VMM_EIO, &post);
			else
				vmm__storage_dispatch(dev, r, &post);
		}
	}
	vmm__storage_expire_parked(dev, now, &post);
	pthread_mutex_unlock(&dev->lock);
	vmm__post_run(dev, &post);
}

/* Moves queued requests into flight (lock held); the earliest deadline of
 * the requests in flight and the parked ones (0: none). */
static uint64_t fill_locked(vmm__path *p, uint64_t now, vmm__post *post)
{
	vmm_storage_dev *dev = p->dev;
	uint64_t first;
	vmm__sreq *r;

	if (dev->stopping) {
		while ((r = vmm__sq_pop(&p->pending)))
			vmm__storage_finish(dev, r, VMM_ESTATE, post);
	}
	while (p->open && p->inflight.n < p->config.queue_depth &&
	       (r = vmm__sq_pop(&p->pending))) {
		r->attempts++;
		r->issued = false;
		r->scsi_status = r->sense_key = r->asc = r->ascq = 0;   /* this attempt's */
		r->start_ns = now;
		r->deadline_ns = now + dev->config.timeout_ms * NS_PER_MS;
		vmm__sq_push(&p->inflight, r);
	}
	first = vmm__storage_expire_parked(dev, now, post);
	for (r = p->inflight.head; r; r = r->next)
		if (!first || r->deadline_ns < first)
			first = r->deadline_ns;
	return first;
}

/* Hands the newly queued requests to the backend. The in-flight list is
 * changed only by this thread, so walking it unlocked is safe; start may
 * finish (and so unlink) r at once. */
static void issue(vmm__path *p)
{
	vmm__sreq *r = p->inflight.head, *next;

	for (; r && p->open; r = next) {
		next = r->next;
		if (r->issued)
			continue;
		r->issued = true;
		if (p->ops->start(p, r) < 0) {
			conn_failed(p, VMM_STORAGE_EV_CONN_LOST, p->msg);
			return;
		}
	}
}

static void drain(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
}

/* Polls the kick eventfd and the backend until deadline (0: forever). */
static void wait_events(vmm__path *p, uint64_t deadline)
{
	struct pollfd fds[2] = { { p->kick_fd, POLLIN, 0 }, { -1, 0, 0 } };
	uint64_t now = vmm__now_ns();
	int timeout = -1, n = 1;

	if (deadline)
		timeout = deadline <= now ? 0 : (int)((deadline - now + NS_PER_MS - 1) / NS_PER_MS);
	if (p->open && (fds[1].fd = p->ops->poll_fd(p, &fds[1].events)) >= 0)
		n = 2;
	if (poll(fds, n, timeout) < 0)
		return;
	if (fds[0].revents & POLLIN)
		drain(p->kick_fd);
	if (n == 2 && fds[1].revents && p->ops->service(p, fds[1].revents) < 0)
		conn_failed(p, VMM_STORAGE_EV_CONN_LOST, p->msg);
}

static void check_deadlines(vmm__path *p)
{
	uint64_t now = vmm__now_ns();
	char why[200];

	for (vmm__sreq *r = p->inflight.head; r && p->open; r = r->next)
		if (r->deadline_ns <= now) {
			snprintf(why, sizeof(why), "%s: no answer within %u ms, connection closed",
				 p->target, p->dev->config.timeout_ms);
			conn_failed(p, VMM_STORAGE_EV_TIMEOUT, why);
			return;
		}
}

static bool rechecks_pending(vmm_storage_dev *dev)
{
	for (uint32_t i = 0; i < dev->npaths; i++)
		if (dev->paths[i]->recheck && dev->paths[i]->state != VMM_STORAGE_DEAD)
			return true;
	return false;
}

/* Reads the ALUA state when the SATP wants it, and asks the SATP for the
 * path's state; lock not held. */
static void read_alua(vmm__path *p, uint32_t kind)
{
	vmm_storage_dev *dev = p->dev;
	uint32_t alua = 0xff, tpg = 0, st;
	vmm__post post = { 0 };
	vmm_storage_event ev = { sizeof(ev), kind, p->index, 0, p->config.kind, 0, 0, 0, 0, 0, 0,
				 0, 0xff };
	bool want = (dev->satp->flags & VMM_STORAGE_SATP_ALUA) && p->ops->alua;

	if (want && p->ops->alua(p, &alua, &tpg, dev->config.timeout_ms) < 0)
		alua = 0xff;
	pthread_mutex_lock(&dev->lock);
	p->recheck = false;
	p->info.alua_state = alua;
	if (tpg)
		p->info.target_port_group = tpg;
	ev.state = p->state;
	ev.alua_state = alua;
	st = dev->satp->path_state(dev->satp_opaque, &ev);
	vmm__storage_set_state(dev, p, st > VMM_STORAGE_DEAD ? VMM_STORAGE_ACTIVE : st, &post);
	if (!rechecks_pending(dev))
		vmm__storage_unpark(dev, &post);
	pthread_mutex_unlock(&dev->lock);
	vmm__post_run(dev, &post);
}

/* A dead path: re-open it when its probe time came. */
static void probe(vmm__path *p)
{
	if (vmm__now_ns() < p->next_probe_ns)
		return;
	if (p->ops->open(p, p->dev->config.timeout_ms) == 0) {
		pthread_mutex_lock(&p->be_lock);
		p->open = true;
		pthread_mutex_unlock(&p->be_lock);
		read_alua(p, VMM_STORAGE_EV_OPENED);
		return;
	}
	p->next_probe_ns = vmm__now_ns() + p->dev->config.probe_ms * NS_PER_MS;
	pthread_mutex_lock(&p->dev->lock);
	snprintf(p->info.last_error_msg, sizeof(p->info.last_error_msg), "probe: %.240s", p->msg);
	pthread_mutex_unlock(&p->dev->lock);
}

/* One turn of the loop; false when the thread should end. */
static bool turn(vmm__path *p)
{
	vmm_storage_dev *dev = p->dev;
	vmm__post post = { 0 };
	uint64_t deadline;
	bool stop, dead, recheck;

	pthread_mutex_lock(&dev->lock);
	recheck = p->recheck && p->open;
	pthread_mutex_unlock(&dev->lock);
	if (recheck)   /* before issuing anything: the state may change */
		read_alua(p, VMM_STORAGE_EV_ALUA);
	pthread_mutex_lock(&dev->lock);
	deadline = fill_locked(p, vmm__now_ns(), &post);
	stop = dev->stopping && !p->inflight.n && !p->finished.n;
	dead = p->open && p->state == VMM_STORAGE_DEAD;   /* set dead by hand */
	pthread_mutex_unlock(&dev->lock);
	vmm__post_run(dev, &post);
	if (stop)
		return false;
	if (dead)
		conn_failed(p, VMM_STORAGE_EV_CONN_LOST, "path set dead");
	issue(p);
	if (!p->open && !dev->stopping && (!deadline || deadline > p->next_probe_ns))
		deadline = p->next_probe_ns;
	if (!p->finished.n)
		wait_events(p, deadline);
	check_deadlines(p);
	handle_finished(p);
	if (!p->open && !dev->stopping)
		probe(p);
	return true;
}

static void *path_main(void *arg)
{
	vmm__path *p = arg;

	while (turn(p))
		;
	return NULL;
}

int vmm__path_start_thread(vmm__path *p)
{
	sigset_t all, old;
	char name[16];
	int rc;

	p->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->kick_fd < 0)
		return vmm__err(VMM_EIO, "%s: eventfd: %s", p->dev->name, strerror(errno));
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&p->thread, NULL, path_main, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		close(p->kick_fd);
		p->kick_fd = -1;
		return vmm__err(VMM_ENOMEM, "%s: cannot start a path thread: %s", p->dev->name,
				strerror(rc));
	}
	snprintf(name, sizeof(name), "vmm-st%u.%u", p->dev->number % 100, p->index);
	pthread_setname_np(p->thread, name);
	p->started = true;
	return 0;
}

void vmm__path_stop_thread(vmm__path *p)
{
	if (!p->started)
		return;
	vmm__path_kick(p);
	pthread_join(p->thread, NULL);
	p->started = false;
}
