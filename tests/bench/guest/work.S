/* work.S - the benchmark's workloads (README.md). Each is called at CPL 0
 * with RDI = iterations (>= 1) and returns RAX = 0 (or a failed check);
 * the instructions from w_NAME to w_NAME_end are the workload: the
 * benchmark counts them by construction (iterations x loop length + fixed
 * part, tests/bench/bench_emu.c) and checks that count against
 * `vmm run --trace`. The user-level ones (alu, copy, branch, dispatch)
 * touch only registers, their own data and the stack, so Unicorn runs the same bytes:
 * it loads this image and calls w_NAME like a function. */
#define LAPIC 0xfee00000

	.code64
	.text

/* none: the boot and the exit alone (start-up time). */
	.globl w_none, w_none_end
w_none:
	xorl	%eax, %eax
	ret
w_none_end:

/* alu: 5 per iteration; fixed 5 (3 set-up, XOR, RET). */
	.globl w_alu, w_alu_end
w_alu:
	movq	%rdi, %rcx
	xorl	%eax, %eax
	xorl	%edx, %edx
1:	addq	%rcx, %rax
	xorq	%rax, %rdx
	leaq	(%rax,%rdx,2), %rax
	subq	$1, %rcx
	jne	1b
	xorl	%eax, %eax
	ret
w_alu_end:

/* copy: 16 bytes per iteration from copy_src to copy_dst (64 KiB each,
 * wrapping): 8 per iteration; fixed 6 (4 set-up, XOR, RET). */
	.globl w_copy, w_copy_end
w_copy:
	movq	%rdi, %rcx
	leaq	copy_src(%rip), %rsi
	leaq	copy_dst(%rip), %rdi
	xorl	%edx, %edx
1:	movq	(%rsi,%rdx), %rax
	movq	8(%rsi,%rdx), %r8
	movq	%rax, (%rdi,%rdx)
	movq	%r8, 8(%rdi,%rdx)
	addl	$16, %edx
	andl	$0xffff, %edx
	decq	%rcx
	jnz	1b
	xorl	%eax, %eax
	ret
w_copy_end:

/* branch: data-dependent conditional branches. Each iteration takes the
 * next of the 4096 pseudo-random bytes 0-7 of branch_ops and branches on
 * it (below 4 or not, unpredictable), each way two ALU instructions (no
 * shifts or rotates, whose flags cost more: dispatch has those):
 * 9 per iteration (MOVZX, INC, AND, CMP, JB, two on either way, DEC, JNZ);
 * fixed 7 (5 set-up, XOR, RET). */
	.globl w_branch, w_branch_end
w_branch:
	movq	%rdi, %rcx
	leaq	branch_ops(%rip), %rsi
	xorl	%edx, %edx
	movl	$1, %r8d
	xorl	%r9d, %r9d
1:	movzbl	(%rsi,%rdx), %eax
	incl	%edx
	andl	$0xfff, %edx
	cmpl	$4, %eax
	jb	2f
	addq	%rax, %r8
	jmp	3f
2:	subq	%rdx, %r9
	xorq	%rax, %r8
3:	decq	%rcx
	jnz	1b
	xorl	%eax, %eax
	ret
w_branch_end:

/* dispatch: a bytecode interpreter's dispatch. Each iteration takes the next
 * of 4096 pseudo-random opcodes (0-7) from branch_ops and jumps through
 * dispatch_table to its handler, which does one ALU operation and loops:
 * 8 per iteration (MOVZX, INC, AND, MOV, JMP, the operation, DEC, JNZ);
 * fixed 8 (5 set-up, the last handler's JMP, XOR, RET). */
	.globl w_dispatch, w_dispatch_end
w_dispatch:
	movq	%rdi, %rcx
	leaq	branch_ops(%rip), %rsi
	leaq	dispatch_table(%rip), %rbx
	xorl	%edx, %edx
	movl	$1, %r8d
1:	movzbl	(%rsi,%rdx), %eax
	incl	%edx
	andl	$0xfff, %edx
	movl	(%rbx,%rax,4), %eax
	jmp	*%rax
