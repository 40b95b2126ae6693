/* page.c - PAGE hooks on kvm: guest-physical pages with a permission taken
 * away, as EPT permissions would be, and the gate that lets memory slots
 * change while vCPUs run.
 *
 * KVM cannot take a permission from part of a memory slot, so a slot that
 * holds hooked pages is replaced by pieces: pages hooked for WRITE become a
 * read-only piece (guest writes to it exit as KVM_EXIT_MMIO), pages hooked
 * for READ get no piece at all (reads and writes exit as MMIO); the rest of
 * the slot is mapped as before. Such an MMIO exit at a RAM address becomes
 * the PAGE event, and unless a hook skips it the access is completed on the
 * host's copy of the page, so the guest cannot tell. Pages hooked for EXEC
 * get no piece either: KVM cannot fetch an instruction from a page without
 * a slot and exits with KVM_EXIT_INTERNAL_ERROR (emulation failure; with
 * KVM_CAP_EXIT_ON_EMULATION_FAILURE, so no #UD is queued for the guest). If
 * RIP is in such a page, that is the EXEC event; to let the instruction run,
 * the vCPU enters the guest once more in a window: the other vCPUs held at
 * the gate, the page mapped, KVM_GUESTDBG_SINGLESTEP on; after that one
 * KVM_RUN the page goes again. A page hooked for READ must not hold code,
 * and none hooked for READ or EXEC page tables the vCPU uses (KVM cannot
 * walk them; documented in docs/introspect.md).
 *
 * Hooks change at any time, from any thread, so the slots change while
 * vCPUs run. The change waits at a gate: each vCPU marks itself in_guest
 * around KVM_RUN and backs off while the gate is closed; the changer closes
 * it, kicks every vCPU still in the guest out, and waits until none is. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "backends/kvm/kvm_priv.h"
#include "lib/introspect/ix.h"

#define PAGE_SIZE 4096ull
#define PIECE_ID0 VMM__MAX_MEMSLOTS     /* KVM slot ids of pieces start here */

enum { MODE_RAM, MODE_RO, MODE_ABSENT };

/* ---- The gate --------------------------------------------------------------- */

void kvm__gate_wait(kvm__vm *kvm)
{
	pthread_mutex_lock(&kvm->lock);
	while (atomic_load(&kvm->gate))
		pthread_cond_wait(&kvm->gate_cv, &kvm->lock);
	pthread_mutex_unlock(&kvm->lock);
}

/* Closes the gate (waiting while another holder has it closed) and waits
 * until no vCPU but `owner` (vCPU index + 1; 0: none) is in the guest. */
static void gate_close(vmm_vm *vm, kvm__vm *kvm, int owner)
{
	const struct timespec nap = { 0, 50 * 1000 };

	pthread_mutex_lock(&kvm->lock);
	while (atomic_load(&kvm->gate))
		pthread_cond_wait(&kvm->gate_cv, &kvm->lock);
	atomic_store(&kvm->gate, 1);
	kvm->gate_owner = owner;
	pthread_mutex_unlock(&kvm->lock);
	for (uint32_t i = 0; i < VMM_MAX_VCPUS; i++) {
		vmm_vcpu *v = vm->vcpus[i];
		kvm__vcpu *kv = v && (int)i + 1 != owner ? kvm__vcpu_of(v) : NULL;

		for (unsigned n = 0; kv && atomic_load(&kv->in_guest); n++) {
			if (n % 64 == 0)
				kvm__kick(v);   /* out of KVM_RUN; no cancelled exit */
			nanosleep(&nap, NULL);
		}
	}
}

static void gate_open(kvm__vm *kvm)
{
	pthread_mutex_lock(&kvm->lock);
	kvm->gate_owner = 0;
	atomic_store(&kvm->gate, 0);
	pthread_cond_broadcast(&kvm->gate_cv);
	pthread_mutex_unlock(&kvm->lock);
}

/* ---- The protected set ------------------------------------------------------- */

