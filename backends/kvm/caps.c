/* caps.c - kvm probe: is /dev/kvm usable, which capabilities it has, and
 * which vendor module (flavour) serves it. The result is cached.
 *
 * Flavour comes from the module that serves KVM (/sys/module/kvm_intel,
 * kvm_amd or kvm_pvm), cross-checked with the vmx/svm flags of
 * /proc/cpuinfo; the notes name what the module runs with (EPT,
 * unrestricted guest, nested paging) from its parameters. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/kvm/kvm_priv.h"

#define DEFAULT_DEVICE "/dev/kvm"
#define DEFAULT_SYS_MODULE "/sys/module"
#define DEFAULT_CPUINFO "/proc/cpuinfo"
#define CPUID_MAX_ENTRIES 1024

static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;
static kvm__host *_Atomic cached;
static char device_path[256] = DEFAULT_DEVICE;
static char sys_module[256] = DEFAULT_SYS_MODULE;
static char cpuinfo_path[256] = DEFAULT_CPUINFO;

const char *kvm__device_path(void)
{
	return device_path;
}

int kvm__open_device(void)
{
	return open(device_path, O_RDWR | O_CLOEXEC);
}

/* ---- Flavour -------------------------------------------------------------- */

static int module_loaded(const char *module)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", sys_module, module);
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* 1 if the module parameter reads Y/y/1, 0 if N/n/0, -1 if unreadable. */
static int module_param(const char *module, const char *param)
{
	char path[512], buf[8] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/parameters/%s", sys_module, module, param);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	if (buf[0] == 'Y' || buf[0] == 'y' || buf[0] == '1')
		return 1;
	if (buf[0] == 'N' || buf[0] == 'n' || buf[0] == '0')
		return 0;
	return -1;
}

