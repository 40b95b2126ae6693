/* test_intr.c - interrupts into the emu CPU (backends/emu/intr.c) with
 * VMM_VM_IRQCHIP: delivery through a 64-bit IDT, the STI shadow (exactly
 * one instruction, traced like any other), HLT sleeping until an interrupt and kicks still ending
 * a run, IPIs between two vCPU threads, the APIC timer waking HLT, and
 * hostile cases: a garbage IDT with interrupts arriving (triple fault), an
 * MSI storm from a host thread, spinning with interrupts off. */
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/emu_test.h"
#include "lib/platform/platform.h"

#define IDT 0x4000ull
#define COUNTER 0x5000ull

/* Handler for every vector used: count at COUNTER, keep the interrupted
 * R8 in R9, EOI, IRETQ. */
EMU_GUEST64(g_handler, "incq 0x5000\n mov %r8, %r9\n push %rax\n mov $0xfee00000, %eax\n"
		"movl $0, 0xb0(%rax)\n pop %rax\n iretq");

/* vCPU code: APIC on, then STI; HLT forever, counting wake-ups in R12. */
EMU_GUEST64(g_sleeper, "mov $0xfee00000, %esi\n movl $0x1ff, 0x0f0(%rsi)\n movl $0x10700, 0x350(%rsi)\n"
		"1: sti\n hlt\n inc %r12\n jmp 1b");

/* STI shadow: a self IPI pends with IF=0; after STI exactly the MOV runs. */
EMU_GUEST64(g_shadow, "mov $0xfee00000, %esi\n movl $0x1ff, 0x0f0(%rsi)\n movl $0x10700, 0x350(%rsi)\n"
		"cli\n movl $0x40040, 0x300(%rsi)\n xor %r8, %r8\n"
		"sti\n mov $1, %r8\n mov $2, %r8\n cli\n hlt");

/* Sends IPI 0x41 to APIC ID 1, R13 times, spacing them, then halts. */
EMU_GUEST64(g_sender, "mov $0xfee00000, %esi\n movl $0x01000000, 0x310(%rsi)\n"
		"1: movl $0x41, 0x300(%rsi)\n mov $20000, %ecx\n 2: pause\n loop 2b\n"
		"dec %r13\n jnz 1b\n cli\n hlt");

EMU_GUEST64(g_spin_cli, "cli\n 1: jmp 1b");
EMU_GUEST64(g_spin_sti, "mov $0xfee00000, %esi\n movl $0x1ff, 0x0f0(%rsi)\n sti\n 1: jmp 1b");
EMU_GUEST64(g_timer, "mov $0xfee00000, %esi\n movl $0x1ff, 0x0f0(%rsi)\n movl $0x10700, 0x350(%rsi)\n"
		"movl $0xb, 0x3e0(%rsi)\n movl $0x20042, 0x320(%rsi)\n"
		"movl $2000000, 0x380(%rsi)\n 1: sti\n hlt\n inc %r12\n jmp 1b");

typedef struct ivm {
	vmm_vm *vm;
	vmm_vcpu *cpu[2];
} ivm;

static void put64(vmm_vm *vm, uint64_t gpa, uint64_t v)
{
	assert_int_equal(vmm_mem_write(vm, gpa, &v, 8), 0);
}

/* GDT at 0 (code 0x08, data 0x10), IDT at IDT with every vector to the
 * handler at 0x180000. */
