/* fuzz_virtio.c - libFuzzer targets for libvmm's virtio devices (make
 * fuzz): built once per device with -DFUZZ_DEV=rng|blk|net|console|vsock
 * into build/fuzz/fuzz_virtio_<dev>. Each input is a driver: a fresh VM
 * (emu, 256 KiB of RAM, the PC platform) with the device on PCI, a standard
 * setup (features and queue geometry from the input), then a program of
 * operations read from the input: descriptors (direct and indirect) with
 * device-specific headers, avail ring entries, flags and the event-index
 * fields, raw guest-memory writes, notifications, raw BAR 4 and
 * configuration-space accesses (the PCI_CFG window, MSI-X), MSI-X table
 * writes, resets mid-request, and the device's host side (console input,
 * vsock host sockets; net's second device on the pair is the receiver).
 * Everything goes through the real transport, the split-ring code and the
 * device, on the notify path and the device's completion path (its I/O
 * thread, waited for).
 *
 * Checks beyond ASan and UBSan: after every notification a device has
 * finished with, every guest byte it changed lies in a used ring or in a
 * buffer some device-writable descriptor in guest RAM describes (nothing
 * written outside a buffer); a broken queue has its device marked
 * DEVICE_NEEDS_RESET; libFuzzer's -timeout catches hangs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/platform/pci.h"
#include "lib/platform/platform.h"
#include "lib/virtio/virtio_pci.h"

#define DEV_RNG 1
#define DEV_BLK 2
#define DEV_NET 3
#define DEV_CONSOLE 4
#define DEV_VSOCK 5
#ifndef FUZZ_DEV
#error "build with -DFUZZ_DEV=DEV_RNG (or DEV_BLK, DEV_NET, DEV_CONSOLE, DEV_VSOCK)"
#endif

#define MEM (256u << 10)               /* guest RAM */
#define QBASE(dev, q) (0x8000u + ((dev) * 4u + (q)) * 0x4000u)
#define DATA 0x28000u                  /* buffers and indirect tables */
#define DATA_LEN 0x18000u
#define INDIRECT (DATA + DATA_LEN - 0x1000u)
#define MAX_DEVS 2
#define MAX_Q 3
#define IMG_SIZE (64u << 10)
#define HOST_FDS 4
#define GUARD (64u << 10)

typedef struct rd {
	const uint8_t *p;
	size_t n;
} rd;

static uint8_t u8(rd *r)
{
	if (!r->n)
		return 0;
	r->n--;
	return *r->p++;
}

static uint16_t u16(rd *r)
{
	return (uint16_t)(u8(r) | u8(r) << 8);
}

static uint32_t u32(rd *r)
{
	return u16(r) | (uint32_t)u16(r) << 16;
}

static uint64_t u64(rd *r)
{
	return u32(r) | (uint64_t)u32(r) << 32;
}

/* ---- the VM and its devices -------------------------------------------- */

static bool async;                     /* see begin_check() */
static vmm_vm *vm;
/* The accesses' vCPU: only its VM is used on the MMIO path; without a real
 * vCPU (emu's block cache would be most of each run) MSIs reach no APIC. */
static vmm_vcpu vcpu_ctx, *vcpu = &vcpu_ctx;
static uint8_t *ram;
static unsigned ndevs;
static vmm_virtio_dev *devs[MAX_DEVS];
static uint64_t bar4[MAX_DEVS], bar1[MAX_DEVS];
static uint16_t next_avail[MAX_DEVS][MAX_Q];
static uint8_t *snap;                  /* guest RAM before a notification */
static char dir[64], uds[96], guest_listen[112];
static int img_fd = -1, listen_fd = -1, host_fd[HOST_FDS] = { -1, -1, -1, -1 };

static unsigned nq(void)
{
	return FUZZ_DEV == DEV_NET || FUZZ_DEV == DEV_CONSOLE ? 2 :
	       FUZZ_DEV == DEV_VSOCK ? 3 : 1;
}

