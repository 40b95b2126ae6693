/* test_introspect.c - hooks on the emu backend (vmm/introspect.h): each
 * event kind fires at the right instruction with the right data, handlers'
 * actions (continue, skip, stop, inject, register changes) take effect,
 * observing handlers leave no trace in the guest, removed hooks stop firing,
 * bad input is an error; memory by virtual address, MSRs, FPU state. */
#include <stdlib.h>
#include <unistd.h>

#include "tests/unit/emu_test.h"

typedef struct rec {
	unsigned n;
	vmm_event ev[16];
	vmm_regs regs[16];
	uint32_t act;            /* what the handler returns */
	uint64_t set_rax;        /* nonzero: the handler sets RAX to it */
} rec;

static uint32_t on_event(void *opaque, vmm_vcpu *vcpu, vmm_event *ev)
{
	rec *r = opaque;

	if (r->n < 16) {
		r->ev[r->n] = *ev;
		vmm_vcpu_get_regs(vcpu, &r->regs[r->n]);
	}
	r->n++;
	if (r->set_rax) {
		vmm_regs g;

		vmm_vcpu_get_regs(vcpu, &g);
		g.rax = r->set_rax;
		vmm_vcpu_set_regs(vcpu, &g);
	}
	return r->act;
}

static uint32_t add_hook(emu_fx *fx, uint32_t type, uint64_t addr, uint64_t len,
			 uint32_t access, uint32_t index, rec *r)
{
	vmm_hook_config c = VMM_HOOK_CONFIG_INIT;
	uint32_t id = 0;

	c.type = type;
	c.addr = addr;
	c.len = len;
	c.access = access;
	c.index = index;
	c.vcpu = type == VMM_EV_STEP ? 0 : -1;
	c.fn = on_event;
	c.opaque = r;
	assert_int_equal(vmm_hook_add(fx->vm, &c, &id), 0);
	assert_true(id != 0);
	return id;
}

/* mov $1,%eax (5 bytes) / mov $2,%ebx (5) / add %ebx,%eax (2) / hlt */
EMU_GUEST64(g_seq, "mov $1, %eax\n mov $2, %ebx\n add %ebx, %eax\n hlt");

static void test_break_continue_invisible(void **state)
{
	emu_fx fx;
	rec r = { 0 };
	uint8_t code[13];
	vmm_regs g;

	et_setup(&fx, g_seq, EMU_LEN(g_seq));
	add_hook(&fx, VMM_EV_BREAK, FX_CODE + 5, 0, 0, 0, &r);
	et_run(&fx, VMM_EXIT_HLT);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ev[0].type, VMM_EV_BREAK);
	assert_int_equal(r.ev[0].rip, FX_CODE + 5);
	assert_int_equal(r.ev[0].addr, FX_CODE + 5);
	assert_int_equal(r.regs[0].rip, FX_CODE + 5);
	assert_int_equal(r.regs[0].rax, 1);      /* the first instruction ran */
	assert_int_equal(r.regs[0].rbx, 0);      /* the second did not yet */
	g = fx_regs(&fx);
	assert_int_equal(g.rax, 3);
	assert_int_equal(g.rip, FX_CODE + 13);
	assert_int_equal(vmm_mem_read(fx.vm, FX_CODE, code, sizeof(code)), 0);
	assert_memory_equal(code, g_seq, sizeof(code));   /* nothing patched */
	fx_destroy(&fx);
}