static void ivm_create(ivm *t, uint32_t n, int with_idt)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;

	memset(t, 0, sizeof(*t));
	cfg.backend = "emu";
	cfg.vcpus = n;
	cfg.flags = VMM_VM_IRQCHIP | VMM_VM_NO_UART | VMM_VM_NO_DEBUG_EXIT;
	assert_int_equal(vmm_vm_create(&cfg, &t->vm), 0);
	assert_int_equal(fx_page_tables(t->vm), 0);
	put64(t->vm, FX_PDPT + 3 * 8, 0x6000 | 7);     /* the 4th GiB: the APICs */
	for (uint64_t i = 0; i < 512; i++)
		put64(t->vm, 0x6000 + i * 8, (0xc0000000ull + (i << 21)) | 0x9f);
	put64(t->vm, 0x08, 0x00209a0000000000ull);
	put64(t->vm, 0x10, 0x00cf92000000ffffull);
	assert_int_equal(vmm_mem_write(t->vm, 0x180000, g_handler, EMU_LEN(g_handler)), 0);
	for (unsigned v = 0; v < 256; v++) {
		uint64_t h = 0x180000;

		put64(t->vm, IDT + v * 16, (h & 0xffff) | (0x08ull << 16) | (0x8eull << 40) |
			  ((h >> 16 & 0xffff) << 48));
		put64(t->vm, IDT + v * 16 + 8, h >> 32);
	}
	for (uint32_t i = 0; i < n; i++) {
		vmm_sregs s;

		assert_int_equal(vmm_vcpu_create(t->vm, i, &t->cpu[i]), 0);
		assert_int_equal(fx_long_mode(t->cpu[i], FX_CODE + i * 0x10000,
					      cfg.mem_size - i * 0x100000), 0);
		assert_int_equal(vmm_vcpu_get_sregs(t->cpu[i], &s), 0);
		s.gdt.base = 0;
		s.gdt.limit = 0x17;
		s.idt.base = with_idt ? IDT : 0;
		s.idt.limit = with_idt ? 0xfff : 0;
		assert_int_equal(vmm_vcpu_set_sregs(t->cpu[i], &s), 0);
	}
}

static void ivm_code(ivm *t, uint32_t i, const uint8_t *code, size_t len)
{
	assert_int_equal(vmm_mem_write(t->vm, FX_CODE + i * 0x10000, code, len), 0);
}

static uint64_t counter(ivm *t)
{
	uint64_t v = 0;

	assert_int_equal(vmm_mem_read(t->vm, COUNTER, &v, 8), 0);
	return v;
}

static vmm_regs regs(vmm_vcpu *c)
{
	vmm_regs r;

	assert_int_equal(vmm_vcpu_get_regs(c, &r), 0);
	return r;
}

typedef struct runner {
	vmm_vcpu *vcpu;
	pthread_t tid;
	uint32_t reason;
	int rc;
} runner;

static void *run_thread(void *arg)
{
	runner *r = arg;
	vmm_exit *e = NULL;

	r->rc = vmm_vcpu_run(r->vcpu, &e);
	r->reason = e ? e->reason : 0;
	return NULL;
}

static void start(runner *r, vmm_vcpu *c)
{
	r->vcpu = c;
	assert_int_equal(pthread_create(&r->tid, NULL, run_thread, r), 0);
}

static void stop(runner *r)
{
	vmm_vcpu_kick(r->vcpu);
	pthread_join(r->tid, NULL);
	assert_int_equal(r->rc, 0);
	assert_int_equal(r->reason, VMM_EXIT_CANCELLED);
}

static void wait_for(ivm *t, uint64_t n, unsigned ms)
{
	for (unsigned i = 0; i < ms && counter(t) < n; i++)
		usleep(1000);
}

static void test_sti_shadow_one_instruction(void **state)
{
	ivm t;
	vmm_exit *e;

	ivm_create(&t, 1, 1);
	ivm_code(&t, 0, g_shadow, EMU_LEN(g_shadow));
	/* the final CLI; HLT sleeps: a kick ends the run */
	runner r;

	start(&r, t.cpu[0]);
	wait_for(&t, 1, 2000);
	stop(&r);
	assert_int_equal(counter(&t), 1);
	assert_int_equal(regs(t.cpu[0]).r9, 1);   /* after exactly the MOV $1 */
	assert_int_equal(regs(t.cpu[0]).r8, 2);
	/* a second run goes on halting: HLT never exits with an irqchip */
	vmm_vcpu_kick(t.cpu[0]);
	assert_int_equal(vmm_vcpu_run(t.cpu[0], &e), 0);
	assert_int_equal(e->reason, VMM_EXIT_CANCELLED);
	vmm_vm_destroy(t.vm);
}

