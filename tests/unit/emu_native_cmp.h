/* emu_native_cmp.h - comparison and divergence reports for
 * test_emu_native.c (included after its layout and types). */
#ifndef EMU_NATIVE_CMP_H
#define EMU_NATIVE_CMP_H

typedef struct nat_stats {
	uint64_t insns, seqs, faults, diverged;
	uint64_t by_signal[32];
	unsigned show;
	csh cs;
	char why[2048];
	size_t why_len;
} nat_stats;

static void why(nat_stats *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void why(nat_stats *st, const char *fmt, ...)
{
	va_list ap;

	if (st->why_len >= sizeof(st->why) - 1)
		return;
	va_start(ap, fmt);
	st->why_len += (size_t)vsnprintf(st->why + st->why_len, sizeof(st->why) - st->why_len,
					 fmt, ap);
	va_end(ap);
	if (st->why_len > sizeof(st->why) - 1)
		st->why_len = sizeof(st->why) - 1;
}

/* Instructions of s executed before rip (all when rip is past them). */
static unsigned executed(const seq *s, uint64_t rip)
{
	uint64_t at = rip - N_CODE - s->start;

	for (unsigned i = 0; i < s->ninsn; i++)
		if (s->off[i] == at)
			return i;
	return s->ninsn;
}

static void cmp_bytes(nat_stats *st, const char *what, const uint8_t *a, const uint8_t *b,
		      unsigned n, uint64_t base)
{
	for (unsigned i = 0; i < n; i++)
		if (a[i] != b[i]) {
			why(st, "  %s at 0x%llx: native %02x, emu %02x\n", what,
			    (unsigned long long)(base + i), a[i], b[i]);
			return;
		}
}

/* The output block: GPRs, RFLAGS (defined flags), FXSAVE fields. */
static void cmp_out(nat_stats *st, const seq *s, const uint8_t *na, const uint8_t *em)
{
	static const struct { unsigned off, len; const char *name; } fx[] = {
		{ 0, 2, "fcw" }, { 2, 2, "fsw" }, { 4, 1, "ftw" } };
	unsigned o = N_OUT - N_DATA;
	uint64_t a, b;
	char name[16];

	for (unsigned r = 0; r < 16; r++) {
		memcpy(&a, na + o + 8 * r, 8);
		memcpy(&b, em + o + 8 * r, 8);
		if (a != b)
			why(st, "  %s: native 0x%016llx, emu 0x%016llx\n", gpr_name[r],
			    (unsigned long long)a, (unsigned long long)b);
	}
	memcpy(&a, na + o + 0x80, 8);
	memcpy(&b, em + o + 0x80, 8);
	if ((a ^ b) & ~(s->undef.flags | 0x10000))
		why(st, "  rflags: native 0x%llx, emu 0x%llx (undefined 0x%llx)\n",
		    (unsigned long long)a, (unsigned long long)b,
		    (unsigned long long)s->undef.flags);
	o += 0x100;
	memcpy(&a, na + o + 24, 4);
	memcpy(&b, em + o + 24, 4);
	if ((uint32_t)a != (uint32_t)b)
		why(st, "  mxcsr: native 0x%08x, emu 0x%08x\n", (uint32_t)a, (uint32_t)b);
	if (s->undef.top) {                  /* TOP undefined: compare by physical register */
		unsigned tn = (na[o + 3] >> 3) & 7, te = (em[o + 3] >> 3) & 7;

		cmp_bytes(st, "fcw", na + o, em + o, 2, 0);
		cmp_bytes(st, "fsw (but TOP)", na + o + 2, em + o + 2, 1, 2);
		if ((na[o + 3] ^ em[o + 3]) & 0xc7)
			why(st, "  fsw: native %02x, emu %02x\n", na[o + 3], em[o + 3]);
		cmp_bytes(st, "ftw", na + o + 4, em + o + 4, 1, 4);
		for (unsigned i = 0; i < 8; i++) {
			snprintf(name, sizeof(name), "R%u", i);
			cmp_bytes(st, name, na + o + 32 + 16 * ((i - tn) & 7),
				  em + o + 32 + 16 * ((i - te) & 7), 10, 0);
		}
	} else {
		for (unsigned i = 0; i < 3; i++)
			cmp_bytes(st, fx[i].name, na + o + fx[i].off, em + o + fx[i].off,
				  fx[i].len, fx[i].off);
		for (unsigned i = 0; i < 8; i++) {
			snprintf(name, sizeof(name), "st/mm(%u)", i);
			cmp_bytes(st, name, na + o + 32 + 16 * i, em + o + 32 + 16 * i, 10, 0);
		}
	}
	for (unsigned i = 0; i < 16; i++) {
		snprintf(name, sizeof(name), "xmm%u", i);
		cmp_bytes(st, name, na + o + 160 + 16 * i, em + o + 160 + 16 * i, 16, 0);
	}
}

static void report(nat_stats *st, const seq *s, const result *n, const result *e)
{
	const uint64_t *g = (const uint64_t *)(s->img + (N_IN - N_DATA));
	cs_insn *in = NULL;
	size_t cnt;

	printf("DIVERGENCE in sequence %llu (%u instructions):\n", (unsigned long long)st->seqs,
	       s->ninsn);
	cnt = cs_disasm(st->cs, s->code + s->start, s->off[s->ninsn], N_CODE + s->start, 0, &in);
	for (size_t i = 0; i < cnt; i++) {
		printf("  %llx:", (unsigned long long)in[i].address);
		for (unsigned k = 0; k < in[i].size; k++)
			printf(" %02x", in[i].bytes[k]);
		printf("%*s %s %s\n", (int)(3 * (15 - in[i].size)), "", in[i].mnemonic,
		       in[i].op_str);
	}
	if (cnt)
		cs_free(in, cnt);
	printf("  inputs:");
	for (unsigned r = 0; r < 16; r++)
		printf("%s %s=0x%llx", r % 4 ? "" : "\n   ", gpr_name[r], (unsigned long long)g[r]);
	printf("\n    rflags=0x%llx fcw=0x%04x ftw=0x%02x mxcsr=0x%08x; scratch at rbx-0x800\n",
	       (unsigned long long)g[16], *(const uint16_t *)(g + 32),
	       ((const uint8_t *)(g + 32))[4], *(const uint32_t *)((const uint8_t *)(g + 32) + 24));
	if (getenv("EMU_NATIVE_DEBUG"))
		for (unsigned i = 0; i < 8; i++) {
			const uint8_t *f = (const uint8_t *)(g + 32) + 32 + 16 * i;

			printf("    st%u=%02x%02x:%02x%02x%02x%02x%02x%02x%02x%02x\n", i, f[9], f[8],
			       f[7], f[6], f[5], f[4], f[3], f[2], f[1], f[0]);
		}
	if (getenv("EMU_NATIVE_DEBUG"))
		printf("    fsw=0x%04x\n", *(const uint16_t *)((const uint8_t *)(g + 32) + 2));
	if (getenv("EMU_NATIVE_DEBUG"))
		for (unsigned i = 0; i < 16; i++) {
			const uint32_t *x = (const uint32_t *)((const uint8_t *)(g + 32) + 160 + 16 * i);

			printf("    xmm%u=%08x %08x %08x %08x\n", i, x[0], x[1], x[2], x[3]);
		}
	printf("  native: %s%d rip 0x%llx; emu: %s%d vector %d rip 0x%llx %s\n",
	       n->signo ? "signal " : "completed ", n->signo, (unsigned long long)n->rip,
	       e->signo ? "exception " : "completed ", e->signo, e->vec,
	       (unsigned long long)e->rip, e->msg);
	fputs(st->why, stdout);
}

static void nat_compare(nat_stats *st, const seq *s, const result *n, const result *e)
{
	st->why_len = 0;
	st->why[0] = '\0';
	st->seqs++;
	if (n->signo || e->signo) {
		st->faults++;
		st->by_signal[n->signo & 31]++;
		if (getenv("EMU_NATIVE_DEBUG")) {
			cs_insn *fi = NULL;
			uint64_t o = n->rip - N_CODE;

			if (o < s->len && cs_disasm(st->cs, s->code + o, s->len - o, n->rip, 1, &fi) == 1) {
				printf("FAULT %d %s %s |", n->signo, fi->mnemonic, fi->op_str);
				for (unsigned k = 0; k < fi->size; k++)
					printf(" %02x", fi->bytes[k]);
				printf("\n");
				cs_free(fi, 1);
			}
		}
		st->insns += executed(s, n->rip);
		if (n->signo != e->signo || n->rip != e->rip) {
			why(st, "  exception differs\n");
		} else {
			for (unsigned r = 0; r < 16; r++)
				if (r != 4 && n->gpr[r] != e->gpr[r])
					why(st, "  %s at the exception: native 0x%llx, emu 0x%llx\n",
					    gpr_name[r], (unsigned long long)n->gpr[r],
					    (unsigned long long)e->gpr[r]);
		}
	} else {
		st->insns += s->ninsn;
		cmp_out(st, s, n->img, e->img);
	}
	cmp_bytes(st, "memory", n->img, e->img, N_IN - N_DATA, N_DATA);
	if (!st->why_len)
		return;
	if (st->diverged++ < st->show)
		report(st, s, n, e);
}

#endif
