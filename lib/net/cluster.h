/* cluster.h - the distributed switch's internals: the JSON values of the
 * cluster's keys (cluster_cfg.c) and the cluster itself (cluster.c,
 * cluster_sync.c). */
#ifndef VMM_NET_CLUSTER_H
#define VMM_NET_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm.h"

#define CL_NAME_MAX 63                 /* group and host names */
#define CL_ERR 256
#define CL_GROUPS_MAX 4096u            /* a group's parsed form is ~8 KiB */
#define CL_KEYS_MAX 16384u             /* config, 4094 VNIs, groups, hosts */

/* A port group as its key says. */
typedef struct vmm__cl_group {
	uint32_t vlan;                     /* access VLAN, or a trunk's native (0: none) */
	bool trunk;
	uint16_t trunk_vlans[4094];
	uint32_t ntrunk;
	vmm_net_policy pol;                /* its arrays point below */
	uint32_t ipv4[64];
	vmm_net_fw_rule *rules;
} vmm__cl_group;

enum { CL_KEY_UNKNOWN = 0, CL_KEY_CONFIG, CL_KEY_VNI, CL_KEY_GROUP, CL_KEY_HOST };

/* What a key (relative to <prefix>switch/<name>/) is: CL_KEY_*, the name
 * after "group/" or "host/", the VLAN after "vni/". */
int vmm__cl_key(const char *rel, const char **name, uint32_t *vlan);
/* Parsers: 0, or -1 with the reason in err (CL_ERR bytes). */
int vmm__cl_group_parse(const char *json, vmm__cl_group *g, char *err);
/* A policy object alone, into g->pol (g zeroed, g->pol VMM_NET_POLICY_INIT first). */
struct json_object;
int vmm__cl_policy_parse(struct json_object *pol, vmm__cl_group *g, char *err);
void vmm__cl_group_free(vmm__cl_group *g);
int vmm__cl_vni_parse(const char *json, uint32_t *vni, char *err);
int vmm__cl_host_parse(const char *json, uint32_t *addr, char *err);   /* network order */
int vmm__cl_config_parse(const char *json, uint32_t *mtu, uint32_t *udp_port, char *err);
/* Any key's value, as the hosts will parse it. */
int vmm__cl_check(const char *rel, const char *json, char *err);

/* ---- the cluster (cluster.c: the API; cluster_sync.c: the thread) ---- */
#include <pthread.h>

#include "lib/net/etcd.h"
#include "lib/net/http.h"

typedef struct vmm__cl_entry {
	char *rel;                         /* key under the switch's prefix */
	char *value;
	int kind;                          /* CL_KEY_* */
	uint32_t vlan, vni;                /* VNI */
	uint32_t addr;                     /* HOST: its VTEP, network order */
	vmm__cl_group *group;              /* GROUP */
} vmm__cl_entry;

typedef struct vmm__cl_port {
	vmm_net_port *port;                /* a reference of ours */
	char group[CL_NAME_MAX + 1];
} vmm__cl_port;

typedef struct vmm__cl_event {
	uint32_t ev;
	char name[CL_NAME_MAX + 1];
} vmm__cl_event;

struct vmm_net_cluster {
	vmm_switch *sw;
	vmm_net_port *uplink;              /* a reference of ours */
	vmm__etcd etcd;                    /* the thread's: stop_fd cuts it short */
	char *base;                        /* "<prefix>switch/<name>/" */
	char host[CL_NAME_MAX + 1];
	char host_value[64];               /* {"vtep": "..."} */
	uint32_t vtep;                     /* network order */
	uint32_t ttl_s;
	int64_t lease;
	vmm_net_cluster_event_fn event;
	void *event_opaque;
	pthread_mutex_t lock;              /* everything below */
	vmm__cl_entry *e;
	size_t ne, cape;
	vmm__cl_port *ports;
	size_t nports, capports;
	vmm__cl_event *q;                  /* events to deliver, after the lock */
	size_t nq, capq;
	bool reregister;                   /* our host key went away */
	vmm_net_cluster_stats st;
	/* the thread */
	pthread_t thread;
	bool started;
	int stop_fd;
	vmm__http watch;
	bool watching;
};
typedef struct vmm_net_cluster vmm__cluster;

/* cluster_sync.c; under cl->lock unless said */
int vmm__cl_sync(vmm__cluster *cl);                /* range, apply; not locked */
void vmm__cl_put(vmm__cluster *cl, const char *rel, const char *value);
void vmm__cl_del(vmm__cluster *cl, const char *rel);
int vmm__cl_register(vmm__cluster *cl);            /* the host key; not locked */
void vmm__cl_deliver(vmm__cluster *cl);            /* queued events; not locked */
void *vmm__cl_thread(void *arg);
void vmm__cl_log(vmm__cluster *cl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
vmm__cl_entry *vmm__cl_find(vmm__cluster *cl, const char *rel);
void vmm__cl_entry_free(vmm__cl_entry *e);

#endif /* VMM_NET_CLUSTER_H */
