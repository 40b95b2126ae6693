/* net.h - the virtual switch's internals (lib/net/): the switch and its
 * port table (switch.c), grace periods (rcu.c), the MAC table (fdb.c),
 * VLAN tags (vlan.c), the data path (forward.c), ports and endpoints
 * (port.c, port_tap.c), filter chains (plugin.c), built-in policies
 * (policy_*.c, mirror.c), counters (counters.c), frame parsing (parse.c). */
#ifndef VMM_NET_INTERNAL_H
#define VMM_NET_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/internal.h"
#include "lib/virtio/iothread.h"

#define SW_HEADROOM 16u                /* in front of every delivered frame: a tag
					  and a virtio-net header fit */
#define SW_MAX_FRAME (VMM_NET_MTU_MAX + 14u + 4u)
#define SW_MAX_DEPTH 4                 /* nested sends from callbacks */
#define SW_RCU_SLOTS 32

typedef struct vmm_net_port vmm__sw_port;

/* A lock for a few instructions on the data path (firewall connections):
 * one atomic exchange to take, a store to give. */
typedef struct {
	atomic_flag f;
} vmm__spin;
#define VMM__SPIN_INIT { ATOMIC_FLAG_INIT }
void vmm__spin_wait(vmm__spin *l);
static inline void vmm__spin_lock(vmm__spin *l)
{
	if (atomic_flag_test_and_set_explicit(&l->f, memory_order_acquire))
		vmm__spin_wait(l);
}
static inline void vmm__spin_unlock(vmm__spin *l)
{
	atomic_flag_clear_explicit(&l->f, memory_order_release);
}

/* ---- grace periods (rcu.c) ---- */
typedef struct {
	_Alignas(64) atomic_uint_fast64_t n;
} vmm__rcu_slot;
typedef struct vmm__rcu {
	atomic_uint epoch;
	vmm__rcu_slot slot[2][SW_RCU_SLOTS];
} vmm__rcu;
/* The reader's epoch and thread index (its slot: the index modulo 32).
 * Two words, returned in registers: a third went through the stack, and
 * loading two of them as one word from two stores stalled every frame. */
typedef struct { unsigned epoch, tid; } vmm__rcu_token;
vmm__rcu_token vmm__rcu_enter(vmm__rcu *r);
void vmm__rcu_exit(vmm__rcu *r, vmm__rcu_token t);
void vmm__rcu_sync(vmm__rcu *r);       /* waits out every reader in flight */
/* This thread's small index: the lowest free one, given back when the
 * thread exits (so at most one live thread holds an index); from 1024 on
 * never reused. */
unsigned vmm__thread_id(void);

/* ---- filters (plugin.c) ---- */
typedef struct vmm__filt {
	vmm_net_filter ops;                /* copied */
	char name[32];
	void *opaque;
	uint32_t id, dirs;
	atomic_bool disabled;
	bool builtin;
} vmm__filt;
typedef struct vmm__chain {
	uint32_t n;
	vmm__filt *f[];
} vmm__chain;

/* ---- policy (port.c keeps it, policy_*.c read it) ---- */
typedef struct vmm__fw_conn vmm__fw_conn;
typedef struct vmm__policy {
	vmm_net_policy p;                  /* pointers below point into this */
	uint32_t ipv4[64];
	vmm_net_fw_rule *rules;
	struct vmm__shaper {               /* by direction (policy_shaping.c) */
		struct vmm__gcra {
			uint64_t cap;      /* bytes; 0: this bucket is off */
			uint64_t rate_q;   /* bytes per ns << 48 */
			uint64_t a0, t0;   /* its byte clock: a0 at t0 (ns), then rate */
		} b[2];                    /* average, peak */
		uint64_t batch;            /* bytes a thread takes at once */
	} shape[2];
	uint64_t serial;                   /* unique among every policy ever made */
	uint32_t run[2];                   /* VMM__RUN_*, by direction, for the port */
} vmm__policy;
enum { VMM__RUN_SEC = 1, VMM__RUN_SPOOF = 2, VMM__RUN_FW = 4, VMM__RUN_SHAPE = 8 };

/* One thread's shaping credit on one port (taken from the buckets, spent
 * without atomics): a cache line, for thread index i < SW_CREDIT_SLOTS. */
#define SW_CREDIT_SLOTS 32
typedef struct vmm__credit {
	_Alignas(64) uint64_t serial;      /* the policy it was taken under */
	uint64_t left[2];                  /* bytes, by direction */
} vmm__credit;

