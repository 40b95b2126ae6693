/* test_kvm_introspect.c - hooks on the kvm backend (backends/kvm/
 * introspect.c): breakpoints and single-step through KVM_SET_GUEST_DEBUG
 * (guest memory untouched), MSR-write hooks through KVM's user-space MSR
 * filter, the events KVM cannot deliver refused with a reason, register
 * families. Skipped where /dev/kvm is unusable. */
#include "tests/unit/test_kvm_util.h"

typedef struct rec {
	unsigned n;
	vmm_event ev[8];
	vmm_regs regs[8];
	uint32_t act;
} rec;

static uint32_t on_event(void *opaque, vmm_vcpu *vcpu, vmm_event *ev)
{
	rec *r = opaque;

	if (r->n < 8) {
		r->ev[r->n] = *ev;
		vmm_vcpu_get_regs(vcpu, &r->regs[r->n]);
	}
	r->n++;
	return r->act;
}

static int hook(vmm_vm *vm, uint32_t type, uint64_t addr, uint32_t index, rec *r,
		uint32_t *id)
{
	vmm_hook_config c = VMM_HOOK_CONFIG_INIT;

	c.type = type;
	c.addr = addr;
	c.index = index;
	c.vcpu = type == VMM_EV_STEP ? 0 : -1;
	c.fn = on_event;
	c.opaque = r;
	return vmm_hook_add(vm, &c, id);
}

/* mov $1,%eax (5) / mov $2,%ebx (5) / add %ebx,%eax (2) / hlt */
GUEST64(k_seq, "mov $1, %eax\n mov $2, %ebx\n add %ebx, %eax\n hlt");

static void test_break_and_skip(void **state)
{
	vmm_vm *vm = kt_vm(0);

	kt_skip_in_svm_host(vm, "no KVM_EXIT_DEBUG arrives for the monitor's debug-register breakpoints and watchpoints");
	vmm_vcpu *vcpu = kt_vcpu_long(vm, k_seq, GUEST_LEN(k_seq), KT_CODE);
	rec r = { 0 };
	uint32_t id;
	uint8_t code[13];

	assert_int_equal(hook(vm, VMM_EV_BREAK, KT_CODE + 5, 0, &r, &id), 0);
	kt_expect_hlt(vcpu);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ev[0].type, VMM_EV_BREAK);
	assert_int_equal(r.ev[0].rip, KT_CODE + 5);
	assert_int_equal(r.regs[0].rax, 1);
	assert_int_equal(r.regs[0].rbx, 0);
	assert_int_equal(kt_regs(vcpu).rax, 3);
	assert_int_equal(vmm_mem_read(vm, KT_CODE, code, sizeof(code)), 0);
	assert_memory_equal(code, k_seq, sizeof(code));
	/* SKIP: the second instruction does not run. */
	kt_set_long_mode(vcpu, KT_CODE);
	r.n = 0;
	r.act = VMM_ACT_SKIP;
	kt_expect_hlt(vcpu);
	assert_int_equal(r.n, 1);
	assert_int_equal(kt_regs(vcpu).rbx, 0);
	assert_int_equal(kt_regs(vcpu).rax, 1);
	vmm_vm_destroy(vm);
}

static void test_step(void **state)
{
	vmm_vm *vm = kt_vm(0);

	kt_skip_in_svm_host(vm, "the first KVM_GUESTDBG_SINGLESTEP trap after entering the "
			    "guest is lost: events start after the second instruction");
	vmm_vcpu *vcpu = kt_vcpu_long(vm, k_seq, GUEST_LEN(k_seq), KT_CODE);
	rec r = { 0 };
	uint32_t id;

	assert_int_equal(hook(vm, VMM_EV_STEP, 0, 0, &r, &id), 0);
	kt_expect_hlt(vcpu);
	assert_true(r.n >= 3);
	assert_int_equal(r.ev[0].rip, KT_CODE + 5);
	assert_int_equal(r.regs[0].rax, 1);
	assert_int_equal(r.ev[1].rip, KT_CODE + 10);
	assert_int_equal(r.ev[2].rip, KT_CODE + 12);
	assert_int_equal(r.regs[2].rax, 3);
	assert_int_equal(vmm_hook_del(vm, id), 0);
	vmm_vm_destroy(vm);
}

