# bench.mk - the emu benchmark's guest (tests/bench/guest/README.md), a
# Multiboot ELF32 image that libvmm and QEMU boot alike. Included by the
# Makefile after tests/guests/guests.mk (MB_CFLAGS).
BENCH_GUEST_DIR  := $(GUEST_DIR)/bench
BENCH_GUEST      := $(GUEST_DIR)/bench-emu.elf
BENCH_GUEST_SRCS := $(wildcard tests/bench/guest/*.S tests/bench/guest/*.c)
BENCH_GUEST_OBJS := $(patsubst tests/bench/guest/%,$(BENCH_GUEST_DIR)/%.o,$(BENCH_GUEST_SRCS))

$(BENCH_GUEST_DIR)/%.o: tests/bench/guest/%
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(MB_CFLAGS) -c $< -o $@

$(BENCH_GUEST): $(BENCH_GUEST_OBJS) tests/guests/multiboot/multiboot.ld
	$(GUEST_CC) $(MB_CFLAGS) -static -Wl,-T,tests/guests/multiboot/multiboot.ld \
	      -Wl,--build-id=none -o $@ $(BENCH_GUEST_OBJS)

guests: $(BENCH_GUEST)
