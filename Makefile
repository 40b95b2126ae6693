# libvmm - embeddable x86-64 hypervisor library.  `make help` lists targets.

VERSION   := 1.0.0
SOMAJOR   := 1
PREFIX    ?= /usr/local
B         ?= build
SAN       ?= 0

CC        ?= gcc
CXX       ?= g++
WARN      := -Wall -Wextra -Werror -Wno-unused-parameter
CFLAGS_BASE := -std=gnu11 -g $(WARN) -fstack-protector-strong -Iinclude -I. -MMD -MP
ifeq ($(SAN),1)
  OPT     := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
  SANLD   := -fsanitize=address,undefined
else
  OPT     := -O2 -D_FORTIFY_SOURCE=2
  SANLD   :=
endif
CFLAGS    ?=
LIBCFLAGS := $(CFLAGS_BASE) $(OPT) -fPIC -fvisibility=hidden -DVMM_BUILDING_LIBRARY $(CFLAGS)
APPCFLAGS := $(CFLAGS_BASE) $(OPT) -fPIE $(CFLAGS)
HARDEN_LD := -Wl,-z,relro,-z,now -Wl,-z,noexecstack
LIBS      := -lelf -lpthread -lcapstone -lslirp -lnbd -liscsi -ljson-c

# Library sources: every .c below these folders is part of libvmm.
LIB_SRCS  := $(wildcard lib/*.c lib/devices/*.c lib/loaders/*.c lib/platform/*.c lib/virtio/*.c \
                        lib/net/*.c lib/storage/*.c \
                        lib/introspect/*.c arch/x86/*.c \
                        backends/emu/*.c backends/kvm/*.c)
LIB_OBJS  := $(LIB_SRCS:%.c=$(B)/obj/%.o)
CLI_SRCS  := $(wildcard cli/*.c)
CLI_OBJS  := $(CLI_SRCS:%.c=$(B)/obj/%.o)

SOLIB     := $(B)/libvmm.so.$(SOMAJOR)
ALIB      := $(B)/libvmm.a
CLI       := $(B)/vmm

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/unit/%)
TOOL_SRCS := $(wildcard tests/conformance/*.c tests/bench/*.c tests/linux/*.c)
TOOL_BINS := $(patsubst %.c,$(B)/%,$(TOOL_SRCS))

# Guests: freestanding x86 images, built the same way in every build flavour.
GUEST_CC     := gcc
GUEST_CFLAGS := -std=gnu11 -O2 -g -ffreestanding -fno-pic -fno-pie -nostdlib \
                -fno-stack-protector -mno-red-zone -mgeneral-regs-only \
                -fno-asynchronous-unwind-tables -Wall -Wextra -Werror \
                -Itests/guests/rt
GUEST_DIR    := build/guests
GUEST_RT64   := $(wildcard tests/guests/rt/*64.S tests/guests/rt/*64.c tests/guests/rt/common.c)
GUEST_C      := $(wildcard tests/guests/*.c)
GUEST_S      := $(wildcard tests/guests/*.S)
GUESTS       := $(GUEST_C:tests/guests/%.c=$(GUEST_DIR)/%.elf) \
                $(GUEST_S:tests/guests/%.S=$(GUEST_DIR)/%.elf) \
                $(patsubst examples/hello/%.c,$(GUEST_DIR)/%.elf,$(wildcard examples/hello/hello.c))

.PHONY: all lib cli guests check check-long check-unit check-guests check-header check-abi \
        check-asan check-hosts check-kut bench bench-emu bench-kvm bench-linux bench-net bench-storage abi-update \
        install clean help

all: $(SOLIB) $(ALIB) $(CLI) guests

help:
	@echo "make            build libvmm.so.$(SOMAJOR), libvmm.a, the vmm CLI and test guests"
	@echo "make check      every test: unit, guests on each backend, header, ABI, ASan+UBSan"
	@echo "make check-kut  kvm-unit-tests on emu, kvm, both test hosts and QEMU TCG: a table"
	@echo "make check-long the emu-vs-host-CPU differential test with 10 million instructions"
	@echo "make bench-emu  emu guest instructions per second vs Unicorn 2 and QEMU TCG (BASE=rev:"
	@echo "                vs that revision's emu too); make bench is the same"
	@echo "make bench-kvm  kvm exit and VM lifecycle cost vs bare ioctls"
	@echo "make bench-linux Linux boot and virtio-blk: emu vs QEMU TCG, kvm vs QEMU (svm host)"
	@echo "make bench-net  the virtual switch's frames/s vs a Linux bridge, with and without policies"
	@echo "make bench-storage storage paths' IOPS and MiB/s vs qemu-img bench, round robin over two"
	@echo "                NBD paths, failover times; fio in a guest on virtio-blk/virtio-scsi over"
	@echo "                raw, qcow2 and NBD (round robin vs one path): emu vs QEMU TCG"
	@echo "make install PREFIX=/usr/local"
	@echo "make abi-update rewrite abi/libvmm.abi (a deliberate ABI change)"
	@echo "make examples   build examples/ (sandbox, harness, appliance)"
	@echo "make go-test    go test the Go binding (bindings/go); go-vet, go-example"
	@echo "make rust-test  cargo test the Rust crates (bindings/rust); rust-clippy"
	@echo "make bindings   regenerate bindings/rust/libvmm-sys/src/bindings.rs from include/"
	@echo "make fuzz       libFuzzer targets (clang, ASan+UBSan) in build/fuzz; fuzz-qcow2 runs one 30 s"
	@echo "make fuzz-virtio the virtio device targets, FUZZ_TIME (120) seconds each"

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(LIBCFLAGS) -c $< -o $@

$(B)/obj/cli/%.o: cli/%.c
	@mkdir -p $(dir $@)
	$(CC) $(APPCFLAGS) -c $< -o $@

$(SOLIB): $(LIB_OBJS) abi/libvmm.map
	$(CC) -shared -Wl,-soname,libvmm.so.$(SOMAJOR) -Wl,--version-script=abi/libvmm.map \
	      $(HARDEN_LD) $(SANLD) -o $@ $(LIB_OBJS) $(LIBS)
	ln -sf libvmm.so.$(SOMAJOR) $(B)/libvmm.so

$(ALIB): $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $(LIB_OBJS)

$(CLI): $(CLI_OBJS) $(SOLIB)
	$(CC) -pie $(HARDEN_LD) $(SANLD) -o $@ $(CLI_OBJS) -L$(B) -l:libvmm.so.$(SOMAJOR) -lcapstone -ljson-c \
	      -Wl,-rpath,'$$ORIGIN'

# Unit tests link the static library so they can reach vmm__ internals.
$(B)/tests/unit/%: tests/unit/%.c $(ALIB)
	@mkdir -p $(dir $@)
	$(CC) $(APPCFLAGS) -DVMM_TESTING -o $@ $< $(ALIB) $(SANLD) -lcmocka $(LIBS)

# The emu benchmark runs vmm and QEMU as programs and Unicorn in-process:
# only it links -lunicorn (tests/bench/bench_emu.c).
$(B)/tests/bench/bench_emu: tests/bench/bench_emu.c
	@mkdir -p $(dir $@)
	$(CC) $(APPCFLAGS) -o $@ $< $(SANLD) -lelf -lunicorn

$(B)/tests/%: tests/%.c $(ALIB)
	@mkdir -p $(dir $@)
	$(CC) $(APPCFLAGS) -o $@ $< $(ALIB) $(SANLD) $(LIBS)

# ---- Guests -----------------------------------------------------------------
guests: $(GUESTS)

$(GUEST_DIR)/rt/%.o: tests/guests/rt/%
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

GUEST_RT64_OBJS := $(patsubst tests/guests/rt/%,$(GUEST_DIR)/rt/%.o,$(GUEST_RT64))

$(GUEST_DIR)/%.elf: tests/guests/%.c $(GUEST_RT64_OBJS) tests/guests/rt/guest64.ld
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -static -Wl,-T,tests/guests/rt/guest64.ld \
	      -Wl,--build-id=none -o $@ $(GUEST_RT64_OBJS) $<

$(GUEST_DIR)/%.elf: tests/guests/%.S tests/guests/rt/guest64.ld
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -static -Wl,-T,tests/guests/rt/guest64.ld \
	      -Wl,--build-id=none -o $@ $<

$(GUEST_DIR)/hello.elf: examples/hello/hello.c $(GUEST_RT64_OBJS) tests/guests/rt/guest64.ld
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -static -Wl,-T,tests/guests/rt/guest64.ld \
	      -Wl,--build-id=none -o $@ $(GUEST_RT64_OBJS) $<

-include tests/guests/guests.mk
-include tests/hosts/hosts.mk
-include tests/bench/bench.mk

# ---- Checks -----------------------------------------------------------------
# tests/run-checks runs each step, prints PASS/FAIL/NOT RUN lines and ends
# with one summary line: "check: N passed, N failed, N skipped".
check: all $(UNIT_BINS) $(TOOL_BINS) examples pkgconfig
	@$(MAKE) --no-print-directory B=build/asan SAN=1 asan-build
	@tests/run-checks

# kvm-unit-tests on every column (emu, kvm here, svm-host, vmx-host, QEMU
# TCG): tests/kut/README.md. make check runs the emu and svm-host columns.
check-kut: $(CLI)
	@tests/kut/run-kut --columns emu,kvm,svm-host,vmx-host,qemu-tcg \
	    --results build/kut/RESULTS.md

asan-build: $(SOLIB) $(ALIB) $(CLI) $(UNIT_BINS) $(TOOL_BINS) examples

# The emu-vs-host differential test with 10 million instructions (make check
# runs 1 million; EMU_NATIVE_SEED picks another sequence set).
check-long: $(B)/tests/unit/test_emu_native
	EMU_NATIVE_INSNS=10000000 $(B)/tests/unit/test_emu_native

check-header:
	@tests/check-header

check-abi: $(SOLIB)
	@tests/check-abi $(SOLIB)

abi-update: $(SOLIB)
	tests/abi-dump $(SOLIB) abi
	@echo "abi/libvmm.abi and abi/libvmm-types.abi rewritten: commit them with the reason for the change"

# emu vs Unicorn 2 and QEMU TCG on the same guest image; BASE=<git rev>
# also builds that revision's vmm in build/bench-base and runs it beside
# (tests/bench/run-bench). `make bench` is the same.
bench-emu: all $(TOOL_BINS)
	@tests/bench/run-bench $(if $(BASE),--base-rev $(BASE))

bench: bench-emu

bench-kvm: all $(TOOL_BINS)
	@tests/bench/run-bench-kvm

bench-linux: all
	@tests/bench/run-bench-linux
bench-net: $(B)/tests/bench/bench_net
	@tests/bench/run-bench-net
bench-storage: all $(B)/tests/bench/bench_storage
	@tests/bench/run-bench-storage

# ---- Install ----------------------------------------------------------------
install: $(SOLIB) $(ALIB) $(CLI)
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -d $(DESTDIR)$(PREFIX)/include/vmm
	install -m 644 include/vmm.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 include/vmm/*.h $(DESTDIR)$(PREFIX)/include/vmm/
	install -m 755 $(SOLIB) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libvmm.so.$(SOMAJOR) $(DESTDIR)$(PREFIX)/lib/libvmm.so
	install -m 644 $(ALIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(CLI) $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' libvmm.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/libvmm.pc

clean:
	rm -rf build

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(UNIT_BINS:=.d)

# ---- Fuzzing (tests/fuzz) ----------------------------------------------------
# libFuzzer targets built with clang and ASan+UBSan from the library sources
# they exercise; seed corpora are made by qemu-img at build time.
FUZZ_CC    ?= clang
FUZZ_SAN   := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_FLAGS := -std=gnu11 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer $(FUZZ_SAN) \
              $(WARN) -Iinclude -I. -DVMM_BUILDING_LIBRARY
FUZZ_QCOW2_SRCS := $(wildcard lib/storage/qcow2_*.c) lib/error.c
# The virtio targets link the whole library built by clang (ASan+UBSan);
# only the virtio transport, rings and devices carry coverage feedback.
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(B)/fuzz/obj/%.o)
FUZZ_LIB      := $(B)/fuzz/libvmm-fuzz.a
FUZZ_VIRTIO_DEVS := rng blk net console vsock
FUZZ_VIRTIO   := $(FUZZ_VIRTIO_DEVS:%=$(B)/fuzz/fuzz_virtio_%)
FUZZ_DEV_rng := DEV_RNG
FUZZ_DEV_blk := DEV_BLK
FUZZ_DEV_net := DEV_NET
FUZZ_DEV_console := DEV_CONSOLE
FUZZ_DEV_vsock := DEV_VSOCK
# Seconds per virtio target for make fuzz-virtio (make check: 5 each).
FUZZ_TIME  ?= 120

FUZZ_VXLAN_SRCS := lib/net/vxlan_parse.c lib/error.c
FUZZ_ETCD_SRCS  := lib/net/http.c lib/net/etcd.c lib/net/cluster_cfg.c lib/net/port_state_parse.c lib/error.c

.PHONY: fuzz fuzz-qcow2 fuzz-qcow2-build fuzz-virtio fuzz-virtio-build fuzz-scsi fuzz-scsi-build \
        fuzz-vxlan fuzz-etcd
fuzz: $(B)/fuzz/fuzz_qcow2 $(B)/fuzz/seeds_qcow2/.done $(FUZZ_VIRTIO) \
      $(B)/fuzz/fuzz_scsi $(B)/fuzz/seeds_scsi/.done $(B)/fuzz/fuzz_vxlan $(B)/fuzz/fuzz_etcd

FUZZ_SCSI_SRCS := lib/virtio/scsi_cmd.c lib/virtio/scsi_page.c
$(B)/fuzz/fuzz_scsi: tests/fuzz/fuzz_scsi.c $(FUZZ_SCSI_SRCS) lib/virtio/scsi.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_scsi.c $(FUZZ_SCSI_SRCS)

$(B)/fuzz/seeds_scsi/.done: tests/fuzz/make-scsi-seeds
	rm -rf $(B)/fuzz/seeds_scsi
	tests/fuzz/make-scsi-seeds $(B)/fuzz/seeds_scsi
	@touch $@

# 30 s of the CDB parser from the seeds (new inputs in build/fuzz/corpus_scsi).
fuzz-scsi-build: $(B)/fuzz/fuzz_scsi $(B)/fuzz/seeds_scsi/.done
fuzz-scsi: fuzz-scsi-build
	@mkdir -p $(B)/fuzz/corpus_scsi
	$(B)/fuzz/fuzz_scsi -max_total_time=30 -max_len=8192 -timeout=10 -artifact_prefix=$(B)/fuzz/scsi- \
	    $(B)/fuzz/corpus_scsi $(B)/fuzz/seeds_scsi

$(B)/fuzz/fuzz_qcow2: tests/fuzz/fuzz_qcow2.c $(FUZZ_QCOW2_SRCS) $(wildcard lib/storage/qcow2*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_qcow2.c $(FUZZ_QCOW2_SRCS) -lpthread

$(B)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=gnu11 -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) \
	    $(if $(filter lib/virtio/% lib/platform/pci%,$<),-fsanitize=fuzzer-no-link) \
	    $(WARN) -Wno-string-plus-int -Wno-gnu-variable-sized-type-not-at-end \
	    -Iinclude -I. -DVMM_BUILDING_LIBRARY -MMD -MP -c $< -o $@

$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	@rm -f $@
	@ar rcs $@ $(FUZZ_LIB_OBJS)

$(B)/fuzz/fuzz_virtio_%: tests/fuzz/fuzz_virtio.c $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -DFUZZ_DEV=$(FUZZ_DEV_$*) -o $@ $< $(FUZZ_LIB) $(LIBS)

$(B)/fuzz/seeds_qcow2/.done: tests/fuzz/make-seeds
	rm -rf $(B)/fuzz/seeds_qcow2
	tests/fuzz/make-seeds $(B)/fuzz/seeds_qcow2
	@touch $@

$(B)/fuzz/fuzz_vxlan: tests/fuzz/fuzz_vxlan.c $(FUZZ_VXLAN_SRCS) lib/net/vxlan.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_vxlan.c $(FUZZ_VXLAN_SRCS)

# 30 s of the VXLAN parser from a few seeds written here: a taken datagram
# (VNI 100), an unknown VNI, a tagged inner frame, a map read from the input.
fuzz-vxlan: $(B)/fuzz/fuzz_vxlan
	@mkdir -p $(B)/fuzz/corpus_vxlan $(B)/fuzz/seeds_vxlan
	printf '\000\010\000\000\000\000\000\144\000\377\377\377\377\377\377\002\000\000\000\000\001\010\006abcdefgh' > $(B)/fuzz/seeds_vxlan/ok
	printf '\000\010\000\000\000\000\001\000\000\377\377\377\377\377\377\002\000\000\000\000\001\010\000abcdefgh' > $(B)/fuzz/seeds_vxlan/unknown
	printf '\000\010\000\000\000\000\000\001\000\377\377\377\377\377\377\002\000\000\000\000\001\201\000\000\005' > $(B)/fuzz/seeds_vxlan/tagged
	printf '\005\000\007\000\000\011\000\010\000\000\012\010\000\000\000\000\000\011\000\377\377\377\377\377\377\002\000\000\000\000\001\010\000xy' > $(B)/fuzz/seeds_vxlan/map
	$(B)/fuzz/fuzz_vxlan -max_total_time=30 -max_len=4096 -timeout=10 -rss_limit_mb=1024 -artifact_prefix=$(B)/fuzz/vxlan- \
	    $(B)/fuzz/corpus_vxlan $(B)/fuzz/seeds_vxlan

$(B)/fuzz/fuzz_etcd: tests/fuzz/fuzz_etcd.c $(FUZZ_ETCD_SRCS) lib/net/http.h lib/net/etcd.h lib/net/cluster.h lib/net/port_state.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_etcd.c $(FUZZ_ETCD_SRCS) -ljson-c

# 30 s of what the distributed switch reads from etcd, from seeds written
# here: a chunked HTTP response with two watch lines (fed in 7-byte pieces),
# a sized one, a watch message with a PUT and a DELETE, a group's JSON, a
# port's exported state.
fuzz-etcd: $(B)/fuzz/fuzz_etcd
	@mkdir -p $(B)/fuzz/corpus_etcd $(B)/fuzz/seeds_etcd
	printf '\000\007HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n19\r\n{"result":{"header":{}}}\n\r\n5;x=y\r\n{}\n{}\r\n0\r\nT: 1\r\n\r\n' > $(B)/fuzz/seeds_etcd/chunked
	printf '\004\377HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{"kvs":[]}\n\n' > $(B)/fuzz/seeds_etcd/sized
	printf '\001{"result":{"events":[{"kv":{"key":"L3ZtbS94","value":"e30=","mod_revision":"7"}},{"type":"DELETE","kv":{"key":"eA=="}}]}}' > $(B)/fuzz/seeds_etcd/watch
	printf '\002group/web\n{"trunk":[10,20],"native":5,"policy":{"firewall":{"default":"deny","rules":[{"action":"allow","proto":"tcp","dport":[80,81],"src":"10.0.0.0/8"}]},"shape_in":{"avg_bps":1000}}}' > $(B)/fuzz/seeds_etcd/group
	printf '\003{"version":1,"policy":{"antispoof":true,"ipv4":["10.1.0.1"],"firewall":{"default":"deny","rules":[{"action":"allow","dirs":"in","proto":1}]}},"counters":{"in_frames":2,"drops":[0,1]},"conns":[{"proto":1,"src":"10.1.0.1","dst":"10.1.0.2","sport":7,"dport":7,"dir":"in","replied":true,"ttl_ms":29700}]}' > $(B)/fuzz/seeds_etcd/state
	$(B)/fuzz/fuzz_etcd -max_total_time=30 -max_len=8192 -timeout=10 -rss_limit_mb=1024 -artifact_prefix=$(B)/fuzz/etcd- \
	    $(B)/fuzz/corpus_etcd $(B)/fuzz/seeds_etcd

# 30 s of fuzzing from the seeds (new inputs collect in build/fuzz/corpus_qcow2).
fuzz-qcow2-build: $(B)/fuzz/fuzz_qcow2 $(B)/fuzz/seeds_qcow2/.done
fuzz-qcow2: fuzz-qcow2-build
	@mkdir -p $(B)/fuzz/corpus_qcow2
	$(B)/fuzz/fuzz_qcow2 -max_total_time=30 -max_len=400000 -timeout=10 -rss_limit_mb=2048 -artifact_prefix=$(B)/fuzz/ \
	    $(B)/fuzz/corpus_qcow2 $(B)/fuzz/seeds_qcow2

# Every virtio target for FUZZ_TIME seconds each (tests/fuzz/run-virtio);
# make check's fuzz-virtio step runs them 5 s each.
fuzz-virtio: $(FUZZ_VIRTIO)
	@tests/fuzz/run-virtio $(FUZZ_TIME)
fuzz-virtio-build: $(FUZZ_VIRTIO)

-include $(FUZZ_LIB_OBJS:.o=.d)

# ---- Bindings and examples ---------------------------------------------------
# Debian's toolchains (golang-go, rustc, cargo, bindgen), never a rustup one
# that may come first in PATH; builds are offline.
GO        ?= /usr/bin/go
CARGO     ?= /usr/bin/cargo
RUSTC     ?= /usr/bin/rustc
TOP       := $(abspath .)
PCDIR     := $(TOP)/$(B)/pkgconfig
GOENV     := PKG_CONFIG_PATH=$(PCDIR) GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local \
             GOCACHE=$(TOP)/$(B)/go-cache GOPATH=$(TOP)/$(B)/gopath VMM_GUESTS=$(TOP)/$(GUEST_DIR)
CARGOENV  := PATH=/usr/bin:$$PATH RUSTC=$(RUSTC) CARGO_TARGET_DIR=$(TOP)/$(B)/cargo \
             VMM_LIB_DIR=$(TOP)/$(B) VMM_GUESTS=$(TOP)/$(GUEST_DIR) CARGO_HOME=$(TOP)/$(B)/cargo-home

.PHONY: go-test go-vet go-race go-example rust-test rust-clippy bindings check-bindings examples pkgconfig

pkgconfig: $(PCDIR)/libvmm.pc

# libvmm.pc for building against this tree (cgo's pkg-config, cargo).
$(PCDIR)/libvmm.pc: libvmm.pc.in
	@mkdir -p $(dir $@)
	printf 'Name: libvmm\nDescription: libvmm (in-tree build)\nVersion: $(VERSION)\nLibs: -L$(TOP)/$(B) -lvmm -Wl,-rpath,$(TOP)/$(B)\nCflags: -I$(TOP)/include\n' > $@

go-test: $(SOLIB) guests $(PCDIR)/libvmm.pc
	cd bindings/go && $(GOENV) $(GO) test -count=1 -v ./...

go-example: $(SOLIB) examples $(PCDIR)/libvmm.pc
	cd bindings/go && $(GOENV) $(GO) run ./examples/sandbox -n 500 $(TOP)/$(EXAMPLE_DIR)/sandbox

go-race: $(SOLIB) guests $(PCDIR)/libvmm.pc
	cd bindings/go && $(GOENV) $(GO) test -race -count=1 ./...

go-vet: $(PCDIR)/libvmm.pc
	cd bindings/go && $(GOENV) $(GO) vet ./...

check-bindings:
	@tests/check-bindings

# Examples: host programs link the shared library as an embedder would;
# their guests are built like the test guests.
EXAMPLE_DIR := $(B)/examples
SANDBOX_GUESTS := $(patsubst examples/sandbox/guest/%.c,$(EXAMPLE_DIR)/sandbox/%.elf,$(wildcard examples/sandbox/guest/*.c))
EXAMPLES  := $(EXAMPLE_DIR)/sandbox/sandbox $(SANDBOX_GUESTS) $(EXAMPLE_DIR)/harness/harness \
             $(EXAMPLE_DIR)/appliance/appliance $(EXAMPLE_DIR)/appliance/appliance-guest.elf \
             $(EXAMPLE_DIR)/monitor/monitor $(EXAMPLE_DIR)/monitor/monitor-guest.elf

examples: $(EXAMPLES)

$(EXAMPLE_DIR)/sandbox/%.elf: examples/sandbox/guest/%.c examples/sandbox/sandbox_abi.h $(GUEST_RT64_OBJS) tests/guests/rt/guest64.ld
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -Iexamples/sandbox -static -Wl,-T,tests/guests/rt/guest64.ld \
	      -Wl,--build-id=none -o $@ $(GUEST_RT64_OBJS) $<

$(EXAMPLE_DIR)/appliance/appliance-guest.elf: examples/appliance/guest.c examples/appliance/appliance_abi.h $(GUEST_RT64_OBJS) tests/guests/rt/guest64.ld
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -Iexamples/appliance -static -Wl,-T,tests/guests/rt/guest64.ld \
	      -Wl,--build-id=none -o $@ $(GUEST_RT64_OBJS) $<

$(EXAMPLE_DIR)/appliance/appliance: examples/appliance/appliance.c examples/appliance/appliance_abi.h $(SOLIB)
	@mkdir -p $(dir $@)
	$(CC) $(APPCFLAGS) -pie $(HARDEN_LD) $(SANLD) -o $@ $< -L$(B) -l:libvmm.so.$(SOMAJOR) \
	      -lz -lpthread -Wl,-rpath,'$$ORIGIN/../..'

$(EXAMPLE_DIR)/monitor/monitor-guest.elf: examples/monitor/guest.c $(GUEST_RT64_OBJS) tests/guests/rt/guest64.ld
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -static -Wl,-T,tests/guests/rt/guest64.ld \
	      -Wl,--build-id=none -o $@ $(GUEST_RT64_OBJS) $<

$(EXAMPLE_DIR)/monitor/monitor: examples/monitor/monitor.c $(SOLIB)
	@mkdir -p $(dir $@)
	$(CC) $(APPCFLAGS) -pie $(HARDEN_LD) $(SANLD) -o $@ $< -L$(B) -l:libvmm.so.$(SOMAJOR) \
	      -lelf -Wl,-rpath,'$$ORIGIN/../..'

$(EXAMPLE_DIR)/%: examples/%.c $(SOLIB)
	@mkdir -p $(dir $@)
	$(CC) $(APPCFLAGS) -pie $(HARDEN_LD) $(SANLD) -o $@ $< -L$(B) -l:libvmm.so.$(SOMAJOR) \
	      -lpthread -Wl,-rpath,'$$ORIGIN/../..'

rust-test: $(SOLIB) guests
	cd bindings/rust && $(CARGOENV) LD_LIBRARY_PATH=$(TOP)/$(B) $(CARGO) test --offline $(RUST_TEST_ARGS)

rust-clippy: $(SOLIB)
	cd bindings/rust && $(CARGOENV) $(CARGO) clippy --offline --all-targets -- -D warnings

# Regenerate the committed FFI declarations after a change to include/.
bindings:
	bindings/rust/gen-bindings bindings/rust/libvmm-sys/src/bindings.rs
