/* vmm/net.h - net_port: an in-process virtual switch (included by vmm.h).
 *
 * A switch forwards Ethernet frames between its ports: MAC learning with
 * ageing, flooding of broadcast, multicast and unknown unicast, 802.1Q
 * VLANs (access ports, trunk ports with an allowed list and a native
 * VLAN), one MTU per switch (jumbo frames up to 65518). A port attaches
 * to one endpoint:
 *  - VMM_NET_PORT_EMBEDDER: the embedder's callbacks. The switch calls
 *    config.rx with each frame for the port; the embedder transmits with
 *    vmm_net_port_send();
 *  - VMM_NET_PORT_VIRTIO: a VM's virtio-net device, attached by
 *    vmm_virtio_net_add() with vmm_net_config.port (vmm/virtio.h);
 *  - VMM_NET_PORT_TAP: a TAP interface (created if absent, needs
 *    CAP_NET_ADMIN), read by the port's thread "vmm-swtapN", started by
 *    vmm_net_port_create and joined by vmm_net_port_destroy;
 *  - VMM_NET_PORT_UPLINK: a VXLAN tunnel endpoint (RFC 7348) to other
 *    hosts (config.uplink): a UDP socket, read by the port's thread
 *    "vmm-swvxN" (started by vmm_net_port_create, joined by
 *    vmm_net_port_destroy). One per switch.
 *
 * Each port carries a policy (vmm_net_policy), replaceable at any time
 * while traffic flows, and state kept with the port (shaper buckets,
 * firewall connections, counters): ESX security (promiscuous mode, MAC
 * address changes, forged transmits), IP/MAC anti-spoofing with ARP
 * inspection, traffic shaping each way, a stateful firewall, mirroring.
 * These built-in policies are filters written against the same interface
 * an embedder's filter plugin uses (vmm_net_filter); a forwarding plugin
 * (vmm_net_forwarder) can replace the forwarding decision.
 *
 * Directions, seen from the switch: VMM_NET_IN is a frame the port's
 * endpoint hands to the switch (a VM transmitting), VMM_NET_OUT a frame
 * the switch hands to the endpoint (a VM receiving).
 *
 * Bad frames (runt, oversized, a malformed VLAN tag, an IPv4 header whose
 * lengths lie, when a policy parses it) are dropped and counted by reason.
 * A plugin returning garbage is disabled, the frame dropped and counted
 * (VMM_NET_DROP_PLUGIN), and a message goes to the switch's log callback
 * and the thread's vmm_last_error().
 *
 * Thread safety: switches and ports may be used from any threads at
 * once; frames may be sent on one port from several threads. The data
 * path takes no global lock: the port table, policies and filter chains
 * are read-mostly and replaced whole on a change (read-copy-update, the
 * old copy freed once no frame in flight can see it), the MAC table is
 * lock-free, counters are atomics; shaper buckets and firewall
 * connections take a lock of their port. Callbacks (rx, filters, the
 * forwarder, log) run on the thread that sent the frame; they may send
 * frames (to a depth of 4), but must not create, destroy or reconfigure
 * ports, filters or switches (that waits for frames in flight: a
 * deadlock). Control calls (create, destroy, set_policy, filter_add ...)
 * are serialised per switch.
 */
#ifndef VMM_NET_H
#define VMM_NET_H

#ifndef VMM_H
#error "include <vmm.h>, not <vmm/net.h>"
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vmm_switch vmm_switch;
typedef struct vmm_net_port vmm_net_port;

#define VMM_NET_MTU_MAX 65518u
#define VMM_NET_MAX_PORTS 1024u

/* Messages from the data path (a plugin disabled, ...). Any thread. */
typedef void (*vmm_net_log_fn)(void *opaque, const char *message);
/* Nanoseconds of a monotonic clock (NULL: CLOCK_MONOTONIC). */
typedef uint64_t (*vmm_net_clock_fn)(void *opaque);

