/* emu_fuzz.h - infrastructure for test_emu_fuzz.c: a deterministic PRNG
 * (seed and iteration count overridable from the environment), guest RAM in
 * host memory fenced by PROT_NONE guard pages (an out-of-bounds host access
 * crashes instead of going unnoticed), an emu VM in the docs/boot.md state
 * (or 32-bit protected, compatibility or real mode), a watchdog thread that
 * kicks runs over budget and aborts runs that do not return, and a run loop
 * that checks every exit is one the API allows. */
#ifndef EMU_FUZZ_H
#define EMU_FUZZ_H

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm.h"

/* ---- Guest layout ---------------------------------------------------------- */
#define FZ_RAM 0x410000ull           /* RAM [0, 4 MiB + 64 KiB), guarded: not
					 * 2 MiB aligned, so large pages straddle its end */
#define FZ_GDT 0x1000ull
#define FZ_TSS 0x1080ull
#define FZ_PML4 0x2000ull
#define FZ_PDPT 0x3000ull
#define FZ_PD 0x4000ull              /* 4 directories: 0x4000 - 0x7fff, 4 GiB */
#define FZ_IDT 0x8000ull             /* 256 x 16 bytes */
#define FZ_STUBS 0x9000ull           /* exception handler stubs */
#define FZ_PD32 0xa000ull            /* 32-bit paging: 1024 x 4 MiB PDEs */
#define FZ_PDPT_PAE 0xb000ull        /* PAE: 4 PDPTEs -> FZ_PD.. */
#define FZ_PT 0xc000ull              /* a spare page table */
#define FZ_CODE 0x10000ull           /* code pages */
#define FZ_DATA 0x20000ull
#define FZ_ROM 0x800000ull           /* 64 KiB read-only (+exec) slot */
#define FZ_ROM_SIZE 0x10000ull
#define FZ_XTRA 0x40000000ull        /* 64 KiB RW slot at 1 GiB */
#define FZ_XTRA_SIZE 0x10000ull

enum { FZ_LONG = 0, FZ_PROT32, FZ_PROT32_PSE, FZ_PROT32_PAE, FZ_COMPAT, FZ_REAL,
       FZ_NMODES };

/* ---- PRNG: xorshift64, one stream per case ------------------------------------- */
typedef struct fz_rng {
	uint64_t s;
} fz_rng;

static inline uint64_t fz_next(fz_rng *r)
{
	uint64_t x = r->s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return r->s = x;
}

static inline uint32_t fz_below(fz_rng *r, uint32_t n)
{
	return n ? (uint32_t)(fz_next(r) % n) : 0;
}

/* SplitMix64 finaliser: the seed of case i of a run seeded with s. */
static inline uint64_t fz_mix(uint64_t s, uint64_t i)
{
	uint64_t z = s + (i + 1) * 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return z ? z : 1;
}

static inline uint64_t fz_env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

static inline int fz_verbose(void)
{
	return (int)fz_env_u64("VMM_FUZZ_VERBOSE", 0);
}

/* ---- Guarded host memory ---------------------------------------------------------- */

