/* conform.c - the conformance runner: every guest of tests/guests/manifest
 * and every host test (src/hosttests.c) on every backend (or the one named),
 * each compared exactly with what it must do.
 *
 *   conform [--backend NAME] [--guests DIR] [--manifest FILE] [--only LIST]
 *           [--list] [--verbose] [--tolerance PCT]
 *
 * One line per case: "PASS emu/arith", "FAIL emu/arith: <why>", or
 * "NOT RUN kvm/arith: <why>" when the backend is unusable here or the case
 * hit a known limitation of the backend's flavour (manifest "known" lines);
 * then "conform: N passed, N failed, N skipped".
 * Exit status: 0 if nothing failed, 1 if something failed, 2 on bad usage. */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/conformance/src/conform.h"

typedef struct stats {
	unsigned passed, failed, skipped;
} stats;

/* Hang guard: if a case gives no result long after its time limit (for
 * example a vmm_vcpu_run that a kick cannot stop), the runner reports it
 * as failed and exits instead of hanging. */
#define GUARD_GRACE_S 60.0
#define HOST_TEST_LIMIT_S 60.0

static struct {
	pthread_mutex_t lock;
	char label[96];
	double deadline;     /* 0: disarmed */
	stats *st;
} guard = { PTHREAD_MUTEX_INITIALIZER, "", 0, NULL };

typedef struct config {
	conform_opts opts;
	const char *backend;     /* NULL: all */
	const char *manifest;
	const char *only;        /* comma-separated case names, or NULL */
	int list;
} config;

static void usage(FILE *f)
{
	fprintf(f, "usage: conform [--backend NAME] [--guests DIR] [--manifest FILE]\n"
		   "               [--only NAME,...] [--list] [--verbose] [--tolerance PCT]\n"
		   "Runs every guest of the manifest and every host test on every\n"
		   "backend (or only NAME) and compares the results exactly.\n"
		   "  --guests DIR     guest images NAME.elf (default build/guests)\n"
		   "  --manifest FILE  guest list (default tests/guests/manifest)\n"
		   "  --only LIST      only these guests/host tests, e.g. arith,kick\n"
		   "  --list           list backends, guests and host tests; run nothing\n"
		   "  --verbose        also print the time each case took\n"
		   "  --tolerance PCT  timing tolerance the interrupt guests apply to\n"
		   "                   rates against the host clock (default 5; more\n"
		   "                   for hosts on emulated time)\n");
}

