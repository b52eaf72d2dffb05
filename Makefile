# wshub — a WebSocket chat hub in C with Go's concurrency model.
#
#   make run        install dependencies, build, serve on 127.0.0.1:8080;
#                   make run PORT=9000 ADDR=::1 serves elsewhere
#   make test       install dependencies, build, run every test
#   make test-asan  the Criterion suite under AddressSanitizer + UBSan
#   make test-tsan  stress drivers and the server under ThreadSanitizer
#
# Every output lives under build/ (sanitizer builds in build/asan, build/tsan).

# Where `make run` serves.  Plain assignments: the command line overrides
# them, a PORT that happens to be in the environment does not.
ADDR      = 127.0.0.1
PORT      = 8080

CC       ?= cc
PREFIX   ?= /usr/local
DESTDIR  ?=
MANDIR   ?= $(PREFIX)/share/man
UNITDIR  ?= $(PREFIX)/lib/systemd/system
BUILD    ?= build
SANITIZE ?=
# Compilers run at once when a test target builds (make test JOBS=1: one).
JOBS     ?= $(shell nproc 2>/dev/null || echo 1)

# CFLAGS and LDFLAGS from the command line choose optimisation and debug
# information (make CFLAGS="-O1 -g"); what the build cannot do without is
# added with override, so such a build still gets C11, -pthread and the
# sanitizer it asks for.  (Without override, a command-line CFLAGS drops
# every += below: objects built without -fsanitize=thread, linked against
# TSan's runtime, make its interceptors report races that are not there.)
override CPPFLAGS += -D_GNU_SOURCE -Iinclude -I$(BUILD)/gen \
            $(shell pkg-config --cflags libbsd-overlay 2>/dev/null) \
            $(shell pkg-config --cflags gnutls 2>/dev/null)
CFLAGS   ?= -O2 -g
override CFLAGS += -std=c11 -Wall -Wextra -Wpedantic -Werror -pthread
override LDLIBS += -lwslay -lhiredis -lmd -lresolv \
            $(shell pkg-config --libs libbsd-overlay 2>/dev/null) -pthread
# GnuTLS is linked only into what calls it directly: wshub-load's wss://
# (src/load/tls.c) and the tests' TLS client (test/support/tlsclient.c).
# The server opens it with dlopen(3) when --tls-cert is given (src/tls.c),
# so a plain server carries none of its thread-local storage; dlopen is in
# libc since glibc 2.34, so there is no -ldl.
GNUTLS_LIBS = -lgnutls
CRITERION_CFLAGS = $(shell pkg-config --cflags criterion 2>/dev/null)
CRITERION_LIBS   = $(shell pkg-config --libs criterion 2>/dev/null)

ifneq ($(SANITIZE),)
override CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
override LDFLAGS += -fsanitize=$(SANITIZE)
# A sanitizer build of the server links GnuTLS instead of opening it at
# run time (src/tls.c then finds it loaded): with GnuTLS's thread-local
# storage allocated by dlopen, gcc 12's LeakSanitizer crashes at exit
# ("Tracer caught signal 11") in a server spawned by the TLS tests.  What
# dlopen saves, a stack page per idle thread, is a release build's figure.
SERVER_TLS_LIBS = -Wl,--push-state,--no-as-needed $(GNUTLS_LIBS) -Wl,--pop-state
endif