/* size bytes (page multiple) with an inaccessible page on each side. */
static inline uint8_t *fz_guarded(size_t size)
{
	uint8_t *p = mmap(NULL, size + 2 * 4096, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	assert_true(p != MAP_FAILED);
	assert_int_equal(mprotect(p + 4096, size, PROT_READ | PROT_WRITE), 0);
	return p + 4096;
}

/* Zeroes guarded memory cheaply (untouched pages stay unbacked). */
static inline void fz_zero(uint8_t *p, size_t size)
{
	assert_int_equal(madvise(p, size, MADV_DONTNEED), 0);
}

/* ---- The VM ----------------------------------------------------------------------- */
typedef struct fz_vm {
	vmm_vm *vm;
	vmm_vcpu *vcpu[2];
	uint32_t nvcpus;
	int mode;
	uint64_t xtra;       /* where the spare slot is mapped */
} fz_vm;

static uint64_t fz_xtra_at = FZ_XTRA;   /* the spare slot, for the exit checks */

typedef struct fz_mem {
	uint8_t *ram, *rom, *xtra;
} fz_mem;

/* What the ROM must hold: only the host writes it. */
static uint8_t fz_rom_expect[FZ_ROM_SIZE];

static inline fz_mem *fz_host_mem(void)
{
	static fz_mem m;

	if (!m.ram) {
		m.ram = fz_guarded(FZ_RAM);
		m.rom = fz_guarded(FZ_ROM_SIZE);
		m.xtra = fz_guarded(FZ_XTRA_SIZE);
	}
	return &m;
}

static inline void fz_write(fz_vm *f, uint64_t gpa, const void *p, size_t n)
{
	assert_int_equal(vmm_mem_write(f->vm, gpa, p, n), 0);
	if (gpa >= FZ_ROM && gpa - FZ_ROM < FZ_ROM_SIZE)
		memcpy(fz_rom_expect + (gpa - FZ_ROM), p, n);
}

static inline void fz_w64(fz_vm *f, uint64_t gpa, uint64_t v)
{
	fz_write(f, gpa, &v, 8);
}

static inline void fz_w32(fz_vm *f, uint64_t gpa, uint32_t v)
{
	fz_write(f, gpa, &v, 4);
}

/* GDT and TSS as docs/boot.md (plus a 16-bit code and a DPL 3 code/data
 * pair), the 4 GiB identity map with 2 MiB pages, 32-bit and PAE tables. */
static inline void fz_tables(fz_vm *f)
{
	static const uint64_t gdt[] = {
		0, 0x00af9b000000ffffull, 0x00cf93000000ffffull, 0x00cf9b000000ffffull,
		0x00008b0010800067ull, 0, 0x00009b000000ffffull, 0x00affb000000ffffull,
		0x00cff3000000ffffull,
	};

	fz_write(f, FZ_GDT, gdt, sizeof(gdt));
	fz_write(f, FZ_TSS + 0x66, &(uint16_t){ 0x68 }, 2);
	fz_w64(f, FZ_PML4, FZ_PDPT | 3);
	for (uint64_t i = 0; i < 4; i++) {
		fz_w64(f, FZ_PDPT + i * 8, (FZ_PD + i * 0x1000) | 3);
		fz_w64(f, FZ_PDPT_PAE + i * 8, (FZ_PD + i * 0x1000) | 1);
	}
	for (uint64_t i = 0; i < 4 * 512; i++)
		fz_w64(f, FZ_PD + i * 8, (i << 21) | 0x83);
	for (uint64_t i = 0; i < 1024; i++)
		fz_w32(f, FZ_PD32 + i * 4, (uint32_t)(i << 22) | 0x83);
}

static inline void fz_seg(vmm_segment *s, uint16_t sel, uint8_t type, int l, int db,
			  uint64_t base, uint32_t limit)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = base;
	s->limit = limit;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->l = (uint8_t)l;
	s->db = (uint8_t)db;
	s->g = limit == 0xffffffffu;
}

/* Segment and control registers for mode (see the FZ_* modes). */
static inline void fz_mode_sregs(vmm_sregs *s, int mode)
{
	uint16_t cs = mode == FZ_LONG ? 0x08 : 0x18;

	fz_seg(&s->cs, cs, 0xb, mode == FZ_LONG, mode != FZ_LONG, 0, 0xffffffffu);
	fz_seg(&s->ds, 0x10, 0x3, 0, 1, 0, 0xffffffffu);
	memset(&s->tr, 0, sizeof(s->tr));
	s->tr.selector = 0x20;
	s->tr.base = FZ_TSS;
	s->tr.limit = 0x67;
	s->tr.type = 0xb;
	s->tr.present = 1;
	memset(&s->ldt, 0, sizeof(s->ldt));
	s->ldt.unusable = 1;
	s->gdt.base = FZ_GDT;
	s->gdt.limit = 0x47;
	s->idt.base = 0;
	s->idt.limit = 0;
	s->cr2 = s->cr8 = 0;
	s->cr0 = 0x11;
	s->cr3 = s->cr4 = s->efer = 0;
	switch (mode) {
	case FZ_LONG: case FZ_COMPAT:
		s->cr0 = 0x80010033; s->cr3 = FZ_PML4; s->cr4 = 0x620; s->efer = 0xd00; break;
	case FZ_PROT32_PSE:
		s->cr0 = 0x80010033; s->cr3 = FZ_PD32; s->cr4 = 0x610; break;
	case FZ_PROT32_PAE:
		s->cr0 = 0x80010033; s->cr3 = FZ_PDPT_PAE; s->cr4 = 0x620; s->efer = 0x800; break;
	case FZ_REAL:
		s->cr0 = 0x10;
		fz_seg(&s->cs, (uint16_t)(FZ_CODE >> 4), 0xb, 0, 0, FZ_CODE, 0xffff);
		fz_seg(&s->ds, 0, 0x3, 0, 0, 0, 0xffff);
		break;
	}
	s->es = s->ss = s->fs = s->gs = s->ds;
}

