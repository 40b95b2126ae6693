/* common.h - runtime for libvmm test guests: port I/O, UART output, printf,
 * exits, CHECK macros and SMP helpers. Freestanding, no SSE; works in 64-bit
 * guests and (everything but the 64-bit-only helpers) in 32-bit ones. */
#ifndef GUEST_COMMON_H
#define GUEST_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Exit codes written to the exit device at port 0xf4. */
#define GUEST_PASS 0u        /* every check held */
#define GUEST_FAIL 1u        /* a CHECK failed; the transcript says which */

#define UART_BASE 0x3f8
#define UART_LSR (UART_BASE + 5)
#define UART_LSR_THRE 0x20
#define DEBUG_EXIT_PORT 0xf4

/* ---- Port I/O and CPU helpers ---------------------------------------------- */
static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint16_t inw(uint16_t port)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline void cpu_pause(void)
{
	__asm__ volatile("pause" ::: "memory");
}
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}
static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v),
			 "d"((uint32_t)(v >> 32)) : "memory");
}

#ifdef __x86_64__
static inline uint64_t read_cr0(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}
static inline uint64_t read_cr2(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}
static inline uint64_t read_cr3(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}
static inline uint64_t read_cr4(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}
static inline void write_cr3(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}
static inline void invlpg(const volatile void *va)
{
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}
#endif

/* ---- Output ----------------------------------------------------------------- */
void uart_putc(char c);
void uart_puts(const char *s);
/* printf subset: %d %i %u %x %X %p %s %c %%, flags '-' '0', a width, and
 * the length modifiers l, ll, z. Whole calls are atomic across vCPUs. */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Tells the conformance runner about a skipped optional check (see
 * tests/guests/testdev.h, note port); the transcript stays the same. */
void guest_note(const char *text);
#define GUEST_NOTE_PORT 0x508

/* ---- Ends ------------------------------------------------------------------- */
/* Writes code (32 bits) to the exit device: the run ends with it. */
__attribute__((noreturn)) void guest_exit(uint32_t code);
/* Same with an 8-bit OUT. */
__attribute__((noreturn)) void guest_exit8(uint8_t code);
/* HLT with interrupts off: this vCPU stops for good. */
__attribute__((noreturn)) void halt(void);
/* Prints "PASS <name>" and exits with GUEST_PASS. */
__attribute__((noreturn)) void guest_pass(const char *name);

__attribute__((noreturn)) void check_fail(const char *file, int line,
					  const char *expr, uint64_t a,
					  uint64_t b, int has_values);

/* CHECK(expr): on failure prints "FAIL file:line: expr" and exits GUEST_FAIL.
 * CHECK_EQ(a, b): same, also printing both values. */
#define CHECK(e)                                                          \
	do {                                                              \
		if (!(e))                                                 \
			check_fail(__FILE_NAME__, __LINE__, #e, 0, 0, 0); \
	} while (0)
#define CHECK_EQ(a, b)                                                    \
	do {                                                              \
		uint64_t _ca = (uint64_t)(a), _cb = (uint64_t)(b);        \
		if (_ca != _cb)                                           \
			check_fail(__FILE_NAME__, __LINE__, #a " == " #b, \
				   _ca, _cb, 1);                          \
	} while (0)

/* ---- Memory ----------------------------------------------------------------- */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);

/* ---- SMP -------------------------------------------------------------------- */
#define GUEST_MAX_VCPUS 64   /* VMM_MAX_VCPUS */

typedef struct spinlock {
	volatile uint32_t locked;
} spinlock_t;
#define SPINLOCK_INIT { 0 }

/* xchg-based test-and-test-and-set lock. */
void spin_lock(spinlock_t *lock);
void spin_unlock(spinlock_t *lock);

/* Sense-reversing barrier for `count` vCPUs; every vCPU passes its own
 * local_sense (starting at 0). */
typedef struct barrier {
	volatile uint32_t waiting;
	volatile uint32_t sense;
} barrier_t;
#define BARRIER_INIT { 0, 0 }
void barrier_wait(barrier_t *b, uint32_t count, uint32_t *local_sense);

/* Entry point every guest provides (called by entry64.S). */
int guest_main(uint32_t index, uint32_t count);

#endif /* GUEST_COMMON_H */