typedef struct vmm_switch_config {
	uint32_t size;              /* sizeof(vmm_switch_config) */
	uint32_t flags;             /* 0 */
	uint32_t mtu;               /* 0: 1500; 68..VMM_NET_MTU_MAX (payload bytes) */
	uint32_t fdb_size;          /* MAC table entries, 0: 4096; 64..1M, rounded
				       up to a power of two */
	uint64_t ageing_ms;         /* MAC entry lifetime, 0: 300000 (300 s) */
	vmm_net_log_fn log;         /* NULL: messages only in vmm_last_error() */
	void *log_opaque;
	vmm_net_clock_fn clock;     /* NULL: CLOCK_MONOTONIC (tests pass a fake) */
	void *clock_opaque;
} vmm_switch_config;
#define VMM_SWITCH_CONFIG_INIT { sizeof(vmm_switch_config), 0, 0, 0, 0, NULL, NULL, NULL, NULL }

VMM_API int vmm_switch_create(const vmm_switch_config *config, vmm_switch **out);
/* Destroys the ports still on it (as vmm_net_port_destroy: their handles
 * are gone). Ports attached to VMs keep the switch's memory until their
 * VMs are destroyed; their frames are dropped (VMM_NET_DROP_NO_LINK). */
VMM_API void vmm_switch_destroy(vmm_switch *sw);

typedef struct vmm_switch_stats {
	uint32_t size;              /* sizeof(vmm_switch_stats), set by the caller */
	uint32_t ports;             /* ports on the switch now */
	uint64_t frames;            /* frames that entered the forwarding decision */
	uint64_t flooded;           /* of them, flooded (broadcast, multicast, unknown) */
	uint64_t learned;           /* MAC entries created or moved to another port */
	uint64_t fdb_full;          /* source MACs not learned: no free entry */
	uint64_t plugin_disabled;   /* plugins disabled for a garbage answer */
} vmm_switch_stats;
VMM_API int vmm_switch_stats_get(vmm_switch *sw, vmm_switch_stats *stats);
/* The port id a MAC was learned on in a VLAN: 0, or VMM_ENOENT (unknown
 * or aged out). */
VMM_API int vmm_switch_fdb_lookup(vmm_switch *sw, const uint8_t mac[6], uint32_t vlan,
				  uint32_t *port_id);

/* ---- Policy ------------------------------------------------------------ */

enum {
	/* Security, as ESX defines it: each bit set means "accept". */
	VMM_NET_SEC_PROMISC = 1u << 0,     /* the port sees every frame of its VLANs */
	VMM_NET_SEC_MAC_CHANGES = 1u << 1, /* frames still reach a port whose effective
					      MAC (vmm_net_port_set_mac) differs
					      from its configured one */
	VMM_NET_SEC_FORGED = 1u << 2,      /* frames whose source MAC is not the
					      port's effective MAC pass in */
	/* Frames from the port must carry its configured MAC and one of ipv4[]
	 * as source (0.0.0.0 allowed for DHCP); ARP from it must name them. */
	VMM_NET_ANTISPOOF = 1u << 3,
	VMM_NET_FIREWALL = 1u << 4         /* rules[] and connection tracking */
};

enum { VMM_NET_IN = 0, VMM_NET_OUT = 1 };                 /* a direction */
enum { VMM_NET_DIR_IN = 1u << 0, VMM_NET_DIR_OUT = 1u << 1 }; /* a set of them */

/* A token-bucket shaper: avg_bps 0 is off. Frames over the rate are
 * dropped (VMM_NET_DROP_SHAPED). */
typedef struct vmm_net_shaping {
	uint64_t avg_bps;           /* average rate, bits/s */
	uint64_t peak_bps;          /* peak rate, bits/s; 0: no peak limit */
	uint64_t burst_bytes;       /* bytes beyond the average that may pass at
				       peak rate; 0: one maximum-sized frame */
} vmm_net_shaping;

enum { VMM_NET_FW_DENY = 0, VMM_NET_FW_ALLOW = 1 };

