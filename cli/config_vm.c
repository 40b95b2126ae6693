/* config_vm.c - one entry of a `vmm up` file's "vms" array (config.h,
 * docs/config.md): every key checked for its type and range, paths made
 * relative to the file, the combinations that make no sense refused. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/args.h"
#include "cli/config.h"

#define P(buf, path, key) (snprintf(buf, sizeof(buf), "%.100s.%.40s", path, key), buf)

/* key as a path relative to the file (NULL stays NULL): 0, 1 absent, -1. */
static int get_path(cfg_ctx *x, const char *path, json_object *o, const char *key,
		    char **out)
{
	const char *s;
	char p[160];
	int rc = cfg_get_str(x, path, o, key, &s);

	if (rc)
		return rc;
	if (!*s)
		return cfg_fail(x, P(p, path, key), "the path is empty");
	*out = cfg_path(x, s);
	return *out ? 0 : cfg_fail(x, path, "out of memory");
}

int cfg_get_array(cfg_ctx *x, const char *path, json_object *o, const char *key,
		     size_t max, json_object **arr)
{
	char p[160];

	if (!json_object_object_get_ex(o, key, arr))
		return 1;
	snprintf(p, sizeof(p), "%.100s%s%.40s", path, *path ? "." : "", key);
	if (!json_object_is_type(*arr, json_type_array))
		return cfg_fail(x, p, "expected an array");
	if (json_object_array_length(*arr) > max)
		return cfg_fail(x, p, "more than %zu entries", max);
	return 0;
}

int cfg_need_object(cfg_ctx *x, const char *path, json_object *o)
{
	return json_object_is_type(o, json_type_object) ? 0
	       : cfg_fail(x, path, "expected an object");
}

/* "stdout", "none" or "file:PATH". */
static int get_out(cfg_ctx *x, const char *path, json_object *o, const char *key, cfg_out *out)
{
	const char *s;
	char p[160];
	int rc = cfg_get_str(x, path, o, key, &s);

	if (rc)
		return rc;
	if (!strcmp(s, "stdout") || !strcmp(s, "none")) {
		out->kind = s[0] == 's' ? CFG_OUT_STDOUT : CFG_OUT_NONE;
		return 0;
	}
	if (strncmp(s, "file:", 5) || !s[5])
		return cfg_fail(x, P(p, path, key), "\"%.64s\": expected \"stdout\", \"none\" "
				"or \"file:PATH\"", s);
	out->kind = CFG_OUT_FILE;
	out->path = cfg_path(x, s + 5);
	return out->path ? 0 : cfg_fail(x, path, "out of memory");
}

static int parse_disk(cfg_ctx *x, const char *path, json_object *o, cfg_disk *d)
{
	static const char *const keys[] = { "path", "readonly", "serial", "storage", NULL };
	const char *serial;
	char p[160];
	int rc;

	if (cfg_need_object(x, path, o) || cfg_check_keys(x, path, o, keys))
		return -1;
	if (json_object_object_get_ex(o, "storage", NULL))
		return cfg_fail(x, P(p, path, "storage"), "not supported yet by this vmm (%s)",
				vmm_version());
	if ((rc = get_path(x, path, o, "path", &d->path)) != 0)
		return rc < 0 ? -1 : cfg_fail(x, path, "missing key \"path\"");
	if (cfg_get_bool(x, path, o, "readonly", &d->readonly) < 0)
		return -1;
	if ((rc = cfg_get_str(x, path, o, "serial", &serial)) < 0)
		return -1;
	if (rc == 0 && strlen(serial) > 20)
		return cfg_fail(x, P(p, path, "serial"), "longer than 20 bytes");
	if (rc == 0 && !(d->serial = strdup(serial)))
		return cfg_fail(x, path, "out of memory");
	return 0;
}

