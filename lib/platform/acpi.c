/* acpi.c - the ACPI tables of a VM (ACPI 6.3): RSDP, RSDT/XSDT, FADT with
 * FACS and DSDT, MADT. They describe what the platform really has: a local
 * APIC per vCPU, the IOAPIC, the 8259 pair, PM1 and the PM timer at
 * VMM__ACPI_PM_BASE, the reset register, COM1, the RTC and a power button.
 * the PCI host bridge (bus 0: _CRS windows, _PRT, ECAM in MCFG). */
#include <stdlib.h>
#include <string.h>

#include "lib/platform/acpi.h"
#include "lib/platform/pci.h"
#include "lib/platform/platform.h"

/* Offsets of each table inside the ACPI area. */
enum {
	OFF_RSDP = 0x000, OFF_RSDT = 0x040, OFF_XSDT = 0x080, OFF_FACS = 0x100,
	OFF_FADT = 0x200, OFF_MADT = 0x400, OFF_MCFG = 0x800, OFF_DSDT = 0x1000,
	AREA = 0x4000, MCFG_LEN = 60, NTABLES = 3,
	HDR_LEN = 36, FADT_LEN = 276, FACS_LEN = 64
};

static void put16(uint8_t *p, size_t o, uint16_t v) { memcpy(p + o, &v, 2); }
static void put32(uint8_t *p, size_t o, uint32_t v) { memcpy(p + o, &v, 4); }
static void put64(uint8_t *p, size_t o, uint64_t v) { memcpy(p + o, &v, 8); }

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;

	while (n--)
		sum = (uint8_t)(sum + *p++);
	return (uint8_t)-sum;
}

/* The standard header; the checksum is set by finish(). */
static void header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put32(t, 4, len);
	t[8] = rev;
	memcpy(t + 10, "LIBVMM", 6);
	memcpy(t + 16, "LIBVMM", 6);           /* OEM table ID */
	t[22] = t[23] = ' ';
	put32(t, 24, 1);
	memcpy(t + 28, "LVMM", 4);
	put32(t, 32, 1);
}

static void finish(uint8_t *t)
{
	uint32_t len;

	memcpy(&len, t + 4, 4);
	t[9] = 0;
	t[9] = checksum(t, len);
}

/* Generic Address Structure in system I/O space. */
static void gas_io(uint8_t *p, size_t o, uint8_t bits, uint8_t access, uint64_t port)
{
	p[o] = 1;
	p[o + 1] = bits;
	p[o + 2] = 0;
	p[o + 3] = access;
	put64(p, o + 4, port);
}

static void build_fadt(uint8_t *t, uint64_t base)
{
	header(t, "FACP", FADT_LEN, 6);
	put32(t, 36, (uint32_t)(base + OFF_FACS));
	put32(t, 40, (uint32_t)(base + OFF_DSDT));
	put16(t, 46, VMM__ACPI_SCI_IRQ);
	put32(t, 56, VMM__ACPI_PM1_EVT);
	put32(t, 64, VMM__ACPI_PM1_CNT);
	put32(t, 76, VMM__ACPI_PM_TMR);
	t[88] = 4;                                   /* PM1_EVT_LEN */
	t[89] = 2;                                   /* PM1_CNT_LEN */
	t[91] = 4;                                   /* PM_TMR_LEN */
	put16(t, 96, 0x65);                          /* no C2 */
	put16(t, 98, 0x3e9);                         /* no C3 */
	t[108] = 0x32;                               /* RTC century register */
	put16(t, 109, 0x1 | 0x4);                    /* legacy devices; no VGA; no 8042 */
	put32(t, 112, 0x1 | 0x4 | 0x10 | 0x20 | 0x400); /* WBINVD, C1, PWR/SLP buttons
							    as devices, RESET_REG_SUP */
	gas_io(t, 116, 8, 1, VMM__ACPI_RESET_PORT);
	t[128] = VMM__ACPI_RESET_VALUE;
	t[131] = 3;                                  /* FADT minor version: 6.3 */
	put64(t, 132, base + OFF_FACS);
	put64(t, 140, base + OFF_DSDT);
	gas_io(t, 148, 32, 2, VMM__ACPI_PM1_EVT);
	gas_io(t, 172, 16, 2, VMM__ACPI_PM1_CNT);
	gas_io(t, 208, 32, 3, VMM__ACPI_PM_TMR);
	memcpy(t + 268, "LIBVMM  ", 8);              /* hypervisor vendor identity */
	finish(t);
}

