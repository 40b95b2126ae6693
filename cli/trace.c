/* trace.c - `vmm run --trace[=FILE]`: formats libvmm's per-instruction
 * trace events (vmm/trace.h) as lines
 *   [cpuN ]0xRIP: MNEMONIC OPERANDS[ ; reg=value ...][ ; event]
 * where the registers are those the instruction changed (RIP not counted)
 * and the event is "exception N" or "continues after an exit". */
#include <capstone/capstone.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/trace.h"

struct cli_trace {
	FILE *out;
	int own;                 /* out was opened here */
	int multi;               /* more than one vCPU: prefix lines with cpuN */
	csh cs[3];               /* 16-, 32-, 64-bit */
	int cs_ok[3];
};

static const char *const reg_names[] = {
	"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"
};

cli_trace *cli_trace_open(const char *path, char *err, size_t errlen)
{
	static const cs_mode modes[3] = { CS_MODE_16, CS_MODE_32, CS_MODE_64 };
	cli_trace *t = calloc(1, sizeof(*t));

	if (!t) {
		snprintf(err, errlen, "--trace: out of memory");
		return NULL;
	}
	t->out = path ? fopen(path, "w") : stderr;
	if (!t->out) {
		snprintf(err, errlen, "--trace: cannot open %.200s: %s", path, strerror(errno));
		free(t);
		return NULL;
	}
	t->own = path != NULL;
	for (int i = 0; i < 3; i++)
		t->cs_ok[i] = cs_open(CS_ARCH_X86, modes[i], &t->cs[i]) == CS_ERR_OK;
	return t;
}

void cli_trace_close(cli_trace *t)
{
	if (!t)
		return;
	for (int i = 0; i < 3; i++)
		if (t->cs_ok[i])
			cs_close(&t->cs[i]);
	if (t->own)
		fclose(t->out);
	else
		fflush(t->out);
	free(t);
}

static void disasm(cli_trace *t, const vmm_trace_insn *ev, char *buf, size_t len)
{
	int m = ev->mode == 16 ? 0 : ev->mode == 32 ? 1 : 2;
	cs_insn *insn = NULL;

	if (t->cs_ok[m] && ev->len &&
	    cs_disasm(t->cs[m], ev->bytes, ev->len, ev->before.rip, 1, &insn) == 1) {
		snprintf(buf, len, "%.31s%s%.160s", insn->mnemonic, insn->op_str[0] ? " " : "",
			 insn->op_str);
		cs_free(insn, 1);
		return;
	}
	snprintf(buf, len, "(bad)");
}

static void trace_fn(void *opaque, vmm_vcpu *vcpu, const vmm_trace_insn *ev)
{
	cli_trace *t = opaque;
	const uint64_t *b = &ev->before.rax, *a = &ev->after.rax;
	char text[256], line[1024];
	size_t n = 0;
	int sep = 0;

	disasm(t, ev, text, sizeof(text));
	if (t->multi)
		n += (size_t)snprintf(line, sizeof(line), "cpu%u ", vmm_vcpu_index(vcpu));
	n += (size_t)snprintf(line + n, sizeof(line) - n, "0x%llx: %s",
			      (unsigned long long)ev->before.rip, text);
	for (unsigned i = 0; i < 16; i++)
		if (a[i] != b[i])
			n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s=0x%llx",
					      sep++ ? " " : " ; ", reg_names[i],
					      (unsigned long long)a[i]);
	if (ev->after.rflags != ev->before.rflags)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%srflags=0x%llx",
				      sep++ ? " " : " ; ", (unsigned long long)ev->after.rflags);
	if (ev->end == VMM_TRACE_EXCEPTION)
		snprintf(line + n, sizeof(line) - n, " ; exception %u", ev->vector);
	else if (ev->end == VMM_TRACE_PARTIAL)
		snprintf(line + n, sizeof(line) - n, " ; continues after an exit");
	fprintf(t->out, "%s\n", line);   /* one call: lines of vCPUs do not mix */
}

int cli_trace_attach(cli_trace *t, vmm_vm *vm, uint32_t vcpus)
{
	t->multi = vcpus > 1;
	for (uint32_t i = 0; i < vcpus; i++) {
		vmm_vcpu *vcpu = vmm_vcpu_get(vm, i);
		int rc;

		if (!vcpu)
			continue;
		rc = vmm_vcpu_set_trace(vcpu, trace_fn, t);
		if (rc)
			return rc;
	}
	return 0;
}
