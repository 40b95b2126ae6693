# hosts.mk - build rule and check target of the test-host harness.
# Included by the top-level Makefile; also usable alone:
#   make -f tests/hosts/hosts.mk build/hosts/kvm-selftest
# Outputs always go to build/hosts/ (whatever B is): the harness caches there.

HOSTS_CC       ?= gcc
HOSTS_SELFTEST := build/hosts/kvm-selftest

# Static, so it runs in a busybox-only test host without packing libraries.
$(HOSTS_SELFTEST): tests/hosts/kvm-selftest.c
	@mkdir -p $(dir $@)
	$(HOSTS_CC) -std=gnu11 -static -O2 -Wall -Wextra -Werror -o $@ $<

.PHONY: check-hosts
check-hosts: $(HOSTS_SELFTEST)
	@tests/hosts/check-hosts
