# loupe: one binary, every BPF object embedded as a bpftool skeleton.
#
#   make          build build/loupe
#   make deps     install the Debian packages building and running need
#   make deps-test  ... and those only the tests need
#   make run      the main job (as root)
#   make test     unit and runtime tests (as root; JOBS=N tests at a time)
#   make test-vm  runtime tests in a qemu VM on Debian's 6.1 kernel
#                 (kprobes, fentry); see docs/kernels.md
#   make image    a container image of build/loupe (podman, no registry;
#                 IMAGE=NAME:TAG, default localhost/loupe:latest)

CC        ?= gcc
CLANG     ?= clang
BPFTOOL   ?= bpftool
PYTHON    ?= python3
VERSION   := 0.1.0
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux

V         ?= 0
Q         := $(if $(filter 1,$(V)),,@)
ARCH      := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' \
		-e 's/ppc64le/powerpc/' -e 's/s390x/s390/')
BUILD     := build
CFLAGS    ?= -O2 -g
CFLAGS    += -std=gnu11 -Wall -Wextra -Werror -Wno-missing-field-initializers \
	     -I$(BUILD) -Isrc/lib -Isrc/tools -Isrc/trace -Isrc/agent -Isrc/net \
	     -DLOUPE_VERSION='"$(VERSION)"'
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I$(BUILD) \
	      -Isrc/lib -Isrc/tools -Wall -Werror
# libiberty demangles C++ and Rust names in src/lib/syms.c; libdw unwinds
# user stacks by their CFI (--unwind dwarf); libpcap compiles tcpdump
# expressions (src/net/pexpr.c).
LDLIBS    := -l:libbpf.a -ldw -lelf -lz -lpthread -liberty -lpcap
# src/lib/kbtf.c hands libbpf the cut-down kernel BTF (and the whole one
# as the base of a module's BTF) in place of its own.
KBTF_WRAP := -Wl,--wrap=btf__load_vmlinux_btf -Wl,--wrap=btf_get_from_fd \
	     -Wl,--wrap=btf__free
# The agent: its HTTP server, YAML configs and bcrypt passwords.
AGENT_LDLIBS := -lyaml -lcrypt

