/* bench_emu.c - how fast the emu backend executes guest code, next to a peer
 * (Unicorn 2, QEMU's TCG JIT as a library) running the same machine code in
 * the same process.
 *
 * Workloads (64-bit code at 0x100000, N iterations, then HLT):
 *   alu: add / xor / lea / sub / jne on registers   (5 instructions each)
 *   mem: load, add, store through [rsi+rdx*8], inc/and index, dec/jnz
 *        (7 instructions each)
 * Instruction counts are exact (iterations x loop length + setup). Times are
 * the thread's CPU time (both run on the calling thread), so other processes
 * on a shared machine do not distort the ratio; rounds alternate emu and
 * Unicorn and the best round of each is reported. Prints one line per workload:
 *   "alu: emu X M instr/s, unicorn Y M instr/s, emu/unicorn R"
 * and a goal line. Exit status: 0; with --strict 1 if emu's alu rate is
 * below the goal (100 M instructions per second); 2 on errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unicorn/unicorn.h>

#include "tests/unit/emu_fixture.h"

#define GOAL_MIPS 100.0
#define ITERS 20000000u
#define ROUNDS 5
#define MEM (64ull << 20)

typedef struct workload {
	const char *name;
	const uint8_t *code;
	size_t len;
	uint64_t hlt_off;         /* offset of the final HLT */
	uint64_t per_iter, setup; /* instructions */
} workload;

/* mov ecx, N; xor eax, eax; xor edx, edx
 * 1: add rax, rcx; xor rdx, rax; lea rax, [rax+rdx*2]; sub rcx, 1; jne 1b
 * hlt */
static const uint8_t alu_code[] = {
	0xb9, 0, 0, 0, 0, 0x31, 0xc0, 0x31, 0xd2,
	0x48, 0x01, 0xc8, 0x48, 0x31, 0xc2, 0x48, 0x8d, 0x04, 0x50,
	0x48, 0x83, 0xe9, 0x01, 0x75, 0xf0, 0xf4
};

/* mov ecx, N; mov esi, 0x200000; xor edx, edx
 * 1: mov rax, [rsi+rdx*8]; add rax, rcx; mov [rsi+rdx*8], rax; inc edx;
 *    and edx, 0x3ff; dec ecx; jne 1b
 * hlt */
static const uint8_t mem_code[] = {
	0xb9, 0, 0, 0, 0, 0xbe, 0x00, 0x00, 0x20, 0x00, 0x31, 0xd2,
	0x48, 0x8b, 0x04, 0xd6, 0x48, 0x01, 0xc8, 0x48, 0x89, 0x04, 0xd6,
	0xff, 0xc2, 0x81, 0xe2, 0xff, 0x03, 0x00, 0x00, 0xff, 0xc9, 0x75, 0xe9, 0xf4
};

static const workload workloads[] = {
	{ "alu", alu_code, sizeof(alu_code), 0x19, 5, 3 },
	{ "mem", mem_code, sizeof(mem_code), 0x23, 7, 3 },
};

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what, const char *why)
{
	fprintf(stderr, "bench_emu: %s: %s\n", what, why);
	exit(2);
}

static void code_with_count(const workload *w, uint8_t *buf, uint32_t iters)
{
	memcpy(buf, w->code, w->len);
	memcpy(buf + 1, &iters, 4);
}

/* ---- emu ------------------------------------------------------------------ */

static double run_emu(const workload *w, uint32_t iters)
{
	uint8_t code[64];
	emu_fx fx;
	vmm_exit *exit;
	double t0, t;

	code_with_count(w, code, iters);
	if (fx_create(&fx, MEM, 1) || fx_code(&fx, code, w->len))
		die("emu setup", vmm_last_error());
	t0 = now_s();
	exit = fx_run(&fx);
	t = now_s() - t0;
	if (!exit || exit->reason != VMM_EXIT_HLT || fx_regs(&fx).rip != FX_CODE + w->hlt_off + 1)
		die("emu run", exit ? "the guest did not end with HLT" : vmm_last_error());
	fx_destroy(&fx);
	return t;
}

/* ---- Unicorn ------------------------------------------------------------------ */

static double run_unicorn(const workload *w, uint32_t iters)
{
	uint8_t code[64];
	uint64_t rsp = MEM - 16, rip;
	uc_engine *uc;
	uc_err err;
	double t0, t;

	code_with_count(w, code, iters);
	err = uc_open(UC_ARCH_X86, UC_MODE_64, &uc);
	if (err)
		die("uc_open", uc_strerror(err));
	if ((err = uc_mem_map(uc, 0, MEM, UC_PROT_ALL)) ||
	    (err = uc_mem_write(uc, FX_CODE, code, w->len)) ||
	    (err = uc_reg_write(uc, UC_X86_REG_RSP, &rsp)))
		die("unicorn setup", uc_strerror(err));
	t0 = now_s();
	err = uc_emu_start(uc, FX_CODE, FX_CODE + w->hlt_off, 0, 0);
	t = now_s() - t0;
	if (err)
		die("uc_emu_start", uc_strerror(err));
	uc_reg_read(uc, UC_X86_REG_RIP, &rip);
	if (rip != FX_CODE + w->hlt_off)
		die("unicorn run", "did not reach the end of the loop");
	uc_close(uc);
	return t;
}

int main(int argc, char **argv)
{
	int strict = argc > 1 && strcmp(argv[1], "--strict") == 0;
	double alu_mips = 0;

	printf("emu vs Unicorn %u.%u: thread CPU time, best of %d rounds, %u iterations each\n",
	       UC_API_MAJOR, UC_API_MINOR, ROUNDS, ITERS);
	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++) {
		const workload *w = &workloads[i];
		double best_emu = 1e9, best_uc = 1e9, n = (double)ITERS * (double)w->per_iter +
								 (double)w->setup + 1;

		for (int r = 0; r < ROUNDS; r++) {
			double te = run_emu(w, ITERS), tu = run_unicorn(w, ITERS);

			best_emu = te < best_emu ? te : best_emu;
			best_uc = tu < best_uc ? tu : best_uc;
		}
		printf("%s: emu %.0f M instr/s, unicorn %.0f M instr/s, emu/unicorn %.2f\n",
		       w->name, n / best_emu / 1e6, n / best_uc / 1e6, best_uc / best_emu);
		if (i == 0)
			alu_mips = n / best_emu / 1e6;
	}
	printf("goal: emu alu >= %.0f M instr/s: %s\n", GOAL_MIPS,
	       alu_mips >= GOAL_MIPS ? "met" : "MISSED");
	return strict && alu_mips < GOAL_MIPS ? 1 : 0;
}