/* A firewall rule, matched against IPv4 frames that start a connection
 * (a TCP SYN, a UDP datagram, an ICMP echo request) or that no tracked
 * connection covers. Addresses and ports in host byte order; a mask of 0
 * and ports 0..0 match anything. */
typedef struct vmm_net_fw_rule {
	uint32_t action;            /* VMM_NET_FW_ALLOW / DENY */
	uint32_t dirs;              /* VMM_NET_DIR_* the connection starts in */
	uint32_t proto;             /* 0 any, 1 ICMP, 6 TCP, 17 UDP */
	uint32_t src_addr, src_mask;
	uint32_t dst_addr, dst_mask;
	uint16_t src_port_lo, src_port_hi;
	uint16_t dst_port_lo, dst_port_hi;
} vmm_net_fw_rule;

typedef struct vmm_net_policy {
	uint32_t size;              /* sizeof(vmm_net_policy) */
	uint32_t flags;             /* VMM_NET_SEC_*, VMM_NET_ANTISPOOF, VMM_NET_FIREWALL */
	const uint32_t *ipv4;       /* ANTISPOOF: nipv4 bound addresses (host order) */
	uint32_t nipv4;             /* up to 64 */
	uint32_t fw_default;        /* FIREWALL: action when no rule matches */
	const vmm_net_fw_rule *rules;   /* FIREWALL: nrules, first match wins */
	uint32_t nrules;            /* up to 1024 */
	uint32_t fw_max_conns;      /* tracked connections, 0: 4096 */
	vmm_net_shaping shape_in;   /* frames into the switch from the port */
	vmm_net_shaping shape_out;  /* frames to the port */
	uint32_t mirror_port;       /* port id receiving copies, 0: none */
	uint32_t mirror_dirs;       /* VMM_NET_DIR_*: which frames are copied */
} vmm_net_policy;
/* ESX's defaults: promiscuous reject, MAC changes and forged transmits accept. */
#define VMM_NET_POLICY_INIT { sizeof(vmm_net_policy), \
	VMM_NET_SEC_MAC_CHANGES | VMM_NET_SEC_FORGED, NULL, 0, VMM_NET_FW_DENY, NULL, 0, 0, \
	{ 0, 0, 0 }, { 0, 0, 0 }, 0, 0 }

/* ---- Ports ------------------------------------------------------------- */

enum {
	VMM_NET_PORT_EMBEDDER = 1,
	VMM_NET_PORT_VIRTIO = 2,
	VMM_NET_PORT_TAP = 3,
	VMM_NET_PORT_UPLINK = 4     /* VXLAN to other hosts: config.uplink */
};
enum { VMM_NET_PORT_TRUNK = 1u << 0 };

/* A frame for the port, untagged or 802.1Q-tagged as the port's VLAN mode
 * says; valid during the call only. */
typedef void (*vmm_net_rx_fn)(void *opaque, vmm_net_port *port, const void *frame,
			      size_t len);

typedef struct vmm_net_port_config {
	uint32_t size;              /* sizeof(vmm_net_port_config) */
	uint32_t kind;              /* VMM_NET_PORT_* */
	uint32_t flags;             /* VMM_NET_PORT_TRUNK */
	uint32_t vlan;              /* access: its VLAN; trunk: the native VLAN
				       (untagged frames), 0: none; 1..4094,
				       access default 1 */
	const uint16_t *trunk_vlans;    /* trunk: the VLANs allowed (1..4094) */
	uint32_t ntrunk;
	uint8_t mac[6];             /* the port's address; all zero: none (the
				       MAC-based policies then do not apply) */
	uint16_t reserved;
	vmm_net_rx_fn rx;           /* EMBEDDER: frames for the port */
	void *rx_opaque;
	const char *tap;            /* TAP: interface name */
	const vmm_net_policy *policy;   /* NULL: VMM_NET_POLICY_INIT */
	const char *name;           /* for messages; NULL: "portN" */
	/* Added in 1.2 (a config.size that ends before it means NULL): */
	const struct vmm_net_uplink_config *uplink;   /* UPLINK: the tunnel */
} vmm_net_port_config;
#define VMM_NET_PORT_CONFIG_INIT { sizeof(vmm_net_port_config), VMM_NET_PORT_EMBEDDER, 0, 0, \
	NULL, 0, { 0 }, 0, NULL, NULL, NULL, NULL, NULL, NULL }

