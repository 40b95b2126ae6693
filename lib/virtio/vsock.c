/* vsock.c - virtio-vsock (virtio 1.2, 5.10): device type 19, queues rx 0,
 * tx 1 and event 2, configuration guest_cid. The guest's stream sockets
 * meet Unix sockets on the host as Firecracker's hybrid vsock does (see
 * vmm/virtio.h); the protocol is in vsock_conn.c. Everything runs on the
 * device's I/O thread: a queue notification only kicks it, and it polls
 * the host sockets through one epoll fd. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/platform/platform.h"
#include "lib/virtio/vsock.h"

enum { Q_RX = 0, Q_TX = 1, Q_EVENT = 2 };

static atomic_uint vsock_count;

static void put_hdr(uint8_t *b, const vsock_hdr *h)
{
	memcpy(b + 0, &h->src_cid, 8);
	memcpy(b + 8, &h->dst_cid, 8);
	memcpy(b + 16, &h->src_port, 4);
	memcpy(b + 20, &h->dst_port, 4);
	memcpy(b + 24, &h->len, 4);
	memcpy(b + 28, &h->type, 2);
	memcpy(b + 30, &h->op, 2);
	memcpy(b + 32, &h->flags, 4);
	memcpy(b + 36, &h->buf_alloc, 4);
	memcpy(b + 40, &h->fwd_cnt, 4);
}

vmm_virtq_elem *vmm__vsock_rx_buf(vsock *v)
{
	vmm_virtq_elem *e = v->spare;

	v->spare = NULL;
	while (!e && !v->rx_starved) {
		if (vmm_virtq_pop(v->dev, Q_RX, &e) != 1) {
			v->rx_starved = true;        /* until the guest kicks rx */
			return NULL;
		}
		if (vmm_virtq_in_len(e) <= VSOCK_HDR_LEN || vmm_virtq_out_len(e)) {
			vmm_virtq_push(v->dev, Q_RX, e, 0);   /* useless buffer: back */
			v->rx_pushed = true;
			e = NULL;
		}
	}
	return e;
}

vsock_conn *vmm__vsock_find(vsock *v, uint32_t host_port, uint32_t guest_port)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		if (v->conn[i] && v->conn[i]->state != C_AWAIT_CMD &&
		    v->conn[i]->host_port == host_port &&
		    v->conn[i]->guest_port == guest_port)
			return v->conn[i];
	return NULL;
}

void vmm__vsock_rx_push(vsock *v, vmm_virtq_elem *e, const vsock_hdr *h, const void *data,
			uint32_t len, uint64_t conn_id)
{
	uint8_t b[VSOCK_HDR_LEN];
	vsock_conn *c = vmm__vsock_find(v, h->src_port, h->dst_port);

	put_hdr(b, h);
	vmm_virtq_write(e, 0, b, VSOCK_HDR_LEN);
	if (len)
		vmm_virtq_write(e, VSOCK_HDR_LEN, data, len);
	vmm_virtq_push(v->dev, Q_RX, e, VSOCK_HDR_LEN + len);
	v->rx_pushed = true;
	/* What the guest now knows, if the packet was for this connection and
	 * not for an earlier one with the same ports (queued before it ended). */
	if (c && c->id == conn_id && h->buf_alloc && (int32_t)(h->fwd_cnt - c->fwd_told) > 0)
		c->fwd_told = h->fwd_cnt;
}

void vmm__vsock_ctrl(vsock *v, vsock_conn *c, const vsock_hdr *about, uint16_t op,
		     uint32_t flags)
{
	vsock_hdr *h;

	if (v->ctrl_len == VSOCK_MAX_CTRL)
		return;                          /* a flood: the guest loses replies */
	v->ctrl_conn[(v->ctrl_head + v->ctrl_len) % VSOCK_MAX_CTRL] = c ? c->id : 0;
	h = &v->ctrl[(v->ctrl_head + v->ctrl_len++) % VSOCK_MAX_CTRL];
	*h = (vsock_hdr){ .src_cid = VSOCK_HOST_CID, .dst_cid = v->guest_cid,
			  .type = VSOCK_TYPE_STREAM, .op = op, .flags = flags,
			  .buf_alloc = VSOCK_BUF_ALLOC };
	if (c) {
		h->src_port = c->host_port;
		h->dst_port = c->guest_port;
		h->fwd_cnt = c->fwd_cnt;
		c->fwd_queued = c->fwd_cnt;
	} else {
		h->src_port = about->dst_port;
		h->dst_port = about->src_port;
		h->buf_alloc = 0;
	}
}

