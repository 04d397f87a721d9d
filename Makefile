# blaster — build, test, bench, demo.  `make demo` and `make test` work on a fresh
# Debian 12 machine: both call scripts/deps.sh when a dependency is missing.

CC      ?= gcc
VERSION ?= 0.1.0
BUILD   ?= build
OPT     ?= -O2
# Link-time optimisation for the blaster binary: the engine is split into
# files of one concern (engine.c, request.c, vu.c, executor_run.c,
# stream.c), and LTO inlines across them again (callgrind: 2177 user-space
# instructions per request without, 2004 with, 1974 for the single-file
# engine before the split). Fat objects: the test binaries link them without LTO.
LTO     ?= -flto=auto -ffat-lto-objects
AR      := gcc-ar
CFLAGS  += $(OPT) -DBLASTER_VERSION=\"$(VERSION)\" -g -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter \
           -Wshadow -Wstrict-prototypes -fno-strict-aliasing -I.
# wolfSSL: built from Debian's source package with AES-NI into deps/wolfssl by
# scripts/deps.sh (scripts/wolfssl.sh) and linked statically; Debian's binary
# package (no AES-NI: 40x slower AES-GCM here) where the CPU has no AES-NI.
# Decided from the CPU, not from the file, which the deps stamp makes later.
WOLFSSL_PREFIX := deps/wolfssl
# WOLFSSL_SYSTEM=1 links Debian's binary package even with AES-NI, for the
# debian-wolfssl target below; unlike BLASTER_WOLFSSL_SYSTEM=1 it does not tell
# scripts/wolfssl.sh to replace deps/wolfssl.
ifeq ($(shell grep -qm1 -w aes /proc/cpuinfo && echo 1)$(BLASTER_WOLFSSL_SYSTEM)$(WOLFSSL_SYSTEM),1)
  CFLAGS       += -I$(WOLFSSL_PREFIX)/include
  WOLFSSL_LIBS := $(WOLFSSL_PREFIX)/lib/libwolfssl.a -lm -pthread
else
  WOLFSSL_LIBS := -lwolfssl
endif
LDLIBS  += -luring $(WOLFSSL_LIBS) -ljansson -lyaml -lm -lpthread
PYTEST  ?= /usr/bin/python3 -m pytest

LIB_SRCS  := $(wildcard ring/*.c tls/*.c blaster/*/*.c)
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_SRCS := $(wildcard test/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:test/unit/%.c=$(BUILD)/%)
HDRS      := $(wildcard ring/*.h tls/*.h blaster/*/*.h)

DEPS_STAMP := $(BUILD)/.deps-ok

.PHONY: all test unit integration asan bench bench-baseline bench-compare bench-instructions demo fuzz clean deps install \
        debian-wolfssl

all: $(BUILD)/blaster

# Install what is missing (idempotent; a no-op when everything is there).
$(DEPS_STAMP): scripts/deps.sh
	@mkdir -p $(BUILD)
	scripts/deps.sh
	@touch $@
deps:
	scripts/deps.sh

$(BUILD)/obj/%.o: %.c $(HDRS) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LTO) -c $< -o $@

$(BUILD)/libblaster.a: $(LIB_OBJS)
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/blaster: $(BUILD)/obj/blaster/main.o $(BUILD)/libblaster.a
	$(CC) $(CFLAGS) $(LTO) -o $@ $^ $(LDLIBS)

# test_stream plays the kernel: the ring's sends are replaced (ld --wrap) by
# the test's own, which record what a stream puts on the wire.
$(BUILD)/test_stream: private TEST_LDFLAGS := -Wl,--wrap=ring_send,--wrap=ring_sendmsg