VMM_API int vmm_net_port_create(vmm_switch *sw, const vmm_net_port_config *config,
				vmm_net_port **out);
/* Takes the port off its switch; its filters' detach callbacks run. A
 * virtio port's device keeps its memory until its VM is destroyed. */
VMM_API void vmm_net_port_destroy(vmm_net_port *port);
/* The port's id on its switch (1, 2, ...; never reused on that switch). */
VMM_API uint32_t vmm_net_port_id(const vmm_net_port *port);
/* EMBEDDER (and tests of any kind): hands a frame (untagged, or tagged on
 * a trunk) to the switch as if the endpoint sent it. 0 once handled, even
 * when a policy dropped it (see the counters); VMM_EINVAL for bad
 * arguments, VMM_ESTATE for a port taken off its switch. */
VMM_API int vmm_net_port_send(vmm_net_port *port, const void *frame, size_t len);
/* Replaces the port's policy; state (buckets, connections) is kept. */
VMM_API int vmm_net_port_set_policy(vmm_net_port *port, const vmm_net_policy *policy);
/* The endpoint changed its effective MAC address (the guest did). */
VMM_API int vmm_net_port_set_mac(vmm_net_port *port, const uint8_t mac[6]);

enum {
	VMM_NET_DROP_RUNT = 0,        /* shorter than an Ethernet header */
	VMM_NET_DROP_OVERSIZE = 1,    /* payload over the switch's MTU */
	VMM_NET_DROP_BAD_VLAN = 2,    /* malformed 802.1Q tag (VID 4095, short) */
	VMM_NET_DROP_VLAN = 3,        /* VLAN not allowed on the port */
	VMM_NET_DROP_BAD_SRC = 4,     /* multicast source MAC */
	VMM_NET_DROP_FORGED = 5,      /* forged transmit rejected */
	VMM_NET_DROP_MAC_CHANGE = 6,  /* MAC address change rejected */
	VMM_NET_DROP_SPOOF = 7,       /* anti-spoofing: source MAC or IPv4 */
	VMM_NET_DROP_ARP = 8,         /* ARP inspection */
	VMM_NET_DROP_SHAPED = 9,      /* over the shaper's rate */
	VMM_NET_DROP_FIREWALL = 10,   /* no rule allowed it, or one denied it */
	VMM_NET_DROP_MALFORMED = 11,  /* a header a policy parses lies */
	VMM_NET_DROP_FW_FULL = 12,    /* the connection table is full */
	VMM_NET_DROP_FILTER = 13,     /* a filter plugin said drop */
	VMM_NET_DROP_PLUGIN = 14,     /* a plugin's garbage answer */
	VMM_NET_DROP_NO_LINK = 15,    /* no endpoint attached (yet, or any more) */
	VMM_NET_DROP_LOOP = 16,       /* sent from callbacks nested too deep */
	VMM_NET_DROP_ENDPOINT = 17,   /* the endpoint refused it (no buffer, I/O) */
	VMM_NET_DROP_REASONS = 24
};
/* "runt", "oversize", ...; NULL for an unknown reason. */
VMM_API const char *vmm_net_drop_name(uint32_t reason);

typedef struct vmm_net_port_stats {
	uint32_t size;              /* sizeof(vmm_net_port_stats), set by the caller */
	uint32_t reserved;
	uint64_t in_frames, in_bytes;   /* offered by the endpoint */
	uint64_t out_frames, out_bytes; /* delivered to the endpoint (mirror copies too) */
	uint64_t in_dropped, out_dropped;
	uint64_t mirrored;          /* copies of this port's frames sent to the mirror */
	uint64_t queued;            /* frames a filter kept (VMM_NET_QUEUE) */
	uint64_t fw_conns;          /* connections tracked now */
	uint64_t drops[VMM_NET_DROP_REASONS];   /* by VMM_NET_DROP_*, both ways */
} vmm_net_port_stats;
VMM_API int vmm_net_port_stats_get(vmm_net_port *port, vmm_net_port_stats *stats);

