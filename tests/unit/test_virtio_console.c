/* test_virtio_console.c - virtio-console (lib/virtio/console.c) driven
 * through the PCI transport: output byte-exact to a pipe and a callback,
 * input held in 4 KiB until the guest offers buffers and split across
 * them, hostile chains and random rings. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/platform/pci.h"
#include "lib/platform/platform.h"
#include "lib/virtio/virtio_pci.h"

#include "virtio_multi.h"

#define OUT1 0x100000ull
#define OUT2 0x101000ull
#define IN1 0x110000ull
#define IN2 0x111000ull

static drv d;
static int pipefd[2];
static char seen[8192];
static size_t seen_len;

static void on_output(void *opaque, const char *buf, size_t len)
{
	assert_ptr_equal(opaque, &seen);
	if (seen_len + len > sizeof(seen))
		seen_len = 0;                    /* random rings write a lot */
	if (len > sizeof(seen))
		return;
	memcpy(seen + seen_len, buf, len);
	seen_len += len;
}

static int add_console(vmm_vm *vm, void *arg)
{
	vmm_console_config c = VMM_CONSOLE_CONFIG_INIT;

	c.out_fd = pipefd[1];
	c.out_fn = on_output;
	c.out_opaque = &seen;
	return vmm_virtio_console_add(vm, &c);
}

static int setup(void **state)
{
	assert_int_equal(pipe2(pipefd, O_NONBLOCK), 0);
	seen_len = 0;
	assert_int_equal(drv_open(&d, add_console, NULL), 0);
	drv_start(&d, 0, 2);
	return 0;
}

static int teardown(void **state)
{
	drv_close(&d);
	close(pipefd[0]);
	close(pipefd[1]);
	return 0;
}

static void write_out(const char *a, const char *b)
{
	uint64_t gpa[2] = { OUT1, OUT2 };
	uint32_t len[2] = { (uint32_t)strlen(a), (uint32_t)strlen(b) };
	int wr[2] = { 0, 0 };
	uint16_t want = (uint16_t)(d.avail[1] + 1);

	vmm_mem_write(d.vm, OUT1, a, len[0]);
	vmm_mem_write(d.vm, OUT2, b, len[1]);
	drv_post(&d, 1, 2, gpa, len, wr);
	drv_kick(&d, 1);
	assert_int_equal(drv_used_idx(&d, 1), want);
}

static void test_identity(void **state)
{
	assert_int_equal(drv_cfg(&d, 0, 4, 0, 0), 0x10431af4);      /* 1af4:1043 */
	assert_int_equal(drv_cfg(&d, 0x08, 4, 0, 0) >> 8, 0x078000);
	assert_int_equal(drv_features(&d) & 0xffffffu, 0);          /* no multiport */
	assert_int_equal(drv_bar(&d, 18, 2, 0, 0), 2);
	assert_int_equal(drv_bar(&d, VMM__VPCI_DEVICE, 4, 0, 0), 0); /* cols, rows */
	assert_int_equal(drv_bar(&d, VMM__VPCI_DEVICE + 4, 4, 0, 0), 0);
}

static void test_output(void **state)
{
	char buf[64] = "";

	write_out("hello, ", "virtio console\n");
	assert_int_equal(read(pipefd[0], buf, sizeof(buf)), 22);
	assert_string_equal(buf, "hello, virtio console\n");
	assert_int_equal(seen_len, 22);
	assert_memory_equal(seen, "hello, virtio console\n", 22);
	assert_int_equal(drv_bar(&d, VMM__VPCI_ISR, 1, 0, 0) & 1, 1);
}

static void post_in(uint64_t gpa, uint32_t len)
{
	int wr = 1;

	drv_post(&d, 0, 1, &gpa, &len, &wr);
	drv_kick(&d, 0);
}