static size_t madt_entries(uint8_t *t, uint32_t vcpus)
{
	size_t o = 44;

	for (uint32_t i = 0; i < vcpus; i++, o += 8) {
		t[o] = 0;                            /* processor local APIC */
		t[o + 1] = 8;
		t[o + 2] = (uint8_t)i;               /* ACPI processor UID */
		t[o + 3] = (uint8_t)i;               /* APIC ID */
		put32(t, o + 4, 1);                  /* enabled */
	}
	t[o] = 1;                                    /* IOAPIC, ID after the CPUs */
	t[o + 1] = 12;
	t[o + 2] = (uint8_t)vcpus;
	put32(t, o + 4, (uint32_t)VMM__IOAPIC_BASE);
	put32(t, o + 8, 0);
	o += 12;
	/* ISA IRQ 0 is IOAPIC pin 2; the SCI is level-triggered active high. */
	t[o] = 2, t[o + 1] = 10, t[o + 2] = 0, t[o + 3] = 0;
	put32(t, o + 4, 2), put16(t, o + 8, 0);
	o += 10;
	t[o] = 2, t[o + 1] = 10, t[o + 2] = 0, t[o + 3] = VMM__ACPI_SCI_IRQ;
	put32(t, o + 4, VMM__ACPI_SCI_IRQ), put16(t, o + 8, 0xd);
	o += 10;
	t[o] = 4, t[o + 1] = 6, t[o + 2] = 0xff;     /* LINT1 is NMI on every CPU */
	put16(t, o + 3, 0), t[o + 5] = 1;
	return o + 6;
}

static void build_madt(uint8_t *t, uint32_t vcpus)
{
	size_t len;

	memset(t, 0, 44);
	len = madt_entries(t, vcpus);
	header(t, "APIC", (uint32_t)len, 5);
	put32(t, 36, (uint32_t)VMM__APIC_DEFAULT_BASE);
	put32(t, 40, 1);                             /* PCAT_COMPAT: 8259s present */
	finish(t);
}

/* IO(Decode16, port, port, 1, len) then IRQNoFlags(){irq}. */
static size_t io_irq(uint8_t *p, uint16_t port, uint8_t len, int irq)
{
	size_t n = 0;

	p[n++] = 0x47, p[n++] = 1;
	put16(p, n, port), n += 2;
	put16(p, n, port), n += 2;
	p[n++] = 1, p[n++] = len;
	if (irq >= 0) {
		p[n++] = 0x22;
		put16(p, n, (uint16_t)(1u << irq)), n += 2;
	}
	p[n++] = 0x79, p[n++] = 0;                   /* end tag, checksum 0 */
	return n;
}

static void legacy_device(vmm__aml *a, const char *name, const char *hid, int uid,
			  uint16_t port, uint8_t len, int irq)
{
	uint8_t crs[32];

	vmm__aml_device(a, name);
	vmm__aml_name_eisaid(a, "_HID", hid);
	if (uid >= 0)
		vmm__aml_name_int(a, "_UID", (uint64_t)uid);
	vmm__aml_name_buffer(a, "_CRS", crs, io_irq(crs, port, len, irq));
	vmm__aml_close(a);
}

/* Word (bus, I/O) and DWord (memory) address space descriptors of a
 * producer with fixed bounds (ACPI 6.4, 6.4.3.5). */
