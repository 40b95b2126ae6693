/* entry64.S - entry point of every 64-bit test guest.
 * Boot contract (vmm.h, vmm_load_elf): long mode, identity paging, RSP = top
 * of this vCPU's stack, RDI = vCPU index, RSI = vCPU count, interrupts off.
 * Calls guest_main(index, count); its return value is the exit code. */
	.section .text.entry, "ax"
	.globl _start
	.type _start, @function
_start:
	andq	$-16, %rsp		/* ABI: 16-byte aligned before the call */
	xorl	%ebp, %ebp
	call	guest_main
	movl	%eax, %edi
	call	guest_exit		/* does not return */
1:	hlt
	jmp	1b
	.size _start, . - _start

	.section .note.GNU-stack, "", @progbits
