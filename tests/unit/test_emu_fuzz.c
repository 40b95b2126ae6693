/* test_emu_fuzz.c - the emu backend against hostile guests and callers.
 * Whatever the guest does (random bytes, valid-looking instruction soup
 * with system snippets, hostile page tables and descriptor tables, string
 * instructions with huge counts, devices that fail) and whatever the caller
 * changes between exits (registers, mode, random segment and control
 * registers, code, memory slots), every run returns promptly with an exit
 * the API allows, an internal error names the exit RIP and the code bytes,
 * MMIO exits never name RAM, the read-only slot never changes, and the host
 * never crashes (guest RAM is fenced by guard pages; run this under
 * ASan+UBSan too). Then the regressions fuzzing found, each with its fix.
 * test_emu_edge.c has the exact-result cases (strings at the end of RAM,
 * endless REPs, self-modifying code, two vCPUs).
 *
 * Deterministic: case i of a test uses the seed fz_mix(VMM_FUZZ_SEED ^ salt, i).
 * Environment: VMM_FUZZ_SEED (default 0x5eed), VMM_FUZZ_ITERS (cases per
 * fuzz test, default 1500), VMM_FUZZ_CASE (run only this case seed, printed
 * by a failing case), VMM_FUZZ_TEST (cmocka name filter, e.g. "test_api*"),
 * VMM_FUZZ_BUDGET_MS (kick after, default 5), VMM_FUZZ_VERBOSE=1 (print
 * every case) or 2 (and every exit with the registers), VMM_FUZZ_OPEN=1
 * (run the tests of open findings, which fail). */
#include "tests/unit/emu_fuzz_hostile.h"

static uint64_t g_seed;
static unsigned g_iters;

typedef struct fz_case {
	fz_rng r;
	uint64_t seed;
	char label[200];
} fz_case;

static uint64_t budget_ms(void)
{
	return fz_env_u64("VMM_FUZZ_BUDGET_MS", 5);
}

/* Calls fn for every case of a fuzz test (or only VMM_FUZZ_CASE). */
static void for_cases(const char *kind, uint64_t salt, void (*fn)(fz_case *c))
{
	uint64_t only = fz_env_u64("VMM_FUZZ_CASE", 0);
	unsigned n = only ? 1 : g_iters;

	for (unsigned i = 0; i < n; i++) {
		fz_case c;

		c.seed = only ? only : fz_mix(g_seed ^ salt, i);
		c.r.s = c.seed;
		snprintf(c.label, sizeof(c.label), "%s case %u (VMM_FUZZ_CASE=0x%llx)", kind, i,
			 (unsigned long long)c.seed);
		if (fz_verbose())
			fprintf(stderr, "%s\n", c.label);
		fn(&c);
		fz_st.cases++;
	}
	fz_print_stats(kind);
}

/* ---- Random machines --------------------------------------------------------------- */

/* Where the code goes: normal RAM, the last pages of RAM or the ROM. */
static uint64_t code_place(fz_rng *r, int mode)
{
	unsigned k = mode == FZ_REAL ? 0 : fz_below(r, 8);

	if (k == 6)
		return FZ_RAM - 0x2000;
	if (k == 7)
		return FZ_ROM + FZ_ROM_SIZE - 0x2000;
	return FZ_CODE;
}

/* A random machine: mode, devices, IDT, CPL, registers; code from gen. */
static void random_machine(fz_case *c, fz_vm *f, int random_bytes)
{
	fz_rng *r = &c->r;
	int mode = (int)fz_below(r, FZ_NMODES);
	uint32_t flags = fz_below(r, 2) ? VMM_VM_NO_UART | VMM_VM_NO_DEBUG_EXIT : 0;
	uint64_t at = code_place(r, mode);
	uint8_t code[8192];
	vmm_sregs s;
	vmm_regs g;

	fz_create(f, mode, 1, flags);
	if (random_bytes)
		fz_gen_bytes(r, code, sizeof(code));
	else
		fz_gen_insns(r, code, sizeof(code), mode);
	fz_write(f, at, code, sizeof(code));
	fz_w64(f, FZ_TSS + 4, FZ_RAM - 0x3000);          /* RSP0 */
	assert_int_equal(vmm_vcpu_get_sregs(f->vcpu[0], &s), 0);
	random_idt(f, r, &s);
	if (mode == FZ_LONG && fz_below(r, 6) == 0) {      /* CPL 3 */
		user_tables(f);
		fz_seg(&s.cs, 0x3b, 0xb, 1, 0, 0, 0xffffffffu);
		s.cs.dpl = 3;
		fz_seg(&s.ss, 0x43, 0x3, 0, 1, 0, 0xffffffffu);
		s.ss.dpl = 3;
	}
	assert_int_equal(vmm_vcpu_set_sregs(f->vcpu[0], &s), 0);
	g = fz_regs(f->vcpu[0]);
	fz_random_regs(r, &g, mode);
	g.rip = (mode == FZ_REAL ? 0 : at) + fz_below(r, 4096);
	fz_set_regs(f->vcpu[0], &g);
}

