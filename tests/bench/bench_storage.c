/* bench_storage.c - `make bench-storage`'s host side (tests/bench/
 * run-bench-storage): the storage API (vmm/storage.h) without a guest.
 *   io PATH-KIND TARGET[,TARGET2] SECONDS  4 KiB random read and write
 *       IOPS, 4 KiB sequential read/write IOPS and 1 MiB sequential MiB/s,
 *       32 requests in flight, over the first 256 MiB; two targets are two
 *       paths with round robin (switching every 16 requests)
 *   failover SOCK0 SOCK1 PID0 reset|hang  two NBD paths (fixed PSP, path 0
 *       preferred) under 4 KiB random reads; at t0 nbdkit PID0 is killed
 *       (reset) or stopped (hang, timeout_ms 1000): the time from t0 to the
 *       first request completed on path 1
 * Output: one "name value unit" line per figure. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vmm.h"

#define QD 32u
#define REGION (256ull << 20)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

typedef struct load {
	vmm_storage_dev *dev;
	uint32_t op, len;
	bool random, stop;
	uint64_t seq, done, failed, deadline;
	uint64_t rng;                 /* xorshift state for random offsets */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint32_t inflight;
	vmm_storage_req req[QD];
	uint8_t *buf[QD];
	/* failover */
	uint64_t t0, first_on1;
} load;

static uint64_t next_offset(load *l)
{
	uint64_t blocks = REGION / l->len;

	if (!l->random)
		return (l->seq++ % blocks) * l->len;
	l->rng ^= l->rng << 13;
	l->rng ^= l->rng >> 7;
	l->rng ^= l->rng << 17;
	return (l->rng % blocks) * l->len;
}

static void submit(load *l, vmm_storage_req *r);

static void done(vmm_storage_req *r)
{
	load *l = r->opaque;
	uint64_t t = now_ns();
	bool again;

	pthread_mutex_lock(&l->lock);
	l->done++;
	l->failed += r->result != 0;
	if (l->t0 && !l->first_on1 && r->path == 1 && t > l->t0)
		l->first_on1 = t;
	again = !l->stop && t < l->deadline;
	if (!again && --l->inflight == 0)
		pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	if (again)
		submit(l, r);
}

static void submit(load *l, vmm_storage_req *r)
{
	uint32_t i = (uint32_t)(r - l->req);

	pthread_mutex_lock(&l->lock);
	r->offset = next_offset(l);
	pthread_mutex_unlock(&l->lock);
	*r = (vmm_storage_req){ .size = sizeof(*r), .op = l->op, .offset = r->offset,
				.length = l->len, .buf = l->buf[i], .done = done, .opaque = l };
	if (vmm_storage_submit(l->dev, r) != 0) {
		fprintf(stderr, "bench_storage: submit: %s\n", vmm_last_error());
		exit(1);
	}
}

/* Runs op for seconds with QD requests in flight; completions per second. */
static double run(load *l, uint32_t op, uint32_t len, bool random, double seconds)
{
	uint64_t start = now_ns();

	l->op = op;
	l->len = len;
	l->random = random;
	l->done = l->failed = l->seq = 0;
	l->stop = false;
	l->rng = 0x9e3779b97f4a7c15ull;
	l->deadline = start + (uint64_t)(seconds * 1e9);
	l->inflight = QD;
	for (uint32_t i = 0; i < QD; i++)
		submit(l, &l->req[i]);
	pthread_mutex_lock(&l->lock);
	while (l->inflight)
		pthread_cond_wait(&l->cond, &l->lock);
	pthread_mutex_unlock(&l->lock);
	if (l->failed) {
		fprintf(stderr, "bench_storage: %llu requests failed\n", (unsigned long long)l->failed);
		exit(1);
	}
	return (double)l->done / ((double)(now_ns() - start) / 1e9);
}

