/* x86.h - architectural constants shared by the backends: control and flag
 * register bits, MSR numbers, exception vectors, descriptor types. */
#ifndef VMM_ARCH_X86_H
#define VMM_ARCH_X86_H

#include <stdint.h>

/* RFLAGS */
#define X86_FL_CF   (1ull << 0)
#define X86_FL_RSV1 (1ull << 1)   /* always 1 */
#define X86_FL_PF   (1ull << 2)
#define X86_FL_AF   (1ull << 4)
#define X86_FL_ZF   (1ull << 6)
#define X86_FL_SF   (1ull << 7)
#define X86_FL_TF   (1ull << 8)
#define X86_FL_IF   (1ull << 9)
#define X86_FL_DF   (1ull << 10)
#define X86_FL_OF   (1ull << 11)
#define X86_FL_IOPL (3ull << 12)
#define X86_FL_NT   (1ull << 14)
#define X86_FL_RF   (1ull << 16)
#define X86_FL_VM   (1ull << 17)
#define X86_FL_AC   (1ull << 18)
#define X86_FL_VIF  (1ull << 19)
#define X86_FL_VIP  (1ull << 20)
#define X86_FL_ID   (1ull << 21)
#define X86_FL_ARITH (X86_FL_CF | X86_FL_PF | X86_FL_AF | X86_FL_ZF | X86_FL_SF | X86_FL_OF)

/* CR0 */
#define X86_CR0_PE (1ull << 0)
#define X86_CR0_MP (1ull << 1)
#define X86_CR0_EM (1ull << 2)
#define X86_CR0_TS (1ull << 3)
#define X86_CR0_ET (1ull << 4)
#define X86_CR0_NE (1ull << 5)
#define X86_CR0_WP (1ull << 16)
#define X86_CR0_AM (1ull << 18)
#define X86_CR0_NW (1ull << 29)
#define X86_CR0_CD (1ull << 30)
#define X86_CR0_PG (1ull << 31)

/* CR4 */
#define X86_CR4_VME        (1ull << 0)
#define X86_CR4_PVI        (1ull << 1)
#define X86_CR4_TSD        (1ull << 2)
#define X86_CR4_DE         (1ull << 3)
#define X86_CR4_PSE        (1ull << 4)
#define X86_CR4_PAE        (1ull << 5)
#define X86_CR4_MCE        (1ull << 6)
#define X86_CR4_PGE        (1ull << 7)
#define X86_CR4_PCE        (1ull << 8)
#define X86_CR4_OSFXSR     (1ull << 9)
#define X86_CR4_OSXMMEXCPT (1ull << 10)
#define X86_CR4_UMIP       (1ull << 11)
#define X86_CR4_FSGSBASE   (1ull << 16)
#define X86_CR4_PCIDE      (1ull << 17)
#define X86_CR4_OSXSAVE    (1ull << 18)
#define X86_CR4_SMEP       (1ull << 20)
#define X86_CR4_SMAP       (1ull << 21)
#define X86_CR4_PKE        (1ull << 22)
#define X86_CR4_PKS        (1ull << 24)

/* EFER */
#define X86_EFER_SCE (1ull << 0)
#define X86_EFER_LME (1ull << 8)
#define X86_EFER_LMA (1ull << 10)
#define X86_EFER_NXE (1ull << 11)

/* MSRs */
#define X86_MSR_TSC            0x00000010u
#define X86_MSR_APIC_BASE      0x0000001bu
#define X86_MSR_MTRRCAP        0x000000feu
#define X86_MSR_SYSENTER_CS    0x00000174u
#define X86_MSR_SYSENTER_ESP   0x00000175u
#define X86_MSR_SYSENTER_EIP   0x00000176u
#define X86_MSR_MISC_ENABLE    0x000001a0u
#define X86_MSR_PAT            0x00000277u
#define X86_MSR_MTRR_DEF_TYPE  0x000002ffu
#define X86_MSR_EFER           0xc0000080u
#define X86_MSR_STAR           0xc0000081u
#define X86_MSR_LSTAR          0xc0000082u
#define X86_MSR_CSTAR          0xc0000083u
#define X86_MSR_SFMASK         0xc0000084u
#define X86_MSR_FS_BASE        0xc0000100u
#define X86_MSR_GS_BASE        0xc0000101u
#define X86_MSR_KERNEL_GS_BASE 0xc0000102u
#define X86_MSR_TSC_AUX        0xc0000103u
#define X86_MSR_PKRS           0x6e1u

/* Exception vectors */
enum {
	X86_EXC_DE = 0, X86_EXC_DB = 1, X86_EXC_NMI = 2, X86_EXC_BP = 3,
	X86_EXC_OF = 4, X86_EXC_BR = 5, X86_EXC_UD = 6, X86_EXC_NM = 7,
	X86_EXC_DF = 8, X86_EXC_TS = 10, X86_EXC_NP = 11, X86_EXC_SS = 12,
	X86_EXC_GP = 13, X86_EXC_PF = 14, X86_EXC_MF = 16, X86_EXC_AC = 17,
	X86_EXC_MC = 18, X86_EXC_XM = 19
};

/* #PF error code bits */
#define X86_PF_P    (1u << 0)
#define X86_PF_W    (1u << 1)
#define X86_PF_U    (1u << 2)
#define X86_PF_RSVD (1u << 3)
#define X86_PF_I    (1u << 4)
#define X86_PF_PK   (1u << 5)

/* Segment register numbers, in the order of the instruction encoding. */
enum { X86_SEG_ES = 0, X86_SEG_CS, X86_SEG_SS, X86_SEG_DS, X86_SEG_FS, X86_SEG_GS };

/* System descriptor / gate types (S=0) */
enum {
	X86_DESC_LDT = 0x2,
	X86_DESC_TSS16_AVAIL = 0x1, X86_DESC_TSS16_BUSY = 0x3,
	X86_DESC_TASK_GATE = 0x5,
	X86_DESC_TSS_AVAIL = 0x9, X86_DESC_TSS_BUSY = 0xb,
	X86_DESC_CALL_GATE = 0xc,
	X86_DESC_INT_GATE16 = 0x6, X86_DESC_TRAP_GATE16 = 0x7,
	X86_DESC_INT_GATE = 0xe, X86_DESC_TRAP_GATE = 0xf
};

#endif /* VMM_ARCH_X86_H */
