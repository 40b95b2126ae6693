/* share_reader.c - runner-only guest (host test "shared-region", see
 * share.h): waits for the writer in the other VM, checks every word it
 * wrote, writes its own pattern and raises ACK. Expected end: debug exit 0. */
#include "common.h"
#include "share.h"

static volatile uint64_t *word(uint64_t off)
{
	return (volatile uint64_t *)(SHARE_GPA + off);
}

int guest_main(uint32_t index, uint32_t count)
{
	volatile uint32_t *mine = (volatile uint32_t *)(SHARE_GPA + SHARE_READER_OFF);

	(void)index;
	(void)count;
	CHECK_EQ(*word(SHARE_MAGIC_OFF), SHARE_MAGIC);
	while (__atomic_load_n(word(SHARE_DONE_OFF), __ATOMIC_ACQUIRE) != 1)
		cpu_pause();
	for (uint32_t i = 0; i < SHARE_WORDS; i++)
		CHECK_EQ(*word(SHARE_WRITER_OFF + 8 * i), share_writer_word(i));
	for (uint32_t i = 0; i < 2 * SHARE_WORDS; i++)
		mine[i] = share_reader_word(i);
	__atomic_store_n(word(SHARE_ACK_OFF), 1, __ATOMIC_RELEASE);
	printf("share-reader: the writer's %u words arrived\n", SHARE_WORDS);
	guest_pass("share-reader");
}
