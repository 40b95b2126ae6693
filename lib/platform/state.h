/* state.h - every device's state behind one versioned save/restore
 * interface (the ground for snapshots and migration). Nothing here is
 * public API. docs/platform.md "Device state" describes the stream.
 *
 * A device's state is a record of little-endian fixed-width fields written
 * one by one with the writer below (never a raw struct: no padding, no
 * pointers, no host addresses, no absolute host times: a timer is saved as
 * the time left or the time since its start, and re-armed on load).
 *
 * Load is two passes over the whole stream: a dry pass (r->dry) in which
 * every device parses its record into locals and checks every value as
 * guest-controlled input, changing nothing; then, only if every record
 * passed, the applying pass. A bad stream therefore leaves the VM as it
 * was. The reader's error flag makes every later read return 0, so a load
 * function reads all its fields and checks r->failed once.
 *
 * Rules: the caller stops every vCPU first (vmm__vm_state_save/load refuse
 * with VMM_ESTATE while one is inside vmm_vcpu_run); a device takes its own
 * lock while it saves or applies (never two device locks at once); guest
 * RAM must be mapped in the loading VM before the load (virtqueue rings are
 * checked against it). */
#ifndef VMM_PLATFORM_STATE_H
#define VMM_PLATFORM_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/internal.h"

#define VMM__STATE_MAGIC "VMMDEVST"     /* 8 bytes */
#define VMM__STATE_FORMAT 1u
#define VMM__STATE_NAME_MAX 31u
#define VMM__STATE_MAX_RECORDS 4096u
#define VMM__STATE_MAX_RECORD (64u << 20)  /* bytes of one record's payload */

/* ---- Writer ---------------------------------------------------------------- */
typedef struct vmm__sw {
	uint8_t *data;
	size_t len, cap;
	bool failed;                 /* out of memory: the save fails */
	/* Offsets of the u64 fields written by vmm__sw_time (they move with
	 * the clock between two saves; tests compare them with a margin). */
	size_t *time_off;
	size_t ntime, time_cap;
} vmm__sw;

void vmm__sw_u8(vmm__sw *w, uint8_t v);
void vmm__sw_u16(vmm__sw *w, uint16_t v);
void vmm__sw_u32(vmm__sw *w, uint32_t v);
void vmm__sw_u64(vmm__sw *w, uint64_t v);
void vmm__sw_bool(vmm__sw *w, bool v);
void vmm__sw_bytes(vmm__sw *w, const void *p, size_t n);
/* A u64 that is relative to now (ns left, ns elapsed, ticks left). */
void vmm__sw_time(vmm__sw *w, uint64_t v);
void vmm__sw_free(vmm__sw *w);

/* ---- Reader ---------------------------------------------------------------- */
typedef struct vmm__sr {
	const uint8_t *p;
	size_t len, pos;
	bool dry;                    /* checking pass: change nothing */
	bool failed;                 /* every later read returns 0 */
	const char *dev;             /* the record's name, for messages */
	char msg[200];               /* the first failure: "field: why" */
} vmm__sr;

uint8_t vmm__sr_u8(vmm__sr *r, const char *field);
uint16_t vmm__sr_u16(vmm__sr *r, const char *field);
uint32_t vmm__sr_u32(vmm__sr *r, const char *field);
uint64_t vmm__sr_u64(vmm__sr *r, const char *field);
bool vmm__sr_bool(vmm__sr *r, const char *field);       /* 0 or 1, else fails */
void vmm__sr_bytes(vmm__sr *r, const char *field, void *p, size_t n);
/* A u8/u16/u32/u64 field that must be <= max. */
uint64_t vmm__sr_max(vmm__sr *r, const char *field, uint64_t max, unsigned width);
/* Fails the load unless ok: "field: why". Returns ok && !r->failed. */
bool vmm__sr_check(vmm__sr *r, bool ok, const char *field, const char *why);
/* Whether the fields read so far are all fine (and this pass applies). */
static inline bool vmm__sr_apply(const vmm__sr *r)
{
	return !r->failed && !r->dry;
}