static void case_random(fz_case *c, int random_bytes)
{
	fz_vm f;

	random_machine(c, &f, random_bytes);
	fz_run(f.vcpu[0], &c->r, 16, budget_ms(), c->label);
	fz_destroy(&f);
}

static void case_bytes(fz_case *c) { case_random(c, 1); }
static void case_insns(fz_case *c) { case_random(c, 0); }

static void test_random_bytes(void **state)
{
	for_cases("random bytes", 0x1, case_bytes);
}

static void test_random_insns(void **state)
{
	for_cases("random insns", 0x2, case_insns);
}

/* ---- Hostile page tables ------------------------------------------------------------ */

static void case_page_tables(fz_case *c)
{
	static const uint64_t cr3s[] = { FZ_RAM, FZ_RAM - 0x1000, FZ_ROM, 0xfee00000ull,
					 FZ_PT, FZ_XTRA + FZ_XTRA_SIZE - 0x1000, 0xfffffff000ull,
					 FZ_PML4 | (1ull << 51) };
	static const int modes[] = { FZ_LONG, FZ_LONG, FZ_PROT32_PSE, FZ_PROT32_PAE };
	fz_rng *r = &c->r;
	int mode = modes[fz_below(r, 4)];
	uint8_t code[4096];
	fz_buf b = { code, 0, sizeof(code) };
	fz_vm f;
	vmm_sregs s;

	fz_create(&f, mode, 1, VMM_VM_NO_UART | VMM_VM_NO_DEBUG_EXIT);
	hostile_tables(&f, r);
	for (unsigned i = 0; i < 512; i++)
		fz_w64(&f, FZ_PT + i * 8, fz_below(r, 2) ? hostile_entry(r, FZ_PT) : 0);
	if (fz_below(r, 3) == 0)                           /* tables in ROM */
		for (unsigned i = 0; i < 512; i++)
			fz_w64(&f, FZ_ROM + i * 8, fz_below(r, 2) ? hostile_entry(r, FZ_ROM)
							  : ((uint64_t)i << 21) | 0x83);
	memset(code, 0xf4, sizeof(code));
	hostile_mem_code(r, &b, mode, 1);
	fz_write(&f, FZ_CODE, code, sizeof(code));
	assert_int_equal(vmm_vcpu_get_sregs(f.vcpu[0], &s), 0);
	if (fz_below(r, 6) == 0)
		s.cr3 = mode == FZ_LONG ? cr3s[fz_below(r, 8)] : cr3s[fz_below(r, 7)] & 0xfffff000u;
	if (fz_below(r, 3) == 0)
		fz_idt(&f, mode, &s.idt);
	assert_int_equal(vmm_vcpu_set_sregs(f.vcpu[0], &s), 0);
	fz_run(f.vcpu[0], r, 16, budget_ms(), c->label);
	fz_destroy(&f);
}

static void test_hostile_page_tables(void **state)
{
	for_cases("page tables", 0x3, case_page_tables);
}

/* ---- Hostile descriptor tables ------------------------------------------------------- */

