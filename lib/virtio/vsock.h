/* vsock.h - virtio-vsock's state (virtio 1.2, 5.10), shared by the device
 * (vsock.c: queues, the I/O thread, the API) and the connection state
 * machine (vsock_conn.c: guest packets, host Unix sockets). Everything
 * runs on the device's I/O thread under vsock.lock. */
#ifndef VMM_VSOCK_H
#define VMM_VSOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/virtio/iothread.h"
#include "lib/virtio/virtio_pci.h"

#define VSOCK_HDR_LEN 44u
#define VSOCK_HOST_CID 2u
#define VSOCK_BUF_ALLOC (256u * 1024u)  /* our receive buffer per connection */
#define VSOCK_MAX_PKT (64u * 1024u)     /* payload of one packet, either way */
#define VSOCK_MAX_CONNS 64u
#define VSOCK_MAX_CTRL 256u             /* control packets waiting for rx buffers */
#define VSOCK_HOST_PORT0 (1u << 30)     /* host ports of host-initiated connections */
#define VSOCK_PATH_MAX 108u

enum { VSOCK_TYPE_STREAM = 1 };
enum {
	VSOCK_OP_REQUEST = 1, VSOCK_OP_RESPONSE = 2, VSOCK_OP_RST = 3,
	VSOCK_OP_SHUTDOWN = 4, VSOCK_OP_RW = 5, VSOCK_OP_CREDIT_UPDATE = 6,
	VSOCK_OP_CREDIT_REQUEST = 7
};
enum { VSOCK_SHUT_RCV = 1, VSOCK_SHUT_SEND = 2 };

/* struct virtio_vsock_hdr, host byte order (x86 is little-endian). */
typedef struct vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
} vsock_hdr;

enum {
	C_AWAIT_CMD,        /* host connected to uds_path: reading "CONNECT P\n" */
	C_GUEST_PENDING,    /* REQUEST sent to the guest, waiting for RESPONSE */
	C_OPEN              /* established */
};

typedef struct vsock_conn {
	uint64_t id;                     /* unique per device: never reused */
	int fd;                          /* the host's Unix socket */
	int state;                       /* C_* */
	uint32_t host_port, guest_port;
	uint32_t epoll_events;           /* what epoll watches now */
	char cmd[24];                    /* C_AWAIT_CMD: the line so far */
	uint32_t cmd_len;
	/* guest -> host: bytes not yet written to fd (a ring of BUF_ALLOC) */
	uint8_t *stage;
	uint32_t stage_head, stage_len;
	uint32_t rx_cnt;                 /* bytes the guest sent us */
	uint32_t fwd_cnt;                /* of those, written to the host */
	uint32_t fwd_told;               /* fwd_cnt in our last packet delivered */
	uint32_t fwd_queued;             /* fwd_cnt in our last packet queued */
	/* host -> guest */
	uint32_t tx_cnt;                 /* bytes we sent the guest */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	uint8_t guest_shut;              /* VSOCK_SHUT_* the guest announced */
	bool host_eof;                   /* read() returned 0: SHUTDOWN sent */
	bool shut_wr_done;               /* shutdown(fd, SHUT_WR) made */
	bool hup;                        /* the host hung up: out of epoll, read to EOF */
} vsock_conn;

typedef struct vsock {
	vmm_virtio_dev *dev;
	vmm__iothread io;
	pthread_mutex_t lock;
	int epfd, listen_fd;
	uint32_t guest_cid;
	char path[VSOCK_PATH_MAX];
	uint32_t next_host_port;
	vsock_conn *conn[VSOCK_MAX_CONNS];
	vsock_hdr ctrl[VSOCK_MAX_CTRL];  /* control packets for the guest, FIFO */
	uint64_t ctrl_conn[VSOCK_MAX_CTRL];  /* the id of the connection each is for */
	uint64_t next_id;                /* of connections */
	uint32_t ctrl_head, ctrl_len;
	vmm_virtq_elem *spare;           /* an rx buffer taken but not used */
	bool rx_starved;                 /* the guest had no rx buffer: wait for a kick */
	bool rx_pushed;
	uint8_t config[8];
	uint8_t scratch[VSOCK_MAX_PKT];
} vsock;

/* vsock_conn.c */
void vmm__vsock_guest_packet(vsock *v, vmm_virtq_elem *e);
void vmm__vsock_accept(vsock *v);
/* A host socket is ready (events from epoll). */
void vmm__vsock_host_event(vsock *v, vsock_conn *c, uint32_t events);
/* Data from open connections to the guest while there are rx buffers. */
void vmm__vsock_host_to_guest(vsock *v);
void vmm__vsock_conn_free(vsock *v, vsock_conn *c);
void vmm__vsock_update_epoll(vsock *v, vsock_conn *c);
vsock_conn *vmm__vsock_find(vsock *v, uint32_t host_port, uint32_t guest_port);

/* vsock.c */
/* Queues a control packet (op) for the connection (or the addresses of a
 * packet without one) with our credit fields. */
void vmm__vsock_ctrl(vsock *v, vsock_conn *c, const vsock_hdr *about, uint16_t op,
		     uint32_t flags);
/* An rx buffer of at least VSOCK_HDR_LEN + 1 bytes, or NULL (starved). */
vmm_virtq_elem *vmm__vsock_rx_buf(vsock *v);
void vmm__vsock_flush_ctrl(vsock *v);
/* Gives the guest a packet; its fwd_cnt counts as told to connection
 * conn_id (0: none) only if that connection still has the packet's ports. */
void vmm__vsock_rx_push(vsock *v, vmm_virtq_elem *e, const vsock_hdr *h,
			const void *data, uint32_t len, uint64_t conn_id);

#endif /* VMM_VSOCK_H */