static uint64_t mmio(uint64_t addr, unsigned size, int write, uint64_t v)
{
	uint64_t d = v;

	if (vmm__bus_mmio(vcpu, addr, (uint8_t)size, (uint8_t)write, &d) != VMM__BUS_DONE)
		return ~0ull;
	return d;
}

static uint64_t cfg(unsigned dev, unsigned reg, unsigned size, int write, uint64_t v)
{
	return mmio(VMM__PCI_ECAM_BASE + ((dev + 1u) << 15) + reg, size, write, v);
}

static uint64_t bar(unsigned dev, uint64_t off, unsigned size, int write, uint64_t v)
{
	return mmio(bar4[dev] + off, size, write, v);
}

static int add_devices(rd *r)
{
	uint8_t mode = u8(r);

	switch (FUZZ_DEV) {
	case DEV_RNG:
		return vmm_virtio_rng_add(vm);
	case DEV_BLK: {
		vmm_blk_config c = VMM_BLK_CONFIG_INIT;
		char path[64];

		snprintf(path, sizeof(path), "/proc/self/fd/%d", img_fd);
		if (ftruncate(img_fd, 0) || ftruncate(img_fd, IMG_SIZE - (mode & 2 ? 512 : 0)))
			abort();
		c.path = path;
		c.flags = mode & 1 ? VMM_BLK_READONLY : 0;
		c.serial = mode & 4 ? "fuzz-disk-serial-012" : NULL;
		return vmm_virtio_blk_add(vm, &c);
	}
	case DEV_NET: {
		vmm_net_config c = VMM_NET_CONFIG_INIT;
		int rc;

		c.pair = "fuzz";
		c.flags = mode & 1 ? VMM_NET_NO_OFFLOAD : 0;
		c.mtu = mode & 2 ? 9000 : 0;
		if ((rc = vmm_virtio_net_add(vm, &c)))
			return rc;
		c.flags = mode & 4 ? VMM_NET_NO_OFFLOAD : 0;
		return vmm_virtio_net_add(vm, &c);
	}
	case DEV_CONSOLE: {
		vmm_console_config c = VMM_CONSOLE_CONFIG_INIT;

		return vmm_virtio_console_add(vm, &c);
	}
	default: {
		vmm_vsock_config c = VMM_VSOCK_CONFIG_INIT;

		c.guest_cid = 3;
		c.uds_path = uds;
		return vmm_virtio_vsock_add(vm, &c);
	}
	}
}

static void vm_open(rd *r)
{
	vmm_vm_config c = VMM_VM_CONFIG_INIT;

	c.backend = "emu";
	c.mem_size = 4096;
	c.flags = VMM_VM_IRQCHIP;
	memset(ram, 0, MEM);
	if (vmm_vm_create(&c, &vm) || vmm_mem_unmap(vm, 0, 4096) ||
	    vmm_mem_map(vm, 0, MEM, VMM_MEM_READ | VMM_MEM_WRITE, ram) || add_devices(r)) {
		fprintf(stderr, "fuzz_virtio: setup failed: %s\n", vmm_last_error());
		abort();
	}
	vcpu_ctx.vm = vm;
	ndevs = 0;
	for (vmm_virtio_dev *d = vm->platform->virtio; d; d = d->next)
		ndevs++;
	/* The list is newest first; slot 1 is the first added. */
	for (vmm_virtio_dev *d = vm->platform->virtio; d; d = d->next)
		devs[d->pci.slot - 1] = d;
	for (unsigned i = 0; i < ndevs; i++) {
		cfg(i, 0x04, 2, 1, 0x6);               /* memory decode, bus master */
		bar4[i] = (cfg(i, 0x20, 4, 0, 0) & ~0xfull) | cfg(i, 0x24, 4, 0, 0) << 32;
		bar1[i] = cfg(i, 0x14, 4, 0, 0) & ~0xfull;
	}
	memset(next_avail, 0, sizeof(next_avail));
	async = false;
}

static void vm_close(void)
{
	vmm_vm_destroy(vm);
	vm = NULL;
	for (unsigned i = 0; i < HOST_FDS; i++) {
		if (host_fd[i] >= 0)
			close(host_fd[i]);
		host_fd[i] = -1;
	}
}

