/* mb.c - 32-bit part of the Multiboot v1 test guest: checks the boot
 * state the Multiboot spec promises (EAX magic, protected mode without
 * paging, interrupts off), prints the multiboot_info fields (flags,
 * mem_lower/upper, every memory-map entry, command line, boot loader name)
 * and checks them against a 64 MiB machine, then builds identity page
 * tables for the first GiB and enters long mode (entry32.S).
 * Run with 64 MiB and the command line "multiboot-test answer=42".
 * Expected end: debug exit 0 (from 64-bit code); a failed CHECK exits 1. */
#include "common.h"

#define MB_BOOT_MAGIC 0x2badb002u
#define MBI_MEM (1u << 0)
#define MBI_CMDLINE (1u << 2)
#define MBI_MMAP (1u << 6)
#define MBI_NAME (1u << 9)
#define RAM_BYTES (64ull << 20)

struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
	uint32_t mods_count, mods_addr, syms[4], mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr, config_table, boot_loader_name;
} __attribute__((packed));

struct mb_mmap {
	uint32_t size;
	uint64_t addr, len;
	uint32_t type;
} __attribute__((packed));

void mb_main(uint32_t magic, const struct mb_info *info) __attribute__((noreturn));
void enter_long_mode(uint32_t pml4) __attribute__((noreturn));

static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[512] __attribute__((aligned(4096)));

static void check_machine_state(void)
{
	uint32_t cr0, eflags;

	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("pushfl; popl %0" : "=r"(eflags));
	CHECK_EQ(cr0 & 0x80000001u, 1);  /* PE on, PG off */
	CHECK_EQ(eflags & 0x200, 0);      /* IF off */
	CHECK_EQ(eflags & 0x20000, 0);    /* VM off */
}

static void print_mmap(const struct mb_info *info)
{
	uint64_t ram = 0;
	uint32_t off = 0, n = 0;

	while (off + 4 <= info->mmap_length) {
		const struct mb_mmap *e =
			(const struct mb_mmap *)(info->mmap_addr + off);
		printf("multiboot: mmap %u: 0x%08llx-0x%08llx type %u\n", n,
		       (unsigned long long)e->addr,
		       (unsigned long long)(e->addr + e->len), e->type);
		if (e->type == 1)
			ram += e->len;
		off += e->size + 4;
		n++;
	}
	CHECK(n >= 2);
	CHECK(ram <= RAM_BYTES && ram >= RAM_BYTES - 0x60400);
	printf("multiboot: %u mmap entries, %llu KiB of RAM\n", n,
	       (unsigned long long)(ram >> 10));
}

static void print_info(const struct mb_info *info)
{
	printf("multiboot: flags 0x%x\n", info->flags);
	CHECK(info->flags & MBI_MEM);
	printf("multiboot: mem_lower %u KiB, mem_upper %u KiB\n", info->mem_lower,
	       info->mem_upper);
	CHECK(info->mem_lower <= 640);
	CHECK_EQ(info->mem_upper, (RAM_BYTES >> 10) - 1024);
	CHECK(info->flags & MBI_MMAP);
	print_mmap(info);
	CHECK(info->flags & MBI_CMDLINE);
	printf("multiboot: cmdline \"%s\"\n", (const char *)info->cmdline);
	CHECK_EQ(strcmp((const char *)info->cmdline, "multiboot-test answer=42"), 0);
	if (info->flags & MBI_NAME)
		printf("multiboot: boot loader \"%s\"\n",
		       (const char *)info->boot_loader_name);
}

static void build_page_tables(void)
{
	pml4[0] = (uint32_t)pdpt | 0x3;
	pdpt[0] = (uint32_t)pd | 0x3;
	for (uint32_t i = 0; i < 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83; /* 2 MiB, RW, present */
}

void mb_main(uint32_t magic, const struct mb_info *info)
{
	printf("multiboot: 32-bit entry, magic 0x%08x\n", magic);
	CHECK_EQ(magic, MB_BOOT_MAGIC);
	check_machine_state();
	print_info(info);
	build_page_tables();
	printf("multiboot: entering long mode\n");
	enter_long_mode((uint32_t)pml4);
}