static void test_input(void **state)
{
	static char big[5000];
	char got[16] = "";
	size_t taken = 0;

	assert_int_equal(vmm_virtio_console_input(d.vm, "typed text", 10, &taken), 0);
	assert_int_equal(taken, 10);
	assert_int_equal(drv_used_idx(&d, 0), 0);        /* no buffer yet: held */
	post_in(IN1, 4);
	assert_int_equal(drv_used_idx(&d, 0), 1);
	assert_int_equal(drv_used_len(&d, 0, 0, NULL), 4);
	vmm_mem_read(d.vm, IN1, got, 4);
	assert_memory_equal(got, "type", 4);
	post_in(IN2, 16);
	assert_int_equal(drv_used_len(&d, 0, 1, NULL), 6);
	vmm_mem_read(d.vm, IN2, got, 6);
	assert_memory_equal(got, "d text", 6);
	/* A buffer waiting when input comes is filled at once. */
	post_in(IN1, 8);
	assert_int_equal(vmm_virtio_console_input(d.vm, "xy", 2, NULL), 0);
	assert_int_equal(drv_used_len(&d, 0, 2, NULL), 2);
	/* Input beyond 4 KiB is refused, not lost silently. */
	memset(big, 'z', sizeof(big));
	assert_int_equal(vmm_virtio_console_input(d.vm, big, sizeof(big), &taken), 0);
	assert_int_equal(taken, 4096);
	assert_int_equal(vmm_virtio_console_input(d.vm, big, 1, &taken), 0);
	assert_int_equal(taken, 0);
}

static void test_errors(void **state)
{
	vmm_console_config c = VMM_CONSOLE_CONFIG_INIT;
	vmm_vm_config vc = VMM_VM_CONFIG_INIT;
	vmm_vm *other;

	assert_int_equal(vmm_virtio_console_add(d.vm, &c), VMM_EBUSY);   /* one per VM */
	c.flags = 1;
	assert_int_equal(vmm_virtio_console_add(d.vm, &c), VMM_EINVAL);
	assert_int_equal(vmm_virtio_console_add(d.vm, NULL), VMM_EINVAL);
	vc.backend = "emu";
	vc.mem_size = 1u << 20;
	assert_int_equal(vmm_vm_create(&vc, &other), 0);
	assert_int_equal(vmm_virtio_console_input(other, "x", 1, NULL), VMM_ENOENT);
	c.flags = 0;
	assert_int_equal(vmm_virtio_console_add(other, &c), VMM_ESTATE);  /* no PCI */
	vmm_vm_destroy(other);
	/* Hostile: output chains with writable parts or a loop. */
	{
		uint64_t gpa[2] = { OUT1, 0xfffff000ull };      /* second outside RAM */
		uint32_t len[2] = { 4, 64 };
		int wr[2] = { 0, 0 };

		drv_post(&d, 1, 2, gpa, len, wr);
		drv_kick(&d, 1);
		assert_int_equal(drv_status(&d) & 0x40, 0x40);  /* broken, no crash */
		assert_int_equal(seen_len, 0);
	}
}

static void test_random_rings(void **state)
{
	static uint8_t junk[0x2000];
	unsigned seed = 4242;

	for (int round = 0; round < 400; round++) {
		drv_start(&d, 0, 2);
		for (unsigned q = 0; q < 2; q++) {
			for (size_t i = 0; i < sizeof(junk); i++) {
				seed = seed * 1103515245u + 12345u;
				junk[i] = (uint8_t)(seed >> 16);
			}
			for (unsigned i = 0; i < QSIZE; i++) {
				junk[16 * i + 3] = junk[16 * i + 4] = junk[16 * i + 5] = 0;
				junk[16 * i + 6] = junk[16 * i + 7] = 0;
				junk[16 * i + 2] &= 0x0f;
				junk[16 * i + 10] = junk[16 * i + 11] = 0;
			}
			vmm_mem_write(d.vm, QBASE(q), junk, 0x1000);
			vmm_mem_write(d.vm, QAVAIL(q), junk + 0x1000, 0x1000);
		}
		vmm_virtio_console_input(d.vm, junk, 64, NULL);
		drv_kick(&d, 0);
		drv_kick(&d, 1);
	}
	/* Sane after it: output still works. */
	drv_start(&d, 0, 2);
	seen_len = 0;
	write_out("still ", "here");
	assert_int_equal(seen_len, 10);
	assert_memory_equal(seen, "still here", 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output, setup, teardown),
		cmocka_unit_test_setup_teardown(test_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_rings, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
