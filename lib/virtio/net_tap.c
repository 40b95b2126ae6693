/* net_tap.c - virtio-net's TAP backend: /dev/net/tun opened with
 * IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, so frames cross with the same 12-byte
 * virtio_net_hdr the guest uses; partial checksums and TCP segmentation
 * (TSO4/6, ECN) pass both ways: the kernel segments what the guest sends,
 * and is told to send them (TUNSETOFFLOAD TUN_F_CSUM, TUN_F_TSO*) only
 * for what the guest accepted. Transmit writes on the vCPU thread; receive
 * reads on the device's I/O thread, which stops polling the tap while the
 * guest has no receive buffer (holding the one frame it read) until the
 * guest's next notification. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lib/virtio/netdev.h"

#define BATCH 256                      /* frames per wakeup, then poll again */

int vmm__net_tap_open(vmm__net *n, const char *name)
{
	struct ifreq ifr;
	int hdr = VMM__NET_HDR, fd, err;

	if (!*name || strlen(name) >= IFNAMSIZ)
		return vmm__err(VMM_EINVAL, "vmm_virtio_net_add: tap name '%.40s' is empty or "
				"longer than %d bytes", name, IFNAMSIZ - 1);
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return vmm__err(errno == ENOENT ? VMM_ENOENT : VMM_EIO, "vmm_virtio_net_add: "
				"cannot open /dev/net/tun: %s", strerror(errno));
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
		err = errno;
		close(fd);
		return vmm__err(err == EBUSY ? VMM_EBUSY : VMM_EIO, "vmm_virtio_net_add: tap "
				"'%s': TUNSETIFF: %s%s", name, strerror(err),
				err == EPERM ? " (creating a tap needs CAP_NET_ADMIN)" : "");
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) != 0 || ioctl(fd, TUNSETOFFLOAD, 0) != 0) {
		err = errno;
		close(fd);
		return vmm__err(VMM_EIO, "vmm_virtio_net_add: tap '%s': setting the vnet "
				"header: %s", name, strerror(err));
	}
	n->tap_fd = fd;
	return 0;
}

int vmm__net_tap_send(vmm__net *n, const uint8_t *pkt, size_t len)
{
	ssize_t done;

	do
		done = write(n->tap_fd, pkt, len);
	while (done < 0 && errno == EINTR);
	return done == (ssize_t)len ? 0 : -1;
}

/* Partial checksums and TSO frames from the kernel only for a guest that
 * takes them. */
static void sync_offload(vmm__net *n, vmm_virtio_dev *dev)
{
	uint64_t f = vmm_virtio_features(dev);
	unsigned want = 0;

	if (f & VMM__NET_F_GUEST_CSUM)       /* TSO needs CSUM, as in virtio */
		want = TUN_F_CSUM | ((f & VMM__NET_F_GUEST_TSO4) ? TUN_F_TSO4 : 0) |
		       ((f & VMM__NET_F_GUEST_TSO6) ? TUN_F_TSO6 : 0) |
		       ((f & VMM__NET_F_GUEST_ECN) ? TUN_F_TSO_ECN : 0);

	if (want != n->tap_offload && ioctl(n->tap_fd, TUNSETOFFLOAD, want) == 0)
		n->tap_offload = want;
}

void vmm__net_tap_work(void *opaque)
{
	vmm__net *n = opaque;
	vmm_virtio_dev *dev = atomic_load(&n->dev);

	n->io.fd_wanted = false;
	if (!dev)
		return;                        /* kicked once added */
	sync_offload(n, dev);
	for (int i = 0; i < BATCH; i++) {
		if (!n->rx_pending) {
			ssize_t got = read(n->tap_fd, n->rxbuf, VMM__NET_HDR + VMM__NET_MAX_FRAME);

			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0 && errno != EAGAIN)
				atomic_fetch_add(&n->rx_errors, 1);   /* and wait for a kick */
			else
				n->io.fd_wanted = true;
			if (got <= 0)
				return;
			n->rx_pending = (size_t)got;
		}
		if (vmm__net_receive(n, n->rxbuf, n->rx_pending, true) == 0)
			return;                /* no buffer: the rx notification kicks */
		n->rx_pending = 0;
	}
	n->io.fd_wanted = true;
}