/* 1 if the first "flags" line of /proc/cpuinfo lists flag. */
static int cpu_has_flag(const char *flag)
{
	char line[8192];
	size_t n = strlen(flag);
	int found = 0;
	FILE *f = fopen(cpuinfo_path, "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *p;

		if (strncmp(line, "flags", 5) != 0 || !(p = strchr(line, ':')))
			continue;
		while ((p = strstr(p, flag)) != NULL) {
			if (p[-1] == ' ' && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
				found = 1;
			p += n;
		}
		break;
	}
	fclose(f);
	return found;
}

static const char *param_word(int v, const char *yes, const char *no)
{
	return v > 0 ? yes : v == 0 ? no : "unknown";
}

static void notes_intel(kvm__host *h, int vmx)
{
	int ept = module_param("kvm_intel", "ept");
	int ug = module_param("kvm_intel", "unrestricted_guest");

	snprintf(h->reason, sizeof(h->reason), "VT-x: %s, %s%s",
		 param_word(ept, "EPT", "shadow paging (EPT off)"),
		 param_word(ug, "unrestricted guest", "no unrestricted guest"),
		 vmx ? "" : " (note: /proc/cpuinfo shows no vmx flag)");
}

static void notes_amd(kvm__host *h, int svm)
{
	int npt = module_param("kvm_amd", "npt");

	snprintf(h->reason, sizeof(h->reason), "SVM: %s%s",
		 param_word(npt, "nested paging", "shadow paging (npt off)"),
		 svm ? "" : " (note: /proc/cpuinfo shows no svm flag)");
}

/* Only one vendor module can serve /dev/kvm; if several are loaded, the one
 * the CPU flags support wins, then PVM (which needs neither). */
static void detect_flavour(kvm__host *h)
{
	int intel = module_loaded("kvm_intel"), amd = module_loaded("kvm_amd");
	int pvm = module_loaded("kvm_pvm");
	int vmx = cpu_has_flag("vmx"), svm = cpu_has_flag("svm");

	if (intel && (vmx || (!amd && !pvm))) {
		h->flavour = KVM__FLAVOUR_INTEL;
		notes_intel(h, vmx);
	} else if (amd && (svm || !pvm)) {
		h->flavour = KVM__FLAVOUR_AMD;
		notes_amd(h, svm);
	} else if (pvm) {
		h->flavour = KVM__FLAVOUR_PVM;
		snprintf(h->reason, sizeof(h->reason), "PVM: software; guest supervisor "
			 "code runs ~1000x slower than native, auto picks emu");
	} else {
		h->flavour = KVM__FLAVOUR_UNKNOWN;
		snprintf(h->reason, sizeof(h->reason), "vendor module unknown (no kvm_intel, "
			 "kvm_amd or kvm_pvm in %.128s)", sys_module);
	}
	static const char *const names[] = { "kvm", "kvm_intel", "kvm_amd", "kvm_pvm" };
	snprintf(h->flavour_name, sizeof(h->flavour_name), "%s", names[h->flavour]);
}

/* ---- Capabilities ----------------------------------------------------------- */

__attribute__((format(printf, 2, 3)))
static int unusable(kvm__host *h, const char *fmt, ...)
{
	va_list ap;

	h->usable = 0;
	va_start(ap, fmt);
	vsnprintf(h->reason, sizeof(h->reason), fmt, ap);
	va_end(ap);
	return -1;
}

/* What VMM__CAP_IRQCHIP needs; a host without one of them still runs VMs
 * without VMM_VM_IRQCHIP (and with it, the core's models, where they exist). */
static void check_irqchip_caps(kvm__host *h, int fd)
{
	static const struct { int cap; const char *name; } needed[] = {
		{ KVM_CAP_IRQCHIP, "IRQCHIP" },
		{ KVM_CAP_PIT2, "PIT2" },
		{ KVM_CAP_SIGNAL_MSI, "SIGNAL_MSI" },
		{ KVM_CAP_IRQ_ROUTING, "IRQ_ROUTING" },
		{ KVM_CAP_IRQFD, "IRQFD" },
		{ KVM_CAP_IOEVENTFD, "IOEVENTFD" },
	};
	size_t used = 0;

	h->irqchip_missing[0] = 0;
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		if (ioctl(fd, KVM_CHECK_EXTENSION, needed[i].cap) <= 0 &&
		    used < sizeof(h->irqchip_missing))
			used += (size_t)snprintf(h->irqchip_missing + used,
						 sizeof(h->irqchip_missing) - used, "%sKVM_CAP_%s",
						 used ? ", " : "", needed[i].name);
	h->has_irqchip = used == 0;
	h->has_x2apic_api = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_X2APIC_API) > 0;
	h->has_tsc_deadline = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
}

/* Appends "; note" to the usable host's notes. */
static void add_note(kvm__host *h, const char *note)
{
	size_t n = strlen(h->reason);

	snprintf(h->reason + n, sizeof(h->reason) - n, "%s%s", n ? "; " : "", note);
}