/* The instruction in the shadow is traced like any other (a trace that
 * skipped it undercounted STI; HLT loops). */
static void count_mov1(void *opaque, vmm_vcpu *vcpu, const vmm_trace_insn *insn)
{
	if (insn->before.r8 == 0 && insn->after.r8 == 1)
		++*(int *)opaque;
}

static void test_sti_shadow_traced(void **state)
{
	ivm t;
	runner r;
	int seen = 0;

	ivm_create(&t, 1, 1);
	ivm_code(&t, 0, g_shadow, EMU_LEN(g_shadow));
	assert_int_equal(vmm_vcpu_set_trace(t.cpu[0], count_mov1, &seen), 0);
	start(&r, t.cpu[0]);
	wait_for(&t, 1, 2000);
	stop(&r);
	assert_int_equal(counter(&t), 1);
	assert_int_equal(regs(t.cpu[0]).r9, 1);
	assert_int_equal(seen, 1);
	vmm_vm_destroy(t.vm);
}

static void test_ipi_between_vcpu_threads(void **state)
{
	ivm t;
	runner r0, r1;
	vmm_regs rg;

	ivm_create(&t, 2, 1);
	ivm_code(&t, 0, g_sender, EMU_LEN(g_sender));
	ivm_code(&t, 1, g_sleeper, EMU_LEN(g_sleeper));
	rg = regs(t.cpu[0]);
	rg.r13 = 25;
	assert_int_equal(vmm_vcpu_set_regs(t.cpu[0], &rg), 0);
	start(&r1, t.cpu[1]);
	usleep(20000);                            /* the sleeper enables its APIC */
	start(&r0, t.cpu[0]);
	wait_for(&t, 25, 5000);
	usleep(50000);                            /* the sleeper back in HLT */
	stop(&r0);
	stop(&r1);
	/* IPIs may coalesce in IRR while one is being handled, never multiply */
	assert_true(counter(&t) >= 1 && counter(&t) <= 25);
	/* Each woke HLT once. The handler counts before IRET and the sleeper
	 * after it, so a kick landing in between leaves r12 one behind. */
	assert_true(regs(t.cpu[1]).r12 == counter(&t) ||
		    regs(t.cpu[1]).r12 + 1 == counter(&t));
	assert_int_equal(regs(t.cpu[0]).r13, 0);
	vmm_vm_destroy(t.vm);
}

static void test_timer_wakes_hlt(void **state)
{
	ivm t;
	runner r;

	ivm_create(&t, 1, 1);
	ivm_code(&t, 0, g_timer, EMU_LEN(g_timer));
	start(&r, t.cpu[0]);
	wait_for(&t, 10, 3000);                   /* 2 ms period */
	stop(&r);
	assert_true(counter(&t) >= 10);
	assert_true(regs(t.cpu[0]).r12 >= 9);
	vmm_vm_destroy(t.vm);
}

static void test_garbage_idt_triple_faults(void **state)
{
	ivm t;
	vmm_exit *e;
	runner r;

	ivm_create(&t, 1, 0);                     /* IDT limit 0 */
	ivm_code(&t, 0, g_spin_sti, EMU_LEN(g_spin_sti));
	r.vcpu = t.cpu[0];
	assert_int_equal(pthread_create(&r.tid, NULL, run_thread, &r), 0);
	usleep(20000);
	assert_int_equal(vmm_msi_send(t.vm, 0xfee00000ull, 0x0040), 0);
	for (int i = 0; i < 2000 && !r.reason; i++)
		usleep(1000);
	if (!r.reason)
		vmm_vcpu_kick(t.cpu[0]);
	pthread_join(r.tid, NULL);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.reason, VMM_EXIT_SHUTDOWN);
	(void)e;
	vmm_vm_destroy(t.vm);
}

