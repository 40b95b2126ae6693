/* kick.c - making a running KVM_RUN return from another thread.
 *
 * Embedders, note: while at least one kvm VM exists, libvmm owns the
 * real-time signal SIGRTMIN+6 (signal 40 with glibc) in this process. It
 * installs a do-nothing handler for it (without SA_RESTART) when the first
 * kvm VM is created and puts the previous action back when the last kvm VM
 * is destroyed. vmm_vcpu_kick() sends it to the thread inside
 * vmm_vcpu_run(); do not block it in threads that run kvm vCPUs, or kicks
 * are only seen at the guest's next exit. See docs/kvm.md.
 *
 * Race-free: the kicker first sets vcpu->kicked, then run->immediate_exit,
 * then signals the thread if this backend's run is active. The run loop
 * checks vcpu->kicked before every KVM_RUN; a kick that lands between that
 * check and the ioctl is caught by immediate_exit (KVM_RUN returns EINTR at
 * once), and one that lands while the guest runs by the signal. */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "backends/kvm/kvm_priv.h"

static pthread_mutex_t signal_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned signal_users;
static struct sigaction signal_saved;

int kvm__kick_signal(void)
{
	return SIGRTMIN + 6;
}

static void kick_handler(int sig)
{
	(void)sig;  /* its only job is to interrupt KVM_RUN with EINTR */
}

int kvm__signal_acquire(void)
{
	struct sigaction sa;
	int rc = 0;

	pthread_mutex_lock(&signal_lock);
	if (signal_users == 0) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = kick_handler;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = SA_ONSTACK;  /* no SA_RESTART; SA_ONSTACK for Go and other runtimes */
		if (sigaction(kvm__kick_signal(), &sa, &signal_saved) != 0)
			rc = vmm__err(VMM_EINTERNAL, "kvm: sigaction(SIGRTMIN+6) for the "
				      "kick signal: %s", strerror(errno));
	}
	if (rc == 0)
		signal_users++;
	pthread_mutex_unlock(&signal_lock);
	return rc;
}

void kvm__signal_release(void)
{
	pthread_mutex_lock(&signal_lock);
	if (signal_users > 0 && --signal_users == 0)
		sigaction(kvm__kick_signal(), &signal_saved, NULL);
	pthread_mutex_unlock(&signal_lock);
}

void kvm__kick(vmm_vcpu *vcpu)
{
	kvm__vcpu *kv = kvm__vcpu_of(vcpu);

	if (!kv)
		return;
	/* Seen by a KVM_RUN entered after the caller's store to vcpu->kicked. */
	__atomic_store_n(&kv->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	atomic_fetch_add(&kv->kickers, 1);
	if (atomic_load(&kv->running))
		pthread_kill(kv->thread, kvm__kick_signal());
	atomic_fetch_sub(&kv->kickers, 1);
}

/* Called by the run loop on its way out: after this no kicker will signal
 * the thread. seq-cst pairs with kvm__kick: a kicker that raised `kickers`
 * before the check below is waited for; one that raises it later sees
 * running == 0. */
void kvm__run_leave(kvm__vcpu *kv)
{
	atomic_store(&kv->running, 0);
	while (atomic_load(&kv->kickers))
		sched_yield();
}