static int check_caps(kvm__host *h, int fd)
{
	static const struct { int cap; const char *name; } required[] = {
		{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
		{ KVM_CAP_READONLY_MEM, "KVM_CAP_READONLY_MEM" },
		{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
		{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
		{ KVM_CAP_NR_MEMSLOTS, "KVM_CAP_NR_MEMSLOTS" },
	};

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (ioctl(fd, KVM_CHECK_EXTENSION, required[i].cap) <= 0)
			return unusable(h, "kvm: %s lacks %s", device_path, required[i].name);
	h->nr_memslots = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	h->max_vcpus = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (h->max_vcpus <= 0)
		h->max_vcpus = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (h->max_vcpus <= 0)
		h->max_vcpus = 4;  /* KVM's documented default when the cap is absent */
	h->has_sync_regs = (ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS) &
			    KVM_SYNC_X86_REGS) != 0;
	h->has_tss_addr = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR) > 0;
	h->has_identity_map = ioctl(fd, KVM_CHECK_EXTENSION,
				    KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0;
	check_irqchip_caps(h, fd);
	if (h->flavour == KVM__FLAVOUR_INTEL && !h->has_tss_addr)
		return unusable(h, "kvm: %s lacks %s (needed on VT-x)", device_path,
				"KVM_CAP_SET_TSS_ADDR");
	return 0;
}

static int get_supported_cpuid(kvm__host *h, int fd)
{
	size_t bytes = sizeof(struct kvm_cpuid2) +
		       CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *c = calloc(1, bytes);

	if (!c)
		return unusable(h, "kvm: out of memory for the CPUID table");
	c->nent = CPUID_MAX_ENTRIES;
	if (ioctl(fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		free(c);
		return unusable(h, "kvm: KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
	}
	h->supported = c;
	return 0;
}

static void probe_fd(kvm__host *h, int fd)
{
	int version = ioctl(fd, KVM_GET_API_VERSION, 0);

	if (version != KVM__API_VERSION) {
		unusable(h, "kvm: %s: KVM_GET_API_VERSION gave %d, need %d", device_path,
			 version, KVM__API_VERSION);
		return;
	}
	if (check_caps(h, fd))
		return;
	h->vcpu_mmap_size = ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (h->vcpu_mmap_size < (int)sizeof(struct kvm_run)) {
		unusable(h, "kvm: KVM_GET_VCPU_MMAP_SIZE: %s", h->vcpu_mmap_size < 0 ?
			 strerror(errno) : "smaller than struct kvm_run");
		return;
	}
	if (get_supported_cpuid(h, fd))
		return;
	h->usable = 1;
	if (!h->has_irqchip) {
		char note[192];

		snprintf(note, sizeof(note), "no in-kernel irqchip (lacks %.128s)",
			 h->irqchip_missing);
		add_note(h, note);
	}
}

static void probe_host(kvm__host *h)
{
	int fd = kvm__open_device(), err = errno;

	detect_flavour(h);
	if (fd < 0) {
		unusable(h, "kvm: %s: %s", device_path, strerror(err));
		return;
	}
	probe_fd(h, fd);
	close(fd);
}

const kvm__host *kvm__host_get(void)
{
	static kvm__host out_of_memory = { .reason = "kvm: out of memory while probing" };
	kvm__host *h = atomic_load_explicit(&cached, memory_order_acquire);

	if (h)
		return h;
	pthread_mutex_lock(&probe_lock);
	h = atomic_load_explicit(&cached, memory_order_relaxed);
	if (!h) {
		h = calloc(1, sizeof(*h));
		if (h) {
			probe_host(h);
			atomic_store_explicit(&cached, h, memory_order_release);
		}
	}
	pthread_mutex_unlock(&probe_lock);
	return h ? h : &out_of_memory;
}

void kvm__probe(vmm_backend_info *info)
{
	const kvm__host *h = kvm__host_get();

	info->usable = (uint32_t)h->usable;
	snprintf(info->flavour, sizeof(info->flavour), "%s", h->flavour_name);
	snprintf(info->reason, sizeof(info->reason), "%s", h->reason);
}

/* ---- Test hooks ------------------------------------------------------------- */

/* Only while no kvm VM exists: the old result is freed. */
void vmm__kvm_reprobe(void)
{
	kvm__host *old;

	pthread_mutex_lock(&probe_lock);
	old = atomic_exchange(&cached, NULL);
	pthread_mutex_unlock(&probe_lock);
	if (old)
		free(old->supported);
	free(old);
}

void vmm__kvm_test_paths(const char *device, const char *sys_mod, const char *cpuinfo)
{
	pthread_mutex_lock(&probe_lock);
	snprintf(device_path, sizeof(device_path), "%s", device ? device : DEFAULT_DEVICE);
	snprintf(sys_module, sizeof(sys_module), "%s", sys_mod ? sys_mod : DEFAULT_SYS_MODULE);
	snprintf(cpuinfo_path, sizeof(cpuinfo_path), "%s", cpuinfo ? cpuinfo : DEFAULT_CPUINFO);
	pthread_mutex_unlock(&probe_lock);
	vmm__kvm_reprobe();
}