static void case_descriptors(fz_case *c)
{
	static const int modes[] = { FZ_LONG, FZ_LONG, FZ_PROT32, FZ_COMPAT };
	fz_rng *r = &c->r;
	int mode = modes[fz_below(r, 4)];
	uint8_t code[4096];
	fz_buf b = { code, 0, sizeof(code) };
	fz_vm f;
	vmm_sregs s;

	fz_create(&f, mode, 1, VMM_VM_NO_UART | VMM_VM_NO_DEBUG_EXIT);
	memset(code, 0xf4, sizeof(code));
	seg_code(r, &b, mode == FZ_COMPAT ? FZ_PROT32 : mode);
	fz_write(&f, FZ_CODE, code, sizeof(code));
	assert_int_equal(vmm_vcpu_get_sregs(f.vcpu[0], &s), 0);
	hostile_descriptors(&f, r, &s);
	assert_int_equal(vmm_vcpu_set_sregs(f.vcpu[0], &s), 0);
	fz_run(f.vcpu[0], r, 16, budget_ms(), c->label);
	fz_destroy(&f);
}

static void test_hostile_descriptors(void **state)
{
	for_cases("descriptors", 0x4, case_descriptors);
}

/* ---- String instructions --------------------------------------------------------------- */

static void case_strings(fz_case *c)
{
	static const uint8_t ops[] = { 0xa4, 0xa5, 0xaa, 0xab, 0xac, 0xad, 0xa6, 0xa7,
				       0xae, 0xaf, 0x6c, 0x6d, 0x6e, 0x6f };
	fz_rng *r = &c->r;
	int mode = (int)fz_below(r, FZ_NMODES);
	uint8_t code[64];
	fz_buf b = { code, 0, sizeof(code) };
	fz_vm f;
	vmm_regs g;

	fz_create(&f, mode, 1, fz_below(r, 2) ? VMM_VM_NO_UART | VMM_VM_NO_DEBUG_EXIT : 0);
	memset(code, 0xf4, sizeof(code));
	for (unsigned k = fz_below(r, 4); k; k--)
		fz_b(&b, (const uint8_t[]){ 0x66, 0x67, 0x26, 0x64, 0x2e }[fz_below(r, 5)]);
	fz_b(&b, fz_below(r, 4) ? 0xf3 : 0xf2);
	if (mode == FZ_LONG && fz_below(r, 2))
		fz_b(&b, 0x48);
	fz_b(&b, ops[fz_below(r, sizeof(ops))]);
	fz_write(&f, FZ_CODE, code, sizeof(code));
	g = fz_regs(f.vcpu[0]);
	fz_random_regs(r, &g, mode);
	g.rip = mode == FZ_REAL ? 0 : FZ_CODE;
	g.rsp = FZ_RAM - 8;
	if (fz_below(r, 2))
		g.rcx = 1ull << 63;
	fz_set_regs(f.vcpu[0], &g);
	fz_run(f.vcpu[0], r, 24, budget_ms(), c->label);
	fz_destroy(&f);
}

static void test_string_fuzz(void **state)
{
	for_cases("strings", 0x5, case_strings);
}

/* ---- The API around the guest: devices, register and mode changes between
 * exits, memory mapped and unmapped between runs ------------------------------------------ */
#define DEV_MMIO 0xfe000000ull
#define DEV_PORT 0x500

typedef struct dev {
	fz_rng r;
	int fail;           /* allow error results */
} dev;

static int dev_result(dev *d)
{
	unsigned k = fz_below(&d->r, 64);

	if (!d->fail || k > 1)
		return 0;
	return k == 0 ? VMM_EIO : VMM_EINVAL;
}

static int dev_mmio(void *opaque, vmm_vcpu *vcpu, uint64_t addr, uint8_t size,
		    uint8_t is_write, uint64_t *data)
{
	dev *d = opaque;

	if (!is_write)
		*data = fz_next(&d->r);
	return dev_result(d);
}

static int dev_pio(void *opaque, vmm_vcpu *vcpu, uint16_t port, uint8_t size,
		   uint8_t is_write, uint32_t *data)
{
	dev *d = opaque;

	if (!is_write)
		*data = (uint32_t)fz_next(&d->r);
	return dev_result(d);
}

/* Between runs: move RIP, change registers or the mode, write code, move
 * the spare slot to where the guest just did MMIO (or back). */
