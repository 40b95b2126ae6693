/* main32.c - 32-bit part of the benchmark guest (README.md): reads the
 * workload and the iteration count from the Multiboot command line
 * ("IMAGE WORKLOAD ITERATIONS", as libvmm and QEMU pass it), builds identity
 * page tables for the first 4 GiB (2 MiB pages, user-accessible, so the
 * local APIC at 0xfee00000 is mapped and CPL 3 code runs anywhere) and
 * returns the PML4 address to entry.S, which enters long mode. A bad command
 * line ends the run with debug-exit value 2. */
#include <stdint.h>

#define MB_BOOT_MAGIC 0x2badb002u
#define MBI_CMDLINE (1u << 2)
#define EXIT_BADARGS 2

struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
} __attribute__((packed));

/* Read by the 64-bit code (entry.S). */
uint32_t bench_index;
uint64_t bench_iters;

/* The order of entry.S's workload table. */
static const char *const names[] = { "none", "alu", "copy", "branch", "dispatch", "syscall",
				      "irq" };

static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[4][512] __attribute__((aligned(4096)));

static void __attribute__((noreturn)) bad_args(void)
{
	__asm__ volatile("outl %0, $0xf4" : : "a"(EXIT_BADARGS));
	for (;;)
		__asm__ volatile("cli; hlt");
}

static const char *skip_word(const char *s)
{
	while (*s && *s != ' ')
		s++;
	while (*s == ' ')
		s++;
	return s;
}

static int word_is(const char *s, const char *word)
{
	while (*word && *s == *word)
		s++, word++;
	return *word == 0 && (*s == ' ' || *s == 0);
}

static void parse(const char *cmdline)
{
	const char *s = skip_word(cmdline);     /* the image's name */
	uint32_t i, n = sizeof(names) / sizeof(names[0]);
	uint64_t v = 0;

	for (i = 0; i < n && !word_is(s, names[i]); i++)
		;
	if (i == n)
		bad_args();
	bench_index = i;
	s = skip_word(s);
	if (*s < '0' || *s > '9')
		bad_args();
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - 9) / 10)
			bad_args();
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if ((*s && *s != ' ') || (v == 0 && i != 0))
		bad_args();
	bench_iters = v;
}

uint32_t bench_main32(uint32_t magic, const struct mb_info *info)
{
	if (magic != MB_BOOT_MAGIC || !(info->flags & MBI_CMDLINE))
		bad_args();
	parse((const char *)info->cmdline);
	pml4[0] = (uint32_t)pdpt | 7;
	for (uint32_t g = 0; g < 4; g++) {
		pdpt[g] = (uint32_t)pd[g] | 7;
		for (uint32_t i = 0; i < 512; i++)
			pd[g][i] = ((uint64_t)g << 30) | ((uint64_t)i << 21) | 0x87;
	}
	return (uint32_t)pml4;
}
