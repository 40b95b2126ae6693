/* test_acpi.c - the ACPI tables (lib/platform/acpi.c) and fixed hardware
 * (acpi_pm.c): structure and checksums of every table, iasl -d disassembling
 * each of them and recompiling the DSDT without errors or warnings, the AML
 * writer's encodings, and power-off / reset through the PM1 and 0xcf9 ports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/platform/acpi.h"
#include "lib/platform/platform.h"

static vmm_vm *make_vm(uint32_t vcpus)
{
	vmm_vm_config cfg = VMM_VM_CONFIG_INIT;
	vmm_vm *vm = NULL;

	cfg.backend = "emu";
	cfg.vcpus = vcpus;
	cfg.mem_size = 16u << 20;
	cfg.flags = VMM_VM_IRQCHIP;
	assert_int_equal(vmm_vm_create(&cfg, &vm), 0);
	return vm;
}

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* Reads the table at gpa into buf, checks signature, length, checksum. */
static uint32_t get_table(vmm_vm *vm, uint64_t gpa, const char *sig, uint8_t *buf)
{
	uint32_t len;

	assert_int_equal(vmm_mem_read(vm, gpa, buf, 36), 0);
	if (memcmp(buf, sig, 4))
		fail_msg("table at 0x%llx is '%.4s', not %s", (unsigned long long)gpa, buf, sig);
	len = rd32(buf + 4);
	assert_true(len >= 36 && len <= 0x4000);
	assert_int_equal(vmm_mem_read(vm, gpa, buf, len), 0);
	if (strcmp(sig, "FACS"))
		assert_int_equal(sum(buf, len), 0);
	return len;
}

static void test_tables(void **state)
{
	static uint8_t t[0x4000];
	vmm_vm *vm = make_vm(3);
	uint8_t rsdp[36];
	uint64_t at = 0, fadt, madt;
	uint32_t len;
	int cpus = 0, ioapics = 0, overrides = 0;

	assert_int_equal(vmm__acpi_build(vm, &at), 0);
	assert_int_equal(at, 0xe0000);
	assert_int_equal(vmm_mem_read(vm, at, rsdp, 36), 0);
	assert_memory_equal(rsdp, "RSD PTR ", 8);
	assert_int_equal(sum(rsdp, 20), 0);
	assert_int_equal(sum(rsdp, 36), 0);
	assert_int_equal(rsdp[15], 2);
	len = get_table(vm, rd64(rsdp + 24), "XSDT", t);
	assert_int_equal(len, 36 + 24);
	fadt = rd64(t + 36);
	madt = rd64(t + 44);
	get_table(vm, rd64(t + 52), "MCFG", t + 0x3000);
	assert_int_equal(rd64(t + 0x3000 + 44), 0xe0000000);   /* ECAM, bus 0..0 */
	assert_int_equal(t[0x3000 + 55], 0);
	get_table(vm, rd32(rsdp + 16), "RSDT", t);
	assert_int_equal(rd32(t + 36), fadt);
	len = get_table(vm, fadt, "FACP", t);
	assert_int_equal(len, 276);
	assert_int_equal(rd32(t + 76), VMM__ACPI_PM_TMR);
	assert_int_equal(rd32(t + 64), VMM__ACPI_PM1_CNT);
	assert_int_equal(t[46], 9);
	get_table(vm, rd64(t + 132), "FACS", t + 0x1000);
	get_table(vm, rd64(t + 140), "DSDT", t + 0x2000);
	len = get_table(vm, madt, "APIC", t);
	assert_int_equal(rd32(t + 36), 0xfee00000);
	for (uint32_t o = 44; o < len; o += t[o + 1]) {
		assert_true(t[o + 1] >= 2);
		cpus += t[o] == 0 && (rd32(t + o + 4) & 1);
		ioapics += t[o] == 1 && rd32(t + o + 4) == 0xfec00000;
		overrides += t[o] == 2;
		if (t[o] == 2 && t[o + 3] == 0)
			assert_int_equal(rd32(t + o + 4), 2);   /* IRQ 0 -> GSI 2 */
	}
	assert_int_equal(cpus, 3);
	assert_int_equal(ioapics, 1);
	assert_int_equal(overrides, 2);
	vmm_vm_destroy(vm);
}

static int run(const char *cmd)
{
	int rc = system(cmd);

	return rc == -1 ? -1 : WEXITSTATUS(rc);
}

static void dump(vmm_vm *vm, uint64_t gpa, const char *sig, const char *path)
{
	static uint8_t t[0x4000];
	uint32_t len = get_table(vm, gpa, sig, t);
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(t, 1, len, f), len);
	fclose(f);
}

/* iasl (acpica-tools) disassembles every table; the DSDT recompiles
 * cleanly: no errors, no warnings (remarks are allowed). */