/* VMM_MEM_* taken away from [gpa, gpa+len) by the current set. */
static uint32_t removed(const kvm__prot_set *ps, uint64_t gpa, uint64_t len)
{
	uint32_t acc = 0;

	for (uint32_t i = 0; i < ps->n; i++)
		if (gpa < ps->r[i].end && ps->r[i].gpa < gpa + len)
			acc |= ps->r[i].access;
	return acc;
}

static int mode_of(uint32_t acc)
{
	return (acc & (VMM_MEM_READ | VMM_MEM_EXEC)) ? MODE_ABSENT
	       : (acc & VMM_MEM_WRITE)              ? MODE_RO
						    : MODE_RAM;
}

/* A failed fetch must exit to user space: without
 * KVM_CAP_EXIT_ON_EMULATION_FAILURE, KVM queues #UD for the guest first. */
static int exec_cap(vmm_vm *vm, kvm__vm *kvm)
{
	/* args[0] = 1 turns it on (0 would turn it off again) */
	struct kvm_enable_cap cap = { .cap = KVM_CAP_EXIT_ON_EMULATION_FAILURE, .args = { 1 } };

	if (kvm->emul_exit_on)
		return 0;
	if (ioctl(kvm->fd, KVM_CHECK_EXTENSION, KVM_CAP_EXIT_ON_EMULATION_FAILURE) <= 0 ||
	    ioctl(kvm->fd, KVM_ENABLE_CAP, &cap) < 0)
		return vmm__err(VMM_ENOTSUP, "kvm: PAGE hooks cannot take EXEC away here: "
				"KVM_CAP_EXIT_ON_EMULATION_FAILURE is missing (Linux 5.17+), so "
				"a fetch from the page would give the guest #UD");
	kvm->emul_exit_on = 1;
	return 0;
}