GUEST64(k_msr, "mov $0xc0000102, %ecx\n mov $0x55, %eax\n xor %edx, %edx\n wrmsr\n"
	       "mov $0xc0000101, %ecx\n mov $0x66, %eax\n wrmsr\n hlt");

static void test_msr_write(void **state)
{
	vmm_vm *vm = kt_vm(0);
	vmm_vcpu *vcpu = kt_vcpu_long(vm, k_msr, GUEST_LEN(k_msr), KT_CODE);
	rec r = { 0 };
	uint32_t id;
	uint64_t v = 0;

	r.act = VMM_ACT_SKIP;
	assert_int_equal(hook(vm, VMM_EV_MSR_WRITE, 0, 0xc0000102, &r, &id), 0);
	kt_expect_hlt(vcpu);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ev[0].index, 0xc0000102);
	assert_int_equal(r.ev[0].value, 0x55);
	assert_int_equal(vmm_vcpu_get_msr(vcpu, 0xc0000102, &v), 0);
	assert_int_equal(v, 0);                  /* skipped */
	assert_int_equal(vmm_vcpu_get_msr(vcpu, 0xc0000101, &v), 0);
	assert_int_equal(v, 0x66);               /* not hooked: written */
	/* CONTINUE: the write happens. */
	kt_set_long_mode(vcpu, KT_CODE);
	r.act = VMM_ACT_CONTINUE;
	kt_expect_hlt(vcpu);
	assert_int_equal(r.n, 2);
	assert_int_equal(vmm_vcpu_get_msr(vcpu, 0xc0000102, &v), 0);
	assert_int_equal(v, 0x55);
	vmm_vm_destroy(vm);
}

GUEST64(k_watch, "mov $0x1234, %eax\n mov %eax, 0x3000\n mov 0x3000, %ebx\n hlt");

static void test_watch(void **state)
{
	vmm_vm *vm = kt_vm(0);
	vmm_vcpu *vcpu = kt_vcpu_long(vm, k_watch, GUEST_LEN(k_watch), KT_CODE);
	vmm_hook_config c = VMM_HOOK_CONFIG_INIT;
	rec r = { 0 };
	uint32_t id;

	kt_skip_in_svm_host(vm, "no KVM_EXIT_DEBUG arrives for the monitor's debug-register breakpoints and watchpoints");
	if (kt_is_pvm(vm)) {
		vmm_vm_destroy(vm);
		print_message("# SKIP reason: PVM does not deliver hardware data "
			      "breakpoints (KVM_SET_GUEST_DEBUG; measured)\n");
		skip();
	}
	c.type = VMM_EV_WATCH;
	c.addr = 0x3000;
	c.len = 4;
	c.access = VMM_MEM_WRITE;
	c.fn = on_event;
	c.opaque = &r;
	assert_int_equal(vmm_hook_add(vm, &c, &id), 0);
	kt_expect_hlt(vcpu);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ev[0].type, VMM_EV_WATCH);
	assert_int_equal(r.ev[0].addr, 0x3000);
	assert_int_equal(r.ev[0].rip, KT_CODE + 12);   /* after the store */
	assert_int_equal(kt_regs(vcpu).rbx, 0x1234);
	vmm_vm_destroy(vm);
}

GUEST64(k_hlt2, "hlt\n mov $7, %ecx\n hlt");

/* SKIP the first HLT (the guest goes on), CONTINUE the second. */
static uint32_t on_hlt_once(void *opaque, vmm_vcpu *vcpu, vmm_event *ev)
{
	rec *r = opaque;

	on_event(opaque, vcpu, ev);
	return r->n == 1 ? VMM_ACT_SKIP : VMM_ACT_CONTINUE;
}

