/* bench_emu.c - `make bench-emu` (and `make bench`): guest instructions per
 * second of the emu backend next to Unicorn 2 and QEMU TCG on the same
 * machine code, and optionally next to a baseline revision's emu.
 *
 * The workloads live in one freestanding guest image, build/guests/
 * bench-emu.elf (tests/bench/guest/README.md), a Multiboot ELF32 that both
 * `vmm run` and `qemu-system-x86_64 -kernel` boot; the command line names the
 * workload and its iteration count. Instruction counts are exact by
 * construction (iterations x loop length + a fixed part, the table below) and
 * are checked first against `vmm run --trace` at two small counts (the
 * trace lines whose RIP lies in the workload's code).
 *
 *   user level (emu, Unicorn, QEMU): alu, copy, branch, dispatch
 *   system     (emu, QEMU):          syscall (SYSCALL/SYSRET from CPL 3),
 *                                    irq (self-IPIs through the xAPIC)
 *
 * Times: emu and QEMU run as child processes and are charged their CPU time
 * (user + system, all threads, from wait4), minus the best time of the
 * "none" workload (boot and exit alone) measured in the same run; Unicorn
 * runs the user-level workloads' bytes in this process (it loads the image
 * and calls w_NAME), charged its thread CPU time. Each measurement is taken
 * ROUNDS times, rounds interleaving the engines, and the best is kept. CPU
 * time keeps other processes on a shared machine from distorting the
 * ratios; the wall-clock emu/QEMU ratio is printed beside it.
 *
 * Usage: bench_emu [--vmm PATH] [--base PATH] [--image PATH] [--qemu PATH|none]
 *                  [--rounds N] [--scale F] [--only NAME] [--no-unicorn]
 *                  [--verify-only] [--check] [--strict]
 * --check (tests/run-checks): the counts, then each workload once at 1000
 * iterations on every engine, one PASS line each; no timing.
 * --base runs the emu workloads on a second vmm binary too (a baseline
 * revision's; tests/bench/run-bench builds it) and prints emu/base.
 * Exit status: 0; with --strict 1 when a goal is missed (emu/Unicorn >= 2
 * on copy, branch and dispatch; emu/base >= 0.97 everywhere); 2 on errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unicorn/unicorn.h>
#include <unistd.h>

#define MAX_SEGS 8
#define UC_MEM (64ull << 20)
#define UC_STOP 0x1000ull       /* return address: Unicorn stops there */
#define GOAL_UNICORN 2.0
#define GOAL_BASE 0.97

typedef struct workload {
	const char *name;
	uint64_t iters;              /* at --scale 1: about 1.5 s on emu */
	uint64_t per_iter, fixed;    /* instructions (tests/bench/guest/work.S) */
	int user;                    /* user-level: Unicorn runs it too */
	double uc_x, qemu_x;         /* Unicorn's and QEMU's iterations: iters x
					these, so that each runs about a second */
	int goal_unicorn;            /* emu/Unicorn >= GOAL_UNICORN is a goal */
} workload;

static const workload workloads[] = {
	{ "alu", 110000000, 5, 5, 1, 4, 4, 0 },
	{ "copy", 80000000, 8, 6, 1, 0.1, 4, 1 },
	{ "branch", 30000000, 9, 7, 1, 8, 8, 1 },
	{ "dispatch", 30000000, 8, 8, 1, 1, 2, 1 },
	{ "syscall", 16000000, 5, 14, 0, 0, 2, 0 },
	{ "irq", 1000000, 9, 8, 0, 0, 2, 0 },
};
#define NW (sizeof(workloads) / sizeof(workloads[0]))

enum { E_EMU, E_BASE, E_UC, E_QEMU, NE };
static const char *const engine_names[NE] = { "emu", "base", "unicorn", "qemu" };

typedef struct seg {
	uint64_t addr, filesz, memsz;
	const uint8_t *data;
} seg;

