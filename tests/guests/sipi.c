/* sipi.c - INIT/SIPI start-up of 4 vCPUs (run with 4 and the "sipi"
 * option: vCPUs 1-3 wait for a start-up IPI instead of starting at the
 * entry). vCPU 0 copies a real-mode trampoline to 0x10000, sends each AP
 * INIT, SIPI, SIPI (vector 0x10); each AP switches to long mode with the
 * BSP's GDT, CR3, CR4 and EFER, takes a stack by its APIC ID and reports
 * in. Then a SIPI to a running AP must be ignored. */
#include "apic.h"

#define TRAMP 0x10000ull
#define TRAMP_VECTOR (TRAMP >> 12)
#define WAIT_US 2000000u

struct tramp_data {
	uint16_t gdt_limit;
	uint64_t gdt_base;
	uint32_t cr3, cr4, efer, cr0;
	uint64_t stacks;
	uint64_t entry;
} __attribute__((packed));

extern const uint8_t tramp_start[], tramp_data[], tramp_end[];
__asm__(".text\n"
	".code16\n"
	"tramp_start:\n"
	"	cli\n"
	"	mov %cs, %ax\n"
	"	mov %ax, %ds\n"
	"	lgdtl tramp_data - tramp_start\n"
	"	mov (tramp_data - tramp_start + 14), %eax\n"   /* cr4 */
	"	mov %eax, %cr4\n"
	"	mov (tramp_data - tramp_start + 10), %eax\n"   /* cr3 */
	"	mov %eax, %cr3\n"
	"	mov $0xc0000080, %ecx\n"
	"	mov (tramp_data - tramp_start + 18), %eax\n"   /* efer */
	"	xor %edx, %edx\n"
	"	wrmsr\n"
	"	mov (tramp_data - tramp_start + 22), %eax\n"   /* cr0 */
	"	mov %eax, %cr0\n"
	"	ljmpl $0x08, $(0x10000 + tramp64 - tramp_start)\n"
	".code64\n"
	"tramp64:\n"
	"	mov $0x10, %ax\n"
	"	mov %ax, %ds\n"
	"	mov %ax, %es\n"
	"	mov %ax, %ss\n"
	"	mov $1, %eax\n"
	"	cpuid\n"
	"	shr $24, %ebx\n"
	"	mov %rbx, %rdi\n"
	"	lea 1(%rbx), %rax\n"
	"	shl $12, %rax\n"
	"	add (0x10000 + tramp_data - tramp_start + 26), %rax\n"   /* stacks */
	"	mov %rax, %rsp\n"
	"	call *(0x10000 + tramp_data - tramp_start + 34)\n"      /* entry */
	"1:	cli\n"
	"	hlt\n"
	"	jmp 1b\n"
	"tramp_data:\n"
	"	.fill 42, 1, 0\n"
	"tramp_end:\n"
	".text\n");

static uint8_t ap_stacks[APIC_CPUS][4096] __attribute__((aligned(4096)));
static volatile uint32_t started[APIC_CPUS], entries[APIC_CPUS];
static volatile uint32_t beat[APIC_CPUS];

static void ap_main(uint64_t id)
{
	if (id == 0 || id >= APIC_CPUS)
		guest_exit(GUEST_FAIL);
	__atomic_add_fetch(&entries[id], 1, __ATOMIC_SEQ_CST);
	irq_install((uint32_t)id);
	lapic_enable();
	CHECK_EQ(lapic_id(), id);
	CHECK_EQ(read_cr3(), ((struct tramp_data *)(TRAMP + (tramp_data - tramp_start)))->cr3);
	started[id] = 1;
	for (;;) {           /* alive: a restart would show in entries[] */
		beat[id]++;
		cpu_pause();
	}
}

static void write_trampoline(void)
{
	struct tramp_data d;
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) gdtr;

	__asm__ volatile("sgdt %0" : "=m"(gdtr));
	d.gdt_limit = gdtr.limit;
	d.gdt_base = gdtr.base;
	d.cr3 = (uint32_t)read_cr3();
	d.cr4 = (uint32_t)read_cr4();
	d.efer = (uint32_t)rdmsr(0xc0000080) & ~0x400u;   /* LMA is set by the CPU */
	d.cr0 = (uint32_t)read_cr0();
	d.stacks = (uint64_t)ap_stacks - 4096;             /* APIC ID 1 -> [0] */
	d.entry = (uint64_t)ap_main;
	CHECK_EQ(sizeof(d), (uint64_t)(tramp_end - tramp_data));
	memcpy((void *)TRAMP, tramp_start, (size_t)(tramp_data - tramp_start));
	memcpy((void *)(TRAMP + (tramp_data - tramp_start)), &d, sizeof(d));
}

static int wait_started(uint32_t id)
{
	uint32_t t0 = clock_us();

	while (!started[id] && clock_us() - t0 < WAIT_US)
		cpu_pause();
	return started[id];
}

int guest_main(uint32_t index, uint32_t count)
{
	if (index != 0) {
		printf("FAIL: vCPU %u ran without a start-up IPI\n", index);
		guest_exit(GUEST_FAIL);
	}
	CHECK_EQ(count, 4);
	irq_install(0);
	lapic_enable();
	write_trampoline();
	delay_us(50000);
	for (uint32_t i = 1; i < count; i++)
		CHECK_EQ(entries[i], 0);
	printf("sipi: %u APs waiting\n", count - 1);
	for (uint32_t i = 1; i < count; i++) {
		lapic_ipi(i, ICR_INIT | ICR_ASSERT);
		delay_us(10000);
		lapic_ipi(i, ICR_SIPI | TRAMP_VECTOR);
		delay_us(200);
		lapic_ipi(i, ICR_SIPI | TRAMP_VECTOR);   /* ignored if the first took */
	}
	printf("sipi: INIT-SIPI-SIPI sent\n");
	for (uint32_t i = 1; i < count; i++) {
		CHECK(wait_started(i));
		printf("sipi: AP %u in long mode\n", i);
	}
	lapic_ipi(1, ICR_SIPI | TRAMP_VECTOR);       /* AP 1 runs: ignored */
	delay_us(50000);
	for (uint32_t i = 1; i < count; i++)
		CHECK_EQ(entries[i], 1);
	uint32_t b = beat[1], t0 = clock_us();
	while (beat[1] == b && clock_us() - t0 < WAIT_US)
		cpu_pause();
	CHECK(beat[1] != b);                          /* still running */
	printf("sipi: SIPI to a running AP ignored\n");
	guest_pass("sipi");
}