static void test_hlt(void **state)
{
	vmm_vm *vm = kt_vm(0);
	vmm_vcpu *vcpu = kt_vcpu_long(vm, k_hlt2, GUEST_LEN(k_hlt2), KT_CODE);
	vmm_hook_config c = VMM_HOOK_CONFIG_INIT;
	rec r = { 0 };
	uint32_t id;

	c.type = VMM_EV_HLT;
	c.fn = on_hlt_once;
	c.opaque = &r;
	assert_int_equal(vmm_hook_add(vm, &c, &id), 0);
	kt_expect_hlt(vcpu);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.ev[0].rip, KT_CODE + 1);   /* reported after the HLT */
	assert_int_equal(r.ev[1].rip, KT_CODE + 7);
	assert_int_equal(kt_regs(vcpu).rcx, 7);
	vmm_vm_destroy(vm);
}

/* PAGE hooks: the slot holding 0x40000 is split around that page (read-only
 * for WRITE, absent for READ); the MMIO exits become events and are
 * completed on the host's copy unless a hook skips them. */
#define KT_DATA 0x40000ull
GUEST64(k_page, "mov $0x40000, %edi\n movl $0x11223344, (%rdi)\n mov (%rdi), %eax\n"
		"mov 0x3ffc(%rdi), %ebx\n hlt");

static int page_hook(vmm_vm *vm, uint32_t access, rec *r, uint32_t *id)
{
	vmm_hook_config c = VMM_HOOK_CONFIG_INIT;

	c.type = VMM_EV_PAGE;
	c.addr = KT_DATA;
	c.len = 4096;
	c.access = access;
	c.vcpu = -1;
	c.fn = on_event;
	c.opaque = r;
	return vmm_hook_add(vm, &c, id);
}

static uint32_t page_run(vmm_vm *vm, vmm_vcpu *vcpu, uint32_t act, rec *r)
{
	const uint32_t old = 0xdeadbeef, next = 0x55aa55aa;
	uint32_t v;

	assert_int_equal(vmm_mem_write(vm, KT_DATA, &old, 4), 0);
	assert_int_equal(vmm_mem_write(vm, KT_DATA + 0x3ffc, &next, 4), 0);
	kt_set_long_mode(vcpu, KT_CODE);
	memset(r, 0, sizeof(*r));
	r->act = act;
	kt_expect_hlt(vcpu);
	assert_int_equal(kt_regs(vcpu).rbx, next);   /* the next page is untouched */
	assert_int_equal(vmm_mem_read(vm, KT_DATA, &v, 4), 0);
	return v;
}

static void test_page(void **state)
{
	vmm_vm *vm = kt_vm(0);
	vmm_vcpu *vcpu = kt_vcpu_long(vm, k_page, GUEST_LEN(k_page), KT_CODE);
	rec r;
	uint32_t id, id2;

	assert_int_equal(page_hook(vm, VMM_MEM_WRITE, &r, &id), 0);
	assert_int_equal(page_run(vm, vcpu, VMM_ACT_CONTINUE, &r), 0x11223344);
	assert_int_equal(r.n, 1);                    /* the write; the read is free */
	assert_int_equal(r.ev[0].type, VMM_EV_PAGE);
	assert_int_equal(r.ev[0].addr, KT_DATA);
	assert_int_equal(r.ev[0].access, VMM_MEM_WRITE);
	/* At the movl or past it: KVM may have advanced RIP already. */
	assert_true(r.ev[0].rip == KT_CODE + 5 || r.ev[0].rip == KT_CODE + 11);
	assert_int_equal(kt_regs(vcpu).rax, 0x11223344);
	/* SKIP: the write never happens, the guest reads the old value. */
	assert_int_equal(page_run(vm, vcpu, VMM_ACT_SKIP, &r), 0xdeadbeef);
	assert_int_equal(r.n, 1);
	assert_int_equal(kt_regs(vcpu).rax, 0xdeadbeef);
	/* READ as well: the page has no slot; both accesses are events. */
	assert_int_equal(page_hook(vm, VMM_MEM_READ, &r, &id2), 0);
	assert_int_equal(page_run(vm, vcpu, VMM_ACT_CONTINUE, &r), 0x11223344);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.ev[1].access, VMM_MEM_READ);
	assert_true(r.ev[1].rip == KT_CODE + 11 || r.ev[1].rip == KT_CODE + 13);
	assert_int_equal(kt_regs(vcpu).rax, 0x11223344);
	/* SKIP on a read: all ones, as an unbacked address reads. */
	assert_int_equal(vmm_hook_del(vm, id), 0);
	assert_int_equal(page_run(vm, vcpu, VMM_ACT_SKIP, &r), 0x11223344);
	assert_int_equal(r.n, 1);
	assert_int_equal(kt_regs(vcpu).rax, 0xffffffff);
	/* No hooks: the slot is whole again, no events. */
	assert_int_equal(vmm_hook_del(vm, id2), 0);
	assert_int_equal(page_run(vm, vcpu, VMM_ACT_SKIP, &r), 0x11223344);
	assert_int_equal(r.n, 0);
	assert_int_equal(kt_regs(vcpu).rax, 0x11223344);
	/* EXEC on a data page: reads and writes complete without events. */
	assert_int_equal(page_hook(vm, VMM_MEM_EXEC, &r, &id), 0);
	assert_int_equal(page_run(vm, vcpu, VMM_ACT_SKIP, &r), 0x11223344);
	assert_int_equal(r.n, 0);
	assert_int_equal(kt_regs(vcpu).rax, 0x11223344);
	vmm_vm_destroy(vm);
}

