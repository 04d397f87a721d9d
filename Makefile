# blaster — build, test, bench, demo.  `make demo` and `make test` work on a fresh
# Debian 12 machine: both call scripts/deps.sh when a dependency is missing.

CC      ?= gcc
VERSION ?= 0.1.0
BUILD   ?= build
OPT     ?= -O2
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

LIB_SRCS  := $(wildcard ring/*.c tls/*.c) $(filter-out blaster/main.c,$(wildcard blaster/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_SRCS := $(wildcard test/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:test/unit/%.c=$(BUILD)/%)
HDRS      := $(wildcard ring/*.h tls/*.h blaster/*.h)

DEPS_STAMP := $(BUILD)/.deps-ok

.PHONY: all test unit integration asan bench demo fuzz clean deps install debian-wolfssl

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
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libblaster.a: $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/blaster: $(BUILD)/obj/blaster/main.o $(BUILD)/libblaster.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/test_%: test/unit/test_%.c $(BUILD)/libblaster.a $(HDRS) $(wildcard test/unit/*.h)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libblaster.a -lcmocka $(LDLIBS)

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

integration: $(BUILD)/blaster
	BUILD=$(BUILD) scripts/npm-deps.sh
	BLASTER=$(abspath $(BUILD)/blaster) NPM_DIR=$(abspath $(BUILD)/npm) $(PYTEST) -q test/integration

test: unit integration

# AddressSanitizer + UBSan build of everything, unit and integration tests on it.
asan:
	BLASTER_SANITIZED=1 $(MAKE) BUILD=build-asan OPT="-O1 -fsanitize=address,undefined -fno-omit-frame-pointer" \
	        LDLIBS="-fsanitize=address,undefined -luring $(WOLFSSL_LIBS) -ljansson -lyaml -lm -lpthread" test

# libFuzzer writes new inputs into its first corpus directory: keep those
# under build/, and read the seeds from the tree.
fuzz: | $(DEPS_STAMP)
	@mkdir -p $(BUILD)/corpus_http
	clang -g -O1 -std=gnu11 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined \
	      -fno-sanitize-recover=all test/fuzz/fuzz_http.c blaster/http_resp.c blaster/http_req.c \
	      blaster/http_header.c blaster/http_body.c -o $(BUILD)/fuzz_http
	$(BUILD)/fuzz_http -max_total_time=$${FUZZ_SECONDS:-60} $(BUILD)/corpus_http test/fuzz/corpus_http
	@mkdir -p $(BUILD)/corpus_capture
	clang -g -O1 -std=gnu11 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined \
	      -fno-sanitize-recover=all test/fuzz/fuzz_capture.c blaster/capture.c blaster/hls.c \
	      -o $(BUILD)/fuzz_capture
	$(BUILD)/fuzz_capture -max_total_time=$${FUZZ_SECONDS:-60} $(BUILD)/corpus_capture

# The same blaster linked against Debian's binary libwolfssl (no AES-NI, no SP
# asm) in $(BUILD)/debian-wolfssl, leaving $(BUILD) and deps/wolfssl alone: the
# tls-upload rows of make bench compare it with the normal build.
debian-wolfssl: | $(DEPS_STAMP)
	$(MAKE) BUILD=$(BUILD)/debian-wolfssl WOLFSSL_SYSTEM=1 DEPS_STAMP=$(DEPS_STAMP) \
	        $(BUILD)/debian-wolfssl/blaster

bench: $(BUILD)/blaster debian-wolfssl
	BLASTER_DEBIAN_WOLFSSL=$(BUILD)/debian-wolfssl/blaster scripts/bench.sh

demo: $(BUILD)/blaster
	scripts/demo.sh $(BUILD)/blaster

install: $(BUILD)/blaster
	install -D -m 755 $(BUILD)/blaster $(DESTDIR)$(or $(PREFIX),/usr/local)/bin/blaster

clean:
	rm -rf build build-asan