static void test_break_skip_and_del(void **state)
{
	emu_fx fx;
	rec r = { 0 };
	uint32_t id;
	vmm_regs g;

	et_setup(&fx, g_seq, EMU_LEN(g_seq));
	r.act = VMM_ACT_SKIP;
	id = add_hook(&fx, VMM_EV_BREAK, FX_CODE + 5, 0, 0, 0, &r);
	et_run(&fx, VMM_EXIT_HLT);
	g = fx_regs(&fx);
	assert_int_equal(r.n, 1);
	assert_int_equal(g.rbx, 0);              /* skipped */
	assert_int_equal(g.rax, 1);
	/* Run again from the start without the hook: it must not fire. */
	assert_int_equal(vmm_hook_del(fx.vm, id), 0);
	assert_int_equal(vmm_hook_del(fx.vm, id), VMM_ENOENT);
	g.rip = FX_CODE;
	g.rax = g.rbx = 0;
	assert_int_equal(vmm_vcpu_set_regs(fx.vcpu, &g), 0);
	et_run(&fx, VMM_EXIT_HLT);
	assert_int_equal(r.n, 1);
	assert_int_equal(fx_regs(&fx).rax, 3);
	fx_destroy(&fx);
}

static void test_break_stop(void **state)
{
	emu_fx fx;
	rec r = { 0 };
	vmm_exit *e;

	et_setup(&fx, g_seq, EMU_LEN(g_seq));
	r.act = VMM_ACT_STOP;
	add_hook(&fx, VMM_EV_BREAK, FX_CODE + 10, 0, 0, 0, &r);
	e = et_run(&fx, VMM_EXIT_STOPPED);
	assert_int_equal(e->rip, FX_CODE + 10);
	assert_int_equal(fx_regs(&fx).rbx, 2);
	assert_int_equal(fx_regs(&fx).rax, 1);
	fx_destroy(&fx);
}

static void test_step(void **state)
{
	emu_fx fx;
	rec r = { 0 };

	et_setup(&fx, g_seq, EMU_LEN(g_seq));
	add_hook(&fx, VMM_EV_STEP, 0, 0, 0, 0, &r);
	et_run(&fx, VMM_EXIT_HLT);
	assert_int_equal(r.n, 3);                /* after each of the 3 before HLT */
	assert_int_equal(r.ev[0].rip, FX_CODE + 5);
	assert_int_equal(r.regs[0].rax, 1);
	assert_int_equal(r.ev[1].rip, FX_CODE + 10);
	assert_int_equal(r.regs[1].rbx, 2);
	assert_int_equal(r.ev[2].rip, FX_CODE + 12);
	assert_int_equal(r.regs[2].rax, 3);
	fx_destroy(&fx);
}

EMU_GUEST64(g_mem, "mov $0x1234, %eax\n mov %eax, 0x200000\n mov 0x200000, %ebx\n"
		   "mov $7, %ecx\n hlt");

static void test_watch_write_after(void **state)
{
	emu_fx fx;
	rec r = { 0 };
	uint32_t v = 0;

	et_setup(&fx, g_mem, EMU_LEN(g_mem));
	add_hook(&fx, VMM_EV_WATCH, FX_DATA, 4, VMM_MEM_WRITE, 0, &r);
	et_run(&fx, VMM_EXIT_HLT);
	assert_int_equal(r.n, 1);                /* the write only, not the read */
	assert_int_equal(r.ev[0].type, VMM_EV_WATCH);
	assert_int_equal(r.ev[0].addr, FX_DATA);
	assert_int_equal(r.ev[0].access, VMM_MEM_WRITE);
	assert_int_equal(r.ev[0].rip, FX_CODE + 12);   /* after the store */
	assert_int_equal(vmm_mem_read(fx.vm, FX_DATA, &v, 4), 0);
	assert_int_equal(v, 0x1234);
	assert_int_equal(fx_regs(&fx).rbx, 0x1234);
	fx_destroy(&fx);
}

static void test_watch_read(void **state)
{
	emu_fx fx;
	rec r = { 0 };

	et_setup(&fx, g_mem, EMU_LEN(g_mem));
	add_hook(&fx, VMM_EV_WATCH, FX_DATA + 2, 1, VMM_MEM_READ | VMM_MEM_WRITE, 0, &r);
	et_run(&fx, VMM_EXIT_HLT);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.ev[0].access, VMM_MEM_WRITE);
	assert_int_equal(r.ev[1].access, VMM_MEM_READ);
	assert_int_equal(r.ev[1].rip, FX_CODE + 19);
	assert_int_equal(r.regs[1].rbx, 0x1234);
	fx_destroy(&fx);
}