$(BUILD)/test_%: test/unit/test_%.c $(BUILD)/libblaster.a $(HDRS) $(wildcard test/unit/*.h)
	$(CC) $(CFLAGS) $(TEST_LDFLAGS) -o $@ $< $(BUILD)/libblaster.a -lcmocka $(LDLIBS)

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

integration: $(BUILD)/blaster
	BUILD=$(BUILD) scripts/npm-deps.sh
	BLASTER=$(abspath $(BUILD)/blaster) NPM_DIR=$(abspath $(BUILD)/npm) $(PYTEST) -q test/integration

test: unit integration

# AddressSanitizer + UBSan build of everything, unit and integration tests on it.
asan:
	BLASTER_SANITIZED=1 $(MAKE) BUILD=build-asan LTO= OPT="-O1 -fsanitize=address,undefined -fno-omit-frame-pointer" \
	        LDLIBS="-fsanitize=address,undefined -luring $(WOLFSSL_LIBS) -ljansson -lyaml -lm -lpthread" test

# libFuzzer writes new inputs into its first corpus directory: keep those
# under build/, and read the seeds from the tree.
fuzz: | $(DEPS_STAMP)
	@mkdir -p $(BUILD)/corpus_http
	clang -g -O1 -std=gnu11 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined \
	      -fno-sanitize-recover=all test/fuzz/fuzz_http.c blaster/run/http_resp.c blaster/run/http_req.c \
	      blaster/run/http_header.c blaster/run/http_body.c -o $(BUILD)/fuzz_http
	$(BUILD)/fuzz_http -max_total_time=$${FUZZ_SECONDS:-60} $(BUILD)/corpus_http test/fuzz/corpus_http
	@mkdir -p $(BUILD)/corpus_capture
	clang -g -O1 -std=gnu11 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined \
	      -fno-sanitize-recover=all test/fuzz/fuzz_capture.c blaster/run/capture.c blaster/run/hls.c \
	      -o $(BUILD)/fuzz_capture
	$(BUILD)/fuzz_capture -max_total_time=$${FUZZ_SECONDS:-60} $(BUILD)/corpus_capture

# The same blaster linked against Debian's binary libwolfssl (no AES-NI, no SP
# asm) in $(BUILD)/debian-wolfssl, leaving $(BUILD) and deps/wolfssl alone: the
# tls-upload rows of make bench compare it with the normal build.
debian-wolfssl: | $(DEPS_STAMP)
	$(MAKE) BUILD=$(BUILD)/debian-wolfssl WOLFSSL_SYSTEM=1 DEPS_STAMP=$(DEPS_STAMP) \
	        $(BUILD)/debian-wolfssl/blaster

# Old binary vs new, for changes that promise not to slow blaster down:
#   make bench-baseline [REF=4f80011]    # build/baseline/blaster from a git ref
#   make bench-compare [BASELINE=FILE]   # only the old-vs-new rows (3.5 min)
#   make bench BASELINE=build/baseline/blaster   # the full bench plus those rows
# bench-baseline exports REF (default BASELINE_REF: 4f80011, the commit before
# the issue-9 restructuring; any commit, tag or branch) with git archive into
# $(BUILD)/baseline/src, leaving the work tree and index alone, and builds it there
# with this tree's deps/ (the same wolfSSL) into $(BUILD)/baseline/blaster; the
# commit it was built from is in $(BUILD)/baseline/blaster.commit (bench.sh prints
# it). It re-exports only when REF names another commit. bench-compare without BASELINE builds that baseline
# first. With a baseline, bench.sh runs the old and new binary back to back in
# every repetition of the plain-HTTP and HTTPS keep-alive rows and adds the
# "old vs new" table (new/old client CPU per request, PASS when ≤ 1.02).
# bench-compare defaults to 5 s runs and 5 repetitions (BENCH_DURATION and
# BENCH_REPS override them): a median over more pairs resists a noisy minute
# better than fewer, longer runs.
BASELINE_REF ?= 4f80011
REF          ?= $(BASELINE_REF)
BASELINE_DIR := $(BUILD)/baseline
bench-baseline: | $(DEPS_STAMP)
	@set -e; commit=$$(git rev-parse --verify --quiet '$(REF)^{commit}') || \
	    { echo "bench-baseline: '$(REF)' is not a commit here" >&2; exit 2; }; \
	if [ "$$(cat $(BASELINE_DIR)/blaster.commit 2>/dev/null)" != "$$commit" ]; then \
	    echo "bench-baseline: exporting $(REF) ($$commit) into $(BASELINE_DIR)/src"; \
	    rm -rf $(BASELINE_DIR) && mkdir -p $(BASELINE_DIR)/src; \
	    git archive "$$commit" | tar -x -C $(BASELINE_DIR)/src; \
	    ln -s $(CURDIR)/deps $(BASELINE_DIR)/src/deps; \
	fi; \
	$(MAKE) -C $(BASELINE_DIR)/src BUILD=$(abspath $(BASELINE_DIR)) \
	        DEPS_STAMP=$(abspath $(DEPS_STAMP)) $(abspath $(BASELINE_DIR))/blaster; \
	echo "$$commit" >$(BASELINE_DIR)/blaster.commit; \
	echo "bench-baseline: $(BASELINE_DIR)/blaster is $(REF) ($$commit)"

# BENCH_BASELINE is bench.sh's name for it (it may also come from the environment).
bench: $(BUILD)/blaster debian-wolfssl
	BLASTER_DEBIAN_WOLFSSL=$(BUILD)/debian-wolfssl/blaster $(if $(BASELINE),BENCH_BASELINE=$(BASELINE)) \
	        scripts/bench.sh

bench-compare: $(BUILD)/blaster $(if $(BASELINE),,bench-baseline)
	BENCH_COMPARE_ONLY=1 BENCH_BASELINE=$(or $(BASELINE),$(BASELINE_DIR)/blaster) \
	BENCH_DURATION=$${BENCH_DURATION:-5s} BENCH_REPS=$${BENCH_REPS:-5} scripts/bench.sh

# User-space instructions per request, old vs new, by callgrind: a count the
# machine's load does not move (scripts/bench-instructions.sh says how).
bench-instructions: $(BUILD)/blaster $(if $(BASELINE),,bench-baseline)
	scripts/bench-instructions.sh $(or $(BASELINE),$(BASELINE_DIR)/blaster) $(BUILD)/blaster

demo: $(BUILD)/blaster
	scripts/demo.sh $(BUILD)/blaster

install: $(BUILD)/blaster
	install -D -m 755 $(BUILD)/blaster $(DESTDIR)$(or $(PREFIX),/usr/local)/bin/blaster

clean:
	rm -rf build build-asan