.Lop0:	addq	%rdx, %r8
	decq	%rcx
	jnz	1b
	jmp	.Ldone
.Lop1:	xorq	%rcx, %r8
	decq	%rcx
	jnz	1b
	jmp	.Ldone
.Lop2:	subq	%rdx, %r8
	decq	%rcx
	jnz	1b
	jmp	.Ldone
.Lop3:	rolq	$3, %r8
	decq	%rcx
	jnz	1b
	jmp	.Ldone
.Lop4:	leaq	1(%r8,%r8,4), %r8
	decq	%rcx
	jnz	1b
	jmp	.Ldone
.Lop5:	orq	%rdx, %r8
	decq	%rcx
	jnz	1b
	jmp	.Ldone
.Lop6:	shrq	$1, %r8
	decq	%rcx
	jnz	1b
	jmp	.Ldone
.Lop7:	imulq	%rdx, %r8
	decq	%rcx
	jnz	1b
	jmp	.Ldone
.Ldone:	xorl	%eax, %eax
	ret
w_dispatch_end:

/* syscall: SYSCALL/SYSRET round trips from CPL 3 (IOPL 3, entered by
 * IRETQ) to a CPL 0 handler that counts: 5 per iteration (SYSCALL, DEC,
 * JNZ; the handler's INC, SYSRETQ); fixed 14 (10 to CPL 3, the check's CMP,
 * JNE, XOR, JMP; the exit's OUT is outside). The count in R12 must equal
 * the iterations; the run ends from CPL 3 through bench_exit. */
	.globl w_syscall, w_syscall_end, w_syscall_entry
w_syscall:
	movq	%rdi, %rbx
	xorl	%r12d, %r12d
	movq	%rsp, %rax
	pushq	$0x23			/* SS: user data */
	pushq	%rax
	pushq	$0x3002			/* RFLAGS: IOPL 3, IF 0 */
	pushq	$0x2b			/* CS: user 64-bit code */
	leaq	1f(%rip), %rdx
	pushq	%rdx
	iretq
1:	syscall
	decq	%rbx
	jnz	1b
	cmpq	%rdi, %r12
	jne	2f
	xorl	%eax, %eax
	jmp	bench_exit
2:	movl	$1, %eax
	jmp	bench_exit
w_syscall_entry:
	incq	%r12
	sysretq
w_syscall_end:

/* irq: self-IPIs through the xAPIC's ICR (fixed, vector 0x40), each taken
 * from HLT (STI's interrupt shadow makes STI; HLT atomic) by a handler that
 * counts and EOIs: 9 per iteration (CLI, MOV to ICR, STI, HLT, DEC, JNZ;
 * the handler's INC, MOV to EOI, IRETQ); fixed 8 (4 set-up, CMP, SETNE,
 * MOVZX, RET). */
	.globl w_irq, w_irq_end, w_irq_entry
w_irq:
	movq	%rdi, %rcx
	movl	$LAPIC, %ebx
	movl	$0x40040, %eax		/* ICR: self, fixed, vector 0x40 */
	xorl	%r12d, %r12d
1:	cli
	movl	%eax, 0x300(%rbx)
	sti
	hlt
	decq	%rcx
	jnz	1b
	cmpq	%rdi, %r12
	setne	%al
	movzbl	%al, %eax
	ret
w_irq_entry:
	incq	%r12
	movl	$0, 0xb0(%rbx)
	iretq
w_irq_end:

	.section .rodata
	.balign 4
dispatch_table:
	.long	.Lop0, .Lop1, .Lop2, .Lop3, .Lop4, .Lop5, .Lop6, .Lop7
/* 4096 opcodes from a linear congruential generator (bits 16-18). */
branch_ops:
	.set	seed, 12345
	.rept	4096
	.set	seed, (seed * 1103515245 + 12345) & 0x7fffffff
	.byte	(seed >> 16) & 7
	.endr

	.section .bss
	.balign 4096
copy_src:
	.space	65536
copy_dst:
	.space	65536

	.section .note.GNU-stack, "", @progbits