/* A port's state, so it can follow its VM to another host: its policy
 * (not its mirror, which names a port of this switch), counters and the
 * firewall's tracked connections with the time each has left, as JSON
 * (docs/net.md). buf gets it NUL-terminated, *len its length; VMM_ERANGE
 * if cap is too small (*len says what is needed: call with cap 0 to ask),
 * VMM_ENOTSUP for a firewall rule whose mask is not a prefix. */
VMM_API int vmm_net_port_state_export(vmm_net_port *port, char *buf, size_t cap, size_t *len);
/* Applies an exported state to a port (of this switch or another host's):
 * the policy replaces its own (its mirror stays), the counters are added
 * to its, the connections are tracked again with their time left. The
 * JSON is checked whole first: VMM_EINVAL with what is wrong, and nothing
 * changed. */
VMM_API int vmm_net_port_state_import(vmm_net_port *port, const char *json);

/* ---- Uplinks: VXLAN (RFC 7348) ----------------------------------------- *
 *
 * An uplink port carries the switch's VLANs to other hosts, each VLAN of
 * its map as one VXLAN network (VNI), over UDP (port 4789 unless told
 * otherwise) and IPv4. It interoperates with Linux's vxlan device. Frames
 * for unknown or broadcast/multicast destinations go to every remote
 * tunnel endpoint (VTEP) of the flood list that carries the VNI (head-end
 * replication; no multicast underlay); the source MAC of every frame
 * received is learned with the VTEP it came from (and ages as the
 * switch's MAC table does), so known unicast goes to that VTEP only.
 * Received datagrams that are short, carry other flags than I (0x08 in the
 * first byte: GPE/GBP are not spoken), an unmapped VNI or an 802.1Q-tagged
 * inner frame are dropped and counted (vmm_net_uplink_stats); the reserved
 * fields are ignored, as the RFC says. The uplink is a trunk of the mapped
 * VLANs (no native VLAN); its vlan/flags/trunk_vlans must be 0. */
typedef struct vmm_net_vni {
	uint32_t vlan;              /* 1..4094 */
	uint32_t vni;               /* 1..16777215 */
} vmm_net_vni;

enum {
	VMM_NET_UPLINK_KNOWN_ONLY = 1u << 0,   /* take datagrams only from VTEPs of
						  the flood list */
	VMM_NET_UPLINK_NO_LEARN = 1u << 1      /* never learn remote MACs: flood
						  every frame to the flood list */
};

typedef struct vmm_net_uplink_config {
	uint32_t size;              /* sizeof(vmm_net_uplink_config) */
	uint32_t flags;             /* VMM_NET_UPLINK_* */
	const char *local;          /* IPv4 address to bind ("10.0.0.1"); NULL: any */
	uint32_t udp_port;          /* 0: 4789; bound here and sent to on remotes */
	uint32_t nvnis;             /* up to 4094 */
	const vmm_net_vni *vnis;    /* VLAN -> VNI; each VLAN and each VNI once */
	const char *const *remotes; /* the first flood list: IPv4 addresses, all VNIs */
	uint32_t nremotes;          /* up to 4096 */
	uint32_t reserved;
} vmm_net_uplink_config;
#define VMM_NET_UPLINK_CONFIG_INIT { sizeof(vmm_net_uplink_config), 0, NULL, 0, 0, NULL, \
	NULL, 0, 0 }

/* Adds a remote VTEP (IPv4 address) to the flood list of one VNI, or of
 * every VNI with vni 0. Adding it again is no error. */
