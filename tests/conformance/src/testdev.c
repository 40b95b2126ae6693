/* testdev.c - the runner's test devices, implementing the specification in
 * tests/guests/testdev.h: the port device at 0x500, the MMIO device at
 * 0xd0000000 and the note port. An access the specification does not
 * allow fails the callback (the guest then stops with an internal error
 * that names it), so a backend that splits or widens accesses is caught. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tests/conformance/src/conform.h"
#include "tests/guests/testdev.h"

static uint32_t mask32(uint8_t size)
{
	return size >= 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
}

void testdev_init(testdev *d)
{
	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->lock, NULL);
	for (uint32_t i = 0; i < TESTDEV_MMIO_XOR_AREA; i++)
		d->mmio[i] = testdev_mmio_init(i);
}

void testdev_fini(testdev *d)
{
	pthread_mutex_destroy(&d->lock);
}

/* ---- port device --------------------------------------------------------- */
static int data_access(testdev *d, uint16_t port, uint8_t size, uint8_t is_write,
		       uint32_t *data)
{
	uint32_t shift = (uint32_t)(port - TESTDEV_PIO_DATA) * 8;
	uint32_t mask = mask32(size) << shift;

	if (port + size > TESTDEV_PIO_DATA + 4)
		return VMM_EINVAL;
	if (is_write)
		d->data = (d->data & ~mask) | ((*data << shift) & mask);
	else
		*data = ((d->data ^ TESTDEV_PIO_XOR) & mask) >> shift;
	return 0;
}

static int pio_access(testdev *d, uint16_t port, uint8_t size, uint8_t is_write,
		      uint32_t *data)
{
	if (port < TESTDEV_PIO_SEQ)
		return data_access(d, port, size, is_write, data);
	if (port == TESTDEV_PIO_SEQ && is_write) {
		d->sum = testdev_sum(d->sum, *data & mask32(size));
		d->count++;
	} else if (port == TESTDEV_PIO_SEQ) {
		*data = testdev_seq(d->seq_n++) & mask32(size);
	} else if (port == TESTDEV_PIO_SUM && is_write) {
		d->seq_n = d->sum = d->count = 0;
	} else if (port == TESTDEV_PIO_SUM && size == 2) {
		*data = d->sum;
	} else if (port == TESTDEV_PIO_COUNT && !is_write && size == 1) {
		*data = d->count & 0xff;
	} else {
		return VMM_EINVAL;
	}
	return 0;
}

static int on_pio(void *opaque, vmm_vcpu *vcpu, uint16_t port, uint8_t size,
		  uint8_t is_write, uint32_t *data)
{
	testdev *d = opaque;
	int rc;

	pthread_mutex_lock(&d->lock);
	rc = pio_access(d, port, size, is_write, data);
	pthread_mutex_unlock(&d->lock);
	return rc;
}

/* ---- note port ------------------------------------------------------------ */
static int on_note(void *opaque, vmm_vcpu *vcpu, uint16_t port, uint8_t size,
		   uint8_t is_write, uint32_t *data)
{
	testdev *d = opaque;

	if (!is_write) {
		*data = mask32(size);
		return 0;
	}
	pthread_mutex_lock(&d->lock);
	if (d->note_len + 1 < sizeof(d->note))
		d->note[d->note_len++] = (char)*data;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

const char *testdev_notes(testdev *d, char *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->note_len && n + 3 < len; i++) {
		char c = d->note[i];
		if (c == ';') {
			if (i + 1 < d->note_len) {
				buf[n++] = ';';
				buf[n++] = ' ';
			}
		} else {
			buf[n++] = (c >= 0x20 && c < 0x7f) ? c : '?';
		}
	}
	pthread_mutex_unlock(&d->lock);
	buf[n] = 0;
	return buf;
}