static inline void fz_set_mode(fz_vm *f, vmm_vcpu *vcpu, int mode)
{
	vmm_sregs s;

	assert_int_equal(vmm_vcpu_get_sregs(vcpu, &s), 0);
	fz_mode_sregs(&s, mode);
	assert_int_equal(vmm_vcpu_set_sregs(vcpu, &s), 0);
	f->mode = mode;
}

/* A VM on emu with guarded RAM, a ROM slot and a spare slot, the tables,
 * nvcpus vCPUs in mode, RSP at the top of RAM. */
static inline void fz_create(fz_vm *f, int mode, uint32_t nvcpus, uint32_t flags)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	fz_mem *m = fz_host_mem();

	memset(f, 0, sizeof(*f));
	cfg.backend = "emu";
	cfg.mem_size = FZ_RAM;
	cfg.vcpus = nvcpus;
	cfg.flags = flags;
	assert_int_equal(vmm_vm_create(&cfg, &f->vm), 0);
	assert_int_equal(vmm_mem_unmap(f->vm, 0, FZ_RAM), 0);
	fz_zero(m->ram, FZ_RAM);
	fz_zero(m->rom, FZ_ROM_SIZE);
	memset(fz_rom_expect, 0, sizeof(fz_rom_expect));
	fz_zero(m->xtra, FZ_XTRA_SIZE);
	assert_int_equal(vmm_mem_map(f->vm, 0, FZ_RAM, VMM_MEM_RW, m->ram), 0);
	assert_int_equal(vmm_mem_map(f->vm, FZ_ROM, FZ_ROM_SIZE, VMM_MEM_RO, m->rom), 0);
	assert_int_equal(vmm_mem_map(f->vm, FZ_XTRA, FZ_XTRA_SIZE, VMM_MEM_RW, m->xtra), 0);
	fz_tables(f);
	f->xtra = fz_xtra_at = FZ_XTRA;
	f->nvcpus = nvcpus;
	for (uint32_t i = 0; i < nvcpus; i++) {
		vmm_regs r;

		assert_int_equal(vmm_vcpu_create(f->vm, i, &f->vcpu[i]), 0);
		fz_set_mode(f, f->vcpu[i], mode);
		memset(&r, 0, sizeof(r));
		r.rip = mode == FZ_REAL ? 0 : FZ_CODE;
		r.rsp = FZ_RAM - 8 - i * 0x10000;
		r.rflags = 2;
		assert_int_equal(vmm_vcpu_set_regs(f->vcpu[i], &r), 0);
	}
}

/* Destroys the VM; the guest must not have changed the read-only slot. */
static inline void fz_destroy(fz_vm *f)
{
	const uint8_t *rom = fz_host_mem()->rom;

	vmm_vm_destroy(f->vm);
	f->vm = NULL;
	for (size_t i = 0; i < FZ_ROM_SIZE; i++)
		if (rom[i] != fz_rom_expect[i])
			fail_msg("the guest changed read-only memory at gpa 0x%llx: 0x%02x, "
				 "expected 0x%02x", (unsigned long long)(FZ_ROM + i), rom[i],
				 fz_rom_expect[i]);
}

static inline vmm_regs fz_regs(vmm_vcpu *vcpu)
{
	vmm_regs r;

	assert_int_equal(vmm_vcpu_get_regs(vcpu, &r), 0);
	return r;
}

static inline void fz_set_regs(vmm_vcpu *vcpu, const vmm_regs *r)
{
	assert_int_equal(vmm_vcpu_set_regs(vcpu, r), 0);
}

/* Sets one register: FZ_SET_REG(vcpu, rax, 1). */
static inline void fz_set_reg(vmm_vcpu *vcpu, size_t off, uint64_t v)
{
	vmm_regs g = fz_regs(vcpu);

	memcpy((uint8_t *)&g + off, &v, 8);
	fz_set_regs(vcpu, &g);
}
#define FZ_SET_REG(vcpu, name, v) fz_set_reg((vcpu), offsetof(vmm_regs, name), (v))

/* ---- Watchdog --------------------------------------------------------------------- */
#define FZ_HANG_MS 10000u    /* a run not back this long after its kick: hang */

typedef struct fz_watchdog {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	vmm_vcpu *vcpu;          /* armed for this vCPU, or NULL */
	struct timespec kick_at;
	int kicked, quit;
	char label[200];
} fz_watchdog;

