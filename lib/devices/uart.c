/* uart.c - the built-in 16550A UART at 0x3f8..0x3ff (COM1, IRQ 4): transmit
 * to an fd or callback, receive what the host feeds with vmm_uart_input,
 * FIFOs, and the interrupt logic (line status, received data, THR empty;
 * OUT2 gates the line as on a PC) when the VM has an interrupt controller. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/platform/platform.h"
#include "lib/platform/state.h"

#define UART_BASE 0x3f8
#define UART_LEN 8
#define UART_GSI 4

enum {
	REG_THR = 0, REG_IER = 1, REG_IIR = 2, REG_LCR = 3,
	REG_MCR = 4, REG_LSR = 5, REG_MSR = 6, REG_SCR = 7
};
#define LCR_DLAB 0x80
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define IER_RDA 0x01
#define IER_THRE 0x02
#define IER_RLS 0x04
#define IIR_NO_INT 0x01
#define IIR_RLS 0x06
#define IIR_RDA 0x04
#define IIR_THRE 0x02
#define IIR_FIFO 0xc0
#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_IDLE 0x60      /* THR empty, transmitter empty */
#define MSR_READY 0xb0     /* DCD, DSR, CTS */
#define FIFO_LEN 16u       /* what the guest sees with FIFOs enabled */

/* write() to fd without letting a closed pipe raise SIGPIPE in the process:
 * the signal is blocked in this thread and a pending one consumed. */
void vmm__write_fd(int fd, const char *buf, size_t len)
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
		vmm__write_fd(u->fd, &c, 1);
	if (u->fn)
		u->fn(u->opaque, &c, 1);
}

static bool rx_push(vmm__uart *u, uint8_t byte)
{
	if (u->rx_count == VMM__UART_RX_SIZE)
		return false;
	u->rx[(u->rx_head + u->rx_count++) % VMM__UART_RX_SIZE] = byte;
	return true;
}

static uint8_t rx_pop(vmm__uart *u)
{
	uint8_t b;

	if (!u->rx_count)
		return 0;
	b = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % VMM__UART_RX_SIZE;
	u->rx_count--;
	return b;
}

/* The highest-priority pending interrupt, as IIR reports it. */
static uint8_t pending_iir(const vmm__uart *u)
{
	if ((u->ier & IER_RLS) && u->lsr_errors)
		return IIR_RLS;
	if ((u->ier & IER_RDA) && u->rx_count)
		return IIR_RDA;
	if ((u->ier & IER_THRE) && u->thre_pending)
		return IIR_THRE;
	return IIR_NO_INT;
}

/* Drives IRQ 4 from the interrupt state (under u->lock; the interrupt
 * controllers' locks come after the device's). */
static void update_irq(vmm__uart *u)
{
	bool level = pending_iir(u) != IIR_NO_INT && (u->mcr & MCR_OUT2);

	if (level == u->irq_level || !u->vm->platform)
		return;
	u->irq_level = level;
	vmm__irq_set(u->vm, UART_GSI, level);
}

/* In loopback mode MSR reflects MCR: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
static uint8_t read_msr(const vmm__uart *u)
{
	if (!(u->mcr & MCR_LOOP))
		return MSR_READY;
	return (uint8_t)(((u->mcr & 0x02) << 3) | ((u->mcr & 0x01) << 5) |
			 ((u->mcr & 0x04) << 4) | ((u->mcr & 0x08) << 4));
}

static uint8_t uart_read(vmm__uart *u, unsigned reg)
{
	bool dlab = u->lcr & LCR_DLAB;
	uint8_t v;

	switch (reg) {
	case REG_THR: return dlab ? u->dll : rx_pop(u);
	case REG_IER: return dlab ? u->dlm : u->ier;
	case REG_IIR:
		v = pending_iir(u);
		if (v == IIR_THRE)
			u->thre_pending = false;   /* reading IIR takes it */
		return (uint8_t)(v | ((u->fcr & FCR_ENABLE) ? IIR_FIFO : 0));
	case REG_LCR: return u->lcr;
	case REG_MCR: return u->mcr;
	case REG_LSR:
		v = (uint8_t)(LSR_IDLE | (u->rx_count ? LSR_DR : 0) | u->lsr_errors);
		u->lsr_errors = 0;
		return v;
	case REG_MSR: return read_msr(u);
	default: return u->scr;
	}
}