static void test_page_write_blocked(void **state)
{
	emu_fx fx;
	rec r = { 0 };
	uint32_t v = 0xaaaa;
	vmm_regs g;

	et_setup(&fx, g_mem, EMU_LEN(g_mem));
	assert_int_equal(vmm_mem_write(fx.vm, FX_DATA, &v, 4), 0);
	r.act = VMM_ACT_SKIP;
	add_hook(&fx, VMM_EV_PAGE, FX_DATA, 4096, VMM_MEM_WRITE, 0, &r);
	et_run(&fx, VMM_EXIT_HLT);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ev[0].type, VMM_EV_PAGE);
	assert_int_equal(r.ev[0].addr, FX_DATA);
	assert_int_equal(r.ev[0].access, VMM_MEM_WRITE);
	assert_int_equal(r.ev[0].rip, FX_CODE + 5);    /* before the store */
	assert_int_equal(vmm_mem_read(fx.vm, FX_DATA, &v, 4), 0);
	assert_int_equal(v, 0xaaaa);                    /* blocked */
	g = fx_regs(&fx);
	assert_int_equal(g.rbx, 0xaaaa);                /* reads still allowed */
	assert_int_equal(g.rcx, 7);
	fx_destroy(&fx);
}

static void test_page_exec(void **state)
{
	emu_fx fx;
	rec r = { 0 };

	et_setup(&fx, g_seq, EMU_LEN(g_seq));
	add_hook(&fx, VMM_EV_PAGE, FX_CODE, 4096, VMM_MEM_EXEC, 0, &r);
	et_run(&fx, VMM_EXIT_HLT);
	assert_int_equal(r.n, 4);                /* every fetch from the page */
	assert_int_equal(r.ev[0].access, VMM_MEM_EXEC);
	assert_int_equal(r.ev[0].addr, FX_CODE);
	assert_int_equal(r.ev[3].rip, FX_CODE + 12);
	assert_int_equal(fx_regs(&fx).rax, 3);
	fx_destroy(&fx);
}

EMU_GUEST64(g_cr3, "mov %cr3, %rax\n mov %rax, %cr3\n mov $5, %ebx\n hlt");

static void test_cr3_write(void **state)
{
	emu_fx fx;
	rec r = { 0 };
	vmm_exit *e;

	et_setup(&fx, g_cr3, EMU_LEN(g_cr3));
	add_hook(&fx, VMM_EV_CR_WRITE, 0, 0, 0, 3, &r);
	et_run(&fx, VMM_EXIT_HLT);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ev[0].index, 3);
	assert_int_equal(r.ev[0].value, FX_PML4);
	assert_int_equal(r.ev[0].rip, FX_CODE + 3);
	assert_int_equal(fx_regs(&fx).rbx, 5);
	/* STOP: the run ends at the instruction, which did not run. */
	fx_destroy(&fx);
	et_setup(&fx, g_cr3, EMU_LEN(g_cr3));
	r.n = 0;
	r.act = VMM_ACT_STOP;
	add_hook(&fx, VMM_EV_CR_WRITE, 0, 0, 0, 3, &r);
	e = et_run(&fx, VMM_EXIT_STOPPED);
	assert_int_equal(e->rip, FX_CODE + 3);
	assert_int_equal(fx_regs(&fx).rbx, 0);
	fx_destroy(&fx);
}

EMU_GUEST64(g_msr, "mov $0xc0000102, %ecx\n mov $0x55, %eax\n xor %edx, %edx\n wrmsr\n"
		   "mov $0xc0000101, %ecx\n mov $0x66, %eax\n wrmsr\n hlt");

