# guests.mk - extra guest build rules, included by the Makefile.

# ---- Native self-check ---------------------------------------------------------
# The user-mode guests also build as plain Linux programs (rt/native.c), so
# `make guests-native` checks every constant they assert against the host
# CPU: a guest that fails there has a wrong expectation, not a wrong VMM.
NATIVE_GUESTS := arith flags string memory cpufeat control fpu isa2
NATIVE_DIR    := build/guests-native
NATIVE_BINS   := $(NATIVE_GUESTS:%=$(NATIVE_DIR)/%)

$(NATIVE_DIR)/%: tests/guests/%.c tests/guests/rt/common.c tests/guests/rt/native.c \
		 tests/guests/rt/common.h
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(filter-out -nostdlib,$(GUEST_CFLAGS)) -DGUEST_NATIVE -static \
	      -nostdlib -o $@ tests/guests/rt/native.c tests/guests/rt/common.c $<

.PHONY: guests-native
guests-native: $(NATIVE_BINS)
	@fail=0; for g in $(NATIVE_BINS); do \
	    if $$g > $$g.out; then echo "PASS native/$${g##*/}"; \
	    else echo "FAIL native/$${g##*/} (status $$?)"; cat $$g.out; fail=1; fi; \
	done; exit $$fail

# ---- Multiboot v1 guest (32-bit ELF) ------------------------------------------------
# tests/guests/multiboot/*.S and *.c plus the runtime's common.c, built for
# i386 and linked at 1 MiB into build/guests/multiboot.elf.
MB_DIR     := $(GUEST_DIR)/multiboot
MB_CFLAGS  := $(filter-out -mno-red-zone,$(GUEST_CFLAGS)) -m32 -march=i686
MB_SRCS    := $(wildcard tests/guests/multiboot/*.S tests/guests/multiboot/*.c) \
              tests/guests/rt/common.c
MB_OBJS    := $(patsubst %,$(MB_DIR)/%.o,$(notdir $(MB_SRCS)))

$(MB_DIR)/%.o: tests/guests/multiboot/%
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(MB_CFLAGS) -c $< -o $@

$(MB_DIR)/common.c.o: tests/guests/rt/common.c tests/guests/rt/common.h
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(MB_CFLAGS) -c $< -o $@

$(GUEST_DIR)/multiboot.elf: $(MB_OBJS) tests/guests/multiboot/multiboot.ld
	$(GUEST_CC) $(MB_CFLAGS) -static -Wl,-T,tests/guests/multiboot/multiboot.ld \
	      -Wl,--build-id=none -o $@ $(MB_OBJS)

guests: $(GUEST_DIR)/multiboot.elf

# ---- Conformance runner -------------------------------------------------------------
# conform.c plus its parts in tests/conformance/src/ (one tool, several files).
CONFORM_SRCS := tests/conformance/conform.c $(wildcard tests/conformance/src/*.c)
CONFORM_HDRS := $(wildcard tests/conformance/src/*.h) tests/guests/testdev.h \
                tests/guests/share.h tests/guests/hypercall.h

$(B)/tests/conformance/conform: $(CONFORM_SRCS) $(CONFORM_HDRS) $(ALIB)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(APPCFLAGS)) -o $@ $(CONFORM_SRCS) $(ALIB) \
	      $(SANLD) $(LIBS)

# ---- make check-guests ----------------------------------------------------------------
# The native self-check of the guests' expectations, then every guest and
# host test on every backend.
check-guests: guests guests-native $(B)/tests/conformance/conform
	@$(B)/tests/conformance/conform

# ---- 32-bit task-switch guest (Multiboot, ELF32) -------------------------------------
$(GUEST_DIR)/tasks.elf: tests/guests/tasks32/tasks.c $(MB_DIR)/common.c.o \
			tests/guests/multiboot/multiboot.ld tests/guests/rt/common.h
	$(GUEST_CC) $(MB_CFLAGS) -static -Wl,-T,tests/guests/multiboot/multiboot.ld \
	      -Wl,--build-id=none -o $@ $(MB_DIR)/common.c.o tests/guests/tasks32/tasks.c

guests: $(GUEST_DIR)/tasks.elf