/* ---- invariants ---------------------------------------------------------- */

/* The checks run after every step: no coverage feedback, no interceptors. */
#define QUIET __attribute__((no_sanitize("coverage", "address")))

typedef struct span {
	uint64_t lo, hi;
} span;

#define MAX_SPANS 4096
static span allowed[MAX_SPANS];
static unsigned nallowed;

QUIET static void allow(uint64_t lo, uint64_t len)
{
	if (nallowed < MAX_SPANS && lo < MEM)
		allowed[nallowed++] = (span){ lo, lo + len > MEM ? MEM : lo + len };
}

QUIET static bool is_allowed(uint64_t a)
{
	for (unsigned i = 0; i < nallowed; i++)
		if (a >= allowed[i].lo && a < allowed[i].hi)
			return true;
	return false;
}

/* Every span a device may write: used rings (with avail_event) of queues
 * that were set up, and the buffer of any device-writable descriptor at any
 * offset of guest RAM (direct tables, indirect tables, stale ones), before
 * or after the step (a device may overwrite a descriptor the guest placed
 * inside a buffer). */
QUIET static void collect_from(const uint8_t *m)
{
	for (uint64_t p = 0; p + 16 <= MEM && nallowed < MAX_SPANS; p++) {
		uint64_t addr;
		uint32_t len;

		if (!(m[p + 12] & VMM__VRING_DESC_F_WRITE))
			continue;
		memcpy(&addr, m + p, 8);
		memcpy(&len, m + p + 8, 4);
		if (len && addr < MEM)
			allow(addr, len);
	}
}

QUIET static void collect_allowed(void)
{
	nallowed = 0;
	for (unsigned i = 0; i < ndevs; i++)
		for (unsigned q = 0; q < nq(); q++) {
			const vmm__vq *vq = &devs[i]->q[q].vq;

			if (vq->used)
				allow(vq->used_gpa, 4 + 8ull * vq->size + 2);
		}
	collect_from(snap);
	collect_from(ram);
}

QUIET static void snapshot(void)
{
	const uint64_t *from = (const uint64_t *)ram;
	uint64_t *to = (uint64_t *)snap;

	for (unsigned i = 0; i < MEM / 8; i++)
		to[i] = from[i];
}

QUIET static void check_writes(const char *what)
{
	const uint64_t *now = (const uint64_t *)ram, *was = (const uint64_t *)snap;
	bool collected = false;

	for (uint64_t a = 0; a < MEM; a += 8) {
		if (now[a / 8] == was[a / 8])
			continue;
		for (uint64_t b = a; b < a + 8; b++) {
			if (ram[b] == snap[b])
				continue;
			if (!collected) {
				collect_allowed();
				collected = true;
			}
			if (!is_allowed(b)) {
				fprintf(stderr, "fuzz_virtio: after %s the device changed guest byte "
					"0x%llx (0x%02x -> 0x%02x) outside every used ring and "
					"writable buffer\n", what, (unsigned long long)b, snap[b],
					ram[b]);
				abort();
			}
		}
	}
}

static void check_broken(void)
{
	for (unsigned i = 0; i < ndevs; i++) {
		bool broken = false;
		uint8_t status;

		pthread_mutex_lock(&devs[i]->lock);
		for (unsigned q = 0; q < nq(); q++)
			broken |= devs[i]->q[q].vq.broken;
		status = devs[i]->status;
		pthread_mutex_unlock(&devs[i]->lock);
		if (broken && !(status & VMM__VIRTIO_NEEDS_RESET)) {
			fprintf(stderr, "fuzz_virtio: a queue of device %u is broken but its "
				"status 0x%02x lacks DEVICE_NEEDS_RESET\n", i, status);
			abort();
		}
	}
}

/* Waits for every device's I/O thread to finish what it was given. */
static void settle(void)
{
	for (unsigned i = 0; i < ndevs; i++)
		vmm__virtio_flush(devs[i]);
}

