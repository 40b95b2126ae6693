/* irqdev.c - the runner's interrupt device (tests/guests/testdev.h, ports
 * 0x520-0x52f): a host clock, the timing tolerance, and lines and MSIs the
 * guest asks for, sent through the public vmm_irq_line / vmm_msi_send from
 * the vCPU thread (a device callback) or, for the storm, a host thread. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tests/conformance/src/conform.h"
#include "tests/guests/testdev.h"

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *storm_thread(void *arg)
{
	testdev *d = arg;

	while (atomic_load(&d->storm_run)) {
		pthread_mutex_lock(&d->lock);
		uint32_t addr = d->msi_addr, data = d->msi_data;
		pthread_mutex_unlock(&d->lock);
		if (vmm_msi_send(d->vm, addr, data) == 0)
			atomic_store(&d->storm_sent, 1);
	}
	return NULL;
}

void testdev_stop(testdev *d)
{
	atomic_store(&d->storm_run, 0);
	if (d->storm_started)
		pthread_join(d->storm_tid, NULL);
	d->storm_started = 0;
}

static int storm(testdev *d, uint32_t on)
{
	if (!on) {
		testdev_stop(d);
		return 0;
	}
	if (d->storm_started)
		return 0;
	atomic_store(&d->storm_run, 1);
	if (pthread_create(&d->storm_tid, NULL, storm_thread, d)) {
		atomic_store(&d->storm_run, 0);
		return VMM_ENOMEM;
	}
	d->storm_started = 1;
	return 0;
}

static int irq_read(testdev *d, uint16_t port, uint8_t size, uint32_t *data)
{
	if (port == TESTDEV_IRQ_CLOCK && size == 4)
		*data = (uint32_t)(uint64_t)((now_s() - d->t0) * 1e6);
	else if (port == TESTDEV_IRQ_TOL && size == 1)
		*data = d->tolerance;
	else if (port == TESTDEV_IRQ_STATUS && size == 1)
		*data = d->status;
	else if (port == TESTDEV_IRQ_STORM && size == 1)
		*data = (uint32_t)atomic_load(&d->storm_sent);
	else
		return VMM_EINVAL;
	return 0;
}

static int irq_write(testdev *d, uint16_t port, uint8_t size, uint32_t v)
{
	if (port == TESTDEV_IRQ_LINE && size == 1)
		d->status = vmm_irq_line(d->vm, v & 0x1f, v >> 7) != 0;
	else if (port == TESTDEV_IRQ_MSIDAT && size == 4)
		d->msi_data = v;
	else if (port == TESTDEV_IRQ_MSIADR && size == 4) {
		d->msi_addr = v;   /* the storm thread's address from now on */
		d->status = vmm_msi_send(d->vm, v, d->msi_data) != 0;
	}
	else
		return VMM_EINVAL;
	return 0;
}

static int on_irq(void *opaque, vmm_vcpu *vcpu, uint16_t port, uint8_t size,
		  uint8_t is_write, uint32_t *data)
{
	testdev *d = opaque;
	int rc;

	if (port == TESTDEV_IRQ_STORM && is_write && size == 1)
		return storm(d, *data & 0xff);   /* joins: not under the lock */
	pthread_mutex_lock(&d->lock);
	rc = is_write ? irq_write(d, port, size, *data) : irq_read(d, port, size, data);
	pthread_mutex_unlock(&d->lock);
	return rc;
}

int testdev_irq_attach(testdev *d, vmm_vm *vm)
{
	d->vm = vm;
	d->t0 = now_s();
	if (!d->tolerance)
		d->tolerance = 5;
	return vmm_pio_register(vm, TESTDEV_IRQ_BASE, TESTDEV_IRQ_LEN, on_irq, d);
}
