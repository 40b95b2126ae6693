/* hosttests.c - tests of the embedding API that need a working backend but
 * are not a single guest: two VMs running at once in one process, a shared
 * region seen by two running VMs and the host, read-only memory; the kick
 * and hypercall tests live in kicktest.c and hypertest.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/conformance/src/conform.h"
#include "tests/guests/share.h"

#define ROMEM_GPA 0x20000000ull
#define ROMEM_SIZE 4096u

void host_test_kick(const conform_opts *o, const conform_manifest *m,
		    const char *backend, outcome *out);
void host_test_hypercall(const conform_opts *o, const conform_manifest *m,
			 const char *backend, outcome *out);

/* ---- two VMs at once -------------------------------------------------------- */
typedef struct case_job {
	const conform_opts *o;
	const char *backend;
	const conform_case *c;
	outcome out;
	pthread_t tid;
} case_job;

static void *case_thread(void *arg)
{
	case_job *j = arg;

	case_run(j->o, j->backend, j->c, &j->out);
	return NULL;
}

/* Runs the cases on their own threads at once; fails out if any failed. */
static void run_together(case_job *jobs, uint32_t n, outcome *out)
{
	uint32_t started = 0;

	for (; started < n; started++)
		if (pthread_create(&jobs[started].tid, NULL, case_thread, &jobs[started])) {
			outcome_fail(out, "pthread_create failed");
			break;
		}
	for (uint32_t i = 0; i < started; i++)
		pthread_join(jobs[i].tid, NULL);
	for (uint32_t i = 0; i < started && out->kind == OUTCOME_PASS; i++)
		if (jobs[i].out.kind != OUTCOME_PASS)
			outcome_fail(out, "%s: %s", jobs[i].c->name, jobs[i].out.text);
}

static void test_two_vms(const conform_opts *o, const conform_manifest *m,
			 const char *backend, outcome *out)
{
	case_job jobs[2];
	const char *names[2] = { "arith", "flags" };

	memset(jobs, 0, sizeof(jobs));
	for (int i = 0; i < 2; i++) {
		jobs[i].o = o;
		jobs[i].backend = backend;
		jobs[i].c = manifest_find(m, names[i]);
		if (!jobs[i].c) {
			outcome_fail(out, "the manifest has no guest %s", names[i]);
			return;
		}
	}
	run_together(jobs, 2, out);
}

/* ---- shared region ---------------------------------------------------------- */
typedef struct vm_job {
	vmm_vm *vm;
	vmm_run_result res;
	int rc;
	char err[256];
	pthread_t tid;
} vm_job;

static void *vm_thread(void *arg)
{
	vm_job *j = arg;
	vmm_run_options opts = VMM_RUN_OPTIONS_INIT;

	opts.timeout_ms = 20000;
	j->res = (vmm_run_result)VMM_RUN_RESULT_INIT;
	j->rc = vmm_vm_run(j->vm, &opts, &j->res);
	if (j->rc)
		snprintf(j->err, sizeof(j->err), "%s", vmm_last_error());
	return NULL;
}

/* A 1-vCPU VM with 64 MiB running guest name; NULL with out filled on error. */
static vmm_vm *make_vm(const conform_opts *o, const char *backend, const char *name,
		       outcome *out)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	vmm_vm *vm = NULL;
	char path[4096];

	cfg.backend = backend;
	if (vmm_vm_create(&cfg, &vm)) {
		outcome_fail(out, "vmm_vm_create: %s", vmm_last_error());
		return NULL;
	}
	if (vmm_load_elf(vm, guest_path(o, name, path, sizeof(path)), NULL)) {
		outcome_fail(out, "vmm_load_elf %s: %s", path, vmm_last_error());
		vmm_vm_destroy(vm);
		return NULL;
	}
	return vm;
}

static int job_ok(const vm_job *j, const char *name, outcome *out)
{
	if (j->rc)
		return outcome_fail(out, "%s: vmm_vm_run: %s", name, j->err) == OUTCOME_PASS;
	if (j->res.end != VMM_END_DEBUG_EXIT || j->res.code != 0)
		return outcome_fail(out, "%s ended: %s", name, j->res.message) == OUTCOME_PASS;
	return 1;
}

static void check_region(const uint8_t *host, outcome *out)
{
	uint64_t w;
	uint32_t r;

	for (uint32_t i = 0; i < SHARE_WORDS; i++) {
		memcpy(&w, host + SHARE_WRITER_OFF + 8 * i, 8);
		if (w != share_writer_word(i)) {
			outcome_fail(out, "host sees writer word %u = 0x%llx", i,
				     (unsigned long long)w);
			return;
		}
	}
	for (uint32_t i = 0; i < 2 * SHARE_WORDS; i++) {
		memcpy(&r, host + SHARE_READER_OFF + 4 * i, 4);
		if (r != share_reader_word(i)) {
			outcome_fail(out, "host sees reader word %u = 0x%x", i, r);
			return;
		}
	}
}

