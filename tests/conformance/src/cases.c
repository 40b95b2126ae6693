/* cases.c - runs one guest case of the manifest on one backend: a fresh VM
 * with the case's vCPUs, memory and test devices, the image loaded with
 * vmm_load_elf, vmm_vm_run with the case's timeout; then the end, the exit
 * code and the serial output must all be exactly as expected. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tests/conformance/src/conform.h"
#include "lib/internal.h"   /* vcpu->runnable for the "sipi" option */

int outcome_fail(outcome *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->text, sizeof(out->text), fmt, ap);
	va_end(ap);
	out->kind = OUTCOME_FAIL;
	return OUTCOME_FAIL;
}

const char *guest_path(const conform_opts *o, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s.elf", o->guest_dir, name);
	return buf;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Up to max bytes of s as a C string literal body. */
static const char *escape(const char *s, size_t len, size_t max, char *buf, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < len && i < max && n + 5 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n')
			n += (size_t)snprintf(buf + n, cap - n, "\\n");
		else if (c == '"' || c == '\\')
			n += (size_t)snprintf(buf + n, cap - n, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			n += (size_t)snprintf(buf + n, cap - n, "\\x%02x", c);
		else
			buf[n++] = (char)c;
	}
	buf[n] = 0;
	return buf;
}

/* Fails out if the output is not exactly the expected text. */
static int compare_output(const conform_case *c, const capture *cap, outcome *out)
{
	const char *got = cap->data ? cap->data : "";
	size_t i = 0, from;
	char e[160], g[160];

	while (i < c->expected_len && i < cap->len && c->expected[i] == got[i])
		i++;
	if (i == c->expected_len && i == cap->len)
		return OUTCOME_PASS;
	from = i > 20 ? i - 20 : 0;
	return outcome_fail(out, "output differs at byte %zu (expected %zu bytes, got "
			    "%zu): expected \"%s\", got \"%s\"", i, c->expected_len,
			    cap->len, escape(c->expected + from, c->expected_len - from,
					     60, e, sizeof(e)),
			    escape(got + from, cap->len - from, 60, g, sizeof(g)));
}

/* SKIP if the flavour has a known limitation that ends runs this way. */
static int known_limitation(const conform_case *c, const char *flavour,
			    const vmm_run_result *res, const capture *cap, outcome *out)
{
	for (uint32_t i = 0; i < c->nknown; i++) {
		const conform_known *k = &c->known[i];

		if (strcmp(k->flavour, flavour) || k->end != res->end ||
		    (k->end == VMM_END_DEBUG_EXIT && k->code != res->code) ||
		    (k->output[0] && (!cap->data || !strstr(cap->data, k->output))))
			continue;
		snprintf(out->text, sizeof(out->text), "known %s limitation: %s "
			 "(ended: %s)", flavour, k->reason, res->message);
		out->kind = OUTCOME_SKIP;
		return 1;
	}
	return 0;
}

/* The last line of the output (a guest's FAIL line), escaped. */
static const char *last_line(const capture *cap, char *buf, size_t len)
{
	size_t end = cap->len, start;

	if (end && cap->data[end - 1] == '\n')
		end--;
	start = end;
	while (start && cap->data[start - 1] != '\n')
		start--;
	return escape(cap->data ? cap->data + start : "", end - start, 200, buf, len);
}

static int check_result(const conform_case *c, const char *flavour,
			const vmm_run_result *res, const capture *cap, outcome *out)
{
	char want[32], got[32], line[256];

	if (res->end != c->end || (c->end == VMM_END_DEBUG_EXIT && res->code != c->code)) {
		if (known_limitation(c, flavour, res, cap, out))
			return OUTCOME_SKIP;
		return outcome_fail(out, "ended with %s, expected %s (%s; vCPU %u, rip "
				    "0x%llx); last output line: \"%s\"",
				    end_name(res->end, res->code, got, sizeof(got)),
				    end_name(c->end, c->code, want, sizeof(want)),
				    res->message, res->vcpu_index,
				    (unsigned long long)res->rip,
				    last_line(cap, line, sizeof(line)));
	}
	return compare_output(c, cap, out);
}

static int setup_vm(const conform_opts *o, const char *backend, const conform_case *c,
		    testdev *dev, capture *cap, vmm_vm **vm, outcome *out)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	char path[4096];
	int rc;

	cfg.vcpus = c->vcpus;
	cfg.mem_size = c->mem;
	cfg.backend = backend;
	if (c->devices & CONFORM_NEEDS_IRQCHIP)
		cfg.flags |= VMM_VM_IRQCHIP;
	rc = vmm_vm_create(&cfg, vm);
	if (rc == VMM_ENOTSUP && (cfg.flags & VMM_VM_IRQCHIP)) {
		snprintf(out->text, sizeof(out->text), "backend has no interrupt "
			 "controllers: %s", vmm_last_error());
		out->kind = OUTCOME_SKIP;
		return OUTCOME_SKIP;
	}
	if (rc == VMM_ENOMEM) {
		/* the machine, not libvmm: e.g. a small test host */
		snprintf(out->text, sizeof(out->text), "this host cannot give a VM "
			 "%llu MiB: %s", (unsigned long long)(c->mem >> 20), vmm_last_error());
		out->kind = OUTCOME_SKIP;
		return OUTCOME_SKIP;
	}
	if (rc)
		return outcome_fail(out, "vmm_vm_create: %s", vmm_last_error());
	dev->tolerance = o->tolerance;
	if (testdev_attach(dev, *vm, c->devices) || capture_attach(cap, *vm))
		return outcome_fail(out, "device setup: %s", vmm_last_error());
	if (vmm_load_elf(*vm, guest_path(o, c->name, path, sizeof(path)),
			 c->cmdline[0] ? c->cmdline : NULL))
		return outcome_fail(out, "vmm_load_elf %s: %s", path, vmm_last_error());
	/* "sipi": the APs wait for INIT/SIPI, as the Multiboot loader leaves
	 * them (no public call marks a vCPU so). */
	for (uint32_t i = 1; (c->devices & CONFORM_OPT_SIPI) && i < c->vcpus; i++) {
		vmm_vcpu *ap = vmm_vcpu_get(*vm, i);

		if (!ap)
			return outcome_fail(out, "sipi: the loader made no vCPU %u", i);
		ap->runnable = false;
	}
	return OUTCOME_PASS;
}

void case_run(const conform_opts *o, const char *backend, const conform_case *c,
	      outcome *out)
{
	vmm_run_options opts = VMM_RUN_OPTIONS_INIT;
	vmm_run_result res = VMM_RUN_RESULT_INIT;
	vmm_vm *vm = NULL;
	testdev dev;
	capture cap;
	double t0 = now();
	char notes[512];

	memset(out, 0, sizeof(*out));
	testdev_init(&dev);
	capture_init(&cap);
	opts.timeout_ms = (uint64_t)c->timeout_s * 1000;
	if (setup_vm(o, backend, c, &dev, &cap, &vm, out) == OUTCOME_PASS) {
		if (vmm_vm_run(vm, &opts, &res))
			outcome_fail(out, "vmm_vm_run: %s", vmm_last_error());
		else if (check_result(c, vmm_vm_flavour(vm), &res, &cap, out) ==
			 OUTCOME_PASS && testdev_notes(&dev, notes, sizeof(notes))[0])
			snprintf(out->text, sizeof(out->text), "note: %s", notes);
	}
	testdev_stop(&dev);
	vmm_vm_destroy(vm);
	capture_fini(&cap);
	testdev_fini(&dev);
	out->seconds = now() - t0;
}
