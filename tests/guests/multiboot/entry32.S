/* entry32.S - Multiboot v1 header, 32-bit entry, and the switch to long
 * mode with the 64-bit part of the guest.
 * Entry state (Multiboot spec 3.2): protected mode, paging off, EAX =
 * 0x2BADB002, EBX = physical address of the multiboot_info; no stack.
 * mb_main (mb.c) checks and prints the info, builds page tables and calls
 * enter_long_mode(pml4), which turns on PAE, EFER.LME and paging, loads a
 * 64-bit GDT and jumps to long_entry; that code prints from 64-bit mode,
 * checks a 64-bit computation and EFER.LMA, and exits through port 0xf4. */
#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00000003		/* page-align modules, want memory info */
#define MSR_EFER 0xc0000080

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
	xorl	%ebp, %ebp
	pushl	%ebx			/* info */
	pushl	%eax			/* magic */
	call	mb_main			/* does not return */
1:	hlt
	jmp	1b

	.globl enter_long_mode
enter_long_mode:
	movl	4(%esp), %eax
	movl	%eax, %cr3
	movl	%cr4, %eax
	orl	$0x20, %eax		/* PAE */
	movl	%eax, %cr4
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$0x100, %eax		/* LME */
	wrmsr
	lgdt	gdt64_desc
	movl	%cr0, %eax
	orl	$0x80000000, %eax	/* PG: long mode becomes active */
	movl	%eax, %cr0
	ljmp	$0x08, $long_entry

	.code64
long_entry:
	movl	$0x10, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	$stack_top, %esp	/* zero-extends into RSP */
	leaq	msg_long(%rip), %rsi
	call	puts64
	movabsq	$0x0123456789abcdef, %rax	/* a 64-bit register works */
	rorq	$32, %rax
	movabsq	$0x89abcdef01234567, %rbx
	cmpq	%rbx, %rax
	jne	fail64
	movl	$MSR_EFER, %ecx
	rdmsr
	testl	$0x400, %eax		/* LMA */
	jz	fail64
	leaq	msg_ok(%rip), %rsi
	call	puts64
	xorl	%eax, %eax		/* GUEST_PASS */
	outl	%eax, $0xf4
	jmp	halt64
fail64:
	leaq	msg_fail(%rip), %rsi
	call	puts64
	movl	$1, %eax		/* GUEST_FAIL */
	outl	%eax, $0xf4
halt64:
	cli
	hlt
	jmp	halt64

/* puts64: prints the NUL-terminated string at RSI on the UART. */
puts64:
	movzbl	(%rsi), %ecx
	testl	%ecx, %ecx
	jz	2f
	movw	$0x3fd, %dx
1:	inb	%dx, %al
	testb	$0x20, %al
	jz	1b
	movw	$0x3f8, %dx
	movl	%ecx, %eax
	outb	%al, %dx
	incq	%rsi
	jmp	puts64
2:	ret

	.section .rodata
msg_long:
	.asciz	"multiboot: in 64-bit long mode\n"
msg_ok:
	.asciz	"PASS multiboot\n"
msg_fail:
	.asciz	"FAIL multiboot: 64-bit checks\n"

	.balign 8
gdt64:
	.quad	0
	.quad	0x00af9b000000ffff	/* 0x08: 64-bit code */
	.quad	0x00cf93000000ffff	/* 0x10: data */
gdt64_end:
gdt64_desc:
	.word	gdt64_end - gdt64 - 1
	.long	gdt64

	.section .bss
	.balign 16
	.space	16384
stack_top:

	.section .note.GNU-stack, "", @progbits
