/* vmm/gdb.h - a GDB remote serial protocol stub for a VM (included by
 * vmm.h). gdb connects with `target remote HOST:PORT` (or a Unix socket);
 * each vCPU is a thread; registers, memory by virtual address, software and
 * hardware breakpoints, watchpoints, single-step, continue and Ctrl-C work
 * as for a process. All-stop: when one vCPU stops, all are paused. The stub
 * is built on vmm/introspect.h hooks (see docs/introspect.md).
 *
 * Threads: by default vmm_gdb_start starts one thread, "vmm-gdb", which
 * blocks the kick signal SIGRTMIN+6 and is joined by vmm_gdb_destroy. With
 * VMM_GDB_NO_THREAD no thread is started: the embedder polls vmm_gdb_fd()
 * for input and calls vmm_gdb_service() when it is readable (and at least
 * every 100 ms so that stops are reported).
 */
#ifndef VMM_GDB_H
#define VMM_GDB_H

#ifndef VMM_H
#error "include <vmm.h>, not <vmm/gdb.h>"
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vmm_gdb vmm_gdb;

enum {
	VMM_GDB_WAIT = 1u << 0,      /* every vCPU stays paused before its first
					instruction until gdb continues it */
	VMM_GDB_NO_THREAD = 1u << 1  /* driven by vmm_gdb_service (see above) */
};

typedef struct vmm_gdb_config {
	uint32_t size;         /* sizeof(vmm_gdb_config) */
	uint32_t flags;        /* VMM_GDB_* */
	const char *address;   /* "tcp:HOST:PORT" (PORT 0: any; see
				  vmm_gdb_address) or "unix:PATH" */
} vmm_gdb_config;
#define VMM_GDB_CONFIG_INIT { sizeof(vmm_gdb_config), 0, NULL }

/* Listens on config->address; gdb may connect at any time (and again after
 * it detaches). Before vmm_vm_run or while the VM runs. */
VMM_API int vmm_gdb_start(vmm_vm *vm, const vmm_gdb_config *config, vmm_gdb **out);
/* The address actually bound, e.g. "tcp:127.0.0.1:40123". */
VMM_API const char *vmm_gdb_address(const vmm_gdb *gdb);
/* VMM_GDB_NO_THREAD: the descriptor to poll, and one round of service. */
VMM_API int vmm_gdb_fd(const vmm_gdb *gdb);
VMM_API int vmm_gdb_service(vmm_gdb *gdb);
/* Tells a connected gdb that the guest ended ("exited with code"), releases
 * paused vCPUs, closes the connection and the listener, joins the thread. */
VMM_API void vmm_gdb_destroy(vmm_gdb *gdb);

#ifdef __cplusplus
}
#endif
#endif /* VMM_GDB_H */