/* A notification not waited for: the device may still be reading
 * descriptors the input rewrites meanwhile (a race a guest may run too),
 * so that work is not checked; the next check starts once it is done. */
static void begin_check(void)
{
	if (async)
		settle();
	async = false;
	snapshot();
}

/* ---- the driver ------------------------------------------------------------ */

static uint64_t addr_of(rd *r)
{
	uint8_t m = u8(r);

	switch (m & 3) {
	case 0: return DATA + u16(r) % DATA_LEN;
	case 1: return u32(r) % MEM;
	case 2: return MEM - (u16(r) & 0x3ff);      /* across the end of RAM */
	default: return u64(r);
	}
}

static uint32_t len_of(rd *r)
{
	uint8_t m = u8(r);

	switch (m & 3) {
	case 0: return u8(r);
	case 1: return u16(r) % 0x2000;
	case 2: return u32(r);
	default: return (uint32_t[]){ 1, 12, 16, 44, 512, 4096, 0, 0x10000 }[(m >> 2) & 7];
	}
}

/* Reset, features, queues, DRIVER_OK: as Linux's virtio_pci_modern does,
 * with the input choosing what the driver asks for and where rings go. */
static void setup(rd *r, unsigned dev)
{
	uint8_t how = u8(r);
	uint64_t feat;

	bar(dev, 20, 1, 1, 0);
	bar(dev, 20, 1, 1, 1 | 2);
	bar(dev, 0, 4, 1, 0);
	feat = bar(dev, 4, 4, 0, 0);
	bar(dev, 0, 4, 1, 1);
	feat |= bar(dev, 4, 4, 0, 0) << 32;
	feat = how & 1 ? u64(r) : feat & u64(r);   /* a subset, or anything */
	if (how & 2)
		feat |= VMM__VIRTIO_F_VERSION_1;
	bar(dev, 8, 4, 1, 0);
	bar(dev, 12, 4, 1, (uint32_t)feat);
	bar(dev, 8, 4, 1, 1);
	bar(dev, 12, 4, 1, feat >> 32);
	bar(dev, 20, 1, 1, 1 | 2 | 8);
	for (unsigned q = 0; q < nq(); q++) {
		uint8_t g = u8(r);
		uint64_t desc = QBASE(dev, q), avail = desc + 0x1000, used = desc + 0x2000;

		if (g & 0x80) {                        /* rings anywhere */
			desc = addr_of(r);
			avail = addr_of(r);
			used = addr_of(r);
		} else if (g & 0x20) {                 /* rings ending at the end of RAM,
							  without the event fields */
			uint64_t n = 1u << (g & 15);

			if (g & 0x10)
				used = MEM - 4 - 8 * n;
			else
				avail = MEM - 4 - 2 * n;
		}
		memset(ram + QBASE(dev, q), 0, 0x4000);
		bar(dev, 22, 2, 1, q);
		bar(dev, 24, 2, 1, 1u << (g & 15));
		bar(dev, 26, 2, 1, g & 0x40 ? q + 1 : 0xffff);
		bar(dev, 32, 8, 1, desc);
		bar(dev, 40, 8, 1, avail);
		bar(dev, 48, 8, 1, used);
		bar(dev, 28, 2, 1, 1);
		next_avail[dev][q] = 0;
	}
	bar(dev, 16, 2, 1, how & 4 ? 0 : 0xffff);     /* config vector */
	if (how & 8) {                                 /* MSI-X on */
		for (unsigned v = 0; v <= nq(); v++) {
			mmio(bar1[dev] + 16 * v, 4, 1, 0xfee00000);
			mmio(bar1[dev] + 16 * v + 8, 4, 1, 0x40 + v);
			mmio(bar1[dev] + 16 * v + 12, 4, 1, how & 16);
		}
		for (unsigned at = (unsigned)cfg(dev, 0x34, 1, 0, 0); at && at < 256;
		     at = (unsigned)cfg(dev, at + 1, 1, 0, 0))
			if (cfg(dev, at, 1, 0, 0) == 0x11) {
				cfg(dev, at + 2, 2, 1, 0x8000);
				break;
			}
	}
	bar(dev, 20, 1, 1, 1 | 2 | 8 | 4);
	async = true;                                  /* DRIVER_OK kicked the queues */
}