static void test_iasl(void **state)
{
	char dir[] = "/tmp/vmm-acpi-XXXXXX", cmd[512], path[300];
	static const char *const sigs[] = { "FACP", "APIC", "DSDT", "XSDT", "RSDT", "FACS",
					    "MCFG" };
	uint8_t rsdp[36], t[300];
	uint64_t at, addr[7];
	vmm_vm *vm;

	if (run("command -v iasl >/dev/null 2>&1") != 0)
		skip();
	vm = make_vm(2);
	assert_non_null(mkdtemp(dir));
	assert_int_equal(vmm__acpi_build(vm, &at), 0);
	assert_int_equal(vmm_mem_read(vm, at, rsdp, 36), 0);
	addr[3] = rd64(rsdp + 24);
	addr[4] = rd32(rsdp + 16);
	get_table(vm, addr[3], "XSDT", t);
	addr[0] = rd64(t + 36);
	addr[1] = rd64(t + 44);
	addr[6] = rd64(t + 52);
	get_table(vm, addr[0], "FACP", t);
	addr[2] = rd64(t + 140);
	addr[5] = rd64(t + 132);
	for (int i = 0; i < 7; i++) {
		snprintf(path, sizeof(path), "%s/%.4s.dat", dir, sigs[i]);
		dump(vm, addr[i], sigs[i], path);
		snprintf(cmd, sizeof(cmd), "cd %s && iasl -d %.4s.dat > %.4s.log 2>&1 && "
			 "! grep -Eiq '(error|warning)[^s]' %.4s.log", dir, sigs[i], sigs[i],
			 sigs[i]);
		if (run(cmd) != 0)
			fail_msg("iasl -d %s failed or warned: see %s/%.4s.log", sigs[i], dir,
				 sigs[i]);
	}
	snprintf(cmd, sizeof(cmd), "cd %s && iasl -p recompiled DSDT.dsl > compile.log 2>&1 "
		 "&& grep -q '0 Errors, 0 Warnings' compile.log", dir);
	if (run(cmd) != 0)
		fail_msg("the disassembled DSDT does not recompile cleanly: see %s/compile.log",
			 dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	run(cmd);
	vmm_vm_destroy(vm);
}

static void test_aml_encoding(void **state)
{
	uint8_t buf[600], big[500];
	vmm__aml a;

	assert_int_equal(vmm__aml_eisaid("PNP0501"), 0x0105d041);
	assert_int_equal(vmm__aml_eisaid("PNP0C0C"), 0x0c0cd041);
	vmm__aml_init(&a, buf, sizeof(buf));
	vmm__aml_name_int(&a, "X", 0x1234);
	assert_int_equal(a.len, 8);
	assert_memory_equal(buf, "\x08X___\x0b\x34\x12", 8);
	/* A 2-byte PkgLength once the body passes 63 bytes. */
	memset(big, 0, sizeof(big));
	vmm__aml_init(&a, buf, sizeof(buf));
	vmm__aml_scope(&a, "\\_SB_.PCI0");
	vmm__aml_bytes(&a, big, 100);
	vmm__aml_close(&a);
	assert_int_equal(a.err, 0);
	/* 0x10, PkgLength (2 bytes), '\\', 0x2e, 8 name bytes, 100 body */
	assert_int_equal(a.len, 1 + 2 + 1 + 1 + 8 + 100);
	assert_int_equal(buf[1], 0x40 | ((a.len - 1) & 0xf));
	assert_int_equal(buf[2], (a.len - 1) >> 4);
	/* Overflow and unbalanced closes are errors, not writes past the end. */
	vmm__aml_init(&a, buf, 16);
	vmm__aml_bytes(&a, big, 20);
	assert_int_equal(a.err, 1);
	vmm__aml_init(&a, buf, sizeof(buf));
	vmm__aml_close(&a);
	assert_int_equal(a.err, 1);
}

static uint32_t pio(vmm_vcpu *vcpu, uint16_t port, uint8_t size, int write, uint32_t v)
{
	uint32_t data = v;
	int rc = vmm__bus_pio(vcpu, port, size, (uint8_t)write, &data);

	assert_true(rc == VMM__BUS_DONE || rc == VMM__BUS_STOP);
	return rc == VMM__BUS_STOP ? 0xdead0000u | vcpu->exit.system_event.type : data;
}

static void test_pm_poweroff_reset(void **state)
{
	vmm_vm *vm = make_vm(1);
	vmm_vcpu *vcpu;

	assert_int_equal(vmm_vcpu_create(vm, 0, &vcpu), 0);
	assert_int_equal(pio(vcpu, VMM__ACPI_PM1_CNT, 2, 0, 0), 1);       /* SCI_EN */
	pio(vcpu, VMM__ACPI_PM1_EVT + 2, 2, 1, 0x0121);                   /* enable */
	assert_int_equal(pio(vcpu, VMM__ACPI_PM1_EVT, 4, 0, 0), 0x01210000);
	/* SLP_TYP = S5 without SLP_EN is only stored; with it, power off. */
	assert_int_equal(pio(vcpu, VMM__ACPI_PM1_CNT, 2, 1, 5 << 10), 5 << 10);
	assert_int_equal(pio(vcpu, VMM__ACPI_PM1_CNT, 2, 0, 0), (5 << 10) | 1);
	assert_int_equal(pio(vcpu, VMM__ACPI_PM1_CNT, 2, 1, (5 << 10) | 0x2000),
			 0xdead0000u | VMM_EVENT_POWEROFF);
	/* S3 (type 1) is not a power-off. */
	assert_int_equal(pio(vcpu, VMM__ACPI_PM1_CNT, 2, 1, (1 << 10) | 0x2000),
			 (1 << 10) | 0x2000);
	assert_int_equal(pio(vcpu, 0xcf9, 1, 1, 0x02), 0x02);
	assert_int_equal(pio(vcpu, 0xcf9, 1, 1, 0x06), 0xdead0000u | VMM_EVENT_RESET);
	vmm_vm_destroy(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_iasl),
		cmocka_unit_test(test_aml_encoding),
		cmocka_unit_test(test_pm_poweroff_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
