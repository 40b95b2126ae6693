/* devstate_fixture.h - shared by test_devstate*.c: VMs with every device
 * (emu, VMM_VM_IRQCHIP | VMM_VM_FW_CFG, two vCPUs, virtio rng, console,
 * blk and net), port and MMIO access through the bus as a guest makes it,
 * copying RAM and vCPU registers between VMs, and comparing two state
 * streams: byte for byte, except the fields the writer marked as moving
 * with the clock, which must lie within a margin. */
#ifndef DEVSTATE_FIXTURE_H
#define DEVSTATE_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/platform/pci.h"
#include "lib/platform/platform.h"
#include "lib/platform/state.h"
#include "lib/virtio/virtqueue.h"

#define DS_FN static __attribute__((unused))
#define DS_MEM (16u << 20)
#define DS_TIME_MARGIN 20000000000ull   /* ns / ticks a moving field may move */

typedef struct ds_vm {
	vmm_vm *vm;
	vmm_vcpu *cpu[2];
} ds_vm;

static char ds_image[64];

DS_FN void ds_image_create(void)
{
	int fd;

	snprintf(ds_image, sizeof(ds_image), "/tmp/devstate-XXXXXX");
	fd = mkstemp(ds_image);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
}

DS_FN void ds_image_remove(void)
{
	unlink(ds_image);
}

/* The full configuration; pair names differ per VM (one device each). */
DS_FN void ds_create(ds_vm *t, const char *backend, uint32_t flags, int virtio, int n)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	static unsigned pairs;
	char pair[32];

	memset(t, 0, sizeof(*t));
	cfg.backend = backend;
	cfg.mem_size = DS_MEM;
	cfg.vcpus = (uint32_t)n;
	cfg.flags = flags;
	assert_int_equal(vmm_vm_create(&cfg, &t->vm), 0);
	for (int i = 0; i < n; i++)
		assert_int_equal(vmm_vcpu_create(t->vm, (uint32_t)i, &t->cpu[i]), 0);
	if (!virtio)
		return;
	assert_int_equal(vmm_virtio_rng_add(t->vm), 0);
	{
		vmm_console_config cc = VMM_CONSOLE_CONFIG_INIT;
		vmm_blk_config bc = VMM_BLK_CONFIG_INIT;
		vmm_net_config nc = VMM_NET_CONFIG_INIT;

		assert_int_equal(vmm_virtio_console_add(t->vm, &cc), 0);
		bc.path = ds_image;
		bc.flags = VMM_BLK_READONLY;
		bc.serial = "devstate-disk";
		assert_int_equal(vmm_virtio_blk_add(t->vm, &bc), 0);
		snprintf(pair, sizeof(pair), "devstate-%d-%u", (int)getpid(), pairs++);
		nc.pair = pair;
		assert_int_equal(vmm_virtio_net_add(t->vm, &nc), 0);
	}
}

DS_FN void ds_destroy(ds_vm *t)
{
	vmm_vm_destroy(t->vm);
	t->vm = NULL;
}

DS_FN uint32_t pio(vmm_vcpu *v, uint16_t port, unsigned size, int write, uint32_t val)
{
	uint32_t d = val;

	assert_int_equal(vmm__bus_pio(v, port, (uint8_t)size, (uint8_t)write, &d), VMM__BUS_DONE);
	return d;
}

DS_FN uint64_t mmio(vmm_vcpu *v, uint64_t addr, unsigned size, int write, uint64_t val)
{
	uint64_t d = val;

	assert_int_equal(vmm__bus_mmio(v, addr, (uint8_t)size, (uint8_t)write, &d), VMM__BUS_DONE);
	return d;
}

DS_FN uint32_t ecam(vmm_vcpu *v, unsigned slot, unsigned reg, unsigned size, int write,
		    uint32_t val)
{
	return (uint32_t)mmio(v, VMM__PCI_ECAM_BASE + (slot << 15) + reg, size, write, val);
}

DS_FN void ds_sleep_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* RAM [0, size) and every vCPU's registers from one VM to the other. */
DS_FN void ds_copy_cpu_and_ram(ds_vm *from, ds_vm *to, uint64_t size, int n)
{
	uint8_t *ram = malloc(size);

	assert_non_null(ram);
	assert_int_equal(vmm_mem_read(from->vm, 0, ram, size), 0);
	assert_int_equal(vmm_mem_write(to->vm, 0, ram, size), 0);
	free(ram);
	for (int i = 0; i < n; i++) {
		vmm_regs r;
		vmm_sregs s;

		assert_int_equal(vmm_vcpu_get_sregs(from->cpu[i], &s), 0);
		assert_int_equal(vmm_vcpu_set_sregs(to->cpu[i], &s), 0);
		assert_int_equal(vmm_vcpu_get_regs(from->cpu[i], &r), 0);
		assert_int_equal(vmm_vcpu_set_regs(to->cpu[i], &r), 0);
	}
}

