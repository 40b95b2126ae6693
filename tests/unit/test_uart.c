/* test_uart.c - the built-in 16550: output to an fd and a callback, registers. */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_backend.h"

#define COM1 0x3f8

typedef struct fixture {
	vmm_vm *vm;
	vmm_vcpu *vcpu;
	char out[64];
	size_t out_len;
	int calls;
} fixture;

static fixture fx;

static void collect(void *opaque, const char *buf, size_t len)
{
	fixture *f = opaque;

	f->calls++;
	if (f->out_len + len < sizeof(f->out)) {
		memcpy(f->out + f->out_len, buf, len);
		f->out_len += len;
	}
}

static int setup(void **state)
{
	memset(&fx, 0, sizeof(fx));
	fake_reset();
	fx.vm = fake_vm(1 << 20, 1, 0);
	if (!fx.vm || vmm_vcpu_create(fx.vm, 0, &fx.vcpu) != 0)
		return -1;
	*state = &fx;
	return 0;
}

static int teardown(void **state)
{
	vmm_vm_destroy(((fixture *)*state)->vm);
	return 0;
}

static void out8(fixture *f, uint16_t port, uint32_t v)
{
	assert_int_equal(vmm__bus_pio(f->vcpu, port, 1, 1, &v), VMM__BUS_DONE);
}

static uint32_t in8(fixture *f, uint16_t port)
{
	uint32_t v = 0x5a5a;

	assert_int_equal(vmm__bus_pio(f->vcpu, port, 1, 0, &v), VMM__BUS_DONE);
	return v;
}

static void puts_uart(fixture *f, const char *s)
{
	while (*s)
		out8(f, COM1, (uint8_t)*s++);
}

static void test_output_to_pipe(void **state)
{
	fixture *f = *state;
	int fds[2];
	char buf[32] = { 0 };
	uint32_t wide = 0x4241;  /* a 2-byte write emits its low byte only */

	assert_int_equal(pipe(fds), 0);
	assert_int_equal(vmm_uart_output(f->vm, fds[1], NULL, NULL), 0);
	puts_uart(f, "hello\n");
	assert_int_equal(vmm__bus_pio(f->vcpu, COM1, 2, 1, &wide), VMM__BUS_DONE);
	close(fds[1]);
	assert_int_equal(read(fds[0], buf, sizeof(buf)), 7);
	assert_string_equal(buf, "hello\nA");
	close(fds[0]);
}

static void test_output_to_callback_and_fd(void **state)
{
	fixture *f = *state;
	int fds[2];
	char buf[8] = { 0 };

	assert_int_equal(pipe(fds), 0);
	assert_int_equal(vmm_uart_output(f->vm, fds[1], collect, f), 0);
	puts_uart(f, "ok");
	assert_int_equal(f->calls, 2);
	assert_int_equal(f->out_len, 2);
	assert_memory_equal(f->out, "ok", 2);
	assert_int_equal(read(fds[0], buf, sizeof(buf)), 2);
	assert_string_equal(buf, "ok");
	/* switch off: bytes are discarded */
	assert_int_equal(vmm_uart_output(f->vm, -1, NULL, NULL), 0);
	puts_uart(f, "zz");
	assert_int_equal(f->calls, 2);
	close(fds[0]);
	close(fds[1]);
}

static void test_closed_pipe_does_not_kill(void **state)
{
	fixture *f = *state;
	int fds[2];
	sigset_t pending;

	assert_int_equal(pipe(fds), 0);
	close(fds[0]);
	assert_int_equal(vmm_uart_output(f->vm, fds[1], collect, f), 0);
	puts_uart(f, "x");  /* EPIPE: no SIGPIPE may reach the process */
	sigpending(&pending);
	assert_false(sigismember(&pending, SIGPIPE));
	assert_int_equal(f->calls, 1);
	close(fds[1]);
}