static void test_msr_write(void **state)
{
	emu_fx fx;
	rec r = { 0 };
	uint64_t v = 0;

	et_setup(&fx, g_msr, EMU_LEN(g_msr));
	r.act = VMM_ACT_SKIP;
	add_hook(&fx, VMM_EV_MSR_WRITE, 0, 0, 0, 0xc0000102, &r);
	et_run(&fx, VMM_EXIT_HLT);
	assert_int_equal(r.n, 1);                /* only the chosen MSR */
	assert_int_equal(r.ev[0].index, 0xc0000102);
	assert_int_equal(r.ev[0].value, 0x55);
	assert_int_equal(vmm_vcpu_get_msr(fx.vcpu, 0xc0000102, &v), 0);
	assert_int_equal(v, 0);                  /* skipped */
	assert_int_equal(vmm_vcpu_get_msr(fx.vcpu, 0xc0000101, &v), 0);
	assert_int_equal(v, 0x66);               /* GS base: not hooked, written */
	assert_int_equal(vmm_vcpu_set_msr(fx.vcpu, 0xc0000102, 0x77), 0);
	assert_int_equal(vmm_vcpu_get_msr(fx.vcpu, 0xc0000102, &v), 0);
	assert_int_equal(v, 0x77);
	assert_int_equal(vmm_vcpu_get_msr(fx.vcpu, 0x12345678, &v), VMM_EINVAL);
	fx_destroy(&fx);
}

EMU_GUEST64(g_cpuid, "xor %eax, %eax\n cpuid\n mov %eax, %esi\n hlt");

static void test_cpuid_emulated_by_monitor(void **state)
{
	emu_fx fx;
	rec r = { 0 };

	et_setup(&fx, g_cpuid, EMU_LEN(g_cpuid));
	r.act = VMM_ACT_SKIP;
	r.set_rax = 0x4242;
	add_hook(&fx, VMM_EV_CPUID, 0, 0, 0, 0, &r);
	et_run(&fx, VMM_EXIT_HLT);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ev[0].rip, FX_CODE + 2);
	assert_int_equal(fx_regs(&fx).rsi, 0x4242);
	fx_destroy(&fx);
}

static void test_hlt(void **state)
{
	emu_fx fx;
	rec r = { 0 };
	vmm_exit *e;

	et_setup(&fx, g_seq, EMU_LEN(g_seq));
	add_hook(&fx, VMM_EV_HLT, 0, 0, 0, 0, &r);
	e = et_run(&fx, VMM_EXIT_HLT);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ev[0].rip, FX_CODE + 12);
	assert_int_equal(e->rip, FX_CODE + 13);
	fx_destroy(&fx);
}

EMU_GUEST64(g_ud, "ud2\n mov $7, %eax\n hlt");

static void test_exception_skip(void **state)
{
	emu_fx fx;
	rec r = { 0 };

	et_setup(&fx, g_ud, EMU_LEN(g_ud));
	r.act = VMM_ACT_SKIP;
	add_hook(&fx, VMM_EV_EXCEPTION, 0, 0, 0, 6, &r);
	et_run(&fx, VMM_EXIT_HLT);   /* without the hook: no IDT, triple fault */
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ev[0].index, 6);
	assert_int_equal(r.ev[0].rip, FX_CODE);
	assert_int_equal(fx_regs(&fx).rax, 7);
	fx_destroy(&fx);
}

static void test_inject_from_break(void **state)
{
	emu_fx fx;
	rec r = { 0 };

	et_setup(&fx, g_seq, EMU_LEN(g_seq));
	r.act = VMM_ACT_INJECT;
	add_hook(&fx, VMM_EV_BREAK, FX_CODE + 5, 0, 0, 0, &r);
	/* The handler leaves inject_vector 0 (#DE); no IDT: triple fault. */
	et_run(&fx, VMM_EXIT_SHUTDOWN);
	assert_int_equal(r.n, 1);
	fx_destroy(&fx);
}

