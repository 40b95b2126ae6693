/* gdb_regs.c - the register side of the gdb stub: one table per mode gives
 * gdb's register numbers, names and sizes; the target description
 * (qXfer:features) and the g/G/p/P packets are made from it. */
#include <stdio.h>
#include <string.h>

#include "arch/x86/x86.h"
#include "lib/introspect/gdb_priv.h"

enum { S_GPR, S_RIP, S_FLAGS, S_SEG, S_ST, S_FPC, S_XMM, S_MXCSR };

typedef struct greg {
	const char *name;
	uint16_t bits;
	uint8_t src, idx;            /* GPR: index into vmm_regs as uint64_t[] */
	const char *type;
} greg;

#define ST(n) { "st" #n, 80, S_ST, n, "i387_ext" }
#define XMM(n) { "xmm" #n, 128, S_XMM, n, "vec128" }
#define FPC(name, n) { name, 32, S_FPC, n, "int" }
#define FPREGS ST(0), ST(1), ST(2), ST(3), ST(4), ST(5), ST(6), ST(7), \
	FPC("fctrl", 0), FPC("fstat", 1), FPC("ftag", 2), FPC("fiseg", 3), \
	FPC("fioff", 4), FPC("foseg", 5), FPC("fooff", 6), FPC("fop", 7)
#define SEGS(t) { "cs", 32, S_SEG, 0, t }, { "ss", 32, S_SEG, 1, t }, \
	{ "ds", 32, S_SEG, 2, t }, { "es", 32, S_SEG, 3, t }, \
	{ "fs", 32, S_SEG, 4, t }, { "gs", 32, S_SEG, 5, t }

static const greg regs64[] = {
	{ "rax", 64, S_GPR, 0, "int64" }, { "rbx", 64, S_GPR, 1, "int64" },
	{ "rcx", 64, S_GPR, 2, "int64" }, { "rdx", 64, S_GPR, 3, "int64" },
	{ "rsi", 64, S_GPR, 4, "int64" }, { "rdi", 64, S_GPR, 5, "int64" },
	{ "rbp", 64, S_GPR, 7, "data_ptr" }, { "rsp", 64, S_GPR, 6, "data_ptr" },
	{ "r8", 64, S_GPR, 8, "int64" }, { "r9", 64, S_GPR, 9, "int64" },
	{ "r10", 64, S_GPR, 10, "int64" }, { "r11", 64, S_GPR, 11, "int64" },
	{ "r12", 64, S_GPR, 12, "int64" }, { "r13", 64, S_GPR, 13, "int64" },
	{ "r14", 64, S_GPR, 14, "int64" }, { "r15", 64, S_GPR, 15, "int64" },
	{ "rip", 64, S_RIP, 0, "code_ptr" }, { "eflags", 32, S_FLAGS, 0, "i386_eflags" },
	SEGS("int32"), FPREGS,
	XMM(0), XMM(1), XMM(2), XMM(3), XMM(4), XMM(5), XMM(6), XMM(7),
	XMM(8), XMM(9), XMM(10), XMM(11), XMM(12), XMM(13), XMM(14), XMM(15),
	{ "mxcsr", 32, S_MXCSR, 0, "i386_mxcsr" },
};

static const greg regs32[] = {
	{ "eax", 32, S_GPR, 0, "int32" }, { "ecx", 32, S_GPR, 2, "int32" },
	{ "edx", 32, S_GPR, 3, "int32" }, { "ebx", 32, S_GPR, 1, "int32" },
	{ "esp", 32, S_GPR, 6, "data_ptr" }, { "ebp", 32, S_GPR, 7, "data_ptr" },
	{ "esi", 32, S_GPR, 4, "int32" }, { "edi", 32, S_GPR, 5, "int32" },
	{ "eip", 32, S_RIP, 0, "code_ptr" }, { "eflags", 32, S_FLAGS, 0, "i386_eflags" },
	SEGS("int32"), FPREGS,
	XMM(0), XMM(1), XMM(2), XMM(3), XMM(4), XMM(5), XMM(6), XMM(7),
	{ "mxcsr", 32, S_MXCSR, 0, "i386_mxcsr" },
};

#define NREGS(t) (sizeof(t) / sizeof(t[0]))