VMM_API int vmm_net_uplink_add_remote(vmm_net_port *uplink, const char *addr, uint32_t vni);
/* Removes that entry (VMM_ENOENT if absent); when the address has no
 * entry left, the MACs learned behind it are forgotten too. */
VMM_API int vmm_net_uplink_remove_remote(vmm_net_port *uplink, const char *addr,
					 uint32_t vni);
/* Replaces the VLAN -> VNI map (n up to 4094; 0 empties it). */
VMM_API int vmm_net_uplink_set_vnis(vmm_net_port *uplink, const vmm_net_vni *vnis,
				    uint32_t n);

typedef struct vmm_net_uplink_stats {
	uint32_t size;              /* sizeof(vmm_net_uplink_stats), set by the caller */
	uint32_t remotes;           /* flood list entries now */
	uint32_t vnis;              /* VLAN -> VNI entries now */
	uint32_t reserved;
	uint64_t tx_datagrams, tx_bytes;   /* sent (a flooded frame counts once per VTEP) */
	uint64_t tx_flooded;        /* frames sent to the flood list */
	uint64_t tx_errors;         /* the socket refused a datagram */
	uint64_t tx_no_vni;         /* frames of a VLAN the map lost meanwhile */
	uint64_t rx_datagrams, rx_bytes;   /* received, well-formed or not */
	uint64_t rx_short;          /* under 8 + 14 bytes */
	uint64_t rx_flags;          /* the I flag missing, or another flag set */
	uint64_t rx_unknown_vni;    /* a VNI not in the map */
	uint64_t rx_inner_tagged;   /* an 802.1Q/802.1ad tag in the inner frame */
	uint64_t rx_oversize;       /* longer than the switch's MTU allows */
	uint64_t rx_unknown_remote; /* KNOWN_ONLY: from a VTEP not in the flood list */
	uint64_t learned;           /* remote MACs learned or moved to another VTEP */
} vmm_net_uplink_stats;
VMM_API int vmm_net_uplink_stats_get(vmm_net_port *uplink, vmm_net_uplink_stats *stats);

/* ---- The distributed switch: one configuration in etcd ----------------- *
 *
 * A switch joins a cluster: the configuration of a switch of that name
 * lives in etcd (its v3 API, through etcd's JSON gateway over HTTP) under
 * <prefix>switch/<name>/ (docs/net.md has the layout and the JSON):
 *   config        {"mtu": 1500, "udp_port": 4789}     checked at join
 *   vni/<vlan>    {"vni": 5010}                       the VLAN -> VNI map
 *   group/<name>  {"vlan": 10, "policy": {...}}       a port group; or
 *                 {"trunk": [10, 20], "native": 0, ...}
 *   host/<name>   {"vtep": "10.0.0.1"}                a member host, kept by its
 *                                                    lease
 * The joining host reads it all, writes its own host key with a lease it
 * keeps alive, and watches the prefix from the cluster's thread
 * ("vmm-swetcd", started by vmm_switch_join_cluster, joined by
 * vmm_net_cluster_leave or vmm_switch_destroy): a group's policy changed
 * in etcd is applied to this host's ports of that group, the VNI map to
 * the uplink, member hosts come and go in the uplink's flood list (a host
 * that leaves or whose lease expires is removed). If etcd is unreachable
 * the switch keeps its last configuration and the thread reconnects and
 * reads everything again. A value that does not parse is refused (the
 * last good one stays) with a message to the switch's log. */
typedef struct vmm_net_cluster vmm_net_cluster;

enum {                                 /* events, with the key's name */
	VMM_NET_CLUSTER_SYNCED = 1,        /* the whole configuration was read ("") */
	VMM_NET_CLUSTER_LOST = 2,          /* etcd is unreachable; retrying ("") */
	VMM_NET_CLUSTER_GROUP = 3,         /* a group was added or changed (its name) */
	VMM_NET_CLUSTER_GROUP_GONE = 4,    /* a group was deleted: its ports keep
					      their last policy */
	VMM_NET_CLUSTER_HOST_UP = 5,       /* a member host (its name) */
	VMM_NET_CLUSTER_HOST_DOWN = 6,     /* left, or its lease expired */
	VMM_NET_CLUSTER_VNIS = 7,          /* the VNI map changed ("") */
	VMM_NET_CLUSTER_REFUSED = 8        /* a value was refused (its key) */
};
/* Called on the cluster's thread after a change is applied; it must not
 * call vmm_net_cluster_leave (other calls are fine). */