int cfg_get_ip(cfg_ctx *x, const char *path, json_object *o, const char *key,
		  uint32_t *out)
{
	struct in_addr a;
	const char *s;
	char p[160];
	int rc = cfg_get_str(x, path, o, key, &s);

	if (rc)
		return rc;
	if (inet_pton(AF_INET, s, &a) != 1)
		return cfg_fail(x, P(p, path, key), "\"%.64s\" is not an IPv4 address", s);
	*out = ntohl(a.s_addr);
	return 0;
}

static int parse_fwd(cfg_ctx *x, const char *path, json_object *o, vmm_net_fwd *f)
{
	static const char *const keys[] = { "proto", "host_addr", "host_port", "guest_addr",
					    "guest_port", NULL };
	const char *proto = "tcp";
	uint64_t hp, gp;
	char p[160];
	int a, b;

	if (cfg_need_object(x, path, o) || cfg_check_keys(x, path, o, keys) ||
	    cfg_get_str(x, path, o, "proto", &proto) < 0)
		return -1;
	if (strcmp(proto, "tcp") && strcmp(proto, "udp"))
		return cfg_fail(x, P(p, path, "proto"), "\"%.32s\": expected \"tcp\" or "
				"\"udp\"", proto);
	f->udp = proto[0] == 'u';
	if (cfg_get_ip(x, path, o, "host_addr", &f->host_addr) < 0 ||
	    cfg_get_ip(x, path, o, "guest_addr", &f->guest_addr) < 0)
		return -1;
	if ((a = cfg_get_uint(x, path, o, "host_port", 1, 65535, &hp)) < 0 ||
	    (b = cfg_get_uint(x, path, o, "guest_port", 1, 65535, &gp)) < 0)
		return -1;
	if (a || b)
		return cfg_fail(x, path, "needs \"host_port\" and \"guest_port\"");
	f->host_port = (uint16_t)hp;
	f->guest_port = (uint16_t)gp;
	return 0;
}

static int parse_user(cfg_ctx *x, const char *path, json_object *o, cfg_net *n)
{
	static const char *const keys[] = { "forward", NULL };
	json_object *arr;
	int rc;

	n->kind = CFG_NET_USER;
	if (cfg_need_object(x, path, o) || cfg_check_keys(x, path, o, keys))
		return -1;
	if ((rc = cfg_get_array(x, path, o, "forward", CFG_MAX_FWD, &arr)) != 0)
		return rc < 0 ? -1 : 0;
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		char p[160];

		snprintf(p, sizeof(p), "%.100s.forward[%zu]", path, i);
		if (parse_fwd(x, p, json_object_array_get_idx(arr, i), &n->fwd[i]))
			return -1;
		n->nfwd = (uint32_t)i + 1;
	}
	return 0;
}

int cfg_get_mac(cfg_ctx *x, const char *path, json_object *o, uint8_t mac[6])
{
	unsigned b[6];
	const char *s;
	char p[160], end;
	int rc = cfg_get_str(x, path, o, "mac", &s);

	if (rc)
		return rc < 0 ? -1 : 0;
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &end) != 6 || strlen(s) != 17)
		return cfg_fail(x, P(p, path, "mac"), "\"%.32s\": expected six hex bytes "
				"such as \"52:54:00:12:34:56\"", s);
	if (b[0] & 1)
		return cfg_fail(x, P(p, path, "mac"), "\"%s\" is a multicast address", s);
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

/* {"switch": NAME, "port": NAME}: resolved against "switches" later. */
static int parse_switch_ref(cfg_ctx *x, const char *path, json_object *o, cfg_net *n)
{
	const char *sw, *port;
	char p[160];
	int rc;

	n->kind = CFG_NET_SWITCH;
	if (cfg_get_str(x, path, o, "switch", &sw) < 0 || cfg_check_name(x, P(p, path, "switch"), sw))
		return -1;
	if ((rc = cfg_get_str(x, path, o, "port", &port)) != 0)
		return rc < 0 ? -1 : cfg_fail(x, path, "\"switch\" needs \"port\" (the name of "
					      "one of the switch's ports)");
	if (cfg_check_name(x, P(p, path, "port"), port))
		return -1;
	if (!(n->name = strdup(sw)) || !(n->port = strdup(port)))
		return cfg_fail(x, path, "out of memory");
	return 0;
}