void vmm__vsock_flush_ctrl(vsock *v)
{
	vmm_virtq_elem *e;

	while (v->ctrl_len && (e = vmm__vsock_rx_buf(v))) {
		vmm__vsock_rx_push(v, e, &v->ctrl[v->ctrl_head], NULL, 0,
				   v->ctrl_conn[v->ctrl_head]);
		v->ctrl_head = (v->ctrl_head + 1) % VSOCK_MAX_CTRL;
		v->ctrl_len--;
	}
}

/* Every connection closed, nothing queued for the guest. The spare rx
 * buffer is pushed back empty (after a reset that only frees it and ends
 * it as in flight), or freed when the VM goes. */
static void drop_all(vsock *v, bool vm_gone)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		if (v->conn[i])
			vmm__vsock_conn_free(v, v->conn[i]);
	v->ctrl_len = 0;
	if (v->spare && vm_gone)
		free(v->spare);
	else if (v->spare)
		vmm_virtq_push(v->dev, Q_RX, v->spare, 0);
	v->spare = NULL;
}

static bool driver_ok(vsock *v)
{
	uint8_t s;

	pthread_mutex_lock(&v->dev->lock);
	s = v->dev->status;
	pthread_mutex_unlock(&v->dev->lock);
	return (s & VMM__VIRTIO_DRIVER_OK) && !(s & VMM__VIRTIO_NEEDS_RESET);
}

static void host_events(vsock *v)
{
	struct epoll_event ev[32];
	int n = epoll_wait(v->epfd, ev, 32, 0);

	for (int i = 0; i < n; i++) {
		if (ev[i].data.ptr == v) {
			vmm__vsock_accept(v);
			continue;
		}
		for (unsigned k = 0; k < VSOCK_MAX_CONNS; k++)
			if (v->conn[k] == ev[i].data.ptr) {     /* not freed meanwhile */
				vmm__vsock_host_event(v, v->conn[k], ev[i].events);
				break;
			}
	}
}

/* On the I/O thread, after a kick or a host socket event. */
static void vsock_work(void *opaque)
{
	vsock *v = opaque;
	vmm_virtq_elem *e;
	bool tx_done = false;

	pthread_mutex_lock(&v->lock);
	if (!v->dev) {                           /* still being added */
		pthread_mutex_unlock(&v->lock);
		return;
	}
	if (!driver_ok(v)) {
		drop_all(v, false);              /* reset, or not started yet */
		host_events(v);                  /* refuses host connections */
		drop_all(v, false);
		pthread_mutex_unlock(&v->lock);
		return;
	}
	v->rx_starved = false;
	v->rx_pushed = false;
	while (vmm_virtq_pop(v->dev, Q_TX, &e) == 1) {
		vmm__vsock_guest_packet(v, e);
		vmm_virtq_push(v->dev, Q_TX, e, 0);
		tx_done = true;
	}
	host_events(v);
	vmm__vsock_flush_ctrl(v);
	if (!v->ctrl_len)
		vmm__vsock_host_to_guest(v);
	vmm__vsock_flush_ctrl(v);                /* SHUTDOWNs for hosts that ended */
	for (unsigned k = 0; k < VSOCK_MAX_CONNS; k++)
		if (v->conn[k])
			vmm__vsock_update_epoll(v, v->conn[k]);
	if (tx_done)
		vmm_virtio_interrupt(v->dev, Q_TX);
	if (v->rx_pushed)
		vmm_virtio_interrupt(v->dev, Q_RX);
	pthread_mutex_unlock(&v->lock);
}

static void vsock_notify(void *opaque, vmm_virtio_dev *dev, uint16_t q)
{
	vmm__iothread_kick(&((vsock *)opaque)->io);
}

/* The driver reset the device (on its vCPU's thread): the guest's
 * connections are gone, even if it sets DRIVER_OK again before the I/O
 * thread would have seen the reset. */
static void vsock_reset(void *opaque, vmm_virtio_dev *dev)
{
	vsock *v = opaque;

	pthread_mutex_lock(&v->lock);
	drop_all(v, false);
	pthread_mutex_unlock(&v->lock);
}

static void vsock_config_read(void *opaque, uint32_t off, void *buf, uint32_t len)
{
	memcpy(buf, ((vsock *)opaque)->config + off, len);  /* off + len <= 8: checked */
}