/* A timer saved as ns since its start (the start is then now - since,
 * clamped at 0 on a host up for less time than that). */
uint64_t vmm__state_since(uint64_t now, uint64_t since);

/* ---- Device descriptors --------------------------------------------------- */
typedef struct vmm__state_ops {
	uint32_t version;            /* what save writes; load takes 1..version */
	/* Under the device's lock. 0 or a negative VMM_E* (message set). */
	int (*save)(void *dev, vmm__sw *w);
	/* Parses and checks the record written by save of that version; with
	 * !r->dry (and everything fine) applies it under the device's lock.
	 * Returns 0 or a negative VMM_E* for a host failure; a bad value is
	 * reported through r (vmm__sr_check), not the return value. */
	int (*load)(void *dev, uint32_t version, vmm__sr *r);
} vmm__state_ops;

typedef struct vmm__state_dev {
	char name[VMM__STATE_NAME_MAX + 1];   /* unique per VM: "pit", "lapic.1" */
	const vmm__state_ops *ops;
	void *dev;
} vmm__state_dev;

typedef struct vmm__state_list {
	vmm__state_dev *v;
	size_t n, cap;
} vmm__state_list;

/* Adds a device (name is copied; at most VMM__STATE_NAME_MAX bytes of
 * [a-z0-9.:_-]). 0 or VMM_ENOMEM / VMM_EINTERNAL (a bad or duplicate name). */
int vmm__state_add(vmm__state_list *l, const char *name, const vmm__state_ops *ops,
		   void *dev);

/* Each device file adds its records (nothing when the device is absent). */
int vmm__uart_state_add(vmm_vm *vm, vmm__state_list *l);
int vmm__pic_state_add(vmm_vm *vm, vmm__state_list *l);
int vmm__ioapic_state_add(vmm_vm *vm, vmm__state_list *l);
int vmm__lapic_state_add(vmm_vm *vm, vmm__state_list *l);
int vmm__pit_state_add(vmm_vm *vm, vmm__state_list *l);
int vmm__rtc_state_add(vmm_vm *vm, vmm__state_list *l);
int vmm__pmtimer_state_add(vmm_vm *vm, vmm__state_list *l);
int vmm__acpi_pm_state_add(vmm_vm *vm, vmm__state_list *l);
int vmm__pci_state_add(vmm_vm *vm, vmm__state_list *l);
int vmm__fw_cfg_state_add(vmm_vm *vm, vmm__state_list *l);
int vmm__virtio_state_add(vmm_vm *vm, vmm__state_list *l);

/* ---- The VM's stream ------------------------------------------------------- */
/* Every device of the VM into buf (a fresh writer; vmm__sw_free after).
 * All vCPUs stopped. 0, VMM_ESTATE (a vCPU runs), VMM_EBUSY (a virtio
 * device still has requests in flight after waiting for them), VMM_ENOMEM. */
int vmm__vm_state_save(vmm_vm *vm, vmm__sw *buf);
/* After a successful save the VM's virtio devices are frozen: they take no
 * new request from the guest's rings, so guest RAM stays as saved while the
 * caller copies it. The first vmm_vcpu_run of any of its vCPUs (or this
 * call) thaws them; each started device then looks at its queues again. */
void vmm__vm_state_thaw(vmm_vm *vm);
/* Loads a stream saved from a VM made with the same configuration (the
 * same devices, added in the same order) into vm. All vCPUs stopped. Any
 * problem (bad magic or format, truncation, an unknown, duplicate or
 * missing record, a version from the future, a wrong length, a value a
 * device rejects) is VMM_EINVAL naming the record and field, with vm
 * unchanged; only a host failure while applying (VMM_ENOMEM, a failed
 * KVM_SET_*) can leave it partly loaded, and the message says so. */
int vmm__vm_state_load(vmm_vm *vm, const void *buf, size_t len);

#endif /* VMM_PLATFORM_STATE_H */