static const char xml_types[] =
	"<flags id=\"i386_eflags\" size=\"4\">"
	"<field name=\"CF\" start=\"0\" end=\"0\"/><field name=\"\" start=\"1\" end=\"1\"/>"
	"<field name=\"PF\" start=\"2\" end=\"2\"/><field name=\"AF\" start=\"4\" end=\"4\"/>"
	"<field name=\"ZF\" start=\"6\" end=\"6\"/><field name=\"SF\" start=\"7\" end=\"7\"/>"
	"<field name=\"TF\" start=\"8\" end=\"8\"/><field name=\"IF\" start=\"9\" end=\"9\"/>"
	"<field name=\"DF\" start=\"10\" end=\"10\"/><field name=\"OF\" start=\"11\" end=\"11\"/>"
	"</flags>";

static const char xml_sse_types[] =
	"<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
	"<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
	"<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>"
	"<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>"
	"<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>"
	"<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>"
	"<union id=\"vec128\"><field name=\"v4_float\" type=\"v4f\"/>"
	"<field name=\"v2_double\" type=\"v2d\"/><field name=\"v16_int8\" type=\"v16i8\"/>"
	"<field name=\"v8_int16\" type=\"v8i16\"/><field name=\"v4_int32\" type=\"v4i32\"/>"
	"<field name=\"v2_int64\" type=\"v2i64\"/><field name=\"uint128\" type=\"uint128\"/>"
	"</union>"
	"<flags id=\"i386_mxcsr\" size=\"4\"><field name=\"IE\" start=\"0\" end=\"0\"/>"
	"<field name=\"FZ\" start=\"15\" end=\"15\"/></flags>";

static size_t xml_build(char *buf, size_t cap, int is64)
{
	const greg *t = is64 ? regs64 : regs32;
	unsigned n = is64 ? NREGS(regs64) : NREGS(regs32);
	size_t len = (size_t)snprintf(buf, cap, "<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM "
				      "\"gdb-target.dtd\"><target><architecture>%s</architecture>"
				      "<feature name=\"org.gnu.gdb.i386.core\">%s",
				      is64 ? "i386:x86-64" : "i386", xml_types);

	for (unsigned i = 0; i < n && len < cap; i++) {
		if (t[i].src == S_XMM && t[i].idx == 0)
			len += (size_t)snprintf(buf + len, cap - len, "</feature><feature "
						"name=\"org.gnu.gdb.i386.sse\">%s",
						xml_sse_types);
		len += (size_t)snprintf(buf + len, cap - len, "<reg name=\"%s\" bitsize=\"%u\" "
					"type=\"%s\" regnum=\"%u\"%s/>", t[i].name, t[i].bits,
					t[i].type, i, t[i].src == S_FPC ? " group=\"float\"" : "");
	}
	if (len < cap)
		len += (size_t)snprintf(buf + len, cap - len, "</feature></target>");
	return len;
}

static char xml[2][8192];

static void xml_init(void)
{
	xml_build(xml[0], sizeof(xml[0]), 0);
	xml_build(xml[1], sizeof(xml[1]), 1);
}

const char *gdb_target_xml(int is64)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, xml_init);
	return xml[is64 != 0];
}

int gdb_vcpu_is64(vmm_vcpu *vcpu)
{
	vmm_sregs s;

	return vmm_vcpu_get_sregs(vcpu, &s) == 0 && (s.efer & X86_EFER_LMA) && s.cs.l;
}

/* ---- Values ----------------------------------------------------------------- */

typedef struct allregs {
	vmm_regs r;
	vmm_sregs s;
	vmm_fpu f;
	int have_fpu;
} allregs;

static int load(vmm_vcpu *vcpu, allregs *a)
{
	memset(a, 0, sizeof(*a));
	if (vmm_vcpu_get_regs(vcpu, &a->r) || vmm_vcpu_get_sregs(vcpu, &a->s))
		return -1;
	a->have_fpu = vmm_vcpu_get_fpu(vcpu, &a->f) == 0;
	return 0;
}

/* Pointer to register t's bytes in a (little endian), or NULL. */
static void *reg_ptr(allregs *a, const greg *t, uint32_t *scratch)
{
	const vmm_segment *segs[6] = { &a->s.cs, &a->s.ss, &a->s.ds, &a->s.es, &a->s.fs,
				       &a->s.gs };
	uint32_t fpc[8] = { a->f.fcw, a->f.fsw, a->f.ftw, (uint32_t)(a->f.fip >> 32),
			    (uint32_t)a->f.fip, (uint32_t)(a->f.fdp >> 32), (uint32_t)a->f.fdp,
			    a->f.fop };

	switch (t->src) {
	case S_GPR: return (uint64_t *)&a->r + t->idx;
	case S_RIP: return &a->r.rip;
	case S_FLAGS: *scratch = (uint32_t)a->r.rflags; return scratch;
	case S_SEG: *scratch = segs[t->idx]->selector; return scratch;
	case S_ST: return a->f.st[t->idx];
	case S_FPC: *scratch = fpc[t->idx]; return scratch;
	case S_XMM: return a->f.xmm[t->idx];
	default: return &a->f.mxcsr;
	}
}