static void meddle(fz_vm *f, fz_rng *r, const vmm_exit *e)
{
	vmm_regs g = fz_regs(f->vcpu[0]);
	vmm_sregs s;
	uint8_t junk[32];

	switch (fz_below(r, 8)) {
	case 0:
		g.rip += fz_below(r, 4);
		fz_random_regs(r, &g, f->mode);
		fz_set_regs(f->vcpu[0], &g);
		break;
	case 1:
		assert_int_equal(vmm_vcpu_get_sregs(f->vcpu[0], &s), 0);
		fz_mode_sregs(&s, (int)fz_below(r, FZ_NMODES));
		assert_int_equal(vmm_vcpu_set_sregs(f->vcpu[0], &s), 0);
		break;
	case 4:
		assert_int_equal(vmm_vcpu_get_sregs(f->vcpu[0], &s), 0);
		fz_random_sregs(r, &s);
		assert_int_equal(vmm_vcpu_set_sregs(f->vcpu[0], &s), 0);
		break;
	case 2:
		fz_gen_bytes(r, junk, sizeof(junk));
		fz_write(f, (g.rip & 0xffff) + FZ_CODE, junk, sizeof(junk));
		break;
	case 3:
		if (e->reason != VMM_EXIT_MMIO || fz_overlaps(e->mmio.addr, 0x10000, 0, FZ_RAM))
			break;
		assert_int_equal(vmm_mem_unmap(f->vm, f->xtra, FZ_XTRA_SIZE), 0);
		f->xtra = e->mmio.addr & ~0xffffull;
		if (vmm_mem_map(f->vm, f->xtra, FZ_XTRA_SIZE, VMM_MEM_RW, fz_host_mem()->xtra)) {
			f->xtra = FZ_XTRA;        /* overlaps the ROM: back home */
			assert_int_equal(vmm_mem_map(f->vm, f->xtra, FZ_XTRA_SIZE, VMM_MEM_RW,
						     fz_host_mem()->xtra), 0);
		}
		fz_xtra_at = f->xtra;
		break;
	default:
		break;
	}
}

static void case_api(fz_case *c)
{
	dev d = { { c->seed ^ 0xd1ce }, (int)fz_below(&c->r, 2) };
	fz_vm f;

	random_machine(c, &f, (int)fz_below(&c->r, 2));
	assert_int_equal(vmm_mmio_register(f.vm, DEV_MMIO, 0x100000, dev_mmio, &d), 0);
	assert_int_equal(vmm_pio_register(f.vm, DEV_PORT, 0x100, dev_pio, &d), 0);
	for (unsigned n = 0; n < 16; n++) {
		vmm_exit *e = fz_run_once(f.vcpu[0], budget_ms(), c->label);

		if (e->reason == VMM_EXIT_CANCELLED)
			break;          /* everything else is resumed, even errors */
		e->io.data = (uint32_t)fz_next(&c->r);
		e->mmio.data = fz_next(&c->r);
		meddle(&f, &c->r, e);
	}
	fz_destroy(&f);
}

static void test_api_between_exits(void **state)
{
	for_cases("api", 0x6, case_api);
}

/* ---- Regressions found by fuzzing --------------------------------------------------------- */

#define NO_DEV (VMM_VM_NO_UART | VMM_VM_NO_DEBUG_EXIT)

/* A long-mode VM with code at FZ_CODE and, if idt, the resuming stubs. */
static void reg_setup(fz_vm *f, const void *code, size_t len, int idt)
{
	vmm_sregs s;

	fz_create(f, FZ_LONG, 1, NO_DEV);
	fz_write(f, FZ_CODE, code, len);
	assert_int_equal(vmm_vcpu_get_sregs(f->vcpu[0], &s), 0);
	if (idt)
		fz_idt(f, FZ_LONG, &s.idt);
	assert_int_equal(vmm_vcpu_set_sregs(f->vcpu[0], &s), 0);
}

/* UBSan: "left shift of negative value -1" in emu_h_bt (BTS m64, r64 with
 * a negative bit offset). Fixed in "emu: fix left shift of a negative bit
 * offset in BT/BTS/BTR/BTC m, r". */
static void test_reg_bt_negative_offset(void **state)
{
	static const uint8_t code[] = { 0x48, 0x0f, 0xab, 0x08,   /* bts [rax], rcx */
					0x48, 0x0f, 0xa3, 0x08,   /* bt [rax], rcx */
					0xf4 };
	fz_vm f;
	uint64_t v = 0;

	reg_setup(&f, code, sizeof(code), 0);
	FZ_SET_REG(f.vcpu[0], rax, FZ_DATA + 0x100);
	FZ_SET_REG(f.vcpu[0], rcx, ~0ull);                  /* bit -1: bit 63 of [rax - 8] */
	fz_expect(&f, VMM_EXIT_HLT, "bts negative offset");
	assert_int_equal(vmm_mem_read(f.vm, FZ_DATA + 0xf8, &v, 8), 0);
	assert_int_equal(v, 1ull << 63);
	assert_int_equal(fz_regs(f.vcpu[0]).rflags & 1, 1);
	fz_destroy(&f);
}