/* The PAGE hooks' ranges, page aligned. */
static int collect(vmm_vm *vm, const vmm__ix *ix, kvm__prot_set *ps)
{
	ps->n = 0;
	for (unsigned i = 0; ix && i < VMM_HOOK_MAX; i++) {
		const vmm_hook_config *c = &ix->hooks[i].cfg;

		if (!ix->hooks[i].id || c->type != VMM_EV_PAGE)
			continue;
		if ((c->access & VMM_MEM_EXEC) && exec_cap(vm, kvm__vm_of(vm)))
			return VMM_ENOTSUP;
		ps->r[ps->n].gpa = c->addr & ~(PAGE_SIZE - 1);
		ps->r[ps->n].end = (c->addr + c->len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
		ps->r[ps->n].access = c->access;
		ps->n++;
	}
	return 0;
}

/* ---- Slots and pieces ------------------------------------------------------------ */

static int set_region(kvm__vm *kvm, const struct kvm_userspace_memory_region *r)
{
	if (ioctl(kvm->fd, KVM_SET_USER_MEMORY_REGION, r) == 0)
		return 0;
	return vmm__err(VMM_EINTERNAL, "kvm: KVM_SET_USER_MEMORY_REGION slot %u [0x%llx, "
			"+0x%llx) for a PAGE hook: %s", r->slot,
			(unsigned long long)r->guest_phys_addr,
			(unsigned long long)r->memory_size, strerror(errno));
}

static struct kvm_userspace_memory_region whole(const vmm__memslot *s)
{
	struct kvm_userspace_memory_region r = {
		.slot = s->id,
		.flags = (s->flags & VMM_MEM_WRITE) ? 0 : KVM_MEM_READONLY,
		.guest_phys_addr = s->gpa,
		.memory_size = s->size,
		.userspace_addr = (uint64_t)(uintptr_t)s->hva,
	};

	return r;
}

/* Removes the pieces of slot `owner` (all of them if owner is ~0u). */
static int drop_pieces(kvm__vm *kvm, uint32_t owner)
{
	kvm__pages *pg = kvm->pages;
	int rc = 0;
	uint32_t keep = 0;

	for (uint32_t i = 0; i < pg->npieces; i++) {
		struct kvm_userspace_memory_region r = pg->pieces[i];

		if (owner != ~0u && pg->owner[i] != owner) {
			pg->pieces[keep] = pg->pieces[i];
			pg->owner[keep++] = pg->owner[i];
			continue;
		}
		r.memory_size = 0;
		if (set_region(kvm, &r) && !rc)
			rc = VMM_EINTERNAL;
	}
	pg->npieces = keep;
	return rc;
}

static int add_piece(kvm__vm *kvm, const vmm__memslot *s, uint64_t a, uint64_t b, int mode)
{
	const kvm__host *h = kvm__host_get();
	kvm__pages *pg = kvm->pages;
	struct kvm_userspace_memory_region r = whole(s);
	uint32_t id = PIECE_ID0;

	if (mode == MODE_ABSENT)
		return 0;
	for (uint32_t i = 0; i < pg->npieces; i++)   /* lowest id not in use */
		if (pg->pieces[i].slot >= id)
			id = pg->pieces[i].slot + 1;
	if (pg->npieces == KVM__MAX_PIECES || id >= (uint32_t)h->nr_memslots || id > UINT16_MAX)
		return vmm__err(VMM_ENOMEM, "kvm: PAGE hooks split memory into more slots "
				"than KVM (%d) or libvmm (%d) allow", h->nr_memslots,
				KVM__MAX_PIECES);
	r.slot = id;
	r.guest_phys_addr = a;
	r.memory_size = b - a;
	r.userspace_addr += a - s->gpa;
	if (mode == MODE_RO)
		r.flags |= KVM_MEM_READONLY;
	if (set_region(kvm, &r))
		return VMM_EINTERNAL;
	pg->pieces[pg->npieces] = r;
	pg->owner[pg->npieces++] = s->id;
	return 0;
}

/* Maps slot s as pieces: runs of pages with the same mode. */
static int split(kvm__vm *kvm, const vmm__memslot *s)
{
	uint64_t run = s->gpa, end = s->gpa + s->size;
	int mode = mode_of(removed(&kvm->pages->set, run, PAGE_SIZE));

	for (uint64_t p = run + PAGE_SIZE; p <= end; p += PAGE_SIZE) {
		int m = p < end ? mode_of(removed(&kvm->pages->set, p, PAGE_SIZE)) : -1;

		if (m == mode)
			continue;
		if (add_piece(kvm, s, run, p, mode))
			return VMM_EINTERNAL;
		run = p;
		mode = m;
	}
	return 0;
}

/* Brings slot s to what the protected set asks: whole, or in pieces. */
static int sync_slot(kvm__vm *kvm, const vmm__memslot *s)
{
	kvm__pages *pg = kvm->pages;
	int was = pg->split[s->id], now = removed(&pg->set, s->gpa, s->size) != 0;
	struct kvm_userspace_memory_region r = whole(s);

	if (was && drop_pieces(kvm, s->id))
		return VMM_EINTERNAL;
	if (!was && now) {
		r.memory_size = 0;
		if (set_region(kvm, &r))
			return VMM_EINTERNAL;
	}
	pg->split[s->id] = (uint8_t)now;
	if (now)
		return split(kvm, s);
	r = whole(s);
	return was ? set_region(kvm, &r) : 0;
}

static int sync_all(vmm_vm *vm, kvm__vm *kvm)
{
	int rc = kvm__vm_flush_removed(kvm);

	for (uint32_t i = 0; !rc && i < vm->nslots; i++) {
		const vmm__memslot *s = &vm->slots[i];

		if (kvm->pages->split[s->id] || removed(&kvm->pages->set, s->gpa, s->size))
			rc = sync_slot(kvm, s);
	}
	atomic_store(&kvm->prot_on, kvm->pages->set.n != 0);
	return rc;
}

/* ix_changed: the PAGE hooks' set moved (ix->lock held by the caller). */
int kvm__pages_changed(vmm_vm *vm, const vmm__ix *ix)
{
	kvm__vm *kvm = kvm__vm_of(vm);
	kvm__prot_set next;
	int rc;

	if (!kvm->pages && !(atomic_load(&vm->ix_flags) & VMM__IX_BIT(VMM_EV_PAGE)))
		return 0;
	memset(&next, 0, sizeof(next));   /* compared with memcmp below */
	rc = collect(vm, ix, &next);
	if (rc)
		return rc;
	if (!kvm->pages) {
		kvm->pages = calloc(1, sizeof(*kvm->pages));
		if (!kvm->pages)
			return vmm__err(VMM_ENOMEM, "kvm: out of memory for PAGE hooks");
	}
	if (next.n == kvm->pages->set.n &&
	    !memcmp(next.r, kvm->pages->set.r, next.n * sizeof(next.r[0])))
		return 0;
	gate_close(vm, kvm, 0);
	kvm->pages->set.n = next.n;
	memcpy(kvm->pages->set.r, next.r, next.n * sizeof(next.r[0]));
	rc = sync_all(vm, kvm);
	gate_open(kvm);
	return rc;
}

/* mem_map of a slot the protected set touches: map it in pieces instead.
 * Returns 1 if it did (or failed: *rc), 0 if the slot is mapped whole. */
int kvm__pages_map(vmm_vm *vm, const vmm__memslot *s, int *rc)
{
	kvm__vm *kvm = kvm__vm_of(vm);

	if (!kvm->pages || !removed(&kvm->pages->set, s->gpa, s->size))
		return 0;
	kvm->pages->split[s->id] = 1;
	*rc = split(kvm, s);
	return 1;
}

/* mem_unmap of a slot in pieces: they go now. Returns 1 if it was split. */
int kvm__pages_unmap(vmm_vm *vm, const vmm__memslot *s)
{
	kvm__vm *kvm = kvm__vm_of(vm);

	if (!kvm->pages || !kvm->pages->split[s->id])
		return 0;
	(void)drop_pieces(kvm, s->id);
	kvm->pages->split[s->id] = 0;
	return 1;
}

/* ---- The exit ------------------------------------------------------------------ */

/* A KVM_EXIT_MMIO: if it hit RAM, it is a page with a permission taken away
 * (or a neighbour on the same absent piece). The PAGE hooks decide; the
 * access is completed on the host's copy unless one skips it (a skipped
 * write is dropped, a skipped read reads all ones). Returns 1 if handled
 * (*ret: the run loop's verdict), 0 for an ordinary MMIO exit. */
int kvm__pages_mmio(vmm_vcpu *vcpu, struct kvm_run *run, vmm_exit *exit, int *ret)
{
	kvm__vm *kvm = kvm__vm_of(vcpu->vm);
	uint64_t gpa = run->mmio.phys_addr;
	uint32_t len = run->mmio.len, acc, act = VMM_ACT_CONTINUE;
	const vmm__memslot *s = vmm__mem_find(vcpu->vm, gpa);
	uint8_t *p = s ? vmm__gpa_to_hva(vcpu->vm, gpa, len) : NULL;

	if (!p)
		return 0;
	acc = run->mmio.is_write ? VMM_MEM_WRITE : VMM_MEM_READ;
	if (removed(&kvm->pages->set, gpa, len) & acc) {
		vmm_event ev;
		vmm_regs r;

		memset(&ev, 0, sizeof(ev));
		ev.type = VMM_EV_PAGE;
		ev.addr = gpa;
		ev.access = acc;
		ev.value = 0;   /* KVM does not report the virtual address */
		if (kvm__get_regs(vcpu, &r) == 0)
			ev.rip = r.rip;
		act = vmm__ix_fire(vcpu, &ev);
	}
	if (run->mmio.is_write && !(s->flags & VMM_MEM_WRITE))
		return 0;   /* ROM: the bus decides, as before */
	if (run->mmio.is_write && act != VMM_ACT_SKIP)
		memcpy(p, run->mmio.data, len);
	else if (!run->mmio.is_write)
		memset(run->mmio.data, 0xff, len);
	if (!run->mmio.is_write && act != VMM_ACT_SKIP)
		memcpy(run->mmio.data, p, len);
	*ret = KVM__EXIT_CONTINUE;
	if (act == VMM_ACT_STOP) {
		exit->reason = VMM_EXIT_STOPPED;
		*ret = KVM__EXIT_RETURN;
	}
	return 1;
}

/* ---- EXEC: the fetch that fails, and the window that runs it ----------------- */

/* The linear address of the vCPU's RIP (CS base; 32 bits outside 64-bit code). */
static int linear_rip(vmm_vcpu *vcpu, vmm_regs *r, uint64_t *la)
{
	vmm_sregs s;

	if (kvm__get_regs(vcpu, r) || kvm__get_sregs(vcpu, &s))
		return -1;
	*la = s.cs.base + r->rip;
	if (!s.cs.l)
		*la &= 0xffffffffull;
	return 0;
}

/* Pages an instruction at la may be fetched from (two if it may cross). */
static unsigned fetch_pages(vmm_vcpu *vcpu, uint64_t la, uint64_t gpa[2])
{
	vmm_translation t;
	unsigned n = 0;

	if (vmm_virt_translate(vcpu, la, &t) == 0)
		gpa[n++] = t.gpa;
	if (n && (la & (PAGE_SIZE - 1)) > PAGE_SIZE - 15 &&
	    vmm_virt_translate(vcpu, (la | (PAGE_SIZE - 1)) + 1, &t) == 0)
		gpa[n++] = t.gpa;
	return n;
}

static int exec_act(vmm_vcpu *vcpu, kvm__vcpu *kv, vmm_event *ev, vmm_exit *exit)
{
	uint32_t act = vmm__ix_fire(vcpu, ev);
	vmm_regs r;
	int len;

	if (act == VMM_ACT_STOP) {
		exit->reason = VMM_EXIT_STOPPED;
		return KVM__EXIT_RETURN;
	}
	if (kvm__get_regs(vcpu, &r))
		return KVM__EXIT_CONTINUE;
	if (act == VMM_ACT_INJECT) {
		kvm__inject(vcpu, ev);
	} else if (r.rip != ev->rip) {
		/* the handler moved RIP: resume there */
	} else if (act == VMM_ACT_SKIP && (len = kvm__insn_len(vcpu, &r)) > 0) {
		r.rip += (uint64_t)len;
		kvm__set_regs(vcpu, &r);
	} else {
		kv->exec_pending = 1;   /* the window runs it */
		kv->exec_rip = r.rip;
	}
	return KVM__EXIT_CONTINUE;
}

/* KVM_EXIT_INTERNAL_ERROR (emulation failure): if the instruction at RIP
 * sits in a page hooked for EXEC, KVM could not fetch it because the page
 * has no slot. The hooks decide (VMM_EV_PAGE, EXEC); CONTINUE runs it in a
 * window. An instruction that only ends in such a page runs without an
 * event, as on emu. Returns 1 if handled (*ret), 0 for a real error. */
int kvm__pages_exec_fault(vmm_vcpu *vcpu, struct kvm_run *run, vmm_exit *exit, int *ret)
{
	kvm__vm *kvm = kvm__vm_of(vcpu->vm);
	kvm__vcpu *kv = kvm__vcpu_of(vcpu);
	uint64_t la, gpa[2];
	uint32_t acc[2] = { 0, 0 };
	unsigned n;
	vmm_event ev;
	vmm_regs r;

	if (kv->exec_nofire || !kvm->pages || run->internal.suberror != KVM_INTERNAL_ERROR_EMULATION ||
	    linear_rip(vcpu, &r, &la)) {
		kv->exec_nofire = 0;
		return 0;
	}
	n = fetch_pages(vcpu, la, gpa);
	kv->exec_npages = 0;
	for (unsigned i = 0; i < n; i++) {
		acc[i] = removed(&kvm->pages->set, gpa[i] & ~(PAGE_SIZE - 1), PAGE_SIZE);
		if (acc[i] & VMM_MEM_EXEC)
			kv->exec_page[kv->exec_npages++] = gpa[i] & ~(PAGE_SIZE - 1);
	}
	if (!kv->exec_npages)
		return 0;
	*ret = KVM__EXIT_CONTINUE;
	if (!(acc[0] & VMM_MEM_EXEC)) {
		kv->exec_pending = 1;
		kv->exec_rip = r.rip;
		return 1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = VMM_EV_PAGE;
	ev.rip = r.rip;
	ev.addr = gpa[0];
	ev.value = la;
	ev.access = VMM_MEM_EXEC;
	*ret = exec_act(vcpu, kv, &ev, exit);
	return 1;
}

/* Is the instruction at rip a HLT? It is not single-stepped: PVM reports
 * the step and then a stray HLT exit at a later instruction (measured),
 * VT-x/SVM the HLT alone (kvm_emulate_halt). */
static uint8_t is_hlt(vmm_vcpu *vcpu, uint64_t rip)
{
	static const uint8_t prefixes[] = { 0x66, 0x67, 0xf2, 0xf3, 0x2e, 0x36, 0x3e,
					    0x26, 0x64, 0x65, 0xf0 };
	uint8_t b[15];
	vmm_sregs s;
	uint64_t la;
	unsigned i = 0;

	if (kvm__get_sregs(vcpu, &s))
		return 0;
	la = s.cs.l ? s.cs.base + rip : (s.cs.base + rip) & 0xffffffffull;
	if (vmm_virt_read(vcpu, la, b, sizeof(b)))
		return 0;
	while (i < 14 && (memchr(prefixes, b[i], sizeof(prefixes)) ||
			  (s.cs.l && (b[i] & 0xf0) == 0x40)))
		i++;   /* legacy prefixes; REX in 64-bit code */
	return b[i] == 0xf4;
}

/* The window's pieces go; the next entry applies the usual debug state. */
static void exec_unmap(kvm__vm *kvm, kvm__vcpu *kv)
{
	kvm__pages *pg = kvm->pages;

	for (; pg && pg->ntemp; pg->ntemp--) {
		struct kvm_userspace_memory_region z = pg->pieces[--pg->npieces];

		z.memory_size = 0;
		(void)set_region(kvm, &z);
	}
	kv->exec_step = 0;
	kv->dbg_gen--;
}

/* A HLT from a page hooked for EXEC, done as KVM does it: RIP past it,
 * then halted in the kernel (in-kernel irqchip) or a KVM_EXIT_HLT. */
static int exec_hlt(vmm_vcpu *vcpu, kvm__vcpu *kv, vmm_regs *r)
{
	struct kvm_mp_state mp = { KVM_MP_STATE_HALTED };
	int len = kvm__insn_len(vcpu, r);

	kv->exec_pending = 0;
	if (len <= 0)
		return 1;
	r->rip += (uint64_t)len;
	if (kvm__set_regs(vcpu, r))
		return VMM_EINTERNAL;
	if (kvm__vm_of(vcpu->vm)->irqchip) {
		if (ioctl(kv->fd, KVM_SET_MP_STATE, &mp) < 0)
			return vmm__err(VMM_EINTERNAL, "kvm: KVM_SET_MP_STATE (HLT): %s",
					strerror(errno));
		return 1;
	}
	kv->run->exit_reason = KVM_EXIT_HLT;
	return 2;
}

/* Before the window's KVM_RUN: holds the other vCPUs at the gate, maps the
 * instruction's hooked pages and single-steps. Returns 0 (open), 1 (not
 * needed: RIP moved since), 2 (a HLT done here: run->exit_reason is
 * KVM_EXIT_HLT) or a negative error (nothing left open). */
int kvm__exec_open(vmm_vcpu *vcpu, kvm__vcpu *kv)
{
	kvm__vm *kvm = kvm__vm_of(vcpu->vm);
	kvm__pages *pg = kvm->pages;
	vmm_regs r;
	int rc = 0;

	if (kvm__get_regs(vcpu, &r) || r.rip != kv->exec_rip || !pg) {
		kv->exec_pending = 0;
		return 1;
	}
	if (is_hlt(vcpu, r.rip))
		return exec_hlt(vcpu, kv, &r);
	kv->exec_regs = r;
	gate_close(vcpu->vm, kvm, (int)vcpu->index + 1);
	pg->ntemp = 0;
	for (unsigned i = 0; !rc && i < kv->exec_npages; i++) {
		uint64_t p = kv->exec_page[i];
		const vmm__memslot *s = vmm__mem_find(vcpu->vm, p);
		uint32_t acc = removed(&pg->set, p, PAGE_SIZE);

		if (!s || !(acc & VMM_MEM_EXEC) || (i && p == kv->exec_page[0]))
			continue;   /* no longer hooked: mapped already */
		rc = add_piece(kvm, s, p, p + PAGE_SIZE,
			       (acc & VMM_MEM_WRITE) || !(s->flags & VMM_MEM_WRITE) ? MODE_RO
										 : MODE_RAM);
		if (!rc)
			pg->ntemp++;
	}
	kv->exec_step = 1;
	if (!rc)
		rc = kvm__debug_apply(vcpu, kv);
	if (rc) {
		exec_unmap(kvm, kv);
		gate_open(kvm);
		kv->exec_pending = 0;
		return rc < 0 ? rc : VMM_EINTERNAL;
	}
	return 0;
}

/* Did the window's KVM_RUN end in its single-step trap with nothing run
 * (every register as at the window's start)? Bochs's VT-x reports the trap
 * once at the entry, before the instruction (measured); the window then
 * enters again. A REP iteration changes RCX, so it counts as progress. */
int kvm__exec_stalled(vmm_vcpu *vcpu, kvm__vcpu *kv)
{
	struct kvm_run *run = kv->run;
	vmm_regs r;

	return run->exit_reason == KVM_EXIT_DEBUG && (run->debug.arch.dr6 & (1u << 14)) &&
	       !(run->debug.arch.dr6 & 0xf) && !kvm__get_regs(vcpu, &r) &&
	       !memcmp(&r, &kv->exec_regs, sizeof(r));
}

/* After the window's KVM_RUN: unmaps, lets the others in, stops stepping.
 * The instruction ran if the exit is the window's own single-step or RIP
 * moved. Returns 1 if the exit was only that single-step (nothing to
 * report), 0 to handle the exit as usual. */
int kvm__exec_close(vmm_vcpu *vcpu, kvm__vcpu *kv)
{
	kvm__vm *kvm = kvm__vm_of(vcpu->vm);
	struct kvm_run *run = kv->run;
	int own_step = 0;
	vmm_regs r;

	exec_unmap(kvm, kv);
	gate_open(kvm);
	if (run->exit_reason == KVM_EXIT_DEBUG && (run->debug.arch.dr6 & (1u << 14)) &&
	    !(run->debug.arch.dr6 & 0xf)) {
		own_step = !kv->step_over && !(kvm->dbg_step & (1ull << vcpu->index));
		kv->exec_pending = 0;
	} else if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR) {
		kv->exec_pending = 0;
		kv->exec_nofire = 1;   /* fetching failed with the page mapped */
	}
	if (kv->exec_pending && (kvm__get_regs(vcpu, &r) || r.rip != kv->exec_rip))
		kv->exec_pending = 0;
	return own_step;
}

void kvm__pages_destroy(kvm__vm *kvm)
{
	free(kvm->pages);
	kvm->pages = NULL;
}
