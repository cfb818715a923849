# svmm — a KVM microVM runtime. Plain GNU make; see README.md.
#
#   make            release build into build/
#   make asan       ASan+UBSan build into build-asan/
#   make check      every test (T=pattern runs a subset, TIER=unit|host|kvm one tier)
#   make demo       the main job
#   make kernel     the guest kernel: build/kernel/{vmlinux,bzImage} (cached
#                   in /var/cache/svmm/kernel, see kernel-config/build.sh)
#   make images     build/images/: initramfs.cpio.gz (the agent), initramfs-placeholder.cpio.gz, oci/sample/
#   make deps       install the Debian packages the build, tests and demo need
#   make install    PREFIX=/usr/local DESTDIR=
#   make format / format-check
#   make layers     check that each source floor includes only from lower ones

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
CC      ?= cc
CFLAGS  ?= -O2 -g
SANITIZE ?=

# Debian's libfdt-dev ships no pkg-config file: it is linked by name.
# pkg-config is asked once, when a recipe first needs the flags, not when the
# Makefile is parsed: `make deps` may install the -dev packages in this run.
PKGS := liburing libcrypto jansson libnftnl libmnl libarchive libseccomp
once = $(eval $(1) := $$(shell $(2)))$($(1))
PKG_CFLAGS = $(call once,PKG_CFLAGS,pkg-config --cflags $(PKGS))
PKG_LIBS = $(call once,PKG_LIBS,pkg-config --libs $(PKGS)) -lfdt

XCFLAGS = -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -I. -MMD -MP $(PKG_CFLAGS)
ifneq ($(SANITIZE),)
XCFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif
LDLIBS  += $(PKG_LIBS) -lpthread