typedef struct vmm__fw {
	vmm__spin lock;                    /* writers; readers check seq */
	atomic_uint seq;                   /* odd while a connection is replaced */
	vmm__fw_conn *conns;               /* open addressing, cap entries */
	uint32_t cap, count;
} vmm__fw;

/* An endpoint: where OUT frames go. Replaced whole (RCU). Returns 0, or -1
 * when the endpoint refused the frame. The 12 bytes in front of frame are
 * the endpoint's to write (a virtio-net header). */
typedef struct vmm__endpoint {
	int (*deliver)(void *opaque, vmm__sw_port *p, uint8_t *frame, size_t len);
	void *opaque;
} vmm__endpoint;

struct vmm_switch {
	vmm__rcu rcu;
	pthread_mutex_t ctl;               /* control calls, one at a time */
	atomic_int refs;                   /* the embedder's + one per port */
	uint32_t mtu;
	uint64_t ageing_ns;
	vmm_net_log_fn log;
	void *log_opaque;
	vmm_net_clock_fn clock;
	void *clock_opaque;
	_Atomic(struct vmm__ptable *) ports;
	struct vmm__fdb *fdb;
	_Atomic(struct vmm__fwd *) fwd;
	vmm__sw_port *uplink;              /* the VXLAN uplink, under ctl */
	struct vmm_net_cluster *cluster;   /* vmm_switch_join_cluster's, under ctl */
	uint32_t next_id;
	atomic_uint npromisc;              /* ports accepting promiscuous mode */
	atomic_uint_fast64_t frames, flooded, learned, fdb_full, plugin_disabled;
};

typedef struct vmm__ptable {
	uint32_t n;
	vmm__sw_port *p[];                 /* live ports, by creation */
} vmm__ptable;

typedef struct vmm__fwd {
	vmm_net_forwarder ops;
	char name[32];
	void *opaque;
	atomic_bool disabled;
} vmm__fwd;

struct vmm_net_port {
	vmm_switch *sw;
	atomic_int refs;                   /* the embedder's (+ a device's) */
	atomic_bool live;                  /* on the switch's table */
	uint32_t id, kind, flags;
	uint32_t vlan;                     /* access VLAN, or trunk native (0 none) */
	uint8_t trunk[512];                /* trunk: allowed VLAN bitmap */
	uint8_t mac[6];                    /* configured; zero: none */
	_Atomic uint64_t eff_mac;          /* effective, packed (mac_pack) */
	bool has_mac;
	char name[32];
	_Atomic(vmm__policy *) policy;
	_Atomic(vmm__chain *) chain[2];
	_Atomic(vmm__endpoint *) ep;
	vmm__filt *builtin[2][8];          /* the built-in filters, for chains */
	uint32_t nbuiltin[2];
	vmm__filt **filt;                  /* the embedder's filters, under ctl */
	uint32_t nfilt;
	_Atomic uint64_t tat[2][2];        /* [dir][avg, peak]: bytes, policy_shaping.c */
	vmm__credit *credit;               /* SW_CREDIT_SLOTS, once shaping was on */
	vmm__fw fw;
	atomic_bool promisc;               /* counted in sw->npromisc */
	/* embedder */
	vmm_net_rx_fn rx;
	void *rx_opaque;
	/* tap */
	int tap_fd;
	vmm__iothread io;
	uint8_t *tap_buf;
	vmm__endpoint own_ep;              /* the endpoint of EMBEDDER / TAP */
	struct vmm__vxlan *vx;             /* UPLINK (vxlan.c) */
	void (*on_free)(vmm__sw_port *p);
	/* counters */
	atomic_uint_fast64_t in_frames, in_bytes, out_frames, out_bytes;
	atomic_uint_fast64_t mirrored, queued;
	atomic_uint_fast64_t drops[VMM_NET_DROP_REASONS];
	atomic_uint_fast64_t in_dropped, out_dropped;
};

