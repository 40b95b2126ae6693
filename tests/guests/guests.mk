# guests.mk - extra guest build rules, included by the Makefile.

# ---- Native self-check ---------------------------------------------------------
# The user-mode guests also build as plain Linux programs (rt/native.c), so
# `make guests-native` checks every constant they assert against the host
# CPU: a guest that fails there has a wrong expectation, not a wrong VMM.
NATIVE_GUESTS := arith flags string memory
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