/* EXEC: the code page has no slot; every instruction fetched from it is an
 * event before it runs (as on emu), then runs in the window. */
static uint32_t on_exec(void *opaque, vmm_vcpu *vcpu, vmm_event *ev)
{
	rec *r = opaque;
	unsigned n = r->n;

	on_event(opaque, vcpu, ev);
	if (r->act == VMM_ACT_SKIP)   /* skip the second instruction only */
		return n == 1 ? VMM_ACT_SKIP : VMM_ACT_CONTINUE;
	if (r->act == VMM_ACT_STOP)   /* stop at the third, once */
		return n == 2 ? VMM_ACT_STOP : VMM_ACT_CONTINUE;
	return r->act;
}

static void exec_run(vmm_vcpu *vcpu, rec *r, uint32_t act)
{
	kt_set_long_mode(vcpu, KT_CODE);
	memset(r, 0, sizeof(*r));
	r->act = act;
}

/* The same VM on emu (for the tests that check kvm behaves as emu does). */
static vmm_vm *emu_vm(void)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	vmm_vm *vm = NULL;

	cfg.backend = "emu";
	cfg.mem_size = KT_RAM;
	if (vmm_vm_create(&cfg, &vm) != 0)
		fail_msg("vmm_vm_create(emu): %s", vmm_last_error());
	return vm;
}