/* An exception whose frame goes to unclaimed MMIO (RSP past RAM) gave an
 * endless series of identical MMIO write exits (delivery restarted from
 * scratch on every resume; the device saw the same write again and again),
 * or after a fetch fault 8 of them and "makes more than 8 device accesses".
 * Now an internal error naming the vector and the instruction. */
static void test_reg_exception_frame_in_mmio(void **state)
{
	static const uint8_t code[] = { 0x0f, 0x0b };    /* ud2 */
	fz_vm f;
	vmm_exit *e;

	reg_setup(&f, code, sizeof(code), 1);
	FZ_SET_REG(f.vcpu[0], rsp, FZ_RAM + 0x1000);
	e = fz_expect(&f, VMM_EXIT_INTERNAL_ERROR, "frame in MMIO");
	assert_non_null(strstr(e->internal.message, "delivering vector 6"));
	assert_non_null(strstr(e->internal.message, "[rip 0x10000: 0f 0b 00"));
	fz_destroy(&f);
}

/* The same with the IDT itself in MMIO (the gate read exits). */
static void test_reg_idt_in_mmio(void **state)
{
	static const uint8_t code[] = { 0x90, 0x0f, 0x0b };    /* nop; ud2 */
	fz_vm f;
	vmm_sregs s;
	vmm_exit *e;

	reg_setup(&f, code, sizeof(code), 0);
	assert_int_equal(vmm_vcpu_get_sregs(f.vcpu[0], &s), 0);
	s.idt.base = 0xfee00000ull;
	s.idt.limit = 0xfff;
	assert_int_equal(vmm_vcpu_set_sregs(f.vcpu[0], &s), 0);
	e = fz_expect(&f, VMM_EXIT_INTERNAL_ERROR, "IDT in MMIO");
	assert_non_null(strstr(e->internal.message, "delivering vector 6"));
	assert_int_equal(e->rip, FZ_CODE + 1);
	fz_destroy(&f);
}

/* Page tables in read-only memory: the walk set Accessed bits in the
 * read-only slot, i.e. the guest changed memory it may only read (memory
 * possibly shared with other VMs through vmm_mem_share). Now the A/D
 * updates are dropped, as writes to ROM are. */
static void test_reg_ad_bits_in_rom(void **state)
{
	static const uint8_t code[] = { 0x48, 0x8b, 0x18,           /* mov rbx, [rax] */
					0xc6, 0x00, 0x01,           /* mov byte [rax], 1 */
					0xf4 };
	fz_vm f;
	vmm_exit *e;

	reg_setup(&f, code, sizeof(code), 0);
	fz_w64(&f, FZ_PDPT + 8, FZ_ROM | 3);                       /* VA 1 GiB: PD in ROM */
	fz_w64(&f, FZ_ROM, 0x200000 | 0x83);                       /* 2 MiB page, A=0 */
	fz_w64(&f, 0x200000, 0x1122334455667788ull);
	FZ_SET_REG(f.vcpu[0], rax, 1ull << 30);
	e = fz_expect(&f, VMM_EXIT_HLT, "A/D in ROM");
	assert_int_equal(fz_regs(f.vcpu[0]).rbx, 0x1122334455667788ull);
	assert_int_equal(e->rip, FZ_CODE + sizeof(code));
	assert_int_equal(fz_host_mem()->ram[0x200000], 1);
	fz_destroy(&f);                                            /* checks the ROM */
}

/* "far transfer through a gate" and "IRET with NT set" (and "makes more
 * than 8 device accesses") named the RIP of the block's first instruction,
 * not their own. Fixed in "emu: internal errors of far transfers, IRET and
 * the I/O log named the block's RIP, not the instruction's". Both are now
 * executed (call gates, task switches): in long mode a gate with a null
 * target selector and IRET with NT are #GP(0), which without an IDT end
 * the run as a shutdown at the instruction's own RIP. */
