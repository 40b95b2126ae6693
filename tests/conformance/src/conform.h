/* conform.h - the conformance runner's parts: the manifest of guest cases,
 * the test devices, running one case, the host-level tests and reporting.
 * conform.c (the tool's main) ties them together. */
#ifndef CONFORM_H
#define CONFORM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm.h"

#define CONFORM_MAX_CASES 64
#define CONFORM_MAX_KNOWN 4
#define CONFORM_DEV_PIO (1u << 0)
#define CONFORM_DEV_MMIO (1u << 1)
#define CONFORM_DEV_IRQ (1u << 2)       /* the interrupt device; implies irqchip */
#define CONFORM_OPT_IRQCHIP (1u << 3)   /* VM flag VMM_VM_IRQCHIP */
#define CONFORM_OPT_SIPI (1u << 4)      /* APs wait for INIT/SIPI; implies irqchip */
#define CONFORM_NEEDS_IRQCHIP (CONFORM_DEV_IRQ | CONFORM_OPT_IRQCHIP | CONFORM_OPT_SIPI)
#define CONFORM_DEV_UTC (1u << 5)       /* host UTC seconds port */

/* ---- manifest.c ------------------------------------------------------------ */
typedef struct conform_known {
	char flavour[32];        /* e.g. "kvm_pvm" */
	uint32_t end;            /* VMM_END_* the flavour is known to end with */
	uint32_t code;           /* for VMM_END_DEBUG_EXIT */
	char output[128];        /* "" or text the output must contain */
	char reason[256];
} conform_known;

typedef struct conform_case {
	char name[32];
	uint32_t vcpus;
	uint64_t mem;            /* bytes */
	uint32_t end;            /* VMM_END_* expected */
	uint32_t code;           /* for VMM_END_DEBUG_EXIT */
	uint32_t timeout_s;
	uint32_t devices;        /* CONFORM_DEV_* */
	char cmdline[256];       /* "" for none */
	char *expected;          /* exact serial output (NAME.expected) */
	size_t expected_len;
	conform_known known[CONFORM_MAX_KNOWN];
	uint32_t nknown;
} conform_case;

typedef struct conform_manifest {
	conform_case cases[CONFORM_MAX_CASES];
	uint32_t ncases;
} conform_manifest;

/* Parses the manifest at path and reads each NAME.expected next to it.
 * On error prints one line to stderr and returns -1. */
int manifest_load(const char *path, conform_manifest *m);
void manifest_free(conform_manifest *m);
const conform_case *manifest_find(const conform_manifest *m, const char *name);
/* "exit:0x42", "halted", ... for an expected or actual end. */
const char *end_name(uint32_t end, uint32_t code, char *buf, size_t len);

/* ---- testdev.c: the devices of tests/guests/testdev.h ------------------------- */
typedef struct testdev {
	pthread_mutex_t lock;
	uint32_t data, seq_n, sum, count;          /* port device */
	uint8_t mmio[0x1000];                      /* STORE and XOR areas */
	uint64_t mmio_count, mmio_last;
	char note[512];                            /* note port bytes */
	size_t note_len;
	/* interrupt device */
	vmm_vm *vm;
	uint32_t tolerance;                        /* percent, TESTDEV_IRQ_TOL */
	double t0;                                 /* CLOCK origin, seconds */
	uint32_t msi_data, msi_addr;
	uint8_t status;
	atomic_int storm_run, storm_sent;
	int storm_started;
	pthread_t storm_tid;
} testdev;

void testdev_init(testdev *d);
void testdev_fini(testdev *d);
/* irqdev.c: registers the interrupt device (CONFORM_DEV_IRQ). */
int testdev_irq_attach(testdev *d, vmm_vm *vm);
/* Stops the interrupt device's host thread; before the VM is destroyed. */
void testdev_stop(testdev *d);
/* Registers the note port and the devices named in mask (CONFORM_DEV_*). */
int testdev_attach(testdev *d, vmm_vm *vm, uint32_t mask);
/* The notes as "a; b", or "" if none. */
const char *testdev_notes(testdev *d, char *buf, size_t len);

/* ---- capture.c: serial output of a VM ------------------------------------------- */
typedef struct capture {
	pthread_mutex_t lock;
	char *data;
	size_t len, cap;
} capture;

void capture_init(capture *c);
void capture_fini(capture *c);
int capture_attach(capture *c, vmm_vm *vm);
/* Waits up to ms for text to appear in the output; 1 if it did. */
int capture_wait_for(capture *c, const char *text, unsigned ms);

/* ---- watchdog.c: deadline for vmm_vcpu_run loops ---------------------------------- */
typedef struct watchdog {
	vmm_vcpu *vcpu;
	unsigned ms;
	atomic_int stop, fired;
	pthread_t tid;
} watchdog;

/* After ms, kicks vcpu every 100 ms until watchdog_stop. */
int watchdog_start(watchdog *w, vmm_vcpu *vcpu, unsigned ms);
/* Stops the watchdog; returns 1 if it fired. */
int watchdog_stop(watchdog *w);
#define HOST_TEST_DEADLINE_MS 20000u

/* ---- cases.c: one guest case --------------------------------------------------- */
typedef struct conform_opts {
	const char *guest_dir;   /* build/guests */
	int verbose;
	uint32_t tolerance;      /* percent for timing checks (testdev TOL) */
} conform_opts;

enum { OUTCOME_PASS, OUTCOME_FAIL, OUTCOME_SKIP };

typedef struct outcome {
	int kind;                /* OUTCOME_* */
	char text[1024];         /* why it failed / was skipped, or notes */
	double seconds;
} outcome;

/* Creates a VM on backend, runs the case, compares end and output. */
void case_run(const conform_opts *o, const char *backend, const conform_case *c,
	      outcome *out);
/* Fills out with a failure message (printf-style); returns OUTCOME_FAIL. */
int outcome_fail(outcome *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Path of the guest image NAME.elf. */
const char *guest_path(const conform_opts *o, const char *name, char *buf, size_t len);

/* ---- hosttests.c: tests of the embedding API that need a real backend --------- */
typedef struct host_test {
	const char *name;
	const char *what;
	void (*run)(const conform_opts *o, const conform_manifest *m,
		    const char *backend, outcome *out);
} host_test;

extern const host_test host_tests[];
extern const uint32_t host_test_count;

#endif /* CONFORM_H */