static void page_exec_on(vmm_vm *vm)
{
	vmm_vcpu *vcpu = kt_vcpu_long(vm, k_seq, GUEST_LEN(k_seq), KT_CODE);
	vmm_hook_config c = VMM_HOOK_CONFIG_INIT;
	vmm_exit *e;
	rec r;
	uint32_t id;
	uint8_t code[13];

	c.type = VMM_EV_PAGE;
	c.addr = KT_CODE;
	c.len = 4096;
	c.access = VMM_MEM_EXEC;
	c.fn = on_exec;
	c.opaque = &r;
	exec_run(vcpu, &r, VMM_ACT_CONTINUE);
	assert_int_equal(vmm_hook_add(vm, &c, &id), 0);
	kt_expect_hlt(vcpu);
	assert_int_equal(r.n, 4);                    /* every fetch from the page */
	for (unsigned i = 0; i < 4; i++) {
		static const uint64_t at[4] = { 0, 5, 10, 12 };

		assert_int_equal(r.ev[i].type, VMM_EV_PAGE);
		assert_int_equal(r.ev[i].access, VMM_MEM_EXEC);
		assert_int_equal(r.ev[i].rip, KT_CODE + at[i]);
		assert_int_equal(r.ev[i].addr, KT_CODE + at[i]);   /* gpa */
		assert_int_equal(r.ev[i].value, KT_CODE + at[i]);  /* linear */
		assert_int_equal(r.regs[i].rip, KT_CODE + at[i]);
	}
	assert_int_equal(r.regs[1].rax, 1);          /* before the second ran */
	assert_int_equal(r.regs[1].rbx, 0);
	assert_int_equal(kt_regs(vcpu).rax, 3);
	assert_int_equal(vmm_mem_read(vm, KT_CODE, code, sizeof(code)), 0);
	assert_memory_equal(code, k_seq, sizeof(code));
	/* SKIP the second: rbx stays 0. */
	exec_run(vcpu, &r, VMM_ACT_SKIP);
	kt_expect_hlt(vcpu);
	assert_int_equal(r.n, 4);
	assert_int_equal(kt_regs(vcpu).rbx, 0);
	assert_int_equal(kt_regs(vcpu).rax, 1);
	/* STOP at the third: it has not run; the next run goes on from there. */
	exec_run(vcpu, &r, VMM_ACT_STOP);
	e = kt_run(vcpu);
	assert_int_equal(e->reason, VMM_EXIT_STOPPED);
	assert_int_equal(kt_regs(vcpu).rip, KT_CODE + 10);
	assert_int_equal(kt_regs(vcpu).rax, 1);
	kt_expect_hlt(vcpu);
	assert_int_equal(kt_regs(vcpu).rax, 3);
	assert_int_equal(r.n, 5);                    /* the third again, the hlt */
	/* Removed: no more events. */
	assert_int_equal(vmm_hook_del(vm, id), 0);
	exec_run(vcpu, &r, VMM_ACT_CONTINUE);
	kt_expect_hlt(vcpu);
	assert_int_equal(r.n, 0);
	assert_int_equal(kt_regs(vcpu).rax, 3);
	vmm_vm_destroy(vm);
}

static void test_page_exec(void **state)
{
	page_exec_on(emu_vm());   /* the reference */
	page_exec_on(kt_vm(0));
}

/* An instruction of the hooked page that exits to the caller (an unclaimed
 * OUT) inside the window: one event, completed when the caller runs again. */
GUEST64(k_out, "mov $0x42, %al\n out %al, $0x99\n mov $7, %ecx\n hlt");

static void test_page_exec_io(void **state)
{
	vmm_vm *vm = kt_vm(0);

	kt_skip_in_vmx_host(vm, "the run after the window's I/O exit ends in a triple fault "
			    "(measured). It still does with single-stepping kept on until the OUT "
			    "completes: KVM's step trap arrives at KT_CODE + 4, and the next entry, "
			    "with stepping off, triple-faults; natively and in the svm host it passes. "
			    "Presumably a single-step #DB that Bochs keeps pending from the OUT's "
			    "I/O exit (not established)");
	vmm_vcpu *vcpu = kt_vcpu_long(vm, k_out, GUEST_LEN(k_out), KT_CODE);
	vmm_hook_config c = VMM_HOOK_CONFIG_INIT;
	vmm_exit *e;
	rec r = { 0 };
	uint32_t id;

	c.type = VMM_EV_PAGE;
	c.addr = KT_CODE;
	c.len = 4096;
	c.access = VMM_MEM_EXEC;
	c.fn = on_event;
	c.opaque = &r;
	assert_int_equal(vmm_hook_add(vm, &c, &id), 0);
	e = kt_run(vcpu);
	assert_int_equal(e->reason, VMM_EXIT_IO);
	assert_int_equal(e->io.port, 0x99);
	assert_int_equal(e->io.data, 0x42);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.ev[1].rip, KT_CODE + 2);
	kt_expect_hlt(vcpu);
	assert_int_equal(r.n, 4);                    /* the OUT once; mov, hlt */
	assert_int_equal(r.ev[2].rip, KT_CODE + 4);
	assert_int_equal(kt_regs(vcpu).rcx, 7);
	vmm_vm_destroy(vm);
}

/* A hook added while the vCPU spins in the guest: the slots change at the
 * gate (the vCPU is kicked out and waits), then its next write stops it. */