static int parse_net(cfg_ctx *x, const char *path, json_object *o, cfg_net *n)
{
	static const char *const keys[] = { "pair", "tap", "user", "switch", "port", "mac", "mtu",
					    "offload", NULL };
	static const char *const kinds[] = { "pair", "tap", "user", "switch" };
	json_object *v = NULL;
	const char *name;
	uint64_t mtu = 0;
	int offload = 1, found = 0;
	char p[160];

	if (cfg_need_object(x, path, o) || cfg_check_keys(x, path, o, keys))
		return -1;
	for (unsigned i = 0; i < 4; i++)
		found += json_object_object_get_ex(o, kinds[i], NULL);
	if (found != 1)
		return cfg_fail(x, path, "needs exactly one of \"pair\", \"tap\", \"user\" and "
				"\"switch\"");
	if (json_object_object_get_ex(o, "switch", NULL)) {
		if (parse_switch_ref(x, path, o, n))
			return -1;
	} else if (json_object_object_get_ex(o, "port", NULL)) {
		return cfg_fail(x, P(p, path, "port"), "only with \"switch\"");
	} else if (json_object_object_get_ex(o, "user", &v)) {
		if (parse_user(x, P(p, path, "user"), v, n))
			return -1;
	} else {
		const char *key = json_object_object_get_ex(o, "pair", NULL) ? "pair" : "tap";

		if (cfg_get_str(x, path, o, key, &name) < 0)
			return -1;
		if (!*name || strlen(name) > (key[0] == 'p' ? 63u : 15u))
			return cfg_fail(x, P(p, path, key), "\"%.64s\": must be 1 to %u bytes",
					name, key[0] == 'p' ? 63u : 15u);
		n->kind = key[0] == 'p' ? CFG_NET_PAIR : CFG_NET_TAP;
		if (!(n->name = strdup(name)))
			return cfg_fail(x, path, "out of memory");
	}
	if (cfg_get_mac(x, path, o, n->mac) || cfg_get_uint(x, path, o, "mtu", 68, 65518, &mtu) < 0 ||
	    cfg_get_bool(x, path, o, "offload", &offload) < 0)
		return -1;
	if (n->kind == CFG_NET_SWITCH && mtu)
		return cfg_fail(x, P(p, path, "mtu"), "a switch port has its switch's MTU "
				"(switches[].mtu)");
	n->mtu = (uint16_t)mtu;
	n->no_offload = !offload;
	return 0;
}

static int parse_list(cfg_ctx *x, const char *path, json_object *o, cfg_vm *vm, int nets)
{
	const char *key = nets ? "nets" : "disks";
	size_t max = nets ? CFG_MAX_NETS : CFG_MAX_DISKS;
	json_object *arr;
	int rc = cfg_get_array(x, path, o, key, max, &arr);

	if (rc)
		return rc < 0 ? -1 : 0;
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *e = json_object_array_get_idx(arr, i);
		char p[160];

		snprintf(p, sizeof(p), "%.100s.%.10s[%zu]", path, key, i);
		if (nets ? parse_net(x, p, e, &vm->nets[vm->nnets++])
			 : parse_disk(x, p, e, &vm->disks[vm->ndisks++]))
			return -1;
	}
	return 0;
}