typedef void (*vmm_net_cluster_event_fn)(void *opaque, uint32_t event, const char *name);

typedef struct vmm_net_cluster_config {
	uint32_t size;              /* sizeof(vmm_net_cluster_config) */
	uint32_t flags;             /* 0 */
	const char *etcd;           /* "http://127.0.0.1:2379" (plain http) */
	const char *prefix;         /* NULL: "/vmm/" */
	const char *name;           /* the switch's name in the cluster */
	const char *host;           /* this host's name, unique in the cluster */
	const char *vtep;           /* this host's tunnel address as the others
				       reach it (IPv4) */
	vmm_net_port *uplink;       /* the switch's uplink (its map and flood list
				       are the cluster's from now on) */
	uint32_t lease_ttl_s;       /* the host key's lease, 0: 10; 2..3600 */
	uint32_t timeout_ms;        /* each etcd request, 0: 5000 */
	vmm_net_cluster_event_fn event; /* NULL: none */
	void *event_opaque;
} vmm_net_cluster_config;
#define VMM_NET_CLUSTER_CONFIG_INIT { sizeof(vmm_net_cluster_config), 0, NULL, NULL, NULL, \
	NULL, NULL, NULL, 0, 0, NULL, NULL }

/* Joins: reads the configuration, registers this host (VMM_EBUSY if a
 * live host of that name has another VTEP), starts the watch. VMM_EIO
 * when etcd cannot be reached, VMM_EINVAL for a config etcd contradicts
 * (the switch's MTU, the uplink's UDP port). One cluster per switch. */
VMM_API int vmm_switch_join_cluster(vmm_switch *sw, const vmm_net_cluster_config *config,
				    vmm_net_cluster **out);
/* Leaves: revokes this host's lease (the others drop it from their flood
 * lists at once), joins the thread. The ports stay, with their policy. */
VMM_API void vmm_net_cluster_leave(vmm_net_cluster *cl);
/* A port of a group: config gives the endpoint (kind, rx, mac, name ...);
 * the VLANs and the policy are the group's (config's vlan, flags,
 * trunk_vlans and policy must be 0/NULL), and follow its policy. Destroy
 * it with vmm_net_port_destroy. VMM_ENOENT: no such group (yet). */
VMM_API int vmm_net_cluster_port_create(vmm_net_cluster *cl, const char *group,
					const vmm_net_port_config *config, vmm_net_port **out);
/* Writes one key of this switch's configuration ("config", "vni/10",
 * "group/web"; host keys are the hosts' own) after checking the JSON as
 * every host will: the way to seed etcd from a file. */
VMM_API int vmm_net_cluster_put(vmm_net_cluster *cl, const char *key, const char *json);
VMM_API int vmm_net_cluster_delete(vmm_net_cluster *cl, const char *key);

typedef struct vmm_net_cluster_stats {
	uint32_t size;              /* sizeof(vmm_net_cluster_stats), set by the caller */
	uint32_t connected;         /* 1 while the watch is up */
	uint32_t hosts;             /* member hosts, this one included */
	uint32_t groups;
	uint32_t vnis;
	uint32_t ports;             /* this host's live ports of groups */
	uint64_t revision;          /* the etcd revision applied */
	uint64_t changes;           /* keys applied (added, changed, deleted) */
	uint64_t refused;           /* values refused */
	uint64_t syncs;             /* whole reads (1 at join, 1 per reconnection) */
	uint64_t lease_renewals;
	uint64_t lease_regrants;    /* the lease was lost (etcd down longer than
				       its TTL) and the host key written again */
} vmm_net_cluster_stats;
VMM_API int vmm_net_cluster_stats_get(vmm_net_cluster *cl, vmm_net_cluster_stats *stats);

