/* guest.c - the appliance's guest: consumes the host's records from the
 * shared ring, checks their sequence numbers, computes CRC-32 (IEEE,
 * reflected 0xEDB88320) over their payloads, hands the result to the
 * control device and reports the host's verdict. Exit code 0 if the host
 * agrees. */
#include "common.h"
#include "appliance_abi.h"

static volatile uint32_t *reg(uint32_t off)
{
	return (volatile uint32_t *)(uintptr_t)(DEV_GPA + off);
}

static uint32_t crc32_update(uint32_t crc, const volatile uint8_t *p, uint32_t n)
{
	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
	}
	return ~crc;
}

int guest_main(uint32_t index, uint32_t count_)
{
	volatile struct shm *shm = (volatile struct shm *)(uintptr_t)SHM_GPA;
	uint32_t n, crc = 0, bytes = 0;

	(void)index;
	(void)count_;
	if (*reg(DEV_ID) != DEV_ID_VALUE) {
		printf("appliance: no control device\n");
		return 1;
	}
	n = *reg(DEV_COUNT);
	for (uint32_t i = 0; i < n; i++) {
		while (__atomic_load_n(&shm->head, __ATOMIC_ACQUIRE) == i)
			cpu_pause();
		volatile struct rec *r = &shm->ring[i % RING_SLOTS];
		if (r->seq != i || r->len > REC_DATA) {
			printf("appliance: bad record %u (seq %u, len %u)\n", i, r->seq, r->len);
			return 1;
		}
		crc = crc32_update(crc, r->data, r->len);
		bytes += r->len;
		__atomic_store_n(&shm->tail, i + 1, __ATOMIC_RELEASE);
	}
	*reg(DEV_RESULT) = crc;
	uint32_t status = *reg(DEV_STATUS);
	printf("appliance: %u records, %u bytes, crc32 %08x, host says %s\n", n, bytes, crc,
	       status == 1 ? "match" : "MISMATCH");
	return status == 1 ? 0 : 1;
}