static void test_pause(void **state)
{
	emu_fx fx;
	rec r = { 0 };

	et_setup(&fx, g_seq, EMU_LEN(g_seq));
	add_hook(&fx, VMM_EV_PAUSE, 0, 0, 0, 0, &r);
	assert_int_equal(vmm_vcpu_pause(fx.vcpu), 0);
	et_run(&fx, VMM_EXIT_CANCELLED);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ev[0].rip, FX_CODE);
	et_run(&fx, VMM_EXIT_HLT);
	assert_int_equal(r.n, 1);
	assert_int_equal(fx_regs(&fx).rax, 3);
	fx_destroy(&fx);
}

static void test_bad_input(void **state)
{
	emu_fx fx;
	rec r = { 0 };
	vmm_hook_config c = VMM_HOOK_CONFIG_INIT;
	uint32_t id;

	et_setup(&fx, g_seq, EMU_LEN(g_seq));
	assert_int_equal(vmm_hook_add(fx.vm, &c, &id), VMM_EINVAL);   /* type 0 */
	c.type = VMM_EV_BREAK;
	assert_int_equal(vmm_hook_add(fx.vm, &c, &id), VMM_EINVAL);   /* no fn */
	c.fn = on_event;
	c.opaque = &r;
	c.size = 8;
	assert_int_equal(vmm_hook_add(fx.vm, &c, &id), VMM_EINVAL);
	c.size = sizeof(c);
	c.type = VMM_EV_STEP;
	assert_int_equal(vmm_hook_add(fx.vm, &c, &id), VMM_EINVAL);   /* vcpu -1 */
	c.type = VMM_EV_WATCH;
	c.len = 3;
	c.access = VMM_MEM_WRITE;
	assert_int_equal(vmm_hook_add(fx.vm, &c, &id), VMM_EINVAL);
	c.type = VMM_EV_PAGE;
	c.addr = 0x1001;
	c.len = 4096;
	assert_int_equal(vmm_hook_add(fx.vm, &c, &id), VMM_EINVAL);
	c.type = VMM_EV_CR_WRITE;
	c.index = 2;
	assert_int_equal(vmm_hook_add(fx.vm, &c, &id), VMM_EINVAL);
	assert_non_null(strstr(vmm_last_error(), "CR_WRITE"));
	c.type = 99;
	assert_int_equal(vmm_hook_add(fx.vm, &c, &id), VMM_EINVAL);
	assert_int_equal(vmm_hook_add(NULL, &c, &id), VMM_EINVAL);
	assert_int_equal(vmm_hook_del(fx.vm, 12345), VMM_ENOENT);
	fx_destroy(&fx);
}