/* ---- MMIO device ---------------------------------------------------------- */
static int mmio_register_read(testdev *d, uint64_t off, uint8_t size, uint64_t *data)
{
	if (size != 8)
		return VMM_EINVAL;
	if (off == TESTDEV_MMIO_COUNT)
		*data = d->mmio_count;
	else if (off == TESTDEV_MMIO_LAST)
		*data = d->mmio_last;
	else if (off == TESTDEV_MMIO_ID)
		*data = TESTDEV_MMIO_ID_VALUE;
	else
		return VMM_EINVAL;
	return 0;
}

static int mmio_access(testdev *d, uint64_t off, uint8_t size, uint8_t is_write,
		       uint64_t *data)
{
	int xor_area = off >= TESTDEV_MMIO_XOR_AREA && off < TESTDEV_MMIO_XOR_END;
	uint64_t v = 0;

	if (off + size > (xor_area ? TESTDEV_MMIO_XOR_END : TESTDEV_MMIO_XOR_AREA) &&
	    off < TESTDEV_MMIO_XOR_END)
		return VMM_EINVAL; /* crosses an area boundary */
	if (off >= TESTDEV_MMIO_XOR_END) {
		if (!is_write && off != TESTDEV_MMIO_ID)
			return mmio_register_read(d, off, size, data);
		if (off != TESTDEV_MMIO_ID || size != 8)
			return VMM_EINVAL;
		if (!is_write)
			mmio_register_read(d, off, size, data);
	} else if (is_write) {
		for (uint8_t i = 0; i < size; i++)
			d->mmio[off + i] = (uint8_t)(*data >> (8 * i));
	} else {
		for (uint8_t i = size; i-- > 0;)
			v = v << 8 | (uint8_t)(d->mmio[off + i] ^ (xor_area ? TESTDEV_MMIO_XOR : 0));
		*data = v;
	}
	d->mmio_count++;
	d->mmio_last = off << 16 | (uint64_t)size << 8 | is_write;
	return 0;
}

static int on_mmio(void *opaque, vmm_vcpu *vcpu, uint64_t addr, uint8_t size,
		   uint8_t is_write, uint64_t *data)
{
	testdev *d = opaque;
	int rc;

	if (addr < TESTDEV_MMIO_BASE || addr - TESTDEV_MMIO_BASE + size > TESTDEV_MMIO_LEN)
		return VMM_EINVAL;
	pthread_mutex_lock(&d->lock);
	rc = mmio_access(d, addr - TESTDEV_MMIO_BASE, size, is_write, data);
	pthread_mutex_unlock(&d->lock);
	return rc;
}

/* Host UTC seconds (CLOCK_REALTIME), low 32 bits, for the rtc guest. */
static int on_utc(void *opaque, vmm_vcpu *vcpu, uint16_t port, uint8_t size,
		  uint8_t is_write, uint32_t *data)
{
	struct timespec ts;

	if (is_write || port != TESTDEV_UTC_PORT || size != 4)
		return 0;                    /* ignored; reads stay all ones */
	clock_gettime(CLOCK_REALTIME, &ts);
	*data = (uint32_t)ts.tv_sec;
	return 0;
}

int testdev_attach(testdev *d, vmm_vm *vm, uint32_t mask)
{
	int rc = vmm_pio_register(vm, TESTDEV_NOTE_PORT, 1, on_note, d);

	if (rc == 0 && (mask & CONFORM_DEV_PIO))
		rc = vmm_pio_register(vm, TESTDEV_PIO_BASE, TESTDEV_PIO_LEN, on_pio, d);
	if (rc == 0 && (mask & CONFORM_DEV_MMIO))
		rc = vmm_mmio_register(vm, TESTDEV_MMIO_BASE, TESTDEV_MMIO_LEN, on_mmio, d);
	if (rc == 0 && (mask & CONFORM_DEV_IRQ))
		rc = testdev_irq_attach(d, vm);
	if (rc == 0 && (mask & CONFORM_DEV_UTC))
		rc = vmm_pio_register(vm, TESTDEV_UTC_PORT, 4, on_utc, d);
	return rc;
}