typedef struct image {
	const char *path;
	Elf *elf;
	int fd;
	seg segs[MAX_SEGS];
	unsigned nsegs;
} image;

typedef struct opts {
	const char *vmm, *base, *image, *qemu, *only;
	int rounds, unicorn, verify_only, check, strict;
	double scale;
} opts;

typedef struct timing {
	double cpu, wall;            /* best of the rounds, seconds */
} timing;

static void die(const char *what, const char *why)
{
	fprintf(stderr, "bench_emu: %s: %s\n", what, why);
	exit(2);
}

static double now(clockid_t clk)
{
	struct timespec t;

	clock_gettime(clk, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void keep_best(timing *best, double cpu, double wall)
{
	if (cpu < best->cpu)
		best->cpu = cpu;
	if (wall < best->wall)
		best->wall = wall;
}

/* ---- The image: segments and workload symbols ------------------------------- */

static void image_open(image *img, const char *path)
{
	GElf_Phdr ph;
	size_t n, size;
	char *raw;

	memset(img, 0, sizeof(*img));
	img->path = path;
	elf_version(EV_CURRENT);
	img->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (img->fd < 0)
		die(path, strerror(errno));
	img->elf = elf_begin(img->fd, ELF_C_READ, NULL);
	if (!img->elf || elf_getphdrnum(img->elf, &n))
		die(path, elf_errmsg(-1));
	raw = elf_rawfile(img->elf, &size);
	for (size_t i = 0; i < n; i++) {
		if (!gelf_getphdr(img->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (img->nsegs == MAX_SEGS || ph.p_offset + ph.p_filesz > size ||
		    ph.p_paddr + ph.p_memsz > UC_MEM || ph.p_paddr < 0x100000)
			die(path, "unexpected program headers");
		img->segs[img->nsegs++] = (seg){ ph.p_paddr, ph.p_filesz, ph.p_memsz,
						 (const uint8_t *)raw + ph.p_offset };
	}
}

/* The address of symbol NAME (dies if it is missing). */
static uint64_t image_sym(const image *img, const char *name)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	GElf_Sym sym;

	while ((scn = elf_nextscn(img->elf, scn))) {
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB ||
		    !(d = elf_getdata(scn, NULL)))
			continue;
		for (size_t i = 0; sh.sh_entsize && i < sh.sh_size / sh.sh_entsize; i++) {
			const char *s;

			if (!gelf_getsym(d, (int)i, &sym))
				continue;
			s = elf_strptr(img->elf, sh.sh_link, sym.st_name);
			if (s && strcmp(s, name) == 0)
				return sym.st_value;
		}
	}
	die(name, "symbol not in the benchmark image");
	return 0;
}

static void workload_range(const image *img, const workload *w, uint64_t *start, uint64_t *end)
{
	char name[64];

	snprintf(name, sizeof(name), "w_%s", w->name);
	*start = image_sym(img, name);
	snprintf(name, sizeof(name), "w_%s_end", w->name);
	*end = image_sym(img, name);
}

/* ---- Child processes: vmm run and QEMU ----------------------------------- */

/* Runs ARGV with stdout on /dev/null; returns its exit status (-1: killed)
 * and its CPU and wall time. */
static int run_child(char *const argv[], double *cpu, double *wall)
{
	struct rusage ru;
	double t0 = now(CLOCK_MONOTONIC);
	int st;
	pid_t pid = fork();

	if (pid < 0)
		die("fork", strerror(errno));
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0)
			dup2(fd, 1);
		execvp(argv[0], argv);
		fprintf(stderr, "bench_emu: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (wait4(pid, &st, 0, &ru) != pid)
		die("wait4", strerror(errno));
	*wall = now(CLOCK_MONOTONIC) - t0;
	*cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Boots the image with "NAME ITERS" on engine E (emu, base or QEMU), with
 * TRACE (a file, or NULL) on emu; dies unless the guest ended with debug
 * exit 0 (status 1 for vmm and QEMU alike). */
static void run_guest(const opts *o, int e, const char *name, uint64_t iters,
		      const char *trace, double *cpu, double *wall)
{
	char arg[64], tr[4096], *argv[24];
	int n = 0, st;

	snprintf(arg, sizeof(arg), "%s %llu", name, (unsigned long long)iters);
	if (e == E_QEMU) {
		const char *q[] = { o->qemu, "-accel", "tcg", "-display", "none", "-nodefaults",
				    "-no-reboot", "-m", "64", "-device",
				    "isa-debug-exit,iobase=0xf4,iosize=4", "-kernel", o->image,
				    "-append", arg };

		for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++)
			argv[n++] = (char *)q[i];
	} else {
		const char *v[] = { e == E_BASE ? o->base : o->vmm, "run", "--backend", "emu",
				    "--test-devices", "--mem", "64M", o->image, "--cmdline", arg };

		for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
			argv[n++] = (char *)v[i];
		if (trace) {
			snprintf(tr, sizeof(tr), "--trace=%s", trace);
			argv[n++] = tr;
		}
	}
	argv[n] = NULL;
	st = run_child(argv, cpu, wall);
	if (st != 1) {
		fprintf(stderr, "bench_emu: %s: workload \"%s\" ended with status %d "
			"(1 expected: 3 a failed check, 5 bad arguments, 7 an exception)\n",
			engine_names[e], arg, st);
		exit(2);
	}
}

/* ---- Unicorn --------------------------------------------------------------- */

/* Calls w_NAME(iters) in Unicorn with the image loaded at its addresses;
 * returns the thread CPU time of uc_emu_start. */
static double run_unicorn(const image *img, const workload *w, uint64_t iters)
{
	uint64_t start, end, rsp = UC_MEM - 4096, ret = UC_STOP, rip;
	uc_engine *uc;
	uc_err err;
	double t0, t;

	workload_range(img, w, &start, &end);
	if ((err = uc_open(UC_ARCH_X86, UC_MODE_64, &uc)))
		die("uc_open", uc_strerror(err));
	if ((err = uc_mem_map(uc, 0, UC_MEM, UC_PROT_ALL)))
		die("uc_mem_map", uc_strerror(err));
	for (unsigned i = 0; i < img->nsegs; i++)
		if ((err = uc_mem_write(uc, img->segs[i].addr, img->segs[i].data,
					img->segs[i].filesz)))
			die("uc_mem_write", uc_strerror(err));
	if ((err = uc_mem_write(uc, rsp, &ret, 8)) ||
	    (err = uc_reg_write(uc, UC_X86_REG_RSP, &rsp)) ||
	    (err = uc_reg_write(uc, UC_X86_REG_RDI, &iters)))
		die("unicorn setup", uc_strerror(err));
	t0 = now(CLOCK_THREAD_CPUTIME_ID);
	err = uc_emu_start(uc, start, UC_STOP, 0, 0);
	t = now(CLOCK_THREAD_CPUTIME_ID) - t0;
	if (err)
		die("uc_emu_start", uc_strerror(err));
	uc_reg_read(uc, UC_X86_REG_RIP, &rip);
	if (rip != UC_STOP)
		die("unicorn", "the workload did not return");
	uc_close(uc);
	return t;
}

/* ---- The instruction counts, checked with vmm run --trace -------------------- */

/* Trace lines ("0xRIP: ...") whose RIP lies in [start, end). */
static uint64_t count_trace(const char *path, uint64_t start, uint64_t end)
{
	FILE *f = fopen(path, "r");
	char line[512];
	uint64_t n = 0;

	if (!f)
		die(path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *endp;
		unsigned long long rip;

		if (strncmp(p, "cpu", 3) == 0 && (p = strchr(p, ' ')))
			p++;
		rip = strtoull(p, &endp, 16);
		if (endp != p && *endp == ':' && rip >= start && rip < end)
			n++;
		while (!strchr(line, '\n') && fgets(line, sizeof(line), f))
			;       /* the rest of a long line */
	}
	fclose(f);
	return n;
}

static uint64_t insns(const workload *w, uint64_t iters)
{
	return iters * w->per_iter + w->fixed;
}

/* W at 100 and 200 iterations under --trace: the counted instructions must
 * be the table's. */
static void verify_count(const opts *o, const image *img, const workload *w, const char *path)
{
	uint64_t start, end, got;
	double cpu, wall;

	workload_range(img, w, &start, &end);
	for (uint64_t n = 100; n <= 200; n += 100) {
		run_guest(o, E_EMU, w->name, n, path, &cpu, &wall);
		got = count_trace(path, start, end);
		if (got != insns(w, n)) {
			fprintf(stderr, "\nbench_emu: %s at %llu iterations: %llu instructions "
				"traced, %llu expected\n", w->name, (unsigned long long)n,
				(unsigned long long)got, (unsigned long long)insns(w, n));
			unlink(path);
			exit(2);
		}
	}
}

/* Every workload's count (verify_count); with CHECK also one short run on
 * each engine, printed as PASS lines for tests/run-checks. */
static void verify_counts(const opts *o, const image *img, int check)
{
	char path[] = "/tmp/bench-emu-trace.XXXXXX";
	int fd = mkstemp(path);
	double cpu, wall;

	if (fd < 0)
		die("mkstemp", strerror(errno));
	close(fd);
	if (!check)
		printf("instruction counts (vmm run --trace, RIP in w_NAME..w_NAME_end):");
	for (size_t i = 0; i < NW; i++) {
		const workload *w = &workloads[i];

		if (o->only && strcmp(o->only, w->name))
			continue;
		verify_count(o, img, w, path);
		if (!check) {
			printf(" %s %llu x N + %llu ok;", w->name, (unsigned long long)w->per_iter,
			       (unsigned long long)w->fixed);
			continue;
		}
		if (o->qemu)
			run_guest(o, E_QEMU, w->name, 1000, NULL, &cpu, &wall);
		if (o->unicorn && w->user)
			run_unicorn(img, w, 1000);
		printf("PASS bench-emu/%s (%llu x N + %llu instructions in emu's trace; ran on "
		       "emu%s%s)\n", w->name, (unsigned long long)w->per_iter,
		       (unsigned long long)w->fixed, o->unicorn && w->user ? ", unicorn" : "",
		       o->qemu ? ", qemu-tcg" : "");
	}
	if (!check)
		printf("\n");
	unlink(path);
}

/* ---- Measuring ---------------------------------------------------------------- */

typedef struct result {
	timing t[NE];
	uint64_t iters[NE];
	int have[NE];
} result;

static int engine_on(const opts *o, const workload *w, int e)
{
	switch (e) {
	case E_EMU: return 1;
	case E_BASE: return o->base != NULL;
	case E_UC: return o->unicorn && w && w->user;
	default: return o->qemu != NULL;
	}
}

/* One round of workload W (NULL: "none") on every engine that runs it. */
static void round_once(const opts *o, const image *img, const workload *w, result *r)
{
	double cpu, wall;

	for (int e = 0; e < NE; e++) {
		if (!engine_on(o, w, e))
			continue;
		if (e == E_UC)
			cpu = wall = run_unicorn(img, w, r->iters[e]);
		else
			run_guest(o, e, w ? w->name : "none", r->iters[e], NULL, &cpu, &wall);
		keep_best(&r->t[e], cpu, wall);
		r->have[e] = 1;
	}
}

static uint64_t scaled(double iters, double scale)
{
	double n = iters * scale;

	return n < 1000 ? 1000 : (uint64_t)n;
}

static void measure(const opts *o, const image *img, const workload *w, result *r)
{
	memset(r, 0, sizeof(*r));
	for (int e = 0; e < NE; e++)
		r->t[e] = (timing){ 1e9, 1e9 };
	if (w) {
		r->iters[E_EMU] = r->iters[E_BASE] = scaled((double)w->iters, o->scale);
		r->iters[E_UC] = scaled((double)w->iters * w->uc_x, o->scale);
		r->iters[E_QEMU] = scaled((double)w->iters * w->qemu_x, o->scale);
	}
	for (int i = 0; i < o->rounds; i++)
		round_once(o, img, w, r);
}

/* ---- Report ------------------------------------------------------------------- */

/* Million instructions per second of engine E, or 0 when not measured or
 * lost in the start-up time. */
static double mips(const result *r, const result *none, const workload *w, int e, int wall)
{
	double t;

	if (!r->have[e])
		return 0;
	t = wall ? r->t[e].wall : r->t[e].cpu;
	if (e != E_UC)
		t -= wall ? none->t[e].wall : none->t[e].cpu;
	return t > 0 ? (double)insns(w, r->iters[e]) / t / 1e6 : 0;
}

static void cell(double v, const char *fmt)
{
	char buf[32];

	if (v > 0)
		snprintf(buf, sizeof(buf), fmt, v);
	else
		snprintf(buf, sizeof(buf), "-");
	printf(" %9s", buf);
}

static double ratio(double a, double b)
{
	return a > 0 && b > 0 ? a / b : 0;
}

static void print_header(const opts *o)
{
	printf("\n%-8s %13s %9s %9s %9s %9s %9s %9s", "workload", "instructions", "emu", "unicorn",
	       "qemu-tcg", "emu/uc", "emu/qemu", "wall e/q");
	if (o->base)
		printf(" %9s %9s", "base", "emu/base");
	printf("\n");
}

/* One table row; returns the number of goals it misses. */
static int print_row(const opts *o, const workload *w, const result *r, const result *none)
{
	double m[NE], qw = ratio(mips(r, none, w, E_EMU, 1), mips(r, none, w, E_QEMU, 1));
	int missed = 0;

	for (int e = 0; e < NE; e++)
		m[e] = mips(r, none, w, e, 0);
	printf("%-8s %13llu", w->name, (unsigned long long)insns(w, r->iters[E_EMU]));
	cell(m[E_EMU], "%.1f");
	cell(m[E_UC], "%.1f");
	cell(m[E_QEMU], "%.1f");
	cell(ratio(m[E_EMU], m[E_UC]), "%.2f");
	cell(ratio(m[E_EMU], m[E_QEMU]), "%.2f");
	cell(qw, "%.2f");
	if (o->base) {
		cell(m[E_BASE], "%.1f");
		cell(ratio(m[E_EMU], m[E_BASE]), "%.3f");
		missed += ratio(m[E_EMU], m[E_BASE]) < GOAL_BASE;
	}
	printf("\n");
	if (w->goal_unicorn && m[E_UC] > 0)
		missed += ratio(m[E_EMU], m[E_UC]) < GOAL_UNICORN;
	return missed;
}

/* ---- Options ------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr, "usage: bench_emu [--vmm PATH] [--base PATH] [--image PATH] "
		"[--qemu PATH|none] [--rounds N] [--scale F] [--only NAME] [--no-unicorn] "
		"[--verify-only] [--check] [--strict]\n");
	exit(2);
}

static const char *value(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc)
		usage();
	return argv[++*i];
}

static void parse_opts(opts *o, int argc, char **argv)
{
	*o = (opts){ "build/vmm", NULL, "build/guests/bench-emu.elf", "qemu-system-x86_64",
		     NULL, 3, 1, 0, 0, 0, 1.0 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--vmm"))
			o->vmm = value(argc, argv, &i);
		else if (!strcmp(a, "--base"))
			o->base = value(argc, argv, &i);
		else if (!strcmp(a, "--image"))
			o->image = value(argc, argv, &i);
		else if (!strcmp(a, "--qemu"))
			o->qemu = value(argc, argv, &i);
		else if (!strcmp(a, "--only"))
			o->only = value(argc, argv, &i);
		else if (!strcmp(a, "--rounds"))
			o->rounds = atoi(value(argc, argv, &i));
		else if (!strcmp(a, "--scale"))
			o->scale = atof(value(argc, argv, &i));
		else if (!strcmp(a, "--no-unicorn"))
			o->unicorn = 0;
		else if (!strcmp(a, "--verify-only"))
			o->verify_only = 1;
		else if (!strcmp(a, "--check"))
			o->check = 1;
		else if (!strcmp(a, "--strict"))
			o->strict = 1;
		else
			usage();
	}
	if (o->rounds < 1 || o->rounds > 100 || !(o->scale > 0 && o->scale <= 100))
		usage();
	if (o->qemu && !strcmp(o->qemu, "none"))
		o->qemu = NULL;
}

/* QEMU is optional: without it the column stays empty. */
static void probe_qemu(opts *o)
{
	char *argv[] = { (char *)o->qemu, "--version", NULL };
	double cpu, wall;

	if (o->qemu && run_child(argv, &cpu, &wall) != 0) {
		printf("%s %s does not run: no qemu-tcg column\n", o->check ? "NOT RUN bench-emu/qemu-tcg:" :
		       "qemu-tcg:", o->qemu);
		o->qemu = NULL;
	}
}

int main(int argc, char **argv)
{
	opts o;
	image img;
	result none, r;
	int missed = 0;

	parse_opts(&o, argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	image_open(&img, o.image);
	probe_qemu(&o);
	verify_counts(&o, &img, o.check);
	if (o.verify_only || o.check)
		return 0;
	printf("million guest instructions per second, CPU time, best of %d rounds; emu and "
	       "qemu-tcg (%s) boot %s and are charged its start-up (the \"none\" workload) "
	       "less; unicorn %u.%u runs the same bytes in-process\n", o.rounds,
	       o.qemu ? o.qemu : "not run", o.image, UC_API_MAJOR, UC_API_MINOR);
	measure(&o, &img, NULL, &none);
	printf("start-up (none): emu %.3f s", none.t[E_EMU].cpu);
	if (o.base)
		printf(", base %.3f s", none.t[E_BASE].cpu);
	if (o.qemu)
		printf(", qemu-tcg %.3f s", none.t[E_QEMU].cpu);
	printf(" CPU\n");
	print_header(&o);
	for (size_t i = 0; i < NW; i++) {
		if (o.only && strcmp(o.only, workloads[i].name))
			continue;
		measure(&o, &img, &workloads[i], &r);
		missed += print_row(&o, &workloads[i], &r, &none);
	}
	printf("\ninstructions: emu's (and base's); unicorn and qemu-tcg run the same code "
	       "with iterations x (unicorn, qemu-tcg), about a second each:");
	for (size_t i = 0; i < NW; i++) {
		const workload *w = &workloads[i];

		if (o.only && strcmp(o.only, w->name))
			continue;
		if (w->user)
			printf(" %s (%g, %g)", w->name, w->uc_x, w->qemu_x);
		else
			printf(" %s (-, %g)", w->name, w->qemu_x);
	}
	printf("\nwall e/q: emu/qemu-tcg on wall-clock time (start-up subtracted)\n");
	printf("goals: emu/unicorn >= %.1f on copy, branch and dispatch%s: %s\n", GOAL_UNICORN,
	       o.base ? ", emu/base >= 0.97 on every workload" : "", missed ? "MISSED" : "met");
	elf_end(img.elf);
	close(img.fd);
	return o.strict && missed ? 1 : 0;
}