static int parse_vsock(cfg_ctx *x, const char *path, json_object *o, cfg_vm *vm)
{
	static const char *const keys[] = { "cid", "socket", NULL };
	json_object *v;
	uint64_t cid;
	char p[160];
	int rc;

	if (!json_object_object_get_ex(o, "vsock", &v))
		return 0;
	P(p, path, "vsock");
	if (cfg_need_object(x, p, v) || cfg_check_keys(x, p, v, keys))
		return -1;
	if ((rc = cfg_get_uint(x, p, v, "cid", 3, 0xfffffffeu, &cid)) != 0)
		return rc < 0 ? -1 : cfg_fail(x, p, "missing key \"cid\" (3 to 4294967294)");
	if ((rc = get_path(x, p, v, "socket", &vm->vsock_socket)) != 0)
		return rc < 0 ? -1 : cfg_fail(x, p, "missing key \"socket\" (a Unix socket path)");
	vm->has_vsock = 1;
	vm->vsock_cid = (uint32_t)cid;
	return 0;
}

/* "memory": "512M" or a number of bytes. */
static int parse_memory(cfg_ctx *x, const char *path, json_object *o, cfg_vm *vm)
{
	json_object *v;
	char p[160], e[200];

	if (!json_object_object_get_ex(o, "memory", &v))
		return 0;
	P(p, path, "memory");
	if (json_object_is_type(v, json_type_string)) {
		if (cli_parse_size(json_object_get_string(v), &vm->mem, e, sizeof(e)))
			return cfg_fail(x, p, "%s", e);
		return 0;
	}
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) <= 0)
		return cfg_fail(x, p, "expected a size such as \"512M\" or a number of bytes > 0");
	vm->mem = (uint64_t)json_object_get_int64(v);
	return vm->mem % 4096 ? cfg_fail(x, p, "must be a multiple of 4 KiB") : 0;
}

/* "timeout": seconds, an integer or a fraction, > 0. */
static int parse_timeout(cfg_ctx *x, const char *path, json_object *o, cfg_vm *vm)
{
	json_object *v;
	double s;
	char p[160];

	if (!json_object_object_get_ex(o, "timeout", &v))
		return 0;
	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
		return cfg_fail(x, P(p, path, "timeout"), "expected a number of seconds");
	s = json_object_get_double(v);
	if (!(s > 0) || s > 1e9 || !isfinite(s))
		return cfg_fail(x, P(p, path, "timeout"), "expected seconds > 0 (e.g. 10 or 0.5)");
	vm->timeout_ms = (uint64_t)ceil(s * 1000.0);
	snprintf(vm->timeout_arg, sizeof(vm->timeout_arg), "%g", s);
	return 0;
}

int cfg_check_name(cfg_ctx *x, const char *path, const char *s)
{
	if (!*s || strlen(s) > CFG_NAME_MAX)
		return cfg_fail(x, path, "must be 1 to %d characters", CFG_NAME_MAX);
	for (const char *c = s; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("-_.", *c))
			return cfg_fail(x, path, "\"%s\": only letters, digits, '-', '_' and '.'",
					s);
	return 0;
}

static int parse_name(cfg_ctx *x, const char *path, json_object *o, uint32_t index,
		      cfg_vm *vm)
{
	const char *s;
	char p[160];
	int rc = cfg_get_str(x, path, o, "name", &s);

	if (rc < 0)
		return -1;
	if (rc) {
		snprintf(vm->name, sizeof(vm->name), "vm%u", index);
		return 0;
	}
	if (cfg_check_name(x, P(p, path, "name"), s))
		return -1;
	strcpy(vm->name, s);
	return 0;
}

static int parse_backend(cfg_ctx *x, const char *path, json_object *o, cfg_vm *vm)
{
	vmm_backend_info info = VMM_BACKEND_INFO_INIT;
	const char *s;
	char p[160];
	int rc = cfg_get_str(x, path, o, "backend", &s);

	strcpy(vm->backend, "auto");
	if (rc)
		return rc < 0 ? -1 : 0;
	for (uint32_t i = 0; strcmp(s, "auto") && vmm_backends(i, &info) == 0; i++)
		if (!strcmp(info.name, s))
			break;
	if (strcmp(s, "auto") && strcmp(info.name, s))
		return cfg_fail(x, P(p, path, "backend"), "unknown backend \"%.32s\" (auto, "
				"emu or kvm; see 'vmm info')", s);
	snprintf(vm->backend, sizeof(vm->backend), "%s", s);
	return 0;
}