# Every product source but the entry points goes into libsvmm.a; the svmm
# binary and the unit tests link against it. New files need no Makefile edit.
# guest-agent/common.c and err.c (libc only) are the agent files the host side shares.
LIB_SRCS  := $(filter-out vmm/cli/main.c,$(wildcard vmm/*.c vmm/*/*.c devices/*.c devices/*/*.c devices/*/*/*.c net/*.c images/*.c)) guest-agent/common.c guest-agent/err.c
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:%.c=$(BUILD)/%)
HOSTT_SRCS := $(wildcard tests/host/*.c)
HOSTT_BINS := $(HOSTT_SRCS:%.c=$(BUILD)/%)
KVMT_SRCS := $(wildcard tests/kvm/*.c)
KVMT_BINS := $(KVMT_SRCS:%.c=$(BUILD)/%)
# Programs that tests put into their guests: static, like the agent.
GUESTT_SRCS := $(wildcard tests/guest/*.c)
GUESTT_BINS := $(GUESTT_SRCS:%.c=$(BUILD)/%)
AGENT_SRCS := $(wildcard guest-agent/*.c)
# Each tools/NAME.c is a program of its own (build/NAME), linked with libsvmm.a.
TOOL_SRCS := $(wildcard tools/*.c)
TOOL_BINS := $(TOOL_SRCS:tools/%.c=$(BUILD)/%)

BINS := $(BUILD)/svmm $(BUILD)/svmm-host $(TOOL_BINS)
# The agent and the guest programs are static: the sanitizers' runtimes do
# not link statically, so the ASan+UBSan build leaves them out.
ifeq ($(SANITIZE),)
ifneq ($(AGENT_SRCS),)
BINS += $(BUILD)/svmm-agent
endif
BINS += $(GUESTT_BINS)
endif

.PHONY: all asan check demo deps install clean format format-check unit kernel images bench
all: $(BINS) $(UNIT_BINS) $(HOSTT_BINS) $(KVMT_BINS)

$(BUILD)/.pkgcheck:
	@pkg-config --exists --print-errors $(PKGS) || \
		{ echo "missing build libraries: run 'make deps'" >&2; exit 1; }
	@mkdir -p $(@D) && touch $@

$(BUILD)/%.o: %.c | $(BUILD)/.pkgcheck
	@mkdir -p $(@D)
	$(CC) $(XCFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/libsvmm.a: $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# The VMM links only the libraries a VM uses (--as-needed drops the rest):
# a VM process stays small. The host-side commands are svmm-host's.
$(BUILD)/svmm: $(BUILD)/vmm/cli/main.o $(BUILD)/libsvmm.a
	$(CC) $(LDFLAGS) -Wl,--as-needed -o $@ $^ $(LDLIBS)

$(BUILD)/svmm-host: $(BUILD)/vmm/cli/host_main.o $(BUILD)/libsvmm.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The guest agent is PID 1 of the guest: static, no shared libraries
# (Debian ships libjansson.a and libseccomp.a).
$(BUILD)/svmm-agent: $(AGENT_SRCS:%.c=$(BUILD)/%.o)
	$(CC) -static -o $@ $^ -lseccomp -ljansson

$(GUESTT_BINS): $(BUILD)/tests/guest/%: $(BUILD)/tests/guest/%.o
	$(CC) -static -o $@ $^

$(TOOL_BINS): $(BUILD)/%: $(BUILD)/tools/%.o $(BUILD)/libsvmm.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Host-tier C tests use cmocka too, but drive real tools and kernel objects.
$(HOSTT_BINS): $(BUILD)/tests/host/%: $(BUILD)/tests/host/%.o $(BUILD)/libsvmm.a
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka $(LDLIBS)

$(UNIT_BINS): $(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(BUILD)/libsvmm.a
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka $(LDLIBS)

$(KVMT_BINS): $(BUILD)/tests/kvm/%: $(BUILD)/tests/kvm/%.o
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

asan:
	$(MAKE) BUILD=build-asan SANITIZE=1 CFLAGS="-O1 -g"

deps:
	@tools/install-deps

# The targets that install packages build through a new make, which reads
# this Makefile again with the packages in place (busybox, pkg-config).
check: deps
	$(MAKE) all
	$(MAKE) asan
	$(MAKE) kernel images
	tests/run $(if $(TIER),--tier $(TIER)) $(T)

demo: deps
	$(MAKE) all kernel images
	tools/demo

# Benchmarks print figures (and ratios against a peer run side by side);
# they never assert times. BENCH=pattern runs a subset. Each runs for
# BENCH_TIMEOUT seconds at most; one that fails or overruns is named and
# the rest still run.
BENCH_TIMEOUT ?= 900
bench: deps
	$(MAKE) all kernel images
	@rc=0; for b in tests/bench/*.sh; do \
		[ -x "$$b" ] || continue; case "$$b" in *"$(BENCH)"*) ;; *) continue ;; esac; \
		echo "=== $$b"; t0=$$(date +%s); s=0; timeout -k 10 $(BENCH_TIMEOUT) $$b || s=$$?; \
		if [ $$s != 0 ]; then rc=1; echo "=== $$b: FAILED (status $$s$$([ $$s = 124 ] && echo ", over $(BENCH_TIMEOUT) s"))"; fi; \
		echo "=== $$b: $$(($$(date +%s) - t0)) s"; \
	done; exit $$rc

# The guest kernel: a no-op when the cache holds this configuration's build.
kernel:
	BUILD=$(BUILD) kernel-config/build.sh

# Guest images, rebuilt when a script or busybox changes. Reproducible: the
# same inputs give the same bytes (SOURCE_DATE_EPOCH sets the file times).
IMG := $(BUILD)/images
BUSYBOX := $(firstword $(wildcard /bin/busybox /usr/bin/busybox))
images: $(IMG)/initramfs.cpio.gz $(IMG)/initramfs-placeholder.cpio.gz $(IMG)/oci/sample/index.json

$(IMG)/initramfs.cpio.gz: images/mk-initramfs $(BUILD)/svmm-agent images/busybox-tree.sh $(BUSYBOX)
	images/mk-initramfs --init $(BUILD)/svmm-agent $@

# The shell placeholder /init: runs the kernel command line's "--" words, for
# the kernel boot test and benchmark.
$(IMG)/initramfs-placeholder.cpio.gz: images/mk-initramfs images/placeholder-init images/busybox-tree.sh $(BUSYBOX)
	images/mk-initramfs $@

$(IMG)/oci/sample/index.json: images/mk-sample-oci images/busybox-tree.sh $(BUSYBOX)
	images/mk-sample-oci $(IMG)/oci/sample

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	ln -sf svmm $(DESTDIR)$(PREFIX)/bin/cloud-hypervisor

clean:
	rm -rf build build-asan

FMT_SRCS = $(shell find vmm devices net images guest-agent tests tools -name '*.[ch]' 2>/dev/null)
format:
	clang-format -i $(FMT_SRCS)
format-check:
	clang-format --dry-run -Werror $(FMT_SRCS)

# Each floor of the source tree includes only from the floors below it
# (the table is in tools/check-layers; tests/host/layers.sh runs it too).
.PHONY: layers
layers:
	tools/check-layers

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# libFuzzer targets: tests/fuzz/fuzz_NAME.c, each against its own clang
# ASan+UBSan build of the product sources in build-fuzz/ (apart from build/
# and build-asan/). `make fuzz` runs each for FUZZ_SECONDS on a copy of its
# seed corpus (tests/fuzz/corpus/NAME/) and stops at the first finding.
FUZZ_BUILD   ?= build-fuzz
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS   = -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -I. -MMD -MP -g -O1 \
		-Wno-gnu-variable-sized-type-not-at-end -fno-omit-frame-pointer $(FUZZ_SAN) \
		-fsanitize=fuzzer-no-link $(PKG_CFLAGS)
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS    := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_BUILD)/%)

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BINS)
fuzz: deps
	$(MAKE) fuzz-build
	FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run

$(FUZZ_BUILD)/%.o: %.c | $(BUILD)/.pkgcheck
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/libsvmm.a: $(LIB_SRCS:%.c=$(FUZZ_BUILD)/%.o)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_BINS): $(FUZZ_BUILD)/%: $(FUZZ_BUILD)/tests/fuzz/%.o $(FUZZ_BUILD)/libsvmm.a
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

-include $(shell find $(FUZZ_BUILD) -name '*.d' 2>/dev/null)
