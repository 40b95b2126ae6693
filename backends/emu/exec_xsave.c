/* exec_xsave.c - the XSAVE feature set for the state components the CPU
 * model advertises (x87 = bit 0, SSE = bit 1; EMU_XCR0_SUPPORTED): XGETBV,
 * XSETBV, XSAVE, XSAVEOPT and standard-form XRSTOR on the 576-byte area
 * (legacy FXSAVE region + 64-byte header), plus RDRAND and RDSEED from the
 * host's getrandom(2). */
#include <errno.h>
#include <sys/random.h>

#include "arch/x86/cpuid.h"
#include "backends/emu/exec_tab.h"
#include "backends/emu/sse.h"

#define XSAVE_HDR 512

/* #UD without CR4.OSXSAVE. */
static int xsave_enabled(emu_cpu *cpu)
{
	return (cpu->cr4 & X86_CR4_OSXSAVE) ? EMU_OK : emu_ud(cpu);
}

/* XGETBV (op 0) / XSETBV (op 1). */
int emu_h_xgetbv(emu_cpu *cpu, const emu_insn *ins)
{
	uint32_t ecx = (uint32_t)cpu->r[R_CX];
	uint64_t v = (cpu->r[R_AX] & 0xffffffffu) | (cpu->r[R_DX] << 32);
	int rc = xsave_enabled(cpu);

	if (rc)
		return rc;
	if (ins->op == 0) {
		if (ecx != 0)
			return emu_gp(cpu, 0);
		cpu->r[R_AX] = (uint32_t)cpu->xcr0;
		cpu->r[R_DX] = cpu->xcr0 >> 32;
		return EMU_OK;
	}
	if (cpu->cpl != 0 || ecx != 0 || !(v & 1) ||
	    (v & ~(uint64_t)emu_model(cpu)->xcr0_mask))
		return emu_gp(cpu, 0);
	cpu->xcr0 = v;
	return EMU_OK;
}

/* XSAVE/XSAVEOPT (op 0) and XRSTOR (op 1) with RFBM = XCR0 AND EDX:EAX. */
int emu_h_xsave(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t la = emu_ea(cpu, ins), bv, comp, rfbm;
	int nxmm = cpu->code_sz == EMU_SZ64 ? 16 : 8;
	uint8_t img[576];
	unsigned parts;
	int rc = xsave_enabled(cpu);

	if (!rc && (cpu->cr0 & X86_CR0_TS))
		rc = emu_fault(cpu, X86_EXC_NM, 0, 0);
	if (!rc && (la & 63))
		rc = emu_gp(cpu, 0);
	if (!rc)
		rc = emu_mem_read_slow(cpu, la, img, sizeof(img), ins->op ? EMU_ACC_R : EMU_ACC_W);
	if (rc)
		return rc;
	rfbm = cpu->xcr0 & ((cpu->r[R_AX] & 0xffffffffu) | (cpu->r[R_DX] << 32));
	memcpy(&bv, img + XSAVE_HDR, 8);
	memcpy(&comp, img + XSAVE_HDR + 8, 8);
	if (ins->op == 0) {
		uint8_t cur[512];

		emu_fx_image(cpu, cur, nxmm);
		if (rfbm & 1) {
			memcpy(img, cur, 24);                 /* FCW..FDP */
			memcpy(img + 32, cur + 32, 128);      /* ST0..7 */
		}
		if (rfbm & 2)
			memcpy(img + 160, cur + 160, 16 * (unsigned)nxmm);
		if (rfbm & 3)
			memcpy(img + 24, cur + 24, 8);        /* MXCSR, MXCSR_MASK */
		bv = (bv & ~rfbm) | rfbm;                     /* XINUSE reported as 1 */
		memcpy(img + XSAVE_HDR, &bv, 8);
		return emu_mem_write_slow(cpu, la, img, sizeof(img), EMU_ACC_W);
	}
	for (unsigned i = 16; i < 64; i++)                  /* reserved header bytes */
		if (img[XSAVE_HDR + i])
			return emu_gp(cpu, 0);
	if (comp || (bv & ~cpu->xcr0))
		return emu_gp(cpu, 0);
	parts = (rfbm & 3) ? EMU_FX_MXCSR : 0;
	if (rfbm & bv & 1)
		parts |= EMU_FX_X87;
	if (rfbm & bv & 2)
		parts |= EMU_FX_XMM;
	rc = emu_fx_load(cpu, img, nxmm, parts);
	if (rc)
		return rc;
	if ((rfbm & 1) && !(bv & 1)) {                      /* x87 init state */
		memset(cpu->fpu.st, 0, sizeof(cpu->fpu.st));
		cpu->fpu.fcw = 0x37f;
		cpu->fpu.fsw = 0;
		cpu->fpu.top = 0;
		cpu->fpu.empty = 0xff;
		cpu->fpu.fop = 0;
	}
	if ((rfbm & 2) && !(bv & 2))
		memset(cpu->fpu.xmm, 0, sizeof(emu_xmm) * (unsigned)nxmm);
	return EMU_OK;
}

/* RDRAND (op 0) / RDSEED (op 1) r16/32/64: CF = 1 with a random value, or
 * CF = 0 and 0 when the host has none to give; OF SF ZF AF PF clear. */
int emu_h_rdrand(emu_cpu *cpu, const emu_insn *ins)
{
	uint64_t v = 0;
	ssize_t n = getrandom(&v, sizeof(v), GRND_NONBLOCK);
	int ok = n == (ssize_t)sizeof(v);

	if (!ok)
		v = 0;
	emu_reg_set(cpu, ins->rm, ins->osz, v);
	emu_set_rflags(cpu, (emu_get_rflags(cpu) & ~X86_FL_ARITH) | (ok ? X86_FL_CF : 0));
	return EMU_OK;
}