static size_t word_space(uint8_t *p, uint8_t type, uint16_t min, uint16_t max)
{
	p[0] = 0x88;
	put16(p, 1, 13);
	p[3] = type;                                 /* 1 I/O, 2 bus */
	p[4] = 0x0c;                                 /* MinFixed, MaxFixed */
	p[5] = type == 1 ? 3 : 0;                    /* I/O: entire range */
	put16(p, 6, 0);
	put16(p, 8, min);
	put16(p, 10, max);
	put16(p, 12, 0);
	put16(p, 14, (uint16_t)(max - min + 1));
	return 16;
}

static size_t dword_mem(uint8_t *p, uint32_t min, uint32_t max)
{
	p[0] = 0x87;
	put16(p, 1, 23);
	p[3] = 0;                                    /* memory */
	p[4] = 0x0c;
	p[5] = 0x01;                                 /* read-write, non-cacheable */
	put32(p, 6, 0);
	put32(p, 10, min);
	put32(p, 14, max);
	put32(p, 18, 0);
	put32(p, 22, max - min + 1);
	return 26;
}

static void pci_crs(vmm__aml *a)
{
	uint8_t crs[128];
	size_t n = word_space(crs, 2, 0, 0);

	crs[n++] = 0x47, crs[n++] = 1;               /* IO (0xcf8, 8): config ports */
	put16(crs, n, 0xcf8), put16(crs, n + 2, 0xcf8), n += 4;
	crs[n++] = 1, crs[n++] = 8;
	n += word_space(crs + n, 1, 0x0000, 0x0cf7);
	n += word_space(crs + n, 1, 0x0d00, 0xffff);
	n += dword_mem(crs + n, (uint32_t)VMM__PCI_MMIO_BASE,
		       (uint32_t)(VMM__PCI_MMIO_BASE + VMM__PCI_MMIO_SIZE - 1));
	crs[n++] = 0x79, crs[n++] = 0;
	vmm__aml_name_buffer(a, "_CRS", crs, n);
}

/* _PRT: INTA-INTD of slots 1-31 on GSIs 16-19, rotated per slot. */
static void pci_prt(vmm__aml *a)
{
	vmm__aml_name_open(a, "_PRT");
	vmm__aml_package(a, (VMM__PCI_SLOTS - 1) * 4);
	for (unsigned slot = 1; slot < VMM__PCI_SLOTS; slot++)
		for (unsigned pin = 0; pin < 4; pin++) {
			vmm__aml_package(a, 4);
			vmm__aml_integer(a, (uint64_t)slot << 16 | 0xffff);
			vmm__aml_integer(a, pin);
			vmm__aml_integer(a, 0);
			vmm__aml_integer(a, VMM__PCI_INTX_GSI(slot, pin));
			vmm__aml_close(a);
		}
	vmm__aml_close(a);
}

static void pci_host(vmm__aml *a)
{
	vmm__aml_device(a, "PCI0");
	vmm__aml_name_eisaid(a, "_HID", "PNP0A03");
	vmm__aml_name_int(a, "_SEG", 0);
	vmm__aml_name_int(a, "_BBN", 0);
	vmm__aml_name_int(a, "_UID", 0);
	pci_crs(a);
	pci_prt(a);
	vmm__aml_close(a);
}

/* Motherboard resources (PNP0C02): the ECAM window, so an OS that checks
 * MCFG against ACPI reservations (Linux) uses it. */
static void ecam_reservation(vmm__aml *a)
{
	uint8_t crs[16];
	uint32_t base = (uint32_t)VMM__PCI_ECAM_BASE, len = (uint32_t)VMM__PCI_ECAM_SIZE;

	crs[0] = 0x86;                               /* Memory32Fixed */
	put16(crs, 1, 9);
	crs[3] = 1;                                  /* read-write */
	put32(crs, 4, base);
	put32(crs, 8, len);
	crs[12] = 0x79, crs[13] = 0;
	vmm__aml_device(a, "MRES");
	vmm__aml_name_eisaid(a, "_HID", "PNP0C02");
	vmm__aml_name_buffer(a, "_CRS", crs, 14);
	vmm__aml_close(a);
}

