#!/usr/bin/env bash
# tests/fuzz/cov.sh - line coverage of the fuzzed sources (make fuzz-cov):
# builds each harness with clang's source-based coverage, runs it once over
# its seed corpus and what "make fuzz" added ($O/fuzz/NAME/corpus), and
# prints llvm-cov's report for the file it targets.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
O=${O:-build}; W=$ROOT/$O/fuzz/cov
CC=${FUZZ_CC:-clang}
PROFDATA=$(command -v llvm-profdata || command -v llvm-profdata-14)
COV=$(command -v llvm-cov || command -v llvm-cov-14)
mkdir -p "$W"
cd "$ROOT"
lib=(src/cli/tracefile.c src/core/filter.c src/core/elf.c src/ctl/proto.c src/ring/*.c src/util/*.c)
for n in tracefile filter elf ctl demangle; do
	case $n in tracefile) src=src/cli/tracefile.c ;; filter) src=src/core/filter.c ;; elf) src=src/core/elf.c ;; ctl) src=src/ctl/proto.c ;; esac
	"$CC" -std=gnu11 -g -O1 -D_GNU_SOURCE -Iinclude -Isrc -Itests/fuzz -fsanitize=fuzzer \
		-fprofile-instr-generate -fcoverage-mapping -o "$W/fuzz_$n" "tests/fuzz/fuzz_$n.c" \
		"${lib[@]}" -lelf -lpthread -lm -ldl
	dirs=("tests/fuzz/corpus/$n")
	[ -d "$O/fuzz/$n/corpus" ] && dirs+=("$O/fuzz/$n/corpus")
	LLVM_PROFILE_FILE="$W/$n.profraw" "$W/fuzz_$n" -runs=0 "${dirs[@]}" >"$W/$n.log" 2>&1
	"$PROFDATA" merge -sparse -o "$W/$n.profdata" "$W/$n.profraw"
	echo "fuzz_$n on ${dirs[*]} ($(find "${dirs[@]}" -type f | wc -l) inputs):"
	"$COV" report "$W/fuzz_$n" -instr-profile="$W/$n.profdata" "$src" | tail -n 1 |
		awk -v f="$src" '{ print "  " f ": regions " $4 ", functions " $7 ", lines " $10 }'
done