static void test_virt_memory(void **state)
{
	emu_fx fx;
	vmm_translation t;
	uint8_t buf[8192], back[8192];

	et_setup(&fx, g_seq, EMU_LEN(g_seq));
	assert_int_equal(vmm_virt_translate(fx.vcpu, FX_CODE + 5, &t), 0);
	assert_int_equal(t.gpa, FX_CODE + 5);
	assert_int_equal(t.page_size, 2u << 20);
	assert_int_equal(t.perms, VMM_MEM_READ | VMM_MEM_WRITE | VMM_MEM_EXEC);
	assert_int_equal(t.user, 1);
	/* Beyond the identity map (1 GiB) nothing is mapped. */
	assert_int_equal(vmm_virt_translate(fx.vcpu, 1ull << 31, &t), VMM_ENOENT);
	assert_non_null(strstr(vmm_last_error(), "not mapped"));
	assert_int_equal(vmm_virt_translate(fx.vcpu, 0x800000000000ull, &t), VMM_ENOENT);
	assert_non_null(strstr(vmm_last_error(), "canonical"));
	/* Mapped (512 MiB) but outside the 64 MiB of RAM. */
	assert_int_equal(vmm_virt_read(fx.vcpu, 512u << 20, buf, 4), VMM_ERANGE);
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7);
	assert_int_equal(vmm_virt_write(fx.vcpu, FX_DATA + 100, buf, sizeof(buf)), 0);
	assert_int_equal(vmm_mem_read(fx.vm, FX_DATA + 100, back, sizeof(back)), 0);
	assert_memory_equal(buf, back, sizeof(buf));
	memset(back, 0, sizeof(back));
	assert_int_equal(vmm_virt_read(fx.vcpu, FX_DATA + 100, back, sizeof(back)), 0);
	assert_memory_equal(buf, back, sizeof(back));
	/* A write to code by virtual address takes effect (cached code dropped). */
	et_run(&fx, VMM_EXIT_HLT);
	buf[0] = 0xb8; buf[1] = 9; buf[2] = buf[3] = buf[4] = 0;   /* mov $9, %eax */
	assert_int_equal(vmm_virt_write(fx.vcpu, FX_CODE, buf, 5), 0);
	{
		vmm_regs g = fx_regs(&fx);

		g.rip = FX_CODE;
		assert_int_equal(vmm_vcpu_set_regs(fx.vcpu, &g), 0);
	}
	et_run(&fx, VMM_EXIT_HLT);
	assert_int_equal(fx_regs(&fx).rax, 11);
	fx_destroy(&fx);
}

EMU_GUEST64(g_fpu, "fldpi\n fld1\n mov $0x3ff0000000000000, %rax\n movq %rax, %xmm3\n hlt");

static void test_fpu_state(void **state)
{
	emu_fx fx;
	vmm_fpu f;
	vmm_dregs d;
	long double one = 1.0L;
	uint64_t q;

	et_setup(&fx, g_fpu, EMU_LEN(g_fpu));
	assert_int_equal(vmm_vcpu_get_dregs(fx.vcpu, &d), 0);
	assert_int_equal(d.dr[7], 0x400);
	et_run(&fx, VMM_EXIT_HLT);
	assert_int_equal(vmm_vcpu_get_fpu(fx.vcpu, &f), 0);
	assert_memory_equal(f.st[0], &one, 10);             /* ST(0) = 1 */
	assert_int_equal((f.fsw >> 11) & 7, 6);             /* two pushes */
	assert_int_equal(f.ftw, 0x0fff);         /* R7 (pi), R6 (1) valid, rest empty */
	memcpy(&q, f.xmm[3], 8);
	assert_int_equal(q, 0x3ff0000000000000ull);
	assert_int_equal(f.mxcsr, 0x1f80);
	f.mxcsr = 0x1f80 | 0x6000;                          /* round toward zero */
	assert_int_equal(vmm_vcpu_set_fpu(fx.vcpu, &f), 0);
	memset(&f, 0, sizeof(f));
	assert_int_equal(vmm_vcpu_get_fpu(fx.vcpu, &f), 0);
	assert_int_equal(f.mxcsr, 0x7f80);
	assert_memory_equal(f.st[0], &one, 10);
	fx_destroy(&fx);
}

static void test_caps(void **state)
{
	emu_fx fx;
	vmm_hook_caps caps = VMM_HOOK_CAPS_INIT;

	et_setup(&fx, g_seq, EMU_LEN(g_seq));
	assert_int_equal(vmm_introspect_caps(fx.vm, &caps), 0);
	for (unsigned t = VMM_EV_BREAK; t <= VMM_EV_MAX; t++)
		assert_true(caps.events & (1u << t));
	assert_true(caps.flags & VMM_ICAP_INVISIBLE_BREAK);
	caps.size = 4;
	assert_int_equal(vmm_introspect_caps(fx.vm, &caps), VMM_EINVAL);
	fx_destroy(&fx);
}

EMU_GUEST64(g_lmsw, "lmsw 0x200000\n mov $9, %ecx\n hlt");