static void build_mcfg(uint8_t *t)
{
	memset(t, 0, MCFG_LEN);
	header(t, "MCFG", MCFG_LEN, 1);
	put64(t, 44, VMM__PCI_ECAM_BASE);
	put16(t, 52, 0);                             /* segment */
	t[54] = 0;                                   /* buses 0..0 */
	t[55] = 0;
	finish(t);
}

static int build_dsdt(uint8_t *t, size_t cap, size_t *len)
{
	static const uint64_t s3[4] = { VMM__ACPI_SLP_TYP_S3, 0, 0, 0 };
	static const uint64_t s5[4] = { VMM__ACPI_SLP_TYP_S5, 0, 0, 0 };
	vmm__aml a;

	vmm__aml_init(&a, t + HDR_LEN, cap - HDR_LEN);
	vmm__aml_scope(&a, "\\_SB_");
	legacy_device(&a, "COM1", "PNP0501", 1, 0x3f8, 8, 4);
	legacy_device(&a, "RTC_", "PNP0B00", -1, 0x70, 2, 8);
	vmm__aml_device(&a, "PWRB");
	vmm__aml_name_eisaid(&a, "_HID", "PNP0C0C");
	vmm__aml_close(&a);
	pci_host(&a);
	ecam_reservation(&a);
	vmm__aml_close(&a);
	vmm__aml_name_package(&a, "\\_S3_", s3, 4);
	vmm__aml_name_package(&a, "\\_S5_", s5, 4);
	if (a.err || a.depth)
		return vmm__err(VMM_EINTERNAL, "acpi: the DSDT does not fit in %zu bytes", cap);
	*len = HDR_LEN + a.len;
	header(t, "DSDT", (uint32_t)*len, 2);
	finish(t);
	return 0;
}

static void build_roots(uint8_t *area, uint64_t base)
{
	const uint64_t tables[NTABLES] = { base + OFF_FADT, base + OFF_MADT, base + OFF_MCFG };
	uint8_t *rsdp = area + OFF_RSDP, *rsdt = area + OFF_RSDT, *xsdt = area + OFF_XSDT;

	header(rsdt, "RSDT", HDR_LEN + 4 * NTABLES, 1);
	header(xsdt, "XSDT", HDR_LEN + 8 * NTABLES, 1);
	for (int i = 0; i < NTABLES; i++) {
		put32(rsdt, HDR_LEN + 4 * i, (uint32_t)tables[i]);
		put64(xsdt, HDR_LEN + 8 * i, tables[i]);
	}
	finish(rsdt);
	finish(xsdt);
	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, "LIBVMM", 6);
	rsdp[15] = 2;                                /* ACPI 2.0+ */
	put32(rsdp, 16, (uint32_t)(base + OFF_RSDT));
	put32(rsdp, 20, 36);
	put64(rsdp, 24, base + OFF_XSDT);
	rsdp[8] = checksum(rsdp, 20);
	rsdp[32] = checksum(rsdp, 36);
}

int vmm__acpi_build(vmm_vm *vm, uint64_t *rsdp)
{
	uint8_t *area = calloc(1, AREA);
	size_t dsdt_len;
	int rc;

	if (!area)
		return vmm__err(VMM_ENOMEM, "acpi: out of memory");
	memcpy(area + OFF_FACS, "FACS", 4);
	put32(area + OFF_FACS, 4, FACS_LEN);
	area[OFF_FACS + 32] = 2;                     /* FACS version */
	build_fadt(area + OFF_FADT, VMM__ACPI_BASE);
	build_madt(area + OFF_MADT, vm->config.vcpus);
	build_mcfg(area + OFF_MCFG);
	rc = build_dsdt(area + OFF_DSDT, AREA - OFF_DSDT, &dsdt_len);
	if (rc == 0) {
		build_roots(area, VMM__ACPI_BASE);
		rc = vmm_mem_write(vm, VMM__ACPI_BASE, area, AREA);
	}
	free(area);
	if (rc == 0) {
		*rsdp = VMM__ACPI_BASE + OFF_RSDP;
		vmm__acpi_pm_set_facs(vm, VMM__ACPI_BASE + OFF_FACS);
	}
	return rc;
}
