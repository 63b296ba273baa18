# mk/fuzz.mk - libFuzzer harnesses (issue 9, "fuzzing in CI"): the trace-file
# reader, the filter parser, the ELF site-table reader and the demangler, built with clang,
# ASan and UBSan into $(O)/fuzz/ (whatever SAN is: a fuzzer without the
# sanitizers finds little).  Included from the Makefile.
#
#   make fuzzers                   build them ("make test" does too: the
#                                  smoke run tests/e2e/fuzz.sh uses them)
#   make fuzz [FUZZ_TIME=600]      run each for FUZZ_TIME seconds on its
#                                  corpus tests/fuzz/corpus/NAME; new inputs
#                                  and any crash go to $(O)/fuzz/NAME/
FUZZ_CC   ?= clang
FUZZ_TIME ?= 600
FUZZ_SANS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -Iinclude -Isrc -Itests/fuzz $(FUZZ_SANS)
# The code under test, instrumented for coverage (fuzzer-no-link).
FUZZ_LIB_SRC := src/cli/tracefile.c src/core/filter.c src/core/demangle.c src/core/elf.c src/ctl/proto.c \
	$(wildcard src/ring/*.c src/util/*.c)
FUZZ_LIB_OBJ := $(patsubst %.c,$(O)/fuzz/obj/%.o,$(FUZZ_LIB_SRC))
FUZZ_NAMES := tracefile filter elf ctl demangle
FUZZ_BINS  := $(patsubst %,$(O)/fuzz/fuzz_%,$(FUZZ_NAMES))

$(O)/fuzz/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_EXTRA) -fsanitize=fuzzer-no-link -c $< -o $@
$(O)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(FUZZ_LIB_OBJ) $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_EXTRA) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB_OBJ) \
		-lelf -lpthread -lm -ldl

# Kept: they are shared by the harnesses (not intermediates to delete).
.SECONDARY: $(FUZZ_LIB_OBJ)

fuzzers: $(FUZZ_BINS)
test: fuzzers
# On a fresh machine, "make test" installs clang's libFuzzer
# (libclang-rt-14-dev, scripts/deps.sh) before building them.
ifneq ($(DEPS_SETS),)
$(FUZZ_LIB_OBJ) $(FUZZ_BINS): | deps
endif

# Each harness in turn; the corpus in the tree is only read (new inputs
# go to $(O)/fuzz/NAME/corpus), so a run leaves the tree clean.
fuzz: $(FUZZ_BINS)
	@set -e; for n in $(FUZZ_NAMES); do \
		mkdir -p $(O)/fuzz/$$n/corpus; \
		echo "fuzz_$$n: $(FUZZ_TIME) s"; \
		$(O)/fuzz/fuzz_$$n -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
			-artifact_prefix=$(O)/fuzz/$$n/ $(O)/fuzz/$$n/corpus tests/fuzz/corpus/$$n \
			2>&1 | tee $(O)/fuzz/$$n/log | grep -E '^(#[0-9]+[[:space:]]+DONE|==|SUMMARY|stat::)' || true; \
		grep -q '^#[0-9]*[[:space:]]*DONE' $(O)/fuzz/$$n/log || { echo "fuzz_$$n failed: $(O)/fuzz/$$n/log"; exit 1; }; \
	done

.PHONY: fuzzers fuzz

# Line coverage of the fuzzed sources reached by the corpus (llvm-cov).
fuzz-cov:
	O=$(O) FUZZ_CC=$(FUZZ_CC) bash tests/fuzz/cov.sh

.PHONY: fuzz-cov
