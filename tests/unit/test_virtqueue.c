/* test_virtqueue.c - split virtqueues (lib/virtio/virtqueue.c) driven as a
 * driver would drive them, in real guest memory: direct and indirect
 * chains, used ring and event index, interrupt suppression, every hostile
 * ring layout the device must refuse, and random ring contents (fuzz). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/virtio/virtqueue.h"

#define QS 8
#define DESC 0x1000ull
#define AVAIL 0x2000ull
#define USED 0x3000ull
#define DATA 0x10000ull
#define RAM (1u << 20)

static vmm_vm *vm;
static vmm__vq vq;
static vmm__vq_elem el;
static uint16_t avail_idx;

static void put_desc(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	uint8_t d[16];

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
	assert_int_equal(vmm_mem_write(vm, table + 16 * i, d, 16), 0);
}

static void offer(uint16_t head)
{
	uint16_t slot = avail_idx % QS;

	vmm_mem_write(vm, AVAIL + 4 + 2 * slot, &head, 2);
	avail_idx++;
	vmm_mem_write(vm, AVAIL + 2, &avail_idx, 2);
}

static uint16_t rd16(uint64_t gpa) { uint16_t v = 0; vmm_mem_read(vm, gpa, &v, 2); return v; }
static uint32_t rd32(uint64_t gpa) { uint32_t v = 0; vmm_mem_read(vm, gpa, &v, 4); return v; }

static int setup(void **state)
{
	vmm_vm_config c = VMM_VM_CONFIG_INIT;

	c.backend = "emu";
	c.mem_size = RAM;
	assert_int_equal(vmm_vm_create(&c, &vm), 0);
	memset(&vq, 0, sizeof(vq));
	vq.vm = vm;
	vq.size = QS;
	vq.desc_gpa = DESC;
	vq.avail_gpa = AVAIL;
	vq.used_gpa = USED;
	vq.indirect = true;
	avail_idx = 0;
	return 0;
}

static int teardown(void **state)
{
	vmm_vm_destroy(vm);
	return 0;
}

static void test_chain_and_used(void **state)
{
	char out[16] = "", reply[] = "pong";

	assert_int_equal(vmm__vq_enable(&vq), 0);
	assert_int_equal(vmm__vq_pop(&vq, &el), 0);             /* empty */
	vmm_mem_write(vm, DATA, "ping-", 5);
	vmm_mem_write(vm, DATA + 0x100, "pong?", 5);
	put_desc(DESC, 3, DATA, 5, VMM__VRING_DESC_F_NEXT, 5);
	put_desc(DESC, 5, DATA + 0x100, 5, VMM__VRING_DESC_F_NEXT, 1);
	put_desc(DESC, 1, DATA + 0x200, 64, VMM__VRING_DESC_F_WRITE, 0);
	offer(3);
	assert_int_equal(vmm__vq_pop(&vq, &el), 1);
	assert_int_equal(el.head, 3);
	assert_int_equal(el.nout, 2);
	assert_int_equal(el.nin, 1);
	assert_int_equal(el.out_len, 10);
	assert_int_equal(el.in_len, 64);
	assert_int_equal(vmm__vq_read(&el, 3, out, sizeof(out)), 7);
	assert_memory_equal(out, "g-pong?", 7);
	assert_int_equal(vmm__vq_write(&el, 0, reply, 4), 4);
	vmm__vq_push(&vq, el.head, 4);
	assert_int_equal(rd16(USED + 2), 1);
	assert_int_equal(rd32(USED + 4), 3);
	assert_int_equal(rd32(USED + 8), 4);
	assert_int_equal(rd32(DATA + 0x200), 0x676e6f70);        /* "pong" */
	assert_true(vmm__vq_need_interrupt(&vq));
	/* VRING_AVAIL_F_NO_INTERRUPT suppresses it. */
	{
		uint16_t f = 1;

		vmm_mem_write(vm, AVAIL, &f, 2);
	}
	vmm__vq_push(&vq, 3, 0);
	assert_false(vmm__vq_need_interrupt(&vq));
	assert_int_equal(vmm__vq_pop(&vq, &el), 0);
}

