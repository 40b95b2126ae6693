/* apic64.c - IDT, local APIC, IOAPIC and interrupt-device helpers (apic.h). */
#include "apic.h"

struct gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
} __attribute__((packed));

struct percpu {
	uint64_t cpu;
	uint64_t x2apic;
};

static struct gate irq_idt[256] __attribute__((aligned(16)));
static struct percpu percpu[APIC_CPUS];
volatile uint32_t irq_count[APIC_CPUS][256];
volatile uint8_t irq_last[APIC_CPUS];
void (*volatile irq_hook[256])(uint32_t cpu, uint32_t vector);
volatile uint8_t irq_auto_eoi[256];
volatile uint8_t irq_tolerate_low;

/* Each stub pushes a zero error code where the CPU pushes none, then its
 * vector, saves the caller-saved registers and calls irq_dispatch. */
__asm__(".text\n"
	".macro IRQ_STUB vec\n"
	"irq_stub_\\vec:\n"
	".if (\\vec == 8) || (\\vec >= 10 && \\vec <= 14) || (\\vec == 17) || "
	"(\\vec == 21) || (\\vec == 29) || (\\vec == 30)\n"
	".else\n"
	"	pushq $0\n"
	".endif\n"
	"	pushq $\\vec\n"
	"	jmp irq_common\n"
	".endm\n"
	".altmacro\n"
	".set v, 0\n"
	".rept 256\n"
	"	IRQ_STUB %v\n"
	"	.set v, v + 1\n"
	".endr\n"
	"irq_common:\n"
	"	push %rax; push %rcx; push %rdx; push %rsi; push %rdi\n"
	"	push %r8; push %r9; push %r10; push %r11; push %rbx\n"
	"	mov 80(%rsp), %rdi\n"           /* vector */
	"	mov 96(%rsp), %rsi\n"           /* interrupted RIP */
	"	mov %rsp, %rbx\n"
	"	and $-16, %rsp\n"
	"	call irq_dispatch\n"
	"	mov %rbx, %rsp\n"
	"	pop %rbx; pop %r11; pop %r10; pop %r9; pop %r8\n"
	"	pop %rdi; pop %rsi; pop %rdx; pop %rcx; pop %rax\n"
	"	add $16, %rsp\n"
	"	iretq\n"
	".macro IRQ_PTR vec\n"
	"	.quad irq_stub_\\vec\n"
	".endm\n"
	".section .rodata\n"
	".balign 8\n"
	"irq_stub_table:\n"
	".set v, 0\n"
	".rept 256\n"
	"	IRQ_PTR %v\n"
	"	.set v, v + 1\n"
	".endr\n"
	".noaltmacro\n"
	".text\n");
extern const uint64_t irq_stub_table[256];

uint32_t irq_cpu(void)
{
	uint64_t cpu;

	__asm__ volatile("mov %%gs:0, %0" : "=r"(cpu));
	return (uint32_t)cpu;
}

static int is_x2(void)
{
	uint64_t x2;

	__asm__ volatile("mov %%gs:8, %0" : "=r"(x2));
	return x2 != 0;
}

void irq_dispatch(uint64_t vector, uint64_t rip);
void irq_dispatch(uint64_t vector, uint64_t rip)
{
	uint32_t cpu = irq_cpu();

	if (vector < 32 && !(irq_tolerate_low && (vector == 1 || vector == 3))) {
		printf("FAIL: exception %u on vCPU %u at rip 0x%lx\n", (unsigned)vector,
		       cpu, (unsigned long)rip);
		guest_exit(GUEST_FAIL);
	}
	__atomic_add_fetch(&irq_count[cpu][vector], 1, __ATOMIC_SEQ_CST);
	irq_last[cpu] = (uint8_t)vector;
	if (irq_hook[vector])
		irq_hook[vector](cpu, (uint32_t)vector);
	if (irq_auto_eoi[vector])
		lapic_eoi();
}

static void set_gate(int vec, uint64_t handler, uint16_t cs)
{
	irq_idt[vec].off_lo = (uint16_t)handler;
	irq_idt[vec].sel = cs;
	irq_idt[vec].ist = 0;
	irq_idt[vec].type = 0x8e;
	irq_idt[vec].off_mid = (uint16_t)(handler >> 16);
	irq_idt[vec].off_hi = (uint32_t)(handler >> 32);
	irq_idt[vec].zero = 0;
}

void irq_install(uint32_t cpu)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = { sizeof(irq_idt) - 1, (uint64_t)irq_idt };
	uint16_t cs;

	if (cpu >= APIC_CPUS)
		guest_exit(GUEST_FAIL);
	percpu[cpu].cpu = cpu;
	percpu[cpu].x2apic = 0;
	wrmsr(0xc0000101, (uint64_t)&percpu[cpu]);   /* GS base */
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	if (cpu == 0 || irq_idt[0].sel == 0)
		for (int v = 0; v < 256; v++)
			set_gate(v, irq_stub_table[v], cs);
	__asm__ volatile("lidt %0" : : "m"(idtr) : "memory");
}