/* One instruction raising two events (a read watch, then a CR0 write):
 * both handled, the instruction completes once. */
static void test_watch_and_cr_in_one_insn(void **state)
{
	emu_fx fx;
	rec w = { 0 }, c = { 0 };
	uint16_t msw = 0x33;

	et_setup(&fx, g_lmsw, EMU_LEN(g_lmsw));
	assert_int_equal(vmm_mem_write(fx.vm, FX_DATA, &msw, 2), 0);
	add_hook(&fx, VMM_EV_WATCH, FX_DATA, 2, VMM_MEM_READ, 0, &w);
	add_hook(&fx, VMM_EV_CR_WRITE, 0, 0, 0, 0, &c);
	et_run(&fx, VMM_EXIT_HLT);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.ev[0].value & 0xffff, 0x33);
	assert_true(w.n <= 1);
	assert_int_equal(fx_regs(&fx).rcx, 9);
	fx_destroy(&fx);
}

static void test_core_dump(void **state)
{
	emu_fx fx;
	char path[] = "/tmp/test_introspect_coreXXXXXX";
	int fd = mkstemp(path);
	uint8_t hdr[64], ph[56];
	uint16_t type, machine, phnum;
	uint32_t ptype;
	uint64_t vaddr, filesz, off;
	uint8_t code[13];

	assert_true(fd >= 0);
	et_setup(&fx, g_seq, EMU_LEN(g_seq));
	et_run(&fx, VMM_EXIT_HLT);
	assert_int_equal(vmm_core_dump(fx.vm, path), 0);
	assert_int_equal(pread(fd, hdr, 64, 0), 64);
	assert_memory_equal(hdr, "\177ELF\2\1\1", 7);
	memcpy(&type, hdr + 16, 2);
	memcpy(&machine, hdr + 18, 2);
	memcpy(&phnum, hdr + 56, 2);
	assert_int_equal(type, 4);          /* ET_CORE */
	assert_int_equal(machine, 62);      /* EM_X86_64 */
	assert_int_equal(phnum, 2);         /* notes + the one RAM slot */
	assert_int_equal(pread(fd, ph, 56, 64 + 56), 56);   /* the PT_LOAD */
	memcpy(&ptype, ph, 4);
	memcpy(&off, ph + 8, 8);
	memcpy(&vaddr, ph + 16, 8);
	memcpy(&filesz, ph + 32, 8);
	assert_int_equal(ptype, 1);
	assert_int_equal(vaddr, 0);
	assert_int_equal(filesz, fx.mem_size);
	assert_int_equal(pread(fd, code, sizeof(code), (off_t)(off + FX_CODE)), sizeof(code));
	assert_memory_equal(code, g_seq, sizeof(code));
	close(fd);
	unlink(path);
	assert_int_equal(vmm_core_dump(fx.vm, "/nonexistent/dir/core"), VMM_EIO);
	assert_int_equal(vmm_core_dump(NULL, path), VMM_EINVAL);
	fx_destroy(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_break_continue_invisible),
		cmocka_unit_test(test_break_skip_and_del),
		cmocka_unit_test(test_break_stop),
		cmocka_unit_test(test_step),
		cmocka_unit_test(test_watch_write_after),
		cmocka_unit_test(test_watch_read),
		cmocka_unit_test(test_page_write_blocked),
		cmocka_unit_test(test_page_exec),
		cmocka_unit_test(test_cr3_write),
		cmocka_unit_test(test_msr_write),
		cmocka_unit_test(test_cpuid_emulated_by_monitor),
		cmocka_unit_test(test_hlt),
		cmocka_unit_test(test_exception_skip),
		cmocka_unit_test(test_inject_from_break),
		cmocka_unit_test(test_pause),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_virt_memory),
		cmocka_unit_test(test_fpu_state),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_core_dump),
		cmocka_unit_test(test_watch_and_cr_in_one_insn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