DS_FN void ds_save(vmm_vm *vm, vmm__sw *w)
{
	if (vmm__vm_state_save(vm, w) != 0)
		fail_msg("vmm__vm_state_save: %s", vmm_last_error());
	assert_false(w->failed);
}

DS_FN void ds_load(vmm_vm *vm, const vmm__sw *w)
{
	if (vmm__vm_state_load(vm, w->data, w->len) != 0)
		fail_msg("vmm__vm_state_load: %s", vmm_last_error());
}

static uint64_t ds_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* a and b equal byte for byte but at b's moving fields (both streams have
 * them at the same offsets), which differ by at most DS_TIME_MARGIN. */
DS_FN void ds_compare(const vmm__sw *a, const vmm__sw *b)
{
	size_t t = 0;

	assert_int_equal(a->len, b->len);
	assert_int_equal(a->ntime, b->ntime);
	for (size_t i = 0; i < a->ntime; i++)
		assert_int_equal(a->time_off[i], b->time_off[i]);
	for (size_t i = 0; i < a->len; i++) {
		if (t < b->ntime && i == b->time_off[t]) {
			uint64_t x = ds_le64(a->data + i), y = ds_le64(b->data + i);
			uint64_t d = x > y ? x - y : y - x;

			if (d > DS_TIME_MARGIN)
				fail_msg("moving field at %zu: %llu vs %llu", i,
					 (unsigned long long)x, (unsigned long long)y);
			i += 7;
			t++;
			continue;
		}
		if (a->data[i] != b->data[i])
			fail_msg("streams differ at byte %zu: 0x%02x vs 0x%02x", i, a->data[i],
				 b->data[i]);
	}
}

#define RNG_SLOT 1
#define DESC 0x10000ull
#define AVAIL 0x11000ull
#define USED 0x12000ull
#define BUF 0x20000ull

DS_FN uint64_t bar4_of(vmm_vcpu *c, unsigned slot)
{
	return (ecam(c, slot, 0x20, 4, 0, 0) & ~0xfu) | (uint64_t)ecam(c, slot, 0x24, 4, 0, 0) << 32;
}

/* The rng as a driver sets it up: MSI-X on, queue 0 of 8 at DESC/AVAIL/USED
 * on vector 0, DRIVER_OK, then one 16-byte buffer taken. */
DS_FN void program_virtio(ds_vm *t)
{
	vmm_vcpu *c = t->cpu[0];
	uint64_t b4, b1;
	uint8_t d[16] = { 0 };
	uint64_t addr = BUF;
	uint32_t len = 16;
	uint16_t flags = VMM__VRING_DESC_F_WRITE, head = 0, idx = 1, zero = 0;

	for (unsigned s = 1; s <= 4; s++) {
		ecam(c, s, 0x04, 2, 1, 0x6);
		ecam(c, s, 0x3c, 1, 1, 0x0b);
	}
	ecam(c, 2, 0x14, 4, 1, 0xd0000000);          /* the console's BAR 1 moved */
	b4 = bar4_of(c, RNG_SLOT);
	b1 = ecam(c, RNG_SLOT, 0x14, 4, 0, 0) & ~0xfu;
	ecam(c, RNG_SLOT, 0x42, 2, 1, 0x8000);       /* MSI-X enable (cap at 0x40) */
	mmio(c, b1, 4, 1, 0xfee00000);
	mmio(c, b1 + 8, 4, 1, 0x55);
	mmio(c, b1 + 12, 4, 1, 0);
	mmio(c, b4 + 20, 1, 1, 1 | 2);
	mmio(c, b4 + 8, 4, 1, 1);
	mmio(c, b4 + 12, 4, 1, 1);
	mmio(c, b4 + 20, 1, 1, 1 | 2 | 8);
	assert_int_equal(vmm_mem_write(t->vm, AVAIL + 2, &zero, 2), 0);
	mmio(c, b4 + 22, 2, 1, 0);
	mmio(c, b4 + 24, 2, 1, 8);
	mmio(c, b4 + 26, 2, 1, 0);
	mmio(c, b4 + 32, 8, 1, DESC);
	mmio(c, b4 + 40, 8, 1, AVAIL);
	mmio(c, b4 + 48, 8, 1, USED);
	mmio(c, b4 + 28, 2, 1, 1);
	mmio(c, b4 + 20, 1, 1, 1 | 2 | 8 | 4);
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	assert_int_equal(vmm_mem_write(t->vm, DESC, d, 16), 0);
	assert_int_equal(vmm_mem_write(t->vm, AVAIL + 4, &head, 2), 0);
	assert_int_equal(vmm_mem_write(t->vm, AVAIL + 2, &idx, 2), 0);
	mmio(c, b4 + 0x3000, 2, 1, 0);               /* notify queue 0 */
	mmio(c, b4 + 22, 2, 1, 5);                   /* queue_select left at 5 */
	assert_int_equal(vmm_virtio_console_input(t->vm, "hello", 5, NULL), 0);
}

#endif /* DEVSTATE_FIXTURE_H */
