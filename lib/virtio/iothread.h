/* iothread.h - a device's I/O thread: the thread model of vmm.h. Started
 * only for a device the embedder added, named ("vmm-blk0"), with every
 * signal blocked (the kick signal and the embedder's stay on their
 * threads), woken through an eventfd (which a kvm ioeventfd can signal
 * directly), joined on destroy. */
#ifndef VMM_IOTHREAD_H
#define VMM_IOTHREAD_H

#include <pthread.h>
#include <stdbool.h>

typedef struct vmm__iothread {
	pthread_t thread;
	int kick_fd;                 /* eventfd: work is waiting */
	int stop_fd;                 /* eventfd: stop */
	void (*work)(void *opaque);  /* runs on the thread after each kick */
	void *opaque;
	bool started;
} vmm__iothread;

int vmm__iothread_start(vmm__iothread *t, const char *name, void (*work)(void *),
			void *opaque);
void vmm__iothread_kick(vmm__iothread *t);
void vmm__iothread_stop(vmm__iothread *t);   /* joins; no-op if not started */

#endif /* VMM_IOTHREAD_H */
