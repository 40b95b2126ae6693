/* port_tap.c - a switch port on a TAP interface: /dev/net/tun with
 * IFF_TAP | IFF_NO_PI (plain frames, no virtio header). The port's own
 * I/O thread ("vmm-swtapN", lib/virtio/iothread.c) reads frames and hands
 * them to the switch; frames for the port are written on the sending
 * thread (a full tap queue drops them: VMM_NET_DROP_ENDPOINT). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lib/net/net.h"

#define BATCH 64

int vmm__net_tap_port_open(vmm__sw_port *p, const char *name);
int vmm__net_tap_port_start(vmm__sw_port *p);
void vmm__net_tap_port_close(vmm__sw_port *p);

static atomic_uint tap_count;

int vmm__net_tap_port_open(vmm__sw_port *p, const char *name)
{
	struct ifreq ifr;
	int fd, err;

	if (!*name || strlen(name) >= IFNAMSIZ)
		return vmm__err(VMM_EINVAL, "vmm_net_port_create: tap name '%.40s' is empty or "
				"longer than %d bytes", name, IFNAMSIZ - 1);
	if (!(p->tap_buf = malloc(SW_MAX_FRAME)))
		return vmm__err(VMM_ENOMEM, "vmm_net_port_create: out of memory");
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return vmm__err(errno == ENOENT ? VMM_ENOENT : VMM_EIO, "vmm_net_port_create: "
				"cannot open /dev/net/tun: %s", strerror(errno));
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
		err = errno;
		close(fd);
		return vmm__err(err == EBUSY ? VMM_EBUSY : VMM_EIO, "vmm_net_port_create: tap "
				"'%s': TUNSETIFF: %s%s", name, strerror(err),
				err == EPERM ? " (creating a tap needs CAP_NET_ADMIN)" : "");
	}
	p->tap_fd = fd;
	return 0;
}

static int tap_deliver(void *opaque, vmm__sw_port *p, uint8_t *frame, size_t len)
{
	ssize_t done;

	do
		done = write(p->tap_fd, frame, len);
	while (done < 0 && errno == EINTR);
	return done == (ssize_t)len ? 0 : -1;
}

static void tap_work(void *opaque)
{
	vmm__sw_port *p = opaque;

	for (int i = 0; i < BATCH; i++) {
		ssize_t got = read(p->tap_fd, p->tap_buf, SW_MAX_FRAME);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return;                /* EAGAIN: poll again */
		vmm__fwd_input(p, p->tap_buf, (size_t)got);
	}
}

int vmm__net_tap_port_start(vmm__sw_port *p)
{
	char name[16];
	int rc;

	if ((rc = vmm__port_set_endpoint(p, &(vmm__endpoint){ tap_deliver, NULL })))
		return rc;
	snprintf(name, sizeof(name), "vmm-swtap%u", atomic_fetch_add(&tap_count, 1) % 1000);
	return vmm__iothread_start_fd(&p->io, name, tap_work, p, p->tap_fd);
}

void vmm__net_tap_port_close(vmm__sw_port *p)
{
	vmm__iothread_stop(&p->io);
	if (p->tap_fd >= 0)
		close(p->tap_fd);
	p->tap_fd = -1;
	free(p->tap_buf);
	p->tap_buf = NULL;
}