typedef struct storm {
	vmm_vm *vm;
	atomic_int run;
	uint64_t sent;
} storm;

static void *storm_thread(void *arg)
{
	storm *s = arg;

	while (atomic_load(&s->run)) {
		vmm_msi_send(s->vm, 0xfee00000ull, 0x40 + (uint32_t)(s->sent % 64));
		vmm_msi_send(s->vm, 0xfee0f000ull, 0x0002);   /* absent APIC, illegal */
		s->sent++;
	}
	return NULL;
}

static void test_msi_storm(void **state)
{
	ivm t;
	runner r;
	storm s;
	pthread_t st;

	ivm_create(&t, 1, 1);
	ivm_code(&t, 0, g_sleeper, EMU_LEN(g_sleeper));
	s.vm = t.vm;
	s.sent = 0;
	atomic_store(&s.run, 1);
	start(&r, t.cpu[0]);
	assert_int_equal(pthread_create(&st, NULL, storm_thread, &s), 0);
	usleep(150000);
	atomic_store(&s.run, 0);
	pthread_join(st, NULL);
	stop(&r);
	assert_true(s.sent > 0);
	assert_true(counter(&t) > 0 && counter(&t) <= s.sent);
	vmm_vm_destroy(t.vm);
}

static void test_spin_with_interrupts_off(void **state)
{
	ivm t;
	runner r;
	storm s;
	pthread_t st;

	ivm_create(&t, 1, 1);
	ivm_code(&t, 0, g_spin_cli, EMU_LEN(g_spin_cli));
	s.vm = t.vm;
	s.sent = 0;
	atomic_store(&s.run, 1);
	start(&r, t.cpu[0]);
	assert_int_equal(pthread_create(&st, NULL, storm_thread, &s), 0);
	usleep(50000);
	stop(&r);                                 /* the kick ends it */
	atomic_store(&s.run, 0);
	pthread_join(st, NULL);
	assert_int_equal(counter(&t), 0);
	vmm_vm_destroy(t.vm);
}

EMU_GUEST64(g_cpuid, "mov $1, %eax\n cpuid\n cli\n hlt");

static void test_cpuid_bits(void **state)
{
	emu_fx fx;
	ivm t;
	vmm_regs r;
	runner rn;

	et_setup(&fx, g_cpuid, EMU_LEN(g_cpuid));
	et_run(&fx, VMM_EXIT_HLT);
	r = fx_regs(&fx);
	assert_int_equal(r.rdx & (1u << 9), 0);   /* no APIC without an irqchip */
	assert_int_equal(r.rcx & ((1u << 21) | (1u << 24)), 0);
	fx_destroy(&fx);
	ivm_create(&t, 1, 1);
	ivm_code(&t, 0, g_cpuid, EMU_LEN(g_cpuid));
	start(&rn, t.cpu[0]);
	usleep(20000);
	stop(&rn);
	r = regs(t.cpu[0]);
	assert_true(r.rdx & (1u << 9));
	assert_int_equal(r.rcx & ((1u << 21) | (1u << 24)), (1u << 21) | (1u << 24));
	vmm_vm_destroy(t.vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sti_shadow_one_instruction),
		cmocka_unit_test(test_sti_shadow_traced),
		cmocka_unit_test(test_ipi_between_vcpu_threads),
		cmocka_unit_test(test_timer_wakes_hlt),
		cmocka_unit_test(test_garbage_idt_triple_faults),
		cmocka_unit_test(test_msi_storm),
		cmocka_unit_test(test_spin_with_interrupts_off),
		cmocka_unit_test(test_cpuid_bits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
