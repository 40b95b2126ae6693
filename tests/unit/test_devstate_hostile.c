/* test_devstate_hostile.c - hostile device state streams (lib/platform/
 * state.h) against a VM with every device: every truncation, bad magic and
 * format, unknown, missing and duplicate records, huge lengths and counts,
 * versions from the future, left-over bytes, values a device must reject
 * (each error names the record and the field), and thousands of random
 * corruptions. A rejected stream leaves the VM exactly as it was; an
 * accepted corruption leaves a VM that still saves and runs its devices.
 * Meant to run under ASan as well (make SAN=1 B=build-san). */
#include "tests/unit/devstate_fixture.h"
#include "tests/unit/test_kvm_util.h"

#define FLAGS (VMM_VM_IRQCHIP | VMM_VM_FW_CFG | VMM_VM_NO_DEBUG_EXIT)

static ds_vm src, dst;
static vmm__sw good;

static int setup(void **state)
{
	vmm_vcpu *c;

	ds_image_create();
	ds_create(&src, "emu", FLAGS, 1, 2);
	ds_create(&dst, "emu", FLAGS, 1, 2);
	/* State that is not the power-on one: PIC, timers, an enabled queue. */
	c = src.cpu[0];
	pio(c, 0x20, 1, 1, 0x11);
	pio(c, 0x21, 1, 1, 0x30);
	pio(c, 0x43, 1, 1, 0x74);
	pio(c, 0x41, 1, 1, 0x00);
	pio(c, 0x41, 1, 1, 0x80);
	mmio(c, 0xfee000f0ull, 4, 1, 0x1ff);
	mmio(c, 0xfee00320ull, 4, 1, 0x20040);       /* periodic, vector 0x40 */
	mmio(c, 0xfee00380ull, 4, 1, 10000000);      /* 10 ms */
	program_virtio(&src);
	ds_copy_cpu_and_ram(&src, &dst, DS_MEM, 2);
	ds_save(src.vm, &good);
	return 0;
}

static int teardown(void **state)
{
	vmm__sw_free(&good);
	ds_destroy(&src);
	ds_destroy(&dst);
	ds_image_remove();
	return 0;
}

/* dst must be as it was: its stream equals the one saved before. */
static void load_fails(const void *buf, size_t len, const char *want1, const char *want2)
{
	vmm__sw before, after;

	ds_save(dst.vm, &before);
	assert_int_equal(vmm__vm_state_load(dst.vm, buf, len), VMM_EINVAL);
	if (want1 && !strstr(vmm_last_error(), want1))
		fail_msg("error '%s' does not name '%s'", vmm_last_error(), want1);
	if (want2 && !strstr(vmm_last_error(), want2))
		fail_msg("error '%s' does not name '%s'", vmm_last_error(), want2);
	ds_save(dst.vm, &after);
	ds_compare(&before, &after);
	vmm__sw_free(&before);
	vmm__sw_free(&after);
}

/* ---- A stream split into records and put back together -------------------- */

typedef struct record {
	char name[40];
	uint32_t version;
	size_t off, len;            /* payload within good.data */
} record;

static record recs[128];
static size_t nrecs;

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void split(void)
{
	size_t pos = 16;

	nrecs = le32(good.data + 12);
	assert_true(nrecs <= 128);
	for (size_t i = 0; i < nrecs; i++) {
		uint8_t n = good.data[pos];

		memcpy(recs[i].name, good.data + pos + 1, n);
		recs[i].name[n] = 0;
		recs[i].version = le32(good.data + pos + 1 + n);
		recs[i].len = le32(good.data + pos + 5 + n);
		recs[i].off = pos + 9 + n;
		pos = recs[i].off + recs[i].len;
	}
	assert_int_equal(pos, good.len);
}

static size_t find(const char *name)
{
	for (size_t i = 0; i < nrecs; i++)
		if (!strcmp(recs[i].name, name))
			return i;
	fail_msg("no record %s", name);
	return 0;
}

static void w32(vmm__sw *w, uint32_t v)
{
	vmm__sw_u32(w, v);
}

/* The stream with record skip left out (SIZE_MAX: none), record dup twice,
 * and record edit's payload replaced by (p, n). */
static void rebuild(vmm__sw *w, size_t skip, size_t dup, size_t edit, const void *p, size_t n)
{
	uint32_t count = (uint32_t)nrecs - (skip != SIZE_MAX) + (dup != SIZE_MAX);

	memset(w, 0, sizeof(*w));
	vmm__sw_bytes(w, good.data, 12);
	w32(w, count);
	for (size_t i = 0; i < nrecs; i++) {
		for (int k = 0; k < (i == dup ? 2 : 1) && i != skip; k++) {
			const void *pl = i == edit ? p : good.data + recs[i].off;
			size_t len = i == edit ? n : recs[i].len;

			vmm__sw_u8(w, (uint8_t)strlen(recs[i].name));
			vmm__sw_bytes(w, recs[i].name, strlen(recs[i].name));
			w32(w, recs[i].version);
			w32(w, (uint32_t)len);
			vmm__sw_bytes(w, pl, len);
		}
	}
}