static void test_reg_error_names_own_rip(void **state)
{
	/* nop; nop; jmp far [rbx] (m16:64) */
	static const uint8_t jmp[] = { 0x90, 0x90, 0x48, 0xff, 0x2b };
	/* nop; iretq with NT set */
	static const uint8_t iret[] = { 0x90, 0x48, 0xcf };
	fz_vm f;
	vmm_sregs s;
	vmm_exit *e;
	char why[400];

	reg_setup(&f, jmp, sizeof(jmp), 0);
	assert_int_equal(vmm_vcpu_get_sregs(f.vcpu[0], &s), 0);
	s.gdt.limit = 0x4f;
	assert_int_equal(vmm_vcpu_set_sregs(f.vcpu[0], &s), 0);
	fz_w64(&f, FZ_GDT + 0x48, 0x00008c0000000000ull);     /* call gate, present */
	fz_w64(&f, FZ_DATA, FZ_CODE);
	fz_w64(&f, FZ_DATA + 8, 0x48);
	FZ_SET_REG(f.vcpu[0], rbx, FZ_DATA);
	e = fz_expect(&f, VMM_EXIT_SHUTDOWN, "far jmp through a gate");
	assert_int_equal(e->rip, FZ_CODE + 2);
	assert_int_equal(fz_exit_problem(e, 0, why, sizeof(why)), 0);
	fz_destroy(&f);

	reg_setup(&f, iret, sizeof(iret), 0);
	FZ_SET_REG(f.vcpu[0], rflags, 0x4002);
	e = fz_expect(&f, VMM_EXIT_SHUTDOWN, "IRET with NT");
	assert_int_equal(e->rip, FZ_CODE + 1);
	assert_int_equal(fz_exit_problem(e, 0, why, sizeof(why)), 0);
	fz_destroy(&f);
}

/* A device that is plain memory (claimed accesses, no exits). */
static uint8_t devmem[0x1000];

static int devmem_mmio(void *opaque, vmm_vcpu *vcpu, uint64_t addr, uint8_t size,
		       uint8_t is_write, uint64_t *data)
{
	uint64_t off = addr - DEV_MMIO;

	if (off + size > sizeof(devmem))
		return VMM_ERANGE;
	if (is_write)
		memcpy(devmem + off, data, size);
	else
		memcpy(data, devmem + off, size);
	return 0;
}

/* An instruction that made device accesses and then faulted: delivery's
 * own accesses (the frame on a stack in device memory) were appended to
 * the instruction's replay log, so IRETQ (3 reads) + #GP frame (6 writes)
 * ended in "makes more than 8 device accesses". */
static void test_reg_fault_after_device_accesses(void **state)
{
	static const uint8_t code[] = { 0x48, 0xcf };          /* iretq */
	static const uint8_t handler[] = { 0xf4 };
	const uint64_t sp = DEV_MMIO + 0x800;
	uint64_t frame[5] = { FZ_CODE, 0x77, 2, sp, 0x10 };  /* CS 0x77: #GP(0x74) */
	uint64_t want[6] = { 0x74, FZ_CODE, 0x08, 0x10002, sp, 0x10 };  /* RFLAGS.RF: a fault */
	fz_vm f;
	vmm_sregs s;
	vmm_exit *e;

	reg_setup(&f, code, sizeof(code), 1);
	fz_write(&f, FZ_STUBS + 7, handler, 1);                /* #GP: error-code stub */
	memset(devmem, 0, sizeof(devmem));
	memcpy(devmem + 0x800, frame, sizeof(frame));
	assert_int_equal(vmm_mmio_register(f.vm, DEV_MMIO, sizeof(devmem), devmem_mmio, NULL), 0);
	FZ_SET_REG(f.vcpu[0], rsp, sp);
	e = fz_expect(&f, VMM_EXIT_HLT, "fault after device accesses");
	assert_int_equal(e->rip, FZ_STUBS + 8);
	assert_int_equal(fz_regs(f.vcpu[0]).rsp, sp - 48);
	assert_memory_equal(devmem + 0x800 - 48, want, sizeof(want));
	assert_int_equal(vmm_vcpu_get_sregs(f.vcpu[0], &s), 0);
	assert_int_equal(s.cs.selector, 0x08);
	fz_destroy(&f);
}

