/* test_kvm_probe.c - the kvm backend's probe (device missing, not KVM, fake
 * vendor modules), require checks, and the kick signal's handler being
 * installed and restored. Tests that need a usable /dev/kvm skip without. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_kvm_util.h"
#include "backends/kvm/kvm_priv.h"

static vmm_backend_info kvm_info(void)
{
	vmm_backend_info info = VMM_BACKEND_INFO_INIT;

	for (uint32_t i = 0; vmm_backends(i, &info) == 0; i++)
		if (strcmp(info.name, "kvm") == 0)
			return info;
	fail_msg("no kvm backend in the registry");
	return info;
}

static int restore_paths(void **state)
{
	vmm__kvm_test_paths(NULL, NULL, NULL);
	return 0;
}

static int host_module(const char *name)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	return stat(path, &st) == 0;
}

/* What the probe says about this machine matches what is there. */
static void test_probe_this_host(void **state)
{
	vmm_backend_info info = kvm_info();
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	char want[256];

	if (fd < 0) {
		snprintf(want, sizeof(want), "kvm: /dev/kvm: %s", strerror(errno));
		assert_int_equal(info.usable, 0);
		assert_string_equal(info.reason, want);
		return;
	}
	close(fd);
	assert_int_equal(info.usable, 1);
	if (host_module("kvm_pvm") && !host_module("kvm_intel") && !host_module("kvm_amd")) {
		assert_string_equal(info.flavour, "kvm_pvm");
		assert_string_equal(info.reason, "PVM: software; guest supervisor code runs "
				    "~1000x slower than native, auto picks emu");
	} else if (host_module("kvm_intel")) {
		assert_string_equal(info.flavour, "kvm_intel");
		assert_memory_equal(info.reason, "VT-x: ", 6);
	} else if (host_module("kvm_amd")) {
		assert_string_equal(info.flavour, "kvm_amd");
		assert_memory_equal(info.reason, "SVM: ", 5);
	}
}

static void test_probe_missing_device(void **state)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	vmm_backend_info info;
	vmm_vm *vm = NULL;

	vmm__kvm_test_paths("/nonexistent/kvm", NULL, NULL);
	info = kvm_info();
	assert_int_equal(info.usable, 0);
	assert_string_equal(info.reason, "kvm: /nonexistent/kvm: No such file or directory");
	cfg.backend = "kvm";
	assert_int_equal(vmm_vm_create(&cfg, &vm), VMM_EBACKEND);
	assert_null(vm);
	if (!strstr(vmm_last_error(), "kvm: /nonexistent/kvm: No such file or directory"))
		fail_msg("message '%s'", vmm_last_error());
	cfg.backend = "auto";
	cfg.require = "pvm";  /* a require needs kvm */
	assert_int_equal(vmm_vm_create(&cfg, &vm), VMM_EBACKEND);
	assert_null(vm);
}

static void test_probe_device_not_kvm(void **state)
{
	vmm_backend_info info;

	vmm__kvm_test_paths("/dev/null", NULL, NULL);
	info = kvm_info();
	assert_int_equal(info.usable, 0);
	assert_string_equal(info.reason, "kvm: /dev/null: KVM_GET_API_VERSION gave -1, need 12");
}

/* A fake /sys/module and /proc/cpuinfo under a temporary directory. */
static char fake_root[64];

static void fake_write(const char *rel, const char *text)
{
	char path[256], cmd[400];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fake_root, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	assert_int_equal(system(cmd), 0);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void fake_host(const char *cpu_flags)
{
	char cmd[128];
	char sys[128], cpuinfo[128];

	snprintf(fake_root, sizeof(fake_root), "/tmp/test_kvm_probe.%d", (int)getpid());
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fake_root);
	assert_int_equal(system(cmd), 0);
	snprintf(cpuinfo, sizeof(cpuinfo), "processor\t: 0\nflags\t\t: fpu %s sse2\n",
		 cpu_flags);
	fake_write("cpuinfo", cpuinfo);
	fake_write("module/kvm/parameters/halt_poll_ns", "0\n");
	snprintf(sys, sizeof(sys), "%s/module", fake_root);
	snprintf(cpuinfo, sizeof(cpuinfo), "%s/cpuinfo", fake_root);
	vmm__kvm_test_paths(NULL, sys, cpuinfo);
}

static int remove_fake(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fake_root);
	if (fake_root[0] && system(cmd) != 0)
		return -1;
	return restore_paths(state);
}