static uint16_t qsize(unsigned dev, unsigned q)
{
	uint16_t s = devs[dev]->q[q].vq.size;

	return s ? s : 1;
}

static void put_desc(uint64_t at, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	if (at > MEM - 16)
		return;
	memcpy(ram + at, &addr, 8);
	memcpy(ram + at + 8, &len, 4);
	memcpy(ram + at + 12, &flags, 2);
	memcpy(ram + at + 14, &next, 2);
}

static void make_avail(unsigned dev, unsigned q, uint16_t head)
{
	const vmm__vq *vq = &devs[dev]->q[q].vq;
	uint16_t i = next_avail[dev][q]++;

	if (vq->avail_gpa > MEM || 4 + 2ull * qsize(dev, q) > MEM - vq->avail_gpa)
		return;
	memcpy(ram + vq->avail_gpa + 4 + 2 * (i % qsize(dev, q)), &head, 2);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(ram + vq->avail_gpa + 2, &next_avail[dev][q], 2);
}

/* A chain of 1-6 buffers, readable ones first (their contents, e.g. the
 * device's request header, from the input), direct or in an indirect table,
 * made available. */
static void chain(rd *r, unsigned dev, unsigned q)
{
	uint8_t how = u8(r), n = (uint8_t)(how % 6 + 1);
	bool indirect = how & 0x40;
	uint16_t head = u16(r) % qsize(dev, q);
	const vmm__vq *vq = &devs[dev]->q[q].vq;
	uint64_t table = indirect ? INDIRECT : vq->desc_gpa;

	for (unsigned k = 0; k < n; k++) {
		uint8_t f = u8(r);
		uint64_t buf = DATA + (uint64_t)(k + (how >> 3 & 7) * 6) * 0x1000;
		uint32_t len = f & 0x80 ? len_of(r) : (uint32_t)(f & 0x3f) * 16 + (f & 0x40 ? 1 : 0);
		uint16_t idx = (uint16_t)(indirect ? k : (head + k) % qsize(dev, q));
		uint16_t nidx = (uint16_t)(indirect ? k + 1 : (head + k + 1) % qsize(dev, q));
		bool write = k >= (how >> 3 & 7) % (n + 1);

		if (!write && len && buf < DATA + DATA_LEN) {
			uint32_t fill = u8(r);

			fill = fill > len ? len : fill;
			fill = fill > r->n ? (uint32_t)r->n : fill;
			memcpy(ram + buf, r->p, fill);
			r->p += fill, r->n -= fill;
		}
		put_desc(table + 16ull * idx, buf, len,
			 (uint16_t)((write ? VMM__VRING_DESC_F_WRITE : 0) |
				    (k + 1 < n ? VMM__VRING_DESC_F_NEXT : 0)), nidx);
	}
	if (indirect)
		put_desc(vq->desc_gpa + 16ull * head, INDIRECT, 16u * n,
			 VMM__VRING_DESC_F_INDIRECT, 0);
	make_avail(dev, q, head);
}

static void notify(unsigned dev, uint16_t q, bool wait, unsigned size)
{
	begin_check();
	bar(dev, VMM__VPCI_NOTIFY + 4ull * q, size, 1, q);
	async |= !wait;
	if (wait) {
		settle();
		check_writes("a notification");
	}
}

/* ---- the host side ----------------------------------------------------------- */