/* A 32-bit page directory in the last page of RAM: its last entry (the
 * last 4 bytes of RAM) was reported as "page table ... not in guest RAM"
 * because the walk's table lookup wanted 8 bytes. */
static void test_reg_pde_in_last_bytes_of_ram(void **state)
{
	static const uint8_t code[] = { 0xa1, 0x00, 0x00, 0xc2, 0xff, 0xf4 };  /* mov eax, [0xffc20000] */
	const uint64_t pd = FZ_RAM - 0x1000;
	fz_vm f;
	vmm_sregs s;

	fz_create(&f, FZ_PROT32_PSE, 1, NO_DEV);
	fz_write(&f, FZ_CODE, code, sizeof(code));
	fz_w32(&f, pd, 0x83);                          /* 0-4 MiB: identity */
	fz_w32(&f, pd + 1023 * 4, 0x83);               /* 4 GiB - 4 MiB: phys 0 */
	fz_w32(&f, FZ_DATA, 0x12345678);
	assert_int_equal(vmm_vcpu_get_sregs(f.vcpu[0], &s), 0);
	s.cr3 = pd;
	assert_int_equal(vmm_vcpu_set_sregs(f.vcpu[0], &s), 0);
	fz_expect(&f, VMM_EXIT_HLT, "PDE in the last bytes of RAM");
	assert_int_equal(fz_regs(f.vcpu[0]).rax, 0x12345678);
	fz_destroy(&f);
}

/* ---- Open findings (outside emu; skipped unless VMM_FUZZ_OPEN=1) ------------------------ */

static int dev_returns_one(void *opaque, vmm_vcpu *vcpu, uint16_t port, uint8_t size,
			   uint8_t is_write, uint32_t *data)
{
	return 1;
}

/* Found by fuzzing (lib/bus.c, fixed): vmm.h says device callbacks return 0
 * or a negative VMM_E* code; a callback returning 1 was taken as
 * VMM__BUS_STOP (meant for the built-in devices only), so vmm_vcpu_run
 * returned exit reason 0. Now an internal error naming the bad value. */
static void test_device_returning_one(void **state)
{
	static const uint8_t code[] = { 0xe6, 0x80, 0xf4 };     /* out 0x80, al; hlt */
	fz_vm f;
	vmm_exit *e;

	reg_setup(&f, code, sizeof(code), 0);
	assert_int_equal(vmm_pio_register(f.vm, 0x80, 1, dev_returns_one, NULL), 0);
	e = fz_run_once(f.vcpu[0], 1000, "device returns 1");
	assert_int_equal(e->reason, VMM_EXIT_INTERNAL_ERROR);
	assert_non_null(strstr(e->internal.message, "returned 1"));
	fz_destroy(&f);
}

/* ---- main ------------------------------------------------------------------------------- */

static int setup(void **state)
{
	fz_wd_start();
	return 0;
}

static int teardown(void **state)
{
	fz_wd_stop();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_bytes),
		cmocka_unit_test(test_random_insns),
		cmocka_unit_test(test_hostile_page_tables),
		cmocka_unit_test(test_hostile_descriptors),
		cmocka_unit_test(test_string_fuzz),
		cmocka_unit_test(test_api_between_exits),
		cmocka_unit_test(test_reg_bt_negative_offset),
		cmocka_unit_test(test_reg_exception_frame_in_mmio),
		cmocka_unit_test(test_reg_idt_in_mmio),
		cmocka_unit_test(test_reg_ad_bits_in_rom),
		cmocka_unit_test(test_reg_error_names_own_rip),
		cmocka_unit_test(test_reg_fault_after_device_accesses),
		cmocka_unit_test(test_reg_pde_in_last_bytes_of_ram),
		cmocka_unit_test(test_device_returning_one),
	};
	const char *filter = getenv("VMM_FUZZ_TEST");

	g_seed = fz_env_u64("VMM_FUZZ_SEED", 0x5eed);
	g_iters = (unsigned)fz_env_u64("VMM_FUZZ_ITERS", 1500);
	printf("[ fuzz     ] VMM_FUZZ_SEED=0x%llx VMM_FUZZ_ITERS=%u\n",
	       (unsigned long long)g_seed, g_iters);
	if (filter)
		cmocka_set_test_filter(filter);
	return cmocka_run_group_tests(tests, setup, teardown);
}