static void test_probe_fake_vendor_modules(void **state)
{
	vmm_backend_info info;

	kt_require_kvm();  /* the notes are only given when the device works */
	fake_host("vmx");
	fake_write("module/kvm_intel/parameters/ept", "Y\n");
	fake_write("module/kvm_intel/parameters/unrestricted_guest", "N\n");
	info = kvm_info();
	assert_string_equal(info.flavour, "kvm_intel");
	assert_string_equal(info.reason, "VT-x: EPT, no unrestricted guest");

	fake_host("svm");
	fake_write("module/kvm_amd/parameters/npt", "1\n");
	info = kvm_info();
	assert_string_equal(info.flavour, "kvm_amd");
	assert_string_equal(info.reason, "SVM: nested paging");

	fake_host("pae");  /* kvm_amd loaded, but the CPU shows no svm */
	fake_write("module/kvm_amd/parameters/npt", "N\n");
	info = kvm_info();
	assert_string_equal(info.reason, "SVM: shadow paging (npt off) (note: "
			    "/proc/cpuinfo shows no svm flag)");

	fake_host("pae");
	info = kvm_info();
	assert_string_equal(info.flavour, "kvm");
	if (!strstr(info.reason, "vendor module unknown (no kvm_intel, kvm_amd or kvm_pvm"))
		fail_msg("reason '%s'", info.reason);
	assert_int_equal(info.usable, 1);
}

static void test_require_mismatch(void **state)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	vmm_backend_info info;
	const char *other, *mine, *hw;
	char want[160];
	vmm_vm *vm = NULL;

	kt_require_kvm();
	info = kvm_info();
	if (strcmp(info.flavour, "kvm_intel") == 0) {
		other = "svm", mine = "vtx", hw = "VT-x";
	} else if (strcmp(info.flavour, "kvm_amd") == 0) {
		other = "vtx", mine = "svm", hw = "SVM";
	} else {
		assert_string_equal(info.flavour, "kvm_pvm");
		other = "vtx", mine = "pvm", hw = "PVM";
	}
	cfg.mem_size = KT_RAM;
	cfg.require = other;
	assert_int_equal(vmm_vm_create(&cfg, &vm), VMM_EBACKEND);
	assert_null(vm);
	snprintf(want, sizeof(want), "kvm: VM requires %s but this host's KVM is %s (%s)",
		 other, info.flavour, hw);
	assert_string_equal(vmm_last_error(), want);
	cfg.require = mine;
	assert_int_equal(vmm_vm_create(&cfg, &vm), 0);
	assert_string_equal(vmm_vm_backend(vm), "kvm");
	assert_string_equal(vmm_vm_flavour(vm), info.flavour);
	vmm_vm_destroy(vm);
}

static void embedder_handler(int sig)
{
	(void)sig;
}

static void (*current_handler(void))(int)
{
	struct sigaction sa;

	assert_int_equal(sigaction(SIGRTMIN + 6, NULL, &sa), 0);
	return sa.sa_handler;
}

/* The kick signal's handler exists exactly while kvm VMs do, and the
 * embedder's own handler comes back afterwards. */
static void test_kick_signal_handler_restored(void **state)
{
	struct sigaction mine = { .sa_handler = embedder_handler };
	vmm_vm *a, *b;

	kt_require_kvm();
	assert_int_equal(sigaction(SIGRTMIN + 6, &mine, NULL), 0);
	a = kt_vm(0);
	assert_ptr_not_equal(current_handler(), embedder_handler);
	assert_ptr_not_equal(current_handler(), SIG_DFL);
	b = kt_vm(0);
	vmm_vm_destroy(a);
	assert_ptr_not_equal(current_handler(), embedder_handler);
	vmm_vm_destroy(b);
	assert_ptr_equal(current_handler(), embedder_handler);
	signal(SIGRTMIN + 6, SIG_DFL);
	a = kt_vm(0);
	vmm_vm_destroy(a);
	assert_ptr_equal(current_handler(), SIG_DFL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_this_host),
		cmocka_unit_test_teardown(test_probe_missing_device, restore_paths),
		cmocka_unit_test_teardown(test_probe_device_not_kvm, restore_paths),
		cmocka_unit_test_teardown(test_probe_fake_vendor_modules, remove_fake),
		cmocka_unit_test(test_require_mismatch),
		cmocka_unit_test(test_kick_signal_handler_restored),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