/* ---- Tests ------------------------------------------------------------------ */

static void test_good_stream_loads(void **state)
{
	(void)state;
	ds_load(dst.vm, &good);
}

static void test_every_truncation(void **state)
{
	(void)state;
	for (size_t len = 0; len < good.len; len++)
		assert_int_equal(vmm__vm_state_load(dst.vm, good.data, len), VMM_EINVAL);
	load_fails(good.data, good.len / 2, "state load", NULL);
	load_fails(NULL, 0, "not a device state stream", NULL);
}

static void test_header(void **state)
{
	uint8_t *p = malloc(good.len + 1);

	(void)state;
	memcpy(p, good.data, good.len);
	p[0] ^= 1;
	load_fails(p, good.len, "bad magic", NULL);
	p[0] ^= 1;
	p[8] = 2;                                    /* format 2 */
	load_fails(p, good.len, "format 2", NULL);
	p[8] = 1;
	p[good.len] = 0;
	load_fails(p, good.len + 1, "after the last record", NULL);
	memset(p + 12, 0xff, 4);                     /* 4 billion records */
	load_fails(p, good.len, "state load", NULL);
	free(p);
}

static void test_records(void **state)
{
	vmm__sw w;
	size_t pic, uart;

	(void)state;
	split();
	pic = find("pic");
	uart = find("uart");
	rebuild(&w, pic, SIZE_MAX, SIZE_MAX, NULL, 0);
	load_fails(w.data, w.len, "no record for 'pic'", NULL);
	vmm__sw_free(&w);
	rebuild(&w, SIZE_MAX, uart, SIZE_MAX, NULL, 0);
	load_fails(w.data, w.len, "'uart' appears twice", NULL);
	vmm__sw_free(&w);
	rebuild(&w, SIZE_MAX, SIZE_MAX, SIZE_MAX, NULL, 0);
	w.data[recs[pic].off - 8 - 3 + 2] = 'x';     /* "pix": no such device */
	load_fails(w.data, w.len, "'pix' names no device", NULL);
	vmm__sw_free(&w);
	rebuild(&w, SIZE_MAX, SIZE_MAX, SIZE_MAX, NULL, 0);
	memset(w.data + recs[pic].off - 4, 0xff, 4); /* length 4 GiB */
	load_fails(w.data, w.len, "claims 4294967295 bytes", NULL);
	vmm__sw_free(&w);
	rebuild(&w, SIZE_MAX, SIZE_MAX, pic, good.data + recs[pic].off, recs[pic].len - 1);
	load_fails(w.data, w.len, "'pic'", "truncated");
	vmm__sw_free(&w);
	rebuild(&w, SIZE_MAX, SIZE_MAX, SIZE_MAX, NULL, 0);
	w.data[recs[pic].off - 8] = 99;              /* version 99 */
	load_fails(w.data, w.len, "version 99", "'pic'");
	w.data[recs[pic].off - 8] = 0;
	load_fails(w.data, w.len, "version 0", NULL);
	vmm__sw_free(&w);
	{
		uint8_t more[64] = { 0 };

		memcpy(more, good.data + recs[pic].off, recs[pic].len);
		rebuild(&w, SIZE_MAX, SIZE_MAX, pic, more, recs[pic].len + 1);
		load_fails(w.data, w.len, "'pic'", "left over");
		vmm__sw_free(&w);
	}
}

/* A record of a VM with other devices. */
static void test_other_configuration(void **state)
{
	ds_vm small;

	(void)state;
	ds_create(&small, "emu", VMM_VM_IRQCHIP, 0, 1);
	assert_int_equal(vmm__vm_state_load(small.vm, good.data, good.len), VMM_EINVAL);
	assert_non_null(strstr(vmm_last_error(), "names no device"));
	ds_destroy(&small);
}

/* One field of one record set to v (width bytes at off): rejected, naming
 * the record and the field. */
static void bad_field(const char *rec, size_t off, unsigned width, uint64_t v, const char *field)
{
	size_t i = find(rec);
	uint8_t *p = malloc(recs[i].len);
	vmm__sw w;

	memcpy(p, good.data + recs[i].off, recs[i].len);
	for (unsigned k = 0; k < width; k++)
		p[off + k] = (uint8_t)(v >> (8 * k));
	rebuild(&w, SIZE_MAX, SIZE_MAX, i, p, recs[i].len);
	load_fails(w.data, w.len, rec, field);
	vmm__sw_free(&w);
	free(p);
}

