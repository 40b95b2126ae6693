/* config.h - `vmm up CONFIG.json`: the VMs a JSON file describes
 * (docs/config.md). cli/config.c reads the file and its top level,
 * cli/config_vm.c the keys of one VM. Parsing is strict: an unknown key, a
 * value of the wrong type or out of range is an error naming the key's
 * path ("vms[1].nets[0].mac: ..."). */
#ifndef VMM_CLI_CONFIG_H
#define VMM_CLI_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "vmm.h"

#define CFG_MAX_VMS 16
#define CFG_MAX_DISKS 8
#define CFG_MAX_NETS 8
#define CFG_MAX_FWD 16
#define CFG_NAME_MAX 32

enum { CFG_OUT_NONE, CFG_OUT_STDOUT, CFG_OUT_FILE };
#define CFG_MAX_SWITCHES 8
#define CFG_MAX_PORTS 64          /* per switch */
#define CFG_CL_NAME_MAX 63        /* cluster, host and group names (vmm/net.h) */
#define CFG_MAX_REMOTES 4096      /* an uplink's flood list */

enum { CFG_NET_PAIR = 1, CFG_NET_TAP, CFG_NET_USER, CFG_NET_SWITCH };

typedef struct cfg_out {
	int kind;                 /* CFG_OUT_* */
	char *path;               /* CFG_OUT_FILE */
} cfg_out;

typedef struct cfg_disk {
	char *path;
	int readonly;
	char *serial;             /* NULL: none */
} cfg_disk;

typedef struct cfg_net {
	int kind;                 /* CFG_NET_* */
	char *name;               /* pair name, tap interface or switch name */
	char *port;               /* CFG_NET_SWITCH: the port's name */
	uint32_t sw, sw_port;     /* CFG_NET_SWITCH: resolved indexes */
	uint8_t mac[6];           /* all zero: chosen by libvmm */
	uint16_t mtu;             /* 0: default */
	int no_offload;
	vmm_net_fwd fwd[CFG_MAX_FWD];
	uint32_t nfwd;
} cfg_net;

typedef struct cfg_vm {
	char name[CFG_NAME_MAX + 1];
	char backend[16];         /* "auto", "emu", "kvm" */
	uint32_t cpus;
	uint64_t mem;
	uint64_t timeout_ms;      /* 0: none */
	char timeout_arg[32];     /* as written, for the timeout message */
	char *kernel, *initrd, *cmdline, *elf;
	cfg_disk disks[CFG_MAX_DISKS];
	uint32_t ndisks;
	cfg_net nets[CFG_MAX_NETS];
	uint32_t nnets;
	int rng, fw_cfg, test_devices;
	cfg_out serial;           /* default stdout */
	cfg_out console;          /* virtio-console; default none */
	int has_vsock;
	uint32_t vsock_cid;
	char *vsock_socket;
} cfg_vm;

/* A port of a switch (vmm_net_port_config and its vmm_net_policy). */
typedef struct cfg_port {
	char name[CFG_NAME_MAX + 1];
	int trunk;                /* "trunk" given: VMM_NET_PORT_TRUNK */
	uint32_t vlan;            /* access VLAN, or the trunk's native (0: none) */
	uint16_t *trunk_vlans;
	uint32_t ntrunk;
	uint8_t mac[6];           /* all zero: none (or the VM's, set by vmm up) */
	char *tap;                /* a TAP port: the interface */
	vmm_net_policy policy;    /* ipv4 and rules point into the arrays below */
	uint32_t *ipv4;
	vmm_net_fw_rule *rules;
	char mirror[CFG_NAME_MAX + 1];   /* the mirror port's name, "" none */
	int vm, net;              /* the VM net entry on it: indexes, -1 none */
	char group[CFG_CL_NAME_MAX + 1];  /* etcd switch: the cluster's port group */
} cfg_port;

/* A switch's VXLAN uplink (vmm_net_uplink_config). */
typedef struct cfg_uplink {
	int on;
	char local[16];           /* IPv4 to bind, "" any */
	uint32_t udp_port;        /* 0: 4789 */
	uint32_t flags;           /* VMM_NET_UPLINK_* */
	vmm_net_vni *vnis;        /* standalone only */
	uint32_t nvnis;
	char **remotes;           /* standalone only: the flood list */
	uint32_t nremotes;
} cfg_uplink;