static int parse_scalars(cfg_ctx *x, const char *path, json_object *o, cfg_vm *vm)
{
	uint64_t cpus = 1;
	const char *s;
	int rc;

	if (cfg_get_uint(x, path, o, "cpus", 1, VMM_MAX_VCPUS, &cpus) < 0 ||
	    parse_memory(x, path, o, vm) || parse_timeout(x, path, o, vm) ||
	    cfg_get_bool(x, path, o, "rng", &vm->rng) < 0 ||
	    cfg_get_bool(x, path, o, "fw_cfg", &vm->fw_cfg) < 0 ||
	    cfg_get_bool(x, path, o, "test_devices", &vm->test_devices) < 0 ||
	    get_path(x, path, o, "kernel", &vm->kernel) < 0 ||
	    get_path(x, path, o, "initrd", &vm->initrd) < 0 ||
	    get_path(x, path, o, "elf", &vm->elf) < 0 ||
	    get_out(x, path, o, "serial", &vm->serial) < 0 ||
	    get_out(x, path, o, "console", &vm->console) < 0)
		return -1;
	vm->cpus = (uint32_t)cpus;
	if ((rc = cfg_get_str(x, path, o, "cmdline", &s)) < 0)
		return -1;
	if (rc == 0 && !(vm->cmdline = strdup(s)))
		return cfg_fail(x, path, "out of memory");
	return 0;
}

/* What a VM needs together: one image; Linux-only devices with a kernel. */
static int check_vm(cfg_ctx *x, const char *path, const cfg_vm *vm)
{
	if (!vm->kernel == !vm->elf)
		return cfg_fail(x, path, "needs exactly one of \"kernel\" (Linux) and \"elf\" "
				"(an ELF64 or Multiboot image)");
	if (vm->elf && (vm->initrd || vm->ndisks || vm->nnets || vm->rng || vm->has_vsock ||
			vm->console.kind != CFG_OUT_NONE))
		return cfg_fail(x, path, "\"initrd\", \"disks\", \"nets\", \"rng\", "
				"\"vsock\" and \"console\" need \"kernel\"");
	return 0;
}

int cfg_vm_parse(cfg_ctx *x, const char *path, json_object *o, uint32_t index, cfg_vm *vm)
{
	static const char *const keys[] = {
		"name", "backend", "cpus", "memory", "timeout", "kernel", "initrd", "cmdline",
		"elf", "disks", "nets", "rng", "serial", "console", "vsock", "fw_cfg",
		"test_devices", NULL
	};

	memset(vm, 0, sizeof(*vm));
	vm->mem = 64ull << 20;
	vm->serial.kind = CFG_OUT_STDOUT;
	if (cfg_need_object(x, path, o) || cfg_check_keys(x, path, o, keys) ||
	    parse_name(x, path, o, index, vm) || parse_backend(x, path, o, vm) ||
	    parse_scalars(x, path, o, vm) || parse_list(x, path, o, vm, 0) ||
	    parse_list(x, path, o, vm, 1) || parse_vsock(x, path, o, vm))
		return -1;
	return check_vm(x, path, vm);
}

void cfg_vm_free(cfg_vm *vm)
{
	free(vm->kernel);
	free(vm->initrd);
	free(vm->cmdline);
	free(vm->elf);
	free(vm->serial.path);
	free(vm->console.path);
	free(vm->vsock_socket);
	for (uint32_t i = 0; i < vm->ndisks; i++) {
		free(vm->disks[i].path);
		free(vm->disks[i].serial);
	}
	for (uint32_t i = 0; i < vm->nnets; i++) {
		free(vm->nets[i].name);
		free(vm->nets[i].port);
	}
}