static void test_indirect(void **state)
{
	assert_int_equal(vmm__vq_enable(&vq), 0);
	put_desc(DATA + 0x1000, 0, DATA, 4, VMM__VRING_DESC_F_NEXT, 2);
	put_desc(DATA + 0x1000, 2, DATA + 8, 12, VMM__VRING_DESC_F_WRITE, 0);
	put_desc(DESC, 0, DATA + 0x1000, 3 * 16, VMM__VRING_DESC_F_INDIRECT, 0);
	offer(0);
	assert_int_equal(vmm__vq_pop(&vq, &el), 1);
	assert_int_equal(el.nout, 1);
	assert_int_equal(el.nin, 1);
	assert_int_equal(el.in_len, 12);
	/* Not negotiated: refused. */
	vq.indirect = false;
	offer(0);
	assert_int_equal(vmm__vq_pop(&vq, &el), VMM_EINVAL);
	assert_true(vq.broken);
	assert_non_null(strstr(vq.why, "INDIRECT_DESC"));
	assert_int_equal(vmm__vq_pop(&vq, &el), VMM_EINVAL);     /* stays broken */
}

/* Event index: the device publishes avail_event; interrupts only when the
 * used index passes the driver's used_event. */
static void test_event_idx(void **state)
{
	uint16_t used_event = 1;

	vq.event_idx = true;
	assert_int_equal(vmm__vq_enable(&vq), 0);
	vmm_mem_write(vm, AVAIL + 4 + 2 * QS, &used_event, 2);
	for (int i = 0; i < 3; i++) {
		put_desc(DESC, (unsigned)i, DATA, 4, 0, 0);
		offer((uint16_t)i);
	}
	for (int i = 0; i < 3; i++)
		assert_int_equal(vmm__vq_pop(&vq, &el), 1);
	assert_int_equal(rd16(USED + 4 + 8 * QS), 3);           /* avail_event */
	vmm__vq_push(&vq, 0, 0);
	assert_true(vmm__vq_need_interrupt(&vq));               /* first: always */
	vmm__vq_push(&vq, 1, 0);                                 /* used 1 -> 2: passes 1 */
	assert_true(vmm__vq_need_interrupt(&vq));
	vmm__vq_push(&vq, 2, 0);                                 /* 2 -> 3: not asked */
	assert_false(vmm__vq_need_interrupt(&vq));
}

static void expect_broken(const char *why)
{
	assert_int_equal(vmm__vq_pop(&vq, &el), VMM_EINVAL);
	if (!strstr(vq.why, why))
		fail_msg("broken for '%s', expected '%s'", vq.why, why);
	vq.broken = false;
	vq.why[0] = 0;
	vq.last_avail = avail_idx;
}

