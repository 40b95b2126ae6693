/* iothread.h - a device's I/O thread: the thread model of vmm.h. Started
 * only for a device the embedder added, named ("vmm-blk0"), with every
 * signal blocked (the kick signal and the embedder's stay on their
 * threads), woken through an eventfd (which a kvm ioeventfd can signal
 * directly), joined on destroy. */
#ifndef VMM_IOTHREAD_H
#define VMM_IOTHREAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct vmm__iothread {
	pthread_t thread;
	int kick_fd;                 /* eventfd: work is waiting */
	int stop_fd;                 /* eventfd: stop */
	void (*work)(void *opaque);  /* runs on the thread after each kick */
	void *opaque;
	int fd;                      /* an extra fd polled for POLLIN, or -1 */
	bool fd_wanted;              /* work() sets it: poll fd, or only kicks */
	bool started;
	pthread_mutex_t pass_lock;   /* the two counters (vmm__iothread_flush) */
	pthread_cond_t pass_cond;
	uint64_t pass_asked, pass_done;
} vmm__iothread;

int vmm__iothread_start(vmm__iothread *t, const char *name, void (*work)(void *),
			void *opaque);
/* Also runs work() when fd is readable while t->fd_wanted (initially true). */
int vmm__iothread_start_fd(vmm__iothread *t, const char *name, void (*work)(void *),
			   void *opaque, int fd);
void vmm__iothread_kick(vmm__iothread *t);
/* Kicks the thread and waits until a work() pass that began after this
 * call has ended: what the device was given before is done (tests and
 * fuzzers; never from the thread itself). No-op if not started. */
void vmm__iothread_flush(vmm__iothread *t);
void vmm__iothread_stop(vmm__iothread *t);   /* joins; no-op if not started */

#endif /* VMM_IOTHREAD_H */
