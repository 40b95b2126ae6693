/* test_kvm_util.h - helpers shared by the kvm backend's unit tests: skip
 * when /dev/kvm is unusable, VMs on the kvm backend, hand-made guest state
 * (real mode and 64-bit long mode) and exit assertions.
 *
 * Guest code is assembled into the test binary by GNU as: GUEST16(name,
 * "asm") defines name[] and name_end[] holding 16-bit code. */
#ifndef TEST_KVM_UTIL_H
#define TEST_KVM_UTIL_H

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/internal.h"

#define GUEST_CODE(name, mode, text)                                          \
	extern const uint8_t name[], name##_end[];                            \
	__asm__(".pushsection .rodata\n" mode "\n" #name ":\n" text "\n"      \
		#name "_end:\n.code64\n.popsection\n")
#define GUEST16(name, text) GUEST_CODE(name, ".code16", text)
#define GUEST64(name, text) GUEST_CODE(name, ".code64", text)
#define GUEST_LEN(name) ((size_t)(name##_end - name))

#define KT_CODE 0x1000ull     /* where guest code goes */
#define KT_RAM (512u << 10)   /* guest RAM [0, 512 KiB): 0x80000+ is not RAM */

/* The kvm backend's probe; skips the calling test (with the reason printed)
 * when it is not usable here. */
static inline void kt_require_kvm(void)
{
	vmm_backend_info info = VMM_BACKEND_INFO_INIT;

	for (uint32_t i = 0; vmm_backends(i, &info) == 0; i++) {
		if (strcmp(info.name, "kvm") != 0)
			continue;
		if (info.usable)
			return;
		print_message("# SKIP reason: kvm backend not usable here: %s\n", info.reason);
		skip();
	}
	print_message("# SKIP reason: no kvm backend in the registry\n");
	skip();
}

static inline vmm_vm *kt_vm(uint32_t flags)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	vmm_vm *vm = NULL;

	kt_require_kvm();
	cfg.backend = "kvm";
	cfg.mem_size = KT_RAM;
	cfg.flags = flags;
	if (vmm_vm_create(&cfg, &vm) != 0)
		fail_msg("vmm_vm_create(kvm): %s", vmm_last_error());
	assert_string_equal(vmm_vm_backend(vm), "kvm");
	return vm;
}

static inline int kt_is_pvm(const vmm_vm *vm)
{
	return strcmp(vmm_vm_flavour(vm), "kvm_pvm") == 0;
}

/* Skips the calling test inside the svm test host (QEMU 7.2 TCG's nested
 * SVM; tests/hosts/host-batch sets VMM_TEST_HOST) for a limit measured
 * there, named by why. */
static inline void kt_skip_in_svm_host(vmm_vm *vm, const char *why)
{
	const char *h = getenv("VMM_TEST_HOST");

	if (!h || strcmp(h, "svm") != 0)
		return;
	vmm_vm_destroy(vm);
	print_message("# SKIP reason: in the svm test host (QEMU 7.2 TCG, nested SVM) %s "
		      "(measured)\n", why);
	skip();
}

/* The same for the vmx test host (Bochs 2.7's VT-x). */
static inline void kt_skip_in_vmx_host(vmm_vm *vm, const char *why)
{
	const char *h = getenv("VMM_TEST_HOST");

	if (!h || strcmp(h, "vmx") != 0)
		return;
	vmm_vm_destroy(vm);
	print_message("# SKIP reason: in the vmx test host (Bochs 2.7, nested VT-x) %s\n", why);
	skip();
}

static inline void kt_set_real_ip(vmm_vcpu *vcpu, uint64_t ip)
{
	vmm_regs r;

	assert_int_equal(vmm_vcpu_get_regs(vcpu, &r), 0);
	r.rip = ip;
	assert_int_equal(vmm_vcpu_set_regs(vcpu, &r), 0);
}

/* Real mode, CS = 0, IP = ip, code copied to ip. */
/* vCPU INDEX in real mode at 0:ip. */
static inline vmm_vcpu *kt_vcpu_real_at(vmm_vm *vm, uint32_t index, uint64_t ip)
{
	vmm_vcpu *vcpu = NULL;
	vmm_sregs s;

	assert_int_equal(vmm_vcpu_create(vm, index, &vcpu), 0);
	assert_int_equal(vmm_vcpu_get_sregs(vcpu, &s), 0);
	s.cs.selector = 0;
	s.cs.base = 0;
	assert_int_equal(vmm_vcpu_set_sregs(vcpu, &s), 0);
	kt_set_real_ip(vcpu, ip);
	return vcpu;
}

static inline vmm_vcpu *kt_vcpu_real(vmm_vm *vm, const void *code, size_t len,
				     uint64_t ip)
{
	assert_int_equal(vmm_mem_write(vm, ip, code, len), 0);
	return kt_vcpu_real_at(vm, 0, ip);
}

/* 64-bit long mode at CPL0: GDT at 0x500 (null, code 0x08, data 0x10),
 * identity page tables at 0x10000 mapping [0, 1 GiB) with 2 MiB pages, RIP =
 * ip, RSP = 0x8000. Guest RAM ends at KT_RAM, so 0x90000 etc. is MMIO. */
#define KT_GDT 0x500ull
#define KT_PML4 0x10000ull

static inline void kt_seg64(vmm_segment *s, uint16_t sel, uint8_t type, uint8_t l)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->l = l;
	s->db = !l;
	s->g = 1;
}