static fz_watchdog fz_wd = { .lock = PTHREAD_MUTEX_INITIALIZER };

static inline void fz_ts_add_ms(struct timespec *t, uint64_t ms)
{
	t->tv_sec += (time_t)(ms / 1000);
	t->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static inline uint64_t fz_now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

static void *fz_wd_main(void *arg)
{
	fz_watchdog *w = arg;

	pthread_mutex_lock(&w->lock);
	while (!w->quit) {
		int rc = w->vcpu ? pthread_cond_timedwait(&w->cond, &w->lock, &w->kick_at)
				 : pthread_cond_wait(&w->cond, &w->lock);

		if (rc != ETIMEDOUT || !w->vcpu)
			continue;
		if (w->kicked) {
			fprintf(stderr, "emu fuzz: HANG: run not back %u ms after its kick: %s\n",
				FZ_HANG_MS, w->label);
			abort();
		}
		vmm_vcpu_kick(w->vcpu);
		w->kicked = 1;
		fz_ts_add_ms(&w->kick_at, FZ_HANG_MS);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static inline void fz_wd_start(void)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&fz_wd.cond, &a);
	fz_wd.quit = 0;
	assert_int_equal(pthread_create(&fz_wd.thread, NULL, fz_wd_main, &fz_wd), 0);
}

static inline void fz_wd_stop(void)
{
	pthread_mutex_lock(&fz_wd.lock);
	fz_wd.quit = 1;
	pthread_cond_signal(&fz_wd.cond);
	pthread_mutex_unlock(&fz_wd.lock);
	pthread_join(fz_wd.thread, NULL);
}

/* Kicks vcpu after budget_ms; aborts naming label if it then hangs. */
static inline void fz_wd_arm(vmm_vcpu *vcpu, uint64_t budget_ms, const char *label)
{
	pthread_mutex_lock(&fz_wd.lock);
	fz_wd.vcpu = vcpu;
	fz_wd.kicked = 0;
	snprintf(fz_wd.label, sizeof(fz_wd.label), "%s", label);
	clock_gettime(CLOCK_MONOTONIC, &fz_wd.kick_at);
	fz_ts_add_ms(&fz_wd.kick_at, budget_ms);
	pthread_cond_signal(&fz_wd.cond);
	pthread_mutex_unlock(&fz_wd.lock);
}

/* Returns 1 if the watchdog kicked. */
static inline int fz_wd_disarm(void)
{
	int k;

	pthread_mutex_lock(&fz_wd.lock);
	fz_wd.vcpu = NULL;
	k = fz_wd.kicked;
	pthread_cond_signal(&fz_wd.cond);
	pthread_mutex_unlock(&fz_wd.lock);
	return k;
}

/* ---- Exit checks ------------------------------------------------------------------ */
typedef struct fz_stats {
	uint64_t cases, runs, exits[VMM_EXIT_DEBUG_EXIT + 1];
	uint64_t max_run_us;
	char errs[16][72];       /* distinct internal-error messages (prefixes) */
	uint64_t err_count[16];
	unsigned nerrs;
} fz_stats;

static fz_stats fz_st;

static inline void fz_note_error(const char *msg)
{
	char key[72];
	size_t n = strcspn(msg, "0123456789([");

	snprintf(key, sizeof(key), "%.*s", (int)(n < 71 ? n : 71), msg);
	for (unsigned i = 0; i < fz_st.nerrs; i++)
		if (!strcmp(fz_st.errs[i], key)) {
			fz_st.err_count[i]++;
			return;
		}
	if (fz_st.nerrs < 16) {
		snprintf(fz_st.errs[fz_st.nerrs], sizeof(fz_st.errs[0]), "%s", key);
		fz_st.err_count[fz_st.nerrs++] = 1;
	}
}

static inline int fz_overlaps(uint64_t a, uint64_t n, uint64_t base, uint64_t size)
{
	return a < base + size && base < a + n;
}

static inline int fz_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* An internal error names the instruction: "rip 0x<hex>: <hex bytes>", or
 * "rip 0x<hex>: bytes unreadable" when the code is not in RAM. */
static inline int fz_names_insn(const char *msg)
{
	for (const char *p = strstr(msg, "rip 0x"); p; p = strstr(p + 1, "rip 0x")) {
		const char *q = p + 6;

		while (fz_hex(*q))
			q++;
		if (q == p + 6 || *q != ':')
			continue;
		if (!strncmp(q, ": bytes unreadable", 18) ||
		    (q[1] == ' ' && fz_hex(q[2]) && fz_hex(q[3])))
			return 1;
	}
	return 0;
}

/* What is wrong with exit e of vCPU index (message in buf), or 0. */
static inline int fz_exit_problem(const vmm_exit *e, uint32_t index, char *buf, size_t size)
{
	const char *m = e->internal.message;

	if (e->vcpu_index != index)
		return snprintf(buf, size, "exit of vCPU %u reports index %u", index, e->vcpu_index);
	switch (e->reason) {
	case VMM_EXIT_IO:
		if ((e->io.size != 1 && e->io.size != 2 && e->io.size != 4) || e->io.direction > 1)
			return snprintf(buf, size, "IO exit size %u direction %u", e->io.size,
					e->io.direction);
		return 0;
	case VMM_EXIT_MMIO:
		if ((e->mmio.size != 1 && e->mmio.size != 2 && e->mmio.size != 4 &&
		     e->mmio.size != 8) || e->mmio.is_write > 1)
			return snprintf(buf, size, "MMIO exit size %u is_write %u", e->mmio.size,
					e->mmio.is_write);
		if (fz_overlaps(e->mmio.addr, e->mmio.size, 0, FZ_RAM) ||
		    fz_overlaps(e->mmio.addr, e->mmio.size, fz_xtra_at, FZ_XTRA_SIZE) ||
		    (fz_overlaps(e->mmio.addr, e->mmio.size, FZ_ROM, FZ_ROM_SIZE) &&
		     !e->mmio.is_write))
			return snprintf(buf, size, "MMIO exit for RAM: gpa 0x%llx size %u write %u",
					(unsigned long long)e->mmio.addr, e->mmio.size,
					e->mmio.is_write);
		return 0;
	case VMM_EXIT_INTERNAL_ERROR:
		if (!fz_names_insn(m))
			return snprintf(buf, size, "internal error does not name RIP and bytes: "
					"'%s'", m);
		for (const char *p = strstr(m, "rip 0x"); p; p = strstr(p + 1, "rip 0x"))
			if (strtoull(p + 4, NULL, 16) != e->rip)
				return snprintf(buf, size, "internal error at rip 0x%llx names "
						"another RIP: '%s'", (unsigned long long)e->rip, m);
		return 0;
	case VMM_EXIT_HLT: case VMM_EXIT_SHUTDOWN: case VMM_EXIT_HYPERCALL:
	case VMM_EXIT_CANCELLED: case VMM_EXIT_DEBUG_EXIT: case VMM_EXIT_SYSTEM_EVENT:
		return 0;
	default:
		return snprintf(buf, size, "illegal exit reason %u (rip 0x%llx)", e->reason,
				(unsigned long long)e->rip);
	}
}

/* Checks one exit of vCPU index; label names the case. */
static inline void fz_check_exit(const vmm_exit *e, uint32_t index, const char *label)
{
	char why[400];

	if (e->reason == VMM_EXIT_INTERNAL_ERROR)
		fz_note_error(e->internal.message);
	if (fz_exit_problem(e, index, why, sizeof(why)))
		fail_msg("%s: %s", label, why);
}

/* VMM_FUZZ_VERBOSE=2: every exit with the registers. */
static inline void fz_trace_exit(vmm_vcpu *vcpu, const vmm_exit *e)
{
	vmm_regs r;
	vmm_sregs s;

	vmm_vcpu_get_regs(vcpu, &r);
	vmm_vcpu_get_sregs(vcpu, &s);
	fprintf(stderr, "  exit %u rip 0x%llx io %u/%u/%u/0x%x mmio 0x%llx/%u/%u/0x%llx '%s'\n"
		"   rax %llx rbx %llx rcx %llx rdx %llx rsi %llx rdi %llx rsp %llx rbp %llx\n"
		"   rflags %llx cs %x/%llx/l%u/db%u cpl %u ss %x cr0 %llx cr3 %llx cr4 %llx "
		"efer %llx idt %llx/%x gdt %llx/%x\n", e->reason,
		(unsigned long long)e->rip, e->io.port, e->io.size, e->io.direction, e->io.data,
		(unsigned long long)e->mmio.addr, e->mmio.size, e->mmio.is_write,
		(unsigned long long)e->mmio.data,
		e->reason == VMM_EXIT_INTERNAL_ERROR ? e->internal.message : "",
		(unsigned long long)r.rax, (unsigned long long)r.rbx, (unsigned long long)r.rcx,
		(unsigned long long)r.rdx, (unsigned long long)r.rsi, (unsigned long long)r.rdi,
		(unsigned long long)r.rsp, (unsigned long long)r.rbp,
		(unsigned long long)r.rflags, s.cs.selector, (unsigned long long)s.cs.base,
		s.cs.l, s.cs.db, s.cs.selector & 3, s.ss.selector, (unsigned long long)s.cr0,
		(unsigned long long)s.cr3, (unsigned long long)s.cr4, (unsigned long long)s.efer,
		(unsigned long long)s.idt.base, s.idt.limit, (unsigned long long)s.gdt.base,
		s.gdt.limit);
}

/* One run under the watchdog; checks the exit and its duration. */
static inline vmm_exit *fz_run_once(vmm_vcpu *vcpu, uint64_t budget_ms, const char *label)
{
	vmm_exit *e = NULL;
	uint64_t t0 = fz_now_us(), dt;
	int rc;

	fz_wd_arm(vcpu, budget_ms, label);
	rc = vmm_vcpu_run(vcpu, &e);
	fz_wd_disarm();
	dt = fz_now_us() - t0;
	if (rc)
		fail_msg("%s: vmm_vcpu_run failed: %d %s", label, rc, vmm_last_error());
	fz_st.runs++;
	if (dt > fz_st.max_run_us)
		fz_st.max_run_us = dt;
	if (dt > (budget_ms + FZ_HANG_MS / 2) * 1000)
		fail_msg("%s: run took %llu ms (budget %llu ms)", label,
			 (unsigned long long)(dt / 1000), (unsigned long long)budget_ms);
	if (fz_verbose() >= 2)
		fz_trace_exit(vcpu, e);
	fz_check_exit(e, vmm_vcpu_index(vcpu), label);
	fz_st.exits[e->reason]++;
	return e;
}

/* Runs until a final exit or max_exits: IN / MMIO reads get random data,
 * hypercalls a random result, HLT and the others are resumed. Returns the
 * last exit. */
static inline vmm_exit *fz_run(vmm_vcpu *vcpu, fz_rng *r, unsigned max_exits,
			       uint64_t budget_ms, const char *label)
{
	vmm_exit *e = NULL;

	for (unsigned n = 0; n < max_exits; n++) {
		e = fz_run_once(vcpu, budget_ms, label);
		switch (e->reason) {
		case VMM_EXIT_IO: e->io.data = (uint32_t)fz_next(r); break;
		case VMM_EXIT_MMIO: e->mmio.data = fz_next(r); break;
		case VMM_EXIT_HYPERCALL: e->hypercall.ret = fz_next(r); break;
		case VMM_EXIT_HLT: case VMM_EXIT_DEBUG_EXIT: break;
		default: return e;
		}
	}
	return e;
}

/* Runs vCPU 0 once (2 s budget); the exit must have reason. */
static inline vmm_exit *fz_expect(fz_vm *f, uint32_t reason, const char *what)
{
	vmm_exit *e = fz_run_once(f->vcpu[0], 2000, what);

	if (e->reason != reason)
		fail_msg("%s: exit %u, expected %u (rip 0x%llx, '%s')", what, e->reason, reason,
			 (unsigned long long)e->rip,
			 e->reason == VMM_EXIT_INTERNAL_ERROR ? e->internal.message : "");
	return e;
}

static inline void fz_print_stats(const char *what)
{
	static const char *const names[] = { "none", "io", "mmio", "hlt", "shutdown",
		"hypercall", "cancelled", "internal", "fail_entry", "event", "debug_exit" };

	printf("[ fuzz     ] %s: %llu cases, %llu runs, max run %llu ms; exits:", what,
	       (unsigned long long)fz_st.cases, (unsigned long long)fz_st.runs,
	       (unsigned long long)(fz_st.max_run_us / 1000));
	for (unsigned i = 0; i <= VMM_EXIT_DEBUG_EXIT; i++)
		if (fz_st.exits[i])
			printf(" %s=%llu", names[i], (unsigned long long)fz_st.exits[i]);
	printf("\n");
	for (unsigned i = 0; i < fz_st.nerrs; i++)
		printf("[ fuzz     ]   %6llu x %s\n", (unsigned long long)fz_st.err_count[i],
		       fz_st.errs[i]);
	memset(&fz_st, 0, sizeof(fz_st));
}

#endif