static void test_hostile(void **state)
{
	assert_int_equal(vmm__vq_enable(&vq), 0);
	put_desc(DESC, 0, DATA, 4, VMM__VRING_DESC_F_NEXT, 1);
	put_desc(DESC, 1, DATA, 4, VMM__VRING_DESC_F_NEXT, 0);   /* 0 -> 1 -> 0 */
	offer(0);
	expect_broken("loops");
	offer(9);
	expect_broken("past the queue");
	put_desc(DESC, 2, RAM - 2, 4, 0, 0);                      /* ends past RAM */
	offer(2);
	expect_broken("not in guest RAM");
	put_desc(DESC, 3, DATA, 4, VMM__VRING_DESC_F_WRITE | VMM__VRING_DESC_F_NEXT, 4);
	put_desc(DESC, 4, DATA, 4, 0, 0);
	offer(3);
	expect_broken("readable descriptor follows");
	put_desc(DESC, 5, DATA, 0xffffffff, VMM__VRING_DESC_F_NEXT, 6);
	put_desc(DESC, 6, DATA, 0xffffffff, 0, 0);
	offer(5);
	expect_broken("not in guest RAM");
	put_desc(DATA + 0x2000, 0, DATA + 0x2000, 16, VMM__VRING_DESC_F_INDIRECT, 0);
	put_desc(DESC, 7, DATA + 0x2000, 16, VMM__VRING_DESC_F_INDIRECT, 0);
	offer(7);
	expect_broken("inside an indirect table");
	put_desc(DESC, 7, DATA + 0x2000, 17, VMM__VRING_DESC_F_INDIRECT, 0);
	offer(7);
	expect_broken("indirect table of 17 bytes");
	put_desc(DESC, 7, DATA, 16, VMM__VRING_DESC_F_INDIRECT | VMM__VRING_DESC_F_NEXT, 0);
	offer(7);
	expect_broken("chained to others");
	/* The available index jumping past the queue size. */
	avail_idx = (uint16_t)(avail_idx + 100);
	vmm_mem_write(vm, AVAIL + 2, &avail_idx, 2);
	vq.last_avail = (uint16_t)(avail_idx - 100);
	assert_int_equal(vmm__vq_pop(&vq, &el), VMM_EINVAL);
	assert_non_null(strstr(vq.why, "moved by 100"));
	/* Bad ring placement at enable. */
	vq.broken = false;
	vq.used_gpa = RAM - 8;
	assert_int_equal(vmm__vq_enable(&vq), VMM_EINVAL);
	assert_non_null(strstr(vq.why, "outside guest RAM"));
	vq.broken = false;
	vq.used_gpa = USED;
	vq.size = 6;
	assert_int_equal(vmm__vq_enable(&vq), VMM_EINVAL);
	vq.broken = false;
	vq.size = QS;
	vq.desc_gpa = DESC + 8;
	assert_int_equal(vmm__vq_enable(&vq), VMM_EINVAL);
	assert_non_null(strstr(vq.why, "misaligned"));
}

/* Random descriptor tables and avail rings: every pop either succeeds with
 * buffers inside RAM or breaks the queue; never a crash (run under ASan). */
static void test_random_rings(void **state)
{
	static uint8_t junk[0x4000];
	unsigned seed = 12345;

	for (int round = 0; round < 3000; round++) {
		for (size_t i = 0; i < sizeof(junk); i++) {
			seed = seed * 1103515245u + 12345u;
			junk[i] = (uint8_t)(seed >> 16);
		}
		/* Keep some addresses in RAM so chains get walked. */
		for (int i = 0; i < QS * 2; i++)
			junk[16 * i + 3] = junk[16 * i + 4] = junk[16 * i + 5] =
			junk[16 * i + 6] = junk[16 * i + 7] = 0, junk[16 * i + 2] &= 0x0f;
		vmm_mem_write(vm, DESC, junk, 0x1000);
		vmm_mem_write(vm, AVAIL, junk + 0x1000, 0x1000);
		vmm_mem_write(vm, DATA + 0x1000, junk, 0x1000);
		memset(&vq, 0, sizeof(vq));
		vq.vm = vm;
		vq.size = QS;
		vq.desc_gpa = DESC;
		vq.avail_gpa = AVAIL;
		vq.used_gpa = USED;
		vq.indirect = round & 1;
		vq.event_idx = round & 2;
		assert_int_equal(vmm__vq_enable(&vq), 0);
		for (int k = 0; k < 4; k++) {
			int rc = vmm__vq_pop(&vq, &el);

			if (rc != 1)
				break;
			for (unsigned b = 0; b < el.nout; b++)
				assert_true(el.out[b].len == 0 ||
					    vmm__gpa_to_hva(vm, 0, RAM) <= (void *)el.out[b].hva);
			vmm__vq_push(&vq, el.head, (uint32_t)el.in_len);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_chain_and_used, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_idx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_rings, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