static void test_values_checked(void **state)
{
	(void)state;
	split();
	bad_field("pic", 6, 1, 9, "priority_add");
	bad_field("pic", 5, 1, 0x21, "vector_base");
	bad_field("pic", 4, 1, 0x01, "elcr");              /* IRQ 0 is edge-only */
	bad_field("ioapic", 4, 4, 0x10, "id");
	bad_field("ioapic", 12, 8, 1ull << 40, "redir");
	bad_field("lapic.0", 0, 8, 0xfee00000ull | (1ull << 10), "base");   /* x2 w/o EN */
	bad_field("lapic.1", 8 + 4 * 2, 4, 0x1000, "ldr");
	bad_field("pit", 0, 1, 6, "mode");
	bad_field("pit", 6, 4, 70000, "count");
	bad_field("rtc", 0x0a, 1, 0xa6, "UIP");
	bad_field("rtc", 128 + 16, 1, 0x80, "index");
	bad_field("uart", 0, 1, 0x1f, "ier");
	bad_field("uart", 10, 4, 5000, "rx_count");
	bad_field("acpi-pm", 4, 2, 0x2000, "SLP_EN");
	bad_field("pci.0:01.0", 0, 1, 0x00, "cfg[0x00]");  /* another vendor */
	bad_field("pci.0:01.0", 256, 1, 2, "intx_level");
	bad_field("pci.0:01.0", 257, 2, 7, "msix_vectors");
	bad_field("virtio-rng.0", 0, 2, 9, "num_queues");
	bad_field("virtio-rng.0", 30, 1, 0x30, "status");
	bad_field("virtio-rng.0", 34, 2, 3, "queue size");
	bad_field("virtio-rng.0", 36, 2, 77, "queue msix");
	bad_field("virtio-rng.0", 38, 2, 2, "queue enable");
	bad_field("virtio-rng.0", 40, 8, 0xfff00000000ull, "rings do not map");
	bad_field("virtio-rng.0", 48, 8, AVAIL + 1, "misaligned");
	bad_field("virtio-rng.0", 64, 1, 0, "differs from enable");
	bad_field("virtio-blk.0", 74, 4, 9, "device version");
	bad_field("virtio-blk.0", 82, 8, 12345, "sectors");
	bad_field("virtio-console.0", 122, 4, 9999, "input length");
}

/* Random corruptions: flipped bits, random bytes, random lengths. Most are
 * rejected; the VM survives the others and still saves. */
static void test_random_corruption(void **state)
{
	uint8_t *p = malloc(good.len);
	unsigned accepted = 0, rejected = 0;
	unsigned runs = getenv("DEVSTATE_RUNS") ? (unsigned)atoi(getenv("DEVSTATE_RUNS")) : 3000;

	(void)state;
	srand(20261202);
	for (unsigned i = 0; i < runs; i++) {
		unsigned n = 1 + (unsigned)rand() % 4;
		vmm__sw w;

		memcpy(p, good.data, good.len);
		for (unsigned k = 0; k < n; k++) {
			size_t at = (size_t)rand() % good.len;

			if (rand() % 2)
				p[at] ^= (uint8_t)(1u << (rand() % 8));
			else
				p[at] = (uint8_t)rand();
		}
		if (vmm__vm_state_load(dst.vm, p, good.len) == 0) {
			accepted++;
			ds_save(dst.vm, &w);
			vmm__sw_free(&w);
		} else {
			rejected++;
		}
	}
	print_message("# %u corrupted streams: %u rejected, %u accepted\n", runs, rejected,
		      accepted);
	assert_true(rejected > runs / 4);
	ds_load(dst.vm, &good);                      /* and a good one still loads */
	free(p);
}

/* kvm: the in-kernel chips' records are checked before any KVM_SET_*:
 * truncations and bad values are refused, the chips unchanged. (No random
 * corruption here: that would fuzz the host kernel.) */
static void test_kvm_records(void **state)
{
	uint32_t flags = VMM_VM_IRQCHIP | VMM_VM_NO_UART | VMM_VM_NO_DEBUG_EXIT;
	ds_vm k;
	vmm__sw s, before, after;
	size_t pic_at = 0;

	(void)state;
	kt_require_kvm();
	ds_create(&k, "kvm", flags, 0, 1);
	ds_save(k.vm, &s);
	for (size_t len = 0; len < s.len; len++)
		assert_int_equal(vmm__vm_state_load(k.vm, s.data, len), VMM_EINVAL);
	for (size_t i = 16; i + 8 < s.len; i++)
		if (!memcmp(s.data + i, "\x07kvm-pic", 8)) {
			pic_at = i + 8 + 8;      /* name, version, length */
			break;
		}
	assert_true(pic_at);
	ds_save(k.vm, &before);
	s.data[pic_at + 4] = 9;                      /* priority_add */
	assert_int_equal(vmm__vm_state_load(k.vm, s.data, s.len), VMM_EINVAL);
	assert_non_null(strstr(vmm_last_error(), "'kvm-pic'"));
	s.data[pic_at + 4] = 0;
	s.data[pic_at + 15] = 0x07;                  /* elcr_mask */
	assert_int_equal(vmm__vm_state_load(k.vm, s.data, s.len), VMM_EINVAL);
	assert_non_null(strstr(vmm_last_error(), "elcr"));
	ds_save(k.vm, &after);
	ds_compare(&before, &after);
	vmm__sw_free(&s);
	vmm__sw_free(&before);
	vmm__sw_free(&after);
	ds_destroy(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_stream_loads),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_other_configuration),
		cmocka_unit_test(test_values_checked),
		cmocka_unit_test(test_random_corruption),
		cmocka_unit_test(test_kvm_records),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
