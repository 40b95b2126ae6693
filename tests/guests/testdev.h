/* testdev.h - the test devices the conformance runner registers for the pio
 * and mmio guests. This header is their specification: the runner
 * (tests/conformance/testdev.c) implements it and the guests compute what
 * they expect from it. Plain C99, shared by host and guest code.
 *
 * Port device, ports 0x500-0x507 (an access is decoded by its first port):
 *  0x500-0x503 DATA  32-bit register D. OUT of size s at 0x500+o replaces
 *                    bytes o..o+s-1 of D; IN returns those bytes of
 *                    D ^ 0x5a5a5a5a.
 *  0x504       SEQ   IN (size 1, 2 or 4): testdev_seq(n) masked to the size,
 *                    where n counts SEQ reads since the last reset.
 *                    OUT (any size): the value masked to its size is fed to
 *                    the checksum: sum = (sum * 31 + value) & 0xffff, and
 *                    count += 1.
 *  0x506       SUM   IN (size 2): sum. OUT (any size): resets n, sum, count.
 *  0x507       COUNT IN (size 1): count & 0xff.
 *
 * Note port 0x508 (registered for every guest): OUT of size 1 appends the
 * byte to the note of the running case; the runner shows notes on the
 * case's result line ("PASS emu/paging (note: ...)"). Guests use it to say
 * which optional checks they skipped; without a runner the bytes are dropped.
 *
 * UTC port 0x50c (device "utc"): IN of size 4 returns the host's
 * CLOCK_REALTIME seconds since 1970 (UTC), low 32 bits; other accesses are
 * ignored (reads all ones).
 *
 * MMIO device, 0xd0000000, 0x1000 bytes; accesses of 1, 2, 4 or 8 bytes
 * that stay inside one of these areas:
 *  0x000-0x7ff STORE plain storage: reads return what was written. Byte i
 *                    starts as testdev_mmio_init(i).
 *  0x800-0xeff XOR   storage that returns each stored byte XOR 0xa5;
 *                    starts zeroed.
 *  0xf00 (8)   COUNT number of accesses to STORE, XOR and ID so far.
 *  0xf08 (8)   LAST  the last such access: offset << 16 | size << 8 | is_write.
 *  0xf10 (8)   ID    reads TESTDEV_MMIO_ID; writes are ignored (but counted).
 *
 * Interrupt device "irq", ports 0x520-0x52f (for VMs with VMM_VM_IRQCHIP):
 *  0x520 CLOCK  IN (size 4): host CLOCK_MONOTONIC in microseconds since the
 *               device was attached, truncated to 32 bits.
 *  0x524 TOL    IN (size 1): the timing tolerance in percent guests apply
 *               to rates measured against CLOCK (5 natively; the runner's
 *               --tolerance for hosts on emulated time). Never printed.
 *  0x525 LINE   OUT (size 1): vmm_irq_line(gsi = value & 0x1f,
 *               level = value >> 7).
 *  0x526 STATUS IN (size 1): 0 if the last LINE or MSI call returned 0,
 *               else 1.
 *  0x527 STORM  OUT (size 1): nonzero starts a host thread sending the
 *               latched MSI (data, address) in a tight loop until 0 is written (or the VM
 *               ends); IN returns 1 if that thread sent at least one.
 *  0x528 MSIDAT OUT (size 4): latches the MSI data word.
 *  0x52c MSIADR OUT (size 4): vmm_msi_send(value, latched data); the
 *               value is also latched as the storm's address.
 */
#ifndef TESTDEV_H
#define TESTDEV_H

#include <stdint.h>

#define TESTDEV_PIO_BASE 0x500
#define TESTDEV_PIO_LEN 8
#define TESTDEV_PIO_DATA 0x500
#define TESTDEV_PIO_SEQ 0x504
#define TESTDEV_PIO_SUM 0x506
#define TESTDEV_PIO_COUNT 0x507
#define TESTDEV_PIO_XOR 0x5a5a5a5au
#define TESTDEV_NOTE_PORT 0x508
#define TESTDEV_UTC_PORT 0x50c

#define TESTDEV_MMIO_BASE 0xd0000000ull
#define TESTDEV_MMIO_LEN 0x1000
#define TESTDEV_MMIO_STORE 0x000
#define TESTDEV_MMIO_XOR_AREA 0x800
#define TESTDEV_MMIO_XOR_END 0xf00
#define TESTDEV_MMIO_COUNT 0xf00
#define TESTDEV_MMIO_LAST 0xf08
#define TESTDEV_MMIO_ID 0xf10
#define TESTDEV_MMIO_XOR 0xa5
#define TESTDEV_IRQ_BASE 0x520
#define TESTDEV_IRQ_LEN 16
#define TESTDEV_IRQ_CLOCK 0x520
#define TESTDEV_IRQ_TOL 0x524
#define TESTDEV_IRQ_LINE 0x525
#define TESTDEV_IRQ_STATUS 0x526
#define TESTDEV_IRQ_STORM 0x527
#define TESTDEV_IRQ_MSIDAT 0x528
#define TESTDEV_IRQ_MSIADR 0x52c

#define TESTDEV_MMIO_ID_VALUE 0x4d4d494f54455354ull  /* "TSETOIMM" */

static inline uint32_t testdev_seq(uint32_t n)
{
	return n * 0x9e3779b1u + 0x01234567u;
}

static inline uint8_t testdev_mmio_init(uint32_t offset)
{
	return (uint8_t)(offset * 13 + 7);
}

static inline uint32_t testdev_sum(uint32_t sum, uint32_t value)
{
	return (sum * 31 + value) & 0xffff;
}

#endif /* TESTDEV_H */