/* ---- switch.c ---- */
uint64_t vmm__sw_now(vmm_switch *sw);            /* coarse, or the embedder's */
uint64_t vmm__sw_now_precise(vmm_switch *sw);
void vmm__sw_log(vmm_switch *sw, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
vmm__sw_port *vmm__sw_port_by_id(vmm_switch *sw, uint32_t id);   /* under rcu */
int vmm__sw_table_add(vmm_switch *sw, vmm__sw_port *p);          /* under ctl */
void vmm__sw_table_del(vmm_switch *sw, vmm__sw_port *p);         /* under ctl */
void vmm__sw_unref(vmm_switch *sw);

/* ---- port.c ---- */
void vmm__port_unref(vmm__sw_port *p);
int vmm__port_set_endpoint(vmm__sw_port *p, const vmm__endpoint *ep);   /* NULL: detach */
int vmm__port_rebuild(vmm__sw_port *p);                          /* under ctl */

/* ---- fdb.c ---- */
struct vmm__fdb *vmm__fdb_new(uint32_t size);
void vmm__fdb_free(struct vmm__fdb *f);
/* 1 a new entry or a move, 0 refreshed, -1 full. */
int vmm__fdb_learn(struct vmm__fdb *f, uint64_t mac, uint32_t vlan, uint32_t port,
		   uint64_t now, uint64_t ageing);
uint32_t vmm__fdb_lookup(struct vmm__fdb *f, uint64_t mac, uint32_t vlan, uint64_t now,
			 uint64_t ageing);                        /* 0: unknown */
/* Forgets every entry whose value is value (a VTEP that left). A learner
 * racing it on the same entry may leave one stale value, corrected by
 * that MAC's next frame. */
void vmm__fdb_forget(struct vmm__fdb *f, uint32_t value);

/* ---- vxlan.c ---- */
int vmm__vx_open(vmm__sw_port *p, const vmm_net_uplink_config *u);   /* before attach */
int vmm__vx_start(vmm__sw_port *p);                              /* after attach */
void vmm__vx_stop(vmm__sw_port *p);                              /* joins the thread */
void vmm__vx_free(vmm__sw_port *p);
uint32_t vmm__vx_udp_port(const vmm__sw_port *p);

/* ---- cluster.c ---- */
void vmm__cluster_leave_switch(vmm_switch *sw);                 /* switch destroy */

/* ---- vlan.c ---- */
/* Classifies an IN frame: its VLAN and priority, and where its untagged
 * body starts. 0 or VMM__DROP_AS + a VMM_NET_DROP_* reason. */
typedef struct vmm__l2 {
	uint32_t vlan, pcp;
	size_t tag_at;                     /* 0: untagged; 12: a tag at 12..16 */
} vmm__l2;
int vmm__vlan_classify(const vmm__sw_port *p, const uint8_t *f, size_t len, vmm__l2 *l2);
bool vmm__vlan_member(const vmm__sw_port *p, uint32_t vlan);
bool vmm__vlan_tagged(const vmm__sw_port *p, uint32_t vlan);   /* egress tag? */
/* Inserts a tag at 12, using the 4 bytes in front of *frame. */
void vmm__vlan_push(uint8_t **frame, size_t *len, uint32_t vlan, uint32_t pcp);
int vmm__vlan_trunk_set(vmm__sw_port *p, const uint16_t *vlans, uint32_t n);

/* ---- forward.c ---- */
/* A frame the endpoint of p sent; start: the first filter to run. */
void vmm__fwd_input(vmm__sw_port *p, const uint8_t *frame, size_t len);
int vmm__fwd_reinject(vmm__sw_port *p, uint32_t filter_id, uint32_t dir,
		      const uint8_t *frame, size_t len, uint32_t vlan);
/* This thread's spare buffer of the current level (SW_HEADROOM in front). */
uint8_t *vmm__fwd_scratch(void);
/* Hands a frame to p's endpoint directly (mirror copies); frame has
 * SW_HEADROOM bytes in front. */
void vmm__fwd_to_endpoint(vmm__sw_port *p, uint8_t *frame, size_t len, uint32_t vlan,
			  uint32_t pcp);

/* ---- plugin.c ---- */
/* Runs the chain from index start: VMM_NET_PASS, DROP (counted),
 * QUEUE (counted). */
int vmm__chain_run(vmm__sw_port *p, vmm__chain *c, uint32_t start, vmm_net_frame *f);
vmm__filt *vmm__filt_builtin(const char *name, int32_t (*fn)(void *, vmm_net_port *,
							      vmm_net_frame *), void *opaque);
void vmm__filt_release_all(vmm__sw_port *p);                        /* port destroy */
/* The built-in filters of a direction for the port's policy, in order
 * (one: vmm__policy_run, if pol->run[dir] has any). */
uint32_t vmm__policy_mask(const vmm__sw_port *p, const vmm__policy *pol, uint32_t dir);
int32_t vmm__policy_run(void *opaque, vmm_net_port *port, vmm_net_frame *f);
uint32_t vmm__policy_builtins(vmm__sw_port *p, const vmm__policy *pol, uint32_t dir,
			      vmm__filt **out);

/* ---- counters.c ---- */
static inline void vmm__count_drop(vmm__sw_port *p, uint32_t dir, uint32_t reason)
{
	atomic_fetch_add_explicit(&p->drops[reason], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(dir == VMM_NET_IN ? &p->in_dropped : &p->out_dropped, 1,
				  memory_order_relaxed);
}

/* ---- parse.c ---- */
typedef struct vmm__ip4 {
	uint32_t src, dst;                 /* host order */
	uint8_t proto;
	bool fragment;                     /* not the first fragment */
	uint16_t sport, dport;             /* TCP/UDP; ICMP echo: id, id */
	uint8_t tcp_flags, icmp_type;
	bool l4;                           /* sport.. valid */
} vmm__ip4;
#define ETH_IPV4 0x0800u
#define ETH_ARP 0x0806u
#define ETH_VLAN 0x8100u
static inline uint16_t vmm__be16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}
static inline uint32_t vmm__be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}
static inline uint64_t vmm__mac_pack(const uint8_t *m)
{
	return (uint64_t)m[0] << 40 | (uint64_t)m[1] << 32 | (uint64_t)m[2] << 24 |
	       (uint64_t)m[3] << 16 | (uint64_t)m[4] << 8 | m[5];
}
/* 1 parsed (IPv4), 0 not IPv4, -1 malformed (lengths lie). */
int vmm__parse_ip4(const uint8_t *f, size_t len, bool want_l4, vmm__ip4 *ip);

