/* uart.c - the built-in 16550 UART at 0x3f8..0x3ff, transmit only. The line
 * always reads idle and ready (no receive data, no interrupts). */
#include <errno.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "lib/internal.h"

#define UART_BASE 0x3f8
#define UART_LEN 8

enum {
	REG_THR = 0, REG_IER = 1, REG_IIR = 2, REG_LCR = 3,
	REG_MCR = 4, REG_LSR = 5, REG_MSR = 6, REG_SCR = 7
};
#define LCR_DLAB 0x80
#define MCR_LOOP 0x10
#define IIR_NO_INT 0x01
#define LSR_IDLE 0x60      /* THR empty, transmitter empty */
#define MSR_READY 0xb0     /* DCD, DSR, CTS */

/* write() to fd without letting a closed pipe raise SIGPIPE in the process:
 * the signal is blocked in this thread and a pending one consumed. */
static void write_fd(int fd, const char *buf, size_t len)
{
	sigset_t pipe_set, old_mask, pending;
	int pending_before;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
	sigpending(&pending);
	pending_before = sigismember(&pending, SIGPIPE);
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (errno == EPIPE && !pending_before) {
				struct timespec zero = { 0, 0 };
				sigtimedwait(&pipe_set, NULL, &zero);
			}
			break;
		}
		buf += n;
		len -= (size_t)n;
	}
	pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
}

/* Caller holds u->lock, so vmm_uart_output cannot swap fn/opaque under us. */
static void emit(vmm__uart *u, uint8_t byte)
{
	char c = (char)byte;

	if (u->fd >= 0)
		write_fd(u->fd, &c, 1);
	if (u->fn)
		u->fn(u->opaque, &c, 1);
}

/* In loopback mode MSR reflects MCR: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
static uint8_t read_msr(const vmm__uart *u)
{
	if (!(u->mcr & MCR_LOOP))
		return MSR_READY;
	return (uint8_t)(((u->mcr & 0x02) << 3) | ((u->mcr & 0x01) << 5) |
			 ((u->mcr & 0x04) << 4) | ((u->mcr & 0x08) << 4));
}

static uint8_t uart_read(const vmm__uart *u, unsigned reg)
{
	bool dlab = u->lcr & LCR_DLAB;

	switch (reg) {
	case REG_THR: return dlab ? u->dll : 0;   /* RBR: no data */
	case REG_IER: return dlab ? u->dlm : u->ier;
	case REG_IIR: return IIR_NO_INT;
	case REG_LCR: return u->lcr;
	case REG_MCR: return u->mcr;
	case REG_LSR: return LSR_IDLE;
	case REG_MSR: return read_msr(u);
	default: return u->scr;
	}
}

static void uart_write(vmm__uart *u, unsigned reg, uint8_t v)
{
	bool dlab = u->lcr & LCR_DLAB;

	switch (reg) {
	case REG_THR:
		if (dlab)
			u->dll = v;
		else if (!(u->mcr & MCR_LOOP))
			emit(u, v);
		break;
	case REG_IER:
		if (dlab)
			u->dlm = v;
		else
			u->ier = v & 0x0f;
		break;
	case REG_IIR: break;  /* FCR: FIFO control accepted, nothing to do */
	case REG_LCR: u->lcr = v; break;
	case REG_MCR: u->mcr = v & 0x1f; break;
	case REG_LSR: case REG_MSR: break;  /* read-only */
	default: u->scr = v; break;
	}
}

static int uart_io(void *opaque, vmm_vcpu *vcpu, uint16_t port, uint8_t size,
		   uint8_t is_write, uint32_t *data)
{
	vmm__uart *u = opaque;
	unsigned reg = (unsigned)(port - UART_BASE) & 7;

	pthread_mutex_lock(&u->lock);
	if (is_write)
		uart_write(u, reg, (uint8_t)*data);
	else
		*data = uart_read(u, reg);
	pthread_mutex_unlock(&u->lock);
	return 0;
}

/* Always sets up the state; registers the ports unless VMM_VM_NO_UART. */
int vmm__uart_init(vmm_vm *vm)
{
	vmm__uart *u = &vm->uart;

	pthread_mutex_init(&u->lock, NULL);
	u->fd = -1;
	u->fn = NULL;
	u->opaque = NULL;
	u->ier = u->mcr = u->scr = u->dlm = 0;
	u->lcr = 0x03;  /* 8N1 */
	u->dll = 0x01;  /* 115200 baud */
	if (vm->config.flags & VMM_VM_NO_UART)
		return 0;
	return vmm_pio_register(vm, UART_BASE, UART_LEN, uart_io, u);
}

void vmm__uart_fini(vmm_vm *vm)
{
	pthread_mutex_destroy(&vm->uart.lock);
}

VMM_API int vmm_uart_output(vmm_vm *vm, int fd, vmm_output_fn fn, void *opaque)
{
	if (!vm)
		return vmm__err(VMM_EINVAL, "vmm_uart_output: vm is NULL");
	if (vm->config.flags & VMM_VM_NO_UART)
		return vmm__err(VMM_ENOTSUP, "vmm_uart_output: the VM was created with "
				"VMM_VM_NO_UART");
	pthread_mutex_lock(&vm->uart.lock);
	vm->uart.fd = fd >= 0 ? fd : -1;
	vm->uart.fn = fn;
	vm->uart.opaque = opaque;
	pthread_mutex_unlock(&vm->uart.lock);
	return 0;
}