static inline void kt_write_long_tables(vmm_vm *vm)
{
	const uint64_t gdt[3] = { 0, 0x00af9a000000ffffull, 0x00cf92000000ffffull };
	uint64_t pml4e = (KT_PML4 + 0x1000) | 3, pdpte = (KT_PML4 + 0x2000) | 3;
	uint64_t pd[512];

	for (int i = 0; i < 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83;  /* present, writable, 2 MiB */
	assert_int_equal(vmm_mem_write(vm, KT_GDT, gdt, sizeof(gdt)), 0);
	assert_int_equal(vmm_mem_write(vm, KT_PML4, &pml4e, 8), 0);
	assert_int_equal(vmm_mem_write(vm, KT_PML4 + 0x1000, &pdpte, 8), 0);
	assert_int_equal(vmm_mem_write(vm, KT_PML4 + 0x2000, pd, sizeof(pd)), 0);
}

static inline void kt_set_long_mode(vmm_vcpu *vcpu, uint64_t ip)
{
	vmm_sregs s;
	vmm_regs r;

	assert_int_equal(vmm_vcpu_get_sregs(vcpu, &s), 0);
	kt_seg64(&s.cs, 0x08, 0xb, 1);
	kt_seg64(&s.ds, 0x10, 0x3, 0);
	s.es = s.ss = s.fs = s.gs = s.ds;
	s.gdt.base = KT_GDT;
	s.gdt.limit = 3 * 8 - 1;
	s.cr3 = KT_PML4;
	s.cr4 = 0x20;                 /* PAE */
	s.cr0 = 0x80000033;           /* PG NE ET MP PE */
	s.efer = 0x500;               /* LMA LME */
	assert_int_equal(vmm_vcpu_set_sregs(vcpu, &s), 0);
	memset(&r, 0, sizeof(r));
	r.rip = ip;
	r.rsp = 0x8000;
	r.rflags = 0x2;
	assert_int_equal(vmm_vcpu_set_regs(vcpu, &r), 0);
}

static inline vmm_vcpu *kt_vcpu_long(vmm_vm *vm, const void *code, size_t len,
				     uint64_t ip)
{
	vmm_vcpu *vcpu = NULL;

	assert_int_equal(vmm_vcpu_create(vm, 0, &vcpu), 0);
	kt_write_long_tables(vm);
	assert_int_equal(vmm_mem_write(vm, ip, code, len), 0);
	kt_set_long_mode(vcpu, ip);
	return vcpu;
}

static inline vmm_exit *kt_run(vmm_vcpu *vcpu)
{
	vmm_exit *exit = NULL;

	if (vmm_vcpu_run(vcpu, &exit) != 0)
		fail_msg("vmm_vcpu_run: %s", vmm_last_error());
	assert_non_null(exit);
	if (exit->reason == VMM_EXIT_INTERNAL_ERROR)
		print_message("# internal error exit: %s\n", exit->internal.message);
	return exit;
}

typedef struct kt_guard {
	vmm_vcpu *vcpu;
	unsigned ms;
	atomic_int done;
} kt_guard;

static inline void *kt_guard_thread(void *arg)
{
	kt_guard *g = arg;

	for (unsigned i = 0; i < g->ms && !atomic_load(&g->done); i++)
		usleep(1000);
	if (!atomic_load(&g->done))
		vmm_vcpu_kick(g->vcpu);
	return NULL;
}

/* kt_run, but a guest that does not exit within ms milliseconds is kicked
 * (the exit is then VMM_EXIT_CANCELLED). */
static inline vmm_exit *kt_run_guarded(vmm_vcpu *vcpu, unsigned ms)
{
	kt_guard g = { vcpu, ms, 0 };
	pthread_t thread;
	vmm_exit *exit;

	assert_int_equal(pthread_create(&thread, NULL, kt_guard_thread, &g), 0);
	exit = kt_run(vcpu);
	atomic_store(&g.done, 1);
	assert_int_equal(pthread_join(thread, NULL), 0);
	return exit;
}

static inline vmm_exit *kt_expect_io(vmm_vcpu *vcpu, uint16_t port, uint8_t size,
				     uint8_t direction, uint32_t data)
{
	vmm_exit *exit = kt_run(vcpu);

	assert_int_equal(exit->reason, VMM_EXIT_IO);
	assert_int_equal(exit->io.port, port);
	assert_int_equal(exit->io.size, size);
	assert_int_equal(exit->io.direction, direction);
	if (direction == VMM_IO_OUT)
		assert_int_equal(exit->io.data, data);
	assert_int_equal(exit->vcpu_index, vmm_vcpu_index(vcpu));
	return exit;
}

static inline vmm_exit *kt_expect_mmio(vmm_vcpu *vcpu, uint64_t addr, uint8_t size,
				       uint8_t is_write, uint64_t data)
{
	vmm_exit *exit = kt_run(vcpu);

	assert_int_equal(exit->reason, VMM_EXIT_MMIO);
	assert_int_equal(exit->mmio.addr, addr);
	assert_int_equal(exit->mmio.size, size);
	assert_int_equal(exit->mmio.is_write, is_write);
	if (is_write)
		assert_int_equal(exit->mmio.data, data);
	return exit;
}

static inline void kt_expect_hlt(vmm_vcpu *vcpu)
{
	assert_int_equal(kt_run(vcpu)->reason, VMM_EXIT_HLT);
}

static inline vmm_regs kt_regs(vmm_vcpu *vcpu)
{
	vmm_regs r;

	assert_int_equal(vmm_vcpu_get_regs(vcpu, &r), 0);
	return r;
}

#endif /* TEST_KVM_UTIL_H */
