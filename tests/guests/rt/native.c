/* native.c - lets a guest's user-mode parts run as an ordinary Linux
 * program (make guests-native), so the constants the guests assert are
 * checked against the host CPU. Guests compile privileged parts out when
 * GUEST_NATIVE is defined. */
#include "common.h"

long native_syscall3(long nr, long a, long b, long c);
__asm__(".globl native_syscall3\n"
	"native_syscall3:\n"
	"	mov %rdi, %rax\n"
	"	mov %rsi, %rdi\n"
	"	mov %rdx, %rsi\n"
	"	mov %rcx, %rdx\n"
	"	syscall\n"
	"	ret\n");

void uart_putc(char c)
{
	native_syscall3(1, 1, (long)&c, 1);     /* write(1, &c, 1) */
}

void guest_note(const char *text)
{
	native_syscall3(1, 2, (long)"note: ", 6);
	native_syscall3(1, 2, (long)text, (long)strlen(text));
	native_syscall3(1, 2, (long)"\n", 1);
}

void halt(void)
{
	for (;;)
		native_syscall3(60, 0, 0, 0);   /* exit(0) */
}

void guest_exit(uint32_t code)
{
	for (;;)
		native_syscall3(60, code & 0xff, 0, 0);
}

void guest_exit8(uint8_t code)
{
	guest_exit(code);
}

/* Entry without libc: run guest_main as vCPU 0 of 1. */
__asm__(".globl _start\n"
	"_start:\n"
	"	andq $-16, %rsp\n"
	"	xor %edi, %edi\n"
	"	mov $1, %esi\n"
	"	call guest_main\n"
	"	mov %eax, %edi\n"
	"	call guest_exit\n");