static int parse_args(int argc, char **argv, config *cfg)
{
	static const struct option longopts[] = {
		{ "backend", required_argument, 0, 'b' }, { "guests", required_argument, 0, 'g' },
		{ "manifest", required_argument, 0, 'm' }, { "only", required_argument, 0, 'o' },
		{ "list", no_argument, 0, 'l' }, { "verbose", no_argument, 0, 'v' },
		{ "help", no_argument, 0, 'h' }, { "tolerance", required_argument, 0, 't' },
		{ 0, 0, 0, 0 },
	};
	int c;

	memset(cfg, 0, sizeof(*cfg));
	cfg->opts.guest_dir = "build/guests";
	cfg->manifest = "tests/guests/manifest";
	cfg->opts.tolerance = 5;
	while ((c = getopt_long(argc, argv, "b:g:m:o:lvht:", longopts, NULL)) != -1) {
		switch (c) {
		case 'b': cfg->backend = optarg; break;
		case 'g': cfg->opts.guest_dir = optarg; break;
		case 'm': cfg->manifest = optarg; break;
		case 'o': cfg->only = optarg; break;
		case 'l': cfg->list = 1; break;
		case 'v': cfg->opts.verbose = 1; break;
		case 't':
			cfg->opts.tolerance = (uint32_t)strtoul(optarg, NULL, 10);
			if (cfg->opts.tolerance < 1 || cfg->opts.tolerance > 100) {
				fprintf(stderr, "conform: --tolerance wants 1..100\n");
				return -1;
			}
			break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	return 0;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void guard_arm(const char *backend, const char *name, double limit_s)
{
	pthread_mutex_lock(&guard.lock);
	snprintf(guard.label, sizeof(guard.label), "%s/%s", backend, name);
	guard.deadline = now() + limit_s + GUARD_GRACE_S;
	pthread_mutex_unlock(&guard.lock);
}

static void guard_disarm(void)
{
	pthread_mutex_lock(&guard.lock);
	guard.deadline = 0;
	pthread_mutex_unlock(&guard.lock);
}

static void *guard_thread(void *arg)
{
	struct timespec step = { 0, 100 * 1000000 };

	for (;;) {
		nanosleep(&step, NULL);
		pthread_mutex_lock(&guard.lock);
		if (guard.deadline && now() > guard.deadline) {
			printf("FAIL %s: no result %.0f s after its time limit; the runner "
			       "gives up (a run that cannot be stopped)\n", guard.label,
			       GUARD_GRACE_S);
			printf("conform: %u passed, %u failed, %u skipped\n",
			       guard.st->passed, guard.st->failed + 1, guard.st->skipped);
			fflush(stdout);
			_exit(1);
		}
		pthread_mutex_unlock(&guard.lock);
	}
	return arg;
}

static int selected(const config *cfg, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = cfg->only; p && *p;) {
		size_t len = strcspn(p, ",");
		if (len == n && strncmp(p, name, n) == 0)
			return 1;
		p += len + (p[len] == ',');
	}
	return cfg->only == NULL;
}

/* Fails if --only names something that is neither a guest nor a host test. */
static int check_only(const config *cfg, const conform_manifest *m)
{
	char name[64];

	for (const char *p = cfg->only; p && *p;) {
		size_t len = strcspn(p, ",");
		int known = 0;

		snprintf(name, sizeof(name), "%.*s", (int)len, p);
		known = manifest_find(m, name) != NULL;
		for (uint32_t i = 0; i < host_test_count && !known; i++)
			known = strcmp(host_tests[i].name, name) == 0;
		if (!known) {
			fprintf(stderr, "conform: --only: no guest or host test named '%s'\n",
				name);
			return -1;
		}
		p += len + (p[len] == ',');
	}
	return 0;
}

static void report(stats *st, const config *cfg, const char *backend,
		   const char *name, const outcome *out)
{
	static const char *const words[] = { "PASS", "FAIL", "NOT RUN" };
	char secs[32] = "";

	if (cfg->opts.verbose)
		snprintf(secs, sizeof(secs), " [%.2f s]", out->seconds);
	if (out->kind == OUTCOME_PASS && !out->text[0])
		printf("PASS %s/%s%s\n", backend, name, secs);
	else if (out->kind == OUTCOME_PASS)
		printf("PASS %s/%s (%s)%s\n", backend, name, out->text, secs);
	else
		printf("%s %s/%s: %s%s\n", words[out->kind], backend, name, out->text, secs);
	fflush(stdout);
	if (out->kind == OUTCOME_PASS)
		st->passed++;
	else if (out->kind == OUTCOME_FAIL)
		st->failed++;
	else
		st->skipped++;
}

static void not_run(stats *st, const config *cfg, const conform_manifest *m,
		    const vmm_backend_info *info)
{
	for (uint32_t i = 0; i < m->ncases; i++)
		if (selected(cfg, m->cases[i].name)) {
			printf("NOT RUN %s/%s: %s\n", info->name, m->cases[i].name, info->reason);
			st->skipped++;
		}
	for (uint32_t i = 0; i < host_test_count; i++)
		if (selected(cfg, host_tests[i].name)) {
			printf("NOT RUN %s/%s: %s\n", info->name, host_tests[i].name,
			       info->reason);
			st->skipped++;
		}
}

static void run_backend(stats *st, const config *cfg, const conform_manifest *m,
			const vmm_backend_info *info)
{
	outcome out;

	if (!info->usable) {
		not_run(st, cfg, m, info);
		return;
	}
	for (uint32_t i = 0; i < m->ncases; i++) {
		if (!selected(cfg, m->cases[i].name))
			continue;
		guard_arm(info->name, m->cases[i].name, m->cases[i].timeout_s);
		case_run(&cfg->opts, info->name, &m->cases[i], &out);
		guard_disarm();
		report(st, cfg, info->name, m->cases[i].name, &out);
	}
	for (uint32_t i = 0; i < host_test_count; i++) {
		if (!selected(cfg, host_tests[i].name))
			continue;
		memset(&out, 0, sizeof(out));
		out.seconds = -now();
		guard_arm(info->name, host_tests[i].name, HOST_TEST_LIMIT_S);
		host_tests[i].run(&cfg->opts, m, info->name, &out);
		guard_disarm();
		out.seconds += now();
		report(st, cfg, info->name, host_tests[i].name, &out);
	}
}

static void list(const conform_manifest *m)
{
	vmm_backend_info info = VMM_BACKEND_INFO_INIT;
	char end[32];

	for (uint32_t i = 0; vmm_backends(i, &info) == 0; i++)
		printf("backend %-6s %s %s: %s\n", info.name,
		       info.usable ? "usable" : "unusable", info.flavour, info.reason);
	for (uint32_t i = 0; i < m->ncases; i++) {
		const conform_case *c = &m->cases[i];
		printf("guest   %-12s vcpus %-2u mem %4llu MiB  end %-9s timeout %u s%s%s\n",
		       c->name, c->vcpus, (unsigned long long)(c->mem >> 20),
		       end_name(c->end, c->code, end, sizeof(end)), c->timeout_s,
		       c->devices & CONFORM_DEV_PIO ? "  pio" : "",
		       c->devices & CONFORM_DEV_MMIO ? "  mmio" : "");
	}
	for (uint32_t i = 0; i < host_test_count; i++)
		printf("host    %-16s %s\n", host_tests[i].name, host_tests[i].what);
}

int main(int argc, char **argv)
{
	vmm_backend_info info = VMM_BACKEND_INFO_INIT;
	static conform_manifest m;
	stats st = { 0, 0, 0 };
	config cfg;
	pthread_t guard_tid;
	int found = 0;

	if (parse_args(argc, argv, &cfg) || manifest_load(cfg.manifest, &m))
		return 2;
	if (check_only(&cfg, &m)) {
		manifest_free(&m);
		return 2;
	}
	if (cfg.list) {
		list(&m);
		manifest_free(&m);
		return 0;
	}
	guard.st = &st;
	if (pthread_create(&guard_tid, NULL, guard_thread, NULL) ||
	    pthread_detach(guard_tid)) {
		fprintf(stderr, "conform: cannot start the hang guard thread\n");
		return 2;
	}
	for (uint32_t i = 0; vmm_backends(i, &info) == 0; i++) {
		if (cfg.backend && strcmp(cfg.backend, info.name))
			continue;
		found = 1;
		run_backend(&st, &cfg, &m, &info);
	}
	manifest_free(&m);
	if (!found) {
		fprintf(stderr, "conform: no backend named %s\n", cfg.backend);
		return 2;
	}
	printf("conform: %u passed, %u failed, %u skipped\n", st.passed, st.failed,
	       st.skipped);
	return st.failed ? 1 : 0;
}