GUEST64(k_spin, "mov $0x40000, %edi\n 1: incl (%rdi)\n pause\n jmp 1b");

typedef struct spin_arg {
	vmm_vcpu *vcpu;
	uint32_t reason;
	int rc;
} spin_arg;

static void *spin_thread(void *opaque)
{
	spin_arg *a = opaque;

	vmm_exit *exit = NULL;

	a->rc = vmm_vcpu_run(a->vcpu, &exit);
	a->reason = exit ? exit->reason : ~0u;
	return NULL;
}

static void test_page_while_running(void **state)
{
	vmm_vm *vm = kt_vm(0);
	spin_arg a = { kt_vcpu_long(vm, k_spin, GUEST_LEN(k_spin), KT_CODE), 0, -1 };
	const struct timespec t = { 0, 100 * 1000 * 1000 };
	uint32_t id, before, after;
	pthread_t th;
	rec r;

	memset(&r, 0, sizeof(r));
	r.act = VMM_ACT_STOP;
	assert_int_equal(pthread_create(&th, NULL, spin_thread, &a), 0);
	nanosleep(&t, NULL);
	assert_int_equal(vmm_mem_read(vm, KT_DATA, &before, 4), 0);
	assert_int_equal(page_hook(vm, VMM_MEM_WRITE, &r, &id), 0);
	pthread_join(th, NULL);
	assert_int_equal(a.rc, 0);
	assert_int_equal(a.reason, VMM_EXIT_STOPPED);
	assert_true(r.n >= 1);
	assert_int_equal(r.ev[0].addr, KT_DATA);
	assert_true(before > 0);                     /* it ran before the hook */
	assert_int_equal(vmm_mem_read(vm, KT_DATA, &after, 4), 0);
	assert_true(after >= before);
	vmm_vm_destroy(vm);
}

static uint32_t on_inject_ud(void *opaque, vmm_vcpu *vcpu, vmm_event *ev)
{
	on_event(opaque, vcpu, ev);
	ev->inject_vector = 6;
	return VMM_ACT_INJECT;
}

/* EXCEPTION 3: the guest's INT3 (at +5) is an event before the #BP is
 * delivered through the guest's IDT (at 0x600): vector 3's handler (+0x20)
 * records the pushed RIP in RCX and sets EDX to 0x33, vector 6's (+0x30)
 * sets 0x66. */
GUEST64(k_bp, "mov $1, %eax\n int3\n mov $2, %ebx\n hlt\n"
	      ".fill 0x20 - (. - k_bp), 1, 0x90\n"
	      "mov (%rsp), %rcx\n mov $0x33, %edx\n hlt\n"
	      ".fill 0x30 - (. - k_bp), 1, 0x90\n"
	      "mov (%rsp), %rcx\n mov $0x66, %edx\n hlt");
#define KT_IDT 0x600ull

static void bp_setup(vmm_vm *vm, vmm_vcpu *vcpu, rec *r, uint32_t act)
{
	uint64_t idt[2 * 32];
	vmm_sregs s;

	memset(idt, 0, sizeof(idt));
	for (unsigned v = 3; v <= 6; v += 3) {
		uint64_t h = KT_CODE + (v == 3 ? 0x20 : 0x30);

		idt[2 * v] = (h & 0xffff) | (0x08ull << 16) | (0x8eull << 40) |
			     ((h >> 16 & 0xffff) << 48);
		idt[2 * v + 1] = h >> 32;
	}
	assert_int_equal(vmm_mem_write(vm, KT_IDT, idt, sizeof(idt)), 0);
	kt_set_long_mode(vcpu, KT_CODE);
	assert_int_equal(vmm_vcpu_get_sregs(vcpu, &s), 0);
	s.idt.base = KT_IDT;
	s.idt.limit = sizeof(idt) - 1;
	assert_int_equal(vmm_vcpu_set_sregs(vcpu, &s), 0);
	memset(r, 0, sizeof(*r));
	r->act = act;
}