static void test_dlab_and_registers(void **state)
{
	fixture *f = *state;

	assert_int_equal(vmm_uart_output(f->vm, -1, collect, f), 0);
	out8(f, COM1 + 1, 0x05);          /* IER */
	assert_int_equal(in8(f, COM1 + 1), 0x05);
	out8(f, COM1 + 3, 0x83);          /* LCR: DLAB=1, 8N1 */
	out8(f, COM1 + 0, 0x0c);          /* DLL: 9600 baud */
	out8(f, COM1 + 1, 0x00);          /* DLM */
	assert_int_equal(in8(f, COM1 + 0), 0x0c);
	assert_int_equal(in8(f, COM1 + 1), 0x00);
	assert_int_equal(f->calls, 0);    /* the DLL write was not a byte out */
	out8(f, COM1 + 3, 0x03);          /* DLAB=0 */
	assert_int_equal(in8(f, COM1 + 3), 0x03);
	assert_int_equal(in8(f, COM1 + 1), 0x05);  /* IER is back */
	assert_int_equal(in8(f, COM1 + 0), 0x00);  /* RBR: nothing received */
	out8(f, COM1 + 0, 'Q');
	assert_int_equal(f->calls, 1);
	assert_memory_equal(f->out, "Q", 1);
	out8(f, COM1 + 2, 0xc7);          /* FCR: FIFOs on (IIR bits 7:6) */
	assert_int_equal(in8(f, COM1 + 2), 0xc1);
	assert_int_equal(in8(f, COM1 + 5), 0x60);
	assert_int_equal(in8(f, COM1 + 6), 0xb0);
	out8(f, COM1 + 7, 0xa5);
	assert_int_equal(in8(f, COM1 + 7), 0xa5);
	out8(f, COM1 + 4, 0x0b);
	assert_int_equal(in8(f, COM1 + 4), 0x0b);
}

static void test_loopback(void **state)
{
	fixture *f = *state;

	assert_int_equal(vmm_uart_output(f->vm, -1, collect, f), 0);
	out8(f, COM1 + 4, 0x1a);          /* loop + RTS + OUT2, as Linux probes */
	assert_int_equal(in8(f, COM1 + 6) & 0xf0, 0x90);
	out8(f, COM1 + 0, 'L');           /* looped back, not transmitted */
	assert_int_equal(f->calls, 0);
	out8(f, COM1 + 4, 0x03);
	assert_int_equal(in8(f, COM1 + 6), 0xb0);
}

/* Host input reaches the receiver; IIR reports data, then THR empty. */
static void test_input_and_interrupt_ids(void **state)
{
	fixture *f = *state;
	size_t took = 0;

	out8(f, COM1 + 2, 0x01);                    /* FIFOs on */
	assert_int_equal(vmm_uart_input(f->vm, "hi", 2, &took), 0);
	assert_int_equal(took, 2);
	assert_int_equal(in8(f, COM1 + 5), 0x61);   /* DR */
	assert_int_equal(in8(f, COM1 + 2), 0xc1);   /* no interrupts enabled */
	out8(f, COM1 + 1, 0x03);                    /* RDA and THRE */
	assert_int_equal(in8(f, COM1 + 2), 0xc4);   /* data first */
	assert_int_equal(in8(f, COM1 + 0), 'h');
	assert_int_equal(in8(f, COM1 + 0), 'i');
	assert_int_equal(in8(f, COM1 + 5), 0x60);
	assert_int_equal(in8(f, COM1 + 2), 0xc2);   /* then THR empty, taken by reading */
	assert_int_equal(in8(f, COM1 + 2), 0xc1);
	out8(f, COM1 + 0, 'x');                     /* a transmit empties THR again */
	assert_int_equal(in8(f, COM1 + 2), 0xc2);
	/* The buffer is bounded: the rest is refused, not lost silently. */
	{
		static char big[5000];

		assert_int_equal(vmm_uart_input(f->vm, big, sizeof(big), &took), 0);
		assert_int_equal(took, VMM__UART_RX_SIZE);
	}
	out8(f, COM1 + 2, 0x03);                    /* clear the receive FIFO */
	assert_int_equal(in8(f, COM1 + 5) & 1, 0);
	assert_int_equal(vmm_uart_input(NULL, "x", 1, NULL), VMM_EINVAL);
}

static void test_no_uart_flag(void **state)
{
	vmm_vm *vm = fake_vm(1 << 20, 1, VMM_VM_NO_UART);
	vmm_vcpu *vcpu;
	uint32_t v = 'x';

	assert_non_null(vm);
	assert_int_equal(vmm_vcpu_create(vm, 0, &vcpu), 0);
	assert_int_equal(vmm__bus_pio(vcpu, COM1, 1, 1, &v), VMM__BUS_UNCLAIMED);
	assert_int_equal(vmm_uart_output(vm, 1, NULL, NULL), VMM_ENOTSUP);
	assert_non_null(strstr(vmm_last_error(), "VMM_VM_NO_UART"));
	assert_int_equal(vmm_uart_output(NULL, 1, NULL, NULL), VMM_EINVAL);
	vmm_vm_destroy(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_output_to_pipe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_to_callback_and_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_closed_pipe_does_not_kill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dlab_and_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loopback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_input_and_interrupt_ids, setup, teardown),
		cmocka_unit_test(test_no_uart_flag),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