static void test_shared_region(const conform_opts *o, const conform_manifest *m,
			       const char *backend, outcome *out)
{
	static const char *const names[2] = { "share_writer", "share_reader" };
	vmm_region *region = NULL;
	vm_job jobs[2];
	int started[2] = { 0, 0 };
	uint64_t magic = SHARE_MAGIC;

	memset(jobs, 0, sizeof(jobs));
	if (vmm_region_create(SHARE_SIZE, &region)) {
		outcome_fail(out, "vmm_region_create: %s", vmm_last_error());
		return;
	}
	memcpy((uint8_t *)vmm_region_host_ptr(region) + SHARE_MAGIC_OFF, &magic, 8);
	for (int i = 0; i < 2 && out->kind == OUTCOME_PASS; i++) {
		jobs[i].vm = make_vm(o, backend, names[i], out);
		if (jobs[i].vm && vmm_mem_share(jobs[i].vm, region, SHARE_GPA, 0,
						SHARE_SIZE, VMM_MEM_RW))
			outcome_fail(out, "vmm_mem_share: %s", vmm_last_error());
	}
	vmm_region_destroy(region); /* the VMs keep it alive */
	for (int i = 0; i < 2 && out->kind == OUTCOME_PASS; i++) {
		started[i] = pthread_create(&jobs[i].tid, NULL, vm_thread, &jobs[i]) == 0;
		if (!started[i])
			outcome_fail(out, "pthread_create failed");
	}
	for (int i = 0; i < 2; i++)
		if (started[i])
			pthread_join(jobs[i].tid, NULL);
	if (out->kind == OUTCOME_PASS && job_ok(&jobs[0], names[0], out) &&
	    job_ok(&jobs[1], names[1], out)) {
		void *host = NULL;
		if (vmm_mem_host_ptr(jobs[0].vm, SHARE_GPA, SHARE_SIZE, &host))
			outcome_fail(out, "vmm_mem_host_ptr: %s", vmm_last_error());
		else
			check_region(host, out);
	}
	for (int i = 0; i < 2; i++)
		vmm_vm_destroy(jobs[i].vm);
}

/* ---- read-only memory --------------------------------------------------------- */
typedef struct ro_expect {
	uint64_t addr, data;
	uint8_t size;
} ro_expect;

static const ro_expect ro_writes[2] = {
	{ ROMEM_GPA + 0x10, 0x12345678, 4 },
	{ ROMEM_GPA + 0xfff, 0xaa, 1 },
};

/* Drives vCPU 0 until the debug exit, checking each MMIO exit in turn. */
static void drive_romem(vmm_vm *vm, outcome *out)
{
	vmm_vcpu *vcpu = vmm_vcpu_get(vm, 0);
	uint32_t seen = 0;
	vmm_exit *e;

	for (uint32_t steps = 0; steps < 100; steps++) {
		if (vmm_vcpu_run(vcpu, &e)) {
			outcome_fail(out, "vmm_vcpu_run: %s", vmm_last_error());
			return;
		}
		if (e->reason == VMM_EXIT_DEBUG_EXIT) {
			if (e->debug_exit.code != 0 || seen != 2)
				outcome_fail(out, "guest exit 0x%x after %u of 2 MMIO "
					     "exits", e->debug_exit.code, seen);
			return;
		}
		if (e->reason == VMM_EXIT_CANCELLED) {
			outcome_fail(out, "no exit within %u s after %u MMIO exits (rip "
				     "0x%llx)", HOST_TEST_DEADLINE_MS / 1000, seen,
				     (unsigned long long)e->rip);
			return;
		}
		if (e->reason != VMM_EXIT_MMIO || seen == 2 || !e->mmio.is_write ||
		    e->mmio.addr != ro_writes[seen].addr ||
		    e->mmio.size != ro_writes[seen].size ||
		    e->mmio.data != ro_writes[seen].data) {
			outcome_fail(out, "unexpected exit %u (mmio addr 0x%llx size %u "
				     "write %u data 0x%llx) after %u MMIO exits",
				     e->reason, (unsigned long long)e->mmio.addr,
				     e->mmio.size, e->mmio.is_write,
				     (unsigned long long)e->mmio.data, seen);
			return;
		}
		seen++;
	}
	outcome_fail(out, "no end after 100 exits");
}

static void test_readonly_memory(const conform_opts *o, const conform_manifest *m,
				 const char *backend, outcome *out)
{
	uint8_t *page = aligned_alloc(4096, ROMEM_SIZE);
	vmm_vm *vm;

	if (!page) {
		outcome_fail(out, "out of memory");
		return;
	}
	for (uint32_t i = 0; i < ROMEM_SIZE; i++)
		page[i] = (uint8_t)(i ^ 0x3c);
	vm = make_vm(o, backend, "romem", out);
	if (vm && vmm_mem_map(vm, ROMEM_GPA, ROMEM_SIZE, VMM_MEM_RO, page))
		outcome_fail(out, "vmm_mem_map RO: %s", vmm_last_error());
	else if (vm && vmm_mem_write(vm, ROMEM_GPA + 0x100, "host", 4))
		outcome_fail(out, "vmm_mem_write to RO memory: %s", vmm_last_error());
	if (out->kind == OUTCOME_PASS) {
		watchdog w;

		if (watchdog_start(&w, vmm_vcpu_get(vm, 0), HOST_TEST_DEADLINE_MS)) {
			outcome_fail(out, "cannot start the watchdog thread");
		} else {
			drive_romem(vm, out);
			watchdog_stop(&w);
		}
	}
	if (out->kind == OUTCOME_PASS && (page[0x10] != (0x10 ^ 0x3c) ||
					  page[0xfff] != ((0xfff ^ 0x3c) & 0xff)))
		outcome_fail(out, "read-only memory changed");
	vmm_vm_destroy(vm);
	free(page);
}

const host_test host_tests[] = {
	{ "two-vms", "arith and flags in two VMs at once", test_two_vms },
	{ "shared-region", "a region shared by two running VMs and the host",
	  test_shared_region },
	{ "readonly-memory", "guest writes to VMM_MEM_RO memory exit as MMIO",
	  test_readonly_memory },
	{ "kick", "vmm_vcpu_kick stops a spinning guest within 1 s", host_test_kick },
	{ "hypercall", "VMCALL reaches the embedder as VMM_EXIT_HYPERCALL",
	  host_test_hypercall },
};
const uint32_t host_test_count = sizeof(host_tests) / sizeof(host_tests[0]);