/* ---- Plugins ----------------------------------------------------------- */

/* A frame as filters and the forwarder see it: untagged, its VLAN aside. */
typedef struct vmm_net_frame {
	uint32_t size;              /* sizeof(vmm_net_frame) */
	uint32_t dir;               /* VMM_NET_IN / VMM_NET_OUT */
	uint8_t *data;              /* Ethernet header first */
	uint32_t len;               /* a filter returning MODIFY may change it, 14..cap */
	uint32_t cap;               /* bytes writable at data */
	uint32_t vlan;              /* 1..4094 */
	uint32_t pcp;               /* 802.1p priority 0..7 */
	uint64_t now_ns;            /* the switch's clock */
} vmm_net_frame;

enum {
	VMM_NET_PASS = 0,           /* unchanged */
	VMM_NET_DROP = 1,           /* counted as VMM_NET_DROP_FILTER */
	VMM_NET_MODIFY = 2,         /* data/len changed in place; checked again */
	VMM_NET_QUEUE = 3           /* the filter kept a copy; it may hand it back
				       with vmm_net_filter_reinject */
};

#define VMM_NET_FILTER_VERSION 1
/* An inline filter; the table is copied. Grows at the end. */
typedef struct vmm_net_filter {
	uint32_t version;           /* VMM_NET_FILTER_VERSION */
	uint32_t reserved;
	const char *name;           /* for messages; copied */
	/* VMM_NET_PASS / DROP / MODIFY / QUEUE; anything else disables it. */
	int32_t (*filter)(void *opaque, vmm_net_port *port, vmm_net_frame *frame);
	/* The filter left its port (removed, port destroyed); may be NULL. */
	void (*detach)(void *opaque);
} vmm_net_filter;

/* Adds a filter after the port's built-in policies (and earlier filters)
 * on the directions in dirs (VMM_NET_DIR_*); *id names it. */
VMM_API int vmm_net_filter_add(vmm_net_port *port, uint32_t dirs,
			       const vmm_net_filter *filter, void *opaque, uint32_t *id);
VMM_API int vmm_net_filter_remove(vmm_net_port *port, uint32_t id);
/* 1 while the filter is active, 0 once disabled for a garbage answer,
 * VMM_ENOENT if there is no such filter on the port. */
VMM_API int vmm_net_filter_active(vmm_net_port *port, uint32_t id);
/* A frame a filter queued continues after that filter in direction dir. */
VMM_API int vmm_net_filter_reinject(vmm_net_port *port, uint32_t id, uint32_t dir,
				    const void *frame, size_t len, uint32_t vlan);

enum { VMM_NET_FWD_BUILTIN = -1 };
#define VMM_NET_FORWARDER_VERSION 1
/* A forwarding plugin; the table is copied. Grows at the end. */
typedef struct vmm_net_forwarder {
	uint32_t version;           /* VMM_NET_FORWARDER_VERSION */
	uint32_t reserved;
	const char *name;
	/* Where a frame that passed its port's IN filters goes: write up to
	 * max port ids into ports[] and return how many (0: dropped), or
	 * VMM_NET_FWD_BUILTIN for the switch's own decision. Ports outside
	 * the frame's VLAN and the source port are skipped; a count out of
	 * range or an id that is no port disables the plugin. */
	int32_t (*forward)(void *opaque, vmm_switch *sw, vmm_net_port *from,
			   const vmm_net_frame *frame, uint32_t *ports, uint32_t max);
} vmm_net_forwarder;
/* Sets (NULL: removes) the switch's forwarding plugin. */
VMM_API int vmm_switch_set_forwarder(vmm_switch *sw, const vmm_net_forwarder *fwd,
				     void *opaque);

#ifdef __cplusplus
}
#endif
#endif /* VMM_NET_H */
