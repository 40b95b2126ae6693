/* appliance.c - embedding libvmm the way an appliance vendor would: the
 * program brings its own device model (see appliance_abi.h): a control
 * device on MMIO and a shared memory region that a host thread fills with
 * records while the guest consumes them. See README.md. */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vmm.h>
#include <zlib.h>

#include "appliance_abi.h"

#define RECORDS 2000u

typedef struct appliance {
	vmm_region *region;
	struct shm *shm;         /* host view of the shared region */
	uLong host_crc;          /* zlib's CRC-32 of what the producer sent */
	uint32_t status;         /* DEV_STATUS */
	uint32_t guest_crc;
	int stop;                /* the guest ended: the producer gives up */
	pthread_mutex_t lock;
} appliance;

/* The producer: RECORDS records of varying length into the ring. */
static void *producer(void *arg)
{
	appliance *a = arg;
	uLong crc = crc32(0L, Z_NULL, 0);

	for (uint32_t i = 0; i < RECORDS; i++) {
		while (i - __atomic_load_n(&a->shm->tail, __ATOMIC_ACQUIRE) >= RING_SLOTS) {
			if (__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE))
				return NULL;
			sched_yield();  /* ring full: wait for the guest */
		}
		struct rec *r = &a->shm->ring[i % RING_SLOTS];
		int len = snprintf((char *)r->data, REC_DATA, "record %u: %.*s", i,
				   (int)(i % 37), "abcdefghijklmnopqrstuvwxyz0123456789");
		r->seq = i;
		r->len = (uint32_t)len;
		crc = crc32(crc, r->data, r->len);
		if (i == RECORDS - 1) {
			/* before the guest can see the last record and report */
			pthread_mutex_lock(&a->lock);
			a->host_crc = crc;
			pthread_mutex_unlock(&a->lock);
		}
		__atomic_store_n(&a->shm->head, i + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* The control device; runs on the vCPU thread. */
static int control(void *opaque, vmm_vcpu *vcpu, uint64_t addr, uint8_t size,
		   uint8_t is_write, uint64_t *data)
{
	appliance *a = opaque;
	uint64_t off = addr - DEV_GPA;
	int rc = 0;

	(void)vcpu;
	if (size != 4)
		return VMM_EINVAL;
	pthread_mutex_lock(&a->lock);
	if (!is_write && off == DEV_ID)
		*data = DEV_ID_VALUE;
	else if (!is_write && off == DEV_COUNT)
		*data = RECORDS;
	else if (!is_write && off == DEV_STATUS)
		*data = a->status;
	else if (is_write && off == DEV_RESULT) {
		/* The guest has consumed every record, so the producer is done. */
		a->guest_crc = (uint32_t)*data;
		a->status = a->guest_crc == (uint32_t)a->host_crc ? 1 : 2;
	} else
		rc = VMM_EINVAL;
	pthread_mutex_unlock(&a->lock);
	return rc;
}

static int fail(const char *what)
{
	fprintf(stderr, "appliance: %s: %s\n", what, vmm_last_error());
	return 1;
}

int main(int argc, char **argv)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	vmm_run_options opt = VMM_RUN_OPTIONS_INIT;
	vmm_run_result res = VMM_RUN_RESULT_INIT;
	appliance a = { .lock = PTHREAD_MUTEX_INITIALIZER };
	vmm_vm *vm = NULL;
	pthread_t prod;

	if (argc < 2 || argc > 3)
		return fprintf(stderr, "usage: appliance GUEST.elf [emu|kvm]\n"), 2;
	cfg.mem_size = 16u << 20;
	cfg.backend = argc == 3 ? argv[2] : "emu";
	opt.timeout_ms = 60000;
	if (vmm_region_create(SHM_SIZE, &a.region))
		return fail("shared region");
	a.shm = vmm_region_host_ptr(a.region);
	memset(a.shm, 0, SHM_SIZE);
	if (vmm_vm_create(&cfg, &vm) || vmm_uart_output(vm, 1, NULL, NULL) ||
	    vmm_mem_share(vm, a.region, SHM_GPA, 0, SHM_SIZE, VMM_MEM_RW) ||
	    vmm_mmio_register(vm, DEV_GPA, DEV_LEN, control, &a) ||
	    vmm_load_elf(vm, argv[1], NULL))
		return fail("setting up the VM");
	if (pthread_create(&prod, NULL, producer, &a))
		return fprintf(stderr, "appliance: cannot start the producer\n"), 1;
	int rc = vmm_vm_run(vm, &opt, &res);
	__atomic_store_n(&a.stop, 1, __ATOMIC_RELEASE);
	pthread_join(prod, NULL);
	if (rc)
		return fail("run");
	vmm_vm_destroy(vm);
	vmm_region_destroy(a.region);
	printf("appliance: guest ended: %s; host crc32 %08lx, guest crc32 %08x, status %u\n",
	       res.message, a.host_crc, a.guest_crc, a.status);
	return res.end == VMM_END_DEBUG_EXIT && res.code == 0 && a.status == 1 ? 0 : 1;
}