static void host_op(rd *r)
{
	uint8_t op = u8(r), k = u8(r) % HOST_FDS;
	uint8_t buf[512];
	size_t n;

	switch (FUZZ_DEV == DEV_VSOCK ? op % 6 : op % 1) {
	case 0:
		if (FUZZ_DEV == DEV_CONSOLE) {
			n = u16(r) % sizeof(buf);
			n = n > r->n ? r->n : n;
			begin_check();
			vmm_virtio_console_input(vm, r->p, n, NULL);
			r->p += n, r->n -= n;
			check_writes("console input");
		} else if (FUZZ_DEV == DEV_VSOCK && host_fd[k] < 0) {
			struct sockaddr_un a = { .sun_family = AF_UNIX };
			int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

			snprintf(a.sun_path, sizeof(a.sun_path), "%s", uds);
			if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
				n = (size_t)snprintf((char *)buf, sizeof(buf), "CONNECT %u\n",
						     u8(r) & 1 ? u32(r) : 1024u + u8(r) % 4);
				(void)!send(fd, buf, n, MSG_NOSIGNAL);
				host_fd[k] = fd;
			} else if (fd >= 0) {
				close(fd);
			}
		}
		break;
	case 1:                                   /* the host sends */
		n = u16(r) % sizeof(buf);
		n = n > r->n ? r->n : n;
		if (host_fd[k] >= 0)
			(void)!send(host_fd[k], r->p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		r->p += n, r->n -= n;
		break;
	case 2:                                   /* the host reads */
		if (host_fd[k] >= 0)
			while (recv(host_fd[k], buf, sizeof(buf), MSG_DONTWAIT) > 0)
				;
		break;
	case 3:
		if (host_fd[k] >= 0)
			shutdown(host_fd[k], u8(r) & 1 ? SHUT_WR : SHUT_RDWR);
		break;
	case 4:
		if (host_fd[k] >= 0)
			close(host_fd[k]);
		host_fd[k] = -1;
		break;
	default: {                                /* a guest connection arrives */
		int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0 && host_fd[k] < 0)
			host_fd[k] = fd;
		else if (fd >= 0)
			close(fd);
	}
	}
	if (FUZZ_DEV == DEV_VSOCK) {
		begin_check();
		settle();
		check_writes("a host socket event");
	}
}

/* ---- one input ------------------------------------------------------------------ */

enum {
	OP_CHAIN, OP_CHAIN2, OP_DESC, OP_AVAIL, OP_MEM, OP_NOTIFY, OP_NOTIFY2, OP_BAR,
	OP_CFG, OP_MSIX, OP_SETUP, OP_RESET, OP_HOST, OP_SETTLE, OP_FEATURES, OP_COUNT
};

