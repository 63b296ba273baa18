# fntrace build.  Sources are found by wildcard per subsystem, so adding a
# file to a subsystem needs no change here.
#
#   make            libfntrace.so, the fntrace command and the tests
#   make test       every test (tests/run.sh prints "N passed, N failed")
#   make demo       build the example, record it, replay and report
#   make bench      benchmarks against uftrace and XRay -> BENCHMARKS.md
#   make install PREFIX=/usr/local   (binary, library, header, pkg-config, man pages)
#   make SAN=1 ...  the same with ASan+UBSan (build-san/)

CC      ?= gcc
PREFIX  ?= /usr/local
SAN     ?=
O       := $(if $(SAN),build-san,build)

WARN    := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes
BASE    := -std=gnu11 -g -O2 -fPIC -D_GNU_SOURCE -Iinclude -Isrc $(WARN)
comma   := ,
SANFL   := $(if $(SAN),-fsanitize=address$(comma)undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
# The runtime is injected into other programs: it is never built with
# sanitizers (they would have to be loaded first) and never instrumented.
RT_CFLAGS  := $(BASE) -fvisibility=hidden -fno-stack-protector -ftls-model=initial-exec -mgeneral-regs-only
CLI_CFLAGS := $(BASE) $(SANFL)

RT_SRC  := $(wildcard src/core/*.c src/arch/x86_64/*.c src/runtime/*.c src/util/*.c src/ring/*.c src/ctl/*.c)
RT_ASM  := $(wildcard src/arch/x86_64/*.S)
CLI_SRC := $(wildcard src/cli/*.c src/util/*.c src/ring/*.c src/ctl/*.c src/core/filter.c src/core/demangle.c src/core/elf*.c) \
	   src/arch/x86_64/inject/hijack.c
RT_OBJ  := $(patsubst %.c,$(O)/rt/%.o,$(RT_SRC)) $(patsubst %.S,$(O)/rt/%.o,$(RT_ASM))
CLI_OBJ := $(patsubst %.c,$(O)/cli/%.o,$(CLI_SRC)) $(O)/cli/gen/loader_blob.o
HDRS    := $(wildcard include/*.h src/*/*.h src/*/*/*.h src/*/*/*/*.h)

LIB     := $(O)/libfntrace.so
BIN     := $(O)/fntrace

UNIT_SRC := $(wildcard tests/unit/*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(O)/tests/unit/%,$(UNIT_SRC))
STRESS_SRC := $(wildcard tests/stress/*.c)
STRESS_BIN := $(patsubst tests/stress/%.c,$(O)/tests/stress/%,$(STRESS_SRC))

all: $(LIB) $(BIN) $(UNIT_BIN) $(STRESS_BIN)

$(O)/rt/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(RT_CFLAGS) -c $< -o $@
$(O)/rt/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(RT_CFLAGS) -c $< -o $@
$(O)/cli/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CLI_CFLAGS) -c $< -o $@

# The loader fntrace places in a process it attaches to: freestanding code
# laid out as one position-independent blob (no relocation may remain),
# then a C array of its bytes.  Never built with the sanitizers.
INJ_CFLAGS := -std=gnu11 -O2 -fPIC -ffreestanding -fno-builtin -fno-stack-protector \
	-fcf-protection=none -mgeneral-regs-only -fno-asynchronous-unwind-tables -Isrc
INJ_DIR := src/arch/x86_64/inject
$(O)/gen/loader.bin: $(INJ_DIR)/loader.c $(INJ_DIR)/loader.lds $(INJ_DIR)/inject.h
	@mkdir -p $(dir $@)
	$(CC) $(INJ_CFLAGS) -c $(INJ_DIR)/loader.c -o $(O)/gen/loader.o
	ld -T $(INJ_DIR)/loader.lds -pie --no-dynamic-linker -o $(O)/gen/loader.elf $(O)/gen/loader.o
	@readelf -r $(O)/gen/loader.elf | grep -q 'no relocations' || \
		{ echo "loader.elf has relocations"; exit 1; }
	objcopy -O binary $(O)/gen/loader.elf $@
$(O)/gen/loader_blob.c: $(O)/gen/loader.bin
	{ echo '#include <stddef.h>'; \
	  echo 'const unsigned char fnt__loader_blob[] = {'; \
	  od -An -v -tx1 $< | sed -e 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '};'; \
	  echo 'const size_t fnt__loader_blob_len = sizeof(fnt__loader_blob);'; } >$@
$(O)/cli/gen/loader_blob.o: $(O)/gen/loader_blob.c
	@mkdir -p $(dir $@)
	$(CC) $(CLI_CFLAGS) -c $< -o $@

$(LIB): $(RT_OBJ)
	$(CC) -shared -o $@ $^ -Wl,-z,nodelete -lelf -ldl -lpthread

$(BIN): $(CLI_OBJ)
	$(CC) $(SANFL) -o $@ $^ -ldw -lelf -lpthread -lm

# Unit and stress tests link the runtime's objects from a static archive
# (not through LD_PRELOAD), built with the sanitizers in a SAN build.
TA_OBJ  := $(patsubst %.c,$(O)/ta/%.o,$(RT_SRC)) $(patsubst %.S,$(O)/ta/%.o,$(RT_ASM))
TESTLIB := $(O)/libfntrace-test.a
$(O)/ta/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(RT_CFLAGS) $(SANFL) -c $< -o $@
$(O)/ta/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(RT_CFLAGS) -c $< -o $@
$(TESTLIB): $(TA_OBJ)
	rm -f $@ && ar rcs $@ $^
$(O)/tests/unit/%: tests/unit/%.c $(TESTLIB) $(HDRS) | $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CLI_CFLAGS) -Itests -o $@ $< $(TESTLIB) -lelf -lpthread -lm -ldl
$(O)/tests/stress/%: tests/stress/%.c $(TESTLIB) $(HDRS) | $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CLI_CFLAGS) -Itests -o $@ $< $(TESTLIB) -lelf -lpthread -lm -ldl

# ThreadSanitizer where it applies: the lock-free rings, their unit and
# stress tests (the injected runtime's trap and patch paths are beyond it:
# TSan cannot follow code that rewrites itself).
TSAN_SRC := $(wildcard src/ring/*.c src/util/*.c)
TSAN_TESTS := $(O)/tsan/test_ring $(O)/tsan/stress_ring
$(O)/tsan/%: tests/unit/%.c $(TSAN_SRC) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE) -O1 -fsanitize=thread -Itests -o $@ $< $(TSAN_SRC) -lpthread -lm
$(O)/tsan/%: tests/stress/%.c $(TSAN_SRC) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE) -O1 -fsanitize=thread -Itests -o $@ $< $(TSAN_SRC) -lpthread -lm
test: all $(if $(SAN),,$(TSAN_TESTS))
	O=$(O) CC=$(CC) SAN=$(SAN) bash tests/run.sh

test-tsan: $(TSAN_TESTS)
	@p=0; f=0; for t in $(TSAN_TESTS); do \
		if TSAN_OPTIONS=halt_on_error=1 $$t >$$t.log 2>&1; then p=$$((p+1)); echo "PASS tsan/$${t##*/}"; \
		else f=$$((f+1)); echo "FAIL tsan/$${t##*/}"; tail -n 30 $$t.log; fi; done; \
	echo "$$p passed, $$f failed"; [ $$f -eq 0 ]

demo: $(LIB) $(BIN)
	O=$(O) bash examples/demo.sh

# Benchmarks (issue 5): installs the peers where missing, runs every tool
# in one run, writes BENCHMARKS.md and its plot.
bench: $(LIB) $(BIN)
	O=$(O) bash bench/run.sh

# Live control alone (issue 11): build/bench/live.md.
bench-live: $(LIB) $(BIN)
	O=$(O) bash bench/live.sh

# Attaching to a process started without fntrace (issue 12): build/bench/attach.md.
bench-attach: $(LIB) $(BIN)
	O=$(O) bash bench/attach.sh

# Conversion throughput (issue 13): dump --chrome, --perfetto, --folded
# against uftrace dump --chrome: build/bench/export.md.
bench-export: $(LIB) $(BIN)
	O=$(O) bash bench/export.sh

# The cost of a traced call against uftrace -pg (issue 14): build/bench/speed.md.
bench-speed: $(LIB) $(BIN)
	O=$(O) bash bench/speed.sh

# The man pages are made from the binary's own help (scripts/mkman.sh), so
# they cannot drift from what the commands accept.
MAN_DIR := $(O)/man
$(MAN_DIR)/.stamp: $(BIN) scripts/mkman.sh man/fntrace.1.in man/cmd.1.in
	bash scripts/mkman.sh $(BIN) $(MAN_DIR) && touch $@
man: $(MAN_DIR)/.stamp

install: $(LIB) $(BIN) $(MAN_DIR)/.stamp
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
		$(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/fntrace
	install -m 755 $(LIB) $(DESTDIR)$(PREFIX)/lib/libfntrace.so
	install -m 644 include/fntrace.h $(DESTDIR)$(PREFIX)/include/fntrace.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e "s|@VERSION@|$$($(BIN) --version | awk '{ print $$2 }')|" \
		man/fntrace.pc.in >$(DESTDIR)$(PREFIX)/lib/pkgconfig/fntrace.pc
	install -m 644 $(MAN_DIR)/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/

clean:
	rm -rf build build-san

.PHONY: all test test-tsan demo bench install man clean

# Set-up: the packages "make demo", "make test" and "make bench" need.
include mk/deps.mk

# libFuzzer harnesses: "make fuzzers", "make fuzz" (and built by "make test").
include mk/fuzz.mk