static void exception_on(vmm_vm *vm)
{
	vmm_vcpu *vcpu = kt_vcpu_long(vm, k_bp, GUEST_LEN(k_bp), KT_CODE);
	vmm_hook_config c = VMM_HOOK_CONFIG_INIT;
	vmm_exit *e;
	rec r;
	uint32_t id, id2;

	c.type = VMM_EV_EXCEPTION;
	c.index = 3;
	c.fn = on_event;
	c.opaque = &r;
	assert_int_equal(vmm_hook_add(vm, &c, &id), 0);
	/* CONTINUE: delivered; the frame's RIP is past the INT3. */
	bp_setup(vm, vcpu, &r, VMM_ACT_CONTINUE);
	kt_expect_hlt(vcpu);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ev[0].type, VMM_EV_EXCEPTION);
	assert_int_equal(r.ev[0].index, 3);
	assert_int_equal(r.ev[0].has_error_code, 0);
	assert_int_equal(r.ev[0].rip, KT_CODE + 5);
	assert_int_equal(r.regs[0].rip, KT_CODE + 5);
	assert_int_equal(r.regs[0].rax, 1);
	assert_int_equal(kt_regs(vcpu).rcx, KT_CODE + 6);
	assert_int_equal(kt_regs(vcpu).rdx, 0x33);
	assert_int_equal(kt_regs(vcpu).rbx, 0);
	/* SKIP: dropped, the guest goes on after the INT3. */
	bp_setup(vm, vcpu, &r, VMM_ACT_SKIP);
	kt_expect_hlt(vcpu);
	assert_int_equal(r.n, 1);
	assert_int_equal(kt_regs(vcpu).rip, KT_CODE + 12);
	assert_int_equal(kt_regs(vcpu).rbx, 2);
	assert_int_equal(kt_regs(vcpu).rdx, 0);
	/* STOP: RIP stays at the INT3; the next run raises it again. */
	bp_setup(vm, vcpu, &r, VMM_ACT_STOP);
	e = kt_run(vcpu);
	assert_int_equal(e->reason, VMM_EXIT_STOPPED);
	assert_int_equal(r.n, 1);
	assert_int_equal(kt_regs(vcpu).rip, KT_CODE + 5);
	assert_int_equal(kt_regs(vcpu).rdx, 0);
	r.act = VMM_ACT_CONTINUE;
	kt_expect_hlt(vcpu);
	assert_int_equal(r.n, 2);
	assert_int_equal(kt_regs(vcpu).rdx, 0x33);
	/* INJECT #UD (vector 6) instead: a fault, its frame points at the INT3. */
	bp_setup(vm, vcpu, &r, VMM_ACT_INJECT);
	assert_int_equal(vmm_hook_del(vm, id), 0);
	c.fn = on_inject_ud;
	assert_int_equal(vmm_hook_add(vm, &c, &id), 0);
	kt_expect_hlt(vcpu);
	assert_int_equal(r.n, 1);
	assert_int_equal(kt_regs(vcpu).rdx, 0x66);
	assert_int_equal(kt_regs(vcpu).rcx, KT_CODE + 5);
	/* A hook on another vector does not see the #BP. */
	assert_int_equal(vmm_hook_del(vm, id), 0);
	c.index = 6;
	c.fn = on_event;
	if (vmm_hook_add(vm, &c, &id2) == 0) {   /* emu; kvm refuses it (below) */
		bp_setup(vm, vcpu, &r, VMM_ACT_CONTINUE);
		kt_expect_hlt(vcpu);
		assert_int_equal(r.n, 0);
		assert_int_equal(kt_regs(vcpu).rdx, 0x33);
		assert_int_equal(vmm_hook_del(vm, id2), 0);
	}
	vmm_vm_destroy(vm);
}

static void test_exception_emu(void **state)
{
	exception_on(emu_vm());   /* the reference for the kvm test below */
}