static void uart_write(vmm__uart *u, unsigned reg, uint8_t v)
{
	bool dlab = u->lcr & LCR_DLAB;

	switch (reg) {
	case REG_THR:
		if (dlab) {
			u->dll = v;
			break;
		}
		if (u->mcr & MCR_LOOP) {
			if (!rx_push(u, v))
				u->lsr_errors |= LSR_OE;
		} else {
			emit(u, v);
		}
		u->thre_pending = true;            /* sent at once: THR empty again */
		break;
	case REG_IER:
		if (dlab) {
			u->dlm = v;
			break;
		}
		if (!(u->ier & IER_THRE) && (v & IER_THRE))
			u->thre_pending = true;    /* enabling with THR empty interrupts */
		u->ier = v & 0x0f;
		break;
	case REG_IIR:                              /* FCR */
		u->fcr = v & 0xc9;
		if (v & FCR_CLEAR_RX)
			u->rx_head = u->rx_count = 0;
		break;
	case REG_LCR: u->lcr = v; break;
	case REG_MCR: u->mcr = v & 0x1f; break;
	case REG_LSR: case REG_MSR: break;         /* read-only */
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
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return 0;
}

/* Always sets up the state; registers the ports unless VMM_VM_NO_UART. */
int vmm__uart_init(vmm_vm *vm)
{
	vmm__uart *u = &vm->uart;

	pthread_mutex_init(&u->lock, NULL);
	u->vm = vm;
	u->fd = -1;
	u->fn = NULL;
	u->opaque = NULL;
	u->ier = u->mcr = u->scr = u->dlm = u->fcr = u->lsr_errors = 0;
	u->thre_pending = u->irq_level = false;
	u->rx_head = u->rx_count = 0;
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

VMM_API int vmm_uart_input(vmm_vm *vm, const void *buf, size_t len, size_t *accepted)
{
	const uint8_t *p = buf;
	size_t n = 0;

	if (accepted)
		*accepted = 0;
	if (!vm || (!buf && len))
		return vmm__err(VMM_EINVAL, "vmm_uart_input: vm or buf is NULL");
	if (vm->config.flags & VMM_VM_NO_UART)
		return vmm__err(VMM_ENOTSUP, "vmm_uart_input: the VM was created with "
				"VMM_VM_NO_UART");
	pthread_mutex_lock(&vm->uart.lock);
	while (n < len && rx_push(&vm->uart, p[n]))
		n++;
	update_irq(&vm->uart);
	pthread_mutex_unlock(&vm->uart.lock);
	if (accepted)
		*accepted = n;
	return 0;
}

/* ---- Device state (lib/platform/state.h) -------------------------------------
 * The registers and the input not yet read, oldest first. Where output goes
 * (fd, callback) is the embedder's, not the guest's: not saved. */

static int uart_save(void *dev, vmm__sw *w)
{
	vmm__uart *u = dev;

	pthread_mutex_lock(&u->lock);
	vmm__sw_bytes(w, (const uint8_t[]){ u->ier, u->lcr, u->mcr, u->scr, u->dll, u->dlm,
					    u->fcr, u->lsr_errors }, 8);
	vmm__sw_bool(w, u->thre_pending);
	vmm__sw_bool(w, u->irq_level);
	vmm__sw_u32(w, u->rx_count);
	for (uint32_t i = 0; i < u->rx_count; i++)
		vmm__sw_u8(w, u->rx[(u->rx_head + i) % VMM__UART_RX_SIZE]);
	pthread_mutex_unlock(&u->lock);
	return 0;
}

static int uart_load(void *dev, uint32_t version, vmm__sr *r)
{
	vmm__uart *u = dev;
	uint8_t reg[8], rx[VMM__UART_RX_SIZE];
	bool thre, irq;
	uint32_t n;

	(void)version;
	vmm__sr_bytes(r, "registers", reg, sizeof(reg));
	vmm__sr_check(r, reg[0] <= 0x0f, "ier", "reserved bits");
	vmm__sr_check(r, reg[2] <= 0x1f, "mcr", "reserved bits");
	vmm__sr_check(r, !(reg[6] & ~0xc9), "fcr", "reserved bits");
	vmm__sr_check(r, !(reg[7] & ~LSR_OE), "lsr_errors", "only overrun is modelled");
	thre = vmm__sr_bool(r, "thre_pending");
	irq = vmm__sr_bool(r, "irq_level");
	n = (uint32_t)vmm__sr_max(r, "rx_count", VMM__UART_RX_SIZE, 4);
	vmm__sr_bytes(r, "rx", rx, n);
	if (!vmm__sr_apply(r))
		return 0;
	pthread_mutex_lock(&u->lock);
	u->ier = reg[0], u->lcr = reg[1], u->mcr = reg[2], u->scr = reg[3];
	u->dll = reg[4], u->dlm = reg[5], u->fcr = reg[6], u->lsr_errors = reg[7];
	u->thre_pending = thre;
	u->irq_level = irq;   /* the controllers' saved inputs hold the line */
	memcpy(u->rx, rx, n);
	u->rx_head = 0;
	u->rx_count = n;
	pthread_mutex_unlock(&u->lock);
	return 0;
}

static const vmm__state_ops uart_state = { 1, uart_save, uart_load };

int vmm__uart_state_add(vmm_vm *vm, vmm__state_list *l)
{
	if (vm->config.flags & VMM_VM_NO_UART)
		return 0;
	return vmm__state_add(l, "uart", &uart_state, &vm->uart);
}