static const vmm_virtio_ops vsock_ops = {
	.version = VMM_VIRTIO_OPS_VERSION,
	.device_id = 19,
	.pci_class = 0x028000,               /* network controller, other */
	.num_queues = 3,
	.queue_size = 128,
	.config_size = 8,
	.queue_notify = vsock_notify,
	.config_read = vsock_config_read,
	.reset = vsock_reset,
};

static void vsock_fini(void *opaque)
{
	vsock *v = opaque;

	vmm__iothread_stop(&v->io);
	drop_all(v, true);
	if (v->listen_fd >= 0) {
		close(v->listen_fd);
		unlink(v->path);
	}
	if (v->epfd >= 0)
		close(v->epfd);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

/* The listening socket at path (a stale socket file there is replaced). */
static int listen_at(vsock *v)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = v };
	struct stat st;

	memcpy(a.sun_path, v->path, strlen(v->path) + 1);
	if (lstat(v->path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(v->path);
	v->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (v->listen_fd < 0 || bind(v->listen_fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(v->listen_fd, 16)) {
		int err = errno;

		if (v->listen_fd >= 0)
			close(v->listen_fd);
		v->listen_fd = -1;
		return vmm__err(err == EADDRINUSE ? VMM_EBUSY : VMM_EIO, "virtio-vsock: "
				"cannot listen on '%s': %s", v->path, strerror(err));
	}
	if (epoll_ctl(v->epfd, EPOLL_CTL_ADD, v->listen_fd, &ev))
		return vmm__err(VMM_EIO, "virtio-vsock: epoll: %s", strerror(errno));
	return 0;
}

static vsock *find(vmm_vm *vm)
{
	for (vmm_virtio_dev *d = vm->platform ? vm->platform->virtio : NULL; d; d = d->next)
		if (d->ops == &vsock_ops)
			return d->opaque;
	return NULL;
}

static int check_config(vmm_vm *vm, const vmm_vsock_config *c)
{
	if (!vm || !c || c->size < sizeof(*c) || c->flags || !c->uds_path)
		return vmm__err(VMM_EINVAL, "vmm_virtio_vsock_add: vm, config or uds_path is "
				"NULL, or the config is too small or has flags");
	if (c->guest_cid < 3 || c->guest_cid == UINT32_MAX)
		return vmm__err(VMM_EINVAL, "vmm_virtio_vsock_add: guest CID %u is reserved "
				"(3 to 4294967294)", c->guest_cid);
	if (!c->uds_path[0] || strlen(c->uds_path) + 12 > VSOCK_PATH_MAX - 1)
		return vmm__err(VMM_EINVAL, "vmm_virtio_vsock_add: socket path '%.120s' is "
				"empty or too long (at most %u bytes)", c->uds_path,
				VSOCK_PATH_MAX - 13);
	if (find(vm))
		return vmm__err(VMM_EBUSY, "vmm_virtio_vsock_add: the VM has a vsock device");
	return 0;
}

VMM_API int vmm_virtio_vsock_add(vmm_vm *vm, const vmm_vsock_config *c)
{
	char name[16];
	vsock *v;
	int rc = check_config(vm, c);

	if (rc)
		return rc;
	if (!(v = calloc(1, sizeof(*v))))
		return vmm__err(VMM_ENOMEM, "vmm_virtio_vsock_add: out of memory");
	pthread_mutex_init(&v->lock, NULL);
	v->listen_fd = -1;
	v->guest_cid = c->guest_cid;
	v->next_host_port = VSOCK_HOST_PORT0;
	memcpy(v->config, &(uint64_t){ c->guest_cid }, 8);
	strcpy(v->path, c->uds_path);
	v->epfd = epoll_create1(EPOLL_CLOEXEC);
	rc = v->epfd < 0 ? vmm__err(VMM_EIO, "virtio-vsock: epoll: %s", strerror(errno))
			 : listen_at(v);
	snprintf(name, sizeof(name), "vmm-vsock%u", atomic_fetch_add(&vsock_count, 1) % 1000);
	if (rc == 0)
		rc = vmm__iothread_start_fd(&v->io, name, vsock_work, v, v->epfd);
	if (rc == 0) {
		vmm_virtio_dev *dev = NULL;

		pthread_mutex_lock(&v->lock);
		rc = vmm_virtio_add(vm, &vsock_ops, v, &dev);
		v->dev = dev;
		pthread_mutex_unlock(&v->lock);
	}
	if (rc) {
		vsock_fini(v);
		return rc;
	}
	vmm__virtio_set_fini(v->dev, vsock_fini);
	vmm__virtio_set_iothread(v->dev, &v->io);
	return 0;
}
