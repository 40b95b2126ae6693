/* uart.c - serial output: a fixed multi-line text holding every printable
 * ASCII character, tabs and empty lines, compared byte for byte by the
 * runner; then the 16550 registers a driver touches: scratch, the divisor
 * latch behind LCR.DLAB (writes to 0x3f8 while DLAB is set are divisor
 * bytes, not output), LCR and LSR. Ends with an 8-bit write of 0x42 to the
 * exit device. Expected end: debug exit 0x42; a failed CHECK exits 1. */
#include "common.h"

#define UART_DLL (UART_BASE + 0)
#define UART_DLM (UART_BASE + 1)
#define UART_LCR (UART_BASE + 3)
#define UART_SCR (UART_BASE + 7)
#define UART_EXIT_CODE 0x42

static void print_ascii_table(void)
{
	for (int c = 0x20; c < 0x7f; c++) {
		uart_putc((char)c);
		if ((c & 0x1f) == 0x1f)
			uart_putc('\n');
	}
	uart_putc('\n');
}

static void test_registers(void)
{
	uint8_t lcr;

	outb(UART_SCR, 0xa7);
	CHECK_EQ(inb(UART_SCR), 0xa7);
	CHECK_EQ(inb(UART_LSR) & 0x60, 0x60);      /* THRE and TEMT */
	lcr = inb(UART_LCR);
	outb(UART_LCR, lcr | 0x80);                 /* DLAB on */
	outb(UART_DLL, 0x0c);                       /* 9600 baud, not output */
	outb(UART_DLM, 0x00);
	CHECK_EQ(inb(UART_DLL), 0x0c);
	CHECK_EQ(inb(UART_DLM), 0x00);
	outb(UART_LCR, 0x03);                       /* 8N1, DLAB off */
	CHECK_EQ(inb(UART_LCR), 0x03);
	uart_puts("uart: registers ok\n");
}

int guest_main(uint32_t index, uint32_t count)
{
	(void)index;
	(void)count;
	uart_puts("uart: start\n");
	uart_puts("The quick brown fox jumps over the lazy dog.\n");
	uart_puts("THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG!\n");
	uart_puts("\tcol1\tcol2\n\n");
	print_ascii_table();
	printf("%5d|%-5d|%05d|%x|%X|%c|%s|%%\n", 42, -7, 123, 0xbeefu, 0xbeefu,
	       'Z', "str");
	printf("%lu %ld %llx %p\n", 18446744073709551615ul, -9223372036854775807l - 1,
	       0x0123456789abcdefull, (void *)0x1000);
	test_registers();
	uart_puts("uart: done\n");
	guest_exit8(UART_EXIT_CODE);
}