/* The cluster a switch joins (vmm_net_cluster_config). */
typedef struct cfg_etcd {
	int on;
	char *endpoint;           /* "http://10.0.0.254:2379" */
	char *prefix;             /* NULL: the library's "/vmm/" */
	char name[CFG_CL_NAME_MAX + 1];   /* the switch in the cluster */
	char host[CFG_CL_NAME_MAX + 1];
	char vtep[16];
	uint32_t lease_ttl_s, timeout_ms;   /* 0: the library's defaults */
} cfg_etcd;

typedef struct cfg_switch {
	char name[CFG_NAME_MAX + 1];
	uint32_t mtu, fdb_size;   /* 0: the library's defaults */
	uint64_t ageing_ms;
	cfg_port ports[CFG_MAX_PORTS];
	uint32_t nports;
	cfg_uplink uplink;
	cfg_etcd etcd;
} cfg_switch;

typedef struct cfg {
	cfg_switch switches[CFG_MAX_SWITCHES];
	uint32_t nswitches;
	cfg_vm vms[CFG_MAX_VMS];
	uint32_t nvms;
} cfg;

/* Reads and checks PATH. Returns a config to free with cfg_free, or NULL
 * with one line in err ("CONFIG: vms[0].cpus: ..."). Relative paths in the
 * file are taken relative to the file's directory. */
cfg *cfg_load(const char *path, char *err, size_t errlen);
void cfg_free(cfg *c);

/* ---- for config_vm.c (internal to the parser) ------------------------ */
struct json_object;
typedef struct cfg_ctx {
	char *err;
	size_t errlen;
	const char *dir;          /* the config file's directory, "" for "." */
} cfg_ctx;

/* -1 with "PATH: MSG" in the context's err. */
int cfg_fail(cfg_ctx *x, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Each key of obj must be one of names[] (NULL-terminated); -1 otherwise. */
int cfg_check_keys(cfg_ctx *x, const char *path, struct json_object *obj,
		   const char *const *names);
/* Typed getters: 0 (found, stored), 1 (absent), -1 (bad: err set). */
int cfg_get_str(cfg_ctx *x, const char *path, struct json_object *obj, const char *key,
		const char **out);
int cfg_get_bool(cfg_ctx *x, const char *path, struct json_object *obj, const char *key,
		 int *out);
int cfg_get_uint(cfg_ctx *x, const char *path, struct json_object *obj, const char *key,
		 uint64_t min, uint64_t max, uint64_t *out);
/* key as an array of at most max entries: 0 (in *arr), 1 absent, -1 bad. */
int cfg_get_array(cfg_ctx *x, const char *path, struct json_object *obj, const char *key,
		  size_t max, struct json_object **arr);
/* 0 if o is an object, -1 (err set) otherwise. */
int cfg_need_object(cfg_ctx *x, const char *path, struct json_object *o);
/* "mac" of obj (absent: 0, mac unchanged); an IPv4 string key (1 absent). */
int cfg_get_mac(cfg_ctx *x, const char *path, struct json_object *obj, uint8_t mac[6]);
int cfg_get_ip(cfg_ctx *x, const char *path, struct json_object *obj, const char *key,
	       uint32_t *out);
/* A path from the file, made relative to its directory; NULL on ENOMEM. */
char *cfg_path(cfg_ctx *x, const char *s);
int cfg_vm_parse(cfg_ctx *x, const char *path, struct json_object *obj, uint32_t index,
		 cfg_vm *vm);
void cfg_vm_free(cfg_vm *vm);
/* A name of 1-32 of A-Za-z0-9-_. at path; -1 with err set. */
int cfg_check_name(cfg_ctx *x, const char *path, const char *s);
/* "switches" (cli/config_switch.c): parse, then resolve the VMs' ports. */
int cfg_switches_parse(cfg_ctx *x, struct json_object *root, cfg *c);
int cfg_switches_link(cfg_ctx *x, cfg *c);
void cfg_switches_free(cfg *c);
/* A switch's "uplink" and "etcd" (cli/config_uplink.c); before its ports. */
int cfg_uplink_parse(cfg_ctx *x, const char *path, struct json_object *sw, cfg_switch *s);
void cfg_uplink_free(cfg_switch *s);

#endif
