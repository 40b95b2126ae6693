/* gdb_priv.h - the gdb remote stub's state (lib/introspect/gdb*.c).
 * gdb.c: lifecycle, sockets, packet framing and the service loop;
 * gdb_stop.c: the hooks through which vCPUs stop and resume (all-stop);
 * gdb_cmd.c: the protocol's commands; gdb_regs.c: target descriptions and
 * register packets. */
#ifndef VMM_GDB_PRIV_H
#define VMM_GDB_PRIV_H

#include <stdbool.h>

#include "lib/introspect/ix.h"

#define GDB_PKT_MAX 0x4000      /* our PacketSize (hex 4000) */
#define GDB_MAX_BPS 64

typedef struct gdb_bp {
	uint8_t used;
	uint8_t ztype;               /* Z0..Z4 */
	uint64_t addr, len;
	uint32_t hook;
} gdb_bp;

typedef struct gdb_vcpu {
	bool paused;                 /* waiting inside a hook callback */
	bool go;                     /* released by a resume */
	uint64_t pause_epoch;        /* epoch when its pause was asked */
	uint32_t step_hook;          /* STEP hook while stepping, else 0 */
} gdb_vcpu;

struct vmm_gdb {
	vmm_vm *vm;
	uint32_t flags;
	int lfd, cfd;                /* listener, connection (-1: none) */
	int wake[2];                 /* vCPUs wake the service loop */
	pthread_t thread;
	bool has_thread;
	atomic_int quit;
	atomic_int in_callback;      /* vCPU threads inside on_event */
	char address[128];
	char unix_path[108];

	pthread_mutex_t lock;        /* everything below */
	pthread_cond_t cond;
	bool stopped;                /* the target is stopped (all-stop) */
	bool waiting;                /* gdb waits for a stop reply (after c/s/?) */
	bool exited;                 /* the W/X reply was sent */
	bool kill;                   /* 'k': hooks stop the VM */
	uint64_t epoch;              /* bumped by every resume */
	uint32_t stop_vcpu;
	uint8_t stop_sig;
	char stop_extra[64];         /* "swbreak:;" / "watch:ADDR;" ... */
	gdb_vcpu v[VMM_MAX_VCPUS];
	uint32_t hooks[8];           /* BREAK/HWBREAK/WATCH/STEP/PAUSE catch-alls */
	gdb_bp bps[GDB_MAX_BPS];

	/* service thread only */
	uint32_t g_vcpu, c_vcpu;     /* Hg / Hc; c_vcpu UINT32_MAX: all */
	bool no_ack, swbreak, is64;
	char in[GDB_PKT_MAX + 8];
	size_t in_len;
	char out[2 * GDB_PKT_MAX + 8];
};

/* gdb.c */
void gdb_send(vmm_gdb *g, const char *payload, size_t len);
void gdb_send_str(vmm_gdb *g, const char *payload);
/* gdb_stop.c */
int gdb_stop_hooks_add(vmm_gdb *g);
void gdb_stop_hooks_del(vmm_gdb *g);
void gdb_pause_all(vmm_gdb *g, uint8_t sig);         /* lock held */
void gdb_resume(vmm_gdb *g, int step_vcpu);          /* lock held; -1: all */
int gdb_wait_stop(vmm_gdb *g, int ms);               /* lock held; 1 if stopped */
void gdb_stop_reply(vmm_gdb *g);                     /* lock held */
void gdb_release_all(vmm_gdb *g);
int gdb_hook_for_bp(vmm_gdb *g, gdb_bp *bp);                /* lock held */
/* gdb_cmd.c */
void gdb_command(vmm_gdb *g, char *pkt, size_t len);
void gdb_bps_clear(vmm_gdb *g);
void gdb_stop_now(vmm_gdb *g);                       /* lock held */
/* gdb_regs.c */
const char *gdb_target_xml(int is64);
int gdb_regs_get(vmm_vcpu *vcpu, int is64, char *hex, size_t cap);
int gdb_regs_set(vmm_vcpu *vcpu, int is64, const char *hex);
int gdb_reg_get(vmm_vcpu *vcpu, int is64, unsigned n, char *hex, size_t cap);
int gdb_reg_set(vmm_vcpu *vcpu, int is64, unsigned n, const char *hex);
int gdb_vcpu_is64(vmm_vcpu *vcpu);
void gdb_hex(char *out, const void *data, size_t n);
int gdb_unhex(void *out, const char *hex, size_t n);

#endif
