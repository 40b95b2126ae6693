/* entry.S - the benchmark guest's boot (README.md): Multiboot v1 header,
 * 32-bit entry, the switch to long mode, the system state every workload
 * shares (GDT with user segments and a TSS, IDT, SYSCALL MSRs, the PIC
 * masked, the local APIC software-enabled with LINT0/1 masked), then the workload that main32.c chose, called
 * with RDI = iterations. Ends with a write to the debug-exit port 0xf4:
 * 0 done, 1 a workload's own check failed, 2 bad command line (main32.c),
 * 3 an exception. Every workload runs this same code, so the "none"
 * workload measures the boot and the exit alone. */
#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00000000
#define MSR_EFER 0xc0000080
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_FMASK 0xc0000084
#define LAPIC 0xfee00000

	.section .multiboot, "a"
	.balign 4
	.long	MB_MAGIC
	.long	MB_FLAGS
	.long	-(MB_MAGIC + MB_FLAGS)

	.section .text.entry, "ax"
	.code32
	.globl _start
_start:
	movl	$stack_top, %esp
	pushl	%ebx			/* multiboot_info */
	pushl	%eax			/* magic */
	call	bench_main32		/* returns the PML4's address */
	movl	%eax, %cr3
	movl	%cr4, %eax
	orl	$0x620, %eax		/* PAE, OSFXSR, OSXMMEXCPT */
	movl	%eax, %cr4
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$0x101, %eax		/* LME, SCE */
	wrmsr
	lgdt	gdt_desc
	movl	%cr0, %eax
	orl	$0x80000000, %eax	/* PG: long mode */
	movl	%eax, %cr0
	ljmp	$0x08, $long_entry

	.code64
long_entry:
	movl	$0x10, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs
	movl	$stack_top, %esp
	call	setup_tss
	call	setup_idt
	movl	$MSR_STAR, %ecx		/* SYSRET: CS 0x2b, SS 0x23; SYSCALL: CS 0x08, SS 0x10 */
	xorl	%eax, %eax
	movl	$0x00180008, %edx
	wrmsr
	movl	$MSR_LSTAR, %ecx
	movl	$w_syscall_entry, %eax
	xorl	%edx, %edx
	wrmsr
	movl	$MSR_FMASK, %ecx
	movl	$0x4700, %eax		/* TF, IF, DF, NT */
	wrmsr
	movb	$0xff, %al		/* mask the PIC pair (a BIOS may have set up the PIT's IRQ 0) */
	outb	%al, $0x21
	outb	%al, $0xa1
	movl	$LAPIC, %ebx
	movl	$0x1ff, 0xf0(%rbx)	/* SVR: APIC on, spurious vector 0xff */
	movl	$0x10000, 0x350(%rbx)	/* LINT0 and LINT1 masked */
	movl	$0x10000, 0x360(%rbx)
	movl	bench_index(%rip), %eax
	movq	bench_iters(%rip), %rdi
	leaq	workloads(%rip), %rdx
	movl	(%rdx,%rax,4), %eax
	call	*%rax			/* returns RAX = 0 or a failed check */
	jmp	bench_exit

/* bench_exit: debug exit with EAX (from any CPL: the workloads that
 * leave CPL 0 run with IOPL 3). */
	.globl bench_exit
bench_exit:
	outl	%eax, $0xf4
1:	cli
	hlt
	jmp	1b

/* The TSS descriptor at 0x30 (RSP0 = the boot stack), then LTR. */
setup_tss:
	leaq	tss(%rip), %rax
	movl	$stack_top, %ecx
	movq	%rcx, 4(%rax)
	movq	%rax, %rdx
	andl	$0xffffff, %edx
	shlq	$16, %rdx
	orq	$0x67, %rdx		/* limit */
	movq	%rax, %rcx
	shrq	$24, %rcx
	shlq	$56, %rcx
	orq	%rcx, %rdx
	movabsq	$0x0000890000000000, %rcx	/* present, 64-bit TSS */
	orq	%rcx, %rdx
	leaq	gdt(%rip), %rcx
	movq	%rdx, 0x30(%rcx)
	movq	$0, 0x38(%rcx)
	movw	$0x30, %ax
	ltr	%ax
	ret

/* IDT: vectors 0-31 end the run (value 3), 0x40 is the irq workload's. */
setup_idt:
	leaq	idt(%rip), %rdi
	xorl	%ecx, %ecx
1:	movl	$fault_entry, %eax
	cmpl	$0x40, %ecx
	jne	2f
	movl	$w_irq_entry, %eax
2:	cmpl	$32, %ecx
	jb	3f
	cmpl	$0x40, %ecx
	jne	4f
3:	movq	%rax, %rdx		/* offset 15:0, selector 8, type 0x8e, offset 31:16 */
	andl	$0xffff, %edx
	orl	$0x80000, %edx
	movq	%rax, %rsi
	shrq	$16, %rsi
	shlq	$48, %rsi
	orq	%rsi, %rdx
	movabsq	$0x00008e0000000000, %rsi
	orq	%rsi, %rdx
	movq	%rcx, %rsi
	shlq	$4, %rsi
	movq	%rdx, (%rdi,%rsi)
	movq	$0, 8(%rdi,%rsi)
4:	incl	%ecx
	cmpl	$256, %ecx
	jb	1b
	lidt	idt_desc(%rip)
	ret

fault_entry:
	movl	$3, %eax
	jmp	bench_exit

	.section .rodata
	.balign 4
workloads:
	.long	w_none, w_alu, w_copy, w_branch, w_dispatch, w_syscall, w_irq

	.section .data
	.balign 16
gdt:
	.quad	0
	.quad	0x00af9a000000ffff	/* 0x08: 64-bit code, DPL 0 */
	.quad	0x00cf92000000ffff	/* 0x10: data, DPL 0 */
	.quad	0x00cffa000000ffff	/* 0x18: 32-bit code, DPL 3 (SYSRET's base) */
	.quad	0x00cff2000000ffff	/* 0x20: data, DPL 3 */
	.quad	0x00affa000000ffff	/* 0x28: 64-bit code, DPL 3 */
	.quad	0, 0			/* 0x30: the TSS (setup_tss) */
gdt_end:
gdt_desc:
	.word	gdt_end - gdt - 1
	.long	gdt
	.balign 8
idt_desc:
	.word	256 * 16 - 1
	.long	idt, 0

	.section .bss
	.balign 4096
idt:
	.space	256 * 16
tss:
	.space	0x68
	.balign 16
	.space	16384
stack_top:

	.section .note.GNU-stack, "", @progbits