/* A frame on its way through the chains: the public frame the filters
 * see, and what the built-in policies parsed of it, shared by all of them
 * (both directions: an OUT copy starts with the IN frame's). Whatever an
 * embedder's filter returns, the parse is forgotten after it (it may have
 * written the frame). */
typedef struct vmm__frame {
	vmm_net_frame f;                   /* first: filters get &f */
	bool parsed, hashed;
	int8_t r3, r4;                     /* vmm__parse_ip4 without, with L4 */
	uint32_t tslot;                    /* the sender's credit slot + 1, 0: none */
	uint32_t hash;                     /* the firewall's (policy_firewall.c) */
	vmm__ip4 ip;
} vmm__frame;
static inline vmm__frame *vmm__frame_of(vmm_net_frame *f)
{
	return (vmm__frame *)f;        /* every frame a chain runs on is one */
}
void vmm__frame_parse(vmm__frame *fr);
/* vmm__parse_ip4 of the frame, parsed at most once; *ip stays valid. */
static inline int vmm__frame_ip4(vmm__frame *fr, bool want_l4, const vmm__ip4 **ip)
{
	if (!fr->parsed)
		vmm__frame_parse(fr);
	*ip = &fr->ip;
	return want_l4 ? fr->r4 : fr->r3;
}

/* ---- policies ---- */
int32_t vmm__sec_in(void *opaque, vmm_net_port *port, vmm_net_frame *f);
int32_t vmm__sec_out(void *opaque, vmm_net_port *port, vmm_net_frame *f);
int32_t vmm__antispoof_in(void *opaque, vmm_net_port *port, vmm_net_frame *f);
int32_t vmm__shape(void *opaque, vmm_net_port *port, vmm_net_frame *f);
/* Under ctl, before pol replaces old (NULL: a new port): pol's byte clocks
 * carry on the buckets' bytes; the credit slots once shaping is on. */
int vmm__shape_install(vmm__sw_port *p, vmm__policy *pol, const vmm__policy *old);
int32_t vmm__firewall(void *opaque, vmm_net_port *port, vmm_net_frame *f);
int32_t vmm__mirror(void *opaque, vmm_net_port *port, vmm_net_frame *f);
int vmm__fw_init(vmm__fw *fw, uint32_t cap);
void vmm__fw_fini(vmm__fw *fw);
/* (port_state.h: the firewall's connections as they move with a port) */
/* Built-in filters report their drop reason here instead of VMM_NET_DROP. */
enum { VMM__DROP_AS = 0x100 };          /* returns VMM__DROP_AS + reason */

#endif /* VMM_NET_INTERNAL_H */