uint32_t irq_total(uint32_t cpu)
{
	uint32_t n = 0;

	for (int v = 32; v < 256; v++)
		n += irq_count[cpu][v];
	return n;
}

/* ---- Local APIC ------------------------------------------------------------ */
uint32_t lapic_read(uint32_t reg)
{
	if (is_x2())
		return (uint32_t)rdmsr(0x800 + reg / 16);
	return *(volatile uint32_t *)(LAPIC_BASE + reg);
}

void lapic_write(uint32_t reg, uint32_t v)
{
	if (is_x2())
		wrmsr(0x800 + reg / 16, v);
	else
		*(volatile uint32_t *)(LAPIC_BASE + reg) = v;
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

uint32_t lapic_id(void)
{
	uint32_t id = lapic_read(LAPIC_ID);

	return is_x2() ? id : id >> 24;
}

void lapic_enable(void)
{
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | (1u << 11));
	lapic_write(LAPIC_SVR, 0x1ff);
	lapic_write(LAPIC_TPR, 0);
	outb(0x21, 0xff);            /* the PIC pair masked (OCW1) ... */
	outb(0xa1, 0xff);
	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED | LVT_EXTINT);   /* ... and unwired */
	lapic_write(LAPIC_LVT_LINT1, LVT_MASKED | 0x400);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	lapic_write(LAPIC_LVT_ERR, LVT_MASKED | 0xfe);
}

int cpu_has_x2apic(void)
{
	uint32_t r[4];

	cpuid(1, 0, r);
	return (r[2] >> 21) & 1;
}

int cpu_has_tsc_deadline(void)
{
	uint32_t r[4];

	cpuid(1, 0, r);
	return (r[2] >> 24) & 1;
}

void lapic_x2apic(void)
{
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | (1u << 10) | (1u << 11));
	__asm__ volatile("movq $1, %%gs:8" ::: "memory");
}

int lapic_is_x2apic(void)
{
	return is_x2();
}

void lapic_ipi(uint32_t dest, uint32_t icr)
{
	if (is_x2()) {
		wrmsr(0x830, (uint64_t)dest << 32 | icr);
		return;
	}
	lapic_write(LAPIC_ICR_HI, dest << 24);
	lapic_write(LAPIC_ICR_LO, icr);
	while (lapic_read(LAPIC_ICR_LO) & ICR_PENDING)
		cpu_pause();
}

/* ---- IOAPIC ----------------------------------------------------------------- */
uint32_t ioapic_read(uint32_t reg)
{
	*(volatile uint32_t *)IOAPIC_BASE = reg;
	return *(volatile uint32_t *)(IOAPIC_BASE + 0x10);
}

void ioapic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)IOAPIC_BASE = reg;
	*(volatile uint32_t *)(IOAPIC_BASE + 0x10) = v;
}

void ioapic_route(uint32_t pin, uint64_t entry)
{
	ioapic_write(0x10 + 2 * pin, (uint32_t)IOAPIC_MASKED);
	ioapic_write(0x11 + 2 * pin, (uint32_t)(entry >> 32));
	ioapic_write(0x10 + 2 * pin, (uint32_t)entry);
}

uint64_t ioapic_entry(uint32_t pin)
{
	return (uint64_t)ioapic_read(0x11 + 2 * pin) << 32 | ioapic_read(0x10 + 2 * pin);
}

uint32_t irq_wait_count(uint32_t vector, uint32_t n, uint32_t timeout_us)
{
	uint32_t cpu = irq_cpu(), t0 = clock_us();

	uint32_t now;

	/* The clock read (an exit) happens with IF=1: a backend may inject a
	 * pending interrupt at any entry, not only at an STI window. */
	do {
		irq_enable();
		now = clock_us();
		irq_disable();
	} while (irq_count[cpu][vector] < n && now - t0 < timeout_us);
	return irq_count[cpu][vector];
}

/* ---- Time --------------------------------------------------------------------- */
int within_tolerance(uint64_t measured, uint64_t expected)
{
	uint64_t tol = expected * clock_tolerance() / 100;

	return measured + tol >= expected && measured <= expected + tol;
}

void check_timed(uint64_t (*phase)(uint32_t arg), uint32_t arg, uint64_t expected)
{
	uint64_t m = 0;

	for (int i = 0; i < 3; i++) {
		m = phase(arg);
		if (within_tolerance(m, expected))
			return;
	}
	CHECK_NEAR(m, expected);
}

void delay_us(uint32_t us)
{
	uint32_t t0 = clock_us();

	while (clock_us() - t0 < us)
		cpu_pause();
}