LIB_SRC  := $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJ  := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o) $(if $(wildcard src/chat.html),$(BUILD)/obj/chat_page.o)
LOAD_SRC := $(wildcard src/load/*.c)
LOAD_OBJ := $(LOAD_SRC:src/load/%.c=$(BUILD)/obj/load/%.o)
UNIT_SRC := $(wildcard test/test_*.c) $(wildcard test/support/*.c)
# The load client is unit-tested too: every object but its main.
UNIT_OBJ := $(UNIT_SRC:test/%.c=$(BUILD)/obj/test/%.o) \
            $(filter-out $(BUILD)/obj/load/main.o,$(LOAD_OBJ))
TSAN_DRIVERS := $(patsubst test/tsan/%.c,$(BUILD)/test/tsan-%,$(wildcard test/tsan/*.c))

LIB       := $(BUILD)/libwshub.a
WSHUB     := $(BUILD)/wshub
WSHUB_LOAD := $(BUILD)/wshub-load
UNIT      := $(BUILD)/test/unit
# The thread hand-off microbenchmark (test/bench/chan_pingpong.c), run by make bench.
CHAN_PINGPONG := $(BUILD)/chan-pingpong
# What joins and leaves cost the hub, by number of rooms (test/bench/hub_rooms.c).
HUB_ROOMS := $(BUILD)/hub-rooms

.PHONY: all deps run test test-asan test-tsan tsan-drivers bench fuzz valgrind install clean

# Binaries appear as their sources land.
all: $(if $(wildcard src/main.c),$(WSHUB)) $(if $(LOAD_SRC),$(WSHUB_LOAD))

deps:
	@scripts/install-deps.sh

run: deps
	@$(MAKE) --no-print-directory all
	$(WSHUB) --addr '$(ADDR)' --port '$(PORT)'

# The last thing `make test` prints is the grand total of every suite,
# "N passed, M failed" (scripts/run-tests.sh).
test: deps
	@$(MAKE) --no-print-directory -j$(JOBS) all $(UNIT) $(CHAN_PINGPONG) $(HUB_ROOMS)
	@scripts/run-tests.sh $(BUILD)

test-asan: deps
	@$(MAKE) --no-print-directory -j$(JOBS) BUILD=build/asan SANITIZE=address,undefined all build/asan/test/unit
	@scripts/run-tests.sh build/asan

test-tsan: deps
	@$(MAKE) --no-print-directory -j$(JOBS) BUILD=build/tsan SANITIZE=thread all tsan-drivers
	@scripts/run-tsan.sh build/tsan

tsan-drivers: $(TSAN_DRIVERS)

# libFuzzer (clang): replays test/fuzz/regress/, then fuzzes each target
# for FUZZ_SECONDS or a share of it (scripts/fuzz.sh).  Every check is
# strict (see test/fuzz/README.md).
FUZZ_SECONDS ?= 60
fuzz: deps
	@scripts/fuzz.sh $(FUZZ_SECONDS)

# Chat, a slow client and a shutdown under valgrind memcheck.
valgrind: deps
	@$(MAKE) --no-print-directory $(WSHUB)
	@scripts/valgrind.sh $(WSHUB)

# S1-S4 and the thread hand-off microbenchmark against an optimised build,
# then the pictures in docs/bench/; RUNS=3 by default (see BENCHMARKS.md).
# On a shared machine: make bench BENCH_MAX_LOAD=0.5 waits for quiet first.
bench: deps
	@BENCH_MAX_LOAD='$(BENCH_MAX_LOAD)' scripts/bench.sh $(or $(RUNS),3)

$(LIB): $(LIB_OBJ)
	$(AR) rcs $@ $^

$(WSHUB): $(BUILD)/obj/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(SERVER_TLS_LIBS) $(LDLIBS)

$(WSHUB_LOAD): $(LOAD_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(GNUTLS_LIBS) $(LDLIBS) -lm

$(UNIT): $(UNIT_OBJ) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(CRITERION_LIBS) $(GNUTLS_LIBS) $(LDLIBS)

$(CHAN_PINGPONG): test/bench/chan_pingpong.c $(LIB)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(HUB_ROOMS): test/bench/hub_rooms.c $(LIB)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/test/tsan-%: test/tsan/%.c $(wildcard test/support/*.c) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itest $(CFLAGS) $(LDFLAGS) -o $@ $^ $(GNUTLS_LIBS) $(LDLIBS)

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/obj/test/%.o: test/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itest $(CRITERION_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# The chat page is built into the binary: xxd turns it into a C array.
$(BUILD)/gen/chat_page.c: src/chat.html
	@mkdir -p $(@D)
	xxd -i -n chat_html $< > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/chat_page.o: $(BUILD)/gen/chat_page.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(filter-out -Wpedantic,$(CFLAGS)) -c -o $@ $<

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(UNITDIR)
	install -m 0755 $(WSHUB) $(WSHUB_LOAD) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 man/wshub.1 man/wshub-load.1 $(DESTDIR)$(MANDIR)/man1/
	sed 's|@BINDIR@|$(PREFIX)/bin|g' scripts/systemd/wshub.service.in > $(DESTDIR)$(UNITDIR)/wshub.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/wshub.service
	install -m 0644 scripts/systemd/wshub.socket $(DESTDIR)$(UNITDIR)/

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