static const greg *table(int is64, unsigned *n)
{
	*n = is64 ? NREGS(regs64) : NREGS(regs32);
	return is64 ? regs64 : regs32;
}

int gdb_regs_get(vmm_vcpu *vcpu, int is64, char *hex, size_t cap)
{
	allregs a;
	unsigned n;
	const greg *t = table(is64, &n);
	size_t len = 0;

	if (load(vcpu, &a))
		return -1;
	for (unsigned i = 0; i < n; i++) {
		uint32_t scratch;
		size_t bytes = t[i].bits / 8;

		if (len + 2 * bytes + 1 > cap)
			return -1;
		gdb_hex(hex + len, reg_ptr(&a, &t[i], &scratch), bytes);
		len += 2 * bytes;
	}
	hex[len] = 0;
	return 0;
}

int gdb_reg_get(vmm_vcpu *vcpu, int is64, unsigned i, char *hex, size_t cap)
{
	allregs a;
	unsigned n;
	const greg *t = table(is64, &n);
	uint32_t scratch;

	if (i >= n || load(vcpu, &a) || cap < t[i].bits / 4u + 1)
		return -1;
	gdb_hex(hex, reg_ptr(&a, &t[i], &scratch), t[i].bits / 8);
	hex[t[i].bits / 4] = 0;
	return 0;
}

/* Stores one register's bytes into a (segment selectors are read-only). */
static void store(allregs *a, const greg *t, const uint8_t *bytes)
{
	uint32_t v32 = 0;

	memcpy(&v32, bytes, t->bits >= 32 ? 4 : t->bits / 8);
	switch (t->src) {
	case S_GPR:
		if (t->bits == 32)
			memcpy((uint64_t *)&a->r + t->idx, bytes, 4);
		else
			memcpy((uint64_t *)&a->r + t->idx, bytes, 8);
		break;
	case S_RIP: memcpy(&a->r.rip, bytes, t->bits / 8); break;
	case S_FLAGS: a->r.rflags = v32 | 2; break;
	case S_ST: memcpy(a->f.st[t->idx], bytes, 10); break;
	case S_FPC:
		if (t->idx == 0) a->f.fcw = (uint16_t)v32;
		if (t->idx == 1) a->f.fsw = (uint16_t)v32;
		if (t->idx == 2) a->f.ftw = (uint16_t)v32;
		if (t->idx == 7) a->f.fop = (uint16_t)v32;
		break;
	case S_XMM: memcpy(a->f.xmm[t->idx], bytes, 16); break;
	case S_MXCSR: a->f.mxcsr = v32; break;
	default: break;
	}
}

static int commit(vmm_vcpu *vcpu, allregs *a)
{
	if (vmm_vcpu_set_regs(vcpu, &a->r))
		return -1;
	return a->have_fpu ? vmm_vcpu_set_fpu(vcpu, &a->f) : 0;
}

int gdb_regs_set(vmm_vcpu *vcpu, int is64, const char *hex)
{
	allregs a;
	unsigned n;
	const greg *t = table(is64, &n);

	if (load(vcpu, &a))
		return -1;
	for (unsigned i = 0; i < n; i++) {
		uint8_t bytes[16];
		size_t nb = t[i].bits / 8;

		if (gdb_unhex(bytes, hex, nb))
			return -1;
		store(&a, &t[i], bytes);
		hex += 2 * nb;
	}
	return commit(vcpu, &a);
}

int gdb_reg_set(vmm_vcpu *vcpu, int is64, unsigned i, const char *hex)
{
	allregs a;
	unsigned n;
	const greg *t = table(is64, &n);
	uint8_t bytes[16];

	if (i >= n || load(vcpu, &a) || gdb_unhex(bytes, hex, t[i].bits / 8))
		return -1;
	store(&a, &t[i], bytes);
	return commit(vcpu, &a);
}

void gdb_hex(char *out, const void *data, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *p = data;

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
}

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int gdb_unhex(void *out, const char *hex, size_t n)
{
	uint8_t *p = out;

	for (size_t i = 0; i < n; i++) {
		int hi = nibble(hex[2 * i]), lo = hi < 0 ? -1 : nibble(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		p[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
