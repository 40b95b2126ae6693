/* ring64.c - CPL 3 support for 64-bit test guests (ring.h). */
#include "common.h"
#include "ring.h"

struct tss64 ring_tss __attribute__((aligned(16)));
static uint8_t kstack[8192] __attribute__((aligned(16)));
static uint64_t gdt[9] __attribute__((aligned(16)));

uint64_t ring_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

void ring_wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			 : "memory");
}

static void user_pages(void)
{
	uint64_t cr3, *pml4, *pdpt, *pd;

	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	pml4 = (uint64_t *)(cr3 & ~0xfffull);
	pml4[0] |= 4;
	pdpt = (uint64_t *)(pml4[0] & 0xffffffffff000ull);
	pdpt[0] |= 4;
	pd = (uint64_t *)(pdpt[0] & 0xffffffffff000ull);
	for (int i = 0; i < 512; i++)
		pd[i] |= 4;
	__asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
}

void ring_setup(void)
{
	uint64_t t = (uint64_t)&ring_tss;
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) gdtr = { sizeof(gdt) - 1, (uint64_t)gdt };

	gdt[0] = 0;
	gdt[1] = 0x00af9b000000ffffull;   /* 0x08 kernel code 64 */
	gdt[2] = 0x00cf93000000ffffull;   /* 0x10 kernel data */
	gdt[3] = 0x00cffb000000ffffull;   /* 0x18 user code 32 */
	gdt[4] = 0x00cff3000000ffffull;   /* 0x20 user data */
	gdt[5] = 0x00affb000000ffffull;   /* 0x28 user code 64 */
	gdt[6] = 0x00cff3000000ffffull;   /* 0x30 user data (SYSEXIT) */
	gdt[7] = (sizeof(ring_tss) - 1) | ((t & 0xffffff) << 16) | (0x89ull << 40) |
		 ((t >> 24 & 0xff) << 56);     /* 0x38 available 64-bit TSS */
	gdt[8] = t >> 32;
	ring_tss.rsp[0] = (uint64_t)(kstack + sizeof(kstack));
	ring_tss.iomap = sizeof(ring_tss);
	__asm__ volatile("lgdt %0\n\t"
			 "mov $0x10, %%eax\n\t"
			 "mov %%eax, %%ds\n\tmov %%eax, %%es\n\tmov %%eax, %%ss\n\t"
			 "mov $0x38, %%eax\n\tltr %%ax\n\t"
			 : : "m"(gdtr) : "rax", "memory");
	user_pages();
}

void ring_set_gate(unsigned vec, void *handler, unsigned dpl, unsigned ist)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr;
	uint64_t h = (uint64_t)handler;
	uint32_t *g;

	__asm__ volatile("sidt %0" : "=m"(idtr));
	g = (uint32_t *)(idtr.base + vec * 16);
	g[0] = (uint32_t)(h & 0xffff) | ((uint32_t)SEL_KCODE << 16);
	g[1] = (uint32_t)(h & 0xffff0000u) | 0x8e00 | (dpl << 13) | ist;
	g[2] = (uint32_t)(h >> 32);
	g[3] = 0;
}
