/* share_writer.c - runner-only guest (host test "shared-region", see
 * share.h): checks the host's magic in the shared region, writes its
 * pattern, raises DONE and waits for the reader in the other VM to ACK.
 * Expected end: debug exit 0. */
#include "common.h"
#include "share.h"

static volatile uint64_t *word(uint64_t off)
{
	return (volatile uint64_t *)(SHARE_GPA + off);
}

int guest_main(uint32_t index, uint32_t count)
{
	(void)index;
	(void)count;
	CHECK_EQ(*word(SHARE_MAGIC_OFF), SHARE_MAGIC);
	for (uint32_t i = 0; i < SHARE_WORDS; i++)
		*word(SHARE_WRITER_OFF + 8 * i) = share_writer_word(i);
	__atomic_store_n(word(SHARE_DONE_OFF), 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(word(SHARE_ACK_OFF), __ATOMIC_ACQUIRE) != 1)
		cpu_pause();
	printf("share-writer: the reader acknowledged\n");
	guest_pass("share-writer");
}