static vmm_storage_dev *open_dev(uint32_t kind, char *targets, const char *psp, uint32_t timeout,
				 uint32_t rr)
{
	vmm_storage_config c = VMM_STORAGE_CONFIG_INIT;
	vmm_storage_dev *dev;
	char *save, *t;

	c.psp = psp;
	c.rr_requests = rr;
	c.timeout_ms = timeout;
	c.probe_ms = 100000;
	if (vmm_storage_create(&c, &dev) != 0)
		goto fail;
	for (t = strtok_r(targets, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		vmm_storage_path_config pc = VMM_STORAGE_PATH_CONFIG_INIT;

		pc.kind = kind;
		pc.target = t;
		pc.queue_depth = QD;
		if (vmm_storage_add_path(dev, &pc, NULL) != 0)
			goto fail;
	}
	return dev;
fail:
	fprintf(stderr, "bench_storage: %s\n", vmm_last_error());
	exit(1);
}

static void init_load(load *l, vmm_storage_dev *dev)
{
	memset(l, 0, sizeof(*l));
	l->dev = dev;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	for (uint32_t i = 0; i < QD; i++) {
		l->buf[i] = aligned_alloc(4096, 1u << 20);
		memset(l->buf[i], (int)i + 1, 1u << 20);
	}
}

static uint32_t kind_of(const char *k)
{
	return !strcmp(k, "qcow2") ? VMM_STORAGE_PATH_QCOW2 : !strcmp(k, "nbd") ?
	       VMM_STORAGE_PATH_NBD : VMM_STORAGE_PATH_FILE;
}

static int cmd_io(char **argv)
{
	static load l;
	double secs = atof(argv[4]);
	vmm_storage_dev *dev = open_dev(kind_of(argv[2]), argv[3], "rr", 30000, 16);

	init_load(&l, dev);
	printf("randread-4k %.0f IOPS\n", run(&l, VMM_STORAGE_OP_READ, 4096, true, secs));
	printf("randwrite-4k %.0f IOPS\n", run(&l, VMM_STORAGE_OP_WRITE, 4096, true, secs));
	printf("seqread-4k %.0f IOPS\n", run(&l, VMM_STORAGE_OP_READ, 4096, false, secs));
	printf("seqwrite-4k %.0f IOPS\n", run(&l, VMM_STORAGE_OP_WRITE, 4096, false, secs));
	printf("seqread-1m %.1f MiB/s\n", run(&l, VMM_STORAGE_OP_READ, 1u << 20, false, secs));
	printf("seqwrite-1m %.1f MiB/s\n", run(&l, VMM_STORAGE_OP_WRITE, 1u << 20, false, secs));
	vmm_storage_destroy(dev);
	return 0;
}

static int cmd_failover(char **argv)
{
	static load l;
	char uris[400];
	bool hang = !strcmp(argv[5], "hang");
	vmm_storage_dev *dev;
	pid_t pid = (pid_t)atoi(argv[4]);

	snprintf(uris, sizeof(uris), "nbd+unix:///?socket=%s,nbd+unix:///?socket=%s", argv[2],
		 argv[3]);
	dev = open_dev(VMM_STORAGE_PATH_NBD, uris, "fixed", hang ? 1000 : 30000, 16);
	init_load(&l, dev);
	l.op = VMM_STORAGE_OP_READ;
	l.len = 4096;
	l.random = true;
	l.rng = 0x12345;
	l.deadline = now_ns() + 4000000000ull;
	l.inflight = 8;
	for (uint32_t i = 0; i < 8; i++)
		submit(&l, &l.req[i]);
	usleep(500000);
	pthread_mutex_lock(&l.lock);
	l.t0 = now_ns();
	pthread_mutex_unlock(&l.lock);
	kill(pid, hang ? SIGSTOP : SIGKILL);
	pthread_mutex_lock(&l.lock);
	while (l.inflight)
		pthread_cond_wait(&l.cond, &l.lock);
	pthread_mutex_unlock(&l.lock);
	if (hang)
		kill(pid, SIGCONT);
	if (!l.first_on1 || l.failed) {
		fprintf(stderr, "bench_storage: no request completed on path 1 (%llu failed)\n",
			(unsigned long long)l.failed);
		return 1;
	}
	printf("failover-%s %.1f ms (timeout_ms %u)\n", argv[5],
	       (double)(l.first_on1 - l.t0) / 1e6, hang ? 1000u : 30000u);
	vmm_storage_destroy(dev);
	return 0;
}

/* guest: the devices of one boot, destroyed after the VM. */
#define GUEST_MAX 16
static vmm_storage_dev *gdevs[GUEST_MAX];
static uint32_t ngdevs;

/* A failover disk: fixed PSP over two NBD paths; once the guest's reads on
 * path 0 run, nbdkit PID is killed (reset) or stopped (hang, timeout_ms
 * 1000) and the time to the first request completed on path 1 printed. */
typedef struct watch {
	vmm_storage_dev *dev;
	pid_t pid;
	bool hang;
	volatile bool quit;
	pthread_t thread;
	char name[32];
} watch;
static watch watches[4];
static uint32_t nwatches;

static uint64_t path_done(vmm_storage_dev *dev, uint32_t path)
{
	vmm_storage_path_info pi = VMM_STORAGE_PATH_INFO_INIT;

	if (vmm_storage_path_get_info(dev, path, &pi) != 0)
		return 0;
	return pi.reads + pi.writes;
}

static void *watch_fn(void *arg)
{
	watch *w = arg;
	uint64_t t0, t1 = 0, before;

	while (!w->quit && path_done(w->dev, 0) < 2000)   /* fio has begun */
		usleep(10000);
	if (w->quit)
		return NULL;
	usleep(500000);
	before = path_done(w->dev, 1);
	t0 = now_ns();
	kill(w->pid, w->hang ? SIGSTOP : SIGKILL);
	while (!w->quit && now_ns() - t0 < 20000000000ull) {
		if (path_done(w->dev, 1) > before) {
			t1 = now_ns();
			break;
		}
		usleep(100);
	}
	if (w->hang)
		kill(w->pid, SIGCONT);
	if (t1)
		fprintf(stderr, "\nFO: %s failover ms=%.1f timeout_ms=%u\n", w->name,
			(double)(t1 - t0) / 1e6, w->hang ? 1000u : 30000u);
	else
		fprintf(stderr, "\nFO: %s failover none\n", w->name);
	return NULL;
}

/* KIND "foreset@PID" or "fohang@PID": a failover disk (above), reported
 * as CTL-NAME. */
static vmm_storage_dev *guest_storage(const char *ctl, const char *name, const char *kind,
				      char *targets)
{
	watch *w = &watches[nwatches];
	bool hang = !strncmp(kind, "fohang@", 7);
	vmm_storage_dev *dev;

	if (strncmp(kind, "foreset@", 8) && !hang)
		return open_dev(kind_of(kind), targets, "rr", 30000, 1);
	if (nwatches == 4) {
		fprintf(stderr, "bench_storage: more than four failover disks\n");
		exit(2);
	}
	dev = open_dev(VMM_STORAGE_PATH_NBD, targets, "fixed", hang ? 1000 : 30000, 1);
	*w = (watch){ .dev = dev, .pid = (pid_t)atoi(strchr(kind, '@') + 1), .hang = hang };
	snprintf(w->name, sizeof(w->name), "%s-%s", ctl, name);
	nwatches++;
	return dev;
}

/* "blk|scsi:NAME:KIND:TARGET[,TARGET2]": KIND raw, qcow2 or nbd (a storage
 * device; two targets: two paths, round robin switching every request),
 * foreset@PID or fohang@PID (failover, above), or for blk "file" (the
 * disk's own file I/O, as `vmm run --disk`). A blk disk gets NAME as its
 * serial, a scsi LUN the next LUN number and NAME as its serial. */
static void guest_dev(vmm_vm *vm, char *spec, vmm_scsi_lun_config *luns, uint32_t *nluns)
{
	char *name = strchr(spec, ':'), *kind = name ? strchr(name + 1, ':') : NULL;
	char *targets = kind ? strchr(kind + 1, ':') : NULL;
	bool blk = !strncmp(spec, "blk:", 4);

	if (!targets || (!blk && strncmp(spec, "scsi:", 5)) || ngdevs == GUEST_MAX) {
		fprintf(stderr, "bench_storage: bad device '%s'\n", spec);
		exit(2);
	}
	*name++ = *kind++ = *targets++ = 0;
	if (blk) {
		vmm_blk_config c = VMM_BLK_CONFIG_INIT;

		c.serial = name;
		if (!strcmp(kind, "file"))
			c.path = targets;
		else
			c.storage = gdevs[ngdevs++] = guest_storage("blk", name, kind, targets);
		if (vmm_virtio_blk_add(vm, &c) == 0)
			return;
	} else {
		luns[*nluns] = (vmm_scsi_lun_config)VMM_SCSI_LUN_CONFIG_INIT;
		luns[*nluns].serial = name;
		luns[(*nluns)++].storage = gdevs[ngdevs++] = guest_storage("scsi", name, kind,
									   targets);
		return;
	}
	fprintf(stderr, "bench_storage: %s: %s\n", name, vmm_last_error());
	exit(1);
}

/* guest BACKEND MEM_MIB KERNEL INITRD CMDLINE TIMEOUT_S DEVICE...: a Linux
 * guest (1 vCPU) with the devices, its serial console on stdout. */
static int cmd_guest(int argc, char **argv)
{
	vmm_vm_config vc = VMM_VM_CONFIG_INIT;
	vmm_linux_options lo = VMM_LINUX_OPTIONS_INIT;
	vmm_run_options ro = VMM_RUN_OPTIONS_INIT;
	vmm_run_result res = VMM_RUN_RESULT_INIT;
	vmm_scsi_lun_config luns[GUEST_MAX];
	vmm_scsi_config sc = VMM_SCSI_CONFIG_INIT;
	uint32_t nluns = 0;
	vmm_vm *vm;
	int rc;

	vc.backend = argv[2];
	vc.mem_size = strtoull(argv[3], NULL, 10) << 20;
	vc.flags = VMM_VM_IRQCHIP;
	if (vmm_vm_create(&vc, &vm) != 0)
		goto fail;
	for (int i = 8; i < argc; i++)
		guest_dev(vm, argv[i], luns, &nluns);
	sc.luns = luns;
	sc.nluns = nluns;
	lo.kernel = argv[4];
	lo.initrd = argv[5];
	lo.cmdline = argv[6];
	ro.timeout_ms = strtoull(argv[7], NULL, 10) * 1000;
	if ((nluns && vmm_virtio_scsi_add(vm, &sc) != 0) || vmm_load_linux(vm, &lo) != 0 ||
	    vmm_uart_output(vm, 1, NULL, NULL) != 0)
		goto fail;
	for (uint32_t i = 0; i < nwatches; i++)
		pthread_create(&watches[i].thread, NULL, watch_fn, &watches[i]);
	rc = vmm_vm_run(vm, &ro, &res);
	for (uint32_t i = 0; i < nwatches; i++) {
		watches[i].quit = true;
		pthread_join(watches[i].thread, NULL);
	}
	if (rc != 0)
		goto fail;
	rc = res.end != VMM_END_POWEROFF;
	vmm_vm_destroy(vm);
	while (ngdevs)
		vmm_storage_destroy(gdevs[--ngdevs]);
	if (rc)
		fprintf(stderr, "bench_storage: the guest ended (%u) without powering off: %s\n", res.end,
			res.message);
	return rc;
fail:
	fprintf(stderr, "bench_storage: guest: %s\n", vmm_last_error());
	return 1;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 5 && !strcmp(argv[1], "io"))
		return cmd_io(argv);
	if (argc == 6 && !strcmp(argv[1], "failover"))
		return cmd_failover(argv);
	if (argc >= 9 && !strcmp(argv[1], "guest"))
		return cmd_guest(argc, argv);
	fprintf(stderr, "usage: bench_storage io raw|qcow2|nbd TARGET[,TARGET2] SECONDS\n"
		"       bench_storage failover SOCK0 SOCK1 NBDKIT0-PID reset|hang\n"
		"       bench_storage guest BACKEND MEM_MIB KERNEL INITRD CMDLINE TIMEOUT_S "
		"blk|scsi:NAME:file|raw|qcow2|nbd:TARGET[,TARGET2]...\n");
	return 2;
}