TOOLS     := $(patsubst src/tools/%.bpf.c,%,$(wildcard src/tools/*.bpf.c))
# The agent's own BPF objects (its profiler), embedded the same way.
AGENT_BPF := $(patsubst src/agent/%.bpf.c,%,$(wildcard src/agent/*.bpf.c))
LIB_SRCS  := $(wildcard src/lib/*.c) $(wildcard src/trace/*.c) \
	     $(wildcard src/net/*.c)
LIB_OBJS  := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
APP_OBJS  := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(wildcard src/*.c))
# Every src/tools/*.c is a tool; those without a .bpf.c have no probes.
TOOL_OBJS := $(patsubst src/%.c,$(BUILD)/obj/%.o,\
	     $(filter-out %.bpf.c,$(wildcard src/tools/*.c)))
AGENT_OBJS := $(patsubst src/%.c,$(BUILD)/obj/%.o,\
	      $(filter-out %.bpf.c,$(wildcard src/agent/*.c)))
# The agent's parts the unit tests exercise (no HTTP or YAML needed).
UNIT_AGENT_SRCS := src/agent/expo.c src/agent/labels.c src/agent/builtin.c \
		   src/agent/pb.c
UNIT_AGENT_OBJS := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(UNIT_AGENT_SRCS))
SKELS     := $(patsubst %,$(BUILD)/%.skel.h,$(TOOLS) $(AGENT_BPF))
UNIT_SRCS := $(filter-out tests/unit/syms_fixture.c,$(wildcard tests/unit/*.c))
# Read by the syms unit tests: a stripped program and its debug file.
SYMS_FIXTURE := $(BUILD)/syms_fixture $(BUILD)/syms_fixture.nolink
HEADERS   := $(wildcard src/lib/*.h src/tools/*.h src/trace/*.h src/agent/*.h \
	     src/net/*.h)

# Building and running loupe (make run).
DEB_PKGS  := make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev \
	     libiberty-dev libdw-dev libpcap-dev \
	     pkg-config libmicrohttpd-dev libyaml-dev libcrypt-dev
# Only for the tests (make test): the runner, network namespaces (ip),
# the peers compared against (bpftrace), the browser of the flame graph
# test, the fuzzer's runtime and the agent's Prometheus server (and
# promtool), go tool pprof (golang-go) reading its profiles, podman,
# runc and busybox-static for real containers, the TLS client and
# server sslsniff's tests run (openssl, curl, gnutls-cli), the HTTP
# server and load generator of http's tests (nginx, wrk), tcpdump, whose
# -d output and pcap files loupe filter's tests compare with, and the
# YAML parser the Kubernetes manifests' tests read them with.
TEST_PKGS := python3 iproute2 chromium bpftrace libclang-rt-14-dev prometheus \
	     golang-go podman runc busybox-static openssl curl gnutls-bin \
	     nginx-light wrk tcpdump python3-yaml
# Only for test-vm: the emulator (the kernel and busybox are fetched by
# tests/vm/run_vm.py into build/vm/, not installed).
VM_PKGS   := qemu-system-x86
# tests/run.py -j: tests run at a time (default: twice the CPUs, at most 4).
JOBS      ?=
NPROC     := $(shell nproc 2>/dev/null || echo 1)

.PHONY: all deps deps-test deps-vm run test test-vm unit unit-asan clean fuzz-trace \
	fuzz-trace-run image
# Keep the BPF objects and skeletons: they are not throwaway intermediates.
.SECONDARY:
all: $(BUILD)/loupe $(BUILD)/unit_tests $(BUILD)/unit_tests_asan

$(BUILD)/vmlinux.h: $(VMLINUX_BTF)
	@mkdir -p $(@D)
	@echo "  GEN     $@"
	$(Q)$(BPFTOOL) btf dump file $< format c > $@.tmp && mv $@.tmp $@

$(BUILD)/bpf/%.bpf.o: src/tools/%.bpf.c $(BUILD)/vmlinux.h \
		$(wildcard src/lib/*.bpf.h) $(HEADERS)
	@mkdir -p $(@D)
	@echo "  BPF     $@"
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.full
	$(Q)$(BPFTOOL) gen object $@ $@.full

$(BUILD)/bpf/%.bpf.o: src/agent/%.bpf.c $(BUILD)/vmlinux.h \
		$(wildcard src/lib/*.bpf.h) $(HEADERS)
	@mkdir -p $(@D)
	@echo "  BPF     $@"
	$(Q)$(CLANG) $(BPF_CFLAGS) -Isrc/agent -c $< -o $@.full
	$(Q)$(BPFTOOL) gen object $@ $@.full

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	@echo "  SKEL    $@"
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/%.o: src/%.c $(HEADERS) $(SKELS)
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# Sorting input sections by name puts every object's small read-only data
# (tool names, option tables) together instead of between the embedded
# BPF objects: finding a tool then faults in a few pages, not ~2 MB.
LOUPE_LDFLAGS := -Wl,--sort-section=name

$(BUILD)/loupe: $(APP_OBJS) $(LIB_OBJS) $(TOOL_OBJS) $(AGENT_OBJS)
	@echo "  LINK    $@"
	$(Q)$(CC) $(CFLAGS) $^ $(LOUPE_LDFLAGS) $(KBTF_WRAP) $(LDLIBS) \
		$(AGENT_LDLIBS) -o $@

$(BUILD)/unit_tests: $(UNIT_SRCS) $(LIB_OBJS) $(UNIT_AGENT_OBJS) $(HEADERS) \
		$(SYMS_FIXTURE)
	@echo "  LINK    $@"
	$(Q)$(CC) $(CFLAGS) -Itests/unit $(UNIT_SRCS) $(LIB_OBJS) \
		$(UNIT_AGENT_OBJS) $(KBTF_WRAP) $(LDLIBS) -o $@

# The same unit tests under AddressSanitizer and UBSan (the symbolizer
# hands out names that must outlive table reloads); make test runs both.
ASAN_CFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	       -fno-sanitize-recover=undefined

$(BUILD)/unit_tests_asan: $(UNIT_SRCS) $(LIB_SRCS) $(UNIT_AGENT_SRCS) \
		$(HEADERS) $(SKELS) $(SYMS_FIXTURE)
	@echo "  LINK    $@"
	$(Q)$(CC) $(filter-out -O2,$(CFLAGS)) $(ASAN_CFLAGS) -Itests/unit \
		$(UNIT_SRCS) $(LIB_SRCS) $(UNIT_AGENT_SRCS) $(KBTF_WRAP) \
		$(LDLIBS) -o $@

unit-asan: $(BUILD)/unit_tests_asan
	$(BUILD)/unit_tests_asan

$(BUILD)/syms_fixture.full: tests/unit/syms_fixture.c
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) -O0 -g -Wl,--build-id $< -o $@
	$(Q)objcopy --only-keep-debug $@ $(BUILD)/syms_fixture.debug

# Stripped and pointing at its debug file by name (next to it).
$(BUILD)/syms_fixture: $(BUILD)/syms_fixture.full
	$(Q)cd $(BUILD) && strip -s -o syms_fixture syms_fixture.full && \
		objcopy --add-gnu-debuglink=syms_fixture.debug syms_fixture

# Stripped, findable only by build id.
$(BUILD)/syms_fixture.nolink: $(BUILD)/syms_fixture.full
	$(Q)strip -s -o $@ $<

# $(call install_missing,PACKAGES,APT-GET FLAGS): apt-get install those
# of PACKAGES not installed (only then an apt-get update).
define install_missing
	@missing=""; for p in $(1); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
			grep -q ' installed$$' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq $(2) $$missing; \
	fi
endef

deps:
	$(call install_missing,$(DEB_PKGS))

deps-test: deps
	$(call install_missing,$(TEST_PKGS))

deps-vm: deps-test
	$(call install_missing,$(VM_PKGS),--no-install-recommends)

run: deps
	$(MAKE) $(BUILD)/loupe
	$(BUILD)/loupe

# The test targets build a job per CPU, test and test-vm alike; make test
# also builds test_trace_fuzz's target first, which that test would
# otherwise compile within its time limit while other tests run.
test: deps-test
	$(MAKE) -j$(NPROC) all fuzz-trace
	$(PYTHON) tests/run.py $(if $(JOBS),-j $(JOBS))

# VM_TESTS="FILTER..." or VM_TESTS=--all overrides the VM's test subset.
test-vm: deps-vm
	$(MAKE) -j$(NPROC) all
	$(PYTHON) tests/vm/run_vm.py $(VM_TESTS)

unit: $(BUILD)/unit_tests
	$(BUILD)/unit_tests

# libFuzzer target for the trace front end (needs clang and Debian's
# libclang-rt-14-dev). fuzz-trace-run fuzzes for FUZZ_TIME seconds from the
# seed corpus and fails on any crash, leak, sanitizer report or timeout;
# new inputs go to build/, never into the committed corpus.
FUZZ_TIME        ?= 60
FUZZ_TRACE_SRCS  := $(wildcard src/trace/*.c) $(LIB_SRCS)
FUZZ_CFLAGS      := -g -O1 -std=gnu11 -Wall -Wextra -Werror -Isrc/trace \
		    -Isrc/lib -Isrc/tools -Isrc/net -I$(BUILD) -Wno-missing-field-initializers \
		    -fsanitize=fuzzer,address,undefined \
		    -fno-sanitize-recover=undefined -fno-omit-frame-pointer

$(BUILD)/fuzz/trace_parse_fuzz: tests/fuzz/trace_parse_fuzz.c \
		$(FUZZ_TRACE_SRCS) $(HEADERS)
	@mkdir -p $(@D)
	@echo "  FUZZ    $@"
	$(Q)$(CLANG) $(FUZZ_CFLAGS) tests/fuzz/trace_parse_fuzz.c \
		$(sort $(FUZZ_TRACE_SRCS)) $(KBTF_WRAP) $(LDLIBS) -o $@

fuzz-trace: $(BUILD)/fuzz/trace_parse_fuzz

fuzz-trace-run: $(BUILD)/fuzz/trace_parse_fuzz
	@mkdir -p $(BUILD)/fuzz/corpus-trace $(BUILD)/fuzz/artifacts/
	$(BUILD)/fuzz/trace_parse_fuzz -max_total_time=$(FUZZ_TIME) \
		-max_len=4096 -timeout=10 -rss_limit_mb=1024 \
		-dict=tests/fuzz/trace.dict -print_final_stats=1 \
		-artifact_prefix=$(BUILD)/fuzz/artifacts/ \
		$(BUILD)/fuzz/corpus-trace tests/fuzz/corpus/trace

# The image the DaemonSet runs (deploy/kubernetes/): the built binary and
# the libraries it links, FROM scratch, built by podman from a staged
# directory; nothing is pulled. The Containerfile at the top builds from
# source instead, for machines with a registry.
IMAGE     ?= localhost/loupe:latest
image: $(BUILD)/loupe
	deploy/image/stage.sh $(BUILD)/loupe $(BUILD)/image
	podman build -q -t $(IMAGE) $(BUILD)/image

clean:
	rm -rf $(BUILD)