static void run_op(rd *r)
{
	uint8_t op = u8(r) % OP_COUNT, dev = u8(r) % ndevs;
	uint16_t q = (uint16_t)(u8(r) % nq());
	static const char *names[] = { "chain", "chain+notify", "desc", "avail", "mem",
				       "notify", "notify-maybe-async", "bar", "cfg", "msix",
				       "setup", "reset", "host", "settle", "features" };

	if (getenv("FUZZ_VIRTIO_TRACE"))        /* what a crash input does */
		fprintf(stderr, "fuzz_virtio: %s dev %u queue %u (%zu bytes left)\n",
			names[op], dev, q, r->n);

	switch (op) {
	case OP_CHAIN: case OP_CHAIN2:
		chain(r, dev, q);
		if (op == OP_CHAIN2)
			notify(dev, q, true, 2);
		break;
	case OP_DESC: {
		uint8_t where = u8(r);
		uint64_t table = where & 1 ? INDIRECT : devs[dev]->q[q].vq.desc_gpa;
		uint16_t i = u16(r) % (where & 1 ? 256 : qsize(dev, q));
		uint64_t a = addr_of(r);
		uint32_t l = len_of(r);
		uint16_t f = u16(r), nx = u16(r);

		put_desc(table + 16ull * i, a, l, f, nx);
		break;
	}
	case OP_AVAIL: {
		const vmm__vq *vq = &devs[dev]->q[q].vq;
		uint8_t what = u8(r);
		uint16_t v = u16(r);
		uint64_t at = what & 1 ? vq->avail_gpa + 4 + 2ull * qsize(dev, q) :  /* used_event */
			      what & 2 ? vq->avail_gpa :                            /* flags */
			      what & 4 ? vq->avail_gpa + 2 :                        /* idx */
			      vq->avail_gpa + 4 + 2ull * (v % qsize(dev, q));       /* an entry */

		if (what & 4 && !(what & 3))
			next_avail[dev][q] = v;
		if (at <= MEM - 2)
			memcpy(ram + at, (uint16_t[]){ (uint16_t)(what & 8 ? v : u16(r)) }, 2);
		break;
	}
	case OP_MEM: {
		uint32_t at = u32(r) % MEM, n = u8(r) % 64;

		n = n > r->n ? (uint32_t)r->n : n;
		n = at + n > MEM ? MEM - at : n;
		memcpy(ram + at, r->p, n);
		r->p += n, r->n -= n;
		break;
	}
	case OP_NOTIFY: case OP_NOTIFY2: {
		uint8_t how = u8(r);

		notify(dev, how & 0x80 ? how & 0x3f : q, op == OP_NOTIFY || !(how & 0x40),
		       how & 1 ? 4 : 2);
		break;
	}
	case OP_BAR: {
		uint16_t off = u16(r) % VMM__VPCI_BAR_SIZE;
		uint8_t how = u8(r);

		begin_check();
		bar(dev, off, 1u << (how & 3), how & 4, u64(r));
		settle();
		check_writes("a BAR access");
		break;
	}
	case OP_CFG: {
		uint16_t reg = u16(r) % 0x1000;
		uint8_t how = u8(r);

		begin_check();
		cfg(dev, reg, 1u << (how % 3), how & 4, u32(r));
		settle();
		check_writes("a configuration space access");
		break;
	}
	case OP_MSIX: {
		uint16_t off = u16(r) % 0x1000;

		mmio(bar1[dev] + off, 4, u8(r) & 1, u32(r));
		break;
	}
	case OP_SETUP:
		setup(r, dev);
		break;
	case OP_RESET:
		bar(dev, 20, 1, 1, 0);               /* maybe with requests in flight */
		break;
	case OP_HOST:
		host_op(r);
		break;
	case OP_FEATURES: {                          /* new features, no reset */
		uint8_t s = u8(r);
		uint64_t f = u64(r);

		bar(dev, 20, 1, 1, s);                   /* e.g. FEATURES_OK cleared */
		bar(dev, 8, 4, 1, 0);
		bar(dev, 12, 4, 1, (uint32_t)f);
		bar(dev, 8, 4, 1, 1);
		bar(dev, 12, 4, 1, f >> 32);
		bar(dev, 20, 1, 1, 1 | 2 | 4 | 8);
		break;
	}
	default:
		settle();
		break;
	}
	check_broken();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	/* Guest RAM between guard pages: a device reaching past it faults. */
	uint8_t *area = mmap(NULL, MEM + 2 * GUARD, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			     -1, 0);

	if (area == MAP_FAILED || mprotect(area + GUARD, MEM, PROT_READ | PROT_WRITE))
		abort();
	ram = area + GUARD;
	snap = malloc(MEM);
	snprintf(dir, sizeof(dir), "/tmp/fuzz-virtio-%d", (int)getpid());
	if (!snap || mkdir(dir, 0700))
		abort();
	snprintf(uds, sizeof(uds), "%s/v.sock", dir);
	snprintf(guest_listen, sizeof(guest_listen), "%s_1024", uds);
	img_fd = memfd_create("fuzz-virtio-img", MFD_CLOEXEC);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", guest_listen);
	if (img_fd < 0 || listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(listen_fd, 64))
		abort();
	return 0;
}

/* The directory goes with the process (libFuzzer exits through exit()). */
__attribute__((destructor)) static void cleanup(void)
{
	if (dir[0]) {
		unlink(guest_listen);
		unlink(uds);
		rmdir(dir);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rd r = { data, size };

	vm_open(&r);
	for (unsigned i = 0; i < ndevs; i++)
		setup(&r, i);
	for (unsigned steps = 0; r.n && steps < 256; steps++)
		run_op(&r);
	begin_check();
	settle();
	check_writes("the last operation");
	check_broken();
	vm_close();
	return 0;
}