static void test_exception(void **state)
{
	vmm_vm *vm = kt_vm(0);

	kt_skip_in_svm_host(vm, "INT3 never checks the #BP exception intercept, only the INTn "
			    "one (target/i386/tcg/excp_helper.c, raise_interrupt2 with is_int), so "
			    "KVM_GUESTDBG_USE_SW_BP sees no INT3: no event");

	if (kt_is_pvm(vm)) {
		vmm_vm_destroy(vm);
		print_message("# SKIP reason: the PVM host's KVM cannot run INT3 at all (an "
			      "emulation failure, also with KVM_GUESTDBG_USE_SW_BP; measured), "
			      "so kvm's EXCEPTION 3 is checked in the test hosts only\n");
		skip();
	}
	exception_on(vm);
}

static void test_refused_and_caps(void **state)
{
	vmm_vm *vm = kt_vm(0);
	vmm_hook_caps caps = VMM_HOOK_CAPS_INIT;
	rec r = { 0 };
	uint32_t id, ids[4];
	vmm_fpu f;
	vmm_dregs d;

	(void)kt_vcpu_long(vm, k_seq, GUEST_LEN(k_seq), KT_CODE);
	assert_int_equal(vmm_introspect_caps(vm, &caps), 0);
	assert_int_equal(caps.hw_slots, 4);
	assert_false(caps.events & (1u << VMM_EV_CR_WRITE));
	assert_int_equal(hook(vm, VMM_EV_CR_WRITE, 0, 3, &r, &id), VMM_ENOTSUP);
	assert_non_null(strstr(vmm_last_error(), "CR writes"));
	assert_int_equal(hook(vm, VMM_EV_CPUID, 0, 0, &r, &id), VMM_ENOTSUP);
	assert_true(caps.events & (1u << VMM_EV_EXCEPTION));   /* vector 3 only */
	assert_int_equal(hook(vm, VMM_EV_EXCEPTION, 0, 14, &r, &id), VMM_ENOTSUP);
	assert_non_null(strstr(vmm_last_error(), "only vector 3"));
	assert_int_equal(hook(vm, VMM_EV_EXCEPTION, 0, 3, &r, &id), 0);
	assert_int_equal(vmm_hook_del(vm, id), 0);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(hook(vm, VMM_EV_HWBREAK, KT_CODE + i, 0, &r, &ids[i]), 0);
	assert_int_equal(hook(vm, VMM_EV_BREAK, KT_CODE + 9, 0, &r, &id), VMM_EBUSY);
	assert_int_equal(vmm_hook_del(vm, ids[0]), 0);
	assert_int_equal(hook(vm, VMM_EV_BREAK, KT_CODE + 9, 0, &r, &id), 0);
	assert_int_equal(vmm_vcpu_get_fpu(vmm_vcpu_get(vm, 0), &f), 0);
	assert_int_equal(f.fcw, 0x37f);
	f.mxcsr = 0x7f80;                        /* round toward zero */
	f.xmm[2][0] = 0x5a;
	assert_int_equal(vmm_vcpu_set_fpu(vmm_vcpu_get(vm, 0), &f), 0);
	memset(&f, 0, sizeof(f));
	assert_int_equal(vmm_vcpu_get_fpu(vmm_vcpu_get(vm, 0), &f), 0);
	assert_int_equal(f.xmm[2][0], 0x5a);
	assert_int_equal(f.mxcsr, 0x7f80);        /* through KVM_GET/SET_XSAVE */
	assert_int_equal(vmm_vcpu_get_dregs(vmm_vcpu_get(vm, 0), &d), 0);
	assert_int_equal(d.dr[7] & 0xff, 0);     /* the monitor's DRs stay out of sight */
	vmm_vm_destroy(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_break_and_skip),
		cmocka_unit_test(test_step),
		cmocka_unit_test(test_msr_write),
		cmocka_unit_test(test_watch),
		cmocka_unit_test(test_hlt),
		cmocka_unit_test(test_page),
		cmocka_unit_test(test_page_while_running),
		cmocka_unit_test(test_page_exec),
		cmocka_unit_test(test_page_exec_io),
		cmocka_unit_test(test_exception_emu),
		cmocka_unit_test(test_exception),
		cmocka_unit_test(test_refused_and_caps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
